#![deny(deprecated)]

use flag_macros::{feature_flag, flags};

// Each gate warns about its own flag's rules only.
#[feature_flag("newCheckout", fallback = old)]
fn checkout() {}

#[feature_flag("region", fallback = old)]
fn banner() {}

// No warning: this flag's rules are fine.
#[feature_flag("plain", fallback = old)]
fn plain() {}

// The typed module warns about every flag, once, at the macro.
flags!(pub mod typed);

fn old() {}

fn main() {}
