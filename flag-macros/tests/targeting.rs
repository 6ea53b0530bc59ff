//! `context = ...`: gated functions checked for an evaluation context, over real HTTP.
//!
//! The local agent serves `tests/targeting.json`, the same document these functions are checked
//! against at compile time, and evaluates its multi-variant `discount` flag for each request's
//! context: the `gold` tier and customers 7 and 42 get it, the `blocked` tier never does (its
//! variant comes first), everyone else does not.
//!
//! Warnings are errors here: a context missing a key the rules read, or a context on a flag
//! without variants, would fail this file's build.
#![deny(warnings)]

use std::cell::Cell;
use std::num::ParseIntError;
use std::path::Path;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

use flag_macros::feature_flag;
use flag_runtime::{Config, Context, FlagSource, Overrides};

/// Starts the agent on `tests/targeting.json` (on a thread of its own, for every test of this
/// binary) and installs it as the default source, once.
fn agent() -> &'static flag_agent::RunningAgent {
    static START: Once = Once::new();
    static AGENT: OnceLock<flag_agent::RunningAgent> = OnceLock::new();
    START.call_once(|| {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/targeting.json");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let agent = flag_agent::Agent::new(file, "shop", "develop", "flags")
                    .start("127.0.0.1:0".parse().unwrap())
                    .await
                    .unwrap();
                let port = agent.addr().port();
                assert!(AGENT.set(agent).is_ok());
                port_tx.send(port).unwrap();
                std::future::pending::<()>().await;
            });
        });
        let config = Config::builder()
            .application("shop")
            .environment("develop")
            .configuration("flags")
            .port(port_rx.recv().unwrap())
            .build()
            .unwrap();
        flag_runtime::install_default(FlagSource::new(config).unwrap()).unwrap();
    });
    AGENT.get().expect("set before the port is sent")
}

/// Loads `context`'s answer. The sync check never waits: a context it sees for the first time
/// is answered context-free (here: off) while its own answer loads.
async fn load(context: &Context) {
    flag_runtime::default_source()
        .with_context(context)
        .is_enabled("discount")
        .await;
}

fn customer(tier: &str, id: u64) -> Context {
    Context::new().with("tier", tier).with("customerId", id)
}

// --- async free fn: a builder expression over a borrowed argument ------------------------------

struct Order {
    tier: String,
    customer_id: u64,
    cents: u64,
}

fn order(tier: &str, customer_id: u64) -> Order {
    Order {
        tier: tier.into(),
        customer_id,
        cents: 1000,
    }
}

#[feature_flag(
    "discount",
    fallback = full_price,
    context = Context::new().with("tier", order.tier.as_str()).with("customerId", order.customer_id),
    schema = "tests/targeting.json"
)]
async fn price(order: Order, visits: Cell<u32>) -> u64 {
    visits.set(visits.get() + 1);
    tokio::task::yield_now().await;
    order.cents * 9 / 10 // `order` was borrowed by the context, not moved
}

async fn full_price(order: Order, _visits: Cell<u32>) -> u64 {
    order.cents
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_fn_follows_the_variant_rules() {
    agent();
    // Spawned: the gated future is still `Send` with a `Send + !Sync` argument (`Cell`).
    let price = |tier: &str, id| tokio::spawn(price(order(tier, id), Cell::new(0)));
    assert_eq!(
        price("gold", 1).await.unwrap(),
        900,
        "gold variant: enabled"
    );
    assert_eq!(price("silver", 42).await.unwrap(), 900, "staff variant");
    assert_eq!(
        price("silver", 1).await.unwrap(),
        1000,
        "default variant: off"
    );
    assert_eq!(
        price("blocked", 42).await.unwrap(),
        1000,
        "the first matching variant wins: blocked, disabled"
    );
}

/// The expression can `.await` in an `async fn`; the parameters are references there (`*id`).
async fn lookup(id: u64) -> Context {
    tokio::task::yield_now().await;
    customer(if id == 5 { "gold" } else { "silver" }, id)
}

#[feature_flag("discount", fallback = plain_greeting, context = lookup(*id).await, schema = "tests/targeting.json")]
async fn greeting(id: u64) -> String {
    format!("#{id}: 10% off")
}

async fn plain_greeting(id: u64) -> String {
    format!("#{id}: welcome")
}

#[tokio::test]
async fn the_context_expression_can_await() {
    agent();
    assert_eq!(greeting(5).await, "#5: 10% off");
    assert_eq!(greeting(6).await, "#6: welcome");
}

// --- sync free fn: named pairs over owned arguments, `?` and `return` --------------------------

#[feature_flag(
    "discount",
    fallback = parse_full,
    context(tier = tier, customerId = customer_id),
    schema = "tests/targeting.json"
)]
fn parse_discounted(tier: String, customer_id: u64, cents: &str) -> Result<String, ParseIntError> {
    if cents.is_empty() {
        return Ok(format!("{tier}: nothing to pay"));
    }
    let cents: u64 = cents.parse()?;
    Ok(format!("{tier} #{customer_id}: {}", cents * 9 / 10))
}

fn parse_full(tier: String, _customer_id: u64, cents: &str) -> Result<String, ParseIntError> {
    Ok(format!("{tier}: {}", cents.parse::<u64>()?))
}

#[tokio::test]
async fn sync_fn_follows_the_variant_rules() {
    let agent = agent();
    let parse = |tier: &str, id, cents| parse_discounted(tier.into(), id, cents);
    // The agent holds its answers (within the 1 s timeout) so that the first check cannot race
    // the load it starts.
    agent.set_fault(flag_agent::Fault::Delay(Duration::from_millis(300)));
    assert_eq!(
        parse("gold", 3, "1000").unwrap(),
        "gold: 1000",
        "a context seen for the first time: answered context-free, without waiting"
    );
    agent.clear_fault();
    for (tier, id) in [("gold", 3), ("silver", 7), ("silver", 3), ("blocked", 7)] {
        load(&customer(tier, id)).await;
    }
    assert_eq!(parse("gold", 3, "1000").unwrap(), "gold #3: 900");
    assert_eq!(parse("gold", 3, "").unwrap(), "gold: nothing to pay");
    assert!(parse("gold", 3, "x").is_err(), "`?` in the body");
    assert_eq!(parse("silver", 7, "1000").unwrap(), "silver #7: 900");
    assert_eq!(parse("silver", 3, "1000").unwrap(), "silver: 1000");
    assert_eq!(parse("blocked", 7, "1000").unwrap(), "blocked: 1000");
    assert!(parse("silver", 3, "x").is_err(), "`?` in the fallback");
}

// --- methods: a field, a lock guard, by-value `self` --------------------------------------------

struct Customer {
    tier: String,
    id: u64,
    context: Context,
    session: Mutex<Context>,
}

impl Customer {
    fn new(tier: &str, id: u64) -> Self {
        Customer {
            tier: tier.into(),
            id,
            context: customer(tier, id),
            session: Mutex::new(customer(tier, id)),
        }
    }

    /// A field: borrowed, never moved.
    #[feature_flag("discount", fallback = Self::plain_banner, context = self.context, schema = "tests/targeting.json")]
    fn banner(&self, name: &str) -> String {
        format!("{name}, take 10% off")
    }

    fn plain_banner(&self, name: &str) -> String {
        format!("welcome, {name}")
    }

    /// A lock guard derefs to the context; it is released before the body locks again.
    #[feature_flag(
        "discount",
        fallback = Self::plain_session,
        context = self.session.lock().unwrap(),
        schema = "tests/targeting.json"
    )]
    fn session_tier(&mut self) -> String {
        let session = self.session.lock().unwrap();
        format!("{} discount", session.get("tier").unwrap_or_default())
    }

    fn plain_session(&mut self) -> String {
        "no discount".into()
    }

    /// By-value `self`: the pairs borrow its fields; `?` and `return` in an async method.
    #[feature_flag(
        "discount",
        fallback = Self::into_full_offer,
        context(tier = self.tier, customerId = self.id, entity_id = self.id),
        schema = "tests/targeting.json"
    )]
    async fn into_offer(self, coupon: Option<&str>) -> Result<String, String> {
        let Some(coupon) = coupon else {
            return Ok(format!("{} gets 10%", self.tier));
        };
        let extra: u8 = coupon.parse().map_err(|_| "bad coupon".to_owned())?;
        Ok(format!("{} gets {}%", self.tier, 10 + extra))
    }

    async fn into_full_offer(self, _coupon: Option<&str>) -> Result<String, String> {
        Ok(format!("{} pays full price", self.tier))
    }
}

#[tokio::test]
async fn methods_follow_the_variant_rules() {
    agent();
    for (tier, id) in [("gold", 5), ("silver", 5)] {
        load(&customer(tier, id)).await;
    }
    assert_eq!(Customer::new("gold", 5).banner("ann"), "ann, take 10% off");
    assert_eq!(Customer::new("silver", 5).banner("bob"), "welcome, bob");
    assert_eq!(Customer::new("gold", 5).session_tier(), "gold discount");
    assert_eq!(Customer::new("silver", 5).session_tier(), "no discount");

    let offer = |tier: &str, coupon| Customer::new(tier, 42).into_offer(coupon);
    assert_eq!(offer("gold", None).await.unwrap(), "gold gets 10%");
    assert_eq!(offer("gold", Some("5")).await.unwrap(), "gold gets 15%");
    assert_eq!(offer("gold", Some("x")).await.unwrap_err(), "bad coupon");
    assert_eq!(offer("silver", None).await.unwrap(), "silver gets 10%");
    assert_eq!(
        offer("blocked", Some("5")).await.unwrap(),
        "blocked pays full price"
    );
}

// --- destructured parameters, a shared context, a Lambda handler ------------------------------

#[feature_flag(
    "discount",
    fallback = plain_pair,
    context(tier = tier, customerId = id),
    schema = "tests/targeting.json"
)]
fn pair((mut tier, id): (String, u64), [first, ..]: [u8; 2]) -> String {
    tier.push('!');
    format!("{tier}/{id}/{first}: discounted")
}

fn plain_pair(customer: (String, u64), _bytes: [u8; 2]) -> String {
    format!("{}/{}: full price", customer.0, customer.1)
}

#[feature_flag("discount", fallback = plain_shared, context = shared, schema = "tests/targeting.json")]
fn shared(shared: Arc<Context>) -> &'static str {
    "discounted"
}

fn plain_shared(_shared: Arc<Context>) -> &'static str {
    "full price"
}

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

#[feature_flag(
    "discount",
    fallback = plain_handler,
    context = Context::new()
        .with("tier", payload["tier"].as_str().unwrap_or("none"))
        .with("customerId", payload["customerId"].as_u64().unwrap_or(0))
        .with_entity_id(context.request_id.as_str()),
    schema = "tests/targeting.json"
)]
async fn handler(
    LambdaEvent { payload, context }: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    Ok(json!({ "discount": true, "request": context.request_id, "tier": payload["tier"] }))
}

async fn plain_handler(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(json!({ "discount": false, "request": event.context.request_id }))
}

#[tokio::test]
async fn parameters_of_every_shape() {
    agent();
    for (tier, id) in [("gold", 1), ("silver", 1)] {
        load(&customer(tier, id)).await;
    }
    assert_eq!(pair(("gold".into(), 1), [9, 8]), "gold!/1/9: discounted");
    assert_eq!(pair(("silver".into(), 1), [9, 8]), "silver/1: full price");
    assert_eq!(shared(Arc::new(customer("gold", 1))), "discounted");
    assert_eq!(shared(Arc::new(customer("silver", 1))), "full price");

    let event = |tier: &str| {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-1".into();
        LambdaEvent::new(json!({"tier": tier, "customerId": 9}), context)
    };
    assert_eq!(
        handler(event("gold")).await.unwrap(),
        json!({"discount": true, "request": "req-1", "tier": "gold"})
    );
    assert_eq!(
        handler(event("silver")).await.unwrap(),
        json!({"discount": false, "request": "req-1"})
    );
}

// --- overrides still force the flag, whatever the context --------------------------------------

#[test]
fn overrides_win_over_the_context() {
    agent();
    let _on = Overrides::new().enable("discount").apply();
    assert_eq!(shared(Arc::new(customer("blocked", 1))), "discounted");
    drop(_on);
    let _off = Overrides::new().disable("discount").apply();
    assert_eq!(shared(Arc::new(customer("gold", 1))), "full price");
}

// --- the typed context of `flags!` ----------------------------------------------------------------

flag_macros::flags!(
    /// The typed flags of `tests/targeting.json`.
    mod targeted,
    schema = "tests/targeting.json"
);

#[feature_flag(
    "discount",
    fallback = full_price_typed,
    context = targeted::context().tier(&order.tier).customer_id(order.customer_id),
    schema = "tests/targeting.json"
)]
fn price_typed(order: &Order) -> u64 {
    order.cents * 9 / 10
}

fn full_price_typed(order: &Order) -> u64 {
    order.cents
}

/// `flags::context()` has a method per key the rules read, typed as they compare it (`tier`
/// text, `customerId` a number); it goes wherever a `Context` does: `with_context`, a gate's
/// `context =`, a scope, and the agent evaluates what it carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_context_goes_wherever_a_context_does() {
    agent();
    let gold = targeted::context().tier("gold").customer_id(1u8);
    assert_eq!(
        gold.get("tier"),
        Some("gold"),
        "derefs to the runtime's Context"
    );
    assert_eq!(gold.get("customerId"), Some("1"));
    let source = flag_runtime::default_source();
    assert!(source.with_context(&gold).is_enabled("discount").await);
    let staff = targeted::context()
        .tier("silver")
        .customer_id(42)
        .with_entity_id("c-42");
    assert_eq!(staff.entity_id(), Some("c-42"));
    load(&staff).await;
    assert_eq!(price_typed(&order("silver", 42)), 900, "the gate's context");
    load(&targeted::context().tier("silver").customer_id(1)).await;
    assert_eq!(price_typed(&order("silver", 1)), 1000);
    let percentage = flag_runtime::scope(staff, async {
        targeted::DISCOUNT.get().await.map(|d| d.percentage)
    })
    .await;
    assert_eq!(percentage, Some(Some(50.0)), "a scope takes it too");
    let runtime: Context = targeted::context().tier("gold").into();
    assert_eq!(runtime.pairs().collect::<Vec<_>>(), [("tier", "gold")]);
}
