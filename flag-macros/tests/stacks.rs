//! `#[feature_flag]` stacked with what Lambda crates use every day: `#[tracing::instrument]`
//! (in both orders), `#[async_trait]`, `macro_rules!` wrappers, `ref mut` patterns and
//! `-> impl Trait` returns. Flags are forced through flag-runtime's test overrides.

use std::future::Future;
use std::sync::{Arc, Mutex};

use flag_macros::feature_flag;
use flag_runtime::Overrides;
use flag_testkit::Lines;

fn on() -> flag_runtime::OverrideGuard {
    Overrides::new().enable("shapeFlag").apply()
}

fn off() -> flag_runtime::OverrideGuard {
    Overrides::new().disable("shapeFlag").apply()
}

// --- #[tracing::instrument] ---------------------------------------------------------------

fn subscriber(lines: &Lines) -> impl tracing::Subscriber + Send + Sync {
    let lines = lines.clone();
    tracing_subscriber::fmt()
        .with_writer(move || lines.clone())
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .finish()
}

/// Not `Debug`: `#[instrument]` records the names it is destructured into, not the argument.
struct Wrapper {
    inner: u32,
}

#[feature_flag("shapeFlag", fallback = old_below, schema = "tests/flags.json")]
#[tracing::instrument]
fn below((a, b): (u8, u8), Wrapper { inner }: Wrapper) -> u32 {
    tracing::info!("on");
    u32::from(a + b) + inner
}

#[tracing::instrument]
#[feature_flag("shapeFlag", fallback = old_below, schema = "tests/flags.json")]
fn above((a, b): (u8, u8), Wrapper { inner }: Wrapper) -> u32 {
    tracing::info!("on");
    u32::from(a + b) + inner
}

fn old_below(pair: (u8, u8), wrapper: Wrapper) -> u32 {
    tracing::info!("off");
    u32::from(pair.0) + wrapper.inner
}

#[test]
fn instrument_in_both_orders_spans_both_paths_with_the_names_as_written() {
    let lines = Lines::default();
    tracing::subscriber::with_default(subscriber(&lines), || {
        for (gated, name) in [(below as fn(_, _) -> _, "below"), (above, "above")] {
            let _f = on();
            assert_eq!(gated((1, 2), Wrapper { inner: 3 }), 6);
            let printed = lines.take();
            assert!(
                printed.contains(&format!("{name}{{a=1 b=2 inner=3}}: on")),
                "{name}, on:\n{printed}"
            );
            drop(_f);
            let _f = off();
            assert_eq!(gated((1, 2), Wrapper { inner: 3 }), 4);
            let printed = lines.take();
            assert!(
                printed.contains(&format!("{name}{{a=1 b=2 inner=3}}: off")),
                "{name}, off:\n{printed}"
            );
        }
    });
}

#[feature_flag("shapeFlag", fallback = old_fetch, schema = "tests/flags.json")]
#[tracing::instrument(skip(token), fields(kind = "fetch"))]
async fn fetch_below(id: u32, (token, retries): (String, u8)) -> Result<u32, String> {
    tokio::task::yield_now().await;
    tracing::info!("on");
    if token.is_empty() {
        return Err("no token".into());
    }
    Ok(id + u32::from(retries))
}

#[tracing::instrument(skip(token), fields(kind = "fetch"), err)]
#[feature_flag("shapeFlag", fallback = old_fetch, schema = "tests/flags.json")]
async fn fetch_above(id: u32, (token, retries): (String, u8)) -> Result<u32, String> {
    tokio::task::yield_now().await;
    tracing::info!("on");
    if token.is_empty() {
        return Err("no token".into());
    }
    Ok(id + u32::from(retries))
}

async fn old_fetch(id: u32, args: (String, u8)) -> Result<u32, String> {
    tracing::info!("off");
    Ok(id + u32::from(args.1) * 100)
}

#[tokio::test]
async fn instrument_async_fns_in_both_orders() {
    let lines = Lines::default();
    let _subscriber = tracing::subscriber::set_default(subscriber(&lines));
    for name in ["fetch_below", "fetch_above"] {
        let call = |id, args| -> std::pin::Pin<Box<dyn Future<Output = _>>> {
            match name {
                "fetch_below" => Box::pin(fetch_below(id, args)),
                _ => Box::pin(fetch_above(id, args)),
            }
        };
        let on = Overrides::new().enable("shapeFlag");
        assert_eq!(on.scope(call(1, ("t".into(), 2))).await, Ok(3));
        let printed = lines.take();
        assert!(
            printed.contains(&format!("{name}{{id=1 retries=2 kind=\"fetch\"}}: on")),
            "{name}, on:\n{printed}"
        );
        let on = Overrides::new().enable("shapeFlag");
        assert_eq!(
            on.scope(call(1, (String::new(), 2))).await,
            Err("no token".into())
        );
        let off = Overrides::new().disable("shapeFlag");
        assert_eq!(off.scope(call(1, ("t".into(), 2))).await, Ok(201));
        let printed = lines.take();
        assert!(
            printed.contains(&format!("{name}{{id=1 retries=2 kind=\"fetch\"}}: off")),
            "{name}, off:\n{printed}"
        );
    }
}

struct Greeter {
    greeting: &'static str,
}

impl Greeter {
    #[feature_flag("shapeFlag", fallback = Self::old_greet, schema = "tests/flags.json")]
    #[tracing::instrument(skip(self))]
    fn greet(&self, name: &str) -> String {
        tracing::info!("on");
        format!("{} {name}", self.greeting)
    }

    fn old_greet(&self, name: &str) -> String {
        tracing::info!("off");
        format!("hi {name}")
    }
}

#[test]
fn instrument_on_methods() {
    let lines = Lines::default();
    let greeter = Greeter { greeting: "hello" };
    tracing::subscriber::with_default(subscriber(&lines), || {
        let _f = on();
        assert_eq!(greeter.greet("ann"), "hello ann");
        assert!(lines.take().contains("greet{name=\"ann\"}: on"));
        drop(_f);
        assert_eq!(greeter.greet("ann"), "hi ann");
        assert!(lines.take().contains("greet{name=\"ann\"}: off"));
    });
}

// --- #[async_trait] -----------------------------------------------------------------------

#[async_trait::async_trait]
trait Checkout {
    async fn total(&self, items: Vec<u32>) -> u32;

    /// A gated default method, falling back on another async-trait method.
    #[feature_flag("shapeFlag", fallback = Self::plain_label, schema = "tests/flags.json")]
    async fn label(&self, (prefix, count): (&'static str, u8)) -> String {
        tokio::task::yield_now().await;
        format!("{prefix}: {count} new")
    }

    async fn plain_label(&self, pair: (&'static str, u8)) -> String {
        format!("{}: {} old", pair.0, pair.1)
    }
}

struct Shop {
    discount: u32,
}

impl Shop {
    /// An inherent `async fn` as the fallback of an async-trait method.
    async fn old_total(&self, items: Vec<u32>) -> u32 {
        items.iter().sum()
    }
}

#[async_trait::async_trait]
impl Checkout for Shop {
    #[feature_flag("shapeFlag", fallback = Shop::old_total, schema = "tests/flags.json")]
    async fn total(&self, items: Vec<u32>) -> u32 {
        tokio::task::yield_now().await;
        items.iter().sum::<u32>() - self.discount
    }
}

/// `#[instrument]` on a gated async-trait method, in both orders.
#[async_trait::async_trait]
trait Pricing {
    async fn below(&self, cents: u64) -> u64;
    async fn above(&self, cents: u64) -> u64;
}

impl Shop {
    async fn old_price(&self, cents: u64) -> u64 {
        tracing::info!("off");
        cents
    }
}

#[async_trait::async_trait]
impl Pricing for Shop {
    #[feature_flag("shapeFlag", fallback = Shop::old_price, schema = "tests/flags.json")]
    #[tracing::instrument(skip(self))]
    async fn below(&self, cents: u64) -> u64 {
        tracing::info!("on");
        cents - u64::from(self.discount)
    }

    #[tracing::instrument(skip(self))]
    #[feature_flag("shapeFlag", fallback = Shop::old_price, schema = "tests/flags.json")]
    async fn above(&self, cents: u64) -> u64 {
        tracing::info!("on");
        cents - u64::from(self.discount)
    }
}

#[tokio::test]
async fn instrument_on_async_trait_methods() {
    let lines = Lines::default();
    let _subscriber = tracing::subscriber::set_default(subscriber(&lines));
    let shop = Shop { discount: 1 };
    for name in ["below", "above"] {
        let call = |cents| match name {
            "below" => shop.below(cents),
            _ => shop.above(cents),
        };
        let on = Overrides::new().enable("shapeFlag");
        assert_eq!(on.scope(call(10)).await, 9);
        let printed = lines.take();
        assert!(
            printed.contains(&format!("{name}{{cents=10}}: on")),
            "{name}, on:\n{printed}"
        );
        let off = Overrides::new().disable("shapeFlag");
        assert_eq!(off.scope(call(10)).await, 10);
        let printed = lines.take();
        assert!(
            printed.contains(&format!("{name}{{cents=10}}: off")),
            "{name}, off:\n{printed}"
        );
    }
}

#[tokio::test]
async fn async_trait_methods_with_any_async_fallback() {
    let shop = Shop { discount: 1 };
    let dynamic: &(dyn Checkout + Sync) = &shop;
    let on = Overrides::new().enable("shapeFlag");
    on.scope(async {
        assert_eq!(shop.total(vec![2, 3]).await, 4);
        assert_eq!(dynamic.label(("cart", 2)).await, "cart: 2 new");
    })
    .await;
    let off = Overrides::new().disable("shapeFlag");
    off.scope(async {
        assert_eq!(shop.total(vec![2, 3]).await, 5);
        assert_eq!(dynamic.label(("cart", 2)).await, "cart: 2 old");
    })
    .await;
}

// --- ref mut bindings ---------------------------------------------------------------------

#[feature_flag("shapeFlag", fallback = old_fill, schema = "tests/flags.json")]
fn fill((ref mut bytes, n): (Vec<u8>, u8)) -> Vec<u8> {
    bytes.push(n);
    bytes.clone()
}

fn old_fill(pair: (Vec<u8>, u8)) -> Vec<u8> {
    pair.0
}

#[test]
fn ref_mut_bindings_in_patterns() {
    let _f = on();
    assert_eq!(fill((vec![1], 2)), [1, 2]);
    drop(_f);
    assert_eq!(fill((vec![1], 2)), [1]);
}

// --- macro_rules! -------------------------------------------------------------------------

macro_rules! gated_by_path {
    ($name:ident, $flag:literal, $fallback:path) => {
        #[feature_flag($flag, fallback = $fallback, schema = "tests/flags.json")]
        fn $name(x: u8) -> u8 {
            x + 1
        }
    };
}

macro_rules! gated_by_expr {
    ($name:ident, $flag:expr, $fallback:expr) => {
        #[feature_flag($flag, fallback = $fallback, schema = "tests/flags.json")]
        fn $name(x: u8) -> u8 {
            x + 2
        }
    };
}

gated_by_path!(plus_one, "shapeFlag", self::same);
gated_by_expr!(plus_two, "shapeFlag", same);

fn same(x: u8) -> u8 {
    x
}

#[test]
fn macro_rules_fragments() {
    let _f = on();
    assert_eq!((plus_one(1), plus_two(1)), (2, 3));
    drop(_f);
    assert_eq!((plus_one(1), plus_two(1)), (1, 1));
}

// --- -> impl Trait ------------------------------------------------------------------------

fn even(n: &u32) -> bool {
    n.is_multiple_of(2)
}

/// Two iterator types (each holding its own closure), an early `return` in the body.
#[feature_flag("shapeFlag", fallback = old_evens, schema = "tests/flags.json")]
fn evens(limit: u32) -> impl DoubleEndedIterator<Item = u32> {
    if limit > 100 {
        return (0..0).filter(even);
    }
    (0..limit).filter(even)
}

fn old_evens(limit: u32) -> impl DoubleEndedIterator<Item = u32> {
    (0..limit.div_ceil(2)).map(move |n| n * 2)
}

/// Two async blocks: two future types.
#[feature_flag("shapeFlag", fallback = old_later, schema = "tests/flags.json")]
fn later((base, step): (u32, u32)) -> impl Future<Output = u32> + Send {
    async move { base + step }
}

fn old_later(pair: (u32, u32)) -> impl Future<Output = u32> + Send {
    let (base, _) = pair;
    async move { base }
}

#[tokio::test]
async fn impl_trait_returns_of_different_types() {
    let _f = on();
    assert_eq!(evens(7).rev().collect::<Vec<_>>(), [6, 4, 2, 0]);
    assert_eq!(evens(1000).count(), 0);
    let future = later((1, 2));
    drop(_f); // decided when called, not when awaited
    assert_eq!(future.await, 3);
    assert_eq!(evens(7).rev().collect::<Vec<_>>(), [6, 4, 2, 0]);
    assert_eq!(evens(1000).count(), 500);
    assert_eq!(later((1, 2)).await, 1);
}

// --- review fixes ---------------------------------------------------------------------------

/// A plain fn returning `Box::pin(async move { .. })` (a tower `Service::call`) is not
/// async-trait output: it decides at call time, and `&mut self` is not captured in the future.
struct Service {
    base: u32,
}

type Boxed = std::pin::Pin<Box<dyn Future<Output = u32> + Send + 'static>>;

impl Service {
    #[feature_flag("shapeFlag", fallback = Self::old_call, schema = "tests/flags.json")]
    fn call(&mut self, n: u32) -> Boxed {
        self.base += 1;
        let base = self.base;
        Box::pin(async move { base + n })
    }

    fn old_call(&mut self, n: u32) -> Boxed {
        let base = self.base;
        Box::pin(async move { base * n })
    }
}

#[tokio::test]
async fn a_boxed_future_decides_at_call_time() {
    let mut service = Service { base: 10 };
    let future = {
        let _on = on();
        service.call(2)
    };
    // Polled after the override ended: the decision was taken when `call` ran.
    assert_eq!(future.await, 13);
    let _off = off();
    assert_eq!(service.call(2).await, 22);
}

/// A sync `-> impl Trait` body returning borrows of its arguments.
#[feature_flag("shapeFlag", fallback = old_every_other_mut, schema = "tests/flags.json")]
fn every_other_mut<'a>(v: &'a mut [u32]) -> impl Iterator<Item = &'a mut u32> + 'a {
    v.iter_mut().step_by(2)
}

fn old_every_other_mut<'a>(v: &'a mut [u32]) -> impl Iterator<Item = &'a mut u32> + 'a {
    v.iter_mut().skip(1).step_by(2)
}

#[test]
fn impl_trait_bodies_may_return_borrows() {
    let mut v = vec![1, 2, 3, 4];
    {
        let _on = on();
        every_other_mut(&mut v).for_each(|x| *x *= 10);
    }
    assert_eq!(v, [10, 2, 30, 4]);
    let _off = off();
    every_other_mut(&mut v).for_each(|x| *x = 0);
    assert_eq!(v, [10, 0, 30, 0]);
}

/// Parameters drop last first, destructured or not, as in the function as written.
struct Noisy(&'static str, Arc<Mutex<Vec<&'static str>>>);

impl Drop for Noisy {
    fn drop(&mut self) {
        self.1.lock().unwrap().push(self.0);
    }
}

#[feature_flag("shapeFlag", fallback = old_drops, schema = "tests/flags.json")]
fn drops((a, b): (Noisy, Noisy), mut c: Noisy, d: Noisy) {
    c.0 = "c";
    let _ = (&a, &b, &d);
}

fn old_drops(_: (Noisy, Noisy), _c: Noisy, _d: Noisy) {}

#[test]
fn parameters_drop_in_the_order_written() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let noisy = |name| Noisy(name, Arc::clone(&log));
    let _on = on();
    drops((noisy("a"), noisy("b")), noisy("c0"), noisy("d"));
    assert_eq!(*log.lock().unwrap(), ["d", "c", "b", "a"]);
}

/// The marker of a deprecated flag is not visible to the body.
#[feature_flag("legacyReceipt", fallback = old_receipt, schema = "tests/flags.json")]
#[allow(deprecated)]
fn receipt() -> u32 {
    let deprecated_feature_flag = 1;
    deprecated_feature_flag + 1
}

fn old_receipt() -> u32 {
    0
}

#[test]
fn generated_items_stay_out_of_the_body() {
    let _on = Overrides::new().enable("legacyReceipt").apply();
    assert_eq!(receipt(), 2);
}

/// `#[instrument(ret)]` on an async fn logs what either path returns, in both orders.
#[tracing::instrument(ret)]
#[feature_flag("shapeFlag", fallback = old_total, schema = "tests/flags.json")]
async fn total_above(n: u32) -> u32 {
    n + 1
}

#[feature_flag("shapeFlag", fallback = old_total, schema = "tests/flags.json")]
#[tracing::instrument(ret)]
async fn total_below(n: u32) -> u32 {
    n + 1
}

async fn old_total(n: u32) -> u32 {
    n * 100
}

#[tokio::test]
async fn instrument_ret_sees_both_paths() {
    let lines = Lines::default();
    let _subscriber = tracing::subscriber::set_default(subscriber(&lines));
    for above in [true, false] {
        let call = |n| -> std::pin::Pin<Box<dyn Future<Output = u32>>> {
            if above {
                Box::pin(total_above(n))
            } else {
                Box::pin(total_below(n))
            }
        };
        let on = Overrides::new().enable("shapeFlag");
        assert_eq!(on.scope(call(3)).await, 4);
        let off = Overrides::new().disable("shapeFlag");
        assert_eq!(off.scope(call(3)).await, 300);
        let printed = lines.take();
        assert!(printed.contains("return=4"), "above: {above}\n{printed}");
        assert!(printed.contains("return=300"), "above: {above}\n{printed}");
    }
}
