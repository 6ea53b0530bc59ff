//! The refresh policy, in one place.
//!
//! * **When.** A snapshot is served for the TTL; the first check after that starts a refresh.
//!   At most one agent request per TTL window, failed or not: a dead agent is not hammered.
//! * **One at a time.** A refresh holds the single *flight*; checks that find one running do
//!   not start another. While it waits for the agent, the flight expires after twice the
//!   timeout plus a second: a request stuck across a freeze of the Lambda sandbox is then
//!   replaced by the next check, and when it wakes up it publishes nothing, since its answer may
//!   be older than its successor's. A parse (of a capped answer) always ends, so the flight does
//!   not expire under it, however slow the host.
//! * **Where.** Every refresh runs on the [background refresher](crate::background), never on
//!   the caller's runtime, so no host can make it panic or stall; the answer is parsed on its
//!   blocking pool.
//! * **Who waits.** The async check that starts a refresh waits for it, and so does an async
//!   check while no snapshot is held yet (a first load). A refresh started by a sync check or by
//!   the refresher's timer has no waiter: the next async check claims it and waits, as if it had
//!   started it (after a thaw, the timer and the invocation's first check race to start the due
//!   refresh; whichever wins, that check answers from it). Every other check serves the current
//!   snapshot at once. Waiting ends when the refresh is applied or when the timeout has passed
//!   since it started, whichever comes first, whatever the answer's size: a parse still running
//!   then publishes later. [`FlagSource::refresh`](crate::FlagSource::refresh) waits for the
//!   outcome itself.
//! * **What changes.** An answer identical to the one held (same version, same bytes) is not
//!   re-parsed; any other answer is parsed and published whole, or refused whole.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::instrument::WithSubscriber as _;

use crate::background;
use crate::client::{AgentClient, Answer};
use crate::clock;
use crate::config::Config;
use crate::context::Context;
use crate::error::{ConfigError, FetchError};
use crate::health::{loggable, Refreshed};
use crate::published::Published;
use crate::snapshot::Snapshot;
use crate::source::Inner;

type Outcome = Result<Refreshed, FetchError>;

/// The settings every refresh of a source shares.
#[derive(Debug)]
pub(crate) struct Refresher {
    client: Result<AgentClient, ConfigError>,
    ttl_ms: u64,
    timeout: Duration,
}

/// What is refreshed: the context-free answer of a source, or its answer for one context.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) published: Published,
    /// The context sent with each request (`None`: the context-free answer).
    context: Option<Context>,
    /// [`clock::now_ms`] from which a check starts a refresh; pushed to the flight's expiry while
    /// one runs, so checks meanwhile do not even look; `u64::MAX`: never (unconfigured).
    next_refresh_ms: AtomicU64,
    flight: Mutex<Option<Flight>>,
    /// The published generation while the refresher's timer says the TTL has not run out yet,
    /// else 0: a sync check that finds it equal to its cached generation answers without
    /// reading the clock (see [`crate::site`]). Set when a refresh settles, cleared when the
    /// next one starts and by the timer, [`HOT_MARGIN`] before [`is_due`](Target::is_due) turns
    /// true when it fires on time; a timer firing late (a thawed sandbox, a starved refresher)
    /// starts the due refresh itself. Always under the flight's lock.
    hot: AtomicU64,
    /// The timer of the latest arming, aborted when the next one is armed (an explicit refresh
    /// every second under a one-hour TTL keeps one sleeping task, not 3,600).
    hot_timer: Mutex<Option<tokio::task::AbortHandle>>,
    /// Whether this is the default source's context-free target, whose `hot` is mirrored in
    /// [`DEFAULT_HOT`] (one static load for the checks of `#[feature_flag]` and `flags!`).
    mirrors_default: AtomicBool,
    /// The exact answer behind the published snapshot, to recognise an unchanged one.
    held: Mutex<Option<Answer>>,
    /// A refresh is running that no async check waits for (a sync check or the timer started
    /// it): the next async check claims it and waits. Set and cleared under the flight's lock.
    unclaimed: AtomicBool,
    /// Whether the latest settled refresh failed: what is published (if anything) is then
    /// last-known-good, not the agent's current answer ([`Served`](crate::Served)).
    pub(crate) last_failed: AtomicBool,
}

#[derive(Debug)]
struct Flight {
    id: u64,
    expires_ms: u64,
    attempt: Arc<Attempt>,
}

/// One refresh, as the checks waiting for it see it.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    /// Waiting checks may go: the outcome is known, or the timeout has passed.
    released: AtomicBool,
    outcome: OnceLock<Outcome>,
    changed: Notify,
}

enum Start {
    Started(Lease),
    /// Another refresh runs; `claimed`: the caller took it over from nobody (it was unclaimed).
    Running {
        attempt: Arc<Attempt>,
        claimed: bool,
    },
    NotDue,
}

/// The right to refresh, and the duty to settle: dropped unsettled (its task gone), it records
/// the refresh as cancelled, so the next is due a TTL later rather than on every check.
struct Lease {
    inner: Arc<Inner>,
    target: Arc<Target>,
    id: u64,
    attempt: Arc<Attempt>,
    settled: bool,
}

static NEXT_FLIGHT: AtomicU64 = AtomicU64::new(1);

impl Refresher {
    pub(crate) fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self::with_client(Ok(AgentClient::new(config)?), config))
    }

    /// A refresher that never asks anything: every refresh fails with `error`.
    pub(crate) fn unconfigured(error: ConfigError) -> Self {
        Self::with_client(Err(error), &Config::placeholder())
    }

    fn with_client(client: Result<AgentClient, ConfigError>, config: &Config) -> Self {
        Refresher {
            client,
            ttl_ms: millis(config.ttl()),
            timeout: config.timeout(),
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
            next_refresh_ms: AtomicU64::new(due),
            flight: Mutex::new(None),
            hot: AtomicU64::new(0),
            hot_timer: Mutex::new(None),
            mirrors_default: AtomicBool::new(false),
            held: Mutex::new(None),
            unclaimed: AtomicBool::new(false),
            last_failed: AtomicBool::new(false),
        }
    }
}

impl Target {
    fn flight(&self) -> MutexGuard<'_, Option<Flight>> {
        self.flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a check should start a refresh: the hot path's only clock read.
    #[inline]
    pub(crate) fn is_due(&self) -> bool {
        clock::now_ms() >= self.next_refresh_ms.load(Ordering::Acquire)
    }

    /// Whether a running refresh waits for an async check to claim it.
    #[inline]
    pub(crate) fn is_unclaimed(&self) -> bool {
        self.unclaimed.load(Ordering::Relaxed)
    }

    /// Sets [`hot`](Self::hot) (and its mirror). Called with the flight's lock held, so that
    /// arming, clearing and mirroring never interleave.
    fn set_hot(&self, generation: u64) {
        self.hot.store(generation, Ordering::Release);
        if self.mirrors_default.load(Ordering::Relaxed) {
            DEFAULT_HOT.store(generation, Ordering::Release);
        }
    }

    /// Makes this target the default source's: [`default_hot`] mirrors it from now on.
    pub(crate) fn mirror_default(&self) {
        let _flight = self.flight();
        self.mirrors_default.store(true, Ordering::Relaxed);
        DEFAULT_HOT.store(self.hot.load(Ordering::Acquire), Ordering::Release);
    }
}

/// The hot generation of the default source's context-free target (see [`Target::hot`]).
static DEFAULT_HOT: AtomicU64 = AtomicU64::new(0);

/// The generation a sync check of the default source may serve from its cache without reading
/// the clock; 0 when it must read it (a refresh may be due or running, no timer watches the
/// TTL, or no snapshot is held).
#[inline]
pub(crate) fn default_hot() -> u64 {
    DEFAULT_HOT.load(Ordering::Acquire)
}

/// How long before the TTL runs out the timer clears [`Target::hot`]: the refresh deadline is
/// read from the coarse clock (up to a tick behind), so a timer on time must clear the mark a
/// little early. A timer later than that starts the due refresh itself (see [`Inner::arm_hot`]).
const HOT_MARGIN: Duration = Duration::from_millis(20);

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Inner {
    /// Sync checks and the timer: start a due refresh in the background, never wait. The next
    /// async check claims it.
    pub(crate) fn refresh_in_background(self: &Arc<Self>, target: &Arc<Target>) {
        if let Start::Started(lease) = self.try_start(target, false, false) {
            self.launch(lease);
        }
    }

    /// Async checks, when due, with nothing loaded yet or with an unclaimed refresh running:
    /// start a due refresh and wait for it (bounded), or wait for a first load or an unclaimed
    /// refresh in flight; otherwise return at once.
    pub(crate) async fn await_fresh(self: &Arc<Self>, target: &Arc<Target>) {
        match self.try_start(target, false, true) {
            Start::Started(lease) => {
                let attempt = Arc::clone(&lease.attempt);
                self.launch(lease);
                attempt.released().await;
            }
            Start::Running { attempt, claimed } if claimed || !target.published.has_snapshot() => {
                attempt.released().await;
            }
            Start::Running { .. } | Start::NotDue => {}
        }
    }

    /// An explicit refresh: waits for a running one to end (its outcome is not ours), then asks
    /// the agent itself and waits for the outcome, parse included.
    pub(crate) async fn refresh_now(self: &Arc<Self>, target: &Arc<Target>) -> Outcome {
        loop {
            match self.try_start(target, true, true) {
                Start::Started(lease) => {
                    let attempt = Arc::clone(&lease.attempt);
                    self.launch(lease);
                    return attempt.outcome().await;
                }
                Start::Running { attempt, .. } => {
                    let _ = attempt.outcome().await;
                }
                Start::NotDue => unreachable!("a forced start is always due"),
            }
        }
    }

    /// Takes the flight if it is free (or its holder is presumed dead). Unless `force`d, only
    /// when a refresh is due once the flight is won (the previous holder may have just ended).
    /// `waiter`: whether the caller waits for the outcome: it then claims a running refresh
    /// nobody waits for (under the same lock, so the claim is this attempt's), and a refresh it
    /// starts is claimed; else the refresh it starts is unclaimed.
    fn try_start(self: &Arc<Self>, target: &Arc<Target>, force: bool, waiter: bool) -> Start {
        let now = clock::now_ms();
        let mut flight = target.flight();
        if let Some(running) = flight.as_ref().filter(|f| f.expires_ms > now) {
            return Start::Running {
                attempt: Arc::clone(&running.attempt),
                claimed: waiter && target.unclaimed.swap(false, Ordering::Relaxed),
            };
        }
        if !force && !target.is_due() {
            return Start::NotDue;
        }
        let id = NEXT_FLIGHT.fetch_add(1, Ordering::Relaxed);
        // A live refresh ends within the timeout (plus its parse); twice that and a second
        // means it was frozen, or is stuck.
        let expires_ms = now
            .saturating_add(millis(self.refresher.timeout).saturating_mul(2))
            .saturating_add(1000);
        let attempt = Arc::new(Attempt::default());
        *flight = Some(Flight {
            id,
            expires_ms,
            attempt: Arc::clone(&attempt),
        });
        // Before the deadline's release store: a check that sees the refresh is no longer due
        // sees whether it is claimed.
        target.unclaimed.store(!waiter, Ordering::Relaxed);
        target.next_refresh_ms.store(expires_ms, Ordering::Release);
        target.set_hot(0);
        Start::Started(Lease {
            inner: Arc::clone(self),
            target: Arc::clone(target),
            id,
            attempt,
            settled: false,
        })
    }

    /// Runs the refresh on the background refresher, with the deadline that releases waiters.
    /// Logs go to the subscriber of the check that started it.
    fn launch(self: &Arc<Self>, lease: Lease) {
        let handle = match background::handle() {
            Ok(handle) => handle,
            Err(error) => {
                self.settle(lease, Err(error));
                return;
            }
        };
        // From the std clock: tokio's `Instant::now()` reads the caller's runtime clock, which a
        // test with paused time (`start_paused`) holds still, while the refresher's runs on.
        let deadline =
            tokio::time::Instant::from_std(std::time::Instant::now() + self.refresher.timeout);
        let inner = Arc::clone(self);
        drop(
            handle.spawn(async move { inner.run(lease, deadline).await }.with_current_subscriber()),
        );
    }

    /// The refresh itself, on the refresher. Waiters are released when it settles, or at the
    /// deadline if a parse is still running then.
    async fn run(self: Arc<Self>, lease: Lease, deadline: tokio::time::Instant) {
        let fetched = match &self.refresher.client {
            Ok(client) => client.fetch(deadline, lease.target.context.as_ref()).await,
            Err(error) => Err(FetchError::Unconfigured(error.clone())),
        };
        let outcome = match fetched {
            Ok(answer) => self.apply(answer, &lease, deadline).await,
            Err(error) => Err(error),
        };
        self.settle(lease, outcome);
    }

    /// Parses and publishes a new answer; recognises an unchanged one.
    async fn apply(
        &self,
        answer: Answer,
        lease: &Lease,
        deadline: tokio::time::Instant,
    ) -> Outcome {
        let target = &lease.target;
        let unchanged = target
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|held| *held == answer);
        if unchanged {
            return Ok(Refreshed::Unchanged {
                version: answer.version,
            });
        }
        // A parse always ends (the answer is capped), however slow the host: the flight must not
        // expire under it, or a successor would start over and never publish either.
        if !hold_flight(lease) {
            return Err(FetchError::Cancelled);
        }
        let mut parse = tokio::task::spawn_blocking(move || {
            let snapshot = Snapshot::parse(&answer.body, answer.version.as_deref());
            (snapshot, answer)
        });
        let parsed = match tokio::time::timeout_at(deadline, &mut parse).await {
            Ok(parsed) => parsed,
            Err(_) => {
                // The budget is spent: waiting checks go on with what they have; the parse
                // goes on here and publishes when done.
                lease.attempt.release();
                parse.await
            }
        };
        let (snapshot, answer) = match parsed {
            Ok((Ok(snapshot), answer)) => (snapshot, answer),
            Ok((Err(error), _)) => return Err(error),
            Err(_) => return Err(FetchError::Cancelled),
        };
        let flags = snapshot.len();
        let version = answer.version.clone();
        // Published only while the flight is still ours: a successor (after a freeze) may
        // already have published a newer answer.
        let replaced = {
            let flight = target.flight();
            if flight.as_ref().is_none_or(|f| f.id != lease.id) {
                return Err(FetchError::Cancelled);
            }
            let replaced = target.published.swap(snapshot);
            *target.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
            replaced
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

    /// Ends the flight: the outcome is recorded, the next refresh scheduled a TTL later, and
    /// waiters released, unless the flight was taken over meanwhile (then nothing is recorded:
    /// the successor's outcome is what counts).
    fn settle(self: &Arc<Self>, mut lease: Lease, outcome: Outcome) {
        lease.settled = true;
        let target = Arc::clone(&lease.target);
        let now = clock::now_ms();
        let ours = {
            let mut flight = target.flight();
            let ours = flight.as_ref().is_some_and(|f| f.id == lease.id);
            if ours {
                *flight = None;
                target
                    .next_refresh_ms
                    .store(now.saturating_add(self.refresher.ttl_ms), Ordering::Release);
                // Under the flight's lock: a forced refresh starting right after this one must not
                // have its outcome overwritten by ours.
                target
                    .last_failed
                    .store(outcome.is_err(), Ordering::Release);
                target.unclaimed.store(false, Ordering::Relaxed);
                // Under the flight's lock: a refresh starting now clears it after, not before.
                self.arm_hot(&target);
            }
            ours
        };
        if !ours {
            lease.attempt.finish(Err(FetchError::Cancelled));
            return;
        }
        if target.context.is_some() {
            self.health.record_context(&outcome);
        } else {
            self.health
                .record(&outcome, target.published.has_snapshot(), now);
        }
        lease.attempt.finish(outcome);
    }
}

impl Inner {
    /// Marks the context-free snapshot hot for the TTL (less [`HOT_MARGIN`]), with a timer on
    /// the refresher that clears it. Without a timer (a TTL too short, no refresher), it stays
    /// cold and sync checks read the clock, as before.
    fn arm_hot(self: &Arc<Self>, target: &Arc<Target>) {
        if target.context.is_some() {
            return;
        }
        let Some(lifetime) = Duration::from_millis(self.refresher.ttl_ms).checked_sub(HOT_MARGIN)
        else {
            return;
        };
        let generation = target.published.generation();
        if generation == 0 || lifetime.is_zero() {
            return;
        }
        // Never starts the refresher (this runs under the flight's lock): without one running,
        // no timer, and checks read the clock.
        let Some(handle) = background::get() else {
            return;
        };
        let deadline = tokio::time::Instant::from_std(std::time::Instant::now() + lifetime);
        let watched = Arc::downgrade(target);
        let inner = Arc::downgrade(self);
        target.set_hot(generation);
        let timer = handle.spawn(
            async move {
                tokio::time::sleep_until(deadline).await;
                let (Some(target), Some(inner)) = (watched.upgrade(), inner.upgrade()) else {
                    return;
                };
                {
                    // Clearing early is always safe (checks then read the clock): no need to
                    // know whether a later refresh re-armed it.
                    let _flight = target.flight();
                    target.set_hot(0);
                }
                // On time, the refresh is not due yet: the next check starts it. Late (a sandbox
                // thawed after a freeze, a starved refresher), it is due, and sync checks may
                // have served the cached answer past the TTL meanwhile: start it now, not at
                // whichever check comes next (which may be the next invocation's).
                inner.refresh_in_background(&target);
            }
            .with_current_subscriber(),
        );
        let previous = target
            .hot_timer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(timer.abort_handle());
        if let Some(previous) = previous {
            previous.abort();
        }
    }
}

/// Keeps the flight from expiring (and checks from starting another) until it settles;
/// `false` if it was already taken over.
fn hold_flight(lease: &Lease) -> bool {
    let target = &lease.target;
    let mut flight = target.flight();
    match flight.as_mut().filter(|f| f.id == lease.id) {
        Some(ours) => {
            ours.expires_ms = u64::MAX;
            target.next_refresh_ms.store(u64::MAX, Ordering::Release);
            true
        }
        None => false,
    }
}

impl Attempt {
    fn finish(&self, outcome: Outcome) {
        let _ = self.outcome.set(outcome);
        self.release();
    }

    fn release(&self) {
        self.released.store(true, Ordering::Release);
        self.changed.notify_waiters();
    }

    async fn released(&self) {
        self.wait(|a| a.released.load(Ordering::Acquire)).await;
    }

    async fn outcome(&self) -> Outcome {
        self.wait(|a| a.outcome.get().is_some()).await;
        self.outcome
            .get()
            .cloned()
            .unwrap_or(Err(FetchError::Cancelled))
    }

    /// Waits on any executor (no timer, no runtime needed) until `done`.
    async fn wait(&self, done: impl Fn(&Self) -> bool) {
        loop {
            let mut notified = pin!(self.changed.notified());
            notified.as_mut().enable();
            if done(self) {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // The refresh's task ended without settling (a panic, a runtime gone).
        let lease = Lease {
            inner: Arc::clone(&self.inner),
            target: Arc::clone(&self.target),
            id: self.id,
            attempt: Arc::clone(&self.attempt),
            settled: true,
        };
        self.inner.settle(lease, Err(FetchError::Cancelled));
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::{background, Config, FlagSource};

    /// Each settled refresh arms a timer for the TTL; the previous one is aborted, so explicit
    /// refreshes under a long TTL do not pile up sleeping tasks on the refresher.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn explicit_refreshes_keep_one_timer() {
        let file = flag_agent::FlagsFile::new(&serde_json::json!({
            "version": "1",
            "flags": {"a": {"name": "a"}},
            "values": {"a": {"enabled": true}}
        }));
        let agent = flag_agent::Agent::new(file.path(), "app", "env", "profile")
            .start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let source = FlagSource::new(
            Config::builder()
                .application("app")
                .environment("env")
                .configuration("profile")
                .port(agent.addr().port())
                .ttl(Duration::from_secs(3600))
                .build()
                .unwrap(),
        )
        .unwrap();
        for _ in 0..50 {
            source.refresh().await.unwrap();
        }
        assert!(source.is_enabled_now("a"));
        let refresher = background::get().expect("the refresher runs");
        let started = Instant::now();
        let alive = loop {
            let alive = refresher.metrics().num_alive_tasks();
            if alive <= 3 || started.elapsed() > Duration::from_secs(5) {
                break alive;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(
            alive <= 3,
            "{alive} tasks alive on the refresher after 50 refreshes"
        );
    }
}
