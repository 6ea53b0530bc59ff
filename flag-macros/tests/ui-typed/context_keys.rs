flag_macros::flags!(pub mod flags);

fn main() {
    // The rules of tests/typed.json read `$tier`, compared as text.
    let _ = flags::context().teir("gold");
    let _ = flags::context().tier(5);
    let _ = flags::context().region("eu");
}
