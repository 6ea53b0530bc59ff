//! What the AWS AppConfig user guide publishes: its documents (fixtures, verbatim), its rule
//! examples, its retrieval examples, and the traffic shares of its `split` examples.

use flag_schema::rule::Rule;
use flag_schema::{Document, RuleContext, SchemaError};
use serde_json::json;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn context(headers: &[&str]) -> RuleContext {
    RuleContext::from_headers(headers.iter().copied()).unwrap()
}

/// appconfig-creating-multi-variant-feature-flags-procedures.html: "Here is an example with three
/// variants and the default variant." No `enabled` beside `_variants`.
#[test]
fn procedures_page_ui_refresh_parses_and_evaluates() {
    let doc = Document::parse(&fixture("ui_refresh.json")).expect("AWS's own example is valid");
    assert!(doc.has_variants("ui_refresh"));
    let variants = doc.values["ui_refresh"].variants.as_ref().unwrap();
    assert_eq!(
        variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["QA", "Beta Testers", "Sample Population", "Default Variant"]
    );
    assert!(variants[3].rule.is_none());
    assert_eq!(
        doc.variant_keys("ui_refresh")
            .into_iter()
            .collect::<Vec<_>>(),
        ["email", "opted_in_to_beta"]
    );

    // appconfig-integration-retrieving-feature-flags.html, against this document.
    // Without context: the default variant, disabled, without attributes.
    assert_eq!(
        doc.evaluate()["ui_refresh"],
        json!({"_variant": "Default Variant", "enabled": false})
    );
    // A QA tester (the page writes the domain as qa-testers.example.org; the rule wants
    // qa-testers.mycompany.com).
    assert_eq!(
        doc.evaluate_flag_with(
            "ui_refresh",
            &context(&["email=jane_doe@qa-testers.mycompany.com"])
        ),
        Some(json!({"_variant": "QA", "dark_mode_support": true, "enabled": true}))
    );
    // `exists` is true for any value, `false` included (the page shows two `Context` headers).
    for opted in ["opted_in_to_beta=false", "opted_in_to_beta=true"] {
        assert_eq!(
            doc.evaluate_flag_with(
                "ui_refresh",
                &context(&["email=jane_doe@example.org", opted])
            )
            .unwrap()["_variant"],
            "Beta Testers"
        );
    }
    // "1 out of 10 random callers receive the 'sample population' variant".
    let sampled = (0..10_000)
        .filter(|i| {
            let ctx = context(&[&format!("email={i}@example.org")]);
            doc.evaluate_flag_with("ui_refresh", &ctx).unwrap()["_variant"] == "Sample Population"
        })
        .count();
    assert!((900..=1_100).contains(&sampled), "{sampled} of 10000");
}

/// appconfig-creating-feature-flag-configuration-commandline.html publishes a basic flag whose
/// value carries an `attributeValues` object. The type reference's schema makes every other key
/// of a plain value an attribute value (string, number, boolean, array), and the flag defines no
/// attributes, so the schema refuses it; so does flag-schema, for exactly that reason.
#[test]
fn commandline_page_example_breaks_the_published_schema() {
    let err = Document::parse(&fixture("commandline_basic_flag.json")).unwrap_err();
    let SchemaError::Invalid(problems) = err else {
        panic!("valid JSON");
    };
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        ["`values.ui_refresh.attributeValues`: attribute `attributeValues` is not defined for this flag"]
    );
}

/// Every rule of appconfig-creating-multi-variant-feature-flags-rules-operators.html and of the
/// rules page's `split` section parses.
#[test]
fn every_published_rule_parses() {
    for rule in [
        r#"(eq $state "Virginia")"#,
        "(gt $age 65)",
        "(gte $age 65)",
        "(lt $age 65)",
        "(lte $age 65)",
        "(and \n    (eq $state \"Virginia\") \n    (gt $age 65)\n)",
        "(or\n    (eq $state \"Virginia\") \n    (gt $age 65)\n)",
        r#"(not (eq $state "Virginia"))"#,
        r#"(begins_with $state "A")"#,
        r#"(ends_with $email "amazon.com")"#,
        r#"(contains $promoCode "WIN")"#,
        r#"(in $userId ["123", "456"])"#,
        r#"(matches in::$greeting pattern::"h.*y")"#,
        r#"(exists key::"country")"#,
        r#"(split pct::10 by::$userId seed::"abc")"#,
        "(split by::$uniqueId pct::20)",
        "(split by::$uniqueId pct::25)",
        r#"(split by::$uniqueId pct::20 seed::"seed_one")"#,
        r#"(split by::$uniqueId pct::25 seed::"seed_two")"#,
        r#"(ends_with $email "qa-testers.mycompany.com")"#,
        r#"(exists key::"opted_in_to_beta")"#,
        "(split pct::10 by::$email)",
    ] {
        Rule::parse(rule).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
    }
    // The operand table's examples, each compared with a context value.
    for operand in [
        r#""apple""#,
        r#""Ḽơᶉëᶆ ȋṕšᶙṁ""#,
        "-7",
        "42",
        "3.14",
        "1.234e-5",
        "2012-03-04T05:06:07-08:00",
        "2024-01",
        "true",
        "false",
        "$country",
        "$userId",
    ] {
        let rule = format!("(eq $x {operand})");
        Rule::parse(&rule).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
    }
}

/// The published examples' behaviour, each with a context that matches and one that does not.
#[test]
fn published_rules_mean_what_the_page_says() {
    let check = |rule: &str, yes: &[&str], no: &[&str]| {
        let rule = Rule::parse(rule).unwrap();
        assert!(rule.matches("f", &context(yes)), "{rule:?} with {yes:?}");
        assert!(!rule.matches("f", &context(no)), "{rule:?} with {no:?}");
    };
    check(
        r#"(eq $state "Virginia")"#,
        &["state=Virginia"],
        &["state=Ohio"],
    );
    check("(gt $age 65)", &["age=66"], &["age=65"]);
    check("(gte $age 65)", &["age=65"], &["age=64"]);
    check("(lt $age 65)", &["age=64"], &["age=65"]);
    check("(lte $age 65)", &["age=65"], &["age=66"]);
    check(
        "(and (eq $state \"Virginia\") (gt $age 65))",
        &["state=Virginia,age=70"],
        &["state=Virginia,age=30"],
    );
    check(
        "(or (eq $state \"Virginia\") (gt $age 65))",
        &["state=Ohio,age=70"],
        &["state=Ohio,age=30"],
    );
    check(
        r#"(not (eq $state "Virginia"))"#,
        &["state=Ohio"],
        &["state=Virginia"],
    );
    check(
        r#"(begins_with $state "A")"#,
        &["state=Alabama"],
        &["state=Ohio"],
    );
    check(
        r#"(ends_with $email "amazon.com")"#,
        &["email=a@amazon.com"],
        &["email=a@amazon.de"],
    );
    check(
        r#"(contains $promoCode "WIN")"#,
        &["promoCode=BIGWIN24"],
        &["promoCode=win"],
    );
    check(
        r#"(in $userId ["123", "456"])"#,
        &["userId=456"],
        &["userId=789"],
    );
    check(
        r#"(matches in::$greeting pattern::"h.*y")"#,
        &["greeting=oh hey you"],
        &["greeting=hello"],
    );
    check(r#"(exists key::"country")"#, &["country="], &["region=eu"]);
}

const IDS: usize = 100_000;

/// Shares of each variant over `IDS` distinct ids, in percent.
fn shares(doc: &Document, flag: &str, names: &[&str]) -> Vec<f64> {
    let mut counts = vec![0usize; names.len()];
    let mut ctx = RuleContext::new();
    for i in 0..IDS {
        ctx.insert("uniqueId", format!("id-{i}"));
        let out = doc.evaluate_flag_with(flag, &ctx).unwrap();
        let name = out["_variant"].as_str().unwrap();
        counts[names.iter().position(|n| *n == name).unwrap()] += 1;
    }
    counts
        .iter()
        .map(|c| *c as f64 * 100.0 / IDS as f64)
        .collect()
}

fn split_doc(flag: &str, a: &str, b: &str) -> Document {
    let doc = json!({
        "version": "1",
        "flags": {flag: {}},
        "values": {flag: {"_variants": [
            {"name": "A", "enabled": true, "rule": a},
            {"name": "B", "enabled": true, "rule": b},
            {"name": "C", "enabled": false}
        ]}}
    });
    Document::parse(&doc.to_string()).unwrap()
}

fn assert_shares(found: &[f64], expected: [f64; 3]) {
    println!("shares {found:?} (expected {expected:?})");
    for (f, e) in found.iter().zip(expected) {
        assert!(
            (f - e).abs() <= 1.0,
            "shares {found:?}, expected {expected:?} ± 1"
        );
    }
}

/// The rules page's `split` section: first match wins over one hash domain per flag (no seed),
/// so a second 20 % adds nothing and a 25 % adds 5 %; different seeds are independent, so 25 %
/// of the remaining 80 % is 20 %.
#[test]
fn split_shares_of_the_rules_page() {
    let same = split_doc(
        "flagOne",
        "(split by::$uniqueId pct::20)",
        "(split by::$uniqueId pct::20)",
    );
    let found = shares(&same, "flagOne", &["A", "B", "C"]);
    assert_shares(&found, [20.0, 0.0, 80.0]);
    assert_eq!(found[1], 0.0, "B can never match: its ids all matched A");

    let wider = split_doc(
        "flagOne",
        "(split by::$uniqueId pct::20)",
        "(split by::$uniqueId pct::25)",
    );
    assert_shares(
        &shares(&wider, "flagOne", &["A", "B", "C"]),
        [20.0, 5.0, 75.0],
    );

    let seeded = split_doc(
        "flagOne",
        r#"(split by::$uniqueId pct::20 seed::"seed_one")"#,
        r#"(split by::$uniqueId pct::25 seed::"seed_two")"#,
    );
    assert_shares(
        &shares(&seeded, "flagOne", &["A", "B", "C"]),
        [20.0, 20.0, 60.0],
    );

    // Baseline: A: 20 %, C: 80 %.
    let doc = Document::parse(
        &json!({"version": "1", "flags": {"f": {}}, "values": {"f": {"_variants": [
            {"name": "A", "enabled": true, "rule": "(split by::$uniqueId pct::20)"},
            {"name": "C", "enabled": false}
        ]}}})
        .to_string(),
    )
    .unwrap();
    let found = shares(&doc, "f", &["A", "C"]);
    assert!((found[0] - 20.0).abs() <= 1.0, "{found:?}");
}

/// Without a seed a split is consistent within its flag only; with one, across flags.
#[test]
fn split_domains() {
    let in_flag = |flag: &str, rule: &str, id: &str| {
        Rule::parse(rule)
            .unwrap()
            .matches(flag, &context(&[&format!("u={id}")]))
    };
    let ids: Vec<String> = (0..2_000).map(|i| format!("user-{i}")).collect();
    let agree = |rule: &str, f1: &str, f2: &str| {
        ids.iter()
            .filter(|id| in_flag(f1, rule, id) == in_flag(f2, rule, id))
            .count()
    };
    // Seeded: the same users in every flag.
    assert_eq!(
        agree(r#"(split pct::50 by::$u seed::"s")"#, "one", "two"),
        ids.len()
    );
    // Unseeded: two flags' 50 % halves agree about half the time, as independent draws do.
    let unseeded = agree("(split pct::50 by::$u)", "one", "two");
    assert!((900..=1_100).contains(&unseeded), "{unseeded}");
    // Deterministic for a flag, and monotonic in pct: whoever is in 10 % is in 30 %.
    for id in &ids {
        assert_eq!(
            in_flag("one", "(split pct::10 by::$u)", id),
            in_flag("one", "(split pct::10 by::$u)", id)
        );
        if in_flag("one", "(split pct::10 by::$u)", id) {
            assert!(in_flag("one", "(split pct::30 by::$u)", id));
        }
    }
}
