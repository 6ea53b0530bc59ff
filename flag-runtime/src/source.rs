//! The public face of a source: [`FlagSource`] and its checks, [`TargetedSource`] (the checks for an
//! explicit context), the process-wide default source, and invocation scopes ([`scope`],
//! [`Scope`]).

use std::future::Future;
use std::sync::{Arc, OnceLock};

use crate::check::{self, Check};
use crate::clock;
use crate::config::Config;
use crate::context::Context;
use crate::error::{ConfigError, FetchError};
use crate::health::{Health, Refreshed, Status};
use crate::overrides;
use crate::pins;
use crate::refresh::{self, Refresher, Target};
use crate::served::Served;
use crate::shared::Shared;
use crate::snapshot::{Flag, Snapshot};

static DEFAULT: OnceLock<FlagSource> = OnceLock::new();

/// The process-wide flag source that `#[feature_flag]` functions and `flags!` statics consult.
///
/// Configured from the environment on first use (see the [crate docs](crate#configuration)),
/// unless [`install_default`] set one before.
#[inline]
pub fn default_source() -> &'static FlagSource {
    match DEFAULT.get() {
        Some(source) => source,
        None => init_default(),
    }
}

#[cold]
fn init_default() -> &'static FlagSource {
    let mut built = false;
    let source = DEFAULT.get_or_init(|| {
        built = true;
        FlagSource::from_env_unlogged()
    });
    // Logged once the default is set: a subscriber checking a flag while it handles this event
    // finds the default there, instead of re-entering its initialisation (a deadlock).
    if built {
        source.health().log_unconfigured();
    }
    source
}

/// Makes `source` the process-wide default. Call it once, at start-up, before the first check:
/// once the default is set (installed, or configured from the environment by a first check) it
/// gives `source` back as the error, as [`OnceLock::set`](std::sync::OnceLock::set) does, and
/// leaves the default as it was.
///
/// ```no_run
/// use std::time::Duration;
/// use flag_runtime::{Config, FlagSource};
///
/// # fn main() -> Result<(), flag_runtime::ConfigError> {
/// let config = Config::builder()
///     .ttl(Duration::from_secs(30))
///     .with_env()
///     .build()?;
/// if flag_runtime::install_default(FlagSource::new(config)?).is_err() {
///     eprintln!("the default flag source was already set; keeping it");
/// }
/// # Ok(()) }
/// ```
pub fn install_default(source: FlagSource) -> Result<(), FlagSource> {
    DEFAULT.set(source)
}

/// Runs `future` as an invocation scope of the [default source](default_source) for `context`
/// (possibly empty): see [`FlagSource::scope`].
///
/// ```no_run
/// use flag_runtime::Context;
///
/// # async fn handle(tier: &str) -> bool {
/// let context = Context::new().with("tier", tier);
/// flag_runtime::scope(context, async {
///     // Every check in here reads one configuration version, for `context`.
///     flag_runtime::default_source().is_enabled("discountBanner").await
/// })
/// .await
/// # }
/// ```
pub fn scope<F: Future>(context: impl Into<Context>, future: F) -> impl Future<Output = F::Output> {
    default_source().scope(context, future)
}

/// A source of feature flags: the AppConfig agent behind an in-process snapshot cache.
///
/// Cloning is cheap and every clone shares the cache. Most code uses the process-wide
/// [`default_source`](crate::default_source) (what `#[feature_flag]` consults); build your own
/// for a second configuration profile or in tests.
///
/// * A check on a fresh snapshot is a memory read: no I/O, no lock, no allocation.
/// * Once the snapshot is older than the TTL, the next check refreshes it: one request at a
///   time (single-flight), at most one per TTL window whatever happens, while every other
///   reader keeps the last-known-good snapshot. Refreshes run on a background thread of the
///   crate's own, so checks work the same from async code, sync code and any host runtime.
/// * A fault of the agent never reaches the caller: last-known-good, else the flag is off
///   ([`flag`](Self::flag) is `None`, for a default of the caller's: `flag(name).await
///   .is_none_or(|f| f.is_enabled())` keeps a kill switch on). Each fault streak is logged once
///   (`warn`), and so is the recovery (`info`).
/// * Futures do nothing until polled, like any Rust future.
///
/// ```no_run
/// use flag_runtime::{Config, FlagSource};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let flags = FlagSource::new(Config::from_env()?)?;
/// if flags.is_enabled("newCheckout").await {
///     let limit: u32 = flags.attribute("newCheckout", "limit").await.unwrap_or(1);
///     println!("new checkout, limit {limit}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct FlagSource {
    pub(crate) shared: Arc<Shared>,
}

impl FlagSource {
    /// A source for `config`. Nothing is fetched until the first check (or [`refresh`](Self::refresh)).
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Ok(Self::with(Refresher::new(&config)?, config.max_contexts()))
    }

    /// A source configured from the environment ([`Config::from_env`]). It never fails: with a
    /// setting missing or invalid, every check is off (or its caller default), the agent is
    /// never asked, and the reason is logged once and reported by [`status`](Self::status).
    pub fn from_env() -> Self {
        let source = Self::from_env_unlogged();
        source.health().log_unconfigured();
        source
    }

    /// [`from_env`](Self::from_env) without its log line, for [`default_source`].
    fn from_env_unlogged() -> Self {
        match Config::from_env().and_then(|config| Ok((Refresher::new(&config)?, config))) {
            Ok((refresher, config)) => Self::with(refresher, config.max_contexts()),
            Err(error) => Self::with(Refresher::unconfigured(error), Config::DEFAULT_MAX_CONTEXTS),
        }
    }

    fn with(refresher: Refresher, max_contexts: usize) -> Self {
        FlagSource {
            shared: Arc::new(Shared::new(refresher, max_contexts)),
        }
    }

    pub(crate) fn health(&self) -> &Health {
        &self.shared.refresher.health
    }

    /// Runs `future` as an *invocation scope* of this source for `context` (possibly empty),
    /// and returns its output.
    ///
    /// On entry the scope refreshes what is due, the context-free answer and `context`'s,
    /// waiting at most the timeout (last-known-good, else nothing, when the agent fails), then
    /// pins both for the scope: every check of this source inside, of every form and sync or
    /// async, reads the pinned answers, with no clock read and no request. So a scope sees
    /// one configuration version from start to end, and checks without an explicit context
    /// are evaluated for `context`. An explicit context ([`with_context`](Self::with_context),
    /// `#[feature_flag(.., context = ..)]`) still wins: its answer is fetched at its first
    /// check in the scope and pinned for the rest of it. [`Overrides`](crate::Overrides) win
    /// over the pins.
    ///
    /// A scope belongs to the task that runs it: concurrent scopes keep their own pins, and a
    /// task spawned inside is outside it unless [carried](crate::Scope). A scope nested in a
    /// scope of the same source (one per record of a batch) has its own context and keeps the
    /// outer context-free pin. Checks of another source inside a scope are not affected by it.
    ///
    /// For a Lambda function, [`lambda::FlagsLayer`](crate::lambda::FlagsLayer) makes every
    /// invocation a scope.
    pub fn scope<F: Future>(
        &self,
        context: impl Into<Context>,
        future: F,
    ) -> impl Future<Output = F::Output> {
        let context = context.into();
        if context.entity_id().is_none() {
            if let Ok(client) = &self.shared.refresher.client {
                client.warn_anonymous();
            }
        }
        pins::run(Arc::clone(&self.shared), context, future)
    }

    /// Names flags under an AppConfig experiment (`flags!` generates `flags::experiments()` from
    /// `experiments.json`): for a context with an Entity-Id, each answer then also asks the
    /// agent for these flags by name (`?flag=`), which is how the agent serves an entity its
    /// treatment ([`Flag::assignment`](crate::Flag::assignment)). Without it, or without an
    /// Entity-Id, a flag under experiment is served its deployed value. Adding is cumulative
    /// and takes effect at each context's next refresh;
    /// [`FlagsLayer::experiments`](crate::lambda::FlagsLayer::experiments) does it for a
    /// Lambda function.
    ///
    /// ```no_run
    /// let flags = flag_runtime::default_source();
    /// flags.add_experiments(["checkoutButton"]);
    /// ```
    pub fn add_experiments<'a>(&self, flags: impl IntoIterator<Item = &'a str>) {
        if let Ok(client) = &self.shared.refresher.client {
            client.add_experiments(flags);
        }
    }

    /// Checks for one request's evaluation context: the same checks, answered by the agent for
    /// that context (multi-variant flags pick their variant by its rules).
    ///
    /// Each distinct context is asked for once per TTL window and its answer cached (at most
    /// [`ConfigBuilder::max_contexts`](crate::ConfigBuilder::max_contexts) contexts, least
    /// recently used out), with the same failure policy: last-known-good for that context, else
    /// the context-free answer, else off. A context that cannot be sent
    /// ([`Context::validate`]) is served the context-free answer, and logged (at most once a
    /// minute).
    ///
    /// ```no_run
    /// use flag_runtime::Context;
    ///
    /// # async fn handle(tier: &str, customer_id: u64) {
    /// let flags = flag_runtime::default_source();
    /// let context = Context::new().with("tier", tier).with("customerId", customer_id);
    /// let targeted = flags.with_context(&context);
    /// if targeted.is_enabled("discount").await {
    ///     let variant = targeted.flag("discount").await.and_then(|f| f.variant().map(str::to_owned));
    ///     let percentage: f64 = targeted.attribute("discount", "percentage").await.unwrap_or(0.0);
    /// }
    /// # }
    /// ```
    pub fn with_context<'a>(&'a self, context: &'a Context) -> TargetedSource<'a> {
        TargetedSource {
            source: self,
            context,
        }
    }

    /// How many evaluation contexts have a cached answer.
    pub fn cached_contexts(&self) -> usize {
        self.shared.contexts.len()
    }

    /// Whether `flag` is on. Loads the flags on first use and refreshes them when stale,
    /// waiting at most the configured timeout; on any fault, last-known-good, else `false`.
    /// In a [scope](Self::scope), the scope's answer for its context.
    pub fn is_enabled<'a>(&'a self, flag: &'a str) -> impl Future<Output = bool> + Send + 'a {
        Check::new(&self.shared, flag, None)
    }

    /// Whether `flag` is on, without ever waiting: outside a scope the current snapshot is
    /// served, and a due refresh starts in the background (before the first load completes,
    /// every flag is off).
    pub fn is_enabled_now(&self, flag: &str) -> bool {
        check::enabled_now(&self.shared, flag, None)
    }

    /// The whole state of `flag` (attributes, variant), refreshed as [`is_enabled`](Self::is_enabled)
    /// is. `None` when the flag is unknown or nothing could be loaded.
    pub async fn flag(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.shared
            .flag(self.read_fresh(Some(flag)).await.snapshot(), flag)
    }

    /// The whole state of `flag` without waiting, as [`is_enabled_now`](Self::is_enabled_now).
    pub fn flag_now(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.shared.flag(self.read_now(Some(flag)).snapshot(), flag)
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

    /// The attribute `attribute` of `flag` without waiting, as [`flag_now`](Self::flag_now).
    pub fn attribute_now<T: serde::de::DeserializeOwned>(
        &self,
        flag: &str,
        attribute: &str,
    ) -> Option<T> {
        self.flag_now(flag)?.attribute(attribute)
    }

    /// The current snapshot, refreshed first if due (in a scope: the scope's): every flag read
    /// from it comes from one configuration version. Active [`Overrides`](crate::Overrides)
    /// are laid over it.
    pub async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        overrides::overlay(self.read_fresh(None).await.shared().cloned())
    }

    /// The current snapshot without waiting (a due refresh starts in the background), with
    /// active [`Overrides`](crate::Overrides) laid over it.
    pub fn snapshot_now(&self) -> Option<Arc<Snapshot>> {
        overrides::overlay(self.read_now(None).shared().cloned())
    }

    /// What the checks without an explicit context read, refreshed first when due (bounded):
    /// the pins of a scope of this source around the caller, else the context-free answer. The
    /// reads of [`TargetedSource`] have the same shape, for their context.
    /// `flag`, when one flag is read, is exposed if it is under experiment.
    async fn read_fresh(&self, flag: Option<&str>) -> Served {
        if let Some(pinned) = pins::pinned(&self.shared, |pins| pins.served_for(flag)) {
            return pinned;
        }
        self.shared.fresh(&self.shared.base).await;
        self.shared.served_base()
    }

    /// [`read_fresh`](Self::read_fresh) without waiting: a due refresh starts in the background.
    fn read_now(&self, flag: Option<&str>) -> Served {
        if let Some(pinned) = pins::pinned(&self.shared, |pins| pins.served_for(flag)) {
            return pinned;
        }
        self.shared.refresh_if_due(&self.shared.base);
        self.shared.served_base()
    }

    /// Asks the agent now, whatever the TTL says, and reports what this very request did.
    ///
    /// A refresh already running is waited for first (its outcome is not this call's). The wait
    /// for the answer is bounded by the timeout; parsing a new answer follows it. A scope
    /// running meanwhile keeps its pins. Use it at start-up to load the flags before the first
    /// request and to fail loudly if the agent is not there:
    ///
    /// ```no_run
    /// # async fn init() -> Result<(), flag_runtime::FetchError> {
    /// let refreshed = flag_runtime::default_source().refresh().await?;
    /// println!("flags version {:?}", refreshed.version());
    /// # Ok(()) }
    /// ```
    pub async fn refresh(&self) -> Result<Refreshed, FetchError> {
        if let Some(error) = self.shared.refresher.unusable() {
            return Err(FetchError::Unconfigured(error.clone()));
        }
        refresh::refresh_now(&self.shared.refresher, &self.shared.base).await
    }

    /// A point-in-time report of the context-free answer: version served, age, the latest
    /// outcome and error.
    pub fn status(&self) -> Status {
        let current = self.shared.base.snapshot();
        self.health().status(
            current
                .as_ref()
                .and_then(|s| s.version().map(str::to_owned)),
            current.is_some(),
            clock::now_ms(),
        )
    }
}

/// The invocation scope the current task runs in: its context and the answers it pinned.
///
/// A scope is carried by the task that runs it, not by the threads it runs on: a task spawned
/// inside a scope is outside it unless you carry the scope into it.
///
/// ```no_run
/// # async fn handler() {
/// // Inside a scope: carry it into a spawned task, so that its checks read the same answers.
/// let scope = flag_runtime::Scope::current();
/// tokio::spawn(async move {
///     let work = async { flag_runtime::default_source().is_enabled("newCheckout").await };
///     match scope {
///         Some(scope) => scope.run(work).await,
///         None => work.await,
///     }
/// });
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Scope {
    pins: Arc<pins::Pins>,
}

impl Scope {
    /// The scope the current task runs in, if any.
    pub fn current() -> Option<Scope> {
        pins::current().map(|pins| Scope { pins })
    }

    /// The scope's evaluation context: what its checks without an explicit context are
    /// evaluated for.
    pub fn context(&self) -> &Context {
        self.pins.context()
    }

    /// Runs `future` in this scope (with its answers, no refresh): for a task spawned from
    /// inside a scope.
    pub fn run<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        pins::run_in(self.pins, future)
    }

    /// Runs `f` in this scope: for sync work moved to another thread
    /// (`tokio::task::spawn_blocking`, `std::thread::spawn`).
    pub fn run_sync<R>(self, f: impl FnOnce() -> R) -> R {
        pins::run_sync_in(self.pins, f)
    }
}

/// The checks of a [`FlagSource`] for one evaluation [`Context`]; see
/// [`FlagSource::with_context`]. Every check form is here, with the same meaning.
#[derive(Debug, Clone, Copy)]
pub struct TargetedSource<'a> {
    pub(crate) source: &'a FlagSource,
    pub(crate) context: &'a Context,
}

impl TargetedSource<'_> {
    fn target(&self) -> Arc<Target> {
        self.source.shared.context_target(self.context)
    }

    /// What this context's checks read, refreshed first when due (bounded); in a scope, its
    /// pin, made at the first check. No overrides.
    async fn read_fresh(&self) -> Served {
        let shared = &self.source.shared;
        let target = self.target();
        if let Some(Some(pinned)) = pins::pinned(shared, |pins| pins.lookup(self.context, &target))
        {
            return pinned;
        }
        shared.fresh(&target).await;
        pins::pinned(shared, |pins| {
            pins.pin(self.context, &target, || shared.served_own(&target))
        })
        .unwrap_or_else(|| shared.served(&target))
    }

    /// [`read_fresh`](Self::read_fresh) without waiting: a due refresh starts in the background.
    fn read_now(&self) -> Served {
        let shared = &self.source.shared;
        let target = self.target();
        pins::pinned(shared, |pins| {
            pins.pin(self.context, &target, || {
                shared.refresh_if_due(&target);
                shared.served_own(&target)
            })
        })
        .unwrap_or_else(|| {
            shared.refresh_if_due(&target);
            shared.served(&target)
        })
    }

    fn enabled_in(&self, served: &Served, flag: &str) -> bool {
        let snapshot = served.snapshot();
        self.source.shared.enabled(snapshot, flag)
    }

    fn flag_in(&self, served: &Served, flag: &str) -> Option<Flag> {
        let snapshot = served.snapshot();
        self.source.shared.flag(snapshot, flag)
    }

    /// Whether `flag` is on for this context (see [`FlagSource::is_enabled`]).
    pub async fn is_enabled(&self, flag: &str) -> bool {
        if let Some(forced) = overrides::enabled(flag) {
            return forced;
        }
        self.enabled_in(&self.read_fresh().await, flag)
    }

    /// Whether `flag` is on for this context, without waiting (see [`FlagSource::is_enabled_now`]):
    /// a context seen for the first time is answered context-free while its answer loads.
    pub fn is_enabled_now(&self, flag: &str) -> bool {
        if let Some(forced) = overrides::enabled(flag) {
            return forced;
        }
        self.enabled_in(&self.read_now(), flag)
    }

    /// The whole state of `flag` for this context: attributes and, for a multi-variant flag,
    /// [`Flag::variant`].
    pub async fn flag(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.flag_in(&self.read_fresh().await, flag)
    }

    /// [`flag`](Self::flag) without waiting.
    pub fn flag_now(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.flag_in(&self.read_now(), flag)
    }

    /// The attribute `attribute` of `flag` for this context, as a `T`.
    pub async fn attribute<T: serde::de::DeserializeOwned>(
        &self,
        flag: &str,
        attribute: &str,
    ) -> Option<T> {
        self.flag(flag).await?.attribute(attribute)
    }

    /// [`attribute`](Self::attribute) without waiting.
    pub fn attribute_now<T: serde::de::DeserializeOwned>(
        &self,
        flag: &str,
        attribute: &str,
    ) -> Option<T> {
        self.flag_now(flag)?.attribute(attribute)
    }

    /// Every flag for this context, from one configuration version, with active
    /// [`Overrides`](crate::Overrides) laid over it.
    pub async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        overrides::overlay(self.read_fresh().await.shared().cloned())
    }

    /// [`snapshot`](Self::snapshot) without waiting.
    pub fn snapshot_now(&self) -> Option<Arc<Snapshot>> {
        overrides::overlay(self.read_now().shared().cloned())
    }

    /// The answer this context's checks read, with its origin: refreshed first when due, as
    /// [`flag`](Self::flag) is (a first load is waited for, bounded by the timeout). Active
    /// [`Overrides`](crate::Overrides) are laid over it.
    ///
    /// ```no_run
    /// use flag_runtime::{Context, Served};
    ///
    /// # async fn demo(flags: &flag_runtime::FlagSource) {
    /// let context = Context::new().with("tier", "gold");
    /// match flags.with_context(&context).served().await {
    ///     Served::Context { snapshot, .. } => println!("{} flags for this context", snapshot.len()),
    ///     Served::ContextFree { .. } => println!("context-free flags (fallback)"),
    ///     Served::Nothing => println!("no flags loaded"),
    ///     _ => {}
    /// }
    /// # }
    /// ```
    pub async fn served(&self) -> Served {
        overlaid(self.read_fresh().await)
    }

    /// [`served`](Self::served) without waiting: a due refresh starts in the background.
    pub fn served_now(&self) -> Served {
        overlaid(self.read_now())
    }

    /// Asks the agent for this context now (see [`FlagSource::refresh`]).
    pub async fn refresh(&self) -> Result<Refreshed, FetchError> {
        let shared = &self.source.shared;
        if let Some(error) = shared.refresher.unusable() {
            return Err(FetchError::Unconfigured(error.clone()));
        }
        self.context
            .validate()
            .map_err(FetchError::InvalidContext)?;
        refresh::refresh_now(&shared.refresher, &self.target()).await
    }
}

/// `served` with the active overrides laid over its snapshot; the origin is kept.
fn overlaid(served: Served) -> Served {
    match served {
        Served::Context { snapshot, stale } => match overrides::overlay(Some(snapshot)) {
            Some(snapshot) => Served::Context { snapshot, stale },
            None => Served::Nothing,
        },
        Served::ContextFree { snapshot, stale } => match overrides::overlay(Some(snapshot)) {
            Some(snapshot) => Served::ContextFree { snapshot, stale },
            None => Served::Nothing,
        },
        Served::Nothing => match overrides::overlay(None) {
            Some(snapshot) => Served::ContextFree {
                snapshot,
                stale: false,
            },
            None => Served::Nothing,
        },
    }
}
