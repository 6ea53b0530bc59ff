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
