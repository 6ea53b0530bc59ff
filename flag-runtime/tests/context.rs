//! Checks for an evaluation context: the headers sent, one request per new context and none for
//! a cached one, the bounded cache, and the failure policy per context.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use flag_runtime::{Context, FetchError, FlagSource, Refreshed};

/// The `Context` and `Entity-Id` header lines of a request head, in order.
fn targeting_headers(head: &str) -> Vec<String> {
    head.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("context:") || l.starts_with("entity-id:")
        })
        .map(str::to_owned)
        .collect()
}

/// An agent whose answer says which `tier` the request carried: `discount` is on for gold.
fn tier_agent(seen: Arc<Mutex<Vec<Vec<String>>>>) -> RawAgent {
    RawAgent::start_with_head(move |_, head| {
        let headers = targeting_headers(head);
        let gold = headers.iter().any(|h| {
            h.to_ascii_lowercase()
                .strip_prefix("context:")
                .is_some_and(|pairs| pairs.trim().split(',').any(|p| p == "tier=gold"))
        });
        seen.lock().unwrap().push(headers);
        let body = format!(
            r#"{{"discount": {{"enabled": {gold}, "_variant": "{}", "percentage": 10}}}}"#,
            if gold { "gold" } else { "default" }
        );
        http_ok(body.as_bytes(), "1")
    })
}

fn source_with(port: u16, ttl: Duration, max_contexts: usize) -> FlagSource {
    FlagSource::new(
        config(port)
            .ttl(ttl)
            .timeout(Duration::from_secs(2))
            .max_contexts(max_contexts)
            .build()
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_context_is_sent_in_one_header_with_the_entity_id() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let agent = tier_agent(Arc::clone(&seen));
    let flags = source_with(agent.port(), Duration::from_secs(60), 16);
    let gold = Context::new()
        .with("tier", "gold")
        .with("customerId", 4217)
        .with("name", "Zoë")
        .with_entity_id("customer-4217");
    let targeted = flags.with_context(&gold);
    assert!(targeted.is_enabled("discount").await);
    let flag = targeted.flag("discount").await.unwrap();
    assert_eq!(flag.variant(), Some("gold"));
    assert_eq!(
        targeted.attribute::<u32>("discount", "percentage").await,
        Some(10)
    );
    let headers: Vec<String> = seen.lock().unwrap()[0]
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    assert_eq!(
        headers,
        [
            "context: tier=gold,customerid=4217,name=zoë",
            "entity-id: customer-4217"
        ]
    );

    let silver = Context::new().with("tier", "silver");
    assert!(!flags.with_context(&silver).is_enabled("discount").await);
    assert_eq!(
        flags
            .with_context(&silver)
            .flag("discount")
            .await
            .unwrap()
            .variant(),
        Some("default")
    );
    assert_eq!(agent.requests(), 2, "one request per context");
    assert_eq!(flags.cached_contexts(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_per_new_context_and_none_for_a_cached_one() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let agent = tier_agent(Arc::clone(&seen));
    let flags = source_with(agent.port(), Duration::from_secs(60), 16);
    let context = Context::new().with("tier", "gold");

    // Many concurrent first checks of one new context: one request.
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let flags = flags.clone();
        let context = context.clone();
        tasks.push(tokio::spawn(async move {
            flags.with_context(&context).is_enabled("discount").await
        }));
    }
    for task in tasks {
        assert!(
            task.await.unwrap(),
            "every waiter gets the context's answer"
        );
    }
    assert_eq!(agent.requests(), 1);

    // The same pairs in another order are the same context; a cached one asks nothing.
    let reordered = Context::new().with("tier", "gold");
    for _ in 0..1000 {
        assert!(flags.with_context(&reordered).is_enabled("discount").await);
        assert!(flags.with_context(&context).is_enabled_now("discount"));
    }
    assert_eq!(agent.requests(), 1);
    // The context-free answer is a target of its own.
    assert!(!flags.is_enabled("discount").await);
    assert_eq!(agent.requests(), 2);
    // An empty context sends nothing: it is the context-free answer, no request of its own.
    assert!(
        !flags
            .with_context(&Context::new())
            .is_enabled("discount")
            .await
    );
    assert!(flags.with_context(&Context::new()).refresh().await.is_ok());
    assert_eq!(agent.requests(), 3, "the refresh only");
    assert_eq!(flags.cached_contexts(), 1);
}

#[tokio::test]
async fn the_cache_is_bounded_least_recently_used_out() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let agent = tier_agent(Arc::clone(&seen));
    let flags = source_with(agent.port(), Duration::from_secs(60), 2);
    let a = Context::new().with("tier", "gold");
    let b = Context::new().with("tier", "silver");
    let c = Context::new().with("tier", "bronze");
    for context in [&a, &b, &a, &c] {
        let _ = flags.with_context(context).is_enabled("discount").await;
    }
    assert_eq!(agent.requests(), 3, "a, b, c");
    assert_eq!(flags.cached_contexts(), 2);
    let _ = flags.with_context(&a).is_enabled("discount").await;
    assert_eq!(agent.requests(), 3, "a was used last before c: kept");
    let _ = flags.with_context(&b).is_enabled("discount").await;
    assert_eq!(
        agent.requests(),
        4,
        "b was least recently used: out, asked again"
    );
}

#[tokio::test]
async fn each_context_refreshes_with_the_ttl() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let agent = tier_agent(Arc::clone(&seen));
    let ttl = Duration::from_millis(100);
    let flags = source_with(agent.port(), ttl, 16);
    let gold = Context::new().with("tier", "gold");
    assert!(flags.with_context(&gold).is_enabled("discount").await);
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert!(flags.with_context(&gold).is_enabled("discount").await);
    assert_eq!(agent.requests(), 2);
    assert!(matches!(
        flags.with_context(&gold).refresh().await,
        Ok(Refreshed::Unchanged { .. })
    ));
}

/// The failure policy per context: last-known-good for that context, else the context-free
/// answer, else off.
#[tokio::test]
async fn faults_with_a_context() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let port = agent.addr().port();
    let ttl = Duration::from_millis(50);
    let flags = source(port, ttl, Duration::from_millis(300));
    let known = Context::new().with("tier", "gold");
    let fresh = Context::new().with("tier", "silver");

    assert!(flags.with_context(&known).is_enabled("newCheckout").await);
    assert!(
        flags.is_enabled("newCheckout").await,
        "context-free answer loaded"
    );
    agent.stop().await;
    tokio::time::sleep(ttl * 2).await;
    assert!(
        flags.with_context(&known).is_enabled("newCheckout").await,
        "last-known-good for that context"
    );
    assert!(
        flags.with_context(&fresh).is_enabled("newCheckout").await,
        "a new context with the agent down: the context-free answer"
    );
    assert!(matches!(
        flags.with_context(&fresh).refresh().await,
        Err(FetchError::Connect(_))
    ));
    let nothing = source(dead_port(), ttl, Duration::from_millis(300));
    assert!(
        !nothing.with_context(&fresh).is_enabled("newCheckout").await,
        "else off"
    );
    assert!(nothing
        .with_context(&fresh)
        .flag("newCheckout")
        .await
        .is_none_or(|f| f.is_enabled()));
}

/// A context that cannot be sent is checked context-free in every respect: its async checks
/// wait for the first load and for a due refresh, as context-free checks do. (They used to
/// answer at once from whatever was held: off on a cold start, the old answer after the TTL.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsendable_context_waits_like_a_context_free_check() {
    // First answer: on; every later one: off.
    let agent = RawAgent::start(|n| {
        let body = format!(r#"{{"discount": {{"enabled": {}}}}}"#, n == 0);
        http_ok(body.as_bytes(), &(n + 1).to_string())
    });
    let ttl = Duration::from_millis(150);
    let flags = source_with(agent.port(), ttl, 16);
    let (_logs, _guard) = Logs::capture();
    let bad = Context::new().with("tier", "gold,platinum");
    assert!(
        flags.with_context(&bad).is_enabled("discount").await,
        "a cold start waits for the first load"
    );
    assert!(matches!(
        flags.with_context(&bad).served_now(),
        flag_runtime::Served::ContextFree { stale: false, .. }
    ));
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert!(
        !flags.with_context(&bad).is_enabled("discount").await,
        "after the TTL: waits for the due refresh"
    );
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    match flags.with_context(&bad).served().await {
        flag_runtime::Served::ContextFree { snapshot, .. } => {
            assert_eq!(snapshot.version(), Some("3"), "served() refreshes it too");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(agent.requests(), 3);
}

#[tokio::test]
async fn an_unsendable_context_gets_the_context_free_answer_and_is_logged_once() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let agent = tier_agent(Arc::clone(&seen));
    let flags = source_with(agent.port(), Duration::from_secs(60), 16);
    let (logs, _guard) = Logs::capture();
    let bad = Context::new().with("tier", "gold,platinum");
    for _ in 0..5 {
        assert!(!flags.with_context(&bad).is_enabled("discount").await);
    }
    assert!(matches!(
        flags.with_context(&bad).refresh().await,
        Err(FetchError::InvalidContext(_))
    ));
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|headers| headers.is_empty()),
        "never sent"
    );
    assert_eq!(
        logs.count("WARN", "evaluation context cannot be sent"),
        1,
        "{}",
        logs.text()
    );
    assert!(!logs.text().contains("platinum"), "{}", logs.text());
}

#[tokio::test]
async fn overrides_win_over_a_context() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let agent = tier_agent(Arc::clone(&seen));
    let flags = source_with(agent.port(), Duration::from_secs(60), 16);
    let silver = Context::new().with("tier", "silver");
    let _forced = flag_runtime::Overrides::new().enable("discount").apply();
    assert!(flags.with_context(&silver).is_enabled("discount").await);
    assert!(flags.with_context(&silver).is_enabled_now("discount"));
    let snapshot = flags.with_context(&silver).snapshot().await.unwrap();
    assert!(snapshot.is_enabled("discount"));
}

/// Context refreshes have their own fault streak: a context that keeps failing while the
/// context-free answer is healthy logs one warning, and `status()` reports the context-free
/// answer only. (Both used to share one streak: warn, "recovered", warn, ... every TTL.) The
/// context-free fallback is kept fresh by context checks too.
#[tokio::test]
async fn context_faults_are_logged_apart_and_the_fallback_stays_fresh() {
    // The context-free answer is held until the first check has answered: it cannot race the
    // load that check starts.
    let hold = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let held = Arc::clone(&hold);
    let agent = RawAgent::start_with_head(move |_, head| {
        if targeting_headers(head).is_empty() {
            while held.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            http_ok(br#"{"discount": {"enabled": true}}"#, "1")
        } else {
            http_status("500 Internal Server Error", r#"{"ReasonCode": "Broken"}"#)
        }
    });
    let ttl = Duration::from_millis(40);
    let flags = source_with(agent.port(), ttl, 16);
    let (logs, _guard) = Logs::capture();
    let gold = Context::new().with("tier", "gold");
    // Only context checks: the context-free fallback is loaded through them.
    assert!(
        !flags.with_context(&gold).is_enabled_now("discount"),
        "nothing yet"
    );
    hold.store(false, std::sync::atomic::Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !flags.with_context(&gold).is_enabled_now("discount") {
        assert!(
            std::time::Instant::now() < deadline,
            "the fallback was never loaded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..6 {
        tokio::time::sleep(ttl + Duration::from_millis(10)).await;
        assert!(flags.with_context(&gold).is_enabled("discount").await);
        assert!(flags.is_enabled("discount").await);
    }
    let status = flags.status();
    assert_eq!(status.failure_streak, 0, "{status:?}");
    assert!(status.last_error.is_none(), "{status:?}");
    assert_eq!(
        logs.count("WARN", "refresh for an evaluation context failed"),
        1,
        "{}",
        logs.text()
    );
    assert_eq!(logs.count("INFO", "recovered"), 0, "{}", logs.text());
}

/// A test with paused tokio time (`start_paused`): the refresh deadline comes from the real
/// clock, not the caller's frozen one, so a refresh is not timed out before it starts.
#[tokio::test(start_paused = true)]
async fn refreshes_work_under_paused_time() {
    let agent = RawAgent::start(|_| http_ok(br#"{"discount": {"enabled": true}}"#, "1"));
    let flags = source_with(agent.port(), Duration::from_secs(60), 16);
    // Real time moves on; the caller's clock does not.
    std::thread::sleep(Duration::from_millis(2500));
    flags
        .refresh()
        .await
        .expect("not timed out by the paused clock");
    assert!(flags.is_enabled("discount").await);
}
