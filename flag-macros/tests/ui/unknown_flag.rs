use flag_macros::feature_flag;

#[feature_flag("newChekout", fallback = old)]
fn checkout() {}

fn old() {}

fn main() {}
