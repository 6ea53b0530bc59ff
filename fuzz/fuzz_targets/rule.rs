//! One variant rule, as flag-schema parses it from a document (and the local agent evaluates it
//! per request). Properties: `Rule::parse` and `Rule::parse_lenient` never panic; a rule they
//! return evaluates without panicking against any context, deterministically; an unsupported
//! rule never matches; a rule and its negation never both match (three-valued logic); error
//! positions are in the text.
#![no_main]

use flag_schema::rule::Rule;
use flag_schema::RuleContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let negated = Rule::parse(&format!("(not {text})")).ok();
    let rule = match Rule::parse_lenient(&text) {
        Ok(rule) => rule,
        Err(error) => {
            // A lone `\r` counts as a line break too.
            let breaks = text.matches(['\n', '\r']).count();
            assert!(error.line() >= 1 && error.line() <= breaks + 1, "{error}");
            assert!(error.column() >= 1, "{error}");
            return;
        }
    };
    let keys: Vec<String> = rule.keys().map(str::to_owned).collect();
    let mut contexts = vec![RuleContext::new()];
    for value in [
        "42",
        "-0.5",
        "2024-01-15",
        "2024-01-15T10:00:00Z",
        "true",
        "beta",
        "",
    ] {
        let mut context = RuleContext::new();
        for key in &keys {
            context.insert(key.clone(), value);
        }
        contexts.push(context);
    }
    for context in &contexts {
        let first = rule.matches("fuzzFlag", context);
        if rule.unsupported().is_some() {
            assert!(!first, "an unsupported rule matched");
        }
        if let Some(negated) = &negated {
            assert!(
                !(first && negated.matches("fuzzFlag", context)),
                "a rule and its negation both match"
            );
        }
        assert_eq!(
            first,
            rule.matches("fuzzFlag", context),
            "not deterministic"
        );
    }
});
