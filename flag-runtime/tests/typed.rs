//! Typed flags (`flags!`) over the local agent: a value that no longer fits its compiled type is
//! served last-known-good and logged once per streak, by name, never by value.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

flag_macros::flags!(mod flags, schema = "tests/flags.json");

/// `newCheckout` with `limit` deployed as `limit_type`, valued `limit`.
fn deployed(limit_type: &str, limit: Value) -> Value {
    json!({
        "version": "1",
        "flags": {"newCheckout": {"attributes": {"limit": {"constraints": {"type": limit_type}}}}},
        "values": {"newCheckout": {"enabled": true, "limit": limit}}
    })
}

#[tokio::test(flavor = "current_thread")]
async fn a_misfit_is_served_last_known_good_and_logged_once_by_name() {
    let (logs, _guard) = Logs::capture();
    let file = FlagsFile::new(&deployed("number", json!(3)));
    let agent = start_agent(&file).await;
    let source = source(
        agent.addr().port(),
        Duration::from_secs(3600),
        Duration::from_secs(1),
    );
    source.refresh().await.unwrap();
    flag_runtime::install_default(source.clone()).unwrap();
    let limit = || async { flags::NEW_CHECKOUT.get().await.map(|f| f.limit) };
    assert_eq!(limit().await, Some(Some(3.0)));

    for secret in ["SECRET-VALUE-42", "SECRET-VALUE-43"] {
        file.write(&deployed("string", json!(secret)));
        source.refresh().await.unwrap();
        assert!(source
            .snapshot_now()
            .unwrap()
            .flag("newCheckout")
            .unwrap()
            .attribute::<String>("limit")
            .is_some());
        assert_eq!(limit().await, Some(Some(3.0)), "last-known-good");
        assert_eq!(
            flags::NEW_CHECKOUT.get_now().map(|f| f.limit),
            Some(Some(3.0))
        );
    }
    let misfits = || logs.count("WARN", "does not fit its type");
    assert_eq!(misfits(), 1, "one line per streak:\n{}", logs.text());
    let text = logs.text();
    assert!(
        text.contains("newCheckout") && text.contains("`limit`"),
        "{text}"
    );
    assert!(
        text.contains("attribute `limit` is a string, which does not fit a `f64`"),
        "the misfit's source, as its detail: {text}"
    );
    assert!(
        !text.contains("SECRET-VALUE"),
        "a value reached the log:\n{text}"
    );

    // Fits again: served, and the next misfit is a new streak.
    file.write(&deployed("number", json!(4)));
    source.refresh().await.unwrap();
    assert_eq!(limit().await, Some(Some(4.0)));
    file.write(&deployed("string", json!("SECRET-VALUE-44")));
    source.refresh().await.unwrap();
    assert_eq!(limit().await, Some(Some(4.0)));
    assert_eq!(misfits(), 2, "{}", logs.text());
    assert!(!logs.text().contains("SECRET-VALUE"));
}
