flag_macros::flags!(pub mod flags);

fn main() {
    if let Some(banner) = flags::DISCOUNT_BANNER.get_now() {
        let _percentage: u32 = banner.percentage;
        let _message: String = banner.message;
    }
}
