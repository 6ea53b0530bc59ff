//! `flag-experiment analyze`: the verdict of an AppConfig experiment from its EMF records.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use flag_experiment::{analyze, parse, weights, Options, OutcomeKind};

/// Analyse AppConfig experiments from the CloudWatch EMF records flag-runtime writes.
#[derive(Debug, Parser)]
#[command(name = "flag-experiment", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Per flag and treatment: exposed entities, each outcome's per-entity mean with its 95%
    /// interval, the difference to control with its interval and p-value (also Holm-adjusted),
    /// the sample-ratio check and the verdict.
    Analyze(Analyze),
}

#[derive(Debug, clap::Args)]
struct Analyze {
    /// EMF lines, or a CloudWatch Logs export (`aws logs filter-log-events`, Logs Insights);
    /// `-` reads stdin
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,

    /// The experiments file, for the sample-ratio check (its weights)
    #[arg(long, value_name = "FILE")]
    experiments: Option<PathBuf>,

    /// How a metric is aggregated per entity, over the records' `OutcomeKind`
    /// (conversion, sum or mean)
    #[arg(long = "kind", value_name = "METRIC=KIND", value_parser = metric_kind)]
    kinds: Vec<(String, OutcomeKind)>,

    /// Leave out records before this time (RFC 3339, or milliseconds since the epoch)
    #[arg(long, value_name = "TIME", value_parser = time_ms)]
    since: Option<i64>,

    /// Leave out records after this time (RFC 3339, or milliseconds since the epoch)
    #[arg(long, value_name = "TIME", value_parser = time_ms)]
    until: Option<i64>,

    /// The decision metric: a winner is named only by it
    #[arg(long, value_name = "METRIC")]
    primary: Option<String>,

    /// A higher primary metric is better (the default)
    #[arg(long, conflicts_with = "lower_is_better")]
    higher_is_better: bool,

    /// A lower primary metric is better (a latency, say)
    #[arg(long)]
    lower_is_better: bool,
}

fn metric_kind(arg: &str) -> Result<(String, OutcomeKind), String> {
    let (metric, kind) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected METRIC=KIND, found `{arg}`"))?;
    if metric.is_empty() {
        return Err("the metric name is empty".to_owned());
    }
    Ok((metric.to_owned(), kind.parse()?))
}

fn time_ms(arg: &str) -> Result<i64, String> {
    if let Ok(ms) = arg.parse::<i64>() {
        return Ok(ms);
    }
    arg.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("expected RFC 3339 (2026-12-05T10:00:00Z) or milliseconds: {e}"))
}

fn main() -> ExitCode {
    let Command::Analyze(args) = Cli::parse().command;
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flag-experiment: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Analyze) -> Result<(), String> {
    let mut records = Vec::new();
    let mut skipped = 0;
    for file in &args.files {
        let text = if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            text
        } else {
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        };
        let (mut parsed, s) = parse(&text);
        records.append(&mut parsed);
        skipped += s;
    }
    let weights = match &args.experiments {
        None => Default::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
            weights(&value).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    let options = Options {
        kinds: args.kinds.into_iter().collect(),
        since_ms: args.since,
        until_ms: args.until,
        weights,
        primary: args.primary,
        lower_is_better: args.lower_is_better,
    };
    let report = analyze(&records, &options);
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
        if skipped > 0 {
            println!("{skipped} lines held no experiment record");
        }
    }
    Ok(())
}
