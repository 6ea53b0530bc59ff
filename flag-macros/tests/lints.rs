//! Generated code is the user's code: `tests/lints` is one crate built twice, with
//! `#[feature_flag]` on its functions and without (feature `gated`), under `#![deny(warnings)]`
//! and clippy pedantic + nursery. The gated build must give no lint the plain one does not, and
//! keep the `dead_code` lints. The fixture also names flag-runtime `flags` in its Cargo.toml, so
//! it builds only if the macro finds a renamed runtime.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// `(lint, file, line, message)` of every diagnostic of the fixture crate.
fn lints(gated: bool) -> BTreeSet<(String, String, u64, String)> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lints");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("flag-lints-fixture");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("clippy")
        .arg("--manifest-path")
        .arg(fixture.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .arg("--message-format=json")
        .arg("--quiet");
    if gated {
        command.args(["--features", "gated"]);
    }
    command.args(["--", "-W", "clippy::pedantic", "-W", "clippy::nursery"]);
    // The fixture's own settings only.
    for var in [
        "FEATURE_FLAGS_SCHEMA",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
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
