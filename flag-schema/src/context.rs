//! The evaluation context of multi-variant flags: the `Context` request headers of the agent.

use std::collections::BTreeMap;
use std::fmt;

/// Context keys and their values (strings, as they arrive in `Context: key=value` headers), one
/// value per key: a key given again replaces its value.
///
/// ```
/// use flag_schema::RuleContext;
///
/// let mut context = RuleContext::new();
/// context.insert("userId", "123");
/// context.insert("userId", "456");
/// assert_eq!(context.get("userId"), Some("456"));
/// assert_eq!(context.get("country"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleContext {
    values: BTreeMap<String, String>,
}

impl RuleContext {
    /// An empty context: every multi-variant flag evaluates to its default variant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.values.insert(key.into(), value.into());
    }

    /// The value of `key`, if one was given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The keys and values, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no key was given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Reads `Context` request header values, in the order received: each is `key=value` or
    /// several pairs separated by commas (`k1=v1,k2=v2`). Keys and values are trimmed; a value
    /// runs to the next comma and may contain `=`; empty segments (`a=1,,b=2`, a blank header)
    /// are skipped; a key given twice keeps its last value.
    ///
    /// ```
    /// use flag_schema::RuleContext;
    ///
    /// let context = RuleContext::from_headers(["email=jane@example.org", "tier=beta, age=42"]).unwrap();
    /// assert_eq!(context.get("age"), Some("42"));
    /// assert_eq!(context.len(), 3);
    ///
    /// let err = RuleContext::from_headers(["tier=beta", "age"]).unwrap_err();
    /// assert_eq!(err.to_string(), "`Context` header 2, pair 1: no `=` between key and value");
    /// ```
    pub fn from_headers<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, RuleContextError> {
        let mut context = RuleContext::new();
        for (h, header) in values.into_iter().enumerate() {
            for (p, pair) in header
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .enumerate()
            {
                let error = |kind| RuleContextError {
                    header: h + 1,
                    pair: p + 1,
                    kind,
                };
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| error(RuleContextErrorKind::MissingEquals))?;
                let key = key.trim();
                if key.is_empty() {
                    return Err(error(RuleContextErrorKind::EmptyKey));
                }
                context.insert(key, value.trim());
            }
        }
        Ok(context)
    }
}

/// A `Context` header that is not `key=value` pairs. It names the header and the pair by
/// position, never their text (a context value may be personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleContextError {
    header: usize,
    pair: usize,
    kind: RuleContextErrorKind,
}

/// What is wrong with a `Context` header pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleContextErrorKind {
    /// The pair has no `=`.
    MissingEquals,
    /// Nothing but spaces before the `=`.
    EmptyKey,
}

impl RuleContextError {
    /// 1-based position of the header among those given.
    pub fn header(&self) -> usize {
        self.header
    }

    /// 1-based position of the pair within its header (blank segments not counted).
    pub fn pair(&self) -> usize {
        self.pair
    }

    /// What is wrong.
    pub fn kind(&self) -> RuleContextErrorKind {
        self.kind
    }
}

impl fmt::Display for RuleContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            RuleContextErrorKind::MissingEquals => "no `=` between key and value",
            RuleContextErrorKind::EmptyKey => "empty key before `=`",
        };
        write!(
            f,
            "`Context` header {}, pair {}: {what}",
            self.header, self.pair
        )
    }
}

impl std::error::Error for RuleContextError {}
