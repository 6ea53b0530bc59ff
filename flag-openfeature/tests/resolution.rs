//! Flag resolution through the OpenFeature SDK's client, answered by the provider from the
//! local agent over real HTTP: keys and types, the evaluation context, variants, reasons, flag
//! metadata and error codes. Each test names the OpenFeature specification requirements it
//! covers.

mod common;

use std::sync::Arc;

use common::*;
use flag_openfeature::{AppConfigProvider, PROVIDER_NAME, VERSION_METADATA_KEY};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationDetails, EvaluationError,
    EvaluationReason, FlagMetadataValue, StructValue, Value,
};

fn gold() -> EvaluationContext {
    EvaluationContext::default().with_custom_field("tier", "gold")
}

/// Requirement 2.1.1: the provider's metadata names it.
#[tokio::test]
async fn metadata_names_the_provider() {
    let ((_file, agent), api, _client) = setup().await;
    assert_eq!(api.provider_metadata().await.name, PROVIDER_NAME);
    agent.stop().await;
}

/// Requirements 2.2.1, 2.2.2.1, 2.2.3, 2.2.6 and 2.3.2: boolean resolution of `flag` is its
/// `enabled`, with no error; 2.2.4 and 2.2.5: a single-variant flag has no variant and the
/// reason `STATIC`; 2.2.9 and 2.2.10: flag metadata carries the configuration version.
#[tokio::test]
async fn boolean_of_a_flag_is_enabled() {
    let ((_file, agent), _api, client) = setup().await;
    let on = client
        .get_bool_details("newCheckout", None, None)
        .await
        .unwrap();
    assert!(on.value);
    assert_eq!(on.reason, Some(EvaluationReason::Static));
    assert_eq!(on.variant, None);
    let version = on.flag_metadata.values.get(VERSION_METADATA_KEY);
    assert!(
        matches!(version, Some(FlagMetadataValue::String(v)) if !v.is_empty()),
        "{version:?}"
    );

    let off = client.get_bool_details("banner", None, None).await.unwrap();
    assert!(!off.value);
    assert_eq!(off.reason, Some(EvaluationReason::Static));

    // The same through the plain value call.
    assert!(client
        .get_bool_value("newCheckout", None, None)
        .await
        .unwrap());
    agent.stop().await;
}

/// Requirement 2.2.9 is a SHOULD: `without_flag_metadata` leaves it out, the rest unchanged.
#[tokio::test]
async fn flag_metadata_can_be_left_out() {
    let (_file, agent) = serve_doc().await;
    let flags = steady_source(agent.addr().port());
    let (_api, client) = client(AppConfigProvider::new(flags).without_flag_metadata()).await;
    let details = client
        .get_bool_details("newCheckout", None, None)
        .await
        .unwrap();
    assert!(details.value);
    assert_eq!(details.reason, Some(EvaluationReason::Static));
    assert!(details.flag_metadata.values.is_empty());
    agent.stop().await;
}

/// Requirements 2.2.2.1, 2.2.3 and 2.2.8.1: integer, float, string, boolean and structure
/// resolution of `flag.attribute` (and structure of `flag`) read the typed value.
#[tokio::test]
async fn typed_resolution_reads_attributes() {
    let ((_file, agent), _api, client) = setup().await;
    assert_eq!(
        client
            .get_int_value("newCheckout.limit", None, None)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        client
            .get_float_value("newCheckout.ratio", None, None)
            .await
            .unwrap(),
        0.25
    );
    // A float is any number.
    assert_eq!(
        client
            .get_float_value("newCheckout.limit", None, None)
            .await
            .unwrap(),
        5.0
    );
    assert_eq!(
        client
            .get_string_value("newCheckout.theme", None, None)
            .await
            .unwrap(),
        "dark"
    );
    assert!(client
        .get_bool_value("newCheckout.express", None, None)
        .await
        .unwrap());
    let whole: StructValue = client
        .get_struct_value("newCheckout", None, None)
        .await
        .unwrap();
    assert_eq!(whole.fields.get("enabled"), Some(&Value::Bool(true)));
    assert_eq!(whole.fields.get("limit"), Some(&Value::Int(5)));
    assert_eq!(
        whole.fields.get("regions"),
        Some(&Value::Array(vec![
            Value::String("eu".into()),
            Value::String("us".into())
        ]))
    );
    let details = client
        .get_int_details("newCheckout.limit", None, None)
        .await
        .unwrap();
    assert_eq!(details.reason, Some(EvaluationReason::Static));
    agent.stop().await;
}

/// Requirements 2.2.7 and 2.3.3: a value of another type is `TYPE_MISMATCH`, with a message
/// that names the attribute and the types, never the value.
#[tokio::test]
async fn another_type_is_a_type_mismatch() {
    let ((_file, agent), _api, client) = setup().await;
    let result = client.get_int_value("newCheckout.theme", None, None).await;
    let message = result.as_ref().unwrap_err().message.clone().unwrap();
    assert_eq!(code(result), "TYPE_MISMATCH");
    assert!(
        message.contains("`theme`") && message.contains("string"),
        "{message}"
    );
    assert!(!message.contains("dark"), "the value leaked: {message}");

    assert_eq!(
        code(
            client
                .get_string_value("newCheckout.limit", None, None)
                .await
        ),
        "TYPE_MISMATCH"
    );
    // An integer is a JSON integer: 0.25 is not truncated to 0.
    assert_eq!(
        code(client.get_int_value("newCheckout.ratio", None, None).await),
        "TYPE_MISMATCH"
    );
    // A flag itself is a boolean.
    assert_eq!(
        code(client.get_float_value("newCheckout", None, None).await),
        "TYPE_MISMATCH"
    );
    assert_eq!(
        code(client.get_bool_value("newCheckout.limit", None, None).await),
        "TYPE_MISMATCH"
    );
    // Attributes are never objects.
    assert_eq!(
        code(
            client
                .get_struct_value::<StructValue>("newCheckout.regions", None, None)
                .await
        ),
        "TYPE_MISMATCH"
    );
    agent.stop().await;
}

/// Requirement 2.2.7: a flag missing from the configuration, an attribute the flag does not
/// have, and an attribute of a disabled flag (which has none) are `FLAG_NOT_FOUND`.
#[tokio::test]
async fn missing_flags_and_attributes_are_not_found() {
    let ((_file, agent), _api, client) = setup().await;
    assert_eq!(
        code(client.get_bool_value("noSuchFlag", None, None).await),
        "FLAG_NOT_FOUND"
    );
    assert_eq!(
        code(client.get_int_value("noSuchFlag.limit", None, None).await),
        "FLAG_NOT_FOUND"
    );
    assert_eq!(
        code(
            client
                .get_int_value("newCheckout.nothing", None, None)
                .await
        ),
        "FLAG_NOT_FOUND"
    );
    let result = client.get_string_value("banner.text", None, None).await;
    let message = result.as_ref().unwrap_err().message.clone().unwrap();
    assert_eq!(code(result), "FLAG_NOT_FOUND");
    assert!(message.contains("is off"), "{message}");
    agent.stop().await;
}

/// Requirements 3.1.1 and 3.1.2 (the context's fields and targeting key reach the flag
/// management system), 2.2.4 (the variant is `_variant`) and 2.2.5 (reasons): a rule's variant
/// is `TARGETING_MATCH`, the default variant `DEFAULT`, with or without a context.
#[tokio::test]
async fn the_context_picks_the_variant_and_the_reason_says_how() {
    let ((_file, agent), _api, client) = setup().await;

    let details = client
        .get_bool_details("discountBanner", Some(&gold()), None)
        .await
        .unwrap();
    assert!(details.value);
    assert_eq!(details.variant.as_deref(), Some("gold"));
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
    let percentage = client
        .get_float_details("discountBanner.percentage", Some(&gold()), None)
        .await
        .unwrap();
    assert_eq!(percentage.value, 20.0);
    assert_eq!(percentage.variant.as_deref(), Some("gold"));
    assert_eq!(percentage.reason, Some(EvaluationReason::TargetingMatch));

    // The targeting key is sent as the `targetingKey` context key (and the Entity-Id).
    let pilot = EvaluationContext::default().with_targeting_key("customer-7");
    let details = client
        .get_string_details("discountBanner.text", Some(&pilot), None)
        .await
        .unwrap();
    assert_eq!(details.value, "Pilot");
    assert_eq!(details.variant.as_deref(), Some("pilot"));
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));

    // A context no rule matches: the default variant, told apart from a rule's choice.
    let silver = EvaluationContext::default()
        .with_custom_field("tier", "silver")
        .with_targeting_key("customer-8");
    let details = client
        .get_int_details("discountBanner.percentage", Some(&silver), None)
        .await
        .unwrap();
    assert_eq!(details.value, 0);
    assert_eq!(details.variant.as_deref(), Some("plain"));
    assert_eq!(details.reason, Some(EvaluationReason::Default));

    // No context: the default variant.
    let details = client
        .get_bool_details("discountBanner", None, None)
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("plain"));
    assert_eq!(details.reason, Some(EvaluationReason::Default));

    // A single-variant flag stays STATIC with a context.
    let details = client
        .get_bool_details("newCheckout", Some(&gold()), None)
        .await
        .unwrap();
    assert_eq!(details.reason, Some(EvaluationReason::Static));
    agent.stop().await;
}

/// Requirement 3.1.2: custom fields of every type the context supports reach the agent
/// (integer, boolean, float, date-time in RFC 3339); a structure field, and a value the agent
/// cannot be sent, are `INVALID_CONTEXT` (Requirement 2.2.7), naming the key, not the value.
#[tokio::test]
async fn context_fields_of_each_type() {
    let ((_file, agent), _api, client) = setup().await;
    let signed_up = time::OffsetDateTime::from_unix_timestamp(1_685_577_600).unwrap(); // 2023-06-01
    let matching = EvaluationContext::default()
        .with_custom_field("age", 30)
        .with_custom_field("beta", true)
        .with_custom_field("score", 0.25)
        .with_custom_field("signedUp", signed_up);
    let details = client
        .get_bool_details("typed", Some(&matching), None)
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("hit"));
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));

    // Each field matters: one changed, the rule no longer matches.
    let later = time::OffsetDateTime::from_unix_timestamp(1_717_200_000).unwrap(); // 2024-06-01
    for context in [
        matching.clone().with_custom_field("age", 17),
        matching.clone().with_custom_field("beta", false),
        matching.clone().with_custom_field("score", 0.75),
        matching.clone().with_custom_field("signedUp", later),
    ] {
        let details = client
            .get_bool_details("typed", Some(&context), None)
            .await
            .unwrap();
        assert_eq!(details.variant.as_deref(), Some("miss"), "{context:?}");
        assert_eq!(details.reason, Some(EvaluationReason::Default));
    }

    let with_struct = gold().with_custom_field(
        "profile",
        EvaluationContextFieldValue::Struct(Arc::new(42u8)),
    );
    let result = client
        .get_bool_value("discountBanner", Some(&with_struct), None)
        .await;
    let message = result.as_ref().unwrap_err().message.clone().unwrap();
    assert_eq!(code(result), "INVALID_CONTEXT");
    assert!(message.contains("`profile`"), "{message}");

    let with_comma = EvaluationContext::default().with_custom_field("tier", "gold,silver");
    let result = client
        .get_bool_value("discountBanner", Some(&with_comma), None)
        .await;
    let message = result.as_ref().unwrap_err().message.clone().unwrap();
    assert_eq!(code(result), "INVALID_CONTEXT");
    assert!(
        message.contains("`tier`") && !message.contains("silver"),
        "{message}"
    );
    agent.stop().await;
}

/// Section 3.2 (context levels and merging, done by the SDK) reaches the provider: a client-level
/// context targets as an invocation context does.
#[tokio::test]
async fn a_client_context_is_sent_too() {
    let ((_file, agent), _api, mut client) = setup().await;
    client.set_evaluation_context(gold());
    let details = client
        .get_bool_details("discountBanner", None, None)
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("gold"));
    // The invocation context wins over the client's.
    let silver = EvaluationContext::default().with_custom_field("tier", "silver");
    let details = client
        .get_bool_details("discountBanner", Some(&silver), None)
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("plain"));
    agent.stop().await;
}

/// The mapping itself: the targeting key is the `Entity-Id` and the `targetingKey` pair.
#[test]
fn the_targeting_key_is_the_entity_id() {
    let context = flag_openfeature::to_appconfig(
        &EvaluationContext::default()
            .with_targeting_key("customer-7")
            .with_custom_field("targetingKey", "ignored")
            .with_custom_field("tier", "gold"),
    )
    .unwrap();
    assert_eq!(context.entity_id(), Some("customer-7"));
    assert_eq!(context.get("targetingKey"), Some("customer-7"));
    assert_eq!(context.get("tier"), Some("gold"));
    let empty = flag_openfeature::to_appconfig(&EvaluationContext::default()).unwrap();
    assert!(empty.is_empty());
    // A targeting key a context value cannot carry (a `,`) is still the `Entity-Id`.
    let named = flag_openfeature::to_appconfig(
        &EvaluationContext::default().with_targeting_key("Doe, John"),
    )
    .unwrap();
    assert_eq!(named.entity_id(), Some("Doe, John"));
    assert_eq!(named.get("targetingKey"), None);
}

/// A date-time RFC 3339 cannot write (an offset with seconds) is `INVALID_CONTEXT`, naming the
/// key (Requirement 2.2.7), rather than a value the agent would misread.
#[test]
fn an_unwritable_date_time_is_an_invalid_context() {
    let odd = time::OffsetDateTime::from_unix_timestamp(1_685_577_600)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(1, 0, 30).unwrap());
    let error = flag_openfeature::to_appconfig(
        &EvaluationContext::default().with_custom_field("signedUp", odd),
    )
    .unwrap_err();
    assert_eq!(
        error.code,
        open_feature::EvaluationErrorCode::InvalidContext
    );
    assert!(error.message.unwrap().contains("`signedUp`"));
}

/// Inside an invocation scope, the scope's context is the transaction context: it fills what
/// the evaluation context lacks, and loses to what it sets.
#[tokio::test]
async fn the_invocation_scope_is_the_transaction_context() {
    let (_file, agent) = serve_doc().await;
    let flags = steady_source(agent.addr().port());
    let (_api, client) = client(AppConfigProvider::new(flags.clone())).await;
    let gold = flag_runtime::Context::new().with("tier", "gold");
    let silver = EvaluationContext::default().with_custom_field("tier", "silver");
    let pilot = EvaluationContext::default().with_targeting_key("customer-7");
    let variant =
        |details: Result<EvaluationDetails<bool>, EvaluationError>| details.unwrap().variant;
    let (scoped, set, added) = flags
        .scope(gold, async {
            (
                variant(client.get_bool_details("discountBanner", None, None).await),
                variant(
                    client
                        .get_bool_details("discountBanner", Some(&silver), None)
                        .await,
                ),
                variant(
                    client
                        .get_bool_details("discountBanner", Some(&pilot), None)
                        .await,
                ),
            )
        })
        .await;
    assert_eq!(scoped.as_deref(), Some("gold"), "the scope's context");
    assert_eq!(
        set.as_deref(),
        Some("plain"),
        "the evaluation's own key wins"
    );
    assert_eq!(
        added.as_deref(),
        Some("gold"),
        "the scope's tier and the evaluation's targeting key: the first rule matching"
    );
    let outside = variant(client.get_bool_details("discountBanner", None, None).await);
    assert_eq!(outside.as_deref(), Some("plain"), "outside the scope");
}
