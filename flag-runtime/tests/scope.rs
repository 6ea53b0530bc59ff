//! The invocation scope over real HTTP against the local agent: fresh at its start, one
//! configuration version and one context throughout, for every check form.

mod common;

use std::time::{Duration, Instant};

use common::*;
use flag_runtime::{Context, FlagSource, Overrides, Scope, Served};
use serde_json::json;

flag_macros::flags!(mod flags, schema = "tests/flags.json");

#[flag_macros::feature_flag("newCheckout", fallback = old_sync, schema = "tests/flags.json")]
fn new_sync() -> &'static str {
    "new"
}

fn old_sync() -> &'static str {
    "old"
}

#[flag_macros::feature_flag("newCheckout", fallback = old_async, schema = "tests/flags.json")]
async fn new_async() -> &'static str {
    "new"
}

async fn old_async() -> &'static str {
    "old"
}

/// The local agent serving [`tiers_doc`] (`discount` by `tier`, and `newCheckout` on), and a
/// source on it.
async fn serve_tiers(
    ttl: Duration,
    timeout: Duration,
) -> (FlagsFile, flag_agent::RunningAgent, FlagSource) {
    let file = FlagsFile::new(&tiers_doc(true));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), ttl, timeout);
    (file, agent, flags)
}

fn tier(tier: &str) -> Context {
    Context::new().with("tier", tier)
}

async fn variant(flags: &FlagSource) -> Option<String> {
    flags
        .flag("discount")
        .await
        .and_then(|f| f.variant().map(str::to_owned))
}

/// Every check form of the default source (typed sync/async, gates sync/async, the string API,
/// snapshots) reads the scope's pins: a flip at the agent after the TTL, with the handler
/// sleeping past it, changes nothing until the scope ends, and asks the agent nothing; the
/// next scope sees it. Outside any scope, checks keep refreshing on their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_sees_one_version_of_the_default_source_in_every_form() {
    let file = FlagsFile::new(&doc(true, 3));
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(200);
    let source = source(agent.addr().port(), ttl, Duration::from_secs(1));
    flag_runtime::install_default(source.clone()).unwrap();
    let every_form = || async {
        let default = flag_runtime::default_source();
        [
            flags::NEW_CHECKOUT.is_enabled_now(),
            flags::NEW_CHECKOUT.is_enabled().await,
            flags::NEW_CHECKOUT.get_now().is_some(),
            flags::NEW_CHECKOUT.get().await.is_some(),
            new_sync() == "new",
            new_async().await == "new",
            default.is_enabled_now("newCheckout"),
            default.is_enabled("newCheckout").await,
            default
                .flag_now("newCheckout")
                .is_some_and(|f| f.is_enabled()),
            default.snapshot().await.unwrap().is_enabled("newCheckout"),
            default.snapshot_now().unwrap().is_enabled("newCheckout"),
        ]
    };

    let seen = flag_runtime::scope(Context::new(), async {
        assert_eq!(every_form().await, [true; 11], "the scope's start: on");
        let requests = agent.requests();
        file.write(&doc(false, 3));
        tokio::time::sleep(ttl * 2).await;
        let after_the_ttl = every_form().await;
        assert_eq!(
            agent.requests(),
            requests,
            "no check inside a scope asks the agent"
        );
        after_the_ttl
    })
    .await;
    assert_eq!(seen, [true; 11], "the flip is not seen within the scope");

    let next = flag_runtime::scope(Context::new(), every_form()).await;
    assert_eq!(next, [false; 11], "the next scope sees the flip");

    // Outside a scope, an async check after the TTL waits for its refresh, as before.
    file.write(&doc(true, 3));
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert!(flags::NEW_CHECKOUT.is_enabled().await);

    // Overrides win inside a scope.
    let overridden = Overrides::new()
        .disable(&flags::NEW_CHECKOUT)
        .scope(flag_runtime::scope(Context::new(), every_form()))
        .await;
    assert_eq!(overridden, [false; 11], "overrides win over the pins");
}

/// After the sandbox idled past the TTL (nothing ran, so nothing noticed), the first check of the
/// next scope, a sync one, sees the change: the scope's entry refreshed what was due, one agent
/// request per answer (the context-free one and the scope's context's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_idle_past_the_ttl_the_first_sync_check_of_the_next_scope_is_fresh() {
    let ttl = Duration::from_millis(150);
    let (file, agent, flags) = serve_tiers(ttl, Duration::from_secs(2)).await;
    let first_sync = || async {
        flags
            .scope(tier("gold"), async { flags.is_enabled_now("newCheckout") })
            .await
    };
    assert!(first_sync().await);
    let loaded = agent.requests();
    assert_eq!(loaded, 2, "one request per answer");
    file.write(&tiers_doc(false));
    // Held at the agent, so that only a wait for the refresh can see the change.
    agent.set_fault(flag_agent::Fault::Delay(Duration::from_millis(200)));
    std::thread::sleep(ttl + Duration::from_millis(30));
    assert!(
        !first_sync().await,
        "the first sync check of the next scope is fresh"
    );
    assert_eq!(agent.requests(), loaded + 2, "one request per due answer");
}

/// A scope entered after the TTL joins a refresh already running (here started by a sync check
/// outside any scope): it pins the new answer, not the one the TTL expired on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_entered_after_the_ttl_joins_the_running_refresh() {
    let ttl = Duration::from_millis(200);
    let file = FlagsFile::new(&doc(true, 5));
    let agent = start_agent(&file).await;
    let flags = source(agent.addr().port(), ttl, Duration::from_secs(2));
    flags.refresh().await.unwrap();
    file.write(&doc(false, 5));
    agent.set_fault(flag_agent::Fault::Delay(Duration::from_millis(300)));
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;

    assert!(
        flags.is_enabled_now("newCheckout"),
        "the sync check serves the snapshot it has and starts the refresh"
    );
    let pinned = flags
        .scope(Context::new(), async {
            flags.is_enabled_now("newCheckout")
        })
        .await;
    assert!(!pinned, "the scope waited for that refresh");
    assert_eq!(agent.requests(), 2, "one refresh, joined");
}

/// Two concurrent scopes with different contexts read different variants, each its own for its
/// whole life, though they interleave on the same threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scopes_keep_their_own_contexts() {
    let (_file, _agent, flags) = serve_tiers(Duration::from_secs(60), Duration::from_secs(1)).await;
    let run = |context: Context| {
        let flags = flags.clone();
        tokio::spawn(async move {
            let scoped = flags.clone();
            flags
                .scope(context, async move {
                    let mut seen = Vec::new();
                    for _ in 0..20 {
                        seen.push(variant(&scoped).await);
                        seen.push(
                            scoped
                                .flag_now("discount")
                                .and_then(|f| f.variant().map(str::to_owned)),
                        );
                        tokio::task::yield_now().await;
                    }
                    seen
                })
                .await
        })
    };
    let (gold, silver) = (run(tier("gold")), run(tier("silver")));
    let (gold, silver) = (gold.await.unwrap(), silver.await.unwrap());
    assert!(
        gold.iter().all(|v| v.as_deref() == Some("gold")),
        "{gold:?}"
    );
    assert!(
        silver.iter().all(|v| v.as_deref() == Some("silver")),
        "{silver:?}"
    );
    assert_eq!(
        variant(&flags).await.as_deref(),
        Some("plain"),
        "outside a scope: the context-free answer"
    );
}

/// With the agent down, a scope's entry waits at most the timeout, then pins last-known-good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_entered_with_the_agent_down_serves_last_known_good_within_the_timeout() {
    let (ttl, timeout) = (Duration::from_millis(100), Duration::from_millis(300));
    let (_file, agent, flags) = serve_tiers(ttl, timeout).await;
    let gold = tier("gold");
    let first = flags.scope(gold.clone(), variant(&flags)).await;
    assert_eq!(first.as_deref(), Some("gold"));

    agent.set_fault(flag_agent::Fault::Hang);
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    let started = Instant::now();
    let (seen, served) = flags
        .scope(gold.clone(), async {
            (
                variant(&flags).await,
                flags.with_context(&gold).served().await,
            )
        })
        .await;
    let took = started.elapsed();
    assert_eq!(seen.as_deref(), Some("gold"), "last-known-good");
    assert!(
        matches!(served, Served::Context { stale: true, .. }),
        "{served:?}"
    );
    assert!(
        took < timeout + Duration::from_millis(250),
        "the entry waited {took:?}, more than the timeout"
    );
}

/// An explicit context in a scope is fetched at its first check and pinned for the rest of it;
/// a nested scope has its own context and keeps the outer scope's context-free pin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_contexts_pin_at_first_use_and_nested_scopes_keep_the_outer_pin() {
    let ttl = Duration::from_millis(100);
    let (file, _agent, flags) = serve_tiers(ttl, Duration::from_secs(1)).await;
    let gold = tier("gold");
    flags
        .scope(Context::new(), async {
            assert_eq!(
                variant(&flags).await.as_deref(),
                Some("plain"),
                "the scope's context is empty"
            );
            let explicit = flags.with_context(&gold);
            assert_eq!(
                explicit.flag("discount").await.unwrap().variant(),
                Some("gold"),
                "fetched at its first check"
            );
            file.write(&json!({
                "version": "1",
                "flags": {"discount": {"name": "Discount"}, "newCheckout": {"name": "New"}},
                "values": {"discount": {"_variants": [{"name": "plain", "enabled": false}]},
                           "newCheckout": {"enabled": false}}
            }));
            tokio::time::sleep(ttl * 2).await;
            assert!(
                explicit.is_enabled_now("discount"),
                "then pinned: the flip is not seen"
            );

            // A nested scope (one per record of a batch): its own context's answer, fetched
            // now (the flip shows in it: no `silver` variant any more), and the outer
            // context-free pin (the flip does not show).
            let silver = tier("silver");
            let nested = flags
                .scope(silver, async {
                    let empty = Context::new();
                    let base = flags.with_context(&empty);
                    (
                        variant(&flags).await,
                        flags.is_enabled_now("newCheckout"),
                        base.is_enabled_now("newCheckout"),
                        Scope::current().map(|s| s.context().get("tier").map(str::to_owned)),
                    )
                })
                .await;
            assert_eq!(
                nested,
                (
                    Some("plain".to_owned()),
                    false,
                    true,
                    Some(Some("silver".to_owned()))
                )
            );
            assert!(flags.is_enabled_now("newCheckout"), "the outer pin again");
        })
        .await;
}

/// A task spawned inside a scope is outside it, unless the scope is carried into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_task_is_outside_the_scope_unless_carried() {
    let (_file, _agent, flags) = serve_tiers(Duration::from_secs(60), Duration::from_secs(1)).await;
    let (plain, carried, blocking) = flags
        .scope(tier("gold"), async {
            let spawned = flags.clone();
            let plain = tokio::spawn(async move { variant(&spawned).await });
            let scope = Scope::current().expect("in a scope");
            let carried_source = flags.clone();
            let carried = tokio::spawn(
                scope
                    .clone()
                    .run(async move { variant(&carried_source).await }),
            );
            let blocking_source = flags.clone();
            let blocking = tokio::task::spawn_blocking(move || {
                scope.run_sync(|| {
                    blocking_source
                        .flag_now("discount")
                        .and_then(|f| f.variant().map(str::to_owned))
                })
            });
            (
                plain.await.unwrap(),
                carried.await.unwrap(),
                blocking.await.unwrap(),
            )
        })
        .await;
    assert_eq!(plain.as_deref(), Some("plain"), "not carried: context-free");
    assert_eq!(carried.as_deref(), Some("gold"));
    assert_eq!(blocking.as_deref(), Some("gold"));
    assert!(Scope::current().is_none());
}

/// A scope of one source does not touch the checks of another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_pins_its_own_source_only() {
    let file = FlagsFile::new(&tiers_doc(true));
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(100);
    let one = source(agent.addr().port(), ttl, Duration::from_secs(1));
    let other = source(agent.addr().port(), ttl, Duration::from_secs(1));
    one.scope(tier("gold"), async {
        assert_eq!(variant(&one).await.as_deref(), Some("gold"));
        assert_eq!(
            variant(&other).await.as_deref(),
            Some("plain"),
            "the other source: no context"
        );
        file.write(&tiers_doc(false));
        tokio::time::sleep(ttl * 2).await;
        assert!(one.is_enabled("newCheckout").await, "pinned");
        assert!(
            !other.is_enabled("newCheckout").await,
            "the other source refreshes as outside any scope"
        );
    })
    .await;
}

/// With nothing ever loaded (the agent hangs), a scope's entry waits at most the timeout and
/// pins nothing: every check inside is off, or its caller default, and none waits again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_with_nothing_loaded_answers_off_without_waiting_again() {
    let timeout = Duration::from_millis(200);
    let (_file, agent, flags) = serve_tiers(Duration::from_millis(50), timeout).await;
    agent.set_fault(flag_agent::Fault::Hang);
    let started = Instant::now();
    let (on, or_default, served, took) = flags
        .scope(tier("gold"), async {
            let entered = started.elapsed();
            tokio::time::sleep(Duration::from_millis(100)).await;
            let checked = Instant::now();
            let answers = (
                flags.is_enabled("newCheckout").await || flags.is_enabled_now("newCheckout"),
                flags
                    .flag("newCheckout")
                    .await
                    .is_none_or(|f| f.is_enabled()),
                flags.with_context(&tier("gold")).served().await,
            );
            (
                answers.0,
                answers.1,
                answers.2,
                (entered, checked.elapsed()),
            )
        })
        .await;
    assert!(!on, "off with nothing loaded");
    assert!(or_default, "the caller default");
    assert!(matches!(served, Served::Nothing), "{served:?}");
    assert!(
        took.0 >= timeout && took.0 < timeout + Duration::from_millis(250),
        "the entry waited one timeout: {took:?}"
    );
    assert!(
        took.1 < timeout,
        "checks in the scope do not wait again, though the TTL ran out: {took:?}"
    );
}

/// A scope of another source nested in a scope hides nothing: the outer source's checks still
/// read its pins (no request, the flip unseen), and a scope of the outer source nested inside
/// both keeps the outer pins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_of_another_source_in_between_hides_nothing() {
    let ttl = Duration::from_millis(100);
    let (file, agent, a) = serve_tiers(ttl, Duration::from_secs(1)).await;
    let (_other_file, _other_agent, b) = serve_tiers(ttl, Duration::from_secs(1)).await;
    a.scope(tier("gold"), async {
        assert!(a.is_enabled_now("newCheckout"));
        let requests = agent.requests();
        file.write(&tiers_doc(false));
        tokio::time::sleep(ttl * 2).await;
        let (in_b, in_b_then_a) = b
            .scope(Context::new(), async {
                let in_b = (
                    a.is_enabled("newCheckout").await,
                    variant(&a).await,
                    a.flag_now("newCheckout").is_some_and(|f| f.is_enabled()),
                );
                let in_b_then_a = a
                    .scope(tier("gold"), async { a.is_enabled_now("newCheckout") })
                    .await;
                (in_b, in_b_then_a)
            })
            .await;
        assert_eq!(in_b, (true, Some("gold".to_owned()), true), "a's pins");
        assert!(in_b_then_a, "a nested scope of a keeps a's pins");
        assert_eq!(agent.requests(), requests, "no request for a");
    })
    .await;
}

/// A nested scope with the context its outer scope already pinned keeps that pin (no second
/// version of the same context in one scope).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_scope_keeps_the_outer_pin_of_its_context() {
    let ttl = Duration::from_millis(100);
    let (file, agent, flags) = serve_tiers(ttl, Duration::from_secs(1)).await;
    flags
        .scope(tier("gold"), async {
            assert_eq!(variant(&flags).await.as_deref(), Some("gold"));
            let requests = agent.requests();
            let mut retargeted = tiers_doc(true);
            retargeted["values"]["discount"]["_variants"][0]["rule"] = json!("(eq $tier \"none\")");
            file.write(&retargeted);
            tokio::time::sleep(ttl * 2).await;
            let nested = flags.scope(tier("gold"), variant(&flags)).await;
            assert_eq!(nested.as_deref(), Some("gold"), "the outer pin");
            assert_eq!(agent.requests(), requests, "not asked again");
        })
        .await;
    let after = flags.scope(tier("gold"), variant(&flags)).await;
    assert_eq!(
        after.as_deref(),
        Some("plain"),
        "the next scope sees the retargeting"
    );
}

/// What a scope's future drops when the scope is cancelled (a timeout, a `select!`) is dropped
/// inside the scope: a check in a `Drop` reads the pins and asks the agent nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_scope_drops_its_future_inside_the_scope() {
    struct CheckOnDrop(FlagSource, std::sync::mpsc::Sender<bool>);
    impl Drop for CheckOnDrop {
        fn drop(&mut self) {
            let _ = self.1.send(self.0.is_enabled_now("newCheckout"));
        }
    }
    let ttl = Duration::from_millis(100);
    let (file, agent, flags) = serve_tiers(ttl, Duration::from_secs(1)).await;
    let (sender, dropped) = std::sync::mpsc::channel();
    let guard = CheckOnDrop(flags.clone(), sender);
    let scoped = flags.scope(tier("gold"), async {
        let _guard = guard;
        file.write(&tiers_doc(false));
        std::future::pending::<()>().await;
    });
    let requests_before = std::cell::Cell::new(0);
    let cancelled = tokio::time::timeout(ttl * 3, async {
        requests_before.set(agent.requests());
        scoped.await
    })
    .await;
    assert!(cancelled.is_err(), "the scope was cancelled");
    assert!(dropped.recv().unwrap(), "the pinned answer, not the flip");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        agent.requests(),
        requests_before.get() + 2,
        "the entry's two requests, none from the drop"
    );
}

/// A `tracing` subscriber that enters a scope and checks flags while a check inside a scope
/// logs (a missing flag, here) does not make that check panic: the check reads its pins with
/// the scope taken out of the thread, and whatever it calls back sees none.
#[test]
fn a_subscriber_entering_a_scope_while_a_check_logs_does_not_panic() {
    struct Reentrant(Scope, FlagSource);
    impl std::io::Write for Reentrant {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (scope, flags) = (self.0.clone(), self.1.clone());
            let _ = scope.run_sync(|| flags.is_enabled_now("newCheckout"));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_file, _agent, flags) =
        rt.block_on(serve_tiers(Duration::from_secs(60), Duration::from_secs(1)));
    let scope = rt.block_on(flags.scope(tier("gold"), async { Scope::current().unwrap() }));
    let (writer_scope, writer_flags) = (scope.clone(), flags.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || Reentrant(writer_scope.clone(), writer_flags.clone()))
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    let answers = scope.run_sync(|| {
        (
            flags.is_enabled_now("noSuchFlag"),
            flags.is_enabled_now("newCheckout"),
        )
    });
    assert_eq!(answers, (false, true));
}
