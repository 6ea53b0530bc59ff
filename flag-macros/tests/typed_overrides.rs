//! `Overrides` with typed flags: by key, through the statics, and as typed values.
// Allow-by-default lints a crate may deny: none fires inside the generated (private) module.
#![deny(
    warnings,
    clippy::pedantic,
    unreachable_pub,
    missing_copy_implementations,
    missing_debug_implementations
)]

use flag_runtime::Overrides;

flag_macros::flags!(mod flags, schema = "tests/typed.json");

use flags::{DiscountBanner, TieredBanner, TieredBannerVariant};

#[test]
fn by_key_and_through_the_statics() {
    // No agent configured: everything is off.
    assert!(!flags::NEW_CHECKOUT.is_enabled_now());
    {
        let _flags = Overrides::new().enable("newCheckout").apply();
        assert!(flags::NEW_CHECKOUT.is_enabled_now());
    }
    assert!(!flags::NEW_CHECKOUT.is_enabled_now(), "the guard ended it");
    let _flags = Overrides::new()
        .enable(&flags::NEW_CHECKOUT)
        .attribute(&flags::DISCOUNT_BANNER, "percentage", 12)
        .apply();
    assert!(flags::NEW_CHECKOUT.is_enabled_now());
    assert_eq!(
        flags::DISCOUNT_BANNER.get_now(),
        Some(DiscountBanner {
            percentage: 12.0,
            message: None
        })
    );
}

#[tokio::test]
async fn typed_values_with_variants() {
    let value = TieredBanner {
        percentage: 7.5,
        variant: Some(TieredBannerVariant::SilverTier),
    };
    let forced = Overrides::new().value(&flags::TIERED_BANNER, value.clone());
    let read = forced
        .scope(async {
            let context = flag_runtime::Context::new().with("tier", "gold");
            (
                flags::TIERED_BANNER.get().await,
                flags::TIERED_BANNER.with_context(&context).get().await,
                flags::TIERED_BANNER.is_enabled().await,
                flag_runtime::default_source()
                    .flag_now("tieredBanner")
                    .and_then(|f| f.variant().map(str::to_owned)),
            )
        })
        .await;
    assert_eq!(
        read,
        (
            Some(value.clone()),
            Some(value),
            true,
            Some("silver tier".to_owned())
        )
    );
    assert_eq!(flags::TIERED_BANNER.get().await, None, "outside the scope");
}

#[test]
fn an_override_that_does_not_fit_is_off() {
    let _flags = Overrides::new()
        .attribute(&flags::DISCOUNT_BANNER, "percentage", "lots")
        .apply();
    assert!(flags::DISCOUNT_BANNER.is_enabled_now());
    assert_eq!(flags::DISCOUNT_BANNER.get_now(), None);
}

/// `#[feature_flag]` takes a `flags!` static in place of the key.
#[flag_macros::feature_flag(flags::NEW_CHECKOUT, fallback = old_checkout, schema = "tests/typed.json")]
fn checkout(items: u32) -> u32 {
    items * 10
}

fn old_checkout(items: u32) -> u32 {
    items
}

#[test]
fn feature_flag_takes_a_static() {
    assert_eq!(checkout(3), 3, "off: no agent");
    let _flags = Overrides::new().enable(&flags::NEW_CHECKOUT).apply();
    assert_eq!(checkout(3), 30);
}
