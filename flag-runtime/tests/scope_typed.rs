//! Typed flags and gates of the default source in invocation scopes: scopes of different
//! contexts interleaved on one thread keep their own answers through the call-site memos, and
//! a context's value that does not fit its type is served the context-free value that fitted,
//! never another context's.

mod common;

use std::time::Duration;

use common::*;
use flag_runtime::Context;
use serde_json::json;

flag_macros::flags!(mod flags, schema = "tests/flags.json");

#[flag_macros::feature_flag("discountBanner", fallback = plain, schema = "tests/flags.json")]
fn banner_sync() -> bool {
    true
}

#[flag_macros::feature_flag("discountBanner", fallback = plain_async, schema = "tests/flags.json")]
async fn banner_async() -> bool {
    true
}

fn plain() -> bool {
    false
}

async fn plain_async() -> bool {
    false
}

fn tier(tier: &str) -> Context {
    Context::new().with("tier", tier)
}

/// `discountBanner` on for tier gold only; `newCheckout`'s `limit` by tier: 7 for silver, a
/// string (a misfit: the compiled schema says number) for broken, else 3.
fn document() -> serde_json::Value {
    json!({
        "version": "1",
        "flags": {
            "discountBanner": {"name": "Discount banner"},
            "newCheckout": {"name": "New checkout", "attributes": {"limit": {}}}
        },
        "values": {
            "discountBanner": {"_variants": [
                {"name": "gold", "enabled": true, "rule": "(eq $tier \"gold\")"},
                {"name": "plain", "enabled": false}
            ]},
            "newCheckout": {"_variants": [
                {"name": "broken", "enabled": true, "rule": "(eq $tier \"broken\")",
                 "attributeValues": {"limit": "SECRET-VALUE"}},
                {"name": "silver", "enabled": true, "rule": "(eq $tier \"silver\")",
                 "attributeValues": {"limit": 7}},
                {"name": "default", "enabled": true, "attributeValues": {"limit": 3}}
            ]}
        }
    })
}

#[test]
fn typed_checks_in_scopes() {
    // One thread: two scopes polled in turn on it, as `run_concurrent` may.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let file = FlagsFile::new(&document());
    let agent = rt.block_on(start_agent(&file));
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    flag_runtime::install_default(flags.clone()).unwrap();
    rt.block_on(async {
        interleaved_scopes_keep_their_answers().await;
        a_misfit_serves_the_context_free_value().await;
    });
}

async fn interleaved_scopes_keep_their_answers() {
    let run = |context: Context| {
        flag_runtime::scope(context, async {
            let mut seen = Vec::new();
            for _ in 0..50 {
                seen.push(flags::DISCOUNT_BANNER.is_enabled_now());
                seen.push(flags::DISCOUNT_BANNER.is_enabled().await);
                seen.push(banner_sync());
                seen.push(banner_async().await);
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    let (gold, silver) = tokio::join!(run(tier("gold")), run(tier("silver")));
    assert!(gold.iter().all(|on| *on), "gold: {gold:?}");
    assert!(silver.iter().all(|on| !*on), "silver: {silver:?}");
}

async fn a_misfit_serves_the_context_free_value() {
    let limit = || async { flags::NEW_CHECKOUT.get().await.and_then(|f| f.limit) };
    let (logs, _guard) = Logs::capture();
    assert_eq!(
        flag_runtime::scope(Context::new(), limit()).await,
        Some(3.0)
    );
    assert_eq!(
        flag_runtime::scope(tier("silver"), limit()).await,
        Some(7.0)
    );
    assert_eq!(
        flag_runtime::scope(tier("broken"), limit()).await,
        Some(3.0),
        "the context-free value that fitted, not the silver one decoded last"
    );
    // An explicit context in a scope of another: its misfit falls back context-free too.
    let broken = tier("broken");
    let explicit = flag_runtime::scope(tier("silver"), async {
        flags::NEW_CHECKOUT
            .with_context(&broken)
            .get_now()
            .and_then(|f| f.limit)
    })
    .await;
    assert_eq!(explicit, Some(3.0), "not the scope's (silver) value");
    // Invocations alternating between a context that fits and one that does not: one streak.
    for _ in 0..3 {
        assert_eq!(
            flag_runtime::scope(tier("silver"), limit()).await,
            Some(7.0)
        );
        assert_eq!(
            flag_runtime::scope(tier("broken"), limit()).await,
            Some(3.0)
        );
    }
    let text = logs.text();
    assert_eq!(
        logs.count("WARN", "does not fit its type"),
        1,
        "logged once for the streak: {text}"
    );
    assert!(!text.contains("SECRET-VALUE"), "{text}");
}
