//! Reading a typed value from a flag: `enabled` for a boolean of `flag`, an attribute for
//! `flag.attribute`, the whole flag for a structure of `flag`.
//!
//! Errors name the flag, the attribute and the types, never a value (attribute values may hold
//! customer data).

use flag_runtime::Flag;
use open_feature::{EvaluationError, EvaluationErrorCode, StructValue, Value};
use serde_json::Value as Json;

use crate::key::Key;

/// A type OpenFeature resolves, read from an AppConfig flag.
pub(crate) trait Resolvable: Sized {
    /// The OpenFeature name of the type, for messages.
    const NAME: &'static str;

    /// The value of a key without attribute (`flag`).
    fn from_flag(flag: &Flag) -> Option<Self>;

    /// The value of an attribute.
    fn from_attribute(value: &Json) -> Option<Self>;
}

/// The value `key` names in `flag`.
pub(crate) fn read<T: Resolvable>(key: Key<'_>, flag: &Flag) -> Result<T, EvaluationError> {
    let Some(attribute) = key.attribute else {
        return T::from_flag(flag).ok_or_else(|| {
            mismatch(format!(
                "flag `{}` is a boolean (its `enabled`), not {}; name an attribute as \
                 `{}.attribute`",
                key.flag,
                T::NAME,
                key.flag
            ))
        });
    };
    let Some(value) = flag.attributes().get(attribute) else {
        let message = if flag.is_enabled() {
            format!("flag `{}` has no attribute `{attribute}`", key.flag)
        } else {
            format!(
                "flag `{}` is off, so it has no attributes (`{attribute}` asked for)",
                key.flag
            )
        };
        return Err(EvaluationError {
            code: EvaluationErrorCode::FlagNotFound,
            message: Some(message),
        });
    };
    T::from_attribute(value).ok_or_else(|| {
        mismatch(format!(
            "attribute `{attribute}` of flag `{}` is {}, not {}",
            key.flag,
            kind(value),
            T::NAME
        ))
    })
}

fn mismatch(message: String) -> EvaluationError {
    EvaluationError {
        code: EvaluationErrorCode::TypeMismatch,
        message: Some(message),
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a float",
        Json::Number(n) if n.is_u64() && n.as_i64().is_none() => {
            "an integer outside the 64-bit signed range"
        }
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

impl Resolvable for bool {
    const NAME: &'static str = "a boolean";
    fn from_flag(flag: &Flag) -> Option<Self> {
        Some(flag.is_enabled())
    }
    fn from_attribute(value: &Json) -> Option<Self> {
        value.as_bool()
    }
}

impl Resolvable for i64 {
    const NAME: &'static str = "an integer";
    fn from_flag(_: &Flag) -> Option<Self> {
        None
    }
    /// Integers only: `2.5` (or `2.0`, which JSON keeps a float) is a mismatch, not truncated.
    fn from_attribute(value: &Json) -> Option<Self> {
        value.as_i64()
    }
}

impl Resolvable for f64 {
    const NAME: &'static str = "a float";
    fn from_flag(_: &Flag) -> Option<Self> {
        None
    }
    /// Any number: AppConfig has one number type, and `5` is a fine percentage.
    fn from_attribute(value: &Json) -> Option<Self> {
        value.as_f64()
    }
}

impl Resolvable for String {
    const NAME: &'static str = "a string";
    fn from_flag(_: &Flag) -> Option<Self> {
        None
    }
    fn from_attribute(value: &Json) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
}

impl Resolvable for StructValue {
    const NAME: &'static str = "a structure";
    /// The whole flag: `enabled` and every attribute (arrays as arrays).
    fn from_flag(flag: &Flag) -> Option<Self> {
        let mut out = StructValue::default();
        out.add_field("enabled", flag.is_enabled());
        for (name, value) in flag.attributes() {
            out.add_field(name.as_str(), to_value(value)?);
        }
        Some(out)
    }
    /// AppConfig attributes are strings, numbers, booleans and arrays, never objects: always a
    /// mismatch (kept for the message).
    fn from_attribute(value: &Json) -> Option<Self> {
        match to_value(value)? {
            Value::Struct(value) => Some(value),
            _ => None,
        }
    }
}

/// A JSON value as an OpenFeature value: integers that fit an `i64` as integers, other numbers
/// as floats; `None` for a `null` (which no AppConfig attribute holds).
fn to_value(value: &Json) -> Option<Value> {
    Some(match value {
        Json::Null => return None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(to_value).collect::<Option<_>>()?),
        Json::Object(map) => {
            let mut out = StructValue::default();
            for (k, v) in map {
                out.add_field(k.as_str(), to_value(v)?);
            }
            Value::Struct(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use flag_runtime::Snapshot;

    use super::*;

    fn message_reading<T: Resolvable>(key: &str) -> String {
        let body = br#"{"f": {"enabled": true, "ratio": 0.25, "huge": 18446744073709551615}}"#;
        let snapshot = Snapshot::parse(body, Some("1")).unwrap();
        let flag = snapshot.flag("f").unwrap();
        read::<T>(Key::parse(key), flag)
            .err()
            .unwrap()
            .message
            .unwrap()
    }

    #[test]
    fn mismatch_messages_name_both_types() {
        assert_eq!(
            message_reading::<i64>("f.ratio"),
            "attribute `ratio` of flag `f` is a float, not an integer"
        );
        assert_eq!(
            message_reading::<i64>("f.huge"),
            "attribute `huge` of flag `f` is an integer outside the 64-bit signed range, not an integer"
        );
        assert!(message_reading::<String>("f")
            .starts_with("flag `f` is a boolean (its `enabled`), not a string;"));
    }
}
