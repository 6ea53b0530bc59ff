//! The stand-in evaluates multi-variant flags per request from its `Context` headers, as the
//! AppConfig agent does; over real HTTP.

use flag_agent::{Agent, FlagsFile, RunningAgent};
use serde_json::{json, Value};

const PATH: &str = "/applications/shop/environments/develop/configurations/flags";

/// AWS's own multi-variant example (the user guide's procedures page), verbatim.
fn ui_refresh() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../flag-schema/tests/fixtures/aws/ui_refresh.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A discount by customer tier, with a 10% split by customer id for everyone else, and a plain
/// flag beside it.
fn tiers() -> Value {
    json!({
        "version": "1",
        "flags": {
            "discount": {"name": "Discount", "attributes": {"percentage": {"constraints": {"type": "number"}}}},
            "banner": {"name": "Banner"}
        },
        "values": {
            "discount": {"_variants": [
                {"name": "gold", "enabled": true, "rule": "(eq $tier \"gold\")", "attributeValues": {"percentage": 15}},
                {"name": "big spenders", "enabled": true, "rule": "(and (eq $tier \"silver\")\n     (gte $spent 1000))", "attributeValues": {"percentage": 10}},
                {"name": "paused", "enabled": false, "rule": "(eq $tier \"bronze\")", "attributeValues": {"percentage": 99}},
                {"name": "sample", "enabled": true, "rule": "(split pct::10 by::$customerId)", "attributeValues": {"percentage": 5}},
                {"name": "none", "enabled": false}
            ]},
            "banner": {"enabled": true}
        }
    })
}

struct Setup {
    _file: FlagsFile,
    agent: RunningAgent,
    http: reqwest::Client,
}

impl Setup {
    async fn new(doc: &Value) -> Self {
        let file = FlagsFile::new(doc);
        let agent = Agent::new(file.path(), "shop", "develop", "flags")
            .start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Setup {
            _file: file,
            agent,
            http: reqwest::Client::new(),
        }
    }

    /// GET `path_and_query` with these headers; the status and the JSON body.
    async fn get(&self, path_and_query: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self
            .http
            .get(format!("http://{}{path_and_query}", self.agent.addr()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap())
    }
}

#[tokio::test]
async fn the_user_guides_multi_variant_example_is_served_as_documented() {
    let s = Setup::new(&ui_refresh()).await;
    let (status, body) = s.get(PATH, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"ui_refresh": {"_variant": "Default Variant", "enabled": false}}),
        "no context: the default variant, no attributes (it is disabled)"
    );
    let (_, body) = s
        .get(PATH, &[("Context", "email=jane@qa-testers.mycompany.com")])
        .await;
    assert_eq!(
        body["ui_refresh"],
        json!({"_variant": "QA", "enabled": true, "dark_mode_support": true})
    );
    let (_, body) = s
        .get(
            PATH,
            &[
                ("Context", "email=joe@example.org"),
                ("Context", "opted_in_to_beta=false"),
            ],
        )
        .await;
    assert_eq!(
        body["ui_refresh"]["_variant"], "Beta Testers",
        "exists: any value counts, even false"
    );
    // With `?flag=`: that flag's bare object, for the context.
    let (_, body) = s
        .get(
            &format!("{PATH}?flag=ui_refresh"),
            &[("Context", "email=jane@qa-testers.mycompany.com")],
        )
        .await;
    assert_eq!(body["_variant"], "QA");
}

#[tokio::test]
async fn context_headers_one_per_pair_or_comma_separated() {
    let s = Setup::new(&tiers()).await;
    let one_per_pair = s
        .get(
            PATH,
            &[("Context", "tier=silver"), ("Context", "spent=1200")],
        )
        .await;
    let comma_separated = s.get(PATH, &[("Context", "tier=silver, spent=1200")]).await;
    assert_eq!(one_per_pair, comma_separated);
    assert_eq!(
        one_per_pair.1["discount"],
        json!({"_variant": "big spenders", "enabled": true, "percentage": 10})
    );
    assert_eq!(
        one_per_pair.1["banner"],
        json!({"enabled": true}),
        "plain flags as usual"
    );

    let (_, body) = s.get(PATH, &[("Context", "tier=silver,spent=999")]).await;
    assert_ne!(
        body["discount"]["_variant"], "big spenders",
        "a number compared as one"
    );
    let (_, body) = s.get(PATH, &[("Context", "tier=gold")]).await;
    assert_eq!(body["discount"]["percentage"], 15, "first match wins");
}

#[tokio::test]
async fn attributes_only_when_the_chosen_variant_is_enabled() {
    let s = Setup::new(&tiers()).await;
    let (_, body) = s.get(PATH, &[("Context", "tier=bronze")]).await;
    assert_eq!(
        body["discount"],
        json!({"_variant": "paused", "enabled": false})
    );
}

#[tokio::test]
async fn split_serves_its_share_by_customer_id() {
    let s = Setup::new(&tiers()).await;
    let mut sampled = 0;
    for id in 0..400 {
        let context = format!("customerId=c{id}");
        let (_, body) = s
            .get(&format!("{PATH}?flag=discount"), &[("Context", &context)])
            .await;
        if body["_variant"] == "sample" {
            sampled += 1;
        }
        // Deterministic per id.
        let (_, again) = s
            .get(&format!("{PATH}?flag=discount"), &[("Context", &context)])
            .await;
        assert_eq!(body, again);
    }
    assert!(
        (20..=60).contains(&sampled),
        "{sampled} of 400 for a 10% split"
    );
}

#[tokio::test]
async fn entity_id_is_accepted_up_to_2_kb() {
    let s = Setup::new(&tiers()).await;
    let id = "e".repeat(2048);
    let (status, body) = s
        .get(PATH, &[("Entity-Id", &id), ("Context", "tier=gold")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["discount"]["_variant"], "gold");
    let too_long = "e".repeat(2049);
    let (status, body) = s.get(PATH, &[("Entity-Id", &too_long)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["ReasonCode"], "BadRequest");
}

#[tokio::test]
async fn a_malformed_context_is_a_400_naming_positions_not_text() {
    let s = Setup::new(&tiers()).await;
    let (status, body) = s
        .get(
            PATH,
            &[("Context", "tier=gold"), ("Context", "s3cr3t-no-equals")],
        )
        .await;
    assert_eq!(status, 400);
    let message = body["Message"].as_str().unwrap();
    assert!(message.contains("header 2"), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
}
