flag_macros::flags!(pub mod flags);

fn main() {}
