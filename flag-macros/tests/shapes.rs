//! Every function shape `#[feature_flag]` supports, with the flag on and off.
//! Flags are forced through flag-runtime's test overrides (no agent).

use std::fmt::Display;
use std::num::ParseIntError;

use flag_macros::feature_flag;
use flag_runtime::Overrides;

fn on(flag: &str) -> flag_runtime::OverrideGuard {
    Overrides::new().enable(flag).apply()
}

fn off(flag: &str) -> flag_runtime::OverrideGuard {
    Overrides::new().disable(flag).apply()
}

// --- sync free fns, attributes, docs, visibility -------------------------------------------

mod visibility {
    use super::*;

    /// Docs are kept.
    #[feature_flag("shapeFlag", fallback = old_greet, schema = "tests/flags.json")]
    #[inline]
    #[must_use]
    pub(crate) fn greet(name: &str) -> String {
        format!("new hello, {name}")
    }

    fn old_greet(name: &str) -> String {
        format!("old hello, {name}")
    }
}

#[test]
fn sync_free_fn() {
    let _f = on("shapeFlag");
    assert_eq!(visibility::greet("ann"), "new hello, ann");
    drop(_f);
    let _f = off("shapeFlag");
    assert_eq!(visibility::greet("ann"), "old hello, ann");
}

#[test]
fn nothing_known_runs_the_fallback() {
    // No override and no agent configured: the flag is off, the fallback runs.
    assert_eq!(visibility::greet("bob"), "old hello, bob");
}

// --- early return, mut arguments, Result with ? -------------------------------------------

#[feature_flag("shapeFlag", fallback = old_parse, schema = "tests/flags.json")]
fn parse_doubled(mut text: String) -> Result<u32, ParseIntError> {
    text.retain(|c| c != '_');
    if text.is_empty() {
        return Ok(0);
    }
    let n: u32 = text.parse()?;
    Ok(n * 2)
}

fn old_parse(text: String) -> Result<u32, ParseIntError> {
    text.parse()
}

#[test]
fn result_with_question_mark_and_return() {
    let _f = on("shapeFlag");
    assert_eq!(parse_doubled("1_000".into()), Ok(2000));
    assert_eq!(parse_doubled("_".into()), Ok(0));
    assert!(parse_doubled("x".into()).is_err());
    drop(_f);
    let _f = off("shapeFlag");
    assert_eq!(parse_doubled("21".into()), Ok(21));
    assert!(
        parse_doubled("1_000".into()).is_err(),
        "the old path does not strip underscores"
    );
}

// --- generics, lifetimes, where clauses, impl Trait ---------------------------------------

#[feature_flag("shapeFlag", fallback = old_join, schema = "tests/flags.json")]
fn join<'a, T>(items: &'a [T], sep: &str) -> String
where
    T: Display + 'a,
{
    items
        .iter()
        .map(|i| format!("<{i}>"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn old_join<T: Display>(items: &[T], sep: &str) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

#[feature_flag("shapeFlag", fallback = old_describe, schema = "tests/flags.json")]
fn describe(value: impl Display, times: usize) -> impl Display {
    format!("{value}").repeat(times)
}

fn old_describe(value: impl Display, _times: usize) -> String {
    format!("{value}")
}

#[feature_flag("shapeFlag", fallback = old_longest, schema = "tests/flags.json")]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

fn old_longest<'a>(a: &'a str, _b: &'a str) -> &'a str {
    a
}

#[test]
fn generics_lifetimes_where_and_impl_trait() {
    let _f = on("shapeFlag");
    assert_eq!(join(&[1, 2], ","), "<1>,<2>");
    assert_eq!(describe('x', 3).to_string(), "xxx");
    assert_eq!(longest("a", "bb"), "bb");
    drop(_f);
    let _f = off("shapeFlag");
    assert_eq!(join(&[1, 2], ","), "1,2");
    assert_eq!(describe('x', 3).to_string(), "x");
    assert_eq!(longest("a", "bb"), "a");
}

// --- pattern arguments ----------------------------------------------------------------------

struct Pair {
    left: String,
    right: String,
}

#[feature_flag("shapeFlag", fallback = old_patterns, schema = "tests/flags.json")]
fn patterns((a, b): (u8, u8), Pair { left, right }: Pair, _: u8, [first, ..]: [u8; 3]) -> String {
    format!("{a}+{b} {left}{right} {first}")
}

fn old_patterns(pair: (u8, u8), names: Pair, ignored: u8, array: [u8; 3]) -> String {
    format!(
        "old {:?} {} {} {ignored} {:?}",
        pair, names.left, names.right, array
    )
}

#[feature_flag("shapeFlag", fallback = old_locked, schema = "tests/flags.json")]
fn locked((m, n): (std::sync::Mutex<u32>, u32)) -> u32 {
    *m.lock().unwrap() + n
}

fn old_locked(pair: (std::sync::Mutex<u32>, u32)) -> u32 {
    pair.1
}

#[test]
fn tail_temporaries_of_destructured_arguments() {
    let _f = on("shapeFlag");
    assert_eq!(locked((std::sync::Mutex::new(2), 3)), 5);
    drop(_f);
    assert_eq!(locked((std::sync::Mutex::new(2), 3)), 3);
}

#[test]
fn pattern_arguments_are_bound_once_and_forwarded() {
    let pair = || Pair {
        left: "l".into(),
        right: "r".into(),
    };
    let _f = on("shapeFlag");
    assert_eq!(patterns((1, 2), pair(), 9, [7, 8, 9]), "1+2 lr 7");
    drop(_f);
    let _f = off("shapeFlag");
    assert_eq!(
        patterns((1, 2), pair(), 9, [7, 8, 9]),
        "old (1, 2) l r 9 [7, 8, 9]"
    );
}

// --- methods ------------------------------------------------------------------------------

#[derive(Debug, Default, PartialEq)]
struct Cart {
    items: Vec<u32>,
}

impl Cart {
    #[feature_flag("methodFlag", fallback = Self::old_total, schema = "tests/flags.json")]
    fn total(&self, discount: u32) -> u32 {
        self.items.iter().sum::<u32>() - discount
    }

    fn old_total(&self, _discount: u32) -> u32 {
        self.items.iter().sum()
    }

    #[feature_flag("methodFlag", fallback = Cart::old_add, schema = "tests/flags.json")]
    fn add(&mut self, item: u32) {
        self.items.push(item * 10);
    }

    fn old_add(&mut self, item: u32) {
        self.items.push(item);
    }

    #[feature_flag("methodFlag", fallback = Self::old_into_count, schema = "tests/flags.json")]
    fn into_count(self) -> usize {
        self.items.len() * 100
    }

    fn old_into_count(self) -> usize {
        self.items.len()
    }

    #[feature_flag("methodFlag", fallback = Self::old_async_total, schema = "tests/flags.json")]
    async fn async_total(&self) -> u32 {
        tokio::task::yield_now().await;
        self.items.iter().sum::<u32>() * 2
    }

    async fn old_async_total(&self) -> u32 {
        self.items.iter().sum()
    }

    #[feature_flag("methodFlag", fallback = Self::old_async_take, schema = "tests/flags.json")]
    async fn async_take(mut self, extra: u32) -> Vec<u32> {
        self.items.push(extra);
        self.items
    }

    async fn old_async_take(self, _extra: u32) -> Vec<u32> {
        self.items
    }
}

#[test]
fn methods_with_every_receiver() {
    let _f = on("methodFlag");
    let mut cart = Cart::default();
    cart.add(1);
    cart.add(2);
    assert_eq!(cart.items, [10, 20]);
    assert_eq!(cart.total(5), 25);
    assert_eq!(cart.into_count(), 200);
    drop(_f);

    let _f = off("methodFlag");
    let mut cart = Cart::default();
    cart.add(1);
    cart.add(2);
    assert_eq!(cart.items, [1, 2]);
    assert_eq!(cart.total(5), 3);
    assert_eq!(cart.into_count(), 2);
}

#[tokio::test]
async fn async_methods() {
    let cart = || Cart { items: vec![1, 2] };
    let on = Overrides::new().enable("methodFlag");
    on.scope(async {
        assert_eq!(cart().async_total().await, 6);
        assert_eq!(cart().async_take(3).await, [1, 2, 3]);
    })
    .await;
    let off = Overrides::new().disable("methodFlag");
    off.scope(async {
        assert_eq!(cart().async_total().await, 3);
        assert_eq!(cart().async_take(3).await, [1, 2]);
    })
    .await;
}

// --- async free fns ------------------------------------------------------------------------

#[feature_flag("asyncFlag", fallback = old_fetch, schema = "tests/flags.json")]
async fn fetch<T: Display + Send>(id: T, (retries, verbose): (u8, bool)) -> Result<String, String> {
    let id = id.to_string();
    if id.is_empty() {
        return Err("empty id".into());
    }
    let checked: u8 = retries.checked_add(1).ok_or("too many retries")?;
    Ok(format!("new {id} {checked} {verbose}"))
}

async fn old_fetch<T: Display + Send>(id: T, args: (u8, bool)) -> Result<String, String> {
    Ok(format!("old {id} {args:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_free_fn_across_threads() {
    let on = tokio::spawn(Overrides::new().enable("asyncFlag").scope(async {
        (
            fetch(7, (1, true)).await,
            fetch("", (1, true)).await,
            fetch(7, (255, true)).await,
        )
    }));
    let off = tokio::spawn(
        Overrides::new()
            .disable("asyncFlag")
            .scope(fetch(7, (1, true))),
    );
    let (on, off) = (on.await.unwrap(), off.await.unwrap());
    assert_eq!(on.0.unwrap(), "new 7 2 true");
    assert_eq!(on.1.unwrap_err(), "empty id");
    assert_eq!(on.2.unwrap_err(), "too many retries");
    assert_eq!(off.unwrap(), "old 7 (1, true)");
}

// --- lambda_runtime handlers ----------------------------------------------------------------

use lambda_runtime::{service_fn, Context, LambdaEvent, Service};
use serde_json::{json, Value};

#[feature_flag("lambdaFlag", fallback = old_handler, schema = "tests/flags.json")]
async fn handler(
    LambdaEvent { payload, context }: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    Ok(json!({ "path": "new", "echo": payload, "request": context.request_id }))
}

async fn old_handler(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(json!({ "path": "old", "echo": event.payload }))
}

#[tokio::test]
async fn lambda_handler_through_service_fn() {
    let event = || {
        let mut context = Context::default();
        context.request_id = "req-1".into();
        LambdaEvent::new(json!({"cart": 1}), context)
    };
    let mut service = service_fn(handler);
    let _f = on("lambdaFlag");
    let answer = service.call(event()).await.unwrap();
    assert_eq!(
        answer,
        json!({"path": "new", "echo": {"cart": 1}, "request": "req-1"})
    );
    drop(_f);
    let _f = off("lambdaFlag");
    let answer = service.call(event()).await.unwrap();
    assert_eq!(answer, json!({"path": "old", "echo": {"cart": 1}}));
}

// --- crate = path ---------------------------------------------------------------------------

mod renamed {
    extern crate flag_runtime as my_flags;

    #[flag_macros::feature_flag("shapeFlag", fallback = old, schema = "tests/flags.json", crate = my_flags)]
    pub fn pick() -> &'static str {
        "new"
    }

    fn old() -> &'static str {
        "old"
    }
}

#[test]
fn crate_path_override() {
    let _f = on("shapeFlag");
    assert_eq!(renamed::pick(), "new");
    drop(_f);
    assert_eq!(renamed::pick(), "old");
}

// --- rebuild tracking -------------------------------------------------------------------------

/// Cargo rebuilds a crate when a file in its rustc dep-info changes: the schema must be there.
#[test]
fn schema_is_in_the_dep_info() {
    let exe = std::env::current_exe().unwrap();
    let dep_info = exe.with_extension("d");
    let text = std::fs::read_to_string(&dep_info)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dep_info.display()));
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flags.json");
    assert!(
        text.contains(&schema.display().to_string()),
        "{} not tracked in:\n{text}",
        schema.display()
    );
    assert!(
        text.contains("# env-dep:FEATURE_FLAGS_SCHEMA"),
        "the env var is tracked too:\n{text}"
    );
}
