//! The checks without an explicit context, sync and async: in a scope of their source they read
//! its pins; outside, the published context-free answer, refreshed when due.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::memo::Site;
use crate::overrides;
use crate::pins;
use crate::refresh;
use crate::shared::Shared;

/// The sync check of `flag` (through `site`'s memo, when a call site checks it): never waits;
/// outside a scope a due refresh starts in the background.
#[inline]
pub(crate) fn enabled_now(
    shared: &Arc<Shared>,
    flag: &str,
    default: bool,
    site: Option<&Site>,
) -> bool {
    if let Some(forced) = overrides::enabled(flag) {
        return forced;
    }
    if let Some(answer) = in_scope(shared, flag, default, site) {
        return answer;
    }
    shared.refresh_if_due(&shared.base);
    read(shared, flag, default, site)
}

/// The answer in the scope of `shared` around the caller, if any: on the warm path, the call
/// site's memo for the scope's generation (no task-local read).
#[inline]
fn in_scope(shared: &Arc<Shared>, flag: &str, default: bool, site: Option<&Site>) -> Option<bool> {
    let generation = pins::polled(shared)?;
    if let Some(enabled) = site.and_then(|site| site.cached(generation)) {
        return Some(enabled);
    }
    pins::pinned(shared, |pins| pins.enabled(flag, default, site))
}

/// The published context-free answer for `flag`.
#[inline]
fn read(shared: &Shared, flag: &str, default: bool, site: Option<&Site>) -> bool {
    let read = || shared.read_base(|snapshot| shared.enabled(snapshot, flag, default));
    match site {
        Some(site) => site.answer(shared.base.published.generation(), read),
        None => read(),
    }
}

/// The async check: resolves to whether `flag` is on. Lazy like any future; on the warm path a
/// single call when polled; only a wait for a due refresh is boxed.
pub(crate) struct Check<'a> {
    shared: &'a Arc<Shared>,
    flag: &'a str,
    default: bool,
    site: Option<&'a Site>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

impl<'a> Check<'a> {
    pub(crate) fn new(
        shared: &'a Arc<Shared>,
        flag: &'a str,
        default: bool,
        site: Option<&'a Site>,
    ) -> Self {
        Check {
            shared,
            flag,
            default,
            site,
            waiting: None,
        }
    }
}

impl Future for Check<'_> {
    type Output = bool;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        let (shared, flag, default, site) = (this.shared, this.flag, this.default, this.site);
        if this.waiting.is_none() {
            if let Some(forced) = overrides::enabled(flag) {
                return Poll::Ready(forced);
            }
            if let Some(answer) = in_scope(shared, flag, default, site) {
                return Poll::Ready(answer);
            }
            if !refresh::must_wait(&shared.refresher, &shared.base) {
                return Poll::Ready(read(shared, flag, default, site));
            }
            this.waiting = Some(Box::pin(refresh::fresh(&shared.refresher, &shared.base)));
        }
        match this.waiting.as_mut().map(|w| w.as_mut().poll(cx)) {
            Some(Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(read(shared, flag, default, site)),
        }
    }
}
