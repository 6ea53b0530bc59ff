//! `flags!` with `experiments.json` beside the schema: `experiments()`, the `assignment` field and
//! `assignment_now()`, over HTTP against the local agent running the same files. The generated
//! module is compiled under `deny(warnings, missing_docs)` and clippy's pedantic group.
#![deny(warnings, missing_docs, clippy::pedantic)]

use std::time::Duration;

use flag_runtime::{Assignment, Config, Context, Overrides};
use flag_testkit::{source, start_agent, FlagsFile};
use serde_json::Value;

flag_macros::flags!(
    /// The flags of `tests/experiments/flags.json`, with its experiments.
    pub mod flags,
    schema = "tests/experiments/flags.json"
);

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/experiments/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `country` is read by the experiment's audience only (no variant rule): `context()` has a
/// method for it all the same.
fn customer(id: &str) -> Context {
    flags::context().country("NZ").with_entity_id(id).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_reads_carry_the_assignment() {
    assert_eq!(flags::experiments(), ["checkoutButton"]);
    let file = FlagsFile::new(&fixture("flags.json"));
    file.write_experiments(&fixture("experiments.json"));
    let agent = start_agent(&file).await;
    flag_runtime::install_default(source(
        agent.addr().port(),
        Duration::from_secs(60),
        Config::DEFAULT_TIMEOUT,
    ))
    .unwrap();
    let source = flag_runtime::default_source();

    // Before the source is told which flags are under experiment: the deployed value.
    let before = source
        .scope(customer("early-customer"), flags::CHECKOUT_BUTTON.get())
        .await
        .unwrap();
    assert_eq!(before.assignment, None);
    assert_eq!(before.color, "blue");

    source.add_experiments(flags::experiments().iter().copied());
    let mut seen = Vec::new();
    for i in 0..30 {
        let id = format!("customer-{i}");
        let (value, alone, sync_alone) = source
            .scope(customer(&id), async {
                (
                    flags::CHECKOUT_BUTTON.get().await.unwrap(),
                    flags::CHECKOUT_BUTTON.assignment().await,
                    flags::CHECKOUT_BUTTON.assignment_now(),
                )
            })
            .await;
        let assignment = value.assignment.expect("everyone in NZ takes part");
        assert_eq!((alone, sync_alone), (Some(assignment), Some(assignment)));
        let color = if assignment == Assignment::Control {
            "blue"
        } else {
            "green"
        };
        assert_eq!(value.color, color, "{id}: {assignment}");
        seen.push(assignment);
    }
    assert!(seen.contains(&Assignment::Control) && seen.contains(&Assignment::Treatment(1)));

    // Outside a scope there is no Entity-Id: no assignment.
    assert_eq!(flags::CHECKOUT_BUTTON.assignment_now(), None);
    assert_eq!(flags::CHECKOUT_BUTTON.get().await.unwrap().assignment, None);

    // A treatment the compiled schema does not admit (an experiment edited elsewhere: here the
    // agent's files type `color` as a number) is a misfit like any answer that does not fit:
    // the last value that fitted is served, and the misfit logged once, by names.
    let mut flags_doc = fixture("flags.json");
    let mut experiments = fixture("experiments.json");
    experiments["experiments"][0]["Treatments"][0]["AttributeValues"]["color"] =
        serde_json::json!({"NumberValue": 987_654_321});
    experiments["experiments"][0]["Control"]["AttributeValues"]["color"] =
        serde_json::json!({"NumberValue": 1});
    experiments["experiments"][0]["Run"]["TreatmentOverrides"] =
        serde_json::json!({"Inline": {"customer-misfit": "__t1__"}});
    // A definition may not change during its run: stop it (and let the agent see that), then
    // start the edited one. The deployed value stays a string, so the context-free answer fits.
    let mut stopped = fixture("experiments.json");
    stopped["experiments"][0]
        .as_object_mut()
        .unwrap()
        .remove("Run");
    file.write_experiments(&stopped);
    source.refresh().await.unwrap();
    flags_doc["flags"]["checkoutButton"]["attributes"]["color"] = serde_json::json!({});
    file.write(&flags_doc);
    file.write_experiments(&experiments);
    source.refresh().await.unwrap();
    let (logs, _guard) = flag_testkit::Logs::capture();
    for _ in 0..3 {
        let (value, assignment) = source
            .scope(customer("customer-misfit"), async {
                (
                    flags::CHECKOUT_BUTTON.get().await,
                    flags::CHECKOUT_BUTTON.assignment_now(),
                )
            })
            .await;
        // The answer carries the treatment; its typed value is the last one that fitted.
        assert_eq!(assignment, Some(Assignment::Treatment(1)));
        let value = value.unwrap();
        assert_eq!((value.color.as_str(), value.assignment), ("blue", None));
    }
    let text = logs.text();
    assert_eq!(
        logs.count("WARN", "checkoutButton"),
        1,
        "one line per misfit streak: {text}"
    );
    assert!(!text.contains("987654321"), "no value in the log: {text}");
}

#[test]
fn overrides_force_an_assignment() {
    let _forced = Overrides::new()
        .value(
            &flags::CHECKOUT_BUTTON,
            flags::CheckoutButton {
                color: "green".to_owned(),
                assignment: Some(Assignment::Treatment(1)),
            },
        )
        .apply();
    assert_eq!(
        flags::CHECKOUT_BUTTON.assignment_now(),
        Some(Assignment::Treatment(1))
    );
    let value = flags::CHECKOUT_BUTTON.get_now().unwrap();
    assert_eq!(value.assignment, Some(Assignment::Treatment(1)));
    assert_eq!(value.color, "green");
}
