use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old)]
struct Checkout;

fn old() {}

fn main() {}
