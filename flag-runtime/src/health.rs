//! Health: what the refreshes did, reported by [`Status`], and the logging policy: one `warn`
//! per fault streak, one `info` on recovery, one `warn` per missing flag name.
//!
//! Only names, kinds, status codes and short tokens are logged; never a value, and never text
//! the agent supplied (a version is shown only when it is a short token).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::context::ContextError;

/// The least time between two lines about unsendable contexts.
const INVALID_CONTEXT_LOG_MS: u64 = 60_000;
use crate::error::FetchError;

/// What a refresh that completed did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refreshed {
    /// A new answer was parsed and published.
    Updated {
        /// Its `Configuration-Version`.
        version: Option<String>,
    },
    /// The agent answered exactly what is already held (same version, same bytes).
    Unchanged {
        /// Its `Configuration-Version`.
        version: Option<String>,
    },
}

impl Refreshed {
    /// The `Configuration-Version` now served.
    pub fn version(&self) -> Option<&str> {
        match self {
            Refreshed::Updated { version } | Refreshed::Unchanged { version } => version.as_deref(),
        }
    }
}

/// A point-in-time report of a [`FlagSource`](crate::FlagSource), for logs, metrics and health
/// checks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Status {
    /// The configuration version being served, if any snapshot is held.
    pub version: Option<String>,
    /// Whether any snapshot is held (otherwise every flag is off, or its caller default).
    pub has_snapshot: bool,
    /// Time since the agent last answered successfully.
    pub age: Option<Duration>,
    /// What the latest refresh did; `None` before the first one completes.
    pub last_refresh: Option<Result<Refreshed, FetchError>>,
    /// The most recent error, even if a later refresh succeeded.
    pub last_error: Option<FetchError>,
    /// Consecutive failed refreshes (0 when healthy).
    pub failure_streak: u64,
    /// Completed refreshes of the context-free answer so far, failed or not: which of them this
    /// report already reflects (a [`StatusChanges`](crate::StatusChanges) wake-up for one that
    /// is not newer brings nothing new).
    pub refreshes: u64,
}

/// Missing flag names remembered (to log each once); past this, one line says so and the rest
/// are not logged.
pub(crate) const MISSING_NAMES_LOGGED: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct Health {
    state: Mutex<State>,
    /// Consecutive failed refreshes of evaluation contexts (any context), logged apart from the
    /// context-free answer's: [`Status`] reports the context-free answer only.
    context_streak: Mutex<u64>,
    missing: Mutex<HashSet<Box<str>>>,
    /// `clock::now_ms` of the latest line about an unsendable context (0: none yet): such
    /// lines come at most once a minute, however the contexts come.
    invalid_context_logged_ms: AtomicU64,
    /// Bumped after each recorded outcome of the context-free answer: what
    /// [`StatusChanges`](crate::StatusChanges) waits on.
    pub(crate) changes: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    failure_streak: u64,
    last_error: Option<FetchError>,
    last_refresh: Option<Result<Refreshed, FetchError>>,
    last_success_ms: Option<u64>,
    refreshes: u64,
}

impl Health {
    /// The health of a source that will never ask the agent (see [`log_unconfigured`](Self::log_unconfigured)).
    pub(crate) fn unconfigured(error: FetchError) -> Self {
        Health {
            state: Mutex::new(State {
                // The fault is known and logged: an explicit refresh failing the same way is
                // the same streak.
                failure_streak: 1,
                last_error: Some(error),
                ..State::default()
            }),
            context_streak: Mutex::default(),
            missing: Mutex::default(),
            invalid_context_logged_ms: AtomicU64::new(0),
            changes: tokio::sync::watch::Sender::default(),
        }
    }

    /// Logs why the source is unconfigured, if it is. Called once, after the source is built
    /// (and, for the default source, after it is installed: a subscriber that checks a flag
    /// while handling this event must find the default already there, not re-enter its set-up).
    pub(crate) fn log_unconfigured(&self) {
        let error = match &self.state().last_error {
            Some(error @ FetchError::Unconfigured(_)) => error.clone(),
            _ => return,
        };
        tracing::warn!(kind = error.kind().as_str(), "{error}; every flag is off");
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a refresh's outcome; logs the first failure of a streak and the recovery.
    pub(crate) fn record(
        &self,
        outcome: &Result<Refreshed, FetchError>,
        has_snapshot: bool,
        now_ms: u64,
    ) {
        // Decide under the lock, log after it: a `tracing` layer may itself call `status()`.
        let streak_before = {
            let mut state = self.state();
            let before = state.failure_streak;
            match outcome {
                Err(error) => {
                    state.failure_streak += 1;
                    state.last_error = Some(error.clone());
                }
                Ok(_) => {
                    state.failure_streak = 0;
                    state.last_success_ms = Some(now_ms);
                }
            }
            state.last_refresh = Some(outcome.clone());
            state.refreshes += 1;
            before
        };
        // After the state is updated (a waiter reads it), outside its lock.
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        let serving = if has_snapshot {
            "last-known-good flags"
        } else {
            "no flags (every flag is off, or its caller default)"
        };
        match outcome {
            Err(error) if streak_before == 0 => tracing::warn!(
                %error,
                kind = error.kind().as_str(),
                serving,
                "AppConfig agent refresh failed; logged once until it recovers"
            ),
            Err(error) => tracing::debug!(
                %error,
                streak = streak_before + 1,
                "AppConfig agent refresh failed again"
            ),
            Ok(refreshed) if streak_before > 0 => tracing::info!(
                failures = streak_before,
                version = loggable(refreshed.version()),
                "AppConfig agent recovered"
            ),
            Ok(_) => {}
        }
    }

    /// Records the outcome of a refresh for an evaluation context: one `warn` per streak of
    /// failed context refreshes, one `info` when a context refresh succeeds again.
    pub(crate) fn record_context(&self, outcome: &Result<Refreshed, FetchError>) {
        let before = {
            let mut streak = self
                .context_streak
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let before = *streak;
            *streak = if outcome.is_err() { before + 1 } else { 0 };
            before
        };
        match outcome {
            Err(error) if before == 0 => tracing::warn!(
                %error,
                kind = error.kind().as_str(),
                "AppConfig agent refresh for an evaluation context failed; serving that context's \
                 last-known-good answer, else the context-free one; logged once until a context \
                 refresh succeeds"
            ),
            Err(error) => {
                tracing::debug!(%error, streak = before + 1, "context refresh failed again")
            }
            Ok(_) if before > 0 => tracing::info!(
                failures = before,
                "AppConfig agent refresh for evaluation contexts recovered"
            ),
            Ok(_) => {}
        }
    }

    /// Logs, once per name for the life of the source, a flag asked for but absent.
    #[cold]
    pub(crate) fn log_missing(&self, flag: &str, version: Option<&str>) {
        enum Log {
            No,
            Flag,
            Overflow,
        }
        let log = {
            let mut missing = self.missing.lock().unwrap_or_else(|e| e.into_inner());
            if missing.contains(flag) {
                Log::No
            } else if missing.len() < MISSING_NAMES_LOGGED {
                missing.insert(flag.into());
                Log::Flag
            } else if missing.len() == MISSING_NAMES_LOGGED {
                // A sentinel no flag name can equal (names are not empty): logged once.
                missing.insert("".into());
                Log::Overflow
            } else {
                Log::No
            }
        };
        match log {
            Log::Flag => tracing::warn!(
                flag,
                version = loggable(version),
                "feature flag is not in the AppConfig configuration; treating it as off \
                 (or its caller default); logged once per flag"
            ),
            Log::Overflow => tracing::warn!(
                limit = MISSING_NAMES_LOGGED,
                "more feature flags are missing from the AppConfig configuration; no longer logged"
            ),
            Log::No => {}
        }
    }

    /// Logs that a context could not be sent, at most once a minute (the error names the key
    /// or the limit, never a value): a caller sending such contexts among good ones is told,
    /// not flooded.
    #[cold]
    pub(crate) fn log_invalid_context(&self, error: &ContextError) {
        let now = crate::clock::now_ms().max(1);
        let last = self.invalid_context_logged_ms.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= INVALID_CONTEXT_LOG_MS;
        if due
            && self
                .invalid_context_logged_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                %error,
                "evaluation context cannot be sent to the AppConfig agent; serving the \
                 context-free flags; logged at most once a minute"
            );
        }
    }

    pub(crate) fn status(
        &self,
        version: Option<String>,
        has_snapshot: bool,
        now_ms: u64,
    ) -> Status {
        let state = self.state();
        Status {
            version,
            has_snapshot,
            age: state
                .last_success_ms
                .map(|at| Duration::from_millis(now_ms.saturating_sub(at))),
            last_refresh: state.last_refresh.clone(),
            last_error: state.last_error.clone(),
            failure_streak: state.failure_streak,
            refreshes: state.refreshes,
        }
    }
}

/// A configuration version as a log may show it: AppConfig's versions are numbers; anything
/// else is agent text and replaced by a placeholder.
pub(crate) fn loggable(version: Option<&str>) -> Option<&str> {
    version.map(|v| {
        if !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) {
            v
        } else {
            "(not a number; not shown)"
        }
    })
}
