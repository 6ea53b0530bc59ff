//! The provider's life over real HTTP to the local agent: initialisation, status, the error
//! codes before and without a first load, last-known-good answers (`STALE`), and events. Each
//! test names the OpenFeature specification requirements it covers.

mod common;

use std::time::Duration;

use common::*;
use flag_openfeature::{AppConfigProvider, ProviderEvent, ProviderEvents};
use flag_runtime::FlagSource;
use open_feature::provider::{FeatureProvider, ProviderStatus};
use open_feature::{EvaluationContext, EvaluationReason};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

async fn next(events: &mut ProviderEvents) -> ProviderEvent {
    tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event within 5 s")
}

/// A provider set on the local agent serving [`doc`], with its client and an event stream
/// whose first event (the current state, `PROVIDER_READY`) has been taken.
struct Ready {
    file: FlagsFile,
    agent: flag_agent::RunningAgent,
    provider: AppConfigProvider,
    _api: open_feature::OpenFeature,
    client: open_feature::Client,
    events: ProviderEvents,
}

async fn ready(ttl: Duration, timeout: Duration) -> Ready {
    let file = FlagsFile::new(&doc());
    let agent = start_agent(&file).await;
    let provider = AppConfigProvider::new(source(agent.addr().port(), ttl, timeout));
    let (api, client) = client(provider.clone()).await;
    let mut events = provider.events();
    assert!(matches!(
        next(&mut events).await,
        ProviderEvent::Ready { .. }
    ));
    Ready {
        file,
        agent,
        provider,
        _api: api,
        client,
        events,
    }
}

/// Requirements 2.4.1 and 1.7.1/1.7.3: the provider is `NOT_READY` until its `initialize`
/// (run by the SDK when the provider is set) loads the flags, then `READY`; evaluations are
/// memory reads of the same cache (no agent request per evaluation).
#[tokio::test]
async fn initialize_loads_the_flags_and_makes_the_provider_ready() {
    let (_file, agent) = serve_doc().await;
    let flags = steady_source(agent.addr().port());
    let provider = AppConfigProvider::new(flags.clone());
    assert_eq!(provider.status(), ProviderStatus::NotReady);
    assert_eq!(agent.requests(), 0);
    let mut events = provider.events();

    let (_api, client) = client(provider.clone()).await;
    assert_eq!(provider.status(), ProviderStatus::Ready);
    assert_eq!(agent.requests(), 1, "initialize asked the agent once");
    // Requirements 5.1.1 and 5.3.1: a normal initialisation is PROVIDER_READY.
    match next(&mut events).await {
        ProviderEvent::Ready { version } => assert!(version.is_some()),
        other => panic!("expected PROVIDER_READY, got {other:?}"),
    }

    for _ in 0..50 {
        assert!(client
            .get_bool_value("newCheckout", None, None)
            .await
            .unwrap());
    }
    // The plain checks of the same source read the same snapshot.
    assert!(flags.is_enabled_now("newCheckout"));
    assert_eq!(agent.requests(), 1, "evaluations are served from the cache");
    agent.stop().await;
}

/// Requirements 1.7.4 and 2.4.2.1: an `initialize` that loads nothing leaves the provider
/// `ERROR` (the SDK's `initialize` returns nothing, so the status says it); evaluations are then
/// `GENERAL` errors saying why (Requirement 2.2.7), and 5.1.1/5.1.4: a `PROVIDER_ERROR` event
/// with a message.
#[tokio::test]
async fn nothing_loaded_is_an_error() {
    let provider = AppConfigProvider::new(source(
        dead_port(),
        Duration::from_secs(60),
        Duration::from_millis(500),
    ));
    let mut events = provider.events();
    let (_api, client) = client(provider.clone()).await;
    assert_eq!(provider.status(), ProviderStatus::Error);
    match next(&mut events).await {
        ProviderEvent::Error { message } => {
            assert!(message.contains("not reachable"), "{message}")
        }
        other => panic!("expected PROVIDER_ERROR, got {other:?}"),
    }

    let result = client.get_bool_value("newCheckout", None, None).await;
    let message = result.as_ref().unwrap_err().message.clone().unwrap();
    assert_eq!(code(result), "GENERAL");
    assert!(message.contains("not reachable"), "{message}");
}

/// An unconfigured source (`FlagSource::from_env` without its settings) never asks the agent:
/// the provider is `ERROR` at once (Requirement 1.7.1), evaluations `GENERAL`.
#[tokio::test]
async fn an_unconfigured_source_is_an_error() {
    // No test in this binary sets the APPCONFIG_* variables.
    let provider = AppConfigProvider::new(FlagSource::from_env());
    assert_eq!(provider.status(), ProviderStatus::Error);
    let (_api, client) = client(provider).await;
    assert_eq!(
        code(client.get_bool_value("newCheckout", None, None).await),
        "GENERAL"
    );
}

/// Requirement 2.2.7 with `PROVIDER_NOT_READY`: an evaluation while no refresh of the flags has
/// completed (the agent is slow and the provider not initialised) is `PROVIDER_NOT_READY`; once
/// the first load has failed, `GENERAL`.
#[tokio::test]
async fn before_the_first_load_completes_the_provider_is_not_ready() {
    let file = FlagsFile::new(&doc());
    let agent = start_agent(&file).await;
    agent.set_fault(Fault::Delay(Duration::from_secs(3)));
    let provider = AppConfigProvider::new(source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_millis(400),
    ));
    let mut changes = provider.source().status_changes();
    // Evaluated through the provider itself: the SDK's `set_provider` always initialises.
    let gold = EvaluationContext::default().with_custom_field("tier", "gold");
    // The context's own first load times out; the context-free one then starts, and is still
    // in flight when the answer is decided.
    let result = provider.resolve_bool_value("discountBanner", &gold).await;
    assert_eq!(code(result), "PROVIDER_NOT_READY");
    assert_eq!(provider.status(), ProviderStatus::NotReady);

    // The context-free load fails too: the provider is in error, evaluations are GENERAL.
    let status = tokio::time::timeout(WAIT, changes.changed()).await.unwrap();
    assert_eq!(status.failure_streak, 1);
    assert_eq!(provider.status(), ProviderStatus::Error);
    let result = provider
        .resolve_bool_value("newCheckout", &EvaluationContext::default())
        .await;
    assert_eq!(code(result), "GENERAL");
    agent.stop().await;
}

/// Requirement 2.2.5: an answer kept because its refresh failed is `STALE`; 1.7.1 and 5.1.1:
/// the provider goes `STALE` with a `PROVIDER_STALE` event (5.1.4: with a message), and back
/// to `READY` with a `PROVIDER_READY` event when the agent recovers.
#[tokio::test]
async fn a_failing_agent_makes_answers_cached_and_the_provider_stale() {
    let ttl = Duration::from_millis(100);
    let mut r = ready(ttl, Duration::from_millis(500)).await;
    let gold = EvaluationContext::default().with_custom_field("tier", "gold");
    let before = r
        .client
        .get_bool_details("discountBanner", Some(&gold), None)
        .await
        .unwrap();
    assert_eq!(before.reason, Some(EvaluationReason::TargetingMatch));

    r.agent.set_fault(Fault::Status(502));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let details = r
        .client
        .get_bool_details("newCheckout", None, None)
        .await
        .unwrap();
    assert!(details.value, "last-known-good served");
    assert_eq!(
        details.reason,
        Some(EvaluationReason::Other("STALE".into()))
    );
    assert_eq!(r.provider.status(), ProviderStatus::STALE);
    match next(&mut r.events).await {
        ProviderEvent::Stale { message } => assert!(message.contains("502"), "{message}"),
        other => panic!("expected PROVIDER_STALE, got {other:?}"),
    }
    // The context's answer is last-known-good too, with its variant.
    let details = r
        .client
        .get_bool_details("discountBanner", Some(&gold), None)
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("gold"));
    assert_eq!(
        details.reason,
        Some(EvaluationReason::Other("STALE".into()))
    );

    r.agent.clear_fault();
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let details = r
        .client
        .get_bool_details("newCheckout", None, None)
        .await
        .unwrap();
    assert_eq!(details.reason, Some(EvaluationReason::Static));
    assert_eq!(r.provider.status(), ProviderStatus::Ready);
    match next(&mut r.events).await {
        ProviderEvent::Ready { version } => assert!(version.is_some()),
        other => panic!("expected PROVIDER_READY, got {other:?}"),
    }
    let details = r
        .client
        .get_bool_details("discountBanner", Some(&gold), None)
        .await
        .unwrap();
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
    r.agent.stop().await;
}

/// Requirement 2.2.5 under a hanging agent: an evaluation with a context waits for its own
/// refresh (one timeout) and answers `STALE`; it does not wait a second timeout for the
/// context-free answer (it did: two timeouts per evaluation while the agent hung).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_agent_costs_a_context_evaluation_one_timeout() {
    let ttl = Duration::from_millis(100);
    let timeout = Duration::from_secs(1);
    let r = ready(ttl, timeout).await;
    let gold = EvaluationContext::default().with_custom_field("tier", "gold");
    let loaded = r
        .client
        .get_bool_details("discountBanner", Some(&gold), None)
        .await
        .unwrap();
    assert_eq!(loaded.reason, Some(EvaluationReason::TargetingMatch));

    r.agent.set_fault(Fault::Hang);
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let details = r
        .client
        .get_bool_details("discountBanner", Some(&gold), None)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(details.variant.as_deref(), Some("gold"), "last-known-good");
    assert_eq!(
        details.reason,
        Some(EvaluationReason::Other("STALE".into()))
    );
    assert!(
        took >= timeout && took < timeout + timeout * 3 / 5,
        "one timeout ({timeout:?}), not two: took {took:?}"
    );
    r.agent.stop().await;
}

/// Requirement 5.3.3: a handler attached after the provider entered its state runs at once: a
/// stream created while `READY`, `STALE` or `ERROR` starts with that state's event, and then
/// only reports changes. (A stream used to start silent: attached late, it never heard the
/// provider was ready.)
#[tokio::test]
async fn a_stream_created_late_starts_with_the_current_state() {
    let ttl = Duration::from_millis(100);
    let mut r = ready(ttl, Duration::from_millis(500)).await;
    let mut again = r.provider.events();
    match next(&mut again).await {
        ProviderEvent::Ready { version } => assert!(version.is_some()),
        other => panic!("expected PROVIDER_READY, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), r.events.next())
            .await
            .is_err(),
        "nothing changed since"
    );

    r.agent.set_fault(Fault::Status(502));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let _ = r.client.get_bool_value("newCheckout", None, None).await;
    assert_eq!(r.provider.status(), ProviderStatus::STALE);
    let mut late = r.provider.events();
    match next(&mut late).await {
        ProviderEvent::Stale { message } => assert!(message.contains("502"), "{message}"),
        other => panic!("expected PROVIDER_STALE, got {other:?}"),
    }

    let error = AppConfigProvider::new(source(
        dead_port(),
        Duration::from_secs(60),
        Duration::from_millis(500),
    ));
    let (_api, _client) = common::client(error.clone()).await;
    assert!(matches!(
        next(&mut error.events()).await,
        ProviderEvent::Error { .. }
    ));
    r.agent.stop().await;
}

/// Requirement 5.1.1: a new configuration loaded while ready is `PROVIDER_CONFIGURATION_CHANGED`,
/// and evaluations see it.
#[tokio::test]
async fn a_new_configuration_is_an_event() {
    let ttl = Duration::from_millis(100);
    let mut r = ready(ttl, Duration::from_secs(2)).await;
    let first = r
        .client
        .get_bool_details("newCheckout", None, None)
        .await
        .unwrap();
    assert!(first.value);

    let mut changed = doc();
    changed["values"]["newCheckout"] = json!({"enabled": false});
    r.file.write(&changed);
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let second = r
        .client
        .get_bool_details("newCheckout", None, None)
        .await
        .unwrap();
    assert!(!second.value);
    assert_ne!(
        first
            .flag_metadata
            .values
            .get(flag_openfeature::VERSION_METADATA_KEY),
        second
            .flag_metadata
            .values
            .get(flag_openfeature::VERSION_METADATA_KEY)
    );
    match next(&mut r.events).await {
        ProviderEvent::ConfigurationChanged { version } => assert!(version.is_some()),
        other => panic!("expected PROVIDER_CONFIGURATION_CHANGED, got {other:?}"),
    }
    assert_eq!(
        ProviderEvent::ConfigurationChanged { version: None }.name(),
        "PROVIDER_CONFIGURATION_CHANGED"
    );
    r.agent.stop().await;
}

/// Requirement 5.1.1 / 5.3.1: a recovery that brings a new configuration is `PROVIDER_READY`
/// then `PROVIDER_CONFIGURATION_CHANGED`, even when the refreshes were coalesced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_with_a_new_configuration_reports_both() {
    let ttl = Duration::from_millis(100);
    let mut r = ready(ttl, Duration::from_millis(500)).await;

    r.agent.set_fault(Fault::Status(502));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let _ = r.client.get_bool_value("newCheckout", None, None).await;
    assert!(matches!(
        next(&mut r.events).await,
        ProviderEvent::Stale { .. }
    ));

    let mut changed = doc();
    changed["values"]["newCheckout"]["enabled"] = json!(false);
    r.file.write(&changed);
    r.agent.clear_fault();
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(!r
        .client
        .get_bool_value("newCheckout", None, None)
        .await
        .unwrap());
    // Another refresh, unchanged, before anyone looks at the r.events.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let _ = r.client.get_bool_value("newCheckout", None, None).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        next(&mut r.events).await,
        ProviderEvent::Ready { .. }
    ));
    assert!(matches!(
        next(&mut r.events).await,
        ProviderEvent::ConfigurationChanged { .. }
    ));
    r.agent.stop().await;
}
