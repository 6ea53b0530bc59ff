//! The Rust names of schema keys: constants in SCREAMING_SNAKE_CASE, types in UpperCamelCase,
//! fields in snake_case (through `heck`), and the collisions case conversion can cause.

use std::collections::BTreeMap;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// The static of flag `key`.
pub(crate) fn constant(key: &str) -> String {
    key.to_shouty_snake_case()
}

/// The struct of flag `key`'s value.
pub(crate) fn type_name(key: &str) -> String {
    key.to_upper_camel_case()
}

/// The field of attribute `key`.
pub(crate) fn field(key: &str) -> String {
    key.to_snake_case()
}

/// The enum variant of a variant named `name` (any text): UpperCamelCase, prefixed with `V`
/// when it would start with a digit.
pub(crate) fn variant(name: &str) -> String {
    let camel = name.to_upper_camel_case();
    if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{camel}")
    } else {
        camel
    }
}

/// `name` as an identifier (a raw one for a keyword), or why it cannot be one.
pub(crate) fn ident(name: &str, span: Span, what: &str) -> Result<Ident, String> {
    if name.is_empty() {
        return Err(format!(
            "{what} has no Rust name: nothing is left of it after case conversion"
        ));
    }
    // Reserved in some edition but not a keyword to syn (`gen` since 2024): raw, valid in
    // every edition of the user's crate.
    let reserved = matches!(name, "gen" | "try" | "async" | "await" | "dyn");
    if !reserved && syn::parse_str::<Ident>(name).is_ok() {
        return Ok(Ident::new(name, span));
    }
    match syn::parse_str::<Ident>(&format!("r#{name}")) {
        Ok(_) if !matches!(name, "self" | "Self" | "super" | "crate") => {
            Ok(Ident::new_raw(name, span))
        }
        _ => Err(format!(
            "{what} becomes `{name}`, which cannot be a Rust name"
        )),
    }
}

/// Names taken in one namespace, and by what, so that a collision names both.
#[derive(Default)]
pub(crate) struct Taken {
    by: BTreeMap<String, String>,
}

impl Taken {
    /// Takes `name` for `what` (a description such as "feature flag `newCheckout`"), or says
    /// what already has it.
    pub(crate) fn take(&mut self, name: &str, what: String) -> Result<(), String> {
        match self.by.get(name) {
            Some(first) => Err(format!(
                "{first} and {what} both become `{name}` after case conversion; rename one of them in the schema"
            )),
            None => {
                self.by.insert(name.to_owned(), what);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(constant("newCheckout"), "NEW_CHECKOUT");
        assert_eq!(constant("new-checkout_v2"), "NEW_CHECKOUT_V2");
        assert_eq!(type_name("discountBanner"), "DiscountBanner");
        assert_eq!(field("maxItems"), "max_items");
        assert_eq!(variant("gold tier"), "GoldTier");
        assert_eq!(variant("10pct"), "V10pct");
    }

    #[test]
    fn keywords_are_raw_or_refused() {
        let span = Span::call_site();
        assert_eq!(ident("type", span, "x").unwrap().to_string(), "r#type");
        // A keyword of edition 2024 that syn parses as an identifier.
        assert_eq!(ident("gen", span, "x").unwrap().to_string(), "r#gen");
        assert!(ident("self", span, "attribute `self`")
            .unwrap_err()
            .contains("`self`"));
        assert!(ident("", span, "variant ``").is_err());
    }

    #[test]
    fn a_collision_names_both() {
        let mut taken = Taken::default();
        taken
            .take("NEW_CHECKOUT", "feature flag `newCheckout`".into())
            .unwrap();
        let error = taken
            .take("NEW_CHECKOUT", "feature flag `new_checkout`".into())
            .unwrap_err();
        assert!(
            error.starts_with("feature flag `newCheckout` and feature flag `new_checkout` both become `NEW_CHECKOUT`"),
            "{error}"
        );
    }
}
