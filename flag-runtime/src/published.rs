//! The published snapshot of one answer: swapped whole through `arc-swap`, so readers never
//! lock, with a generation that call-site memos tag their answers with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::snapshot::Snapshot;

#[derive(Debug)]
pub(crate) struct Published {
    current: ArcSwapOption<Snapshot>,
    /// 0 before the first snapshot; afterwards the generation of the current one, unique in
    /// the process (stored after the snapshot, so a reader that sees it also sees its snapshot).
    generation: AtomicU64,
}

static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

impl Published {
    pub(crate) fn new() -> Self {
        Published {
            current: ArcSwapOption::empty(),
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

    /// Runs `f` on the current snapshot, without touching its reference count.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&Snapshot>) -> R) -> R {
        f(self.current.load().as_deref())
    }

    /// Publishes `snapshot` under a new generation; returns the one it replaces.
    pub(crate) fn swap(&self, mut snapshot: Snapshot) -> Option<Arc<Snapshot>> {
        let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
        snapshot.generation = generation;
        let replaced = self.current.swap(Some(Arc::new(snapshot)));
        self.generation.store(generation, Ordering::Release);
        replaced
    }
}
