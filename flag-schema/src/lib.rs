//! AWS AppConfig feature-flag documents (`AWS.AppConfig.FeatureFlags`).
//!
//! This crate is the one place that knows the hosted document's rules. The `#[feature_flag]`
//! macro uses it to check flag names at compile time, and the local agent (`flag-agent`) uses it
//! to validate what it serves and to evaluate it exactly as the AppConfig agent does, including
//! the targeting [`rule`]s of multi-variant flags against a request [`RuleContext`].
//!
//! ```
//! let doc = flag_schema::Document::parse(r#"{
//!     "version": "1",
//!     "flags": {
//!         "newCheckout": {
//!             "name": "New checkout",
//!             "attributes": { "limit": { "constraints": { "type": "number", "maximum": 10 } } }
//!         }
//!     },
//!     "values": { "newCheckout": { "enabled": true, "limit": 5 } }
//! }"#).unwrap();
//!
//! assert!(doc.flag("newCheckout").is_some());
//! assert_eq!(doc.suggest("newChekout"), Some("newCheckout"));
//! assert_eq!(
//!     doc.evaluate()["newCheckout"],
//!     serde_json::json!({ "enabled": true, "limit": 5 })
//! );
//! ```
//!
//! # The API at a glance
//!
//! Each family's example is on the item named first.
//!
//! | family | items |
//! |---|---|
//! | the document | [`Document`] (example above), [`FlagDefinition`], [`AttributeDefinition`], [`Constraint`], [`ConstraintKind`], [`Deprecation`], [`ValueEntry`], [`Variant`], [`SCHEMA_VERSION`] |
//! | evaluation, as the agent does it | [`Document::evaluate_with`], [`Document::evaluate`], [`Document::evaluate_flag`], [`Document::evaluate_flag_with`], [`Document::variant_keys`], [`Document::context_keys`] |
//! | the request context | [`RuleContext`], [`RuleContext::from_headers`], [`RuleContextError`], [`RuleContextErrorKind`] |
//! | rules | [`rule::Rule`], [`rule::RuleError`], [`rule::RuleErrorKind`], [`rule::KeyKind`], [`rule::MAX_DEPTH`], [`rule::MAX_RULE_CHARS`] |
//! | names | [`suggest`], [`is_valid_key`], [`is_valid_context_key`] |
//! | errors | [`SchemaError`] (a syntax error with its line and column, or every problem of a document), [`Problem`] (its path and what is wrong, never the value) |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod context;
mod document;
mod error;
mod evaluate;
mod experiments;
mod locate;
mod names;
pub mod rule;
mod validate;

pub use context::{RuleContext, RuleContextError, RuleContextErrorKind};
pub use document::{
    AttributeDefinition, Constraint, ConstraintKind, Deprecation, Document, FlagDefinition,
    ValueEntry, Variant,
};
pub use error::{Problem, SchemaError};
pub use experiments::{
    Experiment, Experiments, Run, Treatment, CONTROL_KEY, MAX_OVERRIDES, MAX_TREATMENTS,
};
pub use names::{is_valid_context_key, is_valid_key, suggest};

/// The only `version` AppConfig accepts for a feature-flag document.
pub const SCHEMA_VERSION: &str = "1";

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
