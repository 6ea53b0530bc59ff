//! The `flag-local` command on users' crates: a minimal `lambda_runtime` crate created outside
//! this workspace (in a temporary directory, reading a flag through flag-runtime), a package
//! picked inside a workspace, and clap's usage errors.
//!
//! The outside crate gets this workspace's Cargo.lock (so it resolves offline to crates already
//! in the registry cache) and builds into this workspace's target directory (CARGO_TARGET_DIR),
//! so only the new crate itself is compiled.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use flag_testkit::describe;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| workspace().join("target"), |dir| workspace().join(dir))
}

/// The `flag-local` binary, sharing this workspace's target directory, offline.
fn flag_local() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flag-local"));
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("FLAG_LOCAL_") {
            command.env_remove(var);
        }
    }
    command
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("flag-local runs")
}

/// `flag-local --manifest-path <manifest> <args>`, which must fail (exit 1): its stderr.
fn refused(manifest: &Path, args: &[&str]) -> String {
    let output = run(flag_local().arg("--manifest-path").arg(manifest).args(args));
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const OUTSIDE_MAIN: &str = r#"
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if payload["fail"] == true {
        return Err("asked to fail".into());
    }
    let flags = flag_runtime::default_source();
    let greeting: Option<String> = if flags.is_enabled("greeting").await {
        flags.attribute("greeting", "text").await
    } else {
        None
    };
    Ok(json!({
        "hello": payload["name"],
        "greeting": greeting,
        "function": context.env_config.function_name,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
"#;

/// A minimal Lambda crate in a temporary directory outside the workspace: its own `[workspace]`,
/// path dependencies on this workspace's flag-runtime, flags and events beside it under other
/// names than the defaults (so the test passes them explicitly, as the issue's command does).
fn outside_crate() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("outside-lambda");
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::create_dir_all(dir.join("sample-events")).unwrap();
        let manifest = format!(
            r#"[package]
name = "outside-lambda"
version = "0.1.0"
edition = "2021"
publish = false

# Not a member of any workspace above this directory.
[workspace]

[dependencies]
flag-runtime = {{ path = {runtime:?} }}
lambda_runtime = {{ version = "1", default-features = false, features = ["tracing"] }}
serde_json = "1"
tokio = {{ version = "1", features = ["macros", "rt-multi-thread"] }}
"#,
            runtime = workspace().join("flag-runtime").display().to_string(),
        );
        fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        fs::write(dir.join("src/main.rs"), OUTSIDE_MAIN).unwrap();
        fs::write(
            dir.join("my-flags.json"),
            r#"{"version": "1",
                "flags": {"greeting": {"name": "greeting", "attributes": {"text": {"constraints": {"type": "string"}}}}},
                "values": {"greeting": {"enabled": true, "text": "hi from the flags file"}}}"#,
        )
        .unwrap();
        fs::write(dir.join("sample-events/a-ada.json"), r#"{"name": "Ada"}"#).unwrap();
        fs::write(dir.join("sample-events/b-fail.json"), r#"{"fail": true}"#).unwrap();
        fs::write(dir.join("sample-events/notes.txt"), "not an event").unwrap();
        dir
    })
}

/// The answer lines (after the blank line that ends the banner).
fn answer_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .split("\n\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `flag-local` on the crate outside the workspace, with its own flags file and events.
fn on_outside_crate() -> Command {
    let dir = outside_crate();
    let mut command = flag_local();
    command
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--flags")
        .arg(dir.join("my-flags.json"))
        .arg("--events")
        .arg(dir.join("sample-events"));
    command
}

#[test]
fn runs_a_lambda_crate_created_outside_the_workspace() {
    let output = run(on_outside_crate().args(["--rounds", "1"]));
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("outside-lambda (package outside-lambda) running under a Lambda Runtime API as `outside-lambda`"),
        "{}",
        describe(&output)
    );
    let lines = answer_lines(&output);
    assert_eq!(
        lines.len(),
        2,
        "one line per *.json event: {}",
        describe(&output)
    );
    // `HH:MM:SS  name  answer  [N.N ms]`, the answer as compact JSON (keys sorted by serde_json).
    let (first, second) = (&lines[0], &lines[1]);
    assert!(
        first.contains(
            r#"a-ada.json   {"function":"outside-lambda","greeting":"hi from the flags file","hello":"Ada"}  ["#
        ),
        "{first}\n{}",
        describe(&output)
    );
    assert!(first.ends_with(" ms]"), "{first}");
    assert!(
        second.contains("b-fail.json  error (") && second.contains("asked to fail"),
        "{second}"
    );
}

#[test]
fn answers_are_cut_to_the_width() {
    let output = run(on_outside_crate()
        .args(["--rounds", "1", "--width", "20"])
        .env("FLAG_LOCAL_SUMMARY", "{hello} is greeted with {greeting}"));
    assert!(output.status.success(), "{}", describe(&output));
    let lines = answer_lines(&output);
    assert!(
        lines[0].contains("a-ada.json   Ada is greeted with hi from the flags file  ["),
        "a summary (from the environment) is not cut: {}",
        lines[0]
    );
    assert!(
        lines[1].contains("error (") && lines[1].contains('…'),
        "an error message is cut to 20 characters: {}",
        lines[1]
    );
}

#[test]
fn a_workspace_package_runs_with_its_flags_events_and_summary_beside_it() {
    let output = run(flag_local()
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .args(["--package", "example-lambda", "--rounds", "1"]));
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "serving {}",
            workspace().join("example-lambda/flags.json").display()
        )),
        "{stdout}"
    );
    let lines = answer_lines(&output);
    let events = fs::read_dir(workspace().join("example-lambda/events"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(lines.len(), events, "{stdout}");
    // The summary of example-lambda's [package.metadata.flag-local].
    let checkout = lines
        .iter()
        .find(|l| l.contains("checkout.json"))
        .unwrap_or_else(|| panic!("no checkout.json line: {stdout}"));
    assert!(
        checkout.contains("new checkout (flags v1)  total 2805 cents"),
        "{checkout}"
    );
    let empty = lines
        .iter()
        .find(|l| l.contains("empty-cart.json"))
        .unwrap();
    assert!(
        empty.contains("error (EmptyCart): the cart is empty"),
        "{empty}"
    );
    // The experiments of experiments.json beside the flags: each answer shows its treatment.
    assert!(
        stdout.contains(&format!(
            "and the experiments of {}",
            workspace()
                .join("example-lambda/experiments.json")
                .display()
        )),
        "{stdout}"
    );
    let treatment = |event: &str| {
        let line = lines.iter().find(|l| l.contains(event)).unwrap();
        line.split("  button ")
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        treatment("button-control.json").starts_with("blue [__c__]"),
        "{stdout}"
    );
    assert!(
        treatment("button-green.json").starts_with("green [__t1__]"),
        "{stdout}"
    );
    assert!(
        treatment("checkout.json").starts_with("blue [-]"),
        "{stdout}"
    );
}

/// `--experiments` runs another experiments file: here one whose run is stopped, so every
/// customer gets the deployed button.
#[test]
fn experiments_given_on_the_command_line_are_run() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("flag-local-experiments");
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stopped.json");
    let mut experiments: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(workspace().join("example-lambda/experiments.json")).unwrap(),
    )
    .unwrap();
    experiments["experiments"][0]
        .as_object_mut()
        .unwrap()
        .remove("Run");
    fs::write(&file, experiments.to_string()).unwrap();
    let output = run(flag_local()
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .args([
            "--package",
            "example-lambda",
            "--rounds",
            "1",
            "--experiments",
        ])
        .arg(&file));
    assert!(output.status.success(), "{}", describe(&output));
    let lines = answer_lines(&output);
    let green = lines
        .iter()
        .find(|l| l.contains("button-green.json"))
        .unwrap();
    assert!(green.contains("button blue [-]"), "{green}");
}

#[test]
fn a_workspace_with_several_binaries_asks_which() {
    let stderr = refused(&workspace().join("Cargo.toml"), &[]);
    assert!(
        stderr.contains("several binaries could be meant"),
        "{stderr}"
    );
    assert!(stderr.contains("example-lambda/example-lambda"), "{stderr}");
    assert!(stderr.contains("--package"), "{stderr}");

    let stderr = refused(
        &workspace().join("Cargo.toml"),
        &["--package", "no-such-package"],
    );
    assert!(stderr.contains("no package `no-such-package`"), "{stderr}");
}

#[test]
fn usage_errors_are_clap_errors() {
    for (args, wanted) in [
        (
            vec!["--rounds", "many"],
            "invalid value 'many' for '--rounds <N>'",
        ),
        (
            vec!["--rounds", "0"],
            "invalid value '0' for '--rounds <N>': 0 is not in 1..",
        ),
        (
            vec!["--timeout", "1e30"],
            "a function timeout is more than 0 and at most 900",
        ),
        (
            vec!["--timeout", "0"],
            "a function timeout is more than 0 and at most 900",
        ),
        (
            vec!["--timeout", "soon"],
            "`soon` is not a number of seconds",
        ),
        (vec!["--env", "NOVALUE"], "`NOVALUE` is not KEY=VALUE"),
        (vec!["--summary", "{total"], "`{` is not closed"),
        (
            vec!["--frobnicate"],
            "unexpected argument '--frobnicate' found",
        ),
    ] {
        let output = run(flag_local().args(&args));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(wanted),
            "{args:?}: no {wanted:?} in {stderr}"
        );
    }
    let help = run(flag_local().arg("--help"));
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--manifest-path <PATH>",
        "-p, --package <SPEC>",
        "--bin <NAME>",
        "-r, --release",
        "--flags <FILE>",
        "--events <DIR>",
        "--rounds <N>",
        "[env: FLAG_LOCAL_FLAGS=]",
    ] {
        assert!(help.contains(option), "no {option} in {help}");
    }
}

/// A crate with no dependencies whose binaries die: `panics` (its `default-run`) panics at
/// start-up after a log line, `quits` exits with 3 at once, printing nothing. `flags.json` and
/// `events/` beside it, the defaults.
fn dying_crate() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("flag-local-dies");
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::create_dir_all(dir.join("src/bin")).unwrap();
        fs::create_dir_all(dir.join("events")).unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            r#"[package]
name = "flag-local-dies"
version = "0.1.0"
edition = "2021"
publish = false
default-run = "panics"

[workspace]
"#,
        )
        .unwrap();
        fs::write(
            dir.join("src/bin/panics.rs"),
            r#"fn main() {
    eprintln!("booting");
    panic!("cannot start: no config");
}
"#,
        )
        .unwrap();
        fs::write(
            dir.join("src/bin/quits.rs"),
            "fn main() { std::process::exit(3) }\n",
        )
        .unwrap();
        fs::write(
            dir.join("flags.json"),
            r#"{"version": "1", "flags": {}, "values": {}}"#,
        )
        .unwrap();
        fs::write(dir.join("events/a.json"), "{}").unwrap();
        fs::write(dir.join("events/b.json"), "{}").unwrap();
        dir
    })
}

/// `flag-local` on the dying crate with `args` (a 120 s timeout): it must fail (exit 1) well
/// before that timeout.
fn run_dying(args: &[&str]) -> Output {
    let dir = dying_crate();
    let started = std::time::Instant::now();
    let output = run(flag_local()
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .args(args)
        .args(["--timeout", "120"]));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(100),
        "waited for the timeout: {}",
        describe(&output)
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    output
}

#[test]
fn a_function_that_panics_at_start_up_is_reported_at_once() {
    // No --bin: the package's default-run, `panics`.
    let output = run_dying(&["--rounds", "3", "--interval", "0"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("panics (package flag-local-dies) running"),
        "default-run picks `panics`: {}",
        describe(&output)
    );
    let lines = answer_lines(&output);
    assert_eq!(lines.len(), 1, "it stops at once: {}", describe(&output));
    assert!(
        lines[0].contains("a.json  no answer: the function exited (exit status: 101)"),
        "{}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("flag-local: the function `panics` exited (exit status: 101)"),
        "{stderr}"
    );
    assert!(stderr.contains("  | booting"), "{stderr}");
    assert!(stderr.contains("cannot start: no config"), "{stderr}");
}

#[test]
fn a_function_that_exits_at_once_is_reported_at_once() {
    let output = run_dying(&["--bin", "quits", "--rounds", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the function `quits` exited (exit status: 3); it printed nothing"),
        "{stderr}"
    );
}

#[test]
fn a_library_member_has_no_bin_target() {
    // flag-schema is a member of a workspace with binaries elsewhere: its own manifest still
    // means flag-schema, as for `cargo run`.
    let stderr = refused(&workspace().join("flag-schema/Cargo.toml"), &[]);
    assert!(
        stderr.contains("no bin target to run in package(s) flag-schema "),
        "{stderr}"
    );
}

#[test]
fn raw_wins_over_a_summary_from_the_environment() {
    let output = run(on_outside_crate()
        .args(["--rounds", "1", "--raw"])
        .env("FLAG_LOCAL_SUMMARY", "{hello} is greeted"));
    assert!(output.status.success(), "{}", describe(&output));
    let lines = answer_lines(&output);
    assert!(
        lines[0].contains(r#"a-ada.json   {"function":"outside-lambda","#),
        "{}",
        describe(&output)
    );
}

#[test]
fn stray_files_in_the_events_directory_are_skipped() {
    let dir = outside_crate();
    let events = dir.join("stray-events");
    fs::create_dir_all(events.join("subdir.json")).unwrap();
    fs::write(events.join("a-ada.json"), r#"{"name": "Ada"}"#).unwrap();
    fs::write(events.join(".hidden.json"), "not JSON").unwrap();
    // An editor's lock file: a dangling symlink.
    let lock = events.join(".#a-ada.json");
    if fs::symlink_metadata(&lock).is_err() {
        std::os::unix::fs::symlink("user@host.1234:1700000000", &lock).unwrap();
    }
    let output = run(flag_local()
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--flags")
        .arg(dir.join("my-flags.json"))
        .arg("--events")
        .arg(&events)
        .args(["--rounds", "1"]));
    assert!(output.status.success(), "{}", describe(&output));
    let lines = answer_lines(&output);
    assert_eq!(lines.len(), 1, "{}", describe(&output));
    assert!(lines[0].contains("a-ada.json"), "{}", describe(&output));
}
