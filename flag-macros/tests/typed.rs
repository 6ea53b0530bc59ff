//! `flags!`: typed flags read through the process-wide default source, here the local agent
//! over HTTP. The generated module is compiled under `deny(warnings, missing_docs)` and
//! clippy's pedantic group: no lint may fire inside it.
#![deny(warnings, missing_docs, clippy::pedantic)]

use std::time::{Duration, Instant};

use flag_runtime::{Config, Context};
use flag_testkit::{source, start_agent, FlagsFile};
use serde_json::{json, Value};

flag_macros::flags!(
    /// The flags of `tests/typed.json`.
    pub mod flags,
    schema = "tests/typed.json"
);

use flags::{DiscountBanner, ShippingRules, TieredBannerVariant};

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/typed.json"));
    serde_json::from_str(&text.unwrap()).unwrap()
}

/// Polls `read` until it gives `want` (the snapshot is refreshed in the background), at most 5 s.
fn eventually<T: PartialEq + std::fmt::Debug>(what: &str, want: &T, mut read: impl FnMut() -> T) {
    let start = Instant::now();
    loop {
        let got = read();
        if got == *want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: still {got:?}, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, clippy::float_cmp)]
async fn typed_flags_follow_the_agent() {
    let mut doc = schema();
    let file = FlagsFile::new(&doc);
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(300);
    // The agent holds its first answer (within the 1 s timeout), so the first sync check
    // cannot race the load it starts.
    let hold = Duration::from_millis(300);
    agent.set_fault(flag_agent::Fault::Delay(hold));
    flag_runtime::install_default(source(agent.addr().port(), ttl, Config::DEFAULT_TIMEOUT))
        .unwrap();

    let t = std::time::Instant::now();
    assert!(
        !flags::NEW_CHECKOUT.is_enabled_now(),
        "sync, before the first load: off"
    );
    assert!(t.elapsed() < hold, "never waits ({:?})", t.elapsed());
    agent.clear_fault();
    assert!(
        flags::NEW_CHECKOUT.is_enabled().await,
        "async: loads on first use"
    );
    assert!(flags::NEW_CHECKOUT.is_enabled_now());
    assert_eq!(flags::NEW_CHECKOUT.key(), "newCheckout");

    // Attributes, typed by the schema.
    let banner: DiscountBanner = flags::DISCOUNT_BANNER.get().await.unwrap();
    let percentage: f64 = banner.percentage;
    let message: Option<String> = banner.message;
    assert_eq!((percentage, message.as_deref()), (20.0, Some("20% off")));
    assert_eq!(
        flags::DISCOUNT_BANNER.get_now(),
        flags::DISCOUNT_BANNER.get().await
    );
    let rules: ShippingRules = flags::SHIPPING_RULES.get_now().unwrap();
    assert!(rules.express);
    assert_eq!(
        rules.countries,
        Some(vec!["DE".to_owned(), "FR".to_owned()])
    );
    assert_eq!(rules.weights, vec![1.0, 2.5]);
    assert_eq!(rules.r#type.as_deref(), Some("parcel"));
    assert_eq!(rules.extra, Some(json!(3)));
    #[allow(deprecated)]
    let legacy = &flags::LEGACY_RECEIPT;
    assert!(!legacy.is_enabled().await);
    assert_eq!(legacy.get().await, None, "off: no value");

    // Multi-variant: the variant and its attributes for a context.
    let gold = Context::new().with("tier", "gold");
    let silver = Context::new().with("tier", "silver");
    let tiered = flags::TIERED_BANNER
        .with_context(&gold)
        .get()
        .await
        .unwrap();
    assert_eq!(
        (tiered.variant, tiered.percentage),
        (Some(TieredBannerVariant::Gold), 20.0)
    );
    assert_eq!(TieredBannerVariant::Gold.name(), "gold");
    let tiered = flags::TIERED_BANNER
        .with_context(&silver)
        .get()
        .await
        .unwrap();
    assert_eq!(tiered.variant, Some(TieredBannerVariant::SilverTier));
    assert_eq!(
        tiered.variant.map(TieredBannerVariant::name),
        Some("silver tier")
    );
    assert!(
        flags::TIERED_BANNER
            .with_context(&silver)
            .is_enabled()
            .await
    );
    assert!(flags::TIERED_BANNER.with_context(&silver).is_enabled_now());
    let bronze = Context::new().with("tier", "bronze");
    assert!(
        !flags::TIERED_BANNER
            .with_context(&bronze)
            .is_enabled()
            .await,
        "default variant: off"
    );
    assert_eq!(flags::TIERED_BANNER.with_context(&bronze).get().await, None);
    assert_eq!(
        flags::TIERED_BANNER
            .with_context(&gold)
            .get_now()
            .map(|t| t.percentage),
        Some(20.0)
    );

    // A change in AppConfig reaches the cached sync check within the TTL (the timer marks the
    // snapshot stale; the next check starts the refresh) and the typed value.
    doc["values"]["newCheckout"]["enabled"] = json!(false);
    doc["values"]["discountBanner"]["percentage"] = json!(35);
    file.write(&doc);
    eventually("sync check", &false, || {
        flags::NEW_CHECKOUT.is_enabled_now()
    });
    eventually("typed value", &Some(35.0), || {
        flags::DISCOUNT_BANNER.get_now().map(|b| b.percentage)
    });
    assert!(!flags::NEW_CHECKOUT.is_enabled().await);

    // A value that no longer fits the compiled type (the deployed schema changed the type):
    // the last value that fitted is served, never a panic.
    doc["flags"]["discountBanner"]["attributes"]["percentage"]["constraints"] =
        json!({"type": "string", "required": true});
    doc["values"]["discountBanner"]["percentage"] = json!("forty");
    doc["values"]["newCheckout"]["enabled"] = json!(true);
    file.write(&doc);
    eventually("the misfit's snapshot", &true, || {
        flags::NEW_CHECKOUT.is_enabled_now()
    });
    let served = flags::DISCOUNT_BANNER.get().await.unwrap();
    assert_eq!(served.percentage, 35.0, "last-known-good");
    let status = flag_runtime::default_source().status();
    assert!(
        status.last_error.is_none(),
        "the answer itself was fine: {status:?}"
    );

    // Fits again: served again.
    doc["flags"]["discountBanner"]["attributes"]["percentage"]["constraints"] =
        json!({"type": "number", "required": true});
    doc["values"]["discountBanner"]["percentage"] = json!(5);
    file.write(&doc);
    eventually("fits again", &Some(5.0), || {
        flags::DISCOUNT_BANNER.get_now().map(|b| b.percentage)
    });

    // A required attribute gone is a misfit too.
    doc["values"]["discountBanner"] = json!({"enabled": true});
    doc["flags"]["discountBanner"]["attributes"]["percentage"]["constraints"] =
        json!({"type": "number"});
    doc["values"]["newCheckout"]["enabled"] = json!(false);
    file.write(&doc);
    eventually("the next snapshot", &false, || {
        flags::NEW_CHECKOUT.is_enabled_now()
    });
    assert_eq!(
        flags::DISCOUNT_BANNER.get_now().map(|b| b.percentage),
        Some(5.0)
    );
}
