//! A checkout Lambda with code paths gated by AWS AppConfig feature flags.
//!
//! Flags (defined in `flags.json` beside this crate's `Cargo.toml`, which is both what the
//! `#[feature_flag]` macro checks names against and what the deployment uploads to AppConfig):
//!
//! * `newCheckout` gates the whole handler: the new checkout itemises the cart; when the flag is
//!   off (or nothing is known about it) the old checkout runs.
//! * `discountBanner` carries attributes: `percentage` (a required number) and `message` (an
//!   optional string), read through the typed module [`flags`] that `flags!` generates from
//!   `flags.json`: a misspelt flag or attribute, or a wrong type, is a compile error. It is a
//!   multi-variant flag, targeted on the request: the customer's `tier` and `customerId` are
//!   the evaluation context, so gold customers get the `gold` variant, a 10% sample of
//!   customer ids the `trial` variant, and everyone else (or a request without a customer)
//!   `everyone`.
//!
//! The binary runs the handler under `flag_runtime::lambda::FlagsLayer`, which makes each
//! invocation an invocation scope for its customer ([`CheckoutRequest::flag_context`]): the
//! gates and typed reads below name no context, and one invocation sees one configuration
//! version.
//! * `expressShipping` gates a sync helper, so both forms of the macro are shown.
//! * `checkoutButton` (a colour and a label) is under the AppConfig experiment `checkout-button`
//!   of `experiments.json`: signed-in customers are assigned the control (blue) or a treatment
//!   (green, or orange with another label), sticky per customer; the answer says which.
//!
//! Every answer says which path ran and which configuration version decided it.

use flag_macros::feature_flag;
use flag_runtime::measure::{self, OutcomeKind};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};

flag_macros::flags!(
    /// The flags of `flags.json`, typed: one static per flag, a struct per flag's attributes.
    pub mod flags
);

/// Why a checkout is refused. Lambda reports it with a stable `errorType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutError {
    /// No items.
    EmptyCart,
    /// The total does not fit in 64 bits of cents.
    Overflow,
}

impl std::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckoutError::EmptyCart => "the cart is empty",
            CheckoutError::Overflow => "the cart total overflows",
        })
    }
}

impl std::error::Error for CheckoutError {}

impl From<CheckoutError> for Diagnostic {
    fn from(error: CheckoutError) -> Self {
        Diagnostic {
            error_type: format!("{error:?}"),
            error_message: error.to_string(),
        }
    }
}

/// The checkout request: a cart, and who buys it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutRequest {
    /// What is bought.
    pub items: Vec<Item>,
    /// The customer, when known: what targeted flags are evaluated against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
}

/// The customer behind a request.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// A stable customer id (the `customerId` context key, and the `Entity-Id`).
    pub id: String,
    /// Loyalty tier, e.g. `gold` (the `tier` context key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

impl CheckoutRequest {
    /// The evaluation context of this request: the customer's tier and id (empty without a
    /// customer, which gets the context-free answer).
    /// Typed by the rules of flags.json (`flags::context()`): `tier` is compared as text,
    /// `customerId` hashed by a `split`.
    pub fn flag_context(&self) -> flags::TypedContext {
        let mut context = flags::context();
        if let Some(customer) = &self.customer {
            context = context
                .customer_id(customer.id.as_str())
                .with_entity_id(customer.id.as_str());
            if let Some(tier) = &customer.tier {
                context = context.tier(tier);
            }
        }
        context
    }
}

/// One cart line.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Stock-keeping unit.
    pub sku: String,
    /// Unit price in cents.
    pub price_cents: u64,
    /// How many.
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// The checkout answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutResponse {
    /// Which gated path ran: `"new"` or `"old"`.
    pub checkout: String,
    /// The AppConfig configuration version the flags came from, if any was loaded.
    pub flags_version: Option<String>,
    /// Itemised lines (new checkout only).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub lines: Vec<String>,
    /// Sum of the lines, in cents.
    pub subtotal_cents: u64,
    /// The discount banner, when its flag is on.
    pub discount: Option<Discount>,
    /// What is charged, in cents.
    pub total_cents: u64,
    /// Shipping options offered.
    pub shipping: Vec<ShippingQuote>,
    /// The checkout button to show, when its flag is on.
    pub button: Option<Button>,
}

/// The checkout button, from the `checkoutButton` flag: under the experiment `checkout-button`
/// of `experiments.json`, so a signed-in customer sees the treatment assigned to them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Button {
    /// The `color` attribute.
    pub color: String,
    /// The `label` attribute.
    pub label: String,
    /// The experiment treatment served (`__c__`, `__t1__`, ...), none outside the experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<String>,
}

/// A discount applied from the `discountBanner` flag's attributes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Discount {
    /// The variant AppConfig chose for this request (multi-variant flags only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The `percentage` attribute.
    pub percentage: f64,
    /// The `message` attribute.
    pub message: Option<String>,
    /// What it took off, in cents.
    pub amount_cents: u64,
}

/// A shipping option.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShippingQuote {
    /// `"standard"` or `"express"`.
    pub method: String,
    /// Price in cents.
    pub cents: u64,
}

/// The Lambda handler: the new checkout, gated on `newCheckout`.
#[feature_flag("newCheckout", fallback = old_checkout)]
pub async fn checkout(
    LambdaEvent { payload, .. }: LambdaEvent<CheckoutRequest>,
) -> Result<CheckoutResponse, CheckoutError> {
    if payload.items.is_empty() {
        return Err(CheckoutError::EmptyCart);
    }
    let lines = payload
        .items
        .iter()
        .map(|i| format!("{} x{} @ {}", i.sku, i.quantity, cents(i.price_cents)))
        .collect();
    let subtotal_cents = subtotal(&payload.items)?;
    priced("new", lines, subtotal_cents).await
}

/// The old checkout: no itemisation. Runs when `newCheckout` is off or unknown.
pub async fn old_checkout(
    event: LambdaEvent<CheckoutRequest>,
) -> Result<CheckoutResponse, CheckoutError> {
    if event.payload.items.is_empty() {
        return Err(CheckoutError::EmptyCart);
    }
    let subtotal_cents = subtotal(&event.payload.items)?;
    priced("old", Vec::new(), subtotal_cents).await
}

async fn priced(
    path: &str,
    lines: Vec<String>,
    subtotal_cents: u64,
) -> Result<CheckoutResponse, CheckoutError> {
    let discount = discount(subtotal_cents).await;
    let total_cents = subtotal_cents - discount.as_ref().map_or(0, |d| d.amount_cents);
    let button = button().await;
    // The experiment's outcomes: an order placed, and its value. Attributed to the treatments
    // this invocation was served (none outside the experiment); a failure to record never
    // fails the checkout.
    for (metric, kind, value) in [
        ("Order", OutcomeKind::Conversion, 1.0),
        ("Revenue", OutcomeKind::Sum, total_cents as f64 / 100.0),
    ] {
        if let Err(error) = measure::record_outcome(metric, kind, value) {
            lambda_runtime::tracing::warn!(%error, metric, "experiment outcome not recorded");
        }
    }
    Ok(CheckoutResponse {
        checkout: path.to_owned(),
        // The version this invocation reads (its scope's), not whatever was loaded since.
        flags_version: flag_runtime::default_source()
            .snapshot_now()
            .and_then(|snapshot| snapshot.version().map(str::to_owned)),
        lines,
        subtotal_cents,
        discount,
        total_cents,
        shipping: shipping_quotes(total_cents),
        button,
    })
}

/// The `checkoutButton` flag for this invocation's customer: the treatment the experiment
/// assigned them, or the deployed button.
pub async fn button() -> Option<Button> {
    let button = flags::CHECKOUT_BUTTON.get().await?;
    Some(Button {
        color: button.color,
        label: button.label,
        assignment: button.assignment.map(|a| a.to_string()),
    })
}

fn subtotal(items: &[Item]) -> Result<u64, CheckoutError> {
    items
        .iter()
        .try_fold(0u64, |sum, i| {
            i.price_cents
                .checked_mul(u64::from(i.quantity))
                .and_then(|line| sum.checked_add(line))
        })
        .ok_or(CheckoutError::Overflow)
}

/// The `discountBanner` flag for this invocation's context, steered by its attributes.
pub async fn discount(subtotal_cents: u64) -> Option<Discount> {
    let banner = flags::DISCOUNT_BANNER.get().await?;
    // The schema bounds it to 0..=50; clamp anyway, a flag must never make a total negative.
    let percentage = banner.percentage.clamp(0.0, 100.0);
    let amount_cents = (subtotal_cents as f64 * percentage / 100.0).round() as u64;
    Some(Discount {
        variant: banner.variant.map(|v| v.name().to_owned()),
        percentage,
        message: banner.message,
        amount_cents: amount_cents.min(subtotal_cents),
    })
}

/// Shipping options, gated on `expressShipping` (a sync check: never waits).
#[feature_flag("expressShipping", fallback = standard_shipping)]
pub fn shipping_quotes(total_cents: u64) -> Vec<ShippingQuote> {
    let mut quotes = standard_shipping(total_cents);
    quotes.push(ShippingQuote {
        method: "express".into(),
        cents: 1299,
    });
    quotes
}

/// Standard shipping only: free from 50.00.
pub fn standard_shipping(total_cents: u64) -> Vec<ShippingQuote> {
    vec![ShippingQuote {
        method: "standard".into(),
        cents: if total_cents >= 5000 { 0 } else { 499 },
    }]
}

fn cents(value: u64) -> String {
    format!("{}.{:02}", value / 100, value % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flag_runtime::Overrides;
    use lambda_runtime::Context;

    fn event() -> LambdaEvent<CheckoutRequest> {
        LambdaEvent::new(
            CheckoutRequest {
                items: vec![
                    Item {
                        sku: "mug".into(),
                        price_cents: 1250,
                        quantity: 2,
                    },
                    Item {
                        sku: "tea".into(),
                        price_cents: 800,
                        quantity: 1,
                    },
                ],
                customer: None,
            },
            Context::default(),
        )
    }

    #[tokio::test]
    async fn new_checkout_with_discount_and_express() {
        let _flags = Overrides::new()
            .enable(&flags::NEW_CHECKOUT)
            .value(
                &flags::DISCOUNT_BANNER,
                flags::DiscountBanner {
                    percentage: 10.0,
                    message: Some("10% off".into()),
                    variant: Some(flags::DiscountBannerVariant::Gold),
                },
            )
            .enable("expressShipping")
            .value(
                &flags::CHECKOUT_BUTTON,
                flags::CheckoutButton {
                    color: "green".into(),
                    label: "Buy now".into(),
                    assignment: Some(flag_runtime::Assignment::Treatment(1)),
                },
            )
            .apply();
        let answer = checkout(event()).await.unwrap();
        assert_eq!(answer.checkout, "new");
        let button = answer.button.as_ref().unwrap();
        assert_eq!(
            (button.color.as_str(), button.assignment.as_deref()),
            ("green", Some("__t1__"))
        );
        assert_eq!(answer.lines, ["mug x2 @ 12.50", "tea x1 @ 8.00"]);
        assert_eq!(answer.subtotal_cents, 3300);
        let discount = answer.discount.unwrap();
        assert_eq!(
            (
                discount.amount_cents,
                discount.message.as_deref(),
                discount.variant.as_deref()
            ),
            (330, Some("10% off"), Some("gold"))
        );
        assert_eq!(answer.total_cents, 2970);
        assert_eq!(answer.shipping.len(), 2);
    }

    #[tokio::test]
    async fn old_checkout_when_off() {
        let _flags = Overrides::new()
            .disable("newCheckout")
            .disable("discountBanner")
            .disable("expressShipping")
            .disable(&flags::CHECKOUT_BUTTON)
            .apply();
        let answer = checkout(event()).await.unwrap();
        assert_eq!(answer.checkout, "old");
        assert_eq!(answer.button, None);
        assert!(answer.lines.is_empty());
        assert_eq!((answer.discount, answer.total_cents), (None, 3300));
        assert_eq!(
            answer.shipping,
            [ShippingQuote {
                method: "standard".into(),
                cents: 499
            }]
        );
    }

    #[test]
    fn the_flag_context_is_the_customer() {
        let mut request = event().payload;
        assert!(request.flag_context().is_empty(), "no customer, no context");
        request.customer = Some(Customer {
            id: "c-7".into(),
            tier: Some("gold".into()),
        });
        let context = request.flag_context();
        assert_eq!(context.get("tier"), Some("gold"));
        assert_eq!(context.get("customerId"), Some("c-7"));
        assert_eq!(context.entity_id(), Some("c-7"));
        assert!(context.validate().is_ok());
    }

    #[tokio::test]
    async fn empty_cart_is_an_error_on_both_paths() {
        for on in [true, false] {
            let _flags = Overrides::new().set("newCheckout", on).apply();
            let empty = LambdaEvent::new(
                CheckoutRequest {
                    items: vec![],
                    customer: None,
                },
                Context::default(),
            );
            assert_eq!(checkout(empty).await.unwrap_err(), CheckoutError::EmptyCart);
        }
    }
}

/// The README's Rust examples, compiled (and run, unless marked `no_run`) as doctests of this
/// crate, against this crate's `flags.json`: what the README shows a newcomer builds.
/// `tests/readme.rs` checks that the README's own `flags.json` agrees with that file.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
