//! Security limits: names cannot escape their path segment, oversized answers are refused while
//! streaming, and no flag value or attribute reaches the log.

mod common;

use std::time::{Duration, Instant};

use common::*;
use flag_agent::Fault;
use flag_runtime::{Config, ConfigError, FetchError, FlagSource};
use serde_json::json;

fn source_named(port: u16, app: &str, env: &str, profile: &str) -> Result<FlagSource, ConfigError> {
    FlagSource::new(
        Config::builder()
            .application(app)
            .environment(env)
            .configuration(profile)
            .port(port)
            .timeout(Duration::from_secs(2))
            .build()?,
    )
}

/// Names built to reach the served configuration (or `/ping`) if they were not encoded.
#[tokio::test]
async fn names_cannot_reach_another_resource() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let port = agent.addr().port();
    let served = format!("{APP}/environments/{ENV}/configurations/{PROFILE}");
    let attempts: Vec<(String, String, String)> = vec![
        (format!("{served}?"), ENV.into(), PROFILE.into()),
        (format!("{served}#"), ENV.into(), PROFILE.into()),
        (format!("x/../{APP}"), ENV.into(), PROFILE.into()),
        (format!("{APP}%2f..%2f{APP}"), ENV.into(), PROFILE.into()),
        (APP.into(), format!("x/../{ENV}"), PROFILE.into()),
        (
            APP.into(),
            ENV.into(),
            format!("{PROFILE}?flag=newCheckout"),
        ),
        (
            APP.into(),
            ENV.into(),
            format!("{PROFILE}/../../../../../ping"),
        ),
        (APP.into(), ENV.into(), format!("../{PROFILE}")),
    ];
    for (app, env, profile) in attempts {
        let flags = source_named(port, &app, &env, &profile).unwrap();
        match flags.refresh().await {
            Err(FetchError::Status { status: 404, .. }) => {}
            other => panic!("{app} / {env} / {profile}: expected 404, got {other:?}"),
        }
        assert!(!flags.is_enabled("newCheckout").await);
    }
    for dots in ["..", ".", "%2e%2e"] {
        assert!(matches!(
            source_named(port, dots, ENV, PROFILE),
            Err(ConfigError::InvalidSetting {
                setting: "application",
                ..
            })
        ));
    }
    assert_eq!(
        agent.requests(),
        8,
        "each attempt reached the configuration route and was refused"
    );
}

#[tokio::test]
async fn oversized_answers_are_refused_while_streaming() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let cap = 64 * 1024;
    let flags = FlagSource::new(
        config(agent.addr().port())
            .max_body_bytes(cap)
            .build()
            .unwrap(),
    )
    .unwrap();
    for fault in [Fault::Oversized(64 << 20), Fault::OversizedStream(64 << 20)] {
        agent.set_fault(fault.clone());
        let t = Instant::now();
        let error = flags.refresh().await.unwrap_err();
        assert!(
            matches!(error, FetchError::TooLarge { limit } if limit == cap),
            "{fault:?}: {error:?}"
        );
        assert!(error.to_string().contains("65536-byte cap"), "{error}");
        // 64 MiB would take far longer to receive: it was cut off, not read.
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "{fault:?}: {:?}",
            t.elapsed()
        );
    }
    agent.clear_fault();
    assert!(
        flags.refresh().await.is_ok(),
        "a normal answer under the cap is fine"
    );
}

#[tokio::test]
async fn flag_values_never_reach_the_log() {
    const SECRET: &str = "s3cr3t-customer-value";
    let secret_doc = |enabled: bool| {
        json!({
            "version": "1",
            "flags": {"newCheckout": {"attributes": {"owner": {}, "limit": {}}}, "banner": {}},
            "values": {"newCheckout": {"enabled": enabled, "owner": SECRET, "limit": SECRET}, "banner": {"enabled": true}}
        })
    };
    let file = FlagsFile::new(&secret_doc(true));
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(50);
    let flags = source(agent.addr().port(), ttl, Duration::from_millis(300));
    let (logs, _guard) = Logs::capture(); // DEBUG and above

    assert!(flags.is_enabled("newCheckout").await);
    assert_eq!(
        flags
            .attribute::<String>("newCheckout", "owner")
            .await
            .as_deref(),
        Some(SECRET)
    );
    assert_eq!(
        flags.attribute::<u32>("newCheckout", "limit").await,
        None,
        "wrong type, logged by name only"
    );
    assert!(!flags.is_enabled("notThere").await);
    file.write(&secret_doc(false));
    tokio::time::sleep(ttl * 2).await;
    assert!(!flags.is_enabled("newCheckout").await);
    for fault in [
        Fault::Status(500),
        Fault::Answer {
            body: format!(r#"{{"newCheckout": {{"enabled": "{SECRET}"}}}}"#),
            version: None,
        },
        Fault::Answer {
            body: format!(r#"{{"newCheckout": {{"enabled": true, "owner": "{SECRET}""#),
            version: None,
        },
    ] {
        agent.set_fault(fault);
        tokio::time::sleep(ttl * 2).await;
        let _ = flags.is_enabled("newCheckout").await;
        agent.clear_fault();
        tokio::time::sleep(ttl * 2).await;
        let _ = flags.is_enabled("newCheckout").await;
    }
    let text = logs.text();
    assert!(
        text.contains("refresh failed") && text.contains("feature flags loaded"),
        "{text}"
    );
    assert!(
        !text.contains(SECRET),
        "a flag value reached the log:\n{text}"
    );
}
