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
    ValueEntry, Variant,
};
use crate::error::Problem;
use crate::locate::{position, Step};
use crate::names::is_valid_key;
use crate::rule::{Rule, MAX_RULE_CHARS};

/// AppConfig's hard maximum for a hosted configuration (the default quota is 2 MB).
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
const MAX_ATTRIBUTES: usize = 25;
const MAX_NAME_CHARS: usize = 64;
const MAX_DESCRIPTION_CHARS: usize = 1024;
const MAX_STRING_VALUE_CHARS: usize = 1024;
const MAX_PATTERN_CHARS: usize = 1024;
const MAX_ENUM_ITEMS: usize = 100;
const MAX_VARIANTS: usize = 32;

#[derive(Default)]
pub(crate) struct Problems {
    pub(crate) errors: Vec<Problem>,
    /// What AppConfig may accept but this crate cannot fully check or run.
    pub(crate) warnings: Vec<Problem>,
}

impl Problems {
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// The document `root` (parsed from `text`) and AppConfig's rules it breaks: the document
/// holds every flag and value that is valid on its own, whatever else is broken.
pub(crate) fn document(root: &Value, text: &str) -> (Document, Vec<Problem>) {
    let size = text.len();
    let mut p = Problems::default();
    if size > MAX_DOCUMENT_BYTES {
        p.add(
            "",
            format!("the document is {size} bytes; AppConfig's maximum is {MAX_DOCUMENT_BYTES}"),
        );
    }
    let Some(top) = root.as_object() else {
        p.add("", format!("expected a JSON object, found {}", kind(root)));
        let empty = Document {
            flags: BTreeMap::new(),
            values: BTreeMap::new(),
            warnings: p.warnings,
        };
        return (empty, p.errors);
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
                        let at = Here {
                            path: &path,
                            flag: key,
                            text,
                        };
                        flag_value(&mut p, &at, def, value).map(|v| (key.clone(), v))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let document = Document {
        flags,
        values,
        warnings: p.warnings,
    };
    (document, p.errors)
}

fn flag_definition(p: &mut Problems, path: &str, value: &Value) -> Option<FlagDefinition> {
    let def = object(p, path, value)?;
    let mut out = FlagDefinition::default();
    for (key, v) in def {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "name" => out.name = name(p, &here, v),
            "description" => out.description = description(p, &here, v),
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
            "description" => out.description = description(p, &here, v),
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
                Some(Value::Number(n)) if is_integer(n) => n.as_f64(),
                Some(Value::Number(_)) => {
                    p.add(
                        format!("{path}.{name}"),
                        "must be an integer (AppConfig's schema types the bounds `integer`), found a number with a fraction",
                    );
                    None
                }
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
                    let chars = re.chars().count();
                    if chars > MAX_PATTERN_CHARS {
                        p.add(
                            format!("{path}.pattern"),
                            format!(
                                "{chars} characters; AppConfig allows at most {MAX_PATTERN_CHARS}"
                            ),
                        );
                    }
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
                Some(Value::Array(items)) => Some(enum_items(p, &format!("{path}.enum"), items)),
                Some(other) => {
                    p.add(
                        format!("{path}.enum"),
                        format!(
                            "must be an array of strings or integers, found {}",
                            kind(other)
                        ),
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

/// Where a flag value sits: its dotted path, its key, and the document's text (to locate rules).
struct Here<'a> {
    path: &'a str,
    flag: &'a str,
    text: &'a str,
}

fn flag_value(
    p: &mut Problems,
    at: &Here<'_>,
    def: &FlagDefinition,
    value: &Value,
) -> Option<ValueEntry> {
    let path = at.path;
    let obj = object(p, path, value)?;
    let mut out = ValueEntry::default();
    match obj.get("enabled") {
        Some(Value::Bool(b)) => out.enabled = *b,
        Some(other) => p.add(
            format!("{path}.enabled"),
            format!("must be a boolean, found {}", kind(other)),
        ),
        // AppConfig's own multi-variant example has no `enabled` beside `_variants`.
        None if obj.contains_key("_variants") => {}
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
            "_variants" => out.variants = variants(p, at, def, v),
            _ if key.starts_with('_') => p.add(here, "unknown metadata key"),
            _ => {
                attribute_value(p, &here, key, def, v);
                out.attributes.insert(key.clone(), v.clone());
            }
        }
    }
    if out.enabled && out.variants.is_none() {
        required_present(p, path, def, &out.attributes);
    }
    Some(out)
}

pub(crate) fn required_present(
    p: &mut Problems,
    path: &str,
    def: &FlagDefinition,
    values: &Map<String, Value>,
) {
    for (name, attr) in &def.attributes {
        let required = attr.constraints.as_ref().is_some_and(|c| c.required);
        if required && !values.contains_key(name) {
            p.add(path, format!("required attribute `{name}` has no value"));
        }
    }
}

/// `_variants`: 1 to 32 variants; each but the last has a rule, the last (the default) has none.
fn variants(
    p: &mut Problems,
    at: &Here<'_>,
    def: &FlagDefinition,
    value: &Value,
) -> Option<Vec<Variant>> {
    let path = format!("{}._variants", at.path);
    let Value::Array(items) = value else {
        p.add(
            path,
            format!("must be an array of variants, found {}", kind(value)),
        );
        return None;
    };
    if items.is_empty() {
        p.add(
            path.as_str(),
            "no variants: a multi-variant flag needs at least its default (last) variant",
        );
    }
    if items.len() > MAX_VARIANTS {
        p.add(
            path.as_str(),
            format!(
                "{} variants; AppConfig allows at most {MAX_VARIANTS}",
                items.len()
            ),
        );
    }
    let out: Vec<Variant> = items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| variant(p, at, def, i, v, i + 1 == items.len()))
        .collect();
    if out.len() != items.len() || out.is_empty() {
        return None;
    }
    // `_variant` names the variant served: two of one name could not be told apart.
    for (i, v) in out.iter().enumerate() {
        if let Some(first) = out[..i].iter().position(|w| w.name == v.name) {
            p.add(
                format!("{path}[{i}].name"),
                format!(
                    "variant name `{}` is also the name of variant {first} (`{path}[{first}]`); \
                     names must be unique within a flag, as `_variant` names the variant served",
                    v.name
                ),
            );
        }
    }
    Some(out)
}

fn variant(
    p: &mut Problems,
    at: &Here<'_>,
    def: &FlagDefinition,
    index: usize,
    value: &Value,
    last: bool,
) -> Option<Variant> {
    let path = format!("{}._variants[{index}]", at.path);
    let obj = object(p, &path, value)?;
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "name" | "enabled" | "rule" | "attributeValues"
        ) {
            p.add(
                format!("{path}.{key}"),
                "unknown key in a variant (allowed: `name`, `enabled`, `rule`, `attributeValues`)",
            );
        }
    }
    let name = match obj.get("name") {
        Some(v) => name(p, &format!("{path}.name"), v),
        None => {
            p.add(path.as_str(), "a variant needs a `name`");
            None
        }
    };
    let enabled = match obj.get("enabled") {
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            p.add(
                format!("{path}.enabled"),
                format!("must be a boolean, found {}", kind(other)),
            );
            None
        }
        None => {
            p.add(path.as_str(), "a variant needs `enabled` (true or false)");
            None
        }
    };
    let rule = match obj.get("rule") {
        // AWS's schema sets no minimum length, and published samples write `"rule": ""` on the
        // default variant: an empty rule there is no rule.
        Some(Value::String(text)) if last && text.trim().is_empty() => None,
        Some(Value::String(_)) if last => {
            p.add(
                format!("{path}.rule"),
                "the last variant is the default and takes no `rule`",
            );
            None
        }
        Some(Value::String(text)) => {
            let shown = name
                .as_deref()
                .map_or_else(|| format!("variant {index}"), |n| format!("variant `{n}`"));
            rule(p, at, index, &shown, text)
        }
        Some(other) => {
            p.add(
                format!("{path}.rule"),
                format!("must be a string, found {}", kind(other)),
            );
            None
        }
        None if !last => {
            p.add(
                path.as_str(),
                "only the last (default) variant may omit `rule`",
            );
            None
        }
        None => None,
    };
    let mut attributes = Map::new();
    if let Some(values) = obj.get("attributeValues") {
        let here = format!("{path}.attributeValues");
        if let Some(values) = object(p, &here, values) {
            if values.len() > MAX_ATTRIBUTES {
                p.add(
                    here.as_str(),
                    format!(
                        "{} attribute values; AppConfig allows at most {MAX_ATTRIBUTES}",
                        values.len()
                    ),
                );
            }
            for (key, v) in values {
                attribute_value(p, &format!("{here}.{key}"), key, def, v);
            }
            attributes = values.clone();
        }
    }
    if enabled == Some(true) {
        required_present(p, &path, def, &attributes);
    }
    Some(Variant {
        name: name?,
        enabled: enabled?,
        rule: if last { None } else { Some(rule?) },
        attributes,
    })
}

/// A variant's rule, parsed once; a failure names the flag, the variant and both positions.
fn rule(p: &mut Problems, at: &Here<'_>, index: usize, variant: &str, text: &str) -> Option<Rule> {
    let path = format!("{}._variants[{index}].rule", at.path);
    let flag = at.flag;
    let chars = text.chars().count();
    if chars > MAX_RULE_CHARS {
        p.add(
            path,
            format!("flag `{flag}`, {variant}: the rule has {chars} characters; AppConfig allows at most {MAX_RULE_CHARS}"),
        );
        return None;
    }
    let in_document = || {
        let steps = [
            Step::Key("values"),
            Step::Key(flag),
            Step::Key("_variants"),
            Step::Index(index),
            Step::Key("rule"),
        ];
        position(at.text, &steps)
            .map(|(l, c)| {
                format!(" (the rule string starts at line {l}, column {c} of the document)")
            })
            .unwrap_or_default()
    };
    match Rule::parse_lenient(text) {
        Ok(rule) => {
            if let Some(e) = rule.unsupported() {
                p.warn(
                    path.as_str(),
                    format!(
                        "flag `{flag}`, {variant}: the rule never matches here (AppConfig may \
                         run it): line {}, column {} of the rule{}: {}",
                        e.line(),
                        e.column(),
                        in_document(),
                        e.message()
                    ),
                );
            } else if rule.uses_ne() {
                p.warn(
                    path.as_str(),
                    format!(
                        "flag `{flag}`, {variant}: `ne` is listed on AppConfig's audience-rule \
                         page, not on its variant-rule page, so AppConfig may refuse this rule; \
                         `(not (eq ..))` is the documented form{}",
                        in_document()
                    ),
                );
            }
            Some(rule)
        }
        Err(e) => {
            p.add(
                path,
                format!(
                    "flag `{flag}`, {variant}: invalid rule at line {}, column {} of the rule{}: {}",
                    e.line(),
                    e.column(),
                    in_document(),
                    e.message()
                ),
            );
            None
        }
    }
}

pub(crate) fn attribute_value(
    p: &mut Problems,
    path: &str,
    key: &str,
    def: &FlagDefinition,
    value: &Value,
) {
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
        Value::String(s) => string_length(p, path, s),
        Value::Array(items) => {
            if items.is_empty() {
                // The schema's `oneOf` (an array of strings, or of numbers) admits an empty array
                // twice, which `oneOf` refuses.
                p.add(
                    path,
                    "an empty array: AppConfig's schema takes an array of strings or of numbers, and an empty one matches both (its `oneOf` refuses that)",
                );
            }
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            if !all_strings && !all_numbers {
                p.add(path, "an array value holds only strings or only numbers");
            }
            for (i, item) in items.iter().enumerate() {
                if let Value::String(s) = item {
                    string_length(p, &format!("{path}[{i}]"), s);
                }
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

fn string_length(p: &mut Problems, path: &str, s: &str) {
    let chars = s.chars().count();
    if chars > MAX_STRING_VALUE_CHARS {
        p.add(
            path,
            format!(
                "string of {chars} characters; AppConfig allows at most {MAX_STRING_VALUE_CHARS}"
            ),
        );
    }
}

/// `enum` items: at most 100, each a string of at most 1024 characters or an integer (kept as
/// its decimal text).
fn enum_items(p: &mut Problems, path: &str, items: &[Value]) -> Vec<String> {
    if items.len() > MAX_ENUM_ITEMS {
        p.add(
            path,
            format!(
                "{} items; AppConfig allows at most {MAX_ENUM_ITEMS}",
                items.len()
            ),
        );
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item {
            Value::String(s) => {
                let chars = s.chars().count();
                if chars > MAX_STRING_VALUE_CHARS {
                    p.add(
                        format!("{path}[{i}]"),
                        format!("string of {chars} characters; AppConfig allows at most {MAX_STRING_VALUE_CHARS}"),
                    );
                }
                Some(s.clone())
            }
            Value::Number(n) if is_integer(n) => Some(integer_text(n)),
            other => {
                p.add(
                    format!("{path}[{i}]"),
                    format!("must be a string or an integer, found {}", found_item(other)),
                );
                None
            }
        })
        .collect()
}

/// JSON Schema's `integer`: a number without a fractional part (`5.0` is one).
fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn integer_text(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (_, Some(u), _) => u.to_string(),
        (_, _, Some(f)) => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

fn found_item(value: &Value) -> &'static str {
    match value {
        Value::Number(_) => "a number with a fraction",
        other => kind(other),
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

pub(crate) fn object<'v>(
    p: &mut Problems,
    path: &str,
    value: &'v Value,
) -> Option<&'v Map<String, Value>> {
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

/// AppConfig's `customerDefinedName`: `^[^\n]{1,64}$`.
fn name(p: &mut Problems, path: &str, value: &Value) -> Option<String> {
    let Value::String(s) = value else {
        p.add(path, format!("must be a string, found {}", kind(value)));
        return None;
    };
    let chars = s.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        p.add(
            path,
            format!("must be 1 to {MAX_NAME_CHARS} characters, found {chars}"),
        );
    }
    if s.contains('\n') {
        p.add(path, "must not contain a line break");
    }
    Some(s.clone())
}

/// AppConfig's `customerDefinedDescription`: at most 1024 characters (empty is allowed).
fn description(p: &mut Problems, path: &str, value: &Value) -> Option<String> {
    let Value::String(s) = value else {
        p.add(path, format!("must be a string, found {}", kind(value)));
        return None;
    };
    let chars = s.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        p.add(
            path,
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters, found {chars}"),
        );
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

pub(crate) fn kind(value: &Value) -> &'static str {
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
