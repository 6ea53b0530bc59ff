flag_macros::flags!(pub mod flags);

fn main() {
    let _ = flags::NEW_CHEKOUT.is_enabled_now();
}
