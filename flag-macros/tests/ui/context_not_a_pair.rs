use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old, context(tier))]
fn checkout(tier: &str) -> usize {
    tier.len()
}

fn old(_tier: &str) -> usize {
    0
}

fn main() {}
