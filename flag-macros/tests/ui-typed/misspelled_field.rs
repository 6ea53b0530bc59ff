flag_macros::flags!(pub mod flags);

fn main() {
    if let Some(banner) = flags::DISCOUNT_BANNER.get_now() {
        let _ = banner.percentag;
    }
}
