//! The answers cached per evaluation context: bounded, least recently used out.
//!
//! Each distinct [`Context`] (same pairs in any order, same entity id) is a refresh [`Target`]
//! of its own, with the TTL, single flight and last-known-good of the context-free answer. A
//! context pushed out of the cache is asked for again when it comes back.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::context::Context;
use crate::refresh::{Refresher, Target};

#[derive(Debug)]
pub(crate) struct Contexts {
    targets: Mutex<LruCache<Arc<str>, Arc<Target>>>,
}

impl Contexts {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        Contexts {
            targets: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The target of `context`, created (due at once) on first use.
    pub(crate) fn target(&self, context: &Context, refresher: &Refresher) -> Arc<Target> {
        let key = context.key();
        let mut targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(target) = targets.get(key) {
            return Arc::clone(target);
        }
        let target = Arc::new(refresher.target(Some(context.clone())));
        targets.put(Arc::clone(key), Arc::clone(&target));
        target
    }

    /// How many contexts are cached.
    pub(crate) fn len(&self) -> usize {
        self.targets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
