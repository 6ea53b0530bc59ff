use flag_macros::feature_flag;

#[feature_flag("NewCheckout", fallback = old)]
fn checkout() {}

fn old() {}

fn main() {
    checkout();
}
