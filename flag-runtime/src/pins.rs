//! The invocation scope: the answers pinned when a scope starts, which every check inside it
//! reads, and the thread-local that carries them while the scope's future is polled.
//!
//! A scope's entry refreshes what is due (the context-free answer, and its context's),
//! waiting at most the timeout, then pins both: one configuration version and one context
//! from start to end, and no clock read or request on any check inside. An explicit context
//! used inside the scope is pinned at its first check. A scope nested in a scope of the same
//! source keeps the outer pins (the context-free one, and any of its context) and pins what
//! else its context needs; a scope of another source in between hides nothing.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;

use crate::context::Context;
use crate::measurement::Exposures;
use crate::memo::Site;
use crate::refresh::{self, Target};
use crate::served::Served;
use crate::shared::Shared;
use crate::snapshot::Snapshot;

thread_local! {
    /// The innermost scope this thread is running now: set around every poll of a scope's
    /// future (and its drop), and taken out while a check reads it, so that code a check calls
    /// back (a `tracing` subscriber checking a flag) sees no scope instead of failing. Never
    /// dropped: it holds a scope only during a poll, which a thread cannot exit in, so no
    /// destructor is registered and every access is a plain thread-local read.
    static CURRENT: ManuallyDrop<Cell<Option<Arc<Pins>>>> =
        const { ManuallyDrop::new(Cell::new(None)) };
}

/// [`Pins::generation`] of a scope that pinned no snapshot: a generation no snapshot has.
const NOTHING: u64 = u64::MAX;

/// The answers of one scope.
#[derive(Debug)]
pub(crate) struct Pins {
    shared: Arc<Shared>,
    /// The scope this one is nested in, of any source.
    parent: Option<Arc<Pins>>,
    context: Context,
    /// What checks without an explicit context read: the context's own answer, else the
    /// context-free one.
    served: Served,
    /// The generation of its snapshot, for call-site memos ([`NOTHING`]: none).
    generation: u64,
    /// The context-free answer (a nested scope of the same source keeps it).
    base: Served,
    /// The answers of explicit contexts, by context key, pinned at their first check.
    explicit: Mutex<HashMap<Arc<str>, Served>>,
    /// The experiment exposures this scope may write (measurement on, a treatment served).
    exposures: Option<Exposures>,
}

/// Swaps the thread's scope with `pins`, returning the previous one.
fn swap(pins: Option<Arc<Pins>>) -> Option<Arc<Pins>> {
    CURRENT.with(|current| current.replace(pins))
}

/// The scope set to `pins` until dropped (a panic included); then the previous scope is
/// restored, and `pins` put back in `slot` (if any) for the next poll.
struct Entered<'a> {
    slot: Option<&'a mut Option<Arc<Pins>>>,
    previous: Option<Arc<Pins>>,
}

impl<'a> Entered<'a> {
    fn new(pins: Arc<Pins>, slot: Option<&'a mut Option<Arc<Pins>>>) -> Self {
        Entered {
            slot,
            previous: swap(Some(pins)),
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let ours = swap(self.previous.take());
        if let Some(slot) = self.slot.as_mut() {
            **slot = ours;
        }
    }
}

pin_project! {
    /// A future running in a scope: polled, and dropped, with the scope set.
    struct InScope<F> {
        pins: Option<Arc<Pins>>,
        #[pin]
        future: Option<F>,
    }

    impl<F> PinnedDrop for InScope<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if let Some(pins) = this.pins.take() {
                let _entered = Entered::new(pins, None);
                this.future.set(None);
            }
        }
    }
}

impl<F: Future> Future for InScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        // `None` only once dropped.
        let Some(future) = this.future.as_pin_mut() else {
            return Poll::Pending;
        };
        match this.pins.take() {
            Some(pins) => {
                // Put back in `pins` when the poll ends, a panic included.
                let _entered = Entered::new(pins, Some(this.pins));
                future.poll(cx)
            }
            // Never: every poll puts them back, a panic included. Polled outside rather than fail.
            None => future.poll(cx),
        }
    }
}

/// The pins of the innermost scope the caller runs in, if any.
pub(crate) fn current() -> Option<Arc<Pins>> {
    CURRENT.with(|current| {
        let pins = current.take();
        current.set(pins.clone());
        pins
    })
}

/// Runs `future` in the scope of `pins` (no refresh).
pub(crate) fn run_in<F: Future>(pins: Arc<Pins>, future: F) -> impl Future<Output = F::Output> {
    InScope {
        pins: Some(pins),
        future: Some(future),
    }
}

/// Runs `f` in the scope of `pins` (no refresh).
pub(crate) fn run_sync_in<R>(pins: Arc<Pins>, f: impl FnOnce() -> R) -> R {
    let _entered = Entered::new(pins, None);
    f()
}

/// Runs `future` in a new scope of `shared` for `context`.
pub(crate) async fn run<F: Future>(shared: Arc<Shared>, context: Context, future: F) -> F::Output {
    let pins = enter(shared, context).await;
    run_in(pins, future).await
}

/// Refreshes what is due (both answers at once, so the wait is one timeout at most) and pins,
/// keeping what a scope of the same source around it pinned.
async fn enter(shared: Arc<Shared>, context: Context) -> Arc<Pins> {
    let parent = current();
    let outer = parent.as_deref().and_then(|p| p.of(&shared));
    let target = shared.context_target(&context);
    let kept = outer.and_then(|outer| outer.lookup(&context, &target));
    let base_wait = match outer {
        None => refresh::begin_unless_fresh(&shared.refresher, &shared.base),
        Some(_) => None,
    };
    let own_wait = match kept.is_none() && !Arc::ptr_eq(&target, &shared.base) {
        true => refresh::begin_unless_fresh(&shared.refresher, &target),
        false => None,
    };
    if let Some(wait) = base_wait {
        wait.released().await;
    }
    if let Some(wait) = own_wait {
        wait.released().await;
    }
    let base = match outer {
        Some(outer) => outer.base.clone(),
        None => shared.served_base(),
    };
    let served = kept
        .or_else(|| shared.served_own(&target))
        .unwrap_or_else(|| base.clone());
    let exposures = Exposures::of(context.entity_id(), served.snapshot());
    Arc::new(Pins {
        generation: served.snapshot().map_or(NOTHING, |s| s.generation),
        exposures,
        served,
        base,
        context,
        explicit: Mutex::default(),
        shared,
        parent,
    })
}

/// Runs `f` on the exposures of the innermost scope the caller runs in, if it has any.
pub(crate) fn current_exposures<R>(f: impl FnOnce(&Exposures) -> R) -> Option<R> {
    current().and_then(|pins| pins.exposures.as_ref().map(f))
}

/// The generation checks without an explicit context read in the innermost scope the caller
/// runs in, whatever its source (0: none): what a warm check compares with its call site's
/// memo, reading nothing else.
#[inline]
pub(crate) fn polled_generation() -> u64 {
    CURRENT.with(|current| {
        let pins = current.take();
        let generation = pins.as_ref().map_or(0, |p| p.generation);
        current.set(pins);
        generation
    })
}

/// Runs `f` on the pins of the innermost scope of `shared` around the caller, if any. The
/// scope is taken out of the thread meanwhile: whatever `f` calls back (a `tracing` subscriber
/// checking a flag) sees no scope, consistently, and cannot fail.
#[inline]
pub(crate) fn pinned<R>(shared: &Arc<Shared>, f: impl FnOnce(&Pins) -> R) -> Option<R> {
    struct PutBack(Option<Arc<Pins>>);
    impl Drop for PutBack {
        fn drop(&mut self) {
            let pins = self.0.take();
            CURRENT.with(|current| current.set(pins));
        }
    }
    let pins = PutBack(CURRENT.with(|current| current.take()));
    pins.0.as_deref().and_then(|p| p.of(shared)).map(f)
}

impl Pins {
    /// The innermost scope of `shared` from this one outwards.
    fn of(&self, shared: &Arc<Shared>) -> Option<&Pins> {
        let mut pins = self;
        while !Arc::ptr_eq(&pins.shared, shared) {
            pins = pins.parent.as_deref()?;
        }
        Some(pins)
    }

    /// `flag` is read in this scope: its exposure is written if it is the first. (A warm check
    /// that its call-site memo answers does not come here, and needs not: the memo holds an
    /// answer of this very snapshot, which is this entity's, so it was read, and exposed, in
    /// an earlier scope of this entity, or earlier in this one.)
    #[inline]
    pub(crate) fn expose(&self, flag: &str) {
        if let Some(exposures) = &self.exposures {
            exposures.expose(flag);
        }
    }

    /// The scope's context: what its checks without an explicit context are evaluated for.
    pub(crate) fn context(&self) -> &Context {
        &self.context
    }

    /// Whether `flag` is on (through `site`'s memo, when a call site checks it).
    #[inline]
    pub(crate) fn enabled(&self, flag: &str, site: Option<&Site>) -> bool {
        self.expose(flag);
        let read = || self.shared.enabled(self.snapshot(), flag);
        match site {
            Some(site) if self.generation != NOTHING => site.answer(self.generation, read),
            _ => read(),
        }
    }

    /// The snapshot checks without an explicit context read.
    pub(crate) fn snapshot(&self) -> Option<&Snapshot> {
        self.served.snapshot()
    }

    /// What checks without an explicit context read, read for `flag` (exposed if under
    /// experiment) or for the whole snapshot.
    pub(crate) fn served_for(&self, flag: Option<&str>) -> Served {
        if let Some(flag) = flag {
            self.expose(flag);
        }
        self.served.clone()
    }

    /// Whether checks without an explicit context read the context-free answer.
    pub(crate) fn is_context_free(&self) -> bool {
        !matches!(self.served, Served::Context { .. })
    }

    /// The pinned context-free snapshot.
    pub(crate) fn base_snapshot(&self) -> Option<&Snapshot> {
        self.base.snapshot()
    }

    /// What the checks of `context` (whose target is `target`) read in this scope or a scope
    /// of the same source around it, if pinned: the context-free pin for a context-free
    /// target, a scope's own for its context, or an explicit context's.
    pub(crate) fn lookup(&self, context: &Context, target: &Arc<Target>) -> Option<Served> {
        if Arc::ptr_eq(target, &self.shared.base) {
            return Some(self.base.clone());
        }
        let mut pins = self;
        loop {
            if context.key() == pins.context.key() {
                return Some(pins.served.clone());
            }
            let explicit = pins.explicit.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(served) = explicit.get(context.key()) {
                return Some(served.clone());
            }
            drop(explicit);
            pins = pins.parent.as_deref()?.of(&self.shared)?;
        }
    }

    /// [`lookup`](Self::lookup), else pins `own` (the context's own answer, if loaded; else
    /// the context-free pin) for the rest of the scope.
    pub(crate) fn pin(
        &self,
        context: &Context,
        target: &Arc<Target>,
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
