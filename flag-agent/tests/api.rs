//! The stand-in answers as the AppConfig agent does, over real HTTP.

use flag_agent::{Agent, FlagsFile, RunningAgent};
use serde_json::{json, Value};

struct Setup {
    file: FlagsFile,
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
            file,
            agent,
            http: reqwest::Client::new(),
        }
    }

    fn write(&self, text: &str) {
        self.file.write_raw(text.as_bytes());
    }

    async fn get(&self, path: &str) -> (u16, Option<String>, Value) {
        let url = format!("http://{}{path}", self.agent.addr());
        let response = self.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let version = response
            .headers()
            .get("configuration-version")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, version, body)
    }
}

const PATH: &str = "/applications/shop/environments/develop/configurations/flags";

fn doc() -> Value {
    json!({
        "version": "1",
        "flags": {
            "newCheckout": {"name": "New", "attributes": {"limit": {"constraints": {"type": "number", "maximum": 10}}}},
            "banner": {"name": "Banner", "attributes": {"text": {}}},
            "unset": {"name": "Unset"}
        },
        "values": {
            "newCheckout": {"enabled": true, "limit": 5, "_updatedAt": "2026-01-01T00:00:00Z"},
            "banner": {"enabled": false, "text": "hidden when off"}
        }
    })
}

#[tokio::test]
async fn serves_the_evaluated_flags() {
    let s = Setup::new(&doc()).await;
    let (status, version, body) = s.get(PATH).await;
    assert_eq!(status, 200);
    assert_eq!(version.as_deref(), Some("1"));
    assert_eq!(
        body,
        json!({
            "newCheckout": {"enabled": true, "limit": 5},
            "banner": {"enabled": false},
            "unset": {"enabled": false}
        })
    );
    let response = s
        .http
        .get(format!("http://{}{PATH}", s.agent.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn flag_parameter_narrows_the_answer() {
    let s = Setup::new(&doc()).await;
    let (status, _, body) = s.get(&format!("{PATH}?flag=newCheckout")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"enabled": true, "limit": 5}),
        "one flag: its bare object"
    );
    let (_, _, body) = s.get(&format!("{PATH}?flag=newCheckout&flag=banner")).await;
    assert_eq!(
        body,
        json!({"newCheckout": {"enabled": true, "limit": 5}, "banner": {"enabled": false}})
    );
    let (status, _, _) = s.get(&format!("{PATH}?flag=%FF")).await;
    assert_eq!(
        status, 400,
        "an undecodable flag name is refused, not ignored"
    );
    let (status, _, _) = s.get(&format!("{PATH}?flag=new%43heckout")).await;
    assert_eq!(status, 200, "flag names are percent-decoded");
    let (status, _, body) = s.get(&format!("{PATH}?flag=newCheckout&flag=nope")).await;
    assert_eq!(status, 400, "an unknown flag fails the whole request");
    assert!(body["Message"].as_str().unwrap().contains("nope"));
}

#[tokio::test]
async fn unknown_resources_are_404() {
    let s = Setup::new(&doc()).await;
    for path in [
        "/applications/other/environments/develop/configurations/flags",
        "/applications/shop/environments/prod/configurations/flags",
        "/applications/shop/environments/develop/configurations/other",
        "/applications/shop/environments/develop/configurations/flags/extra",
        "/applications/shop%2F..%2Fx/environments/develop/configurations/flags",
        "/nothing",
    ] {
        let (status, _, body) = s.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["ReasonCode"], "ResourceNotFound", "{path}");
    }
}

#[tokio::test]
async fn names_are_percent_decoded() {
    let file = FlagsFile::new(&doc());
    let agent = Agent::new(file.path(), "my shop/eu", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!(
        "http://{}/applications/my%20shop%2Feu/environments/develop/configurations/flags",
        agent.addr()
    );
    assert_eq!(reqwest::get(url).await.unwrap().status(), 200);
}

#[tokio::test]
async fn edits_bump_the_version_and_invalid_edits_are_refused() {
    let s = Setup::new(&doc()).await;
    assert_eq!(s.get(PATH).await.1.as_deref(), Some("1"));
    assert_eq!(
        s.get(PATH).await.1.as_deref(),
        Some("1"),
        "unchanged file, same version"
    );

    let mut edited = doc();
    edited["values"]["newCheckout"]["enabled"] = json!(false);
    s.write(&edited.to_string());
    let (_, version, body) = s.get(PATH).await;
    assert_eq!(version.as_deref(), Some("2"));
    assert_eq!(body["newCheckout"], json!({"enabled": false}));

    // Breaks a constraint: refused, version 2 still served.
    let mut invalid = doc();
    invalid["values"]["newCheckout"]["limit"] = json!(11);
    s.write(&invalid.to_string());
    let (status, version, body) = s.get(PATH).await;
    assert_eq!((status, version.as_deref()), (200, Some("2")));
    assert_eq!(body["newCheckout"], json!({"enabled": false}));
    s.write("{ not json");
    assert_eq!(s.get(PATH).await.1.as_deref(), Some("2"));

    s.write(&doc().to_string());
    let (_, version, body) = s.get(PATH).await;
    assert_eq!(version.as_deref(), Some("3"));
    assert_eq!(body["newCheckout"]["limit"], 5);
}

#[tokio::test]
async fn a_file_never_valid_answers_500_with_the_reason() {
    let s = Setup::new(&json!({"version": "2"})).await;
    let (status, _, body) = s.get(PATH).await;
    assert_eq!(status, 500);
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("must be the string \"1\""),
        "{body}"
    );
}

#[tokio::test]
async fn ping_and_methods() {
    let s = Setup::new(&doc()).await;
    let (status, _, body) = s.get("/ping").await;
    assert_eq!(status, 200);
    assert!(body.as_str().unwrap().starts_with("flag-agent "));
    let response = s
        .http
        .post(format!("http://{}{PATH}", s.agent.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(
        s.agent.requests(),
        0,
        "neither ping nor a refused method is a configuration request"
    );
    s.get(PATH).await;
    assert_eq!(s.agent.requests(), 1);
}

#[tokio::test]
async fn stop_closes_the_port() {
    let file = FlagsFile::new(&doc());
    let agent = Agent::new(file.path(), "shop", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = agent.addr();
    assert_eq!(
        reqwest::get(format!("http://{addr}{PATH}"))
            .await
            .unwrap()
            .status(),
        200
    );
    agent.stop().await;
    assert!(reqwest::get(format!("http://{addr}{PATH}")).await.is_err());
}
