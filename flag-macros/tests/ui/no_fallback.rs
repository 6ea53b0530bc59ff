use flag_macros::feature_flag;

#[feature_flag("newCheckout")]
fn checkout() {}

fn main() {}
