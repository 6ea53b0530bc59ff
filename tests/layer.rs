//! `flag_runtime::lambda::FlagsLayer` under the real `lambda_runtime` client, polling a Runtime
//! API on loopback (flag-local's emulator), against the local agent: each invocation is an
//! invocation scope, under `lambda_runtime::run` and under `run_concurrent` (Lambda Managed
//! Instances) alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flag_local::{Outcome, RuntimeApi};
use flag_runtime::lambda::FlagsLayer;
use flag_runtime::{Context, FlagSource};
use flag_testkit::{source, start_agent, tiers_doc, FlagsFile};
use lambda_runtime::tower::ServiceBuilder;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// One runtime's invocations running at once, and the most seen.
#[derive(Default)]
struct Load {
    running: AtomicUsize,
    most: AtomicUsize,
}

/// Reads both flags, sleeps `sleepMs`, reads them again: what a scope pins shows as
/// `before == after` whatever changed at the agent meanwhile.
async fn handler(
    flags: FlagSource,
    load: Arc<Load>,
    called_in_scope: bool,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let running = load.running.fetch_add(1, Ordering::SeqCst) + 1;
    load.most.fetch_max(running, Ordering::SeqCst);
    let read = || async {
        json!({
            "variant": flags.flag("discount").await.and_then(|f| f.variant().map(str::to_owned)),
            "newCheckout": flags.is_enabled_now("newCheckout"),
        })
    };
    let before = read().await;
    let sleep = event.payload["sleepMs"].as_u64().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(sleep)).await;
    let after = read().await;
    load.running.fetch_sub(1, Ordering::SeqCst);
    Ok(json!({"before": before, "after": after, "calledInScope": called_in_scope}))
}

/// The Lambda environment `lambda_runtime` reads when it starts, set for one runtime at a
/// time (the environment is the process's).
static ENVIRONMENT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts a Runtime API and the layered handler polling it (`concurrency`: through
/// `run_concurrent` with that many pollers); the first invocation has been answered when this
/// returns, so the runtime has read its environment.
async fn start(flags: &FlagSource, concurrency: Option<usize>, load: &Arc<Load>) -> RuntimeApi {
    let api = RuntimeApi::start("127.0.0.1:0".parse().unwrap(), "layer-test")
        .await
        .unwrap();
    let _environment = ENVIRONMENT.lock().await;
    std::env::set_var("AWS_LAMBDA_RUNTIME_API", api.addr().to_string());
    std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "layer-test");
    std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128");
    std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    match concurrency {
        Some(n) => std::env::set_var("AWS_LAMBDA_MAX_CONCURRENCY", n.to_string()),
        None => std::env::remove_var("AWS_LAMBDA_MAX_CONCURRENCY"),
    }
    let layer = FlagsLayer::new()
        .source(flags.clone())
        .context(
            |event: &LambdaEvent<Value>| match event.payload["tier"].as_str() {
                Some(tier) => Context::new().with("tier", tier),
                None => Context::new(),
            },
        );
    let (scoped, load) = (flags.clone(), Arc::clone(load));
    let service = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(move |event| {
            // What the service does before its future runs is inside the scope too.
            let called_in_scope = flag_runtime::Scope::current().is_some();
            handler(scoped.clone(), Arc::clone(&load), called_in_scope, event)
        }));
    match concurrency {
        Some(_) => drop(tokio::spawn(lambda_runtime::run_concurrent(service))),
        None => drop(tokio::spawn(lambda_runtime::run(service))),
    }
    invoke(&api, json!({})).await;
    api
}

async fn invoke(api: &RuntimeApi, payload: Value) -> Value {
    let invocation = api
        .invoke(&payload, Duration::from_secs(20))
        .await
        .expect("the function answers");
    match invocation.outcome {
        Outcome::Response(answer) => answer,
        Outcome::Error { error_type, .. } => panic!("the handler failed: {error_type}"),
    }
}

/// Under `lambda_runtime::run`: an invocation's context picks its variant; a flip at the agent
/// while the handler sleeps past the TTL changes nothing in that invocation, and the next one
/// sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_invocation_is_a_scope_under_run() {
    let file = FlagsFile::new(&tiers_doc(true));
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(150);
    let flags = source(agent.addr().port(), ttl, Duration::from_secs(2));
    let api = start(&flags, None, &Arc::default()).await;

    let slow = invoke(&api, json!({"tier": "gold", "sleepMs": 350}));
    let flip = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        file.write(&tiers_doc(false));
    };
    let (answer, ()) = tokio::join!(slow, flip);
    let pinned = json!({"variant": "gold", "newCheckout": true});
    assert_eq!(
        answer,
        json!({"before": pinned, "after": pinned, "calledInScope": true})
    );

    let next = invoke(&api, json!({"tier": "silver"})).await;
    let flipped = json!({"variant": "silver", "newCheckout": false});
    assert_eq!(
        next,
        json!({"before": flipped, "after": flipped, "calledInScope": true})
    );
}

/// Under `lambda_runtime::run_concurrent` (Lambda Managed Instances): concurrent invocations,
/// interleaved on the same runtime, each keep their own context's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_keep_their_own_scopes() {
    let file = FlagsFile::new(&tiers_doc(true));
    let agent = start_agent(&file).await;
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let load = Arc::default();
    let api = Arc::new(start(&flags, Some(4), &load).await);
    let calls = ["gold", "silver", "gold", "silver"].map(|tier| {
        let api = Arc::clone(&api);
        tokio::spawn(async move { invoke(&api, json!({"tier": tier, "sleepMs": 200})).await })
    });
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    for (answer, tier) in answers.iter().zip(["gold", "silver", "gold", "silver"]) {
        let own = json!({"variant": tier, "newCheckout": true});
        assert_eq!(
            *answer,
            json!({"before": own, "after": own, "calledInScope": true})
        );
    }
    assert!(
        load.most.load(Ordering::SeqCst) >= 2,
        "the invocations ran concurrently"
    );
}
