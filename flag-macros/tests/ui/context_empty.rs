use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old, context())]
fn checkout() {}

fn old() {}

fn main() {}
