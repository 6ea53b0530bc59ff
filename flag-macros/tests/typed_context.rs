//! `flags!`'s typed context for keys named like methods, keywords or predicates: each gets a
//! method, and no lint fires in the generated code.
#![deny(warnings, missing_docs, clippy::pedantic)]

flag_macros::flags!(
    /// The flags of `tests/context_keys.json`.
    mod flags,
    schema = "tests/context_keys.json"
);

#[test]
fn every_key_has_a_method_of_the_type_the_rules_compare_it_with() {
    let context = flags::context()
        .set_get("x") // `get` is `Context::get`, reached through `Deref`
        .set_default(1) // and `default` the trait's
        .is_beta(true)
        .next(7u8) // read by `exists`: any value
        .since("2024-02-01T00:00:00Z")
        .r#type("t")
        .with_entity_id("e-1");
    let pairs: Vec<_> = context.pairs().collect(); // in the order they were set
    assert_eq!(
        pairs,
        [
            ("get", "x"),
            ("default", "1"),
            ("isBeta", "true"),
            ("next", "7"),
            ("since", "2024-02-01T00:00:00Z"),
            ("type", "t")
        ]
    );
    assert_eq!(
        context.get("get"),
        Some("x"),
        "`Context::get` is still there"
    );
    assert_eq!(context.entity_id(), Some("e-1"));
    let copy = context.clone();
    let runtime: flag_runtime::Context = copy.into();
    assert_eq!(runtime.pairs().count(), 6);
}
