//! The flag source: a lock-free snapshot cache in front of the agent, refreshed by one request
//! at a time and never at the expense of a reader.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::Notify;

use crate::client::AgentClient;
use crate::clock;
use crate::config::Config;
use crate::error::Error;
use crate::overrides;
use crate::snapshot::{Flag, Snapshot};

/// A source of feature flags: the AppConfig agent behind an in-process snapshot cache.
///
/// Cloning is cheap and every clone shares the cache. Most code uses the process-wide
/// [`default_source`](crate::default_source) (what `#[feature_flag]` consults); build your own
/// for a second configuration profile or in tests.
///
/// * A check on a fresh snapshot is a memory read: no I/O, no lock, no allocation.
/// * Once the snapshot is older than the TTL, the next check refreshes it: one request at a
///   time (single-flight), at most one per TTL window whatever happens, while every other
///   reader keeps the last-known-good snapshot.
/// * A fault of the agent never reaches the caller: last-known-good, else the flag is off.
///   Each fault streak is logged once (`warn`), and so is the recovery (`info`).
///
/// ```no_run
/// use flag_runtime::{Config, FlagSource};
///
/// # async fn demo() -> Result<(), flag_runtime::Error> {
/// let flags = FlagSource::new(Config::from_env()?)?;
/// if flags.is_enabled("newCheckout").await {
///     let limit: u32 = flags.flag("newCheckout").await.and_then(|f| f.attribute("limit")).unwrap_or(1);
///     println!("new checkout, limit {limit}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct FlagSource {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `Err` for a source built from an incomplete environment: every check is off.
    client: Result<AgentClient, Error>,
    ttl_ms: u64,
    timeout: Duration,
    current: ArcSwapOption<Snapshot>,
    /// Unique among all sources of the process (keys the per-thread snapshot cache).
    id: u64,
    /// Changes (to a value unique in the process) every time `current` is replaced; read
    /// before `current`, so a reader that sees a generation also sees its snapshot.
    generation: AtomicU64,
    /// [`clock::now_ms`] at which the next refresh is due (0: due now).
    next_refresh_ms: AtomicU64,
    /// 0 when no refresh runs; else the [`clock::now_ms`] after which a refresh that
    /// never finished (its task frozen, dropped or leaked) is presumed dead and replaced.
    lease_until_ms: AtomicU64,
    refreshed: Notify,
    health: Mutex<Health>,
}

#[derive(Debug, Default)]
struct Health {
    failure_streak: u64,
    last_error: Option<Error>,
    last_outcome: Option<RefreshOutcome>,
    last_success_ms: Option<u64>,
}

/// What the latest refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A new answer was parsed and published.
    Updated {
        /// Its `Configuration-Version`.
        version: Option<String>,
    },
    /// The agent answered with the configuration already held.
    Unchanged {
        /// Its `Configuration-Version`.
        version: Option<String>,
    },
    /// The refresh failed; the previous snapshot (if any) is still served.
    Failed(Error),
}

/// A point-in-time report of a [`FlagSource`], for logs, metrics and health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The configuration version being served, if any snapshot is held.
    pub version: Option<String>,
    /// Whether any snapshot is held (otherwise every flag is off).
    pub has_snapshot: bool,
    /// Time since the agent last answered successfully.
    pub age: Option<Duration>,
    /// What the latest refresh did.
    pub last_refresh: Option<RefreshOutcome>,
    /// The most recent error, even if a later refresh succeeded.
    pub last_error: Option<Error>,
    /// Consecutive failed refreshes (0 when healthy).
    pub failure_streak: u64,
}

impl FlagSource {
    /// A source for `config`. Nothing is fetched until the first check (or [`refresh`](Self::refresh)).
    pub fn new(config: Config) -> Result<Self, Error> {
        let client = AgentClient::new(&config)?;
        Ok(Self::with_client(Ok(client), &config))
    }

    /// A source configured from the environment. It never fails: with a setting missing,
    /// every check is off and the reason is logged once and reported by [`status`](Self::status).
    pub fn from_env() -> Self {
        match Config::from_env() {
            Ok(config) => match AgentClient::new(&config) {
                Ok(client) => Self::with_client(Ok(client), &config),
                Err(e) => Self::unconfigured(e),
            },
            Err(e) => Self::unconfigured(e),
        }
    }

    fn unconfigured(error: Error) -> Self {
        tracing::warn!(%error, "feature flags are not configured; every flag is off");
        let defaults = Config::builder()
            .without_env()
            .application("-")
            .environment("-")
            .configuration("-")
            .build()
            .expect("defaults are valid");
        let source = Self::with_client(Err(error.clone()), &defaults);
        source
            .inner
            .health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_error = Some(error);
        source
    }

    fn with_client(client: Result<AgentClient, Error>, config: &Config) -> Self {
        FlagSource {
            inner: Arc::new(Inner {
                client,
                ttl_ms: config.ttl().as_millis().try_into().unwrap_or(u64::MAX),
                timeout: config.timeout(),
                current: ArcSwapOption::empty(),
                id: NEXT_SOURCE_ID.fetch_add(1, Ordering::Relaxed),
                generation: AtomicU64::new(0),
                next_refresh_ms: AtomicU64::new(0),
                lease_until_ms: AtomicU64::new(0),
                refreshed: Notify::new(),
                health: Mutex::default(),
            }),
        }
    }

    /// Whether `flag` is on. Loads the flags on first use and refreshes them when stale,
    /// waiting at most the configured timeout; on any fault, last-known-good, else `false`.
    ///
    /// The check happens when this is called; the future only awaits a due refresh (a warm
    /// check's future is ready at once). Await it where it is created.
    pub fn is_enabled<'a>(&'a self, flag: &'a str) -> impl Future<Output = bool> + Send + 'a {
        self.check_async(flag, move |inner| inner.read(flag))
    }

    /// Whether `flag` is on, without ever waiting: the current snapshot is served, and a due
    /// refresh is started in the background when a tokio runtime is running on this thread.
    /// Before the first load completes, every flag is off.
    pub fn is_enabled_now(&self, flag: &str) -> bool {
        if let Some(forced) = overrides::enabled(flag) {
            return forced;
        }
        self.refresh_in_background();
        self.inner.read(flag)
    }

    /// The whole state of `flag` (attributes, variant), refreshed as [`is_enabled`](Self::is_enabled) does.
    /// `None` when the flag is unknown or nothing could be loaded.
    pub async fn flag(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.ensure_fresh().await;
        self.inner.read_flag(flag)
    }

    /// The whole state of `flag` without waiting, as [`is_enabled_now`](Self::is_enabled_now).
    pub fn flag_now(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.refresh_in_background();
        self.inner.read_flag(flag)
    }

    /// The attribute `attribute` of `flag` as a `T`: `None` when the flag is off or unknown,
    /// the attribute absent, or of another type.
    pub async fn attribute<T: serde::de::DeserializeOwned>(
        &self,
        flag: &str,
        attribute: &str,
    ) -> Option<T> {
        self.flag(flag).await?.attribute(attribute)
    }

    /// The current snapshot, refreshed first if due: every flag read from it comes from one
    /// configuration version. Test overrides do not apply to it.
    pub async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.ensure_fresh().await;
        self.inner.current.load_full()
    }

    /// The current snapshot without waiting (a due refresh starts in the background).
    pub fn snapshot_now(&self) -> Option<Arc<Snapshot>> {
        self.refresh_in_background();
        self.inner.current.load_full()
    }

    /// Asks the agent now, whatever the TTL says, and reports the outcome as a typed error.
    /// Use it at start-up to load the flags before the first request, or to surface faults.
    ///
    /// If a refresh is already running, waits for it (up to the timeout) and reports its outcome.
    pub async fn refresh(&self) -> Result<RefreshOutcome, Error> {
        let outcome = match self.inner.try_lease(true) {
            Some(lease) => self.inner.run_refresh(lease).await,
            None => {
                self.inner.wait_for_refresh().await;
                self.inner
                    .health()
                    .last_outcome
                    .clone()
                    .unwrap_or(RefreshOutcome::Failed(Error::Timeout {
                        after: self.inner.timeout,
                    }))
            }
        };
        match outcome {
            RefreshOutcome::Failed(e) => Err(e),
            ok => Ok(ok),
        }
    }

    /// The configuration version, last refresh outcome and fault streak.
    pub fn status(&self) -> Status {
        let snapshot = self.inner.current.load();
        let health = self.inner.health();
        Status {
            version: snapshot
                .as_ref()
                .and_then(|s| s.version().map(str::to_owned)),
            has_snapshot: snapshot.is_some(),
            age: health
                .last_success_ms
                .map(|at| Duration::from_millis(self.inner.now_ms().saturating_sub(at))),
            last_refresh: health.last_outcome.clone(),
            last_error: health.last_error.clone(),
            failure_streak: health.failure_streak,
        }
    }

    async fn ensure_fresh(&self) {
        if self.inner.is_due() {
            // Boxed: the refresh future (an HTTP request) is large, and every check's future
            // would otherwise carry its space and be initialised and moved with it. The box is
            // allocated only when a refresh is due, at most once per TTL window.
            Box::pin(self.inner.refresh_due()).await;
        }
    }

    /// The gate check of a `#[feature_flag]` call site: [`is_enabled_now`](Self::is_enabled_now)
    /// with the answer cached in the site until the snapshot changes.
    #[inline]
    pub(crate) fn is_enabled_now_at(&self, site: &Site) -> bool {
        if let Some(forced) = overrides::enabled(site.flag) {
            return forced;
        }
        self.refresh_in_background();
        self.inner.read_at(site)
    }

    /// The async gate check of a `#[feature_flag]` call site (decided when called, like
    /// [`is_enabled`](Self::is_enabled)).
    #[inline]
    pub(crate) fn is_enabled_at<'a>(
        &'a self,
        site: &'a Site,
    ) -> impl Future<Output = bool> + Send + 'a {
        self.check_async(site.flag, move |inner| inner.read_at(site))
    }

    /// The async check: decided when called, not when first polled, so a warm check's future
    /// holds only its answer and polling it is free; only a due refresh is awaited.
    #[inline]
    fn check_async<'a>(
        &'a self,
        flag: &'a str,
        read: impl Fn(&Inner) -> bool + Send + 'a,
    ) -> impl Future<Output = bool> + Send + 'a {
        let now = match overrides::enabled(flag) {
            Some(forced) => Some(forced),
            None if self.inner.serve_now() => Some(read(&self.inner)),
            None => None,
        };
        async move {
            match now {
                Some(answer) => answer,
                None => {
                    self.ensure_fresh().await;
                    read(&self.inner)
                }
            }
        }
    }

    fn refresh_in_background(&self) {
        if !self.inner.is_due() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Some(lease) = self.inner.try_lease(false) {
            let inner = Arc::clone(&self.inner);
            drop(handle.spawn(async move {
                inner.run_refresh(lease).await;
            }));
        }
    }
}

static NEXT_SOURCE_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// Sources a thread keeps a snapshot of, at most (the oldest entry is evicted beyond).
const SEEN_PER_THREAD: usize = 8;

/// A `#[feature_flag]` call site of the default source: the flag it checks and its last answer,
/// tagged with the snapshot generation it came from. Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    flag: &'static str,
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
}

/// A thread's view of a source's current snapshot, valid while the source's generation is the
/// one recorded: a warm check then touches no shared reference count and no arc-swap slot.
struct Seen {
    source: u64,
    generation: u64,
    snapshot: Option<Arc<Snapshot>>,
}

thread_local! {
    static SEEN: RefCell<Vec<Seen>> = const { RefCell::new(Vec::new()) };
}

impl Inner {
    #[inline]
    fn now_ms(&self) -> u64 {
        clock::now_ms()
    }

    /// Runs `f` on the current snapshot, from this thread's cache when it is still current.
    #[inline]
    fn with_snapshot<R>(&self, f: impl FnOnce(Option<&Snapshot>) -> R) -> R {
        let mut f = Some(f);
        let generation = self.generation.load(Ordering::Acquire);
        let cached = SEEN.try_with(|seen| {
            // Re-entered (a `tracing` subscriber checking a flag): use the shared path.
            let mut seen = seen.try_borrow_mut().ok()?;
            let index = match seen.iter().position(|s| s.source == self.id) {
                Some(index) => index,
                None => {
                    if seen.len() >= SEEN_PER_THREAD {
                        seen.remove(0);
                    }
                    seen.push(Seen {
                        source: self.id,
                        generation: u64::MAX,
                        snapshot: None,
                    });
                    seen.len() - 1
                }
            };
            let entry = &mut seen[index];
            if entry.generation != generation {
                entry.snapshot = self.current.load_full();
                entry.generation = generation;
            }
            let f = f.take().expect("called once");
            Some(f(entry.snapshot.as_deref()))
        });
        match cached {
            Ok(Some(result)) => result,
            _ => {
                let f = f.take().expect("not called yet");
                f(self.current.load().as_deref())
            }
        }
    }

    /// Whether an async check can answer without awaiting anything: nothing is due, or a
    /// refresh is already running and there is a snapshot to serve meanwhile.
    #[inline]
    fn serve_now(&self) -> bool {
        !self.is_due()
            || (self.generation.load(Ordering::Relaxed) != 0
                && self.lease_until_ms.load(Ordering::Relaxed) > self.now_ms())
    }

    #[inline]
    fn is_due(&self) -> bool {
        self.now_ms() >= self.next_refresh_ms.load(Ordering::Acquire)
    }

    #[inline]
    fn read(&self, flag: &str) -> bool {
        self.with_snapshot(|snapshot| snapshot.is_some_and(|s| s.check(flag)))
    }

    /// A site remembers the answer it read and the generation it read it from.
    #[inline]
    fn read_at(&self, site: &Site) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        let state = site.state.load(Ordering::Relaxed);
        if generation != 0 && state >> 1 == generation {
            return state & 1 == 1;
        }
        let enabled = self.read(site.flag);
        site.state
            .store(generation << 1 | u64::from(enabled), Ordering::Relaxed);
        enabled
    }

    fn read_flag(&self, flag: &str) -> Option<Flag> {
        self.with_snapshot(|snapshot| {
            let snapshot = snapshot?;
            let found = snapshot.flag(flag).cloned();
            if found.is_none() {
                snapshot.log_missing(flag);
            }
            found
        })
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the single-flight lease if it is free (or its holder is presumed dead).
    /// `force`: for an explicit [`FlagSource::refresh`]; otherwise the lease is only kept if a
    /// refresh is still due once it is won (the previous holder may have just finished).
    fn try_lease(self: &Arc<Self>, force: bool) -> Option<Lease> {
        let now = self.now_ms();
        let held = self.lease_until_ms.load(Ordering::Acquire);
        if held != 0 && held > now {
            return None;
        }
        // A live refresh ends within `timeout`; twice that (plus a margin) means its task was
        // frozen, dropped without unwinding, or leaked.
        let timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let until = now
            .saturating_add(timeout_ms.saturating_mul(2))
            .saturating_add(100);
        self.lease_until_ms
            .compare_exchange(held, until, Ordering::AcqRel, Ordering::Relaxed)
            .ok()?;
        let lease = Lease {
            inner: Arc::clone(self),
            until,
            settled: false,
        };
        if !force && !self.is_due() {
            lease.abandon();
            return None;
        }
        Some(lease)
    }

    /// Called by a check that found the snapshot due.
    async fn refresh_due(self: &Arc<Self>) {
        match self.try_lease(false) {
            Some(lease) => {
                self.run_refresh(lease).await;
            }
            // Someone else is refreshing: with a snapshot to serve, serve it now; with nothing
            // yet, wait (bounded) for that first load rather than answer "off" needlessly.
            None if self.current.load().is_none() => self.wait_for_refresh().await,
            None => {}
        }
    }

    async fn wait_for_refresh(&self) {
        let mut notified = pin!(self.refreshed.notified());
        notified.as_mut().enable();
        if self.lease_until_ms.load(Ordering::Acquire) == 0
            || tokio::runtime::Handle::try_current().is_err()
        {
            return;
        }
        let _ = tokio::time::timeout(self.timeout, notified).await;
    }

    async fn run_refresh(&self, mut lease: Lease) -> RefreshOutcome {
        let fetched = match &self.client {
            // The HTTP client and its timeout need a tokio runtime (with IO and time).
            Ok(_) if tokio::runtime::Handle::try_current().is_err() => Err(Error::NoRuntime),
            Ok(client) => client.fetch().await,
            Err(e) => Err(e.clone()),
        };
        // A freeze that outlasted the lease let a newer refresh take over: this answer may be
        // older than what that one publishes, so it is dropped, not published or recorded.
        if !lease.is_current() {
            lease.settled = true;
            return RefreshOutcome::Failed(Error::Cancelled);
        }
        let outcome = match fetched {
            Ok(answer) => self.publish(&answer.body, answer.version.as_deref()),
            Err(e) => RefreshOutcome::Failed(e),
        };
        self.record(&outcome);
        lease.settled = true;
        drop(lease);
        outcome
    }

    fn publish(&self, body: &[u8], version: Option<&str>) -> RefreshOutcome {
        let current = self.current.load();
        if let Some(current) = current.as_ref().filter(|c| c.same_answer(body, version)) {
            return RefreshOutcome::Unchanged {
                version: current.version().map(str::to_owned),
            };
        }
        match Snapshot::parse(body, version) {
            Ok(snapshot) => {
                let previous = current
                    .as_ref()
                    .and_then(|c| c.version().map(str::to_owned));
                tracing::info!(
                    version = snapshot.version(),
                    previous = previous.as_deref(),
                    flags = snapshot.len(),
                    "feature flags loaded"
                );
                self.current.store(Some(Arc::new(snapshot)));
                self.generation.store(
                    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
                    Ordering::Release,
                );
                RefreshOutcome::Updated {
                    version: version.map(str::to_owned),
                }
            }
            Err(e) => RefreshOutcome::Failed(e),
        }
    }

    fn record(&self, outcome: &RefreshOutcome) {
        let now = self.now_ms();
        // At most one agent request per TTL window, failed or not: a dead agent is not
        // hammered, and a flapping one costs no more than a healthy one.
        self.next_refresh_ms
            .store(now.saturating_add(self.ttl_ms), Ordering::Release);
        let serving = if self.current.load().is_some() {
            "last-known-good flags"
        } else {
            "no flags (every flag is off)"
        };
        // Decide under the lock, log after it: a `tracing` layer may itself call `status()`.
        let streak_before = {
            let mut health = self.health();
            let before = health.failure_streak;
            match outcome {
                RefreshOutcome::Failed(error) => {
                    health.failure_streak += 1;
                    health.last_error = Some(error.clone());
                }
                RefreshOutcome::Updated { .. } | RefreshOutcome::Unchanged { .. } => {
                    health.failure_streak = 0;
                    health.last_success_ms = Some(now);
                }
            }
            health.last_outcome = Some(outcome.clone());
            before
        };
        match outcome {
            RefreshOutcome::Failed(error) if streak_before == 0 => tracing::warn!(
                %error,
                kind = error.kind(),
                serving,
                "AppConfig agent refresh failed; logged once until it recovers"
            ),
            RefreshOutcome::Failed(error) => tracing::debug!(
                %error,
                streak = streak_before + 1,
                "AppConfig agent refresh failed again"
            ),
            RefreshOutcome::Updated { version } | RefreshOutcome::Unchanged { version }
                if streak_before > 0 =>
            {
                tracing::info!(
                    failures = streak_before,
                    version = version.as_deref(),
                    "AppConfig agent recovered"
                );
            }
            _ => {}
        }
    }
}

/// The right to refresh. Released when dropped, also when the refreshing future is cancelled
/// (its task aborted, its runtime shut down): a cut refresh never blocks the next one, and is
/// recorded as a failed refresh (so the next is due a TTL later, not on the very next check).
struct Lease {
    inner: Arc<Inner>,
    until: u64,
    /// Whether the outcome was recorded (or deliberately not): otherwise the drop records a
    /// cancellation.
    settled: bool,
}

impl Lease {
    /// Whether this lease is still the one in force (not expired and taken over).
    fn is_current(&self) -> bool {
        self.inner.lease_until_ms.load(Ordering::Acquire) == self.until
    }

    /// Gives the lease back unused.
    fn abandon(mut self) {
        self.settled = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Only release our own lease: a presumed-dead holder that wakes up late must not
        // release its successor's, nor wake its successor's waiters.
        let released = self
            .inner
            .lease_until_ms
            .compare_exchange(self.until, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if !released {
            return;
        }
        if !self.settled {
            self.inner.record(&RefreshOutcome::Failed(Error::Cancelled));
        }
        self.inner.refreshed.notify_waiters();
    }
}
