//! The analysis of one set of records: per flag and treatment, the exposed entities and each
//! outcome metric against control, the sample-ratio check and the verdict; as JSON or a table.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::records::{Event, OutcomeKind, Record};
use crate::stats::{self, Summary};

/// The control's treatment key.
pub const CONTROL: &str = "__c__";
/// A sample-ratio mismatch: the check's p-value below this.
pub const SRM_THRESHOLD: f64 = 0.001;

/// What the analysis takes besides the records.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Outcome kinds by metric, over the records' own `OutcomeKind`.
    pub kinds: BTreeMap<String, OutcomeKind>,
    /// Records before this (ms since the epoch) are left out.
    pub since_ms: Option<i64>,
    /// Records after this are left out.
    pub until_ms: Option<i64>,
    /// Expected shares per flag and treatment key (from experiments.json), for the
    /// sample-ratio check.
    pub weights: BTreeMap<String, BTreeMap<String, f64>>,
    /// The decision metric.
    pub primary: Option<String>,
    /// Whether a lower primary metric is better.
    pub lower_is_better: bool,
}

/// The analysis of every flag the records name.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// By flag key.
    pub flags: BTreeMap<String, FlagReport>,
    /// Records outside `--since`/`--until`.
    pub outside_window: usize,
}

/// One flag's analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagReport {
    /// The sample-ratio check's p-value (`None` without weights).
    pub srm_p_value: Option<f64>,
    /// The winning treatment, if the primary metric names one.
    pub winner: Option<String>,
    /// Entities exposed to two treatments: left out.
    pub conflicting_entities: usize,
    /// Outcome records of entities never exposed (or recorded under another treatment than
    /// their exposure's): left out.
    pub unexposed_outcomes: usize,
    /// By treatment key.
    pub treatments: BTreeMap<String, TreatmentReport>,
}

impl FlagReport {
    /// Whether the sample-ratio check failed.
    pub fn srm_mismatch(&self) -> bool {
        self.srm_p_value.is_some_and(|p| p < SRM_THRESHOLD)
    }
}

/// One treatment's analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct TreatmentReport {
    /// Entities exposed.
    pub exposed: usize,
    /// By outcome metric.
    pub metrics: BTreeMap<String, MetricReport>,
}

/// One outcome metric of one treatment.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricReport {
    /// How it is aggregated per entity.
    pub kind: OutcomeKind,
    /// Entities in the mean (the exposed ones; for `mean`, those with a record).
    pub n: usize,
    /// Entities left out (a `mean` without a record).
    pub left_out: usize,
    /// The per-entity mean.
    pub mean: Option<f64>,
    /// Its 95 % interval.
    pub ci95: Option<(f64, f64)>,
    /// Against control (`None` for control itself).
    pub diff: Option<stats::Difference>,
    /// The p-value adjusted across treatments (Holm).
    pub p_value_adjusted: Option<f64>,
}

/// Analyses `records`.
pub fn analyze(records: &[Record], options: &Options) -> Report {
    let in_window = |r: &&Record| {
        r.timestamp_ms.is_none_or(|t| {
            options.since_ms.is_none_or(|s| t >= s) && options.until_ms.is_none_or(|u| t <= u)
        })
    };
    let outside_window = records.iter().filter(|r| !in_window(r)).count();
    let mut by_flag: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for record in records.iter().filter(in_window) {
        by_flag.entry(&record.flag).or_default().push(record);
    }
    let flags = by_flag
        .into_iter()
        .map(|(flag, records)| (flag.to_owned(), flag_report(flag, &records, options)))
        .collect();
    Report {
        flags,
        outside_window,
    }
}

fn flag_report(flag: &str, records: &[&Record], options: &Options) -> FlagReport {
    // Each entity's treatment; one seen in two is left out.
    let mut assigned: BTreeMap<&str, &str> = BTreeMap::new();
    let mut conflicting: BTreeSet<&str> = BTreeSet::new();
    for r in records.iter().filter(|r| r.event == Event::Exposure) {
        match assigned.get(r.entity.as_str()) {
            Some(t) if *t != r.treatment => {
                conflicting.insert(&r.entity);
            }
            _ => {
                assigned.insert(&r.entity, &r.treatment);
            }
        }
    }
    for entity in &conflicting {
        assigned.remove(entity);
    }
    let mut exposed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (entity, treatment) in &assigned {
        exposed.entry(treatment).or_default().push(entity);
    }
    // Outcome values per metric and entity (exposed entities only).
    let mut outcomes: BTreeMap<&str, Outcomes<'_>> = BTreeMap::new();
    let mut unexposed_outcomes = 0;
    for r in records {
        let Event::Outcome {
            metric,
            kind,
            value,
        } = &r.event
        else {
            continue;
        };
        // An outcome counts for the treatment its entity was exposed to; one recorded under
        // another treatment (a new run in the same sandbox) is left out with the unexposed.
        if assigned.get(r.entity.as_str()) != Some(&r.treatment.as_str()) {
            unexposed_outcomes += 1;
            continue;
        }
        let entry = outcomes.entry(metric).or_default();
        entry.0 = entry.0.or(*kind);
        entry.1.entry(&r.entity).or_default().push(*value);
    }

    let keys: Vec<&str> = exposed.keys().copied().collect();
    let mut treatments: BTreeMap<String, TreatmentReport> = keys
        .iter()
        .map(|t| {
            (
                (*t).to_owned(),
                TreatmentReport {
                    exposed: exposed[t].len(),
                    metrics: BTreeMap::new(),
                },
            )
        })
        .collect();
    for (metric, (recorded_kind, values)) in &outcomes {
        let kind = options
            .kinds
            .get(*metric)
            .copied()
            .or(*recorded_kind)
            .unwrap_or(OutcomeKind::Sum);
        let per_treatment: BTreeMap<&str, (Summary, usize, usize)> = keys
            .iter()
            .map(|t| (*t, aggregate(kind, &exposed[t], values)))
            .collect();
        let control = per_treatment.get(CONTROL);
        let mut reports: Vec<(&str, MetricReport)> = per_treatment
            .iter()
            .map(|(t, (summary, successes, left_out))| {
                let diff = match (control, *t == CONTROL) {
                    (Some((c, c_successes, _)), false) => match kind {
                        OutcomeKind::Conversion => {
                            stats::proportions(*successes, summary.n, *c_successes, c.n)
                        }
                        _ => stats::welch(summary, c),
                    },
                    _ => None,
                };
                let ci95 = match kind {
                    OutcomeKind::Conversion => stats::wilson(*successes, summary.n),
                    _ => stats::t_interval(summary),
                };
                let report = MetricReport {
                    kind,
                    n: summary.n,
                    left_out: *left_out,
                    mean: (summary.n > 0).then_some(summary.mean),
                    ci95,
                    diff,
                    p_value_adjusted: None,
                };
                (*t, report)
            })
            .collect();
        let adjusted = stats::holm(
            &reports
                .iter()
                .map(|(_, r)| r.diff.map(|d| d.p_value))
                .collect::<Vec<_>>(),
        );
        for ((t, mut report), p) in reports.drain(..).zip(adjusted) {
            report.p_value_adjusted = p;
            if let Some(tr) = treatments.get_mut(t) {
                tr.metrics.insert((*metric).to_owned(), report);
            }
        }
    }

    // Every treatment of the weights and of the records: one exposed but not in the weights
    // (a stale experiments file) has weight 0, which is a mismatch.
    let srm_p_value = options.weights.get(flag).and_then(|weights| {
        let groups: BTreeSet<&str> = weights
            .keys()
            .map(String::as_str)
            .chain(exposed.keys().copied())
            .collect();
        let observed: Vec<u64> = groups
            .iter()
            .map(|t| exposed.get(t).map_or(0, |e| e.len() as u64))
            .collect();
        let expected: Vec<f64> = groups
            .iter()
            .map(|t| weights.get(*t).copied().unwrap_or(0.0))
            .collect();
        stats::sample_ratio(&observed, &expected)
    });
    let mut report = FlagReport {
        srm_p_value,
        winner: None,
        conflicting_entities: conflicting.len(),
        unexposed_outcomes,
        treatments,
    };
    report.winner = winner(&report, options);
    report
}

/// One metric's recorded kind (the first record that says) and values per entity.
type Outcomes<'a> = (Option<OutcomeKind>, BTreeMap<&'a str, Vec<f64>>);

/// Per-entity values of one treatment: their summary, the successes (conversions), and the
/// entities left out (a `mean` without a record).
fn aggregate(
    kind: OutcomeKind,
    entities: &[&str],
    values: &BTreeMap<&str, Vec<f64>>,
) -> (Summary, usize, usize) {
    match kind {
        OutcomeKind::Conversion => {
            let successes = entities.iter().filter(|e| values.contains_key(*e)).count();
            let per_entity = entities
                .iter()
                .map(|e| if values.contains_key(e) { 1.0 } else { 0.0 });
            (Summary::of(per_entity), successes, 0)
        }
        OutcomeKind::Sum => {
            let per_entity = entities
                .iter()
                .map(|e| values.get(e).map_or(0.0, |v| v.iter().sum()));
            (Summary::of(per_entity), 0, 0)
        }
        OutcomeKind::Mean => {
            let with: Vec<f64> = entities
                .iter()
                .filter_map(|e| values.get(e))
                .map(|v| v.iter().sum::<f64>() / v.len() as f64)
                .collect();
            let left_out = entities.len() - with.len();
            (Summary::of(with), 0, left_out)
        }
    }
}

/// The treatment the primary metric says won: no sample-ratio mismatch, the difference's
/// interval excludes 0 in the better direction, and its Holm-adjusted p-value is below 0.05;
/// the best such one.
fn winner(report: &FlagReport, options: &Options) -> Option<String> {
    let primary = options.primary.as_deref()?;
    if report.srm_mismatch() {
        return None;
    }
    let sign = if options.lower_is_better { -1.0 } else { 1.0 };
    report
        .treatments
        .iter()
        .filter(|(t, _)| *t != CONTROL)
        .filter_map(|(t, tr)| {
            let metric = tr.metrics.get(primary)?;
            let d = metric.diff?;
            let (lo, hi) = d.ci95;
            let better = if options.lower_is_better {
                hi < 0.0
            } else {
                lo > 0.0
            };
            // And significant once adjusted for the number of treatments (Holm): a
            // zero-width interval of a tiny sample is no evidence.
            let significant = metric.p_value_adjusted.is_some_and(|p| p < 0.05);
            (better && significant).then_some((t, sign * d.diff))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(t, _)| t.clone())
}

fn number(x: Option<f64>) -> Value {
    x.filter(|x| x.is_finite()).map_or(Value::Null, Value::from)
}

fn pair(x: Option<(f64, f64)>) -> Value {
    match x {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() => json!([lo, hi]),
        _ => Value::Null,
    }
}

impl Report {
    /// The report as the JSON object `--json` prints.
    pub fn to_json(&self) -> Value {
        let flags: serde_json::Map<String, Value> = self
            .flags
            .iter()
            .map(|(flag, f)| {
                let treatments: serde_json::Map<String, Value> = f
                    .treatments
                    .iter()
                    .map(|(t, tr)| {
                        let metrics: serde_json::Map<String, Value> = tr
                            .metrics
                            .iter()
                            .map(|(m, r)| {
                                (
                                    m.clone(),
                                    json!({
                                        "kind": r.kind.as_str(),
                                        "n": r.n,
                                        "left_out": r.left_out,
                                        "mean": number(r.mean),
                                        "ci95": pair(r.ci95),
                                        "diff": number(r.diff.map(|d| d.diff)),
                                        "diff_ci95": pair(r.diff.map(|d| d.ci95)),
                                        "p_value": number(r.diff.map(|d| d.p_value)),
                                        "p_value_adjusted": number(r.p_value_adjusted),
                                    }),
                                )
                            })
                            .collect();
                        (
                            t.clone(),
                            json!({"exposed": tr.exposed, "metrics": metrics}),
                        )
                    })
                    .collect();
                (
                    flag.clone(),
                    json!({
                        "srm_p_value": number(f.srm_p_value),
                        "srm_mismatch": f.srm_mismatch(),
                        "winner": f.winner,
                        "conflicting_entities": f.conflicting_entities,
                        "unexposed_outcomes": f.unexposed_outcomes,
                        "treatments": treatments,
                    }),
                )
            })
            .collect();
        json!({"flags": flags, "outside_window": self.outside_window})
    }

    /// The report as a readable table.
    pub fn to_table(&self) -> String {
        use std::fmt::Write as _;
        let fmt = |x: Option<f64>| {
            x.filter(|x| x.is_finite())
                .map_or("-".to_owned(), |x| format!("{x:.4}"))
        };
        let interval = |x: Option<(f64, f64)>| match x {
            Some((lo, hi)) if lo.is_finite() && hi.is_finite() => format!("[{lo:.4}, {hi:.4}]"),
            _ => "-".to_owned(),
        };
        let mut out = String::new();
        for (flag, f) in &self.flags {
            let srm = match f.srm_p_value {
                None => "not checked (no weights)".to_owned(),
                Some(p) if p < SRM_THRESHOLD => {
                    format!("MISMATCH (p = {p:.2e}): do not trust these numbers")
                }
                Some(p) => format!("ok (p = {p:.4})"),
            };
            let _ = writeln!(out, "flag {flag}: sample ratio {srm}");
            let _ = writeln!(out, "  winner: {}", f.winner.as_deref().unwrap_or("none"));
            if f.conflicting_entities > 0 || f.unexposed_outcomes > 0 {
                let _ = writeln!(
                    out,
                    "  left out: {} entities seen in two treatments, {} outcomes of unexposed entities",
                    f.conflicting_entities, f.unexposed_outcomes
                );
            }
            let _ = writeln!(
                out,
                "  {:<10} {:>8}  {:<14} {:>10} {:<24} {:>10} {:<24} {:>8} {:>8}",
                "treatment",
                "exposed",
                "metric",
                "mean",
                "95% interval",
                "diff",
                "diff 95% interval",
                "p",
                "p adj"
            );
            for (t, tr) in &f.treatments {
                if tr.metrics.is_empty() {
                    let _ = writeln!(out, "  {t:<10} {:>8}", tr.exposed);
                }
                for (m, r) in &tr.metrics {
                    let _ = writeln!(
                        out,
                        "  {:<10} {:>8}  {:<14} {:>10} {:<24} {:>10} {:<24} {:>8} {:>8}",
                        t,
                        tr.exposed,
                        format!("{m} ({})", r.kind.as_str()),
                        fmt(r.mean),
                        interval(r.ci95),
                        fmt(r.diff.map(|d| d.diff)),
                        interval(r.diff.map(|d| d.ci95)),
                        fmt(r.diff.map(|d| d.p_value)),
                        fmt(r.p_value_adjusted),
                    );
                }
            }
        }
        if self.outside_window > 0 {
            let _ = writeln!(
                out,
                "{} records outside --since/--until",
                self.outside_window
            );
        }
        out
    }
}

/// Expected shares per flag and treatment key from an `experiments.json` document: the control
/// and treatment weights of each experiment with a `Run` (else of each experiment).
pub fn weights(experiments: &Value) -> Result<BTreeMap<String, BTreeMap<String, f64>>, String> {
    let list = experiments["experiments"]
        .as_array()
        .ok_or("the experiments file has no `experiments` array")?;
    let mut out: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let running: Vec<&Value> = list.iter().filter(|e| e.get("Run").is_some()).collect();
    for experiment in if running.is_empty() {
        list.iter().collect()
    } else {
        running
    } {
        let flag = experiment["FlagKey"]
            .as_str()
            .ok_or("an experiment has no `FlagKey`")?;
        let weight = |t: &Value| {
            t["Weight"]
                .as_f64()
                .ok_or_else(|| format!("a treatment of `{flag}` has no numeric `Weight`"))
        };
        let mut shares = BTreeMap::new();
        shares.insert(CONTROL.to_owned(), weight(&experiment["Control"])?);
        for (i, t) in experiment["Treatments"]
            .as_array()
            .ok_or_else(|| format!("experiment of `{flag}` has no `Treatments`"))?
            .iter()
            .enumerate()
        {
            shares.insert(format!("__t{}__", i + 1), weight(t)?);
        }
        if out.insert(flag.to_owned(), shares).is_some() {
            return Err(format!(
                "several experiments on `{flag}` and none running: which weights apply is unknown"
            ));
        }
    }
    Ok(out)
}
