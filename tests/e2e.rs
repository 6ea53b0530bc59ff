//! The real example binary, driven through the Lambda Runtime API over HTTP, with its flags
//! served by the local agent. Every process and server is stopped when its test ends.

use std::time::{Duration, Instant};

use flag_agent::Fault;
use flag_e2e::{event, example_binary, example_experiments, example_flags, FlagsFile};
use flag_local::{LocalFunction, Outcome};
use serde_json::{json, Value};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The example binary on `file`'s flags, with the runtime's TTL set to `ttl`.
async fn start(file: &FlagsFile, ttl: Duration) -> LocalFunction {
    LocalFunction::builder(example_binary(), file.path())
        .ttl(ttl)
        .start()
        .await
        .unwrap()
}

/// As [`start`], with the runtime's agent request timeout set too.
async fn start_bounded(file: &FlagsFile, ttl: Duration, agent_timeout: Duration) -> LocalFunction {
    LocalFunction::builder(example_binary(), file.path())
        .ttl(ttl)
        .agent_timeout(agent_timeout)
        .start()
        .await
        .unwrap()
}

async fn answer(function: &LocalFunction, payload: &Value) -> Value {
    let invocation = function
        .invoke(payload, INVOKE_TIMEOUT)
        .await
        .expect("an answer");
    match invocation.outcome {
        Outcome::Response(value) => value,
        Outcome::Error {
            error_type,
            message,
        } => panic!(
            "function error {error_type}: {message}\n{}",
            function.logs()
        ),
    }
}

fn with(mut doc: Value, flag: &str, value: Value) -> Value {
    doc["values"][flag] = value;
    doc
}

#[tokio::test]
async fn flag_flip_in_the_file_switches_the_path_after_the_ttl() {
    let ttl = Duration::from_millis(1500);
    let file = FlagsFile::new(&example_flags());
    let started = Instant::now();
    let function = start(&file, ttl).await;

    let first = answer(&function, &event("checkout.json")).await;
    assert_eq!(first["checkout"], "new", "{first}");
    assert_eq!(first["flagsVersion"], "1");
    assert_eq!(first["lines"].as_array().unwrap().len(), 2);

    file.write(&with(
        example_flags(),
        "newCheckout",
        json!({"enabled": false}),
    ));
    let early = answer(&function, &event("checkout.json")).await;
    if started.elapsed() < ttl {
        assert_eq!(early["checkout"], "new", "not before the TTL: {early}");
    }

    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let after = answer(&function, &event("checkout.json")).await;
    assert_eq!(after["checkout"], "old", "after the TTL: {after}");
    assert_eq!(after["flagsVersion"], "2");
    assert!(
        after.get("lines").is_none(),
        "the old checkout does not itemise"
    );
    assert_eq!(
        after["totalCents"], first["totalCents"],
        "same cart, same price"
    );
    function.stop().await;
}

#[tokio::test]
async fn attribute_change_changes_the_answer() {
    let ttl = Duration::from_millis(300);
    let file = FlagsFile::new(&example_flags());
    let function = start(&file, ttl).await;

    let before = answer(&function, &event("checkout.json")).await;
    assert_eq!(before["subtotalCents"], 3300);
    assert_eq!(before["discount"]["percentage"], 15.0);
    assert_eq!(before["totalCents"], 3300 - 495);

    file.write(&with(
        example_flags(),
        "discountBanner",
        json!({"enabled": true, "percentage": 40, "message": "Flash sale"}),
    ));
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let after = answer(&function, &event("checkout.json")).await;
    assert_eq!(
        after["discount"],
        json!({"percentage": 40.0, "message": "Flash sale", "amountCents": 1320})
    );
    assert_eq!(after["totalCents"], 3300 - 1320);

    file.write(&with(
        example_flags(),
        "discountBanner",
        json!({"enabled": false}),
    ));
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let off = answer(&function, &event("checkout.json")).await;
    assert_eq!(off["discount"], Value::Null);
    assert_eq!(off["totalCents"], 3300);
    function.stop().await;
}

/// Targeting end to end: the example builds the evaluation context from the event's customer,
/// the runtime sends it, the local agent evaluates the multi-variant `discountBanner`, and each
/// sample event lands on its variant. A retargeting edit is seen after the TTL.
#[tokio::test]
async fn targeted_events_land_on_their_variants() {
    let ttl = Duration::from_millis(300);
    let file = FlagsFile::new(&example_flags());
    let function = start(&file, ttl).await;
    let variant_of = |a: &Value| {
        (
            a["discount"]["variant"].as_str().map(str::to_owned),
            a["discount"]["percentage"].as_f64(),
        )
    };
    let plain = answer(&function, &event("checkout.json")).await;
    assert_eq!(variant_of(&plain), (Some("everyone".into()), Some(15.0)));
    let gold = answer(&function, &event("gold-customer.json")).await;
    assert_eq!(variant_of(&gold), (Some("gold".into()), Some(20.0)));
    assert_eq!(gold["totalCents"], 3300 - 660);
    let trial = answer(&function, &event("trial-customer.json")).await;
    assert_eq!(variant_of(&trial), (Some("trial".into()), Some(25.0)));

    // Retarget: gold customers now get the everyone variant (rule changed to another tier).
    let mut doc = example_flags();
    doc["values"]["discountBanner"]["_variants"][0]["rule"] = json!("(eq $tier \"platinum\")");
    file.write(&doc);
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let regold = answer(&function, &event("gold-customer.json")).await;
    assert_eq!(variant_of(&regold), (Some("everyone".into()), Some(15.0)));
    function.stop().await;
}

/// The experiment end to end: the example names `flags::experiments()` to its layer, the runtime
/// asks for `checkoutButton` by name with the customer as Entity-Id, the local agent runs
/// `experiments.json`, and every signed-in customer keeps the treatment assigned to them; a
/// request without a customer is outside the audience and gets the deployed button.
#[tokio::test]
async fn customers_keep_their_treatment_and_anonymous_requests_get_the_deployed_button() {
    let file = FlagsFile::new(&example_flags());
    file.write_experiments(&example_experiments());
    let function = start(&file, Duration::from_millis(300)).await;
    let button = |a: &Value| {
        (
            a["button"]["color"].as_str().unwrap().to_owned(),
            a["button"]["assignment"].as_str().map(str::to_owned),
        )
    };
    let anonymous = answer(&function, &event("checkout.json")).await;
    assert_eq!(button(&anonymous), ("blue".to_owned(), None));
    let control = answer(&function, &event("button-control.json")).await;
    assert_eq!(
        button(&control),
        ("blue".to_owned(), Some("__c__".to_owned()))
    );
    let green = answer(&function, &event("button-green.json")).await;
    assert_eq!(
        button(&green),
        ("green".to_owned(), Some("__t1__".to_owned()))
    );
    assert_eq!(green["button"]["label"], "Buy now");

    let mut seen = std::collections::BTreeMap::new();
    for round in 0..2 {
        for i in 0..24 {
            let payload = json!({
                "customer": {"id": format!("customer-{i}")},
                "items": [{"sku": "mug", "priceCents": 1250}]
            });
            let (color, assignment) = button(&answer(&function, &payload).await);
            let assignment = assignment.expect("every signed-in customer takes part");
            let expected = match assignment.as_str() {
                "__c__" => "blue",
                "__t1__" => "green",
                "__t2__" => "orange",
                other => panic!("unexpected treatment {other}"),
            };
            assert_eq!(color, expected);
            if round == 0 {
                seen.insert(i, assignment);
            } else {
                assert_eq!(seen[&i], assignment, "customer-{i} changed treatment");
            }
        }
        // Past the TTL: the second round is answered by fresh requests, still sticky.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let treatments: std::collections::BTreeSet<&String> = seen.values().collect();
    assert_eq!(treatments.len(), 3, "{seen:?}");
    function.stop().await;
}

/// Measurement end to end: the example under the local agent running its experiment writes
/// one exposure per customer and an order and its revenue per checkout as EMF lines, and the
/// analysis reads them back: every customer counted once in its treatment, every checkout an
/// order, the sample ratio checked against the experiment's weights.
#[tokio::test]
async fn the_example_measures_its_experiment_for_the_analysis() {
    let file = FlagsFile::new(&example_flags());
    file.write_experiments(&example_experiments());
    let function = start(&file, Duration::from_secs(30)).await;
    let customers = 30;
    let mut charged = 0.0;
    for i in 0..customers {
        for _ in 0..2 {
            let payload = json!({
                "customer": {"id": format!("customer-{i}")},
                "items": [{"sku": "mug", "priceCents": 1000}]
            });
            let total = answer(&function, &payload).await["totalCents"].as_f64();
            charged += total.unwrap() / 100.0;
        }
    }
    // An anonymous checkout is outside the audience: no record.
    answer(&function, &event("checkout.json")).await;
    let logs = function.logs();
    function.stop().await;

    let (records, _) = flag_experiment::parse(&logs);
    let exposures = records
        .iter()
        .filter(|r| r.event == flag_experiment::Event::Exposure)
        .count();
    assert_eq!(
        exposures, customers,
        "one exposure per customer, however many checkouts"
    );
    let options = flag_experiment::Options {
        weights: flag_experiment::weights(&example_experiments()).unwrap(),
        primary: Some("Order".to_owned()),
        ..flag_experiment::Options::default()
    };
    let report = flag_experiment::analyze(&records, &options);
    let flag = &report.flags["checkoutButton"];
    let exposed: usize = flag.treatments.values().map(|t| t.exposed).sum();
    assert_eq!(exposed, customers);
    assert!(
        flag.srm_p_value.is_some(),
        "checked against experiments.json"
    );
    let mut revenue = 0.0;
    for (treatment, t) in &flag.treatments {
        let order = &t.metrics["Order"];
        assert_eq!(
            order.mean,
            Some(1.0),
            "{treatment}: every exposed customer ordered"
        );
        revenue += t.metrics["Revenue"].mean.unwrap() * t.exposed as f64;
    }
    assert!(
        (revenue - charged).abs() < 1e-6,
        "revenue {revenue}, charged {charged}"
    );
}

#[tokio::test]
async fn sync_gated_helper_follows_its_flag() {
    let ttl = Duration::from_millis(300);
    let file = FlagsFile::new(&example_flags());
    let function = start(&file, ttl).await;
    let methods = |a: &Value| -> Vec<String> {
        a["shipping"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["method"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        methods(&answer(&function, &event("checkout.json")).await),
        ["standard"]
    );
    file.write(&with(
        example_flags(),
        "expressShipping",
        json!({"enabled": true}),
    ));
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    // The sync check never waits: the refresh it starts lands within a couple of invocations.
    let mut seen = Vec::new();
    for _ in 0..20 {
        seen = methods(&answer(&function, &event("checkout.json")).await);
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, ["standard", "express"]);
    function.stop().await;
}

#[tokio::test]
async fn agent_stopped_mid_run_keeps_last_known_good_then_recovers() {
    let ttl = Duration::from_millis(300);
    let file = FlagsFile::new(&example_flags());
    let mut function = start(&file, ttl).await;
    assert_eq!(
        answer(&function, &event("checkout.json")).await["checkout"],
        "new"
    );

    function.stop_agent().await;
    for _ in 0..4 {
        tokio::time::sleep(ttl).await;
        let a = answer(&function, &event("checkout.json")).await;
        assert_eq!(
            a["checkout"], "new",
            "last-known-good while the agent is down"
        );
        assert_eq!(a["discount"]["percentage"], 15.0, "attributes too");
    }

    file.write(&with(
        example_flags(),
        "newCheckout",
        json!({"enabled": false}),
    ));
    function.start_agent().await.unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(
        answer(&function, &event("checkout.json")).await["checkout"],
        "old",
        "new values once back"
    );

    let logs = function.logs();
    assert_eq!(
        logs.matches("refresh failed").count(),
        1,
        "one warning per fault streak:\n{logs}"
    );
    assert_eq!(logs.matches("recovered").count(), 1, "{logs}");
    function.stop().await;
}

#[tokio::test]
async fn agent_absent_from_the_start_runs_the_fallback_until_it_comes() {
    let ttl = Duration::from_millis(300);
    let file = FlagsFile::new(&example_flags());
    let mut function = LocalFunction::builder(example_binary(), file.path())
        .ttl(ttl)
        .without_agent()
        .start()
        .await
        .unwrap();
    for _ in 0..3 {
        let a = answer(&function, &event("checkout.json")).await;
        assert_eq!(a["checkout"], "old", "nothing known: the fallback path");
        assert_eq!(a["discount"], Value::Null);
        assert_eq!(a["flagsVersion"], Value::Null);
    }
    function.start_agent().await.unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let a = answer(&function, &event("checkout.json")).await;
    assert_eq!(a["checkout"], "new", "agent back: new values picked up");
    assert_eq!(a["flagsVersion"], "1");
    function.stop().await;
}

#[tokio::test]
async fn a_hanging_agent_costs_at_most_the_timeout() {
    let ttl = Duration::from_millis(200);
    let agent_timeout = Duration::from_millis(250);
    let margin = Duration::from_millis(500);
    let file = FlagsFile::new(&example_flags());
    let function = start_bounded(&file, ttl, agent_timeout).await;
    assert_eq!(
        answer(&function, &event("checkout.json")).await["checkout"],
        "new"
    );

    for fault in [
        Fault::Hang,
        Fault::Delay(Duration::from_secs(3)),
        Fault::Trickle(Duration::from_secs(1)),
    ] {
        function.agent().unwrap().set_fault(fault.clone());
        for _ in 0..3 {
            tokio::time::sleep(ttl).await;
            let invocation = function
                .invoke(&event("checkout.json"), INVOKE_TIMEOUT)
                .await
                .unwrap();
            assert!(
                invocation.duration < agent_timeout + margin,
                "{fault:?}: took {:?}",
                invocation.duration
            );
            match invocation.outcome {
                Outcome::Response(a) => {
                    assert_eq!(a["checkout"], "new", "{fault:?}: last-known-good")
                }
                other => panic!("{fault:?}: {other:?}"),
            }
        }
        function.agent().unwrap().clear_fault();
    }
    function.stop().await;
}

#[tokio::test]
async fn handler_errors_reach_the_runtime_api() {
    let file = FlagsFile::new(&example_flags());
    let function = LocalFunction::builder(example_binary(), file.path())
        .start()
        .await
        .unwrap();
    let invocation = function
        .invoke(&event("empty-cart.json"), INVOKE_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        invocation.outcome,
        Outcome::Error {
            error_type: "EmptyCart".into(),
            message: "the cart is empty".into()
        }
    );
    function.stop().await;
}

/// A real freeze: the function process is stopped (SIGSTOP, as Lambda freezes a sandbox) while
/// its refresh waits on a slow agent, for longer than the refresh's lease, then resumed.
/// Nothing hangs, nothing is lost: the frozen invocation completes, later ones are served at
/// once, and a flip made meanwhile is picked up.
#[tokio::test]
async fn a_freeze_in_the_middle_of_a_refresh() {
    let ttl = Duration::from_millis(200);
    let agent_timeout = Duration::from_millis(500);
    let file = FlagsFile::new(&example_flags());
    let function = start_bounded(&file, ttl, agent_timeout).await;
    assert_eq!(
        answer(&function, &event("checkout.json")).await["checkout"],
        "new"
    );

    function
        .agent()
        .unwrap()
        .set_fault(Fault::Delay(Duration::from_millis(400)));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let pid = function.pid().unwrap().to_string();
    let payload = event("checkout.json");
    let frozen = {
        let invocation = function.invoke(&payload, INVOKE_TIMEOUT);
        let freeze = async {
            // Let the invocation start its (slow) refresh, then freeze the process past the
            // lease (2 x timeout + 100 ms) and thaw it.
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(std::process::Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap()
                .success());
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert!(std::process::Command::new("kill")
                .args(["-CONT", &pid])
                .status()
                .unwrap()
                .success());
        };
        let (invocation, ()) = tokio::join!(invocation, freeze);
        invocation.expect("the frozen invocation completes after the thaw")
    };
    match frozen.outcome {
        Outcome::Response(a) => {
            assert_eq!(a["checkout"], "new", "last-known-good across the freeze")
        }
        other => panic!("{other:?}"),
    }

    function.agent().unwrap().clear_fault();
    file.write(&with(
        example_flags(),
        "newCheckout",
        json!({"enabled": false}),
    ));
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let mut last = Value::Null;
    for _ in 0..5 {
        let invocation = function
            .invoke(&event("checkout.json"), INVOKE_TIMEOUT)
            .await
            .unwrap();
        assert!(
            invocation.duration < agent_timeout + Duration::from_millis(500),
            "{:?}",
            invocation.duration
        );
        if let Outcome::Response(a) = invocation.outcome {
            last = a;
        }
        if last["checkout"] == "old" {
            break;
        }
        tokio::time::sleep(ttl).await;
    }
    assert_eq!(
        last["checkout"], "old",
        "the flip made during the freeze is seen after it"
    );
    function.stop().await;
}
