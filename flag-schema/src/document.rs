use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Problem, SchemaError};
use crate::rule::Rule;

/// A validated AppConfig feature-flag document: flag definitions and their values.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Flag definitions by key.
    pub flags: BTreeMap<String, FlagDefinition>,
    /// Flag values by key (every key is defined in `flags`).
    pub values: BTreeMap<String, ValueEntry>,
    /// What AppConfig may accept but this crate cannot fully check or run, each naming the flag,
    /// the variant and the position: a variant rule this evaluator cannot run (that variant
    /// never matches; every other flag and variant is served), or one using an operator AWS
    /// lists for audience rules only (`ne`).
    pub warnings: Vec<Problem>,
}

/// A flag's definition (`flags.<key>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlagDefinition {
    /// Human-readable name.
    pub name: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// Attribute definitions by key.
    pub attributes: BTreeMap<String, AttributeDefinition>,
    /// Set when the flag is marked for removal (`_deprecation`).
    pub deprecation: Option<Deprecation>,
}

/// An attribute's definition (`flags.<key>.attributes.<attr>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttributeDefinition {
    /// Free-text description.
    pub description: Option<String>,
    /// What values are allowed; `None` allows any attribute value.
    pub constraints: Option<Constraint>,
}

/// `_deprecation` metadata of a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    /// Always `"planned"` in AppConfig's schema.
    pub status: String,
    /// Planned removal date (`YYYY-MM-DD`), if given.
    pub date: Option<String>,
}

/// An attribute constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// The value's type and its bounds.
    pub kind: ConstraintKind,
    /// Whether an enabled flag must carry a value for this attribute.
    pub required: bool,
}

/// The type-specific part of a [`Constraint`].
#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintKind {
    /// A JSON number within optional inclusive bounds.
    Number {
        /// Inclusive lower bound (an integer: AppConfig's schema types the bounds `integer`).
        minimum: Option<f64>,
        /// Inclusive upper bound (an integer).
        maximum: Option<f64>,
    },
    /// A string matching `pattern` or one of `allowed` (never both).
    String {
        /// A regular expression the string must contain a match of.
        pattern: Option<String>,
        /// The allowed values (`enum`, at most 100). AppConfig's schema also admits integer
        /// items: they are kept as their decimal text, which is the string they allow.
        allowed: Option<Vec<String>>,
    },
    /// `true` or `false`.
    Boolean,
    /// An array whose items all meet `elements` (number or string constraints).
    Array {
        /// The constraint every element meets.
        elements: Option<Box<Constraint>>,
    },
}

/// A flag's value (`values.<key>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValueEntry {
    /// Whether the flag is on. A multi-variant flag may omit `enabled` (then `false`); its
    /// variants decide what is served.
    pub enabled: bool,
    /// Attribute values by key (metadata such as `_createdAt` removed).
    pub attributes: Map<String, Value>,
    /// Multi-variant flags: the `_variants`, in order; the last is the default.
    pub variants: Option<Vec<Variant>>,
}

/// One of a multi-variant flag's `_variants`.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The variant's name, served as `_variant`.
    pub name: String,
    /// Whether the flag is on when this variant is served.
    pub enabled: bool,
    /// The parsed rule; `None` only for the last (default) variant.
    pub rule: Option<Rule>,
    /// Attribute values (`attributeValues`), served when `enabled`.
    pub attributes: Map<String, Value>,
}

impl Document {
    /// Parses and validates a document; every broken rule is reported, not just the first.
    /// Variant rules are parsed here, once: a rule that does not parse is a [`SchemaError`]
    /// naming the flag, the variant and the position.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SchemaError::Syntax {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        match crate::validate::document(&value, text) {
            (document, errors) if errors.is_empty() => Ok(document),
            (_, errors) => Err(SchemaError::Invalid(errors)),
        }
    }

    /// What can be read of a document that [`parse`](Self::parse) refuses: every flag and value
    /// as far as it reads, with trailing commas tolerated; `None` when the text is not
    /// JSON even so. For tools that report the error and carry on (`flags!` generates the
    /// flags it can, so one broken value is one error, not one more at every use of a flag).
    ///
    /// ```
    /// use flag_schema::Document;
    ///
    /// let text = r#"{"version": "1", "flags": {"a": {}, "b": {}}, "values": {"a": {"enabled": "yes"}},}"#;
    /// assert!(Document::parse(text).is_err());
    /// let read = Document::recover(text).unwrap();
    /// assert!(read.flag("a").is_some() && read.flag("b").is_some());
    /// ```
    pub fn recover(text: &str) -> Option<Self> {
        let text = without_trailing_commas(text);
        let value: Value = serde_json::from_str(&text).ok()?;
        Some(crate::validate::document(&value, &text).0)
    }

    /// The definition of flag `key`.
    pub fn flag(&self, key: &str) -> Option<&FlagDefinition> {
        self.flags.get(key)
    }

    /// The defined flag whose key is closest to `key`, when close enough to be a typo.
    pub fn suggest(&self, key: &str) -> Option<&str> {
        crate::names::suggest(key, self.flags.keys().map(String::as_str))
    }
}

/// serde_json appends " at line L column C"; the caller reports those separately.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// `text` without the commas that JSON refuses before a `}` or `]` (outside strings).
fn without_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        if in_string {
            (escaped, in_string) = (!escaped && c == '\\', escaped || c != '"');
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = text[i + 1..].trim_start().chars().next();
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}
