//! Which answer a check reads, and how current it is: for callers that report where a value
//! came from (the `flag-openfeature` provider's reasons), not needed for plain checks.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::overrides;
use crate::refresh::Target;
use crate::snapshot::Snapshot;
use crate::source::{Inner, Targeted};

/// The answer the checks of a [`Targeted`] read, with where it came from; see
/// [`Targeted::served`]. Active [`Overrides`](crate::Overrides) are laid over it.
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
    pub fn snapshot(&self) -> Option<&Arc<Snapshot>> {
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

impl Targeted<'_> {
    /// The answer this context's checks read, with its origin: refreshed first when due, as
    /// [`flag`](Self::flag) is (a first load is waited for, bounded by the timeout).
    ///
    /// ```no_run
    /// use flag_runtime::{Context, Served};
    ///
    /// # async fn demo(flags: &flag_runtime::FlagSource) {
    /// let context = Context::new().with("tier", "gold");
    /// match flags.with_context(&context).served().await {
    ///     Served::Context { snapshot, .. } => println!("{} flags for this context", snapshot.len()),
    ///     Served::ContextFree { .. } => println!("context-free flags (fallback)"),
    ///     Served::Nothing => println!("no flags loaded"),
    ///     _ => {}
    /// }
    /// # }
    /// ```
    pub async fn served(&self) -> Served {
        let inner = &self.source.inner;
        let target = inner.context_target(self.context);
        inner.ensure_fresh(&target).await;
        inner.served(&target)
    }

    /// [`served`](Self::served) without waiting: a due refresh starts in the background.
    pub fn served_now(&self) -> Served {
        let inner = &self.source.inner;
        let target = inner.context_target(self.context);
        inner.refresh_if_due(&target);
        inner.served(&target)
    }
}

impl Inner {
    /// What `target` (a context's, or the context-free one) serves, else the context-free answer.
    fn served(self: &Arc<Self>, target: &Arc<Target>) -> Served {
        let stale = |target: &Target| target.last_failed.load(Ordering::Acquire);
        if !Arc::ptr_eq(target, &self.base) {
            if let Some(snapshot) = overrides::overlay(target.published.load_full()) {
                return Served::Context {
                    stale: stale(target),
                    snapshot,
                };
            }
            // The context-free answer is the fallback: keep it fresh too.
            self.refresh_if_due(&self.base);
        }
        match overrides::overlay(self.base.published.load_full()) {
            Some(snapshot) => Served::ContextFree {
                stale: stale(&self.base),
                snapshot,
            },
            None => Served::Nothing,
        }
    }
}
