use flag_macros::feature_flag;

#[feature_flag("somethingElse", fallback = old)]
fn checkout() {}

fn old() {}

fn main() {}
