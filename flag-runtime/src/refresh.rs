//! One answer of the agent kept fresh: a [`Target`] (a source's context-free answer, or its
//! answer for one context) and the single-flight refresh that replaces it.
//!
//! What this module keeps, and why each part remains:
//! * **The due time, read from the clock by checks outside a scope.** A target is served for
//!   the TTL; then the first check starts a refresh. No timer could do it: while a Lambda
//!   sandbox is frozen no timer runs, and after the thaw only a check can notice that the TTL
//!   ran out. (Inside an [invocation scope](crate::scope) no check reads the clock: the scope's
//!   entry did.)
//! * **Single flight, at most one request per TTL window.** A refresh holds the target's
//!   [`Flight`]; a check that finds one does not start another, and the next refresh is due a
//!   TTL after this one ends, failed or not: a dead agent is not hammered.
//! * **Takeover of a frozen flight.** While waiting for the agent, a flight expires after twice
//!   the timeout plus a second (a request stuck across a freeze); the next check then starts a
//!   new one, and the old one, should it wake, publishes nothing: it is no longer the flight.
//! * **The crate's own runtime.** Refreshes run on the [background refresher](crate::background),
//!   never on the caller's runtime, so sync code, any host runtime or none get the same flags.
//! * **Parsing off the caller's thread, publishing late.** The answer is parsed on the
//!   refresher's blocking pool. Waiters are released when the refresh settles or when the
//!   timeout has passed since it started, whichever is first, whatever the answer's size; a
//!   parse still running then publishes later, and the flight does not expire under it.
//! * **Unchanged answers are recognised** byte for byte (same version, same body): not parsed.
//! * **Last-known-good.** A failed refresh publishes nothing; the target keeps its snapshot and
//!   says it is stale. [`Health`] logs one line per fault streak.
//!
//! Waiting is a [`tokio::sync::watch`] of the flight's [`Progress`]: it needs no timer and no
//! particular runtime, so a check on any executor can wait.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tracing::instrument::WithSubscriber as _;

use crate::background;
use crate::client::{AgentClient, Answer};
use crate::clock;
use crate::config::Config;
use crate::context::Context;
use crate::error::{ConfigError, FetchError};
use crate::health::{loggable, Health, Refreshed};
use crate::published::Published;
use crate::snapshot::Snapshot;

pub(crate) type Outcome = Result<Refreshed, FetchError>;

/// What every refresh of a source shares: the agent client, the TTL and timeout, and the
/// health record the outcomes go to.
#[derive(Debug)]
pub(crate) struct Refresher {
    pub(crate) client: Result<AgentClient, ConfigError>,
    ttl_ms: u64,
    timeout: Duration,
    pub(crate) health: Health,
}

/// One answer of the agent: published for the checks, refreshed by one flight at a time.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) published: Published,
    /// The context sent with each request (`None`: the context-free answer).
    context: Option<Context>,
    /// [`clock::now_ms`] from which a check starts a refresh; the flight's expiry while one
    /// runs; `u64::MAX`: never (unconfigured, or a parse running).
    due_ms: AtomicU64,
    /// [`clock::now_ms`] until which the published answer is fresh: a TTL after the latest
    /// refresh settled (a running refresh does not move it, unlike `due_ms`). A scope entry
    /// before then has nothing to wait for and takes no lock.
    fresh_until_ms: AtomicU64,
    state: Mutex<State>,
    /// Whether the latest settled refresh failed: what is published is last-known-good.
    stale: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    flight: Option<Flight>,
    /// The exact answer behind the published snapshot, to recognise an unchanged one.
    held: Option<Answer>,
}

/// The refresh running for a target.
#[derive(Debug)]
struct Flight {
    id: u64,
    expires_ms: u64,
    progress: watch::Receiver<Progress>,
}

/// How far a refresh is, as those waiting for it see it.
#[derive(Debug, Clone)]
enum Progress {
    Running,
    /// The timeout has passed: waiting checks go on; a parse may still publish later.
    Released,
    Settled(Outcome),
}

/// Whether a refresh starts only when due or whatever the TTL says (an explicit refresh).
#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    IfDue,
    Now,
}

enum Start {
    Started(Lease),
    Running(watch::Receiver<Progress>),
    NotDue,
}

/// A refresh to wait for, bounded by the timeout: see [`begin`].
pub(crate) struct Wait(watch::Receiver<Progress>);

/// The right to refresh and the duty to settle: dropped, it settles the flight with its
/// outcome (`Cancelled` if its task ended without one).
struct Lease {
    refresher: Arc<Refresher>,
    target: Arc<Target>,
    id: u64,
    progress: watch::Sender<Progress>,
    outcome: Option<Outcome>,
}

static NEXT_FLIGHT: AtomicU64 = AtomicU64::new(1);

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Refresher {
    pub(crate) fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(Refresher {
            client: Ok(AgentClient::new(config)?),
            ttl_ms: millis(config.ttl()),
            timeout: config.timeout(),
            health: Health::default(),
        })
    }

    /// A refresher that never asks anything: every refresh fails with `error`, and its TTL
    /// never runs out.
    pub(crate) fn unconfigured(error: ConfigError) -> Self {
        Refresher {
            health: Health::unconfigured(FetchError::Unconfigured(error.clone())),
            client: Err(error),
            ttl_ms: u64::MAX,
            timeout: Duration::ZERO,
        }
    }

    /// Why this refresher can never ask the agent, if it cannot.
    pub(crate) fn unusable(&self) -> Option<&ConfigError> {
        self.client.as_ref().err()
    }

    /// A new target: due at once, or never if this refresher cannot ask anything.
    pub(crate) fn target(&self, context: Option<Context>) -> Target {
        let due = if self.unusable().is_some() {
            u64::MAX
        } else {
            0
        };
        Target {
            published: Published::new(),
            context,
            due_ms: AtomicU64::new(due),
            fresh_until_ms: AtomicU64::new(0),
            state: Mutex::default(),
            stale: AtomicBool::new(false),
        }
    }
}

impl Target {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a check should start a refresh: a check's only clock read.
    #[inline]
    pub(crate) fn is_due(&self) -> bool {
        self.is_due_at(clock::now_ms())
    }

    #[inline]
    fn is_due_at(&self, now_ms: u64) -> bool {
        now_ms >= self.due_ms.load(Ordering::Acquire)
    }

    /// Whether the latest settled refresh failed (what is published is last-known-good).
    pub(crate) fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire)
    }

    /// The published snapshot.
    pub(crate) fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.published.load_full()
    }
}

/// Whether an async check must look for a refresh to wait for ([`begin`]): one is due, or
/// nothing is loaded yet and one may be. Inlined into every async check outside a scope.
#[inline]
pub(crate) fn must_wait(refresher: &Refresher, target: &Target) -> bool {
    target.is_due() || (!target.published.has_snapshot() && refresher.unusable().is_none())
}

/// Sync checks: starts a due refresh in the background; never waits.
#[inline]
pub(crate) fn refresh_if_due(refresher: &Arc<Refresher>, target: &Arc<Target>) {
    if target.is_due() {
        if let Start::Started(lease) = start(refresher, target, When::IfDue) {
            drop(launch(lease));
        }
    }
}

/// A scope entry's refresh to wait for: the due one, started, or the one running, which it joins
/// so that what it pins is never older than the TTL when the scope began; `None` if the answer
/// is fresh (a TTL has not passed since the latest refresh settled, whether or not one runs
/// now) or can never be, and then it takes no lock.
pub(crate) fn begin_unless_fresh(refresher: &Arc<Refresher>, target: &Arc<Target>) -> Option<Wait> {
    let fresh = refresher.unusable().is_some()
        || (target.published.has_snapshot()
            && clock::now_ms() < target.fresh_until_ms.load(Ordering::Acquire));
    if fresh {
        return None;
    }
    match start(refresher, target, When::IfDue) {
        Start::Started(lease) => Some(launch(lease)),
        Start::Running(progress) => Some(Wait(progress)),
        Start::NotDue => None,
    }
}

/// An async check's wait, bounded by the timeout, for the refresh it starts (once
/// [`must_wait`] said one is due) or for a first load. A refresh someone else started
/// meanwhile is not waited for: the check serves the snapshot it has, as every other reader does.
pub(crate) async fn fresh(refresher: &Arc<Refresher>, target: &Arc<Target>) {
    let wait = match start(refresher, target, When::IfDue) {
        Start::Started(lease) => launch(lease),
        Start::Running(progress) if !target.published.has_snapshot() => Wait(progress),
        Start::Running(_) | Start::NotDue => return,
    };
    wait.released().await;
}

impl Wait {
    /// Until the refresh settles or its timeout has passed.
    pub(crate) async fn released(self) {
        self.until(|p| !matches!(p, Progress::Running)).await;
    }

    /// Until `done` says so (or the refresh's task is gone); the progress then.
    async fn until(mut self, done: impl FnMut(&Progress) -> bool) -> Progress {
        match self.0.wait_for(done).await {
            Ok(progress) => progress.clone(),
            Err(_) => Progress::Settled(Err(FetchError::Cancelled)),
        }
    }

    /// Until the refresh settles; its outcome.
    async fn settled(self) -> Outcome {
        match self.until(|p| matches!(p, Progress::Settled(_))).await {
            Progress::Settled(outcome) => outcome,
            _ => Err(FetchError::Cancelled),
        }
    }
}

/// An explicit refresh: waits for a running one to end (its outcome is not ours), then asks
/// the agent itself and waits for the outcome, parse included.
pub(crate) async fn refresh_now(refresher: &Arc<Refresher>, target: &Arc<Target>) -> Outcome {
    loop {
        match start(refresher, target, When::Now) {
            Start::Started(lease) => return launch(lease).settled().await,
            Start::Running(progress) => {
                let _ = Wait(progress).settled().await;
            }
            Start::NotDue => {}
        }
    }
}

/// Takes the flight if it is free (or its holder expired); [`When::IfDue`]: only if a refresh
/// is still due once the flight is won (the previous holder may have just settled).
fn start(refresher: &Arc<Refresher>, target: &Arc<Target>, when: When) -> Start {
    let now = clock::now_ms();
    let mut state = target.state();
    if let Some(running) = state.flight.as_ref().filter(|f| f.expires_ms > now) {
        return Start::Running(running.progress.clone());
    }
    if when == When::IfDue && !target.is_due_at(now) {
        return Start::NotDue;
    }
    let id = NEXT_FLIGHT.fetch_add(1, Ordering::Relaxed);
    // A live refresh ends within the timeout; twice that and a second means it was frozen.
    let expires_ms = now
        .saturating_add(millis(refresher.timeout).saturating_mul(2))
        .saturating_add(1000);
    let (progress, receiver) = watch::channel(Progress::Running);
    state.flight = Some(Flight {
        id,
        expires_ms,
        progress: receiver,
    });
    target.due_ms.store(expires_ms, Ordering::Release);
    Start::Started(Lease {
        refresher: Arc::clone(refresher),
        target: Arc::clone(target),
        id,
        progress,
        outcome: None,
    })
}

/// Runs the refresh on the background refresher, its logs going to the caller's subscriber;
/// returns it to wait for.
fn launch(mut lease: Lease) -> Wait {
    let wait = Wait(lease.progress.subscribe());
    let handle = match background::handle() {
        Ok(handle) => handle,
        Err(error) => {
            lease.outcome = Some(Err(error));
            return wait;
        }
    };
    // From the std clock: tokio's `Instant::now()` reads the caller's runtime clock, which a
    // test with paused time holds still, while the refresher's runs on.
    let deadline =
        tokio::time::Instant::from_std(std::time::Instant::now() + lease.refresher.timeout);
    drop(handle.spawn(run(lease, deadline).with_current_subscriber()));
    wait
}

async fn run(mut lease: Lease, deadline: tokio::time::Instant) {
    let fetched = match &lease.refresher.client {
        Ok(client) => client.fetch(deadline, lease.target.context.as_ref()).await,
        Err(error) => Err(FetchError::Unconfigured(error.clone())),
    };
    let outcome = match fetched {
        Ok(answer) => apply(&lease, answer, deadline).await,
        Err(error) => Err(error),
    };
    lease.outcome = Some(outcome);
}

/// Parses and publishes a new answer; recognises an unchanged one.
async fn apply(lease: &Lease, answer: Answer, deadline: tokio::time::Instant) -> Outcome {
    let target = &lease.target;
    {
        let mut state = target.state();
        if state.held.as_ref() == Some(&answer) {
            return Ok(Refreshed::Unchanged {
                version: answer.version,
            });
        }
        // A parse always ends (the answer is capped), however slow the host: the flight must
        // not expire under it, or a successor would start over and never publish either.
        match state.flight.as_mut().filter(|f| f.id == lease.id) {
            Some(ours) => {
                ours.expires_ms = u64::MAX;
                target.due_ms.store(u64::MAX, Ordering::Release);
            }
            None => return Err(FetchError::Cancelled),
        }
    }
    let mut parse = tokio::task::spawn_blocking(move || {
        (
            Snapshot::parse(&answer.body, answer.version.as_deref()),
            answer,
        )
    });
    let parsed = match tokio::time::timeout_at(deadline, &mut parse).await {
        Ok(parsed) => parsed,
        Err(_) => {
            // The budget is spent: waiting checks go on; the parse publishes when done.
            lease.progress.send_replace(Progress::Released);
            parse.await
        }
    };
    let (snapshot, answer) = match parsed {
        Ok((Ok(snapshot), answer)) => (snapshot, answer),
        Ok((Err(error), _)) => return Err(error.into()),
        Err(_) => return Err(FetchError::Cancelled),
    };
    let flags = snapshot.len();
    let version = answer.version.clone();
    let replaced = {
        let mut state = target.state();
        // Published only while the flight is still ours.
        if state.flight.as_ref().is_none_or(|f| f.id != lease.id) {
            return Err(FetchError::Cancelled);
        }
        state.held = Some(answer);
        target.published.swap(snapshot)
    };
    tracing::info!(
        version = loggable(version.as_deref()),
        previous = loggable(replaced.as_ref().and_then(|s| s.version())),
        flags,
        "feature flags loaded"
    );
    drop(replaced);
    Ok(Refreshed::Updated { version })
}

impl Drop for Lease {
    /// Ends the flight: the outcome is recorded, the next refresh due a TTL later, and waiters
    /// released, unless the flight was taken over meanwhile (the successor's outcome counts).
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or(Err(FetchError::Cancelled));
        let target = &self.target;
        let now = clock::now_ms();
        let ours = {
            let mut state = target.state();
            let ours = state.flight.as_ref().is_some_and(|f| f.id == self.id);
            if ours {
                state.flight = None;
                let next = now.saturating_add(self.refresher.ttl_ms);
                target.due_ms.store(next, Ordering::Release);
                target.fresh_until_ms.store(next, Ordering::Release);
                // Under the lock: a refresh starting right after must not see ours overwrite it.
                target.stale.store(outcome.is_err(), Ordering::Release);
            }
            ours
        };
        if !ours {
            self.progress
                .send_replace(Progress::Settled(Err(FetchError::Cancelled)));
            return;
        }
        let health = &self.refresher.health;
        if target.context.is_some() {
            health.record_context(&outcome);
        } else {
            health.record(&outcome, target.published.has_snapshot(), now);
        }
        self.progress.send_replace(Progress::Settled(outcome));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An async check that lost the race to start the due refresh serves the snapshot it has
    /// rather than wait for a refresh someone else started; a scope entry joins it.
    #[tokio::test]
    async fn an_async_check_joins_no_refresh_it_did_not_start_but_a_scope_entry_does() {
        // An agent that accepts and never answers: the refresh runs until its timeout.
        let agent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config::builder()
            .application("a")
            .environment("e")
            .configuration("c")
            .port(agent.local_addr().unwrap().port())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let refresher = Arc::new(Refresher::new(&config).unwrap());
        let target = Arc::new(refresher.target(None));
        target.published.swap(Snapshot::parse(b"{}", None).unwrap());
        refresh_if_due(&refresher, &target);
        let check = tokio::time::timeout(Duration::from_secs(5), fresh(&refresher, &target));
        assert!(
            check.await.is_ok(),
            "the check waited for another's refresh"
        );
        assert!(begin_unless_fresh(&refresher, &target).is_some());
    }
}
