//! `cargo run -p flag-local`: the example Lambda answering invocations locally, its flags served
//! from `example-lambda/flags.json` by the local agent. Edit the file while it runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flag_local::{cargo_build, LocalFunction, Outcome};
use serde_json::Value;

const USAGE: &str = "\
Run the example Lambda locally: the local AppConfig agent serves the flags file, a Lambda
Runtime API feeds the real example binary the sample events, and every answer shows which
gated path ran. Edit the flags file while it runs: answers change within the TTL.

Usage: cargo run -p flag-local -- [options]

Options:
  --flags FILE      flags file to serve       [default: example-lambda/flags.json]
  --events DIR      sample events (*.json)    [default: example-lambda/events]
  --interval SECS   pause between rounds      [default: 2]
  --ttl-ms MS       the runtime's flag TTL    [default: 1000]
  --rounds N        stop after N rounds       [default: until Ctrl-C]
  --release         build the example in release mode
  --verbose         also show the function's own log lines
  -h, --help        this text";

struct Options {
    flags: PathBuf,
    events: PathBuf,
    interval: Duration,
    ttl: Duration,
    rounds: Option<u64>,
    release: bool,
    verbose: bool,
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok(Some(options)) => {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            match runtime.block_on(run(options)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("flag-local: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flag-local: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let root = workspace();
    let mut options = Options {
        flags: root.join("example-lambda/flags.json"),
        events: root.join("example-lambda/events"),
        interval: Duration::from_secs(2),
        ttl: Duration::from_millis(1000),
        rounds: None,
        release: false,
        verbose: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--flags" => options.flags = value()?.into(),
            "--events" => options.events = value()?.into(),
            "--interval" => {
                let v = value()?;
                let secs: f64 = v
                    .parse()
                    .map_err(|_| format!("--interval: `{v}` is not a number"))?;
                options.interval = Duration::from_secs_f64(secs.max(0.0));
            }
            "--ttl-ms" => {
                let v = value()?;
                options.ttl = Duration::from_millis(
                    v.parse()
                        .map_err(|_| format!("--ttl-ms: `{v}` is not a number"))?,
                );
            }
            "--rounds" => {
                let v = value()?;
                options.rounds = Some(
                    v.parse()
                        .map_err(|_| format!("--rounds: `{v}` is not a number"))?,
                );
            }
            "--release" => options.release = true,
            "--verbose" => options.verbose = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(options))
}

async fn run(options: Options) -> Result<(), String> {
    let mut events = Vec::new();
    let dir = std::fs::read_dir(&options.events)
        .map_err(|e| format!("{}: {e}", options.events.display()))?;
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let value: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            events.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                value,
            ));
        }
    }
    events.sort_by(|a, b| a.0.cmp(&b.0));
    if events.is_empty() {
        return Err(format!("no *.json events in {}", options.events.display()));
    }

    eprintln!("building example-lambda ...");
    let binary =
        cargo_build(&workspace(), "example-lambda", options.release).map_err(|e| e.to_string())?;
    let function = LocalFunction::builder(&binary, &options.flags)
        .ttl(options.ttl)
        .echo_logs(options.verbose)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let agent = function.agent().expect("started with an agent").addr();
    println!(
        "local AppConfig agent on {agent}, serving {}",
        options.flags.display()
    );
    println!(
        "example-lambda running under a Lambda Runtime API; flag TTL {} ms",
        options.ttl.as_millis()
    );
    println!("edit the flags file (e.g. set newCheckout to false) and watch the answers change; Ctrl-C stops\n");

    let mut round = 0u64;
    loop {
        round += 1;
        for (name, event) in &events {
            let line = match function.invoke(event, Duration::from_secs(10)).await {
                Ok(invocation) => describe(&invocation.outcome, invocation.duration),
                Err(e) => format!("no answer: {e}"),
            };
            println!("{}  {name:<18} {line}", clock());
        }
        if options.rounds.is_some_and(|n| round >= n) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(options.interval) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    function.stop().await;
    Ok(())
}

/// One line per answer: which checkout ran, under which configuration version, and what the
/// attribute-driven and sync-gated flags did.
fn describe(outcome: &Outcome, took: Duration) -> String {
    let ms = took.as_secs_f64() * 1000.0;
    match outcome {
        Outcome::Error {
            error_type,
            message,
        } => format!("error ({error_type}): {message}  [{ms:.1} ms]"),
        Outcome::Response(answer) => {
            let Some(path) = answer["checkout"].as_str() else {
                return format!("{answer}  [{ms:.1} ms]");
            };
            let money = |v: &Value| {
                v.as_u64()
                    .map_or("?".into(), |c| format!("{}.{:02}", c / 100, c % 100))
            };
            let discount = match &answer["discount"] {
                Value::Object(d) => format!(
                    "discount {}%{} ({})",
                    d["percentage"],
                    d["variant"]
                        .as_str()
                        .map_or(String::new(), |v| format!(" [variant {v}]")),
                    d["message"].as_str().unwrap_or("no message")
                ),
                _ => "no discount".into(),
            };
            let shipping: Vec<&str> = answer["shipping"]
                .as_array()
                .map(|a| a.iter().filter_map(|q| q["method"].as_str()).collect())
                .unwrap_or_default();
            format!(
                "{path} checkout (flags v{})  total {}  {discount}  shipping {}  [{ms:.1} ms]",
                answer["flagsVersion"].as_str().unwrap_or("-"),
                money(&answer["totalCents"]),
                shipping.join("+"),
            )
        }
    }
}

fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}
