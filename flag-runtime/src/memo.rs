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

    /// The answer remembered for the snapshot of `generation` (never for 0: no snapshot, or
    /// one never published), else `read()`'s, remembered.
    #[inline]
    pub(crate) fn answer(&self, generation: u64, read: impl FnOnce() -> bool) -> bool {
        let state = self.state.load(Ordering::Relaxed);
        if generation != 0 && state >> 1 == generation {
            return state & 1 == 1;
        }
        let enabled = read();
        if generation != 0 {
            self.state
                .store(generation << 1 | u64::from(enabled), Ordering::Relaxed);
        }
        enabled
    }
}
