use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old)]
fn checkout(#[cfg(any())] debug: bool, items: u32) -> u32 {
    items
}

fn old(items: u32) -> u32 {
    items
}

fn main() {}
