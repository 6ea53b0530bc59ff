//! Flags documents more than one test crate serves.

use serde_json::{json, Value};

/// A multi-variant `discount` (variant `gold` for `tier=gold`, `silver` for `tier=silver`,
/// else the default `plain`, which is off) and a plain `newCheckout`, on or off.
pub fn tiers_doc(new_checkout: bool) -> Value {
    json!({
        "version": "1",
        "flags": {"discount": {"name": "Discount"}, "newCheckout": {"name": "New checkout"}},
        "values": {
            "discount": {"_variants": [
                {"name": "gold", "enabled": true, "rule": "(eq $tier \"gold\")"},
                {"name": "silver", "enabled": true, "rule": "(eq $tier \"silver\")"},
                {"name": "plain", "enabled": false}
            ]},
            "newCheckout": {"enabled": new_checkout}
        }
    })
}

/// A `checkoutButton` with a string `color` (deployed: on, `blue`) and a plain `banner`.
pub fn button_doc() -> Value {
    json!({
        "version": "1",
        "flags": {
            "checkoutButton": {"name": "Checkout button",
                "attributes": {"color": {"constraints": {"type": "string"}}}},
            "banner": {"name": "Banner"}
        },
        "values": {
            "checkoutButton": {"enabled": true, "color": "blue"},
            "banner": {"enabled": true}
        }
    })
}

/// The experiments file of [`button_doc`]: `green-button` on `checkoutButton` for the audience
/// `country=NZ`, control blue and one treatment green at equal weights, with `run` as its
/// `Run` (none: no active run).
pub fn button_experiments(run: Option<Value>) -> Value {
    let mut experiment = json!({
        "Name": "green-button",
        "FlagKey": "checkoutButton",
        "AudienceRule": "(eq $country \"NZ\")",
        "Control": {"Enabled": true, "Weight": 1,
                    "AttributeValues": {"color": {"StringValue": "blue"}}},
        "Treatments": [{"Enabled": true, "Weight": 1,
                        "AttributeValues": {"color": {"StringValue": "green"}}}]
    });
    if let Some(run) = run {
        experiment["Run"] = run;
    }
    json!({"experiments": [experiment]})
}
