use flag_macros::feature_flag;

pub struct Order {
    customer_id: u64,
}

#[feature_flag("discount", fallback = old, context = order.customer_id)]
fn checkout(order: &Order) {}

fn old(_order: &Order) {}

fn main() {}
