//! The published snapshot of one answer, and each thread's view of it.
//!
//! Readers never lock: the snapshot is swapped whole through `arc-swap`, and each thread keeps
//! an [`arc_swap::Cache`] of it, revalidated by one pointer comparison, so a warm read touches no
//! shared reference count.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwapOption, Cache};

use crate::snapshot::Snapshot;

/// Sources a thread keeps a view of, at most (the oldest is evicted beyond).
const VIEWS_PER_THREAD: usize = 8;

type Slot = Arc<ArcSwapOption<Snapshot>>;

#[derive(Debug)]
pub(crate) struct Published {
    current: Slot,
    /// Unique among all sources of the process (keys the per-thread views).
    id: u64,
    /// 0 before the first snapshot; afterwards changes, to a value unique in the process, every
    /// time the snapshot is replaced (stored after it, so a reader that sees a generation also
    /// sees its snapshot). Call sites tag their cached answer with it.
    generation: AtomicU64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

struct View {
    source: u64,
    cache: Cache<Slot, Option<Arc<Snapshot>>>,
}

thread_local! {
    static VIEWS: RefCell<Vec<View>> = const { RefCell::new(Vec::new()) };
}

impl Published {
    pub(crate) fn new() -> Self {
        Published {
            current: Arc::new(ArcSwapOption::empty()),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn has_snapshot(&self) -> bool {
        self.generation.load(Ordering::Relaxed) != 0
    }

    pub(crate) fn load_full(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// Publishes `snapshot` under a new generation; returns the one it replaces.
    pub(crate) fn swap(&self, mut snapshot: Snapshot) -> Option<Arc<Snapshot>> {
        let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
        snapshot.generation = generation;
        let replaced = self.current.swap(Some(Arc::new(snapshot)));
        self.generation.store(generation, Ordering::Release);
        replaced
    }

    /// Runs `f` on the current snapshot, through this thread's view of it.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&Snapshot>) -> R) -> R {
        let mut f = Some(f);
        let viewed = VIEWS.try_with(|views| {
            // Re-entered (a `tracing` subscriber checking a flag): use the shared path.
            let mut views = views.try_borrow_mut().ok()?;
            let index = match views.iter().position(|v| v.source == self.id) {
                Some(index) => index,
                None => {
                    if views.len() >= VIEWS_PER_THREAD {
                        views.remove(0);
                    }
                    views.push(View {
                        source: self.id,
                        cache: Cache::new(Arc::clone(&self.current)),
                    });
                    views.len() - 1
                }
            };
            let f = f.take().expect("called once");
            Some(f(views[index].cache.load().as_deref()))
        });
        match viewed {
            Ok(Some(result)) => result,
            // The thread is being torn down, or the view is borrowed by an outer check.
            _ => {
                let f = f.take().expect("not called yet");
                f(self.current.load().as_deref())
            }
        }
    }
}
