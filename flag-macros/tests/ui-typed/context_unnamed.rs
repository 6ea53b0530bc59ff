#![deny(deprecated)]

// Two keys of one snake_case name, and one that cannot be a Rust name: `flags!` compiles, and
// warns that `context()` has no method for them.
flag_macros::flags!(pub mod flags);

fn main() {
    let _ = flags::context().user_id(1);
}
