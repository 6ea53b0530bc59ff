//! The evaluated view the AppConfig agent serves for a feature-flag profile.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::context::RuleContext;
use crate::document::{Document, ValueEntry, Variant};
use crate::rule::KeyKind;

impl Document {
    /// Every defined flag as the agent answers it without a request context:
    /// `{"key": {"enabled": bool, ...attributes}}`; the same as
    /// [`evaluate_with`](Self::evaluate_with) with an empty [`RuleContext`], so every multi-variant
    /// flag is served its default (last) variant.
    ///
    /// A disabled flag carries no attributes; a flag with no value is disabled.
    pub fn evaluate(&self) -> Map<String, Value> {
        self.evaluate_with(&RuleContext::new())
    }

    /// Every defined flag as the agent answers it for a request with `context`. A multi-variant
    /// flag is served the first variant whose rule matches (else its default, last, variant) as
    /// `{"_variant": name, "enabled": bool, ...attributeValues when enabled}`.
    ///
    /// ```
    /// use flag_schema::{RuleContext, Document};
    /// use serde_json::json;
    ///
    /// let doc = Document::parse(r#"{
    ///     "version": "1",
    ///     "flags": { "banner": { "attributes": { "color": {} } } },
    ///     "values": { "banner": { "_variants": [
    ///         { "name": "beta", "enabled": true, "rule": "(eq $tier \"beta\")",
    ///           "attributeValues": { "color": "red" } },
    ///         { "name": "default", "enabled": false }
    ///     ] } }
    /// }"#).unwrap();
    ///
    /// let beta = RuleContext::from_headers(["tier=beta"]).unwrap();
    /// assert_eq!(
    ///     doc.evaluate_with(&beta)["banner"],
    ///     json!({ "_variant": "beta", "enabled": true, "color": "red" })
    /// );
    /// assert_eq!(doc.evaluate()["banner"], json!({ "_variant": "default", "enabled": false }));
    /// ```
    pub fn evaluate_with(&self, context: &RuleContext) -> Map<String, Value> {
        self.flags
            .keys()
            .map(|key| {
                (
                    key.clone(),
                    Value::Object(self.evaluate_value(key, context)),
                )
            })
            .collect()
    }

    /// One flag's evaluated object without a request context, or `None` when `key` is not
    /// defined.
    pub fn evaluate_flag(&self, key: &str) -> Option<Value> {
        self.evaluate_flag_with(key, &RuleContext::new())
    }

    /// One flag's evaluated object for a request with `context`, or `None` when `key` is not
    /// defined.
    ///
    /// ```
    /// # let doc = flag_schema::Document::parse(r#"{"version": "1", "flags": {"a": {}}}"#).unwrap();
    /// assert_eq!(
    ///     doc.evaluate_flag_with("a", &flag_schema::RuleContext::new()),
    ///     Some(serde_json::json!({ "enabled": false }))
    /// );
    /// assert_eq!(doc.evaluate_flag_with("b", &flag_schema::RuleContext::new()), None);
    /// ```
    pub fn evaluate_flag_with(&self, key: &str, context: &RuleContext) -> Option<Value> {
        self.flags
            .contains_key(key)
            .then(|| Value::Object(self.evaluate_value(key, context)))
    }

    /// Whether `flag` has a value with `_variants`.
    pub fn has_variants(&self, flag: &str) -> bool {
        self.values.get(flag).is_some_and(|v| v.variants.is_some())
    }

    /// The context keys the variant rules of `flag` read (empty for a flag without variants,
    /// or an unknown one): what a caller must send for the rules to see it.
    ///
    /// ```
    /// let doc = flag_schema::Document::parse(r#"{
    ///     "version": "1",
    ///     "flags": { "banner": {} },
    ///     "values": { "banner": { "_variants": [
    ///         { "name": "qa", "enabled": true, "rule": "(ends_with $email \"@qa.example.org\")" },
    ///         { "name": "some", "enabled": true, "rule": "(split pct::10 by::$userId)" },
    ///         { "name": "default", "enabled": false }
    ///     ] } }
    /// }"#).unwrap();
    /// assert!(doc.has_variants("banner"));
    /// assert_eq!(doc.variant_keys("banner").into_iter().collect::<Vec<_>>(), ["email", "userId"]);
    /// ```
    pub fn variant_keys(&self, flag: &str) -> BTreeSet<String> {
        self.values
            .get(flag)
            .and_then(|v| v.variants.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|v| v.rule.as_ref())
            .flat_map(|r| r.keys().map(str::to_owned))
            .collect()
    }

    /// Every context key some variant rule reads, with how the rules read it (merged over
    /// every rule: one type, else [`KeyKind::Any`]) and the flags whose rules read it.
    ///
    /// ```
    /// use flag_schema::rule::KeyKind;
    ///
    /// let doc = flag_schema::Document::parse(r#"{
    ///     "version": "1",
    ///     "flags": { "banner": {}, "discount": {} },
    ///     "values": {
    ///         "banner": { "_variants": [
    ///             { "name": "adults", "enabled": true, "rule": "(gte $age 18)" },
    ///             { "name": "default", "enabled": false }
    ///         ] },
    ///         "discount": { "_variants": [
    ///             { "name": "gold", "enabled": true, "rule": "(or (eq $tier \"gold\") (lt $age 12))" },
    ///             { "name": "default", "enabled": false }
    ///         ] }
    ///     }
    /// }"#).unwrap();
    /// let keys = doc.context_keys();
    /// assert_eq!(keys["age"].0, KeyKind::Number);
    /// assert_eq!(keys["age"].1, ["banner", "discount"]);
    /// assert_eq!(keys["tier"].0, KeyKind::Text);
    /// ```
    pub fn context_keys(&self) -> BTreeMap<String, (KeyKind, Vec<String>)> {
        let mut keys: BTreeMap<String, (KeyKind, Vec<String>)> = BTreeMap::new();
        for (flag, value) in &self.values {
            for rule in value
                .variants
                .iter()
                .flatten()
                .filter_map(|v| v.rule.as_ref())
            {
                for (key, kind) in rule.key_kinds() {
                    let entry = keys.entry(key.to_owned()).or_insert((kind, Vec::new()));
                    entry.0 = entry.0.merge(kind);
                    if entry.1.last() != Some(flag) {
                        entry.1.push(flag.clone());
                    }
                }
            }
        }
        keys
    }

    fn evaluate_value(&self, key: &str, context: &RuleContext) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(value) = self.values.get(key) else {
            out.insert("enabled".into(), Value::Bool(false));
            return out;
        };
        if let Some(variant) = select(key, value, context) {
            out.insert("_variant".into(), Value::String(variant.name.clone()));
            out.insert("enabled".into(), Value::Bool(variant.enabled));
            if variant.enabled {
                out.extend(
                    variant
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
            }
            return out;
        }
        out.insert("enabled".into(), Value::Bool(value.enabled));
        if value.enabled {
            out.extend(value.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }
}

/// The first variant whose rule matches, else the last (the default, which has no rule).
fn select<'a>(key: &str, value: &'a ValueEntry, context: &RuleContext) -> Option<&'a Variant> {
    let variants = value.variants.as_ref()?;
    variants
        .iter()
        .find(|v| v.rule.as_ref().is_some_and(|r| r.matches(key, context)))
        .or_else(|| variants.last())
}
