//! The usual set-up: the provider on `flag_runtime::default_source().clone()`, set on the
//! OpenFeature singleton. Its evaluations and the plain checks of the default source (what
//! `#[feature_flag]` consults) share one cache. Its own binary: the default source and the
//! singleton are process-wide.

mod common;

use std::time::Duration;

use common::*;
use flag_openfeature::AppConfigProvider;
use open_feature::{EvaluationContext, OpenFeature};

/// Requirements 2.4.1 (initialisation loads the flags) and 2.2.3, through the singleton.
#[tokio::test]
async fn the_default_source_behind_the_singleton() {
    let file = FlagsFile::new(&doc());
    let agent = start_agent(&file).await;
    flag_runtime::install_default(source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    ))
    .unwrap();
    // Installed once: a second source is given back, and the first stays the default.
    let dead = source(1, Duration::from_secs(60), Duration::from_millis(50));
    assert!(flag_runtime::install_default(dead).is_err());

    let client = {
        let mut api = OpenFeature::singleton_mut().await;
        api.set_provider(AppConfigProvider::new(
            flag_runtime::default_source().clone(),
        ))
        .await;
        api.create_client()
    };
    assert_eq!(agent.requests(), 1, "set_provider loaded the flags");

    // One cache: the default source's plain checks ask nothing more.
    assert!(flag_runtime::default_source().is_enabled_now("newCheckout"));
    assert!(client
        .get_bool_value("newCheckout", None, None)
        .await
        .unwrap());
    assert_eq!(
        client
            .get_int_value("newCheckout.limit", None, None)
            .await
            .unwrap(),
        5
    );
    assert_eq!(agent.requests(), 1);

    // A context is asked for once, then served from the cache for both.
    let gold = EvaluationContext::default().with_custom_field("tier", "gold");
    assert_eq!(
        client
            .get_string_value("discountBanner.text", Some(&gold), None)
            .await
            .unwrap(),
        "Gold"
    );
    assert_eq!(agent.requests(), 2);
    let context = flag_openfeature::to_appconfig(&gold).unwrap();
    let direct = flag_runtime::default_source()
        .with_context(&context)
        .flag_now("discountBanner")
        .unwrap();
    assert_eq!(direct.variant(), Some("gold"));
    assert_eq!(agent.requests(), 2);
    agent.stop().await;
}
