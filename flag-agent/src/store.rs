//! The flags file, re-read on every request, each new valid content numbered.

use std::path::PathBuf;
use std::sync::Arc;

use flag_schema::Document;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

/// Largest flags file read (AppConfig's maximum hosted configuration size).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
    state: Mutex<Loaded>,
}

#[derive(Debug, Default)]
struct Loaded {
    raw: Vec<u8>,
    served: Option<Arc<Served>>,
    last_error: Option<String>,
}

/// One valid content of the file, evaluated as the agent serves it.
#[derive(Debug)]
pub(crate) struct Served {
    pub version: u64,
    pub evaluated: Map<String, Value>,
}

impl Store {
    pub(crate) fn new(path: PathBuf) -> Self {
        Store {
            path,
            state: Mutex::default(),
        }
    }

    /// The content to serve, re-read first. The file is read on every request and compared
    /// byte for byte: modification times are too coarse on some file systems to notice two
    /// quick edits of the same length, and a flags file is small.
    pub(crate) async fn current(&self) -> Result<Arc<Served>, String> {
        let mut state = self.state.lock().await;
        let len = tokio::fs::metadata(&self.path).await.map(|m| m.len());
        self.reload(&mut state, len).await;
        match &state.served {
            Some(served) => Ok(Arc::clone(served)),
            None => Err(state
                .last_error
                .clone()
                .unwrap_or_else(|| "no flags loaded".to_owned())),
        }
    }

    async fn reload(&self, state: &mut Loaded, len: std::io::Result<u64>) {
        let shown = self.path.display();
        let raw = match len {
            Ok(len) if len > MAX_FILE_BYTES => Err(format!(
                "{shown} is {len} bytes; AppConfig's maximum is {MAX_FILE_BYTES}"
            )),
            Ok(_) => tokio::fs::read(&self.path)
                .await
                .map_err(|e| format!("cannot read {shown}: {e}")),
            Err(e) => Err(format!("cannot read {shown}: {e}")),
        };
        let raw = match raw {
            Ok(raw) if raw == state.raw && state.served.is_some() => return,
            Ok(raw) => raw,
            Err(message) => return self.refuse(state, message),
        };
        let text = match std::str::from_utf8(&raw) {
            Ok(text) => text,
            Err(e) => return self.refuse(state, format!("{shown} is not UTF-8: {e}")),
        };
        match Document::parse(text) {
            Ok(doc) => {
                let version = state.served.as_ref().map_or(1, |s| s.version + 1);
                tracing::info!(file = %shown, version, flags = doc.flags.len(), "serving flags");
                state.served = Some(Arc::new(Served {
                    version,
                    evaluated: doc.evaluate(),
                }));
                state.raw = raw;
                state.last_error = None;
            }
            Err(e) => self.refuse(
                state,
                format!("{shown} is not a valid feature-flag document: {e}"),
            ),
        }
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
