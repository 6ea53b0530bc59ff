//! Each AppConfig rule the validator enforces, with the message a user sees.

use flag_schema::{Document, RuleContext, SchemaError};
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
                "_variants": [
                    {"name": "x", "enabled": true, "rule": 5, "attributeValues": {"n": V}},
                    {"name": "y", "enabled": true, "rule": "(eq $user \"s3cr3t\" s3cr3t)"},
                    {"name": "z", "enabled": true, "attributeValues": {"e": V, "l": [987654321]}}
                ]
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
        "`values.f._variants[1].rule`: flag `f`, variant `y`: invalid rule at line 1, column 20 of the rule",
        "`values.f._variants[2].attributeValues.e`: the string is not one of the allowed values",
        "`values.f._variants[2].attributeValues.l[0]`: the number is above the maximum 1",
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

fn variants_doc(variants: serde_json::Value) -> serde_json::Value {
    json!({
        "version": "1",
        "flags": {"f": {"attributes": {
            "color": {"constraints": {"type": "string", "enum": ["red", "blue"], "required": true}},
            "size": {"constraints": {"type": "number", "maximum": 10}}
        }}},
        "values": {"f": {"_variants": variants}}
    })
}

#[test]
fn enabled_is_optional_beside_variants_only() {
    let doc = variants_doc(json!([{"name": "d", "enabled": false}]));
    assert!(problems(doc).is_empty());
    assert_problem(
        json!({"version": "1", "flags": {"a": {}}, "values": {"a": {"_createdAt": "x"}}}),
        "`values.a`: missing `enabled`",
    );
}

#[test]
fn variants_follow_the_published_schema() {
    let default = json!({"name": "d", "enabled": false});
    let rule = |name: &str| json!({"name": name, "enabled": false, "rule": "(exists key::\"a\")"});

    let mut many: Vec<_> = (0..32).map(|i| rule(&format!("v{i}"))).collect();
    many.push(default.clone());
    assert_problem(
        variants_doc(json!(many)),
        "`values.f._variants`: 33 variants; AppConfig allows at most 32",
    );
    many.remove(0);
    assert!(problems(variants_doc(json!(many))).is_empty(), "32 is fine");

    assert_problem(variants_doc(json!([])), "`values.f._variants`: no variants");
    assert_problem(
        variants_doc(json!([rule("a"), rule("b")])),
        "`values.f._variants[1].rule`: the last variant is the default and takes no `rule`",
    );
    assert_problem(
        variants_doc(json!([default.clone(), default.clone()])),
        "`values.f._variants[0]`: only the last (default) variant may omit `rule`",
    );
    assert_problem(
        variants_doc(json!([{"name": "d", "enabled": false, "description": "x"}])),
        "`values.f._variants[0].description`: unknown key in a variant",
    );
    assert_problem(
        variants_doc(json!([{"enabled": false}])),
        "`values.f._variants[0]`: a variant needs a `name`",
    );
    assert_problem(
        variants_doc(json!([{"name": "d"}])),
        "`values.f._variants[0]`: a variant needs `enabled`",
    );
    assert_problem(
        variants_doc(json!([{"name": "", "enabled": false}])),
        "`values.f._variants[0].name`: must be 1 to 64 characters, found 0",
    );
    assert_problem(
        variants_doc(json!([{"name": "a\nb", "enabled": false}])),
        "`values.f._variants[0].name`: must not contain a line break",
    );
    let long_rule = format!("(eq $a \"{}\")", "x".repeat(16_380));
    assert_problem(
        variants_doc(json!([{"name": "a", "enabled": false, "rule": long_rule}, default])),
        "`values.f._variants[0].rule`: flag `f`, variant `a`: the rule has 16390 characters; AppConfig allows at most 16384",
    );
}

#[test]
fn variant_attribute_values_meet_the_constraints() {
    assert_problem(
        variants_doc(json!([{"name": "d", "enabled": true, "attributeValues": {"color": "green"}}])),
        "`values.f._variants[0].attributeValues.color`: the string is not one of the allowed values",
    );
    assert_problem(
        variants_doc(
            json!([{"name": "d", "enabled": true, "attributeValues": {"color": "red", "size": 11}}]),
        ),
        "`values.f._variants[0].attributeValues.size`: the number is above the maximum 10",
    );
    assert_problem(
        variants_doc(json!([{"name": "d", "enabled": true, "attributeValues": {"colour": "red"}}])),
        "attribute `colour` is not defined for this flag; did you mean `color`?",
    );
    assert_problem(
        variants_doc(json!([{"name": "d", "enabled": true, "attributeValues": {"size": 1}}])),
        "`values.f._variants[0]`: required attribute `color` has no value",
    );
    assert!(
        problems(variants_doc(json!([{"name": "d", "enabled": false}]))).is_empty(),
        "a disabled variant needs no required attribute"
    );
}

/// The macro shows this as a compile error: it names the flag, the variant, the position in the
/// rule and where the rule string starts in the file.
#[test]
fn a_rule_that_does_not_parse_names_flag_variant_and_positions() {
    let text = r#"{
  "version": "1",
  "flags": {"banner": {}},
  "values": {
    "banner": {
      "_variants": [
        {"name": "QA", "enabled": true, "rule": "(ends_with $email)"},
        {"name": "Beta", "enabled": true,
         "rule": "(or\n  (exists key::\"beta\")\n  (eqq $tier \"beta\"))"},
        {"name": "Default", "enabled": false}
      ]
    }
  }
}"#;
    let err = Document::parse(text).unwrap_err().to_string();
    assert_eq!(
        err,
        "2 problems:\n  \
         - `values.banner._variants[0].rule`: flag `banner`, variant `QA`: invalid rule at line 1, column 2 of the rule (the rule string starts at line 7, column 49 of the document): `ends_with` takes 2 operands, found 1\n  \
         - `values.banner._variants[1].rule`: flag `banner`, variant `Beta`: invalid rule at line 3, column 4 of the rule (the rule string starts at line 9, column 18 of the document): unknown operator (expected one of eq, ne, gt, gte, lt, lte, and, or, not, begins_with, ends_with, contains, in, matches, exists, split); did you mean `eq`?"
    );
}

#[test]
fn constraint_details_follow_the_published_schema() {
    let with_constraint = |c: serde_json::Value| json!({"version": "1", "flags": {"f": {"attributes": {"x": {"constraints": c}}}}});
    // `minimum` and `maximum` are `integer` (5.0 is one in JSON Schema).
    assert_problem(
        with_constraint(json!({"type": "number", "minimum": 0.5})),
        "`flags.f.attributes.x.constraints.minimum`: must be an integer",
    );
    assert!(problems(with_constraint(
        json!({"type": "number", "minimum": 1, "maximum": 5.0})
    ))
    .is_empty());
    // `enum` items: strings or integers, at most 100; empty is allowed by the schema.
    assert!(problems(with_constraint(
        json!({"type": "string", "enum": ["a", 1, 2.0]})
    ))
    .is_empty());
    assert!(problems(with_constraint(json!({"type": "string", "enum": []}))).is_empty());
    assert_problem(
        with_constraint(json!({"type": "string", "enum": ["a", 1.5, true]})),
        "`flags.f.attributes.x.constraints.enum[1]`: must be a string or an integer, found a number with a fraction",
    );
    assert_problem(
        with_constraint(json!({"type": "string", "enum": (0..101).collect::<Vec<_>>()})),
        "`flags.f.attributes.x.constraints.enum`: 101 items; AppConfig allows at most 100",
    );
    assert_problem(
        with_constraint(json!({"type": "string", "pattern": "a".repeat(1025)})),
        "`flags.f.attributes.x.constraints.pattern`: 1025 characters; AppConfig allows at most 1024",
    );
    // An integer `enum` item allows the string of its decimal text.
    let doc = json!({
        "version": "1",
        "flags": {"f": {"attributes": {"x": {"constraints": {"type": "string", "enum": [7, "b"]}}}}},
        "values": {"f": {"enabled": true, "x": "7"}}
    });
    assert!(problems(doc).is_empty());
}

#[test]
fn attribute_value_shapes_follow_the_published_schema() {
    let value = |v: serde_json::Value| json!({"version": "1", "flags": {"f": {"attributes": {"x": {}}}}, "values": {"f": {"enabled": true, "x": v}}});
    assert!(
        problems(value(json!((0..100).collect::<Vec<_>>()))).is_empty(),
        "the schema sets no item limit on arrays"
    );
    assert_problem(
        value(json!(["ok", "x".repeat(1025)])),
        "`values.f.x[1]`: string of 1025 characters; AppConfig allows at most 1024",
    );
    assert_problem(value(json!([])), "`values.f.x`: an empty array");
    assert_problem(value(json!([1, "a"])), "only strings or only numbers");
}

#[test]
fn names_and_descriptions_follow_the_published_schema() {
    let flag = |def: serde_json::Value| json!({"version": "1", "flags": {"f": def}});
    assert!(
        problems(flag(json!({"description": ""}))).is_empty(),
        "no minimum length"
    );
    assert_problem(
        flag(json!({"description": "x".repeat(1025)})),
        "`flags.f.description`: must be at most 1024 characters, found 1025",
    );
    assert!(
        problems(flag(json!({"name": "carriage\rreturn"}))).is_empty(),
        "`^[^\\n]{{1,64}}$` bans only the line feed"
    );
    assert_problem(
        flag(json!({"name": "two\nlines"})),
        "must not contain a line break",
    );
}

#[test]
fn multi_variant_evaluation_serves_the_first_match() {
    let doc = Document::parse(
        &json!({
            "version": "1",
            "flags": {"f": {"attributes": {"color": {}}}, "plain": {}},
            "values": {
                "f": {"_variants": [
                    {"name": "off", "enabled": false, "rule": "(eq $tier \"gold\")", "attributeValues": {"color": "gold"}},
                    {"name": "beta", "enabled": true, "rule": "(or (eq $tier \"gold\") (eq $tier \"beta\"))", "attributeValues": {"color": "red"}},
                    {"name": "default", "enabled": true, "attributeValues": {"color": "blue"}}
                ]},
                "plain": {"enabled": true}
            }
        })
        .to_string(),
    )
    .unwrap();
    let with = |tier: &str| {
        let mut c = RuleContext::new();
        c.insert("tier", tier);
        doc.evaluate_flag_with("f", &c).unwrap()
    };
    assert_eq!(
        with("gold"),
        json!({"_variant": "off", "enabled": false}),
        "first match, no attributes when disabled"
    );
    assert_eq!(
        with("beta"),
        json!({"_variant": "beta", "enabled": true, "color": "red"})
    );
    assert_eq!(
        with("none"),
        json!({"_variant": "default", "enabled": true, "color": "blue"})
    );
    assert_eq!(doc.evaluate_flag("f"), Some(with("none")));
    assert_eq!(doc.evaluate(), doc.evaluate_with(&RuleContext::new()));
    let mut beta = RuleContext::new();
    beta.insert("tier", "beta");
    assert_eq!(doc.evaluate_with(&beta)["plain"], json!({"enabled": true}));
    assert!(doc.has_variants("f") && !doc.has_variants("plain") && !doc.has_variants("nope"));
    assert_eq!(
        doc.variant_keys("f").into_iter().collect::<Vec<_>>(),
        ["tier"]
    );
    assert!(doc.variant_keys("plain").is_empty());
}

#[test]
fn duplicate_variant_names_are_refused_naming_both_positions() {
    let rule = |name: &str| json!({"name": name, "enabled": false, "rule": "(exists key::\"a\")"});
    assert_problem(
        variants_doc(json!([rule("beta"), rule("gamma"), {"name": "beta", "enabled": false}])),
        "`values.f._variants[2].name`: variant name `beta` is also the name of variant 0 \
         (`values.f._variants[0]`); names must be unique within a flag",
    );
    assert!(
        problems(variants_doc(
            json!([rule("beta"), {"name": "Beta", "enabled": false}])
        ))
        .is_empty(),
        "names are case-sensitive"
    );
}

/// A rule AppConfig may accept but this evaluator cannot run is a warning naming flag, variant
/// and position: the document is served, that variant never matches, every other one does.
#[test]
fn a_rule_this_evaluator_cannot_run_is_a_warning_and_never_matches() {
    let text = json!({
        "version": "1",
        "flags": {"f": {}, "g": {}},
        "values": {
            "f": {"_variants": [
                {"name": "lookaround", "enabled": true, "rule": "(matches in::$user pattern::\"^(?!admin)\")"},
                {"name": "beta", "enabled": true, "rule": "(eq $tier \"beta\")"},
                {"name": "d", "enabled": false}
            ]},
            "g": {"enabled": true}
        }
    })
    .to_string();
    let doc = Document::parse(&text).expect("served despite the rule");
    let [warning] = doc.warnings.as_slice() else {
        panic!("{:#?}", doc.warnings)
    };
    assert_eq!(warning.path, "values.f._variants[0].rule");
    assert!(
        warning.message.starts_with("flag `f`, variant `lookaround`: the rule never matches here (AppConfig may run it): line 1, column"),
        "{warning}"
    );
    assert!(warning.message.contains("look-around"), "{warning}");
    assert!(
        !warning.message.contains("admin"),
        "never the rule's constants: {warning}"
    );
    let context = RuleContext::from_headers(["user=jane,tier=beta"]).unwrap();
    let served = doc.evaluate_with(&context);
    assert_eq!(
        served["f"]["_variant"], "beta",
        "the next variant still matches"
    );
    assert_eq!(served["g"]["enabled"], true);
    let anyone = RuleContext::from_headers(["user=jane"]).unwrap();
    assert_eq!(doc.evaluate_with(&anyone)["f"]["_variant"], "d");
}

#[test]
fn ne_in_a_variant_rule_is_served_with_a_warning() {
    let doc = Document::parse(
        &variants_doc(json!([
            {"name": "west", "enabled": true, "rule": "(ne $region \"us-west-2\")", "attributeValues": {"color": "red"}},
            {"name": "d", "enabled": false}
        ]))
        .to_string(),
    )
    .unwrap();
    let [warning] = doc.warnings.as_slice() else {
        panic!("{:#?}", doc.warnings)
    };
    assert!(
        warning.message.contains(
            "`ne` is listed on AppConfig's audience-rule page, not on its variant-rule page"
        ),
        "{warning}"
    );
    let eu = RuleContext::from_headers(["region=eu-west-1"]).unwrap();
    assert_eq!(doc.evaluate_with(&eu)["f"]["_variant"], "west");
    assert_eq!(
        doc.evaluate()["f"]["_variant"],
        "d",
        "no region: unknown, the default"
    );
}

#[test]
fn an_empty_rule_on_the_default_variant_is_no_rule() {
    // As a published CDK sample writes it; AWS's schema sets no minimum length.
    let doc = variants_doc(json!([
        {"name": "a", "enabled": true, "rule": "(exists key::\"a\")", "attributeValues": {"color": "red"}},
        {"name": "d", "enabled": false, "rule": ""}
    ]));
    assert!(problems(doc).is_empty());
    let doc = variants_doc(json!([{"name": "d", "enabled": false, "rule": "  "}]));
    assert!(problems(doc).is_empty(), "blank is empty");
    assert_problem(
        variants_doc(json!([{"name": "a", "enabled": false, "rule": ""}, {"name": "d", "enabled": false}])),
        "`values.f._variants[0].rule`: flag `f`, variant `a`: invalid rule at line 1, column 1 of the rule",
    );
}

#[test]
fn recover_reads_a_document_with_the_usual_slips() {
    // What `flags!` generates from when the file has an error: the error is reported once, and
    // the flags that still read are generated, so their uses add no errors of their own.
    let slips = r#"{
        // flags of the checkout
        "version": "1",
        "flags": {
            "a": {"attributes": {"n": {"constraints": {"type": "number"}}}}
            "b": {},   /* a trailing comma, and a missing one above */
        },
        "values": {"a": {"enabled": true, "n": 1} "b": {"enabled": false}}
    }"#;
    assert!(Document::parse(slips).is_err());
    let read = Document::recover(slips).expect("repaired");
    assert_eq!(read.flags.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert!(read.flags["a"].attributes.contains_key("n"));
    assert_eq!(read.values["a"].attributes["n"], 1);
    // Strings are left alone: commas, slashes and quotes inside them are text.
    let text = r#"{"version": "1", "flags": {"a": {"description": "x, // y /* z */ \"q\","}}}"#;
    assert_eq!(
        Document::recover(text).unwrap().flags["a"]
            .description
            .as_deref(),
        Some(r#"x, // y /* z */ "q","#)
    );
    // What cannot be guessed stays unread.
    assert!(Document::recover(r#"{"version": "1", "flags": {"a": {}"#).is_none());
    assert!(Document::recover("").is_none());
}
