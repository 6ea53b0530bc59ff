//! The flag source: the public face of a published snapshot, its refresher and its health.

use std::future::Future;
use std::sync::Arc;

use std::num::NonZeroUsize;

use crate::check::Check;
use crate::clock;
use crate::config::{Config, DEFAULT_MAX_CONTEXTS};
use crate::context::Context;
use crate::contexts::Contexts;
use crate::error::{ConfigError, FetchError};
use crate::health::{Health, Refreshed, Status};
use crate::overrides;
use crate::refresh::{Refresher, Target};
use crate::site::Site;
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
///   reader keeps the last-known-good snapshot. Refreshes run on a background thread of the
///   crate's own, so checks work the same from async code, sync code and any host runtime.
/// * A fault of the agent never reaches the caller: last-known-good, else the flag is off (or
///   the caller's default, with [`is_enabled_or`](Self::is_enabled_or)). Each fault streak is
///   logged once (`warn`), and so is the recovery (`info`).
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
    pub(crate) inner: Arc<Inner>,
}

/// What a source and its clones share.
#[derive(Debug)]
pub(crate) struct Inner {
    /// The context-free answer: what plain checks and `#[feature_flag]` read.
    pub(crate) base: Arc<Target>,
    pub(crate) refresher: Refresher,
    pub(crate) contexts: Contexts,
    pub(crate) health: Health,
}

impl FlagSource {
    /// A source for `config`. Nothing is fetched until the first check (or [`refresh`](Self::refresh)).
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Ok(Self::with(
            Refresher::new(&config)?,
            Health::default(),
            config.max_contexts(),
        ))
    }

    /// A source configured from the environment ([`Config::from_env`]). It never fails: with a
    /// setting missing or invalid, every check is off (or its caller default), the agent is
    /// never asked, and the reason is logged once and reported by [`status`](Self::status).
    pub fn from_env() -> Self {
        let source = Self::from_env_unlogged();
        source.inner.health.log_unconfigured();
        source
    }

    /// [`from_env`](Self::from_env) without its log line, for [`default_source`](crate::default_source).
    pub(crate) fn from_env_unlogged() -> Self {
        match Config::from_env().and_then(|config| Ok((Refresher::new(&config)?, config))) {
            Ok((refresher, config)) => {
                Self::with(refresher, Health::default(), config.max_contexts())
            }
            Err(error) => Self::with(
                Refresher::unconfigured(error.clone()),
                Health::unconfigured(FetchError::Unconfigured(error)),
                DEFAULT_MAX_CONTEXTS,
            ),
        }
    }

    fn with(refresher: Refresher, health: Health, max_contexts: usize) -> Self {
        FlagSource {
            inner: Arc::new(Inner {
                base: Arc::new(refresher.target(None)),
                refresher,
                contexts: Contexts::new(
                    NonZeroUsize::new(max_contexts).unwrap_or(NonZeroUsize::MIN),
                ),
                health,
            }),
        }
    }

    /// Checks for one request's evaluation context: the same checks, answered by the agent for
    /// that context (multi-variant flags pick their variant by its rules).
    ///
    /// Each distinct context is asked for once per TTL window and its answer cached (at most
    /// [`ConfigBuilder::max_contexts`](crate::ConfigBuilder::max_contexts) contexts, least
    /// recently used out), with the same failure policy: last-known-good for that context, else
    /// the context-free answer, else off. A context that cannot be sent
    /// ([`Context::validate`]) is served the context-free answer, and logged once.
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
    pub fn with_context<'a>(&'a self, context: &'a Context) -> Targeted<'a> {
        Targeted {
            source: self,
            context,
        }
    }

    pub(crate) fn inner_health(&self) -> &Health {
        &self.inner.health
    }

    /// How many evaluation contexts have a cached answer.
    pub fn cached_contexts(&self) -> usize {
        self.inner.contexts.len()
    }

    /// Whether `flag` is on. Loads the flags on first use and refreshes them when stale,
    /// waiting at most the configured timeout; on any fault, last-known-good, else `false`.
    pub fn is_enabled<'a>(&'a self, flag: &'a str) -> impl Future<Output = bool> + Send + 'a {
        self.is_enabled_or(flag, false)
    }

    /// Whether `flag` is on, or `default` when nothing is known about it: no configuration
    /// loaded (the agent unreachable since start-up), or the flag missing from it. For kill
    /// switches and other flags that must be on unless AppConfig says otherwise.
    ///
    /// ```no_run
    /// # async fn demo(flags: &flag_runtime::FlagSource) {
    /// // Payments stay on when the agent cannot be reached at all.
    /// if flags.is_enabled_or("paymentsEnabled", true).await {
    ///     // ...
    /// }
    /// # }
    /// ```
    pub fn is_enabled_or<'a>(
        &'a self,
        flag: &'a str,
        default: bool,
    ) -> impl Future<Output = bool> + Send + 'a {
        Check::new(&self.inner, &self.inner.base, flag, default, None)
    }

    /// Whether `flag` is on, without ever waiting: the current snapshot is served, and a due
    /// refresh starts in the background. Before the first load completes, every flag is off.
    pub fn is_enabled_now(&self, flag: &str) -> bool {
        self.is_enabled_now_or(flag, false)
    }

    /// [`is_enabled_now`](Self::is_enabled_now) with a `default` for when nothing is known
    /// about the flag, as [`is_enabled_or`](Self::is_enabled_or).
    pub fn is_enabled_now_or(&self, flag: &str, default: bool) -> bool {
        if let Some(forced) = overrides::enabled(flag) {
            return forced;
        }
        self.refresh_if_due();
        self.inner.read(&self.inner.base, flag, default)
    }

    /// The whole state of `flag` (attributes, variant), refreshed as [`is_enabled`](Self::is_enabled)
    /// is. `None` when the flag is unknown or nothing could be loaded.
    pub async fn flag(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.ensure_fresh().await;
        self.inner.read_flag(&self.inner.base, flag)
    }

    /// The whole state of `flag` without waiting, as [`is_enabled_now`](Self::is_enabled_now).
    pub fn flag_now(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.refresh_if_due();
        self.inner.read_flag(&self.inner.base, flag)
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

    /// The current snapshot, refreshed first if due: every flag read from it comes from one
    /// configuration version. Active [`Overrides`](crate::Overrides) are laid over it.
    pub async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.ensure_fresh().await;
        overrides::overlay(self.inner.base.published.load_full())
    }

    /// The current snapshot without waiting (a due refresh starts in the background), with
    /// active [`Overrides`](crate::Overrides) laid over it.
    pub fn snapshot_now(&self) -> Option<Arc<Snapshot>> {
        self.refresh_if_due();
        overrides::overlay(self.inner.base.published.load_full())
    }

    /// Asks the agent now, whatever the TTL says, and reports what this very request did.
    ///
    /// A refresh already running is waited for first (its outcome is not this call's). The wait
    /// for the answer is bounded by the timeout; parsing a new answer follows it. Use it at
    /// start-up to load the flags before the first request and to fail loudly if the agent is
    /// not there:
    ///
    /// ```no_run
    /// # async fn init() -> Result<(), flag_runtime::FetchError> {
    /// let refreshed = flag_runtime::default_source().refresh().await?;
    /// println!("flags version {:?}", refreshed.version());
    /// # Ok(()) }
    /// ```
    pub async fn refresh(&self) -> Result<Refreshed, FetchError> {
        if let Some(error) = self.inner.refresher.unusable() {
            return Err(FetchError::Unconfigured(error.clone()));
        }
        self.inner.refresh_now(&self.inner.base).await
    }

    /// A point-in-time report: version served, age, the latest outcome and error.
    pub fn status(&self) -> Status {
        let current = self.inner.base.published.load_full();
        self.inner.health.status(
            current
                .as_ref()
                .and_then(|s| s.version().map(str::to_owned)),
            current.is_some(),
            clock::now_ms(),
        )
    }

    #[inline]
    async fn ensure_fresh(&self) {
        self.inner.ensure_fresh(&self.inner.base).await;
    }

    #[inline]
    fn refresh_if_due(&self) {
        self.inner.refresh_if_due(&self.inner.base);
    }

    /// The sync gate check of a `#[feature_flag]` call site or typed flag off its warm path
    /// ([`Site::check_now_default`]): [`is_enabled_now`](Self::is_enabled_now) with the answer
    /// cached in the site until the snapshot changes.
    pub(crate) fn is_enabled_now_at(&self, site: &Site) -> bool {
        if let Some(forced) = overrides::enabled(site.flag) {
            return forced;
        }
        self.refresh_if_due();
        site.read(&self.inner.base.published, || {
            self.inner.read(&self.inner.base, site.flag, false)
        })
    }

    /// The async gate check of a `#[feature_flag]` call site.
    #[inline]
    pub(crate) fn is_enabled_at<'a>(&'a self, site: &'a Site) -> Check<'a> {
        Check::new(&self.inner, &self.inner.base, site.flag, false, Some(site))
    }
}

impl Inner {
    /// Whether an async check must wait: a refresh is due, one runs that no async check waits
    /// for yet, or nothing is loaded yet and one may be (then a first load in flight is worth
    /// waiting for).
    #[inline]
    pub(crate) fn must_wait(&self, target: &Target) -> bool {
        target.is_due()
            || target.is_unclaimed()
            || (!target.published.has_snapshot() && self.refresher.unusable().is_none())
    }

    #[inline]
    pub(crate) async fn ensure_fresh(self: &Arc<Self>, target: &Arc<Target>) {
        if self.must_wait(target) {
            // Boxed: the slow path's future is large, and every check's future would otherwise
            // carry its space. Allocated only on the slow path.
            Box::pin(self.await_fresh(target)).await;
        }
    }

    #[inline]
    pub(crate) fn refresh_if_due(self: &Arc<Self>, target: &Arc<Target>) {
        if target.is_due() {
            self.refresh_in_background(target);
        }
    }

    #[inline]
    pub(crate) fn read(&self, target: &Target, flag: &str, default: bool) -> bool {
        target.published.with(|snapshot| match snapshot {
            None => default,
            Some(snapshot) => snapshot.enabled(flag).unwrap_or_else(|| {
                self.health.log_missing(flag, snapshot.version());
                default
            }),
        })
    }

    pub(crate) fn read_flag(&self, target: &Target, flag: &str) -> Option<Flag> {
        target.published.with(|snapshot| {
            let snapshot = snapshot?;
            let found = snapshot.flag(flag).cloned();
            if found.is_none() {
                self.health.log_missing(flag, snapshot.version());
            }
            found
        })
    }

    /// The target a context's checks refresh and read: the context's own; the context-free one
    /// for an empty context (nothing to send, so the same answer) and for a context that cannot
    /// be sent (logged), whose checks are then context-free checks in every respect: they wait
    /// for a first load and keep the answer fresh.
    pub(crate) fn context_target(&self, context: &Context) -> Arc<Target> {
        if context.is_empty() {
            return Arc::clone(&self.base);
        }
        match context.validate() {
            Ok(()) => self.contexts.target(context, &self.refresher),
            Err(error) => {
                self.health.log_invalid_context(&error);
                Arc::clone(&self.base)
            }
        }
    }

    /// The snapshot a context's checks read: its own, else the context-free one.
    fn context_snapshot(self: &Arc<Self>, target: &Target) -> Option<Arc<Snapshot>> {
        target.published.load_full().or_else(|| {
            // The context-free answer is the fallback: keep it fresh too.
            self.refresh_if_due(&self.base);
            self.base.published.load_full()
        })
    }
}

/// The checks of a [`FlagSource`] for one evaluation [`Context`]; see
/// [`FlagSource::with_context`]. Every check form is here, with the same meaning.
#[derive(Debug, Clone, Copy)]
pub struct Targeted<'a> {
    pub(crate) source: &'a FlagSource,
    pub(crate) context: &'a Context,
}

impl Targeted<'_> {
    async fn snapshot_fresh(&self) -> Option<Arc<Snapshot>> {
        let inner = &self.source.inner;
        let target = inner.context_target(self.context);
        inner.ensure_fresh(&target).await;
        inner.context_snapshot(&target)
    }

    fn snapshot_current(&self) -> Option<Arc<Snapshot>> {
        let inner = &self.source.inner;
        let target = inner.context_target(self.context);
        inner.refresh_if_due(&target);
        inner.context_snapshot(&target)
    }

    fn enabled_in(&self, snapshot: Option<&Snapshot>, flag: &str, default: bool) -> bool {
        match snapshot {
            None => default,
            Some(snapshot) => snapshot.enabled(flag).unwrap_or_else(|| {
                self.source
                    .inner
                    .health
                    .log_missing(flag, snapshot.version());
                default
            }),
        }
    }

    /// Whether `flag` is on in `target`'s snapshot, else the context-free one; no reference
    /// count touched.
    fn enabled_at(&self, target: &Target, flag: &str, default: bool) -> bool {
        let inner = &self.source.inner;
        let read = |snapshot: Option<&Snapshot>| self.enabled_in(snapshot, flag, default);
        if target.published.has_snapshot() {
            target.published.with_shared(read)
        } else {
            // The context-free answer is the fallback: keep it fresh too.
            inner.refresh_if_due(&inner.base);
            inner.base.published.with_shared(read)
        }
    }

    /// Whether `flag` is on for this context (see [`FlagSource::is_enabled`]).
    pub async fn is_enabled(&self, flag: &str) -> bool {
        self.is_enabled_or(flag, false).await
    }

    /// Whether `flag` is on for this context, or `default` when nothing is known about it (see
    /// [`FlagSource::is_enabled_or`]).
    pub async fn is_enabled_or(&self, flag: &str, default: bool) -> bool {
        if let Some(forced) = overrides::enabled(flag) {
            return forced;
        }
        let inner = &self.source.inner;
        let target = inner.context_target(self.context);
        if inner.must_wait(&target) {
            Box::pin(inner.await_fresh(&target)).await;
        }
        self.enabled_at(&target, flag, default)
    }

    /// Whether `flag` is on for this context, without waiting (see [`FlagSource::is_enabled_now`]):
    /// a context seen for the first time is answered context-free while its answer loads.
    pub fn is_enabled_now(&self, flag: &str) -> bool {
        self.is_enabled_now_or(flag, false)
    }

    /// [`is_enabled_now`](Self::is_enabled_now) with a default for when nothing is known.
    pub fn is_enabled_now_or(&self, flag: &str, default: bool) -> bool {
        if let Some(forced) = overrides::enabled(flag) {
            return forced;
        }
        let inner = &self.source.inner;
        let target = inner.context_target(self.context);
        inner.refresh_if_due(&target);
        self.enabled_at(&target, flag, default)
    }

    /// The whole state of `flag` for this context: attributes and, for a multi-variant flag,
    /// [`Flag::variant`].
    pub async fn flag(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        let snapshot = self.snapshot_fresh().await?;
        snapshot.flag(flag).cloned()
    }

    /// [`flag`](Self::flag) without waiting.
    pub fn flag_now(&self, flag: &str) -> Option<Flag> {
        if let Some(forced) = overrides::flag(flag) {
            return Some(forced);
        }
        self.snapshot_current()?.flag(flag).cloned()
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
        overrides::overlay(self.snapshot_fresh().await)
    }

    /// [`snapshot`](Self::snapshot) without waiting.
    pub fn snapshot_now(&self) -> Option<Arc<Snapshot>> {
        overrides::overlay(self.snapshot_current())
    }

    /// Asks the agent for this context now (see [`FlagSource::refresh`]).
    pub async fn refresh(&self) -> Result<Refreshed, FetchError> {
        let inner = &self.source.inner;
        if let Some(error) = inner.refresher.unusable() {
            return Err(FetchError::Unconfigured(error.clone()));
        }
        self.context
            .validate()
            .map_err(FetchError::InvalidContext)?;
        let target = if self.context.is_empty() {
            Arc::clone(&inner.base)
        } else {
            inner.contexts.target(self.context, &inner.refresher)
        };
        inner.refresh_now(&target).await
    }
}
