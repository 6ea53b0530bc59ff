//! AppConfig experiments through OpenFeature, from the local agent running an experiments
//! file over real HTTP: a treatment resolves with its key as the variant, the reason `SPLIT`
//! and the key in the flag metadata; an entity outside the audience resolves as before.

mod common;

use common::*;
use flag_openfeature::{AppConfigProvider, TREATMENT_METADATA_KEY};
use open_feature::{EvaluationContext, EvaluationReason, FlagMetadataValue};
use serde_json::json;

#[tokio::test]
async fn a_treatment_resolves_as_a_split_with_its_key() {
    let file = FlagsFile::new(&doc());
    file.write_experiments(&json!({"experiments": [{
        "Name": "banner-text",
        "FlagKey": "banner",
        "AudienceRule": "(eq $tier \"silver\")",
        "Control": {"Enabled": false, "Weight": 1},
        "Treatments": [{"Enabled": true, "Weight": 1,
                        "AttributeValues": {"text": {"StringValue": "Hello"}}}],
        "Run": {"ExposurePercentage": 100, "TreatmentOverrides": {"Inline": {"customer-1": "__t1__"}}}
    }]}));
    let agent = start_agent(&file).await;
    let flags = steady_source(agent.addr().port());
    flags.add_experiments(["banner"]);
    let (_api, client) = client(AppConfigProvider::new(flags)).await;

    let silver = |id: &str| {
        EvaluationContext::default()
            .with_targeting_key(id)
            .with_custom_field("tier", "silver")
    };
    let treated = client
        .get_bool_details("banner", Some(&silver("customer-1")), None)
        .await
        .unwrap();
    assert!(treated.value);
    assert_eq!(treated.variant.as_deref(), Some("__t1__"));
    assert_eq!(treated.reason, Some(EvaluationReason::Split));
    assert_eq!(
        treated.flag_metadata.values.get(TREATMENT_METADATA_KEY),
        Some(&FlagMetadataValue::String("__t1__".to_owned()))
    );
    let text = client
        .get_string_value("banner.text", Some(&silver("customer-1")), None)
        .await
        .unwrap();
    assert_eq!(text, "Hello");

    // Outside the audience: the deployed value, no treatment key.
    let gold = EvaluationContext::default()
        .with_targeting_key("customer-2")
        .with_custom_field("tier", "gold");
    let plain = client
        .get_bool_details("banner", Some(&gold), None)
        .await
        .unwrap();
    assert!(!plain.value);
    assert_eq!(plain.reason, Some(EvaluationReason::Static));
    assert_eq!(plain.flag_metadata.values.get(TREATMENT_METADATA_KEY), None);
    agent.stop().await;
}
