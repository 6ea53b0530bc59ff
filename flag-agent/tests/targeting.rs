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

/// A rule this stand-in cannot run (look-around) and one AWS lists for audience rules only
/// (`ne`): the profile is served, the unsupported variant never matches, `ne` evaluates.
#[tokio::test]
async fn a_rule_this_agent_cannot_run_never_takes_down_the_profile() {
    let doc = json!({
        "version": "1",
        "flags": {"f": {}, "region": {}, "banner": {}},
        "values": {
            "f": {"_variants": [
                {"name": "lookaround", "enabled": true, "rule": "(matches in::$user pattern::\"^(?!admin)\")"},
                {"name": "d", "enabled": false}
            ]},
            "region": {"_variants": [
                {"name": "not west", "enabled": true, "rule": "(ne $region \"us-west-2\")"},
                {"name": "d", "enabled": false}
            ]},
            "banner": {"enabled": true}
        }
    });
    let (logs, _guard) = flag_testkit::Logs::capture();
    let s = Setup::new(&doc).await;
    let (status, body) = s
        .get(PATH, &[("Context", "user=jane,region=eu-west-1")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["f"]["_variant"], "d");
    assert_eq!(body["region"]["_variant"], "not west");
    assert_eq!(body["banner"]["enabled"], true);
    let (_, body) = s.get(PATH, &[("Context", "region=us-west-2")]).await;
    assert_eq!(body["region"]["_variant"], "d");
    let (_, body) = s.get(PATH, &[]).await;
    assert_eq!(body["region"]["_variant"], "d", "no region: unknown");
    // Logged once for this content, naming the flag, the variant and the position, never the
    // rule's constants.
    let warned = |needle: &str| logs.count("WARN", needle);
    assert_eq!(warned("values.f._variants[0]"), 1, "{}", logs.text());
    assert_eq!(warned("values.region._variants[0]"), 1, "{}", logs.text());
    assert!(!logs.text().contains("admin"), "{}", logs.text());
}

/// Every context flag-runtime can send (256 pairs, 16 KiB) is served, in one header or one
/// header per pair; past the stand-in's own limits, a 400 naming the limit.
#[tokio::test]
async fn large_contexts_are_served_in_one_header_or_one_per_pair() {
    let s = Setup::new(&tiers()).await;
    let pairs: Vec<String> = (0..256)
        .map(|i| format!("k{i}={}", "v".repeat(60)))
        .chain(["tier=gold".to_owned()])
        .collect();
    let one = pairs.join(",");
    assert!(one.len() > 16 * 1024);
    let (status, body) = s
        .get(
            &format!("{PATH}?flag=discount"),
            &[("Context", one.as_str())],
        )
        .await;
    assert_eq!((status, &body["_variant"]), (200, &json!("gold")), "{body}");
    let each: Vec<(&str, &str)> = pairs.iter().map(|p| ("Context", p.as_str())).collect();
    let (status, body) = s.get(&format!("{PATH}?flag=discount"), &each).await;
    assert_eq!((status, &body["_variant"]), (200, &json!("gold")), "{body}");

    let too_many: Vec<String> = (0..1025).map(|i| format!("k{i}=1")).collect();
    let (status, body) = s
        .get(PATH, &[("Context", too_many.join(",").as_str())])
        .await;
    assert_eq!(status, 400);
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("more than 1024 keys"),
        "{body}"
    );
    let huge = format!("k={}", "v".repeat(70 * 1024));
    let (status, body) = s.get(PATH, &[("Context", huge.as_str())]).await;
    assert_eq!(status, 400);
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("more than 65536 bytes"),
        "{body}"
    );
}

/// A costly rule (31 variants of `matches` over 16 KiB of context) delays its own request
/// only: while it is still being evaluated, `/ping` and another flag with the same context
/// answer, because only the flags asked for are evaluated, off the server's reactor.
#[tokio::test]
async fn a_costly_rule_delays_only_its_own_request() {
    let values: Vec<String> = (0..16)
        .map(|i| format!("k{i}={}", "a".repeat(1000)))
        .collect();
    let context = values.join(",");
    // Each pattern scans a whole value and never matches.
    let rule = {
        let clauses: Vec<String> = (0..16)
            .cycle()
            .take(48)
            .map(|i| format!("(matches in::$k{i} pattern::\"(a|b|c|d)*[xyz]{{3}}(e|f)+q\")"))
            .collect();
        format!("(or {})", clauses.join(" "))
    };
    let mut variants: Vec<Value> = (0..31)
        .map(|i| json!({"name": format!("v{i}"), "enabled": true, "rule": rule}))
        .collect();
    variants.push(json!({"name": "d", "enabled": false}));
    let doc = json!({
        "version": "1",
        "flags": {"slow": {}, "fast": {}},
        "values": {
            "slow": {"_variants": variants},
            "fast": {"_variants": [
                {"name": "on", "enabled": true, "rule": "(exists key::\"k0\")"},
                {"name": "d", "enabled": false}
            ]}
        }
    });
    let s = std::sync::Arc::new(Setup::new(&doc).await);
    let slow = {
        let s = s.clone();
        let context = context.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let (status, body) = s
                .get(&format!("{PATH}?flag=slow"), &[("Context", &context)])
                .await;
            (status, body, started.elapsed())
        })
    };
    while s.agent.requests() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let ping = s
        .http
        .get(format!("http://{}/ping", s.agent.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 200);
    let (status, body) = s
        .get(&format!("{PATH}?flag=fast"), &[("Context", &context)])
        .await;
    assert_eq!((status, &body["_variant"]), (200, &json!("on")));
    assert!(
        !slow.is_finished(),
        "the costly request was still running meanwhile"
    );
    let (status, body, took) = slow.await.unwrap();
    assert_eq!((status, &body["_variant"]), (200, &json!("d")), "{body}");
    eprintln!("the costly request took {took:?}");
}
