flag_macros::flags!(pub mod flags, schema = "flags.json", fallback = nothing);

fn main() {}
