//! Which answer a check reads, and how current it is: for callers that report where a value
//! came from (the `flag-openfeature` provider's reasons), not needed for plain checks.

use std::sync::Arc;

use crate::snapshot::Snapshot;

/// The answer the checks of a [`TargetedSource`](crate::TargetedSource) read, with where it came from; see
/// [`TargetedSource::served`](crate::TargetedSource::served). Active [`Overrides`](crate::Overrides) are laid over it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Served {
    /// The agent's answer for this very context.
    Context {
        /// The flags, as evaluated by the agent for the context.
        snapshot: Arc<Snapshot>,
        /// The latest refresh of this context's answer failed: this is its last-known-good.
        stale: bool,
    },
    /// The context-free answer: the context is empty (nothing to send), cannot be sent
    /// ([`Context::validate`](crate::Context::validate)), or its own answer could not be loaded.
    /// Multi-variant flags show their default variant in it.
    ContextFree {
        /// The flags, as evaluated by the agent without a context.
        snapshot: Arc<Snapshot>,
        /// The latest refresh of the context-free answer failed: this is its last-known-good.
        stale: bool,
    },
    /// Nothing could be loaded yet: every check is off, or its caller default.
    Nothing,
}

impl Served {
    /// The flags served, if any.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.shared().map(|s| &**s)
    }

    /// The flags served, shared.
    pub(crate) fn shared(&self) -> Option<&Arc<Snapshot>> {
        match self {
            Served::Context { snapshot, .. } | Served::ContextFree { snapshot, .. } => {
                Some(snapshot)
            }
            Served::Nothing => None,
        }
    }

    /// Whether the flags served are last-known-good, kept because the latest refresh failed.
    pub fn is_stale(&self) -> bool {
        match self {
            Served::Context { stale, .. } | Served::ContextFree { stale, .. } => *stale,
            Served::Nothing => false,
        }
    }
}
