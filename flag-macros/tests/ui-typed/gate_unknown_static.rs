use flag_macros::feature_flag;

flag_macros::flags!(pub mod flags);

#[feature_flag(flags::NEW_CHEKOUT, fallback = old_checkout)]
fn checkout() -> u32 {
    2
}

fn old_checkout() -> u32 {
    1
}

fn main() {
    let _ = checkout();
}
