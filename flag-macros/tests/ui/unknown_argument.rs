use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallbak = old)]
fn checkout() {}

fn old() {}

fn main() {}
