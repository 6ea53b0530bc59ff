//! AppConfig's rules for `AWS.AppConfig.FeatureFlags` documents, checked while building the
//! typed [`Document`]. Every problem is collected so one edit can fix them all.
//!
//! Messages name keys, positions and constraints, and the JSON kind of what was found ("a
//! string"), never a value: the local agent logs them and serves them in its 500 answers, and a
//! flag value must not reach a function's logs that way.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::{
    AttributeDefinition, Constraint, ConstraintKind, Deprecation, Document, FlagDefinition,
    FlagValue,
};
use crate::error::{Problem, SchemaError};
use crate::names::is_valid_key;

/// AppConfig's hard maximum for a hosted configuration (the default quota is 2 MB).
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
const MAX_ATTRIBUTES: usize = 25;
const MAX_NAME_CHARS: usize = 64;
const MAX_DESCRIPTION_CHARS: usize = 1024;
const MAX_STRING_VALUE_CHARS: usize = 1024;
const MAX_ARRAY_ITEMS: usize = 25;

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

pub(crate) fn document(root: &Value, size: usize) -> Result<Document, SchemaError> {
    let mut p = Problems::default();
    if size > MAX_DOCUMENT_BYTES {
        p.add(
            "",
            format!("the document is {size} bytes; AppConfig's maximum is {MAX_DOCUMENT_BYTES}"),
        );
    }
    let Some(top) = root.as_object() else {
        p.add("", format!("expected a JSON object, found {}", kind(root)));
        return Err(SchemaError::Invalid(p.0));
    };
    for key in top.keys() {
        if !matches!(key.as_str(), "version" | "flags" | "values") {
            p.add(
                key.as_str(),
                "unknown top-level key (allowed: `version`, `flags`, `values`)",
            );
        }
    }
    match top.get("version") {
        Some(Value::String(v)) if v == crate::SCHEMA_VERSION => {}
        Some(other) => p.add(
            "version",
            format!(
                "must be the string \"1\", found {}",
                found(other, "a string")
            ),
        ),
        None => p.add("version", "missing; AppConfig requires \"version\": \"1\""),
    }
    let flags = match top.get("flags") {
        None => BTreeMap::new(),
        Some(v) => object(&mut p, "flags", v)
            .map(|flags| {
                flags
                    .iter()
                    .filter_map(|(key, def)| {
                        let path = format!("flags.{key}");
                        check_key(&mut p, &path, key, "flag");
                        flag_definition(&mut p, &path, def).map(|d| (key.clone(), d))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let values = match top.get("values") {
        None => BTreeMap::new(),
        Some(v) => object(&mut p, "values", v)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|(key, value)| {
                        let path = format!("values.{key}");
                        check_key(&mut p, &path, key, "flag");
                        let Some(def) = flags.get(key) else {
                            let hint = crate::names::suggest(key, flags.keys().map(String::as_str))
                                .map(|s| format!("; did you mean `{s}`?"))
                                .unwrap_or_default();
                            p.add(path, format!("value for undefined flag `{key}`{hint}"));
                            return None;
                        };
                        flag_value(&mut p, &path, def, value).map(|v| (key.clone(), v))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    if p.0.is_empty() {
        Ok(Document { flags, values })
    } else {
        Err(SchemaError::Invalid(p.0))
    }
}

fn flag_definition(p: &mut Problems, path: &str, value: &Value) -> Option<FlagDefinition> {
    let def = object(p, path, value)?;
    let mut out = FlagDefinition::default();
    for (key, v) in def {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "name" => out.name = text(p, &here, v, MAX_NAME_CHARS, false),
            "description" => out.description = text(p, &here, v, MAX_DESCRIPTION_CHARS, true),
            "_createdAt" | "_updatedAt" => {
                if !v.is_string() {
                    p.add(here, format!("must be a string, found {}", kind(v)));
                }
            }
            "_deprecation" => out.deprecation = deprecation(p, &here, v),
            "attributes" => {
                let Some(attrs) = object(p, &here, v) else {
                    continue;
                };
                if attrs.len() > MAX_ATTRIBUTES {
                    p.add(
                        here.as_str(),
                        format!(
                            "{} attributes; AppConfig allows at most {MAX_ATTRIBUTES}",
                            attrs.len()
                        ),
                    );
                }
                for (name, attr) in attrs {
                    let at = format!("{here}.{name}");
                    check_key(p, &at, name, "attribute");
                    if name == "enabled" {
                        p.add(at.as_str(), "`enabled` is reserved and cannot be an attribute");
                    }
                    if let Some(a) = attribute_definition(p, &at, attr) {
                        out.attributes.insert(name.clone(), a);
                    }
                }
            }
            _ => p.add(
                here,
                "unknown key in a flag definition (allowed: `name`, `description`, `attributes`, `_deprecation`, `_createdAt`, `_updatedAt`)",
            ),
        }
    }
    Some(out)
}

fn deprecation(p: &mut Problems, path: &str, value: &Value) -> Option<Deprecation> {
    let obj = object(p, path, value)?;
    let mut status = None;
    let mut date = None;
    for (key, v) in obj {
        let here = format!("{path}.{key}");
        match (key.as_str(), v) {
            ("status", Value::String(s)) if s == "planned" => status = Some(s.clone()),
            ("status", other) => p.add(
                here,
                format!("must be \"planned\", found {}", found(other, "a string")),
            ),
            ("date", Value::String(s)) if is_date(s) => date = Some(s.clone()),
            ("date", other) => p.add(
                here,
                format!(
                    "must be a date `YYYY-MM-DD`, found {}",
                    found(other, "a string")
                ),
            ),
            _ => p.add(
                here,
                "unknown key in `_deprecation` (allowed: `status`, `date`)",
            ),
        }
    }
    Some(Deprecation {
        status: status.unwrap_or_else(|| "planned".to_owned()),
        date,
    })
}

fn attribute_definition(
    p: &mut Problems,
    path: &str,
    value: &Value,
) -> Option<AttributeDefinition> {
    let obj = object(p, path, value)?;
    let mut out = AttributeDefinition::default();
    for (key, v) in obj {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "description" => out.description = text(p, &here, v, MAX_DESCRIPTION_CHARS, true),
            "constraints" => out.constraints = constraint(p, &here, v, true),
            _ => p.add(
                here,
                "unknown key in an attribute definition (allowed: `description`, `constraints`)",
            ),
        }
    }
    Some(out)
}

fn constraint(p: &mut Problems, path: &str, value: &Value, top_level: bool) -> Option<Constraint> {
    let obj = object(p, path, value)?;
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            p.add(
                format!("{path}.type"),
                format!("must be a string, found {}", kind(other)),
            );
            return None;
        }
        None => {
            p.add(path, "missing `type` (number, string, boolean or array)");
            return None;
        }
    };
    let allowed: &[&str] = match (ty, top_level) {
        ("number", _) => &["type", "required", "minimum", "maximum"],
        ("string", _) => &["type", "required", "pattern", "enum"],
        ("boolean", true) => &["type", "required"],
        ("array", true) => &["type", "required", "elements"],
        _ => {
            let expected = if top_level {
                "number, string, boolean or array"
            } else {
                "number or string (array elements)"
            };
            p.add(
                format!("{path}.type"),
                format!("unknown constraint type (expected {expected})"),
            );
            return None;
        }
    };
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            p.add(
                format!("{path}.{key}"),
                format!(
                    "not allowed in a `{ty}` constraint (allowed: {})",
                    allowed.join(", ")
                ),
            );
        }
    }
    let required = match obj.get("required") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            p.add(
                format!("{path}.required"),
                format!("must be a boolean, found {}", kind(other)),
            );
            false
        }
    };
    let kind = match ty {
        "number" => {
            let bound = |p: &mut Problems, name: &str| match obj.get(name) {
                None => None,
                Some(Value::Number(n)) => n.as_f64(),
                Some(other) => {
                    p.add(
                        format!("{path}.{name}"),
                        format!("must be a number, found {}", kind(other)),
                    );
                    None
                }
            };
            let (minimum, maximum) = (bound(p, "minimum"), bound(p, "maximum"));
            if let (Some(lo), Some(hi)) = (minimum, maximum) {
                if lo > hi {
                    p.add(path, format!("`minimum` {lo} is above `maximum` {hi}"));
                }
            }
            ConstraintKind::Number { minimum, maximum }
        }
        "string" => {
            let pattern = match obj.get("pattern") {
                None => None,
                Some(Value::String(re)) => {
                    if let Err(e) = regex_lite::Regex::new(re) {
                        p.add(
                            format!("{path}.pattern"),
                            format!("invalid regular expression: {e}"),
                        );
                    }
                    Some(re.clone())
                }
                Some(other) => {
                    p.add(
                        format!("{path}.pattern"),
                        format!("must be a string, found {}", kind(other)),
                    );
                    None
                }
            };
            let allowed = match obj.get("enum") {
                None => None,
                Some(Value::Array(items))
                    if !items.is_empty() && items.iter().all(Value::is_string) =>
                {
                    Some(
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect(),
                    )
                }
                Some(_) => {
                    p.add(
                        format!("{path}.enum"),
                        "must be a non-empty array of strings",
                    );
                    None
                }
            };
            if obj.contains_key("pattern") && obj.contains_key("enum") {
                p.add(
                    path,
                    "a string constraint takes `pattern` or `enum`, not both",
                );
            }
            ConstraintKind::String { pattern, allowed }
        }
        "boolean" => ConstraintKind::Boolean,
        _ => ConstraintKind::Array {
            elements: obj
                .get("elements")
                .and_then(|e| constraint(p, &format!("{path}.elements"), e, false))
                .map(Box::new),
        },
    };
    Some(Constraint { kind, required })
}

fn flag_value(
    p: &mut Problems,
    path: &str,
    def: &FlagDefinition,
    value: &Value,
) -> Option<FlagValue> {
    let obj = object(p, path, value)?;
    let mut out = FlagValue::default();
    match obj.get("enabled") {
        Some(Value::Bool(b)) => out.enabled = *b,
        Some(other) => p.add(
            format!("{path}.enabled"),
            format!("must be a boolean, found {}", kind(other)),
        ),
        None => p.add(path, "missing `enabled` (true or false)"),
    }
    for (key, v) in obj {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "enabled" => {}
            "_createdAt" | "_updatedAt" => {
                if !v.is_string() {
                    p.add(here, format!("must be a string, found {}", kind(v)));
                }
            }
            "_variants" => match v {
                Value::Array(items) => {
                    for (i, variant) in items.iter().enumerate() {
                        check_variant(
                            p,
                            &format!("{here}[{i}]"),
                            def,
                            variant,
                            i + 1 == items.len(),
                        );
                    }
                    out.variants = Some(items.clone());
                }
                other => p.add(
                    here,
                    format!("must be an array of variants, found {}", kind(other)),
                ),
            },
            _ if key.starts_with('_') => p.add(here, "unknown metadata key"),
            _ => {
                attribute_value(p, &here, key, def, v);
                out.attributes.insert(key.clone(), v.clone());
            }
        }
    }
    if out.enabled {
        for (name, attr) in &def.attributes {
            let required = attr.constraints.as_ref().is_some_and(|c| c.required);
            if required && !out.attributes.contains_key(name) && out.variants.is_none() {
                p.add(path, format!("required attribute `{name}` has no value"));
            }
        }
    }
    Some(out)
}

fn check_variant(p: &mut Problems, path: &str, def: &FlagDefinition, variant: &Value, last: bool) {
    let Some(obj) = object(p, path, variant) else {
        return;
    };
    if !obj.get("name").is_some_and(Value::is_string) {
        p.add(path, "a variant needs a string `name`");
    }
    if !obj.get("enabled").is_some_and(Value::is_boolean) {
        p.add(path, "a variant needs a boolean `enabled`");
    }
    match obj.get("rule") {
        Some(Value::String(_)) if !last => {}
        Some(Value::String(_)) => {
            p.add(path, "the last variant is the default and takes no `rule`")
        }
        Some(other) => p.add(
            format!("{path}.rule"),
            format!("must be a string, found {}", kind(other)),
        ),
        None if !last => p.add(path, "only the last (default) variant may omit `rule`"),
        None => {}
    }
    if let Some(values) = obj.get("attributeValues") {
        if let Some(values) = object(p, &format!("{path}.attributeValues"), values) {
            for (key, v) in values {
                attribute_value(p, &format!("{path}.attributeValues.{key}"), key, def, v);
            }
        }
    }
}

fn attribute_value(p: &mut Problems, path: &str, key: &str, def: &FlagDefinition, value: &Value) {
    let Some(attr) = def.attributes.get(key) else {
        let known: Vec<&str> = def.attributes.keys().map(String::as_str).collect();
        let hint = crate::names::suggest(key, known.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        p.add(
            path,
            format!("attribute `{key}` is not defined for this flag{hint}"),
        );
        return;
    };
    match value {
        Value::String(s) if s.chars().count() > MAX_STRING_VALUE_CHARS => p.add(
            path,
            format!(
                "string of {} characters; AppConfig allows at most {MAX_STRING_VALUE_CHARS}",
                s.chars().count()
            ),
        ),
        Value::Array(items) => {
            if items.len() > MAX_ARRAY_ITEMS {
                p.add(
                    path,
                    format!(
                        "{} items; AppConfig allows at most {MAX_ARRAY_ITEMS}",
                        items.len()
                    ),
                );
            }
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            if !all_strings && !all_numbers {
                p.add(path, "an array value holds only strings or only numbers");
            }
        }
        Value::Null | Value::Object(_) => {
            p.add(
                path,
                format!(
                    "attribute values are strings, numbers, booleans or arrays; found {}",
                    kind(value)
                ),
            );
            return;
        }
        _ => {}
    }
    if let Some(c) = &attr.constraints {
        meets(p, path, c, value);
    }
}

fn meets(p: &mut Problems, path: &str, c: &Constraint, value: &Value) {
    match (&c.kind, value) {
        (ConstraintKind::Number { minimum, maximum }, Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if let Some(lo) = minimum.filter(|lo| x < *lo) {
                p.add(path, format!("the number is below the minimum {lo}"));
            }
            if let Some(hi) = maximum.filter(|hi| x > *hi) {
                p.add(path, format!("the number is above the maximum {hi}"));
            }
        }
        (ConstraintKind::String { pattern, allowed }, Value::String(s)) => {
            if let Some(allowed) = allowed.as_ref().filter(|a| !a.contains(s)) {
                p.add(
                    path,
                    format!("the string is not one of the allowed values {allowed:?}"),
                );
            }
            if let Some(re) = pattern {
                if regex_lite::Regex::new(re).is_ok_and(|r| !r.is_match(s)) {
                    p.add(
                        path,
                        format!("the string does not match the pattern `{re}`"),
                    );
                }
            }
        }
        (ConstraintKind::Boolean, Value::Bool(_)) => {}
        (ConstraintKind::Array { elements }, Value::Array(items)) => {
            if let Some(e) = elements {
                for (i, item) in items.iter().enumerate() {
                    meets(p, &format!("{path}[{i}]"), e, item);
                }
            }
        }
        (kind_of, other) => {
            let want = match kind_of {
                ConstraintKind::Number { .. } => "a number",
                ConstraintKind::String { .. } => "a string",
                ConstraintKind::Boolean => "a boolean",
                ConstraintKind::Array { .. } => "an array",
            };
            p.add(path, format!("expected {want}, found {}", kind(other)));
        }
    }
}

fn object<'v>(p: &mut Problems, path: &str, value: &'v Value) -> Option<&'v Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            p.add(path, format!("expected an object, found {}", kind(other)));
            None
        }
    }
}

fn check_key(p: &mut Problems, path: &str, key: &str, what: &str) {
    if !is_valid_key(key) {
        p.add(
            path,
            format!("`{key}` is not a valid {what} key: AppConfig requires ^[a-z][a-zA-Z0-9_-]{{0,63}}$"),
        );
    }
}

fn text(p: &mut Problems, path: &str, value: &Value, max: usize, newlines: bool) -> Option<String> {
    let Value::String(s) = value else {
        p.add(path, format!("must be a string, found {}", kind(value)));
        return None;
    };
    let chars = s.chars().count();
    if chars == 0 || chars > max {
        p.add(
            path,
            format!("must be 1 to {max} characters, found {chars}"),
        );
    }
    if !newlines && s.contains(['\n', '\r']) {
        p.add(path, "must not contain a line break");
    }
    Some(s.clone())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31))
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

/// What was found instead of one expected value of kind `expected`, for an error message: its
/// JSON kind, never the value itself (a flag value must not reach a log or a compile error).
fn found(value: &Value, expected: &str) -> String {
    match kind(value) {
        same if same == expected => format!("another {}", same.trim_start_matches("a ")),
        other => other.to_owned(),
    }
}
