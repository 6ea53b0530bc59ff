//! Feature flags from AWS AppConfig for Lambda functions, at the cost of a memory read.
//!
//! The [AWS AppConfig Lambda extension] (the *agent*) runs beside your function on
//! `localhost:2772` and serves the evaluated feature flags of a configuration profile. This crate
//! asks it for the whole flag set, parses it once into an immutable [`Snapshot`], and serves every
//! check from memory:
//!
//! * **Fast**: a check on a fresh snapshot does no I/O, takes no lock and allocates nothing.
//! * **One invocation, one version**: an [invocation scope](FlagSource::scope) (every Lambda
//!   invocation under [`lambda::FlagsLayer`]) refreshes what is due at its start, then pins one
//!   configuration version and one evaluation [`Context`] for every check inside.
//! * **Fresh**: a snapshot older than the TTL (5 s by default) is refreshed by one request at a
//!   time; other readers keep the last-known-good snapshot meanwhile. At most one agent request
//!   per TTL window, however many checks run. Refreshes run on a background thread with a
//!   tokio runtime of the crate's own, so sync code, async code and any host runtime (with or
//!   without a timer or IO, or none at all) get the same fresh flags, and none can panic a check.
//! * **Safe**: no fault of the agent (not listening, timeout, HTTP error, malformed or oversized
//!   answer, a flag missing) fails or panics the caller. Last-known-good wins; with nothing known
//!   the flag is off, so the fallback path runs. Each fault streak is logged once, with its
//!   reason, through `tracing`; so is the recovery. Flag values are never logged.
//!
//! # Configuration
//!
//! | environment variable | meaning | default |
//! |---|---|---|
//! | `APPCONFIG_APPLICATION` | application name or ID | required |
//! | `APPCONFIG_ENVIRONMENT` | environment name or ID | required |
//! | `APPCONFIG_CONFIGURATION` | feature-flag profile name or ID | required |
//! | `AWS_APPCONFIG_EXTENSION_HTTP_PORT` | the agent's port (the extension's own setting) | 2772 |
//! | `FLAGS_TTL_MS` | snapshot TTL | 5000 |
//! | `FLAGS_TIMEOUT_MS` | timeout of one agent request | 1000 |
//!
//! [`Config::from_env`] reads them; [`Config::builder`] takes the same settings in code (and
//! reads no environment unless told to with [`ConfigBuilder::with_env`]), plus the answer size
//! cap and, deliberately, a non-loopback host.
//!
//! # Usage
//!
//! Typed flags from your `flags.json` (`flags!` in the `flag-macros` crate), and each Lambda
//! invocation an invocation scope through [`lambda::FlagsLayer`]:
//!
//! ```no_run
//! use flag_runtime::lambda::FlagsLayer;
//! use lambda_runtime::{service_fn, tower::ServiceBuilder, Error, LambdaEvent};
//!
//! // Typed flags from flags.json beside Cargo.toml:
//! flag_macros::flags!(pub mod flags,
//! #   schema = "../example-lambda/flags.json",
//! );
//!
//! #[derive(serde::Deserialize)]
//! struct Order {
//!     customer: String,
//!     tier: String,
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     // Each invocation's evaluation context: one method per key the rules read, typed.
//!     let layer = FlagsLayer::new().context(|event: &LambdaEvent<Order>| {
//!         flags::context()
//!             .tier(&event.payload.tier)
//!             .customer_id(&event.payload.customer)
//!             .with_entity_id(&event.payload.customer)
//!     });
//!     let service = ServiceBuilder::new().layer(layer).service(service_fn(handler));
//!     lambda_runtime::run(service).await
//! }
//!
//! async fn handler(event: LambdaEvent<Order>) -> Result<String, Error> {
//!     // Fresh at the invocation's start, then one version and this customer's context.
//!     if let Some(banner) = flags::DISCOUNT_BANNER.get().await {
//!         return Ok(format!("{}% off for {}", banner.percentage, event.payload.customer));
//!     }
//!     Ok("no discount".to_owned())
//! }
//! ```
//!
//! # The string API
//!
//! For flag names known only at run time (nothing checks them at compile time):
//!
//! ```no_run
//! # async fn handler() {
//! // The process-wide source, configured from the environment on first use:
//! let flags = flag_runtime::default_source();
//!
//! if flags.is_enabled("newCheckout").await {
//!     // new path
//! }
//!
//! // Typed attributes, through serde:
//! let percentage: f64 = flags.attribute("discountBanner", "percentage").await.unwrap_or(0.0);
//!
//! // In sync code: never waits, refreshes in the background when due.
//! let express = flags.is_enabled_now("expressShipping");
//!
//! // A kill switch: on unless AppConfig says otherwise, even when nothing could be loaded.
//! let payments = flags.flag("paymentsEnabled").await.is_none_or(|f| f.is_enabled());
//! # }
//! ```
//!
//! The `flag-macros` crate checks names at compile time instead: `#[feature_flag("newCheckout",
//! fallback = old_checkout)]` gates a whole function, and `flags!(pub mod flags)` generates typed
//! access to every flag of the schema: one [`TypedFlag`]
//! static per flag (`flags::NEW_CHECKOUT.is_enabled().await`), its attributes as a struct
//! ([`FlagValue`]), misspellings and wrong types as compile errors. These answer per call site
//! from a memo tagged with the snapshot: in a scope, a warm check reads no clock and looks
//! nothing up.
//!
//! # Invocation scopes
//!
//! ```no_run
//! use flag_runtime::Context;
//!
//! # async fn handle(tier: &str) {
//! let context = Context::new().with("tier", tier).with_entity_id("customer-4217");
//! flag_runtime::scope(context, async {
//!     // Fresh at the start, then one version and this context for every check in here.
//!     let flags = flag_runtime::default_source();
//!     let (a, b) = (flags.is_enabled("a").await, flags.is_enabled_now("b"));
//! })
//! .await;
//! # }
//! ```
//!
//! In a Lambda function, [`lambda::FlagsLayer`] does this for every invocation. A task spawned
//! inside a scope is outside it unless [carried](Scope).
//!
//! At start-up, [`FlagSource::refresh`] loads the flags before the first request and reports
//! a fault as a typed [`FetchError`]; [`install_default`] replaces the environment-configured
//! default with a source of your own. Settings that cannot be used are a [`ConfigError`].
//!
//! # Targeting
//!
//! Multi-variant flags pick a variant per request from an evaluation [`Context`] (sent as one
//! `Context` header, `k1=v1,k2=v2`, with an optional `Entity-Id`): the scope's, or an explicit one
//! through [`FlagSource::with_context`], which gives every check form for one context
//! ([`TargetedSource`]); each distinct context's answer is cached with the TTL, at most
//! [`ConfigBuilder::max_contexts`] of them.
//!
//! ```no_run
//! use flag_runtime::Context;
//!
//! # async fn handler(customer_id: &str, tier: &str) {
//! let context = Context::new()
//!     .with("tier", tier)
//!     .with("customerId", customer_id)
//!     .with_entity_id(customer_id);
//! let flags = flag_runtime::default_source().with_context(&context);
//! if let Some(banner) = flags.flag("discountBanner").await {
//!     println!("variant {:?}", banner.variant());
//! }
//! # }
//! ```
//!
//! # Health and provenance
//!
//! [`FlagSource::status`] reports the refreshes; [`FlagSource::status_changes`] wakes a task
//! after each one ([`StatusChanges`]), for health checks and events. [`TargetedSource::served`] says
//! which answer a context's checks read ([`Served`]: the context's own, the context-free
//! fallback, or nothing) and whether it is last-known-good after a failed refresh; the
//! `flag-openfeature` provider derives its reasons and status from these.
//!
//! # Tests
//!
//! [`Overrides`] force flags on or off (with attributes) for one thread or one future, so
//! parallel tests do not leak into each other; the `flag-agent` crate is a local stand-in for
//! the agent, for tests over real HTTP.
//!
//! # The API at a glance
//!
//! Each family's example is on the item named first.
//!
//! | family | items |
//! |---|---|
//! | checks | [`default_source`] (examples above), [`FlagSource`]: `is_enabled`, `flag`, `attribute`, `snapshot` and their never-waiting `_now` forms, `refresh`, [`install_default`] |
//! | invocation scope | [`scope`] (above), [`FlagSource::scope`], [`Scope`] (carry it into a spawned task), [`lambda::FlagsLayer`] |
//! | evaluation context | [`Context`], [`ContextValue`], [`ContextError`], [`Context::MAX_PAIRS`] and the other limits; [`FlagSource::with_context`] gives a [`TargetedSource`] |
//! | typed flags (generated by `flags!` in `flag-macros`, whose docs show them) | [`TypedFlag`], [`TargetedFlag`], [`FlagValue`], [`Misfit`] |
//! | values | [`Snapshot::parse`], [`Flag::try_attribute`], [`ParseError`], [`AttributeError`], [`ShapeProblem`] |
//! | configuration | [`Config`], [`ConfigBuilder::with_env`], [`ConfigError`], [`Config::ENV_TTL_MS`] and the other names, [`Config::DEFAULT_TTL`] and the other defaults |
//! | health | [`StatusChanges::changed`], [`Status`], [`Refreshed`], [`Served`], [`FetchError`], [`FetchErrorKind`] |
//! | tests | [`Overrides`], [`OverrideGuard`] |
//!
//! [AWS AppConfig Lambda extension]: https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-integration-lambda-extensions.html
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod background;
mod check;
mod client;
mod clock;
mod config;
mod context;
mod context_cache;
mod error;
mod health;
#[cfg(feature = "lambda")]
pub mod lambda;
mod measurement;
mod memo;
mod overrides;
mod pins;
mod published;
mod refresh;
mod served;
mod shared;
mod snapshot;
mod source;
mod status_changes;
mod typed;

pub use config::{Config, ConfigBuilder};
pub use context::{Context, ContextError, ContextValue};
pub use error::{
    AttributeError, ConfigError, FetchError, FetchErrorKind, ParseError, ShapeProblem,
};
pub use health::{Refreshed, Status};
pub use overrides::{OverrideGuard, Overrides};
pub use served::Served;
pub use snapshot::{Assignment, Flag, Snapshot};
pub use source::{default_source, install_default, scope, FlagSource, Scope, TargetedSource};
pub use status_changes::StatusChanges;
pub use typed::{FlagValue, Misfit, TargetedFlag, TypedFlag};

/// Experiment measurement: exposures and outcomes as CloudWatch Embedded Metric Format lines,
/// for `flag-experiment analyze` and CloudWatch metrics.
///
/// Off until [`Measurement::install`](measure::Measurement::install). Then, in an invocation
/// scope whose entity was served a treatment, the first read of that flag writes one exposure
/// record (at most once per entity and flag per sandbox), and
/// [`record_outcome`](measure::record_outcome) writes an outcome record per treatment served.
/// Each record is one line on stdout (Lambda sends it to CloudWatch Logs, which makes it a
/// metric): namespace `FlagExperiments` unless configured, dimensions `Flag` and `Treatment`,
/// the entity as the property `EntityId` (its id, or a keyed hash of it), never a dimension.
pub mod measure {
    pub use crate::measurement::{
        MeasureError, Measurement, OutcomeKind, DEFAULT_NAMESPACE, REMEMBERED_EXPOSURES,
    };

    /// Records an outcome of the current invocation: one record of `metric` = `value`, with the
    /// property `OutcomeKind`, for each experiment treatment the invocation scope was served.
    /// Returns how many were written: 0 outside a scope, without an Entity-Id or a treatment, or
    /// with measurement off. An invalid name or value is an error, and nothing is written.
    pub fn record_outcome(
        metric: &str,
        kind: OutcomeKind,
        value: f64,
    ) -> Result<usize, MeasureError> {
        crate::measurement::validate_metric(metric)?;
        if !value.is_finite() {
            return Err(MeasureError::NotFinite);
        }
        Ok(
            crate::pins::current_exposures(|exposures| exposures.outcome(metric, kind, value))
                .unwrap_or(0),
        )
    }
}

/// Not public API: what `#[feature_flag]` expands to. May change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::context::Number;
    pub use crate::default_source;
    pub use crate::memo::Site;
    pub use crate::typed::{
        optional, required, variant, with_assignment, with_attribute, with_variant,
    };
    /// Carries either path of a gate on `-> impl Trait` (futures, iterators, `Display`, ...).
    pub use either::Either;

    /// What `#[feature_flag(flags::NEW_CHECKOUT, ..)]` accepts in place of a key: a static of a
    /// `flags!` module.
    #[diagnostic::on_unimplemented(
        message = "`#[feature_flag]` takes a flag key (a string literal) or a `flags!` static, not `{Self}`",
        label = "not a `flags!` static"
    )]
    pub trait FlagStatic {}

    impl<T> FlagStatic for crate::TypedFlag<T> {}

    /// Checks, at compile time, that the gate's flag is a [`FlagStatic`].
    #[inline(always)]
    pub fn flag_static<S: FlagStatic>(_: &S) {}

    /// Runs the flag-on path of a sync gate on `-> impl Trait` as a `FnOnce` closure: a body
    /// returning borrows of its arguments (`v.iter_mut()`) cannot be an `FnMut`'s.
    #[inline(always)]
    pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
    /// The type of a typed flag's attribute that the schema leaves unconstrained: any JSON.
    /// (Not re-exported at the root: a public `Value::String` in scope would make rustc spell
    /// `String` as `std::string::String` in every diagnostic of a user's crate.)
    pub use serde_json::Value as JsonValue;

    /// The async gate check of the default source, for one call site: in a scope, the
    /// scope's answer.
    #[inline]
    pub fn check(site: &'static Site) -> impl std::future::Future<Output = bool> + Send {
        crate::check::Check::new(&crate::default_source().shared, site.flag, Some(site))
    }

    /// The sync, never-waiting gate check of the default source, for one call site.
    #[inline]
    pub fn check_now(site: &'static Site) -> bool {
        crate::check::enabled_now(&crate::default_source().shared, site.flag, Some(site))
    }

    /// The async gate check of the default source for an explicit evaluation context.
    #[inline]
    pub async fn check_with(site: &'static Site, context: &crate::Context) -> bool {
        crate::default_source()
            .with_context(context)
            .is_enabled(site.flag)
            .await
    }

    /// The sync gate check of the default source for an explicit evaluation context.
    #[inline]
    pub fn check_now_with(site: &'static Site, context: &crate::Context) -> bool {
        crate::default_source()
            .with_context(context)
            .is_enabled_now(site.flag)
    }
}
