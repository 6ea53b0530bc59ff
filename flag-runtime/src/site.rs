//! The call-site cache of `#[feature_flag]`: each annotated function remembers its last answer,
//! tagged with the snapshot generation it was read from, so a warm gated call costs a
//! staleness check and two atomic loads, not a hash lookup.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::published::Published;

/// A `#[feature_flag]` call site of the default source: the flag it checks and its last answer.
/// Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    pub(crate) flag: &'static str,
    /// `generation << 1 | enabled`; 0 before the first read.
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

    /// The answer cached for the current generation, else `read()`'s, cached.
    #[inline]
    pub(crate) fn read(&self, published: &Published, read: impl FnOnce() -> bool) -> bool {
        let generation = published.generation();
        let state = self.state.load(Ordering::Relaxed);
        if generation != 0 && state >> 1 == generation {
            return state & 1 == 1;
        }
        let enabled = read();
        self.state
            .store(generation << 1 | u64::from(enabled), Ordering::Relaxed);
        enabled
    }
}
