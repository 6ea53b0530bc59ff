//! Reading the EMF records flag-runtime writes (exposures and outcomes) from log lines or a
//! CloudWatch Logs export.

use serde_json::{Map, Value};

/// How an outcome metric is aggregated per entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutcomeKind {
    /// 1 if the entity has any record, else 0.
    Conversion,
    /// The entity's sum, 0 when it has no record.
    Sum,
    /// The entity's mean; entities without a record are left out (and counted).
    Mean,
}

impl OutcomeKind {
    /// The name used in records and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Conversion => "conversion",
            OutcomeKind::Sum => "sum",
            OutcomeKind::Mean => "mean",
        }
    }
}

impl std::str::FromStr for OutcomeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "conversion" => Ok(OutcomeKind::Conversion),
            "sum" => Ok(OutcomeKind::Sum),
            "mean" => Ok(OutcomeKind::Mean),
            other => Err(format!(
                "unknown outcome kind `{other}`: expected conversion, sum or mean"
            )),
        }
    }
}

/// One record: an exposure of an entity to a flag's treatment, or an outcome it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The flag key (the `Flag` dimension).
    pub flag: String,
    /// The treatment key (the `Treatment` dimension): `__c__`, `__t1__`, ...
    pub treatment: String,
    /// The `EntityId` property (an id or a keyed hash of one).
    pub entity: String,
    /// `_aws.Timestamp`, milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    /// What it records.
    pub event: Event,
}

/// What a [`Record`] records.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The metric `Exposure`.
    Exposure,
    /// A user-named metric with its value and, if the record says, its kind (`OutcomeKind`).
    Outcome {
        /// The metric's name.
        metric: String,
        /// The record's `OutcomeKind` property, if any.
        kind: Option<OutcomeKind>,
        /// The value.
        value: f64,
    },
}

/// The records of `text`, and how many lines or messages held no record.
///
/// `text` is EMF lines (anything before a line's first `{` is skipped, as Lambda's log prefixes
/// are), or a CloudWatch Logs export: `aws logs filter-log-events` output
/// (`{"events": [{"message": ..}]}`), a Logs Insights result (objects with `@message`, or
/// `[{"field": "@message", "value": ..}]` rows).
pub fn parse(text: &str) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut skipped = 0;
    let trimmed = text.trim_start();
    // A whole-text JSON document (an export, pretty-printed or not); else lines.
    let export = (trimmed.starts_with('[') || trimmed.starts_with('{'))
        .then(|| serde_json::from_str::<Value>(trimmed).ok())
        .flatten()
        .filter(|v| v.is_array() || v.get("events").is_some() || v.get("results").is_some());
    if let Some(export) = export {
        for message in messages(&export) {
            match message.and_then(|m| serde_json::from_str::<Value>(m).ok()) {
                Some(value) => from_value(&value, &mut records, &mut skipped),
                None => skipped += 1,
            }
        }
        return (records, skipped);
    }
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let value = line
            .find('{')
            .and_then(|start| serde_json::from_str::<Value>(&line[start..]).ok());
        match value {
            Some(value) => from_value(&value, &mut records, &mut skipped),
            None => skipped += 1,
        }
    }
    (records, skipped)
}

/// The log messages of an export.
fn messages(export: &Value) -> Vec<Option<&str>> {
    let items: &[Value] = match export {
        Value::Array(items) => items,
        Value::Object(o) => match o.get("events").or_else(|| o.get("results")) {
            Some(Value::Array(items)) => items,
            _ => return vec![None],
        },
        _ => return vec![None],
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(o) => o
                .get("message")
                .or_else(|| o.get("@message"))
                .and_then(Value::as_str),
            Value::Array(fields) => fields
                .iter()
                .find(|f| f["field"] == "@message")
                .and_then(|f| f["value"].as_str()),
            _ => None,
        })
        .collect()
}

/// The records of one EMF object: an exposure, or one outcome per metric value.
fn from_value(value: &Value, records: &mut Vec<Record>, skipped: &mut usize) {
    let Some(object) = value.as_object() else {
        *skipped += 1;
        return;
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    let (Some(flag), Some(treatment), Some(entity), Some(names)) = (
        text("Flag"),
        text("Treatment"),
        text("EntityId"),
        metric_names(object),
    ) else {
        *skipped += 1;
        return;
    };
    let timestamp_ms = object
        .get("_aws")
        .and_then(|aws| aws.get("Timestamp"))
        .and_then(Value::as_i64);
    let kind = text("OutcomeKind").and_then(|k| k.parse().ok());
    let record = |event| Record {
        flag: flag.clone(),
        treatment: treatment.clone(),
        entity: entity.clone(),
        timestamp_ms,
        event,
    };
    for name in names {
        if name == "Exposure" {
            records.push(record(Event::Exposure));
            continue;
        }
        let values: Vec<f64> = match object.get(&name) {
            Some(Value::Number(n)) => n.as_f64().into_iter().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_f64).collect(),
            _ => Vec::new(),
        };
        for value in values.into_iter().filter(|v| v.is_finite()) {
            records.push(record(Event::Outcome {
                metric: name.clone(),
                kind,
                value,
            }));
        }
    }
}

/// The metric names an EMF object declares (`_aws.CloudWatchMetrics[].Metrics[].Name`).
fn metric_names(object: &Map<String, Value>) -> Option<Vec<String>> {
    let directives = object.get("_aws")?.get("CloudWatchMetrics")?.as_array()?;
    let names: Vec<String> = directives
        .iter()
        .filter_map(|d| d.get("Metrics")?.as_array())
        .flatten()
        .filter_map(|m| m.get("Name")?.as_str().map(str::to_owned))
        .collect();
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSURE: &str = r#"{"_aws":{"Timestamp":1733443200000,"CloudWatchMetrics":[{"Namespace":"FlagExperiments","Dimensions":[["Flag","Treatment"]],"Metrics":[{"Name":"Exposure","Unit":"Count"}]}]},"Flag":"checkoutButton","Treatment":"__t1__","EntityId":"c-1","Exposure":1}"#;
    const OUTCOME: &str = r#"{"_aws":{"Timestamp":1733443201000,"CloudWatchMetrics":[{"Namespace":"FlagExperiments","Dimensions":[["Flag","Treatment"]],"Metrics":[{"Name":"Revenue"}]}]},"Flag":"checkoutButton","Treatment":"__t1__","EntityId":"c-1","OutcomeKind":"sum","Revenue":[12.5,3]}"#;

    #[test]
    fn lines_with_prefixes_and_noise() {
        let text = format!(
            "2026-12-05T10:00:00Z INFO {EXPOSURE}\nnot json\n{OUTCOME}\n{{\"other\": 1}}\n"
        );
        let (records, skipped) = parse(&text);
        assert_eq!(skipped, 2);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].event, Event::Exposure);
        assert_eq!(records[0].timestamp_ms, Some(1_733_443_200_000));
        assert_eq!(
            records[2].event,
            Event::Outcome {
                metric: "Revenue".into(),
                kind: Some(OutcomeKind::Sum),
                value: 3.0
            }
        );
    }

    #[test]
    fn cloudwatch_exports() {
        let events = serde_json::json!({"events": [{"message": EXPOSURE}, {"message": OUTCOME}]});
        assert_eq!(parse(&events.to_string()).0.len(), 3);
        // As the AWS CLI prints it: indented.
        let pretty = serde_json::to_string_pretty(&events).unwrap();
        assert_eq!(parse(&pretty).0.len(), 3);
        let insights = serde_json::json!([[{"field": "@timestamp", "value": "x"}, {"field": "@message", "value": EXPOSURE}]]);
        assert_eq!(parse(&insights.to_string()).0.len(), 1);
        let objects = serde_json::json!([{"@message": OUTCOME}]);
        assert_eq!(parse(&objects.to_string()).0.len(), 2);
    }
}
