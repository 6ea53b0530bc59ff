use flag_macros::feature_flag;

#[feature_flag("discount", fallback = old, context(tier = user.tier, customerId = id))]
fn checkout(id: u64) {}

fn old(_id: u64) {}

fn main() {}
