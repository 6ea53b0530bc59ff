//! The analysis on synthetic experiments with known truth: A/A runs keep the false-positive
//! rate near 5 %, a planted effect is found with a correct interval, a starved treatment trips
//! the sample-ratio check; and the command line prints the documented JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use flag_experiment::{analyze, parse, Event, Options, OutcomeKind, Record};
use rand::{Rng, SeedableRng};

/// EMF lines for `entities` split between control and one treatment (`treated_share`), each
/// converting with probability `rates.0` (control) or `rates.1`, and spending a normal-ish
/// amount when it does.
fn experiment(seed: u64, entities: usize, treated_share: f64, rates: (f64, f64)) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = String::new();
    for i in 0..entities {
        let treated = rng.random::<f64>() < treated_share;
        let treatment = if treated { "__t1__" } else { "__c__" };
        let rate = if treated { rates.1 } else { rates.0 };
        let _ = writeln!(
            out,
            r#"{{"_aws":{{"Timestamp":1733443200000,"CloudWatchMetrics":[{{"Namespace":"FlagExperiments","Dimensions":[["Flag","Treatment"]],"Metrics":[{{"Name":"Exposure","Unit":"Count"}}]}}]}},"Flag":"button","Treatment":"{treatment}","EntityId":"e{i}","Exposure":1}}"#
        );
        if rng.random::<f64>() < rate {
            let spend: f64 = 20.0 + 10.0 * (rng.random::<f64>() - 0.5);
            let _ = writeln!(
                out,
                r#"{{"_aws":{{"Timestamp":1733443201000,"CloudWatchMetrics":[{{"Namespace":"FlagExperiments","Dimensions":[["Flag","Treatment"]],"Metrics":[{{"Name":"Order"}},{{"Name":"Revenue"}}]}}]}},"Flag":"button","Treatment":"{treatment}","EntityId":"e{i}","OutcomeKind":"conversion","Order":1,"Revenue":{spend}}}"#
            );
        }
    }
    out
}

/// The same experiment as records, without the text (the A/A runs need thousands of them).
fn records(seed: u64, entities: usize, treated_share: f64, rates: (f64, f64)) -> Vec<Record> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(entities * 2);
    for i in 0..entities {
        let treated = rng.random::<f64>() < treated_share;
        let record = |event| Record {
            flag: "button".to_owned(),
            treatment: if treated { "__t1__" } else { "__c__" }.to_owned(),
            entity: format!("e{i}"),
            timestamp_ms: None,
            event,
        };
        out.push(record(Event::Exposure));
        if rng.random::<f64>() < if treated { rates.1 } else { rates.0 } {
            let spend: f64 = 20.0 + 10.0 * (rng.random::<f64>() - 0.5);
            for (metric, kind, value) in [
                ("Order", OutcomeKind::Conversion, 1.0),
                ("Revenue", OutcomeKind::Sum, spend),
            ] {
                out.push(record(Event::Outcome {
                    metric: metric.to_owned(),
                    kind: Some(kind),
                    value,
                }));
            }
        }
    }
    out
}

fn options() -> Options {
    let mut weights = BTreeMap::new();
    weights.insert(
        "button".to_owned(),
        BTreeMap::from([("__c__".to_owned(), 1.0), ("__t1__".to_owned(), 1.0)]),
    );
    Options {
        kinds: BTreeMap::from([("Revenue".to_owned(), OutcomeKind::Sum)]),
        weights,
        primary: Some("Order".to_owned()),
        ..Options::default()
    }
}

#[test]
fn a_a_runs_keep_the_false_positive_rate_near_five_percent() {
    let runs = 2000;
    let (mut conversion_hits, mut revenue_hits, mut winners, mut srm) = (0, 0, 0, 0);
    for seed in 0..runs {
        let report = analyze(&records(seed, 400, 0.5, (0.3, 0.3)), &options());
        let flag = &report.flags["button"];
        let treated = &flag.treatments["__t1__"];
        let p = |m: &str| treated.metrics[m].diff.unwrap().p_value;
        conversion_hits += usize::from(p("Order") < 0.05);
        revenue_hits += usize::from(p("Revenue") < 0.05);
        winners += usize::from(flag.winner.is_some());
        srm += usize::from(flag.srm_mismatch());
    }
    let rate = |hits: usize| hits as f64 / runs as f64;
    eprintln!(
        "A/A false-positive rates over {runs} runs: conversion {}, revenue {}; winners {}; SRM {srm}",
        rate(conversion_hits),
        rate(revenue_hits),
        rate(winners)
    );
    for (what, hits) in [("conversion", conversion_hits), ("revenue", revenue_hits)] {
        assert!(
            (0.035..=0.065).contains(&rate(hits)),
            "{what}: false-positive rate {}",
            rate(hits)
        );
    }
    // A winner needs a significant difference in the better direction: about half of them.
    assert!(
        rate(winners) < 0.04,
        "winners in A/A runs: {}",
        rate(winners)
    );
    assert!(
        srm <= 10,
        "sample-ratio mismatches in fair splits: {srm} of {runs}"
    );
}

#[test]
fn a_planted_effect_is_found_with_an_interval_around_it() {
    let (records, _) = parse(&experiment(7, 20_000, 0.5, (0.20, 0.24)));
    let report = analyze(&records, &options());
    let flag = &report.flags["button"];
    assert!(!flag.srm_mismatch());
    assert_eq!(flag.winner.as_deref(), Some("__t1__"));
    let order = &flag.treatments["__t1__"].metrics["Order"];
    let d = order.diff.unwrap();
    assert!(d.p_value < 1e-6, "{d:?}");
    assert!(
        d.ci95.0 < 0.04 && 0.04 < d.ci95.1,
        "the true +4 points lies inside: {d:?}"
    );
    assert!(
        d.ci95.1 - d.ci95.0 < 0.03,
        "a tight interval at n = 20,000: {d:?}"
    );
    // With lower-is-better, the same effect is no win.
    let lower = Options {
        lower_is_better: true,
        ..options()
    };
    assert_eq!(analyze(&records, &lower).flags["button"].winner, None);
}

#[test]
fn a_starved_treatment_trips_the_sample_ratio_check_and_blocks_the_verdict() {
    // Expected 50/50, served 45/55 over 20,000 entities, with a planted effect.
    let (records, _) = parse(&experiment(11, 20_000, 0.45, (0.20, 0.24)));
    let report = analyze(&records, &options());
    let flag = &report.flags["button"];
    assert!(flag.srm_p_value.unwrap() < 1e-6, "{:?}", flag.srm_p_value);
    assert!(flag.srm_mismatch());
    assert_eq!(flag.winner, None, "no verdict on a broken split");
}

#[test]
fn odd_inputs_give_no_invented_numbers() {
    // Only control exposed, an entity in two treatments, an outcome of nobody exposed, a
    // record outside the window.
    let lines = concat!(
        r#"{"_aws":{"Timestamp":10,"CloudWatchMetrics":[{"Metrics":[{"Name":"Exposure"}]}]},"Flag":"f","Treatment":"__c__","EntityId":"a","Exposure":1}"#,
        "\n",
        r#"{"_aws":{"Timestamp":10,"CloudWatchMetrics":[{"Metrics":[{"Name":"Exposure"}]}]},"Flag":"f","Treatment":"__c__","EntityId":"b","Exposure":1}"#,
        "\n",
        r#"{"_aws":{"Timestamp":10,"CloudWatchMetrics":[{"Metrics":[{"Name":"Exposure"}]}]},"Flag":"f","Treatment":"__t1__","EntityId":"b","Exposure":1}"#,
        "\n",
        r#"{"_aws":{"Timestamp":10,"CloudWatchMetrics":[{"Metrics":[{"Name":"Latency"}]}]},"Flag":"f","Treatment":"__c__","EntityId":"z","OutcomeKind":"mean","Latency":5}"#,
        "\n",
        r#"{"_aws":{"Timestamp":10,"CloudWatchMetrics":[{"Metrics":[{"Name":"Latency"}]}]},"Flag":"f","Treatment":"__c__","EntityId":"a","OutcomeKind":"mean","Latency":7}"#,
        "\n",
        r#"{"_aws":{"Timestamp":99,"CloudWatchMetrics":[{"Metrics":[{"Name":"Exposure"}]}]},"Flag":"f","Treatment":"__t1__","EntityId":"c","Exposure":1}"#,
        "\n",
    );
    let (records, _) = parse(lines);
    let report = analyze(
        &records,
        &Options {
            until_ms: Some(50),
            primary: Some("Latency".into()),
            ..Options::default()
        },
    );
    assert_eq!(report.outside_window, 1);
    let flag = &report.flags["f"];
    assert_eq!((flag.conflicting_entities, flag.unexposed_outcomes), (1, 1));
    assert_eq!(flag.treatments.len(), 1, "only control remains");
    let latency = &flag.treatments["__c__"].metrics["Latency"];
    assert_eq!(
        (latency.n, latency.mean, latency.ci95, latency.diff),
        (1, Some(7.0), None, None)
    );
    assert_eq!(flag.winner, None);
    assert_eq!(flag.srm_p_value, None);

    // One customer each, 1/1 against 0/1: a zero-width difference interval, yet no winner (its
    // p-value is 0.157). A treatment the weights do not know is a sample-ratio mismatch.
    let tiny = concat!(
        r#"{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Name":"Exposure"}]}]},"Flag":"g","Treatment":"__c__","EntityId":"a","Exposure":1}"#,
        "\n",
        r#"{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Name":"Exposure"}]}]},"Flag":"g","Treatment":"__t1__","EntityId":"b","Exposure":1}"#,
        "\n",
        r#"{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Name":"Order"}]}]},"Flag":"g","Treatment":"__t1__","EntityId":"b","OutcomeKind":"conversion","Order":1}"#,
        "\n",
        r#"{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Name":"Exposure"}]}]},"Flag":"g","Treatment":"__t9__","EntityId":"c","Exposure":1}"#,
        "\n",
    );
    let (records, _) = parse(tiny);
    let mut options = Options {
        primary: Some("Order".into()),
        ..Options::default()
    };
    let report = analyze(&records, &options);
    let d = report.flags["g"].treatments["__t1__"].metrics["Order"]
        .diff
        .unwrap();
    assert_eq!(d.ci95, (1.0, 1.0));
    assert_eq!(report.flags["g"].winner, None, "p = {}", d.p_value);
    options.weights.insert(
        "g".into(),
        BTreeMap::from([("__c__".to_owned(), 1.0), ("__t1__".to_owned(), 1.0)]),
    );
    assert!(analyze(&records, &options).flags["g"].srm_mismatch());
    let json = report.to_json();
    assert_eq!(
        json["flags"]["f"]["treatments"]["__c__"]["metrics"]["Latency"]["ci95"],
        serde_json::Value::Null
    );
    assert!(!report.to_table().contains("NaN"));
}

#[test]
fn the_command_line_prints_the_documented_json() {
    let dir = std::env::temp_dir().join(format!("flag-experiment-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let records = dir.join("records.log");
    std::fs::write(&records, experiment(7, 4_000, 0.5, (0.20, 0.30))).unwrap();
    let experiments = dir.join("experiments.json");
    std::fs::write(
        &experiments,
        r#"{"experiments": [{"Name": "x", "FlagKey": "button", "AudienceRule": "(exists key::\"a\")",
            "Control": {"Enabled": true, "Weight": 1}, "Treatments": [{"Enabled": true, "Weight": 1}],
            "Run": {"ExposurePercentage": 100}}]}"#,
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flag-experiment"))
        .args([
            "analyze",
            "--json",
            "--primary",
            "Order",
            "--kind",
            "Revenue=sum",
            "--experiments",
        ])
        .arg(&experiments)
        .arg(&records)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let flag = &json["flags"]["button"];
    assert_eq!(flag["winner"], "__t1__");
    assert_eq!(flag["srm_mismatch"], false);
    assert!(flag["srm_p_value"].as_f64().unwrap() > 0.001);
    let order = &flag["treatments"]["__t1__"]["metrics"]["Order"];
    for key in [
        "kind",
        "mean",
        "ci95",
        "diff",
        "diff_ci95",
        "p_value",
        "p_value_adjusted",
    ] {
        assert!(!order[key].is_null(), "{key} in {order}");
    }
    assert_eq!(order["kind"], "conversion");
    let control = &flag["treatments"]["__c__"]["metrics"]["Order"];
    assert!(control["diff"].is_null() && control["p_value"].is_null());
    assert_eq!(
        flag["treatments"]["__t1__"]["metrics"]["Revenue"]["kind"],
        "sum"
    );

    // The table, from stdin.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flag-experiment"))
        .args(["analyze", "-", "--primary", "Order"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&records).unwrap())
        .unwrap();
    let table = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert!(
        table.contains("flag button: sample ratio not checked"),
        "{table}"
    );
    assert!(table.contains("winner: __t1__"), "{table}");

    // Usage errors are clap's, naming the problem.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_flag-experiment"))
        .args(["analyze", "--kind", "Revenue=median", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown outcome kind `median`"));
    let _ = std::fs::remove_dir_all(dir);
}
