#![deny(deprecated)]

flag_macros::flags!(pub mod flags);

fn main() {
    let _ = flags::LEGACY_RECEIPT.is_enabled_now();
}
