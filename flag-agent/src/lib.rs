//! A local stand-in for the [AWS AppConfig agent], for tests and local runs.
//!
//! It serves an AppConfig feature-flag document (the file you upload to AppConfig:
//! `{"version": "1", "flags": {...}, "values": {...}}`) exactly as the agent serves a
//! feature-flag profile:
//!
//! * `GET /applications/{application}/environments/{environment}/configurations/{profile}`
//!   answers the evaluated flags `{"flag": {"enabled": true, "attr": 1}, ...}` with
//!   `Content-Type: application/json` and a `Configuration-Version` header;
//! * `?flag=a&flag=b` narrows the answer to those flags; with exactly one `flag`, the answer is
//!   that flag's bare object;
//! * an unknown application, environment or profile answers 404; an unknown `flag`, 400; both
//!   with a JSON body `{"Message": ..., "ReasonCode": ...}`;
//! * `GET /ping` answers 200 with the stand-in's version.
//!
//! The file is re-read when it changes (checked on every request, so a flip is visible to the
//! very next request): each new valid content gets the next `Configuration-Version` (1, 2, ...).
//! An invalid edit is refused like AppConfig refuses an invalid upload: it is logged and the last
//! valid content keeps being served. A file that was never valid answers 500 with the reasons.
//!
//! Not modelled: multi-variant rules (the default variant is served, see
//! [`flag_schema::Document::evaluate`]), the `Context` and `Entity-Id` headers (accepted and
//! ignored), polling AppConfig itself.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let agent = flag_agent::Agent::new("flags.json", "app", "develop", "flags")
//!     .start("127.0.0.1:0".parse().unwrap())
//!     .await?;
//! println!("agent on port {}", agent.addr().port());
//! agent.stop().await;
//! # Ok(()) }
//! ```
//!
//! [AWS AppConfig agent]: https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-integration-lambda-extensions.html
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod fault;
mod flags_file;
mod http;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use fault::Fault;
pub use flags_file::FlagsFile;

/// What the stand-in serves and under which names. See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct Agent {
    flags_file: PathBuf,
    application: String,
    environment: String,
    profile: String,
}

/// A running stand-in. Dropping it stops it too; [`stop`](Self::stop) also waits for that.
#[derive(Debug)]
pub struct RunningAgent {
    addr: SocketAddr,
    state: Arc<http::State>,
    task: Option<JoinHandle<()>>,
}

impl Agent {
    /// Serve `flags_file` as `application` / `environment` / `profile` (names; the real agent
    /// also accepts IDs).
    pub fn new(
        flags_file: impl Into<PathBuf>,
        application: impl Into<String>,
        environment: impl Into<String>,
        profile: impl Into<String>,
    ) -> Self {
        Agent {
            flags_file: flags_file.into(),
            application: application.into(),
            environment: environment.into(),
            profile: profile.into(),
        }
    }

    /// Binds `addr` (port 0 picks a free port) and serves until stopped. The flags file is
    /// loaded (and validated) before this returns, so its problems show up at once in the log.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningAgent> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(http::State {
            store: store::Store::new(self.flags_file),
            application: self.application,
            environment: self.environment,
            profile: self.profile,
            requests: AtomicU64::new(0),
            fault: fault::FaultSlot::default(),
        });
        if let Err(message) = state.store.current().await {
            tracing::error!(%message, "the flags file cannot be served yet");
        }
        let task = tokio::spawn(http::serve(listener, Arc::clone(&state)));
        Ok(RunningAgent {
            addr,
            state,
            task: Some(task),
        })
    }
}

impl RunningAgent {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Configuration requests received so far (not `/ping`), faulted or not.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Injects `fault` into every following configuration request, until [`clear_fault`](Self::clear_fault).
    pub fn set_fault(&self, fault: Fault) {
        self.state.fault.set(Some(fault));
    }

    /// Back to normal answers.
    pub fn clear_fault(&self) {
        self.state.fault.set(None);
    }

    /// Stops listening and drops every open connection.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
