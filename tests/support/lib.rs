//! Helpers for the end-to-end tests in `tests/`: the example binary, built once, flags files
//! derived from the example's own `flags.json`, and the list of published crates.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// The crates published to crates.io (every other package has `publish = false`).
pub const PUBLISHED: [&str; 7] = [
    "flag-schema",
    "flag-runtime",
    "flag-macros",
    "flag-openfeature",
    "flag-agent",
    "flag-local",
    "flag-experiment",
];

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The real `example-lambda` binary, built (once per test process) by the cargo running us.
pub fn example_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        flag_local::CargoBinary::new()
            .manifest_path(root().join("Cargo.toml"))
            .package("example-lambda")
            .build()
            .expect("building example-lambda")
            .executable
    })
}

/// The example's experiments file, as shipped.
pub fn example_experiments() -> Value {
    let text = std::fs::read_to_string(root().join("example-lambda/experiments.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The example's flags document, as shipped.
pub fn example_flags() -> Value {
    let text = std::fs::read_to_string(root().join("example-lambda/flags.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub use flag_agent::FlagsFile;

/// Reads a sample event from `example-lambda/events/`.
pub fn event(name: &str) -> Value {
    let path = root().join("example-lambda/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
