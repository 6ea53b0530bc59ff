// The experiments file beside the schema is checked against it: every problem, at the module.
flag_macros::flags!(pub mod flags);

fn main() {}
