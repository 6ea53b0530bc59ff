//! AWS AppConfig feature flags through the [OpenFeature] Rust SDK (`open-feature` 0.3).
//!
//! [`AppConfigProvider`] implements the SDK's [`FeatureProvider`](open_feature::provider::FeatureProvider)
//! on a [`flag_runtime::FlagSource`]: evaluations read the same in-process cache as plain checks
//! and `#[feature_flag]` (a memory read while fresh, one agent request per TTL, last-known-good
//! on faults), and the OpenFeature evaluation context reaches the agent, so multi-variant flags
//! pick their variant by their rules.
//!
//! ```no_run
//! use flag_openfeature::AppConfigProvider;
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! # async fn demo() {
//! // Once, at start-up: the provider on the process-wide source (configured from the
//! // environment, see flag-runtime). Setting it loads the flags.
//! let mut api = OpenFeature::singleton_mut().await;
//! api.set_provider(AppConfigProvider::new(flag_runtime::default_source().clone()))
//!     .await;
//! let client = api.create_client();
//! drop(api);
//!
//! // Per request:
//! let context = EvaluationContext::default()
//!     .with_targeting_key("customer-4217")
//!     .with_custom_field("tier", "gold");
//! let on = client
//!     .get_bool_value("newCheckout", Some(&context), None)
//!     .await
//!     .unwrap_or(false);
//! let percentage = client
//!     .get_float_value("discountBanner.percentage", Some(&context), None)
//!     .await
//!     .unwrap_or(0.0);
//! if let Ok(details) = client.get_bool_details("discountBanner", Some(&context), None).await {
//!     println!("{:?} {:?} {on} {percentage}", details.variant, details.reason);
//! }
//! # }
//! ```
//!
//! # Keys and types
//!
//! | resolution | key | value | errors |
//! |---|---|---|---|
//! | boolean | `flag` | the flag's `enabled` | |
//! | boolean, integer, float, string | `flag.attribute` | that attribute | `TYPE_MISMATCH` for another type; `FLAG_NOT_FOUND` when the flag has no such attribute (a disabled flag has none) |
//! | structure | `flag` | `enabled` and every attribute | |
//! | integer, float, string | `flag` | | `TYPE_MISMATCH` (a flag is a boolean) |
//! | structure | `flag.attribute` | | `TYPE_MISMATCH` (attributes are never objects) |
//!
//! A flag missing from the configuration is `FLAG_NOT_FOUND`. An integer is a JSON integer
//! (`2.5` is a mismatch, not truncated); a float is any number.
//!
//! # Evaluation context
//!
//! Each custom field becomes an AppConfig context pair (`Context: key=value`): booleans,
//! integers and floats as written, strings as they are, date-times in RFC 3339. The targeting
//! key becomes the `Entity-Id` and the pair [`TARGETING_KEY`] (`targetingKey`), so rules can
//! name it: `(split pct::10 by::$targetingKey)`. A structure field, or a context the agent
//! cannot be sent (see [`flag_runtime::Context::validate`]), is `INVALID_CONTEXT`.
//!
//! Inside an invocation scope ([`flag_runtime::scope`], or every invocation under
//! `flag_runtime::lambda::FlagsLayer`), the scope's context is the *transaction context*: it
//! fills the keys (and the `Entity-Id`) the evaluation context lacks, so a handler need not
//! pass its request's context to every evaluation, and an evaluation with the scope's very
//! context reads the answer the scope pinned. **Deviation from the specification's merge
//! order** (3.2.3: API < transaction < client < invocation < hooks): `open-feature` 0.3 has
//! no transaction-context API and hands the provider the context already merged, so the
//! scope's context ranks below all of them, the API's global context included.
//!
//! # Variants and reasons
//!
//! The variant is the agent's `_variant` for a multi-variant flag, none for a single-variant
//! one. The agent does not say whether a rule chose the variant, so the reason is decided from
//! what the runtime knows:
//!
//! | reason | when |
//! |---|---|
//! | `STALE` (`Other("STALE")` in the SDK 0.3) | the answer read is last-known-good: its latest refresh failed |
//! | `SPLIT` | an AppConfig experiment assigned the entity a treatment: the variant is its key (`__c__`, `__t1__`, ...), also in the flag metadata under [`TREATMENT_METADATA_KEY`] |
//! | `STATIC` | a single-variant flag (no `_variant`): the same value for every context |
//! | `DEFAULT` | a multi-variant flag's default (last) variant |
//! | `TARGETING_MATCH` | a multi-variant flag's other variants: a rule chose it (a `split` rule too) |
//! | `UNKNOWN` | without the flags document: a multi-variant flag with no context-free answer of the same configuration version to compare with |
//!
//! With the flags document ([`AppConfigProvider::with_schema`]) the default variant is known
//! and the reasons are exact. Without it, the default is taken to be the variant the agent
//! serves with no context (the context-free answer of the same configuration version): exact
//! unless one of the flag's rules matches an empty context (`(not (exists key::"tier"))` does),
//! which swaps that flag's `DEFAULT` and `TARGETING_MATCH`. Errors carry the reason `ERROR`
//! (set by the SDK) and a code:
//! `FLAG_NOT_FOUND`, `TYPE_MISMATCH`, `INVALID_CONTEXT`, `PROVIDER_NOT_READY` while nothing is
//! loaded and no refresh has completed, `GENERAL` when nothing could be loaded. Messages name
//! flags, attributes, types and fault kinds, never a value. Flag metadata carries the
//! `Configuration-Version` under [`VERSION_METADATA_KEY`], unless the provider is built
//! [`without_flag_metadata`](AppConfigProvider::without_flag_metadata).
//!
//! # Experiments
//!
//! A flag under an AppConfig experiment is served its treatment when the source knows it is
//! one and the evaluation has a targeting key (the `Entity-Id`): call
//! `flag_runtime::FlagSource::add_experiments` with `flags::experiments()` of the `flags!` module
//! (the flags named in `experiments.json`) on the provider's source. The resolution's variant is
//! then the treatment key, its reason `SPLIT`, and its flag metadata carries the key under
//! [`TREATMENT_METADATA_KEY`], so hooks can record exposures.
//!
//! # Status and events
//!
//! The provider's status follows the health of the source's context-free answer, which every
//! evaluation keeps fresh: `NOT_READY` before the first refresh completes, `READY` with flags
//! loaded and the agent answering, `STALE` when the agent fails and last-known-good flags are
//! served, `ERROR` when nothing could be loaded (or the source is unconfigured). Setting the
//! provider (`initialize`) loads the flags once. The SDK (0.3) has no event API, so
//! [`AppConfigProvider::events`] streams [`ProviderEvent`]s: `PROVIDER_READY` (first load and
//! recovery), `PROVIDER_STALE`, `PROVIDER_ERROR`, and `PROVIDER_CONFIGURATION_CHANGED` when a
//! new answer is loaded while ready. A stream created after the provider entered a state starts
//! with that state's event (requirement 5.3.3).
//!
//! # The API at a glance
//!
//! | family | items |
//! |---|---|
//! | the provider | [`AppConfigProvider`] (example above), [`PROVIDER_NAME`], [`VERSION_METADATA_KEY`], [`TREATMENT_METADATA_KEY`] |
//! | the evaluation context | [`to_appconfig`], [`TARGETING_KEY`] |
//! | status events | [`AppConfigProvider::events`], [`ProviderEvents`], [`ProviderEvent`] |
//! | the crates it speaks for, re-exported | [`open_feature`], [`flag_schema`] |
//!
//! [OpenFeature]: https://openfeature.dev/specification/
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod context;
mod key;
mod provider;
mod reason;
mod status;
mod value;

pub use context::{to_appconfig, TARGETING_KEY};
pub use provider::{
    AppConfigProvider, PROVIDER_NAME, TREATMENT_METADATA_KEY, VERSION_METADATA_KEY,
};
pub use status::{ProviderEvent, ProviderEvents};

/// The OpenFeature SDK this provider implements, re-exported so the versions match.
pub use open_feature;

/// The flags document, for [`AppConfigProvider::with_schema`].
pub use flag_schema;
