//! The background refresher: one thread per process with a tokio runtime of its own (IO and
//! time), on which every refresh runs.
//!
//! A refresh therefore never depends on the host: it works from sync code with no runtime at
//! all, from a tokio runtime built without a timer or without IO, from another executor, and
//! from a runtime that is shutting down; the host's runtime is never asked for a timer, a socket
//! or a task. The thread is started on the first refresh and lives as long as the process; it
//! sleeps in `epoll_wait` between refreshes. Parsing runs on the runtime's blocking pool, so
//! the deadline that releases waiting checks fires on time even while a large answer is parsed.

use std::sync::{Arc, Mutex, OnceLock};

use tokio::runtime::Handle;

use crate::error::FetchError;

static HANDLE: OnceLock<Handle> = OnceLock::new();

/// Name of the refresher thread (and, with a suffix, of its blocking pool).
pub(crate) const THREAD_NAME: &str = "flag-refresher";

/// The refresher's runtime, started on first use. A failed start is reported, not cached: the
/// next refresh (a TTL later) tries again.
pub(crate) fn handle() -> Result<&'static Handle, FetchError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    // One start at a time: two threads racing must not start two refreshers.
    static STARTING: Mutex<()> = Mutex::new(());
    let _starting = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let handle = start().map_err(|e| FetchError::Refresher(Arc::new(e)))?;
    Ok(HANDLE.get_or_init(|| handle))
}

fn start() -> std::io::Result<Handle> {
    // The runtime is built on its own thread and its handle sent back: if the thread cannot be
    // spawned, no runtime exists to be dropped here (dropping one inside the caller's async
    // context would panic).
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .thread_name(concat!("flag-refresher", "-blocking"))
                .build();
            match runtime {
                Ok(runtime) => {
                    let _ = sender.send(Ok(runtime.handle().clone()));
                    runtime.block_on(std::future::pending::<()>());
                }
                Err(error) => {
                    let _ = sender.send(Err(error));
                }
            }
        })?;
    receiver
        .recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("the refresher thread ended at start")))
}
