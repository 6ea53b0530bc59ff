#![allow(dead_code)]
//! Shared helpers: the workspace's test kit (`flag-testkit`: the local agent on a free port, a
//! source on it, a raw-HTTP hostile agent, log capture), and this crate's flags document.

use serde_json::{json, Value};

pub use flag_testkit::*;

/// A flags document with `newCheckout` (attribute `limit`) and `banner`.
pub fn doc(new_checkout: bool, limit: u32) -> Value {
    json!({
        "version": "1",
        "flags": {
            "newCheckout": {"name": "New checkout", "attributes": {"limit": {"constraints": {"type": "number"}}}},
            "banner": {"name": "Banner"}
        },
        "values": {
            "newCheckout": {"enabled": new_checkout, "limit": limit},
            "banner": {"enabled": false}
        }
    })
}
