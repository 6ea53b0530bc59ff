use flag_macros::feature_flag;

const NEW_CHECKOUT: &str = "newCheckout";

#[feature_flag(NEW_CHECKOUT, fallback = old)]
fn checkout() {}

fn old() {}

fn main() {}
