//! The future of an async gate check: lazy like any future, and on the warm path a single
//! function call when polled (no nested state machines); only a due refresh is awaited, boxed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::overrides;
use crate::refresh::Target;
use crate::site::Site;
use crate::source::Inner;

/// Resolves to whether `flag` is on: an override, else the target's snapshot once fresh
/// (through `site`'s cache when there is one), else `default`.
pub(crate) struct Check<'a> {
    inner: &'a Arc<Inner>,
    target: &'a Arc<Target>,
    flag: &'a str,
    default: bool,
    site: Option<&'a Site>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

impl<'a> Check<'a> {
    pub(crate) fn new(
        inner: &'a Arc<Inner>,
        target: &'a Arc<Target>,
        flag: &'a str,
        default: bool,
        site: Option<&'a Site>,
    ) -> Self {
        Check {
            inner,
            target,
            flag,
            default,
            site,
            waiting: None,
        }
    }

    #[inline]
    fn answer(&self) -> bool {
        let read = || self.inner.read(self.target, self.flag, self.default);
        match self.site {
            Some(site) => site.read(&self.target.published, read),
            None => read(),
        }
    }
}

impl Future for Check<'_> {
    type Output = bool;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        if this.waiting.is_none() {
            if let Some(forced) = overrides::enabled(this.flag) {
                return Poll::Ready(forced);
            }
            if !this.inner.must_wait(this.target) {
                return Poll::Ready(this.answer());
            }
            // Boxed: the slow path's future is large; allocated only when a refresh is due.
            this.waiting = Some(Box::pin(this.inner.await_fresh(this.target)));
        }
        match this.waiting.as_mut().map(|w| w.as_mut().poll(cx)) {
            Some(Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(this.answer()),
        }
    }
}
