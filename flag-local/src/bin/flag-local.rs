//! `flag-local`: a Lambda crate answering invocations locally, its flags served from a flags file
//! by the local agent. Edit the file while it runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser};
use flag_local::{describe, AnswerFormat, CargoBinary, InvokeError, LocalFunction, Summary};
use serde_json::Value;

/// Run a Lambda crate locally: cargo builds it, the local AppConfig agent serves its flags file,
/// a Lambda Runtime API feeds the real binary the sample events, and each answer is shown on one
/// line with the time it took.
///
/// Edit the flags file (or the experiments file) while it runs: answers change within the TTL,
/// with no restart.
#[derive(Debug, Parser)]
#[command(name = "flag-local", version)]
struct Cli {
    #[command(flatten)]
    cargo: CargoOptions,

    /// The feature-flag document to serve [default: flags.json beside the package's Cargo.toml]
    #[arg(long, value_name = "FILE", env = "FLAG_LOCAL_FLAGS")]
    flags: Option<PathBuf>,

    /// The AppConfig experiments to run locally [default: experiments.json beside the flags
    /// file, when present]
    #[arg(long, value_name = "FILE", env = "FLAG_LOCAL_EXPERIMENTS")]
    experiments: Option<PathBuf>,

    /// A directory of sample events (*.json, sent in name order) [default: events/ beside the
    /// package's Cargo.toml]
    #[arg(long, value_name = "DIR", env = "FLAG_LOCAL_EVENTS")]
    events: Option<PathBuf>,

    /// Stop after N rounds of events (at least 1) [default: until Ctrl-C]
    #[arg(
        long,
        value_name = "N",
        env = "FLAG_LOCAL_ROUNDS",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    rounds: Option<u64>,

    /// Pause between rounds, in seconds
    #[arg(
        long,
        value_name = "SECS",
        env = "FLAG_LOCAL_INTERVAL",
        default_value_t = 2.0
    )]
    interval: f64,

    /// The runtime's flag TTL given to the function (FLAGS_TTL_MS)
    #[arg(
        long,
        value_name = "MS",
        env = "FLAG_LOCAL_TTL_MS",
        default_value_t = 1000
    )]
    ttl_ms: u64,

    /// The function timeout of each invocation, in seconds (at most 900, as on Lambda)
    #[arg(
        long,
        value_name = "SECS",
        env = "FLAG_LOCAL_TIMEOUT",
        default_value = "10",
        value_parser = function_timeout
    )]
    timeout: Duration,

    /// The function's name (AWS_LAMBDA_FUNCTION_NAME) [default: the binary's name]
    #[arg(long, value_name = "NAME", env = "FLAG_LOCAL_FUNCTION_NAME")]
    function_name: Option<String>,

    /// The AppConfig application the flags are served under (APPCONFIG_APPLICATION)
    #[arg(
        long,
        value_name = "NAME",
        env = "FLAG_LOCAL_APPLICATION",
        default_value = "local"
    )]
    application: String,

    /// An extra environment variable for the function (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    env: Vec<(String, String)>,

    /// Show each answer through this template instead of as compact JSON: `{path}` is the value
    /// at that path of the answer (`{discount/percentage}`), `{{`/`}}` are braces [default: the
    /// package's `[package.metadata.flag-local] summary`]
    #[arg(long, value_name = "TEMPLATE", env = "FLAG_LOCAL_SUMMARY")]
    summary: Option<Summary>,

    /// Show the compact JSON even when a summary is set (by the package, --summary or
    /// FLAG_LOCAL_SUMMARY)
    #[arg(long)]
    raw: bool,

    /// The most characters of an answer shown
    #[arg(
        long,
        value_name = "N",
        env = "FLAG_LOCAL_WIDTH",
        default_value_t = 120
    )]
    width: usize,

    /// Also show the function's own log lines
    #[arg(short, long)]
    verbose: bool,
}

/// Which binary to run, with cargo's option names.
#[derive(Debug, Args)]
struct CargoOptions {
    /// Path to Cargo.toml [default: the one cargo finds from the current directory]
    #[arg(
        help_heading = "Cargo options",
        long,
        value_name = "PATH",
        env = "FLAG_LOCAL_MANIFEST_PATH"
    )]
    manifest_path: Option<PathBuf>,

    /// The package to run, inside a workspace
    #[arg(help_heading = "Cargo options", short, long, value_name = "SPEC")]
    package: Option<String>,

    /// The binary target to run, when there are several
    #[arg(help_heading = "Cargo options", long, value_name = "NAME")]
    bin: Option<String>,

    /// Build in release mode, with optimizations
    #[arg(help_heading = "Cargo options", short, long)]
    release: bool,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// Lambda's longest function timeout.
const MAX_TIMEOUT_SECS: f64 = 900.0;

fn function_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "{text} seconds: a function timeout is more than 0 and at most {MAX_TIMEOUT_SECS} (Lambda's limit)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("flag-local: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flag-local: {message}");
            ExitCode::FAILURE
        }
    }
}

fn seconds(what: &str, secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{what}: {secs} is not a duration"))
}

/// The sample events of `dir`, by file name.
fn read_events(dir: &Path) -> Result<Vec<(String, Value)>, String> {
    let mut events = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("events {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        // Editors' lock and swap files (`.#a.json`, often a dangling symlink), directories,
        // FIFOs...: not events.
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let regular = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
        if !hidden && regular && path.extension().is_some_and(|e| e == "json") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
            events.push((entry.file_name().to_string_lossy().into_owned(), value));
        }
    }
    events.sort_by(|a, b| a.0.cmp(&b.0));
    if events.is_empty() {
        return Err(format!("no *.json events in {}", dir.display()));
    }
    Ok(events)
}

async fn run(cli: Cli) -> Result<(), String> {
    let interval = seconds("--interval", cli.interval)?;
    let timeout = cli.timeout;
    let mut binary = CargoBinary::new().release(cli.cargo.release);
    if let Some(path) = &cli.cargo.manifest_path {
        binary = binary.manifest_path(path);
    }
    if let Some(package) = &cli.cargo.package {
        binary = binary.package(package);
    }
    if let Some(bin) = &cli.cargo.bin {
        binary = binary.bin(bin);
    }
    // Blocking: nothing else runs yet.
    let built = binary.build().map_err(|e| e.to_string())?;

    let flags = cli
        .flags
        .unwrap_or_else(|| built.package_dir.join("flags.json"));
    if !flags.is_file() {
        return Err(format!(
            "no flags file {} (pass --flags FILE)",
            flags.display()
        ));
    }
    let events_dir = cli
        .events
        .unwrap_or_else(|| built.package_dir.join("events"));
    let events = read_events(&events_dir)?;

    let summary = match (cli.raw, cli.summary) {
        (true, _) => None,
        (false, Some(summary)) => Some(summary),
        (false, None) => match &built.settings["summary"] {
            Value::Null => None,
            Value::String(template) => Some(template.parse::<Summary>().map_err(|e| {
                format!(
                    "[package.metadata.flag-local] summary of {}: {e}",
                    built.package
                )
            })?),
            _ => {
                return Err(format!(
                    "[package.metadata.flag-local] summary of {} is not a string",
                    built.package
                ))
            }
        },
    };
    let format = AnswerFormat {
        summary,
        width: cli.width,
    };

    let function_name = cli.function_name.unwrap_or_else(|| built.name.clone());
    let mut builder = LocalFunction::builder(&built.executable, &flags)
        .function_name(&function_name)
        .application(&cli.application)
        .ttl(Duration::from_millis(cli.ttl_ms))
        .echo_logs(cli.verbose);
    for (key, value) in cli.env {
        builder = builder.env(key, value);
    }
    let experiments = cli
        .experiments
        .clone()
        .or_else(|| Some(flags.with_file_name("experiments.json")).filter(|p| p.is_file()));
    if let Some(experiments) = &cli.experiments {
        builder = builder.experiments_file(experiments);
    }
    let function = builder.start().await.map_err(|e| e.to_string())?;
    match &experiments {
        Some(experiments) => println!(
            "local AppConfig agent on {}, serving {} and the experiments of {}",
            function.agent_addr(),
            flags.display(),
            experiments.display()
        ),
        None => println!(
            "local AppConfig agent on {}, serving {}",
            function.agent_addr(),
            flags.display()
        ),
    }
    println!(
        "{} (package {}) running under a Lambda Runtime API as `{function_name}`; flag TTL {} ms",
        built.name, built.package, cli.ttl_ms
    );
    println!("edit the flags file and watch the answers change; Ctrl-C stops\n");

    let width = events.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut round = 0u64;
    loop {
        round += 1;
        for (name, event) in &events {
            let (line, exited) = match function.invoke(event, timeout).await {
                Ok(invocation) => (
                    describe(&invocation.outcome, invocation.duration, &format),
                    None,
                ),
                Err(InvokeError::Exited(status)) => (
                    format!("no answer: the function exited ({status})"),
                    Some(status),
                ),
                Err(e) => (format!("no answer: {e}"), None),
            };
            println!("{}  {name:<width$}  {}", clock(), one_line(&line));
            if let Some(status) = exited {
                return Err(dead(&function, &built.name, status).await);
            }
        }
        if cli.rounds.is_some_and(|n| round >= n) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    function.stop().await;
    Ok(())
}

/// Line breaks (in an error message, a summarised string) as spaces: one line per answer.
fn one_line(text: &str) -> String {
    text.replace("\r\n", " ").replace(['\n', '\r'], " ")
}

/// How many of the function's last log lines are shown when it dies.
const LAST_LOG_LINES: usize = 20;

/// The message for a function that exited: its status, its init error, its last log lines.
async fn dead(function: &LocalFunction, name: &str, status: std::process::ExitStatus) -> String {
    // Let the log readers take what the function wrote just before it died.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut message = format!("the function `{name}` exited ({status})");
    if let Some(error) = function.init_error() {
        message.push_str(&format!("; its init error: {}", one_line(error.trim())));
    }
    let logs = function.logs();
    let lines: Vec<&str> = logs.lines().collect();
    if lines.is_empty() {
        message.push_str("; it printed nothing");
    } else {
        let skip = lines.len().saturating_sub(LAST_LOG_LINES);
        message.push_str(&format!("; its last {} log line(s):", lines.len() - skip));
        for line in &lines[skip..] {
            message.push_str("\n  | ");
            message.push_str(line);
        }
    }
    message
}

fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}
