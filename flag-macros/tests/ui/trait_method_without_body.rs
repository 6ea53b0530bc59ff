use flag_macros::feature_flag;

trait Checkout {
    #[feature_flag("newCheckout", fallback = Self::old)]
    fn pay(&self) -> u32;

    fn old(&self) -> u32 {
        0
    }
}

fn main() {}
