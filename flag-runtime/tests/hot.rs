//! The clock-free sync check of a call site (`#[feature_flag]` sync fns, typed flags): it serves
//! its cached answer only while the refresher's timer says the default source is within its
//! TTL, and never over an override, an explicit refresh or a change published after the TTL.

mod common;

use std::time::Duration;

use common::*;
use flag_runtime::Overrides;

#[flag_macros::feature_flag("newCheckout", fallback = old_path, schema = "tests/flags.json")]
fn new_path() -> &'static str {
    "new"
}

fn old_path() -> &'static str {
    "old"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_sync_answer_follows_overrides_refreshes_and_the_ttl() {
    let file = FlagsFile::new(&doc(true, 1));
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(400);
    let source = source(agent.addr().port(), ttl, Duration::from_secs(1));
    // Loaded first, installed after: the default's clock-free mark is taken over at install.
    source.refresh().await.unwrap();
    flag_runtime::install_default(source.clone()).unwrap();
    assert_eq!(new_path(), "new");
    assert_eq!(new_path(), "new", "the cached answer");

    // An override wins over the cached answer, on this thread only, while it lasts.
    {
        let _off = Overrides::new().disable("newCheckout").apply();
        assert_eq!(new_path(), "old");
        let other = std::thread::spawn(new_path).join().unwrap();
        assert_eq!(other, "new", "another thread does not see it");
    }
    assert_eq!(new_path(), "new");

    // An explicit refresh publishing a change is seen at once.
    file.write(&doc(false, 1));
    source.refresh().await.unwrap();
    assert_eq!(
        new_path(),
        "old",
        "the new snapshot, right after the refresh"
    );

    // A change in AppConfig is seen once the TTL has run out: the timer clears the mark, the
    // next sync check reads the clock and starts the refresh.
    file.write(&doc(true, 1));
    wait_until(|| new_path() == "new", "the change after the TTL");
    let requests = agent.requests();
    std::thread::sleep(ttl / 4);
    for _ in 0..10_000 {
        assert_eq!(new_path(), "new");
    }
    assert!(
        agent.requests() <= requests + 1,
        "warm checks do not ask the agent: {} requests after {requests}",
        agent.requests()
    );
}
