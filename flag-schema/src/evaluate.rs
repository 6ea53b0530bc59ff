//! The evaluated view the AppConfig agent serves for a feature-flag profile.

use serde_json::{Map, Value};

use crate::document::{Document, FlagValue};

impl Document {
    /// Every defined flag as the agent answers it: `{"key": {"enabled": bool, ...attributes}}`.
    ///
    /// A disabled flag carries no attributes; a flag with no value is disabled. For a
    /// multi-variant flag the default (last) variant is served with its `_variant` name: the
    /// variant rules depend on a request `Context` and are not evaluated here.
    pub fn evaluate(&self) -> Map<String, Value> {
        self.flags
            .keys()
            .map(|key| (key.clone(), Value::Object(self.evaluate_value(key))))
            .collect()
    }

    /// One flag's evaluated object, or `None` when `key` is not defined.
    pub fn evaluate_flag(&self, key: &str) -> Option<Value> {
        self.flags
            .contains_key(key)
            .then(|| Value::Object(self.evaluate_value(key)))
    }

    fn evaluate_value(&self, key: &str) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(value) = self.values.get(key) else {
            out.insert("enabled".into(), Value::Bool(false));
            return out;
        };
        if let Some(variant) = default_variant(value) {
            let enabled = variant
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            out.insert("enabled".into(), Value::Bool(enabled));
            if enabled {
                if let Some(Value::Object(attrs)) = variant.get("attributeValues") {
                    out.extend(attrs.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            if let Some(name) = variant.get("name") {
                out.insert("_variant".into(), name.clone());
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

fn default_variant(value: &FlagValue) -> Option<&Map<String, Value>> {
    value.variants.as_ref()?.last()?.as_object()
}
