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
pub(crate) fn enabled_now(shared: &Arc<Shared>, flag: &str, site: Option<&Site>) -> bool {
    match warm(site) {
        Some(enabled) => enabled,
        None => enabled_now_cold(shared, flag, site),
    }
}

/// A call site's answer from its memo alone, in a scope while no override is active anywhere:
/// a relaxed load, a thread-local read, the memo's load. Inlined into every check, with nothing
/// to call on its way (everything else is in the cold path).
///
/// It does not look at which source the scope being polled is of: a generation names one
/// published snapshot in the whole process, and a call site only remembers answers read from
/// its own source's snapshots, so a hit on the scope's generation is a scope of that source.
#[inline]
fn warm(site: Option<&Site>) -> Option<bool> {
    let site = site?;
    if overrides::any_active() {
        return None;
    }
    site.cached(pins::polled_generation())
}

#[inline(never)]
fn enabled_now_cold(shared: &Arc<Shared>, flag: &str, site: Option<&Site>) -> bool {
    if let Some(forced) = overrides::enabled(flag) {
        return forced;
    }
    if let Some(answer) = pins::pinned(shared, |pins| pins.enabled(flag, site)) {
        return answer;
    }
    shared.refresh_if_due(&shared.base);
    read(shared, flag, site)
}

/// The published context-free answer for `flag`: a site's memo for the published generation,
/// else the snapshot, remembered under that snapshot's own generation (a snapshot published
/// between the two reads must not have its answer filed under its predecessor's).
#[inline]
fn read(shared: &Shared, flag: &str, site: Option<&Site>) -> bool {
    if let Some(enabled) = site.and_then(|site| site.cached(shared.base.published.generation())) {
        return enabled;
    }
    shared.read_base(|snapshot| {
        let read = || shared.enabled(snapshot, flag);
        match site {
            Some(site) => site.answer(snapshot.map_or(0, |s| s.generation), read),
            None => read(),
        }
    })
}

/// The async check: resolves to whether `flag` is on. Lazy like any future (nothing is read
/// until it is polled); on the warm path one inlined memo read when polled; only the wait for a
/// due refresh is boxed.
pub(crate) struct Check<'a> {
    shared: &'a Arc<Shared>,
    flag: &'a str,
    site: Option<&'a Site>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

impl<'a> Check<'a> {
    #[inline]
    pub(crate) fn new(shared: &'a Arc<Shared>, flag: &'a str, site: Option<&'a Site>) -> Self {
        Check {
            shared,
            flag,
            site,
            waiting: None,
        }
    }

    /// The first poll off the warm path: an override, the scope's pins, or the published
    /// answer once no refresh is due (waiting for one, bounded, when it is).
    #[inline(never)]
    fn first_poll(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let (shared, flag, site) = (self.shared, self.flag, self.site);
        if let Some(forced) = overrides::enabled(flag) {
            return Poll::Ready(forced);
        }
        if let Some(answer) = pins::pinned(shared, |pins| pins.enabled(flag, site)) {
            return Poll::Ready(answer);
        }
        if !refresh::must_wait(&shared.refresher, &shared.base) {
            return Poll::Ready(read(shared, flag, site));
        }
        self.waiting = Some(Box::pin(refresh::fresh(&shared.refresher, &shared.base)));
        self.wait(cx)
    }

    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        match self.waiting.as_mut().map(|w| w.as_mut().poll(cx)) {
            Some(Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(read(self.shared, self.flag, self.site)),
        }
    }
}

impl Future for Check<'_> {
    type Output = bool;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        if this.waiting.is_some() {
            return this.wait(cx);
        }
        match warm(this.site) {
            Some(enabled) => Poll::Ready(enabled),
            None => this.first_poll(cx),
        }
    }
}
