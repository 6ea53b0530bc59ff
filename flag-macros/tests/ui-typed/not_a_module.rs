flag_macros::flags!(pub struct Flags);

fn main() {}
