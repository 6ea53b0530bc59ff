//! The fault matrix: every fault of the agent, at cold start, mid-run and on recovery.
//!
//! For each: no panic; the caller gets the fallback (nothing known) or last-known-good; the log
//! says what happened once per streak; recovery is seen. The matrix is printed (run with
//! `cargo test -p flag-runtime --test fault_matrix`; it goes to stderr even when the test passes).

mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use common::*;
use flag_agent::Fault;
use flag_runtime::FlagSource;

const TTL: Duration = Duration::from_millis(60);
const TIMEOUT: Duration = Duration::from_millis(200);
const CAP: usize = 32 * 1024;

enum Case {
    Inject(Fault),
    NotListening,
}

fn source_for(port: u16) -> FlagSource {
    let config = config(port)
        .ttl(TTL)
        .timeout(TIMEOUT)
        .max_body_bytes(CAP)
        .build()
        .unwrap();
    FlagSource::new(config).unwrap()
}

async fn after_ttl() {
    tokio::time::sleep(TTL + Duration::from_millis(10)).await;
}

/// A check, bounded: returns the answer and asserts it came within the timeout (+ margin).
async fn timed_check(flags: &FlagSource, what: &str) -> bool {
    let t = Instant::now();
    let on = flags.is_enabled("newCheckout").await;
    assert!(
        t.elapsed() < TIMEOUT + Duration::from_millis(400),
        "{what}: took {:?}",
        t.elapsed()
    );
    on
}

struct Agentish {
    file: FlagsFile,
    agent: Option<flag_agent::RunningAgent>,
    port: u16,
}

impl Agentish {
    async fn new() -> Self {
        let file = FlagsFile::new(&doc(true, 5));
        let agent = start_agent(&file).await;
        let port = agent.addr().port();
        Agentish {
            file,
            agent: Some(agent),
            port,
        }
    }

    async fn fault(&mut self, case: &Case) {
        match case {
            Case::Inject(fault) => self.agent.as_ref().unwrap().set_fault(fault.clone()),
            Case::NotListening => {
                if let Some(agent) = self.agent.take() {
                    agent.stop().await;
                }
            }
        }
    }

    async fn heal(&mut self) {
        match &self.agent {
            Some(agent) => agent.clear_fault(),
            None => {
                let agent = flag_agent::Agent::new(self.file.path(), APP, ENV, PROFILE)
                    .start(format!("127.0.0.1:{}", self.port).parse().unwrap())
                    .await
                    .unwrap();
                self.agent = Some(agent);
            }
        }
    }
}

#[tokio::test]
async fn fault_matrix() {
    let cases: Vec<(&str, Case, &str)> = vec![
        ("not listening", Case::NotListening, "connect"),
        (
            "connection reset mid-body",
            Case::Inject(Fault::ResetMidBody),
            "transport",
        ),
        ("hang", Case::Inject(Fault::Hang), "timeout"),
        ("HTTP 400", Case::Inject(Fault::Status(400)), "status"),
        ("HTTP 404", Case::Inject(Fault::Status(404)), "status"),
        ("HTTP 500", Case::Inject(Fault::Status(500)), "status"),
        ("HTTP 502", Case::Inject(Fault::Status(502)), "status"),
        ("HTTP 503", Case::Inject(Fault::Status(503)), "status"),
        (
            "malformed JSON",
            Case::Inject(Fault::Answer {
                body: r#"{"newCheckout": {"enab"#.into(),
                version: Some("9".into()),
            }),
            "malformed_json",
        ),
        (
            "wrong shape: \"enabled\": \"yes\"",
            Case::Inject(Fault::Answer {
                body: r#"{"newCheckout": {"enabled": "yes"}}"#.into(),
                version: None,
            }),
            "invalid_shape",
        ),
        (
            "wrong shape: array",
            Case::Inject(Fault::Answer {
                body: "[true]".into(),
                version: None,
            }),
            "invalid_shape",
        ),
        (
            "wrong shape: null",
            Case::Inject(Fault::Answer {
                body: "null".into(),
                version: None,
            }),
            "invalid_shape",
        ),
        (
            "body over the cap (Content-Length)",
            Case::Inject(Fault::Oversized(CAP * 4)),
            "too_large",
        ),
        (
            "body over the cap (chunked)",
            Case::Inject(Fault::OversizedStream(CAP * 4)),
            "too_large",
        ),
        (
            "trickle, 1 byte/s",
            Case::Inject(Fault::Trickle(Duration::from_secs(1))),
            "timeout",
        ),
    ];
    let mut rows = Vec::new();
    for (name, case, kind) in &cases {
        let (logs, guard) = Logs::capture();
        let mut agent = Agentish::new().await;

        // Cold start under the fault: the fallback (off), a typed error, bounded.
        agent.fault(case).await;
        let flags = source_for(agent.port);
        assert!(
            !timed_check(&flags, name).await,
            "{name}: cold start serves the fallback"
        );
        let error = flags
            .status()
            .last_error
            .unwrap_or_else(|| panic!("{name}: no error recorded"));
        assert_eq!(error.kind().as_str(), *kind, "{name}: {error}");

        // Recovery from the cold fault.
        agent.heal().await;
        after_ttl().await;
        assert!(
            timed_check(&flags, name).await,
            "{name}: recovered after a cold fault"
        );

        // Mid-run: last-known-good, flag and attributes, for a whole streak.
        agent.fault(case).await;
        for _ in 0..3 {
            after_ttl().await;
            assert!(
                timed_check(&flags, name).await,
                "{name}: last-known-good mid-run"
            );
        }
        assert_eq!(
            flags.attribute::<u32>("newCheckout", "limit").await,
            Some(5),
            "{name}"
        );
        let streak = flags.status().failure_streak;
        assert!(streak >= 2, "{name}: the streak is counted ({streak})");

        // Recovery, and the log: one warning per streak, one recovery line per streak.
        agent.heal().await;
        after_ttl().await;
        assert!(timed_check(&flags, name).await, "{name}: recovered mid-run");
        assert_eq!(flags.status().failure_streak, 0);
        let warnings = logs.count("WARN", "refresh failed");
        let recoveries = logs.count("INFO", "recovered");
        assert_eq!(
            warnings,
            2,
            "{name}: one warning per streak:\n{}",
            logs.text()
        );
        assert_eq!(recoveries, 2, "{name}:\n{}", logs.text());
        drop(guard);
        rows.push(format!(
            "| {name} | `{kind}` | off (fallback) | last-known-good ({streak} failures) | seen within one TTL | {warnings} warn + {recoveries} info for 2 streaks |"
        ));
    }

    // Not a fault of the transport: the answer lacks the flag. The flag is off (it was removed
    // from the configuration), and that is logged once per configuration version.
    {
        let (logs, _guard) = Logs::capture();
        let agent = Agentish::new().await;
        let flags = source_for(agent.port);
        assert!(timed_check(&flags, "missing").await);
        agent.agent.as_ref().unwrap().set_fault(Fault::Answer {
            body: r#"{"banner": {"enabled": true}}"#.into(),
            version: Some("7".into()),
        });
        after_ttl().await;
        for _ in 0..5 {
            assert!(
                !timed_check(&flags, "missing").await,
                "a flag missing from the answer is off"
            );
        }
        assert!(
            flags.is_enabled("banner").await,
            "the rest of the answer is served"
        );
        assert_eq!(
            logs.count("WARN", "not in the AppConfig configuration"),
            1,
            "{}",
            logs.text()
        );
        agent.agent.as_ref().unwrap().clear_fault();
        after_ttl().await;
        assert!(
            timed_check(&flags, "missing").await,
            "back when the flag is back"
        );
        rows.push("| flag missing from the answer | (not an error) | off | off (removed from the configuration) | seen within one TTL | 1 warn per flag name |".into());
    }
    rows.push("| older `Configuration-Version` (rollback) | (not an error) | applied | applied at once, like any new answer | n/a | info `feature flags loaded` |".into());

    let mut out = std::io::stderr().lock();
    let _ = writeln!(
        out,
        "\nfault matrix (TTL {TTL:?}, timeout {TIMEOUT:?}, cap {CAP} bytes):"
    );
    let _ = writeln!(
        out,
        "| fault | error kind | cold start | mid-run | recovery | log |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for row in &rows {
        let _ = writeln!(out, "{row}");
    }
}
