//! Helpers for the end-to-end tests in `tests/`: the example binary, built once, and flags
//! files derived from the example's own `flags.json`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The real `example-lambda` binary, built (once per test process) by the cargo running us.
pub fn example_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        flag_local::cargo_build(root(), "example-lambda", false).expect("building example-lambda")
    })
}

/// The example's flags document, as shipped.
pub fn example_flags() -> Value {
    let text = std::fs::read_to_string(root().join("example-lambda/flags.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A flags file in a fresh temp dir, removed on drop.
pub struct FlagsFile {
    /// Where it is.
    pub path: PathBuf,
}

impl FlagsFile {
    /// Writes `doc` to a new file.
    pub fn new(doc: &Value) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "flag-e2e-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = FlagsFile {
            path: dir.join("flags.json"),
        };
        file.write(doc);
        file
    }

    /// Replaces the content atomically (write, then rename), as editors do.
    pub fn write(&self, doc: &Value) {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
        std::fs::rename(tmp, &self.path).unwrap();
    }
}

impl Drop for FlagsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.path.parent().unwrap());
    }
}

/// Reads a sample event from `example-lambda/events/`.
pub fn event(name: &str) -> Value {
    let path = root().join("example-lambda/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
