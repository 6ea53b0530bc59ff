#![deny(deprecated)]

use flag_macros::feature_flag;
use flag_runtime::Context;

pub struct Order {
    tier: String,
    customer_id: u64,
}

// The rules read `$tier` and `$customerId`.
#[feature_flag("discount", fallback = old, context(tier = order.tier))]
fn named(order: &Order) {}

#[feature_flag(
    "discount",
    fallback = old,
    context = Context::new().with("tier", order.tier.as_str()).with("customerID", order.customer_id)
)]
fn builder(order: &Order) {}

// In an async fn too, the warning names no item path (it used to show `{closure#0}`).
#[feature_flag("discount", fallback = old_async, context(tier = order.tier))]
async fn loyalty_badge(order: &Order) {}

async fn old_async(_order: &Order) {}

// One warning per missing key.
#[feature_flag("discount", fallback = old, context(region = "eu"))]
fn neither(order: &Order) {}

// No warning: every key the rules read is there (a key no rule reads is fine).
#[feature_flag(
    "discount",
    fallback = old,
    context(tier = order.tier, customerId = order.customer_id, region = "eu")
)]
fn complete(order: &Order) {}

// No warning: the keys of this context are only known at run time.
#[feature_flag("discount", fallback = old, context = order_context(order))]
fn computed(order: &Order) {}

fn order_context(order: &Order) -> Context {
    Context::new().with("tier", order.tier.as_str())
}

fn old(_order: &Order) {}

fn main() {}
