//! What a [`FlagSource`](crate::FlagSource) and its clones share (the context-free answer, the
//! answers per context, the refresher) and how a check reads a flag from an answer.

use std::sync::Arc;

use crate::context::Context;
use crate::context_cache::ContextCache;
use crate::refresh::{self, Refresher, Target};
use crate::served::Served;
use crate::snapshot::{Flag, Snapshot};

#[derive(Debug)]
pub(crate) struct Shared {
    /// The context-free answer: what checks without a context read outside a scope.
    pub(crate) base: Arc<Target>,
    pub(crate) contexts: ContextCache,
    pub(crate) refresher: Arc<Refresher>,
}

impl Shared {
    pub(crate) fn new(refresher: Refresher, max_contexts: usize) -> Self {
        Shared {
            base: Arc::new(refresher.target(None)),
            contexts: ContextCache::new(max_contexts),
            refresher: Arc::new(refresher),
        }
    }

    /// Whether `flag` is on in `snapshot`; off when nothing is known about it (a missing flag
    /// is logged once, by name).
    #[inline]
    pub(crate) fn enabled(&self, snapshot: Option<&Snapshot>, flag: &str) -> bool {
        let Some(snapshot) = snapshot else {
            return false;
        };
        snapshot.enabled(flag).unwrap_or_else(|| {
            self.refresher.health.log_missing(flag, snapshot.version());
            false
        })
    }

    /// `flag` in `snapshot`, if there (a missing flag is logged once, by name).
    pub(crate) fn flag(&self, snapshot: Option<&Snapshot>, flag: &str) -> Option<Flag> {
        let snapshot = snapshot?;
        let found = snapshot.flag(flag).cloned();
        if found.is_none() {
            self.refresher.health.log_missing(flag, snapshot.version());
        }
        found
    }

    /// Runs `f` on the published context-free snapshot, through this thread's view of it.
    #[inline]
    pub(crate) fn read_base<R>(&self, f: impl FnOnce(Option<&Snapshot>) -> R) -> R {
        self.base.published.with(f)
    }

    /// Starts a due refresh of `target` in the background.
    #[inline]
    pub(crate) fn refresh_if_due(&self, target: &Arc<Target>) {
        refresh::refresh_if_due(&self.refresher, target);
    }

    /// Waits, bounded by the timeout, for a due refresh of `target` or a first load.
    #[inline]
    pub(crate) async fn fresh(&self, target: &Arc<Target>) {
        if refresh::must_wait(&self.refresher, target) {
            // Boxed: the slow path's future is large, and every check's future would otherwise
            // carry its space. Allocated only when there is something to wait for.
            Box::pin(refresh::fresh(&self.refresher, target)).await;
        }
    }

    /// The target a context's checks refresh and read: the context's own; the context-free one
    /// for an empty context (nothing to send, so the same answer) and for a context that cannot
    /// be sent (logged at most once a minute), whose checks are then context-free checks in every respect.
    pub(crate) fn context_target(&self, context: &Context) -> Arc<Target> {
        if context.is_empty() {
            return Arc::clone(&self.base);
        }
        match context.validate() {
            Ok(()) => self.contexts.target(context, &self.refresher),
            Err(error) => {
                self.refresher.health.log_invalid_context(&error);
                Arc::clone(&self.base)
            }
        }
    }

    /// The context-free answer as served now.
    pub(crate) fn served_base(&self) -> Served {
        match self.base.snapshot() {
            Some(snapshot) => Served::ContextFree {
                snapshot,
                stale: self.base.is_stale(),
            },
            None => Served::Nothing,
        }
    }

    /// `target`'s own answer, if it is a context's and one is loaded.
    pub(crate) fn served_own(&self, target: &Arc<Target>) -> Option<Served> {
        if Arc::ptr_eq(target, &self.base) {
            return None;
        }
        Some(Served::Context {
            snapshot: target.snapshot()?,
            stale: target.is_stale(),
        })
    }

    /// What `target`'s checks read now: its own answer, else the context-free one (kept fresh
    /// too: it is the fallback).
    pub(crate) fn served(&self, target: &Arc<Target>) -> Served {
        if let Some(own) = self.served_own(target) {
            return own;
        }
        if !Arc::ptr_eq(target, &self.base) {
            self.refresh_if_due(&self.base);
        }
        self.served_base()
    }
}
