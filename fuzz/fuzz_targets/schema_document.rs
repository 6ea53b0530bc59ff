//! An AppConfig feature-flag document, as the local agent and the `#[feature_flag]` macro read it.
//! Properties: parsing and validation (variant rules included) never panic; a valid document
//! evaluates, without a context and with contexts that give the rules' keys a value, the same
//! as a whole and flag by flag; a refused one lists its problems, and what `recover` reads of
//! it (the macro's fallback) never panics and evaluates like any document.
#![no_main]

use flag_schema::{Document, RuleContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `Document::parse` takes text; invalid UTF-8 is replaced rather than skipped so the mutated
    // bytes still reach the parser and the validator.
    let text = String::from_utf8_lossy(data);
    match Document::parse(&text) {
        Ok(doc) => {
            evaluate(&doc, &RuleContext::new());
            assert_eq!(doc.evaluate(), doc.evaluate_with(&RuleContext::new()));
            // Every key the variant rules read set to one value: a number, a date and a
            // string, so comparisons, `in`, `matches` and `split` run past a missing key.
            for value in ["42", "2024-01-15", "beta"] {
                let mut context = RuleContext::new();
                for flag in doc.flags.keys() {
                    for key in doc.variant_keys(flag) {
                        context.insert(key, value);
                    }
                }
                if !context.is_empty() {
                    evaluate(&doc, &context);
                }
            }
            for key in doc.flags.keys() {
                assert!(doc.flag(key).is_some());
                let _ = doc.suggest(key);
                let half: String = key.chars().take(key.chars().count() / 2).collect();
                let _ = doc.suggest(&half);
            }
        }
        Err(error) => {
            let _ = error.problems();
            let _ = error.to_string();
            if let Some(read) = Document::recover(&text) {
                evaluate(&read, &RuleContext::new());
            }
        }
    }
});

fn evaluate(doc: &Document, context: &RuleContext) {
    let all = doc.evaluate_with(context);
    assert_eq!(all.len(), doc.flags.len());
    for key in doc.flags.keys() {
        let one = doc.evaluate_flag_with(key, context);
        assert_eq!(
            one.as_ref(),
            all.get(key),
            "evaluate_flag_with({key:?}) differs"
        );
    }
    if !doc.flags.contains_key("notDefined") {
        assert_eq!(doc.evaluate_flag_with("notDefined", context), None);
    }
}
