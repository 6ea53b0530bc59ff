//! The immutable, parsed view of one answer from the agent.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{flag_key, AttributeError, ParseError, ShapeProblem};

/// The flag map's hasher: seeded per process and per map, so an answer whose names were built to
/// collide cannot make parsing or lookups quadratic.
type Names = foldhash::fast::RandomState;

/// One configuration version's flags, parsed once and shared by every reader.
///
/// All flags read from one snapshot come from the same configuration version, so code that
/// needs several flags to agree takes one snapshot ([`FlagSource::snapshot`](crate::FlagSource::snapshot))
/// and reads them all from it.
#[derive(Debug)]
pub struct Snapshot {
    version: Option<Box<str>>,
    flags: HashMap<Box<str>, Flag, Names>,
    /// Set when published: unique in the process, 0 for a snapshot never published (parsed
    /// by hand, or laid over by overrides). Call-site memos tag their answer with it.
    pub(crate) generation: u64,
}

/// One flag's evaluated state: on or off, its attributes and, for multi-variant flags, the
/// variant the agent chose. Cloning is cheap (the attributes are shared).
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    enabled: bool,
    details: Arc<Details>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Details {
    attributes: Map<String, Value>,
    variant: Option<String>,
}

impl Snapshot {
    /// Parses the agent's answer for a feature-flag profile:
    /// `{"flagKey": {"enabled": bool, "attr": value, ...}, ...}`.
    ///
    /// The whole answer is refused if any flag is malformed, so a snapshot never mixes good and
    /// bad data; the caller keeps its last-known-good snapshot instead.
    ///
    /// ```
    /// use flag_runtime::Snapshot;
    ///
    /// let snapshot = Snapshot::parse(
    ///     br#"{"newCheckout": {"enabled": true, "limit": 5}, "banner": {"enabled": false}}"#,
    ///     Some("7"),
    /// )?;
    /// assert!(snapshot.is_enabled("newCheckout"));
    /// assert_eq!(snapshot.version(), Some("7"));
    /// assert_eq!(snapshot.flag("newCheckout").unwrap().attribute::<u32>("limit"), Some(5));
    /// assert!(!snapshot.is_enabled("banner"));
    /// assert!(!snapshot.is_enabled("unknown"));
    /// # Ok::<(), flag_runtime::ParseError>(())
    /// ```
    pub fn parse(body: &[u8], version: Option<&str>) -> Result<Self, ParseError> {
        let root: Map<String, Value> = serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                // serde's message would quote the answer: only the problem is kept.
                ParseError::InvalidShape {
                    flag: None,
                    problem: ShapeProblem::NotAnObjectOfFlags,
                }
            } else {
                ParseError::MalformedJson {
                    line: e.line(),
                    column: e.column(),
                }
            }
        })?;
        let mut flags = HashMap::with_capacity_and_hasher(root.len(), Names::default());
        for (key, value) in root {
            let flag = Flag::from_value(value).map_err(|problem| ParseError::InvalidShape {
                flag: flag_key(&key).map(str::to_owned),
                problem,
            })?;
            flags.insert(key.into_boxed_str(), flag);
        }
        Ok(Snapshot {
            version: version.map(Into::into),
            flags,
            generation: 0,
        })
    }

    /// The same flags with `forced` laid over them (test overrides).
    pub(crate) fn overlaid<'a>(
        base: Option<&Snapshot>,
        forced: impl IntoIterator<Item = (&'a str, &'a Flag)>,
    ) -> Snapshot {
        let mut flags = base.map_or_else(HashMap::default, |b| b.flags.clone());
        for (name, flag) in forced {
            flags.insert(name.into(), flag.clone());
        }
        Snapshot {
            version: base.and_then(|b| b.version.clone()),
            flags,
            generation: 0,
        }
    }

    /// The `Configuration-Version` the agent sent with this answer.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The flag named `name`, if the answer has it.
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.get(name)
    }

    /// Whether `name` is on; a flag missing from the answer is off.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.flags.get(name).is_some_and(|f| f.enabled)
    }

    /// Whether `name` is on, or `None` when the answer does not have it.
    #[inline]
    pub(crate) fn enabled(&self, name: &str) -> Option<bool> {
        self.flags.get(name).map(|f| f.enabled)
    }

    /// All flags, in no particular order.
    pub fn flags(&self) -> impl Iterator<Item = (&str, &Flag)> {
        self.flags.iter().map(|(k, v)| (&**k, v))
    }

    /// How many flags the answer holds.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether the answer holds no flag at all.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }
}

impl Flag {
    /// A flag in the given state with no attributes (for tests and overrides).
    pub fn new(enabled: bool) -> Self {
        Flag {
            enabled,
            details: Arc::default(),
        }
    }

    /// A copy of this flag with `name` set to `value`.
    pub fn with_attribute(mut self, name: impl Into<String>, value: Value) -> Self {
        Arc::make_mut(&mut self.details)
            .attributes
            .insert(name.into(), value);
        self
    }

    /// A copy of this flag serving `variant` (typed overrides).
    pub(crate) fn with_variant(mut self, variant: Option<String>) -> Self {
        Arc::make_mut(&mut self.details).variant = variant;
        self
    }

    fn from_value(value: Value) -> Result<Self, ShapeProblem> {
        let Value::Object(mut map) = value else {
            return Err(ShapeProblem::FlagNotAnObject);
        };
        let enabled = match map.remove("enabled") {
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(ShapeProblem::EnabledNotBoolean),
            None => return Err(ShapeProblem::MissingEnabled),
        };
        let variant = match map.remove("_variant") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(ShapeProblem::VariantNotString),
        };
        map.retain(|k, _| !k.starts_with('_'));
        Ok(Flag {
            enabled,
            details: Arc::new(Details {
                attributes: map,
                variant,
            }),
        })
    }

    /// Whether the flag is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The attribute `name` as a `T`, or `None` when it is absent or of another type.
    ///
    /// A disabled flag has no attributes. Use [`try_attribute`](Self::try_attribute) to tell
    /// "absent" from "wrong type".
    pub fn attribute<'a, T: Deserialize<'a>>(&'a self, name: &str) -> Option<T> {
        match self.try_attribute(name) {
            Ok(value) => value,
            Err(_) => {
                // Not the error itself: serde's message quotes the value, and attribute values
                // may hold customer data. Only names are logged.
                tracing::debug!(
                    attribute = name,
                    expected = std::any::type_name::<T>(),
                    "attribute has an unexpected type; treated as absent"
                );
                None
            }
        }
    }

    /// The attribute `name` as a `T`: `Ok(None)` when absent, an [`AttributeError`] (naming the
    /// attribute and the types, never the value) when present but not a `T`.
    ///
    /// ```
    /// # let snapshot = flag_runtime::Snapshot::parse(br#"{"banner": {"enabled": true, "text": "Hi"}}"#, None)?;
    /// let banner = snapshot.flag("banner").unwrap();
    /// assert_eq!(banner.try_attribute::<String>("text")?, Some("Hi".to_owned()));
    /// assert_eq!(banner.try_attribute::<String>("color")?, None);
    /// let error = banner.try_attribute::<u32>("text").unwrap_err();
    /// assert_eq!(error.to_string(), "attribute `text` is a string, which does not fit a `u32`");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_attribute<'a, T: Deserialize<'a>>(
        &'a self,
        name: &str,
    ) -> Result<Option<T>, AttributeError> {
        match self.details.attributes.get(name) {
            None => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|_| AttributeError {
                attribute: name.to_owned(),
                expected: std::any::type_name::<T>(),
                found: kind(value),
            }),
        }
    }

    /// All attributes as JSON.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.details.attributes
    }

    /// For a multi-variant flag, the variant the agent served (its `_variant`, as sent: a
    /// treatment key such as `__t1__` for a flag under experiment).
    pub fn variant(&self) -> Option<&str> {
        self.details.variant.as_deref()
    }

    /// The experiment treatment this answer carries, when the agent served one (see
    /// [`Assignment`]); `None` for an ordinary answer. Never invented: it is read from the
    /// `_variant` the agent sent.
    ///
    /// ```
    /// use flag_runtime::{Assignment, Snapshot};
    ///
    /// let snapshot = Snapshot::parse(
    ///     br#"{"checkoutButton": {"_variant": "__t1__", "enabled": true, "color": "green"},
    ///         "banner": {"_variant": "gold", "enabled": true}}"#,
    ///     None,
    /// )?;
    /// let button = snapshot.flag("checkoutButton").unwrap();
    /// assert_eq!(button.assignment(), Some(Assignment::Treatment(1)));
    /// assert_eq!(button.assignment().unwrap().to_string(), "__t1__");
    /// assert_eq!(snapshot.flag("banner").unwrap().assignment(), None);
    /// # Ok::<(), flag_runtime::ParseError>(())
    /// ```
    pub fn assignment(&self) -> Option<Assignment> {
        Assignment::from_variant(self.details.variant.as_deref()?)
    }
}

/// The experiment treatment an entity was assigned. While an AppConfig experiment run is
/// active, the agent serves the flag of an entity it assigned with the `_variant` `__c__` (the
/// control) or `__t1__`, `__t2__`, ... (the treatments, in the definition's order), and that
/// treatment's `enabled` and attribute values. An entity outside the audience or the exposure
/// gets the deployed value, which carries no assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Assignment {
    /// `__c__`: the control, the experiment's baseline.
    Control,
    /// `__tN__`: treatment N, from 1 (AppConfig allows up to 5).
    Treatment(u8),
}

impl Assignment {
    /// The assignment a `_variant` names: `__c__`, or `__tN__` with N from 1 to 255 written
    /// without leading zeros; `None` for any other variant name.
    pub fn from_variant(variant: &str) -> Option<Self> {
        if variant == "__c__" {
            return Some(Assignment::Control);
        }
        let n = variant.strip_prefix("__t")?.strip_suffix("__")?;
        if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n.parse().ok().map(Assignment::Treatment)
    }
}

impl std::fmt::Display for Assignment {
    /// The treatment key, as the agent serves it: `__c__`, `__t1__`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Assignment::Control => f.write_str("__c__"),
            Assignment::Treatment(n) => write!(f, "__t{n}__"),
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_read_from_treatment_keys_only() {
        for (variant, expected) in [
            ("__c__", Some(Assignment::Control)),
            ("__t1__", Some(Assignment::Treatment(1))),
            ("__t5__", Some(Assignment::Treatment(5))),
            ("__t12__", Some(Assignment::Treatment(12))),
            ("__t0__", None),
            ("__t01__", None),
            ("__t+1__", None),
            ("__t256__", None),
            ("__t__", None),
            ("__c", None),
            ("c", None),
            ("t1", None),
            ("gold", None),
        ] {
            assert_eq!(Assignment::from_variant(variant), expected, "{variant}");
            if let Some(a) = expected {
                assert_eq!(a.to_string(), variant);
            }
        }
    }
}
