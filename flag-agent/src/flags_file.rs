//! A flags file (and its experiments file) for tests: a fresh temporary directory, atomic
//! edits, removed when dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// A feature-flags document in a file of its own, for tests that serve it with the stand-in
/// and edit it to flip flags. Edits replace the file atomically (write, then rename), as
/// editors do, so the agent never reads half a file. The directory is removed on drop.
///
/// A test helper: it panics if the file cannot be written.
///
/// ```
/// use flag_agent::FlagsFile;
/// use serde_json::json;
///
/// let file = FlagsFile::new(&json!({"version": "1", "flags": {"a": {}}}));
/// assert!(file.path().exists());
/// file.write(&json!({"version": "1", "flags": {"a": {}}, "values": {"a": {"enabled": true}}}));
/// ```
#[derive(Debug)]
pub struct FlagsFile {
    path: PathBuf,
}

impl FlagsFile {
    /// Writes `document` to `flags.json` in a new temporary directory.
    ///
    /// # Panics
    /// If the directory or the file cannot be created.
    pub fn new(document: &Value) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "flag-agent-flags-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let file = FlagsFile {
            path: dir.join("flags.json"),
        };
        file.write(document);
        file
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the content atomically with `document`, pretty-printed.
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write(&self, document: &Value) {
        self.write_raw(&serde_json::to_vec_pretty(document).expect("JSON values serialize"));
    }

    /// Replaces the content atomically with `bytes` (which need not be valid JSON).
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write_raw(&self, bytes: &[u8]) {
        replace(&self.path, bytes);
    }

    /// Writes `experiments` (an `experiments.json` document) beside the flags file, atomically,
    /// where the agent looks for it by default.
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write_experiments(&self, experiments: &Value) {
        let bytes = serde_json::to_vec_pretty(experiments).expect("JSON values serialize");
        replace(&self.path.with_file_name("experiments.json"), &bytes);
    }
}

fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("renaming to {}: {e}", path.display()));
}

impl Drop for FlagsFile {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
