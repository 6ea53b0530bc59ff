//! Gated functions read the process-wide default source: here, the local agent over HTTP.

use std::time::Duration;

use flag_macros::feature_flag;
use flag_runtime::{Config, FlagSource};
use serde_json::json;

#[feature_flag("newCheckout", fallback = old_checkout, schema = "tests/flags.json")]
async fn checkout(items: u32) -> String {
    format!("new checkout of {items}")
}

async fn old_checkout(items: u32) -> String {
    format!("old checkout of {items}")
}

#[feature_flag("newCheckout", fallback = old_label, schema = "tests/flags.json")]
fn label() -> &'static str {
    "new"
}

fn old_label() -> &'static str {
    "old"
}

#[tokio::test]
async fn gated_functions_follow_the_agent() {
    let dir = std::env::temp_dir().join(format!("flag-macros-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flags.json");
    let doc = |enabled: bool| {
        json!({"version": "1", "flags": {"newCheckout": {}}, "values": {"newCheckout": {"enabled": enabled}}})
            .to_string()
    };
    std::fs::write(&file, doc(true)).unwrap();
    let agent = flag_agent::Agent::new(&file, "shop", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ttl = Duration::from_millis(200);
    let config = Config::builder()
        .application("shop")
        .environment("develop")
        .configuration("flags")
        .port(agent.addr().port())
        .ttl(ttl)
        .build()
        .unwrap();
    // The agent holds its first answer (within the 1 s timeout), so the first sync check
    // cannot race the load it starts.
    let hold = Duration::from_millis(300);
    agent.set_fault(flag_agent::Fault::Delay(hold));
    flag_runtime::install_default(FlagSource::new(config).unwrap()).unwrap();

    let t = std::time::Instant::now();
    assert_eq!(
        label(),
        "old",
        "sync check before the first load: off, no waiting"
    );
    assert!(t.elapsed() < hold, "never waits ({:?})", t.elapsed());
    agent.clear_fault();
    assert_eq!(
        checkout(3).await,
        "new checkout of 3",
        "async check loads on first use"
    );
    assert_eq!(label(), "new", "the sync check reads the loaded snapshot");

    std::fs::write(&file, doc(false)).unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(
        checkout(3).await,
        "old checkout of 3",
        "flipped after the TTL"
    );
    assert_eq!(label(), "old");
    let _ = std::fs::remove_dir_all(dir);
}
