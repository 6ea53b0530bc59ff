//! The flags file and its experiments file, re-read on every request, each new valid pair
//! numbered.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flag_schema::{Document, Experiments};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

/// Largest flags file read (AppConfig's maximum hosted configuration size).
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
    experiments: ExperimentsFile,
    state: Mutex<Loaded>,
}

/// Where the experiments are: a file named on purpose must exist; the default one
/// (`experiments.json` beside the flags file) is used when it does.
#[derive(Debug, Clone)]
pub(crate) enum ExperimentsFile {
    Given(PathBuf),
    Beside(PathBuf),
}

#[derive(Debug, Default)]
struct Loaded {
    raw: Vec<u8>,
    raw_experiments: Option<Vec<u8>>,
    served: Option<Arc<Served>>,
    last_error: Option<String>,
}

/// One valid content of the file, evaluated as the agent serves it.
#[derive(Debug)]
pub(crate) struct Served {
    pub version: u64,
    /// The document, for evaluations with a request `Context`.
    pub doc: Document,
    /// The context-free evaluation, computed once.
    pub evaluated: Map<String, Value>,
    /// The experiments and their runs (none without an experiments file).
    pub experiments: Experiments,
}

impl Store {
    pub(crate) fn new(path: PathBuf, experiments: Option<PathBuf>) -> Self {
        let experiments = match experiments {
            Some(given) => ExperimentsFile::Given(given),
            None => ExperimentsFile::Beside(path.with_file_name("experiments.json")),
        };
        Store {
            path,
            experiments,
            state: Mutex::default(),
        }
    }

    /// The content to serve, re-read first. The file is read on every request and compared
    /// byte for byte: modification times are too coarse on some file systems to notice two
    /// quick edits of the same length, and a flags file is small.
    pub(crate) async fn current(&self) -> Result<Arc<Served>, String> {
        let mut state = self.state.lock().await;
        let (path, experiments) = (self.path.clone(), self.experiments.clone());
        let raw = tokio::task::spawn_blocking(move || {
            let raw_experiments = match &experiments {
                ExperimentsFile::Beside(path) if !path.exists() => Ok(None),
                ExperimentsFile::Given(path) | ExperimentsFile::Beside(path) => {
                    read_capped(path, MAX_FILE_BYTES).map(Some)
                }
            };
            Ok((read_capped(&path, MAX_FILE_BYTES)?, raw_experiments?))
        })
        .await
        .unwrap_or_else(|e| Err(format!("cannot read {}: {e}", self.path.display())));
        self.reload(&mut state, raw);
        match &state.served {
            Some(served) => Ok(Arc::clone(served)),
            None => Err(state
                .last_error
                .clone()
                .unwrap_or_else(|| "no flags loaded".to_owned())),
        }
    }

    fn reload(&self, state: &mut Loaded, raw: Result<(Vec<u8>, Option<Vec<u8>>), String>) {
        let shown = self.path.display();
        let (raw, raw_experiments) = match raw {
            Ok((raw, experiments))
                if raw == state.raw
                    && experiments == state.raw_experiments
                    && state.served.is_some() =>
            {
                return
            }
            Ok(pair) => pair,
            Err(message) => return self.refuse(state, message),
        };
        let text = match std::str::from_utf8(&raw) {
            Ok(text) => text,
            Err(e) => return self.refuse(state, format!("{shown} is not UTF-8: {e}")),
        };
        let doc = match Document::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                return self.refuse(
                    state,
                    format!("{shown} is not a valid feature-flag document: {e}"),
                )
            }
        };
        let experiments = match raw_experiments
            .as_deref()
            .map(|raw| self.experiments(raw, &doc))
        {
            None => Experiments::default(),
            Some(Ok(experiments)) => experiments,
            Some(Err(message)) => return self.refuse(state, message),
        };
        if let Some(served) = &state.served {
            let refused = served.experiments.refused_update(&experiments);
            if !refused.is_empty() {
                let reasons: Vec<String> = refused.iter().map(ToString::to_string).collect();
                let message = format!(
                    "{} cannot change that way during a run: {}",
                    self.experiments_path().display(),
                    reasons.join("; ")
                );
                return self.refuse(state, message);
            }
        }
        let version = state.served.as_ref().map_or(1, |s| s.version + 1);
        let running = experiments
            .experiments
            .iter()
            .filter(|e| e.run.is_some())
            .count();
        tracing::info!(
            file = %shown,
            version,
            flags = doc.flags.len(),
            experiments = experiments.experiments.len(),
            running,
            "serving flags"
        );
        // Once per content: flag, variant and position, never a rule's constants.
        for warning in doc.warnings.iter().chain(&experiments.warnings) {
            tracing::warn!(file = %shown, %warning, "a rule AppConfig and this stand-in may treat differently");
        }
        state.served = Some(Arc::new(Served {
            version,
            evaluated: doc.evaluate(),
            doc,
            experiments,
        }));
        state.raw = raw;
        state.raw_experiments = raw_experiments;
        state.last_error = None;
    }

    fn experiments_path(&self) -> &Path {
        match &self.experiments {
            ExperimentsFile::Given(path) | ExperimentsFile::Beside(path) => path,
        }
    }

    fn experiments(&self, raw: &[u8], doc: &Document) -> Result<Experiments, String> {
        let shown = self.experiments_path().display();
        let text = std::str::from_utf8(raw).map_err(|e| format!("{shown} is not UTF-8: {e}"))?;
        Experiments::parse(text, doc)
            .map_err(|e| format!("{shown} is not a valid experiments file: {e}"))
    }

    fn refuse(&self, state: &mut Loaded, message: String) {
        if state.last_error.as_deref() == Some(message.as_str()) {
            return; // already logged for this content
        }
        if state.served.is_some() {
            tracing::error!(%message, "refusing the new flags file; still serving the last valid one");
        } else {
            tracing::error!(%message, "no valid flags file to serve");
        }
        state.last_error = Some(message);
    }
}

/// What `path` is when it exists and is not a regular file ("a FIFO", "a directory", ...).
pub(crate) fn not_regular(path: &Path) -> Option<&'static str> {
    let meta = std::fs::metadata(path).ok()?;
    (!meta.is_file()).then(|| kind(&meta.file_type()))
}

fn kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The content of `path` if it is a regular file of at most `cap` bytes. Never blocks on a FIFO
/// or a device (they are refused before they are read, and opened non-blocking in case one
/// replaced the file in between) and never reads more than `cap + 1` bytes (a file can grow
/// after its size was checked, and `/proc`-like files announce no size at all). The message
/// names the path and the problem, never the content.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let refuse_kind = |what: &str| {
        format!("{shown} is {what}, not a regular file; the agent serves regular files only")
    };
    if let Some(what) = not_regular(path) {
        return Err(refuse_kind(what));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Opening a FIFO for reading blocks until a writer comes, a terminal could become the
        // controlling one: neither, whatever is at the path by now.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(refuse_kind(kind(&meta.file_type())));
    }
    let too_large =
        || format!("{shown} is over {cap} bytes, AppConfig's maximum configuration size");
    if meta.len() > cap {
        return Err(too_large());
    }
    let mut raw = Vec::with_capacity(meta.len() as usize + 1);
    file.take(cap + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if raw.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_stops_past_the_cap_even_when_the_size_is_unknown() {
        // A /proc file reports a size of 0 but has content: only the `take` catches it.
        let path = Path::new("/proc/self/status");
        if std::fs::metadata(path).map(|m| m.len()).ok() != Some(0) {
            return; // not Linux
        }
        let whole = read_capped(path, MAX_FILE_BYTES).unwrap();
        assert!(whole.len() > 100);
        let err = read_capped(path, 100).unwrap_err();
        assert!(
            err.ends_with("is over 100 bytes, AppConfig's maximum configuration size"),
            "{err}"
        );
    }
}
