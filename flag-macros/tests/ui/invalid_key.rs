use flag_macros::feature_flag;

#[feature_flag("New Checkout", fallback = old)]
fn checkout() {}

fn old() {}

fn main() {}
