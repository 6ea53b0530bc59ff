//! Test overrides: flags forced on or off (with attributes) for one thread or one future,
//! without any agent.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::snapshot::{Flag, Snapshot};

/// How many override scopes are active in the whole process; while 0 (production), a check
/// pays one relaxed atomic load for this feature and nothing else.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD: RefCell<Vec<Arc<Layer>>> = const { RefCell::new(Vec::new()) };
}

tokio::task_local! {
    static TASK: Arc<Layer>;
}

type Layer = HashMap<String, Flag>;

/// Flags forced on or off for a scope, for unit tests of gated code; no agent needed.
///
/// Overrides apply to every [`FlagSource`](crate::FlagSource) (so to `#[feature_flag]`
/// functions and to [`FlagSource::snapshot`](crate::FlagSource::snapshot) too) and only inside
/// their scope, so tests running in parallel do not see each
/// other's flags. Flags not overridden are read from the source as usual.
///
/// * [`apply`](Self::apply) scopes them to the current thread until the guard is dropped: right
///   for plain `#[test]`s and `#[tokio::test]` (a current-thread runtime).
/// * [`scope`](Self::scope) scopes them to one future, wherever its task runs: right for
///   multi-threaded runtimes. Tasks it spawns do not inherit them.
///
/// Inner scopes win over outer ones; a task scope wins over a thread scope.
///
/// ```
/// use flag_runtime::Overrides;
///
/// let _flags = Overrides::new()
///     .enable("newCheckout")
///     .attribute("newCheckout", "limit", 3)
///     .disable("banner")
///     .apply();
///
/// let flags = flag_runtime::default_source();
/// assert!(flags.is_enabled_now("newCheckout"));
/// assert!(!flags.is_enabled_now("banner"));
/// assert_eq!(flags.flag_now("newCheckout").unwrap().attribute::<u32>("limit"), Some(3));
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Overrides {
    flags: Layer,
}

/// Keeps thread-scoped [`Overrides`] active; dropping it restores the previous state.
#[derive(Debug)]
#[must_use = "the overrides end when the guard is dropped"]
pub struct OverrideGuard {
    depth: usize,
    // Thread-scoped: must be dropped on the thread that created it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Overrides {
    /// No overrides yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forces `flag` on (keeping attributes set with [`attribute`](Self::attribute)). The flag
    /// is a key (`"newCheckout"`) or a typed flag of `flags!` (`&flags::NEW_CHECKOUT`).
    pub fn enable(self, flag: impl AsRef<str>) -> Self {
        self.set(flag, true)
    }

    /// Forces `flag` off.
    pub fn disable(self, flag: impl AsRef<str>) -> Self {
        self.set(flag, false)
    }

    /// Forces `flag` to `enabled`.
    pub fn set(mut self, flag: impl AsRef<str>, enabled: bool) -> Self {
        let flag = flag.as_ref();
        let previous = self.flags.remove(flag);
        let mut new = Flag::new(enabled);
        if let Some(previous) = previous {
            for (k, v) in previous.attributes() {
                new = new.with_attribute(k.clone(), v.clone());
            }
        }
        self.flags.insert(flag.to_owned(), new);
        self
    }

    /// Sets an attribute of `flag` (enabling the flag unless it was set before).
    ///
    /// # Panics
    /// If `value` cannot be represented as JSON (a map with non-string keys): a bug in the test.
    pub fn attribute(
        mut self,
        flag: impl AsRef<str>,
        name: &str,
        value: impl serde::Serialize,
    ) -> Self {
        let flag = flag.as_ref();
        let value: Value =
            serde_json::to_value(value).expect("override attribute must serialize to JSON");
        let entry = self.flags.remove(flag).unwrap_or_else(|| Flag::new(true));
        self.flags
            .insert(flag.to_owned(), entry.with_attribute(name, value));
        self
    }

    /// Forces `flag` to serve `state` (for [`value`](Self::value)).
    pub(crate) fn set_flag(mut self, flag: &str, state: Flag) -> Self {
        self.flags.insert(flag.to_owned(), state);
        self
    }

    /// Activates the overrides on this thread until the guard is dropped.
    pub fn apply(self) -> OverrideGuard {
        let depth = THREAD.with(|stack| {
            let mut stack = stack.borrow_mut();
            stack.push(Arc::new(self.flags));
            stack.len()
        });
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        OverrideGuard {
            depth,
            _not_send: std::marker::PhantomData,
        }
    }

    /// Runs `future` with the overrides active for it (and only it), on whatever thread it is
    /// polled. Merged over an enclosing task scope.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        let mut merged = TASK.try_with(|outer| (**outer).clone()).unwrap_or_default();
        merged.extend(self.flags);
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        let _active = ActiveCount;
        TASK.scope(Arc::new(merged), future).await
    }
}

struct ActiveCount;

impl Drop for ActiveCount {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for OverrideGuard {
    fn drop(&mut self) {
        THREAD.with(|stack| {
            let mut stack = stack.borrow_mut();
            // Guards dropped out of order: drop ours and anything pushed after it.
            stack.truncate(self.depth.saturating_sub(1));
        });
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether any override scope is active anywhere in the process (one relaxed load): while
/// not, a warm check may skip looking for one.
#[inline]
pub(crate) fn any_active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// The forced value of `flag` picked by `pick`: one relaxed load, inlined into every check,
/// while no override scope is active.
#[inline]
fn lookup<T>(flag: &str, pick: impl Fn(&Flag) -> T) -> Option<T> {
    if !any_active() {
        return None;
    }
    lookup_active(flag, pick)
}

#[inline(never)]
fn lookup_active<T>(flag: &str, pick: impl Fn(&Flag) -> T) -> Option<T> {
    if let Ok(Some(found)) = TASK.try_with(|layer| layer.get(flag).map(&pick)) {
        return Some(found);
    }
    THREAD.with(|stack| {
        stack
            .borrow()
            .iter()
            .rev()
            .find_map(|layer| layer.get(flag).map(&pick))
    })
}

/// The forced state of `flag`, if an active scope overrides it.
#[inline]
pub(crate) fn enabled(flag: &str) -> Option<bool> {
    lookup(flag, Flag::is_enabled)
}

/// The forced flag, if an active scope overrides it.
pub(crate) fn flag(flag: &str) -> Option<Flag> {
    lookup(flag, Clone::clone)
}

/// `snapshot` with every flag overridden in the active scopes laid over it (outer scopes first,
/// so inner ones win, and a task scope over a thread scope). No overrides: `snapshot` as is.
pub(crate) fn overlay(snapshot: Option<Arc<Snapshot>>) -> Option<Arc<Snapshot>> {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        return snapshot;
    }
    let thread: Vec<Arc<Layer>> = THREAD.with(|stack| stack.borrow().clone());
    let task: Option<Arc<Layer>> = TASK.try_with(Arc::clone).ok();
    let layers: Vec<&Layer> = thread.iter().chain(task.iter()).map(|l| &**l).collect();
    if layers.iter().all(|l| l.is_empty()) {
        return snapshot;
    }
    let forced = layers
        .into_iter()
        .flat_map(|layer| layer.iter().map(|(name, flag)| (name.as_str(), flag)));
    Some(Arc::new(Snapshot::overlaid(snapshot.as_deref(), forced)))
}
