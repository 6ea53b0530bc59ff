//! The evaluation context of a request: what AppConfig's multi-variant flags target.
//!
//! The agent evaluates a flag's variant rules against `Context: key=value` request headers and
//! keeps an entity on one configuration version during a gradual deployment by its `Entity-Id`.
//! A [`Context`] holds both; the source asks the agent once per distinct context (and TTL window)
//! and caches the answer.

use std::fmt;
use std::sync::{Arc, OnceLock};

/// The evaluation context of a request: key/value pairs (strings, numbers, booleans), sent to
/// the agent in one `Context` header (`k1=v1,k2=v2`), and an optional `Entity-Id`.
///
/// Cheap to build per request (one small allocation per pair). Keys and values are sent as
/// written, so they must be header-safe:
///
/// * a key is 1 to 64 ASCII letters, digits, `_`, `-` or `.` (what a rule's `$key` can name);
/// * a value has no `,` (the agent splits a header on commas), no control character and at most
///   1024 bytes;
/// * an entity id has no control character and at most 2048 bytes (the agent's limit);
/// * at most [`Context::MAX_PAIRS`] (256) pairs, sent in one `Context` header of at most
///   [`Context::MAX_BYTES`] (16 KiB): `k1=v1,k2=v2,...`.
///
/// A context that breaks one of these is not sent: checks with it serve the context-free flags,
/// [`validate`](Self::validate) says why, and the source logs it at most once a minute (the key or the limit, never a value).
///
/// ```
/// use flag_runtime::Context;
///
/// let context = Context::new()
///     .with("tier", "gold")
///     .with("customerId", 4217)
///     .with("beta", true)
///     .with_entity_id("customer-4217");
/// assert_eq!(context.get("customerId"), Some("4217"));
/// assert!(context.validate().is_ok());
/// assert!(Context::new().with("note", "a,b").validate().is_err());
/// ```
#[derive(Clone, Default)]
pub struct Context {
    /// Shared by clones (a clone is a reference count), copied on the first change; `None`
    /// while empty (an empty context allocates nothing).
    fields: Option<Arc<Fields>>,
}

#[derive(Clone)]
struct Fields {
    pairs: Vec<(Box<str>, Box<str>)>,
    entity_id: Option<Box<str>>,
    /// The first problem ([`Context::validate`]) and the cache key, found on first use.
    checked: OnceLock<Checked>,
}

#[derive(Clone)]
struct Checked {
    problem: Option<ContextError>,
    key: Arc<str>,
}

static EMPTY: Fields = Fields {
    pairs: Vec::new(),
    entity_id: None,
    checked: OnceLock::new(),
};

/// A value a [`Context`] pair can hold: a string, an integer, a float or a boolean.
pub trait ContextValue {
    /// The value as the agent receives it (a header string).
    fn to_context_string(&self) -> String;
}

impl ContextValue for str {
    fn to_context_string(&self) -> String {
        self.to_owned()
    }
}

impl ContextValue for String {
    fn to_context_string(&self) -> String {
        self.clone()
    }
}

impl<T: ContextValue + ?Sized> ContextValue for &T {
    fn to_context_string(&self) -> String {
        (**self).to_context_string()
    }
}

macro_rules! display_values {
    ($($t:ty)*) => {$(
        impl ContextValue for $t {
            fn to_context_string(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
display_values!(bool i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64);

/// A number a typed context (`flags::context()`) takes where the rules compare a key with
/// numbers: any primitive integer or float. Not public API.
#[doc(hidden)]
pub trait Number: ContextValue {}

macro_rules! numbers {
    ($($t:ty)*) => {$( impl Number for $t {} )*};
}
numbers!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64);

/// Why a [`Context`] cannot be sent. Names the key, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContextError {
    /// A key that is empty, longer than 64 bytes, or has a character other than ASCII
    /// letters, digits, `_`, `-` and `.`.
    InvalidKey {
        /// The key, when it is short and printable; else a placeholder.
        key: String,
    },
    /// A value with a `,` or a control character, or longer than 1024 bytes.
    InvalidValue {
        /// The key of the value.
        key: String,
    },
    /// An entity id with a control character, or longer than 2048 bytes.
    InvalidEntityId,
    /// More than [`Context::MAX_PAIRS`] pairs, or more than [`Context::MAX_BYTES`] in the
    /// `Context` header (`k1=v1,k2=v2,...`).
    TooLarge {
        /// The number of pairs.
        pairs: usize,
        /// The header's length in bytes.
        bytes: usize,
    },
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::InvalidKey { key } => write!(
                f,
                "context key `{key}` must be 1 to 64 ASCII letters, digits, `_`, `-` or `.`"
            ),
            ContextError::InvalidValue { key } => write!(
                f,
                "the value of context key `{key}` must have no `,` and no control character, \
                 and at most 1024 bytes"
            ),
            ContextError::InvalidEntityId => {
                f.write_str("the entity id must have no control character and at most 2048 bytes")
            }
            ContextError::TooLarge { pairs, bytes } => write!(
                f,
                "the context has {pairs} pairs in {bytes} bytes; at most {} pairs in {} bytes \
                 are sent (`key=value` joined by commas)",
                Context::MAX_PAIRS,
                Context::MAX_BYTES
            ),
        }
    }
}

impl std::error::Error for ContextError {}

impl Context {
    /// Longest context value sent.
    pub const MAX_VALUE_BYTES: usize = 1024;
    /// Longest `Entity-Id` sent (the agent's limit).
    pub const MAX_ENTITY_ID_BYTES: usize = 2048;
    /// Most pairs in a context sent.
    pub const MAX_PAIRS: usize = 256;
    /// Longest `Context` header sent: every pair as `key=value`, joined by commas.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `key` with `value` (see [`insert`](Self::insert)).
    #[must_use]
    pub fn with(mut self, key: &str, value: impl ContextValue) -> Self {
        self.insert(key, value);
        self
    }

    /// Adds (or replaces) `key` with `value`. Leading and trailing whitespace of the value is
    /// dropped: the agent reads the `Context` header's pairs that way, so the value kept is
    /// the value the rules see.
    pub fn insert(&mut self, key: &str, value: impl ContextValue) {
        let value = value.to_context_string();
        let value = value.trim();
        let fields = self.fields_mut();
        match fields.pairs.iter_mut().find(|(k, _)| &**k == key) {
            Some(pair) => pair.1 = value.into(),
            None => fields.pairs.push((key.into(), value.into())),
        }
    }

    fn fields(&self) -> &Fields {
        self.fields.as_deref().unwrap_or(&EMPTY)
    }

    /// The fields to change: this context's own from now on, checked again when next asked.
    fn fields_mut(&mut self) -> &mut Fields {
        let fields = Arc::make_mut(self.fields.get_or_insert_with(|| Arc::new(EMPTY.clone())));
        fields.checked = OnceLock::new();
        fields
    }

    fn checked(&self) -> &Checked {
        let fields = self.fields();
        fields.checked.get_or_init(|| Checked {
            problem: fields.first_problem(),
            key: fields.build_key(),
        })
    }

    /// Sets the `Entity-Id`, which keeps this entity on one configuration version during a
    /// gradual deployment (and identifies it in AppConfig experiments).
    #[must_use]
    pub fn with_entity_id(mut self, id: impl Into<String>) -> Self {
        let fields = self.fields_mut();
        fields.entity_id = Some(id.into().into());
        self
    }

    /// The value of `key`, as sent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields()
            .pairs
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }

    /// The pairs, in the order they were first added.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields().pairs.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The `Context` header sent: `key=value` per pair, joined by commas (values hold no comma).
    pub(crate) fn header(&self) -> String {
        let fields = self.fields();
        let mut header = String::with_capacity(fields.header_len());
        for (i, (key, value)) in fields.pairs.iter().enumerate() {
            if i > 0 {
                header.push(',');
            }
            header.push_str(key);
            header.push('=');
            header.push_str(value);
        }
        header
    }

    /// The `Entity-Id`, if set.
    pub fn entity_id(&self) -> Option<&str> {
        self.fields().entity_id.as_deref()
    }

    /// Whether there is nothing to send (no pair, no entity id).
    pub fn is_empty(&self) -> bool {
        let fields = self.fields();
        fields.pairs.is_empty() && fields.entity_id.is_none()
    }

    /// Whether the context can be sent; the first problem otherwise.
    pub fn validate(&self) -> Result<(), ContextError> {
        match &self.checked().problem {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// The cache key: the pairs sorted by key, and the entity id, in one string (two contexts
    /// with the same pairs in another order are the same context).
    pub(crate) fn key(&self) -> &Arc<str> {
        &self.checked().key
    }
}

impl Fields {
    /// The first pair (or the entity id) that cannot be sent: checked again after every
    /// change, so a replaced bad value no longer counts.
    fn first_problem(&self) -> Option<ContextError> {
        for (key, value) in &self.pairs {
            if !flag_schema::is_valid_context_key(key) {
                return Some(ContextError::InvalidKey {
                    key: shown_key(key),
                });
            }
            if !valid_value(value, Context::MAX_VALUE_BYTES) || value.contains(',') {
                return Some(ContextError::InvalidValue {
                    key: key.to_string(),
                });
            }
        }
        if let Some(id) = &self.entity_id {
            if !valid_value(id, Context::MAX_ENTITY_ID_BYTES) {
                return Some(ContextError::InvalidEntityId);
            }
        }
        let pairs = self.pairs.len();
        let bytes = self.header_len();
        (pairs > Context::MAX_PAIRS || bytes > Context::MAX_BYTES)
            .then_some(ContextError::TooLarge { pairs, bytes })
    }

    /// The length of the `Context` header: `key=value` per pair, joined by commas.
    fn header_len(&self) -> usize {
        let pairs: usize = self.pairs.iter().map(|(k, v)| k.len() + 1 + v.len()).sum();
        pairs + self.pairs.len().saturating_sub(1)
    }

    fn build_key(&self) -> Arc<str> {
        let mut pairs: Vec<_> = self.pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        pairs.sort_unstable();
        let length = pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
            + self.entity_id.as_ref().map_or(0, |id| id.len() + 1);
        let mut key = String::with_capacity(length);
        for (k, v) in pairs {
            key.push_str(k);
            key.push('=');
            key.push_str(v);
            key.push('\n');
        }
        if let Some(id) = &self.entity_id {
            key.push('\n');
            key.push_str(id);
        }
        key.into()
    }
}

impl fmt::Debug for Context {
    // Keys only: values may be customer data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field(
                "keys",
                &self
                    .fields()
                    .pairs
                    .iter()
                    .map(|(k, _)| k)
                    .collect::<Vec<_>>(),
            )
            .field("entity_id", &self.fields().entity_id.as_ref().map(|_| ".."))
            .finish()
    }
}

fn valid_value(value: &str, max: usize) -> bool {
    value.len() <= max && !value.chars().any(char::is_control)
}

fn shown_key(key: &str) -> String {
    if key.len() <= 64 && !key.chars().any(char::is_control) {
        key.to_owned()
    } else {
        "(a long or unprintable key)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_ignores_order_and_tells_entities_apart() {
        let a = Context::new().with("a", 1).with("b", "x");
        let b = Context::new().with("b", "x").with("a", 1);
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), a.clone().with_entity_id("e").key());
        assert_ne!(a.key(), a.clone().with("a", 2).key());
        assert_eq!(a.clone().with("a", 2).get("a"), Some("2"));
    }

    #[test]
    fn unsendable_contexts_are_refused_naming_the_key_only() {
        let err = Context::new().with("note", "a,b").validate().unwrap_err();
        assert_eq!(err, ContextError::InvalidValue { key: "note".into() });
        assert!(!err.to_string().contains("a,b"));
        assert!(Context::new().with("x", "line\nbreak").validate().is_err());
        assert!(Context::new().with("bad key", 1).validate().is_err());
        assert!(Context::new().with("", 1).validate().is_err());
        assert!(Context::new()
            .with("x", "v".repeat(1025))
            .validate()
            .is_err());
        assert!(Context::new()
            .with_entity_id("e".repeat(2049))
            .validate()
            .is_err());
        assert!(Context::new()
            .with("name", "Zoë Ünïcode")
            .with("pi", 3.5)
            .validate()
            .is_ok());
        assert!(!format!("{:?}", Context::new().with("k", "secret")).contains("secret"));
        // A bad value replaced by a good one no longer counts.
        assert!(Context::new()
            .with("note", "a,b")
            .with("note", "ok")
            .validate()
            .is_ok());
        assert!(Context::new()
            .with_entity_id("a\nb")
            .with_entity_id("ok")
            .validate()
            .is_ok());
    }
}
