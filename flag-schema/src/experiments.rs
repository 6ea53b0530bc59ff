//! `experiments.json`: AppConfig experiment definitions, each with an optional local run,
//! checked against the flags document, and the treatment the local stand-in assigns an entity.
//!
//! Each entry holds the properties of CloudFormation's `AWS::AppConfig::ExperimentDefinition`
//! that are not identifiers (`Name`, `FlagKey`, `AudienceRule`, `Control`, `Treatments`,
//! `Hypothesis`, `AudienceDescription`, `LaunchCriteria`), in CloudFormation's flattened treatment
//! shape, plus an optional `Run` with `AWS::AppConfig::ExperimentRun`'s `ExposurePercentage` and
//! `TreatmentOverrides`. One file feeds the local agent, the compile-time checks and the
//! deployment.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use xxhash_rust::xxh3::xxh3_64;

use crate::context::RuleContext;
use crate::document::Document;
use crate::error::{Problem, SchemaError};
use crate::rule::{Rule, MAX_RULE_CHARS};
use crate::validate::{self, kind, Problems};

/// Most treatments an experiment definition holds, besides its control (AWS's limit).
pub const MAX_TREATMENTS: usize = 5;
/// Most entries of a run's `TreatmentOverrides` (AWS's limit).
pub const MAX_OVERRIDES: usize = 32;
/// The treatment key AppConfig serves as the flag's `_variant` for the control.
pub const CONTROL_KEY: &str = "__c__";

const MAX_NAME_CHARS: usize = 64;
const MAX_TEXT_CHARS: usize = 1024;
const MAX_ATTRIBUTE_VALUES: usize = 25;
const MAX_ARRAY_ITEMS: usize = 25;
const MAX_ENTITY_ID_BYTES: usize = 2048;

/// A parsed, validated `experiments.json`: `{"experiments": [ ... ]}`.
///
/// ```
/// use flag_schema::{Document, Experiments, RuleContext};
///
/// let flags = Document::parse(r#"{
///     "version": "1",
///     "flags": { "checkoutButton": { "name": "Checkout button",
///         "attributes": { "color": { "constraints": { "type": "string" } } } } },
///     "values": { "checkoutButton": { "enabled": true, "color": "blue" } }
/// }"#).unwrap();
/// let experiments = Experiments::parse(r#"{ "experiments": [ {
///     "Name": "green-button",
///     "FlagKey": "checkoutButton",
///     "AudienceRule": "(eq $country \"NZ\")",
///     "Control": { "Enabled": true, "Weight": 50,
///                  "AttributeValues": { "color": { "StringValue": "blue" } } },
///     "Treatments": [ { "Enabled": true, "Weight": 50,
///                       "AttributeValues": { "color": { "StringValue": "green" } } } ],
///     "Run": { "ExposurePercentage": 100 }
/// } ] }"#, &flags).unwrap();
///
/// let nz = RuleContext::from_headers(["country=NZ"]).unwrap();
/// let answer = experiments.assign("checkoutButton", "customer-1", &nz).unwrap();
/// assert!(answer["_variant"] == "__c__" || answer["_variant"] == "__t1__");
/// // Outside the audience: no treatment, the deployed value is served.
/// let us = RuleContext::from_headers(["country=US"]).unwrap();
/// assert_eq!(experiments.assign("checkoutButton", "customer-1", &us), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Experiments {
    /// The definitions, in file order.
    pub experiments: Vec<Experiment>,
    /// What AppConfig may accept but this crate cannot run (an audience rule with regex
    /// look-around, say): such an audience matches nobody locally.
    pub warnings: Vec<Problem>,
}

/// One experiment definition (`AWS::AppConfig::ExperimentDefinition`'s own properties).
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// `Name`: 1 to 64 characters, not starting with `AWS.`; unique in the file.
    pub name: String,
    /// `FlagKey`: a flag of the flags document.
    pub flag_key: String,
    /// `AudienceRule`: who may take part, in the rule language of variant rules.
    pub audience_rule: Rule,
    /// `Control`: the baseline, served as `__c__`.
    pub control: Treatment,
    /// `Treatments`: 1 to 5, served as `__t1__`, `__t2__`, ... in this order.
    pub treatments: Vec<Treatment>,
    /// `Hypothesis`, free text for people.
    pub hypothesis: Option<String>,
    /// `AudienceDescription`, free text for people.
    pub audience_description: Option<String>,
    /// `LaunchCriteria`, free text for people.
    pub launch_criteria: Option<String>,
    /// `Run`: the local run, if one is active.
    pub run: Option<Run>,
}

/// A control or treatment: the flag value it serves and its traffic weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Treatment {
    /// `Enabled`.
    pub enabled: bool,
    /// `Weight`: relative to the other weights of the experiment (`50`/`50`, `1`/`1` and
    /// `0.5`/`0.5` split alike).
    pub weight: f64,
    /// `Description`.
    pub description: Option<String>,
    /// `AttributeValues`, as plain JSON (`{"StringValue": "green"}` is `"green"`).
    pub attributes: Map<String, Value>,
}

/// An active local run (`AWS::AppConfig::ExperimentRun`'s settings).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// `ExposurePercentage`: the share of the audience that takes part, 0 to 100.
    pub exposure_percentage: f64,
    /// `TreatmentOverrides.Inline`: entity id → treatment key (`__c__`, `__t1__`, ...). Local only:
    /// AWS generates treatment keys itself, so overrides are never deployed.
    pub overrides: BTreeMap<String, String>,
}

impl Experiment {
    /// The treatment `key` names (`__c__` or `__tN__`), if the experiment has it.
    pub fn treatment(&self, key: &str) -> Option<&Treatment> {
        if key == CONTROL_KEY {
            return Some(&self.control);
        }
        self.treatments.get(treatment_number(key)?.checked_sub(1)?)
    }

    /// Every treatment key with its treatment: `__c__` first, then `__t1__`, `__t2__`, ...
    pub fn keyed(&self) -> impl Iterator<Item = (String, &Treatment)> {
        std::iter::once((CONTROL_KEY.to_owned(), &self.control)).chain(
            self.treatments
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("__t{}__", i + 1), t)),
        )
    }

    /// The treatment key the local stand-in assigns `entity_id` while the run is active, or
    /// `None` (no run, outside the audience or the exposure): the deployed value is served.
    ///
    /// The stand-in's algorithm, not AWS's (which is not documented): a run override first,
    /// then the audience rule against `context`, then the entity's exposure bucket (a hash of
    /// the experiment name and the entity id) against `ExposurePercentage`, then a second hash
    /// picks a treatment in proportion to the weights. The same entity keeps its treatment
    /// for the run, and raising the exposure keeps every exposed entity where it was.
    pub fn assign(&self, entity_id: &str, context: &RuleContext) -> Option<String> {
        let run = self.run.as_ref()?;
        if let Some(key) = run.overrides.get(entity_id) {
            return Some(key.clone());
        }
        if !self.audience_rule.matches(&self.flag_key, context) {
            return None;
        }
        let buckets = crate::rule::BUCKETS as f64;
        let exposure = self.bucket("exposure", entity_id) as f64 / buckets;
        if exposure >= run.exposure_percentage / 100.0 {
            return None;
        }
        let total: f64 = self.keyed().map(|(_, t)| t.weight).sum();
        let mut point = self.bucket("treatment", entity_id) as f64 / buckets * total;
        let mut chosen = None;
        for (key, treatment) in self.keyed() {
            if treatment.weight > 0.0 {
                chosen = Some(key);
                if point < treatment.weight {
                    break;
                }
                point -= treatment.weight;
            }
        }
        chosen
    }

    fn bucket(&self, purpose: &str, entity_id: &str) -> u32 {
        let domain = xxh3_64(format!("experiment:{}:{purpose}", self.name).as_bytes());
        crate::rule::bucket(domain, entity_id)
    }
}

impl Treatment {
    /// The flag answer the agent serves for this treatment under `key`:
    /// `{"_variant": key, "enabled": .., ..attributes when enabled}`, as for a variant.
    pub fn answer(&self, key: &str) -> Value {
        let mut answer = Map::new();
        answer.insert("_variant".into(), Value::String(key.to_owned()));
        answer.insert("enabled".into(), Value::Bool(self.enabled));
        if self.enabled {
            answer.extend(self.attributes.clone());
        }
        Value::Object(answer)
    }
}

impl Experiments {
    /// Parses and validates `text` against the flags document it experiments on. Every
    /// problem is reported at once, by path, naming keys and limits, never a value.
    pub fn parse(text: &str, flags: &Document) -> Result<Self, SchemaError> {
        let root: Value = serde_json::from_str(text).map_err(|e| SchemaError::Syntax {
            line: e.line(),
            column: e.column(),
            message: crate::document::strip_position(&e.to_string()),
        })?;
        let mut p = Problems::default();
        let experiments = document(&mut p, &root, flags);
        if p.errors.is_empty() {
            Ok(Experiments {
                experiments,
                warnings: p.warnings,
            })
        } else {
            Err(SchemaError::Invalid(p.errors))
        }
    }

    /// The experiment of `flag_key` with an active run, if any (at most one per flag).
    pub fn running(&self, flag_key: &str) -> Option<&Experiment> {
        self.experiments
            .iter()
            .find(|e| e.flag_key == flag_key && e.run.is_some())
    }

    /// The answer the local agent serves for `flag_key` to `entity_id` with `context`, when
    /// a run assigns it a treatment (see [`Experiment::assign`]); `None` otherwise.
    pub fn assign(&self, flag_key: &str, entity_id: &str, context: &RuleContext) -> Option<Value> {
        let experiment = self.running(flag_key)?;
        let key = experiment.assign(entity_id, context)?;
        Some(experiment.treatment(&key)?.answer(&key))
    }

    /// Why `next` may not replace `self` while runs are active, as AWS refuses it: a
    /// definition edited during its run, or a run's exposure lowered (stop the run and start
    /// a new one instead). Raising the exposure, changing overrides, starting and stopping
    /// runs, and editing experiments without a run are allowed.
    pub fn refused_update(&self, next: &Experiments) -> Vec<Problem> {
        let mut problems = Vec::new();
        for old in &self.experiments {
            let Some(old_run) = &old.run else { continue };
            let Some(new) = next.experiments.iter().find(|e| e.name == old.name) else {
                continue;
            };
            let Some(new_run) = &new.run else { continue };
            let path = format!("experiments[name={}]", old.name);
            let definition = |e: &Experiment| Experiment {
                run: None,
                ..e.clone()
            };
            if definition(old) != definition(new) {
                problems.push(Problem {
                    path: path.clone(),
                    message: format!(
                        "experiment `{}` is edited during its run; AppConfig refuses \
                         definition updates while a run is active (remove `Run` to stop it first)",
                        old.name
                    ),
                });
            }
            if new_run.exposure_percentage < old_run.exposure_percentage {
                problems.push(Problem {
                    path: format!("{path}.Run.ExposurePercentage"),
                    message: format!(
                        "experiment `{}`: a run's exposure can only be raised; stop the run \
                         (remove `Run`) and start a new one to lower it",
                        old.name
                    ),
                });
            }
        }
        problems
    }
}

fn document(p: &mut Problems, root: &Value, flags: &Document) -> Vec<Experiment> {
    let Some(top) = validate::object(p, "", root) else {
        return Vec::new();
    };
    for key in top.keys().filter(|k| *k != "experiments") {
        p.add(
            key.as_str(),
            "unknown top-level key (allowed: `experiments`)",
        );
    }
    let Some(list) = top.get("experiments") else {
        p.add(
            "experiments",
            "missing; the file is {\"experiments\": [ ... ]}",
        );
        return Vec::new();
    };
    let Value::Array(list) = list else {
        p.add(
            "experiments",
            format!("expected an array, found {}", kind(list)),
        );
        return Vec::new();
    };
    let experiments: Vec<Experiment> = list
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| experiment(p, &format!("experiments[{i}]"), entry, flags))
        .collect();
    let mut names = BTreeSet::new();
    let mut running = BTreeSet::new();
    for (i, e) in experiments.iter().enumerate() {
        if !names.insert(&e.name) {
            p.add(
                format!("experiments[{i}].Name"),
                format!("a second experiment named `{}`; names are unique", e.name),
            );
        }
        if e.run.is_some() && !running.insert(&e.flag_key) {
            p.add(
                format!("experiments[{i}].Run"),
                format!(
                    "a second active run on flag `{}`; the agent serves one treatment per flag",
                    e.flag_key
                ),
            );
        }
    }
    experiments
}

const EXPERIMENT_KEYS: [&str; 9] = [
    "Name",
    "FlagKey",
    "AudienceRule",
    "Control",
    "Treatments",
    "Hypothesis",
    "AudienceDescription",
    "LaunchCriteria",
    "Run",
];

fn experiment(p: &mut Problems, path: &str, value: &Value, flags: &Document) -> Option<Experiment> {
    let entry = validate::object(p, path, value)?;
    for key in entry.keys() {
        if !EXPERIMENT_KEYS.contains(&key.as_str()) {
            let hint = if key.ends_with("Identifier") {
                "; identifiers come from the deployment, not this file".to_owned()
            } else {
                crate::names::suggest(key, EXPERIMENT_KEYS)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default()
            };
            p.add(format!("{path}.{key}"), format!("unknown property{hint}"));
        }
    }
    let required = |p: &mut Problems, key: &str| {
        let found = entry.get(key);
        if found.is_none() {
            p.add(format!("{path}.{key}"), "missing; it is required");
        }
        found
    };
    let name = required(p, "Name").and_then(|v| {
        let at = format!("{path}.Name");
        let name = text(p, &at, v, 1, MAX_NAME_CHARS)?;
        if name.starts_with("AWS.") {
            p.add(at, "must not start with `AWS.` (AWS reserves it)");
        }
        Some(name)
    });
    let flag = required(p, "FlagKey").and_then(|v| {
        let at = format!("{path}.FlagKey");
        let key = text(p, &at, v, 1, 64)?;
        if key.len() < 2 {
            // CloudFormation's pattern: `^[a-z][a-zA-Z0-9_-]{1,64}$`.
            p.add(&at, "an experiment's flag key has at least 2 characters");
        }
        match flags.flag(&key) {
            Some(def) => Some((key, def)),
            None => {
                let hint = flags
                    .suggest(&key)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                p.add(
                    at,
                    format!("flag `{key}` is not in the flags document{hint}"),
                );
                None
            }
        }
    });
    let audience_rule =
        required(p, "AudienceRule").and_then(|v| audience(p, &format!("{path}.AudienceRule"), v));
    let def = flag.as_ref().map(|(_, def)| *def);
    let control =
        required(p, "Control").and_then(|v| treatment(p, &format!("{path}.Control"), v, def));
    let treatments = required(p, "Treatments").and_then(|v| {
        let at = format!("{path}.Treatments");
        let Value::Array(items) = v else {
            p.add(at, format!("expected an array, found {}", kind(v)));
            return None;
        };
        if items.is_empty() || items.len() > MAX_TREATMENTS {
            p.add(
                &at,
                format!(
                    "{} treatments; an experiment has 1 to {MAX_TREATMENTS} besides its control",
                    items.len()
                ),
            );
        }
        let parsed: Vec<Treatment> = items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| treatment(p, &format!("{at}[{i}]"), t, def))
            .collect();
        (parsed.len() == items.len()).then_some(parsed)
    });
    let optional_text = |p: &mut Problems, key: &str| {
        entry
            .get(key)
            .and_then(|v| text(p, &format!("{path}.{key}"), v, 0, MAX_TEXT_CHARS))
    };
    let hypothesis = optional_text(p, "Hypothesis");
    let audience_description = optional_text(p, "AudienceDescription");
    let launch_criteria = optional_text(p, "LaunchCriteria");
    let count = entry
        .get("Treatments")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let run = match entry.get("Run") {
        None => Some(None),
        Some(v) => run(p, &format!("{path}.Run"), v, count).map(Some),
    };
    let (control, treatments) = (control?, treatments?);
    if std::iter::once(&control)
        .chain(&treatments)
        .all(|t| t.weight == 0.0)
    {
        p.add(
            format!("{path}.Control.Weight"),
            "every weight is 0; at least one must be positive",
        );
    }
    let (flag_key, _) = flag?;
    Some(Experiment {
        name: name?,
        flag_key,
        audience_rule: audience_rule?,
        control,
        treatments,
        hypothesis,
        audience_description,
        launch_criteria,
        run: run?,
    })
}

fn audience(p: &mut Problems, path: &str, value: &Value) -> Option<Rule> {
    let text = text(p, path, value, 1, MAX_RULE_CHARS)?;
    match Rule::parse_lenient(&text) {
        Ok(rule) => {
            if let Some(e) = rule.unsupported() {
                p.warn(
                    path,
                    format!(
                        "the audience rule matches nobody here (AppConfig may run it): line {}, \
                         column {} of the rule: {}",
                        e.line(),
                        e.column(),
                        e.message()
                    ),
                );
            }
            Some(rule)
        }
        Err(e) => {
            p.add(
                path,
                format!(
                    "invalid audience rule at line {}, column {} of the rule: {}",
                    e.line(),
                    e.column(),
                    e.message()
                ),
            );
            None
        }
    }
}

fn treatment(
    p: &mut Problems,
    path: &str,
    value: &Value,
    flag: Option<&crate::FlagDefinition>,
) -> Option<Treatment> {
    let entry = validate::object(p, path, value)?;
    const KEYS: [&str; 4] = ["Enabled", "Weight", "Description", "AttributeValues"];
    for key in entry.keys() {
        if key == "Key" {
            p.add(
                format!("{path}.Key"),
                "read-only: AWS generates treatment keys (`__c__`, `__t1__`, ...)",
            );
        } else if !KEYS.contains(&key.as_str()) {
            let hint = crate::names::suggest(key, KEYS)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            p.add(format!("{path}.{key}"), format!("unknown property{hint}"));
        }
    }
    let enabled = match entry.get("Enabled") {
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            p.add(
                format!("{path}.Enabled"),
                format!("expected a boolean, found {}", kind(other)),
            );
            None
        }
        None => {
            p.add(format!("{path}.Enabled"), "missing; it is required");
            None
        }
    };
    let weight = match entry.get("Weight") {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(w) if w >= 0.0 && w.is_finite() => Some(w),
            _ => {
                p.add(format!("{path}.Weight"), "must be a number of at least 0");
                None
            }
        },
        Some(other) => {
            p.add(
                format!("{path}.Weight"),
                format!("expected a number, found {}", kind(other)),
            );
            None
        }
        None => {
            p.add(format!("{path}.Weight"), "missing; it is required");
            None
        }
    };
    let description = entry
        .get("Description")
        .and_then(|v| text(p, &format!("{path}.Description"), v, 0, MAX_TEXT_CHARS));
    let mut attributes = Map::new();
    if let Some(values) = entry.get("AttributeValues") {
        let at = format!("{path}.AttributeValues");
        if let Some(values) = validate::object(p, &at, values) {
            if values.len() > MAX_ATTRIBUTE_VALUES {
                p.add(
                    &at,
                    format!(
                        "{} attribute values; AWS allows at most {MAX_ATTRIBUTE_VALUES}",
                        values.len()
                    ),
                );
            }
            for (key, value) in values {
                let at = format!("{at}.{key}");
                if key == "enabled" || !crate::is_valid_key(key) {
                    p.add(
                        &at,
                        format!("`{key}` is not a valid attribute key: AWS requires ^[a-z][a-zA-Z0-9_-]{{0,63}}$, not `enabled`"),
                    );
                    continue;
                }
                let Some(plain) = attribute_value(p, &at, value) else {
                    continue;
                };
                if let Some(def) = flag {
                    validate::attribute_value(p, &at, key, def, &plain);
                }
                attributes.insert(key.clone(), plain);
            }
        }
    }
    if let (Some(true), Some(def)) = (enabled, flag) {
        validate::required_present(p, path, def, &attributes);
    }
    Some(Treatment {
        enabled: enabled?,
        weight: weight?,
        description,
        attributes,
    })
}

/// CloudFormation's `AttributeValue`, a union of exactly one of `StringValue`, `NumberValue`,
/// `BooleanValue`, `StringArray`, `NumberArray`, as plain JSON.
fn attribute_value(p: &mut Problems, path: &str, value: &Value) -> Option<Value> {
    const MEMBERS: &str =
        "`StringValue`, `NumberValue`, `BooleanValue`, `StringArray` or `NumberArray`";
    let union = validate::object(p, path, value)?;
    let mut members = union.iter();
    let (Some((member, inner)), None) = (members.next(), members.next()) else {
        p.add(path, format!("expected exactly one of {MEMBERS}"));
        return None;
    };
    let at = format!("{path}.{member}");
    let array = |p: &mut Problems, want: fn(&Value) -> bool, what: &str| match inner {
        Value::Array(items) if items.len() > MAX_ARRAY_ITEMS => {
            p.add(
                &at,
                format!(
                    "{} items; AWS allows at most {MAX_ARRAY_ITEMS}",
                    items.len()
                ),
            );
            None
        }
        Value::Array(items) if items.iter().all(want) => Some(inner.clone()),
        other => {
            p.add(
                &at,
                format!("expected an array of {what}, found {}", kind(other)),
            );
            None
        }
    };
    match (member.as_str(), inner) {
        ("StringValue", Value::String(_))
        | ("NumberValue", Value::Number(_))
        | ("BooleanValue", Value::Bool(_)) => Some(inner.clone()),
        ("StringArray", _) => array(p, Value::is_string, "strings"),
        ("NumberArray", _) => array(p, Value::is_number, "numbers"),
        ("StringValue" | "NumberValue" | "BooleanValue", other) => {
            p.add(
                &at,
                format!("expected {}, found {}", member_kind(member), kind(other)),
            );
            None
        }
        _ => {
            p.add(&at, format!("unknown member; expected one of {MEMBERS}"));
            None
        }
    }
}

fn member_kind(member: &str) -> &'static str {
    match member {
        "StringValue" => "a string",
        "NumberValue" => "a number",
        _ => "a boolean",
    }
}

fn run(p: &mut Problems, path: &str, value: &Value, treatments: usize) -> Option<Run> {
    let entry = validate::object(p, path, value)?;
    for key in entry.keys() {
        if !matches!(key.as_str(), "ExposurePercentage" | "TreatmentOverrides") {
            p.add(
                format!("{path}.{key}"),
                "unknown property (allowed: `ExposurePercentage`, `TreatmentOverrides`)",
            );
        }
    }
    let exposure_percentage = match entry.get("ExposurePercentage") {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if (0.0..=100.0).contains(&x) => Some(x),
            _ => {
                p.add(
                    format!("{path}.ExposurePercentage"),
                    "must be a number from 0 to 100",
                );
                None
            }
        },
        Some(other) => {
            p.add(
                format!("{path}.ExposurePercentage"),
                format!("expected a number, found {}", kind(other)),
            );
            None
        }
        None => {
            p.add(
                format!("{path}.ExposurePercentage"),
                "missing; it is required (0 runs the experiment for overrides only)",
            );
            None
        }
    };
    let mut overrides = BTreeMap::new();
    if let Some(value) = entry.get("TreatmentOverrides") {
        let at = format!("{path}.TreatmentOverrides");
        let union = validate::object(p, &at, value)?;
        for key in union.keys().filter(|k| *k != "Inline") {
            p.add(format!("{at}.{key}"), "unknown member (allowed: `Inline`)");
        }
        if let Some(inline) = union.get("Inline") {
            let at = format!("{at}.Inline");
            let inline = validate::object(p, &at, inline)?;
            if inline.len() > MAX_OVERRIDES {
                p.add(
                    &at,
                    format!(
                        "{} overrides; AWS allows at most {MAX_OVERRIDES}",
                        inline.len()
                    ),
                );
            }
            // Named by position: an entity id is personal data, and the agent logs problems.
            for (index, (entity, key)) in inline.iter().enumerate() {
                let here = format!("{at}[{index}]");
                if entity.is_empty()
                    || entity.len() > MAX_ENTITY_ID_BYTES
                    || entity.chars().any(char::is_control)
                {
                    p.add(
                        &here,
                        format!("an entity id has 1 to {MAX_ENTITY_ID_BYTES} bytes and no control character"),
                    );
                }
                match key.as_str() {
                    Some(k) if is_treatment_key(k, treatments) => {
                        overrides.insert(entity.clone(), k.to_owned());
                    }
                    _ => p.add(
                        here,
                        format!(
                            "expected a treatment key of this experiment: `__c__` or `__t1__` to `__t{treatments}__`"
                        ),
                    ),
                }
            }
        }
    }
    Some(Run {
        exposure_percentage: exposure_percentage?,
        overrides,
    })
}

fn is_treatment_key(key: &str, treatments: usize) -> bool {
    key == CONTROL_KEY || treatment_number(key).is_some_and(|n| (1..=treatments).contains(&n))
}

/// N of `__tN__`: decimal digits only, no leading zero (the runtime reads keys the same way).
fn treatment_number(key: &str) -> Option<usize> {
    let digits = key.strip_prefix("__t")?.strip_suffix("__")?;
    let valid = !digits.is_empty()
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| digits.parse().ok()).flatten()
}

fn text(p: &mut Problems, path: &str, value: &Value, min: usize, max: usize) -> Option<String> {
    let Value::String(s) = value else {
        p.add(path, format!("expected a string, found {}", kind(value)));
        return None;
    };
    let chars = s.chars().count();
    if chars < min || chars > max {
        p.add(
            path,
            format!("must be {min} to {max} characters, found {chars}"),
        );
        return None;
    }
    Some(s.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags() -> Document {
        Document::parse(
            &json!({
                "version": "1",
                "flags": {
                    "checkoutButton": {
                        "name": "Checkout button",
                        "attributes": {
                            "color": { "constraints": { "type": "string", "enum": ["blue", "green", "orange"] } },
                            "size": { "constraints": { "type": "number", "maximum": 10 } }
                        }
                    },
                    "other": { "name": "Other" }
                },
                "values": { "checkoutButton": { "enabled": true, "color": "blue" } }
            })
            .to_string(),
        )
        .unwrap()
    }

    fn experiment(run: Value) -> Value {
        json!({
            "Name": "green-button",
            "FlagKey": "checkoutButton",
            "AudienceRule": "(eq $country \"NZ\")",
            "Control": { "Enabled": true, "Weight": 50,
                         "AttributeValues": { "color": { "StringValue": "blue" } } },
            "Treatments": [
                { "Enabled": true, "Weight": 30,
                  "AttributeValues": { "color": { "StringValue": "green" }, "size": { "NumberValue": 3 } } },
                { "Enabled": false, "Weight": 20,
                  "AttributeValues": { "color": { "StringValue": "orange" } } }
            ],
            "Run": run
        })
    }

    fn parse(entries: Value) -> Result<Experiments, SchemaError> {
        Experiments::parse(&json!({ "experiments": entries }).to_string(), &flags())
    }

    fn problems(entries: Value) -> String {
        parse(entries)
            .unwrap_err()
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn nz() -> RuleContext {
        RuleContext::from_headers(["country=NZ"]).unwrap()
    }

    #[test]
    fn shares_follow_the_weights_within_a_point() {
        let experiments = parse(json!([experiment(json!({ "ExposurePercentage": 100 }))])).unwrap();
        let mut counts = BTreeMap::<String, u32>::new();
        for i in 0..100_000 {
            let answer = experiments
                .assign("checkoutButton", &format!("customer-{i}"), &nz())
                .unwrap();
            *counts
                .entry(answer["_variant"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        for (key, weight) in [("__c__", 50.0), ("__t1__", 30.0), ("__t2__", 20.0)] {
            let share = f64::from(counts[key]) / 1000.0;
            assert!(
                (share - weight).abs() < 1.0,
                "{key}: {share}% for {weight}%"
            );
        }
    }

    #[test]
    fn answers_carry_the_treatment_values_and_stick() {
        let experiments = parse(json!([experiment(json!({ "ExposurePercentage": 100 }))])).unwrap();
        let mut seen = BTreeMap::new();
        for i in 0..200 {
            let entity = format!("customer-{i}");
            let answer = experiments
                .assign("checkoutButton", &entity, &nz())
                .unwrap();
            assert_eq!(
                experiments
                    .assign("checkoutButton", &entity, &nz())
                    .unwrap(),
                answer,
                "sticky"
            );
            seen.insert(answer["_variant"].as_str().unwrap().to_owned(), answer);
        }
        assert_eq!(
            seen["__c__"],
            json!({"_variant": "__c__", "enabled": true, "color": "blue"})
        );
        assert_eq!(
            seen["__t1__"],
            json!({"_variant": "__t1__", "enabled": true, "color": "green", "size": 3})
        );
        // A disabled treatment serves no attributes, as a disabled variant does.
        assert_eq!(
            seen["__t2__"],
            json!({"_variant": "__t2__", "enabled": false})
        );
    }

    #[test]
    fn ne_in_an_audience_rule_as_aws_lists_it() {
        // AWS's audience-rule page lists `ne` ("Not equal"): it parses in experiments.json with
        // no warning, and a missing key selects nobody (three-valued logic).
        let mut entry = experiment(json!({ "ExposurePercentage": 100 }));
        entry["AudienceRule"] = json!("(ne $region \"us-west-2\")");
        let experiments = parse(json!([entry])).unwrap();
        assert!(
            experiments.warnings.is_empty(),
            "{:?}",
            experiments.warnings
        );
        let region = |r: &str| RuleContext::from_headers([format!("region={r}").as_str()]).unwrap();
        assert!(experiments
            .assign("checkoutButton", "customer-1", &region("eu-west-1"))
            .is_some());
        assert_eq!(
            experiments.assign("checkoutButton", "customer-1", &region("us-west-2")),
            None
        );
        assert_eq!(
            experiments.assign("checkoutButton", "customer-1", &RuleContext::new()),
            None,
            "no region: unknown, not a match"
        );
    }

    #[test]
    fn audience_exposure_overrides_and_no_run() {
        let us = RuleContext::from_headers(["country=US"]).unwrap();
        let run = json!({ "ExposurePercentage": 30,
                          "TreatmentOverrides": { "Inline": { "qa-1": "__t2__" } } });
        let experiments = parse(json!([experiment(run)])).unwrap();
        // Outside the audience, and an empty context: the deployed value.
        assert_eq!(
            experiments.assign("checkoutButton", "customer-1", &us),
            None
        );
        assert_eq!(
            experiments.assign("checkoutButton", "customer-1", &RuleContext::new()),
            None
        );
        // An override wins over the audience and the exposure.
        assert_eq!(
            experiments.assign("checkoutButton", "qa-1", &us).unwrap()["_variant"],
            "__t2__"
        );
        // Another flag has no experiment.
        assert_eq!(experiments.assign("other", "customer-1", &nz()), None);
        // 30 % exposure: about 30 % of the audience is assigned.
        let assigned = |e: &Experiments| -> BTreeMap<String, Value> {
            (0..20_000)
                .filter_map(|i| {
                    let id = format!("customer-{i}");
                    e.assign("checkoutButton", &id, &nz()).map(|a| (id, a))
                })
                .collect()
        };
        let at_30 = assigned(&experiments);
        assert!((5_700..6_300).contains(&at_30.len()), "{}", at_30.len());
        // Raising the exposure keeps every exposed entity where it was.
        let raised = parse(json!([experiment(json!({ "ExposurePercentage": 60 }))])).unwrap();
        let at_60 = assigned(&raised);
        assert!((11_700..12_300).contains(&at_60.len()), "{}", at_60.len());
        for (id, answer) in &at_30 {
            assert_eq!(at_60.get(id), Some(answer), "{id} moved");
        }
        // No run: nobody.
        let mut stopped = experiment(Value::Null);
        stopped.as_object_mut().unwrap().remove("Run");
        let stopped = parse(json!([stopped])).unwrap();
        assert_eq!(stopped.assign("checkoutButton", "qa-1", &nz()), None);
        assert_eq!(stopped.running("checkoutButton"), None);
    }

    #[test]
    fn every_problem_is_named_by_path_and_never_quotes_a_value() {
        let mut bad = experiment(json!({ "ExposurePercentage": 150,
            "TreatmentOverrides": { "Inline": { "qa-1": "__t9__" } } }));
        let e = bad.as_object_mut().unwrap();
        e.insert("Name".into(), json!("AWS.secret-name"));
        e.insert("AudienceRule".into(), json!("(eq $country)"));
        e.insert("ApplicationIdentifier".into(), json!("app"));
        e.insert(
            "Control".into(),
            json!({ "Enabled": "yes", "Weight": -1, "Key": "c",
                    "AttributeValues": { "color": { "StringValue": "purple-secret" },
                                         "size": { "NumberValue": 11 },
                                         "enabled": { "BooleanValue": true },
                                         "shape": { "StringValue": "round" } } }),
        );
        let text = problems(json!([bad]));
        for needle in [
            "`experiments[0].Name`: must not start with `AWS.`",
            "`experiments[0].AudienceRule`: invalid audience rule at line 1",
            "`experiments[0].ApplicationIdentifier`: unknown property; identifiers come from the deployment",
            "`experiments[0].Control.Enabled`: expected a boolean, found a string",
            "`experiments[0].Control.Weight`: must be a number of at least 0",
            "`experiments[0].Control.Key`: read-only",
            "`experiments[0].Control.AttributeValues.color`: the string is not one of the allowed values",
            "`experiments[0].Control.AttributeValues.size`: the number is above the maximum 10",
            "`experiments[0].Control.AttributeValues.enabled`: `enabled` is not a valid attribute key",
            "`experiments[0].Control.AttributeValues.shape`: attribute `shape` is not defined",
            "`experiments[0].Run.ExposurePercentage`: must be a number from 0 to 100",
            "`experiments[0].Run.TreatmentOverrides.Inline[0]`: expected a treatment key of this experiment",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(
            !text.contains("purple-secret") && !text.contains("round"),
            "{text}"
        );
    }

    #[test]
    fn an_enabled_treatment_carries_the_required_attributes() {
        let flags = Document::parse(
            &json!({
                "version": "1",
                "flags": {"bb": {"name": "B", "attributes": {
                    "color": {"constraints": {"type": "string", "required": true}}}}},
                "values": {"bb": {"enabled": true, "color": "blue"}}
            })
            .to_string(),
        )
        .unwrap();
        let file = |control: Value| {
            json!({"experiments": [{"Name": "n", "FlagKey": "bb", "AudienceRule": "(exists key::\"a\")",
                "Control": control, "Treatments": [{"Enabled": false, "Weight": 1}]}]})
            .to_string()
        };
        let missing = Experiments::parse(&file(json!({"Enabled": true, "Weight": 1})), &flags);
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("required attribute `color` has no value"));
        // A disabled treatment serves no attributes: nothing is required.
        Experiments::parse(&file(json!({"Enabled": false, "Weight": 1})), &flags).unwrap();
    }

    #[test]
    fn limits_and_uniqueness() {
        let mut six = experiment(json!({ "ExposurePercentage": 10 }));
        let t = json!({ "Enabled": true, "Weight": 1 });
        six["Treatments"] = json!([t, t, t, t, t, t]);
        six["FlagKey"] = json!("checkoutButon");
        let text = problems(json!([six]));
        assert!(
            text.contains("6 treatments; an experiment has 1 to 5"),
            "{text}"
        );
        assert!(text.contains("did you mean `checkoutButton`?"), "{text}");

        let mut twin = experiment(json!({ "ExposurePercentage": 10 }));
        let text = problems(json!([twin.clone(), twin.clone()]));
        assert!(
            text.contains("a second experiment named `green-button`"),
            "{text}"
        );
        assert!(
            text.contains("a second active run on flag `checkoutButton`"),
            "{text}"
        );

        twin["Name"] = json!("other-name");
        twin.as_object_mut().unwrap().remove("Run");
        // Several definitions on one flag are fine while at most one runs.
        parse(json!([
            experiment(json!({ "ExposurePercentage": 10 })),
            twin
        ]))
        .unwrap();

        let mut zero = experiment(json!({ "ExposurePercentage": 10 }));
        zero["Control"]["Weight"] = json!(0);
        zero["Treatments"] = json!([{ "Enabled": true, "Weight": 0 }]);
        assert!(problems(json!([zero])).contains("every weight is 0"));

        let text = problems(json!([{ "FlagKey": "checkoutButton" }]));
        for key in ["Name", "AudienceRule", "Control", "Treatments"] {
            assert!(
                text.contains(&format!("`experiments[0].{key}`: missing")),
                "{text}"
            );
        }
        assert!(Experiments::parse("{\"experiments\": [}", &flags()).is_err());
        assert!(problems(json!({})).contains("expected an array"));
    }

    #[test]
    fn updates_during_a_run_follow_aws() {
        let running = |exposure: u32, color: &str| {
            let mut e = experiment(json!({ "ExposurePercentage": exposure }));
            e["Treatments"][0]["AttributeValues"]["color"]["StringValue"] = json!(color);
            parse(json!([e])).unwrap()
        };
        let old = running(30, "green");
        assert!(
            old.refused_update(&running(60, "green")).is_empty(),
            "raising"
        );
        let lowered = old.refused_update(&running(10, "green"));
        assert!(
            lowered[0].message.contains("can only be raised"),
            "{lowered:?}"
        );
        let edited = old.refused_update(&running(30, "orange"));
        assert!(
            edited[0].message.contains("edited during its run"),
            "{edited:?}"
        );
        // Stopping the run (no `Run`) and editing then is fine.
        let mut stopped = experiment(Value::Null);
        stopped.as_object_mut().unwrap().remove("Run");
        stopped["Treatments"][0]["AttributeValues"]["color"]["StringValue"] = json!("orange");
        assert!(old
            .refused_update(&parse(json!([stopped])).unwrap())
            .is_empty());
        // Overrides may change during a run.
        let with_override = parse(json!([experiment(json!({ "ExposurePercentage": 30,
            "TreatmentOverrides": { "Inline": { "qa-1": "__c__" } } }))]))
        .unwrap();
        let mut old_green = experiment(json!({ "ExposurePercentage": 30 }));
        old_green["Treatments"][0]["AttributeValues"]["color"]["StringValue"] = json!("green");
        let old_green = parse(json!([old_green])).unwrap();
        assert!(old_green.refused_update(&with_override).is_empty());
    }

    #[test]
    fn treatment_keys() {
        let experiments = parse(json!([experiment(json!({ "ExposurePercentage": 10 }))])).unwrap();
        let e = &experiments.experiments[0];
        assert!(e.treatment("__c__").is_some() && e.treatment("__t2__").is_some());
        for key in [
            "__t0__", "__t3__", "__t__", "t1", "__c", "__t+1__", "__t01__", "__t 1__",
        ] {
            assert!(e.treatment(key).is_none(), "{key}");
        }
        assert!(!is_treatment_key("__t01__", 2) && is_treatment_key("__t2__", 2));
        assert!(!is_treatment_key("__t+1__", 2));
    }
}
