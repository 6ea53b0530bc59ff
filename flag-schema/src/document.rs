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
    /// as far as it reads, with the usual slips repaired (a trailing or missing comma, a
    /// comment); `None` when the text is not JSON even so. For tools that report the error and carry on (`flags!` generates the
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
        let text = repaired(text);
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

/// `text` with the slips JSON refuses and people make repaired, as far as a guess is safe:
/// trailing commas dropped, missing commas between values added, `//` and `/* */` comments
/// removed. Strings are copied as they are.
fn repaired(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    // Whether the last token ended a value (a string, a literal, `}` or `]`): a value that
    // starts right after one is missing its comma.
    let mut after_value = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = after_comment(rest) {
            rest = after;
            continue;
        }
        let len = c.len_utf8();
        match c {
            '"' => {
                if after_value {
                    out.push(',');
                }
                let end = string_end(rest);
                out.push_str(&rest[..end]);
                rest = &rest[end..];
                after_value = true;
                continue;
            }
            ',' => {
                after_value = false;
                if matches!(next_significant(&rest[1..]), Some('}' | ']')) {
                    rest = &rest[1..];
                    continue;
                }
            }
            '{' | '[' => {
                if after_value {
                    out.push(',');
                }
                after_value = false;
            }
            '}' | ']' => after_value = true,
            ':' => after_value = false,
            c if c.is_whitespace() => {}
            _ => {
                if after_value {
                    out.push(',');
                }
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-')))
                    .unwrap_or(rest.len())
                    .max(len);
                out.push_str(&rest[..end]);
                rest = &rest[end..];
                after_value = true;
                continue;
            }
        }
        out.push(c);
        rest = &rest[len..];
    }
    out
}

/// The first character of `text` that is neither whitespace nor in a comment.
fn next_significant(mut text: &str) -> Option<char> {
    loop {
        text = text.trim_start();
        match after_comment(text) {
            Some(rest) => text = rest,
            None => return text.chars().next(),
        }
    }
}

/// What follows the `//` or `/* */` comment that opens `text`, if one does.
fn after_comment(text: &str) -> Option<&str> {
    if let Some(line) = text.strip_prefix("//") {
        Some(line.find('\n').map_or("", |n| &line[n..]))
    } else {
        let block = text.strip_prefix("/*")?;
        Some(block.find("*/").map_or("", |n| &block[n + 2..]))
    }
}

/// The length of the JSON string that opens `text` (at its `"`), its closing quote included;
/// all of `text` when it is not closed.
fn string_end(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return i + 1,
            _ => escaped = false,
        }
    }
    text.len()
}
