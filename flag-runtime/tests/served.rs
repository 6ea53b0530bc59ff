//! `TargetedSource::served` (which answer a check reads, and whether it is last-known-good) and
//! `FlagSource::status_changes` (woken after each refresh), over real HTTP to the local agent.

mod common;

use std::time::Duration;

use common::*;
use flag_agent::Fault;
use flag_runtime::{Context, Served};
use serde_json::{json, Value};

/// `banner` picks variant `gold` for `tier=gold`, else its default `plain`.
fn variants_doc() -> Value {
    json!({
        "version": "1",
        "flags": {"banner": {"name": "Banner"}},
        "values": {"banner": {"_variants": [
            {"name": "gold", "enabled": true, "rule": "(eq $tier \"gold\")"},
            {"name": "plain", "enabled": false}
        ]}}
    })
}

fn variant(served: &Served) -> Option<String> {
    served
        .snapshot()?
        .flag("banner")?
        .variant()
        .map(str::to_owned)
}

#[tokio::test]
async fn served_names_the_answer_read() {
    let file = FlagsFile::new(&variants_doc());
    let agent = start_agent(&file).await;
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );

    let gold = Context::new().with("tier", "gold");
    let served = flags.with_context(&gold).served().await;
    assert!(
        matches!(served, Served::Context { stale: false, .. }),
        "{served:?}"
    );
    assert_eq!(variant(&served).as_deref(), Some("gold"));

    let empty = Context::new();
    let served = flags.with_context(&empty).served().await;
    assert!(
        matches!(served, Served::ContextFree { stale: false, .. }),
        "{served:?}"
    );
    assert_eq!(variant(&served).as_deref(), Some("plain"));

    // A context that cannot be sent reads the context-free answer.
    let invalid = Context::new().with("tier", "gold,silver");
    let served = flags.with_context(&invalid).served_now();
    assert!(matches!(served, Served::ContextFree { .. }), "{served:?}");
    assert_eq!(variant(&served).as_deref(), Some("plain"));
    agent.stop().await;
}

#[tokio::test]
async fn served_is_nothing_before_a_load_and_stale_after_a_failed_refresh() {
    let flags = source(
        dead_port(),
        Duration::from_millis(50),
        Duration::from_millis(300),
    );
    let served = flags.with_context(&Context::new()).served().await;
    assert!(matches!(served, Served::Nothing), "{served:?}");
    assert!(!served.is_stale());

    let file = FlagsFile::new(&variants_doc());
    let agent = start_agent(&file).await;
    let flags = source(
        agent.addr().port(),
        Duration::from_millis(50),
        Duration::from_millis(500),
    );
    let gold = Context::new().with("tier", "gold");
    assert!(!flags.with_context(&gold).served().await.is_stale());
    assert!(!flags
        .with_context(&Context::new())
        .served()
        .await
        .is_stale());

    agent.set_fault(Fault::Status(502));
    tokio::time::sleep(Duration::from_millis(80)).await;
    let served = flags.with_context(&gold).served().await;
    assert!(
        matches!(served, Served::Context { stale: true, .. }),
        "{served:?}"
    );
    assert_eq!(
        variant(&served).as_deref(),
        Some("gold"),
        "last-known-good kept"
    );
    let served = flags.with_context(&Context::new()).served().await;
    assert!(
        matches!(served, Served::ContextFree { stale: true, .. }),
        "{served:?}"
    );

    agent.clear_fault();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(!flags.with_context(&gold).served().await.is_stale());
    agent.stop().await;
}

#[tokio::test]
async fn status_changes_wake_after_each_refresh() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let mut changes = flags.status_changes();
    assert_eq!(flags.status().refreshes, 0);

    let waiter = tokio::spawn({
        let mut changes = changes.clone();
        async move { changes.changed().await }
    });
    flags.refresh().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken by the refresh")
        .unwrap();
    assert!(status.has_snapshot);
    assert_eq!(status.failure_streak, 0);
    assert_eq!(
        status.refreshes, 1,
        "the report names the refresh it reflects"
    );

    // Nothing refreshed: no wake-up.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), changes.changed())
            .await
            .is_ok(),
        "the first refresh is still unseen by this receiver"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), changes.changed())
            .await
            .is_err(),
        "no refresh, no wake-up"
    );

    agent.set_fault(Fault::Status(500));
    let refreshed = flags.refresh().await;
    assert!(refreshed.is_err());
    let status = tokio::time::timeout(Duration::from_secs(5), changes.changed())
        .await
        .expect("woken by the failed refresh");
    assert_eq!(status.failure_streak, 1);
    assert_eq!(status.refreshes, 2, "failed ones count");
    assert!(status.has_snapshot, "last-known-good kept");
    agent.stop().await;
}
