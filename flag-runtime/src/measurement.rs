//! Experiment measurement: exposure and outcome records, one CloudWatch Embedded Metric Format
//! (EMF) line each, written to stdout (which Lambda sends to CloudWatch Logs, where the lines
//! become metrics).
//!
//! Off until [`Measurement::install`]. Then the first time an invocation scope reads a flag
//! under experiment whose answer carries a treatment, one exposure record is written for
//! (flag, treatment, entity), at most once per entity and flag per sandbox; and
//! [`record_outcome`](crate::measure::record_outcome) writes an outcome record for each treatment the scope was served. Every
//! record carries the flag and the treatment as dimensions and the entity (or its keyed hash)
//! as the property `EntityId`, never as a dimension.

use std::io::Write;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use lru::LruCache;

use crate::snapshot::{Assignment, Snapshot};

/// How an outcome is aggregated per entity by the analysis (`flag-experiment analyze`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutcomeKind {
    /// 1 if the entity has any record, else 0 (an order placed).
    Conversion,
    /// The entity's sum, 0 without a record (revenue).
    Sum,
    /// The entity's mean; entities without a record are left out (a latency).
    Mean,
}

impl OutcomeKind {
    /// The `OutcomeKind` property's value: `conversion`, `sum` or `mean`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Conversion => "conversion",
            OutcomeKind::Sum => "sum",
            OutcomeKind::Mean => "mean",
        }
    }
}

/// Why an outcome was not recorded, or a [`Measurement`] not built. Names the rule broken,
/// never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MeasureError {
    /// A metric name CloudWatch would refuse (1 to 255 characters, no control character) or
    /// that a record uses itself (`Exposure`, `Flag`, `Treatment`, `EntityId`, `OutcomeKind`,
    /// `_aws`).
    InvalidMetric {
        /// Why.
        reason: &'static str,
    },
    /// A namespace CloudWatch would refuse: 1 to 255 of `0-9A-Za-z.-_/#:`, not `AWS/...`.
    InvalidNamespace,
    /// The value is NaN or infinite.
    NotFinite,
}

impl std::fmt::Display for MeasureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeasureError::InvalidMetric { reason } => write!(f, "invalid metric name: {reason}"),
            MeasureError::InvalidNamespace => f.write_str(
                "invalid CloudWatch namespace: 1 to 255 of 0-9 A-Z a-z . - _ / # :, not starting with AWS/",
            ),
            MeasureError::NotFinite => f.write_str("the outcome value is NaN or infinite"),
        }
    }
}

impl std::error::Error for MeasureError {}

/// The measurement settings of the process: where records go and how entities appear in them.
///
/// ```no_run
/// use flag_runtime::measure::{self, Measurement, OutcomeKind};
///
/// // Once, at start-up (before the first invocation):
/// Measurement::new()
///     .hash_entity_ids(std::env::var("ENTITY_HASH_KEY").unwrap_or_default())
///     .install()
///     .expect("installed once");
///
/// // In the handler, inside the invocation scope:
/// # fn handler() -> Result<(), measure::MeasureError> {
/// measure::record_outcome("Order", OutcomeKind::Conversion, 1.0)?;
/// measure::record_outcome("Revenue", OutcomeKind::Sum, 24.90)?;
/// # Ok(()) }
/// ```
pub struct Measurement {
    namespace: String,
    entity_key: Option<[u8; 32]>,
    sink: Mutex<Box<dyn Write + Send>>,
    /// (entity, flag) pairs exposed in this sandbox, least recently exposed out.
    exposed: Box<Mutex<LruCache<u64, ()>>>,
}

impl std::fmt::Debug for Measurement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measurement")
            .field("namespace", &self.namespace)
            .field("hashed_entity_ids", &self.entity_key.is_some())
            .finish_non_exhaustive()
    }
}

/// The default CloudWatch namespace of the records.
pub const DEFAULT_NAMESPACE: &str = "FlagExperiments";
/// How many (entity, flag) exposures a sandbox remembers; past it the least recently exposed
/// are forgotten, and a forgotten one exposed again is written again (the analysis counts an
/// entity once however many exposures it has).
pub const REMEMBERED_EXPOSURES: usize = 100_000;

static INSTALLED: OnceLock<Measurement> = OnceLock::new();

impl Default for Measurement {
    fn default() -> Self {
        Self::new()
    }
}

impl Measurement {
    /// Records in the namespace `FlagExperiments`, entity ids as they are, written to stdout.
    pub fn new() -> Self {
        Measurement {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            entity_key: None,
            sink: Mutex::new(Box::new(std::io::stdout())),
            exposed: Box::new(Mutex::new(LruCache::new(
                NonZeroUsize::new(REMEMBERED_EXPOSURES).unwrap_or(NonZeroUsize::MIN),
            ))),
        }
    }

    /// Another CloudWatch namespace.
    pub fn namespace(mut self, namespace: &str) -> Result<Self, MeasureError> {
        let valid = (1..=255).contains(&namespace.len())
            && !namespace.starts_with("AWS/")
            && namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_/#:".contains(&b));
        if !valid {
            return Err(MeasureError::InvalidNamespace);
        }
        self.namespace = namespace.to_owned();
        Ok(self)
    }

    /// Writes each entity as a keyed hash of its id (BLAKE3 in keyed mode, the key derived
    /// from `key`; 32 hex digits) instead of the id: the analysis still counts entities, and
    /// the logs hold no id. Keep the key stable for the life of an experiment.
    pub fn hash_entity_ids(mut self, key: impl AsRef<[u8]>) -> Self {
        self.entity_key = Some(blake3::derive_key(
            "flag-runtime experiment entity id v1",
            key.as_ref(),
        ));
        self
    }

    /// Writes the records to `writer` instead of stdout (one line per record, each written
    /// whole).
    pub fn writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.sink = Mutex::new(Box::new(writer));
        self
    }

    /// Turns measurement on for the process; `Err` with these settings if it already is.
    pub fn install(self) -> Result<(), Measurement> {
        INSTALLED.set(self)
    }

    /// The entity as records show it.
    fn entity(&self, id: &str) -> String {
        match &self.entity_key {
            None => id.to_owned(),
            Some(key) => {
                let hash = blake3::keyed_hash(key, id.as_bytes());
                hash.to_hex()[..32].to_owned()
            }
        }
    }

    /// Writes one EMF record of `metric` = `value` for `flag`'s `treatment` and `entity`:
    /// formatted in place (strings escaped by `serde_json`), one `write_all` per line.
    fn write(
        &self,
        flag: &str,
        treatment: Assignment,
        entity: &str,
        metric: &str,
        value: f64,
        kind: Option<OutcomeKind>,
    ) {
        use std::fmt::Write as _;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let quoted = |text: &str| serde_json::to_string(text).unwrap_or_default();
        let metric = quoted(metric);
        let unit = if kind.is_none() { "Count" } else { "None" };
        let mut line = String::with_capacity(320);
        let _ = write!(
            line,
            "{{\"_aws\":{{\"Timestamp\":{timestamp},\"CloudWatchMetrics\":[{{\"Namespace\":{},\
             \"Dimensions\":[[\"Flag\",\"Treatment\"]],\"Metrics\":[{{\"Name\":{metric},\"Unit\":\"{unit}\"}}]}}]}},\
             \"Flag\":{},\"Treatment\":\"{treatment}\",\"EntityId\":{}",
            quoted(&self.namespace),
            quoted(flag),
            quoted(&self.entity(entity)),
        );
        if let Some(kind) = kind {
            let _ = write!(line, ",\"OutcomeKind\":\"{}\"", kind.as_str());
        }
        let _ = writeln!(line, ",{metric}:{}}}", serde_json::Value::from(value));
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        // A record that cannot be written is lost, never the handler's failure.
        let _ = sink.write_all(line.as_bytes()).and_then(|()| sink.flush());
    }

    /// Whether (entity, flag, treatment) was exposed in this sandbox; marks it.
    fn first_exposure(&self, entity: &str, flag: &str, treatment: Assignment) -> bool {
        let key = pair_key(entity, flag, treatment);
        let mut exposed = self.exposed.lock().unwrap_or_else(|e| e.into_inner());
        exposed.put(key, ()).is_none()
    }

    fn already_exposed(&self, entity: &str, flag: &str, treatment: Assignment) -> bool {
        let exposed = self.exposed.lock().unwrap_or_else(|e| e.into_inner());
        exposed.contains(&pair_key(entity, flag, treatment))
    }
}

/// The remembered key of an exposure: the treatment too, so that an entity assigned another
/// treatment (a new run in the same sandbox) is exposed again.
fn pair_key(entity: &str, flag: &str, treatment: Assignment) -> u64 {
    use std::hash::BuildHasher as _;
    static SEED: OnceLock<foldhash::fast::RandomState> = OnceLock::new();
    SEED.get_or_init(foldhash::fast::RandomState::default)
        .hash_one((entity, flag, treatment))
}

/// The installed measurement, if any.
pub(crate) fn installed() -> Option<&'static Measurement> {
    INSTALLED.get()
}

/// The exposures one scope may still write: the treatments of its pinned answer that its
/// entity was not exposed to yet in this sandbox.
#[derive(Debug)]
pub(crate) struct Exposures {
    entity: String,
    pending: Vec<(Box<str>, Assignment, AtomicBool)>,
    /// Every treatment of the pinned answer, for outcomes.
    served: Vec<(Box<str>, Assignment)>,
}

impl Exposures {
    /// The exposures of a scope of `entity` reading `snapshot`, if measurement is on and the
    /// answer carries a treatment.
    pub(crate) fn of(entity: Option<&str>, snapshot: Option<&Snapshot>) -> Option<Exposures> {
        let measurement = installed()?;
        let entity = entity?;
        let served: Vec<(Box<str>, Assignment)> = snapshot?
            .flags()
            .filter_map(|(name, flag)| Some((Box::from(name), flag.assignment()?)))
            .collect();
        if served.is_empty() {
            return None;
        }
        let pending: Vec<(Box<str>, Assignment, AtomicBool)> = served
            .iter()
            .filter(|(flag, a)| !measurement.already_exposed(entity, flag, *a))
            .map(|(flag, a)| (flag.clone(), *a, AtomicBool::new(false)))
            .collect();
        Some(Exposures {
            entity: entity.to_owned(),
            pending,
            served,
        })
    }

    /// `flag` was read: its exposure is written if it is one of ours and the first.
    pub(crate) fn expose(&self, flag: &str) {
        let Some((name, assignment, done)) = self.pending.iter().find(|(f, ..)| &**f == flag)
        else {
            return;
        };
        if done.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(measurement) = installed() {
            if measurement.first_exposure(&self.entity, name, *assignment) {
                measurement.write(name, *assignment, &self.entity, "Exposure", 1.0, None);
            }
        }
    }

    /// Writes an outcome record for every treatment served; how many.
    pub(crate) fn outcome(&self, metric: &str, kind: OutcomeKind, value: f64) -> usize {
        let Some(measurement) = installed() else {
            return 0;
        };
        for (flag, assignment) in &self.served {
            measurement.write(flag, *assignment, &self.entity, metric, value, Some(kind));
        }
        self.served.len()
    }
}

/// Checks an outcome's metric name against CloudWatch's rules and the records' own names.
pub(crate) fn validate_metric(metric: &str) -> Result<(), MeasureError> {
    let reason = if metric.is_empty() || metric.chars().count() > 255 {
        "1 to 255 characters"
    } else if metric.chars().any(char::is_control) {
        "no control character"
    } else if metric.trim().is_empty() {
        "not only whitespace"
    } else if [
        "Exposure",
        "Flag",
        "Treatment",
        "EntityId",
        "OutcomeKind",
        "_aws",
    ]
    .contains(&metric)
    {
        "a name the records use themselves"
    } else {
        return Ok(());
    };
    Err(MeasureError::InvalidMetric { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_and_namespaces_follow_cloudwatch() {
        assert!(validate_metric("Revenue").is_ok());
        assert!(validate_metric(&"x".repeat(255)).is_ok());
        for bad in ["", "  ", "a\nb", "Exposure", "EntityId", "_aws"] {
            assert!(validate_metric(bad).is_err(), "{bad:?}");
        }
        assert!(validate_metric(&"x".repeat(256)).is_err());
        assert!(Measurement::new().namespace("Shop/Checkout").is_ok());
        for bad in ["", "AWS/Lambda", "a b", "é"] {
            assert!(Measurement::new().namespace(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn records_are_json_whatever_the_names() {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let m = Measurement::new().writer(buffer.clone());
        let entity = "c-\"1\"\\ é";
        m.write(
            "flag",
            Assignment::Treatment(2),
            entity,
            "Ünits \"x\"",
            0.1,
            Some(OutcomeKind::Mean),
        );
        m.write("flag", Assignment::Control, entity, "Exposure", 1.0, None);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["Ünits \"x\""], 0.1);
        assert_eq!(lines[0]["EntityId"], entity);
        assert_eq!(lines[0]["Treatment"], "__t2__");
        assert_eq!(lines[0]["OutcomeKind"], "mean");
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "Ünits \"x\""
        );
        assert_eq!(lines[1]["Exposure"], 1.0);
        assert_eq!(
            lines[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Count"
        );
    }

    #[test]
    fn entity_ids_are_hashed_with_the_key() {
        let plain = Measurement::new();
        assert_eq!(plain.entity("c-1"), "c-1");
        let a = Measurement::new().hash_entity_ids("secret");
        let b = Measurement::new().hash_entity_ids("other");
        assert_eq!(a.entity("c-1").len(), 32);
        assert_eq!(a.entity("c-1"), a.entity("c-1"));
        assert_ne!(a.entity("c-1"), a.entity("c-2"));
        assert_ne!(a.entity("c-1"), b.entity("c-1"));
        assert!(!a.entity("c-1").contains("c-1"));
    }
}
