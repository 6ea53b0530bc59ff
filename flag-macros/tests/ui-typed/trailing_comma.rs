// One trailing comma in flags.json: one error for the whole crate, not one per macro, and none
// at the uses of the flags the module still has.
flag_macros::flags!(pub mod flags);

#[flag_macros::feature_flag("newCheckout", fallback = old_checkout)]
fn checkout(items: u32) -> u32 {
    items + 1
}

fn old_checkout(items: u32) -> u32 {
    items
}

#[flag_macros::feature_flag(flags::DISCOUNT_BANNER, fallback = no_discount)]
async fn discount() -> f64 {
    flags::DISCOUNT_BANNER.get().await.and_then(|b| b.percentage).unwrap_or(0.0)
}

async fn no_discount() -> f64 {
    0.0
}

fn main() {
    let _ = checkout(1);
    let _ = discount();
    let _ = flags::NEW_CHECKOUT.is_enabled_now();
}
