//! flag-runtime against the local agent over real HTTP: loading, freshness, single-flight,
//! the failure policy and its logging.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use flag_agent::Fault;
use flag_runtime::{AttributeError, FetchError, Refreshed};

const LONG: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_millis(500);

#[tokio::test]
async fn cold_load_on_first_check() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), LONG, TIMEOUT);

    assert!(!flags.status().has_snapshot);
    assert!(flags.is_enabled("newCheckout").await);
    assert!(!flags.is_enabled("banner").await);
    let flag = flags.flag("newCheckout").await.unwrap();
    assert_eq!(flag.attribute::<u32>("limit"), Some(5));
    assert_eq!(
        flags.attribute::<u32>("newCheckout", "limit").await,
        Some(5)
    );
    assert_eq!(
        flags.attribute::<String>("newCheckout", "limit").await,
        None,
        "wrong type is None"
    );
    assert!(matches!(
        flag.try_attribute::<String>("limit"),
        Err(AttributeError { .. })
    ));

    let status = flags.status();
    assert_eq!(status.version.as_deref(), Some("1"));
    assert!(matches!(
        status.last_refresh,
        Some(Ok(Refreshed::Updated { .. }))
    ));
    assert_eq!(status.failure_streak, 0);
    assert_eq!(agent.requests(), 1, "one request loads everything");

    for _ in 0..1000 {
        assert!(flags.is_enabled("newCheckout").await);
        assert!(flags.is_enabled_now("newCheckout"));
    }
    assert_eq!(agent.requests(), 1, "fresh checks never ask the agent");
}

#[tokio::test]
async fn flip_is_seen_after_the_ttl_and_not_before() {
    let ttl = Duration::from_millis(800);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), ttl, TIMEOUT);

    assert!(flags.is_enabled("newCheckout").await);
    let loaded = Instant::now();
    file.write(&doc(false, 5));
    let seen_early = flags.is_enabled("newCheckout").await;
    if loaded.elapsed() < ttl {
        assert!(
            seen_early,
            "the flip must not be seen before the TTL expires"
        );
        assert_eq!(agent.requests(), 1);
    }
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(
        !flags.is_enabled("newCheckout").await,
        "the flip is seen once the TTL expired"
    );
    assert_eq!(agent.requests(), 2);
    assert_eq!(flags.status().version.as_deref(), Some("2"));
}

#[tokio::test]
async fn unchanged_answer_keeps_the_snapshot() {
    let ttl = Duration::from_millis(100);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), ttl, TIMEOUT);

    let first = flags.snapshot().await.unwrap();
    tokio::time::sleep(ttl * 2).await;
    let second = flags.snapshot().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "same version and body: no re-parse, same snapshot"
    );
    assert!(matches!(
        flags.status().last_refresh,
        Some(Ok(Refreshed::Unchanged { .. }))
    ));
    assert_eq!(agent.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_under_concurrent_readers() {
    let ttl = Duration::from_millis(300);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    // Slow answers widen the window in which readers pile up.
    agent.set_fault(Fault::Delay(Duration::from_millis(150)));
    let flags = source(agent.addr().port(), ttl, Duration::from_secs(2));

    // Cold: 64 concurrent first checks share one request and all see the loaded flag.
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let flags = flags.clone();
            tokio::spawn(async move { flags.is_enabled("newCheckout").await })
        })
        .collect();
    for t in tasks {
        assert!(
            t.await.unwrap(),
            "cold readers wait for the single first load"
        );
    }
    assert_eq!(agent.requests(), 1);

    // Stale: readers keep getting last-known-good while one refresh runs.
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    file.write(&doc(false, 5));
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let flags = flags.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let on = flags.is_enabled("newCheckout").await;
                (on, t.elapsed())
            })
        })
        .collect();
    let mut fast_stale = 0;
    for t in tasks {
        let (on, took) = t.await.unwrap();
        if on && took < Duration::from_millis(100) {
            fast_stale += 1;
        }
    }
    assert!(
        fast_stale > 0,
        "other readers are served last-known-good without waiting"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        agent.requests(),
        2,
        "one refresh for the whole stale window"
    );
    assert!(
        !flags.is_enabled("newCheckout").await,
        "the refresh published the flip"
    );
}

#[tokio::test]
async fn at_most_one_request_per_ttl_window() {
    let ttl = Duration::from_millis(100);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), ttl, TIMEOUT);

    let started = Instant::now();
    let mut checks = 0u64;
    while started.elapsed() < Duration::from_millis(550) {
        assert!(flags.is_enabled("newCheckout").await);
        checks += 1;
        tokio::task::yield_now().await;
    }
    let windows = started.elapsed().as_millis() as u64 / 100 + 1;
    assert!(checks > 1000);
    assert!(
        agent.requests() <= windows,
        "{} requests for {checks} checks over {windows} windows",
        agent.requests()
    );
}

#[tokio::test]
async fn agent_absent_from_the_start_then_back() {
    let port = dead_port();
    let ttl = Duration::from_millis(200);
    let flags = source(port, ttl, TIMEOUT);
    let (logs, _guard) = Logs::capture();

    for _ in 0..100 {
        assert!(!flags.is_enabled("newCheckout").await, "nothing known: off");
        assert!(!flags.is_enabled_now("newCheckout"));
    }
    let status = flags.status();
    assert!(!status.has_snapshot);
    assert_eq!(
        status.failure_streak, 1,
        "one attempt per TTL window, not one per check"
    );
    assert!(
        matches!(status.last_error, Some(FetchError::Connect(_))),
        "{status:?}"
    );
    assert!(matches!(flags.refresh().await, Err(FetchError::Connect(_))));

    // The agent comes up on that port.
    let file = FlagsFile::new(&doc(true, 5));
    let agent = flag_agent::Agent::new(file.path(), APP, ENV, PROFILE)
        .start(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert!(flags.is_enabled("newCheckout").await, "recovered");
    assert_eq!(flags.status().failure_streak, 0);
    assert_eq!(
        logs.count("WARN", "refresh failed"),
        1,
        "one warning for the streak:\n{}",
        logs.text()
    );
    assert_eq!(logs.count("INFO", "recovered"), 1, "{}", logs.text());
    drop(agent);
}

#[tokio::test]
async fn agent_stopped_mid_run_serves_last_known_good() {
    let ttl = Duration::from_millis(100);
    let file = FlagsFile::new(&doc(true, 7));
    let agent = start_agent(&file).await;
    let port = agent.addr().port();
    let flags = source(port, ttl, TIMEOUT);
    let (logs, _guard) = Logs::capture();

    assert!(flags.is_enabled("newCheckout").await);
    agent.stop().await;
    for _ in 0..5 {
        tokio::time::sleep(ttl).await;
        assert!(flags.is_enabled("newCheckout").await, "last-known-good");
        assert_eq!(
            flags.attribute::<u32>("newCheckout", "limit").await,
            Some(7)
        );
    }
    assert!(flags.status().failure_streak >= 2);
    assert_eq!(logs.count("WARN", "refresh failed"), 1, "{}", logs.text());
    assert!(logs.text().contains("last-known-good"));

    file.write(&doc(false, 7));
    let agent = flag_agent::Agent::new(file.path(), APP, ENV, PROFILE)
        .start(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert!(
        !flags.is_enabled("newCheckout").await,
        "new values after recovery"
    );
    assert_eq!(logs.count("INFO", "recovered"), 1);
    drop(agent);
}

#[tokio::test]
async fn rollback_to_an_older_version_is_applied_at_once() {
    let ttl = Duration::from_millis(60);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), ttl, TIMEOUT);
    assert!(flags.is_enabled("newCheckout").await);
    file.write(&doc(true, 6));
    tokio::time::sleep(ttl + Duration::from_millis(10)).await;
    assert_eq!(
        flags.attribute::<u32>("newCheckout", "limit").await,
        Some(6)
    );
    assert_eq!(flags.status().version.as_deref(), Some("2"));

    agent.set_fault(Fault::Answer {
        body: r#"{"newCheckout": {"enabled": false}}"#.into(),
        version: Some("1".into()),
    });
    tokio::time::sleep(ttl + Duration::from_millis(10)).await;
    assert!(
        !flags.is_enabled("newCheckout").await,
        "an older version is a rollback, applied"
    );
    assert_eq!(flags.status().version.as_deref(), Some("1"));
}

#[tokio::test]
async fn missing_flag_is_off_and_logged_once() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), LONG, TIMEOUT);
    let (logs, _guard) = Logs::capture();
    for _ in 0..10 {
        assert!(!flags.is_enabled("notThere").await);
        assert!(!flags.is_enabled_now("notThere"));
        assert!(flags.flag("notThere").await.is_none());
    }
    assert!(flags.is_enabled("newCheckout").await);
    assert_eq!(logs.count("WARN", "notThere"), 1, "{}", logs.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_check_refreshes_in_the_background() {
    let ttl = Duration::from_millis(100);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    // Held (within TIMEOUT): the first check cannot race the load it starts.
    agent.set_fault(flag_agent::Fault::Delay(Duration::from_millis(250)));
    let flags = source(agent.addr().port(), ttl, TIMEOUT);

    assert!(
        !flags.is_enabled_now("newCheckout"),
        "nothing loaded yet: off, no waiting"
    );
    agent.clear_fault();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !flags.is_enabled_now("newCheckout") {
        assert!(Instant::now() < deadline, "background load never landed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    file.write(&doc(false, 5));
    tokio::time::sleep(ttl).await;
    while flags.is_enabled_now("newCheckout") {
        assert!(Instant::now() < deadline, "background refresh never landed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(agent.requests() <= 3);
}

/// Sync code with no runtime at all: the check never blocks, and the background refresher
/// loads the flags anyway (it used to need the caller's runtime, so nothing was ever loaded).
#[test]
fn sync_check_without_a_runtime_gets_fresh_flags() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let file = FlagsFile::new(&doc(true, 5));
    let agent = rt.block_on(start_agent(&file));
    let ttl = Duration::from_millis(100);
    // The agent holds its first answer (within TIMEOUT), so the first check cannot race the
    // load it starts.
    let hold = Duration::from_millis(250);
    agent.set_fault(flag_agent::Fault::Delay(hold));
    let flags = source(agent.addr().port(), ttl, TIMEOUT);

    let t = Instant::now();
    assert!(!flags.is_enabled_now("newCheckout"), "nothing loaded yet");
    assert!(t.elapsed() < hold, "never waits ({:?})", t.elapsed());
    agent.clear_fault();
    wait_until(|| flags.is_enabled_now("newCheckout"), "first load");
    file.write(&doc(false, 5));
    std::thread::sleep(ttl);
    wait_until(
        || !flags.is_enabled_now("newCheckout"),
        "refresh after the TTL",
    );
    assert_eq!(
        flags.attribute_now::<u32>("newCheckout", "limit"),
        None,
        "off: no attributes"
    );
    assert!(matches!(
        flags.status().last_refresh,
        Some(Ok(Refreshed::Updated { .. }))
    ));
}

/// The host runtime shut down in the middle of a refresh (as a freeze-and-discard would): the
/// refresh runs on the crate's own thread, so it completes, and nothing hangs.
#[test]
fn a_host_runtime_shut_down_mid_refresh_does_not_cut_it() {
    let main = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let file = FlagsFile::new(&doc(true, 5));
    let agent = main.block_on(start_agent(&file));
    agent.set_fault(Fault::Delay(Duration::from_millis(200)));
    let flags = source(agent.addr().port(), LONG, Duration::from_secs(5));

    let doomed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    doomed.block_on(async {
        assert!(!flags.is_enabled_now("newCheckout"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    drop(doomed);

    wait_until(|| flags.is_enabled_now("newCheckout"), "the refresh");
    assert_eq!(agent.requests(), 1, "completed, not retried");
    drop(agent);
}

/// A caller that gives up on a check (its future dropped mid-refresh) does not make every
/// following check ask the agent again, and does not cut the refresh short.
#[tokio::test]
async fn an_abandoned_check_does_not_hammer_the_agent() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    agent.set_fault(Fault::Delay(Duration::from_millis(300)));
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(5),
    );
    for _ in 0..20 {
        let _ =
            tokio::time::timeout(Duration::from_millis(10), flags.is_enabled("newCheckout")).await;
    }
    assert_eq!(
        agent.requests(),
        1,
        "one refresh in flight, not one per check"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        flags.is_enabled_now("newCheckout"),
        "the abandoned refresh landed"
    );
    assert_eq!(agent.requests(), 1);
    assert_eq!(flags.status().failure_streak, 0);
}

/// `refresh()` reports its own request, never the outcome of one it waited for: a slow refresh
/// in flight loads the flags; the explicit refresh, called meanwhile, waits for it, then asks
/// itself and reports *its* answer: unchanged. (It used to report the in-flight "updated".)
#[tokio::test]
async fn refresh_reports_its_own_request() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), LONG, TIMEOUT);
    agent.set_fault(Fault::Delay(Duration::from_millis(200)));
    assert!(
        !flags.is_enabled_now("newCheckout"),
        "starts a slow refresh"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    file.write(&doc(false, 5));
    agent.clear_fault();
    match flags.refresh().await {
        Ok(Refreshed::Unchanged { version }) => assert_eq!(version.as_deref(), Some("2")),
        other => panic!("expected this call's own answer (unchanged), got {other:?}"),
    }
    assert_eq!(agent.requests(), 2, "the in-flight request, then its own");
    assert!(!flags.is_enabled_now("newCheckout"));
}

/// A flag that must be on when nothing is known: the caller's default while nothing is loaded
/// or the flag is missing, AppConfig's value once known.
#[tokio::test]
async fn a_kill_switch_defaults_on_when_nothing_is_known() {
    let flags = source(dead_port(), LONG, TIMEOUT);
    let on_unless_off = |flag: Option<flag_runtime::Flag>| flag.is_none_or(|f| f.is_enabled());
    assert!(on_unless_off(flags.flag("payments").await));
    assert!(on_unless_off(flags.flag_now("payments")));
    assert!(!flags.is_enabled("payments").await);

    let file = FlagsFile::new(&doc(false, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), LONG, TIMEOUT);
    assert!(
        !on_unless_off(flags.flag("newCheckout").await),
        "known: AppConfig's value"
    );
    assert!(
        on_unless_off(flags.flag("notThere").await),
        "missing from the answer: the default"
    );
}

/// Futures are lazy: nothing is read until they are polled, so an override scope around an
/// already-created check applies.
#[tokio::test]
async fn check_futures_do_nothing_until_polled() {
    let flags = source(dead_port(), LONG, TIMEOUT);
    let check = flags.is_enabled("newCheckout");
    assert!(
        flags.status().last_refresh.is_none(),
        "nothing started on creation"
    );
    assert!(
        flag_runtime::Overrides::new()
            .enable("newCheckout")
            .scope(check)
            .await
    );
    let snapshot = flag_runtime::Overrides::new()
        .enable("newCheckout")
        .attribute("newCheckout", "limit", 3)
        .scope(flags.snapshot())
        .await
        .expect("overrides apply to snapshots");
    assert!(snapshot.is_enabled("newCheckout"));
    assert_eq!(
        snapshot
            .flag("newCheckout")
            .unwrap()
            .attribute::<u32>("limit"),
        Some(3)
    );
}

#[tokio::test]
async fn explicit_refresh_reports_typed_errors() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), LONG, TIMEOUT);
    assert!(matches!(
        flags.refresh().await,
        Ok(Refreshed::Updated { .. })
    ));
    assert!(matches!(
        flags.refresh().await,
        Ok(Refreshed::Unchanged { .. })
    ));
    agent.set_fault(Fault::Status(502));
    assert!(matches!(
        flags.refresh().await,
        Err(FetchError::Status { status: 502, .. })
    ));
    assert!(
        flags.is_enabled("newCheckout").await,
        "a failed refresh keeps last-known-good"
    );

    let wrong = flag_runtime::FlagSource::new(
        flag_runtime::Config::builder()
            .application("nope")
            .environment(ENV)
            .configuration(PROFILE)
            .port(agent.addr().port())
            .build()
            .unwrap(),
    )
    .unwrap();
    agent.clear_fault();
    match wrong.refresh().await {
        Err(FetchError::Status {
            status: 404,
            reason,
        }) => assert_eq!(reason.as_deref(), Some("ResourceNotFound")),
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn snapshot_is_one_consistent_version() {
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), LONG, TIMEOUT);
    let snapshot = flags.snapshot().await.unwrap();
    assert_eq!(snapshot.version(), Some("1"));
    assert_eq!(snapshot.len(), 2);
    let mut names: Vec<_> = snapshot
        .flags()
        .map(|(n, f)| (n.to_owned(), f.is_enabled()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("banner".to_owned(), false),
            ("newCheckout".to_owned(), true)
        ]
    );
}

#[test]
fn checks_are_send_futures() {
    fn is_send<T: Send>(_: &T) {}
    let flags = source(dead_port(), LONG, TIMEOUT);
    is_send(&flags.is_enabled("x"));
    is_send(&flags.flag("x"));
    is_send(&flags.refresh());
    static SITE: flag_runtime::__private::Site = flag_runtime::__private::Site::new("x");
    is_send(&flag_runtime::__private::check(&SITE));
}

#[test]
fn check_futures_are_small() {
    let flags = source(dead_port(), LONG, TIMEOUT);
    let f = flags.is_enabled("x");
    println!("is_enabled future: {} bytes", std::mem::size_of_val(&f));
    static SITE: flag_runtime::__private::Site = flag_runtime::__private::Site::new("x");
    let g = flag_runtime::__private::check(&SITE);
    println!("site check future: {} bytes", std::mem::size_of_val(&g));
    assert!(
        std::mem::size_of_val(&f) <= 128,
        "the refresh future must not be inlined in every check"
    );
}
