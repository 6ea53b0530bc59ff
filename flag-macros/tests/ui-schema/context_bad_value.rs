use flag_macros::feature_flag;

pub struct Tier;

#[feature_flag("discount", fallback = old, context(tier = tier, customerId = 7))]
fn checkout(tier: Tier) {}

fn old(_tier: Tier) {}

fn main() {}
