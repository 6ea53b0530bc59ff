//! Gated functions read the process-wide default source: here, the local agent over HTTP.

use std::time::Duration;

use flag_macros::feature_flag;
use flag_runtime::Config;
use flag_testkit::{source, start_agent, FlagsFile};
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
    let doc = |enabled: bool| json!({"version": "1", "flags": {"newCheckout": {}}, "values": {"newCheckout": {"enabled": enabled}}});
    let file = FlagsFile::new(&doc(true));
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(200);
    // The agent holds its first answer (within the 1 s timeout), so the first sync check
    // cannot race the load it starts.
    let hold = Duration::from_millis(300);
    agent.set_fault(flag_agent::Fault::Delay(hold));
    flag_runtime::install_default(source(agent.addr().port(), ttl, Config::DEFAULT_TIMEOUT))
        .unwrap();

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

    file.write(&doc(false));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(
        checkout(3).await,
        "old checkout of 3",
        "flipped after the TTL"
    );
    assert_eq!(label(), "old");
}
