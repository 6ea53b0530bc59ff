//! The agent-request budget: 10,000 simulated invocations with 5 gate checks each, spread over
//! a few TTL windows, make at most one agent request per window (+1 for the first load).

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test]
async fn ten_thousand_invocations_cost_one_request_per_ttl_window() {
    let ttl = Duration::from_millis(100);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), ttl, Duration::from_secs(1));
    let names = ["newCheckout", "banner", "newCheckout", "missing", "banner"];

    let started = Instant::now();
    let mut on = 0u64;
    for invocation in 0..10_000u32 {
        for name in names {
            on += u64::from(flags.is_enabled(name).await);
        }
        if invocation.is_multiple_of(20) {
            // Spread the invocations over several windows, as traffic would.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let elapsed = started.elapsed();
    let windows = (elapsed.as_nanos() / ttl.as_nanos()) as u64 + 1;
    let requests = agent.requests();
    println!(
        "50,000 checks over {elapsed:?} ({windows} TTL windows of {ttl:?}): {requests} agent requests"
    );
    assert_eq!(on, 20_000, "2 of the 5 checks are on in every invocation");
    assert!(
        windows >= 3,
        "the run must span a few windows ({elapsed:?})"
    );
    assert!(
        requests >= 2,
        "the TTL expired at least once, so it refreshed"
    );
    assert!(
        requests <= windows + 1,
        "{requests} requests for {windows} windows"
    );
}
