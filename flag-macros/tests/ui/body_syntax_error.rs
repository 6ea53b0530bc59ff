use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old)]
fn checkout(items: u32) -> u32 {
    let total = items * ;
    total
}

fn old(items: u32) -> u32 {
    items
}

fn main() {
    let _ = checkout(1);
}
