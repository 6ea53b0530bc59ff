//! Experiment treatments over real HTTP against the local agent running `experiments.json`:
//! asked for by name with the scope's Entity-Id and context, pinned for the scope, read as an
//! [`Assignment`] on every form.

mod common;

use std::time::Duration;

use common::*;
use flag_runtime::{Assignment, Context, FlagSource};
use serde_json::json;

/// The agent running the experiment, and a source on it that was not told which flags are
/// under experiment.
async fn serve() -> (FlagsFile, flag_agent::RunningAgent, FlagSource) {
    let file = FlagsFile::new(&flag_testkit::button_doc());
    file.write_experiments(&flag_testkit::button_experiments(Some(
        json!({"ExposurePercentage": 100}),
    )));
    let agent = start_agent(&file).await;
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    (file, agent, flags)
}

fn customer(id: &str) -> Context {
    Context::new().with("country", "NZ").with_entity_id(id)
}

#[tokio::test]
async fn an_entity_gets_its_treatment_sticky_on_every_read_form() {
    let (_file, agent, flags) = serve().await;
    flags.add_experiments(["checkoutButton"]);
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..40 {
        let id = format!("customer-{i}");
        let requests = agent.requests();
        let (async_read, sync_read, snapshot_read) = flags
            .scope(customer(&id), async {
                let a = flags.flag("checkoutButton").await.unwrap();
                let b = flags.flag_now("checkoutButton").unwrap();
                let c = flags.snapshot().await.unwrap();
                (a, b, c.flag("checkoutButton").unwrap().clone())
            })
            .await;
        assert_eq!(async_read, sync_read);
        assert_eq!(async_read, snapshot_read);
        let assignment = async_read.assignment().expect("everyone in NZ takes part");
        let color: String = async_read.attribute("color").unwrap();
        match assignment {
            Assignment::Control => assert_eq!(color, "blue"),
            Assignment::Treatment(1) => assert_eq!(color, "green"),
            other => panic!("{other:?}"),
        }
        assert_eq!(async_read.variant(), Some(assignment.to_string().as_str()));
        // A new entity: the whole profile and the experiment flags by name, once each (the
        // first scope also loads the context-free answer).
        let asked = agent.requests() - requests;
        assert!(
            asked == 2 || (i == 0 && asked == 3),
            "{asked} requests for {id}"
        );
        seen.insert(id, assignment);
    }
    assert!(
        seen.values().any(|a| *a == Assignment::Control)
            && seen.values().any(|a| *a == Assignment::Treatment(1)),
        "{seen:?}"
    );
    // The same entity again: the same treatment, from the cache (no request).
    for (id, assignment) in &seen {
        let requests = agent.requests();
        let again = flags
            .with_context(&customer(id))
            .flag("checkoutButton")
            .await
            .unwrap();
        assert_eq!(again.assignment(), Some(*assignment), "{id}");
        assert_eq!(agent.requests(), requests);
    }
    // The other flag is served as usual, with no assignment.
    let banner = flags
        .scope(customer("customer-1"), flags.flag("banner"))
        .await
        .unwrap();
    assert!(banner.is_enabled() && banner.assignment().is_none());
}

#[tokio::test]
async fn without_an_entity_id_or_the_experiment_named_the_deployed_value_is_served() {
    let (_file, _agent, flags) = serve().await;
    // The source was not told the flag is under experiment: no `?flag=`, no treatment.
    let unnamed = flags
        .scope(customer("customer-1"), flags.flag("checkoutButton"))
        .await
        .unwrap();
    assert_eq!(unnamed.assignment(), None);
    assert_eq!(
        unnamed.attribute::<String>("color").as_deref(),
        Some("blue")
    );

    flags.add_experiments(["checkoutButton"]);
    let (logs, _guard) = flag_testkit::Logs::capture();
    let anonymous = flags
        .scope(
            Context::new().with("country", "NZ"),
            flags.flag("checkoutButton"),
        )
        .await
        .unwrap();
    assert_eq!(anonymous.assignment(), None, "no Entity-Id");
    // Logged once per process, by flag name.
    flags
        .scope(Context::new(), flags.flag("checkoutButton"))
        .await
        .unwrap();
    let needle = "without an Entity-Id";
    assert_eq!(logs.count("WARN", needle), 1, "{}", logs.text());
    assert!(logs.text().contains("checkoutButton"), "{}", logs.text());
    let outside = flags
        .scope(
            Context::new()
                .with("country", "US")
                .with_entity_id("customer-1"),
            flags.flag("checkoutButton"),
        )
        .await
        .unwrap();
    assert_eq!(outside.assignment(), None, "outside the audience");
    let inside = flags
        .scope(customer("customer-2"), flags.flag("checkoutButton"))
        .await
        .unwrap();
    assert!(inside.assignment().is_some());
}

#[tokio::test]
async fn an_unknown_experiment_flag_falls_back_like_any_agent_fault() {
    let (_file, _agent, flags) = serve().await;
    // A flag named as under experiment that the profile does not have: the agent refuses the
    // named request (400), so this context's answer fails and the context-free one is served.
    flags.add_experiments(["checkoutButton", "gone"]);
    let read = flags
        .scope(customer("customer-3"), flags.flag("checkoutButton"))
        .await
        .unwrap();
    assert_eq!(read.assignment(), None);
    assert_eq!(read.attribute::<String>("color").as_deref(), Some("blue"));
}
