//! The immutable, parsed view of one answer from the agent.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::Error;

/// One configuration version's flags, parsed once and shared by every reader.
///
/// All flags read from one snapshot come from the same configuration version, so code that
/// needs several flags to agree takes one snapshot ([`FlagSource::snapshot`](crate::FlagSource::snapshot))
/// and reads them all from it.
#[derive(Debug)]
pub struct Snapshot {
    version: Option<Box<str>>,
    flags: HashMap<Box<str>, Flag, BuildHasherDefault<NameHasher>>,
    digest: u64,
    /// Flags asked for but absent, already logged for this snapshot (touched on misses only).
    missing_logged: Mutex<HashSet<Box<str>>>,
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
    /// # Ok::<(), flag_runtime::Error>(())
    /// ```
    pub fn parse(body: &[u8], version: Option<&str>) -> Result<Self, Error> {
        let root: Map<String, Value> = serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                Error::InvalidShape {
                    flag: None,
                    detail: "expected a JSON object of flags".into(),
                }
            } else {
                Error::MalformedJson {
                    line: e.line(),
                    column: e.column(),
                    detail: strip_position(&e.to_string()),
                }
            }
        })?;
        let mut flags = HashMap::with_capacity_and_hasher(root.len(), Default::default());
        for (key, value) in root {
            let flag = Flag::from_value(value).map_err(|detail| Error::InvalidShape {
                flag: Some(key.clone()),
                detail,
            })?;
            flags.insert(key.into_boxed_str(), flag);
        }
        Ok(Snapshot {
            version: version.map(Into::into),
            flags,
            digest: digest(body),
            missing_logged: Mutex::default(),
        })
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

    /// Whether `body` and `version` are exactly what this snapshot was parsed from.
    pub(crate) fn same_answer(&self, body: &[u8], version: Option<&str>) -> bool {
        self.version.as_deref() == version && self.digest == digest(body)
    }

    /// The gate check's view: `Some(enabled)`, or `None` (logged once per snapshot and name)
    /// when the flag is missing from the answer.
    pub(crate) fn check(&self, name: &str) -> bool {
        match self.flags.get(name) {
            Some(flag) => flag.enabled,
            None => {
                self.log_missing(name);
                false
            }
        }
    }

    pub(crate) fn log_missing(&self, name: &str) {
        let first = {
            let mut logged = self
                .missing_logged
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            !logged.contains(name) && logged.insert(name.into())
        };
        // Logged after the lock is released: a `tracing` layer may check flags itself.
        if first {
            tracing::warn!(
                flag = name,
                version = self.version(),
                "feature flag is not in the AppConfig configuration; treating it as off"
            );
        }
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

    fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(mut map) = value else {
            return Err(format!("expected an object, found {}", kind(&value)));
        };
        let enabled = match map.remove("enabled") {
            Some(Value::Bool(b)) => b,
            Some(other) => {
                return Err(format!(
                    "`enabled` must be a boolean, found {}",
                    kind(&other)
                ))
            }
            None => return Err("missing `enabled`".into()),
        };
        let variant = match map.remove("_variant") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                return Err(format!(
                    "`_variant` must be a string, found {}",
                    kind(&other)
                ))
            }
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

    /// The attribute `name` as a `T`: `Ok(None)` when absent, an [`Error::AttributeType`] when
    /// present but not a `T`.
    pub fn try_attribute<'a, T: Deserialize<'a>>(&'a self, name: &str) -> Result<Option<T>, Error> {
        match self.details.attributes.get(name) {
            None => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|e| Error::AttributeType {
                    attribute: name.to_owned(),
                    detail: e.to_string(),
                }),
        }
    }

    /// All attributes as JSON.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.details.attributes
    }

    /// For a multi-variant flag, the variant the agent served.
    pub fn variant(&self) -> Option<&str> {
        self.details.variant.as_deref()
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

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A fast, non-keyed hash for flag names (short, trusted strings from our own configuration),
/// eight bytes per step: hashing is on the gate check's path. (FxHash's mixing step.)
#[derive(Default, Clone, Copy)]
pub(crate) struct NameHasher(u64);

impl NameHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for NameHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Whole words, then the tail read as (possibly overlapping) fixed-size loads: no
        // variable-length copy, which would cost a `memcpy` call per lookup.
        let mut rest = bytes;
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            self.add(u64::from_le_bytes(*word));
            rest = tail;
        }
        let n = rest.len();
        if n >= 4 {
            let lo = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
            let hi = u32::from_le_bytes(rest[n - 4..].try_into().expect("4 bytes"));
            self.add(u64::from(lo) | u64::from(hi) << 32);
        } else if n > 0 {
            self.add(
                u64::from(rest[0]) | u64::from(rest[n / 2]) << 8 | u64::from(rest[n - 1]) << 16,
            );
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Fingerprint of an answer body, to recognise an unchanged answer without re-parsing it.
fn digest(bytes: &[u8]) -> u64 {
    let mut h = NameHasher::default();
    h.write(bytes);
    h.write_u8(0xff);
    h.finish() ^ bytes.len() as u64
}
