//! The answers kept per evaluation context: one [`Target`] per distinct [`Context`] (same pairs
//! in any order, same entity id), bounded, least recently used out; a context pushed out is
//! asked for again when it comes back.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::context::Context;
use crate::refresh::{Refresher, Target};

#[derive(Debug)]
pub(crate) struct ContextCache {
    targets: Mutex<LruCache<Arc<str>, Arc<Target>>>,
}

impl ContextCache {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        ContextCache {
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
