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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod context;
mod document;
mod error;
mod evaluate;
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
pub use names::{is_valid_context_key, is_valid_key, suggest};

/// The only `version` AppConfig accepts for a feature-flag document.
pub const SCHEMA_VERSION: &str = "1";
