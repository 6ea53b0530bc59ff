//! Property-based fuzzing of the two parsers that read untrusted-ish bytes: the agent-answer
//! parser (`flag_runtime::Snapshot::parse`) and the flags-schema parser and validator
//! (`flag_schema::Document::parse`), with proptest: it runs in `cargo test` everywhere. The
//! coverage-guided fuzzing (`cargo fuzz`, libFuzzer, in `fuzz/`) complements it.
//!
//! Inputs are seeds from `tests/corpus/` mutated (bit flips, cuts, JSON tokens, splices, deep
//! nesting) and arbitrary JSON trees built from the documents' vocabulary. Properties: no panic,
//! and no more than 64 bytes allocated per input byte (+ 1 MiB) while parsing.
//!
//! Budget: `FUZZ_SECONDS` per target (default 4). A longer run:
//! `FUZZ_SECONDS=60 cargo test --release --test fuzz -- --nocapture`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::{Map, Value};

// ---- allocation accounting (per thread, so parallel tests do not mix) ----------------------

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|on| {
            if on.get() {
                let _ = BYTES.try_with(|b| b.set(b.get() + layout.size()));
            }
        });
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNTING.try_with(|on| {
            if on.get() {
                let _ = BYTES.try_with(|b| b.set(b.get() + new_size));
            }
        });
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated by `f` on this thread (a total, so an upper bound of the peak).
fn allocated<R>(f: impl FnOnce() -> R) -> (R, usize) {
    BYTES.with(|b| b.set(0));
    COUNTING.with(|on| on.set(true));
    let result = f();
    COUNTING.with(|on| on.set(false));
    (result, BYTES.with(Cell::get))
}

fn within_budget(input_len: usize, bytes: usize) -> bool {
    bytes <= 64 * input_len + (1 << 20)
}

// ---- inputs ----------------------------------------------------------------------------------

fn corpus(kind: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    "-0.0",
    "18446744073709551616",
    "\"enabled\"",
    "\"version\"",
    "\"flags\"",
    "\"values\"",
    "\"attributes\"",
    "\"constraints\"",
    "\"type\"",
    "\"number\"",
    "\"string\"",
    "\"array\"",
    "\"elements\"",
    "\"pattern\"",
    "\"(a+)+$\"",
    "\"enum\"",
    "\"required\"",
    "\"_variants\"",
    "\"_variant\"",
    "\"_deprecation\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\\",
    "\u{1F600}",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize, usize),
    Insert(usize, usize),
    Splice(usize, usize, usize, usize),
    Truncate(usize),
    Nest(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Cut(p, n)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        (any::<usize>(), any::<usize>(), any::<usize>(), 1usize..256)
            .prop_map(|(p, s, o, n)| Mutation::Splice(p, s, o, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..400).prop_map(|(p, d)| Mutation::Nest(p, d)),
    ]
}

fn apply(seeds: &[Vec<u8>], seed: usize, mutations: &[Mutation]) -> Vec<u8> {
    let mut data = seeds[seed % seeds.len()].clone();
    for m in mutations {
        let at = |p: usize, data: &Vec<u8>| {
            if data.is_empty() {
                0
            } else {
                p % (data.len() + 1)
            }
        };
        match *m {
            Mutation::Flip(p, bit) if !data.is_empty() => {
                let i = p % data.len();
                data[i] ^= 1 << bit;
            }
            Mutation::Cut(p, n) => {
                let i = at(p, &data);
                let end = (i + n).min(data.len());
                data.drain(i..end);
            }
            Mutation::Insert(p, t) => {
                let i = at(p, &data);
                data.splice(i..i, TOKENS[t].bytes());
            }
            Mutation::Splice(p, s, o, n) => {
                let other = &seeds[s % seeds.len()];
                let from = o % (other.len() + 1);
                let piece = other[from..(from + n).min(other.len())].to_vec();
                let i = at(p, &data);
                data.splice(i..i, piece);
            }
            Mutation::Truncate(p) => {
                let i = at(p, &data);
                data.truncate(i);
            }
            Mutation::Nest(p, depth) => {
                let i = at(p, &data);
                let nest: Vec<u8> = "[".repeat(depth).into_bytes();
                data.splice(i..i, nest);
            }
            _ => {}
        }
    }
    data
}

fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (any::<usize>(), prop::collection::vec(mutation(), 0..8))
        .prop_map(move |(seed, ms)| apply(&seeds, seed, &ms))
}

const KEYS: &[&str] = &[
    "version",
    "flags",
    "values",
    "enabled",
    "name",
    "description",
    "attributes",
    "constraints",
    "type",
    "required",
    "minimum",
    "maximum",
    "pattern",
    "enum",
    "elements",
    "_deprecation",
    "status",
    "date",
    "_variants",
    "_variant",
    "rule",
    "attributeValues",
    "newCheckout",
    "limit",
];

fn json_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("1".to_owned()),
            Just("number".to_owned()),
            Just("string".to_owned()),
            Just("planned".to_owned()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        (0..KEYS.len()).prop_map(|k| KEYS[k].to_owned()),
                        "[a-zA-Z_]{0,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn inputs(kind: &str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => mutated(corpus(kind)),
        1 => json_tree().prop_map(|v| v.to_string().into_bytes()),
    ]
}

// ---- the runs --------------------------------------------------------------------------------

fn budget() -> Duration {
    let seconds = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0);
    Duration::from_secs_f64(seconds)
}

/// Runs `property` on inputs from `strategy` until the time budget is spent; returns the count.
fn fuzz<S: Strategy>(
    name: &str,
    strategy: S,
    property: impl Fn(&S::Value) -> Result<(), String>,
) -> u64
where
    S::Value: std::fmt::Debug,
{
    let deadline = Instant::now() + budget();
    let cases = std::cell::Cell::new(0u64);
    while Instant::now() < deadline {
        // A fresh runner (fresh random seed) per round of 256 cases.
        let mut runner = TestRunner::new(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |input| {
            cases.set(cases.get() + 1);
            property(&input).map_err(TestCaseError::fail)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, input)) => {
                panic!("{name}: {reason}\nminimal input: {input:?}")
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    let cases = cases.get();
    eprintln!(
        "{name}: {cases} inputs in {:?}, no panic, allocation within bounds",
        budget()
    );
    cases
}

#[test]
fn agent_answer_parser() {
    let cases = fuzz("Snapshot::parse", inputs("answer"), |bytes| {
        let (result, bytes_allocated) =
            allocated(|| flag_runtime::Snapshot::parse(bytes, Some("1")));
        if !within_budget(bytes.len(), bytes_allocated) {
            return Err(format!(
                "{bytes_allocated} bytes allocated for {} input bytes",
                bytes.len()
            ));
        }
        if let Ok(snapshot) = result {
            for (name, flag) in snapshot.flags() {
                if snapshot.is_enabled(name) != flag.is_enabled() {
                    return Err(format!("`{name}` reads two ways"));
                }
            }
        }
        Ok(())
    });
    assert!(cases > 0);
}

#[test]
fn flags_schema_parser_and_validator() {
    let cases = fuzz("Document::parse", inputs("schema"), |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let (result, bytes_allocated) = allocated(|| flag_schema::Document::parse(&text));
        if !within_budget(text.len(), bytes_allocated) {
            return Err(format!(
                "{bytes_allocated} bytes allocated for {} input bytes",
                text.len()
            ));
        }
        match result {
            Ok(doc) => {
                let evaluated = doc.evaluate();
                if evaluated.len() != doc.flags.len() {
                    return Err("evaluation lost or invented flags".into());
                }
                for key in doc.values.keys() {
                    if !doc.flags.contains_key(key) {
                        return Err(format!("value for undefined flag `{key}` accepted"));
                    }
                }
            }
            Err(e) => {
                if e.to_string().is_empty() {
                    return Err("an error without a message".into());
                }
            }
        }
        Ok(())
    });
    assert!(cases > 0);
}

#[test]
fn the_corpus_itself_parses_without_panic() {
    for seed in corpus("schema") {
        let _ = flag_schema::Document::parse(&String::from_utf8_lossy(&seed));
    }
    for seed in corpus("answer") {
        let _ = flag_runtime::Snapshot::parse(&seed, None);
    }
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/schema/example.json"),
    )
    .unwrap();
    assert!(
        flag_schema::Document::parse(&example).is_ok(),
        "the example seed is a valid document"
    );
}

/// One variant rule of one flag, whatever its text (well-formed, unsupported here, or mangled),
/// never changes another flag's answer: the document is refused whole (a rule AWS refuses) or
/// served with every other flag exactly as without it. And a rule and its negation never both
/// match (three-valued logic: unknown matches neither).
#[test]
fn one_bad_rule_never_changes_another_flags_answer() {
    const RULES: &[&str] = &[
        r#"(eq $tier "gold")"#,
        r#"(ne $region "us-west-2")"#,
        r#"(not (in $country ["CN" "RU"]))"#,
        "(gt $age 65)",
        r#"(matches in::$user pattern::"^(?!admin)")"#,
        r#"(matches in::$user pattern::"(a)\\1")"#,
        r#"(matches in::$user pattern::"\\p{L}+")"#,
        "(split pct::50 by::$user)",
        r#"(exists key::"beta")"#,
        r#"(and (eq $tier "gold") (or (lt $age 18) (not (exists key::"beta"))))"#,
    ];
    let rule = prop_oneof![
        3 => proptest::sample::select(RULES).prop_map(str::to_owned),
        2 => (proptest::sample::select(RULES), any::<usize>(), any::<usize>()).prop_map(|(r, a, b)| {
            // A mangled rule: a cut out of a well-formed one.
            let (a, b) = (a % (r.len() + 1), b % (r.len() + 1));
            let (a, b) = (a.min(b), a.max(b));
            format!("{}{}", &r[..a], &r[b..])
        }),
        1 => (1usize..80).prop_map(|depth| format!("{}(eq 1 1){}", "(not ".repeat(depth), ")".repeat(depth))),
    ];
    let values =
        proptest::sample::select(&["gold", "30", "70", "abc", "US", "CN", "", "admin"][..]);
    const KEYS: &[&str] = &["tier", "region", "country", "age", "user", "beta"];
    let context = proptest::collection::vec((proptest::sample::select(KEYS), values), 0..6);
    let cases = fuzz("one bad rule", (rule, context), |(rule, pairs)| {
        let mut context = flag_schema::RuleContext::new();
        for (k, v) in pairs {
            context.insert(*k, *v);
        }
        let doc = |rule: &str| {
            serde_json::json!({
                "version": "1",
                "flags": {"bad": {}, "good": {}, "plain": {}},
                "values": {
                    "bad": {"_variants": [
                        {"name": "r", "enabled": true, "rule": rule},
                        {"name": "d", "enabled": false}
                    ]},
                    "good": {"_variants": [
                        {"name": "gold", "enabled": true, "rule": "(eq $tier \"gold\")"},
                        {"name": "young", "enabled": true, "rule": "(lt $age 65)"},
                        {"name": "d", "enabled": false}
                    ]},
                    "plain": {"enabled": true}
                }
            })
            .to_string()
        };
        let reference = flag_schema::Document::parse(&doc("(exists key::\"x\")"))
            .unwrap()
            .evaluate_with(&context);
        let parsed = flag_schema::Document::parse(&doc(rule));
        if parsed.is_err() && flag_schema::rule::Rule::parse_lenient(rule).is_ok() {
            return Err("a rule AppConfig may accept took the document down".into());
        }
        if let Ok(with_bad) = parsed {
            let served = with_bad.evaluate_with(&context);
            for flag in ["good", "plain"] {
                if served[flag] != reference[flag] {
                    return Err(format!(
                        "`{flag}` changed: {} vs {}",
                        served[flag], reference[flag]
                    ));
                }
            }
        }
        if let (Ok(r), Ok(not)) = (
            flag_schema::rule::Rule::parse(rule),
            flag_schema::rule::Rule::parse(&format!("(not {rule})")),
        ) {
            if r.matches("bad", &context) && not.matches("bad", &context) {
                return Err("a rule and its negation both match".into());
            }
        }
        Ok(())
    });
    assert!(cases > 0);
}
