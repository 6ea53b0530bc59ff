use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old)]
const fn checkout() -> u8 {
    1
}

const fn old() -> u8 {
    0
}

fn main() {}
