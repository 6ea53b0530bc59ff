//! A shared in-memory writer, for code under test that writes lines (a `tracing` subscriber,
//! experiment records).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// What was written to it, shared by its clones: give one to the code under test, read the
/// other.
#[derive(Clone, Debug, Default)]
pub struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// What was written since the last call, as text.
    ///
    /// # Panics
    /// If it is not UTF-8.
    pub fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        String::from_utf8(bytes).expect("UTF-8 lines")
    }
}
