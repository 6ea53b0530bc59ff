//! Generated code is the user's code: `tests/lints` is one crate built twice, with
//! `#[feature_flag]` on its functions and without (feature `gated`), under `#![deny(warnings)]`
//! and clippy pedantic + nursery. The gated build must give no lint the plain one does not, and
//! keep the `dead_code` lints. The fixture also names flag-runtime `flags` in its Cargo.toml, so
//! it builds only if the macro finds a renamed runtime; `tests/no-runtime` has no flag-runtime.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// `cargo <subcommand>` on the fixture crate `tests/<name>`, in a target directory the fixtures
/// share, with the fixture's own settings only.
fn cargo(subcommand: &str, name: &str) -> Command {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("flag-fixtures");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(fixture.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    for var in [
        "FEATURE_FLAGS_SCHEMA",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
    command
}

/// `(lint, file, line, message)` of every diagnostic of the fixture crate.
fn lints(gated: bool) -> BTreeSet<(String, String, u64, String)> {
    let mut command = cargo("clippy", "lints");
    command.args(["--message-format=json", "--quiet"]);
    if gated {
        command.args(["--features", "gated"]);
    }
    command.args(["--", "-W", "clippy::pedantic", "-W", "clippy::nursery"]);
    let output = command.output().expect("running cargo clippy");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut found = BTreeSet::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-message" {
            continue;
        }
        let diagnostic = &message["message"];
        let rendered = diagnostic["rendered"].as_str().unwrap_or_default();
        let Some(code) = diagnostic["code"]["code"].as_str() else {
            // "aborting due to N previous errors" and the like.
            assert!(
                diagnostic["level"] != "error"
                    || diagnostic["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("previous error"),
                "gated = {gated}: an error without a lint:\n{rendered}"
            );
            continue;
        };
        let span = diagnostic["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["is_primary"] == true))
            .expect("a primary span");
        found.insert((
            code.to_owned(),
            span["file_name"].as_str().unwrap().to_owned(),
            span["line_start"].as_u64().unwrap(),
            diagnostic["message"].as_str().unwrap().to_owned(),
        ));
    }
    assert!(
        output.status.success() || !found.is_empty(),
        "gated = {gated}: cargo clippy failed without lints:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    found
}

#[test]
fn gated_functions_give_no_lint_of_their_own() {
    let plain = lints(false);
    let gated = lints(true);
    let extra: Vec<_> = gated.difference(&plain).collect();
    // Lints of the user's code that a gated function no longer gets (clippy skips code a proc
    // macro expanded): shown, not an error.
    let lost: Vec<_> = plain.difference(&gated).collect();
    eprintln!("lints only without #[feature_flag]: {lost:#?}");
    assert!(
        extra.is_empty(),
        "lints only with #[feature_flag]: {extra:#?}"
    );
    let dead = |set: &BTreeSet<(String, String, u64, String)>| -> Vec<_> {
        set.iter().filter(|l| l.0 == "dead_code").cloned().collect()
    };
    assert_eq!(
        dead(&gated),
        dead(&plain),
        "the same dead code, gated or not"
    );
    assert!(
        dead(&gated).iter().any(|l| l.3.contains("`unused`")),
        "an unused gated function is dead code: {gated:#?}"
    );
}

#[test]
fn a_missing_runtime_names_the_dependency_to_add() {
    let output = cargo("check", "no-runtime")
        .arg("--message-format=short")
        .output()
        .expect("running cargo check");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("error:") && !line.contains("could not compile"))
        .collect();
    assert_eq!(errors.len(), 1, "one error:\n{stderr}");
    assert!(
        errors[0]
            .starts_with("src/lib.rs:3:1: error: #[feature_flag] needs the `flag-runtime` crate")
            && errors[0].contains("`flag-runtime = \"0.1\"`"),
        "{stderr}"
    );
}

#[test]
fn rustdoc_shows_the_signature_as_written() {
    let output = cargo("doc", "lints")
        .args(["--features", "gated", "--no-deps", "--quiet"])
        .output()
        .expect("running cargo doc");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("flag-fixtures/doc/flag_lints_fixture/fn.ends_in_return.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("fn ends_in_return((a, b): (<a"),
        "the pattern as written:\n{html}"
    );
    assert!(!html.contains("__flag_arg"), "no generated name:\n{html}");
    let page = page.with_file_name("fn.fill.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // (rustdoc shows binding modes of a pattern as it does without the macro: not at all)
    assert!(html.contains("fn fill((bytes, n): ("), "{html}");
}
