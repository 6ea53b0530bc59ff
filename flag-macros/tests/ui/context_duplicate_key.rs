use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old, context(tier = tier, "tier" = "gold"))]
fn checkout(tier: &str) -> usize {
    tier.len()
}

fn old(_tier: &str) -> usize {
    0
}

fn main() {}
