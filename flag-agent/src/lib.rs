//! A local stand-in for the [AWS AppConfig agent], for tests and local runs.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let agent = flag_agent::Agent::new("flags.json", "app", "develop", "flags")
//!     .start("127.0.0.1:0".parse().unwrap())
//!     .await?;
//! // Point a client (flag-runtime: AWS_APPCONFIG_EXTENSION_HTTP_PORT) at it:
//! println!("agent on port {}", agent.addr().port());
//! agent.stop().await;
//! # Ok(()) }
//! ```
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
//! Limits, so that a wrong path or a hostile client cannot hang it or run it out of memory:
//!
//! * it serves a regular file only: [`Agent::start`] refuses a FIFO, a device or a directory
//!   ([`FlagsFileError`]); if one replaces the file later, requests are answered from the last
//!   valid content (or 500 with the reason), and nothing ever waits on the path;
//! * it reads at most 4 MiB (AppConfig's maximum configuration size) and refuses a larger file;
//! * a request body (none is expected) over 64 KiB is refused with 413, unread;
//! * a client must send its request head within 10 s ([`Agent::header_read_timeout`]);
//! * accept failures (such as running out of file descriptors) are retried with back-off, from
//!   10 ms up to 1 s, and logged once per streak;
//! * error messages name keys and positions, never a flag value, and quote at most 64
//!   characters of a name taken from the request.
//!
//! Not modelled: gradual deployments (every entity gets the current version), polling AppConfig
//! itself. Multi-variant flags are evaluated per request from the `Context` headers
//! ([`flag_schema::Document::evaluate_with`]).
//!
//! # Experiments
//!
//! `experiments.json` beside the flags file (or the file given to
//! [`Agent::experiments_file`], `--experiments`) holds AppConfig experiment definitions, each
//! with an optional local `Run` ([`flag_schema::Experiments`] has the format). While a run is
//! active, a request that names the flag (`?flag=`) and carries an `Entity-Id` is served the
//! entity's treatment as the flag's value: `{"_variant": "__c__", ...}` for the control,
//! `__t1__` for the first of `Treatments`, and so on, with that treatment's `enabled` and
//! attribute values. An entity outside the audience rule or the exposure, a request without
//! `Entity-Id` or without `?flag=`, and a flag without a run get the deployed value, as before.
//!
//! The assignment is deterministic: a run override first, then the audience rule, then a hash of
//! the entity against `ExposurePercentage`, then a treatment in proportion to the weights
//! ([`flag_schema::Experiment::assign`]). It is this stand-in's algorithm, not AWS's, which is
//! not documented; it keeps what AWS promises: the same entity gets the same treatment for the
//! run, and raising the exposure keeps exposed entities where they were.
//!
//! Edits apply on the next request under the next `Configuration-Version`, as AWS allows them:
//! while a `Run` exists, raising its `ExposurePercentage` and changing its `TreatmentOverrides`
//! apply; any other edit of that experiment, or a lowered exposure, is refused and logged, and
//! the last valid files stay served (AWS refuses definition updates during a run). Removing
//! `Run` stops the run. An invalid experiments file is refused like an invalid flags file.
//!
//! # The API at a glance
//!
//! | family | items |
//! |---|---|
//! | the server | [`Agent`] (example at the top), [`RunningAgent`], [`FlagsFileError`] |
//! | the flags file, rewritten atomically by tests | [`FlagsFile`] |
//! | faults to test a client against | [`RunningAgent::set_fault`], [`Fault`] |
//!
//! [AWS AppConfig agent]: https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-integration-lambda-extensions.html
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod fault;
mod flags_file;
mod http;
#[doc(hidden)]
pub mod server;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use fault::Fault;
pub use flags_file::FlagsFile;

/// What the stand-in serves and under which names. See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct Agent {
    flags_file: PathBuf,
    experiments_file: Option<PathBuf>,
    application: String,
    environment: String,
    profile: String,
    header_read_timeout: Duration,
}

/// Why [`Agent::start`] refused its flags file (inside the [`std::io::Error`] it returns, of
/// kind [`InvalidInput`](std::io::ErrorKind::InvalidInput)).
///
/// ```no_run
/// # async fn demo() {
/// let err = flag_agent::Agent::new("/dev/zero", "app", "develop", "flags")
///     .start("127.0.0.1:0".parse().unwrap())
///     .await
///     .unwrap_err();
/// let why = err.get_ref().and_then(|e| e.downcast_ref::<flag_agent::FlagsFileError>());
/// assert!(matches!(why, Some(flag_agent::FlagsFileError::NotARegularFile { .. })));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlagsFileError {
    /// The path names a FIFO, a device, a directory or a socket, which could block the agent or
    /// never end: it serves regular files only.
    NotARegularFile {
        /// The flags file given.
        path: PathBuf,
        /// What it is instead: `"a FIFO"`, `"a character device"`, `"a directory"`, ...
        kind: &'static str,
    },
}

impl std::fmt::Display for FlagsFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlagsFileError::NotARegularFile { path, kind } => write!(
                f,
                "{} is {kind}, not a regular file; the agent serves regular files only",
                path.display()
            ),
        }
    }
}

impl std::error::Error for FlagsFileError {}

/// A running stand-in. Dropping it stops it too; [`stop`](Self::stop) also waits for that.
#[derive(Debug)]
pub struct RunningAgent {
    addr: SocketAddr,
    state: Arc<http::State>,
    connections: Arc<AtomicU64>,
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
            experiments_file: None,
            application: application.into(),
            environment: environment.into(),
            profile: profile.into(),
            header_read_timeout: server::DEFAULT_HEADER_READ_TIMEOUT,
        }
    }

    /// Serve the experiments of `experiments_file` (which must exist) instead of
    /// `experiments.json` beside the flags file (served when it exists). See the
    /// [crate docs](crate#experiments).
    pub fn experiments_file(mut self, experiments_file: impl Into<PathBuf>) -> Self {
        self.experiments_file = Some(experiments_file.into());
        self
    }

    /// How long a client may take to send a request head (10 s by default); a connection that
    /// has not sent one by then is closed. A kept-alive connection gets as long between requests.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Binds `addr` (port 0 picks a free port) and serves until stopped. The flags file is
    /// loaded (and validated) before this returns, so its problems show up at once in the log.
    ///
    /// # Errors
    /// If `addr` cannot be bound; if the flags file exists but is not a regular file, an error of
    /// kind [`InvalidInput`](std::io::ErrorKind::InvalidInput) holding a [`FlagsFileError`]. A
    /// missing or invalid file is not an error: it is logged, answered with 500 until it is fixed.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningAgent> {
        let flags_file = self.flags_file.clone();
        let kind = tokio::task::spawn_blocking(move || store::not_regular(&flags_file))
            .await
            .ok()
            .flatten();
        if let Some(kind) = kind {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                FlagsFileError::NotARegularFile {
                    path: self.flags_file,
                    kind,
                },
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(http::State {
            store: store::Store::new(self.flags_file, self.experiments_file),
            application: self.application,
            environment: self.environment,
            profile: self.profile,
            requests: AtomicU64::new(0),
            fault: fault::FaultSlot::default(),
        });
        if let Err(message) = state.store.current().await {
            tracing::error!(%message, "the flags file cannot be served yet");
        }
        let config = server::Config {
            header_read_timeout: self.header_read_timeout,
            ..server::Config::new("flag-agent")
        };
        let connections = Arc::clone(&config.connections);
        let served = Arc::clone(&state);
        let task = tokio::spawn(server::serve(listener, config, move |req| {
            let state = Arc::clone(&served);
            async move { http::handle(&state, req).await }
        }));
        Ok(RunningAgent {
            addr,
            state,
            connections,
            task: Some(task),
        })
    }
}

impl RunningAgent {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far (a client keeping connections alive opens few).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Configuration requests received so far (not `/ping`), faulted or not.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Injects `fault` into every following configuration request, until [`clear_fault`](Self::clear_fault).
    ///
    /// ```no_run
    /// use flag_agent::{Agent, Fault};
    ///
    /// # async fn demo() -> std::io::Result<()> {
    /// let agent = Agent::new("flags.json", "app", "develop", "flags")
    ///     .start("127.0.0.1:0".parse().unwrap())
    ///     .await?;
    /// agent.set_fault(Fault::Status(503)); // the client under test must keep serving
    /// // ... exercise the client ...
    /// agent.clear_fault();
    /// # Ok(()) }
    /// ```
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
