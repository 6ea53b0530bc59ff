use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old, context("customer id" = id))]
fn checkout(id: u64) -> u64 {
    id
}

fn old(_id: u64) -> u64 {
    0
}

fn main() {}
