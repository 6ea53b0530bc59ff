//! The call-site memo of a `#[feature_flag]` gate or a `flags!` static: its flag key and its
//! last answer, tagged with the generation of the snapshot it was read from, so a warm check
//! is two loads and a comparison instead of a hash lookup.

use std::sync::atomic::{AtomicU64, Ordering};

/// A call site checking one flag, and its last answer. Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    pub(crate) flag: &'static str,
    /// `generation << 1 | enabled`; 0 before the first answer.
    state: AtomicU64,
}

impl Site {
    /// A call site checking `flag`.
    pub const fn new(flag: &'static str) -> Self {
        Site {
            flag,
            state: AtomicU64::new(0),
        }
    }

    /// The answer remembered for the snapshot of `generation`, if any (never for 0: no
    /// snapshot, or one never published).
    #[inline]
    pub(crate) fn cached(&self, generation: u64) -> Option<bool> {
        let state = self.state.load(Ordering::Relaxed);
        (generation != 0 && state >> 1 == generation).then_some(state & 1 == 1)
    }

    /// [`cached`](Self::cached), else `read()`'s answer, remembered.
    #[inline]
    pub(crate) fn answer(&self, generation: u64, read: impl FnOnce() -> bool) -> bool {
        if let Some(enabled) = self.cached(generation) {
            return enabled;
        }
        let enabled = read();
        if generation != 0 {
            self.state
                .store(generation << 1 | u64::from(enabled), Ordering::Relaxed);
        }
        enabled
    }
}
