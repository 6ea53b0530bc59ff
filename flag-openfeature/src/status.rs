//! Provider status and events, following the agent's health as the runtime records it.
//!
//! | runtime | status | event on entering it |
//! |---|---|---|
//! | no refresh completed, nothing loaded | `NOT_READY` | |
//! | flags loaded, latest refresh succeeded | `READY` | `PROVIDER_READY` (also on recovery) |
//! | flags loaded, latest refresh failed (last-known-good served) | `STALE` | `PROVIDER_STALE` |
//! | nothing loaded, a refresh failed (or unconfigured) | `ERROR` | `PROVIDER_ERROR` |
//!
//! While `READY`, a refresh that loads a new answer emits `PROVIDER_CONFIGURATION_CHANGED`.

use flag_runtime::{FlagSource, Refreshed, Status, StatusChanges};
use open_feature::provider::ProviderStatus;

/// The provider's state, as [`ProviderStatus`] names it (which is neither `Copy` nor `Clone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    NotReady,
    Ready,
    Stale,
    Error,
}

impl State {
    pub(crate) fn of(status: &Status) -> Self {
        match (status.has_snapshot, status.failure_streak > 0) {
            (true, false) => State::Ready,
            (true, true) => State::Stale,
            (false, true) => State::Error,
            (false, false) => State::NotReady,
        }
    }

    pub(crate) fn provider_status(self) -> ProviderStatus {
        match self {
            State::NotReady => ProviderStatus::NotReady,
            State::Ready => ProviderStatus::Ready,
            State::Stale => ProviderStatus::STALE,
            State::Error => ProviderStatus::Error,
        }
    }
}

/// A provider event (OpenFeature specification, section 5), with its details.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderEvent {
    /// `PROVIDER_READY`: flags are loaded and the agent answers (first load, or recovered from
    /// `STALE` or `ERROR`).
    Ready {
        /// The configuration version now served.
        version: Option<String>,
    },
    /// `PROVIDER_CONFIGURATION_CHANGED`: a new answer was loaded while ready.
    ConfigurationChanged {
        /// The configuration version now served.
        version: Option<String>,
    },
    /// `PROVIDER_STALE`: the agent fails; last-known-good flags are served.
    Stale {
        /// Why the latest refresh failed (kinds and status codes, never agent text).
        message: String,
    },
    /// `PROVIDER_ERROR`: nothing could be loaded; every evaluation is an error.
    Error {
        /// Why the latest refresh failed (kinds and status codes, never agent text).
        message: String,
    },
}

impl ProviderEvent {
    /// The name of the provider that emitted the event.
    pub fn provider_name(&self) -> &'static str {
        crate::PROVIDER_NAME
    }

    /// The event's name in the specification, e.g. `PROVIDER_READY`.
    pub fn name(&self) -> &'static str {
        match self {
            ProviderEvent::Ready { .. } => "PROVIDER_READY",
            ProviderEvent::ConfigurationChanged { .. } => "PROVIDER_CONFIGURATION_CHANGED",
            ProviderEvent::Stale { .. } => "PROVIDER_STALE",
            ProviderEvent::Error { .. } => "PROVIDER_ERROR",
        }
    }
}

/// The events of an [`AppConfigProvider`](crate::AppConfigProvider), in order; see
/// [`AppConfigProvider::events`](crate::AppConfigProvider::events).
///
/// The OpenFeature Rust SDK (0.3) has no event API of its own: a handler is a task awaiting
/// [`next`](Self::next). A stream created while the provider is already `READY`, `STALE` or `ERROR`
/// starts with that state's event (requirement 5.3.3: a handler attached after the provider entered
/// a state runs at once); one created before `set_provider` starts with the first load's. It then
/// reports each change; refreshes completed while nobody waits are coalesced: the stream reports
/// the state after the latest, so a fault and its recovery in between may go unseen, but a
/// configuration loaded meanwhile is always reported (`PROVIDER_CONFIGURATION_CHANGED`, after the
/// `PROVIDER_READY` of a recovery that brought it).
#[derive(Debug)]
pub struct ProviderEvents {
    changes: StatusChanges,
    state: State,
    /// The configuration version last reported (or held when the stream was created).
    version: Option<String>,
    /// A second event of one change: the configuration a recovery brought; or, first, the
    /// event of the state the stream was created in.
    pending: Option<ProviderEvent>,
    /// The latest refresh reflected ([`Status::refreshes`]): a wake-up for a refresh the stream
    /// already saw when it was created reports nothing twice.
    seen: u64,
}

impl ProviderEvents {
    pub(crate) fn new(source: &FlagSource) -> Self {
        let changes = source.status_changes();
        let status = source.status();
        let state = State::of(&status);
        // The event of entering the current state, as if from before the first load.
        let current = event(State::NotReady, state, &status);
        ProviderEvents {
            state,
            seen: status.refreshes,
            version: status.version,
            pending: current,
            changes,
        }
    }

    /// Waits for the next event: the next refresh that changes the provider's status, or loads
    /// a new configuration while ready. Refreshes happen when flags are evaluated (at most one
    /// per TTL), so an idle provider emits nothing.
    pub async fn next(&mut self) -> ProviderEvent {
        if let Some(event) = self.pending.take() {
            return event;
        }
        loop {
            let status = self.changes.changed().await;
            if status.refreshes <= self.seen {
                continue;
            }
            self.seen = status.refreshes;
            let state = State::of(&status);
            let before = std::mem::replace(&mut self.state, state);
            // Flags were held before and a newer configuration is held now: by version, or an
            // update of the latest refresh (coalesced updates included).
            let reloaded = matches!(before, State::Ready | State::Stale)
                && state == State::Ready
                && (status.version != self.version
                    || matches!(status.last_refresh, Some(Ok(Refreshed::Updated { .. }))));
            if status.has_snapshot {
                self.version.clone_from(&status.version);
            }
            let changed = reloaded.then(|| ProviderEvent::ConfigurationChanged {
                version: status.version.clone(),
            });
            match event(before, state, &status) {
                Some(event @ ProviderEvent::Ready { .. }) => {
                    self.pending = changed;
                    return event;
                }
                Some(event) => return event,
                None => {
                    if let Some(changed) = changed {
                        return changed;
                    }
                }
            }
        }
    }
}

fn event(before: State, after: State, status: &Status) -> Option<ProviderEvent> {
    let message = || {
        status
            .last_error
            .as_ref()
            .map_or_else(|| "refresh failed".to_owned(), ToString::to_string)
    };
    match (before, after) {
        (State::Ready, State::Ready) => match &status.last_refresh {
            Some(Ok(Refreshed::Updated { version })) => Some(ProviderEvent::ConfigurationChanged {
                version: version.clone(),
            }),
            _ => None,
        },
        (_, State::Ready) => Some(ProviderEvent::Ready {
            version: status.version.clone(),
        }),
        (State::Stale, State::Stale) | (State::Error, State::Error) => None,
        (_, State::Stale) => Some(ProviderEvent::Stale { message: message() }),
        (_, State::Error) => Some(ProviderEvent::Error { message: message() }),
        (_, State::NotReady) => None,
    }
}
