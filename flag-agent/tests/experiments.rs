//! The stand-in runs experiments from `experiments.json` as AWS documents the retrieval: the
//! flag named with `?flag=`, an `Entity-Id`, and the `Context` the audience rule reads; over
//! real HTTP.

use std::collections::BTreeMap;

use flag_agent::{Agent, FlagsFile, RunningAgent};
use flag_testkit::{button_doc, button_experiments};
use serde_json::{json, Value};

const PATH: &str = "/applications/shop/environments/develop/configurations/flags";

struct Setup {
    file: FlagsFile,
    agent: RunningAgent,
    http: reqwest::Client,
}

impl Setup {
    async fn new(run: Option<Value>) -> Self {
        let file = FlagsFile::new(&button_doc());
        file.write_experiments(&button_experiments(run));
        let agent = Agent::new(file.path(), "shop", "develop", "flags")
            .start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Setup {
            file,
            agent,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, query: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, Value) {
        let mut request = self
            .http
            .get(format!("http://{}{PATH}{query}", self.agent.addr()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let version = response
            .headers()
            .get("configuration-version")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        (status, version, serde_json::from_str(&text).unwrap())
    }

    /// The flag's answer for `entity` in New Zealand.
    async fn button(&self, entity: &str) -> Value {
        let (status, _, body) = self
            .get(
                "?flag=checkoutButton",
                &[("Entity-Id", entity), ("Context", "country=NZ")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn deployed() -> Value {
    json!({"enabled": true, "color": "blue"})
}

#[tokio::test]
async fn treatments_are_served_sticky_to_the_audience_when_the_flag_is_named() {
    let s = Setup::new(Some(json!({"ExposurePercentage": 100}))).await;
    let mut counts = BTreeMap::<String, u32>::new();
    for i in 0..400 {
        let entity = format!("customer-{i}");
        let answer = s.button(&entity).await;
        assert_eq!(s.button(&entity).await, answer, "sticky for {entity}");
        let key = answer["_variant"].as_str().unwrap().to_owned();
        let color = match key.as_str() {
            "__c__" => "blue",
            "__t1__" => "green",
            other => panic!("unexpected treatment {other}"),
        };
        assert_eq!(
            answer,
            json!({"_variant": key, "enabled": true, "color": color})
        );
        *counts.entry(key).or_default() += 1;
    }
    assert!(
        counts["__c__"] > 150 && counts["__t1__"] > 150,
        "{counts:?}"
    );

    // Outside the audience, with no context, without an Entity-Id, without `?flag=`: the
    // deployed value.
    let (_, _, us) = s
        .get(
            "?flag=checkoutButton",
            &[("Entity-Id", "customer-1"), ("Context", "country=US")],
        )
        .await;
    assert_eq!(us, deployed());
    let (_, _, bare) = s
        .get("?flag=checkoutButton", &[("Entity-Id", "customer-1")])
        .await;
    assert_eq!(bare, deployed());
    let (_, _, anonymous) = s
        .get("?flag=checkoutButton", &[("Context", "country=NZ")])
        .await;
    assert_eq!(anonymous, deployed());
    let (_, _, whole) = s
        .get(
            "",
            &[("Entity-Id", "customer-1"), ("Context", "country=NZ")],
        )
        .await;
    assert_eq!(whole["checkoutButton"], deployed());
    // Several flags named: the experiment flag gets its treatment, the other its value.
    let (_, _, both) = s
        .get(
            "?flag=checkoutButton&flag=banner",
            &[("Entity-Id", "customer-1"), ("Context", "country=NZ")],
        )
        .await;
    assert_eq!(both["checkoutButton"], s.button("customer-1").await);
    assert_eq!(both["banner"], json!({"enabled": true}));
}

#[tokio::test]
async fn runs_start_grow_take_overrides_and_stop_on_the_next_request() {
    let s = Setup::new(None).await;
    assert_eq!(s.button("qa-1").await, deployed(), "no run");
    let (_, first, _) = s.get("", &[]).await;

    // Starting a run at 0 % with an override: only the overridden entity takes part.
    s.file.write_experiments(&button_experiments(Some(json!({
        "ExposurePercentage": 0,
        "TreatmentOverrides": {"Inline": {"qa-1": "__t1__"}}
    }))));
    assert_eq!(s.button("qa-1").await["_variant"], "__t1__");
    assert_eq!(s.button("customer-1").await, deployed());
    let (_, second, _) = s.get("", &[]).await;
    assert_ne!(first, second, "a run change is a new configuration version");

    // Raising the exposure keeps exposed entities where they were.
    s.file
        .write_experiments(&button_experiments(Some(json!({"ExposurePercentage": 30}))));
    let mut at_30 = BTreeMap::new();
    for i in 0..300 {
        let entity = format!("customer-{i}");
        let answer = s.button(&entity).await;
        if answer != deployed() {
            at_30.insert(entity, answer);
        }
    }
    assert!(
        (50..130).contains(&at_30.len()),
        "{} of 300 at 30 %",
        at_30.len()
    );
    s.file
        .write_experiments(&button_experiments(Some(json!({"ExposurePercentage": 60}))));
    for (entity, answer) in &at_30 {
        assert_eq!(&s.button(entity).await, answer, "{entity} moved");
    }

    // Lowering the exposure or editing the definition during the run is refused: the last
    // valid files stay served.
    let (_, before, _) = s.get("", &[]).await;
    s.file
        .write_experiments(&button_experiments(Some(json!({"ExposurePercentage": 10}))));
    let mut edited = button_experiments(Some(json!({"ExposurePercentage": 60})));
    edited["experiments"][0]["AudienceRule"] = json!("(eq $country \"AU\")");
    let (_, after_lowering, _) = s.get("", &[]).await;
    assert_eq!(before, after_lowering);
    s.file.write_experiments(&edited);
    let (_, after_edit, _) = s.get("", &[]).await;
    assert_eq!(before, after_edit);
    for (entity, answer) in &at_30 {
        assert_eq!(
            &s.button(entity).await,
            answer,
            "{entity} after a refused edit"
        );
    }

    // Removing `Run` stops it: everybody gets the deployed value again.
    s.file.write_experiments(&button_experiments(None));
    for entity in at_30.keys() {
        assert_eq!(s.button(entity).await, deployed());
    }
}

#[tokio::test]
async fn an_invalid_experiments_file_is_refused_and_the_last_valid_one_stays() {
    let s = Setup::new(Some(json!({"ExposurePercentage": 100}))).await;
    let before = s.button("customer-7").await;
    assert_ne!(before, deployed());
    let mut bad = button_experiments(Some(json!({"ExposurePercentage": 100})));
    bad["experiments"][0]["FlagKey"] = json!("checkoutButon");
    s.file.write_experiments(&bad);
    assert_eq!(s.button("customer-7").await, before);
    // A file that was never valid: the flags file alone is not served either (500 names
    // the experiments file), as with an invalid flags file.
    let file = FlagsFile::new(&button_doc());
    file.write_experiments(&bad);
    let agent = Agent::new(file.path(), "shop", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let response = reqwest::get(format!("http://{}{PATH}", agent.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("experiments.json is not a valid experiments file")
            && body.contains("did you mean `checkoutButton`?"),
        "{body}"
    );
}

#[tokio::test]
async fn an_experiments_file_given_on_purpose_must_exist() {
    let file = FlagsFile::new(&button_doc());
    let elsewhere = file.path().with_file_name("elsewhere.json");
    let agent = Agent::new(file.path(), "shop", "develop", "flags")
        .experiments_file(&elsewhere)
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}{PATH}", agent.addr());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 500);
    std::fs::write(
        &elsewhere,
        button_experiments(Some(json!({"ExposurePercentage": 100}))).to_string(),
    )
    .unwrap();
    let text = reqwest::Client::new()
        .get(format!("{url}?flag=checkoutButton"))
        .header("Entity-Id", "customer-1")
        .header("Context", "country=NZ")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert!(
        answer["_variant"].as_str().unwrap().starts_with("__"),
        "{answer}"
    );
}
