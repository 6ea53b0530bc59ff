//! The invocation scope: the answers pinned when a scope starts, which every check inside it
//! reads, and the task-local that carries them.
//!
//! A scope's entry refreshes what is due (the context-free answer, and its context's),
//! waiting at most the timeout, then pins both: one configuration version and one context
//! from start to end, and no clock read or request on any check inside. An explicit context
//! used inside the scope is pinned at its first check. A nested scope of the same source
//! keeps the outer context-free pin and pins its own context's answer.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;

use crate::context::Context;
use crate::memo::Site;
use crate::refresh::{self, Waiter};
use crate::served::Served;
use crate::shared::Shared;
use crate::snapshot::{Flag, Snapshot};

tokio::task_local! {
    static CURRENT: Arc<Pins>;
}

thread_local! {
    /// The generation that checks without an explicit context read in the scope this thread
    /// is polling now ([`NOTHING`] if it pinned none; 0 outside any scope): set with
    /// [`CURRENT`] around every poll of a scope, so that a warm check compares it with its call
    /// site's memo and reads no task-local.
    static POLLED: Cell<u64> = const { Cell::new(0) };
}

/// [`POLLED`] in a scope that pinned no snapshot: a generation no snapshot has.
const NOTHING: u64 = u64::MAX;

/// Restores the previous [`POLLED`] when dropped (a panic included).
struct Restore(u64);

impl Drop for Restore {
    fn drop(&mut self) {
        POLLED.set(self.0);
    }
}

fn polled_as(pins: &Pins) -> Restore {
    Restore(POLLED.replace(pins.generation))
}

pin_project! {
    /// A future running in a scope: the task-local set by tokio, and [`POLLED`] with it.
    struct InScope<F> {
        pins: Arc<Pins>,
        #[pin]
        future: TaskLocalFuture<Arc<Pins>, F>,
    }
}

impl<F: Future> Future for InScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _restore = polled_as(this.pins);
        this.future.poll(cx)
    }
}

fn in_scope<F: Future>(pins: Arc<Pins>, future: F) -> InScope<F> {
    InScope {
        future: CURRENT.scope(Arc::clone(&pins), future),
        pins,
    }
}

/// The answers of one scope.
#[derive(Debug)]
pub(crate) struct Pins {
    shared: Arc<Shared>,
    context: Context,
    /// What checks without an explicit context read: the context's own answer, else the
    /// context-free one.
    served: Served,
    /// The generation of its snapshot, for call-site memos ([`NOTHING`]: none).
    generation: u64,
    /// The context-free answer (a nested scope keeps it).
    base: Served,
    /// The answers of explicit contexts, by context key, pinned at their first check.
    explicit: Mutex<HashMap<Arc<str>, Served>>,
}

/// The pins of the scope the current task runs in, if any.
pub(crate) fn current() -> Option<Arc<Pins>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// Runs `future` in the scope of `pins` (no refresh).
pub(crate) fn run_in<F: Future>(pins: Arc<Pins>, future: F) -> impl Future<Output = F::Output> {
    in_scope(pins, future)
}

/// Runs `f` in the scope of `pins` (no refresh).
pub(crate) fn run_sync_in<R>(pins: Arc<Pins>, f: impl FnOnce() -> R) -> R {
    let _restore = polled_as(&pins);
    CURRENT.sync_scope(pins, f)
}

/// Runs `future` in a new scope of `shared` for `context`.
pub(crate) async fn run<F: Future>(shared: Arc<Shared>, context: Context, future: F) -> F::Output {
    let pins = enter(shared, context).await;
    in_scope(pins, future).await
}

/// Refreshes what is due (both answers at once, so the wait is one timeout at most) and pins.
async fn enter(shared: Arc<Shared>, context: Context) -> Arc<Pins> {
    let outer = pinned(&shared, |_| ()).and_then(|()| current());
    let target = shared.context_target(&context);
    let base_wait = match outer {
        None => refresh::begin(&shared.refresher, &shared.base, Waiter::Scope),
        Some(_) => None,
    };
    let own_wait = match Arc::ptr_eq(&target, &shared.base) {
        false => refresh::begin(&shared.refresher, &target, Waiter::Scope),
        true => None,
    };
    if let Some(wait) = base_wait {
        wait.released().await;
    }
    if let Some(wait) = own_wait {
        wait.released().await;
    }
    let base = match &outer {
        Some(outer) => outer.base.clone(),
        None => shared.served_base(),
    };
    let served = shared.served_own(&target).unwrap_or_else(|| base.clone());
    Arc::new(Pins {
        generation: served.snapshot().map_or(NOTHING, |s| s.generation),
        served,
        base,
        context,
        explicit: Mutex::default(),
        shared,
    })
}

/// The generation checks without an explicit context read in the scope being polled on this
/// thread, whatever its source (0: none).
#[inline]
pub(crate) fn polled_generation() -> u64 {
    POLLED.get()
}

/// Runs `f` on the pins of the scope around the caller, if it is a scope of `shared`.
#[inline]
pub(crate) fn pinned<R>(shared: &Arc<Shared>, f: impl FnOnce(&Pins) -> R) -> Option<R> {
    if POLLED.get() == 0 {
        return None;
    }
    CURRENT
        .try_with(|pins| Arc::ptr_eq(&pins.shared, shared).then(|| f(pins)))
        .ok()
        .flatten()
}

impl Pins {
    /// The scope's context: what its checks without an explicit context are evaluated for.
    pub(crate) fn context(&self) -> &Context {
        &self.context
    }

    /// Whether `flag` is on (through `site`'s memo, when a call site checks it).
    #[inline]
    pub(crate) fn enabled(&self, flag: &str, default: bool, site: Option<&Site>) -> bool {
        let read = || self.shared.enabled(self.snapshot(), flag, default);
        match site {
            Some(site) if self.generation != NOTHING => site.answer(self.generation, read),
            _ => read(),
        }
    }

    pub(crate) fn flag(&self, flag: &str) -> Option<Flag> {
        self.shared.flag(self.snapshot(), flag)
    }

    pub(crate) fn snapshot(&self) -> Option<&Snapshot> {
        self.served.snapshot().map(|s| &**s)
    }

    pub(crate) fn snapshot_arc(&self) -> Option<Arc<Snapshot>> {
        self.served.snapshot().cloned()
    }

    /// What the checks of `context` (whose target is `target`) read in this scope, if pinned:
    /// the context-free pin for a context-free target, the scope's own for its context.
    pub(crate) fn lookup(
        &self,
        context: &Context,
        target: &Arc<refresh::Target>,
    ) -> Option<Served> {
        if Arc::ptr_eq(target, &self.shared.base) {
            return Some(self.base.clone());
        }
        if context.key() == self.context.key() {
            return Some(self.served.clone());
        }
        let explicit = self.explicit.lock().unwrap_or_else(|e| e.into_inner());
        explicit.get(context.key()).cloned()
    }

    /// [`lookup`](Self::lookup), else pins `own` (the context's own answer, if loaded; else
    /// the context-free pin) for the rest of the scope.
    pub(crate) fn pin(
        &self,
        context: &Context,
        target: &Arc<refresh::Target>,
        own: impl FnOnce() -> Option<Served>,
    ) -> Served {
        if let Some(served) = self.lookup(context, target) {
            return served;
        }
        let own = own().unwrap_or_else(|| self.base.clone());
        let mut explicit = self.explicit.lock().unwrap_or_else(|e| e.into_inner());
        explicit
            .entry(Arc::clone(context.key()))
            .or_insert(own)
            .clone()
    }
}
