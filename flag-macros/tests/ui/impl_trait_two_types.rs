use flag_macros::feature_flag;

// `Fn` is not a trait an either-type can carry: both paths must return one type.
#[feature_flag("newCheckout", fallback = old)]
fn adder(n: u32) -> impl Fn(u32) -> u32 {
    move |x| x + n
}

fn old(n: u32) -> impl Fn(u32) -> u32 {
    move |x| x * n
}

fn main() {
    let _ = adder(1)(2);
}
