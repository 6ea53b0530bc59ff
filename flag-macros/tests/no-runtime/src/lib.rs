use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old_checkout)]
pub fn checkout(items: u32) -> u32 {
    items * 2
}

pub fn old_checkout(items: u32) -> u32 {
    items
}
