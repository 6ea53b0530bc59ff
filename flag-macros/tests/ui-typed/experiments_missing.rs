// An experiments file named on purpose must exist: the error is at its path.
flag_macros::flags!(pub mod flags, experiments = "tests/no-such-experiments.json");

fn main() {}
