//! Each AppConfig rule the validator enforces, with the message a user sees.

use flag_schema::{Document, SchemaError};
use serde_json::json;

fn problems(doc: serde_json::Value) -> Vec<String> {
    match Document::parse(&doc.to_string()) {
        Ok(_) => Vec::new(),
        Err(SchemaError::Invalid(p)) => p.iter().map(ToString::to_string).collect(),
        Err(e) => vec![e.to_string()],
    }
}

fn assert_problem(doc: serde_json::Value, needle: &str) {
    let found = problems(doc);
    assert!(
        found.iter().any(|p| p.contains(needle)),
        "expected a problem containing {needle:?}, got {found:#?}"
    );
}

#[test]
fn example_document_is_valid() {
    let text = include_str!("../../example-lambda/flags.json");
    let doc = Document::parse(text).expect("the example flags file is valid");
    assert!(doc.flag("newCheckout").is_some());
    assert!(doc.flag("legacyReceipt").unwrap().deprecation.is_some());
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let err = Document::parse("{\n  \"version\": \"1\",\n  \"flags\": {,}\n}").unwrap_err();
    match &err {
        SchemaError::Syntax { line, column, .. } => assert_eq!((*line, *column), (3, 13)),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with("invalid JSON at line 3, column 13"));
}

#[test]
fn version_must_be_the_string_1() {
    assert_problem(
        json!({"version": "2"}),
        "`version`: must be the string \"1\", found another string",
    );
    assert_problem(json!({"version": 1}), "found a number");
    assert_problem(json!({"flags": {}}), "`version`: missing");
    assert!(problems(json!({"version": "1"})).is_empty());
}

#[test]
fn unknown_keys_are_refused_everywhere() {
    assert_problem(
        json!({"version": "1", "flag": {}}),
        "`flag`: unknown top-level key",
    );
    assert_problem(
        json!({"version": "1", "flags": {"a": {"atributes": {}}}}),
        "`flags.a.atributes`: unknown key in a flag definition",
    );
}

#[test]
fn flag_and_attribute_keys_follow_the_pattern() {
    assert_problem(
        json!({"version": "1", "flags": {"New": {}}}),
        "`New` is not a valid flag key",
    );
    assert_problem(
        json!({"version": "1", "flags": {"a": {"attributes": {"Bad Key": {}}}}}),
        "`Bad Key` is not a valid attribute key",
    );
    assert_problem(
        json!({"version": "1", "flags": {"a": {"attributes": {"enabled": {}}}}}),
        "`enabled` is reserved",
    );
}

#[test]
fn values_must_name_defined_flags() {
    assert_problem(
        json!({"version": "1", "flags": {"newCheckout": {}}, "values": {"newChekout": {"enabled": true}}}),
        "value for undefined flag `newChekout`; did you mean `newCheckout`?",
    );
    assert_problem(
        json!({"version": "1", "flags": {"a": {}}, "values": {"a": {"enabled": "yes"}}}),
        "`values.a.enabled`: must be a boolean, found a string",
    );
    assert_problem(
        json!({"version": "1", "flags": {"a": {}}, "values": {"a": {}}}),
        "missing `enabled`",
    );
}

fn with_attr(constraints: serde_json::Value, value: serde_json::Value) -> serde_json::Value {
    json!({
        "version": "1",
        "flags": {"f": {"attributes": {"x": {"constraints": constraints}}}},
        "values": {"f": {"enabled": true, "x": value}}
    })
}

#[test]
fn attribute_values_meet_their_constraints() {
    assert_problem(
        with_attr(json!({"type": "number", "maximum": 10}), json!(12)),
        "`values.f.x`: the number is above the maximum 10",
    );
    assert_problem(
        with_attr(json!({"type": "number", "minimum": 1}), json!(0)),
        "`values.f.x`: the number is below the minimum 1",
    );
    assert_problem(
        with_attr(json!({"type": "number"}), json!("5")),
        "expected a number, found a string",
    );
    assert_problem(
        with_attr(
            json!({"type": "string", "enum": ["light", "dark"]}),
            json!("blue"),
        ),
        "the string is not one of the allowed values [\"light\", \"dark\"]",
    );
    assert_problem(
        with_attr(
            json!({"type": "string", "pattern": "^[A-Z]+$"}),
            json!("abc"),
        ),
        "the string does not match the pattern `^[A-Z]+$`",
    );
    assert_problem(
        with_attr(json!({"type": "boolean"}), json!(1)),
        "expected a boolean",
    );
    assert_problem(
        with_attr(
            json!({"type": "array", "elements": {"type": "number", "maximum": 3}}),
            json!([1, 4]),
        ),
        "`values.f.x[1]`: the number is above the maximum 3",
    );
    assert_problem(
        with_attr(json!({"type": "string"}), json!({"a": 1})),
        "found an object",
    );
    assert!(problems(with_attr(
        json!({"type": "number", "minimum": 1, "maximum": 10}),
        json!(5)
    ))
    .is_empty());
}

#[test]
fn required_attributes_need_a_value_when_enabled() {
    let doc = |enabled: bool| {
        json!({
            "version": "1",
            "flags": {"f": {"attributes": {"limit": {"constraints": {"type": "number", "required": true}}}}},
            "values": {"f": {"enabled": enabled}}
        })
    };
    assert_problem(doc(true), "required attribute `limit` has no value");
    assert!(
        problems(doc(false)).is_empty(),
        "a disabled flag carries no attributes"
    );
}

#[test]
fn constraint_definitions_are_checked() {
    assert_problem(
        json!({"version": "1", "flags": {"f": {"attributes": {"x": {"constraints": {"type": "string", "pattern": "a", "enum": ["a"]}}}}}}),
        "`pattern` or `enum`, not both",
    );
    assert_problem(
        json!({"version": "1", "flags": {"f": {"attributes": {"x": {"constraints": {"type": "string", "pattern": "("}}}}}}),
        "invalid regular expression",
    );
    assert_problem(
        json!({"version": "1", "flags": {"f": {"attributes": {"x": {"constraints": {"type": "date"}}}}}}),
        "`flags.f.attributes.x.constraints.type`: unknown constraint type (expected number, string, boolean or array)",
    );
}

#[test]
fn deprecation_is_read() {
    let doc = Document::parse(
        &json!({"version": "1", "flags": {"old": {"_deprecation": {"status": "planned", "date": "2027-01-31"}}}}).to_string(),
    )
    .unwrap();
    let dep = doc.flag("old").unwrap().deprecation.as_ref().unwrap();
    assert_eq!(dep.date.as_deref(), Some("2027-01-31"));
    assert_problem(
        json!({"version": "1", "flags": {"old": {"_deprecation": {"status": "soon"}}}}),
        "`flags.old._deprecation.status`: must be \"planned\", found another string",
    );
    assert_problem(
        json!({"version": "1", "flags": {"old": {"_deprecation": {"date": 20270131}}}}),
        "`flags.old._deprecation.date`: must be a date `YYYY-MM-DD`, found a number",
    );
}

/// The local agent logs these messages and answers them in its 500s: a value (here a marker in
/// every place a value can break a rule) must never appear in one, only keys and positions.
#[test]
fn messages_never_quote_a_value() {
    const V: &str = "s3cr3t";
    let doc = json!({
        "version": V,
        "flags": {
            "f": {
                "_createdAt": 7,
                "_deprecation": {"status": V, "date": V},
                "attributes": {
                    "n": {"constraints": {"type": "number", "minimum": 1, "maximum": 3}},
                    "e": {"constraints": {"type": "string", "enum": ["a", "b"]}},
                    "p": {"constraints": {"type": "string", "pattern": "^[0-9]+$"}},
                    "b": {"constraints": {"type": "boolean"}},
                    "l": {"constraints": {"type": "array", "elements": {"type": "number", "maximum": 1}}},
                    "t": {"constraints": {"type": V}}
                }
            }
        },
        "values": {
            "f": {
                "enabled": V,
                "n": 987654321,
                "e": V,
                "p": V,
                "b": V,
                "l": [123456789],
                "_variants": [{"name": "x", "enabled": true, "rule": 5, "attributeValues": {"n": V}}]
            }
        }
    });
    let found = problems(doc);
    assert!(found.len() >= 10, "{found:#?}");
    for problem in &found {
        for value in [V, "987654321", "123456789"] {
            assert!(!problem.contains(value), "a value is quoted in {problem:?}");
        }
    }
    for needle in [
        "`version`: must be the string \"1\", found another string",
        "`values.f.enabled`: must be a boolean, found a string",
        "`values.f.n`: the number is above the maximum 3",
        "`values.f.e`: the string is not one of the allowed values",
        "`values.f.p`: the string does not match the pattern",
        "`values.f.b`: expected a boolean, found a string",
        "`values.f.l[0]`: the number is above the maximum 1",
        "`values.f._variants[0].attributeValues.n`: expected a number, found a string",
    ] {
        assert!(
            found.iter().any(|p| p.contains(needle)),
            "expected {needle:?} in {found:#?}"
        );
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let found = problems(json!({"version": "2", "flags": {"Bad": {}, "ok": {"name": ""}}}));
    assert_eq!(found.len(), 3, "{found:#?}");
}

#[test]
fn evaluation_matches_the_agent() {
    let doc = Document::parse(
        &json!({
            "version": "1",
            "flags": {
                "on": {"attributes": {"limit": {}}},
                "off": {"attributes": {"limit": {}}},
                "unset": {},
                "multi": {"attributes": {"color": {}}}
            },
            "values": {
                "on": {"enabled": true, "limit": 5, "_createdAt": "2024-01-01T00:00:00Z"},
                "off": {"enabled": false, "limit": 5},
                "multi": {"enabled": true, "_variants": [
                    {"name": "beta", "enabled": true, "rule": "(eq $tier \"beta\")", "attributeValues": {"color": "red"}},
                    {"name": "default", "enabled": true, "attributeValues": {"color": "blue"}}
                ]}
            }
        })
        .to_string(),
    )
    .unwrap();
    let all = doc.evaluate();
    assert_eq!(all["on"], json!({"enabled": true, "limit": 5}));
    assert_eq!(
        all["off"],
        json!({"enabled": false}),
        "disabled flags come back without attributes"
    );
    assert_eq!(all["unset"], json!({"enabled": false}));
    assert_eq!(
        all["multi"],
        json!({"enabled": true, "color": "blue", "_variant": "default"})
    );
    assert_eq!(
        doc.evaluate_flag("on"),
        Some(json!({"enabled": true, "limit": 5}))
    );
    assert_eq!(doc.evaluate_flag("nope"), None);
}
