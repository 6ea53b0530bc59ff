#![allow(dead_code)]
//! Shared helpers: the workspace's test kit (the local agent on a free loopback port, a source
//! on it), the flags the tests read, and an OpenFeature API instance of the test's own (not the
//! process-wide singleton) with the provider set.

use std::time::Duration;

use flag_openfeature::AppConfigProvider;
use open_feature::{Client, EvaluationError, EvaluationErrorCode, OpenFeature};
use serde_json::{json, Value};

#[allow(unused_imports)]
pub use flag_testkit::{dead_port, source, start_agent, Fault, FlagsFile};

/// The flags the tests read:
/// * `newCheckout`: single-variant, on, with one attribute of each type;
/// * `banner`: single-variant, off;
/// * `discountBanner`: multi-variant: `gold` for `tier=gold`, `pilot` for the targeting key
///   `customer-7`, else the default `plain`;
/// * `typed`: multi-variant, `hit` when an integer, a boolean, a float and a date-time context
///   field all match, else `miss`.
pub fn doc() -> Value {
    json!({
        "version": "1",
        "flags": {
            "newCheckout": {"name": "New checkout", "attributes": {
                "limit": {"constraints": {"type": "number"}},
                "ratio": {"constraints": {"type": "number"}},
                "theme": {"constraints": {"type": "string"}},
                "express": {"constraints": {"type": "boolean"}},
                "regions": {"constraints": {"type": "array", "elements": {"type": "string"}}}
            }},
            "banner": {"name": "Banner", "attributes": {"text": {"constraints": {"type": "string"}}}},
            "discountBanner": {"name": "Discount banner", "attributes": {
                "percentage": {"constraints": {"type": "number"}},
                "text": {"constraints": {"type": "string"}}
            }},
            "typed": {"name": "Typed context"}
        },
        "values": {
            "newCheckout": {"enabled": true, "limit": 5, "ratio": 0.25, "theme": "dark",
                            "express": true, "regions": ["eu", "us"]},
            "banner": {"enabled": false},
            "discountBanner": {"_variants": [
                {"name": "gold", "enabled": true, "rule": "(eq $tier \"gold\")",
                 "attributeValues": {"percentage": 20, "text": "Gold"}},
                {"name": "pilot", "enabled": true, "rule": "(eq $targetingKey \"customer-7\")",
                 "attributeValues": {"percentage": 5, "text": "Pilot"}},
                {"name": "plain", "enabled": true,
                 "attributeValues": {"percentage": 0, "text": "Plain"}}
            ]},
            "typed": {"_variants": [
                {"name": "hit", "enabled": true,
                 "rule": "(and (and (gte $age 18) (eq $beta true)) (and (lt $score 0.5) (lt $signedUp 2024-01-01T00:00:00Z)))"},
                {"name": "miss", "enabled": false}
            ]}
        }
    })
}

/// The local agent serving [`doc`], with its flags file (kept on disk as long as the agent).
pub async fn serve_doc() -> (FlagsFile, flag_agent::RunningAgent) {
    let file = FlagsFile::new(&doc());
    let agent = start_agent(&file).await;
    (file, agent)
}

/// A source on the agent at `port` with a 60 s TTL (no refresh during a test) and a 2 s timeout.
pub fn steady_source(port: u16) -> flag_runtime::FlagSource {
    source(port, Duration::from_secs(60), Duration::from_secs(2))
}

/// The agent on the test flags, and a client of an API with the provider set.
pub async fn setup() -> ((FlagsFile, flag_agent::RunningAgent), OpenFeature, Client) {
    let (file, agent) = serve_doc().await;
    let flags = steady_source(agent.addr().port());
    let (api, client) = client(AppConfigProvider::new(flags)).await;
    ((file, agent), api, client)
}

/// An OpenFeature API of the test's own with `provider` set (which initialises it), and a
/// client of it.
pub async fn client(provider: AppConfigProvider) -> (OpenFeature, Client) {
    let mut api = OpenFeature::default();
    api.set_provider(provider).await;
    let client = api.create_client();
    (api, client)
}

/// The error code of a failed evaluation, as the specification names it.
pub fn code(result: Result<impl std::fmt::Debug, EvaluationError>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(EvaluationError { code, .. }) => match code {
            EvaluationErrorCode::General(name) => name,
            other => other.to_string(),
        },
    }
}
