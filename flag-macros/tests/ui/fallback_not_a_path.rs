use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = || ())]
fn checkout() {}

fn main() {}
