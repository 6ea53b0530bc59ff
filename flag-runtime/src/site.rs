//! The call-site cache of `#[feature_flag]` and of the typed flags of `flags!`: each remembers
//! its last answer, tagged with the snapshot generation it was read from, so a warm check is a
//! few atomic loads, not a hash lookup.
//!
//! The sync check's warm path ([`Site::check_now_default`]) reads no clock: three loads (the
//! default source's *hot* generation, the cached answer, whether any override is active) and
//! one comparison. The source is hot while the refresher's timer says its TTL has not run out
//! (see `refresh::Target::hot`); otherwise the check takes the path that reads the clock, starts a
//! due refresh and consults overrides, as before. Async checks always read the clock: they
//! must wait for a due refresh, even in the moment after a frozen sandbox thaws, before the
//! timer has run.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::overrides;
use crate::published::Published;
use crate::refresh;

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

    /// The sync check of the default source: the cached answer when the default source is hot
    /// at the generation it was cached for and no override is active (three loads, no clock
    /// read, no lookup), else the full check.
    #[inline]
    pub(crate) fn check_now_default(&self) -> bool {
        let hot = refresh::default_hot();
        let state = self.state.load(Ordering::Relaxed);
        if hot != 0 && state >> 1 == hot && !overrides::any_active() {
            state & 1 == 1
        } else {
            self.check_now_default_cold()
        }
    }

    #[inline(never)]
    fn check_now_default_cold(&self) -> bool {
        crate::default_source().is_enabled_now_at(self)
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
