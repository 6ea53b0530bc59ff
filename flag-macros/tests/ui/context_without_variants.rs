#![deny(deprecated)]

use flag_macros::feature_flag;

// `newCheckout` has no variants: its value is the same for every context.
#[feature_flag("newCheckout", fallback = old, context(tier = tier))]
fn checkout(tier: &str) {}

#[feature_flag("newCheckout", fallback = old, context = flag_runtime::Context::new())]
fn any_expression(tier: &str) {}

// No warning: an entity id alone still keeps the entity on one configuration version during a
// gradual deployment.
#[feature_flag("newCheckout", fallback = old, context(entity_id = tier))]
fn pinned(tier: &str) {}

fn old(_tier: &str) {}

fn main() {}
