use flag_macros::feature_flag;
use flag_runtime::Context;

pub struct Order {
    tier: String,
    customer_id: u64,
}

// The context sees the arguments by reference: it cannot move out of them.
#[feature_flag(
    "discount",
    fallback = old,
    context = Context::new().with("tier", order.tier).with("customerId", order.customer_id)
)]
fn checkout(order: Order) {}

fn old(_order: Order) {}

fn main() {}
