#![deny(deprecated)]

use flag_macros::feature_flag;

#[feature_flag("legacyReceipt", fallback = old)]
fn receipt() {}

fn old() {}

fn main() {}
