//! Experiment measurement over real HTTP against the local agent running an experiment: one
//! exposure per entity and flag, written at the first read of the flag in a scope; outcome
//! records for every treatment the scope was served; EMF lines CloudWatch accepts.

use flag_runtime::measure::{self, MeasureError, Measurement, OutcomeKind};
use flag_runtime::Context;
use flag_testkit::Lines;
use serde_json::{json, Value};

/// The records written since the last call.
fn records(lines: &Lines) -> Vec<Value> {
    lines
        .take()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn customer(id: &str) -> Context {
    Context::new().with("country", "NZ").with_entity_id(id)
}

/// One test: measurement is installed once per process.
#[tokio::test]
async fn exposures_at_first_read_and_outcomes_per_treatment() {
    let lines = Lines::default();
    Measurement::new()
        .namespace("Shop/Experiments")
        .unwrap()
        .writer(lines.clone())
        .install()
        .unwrap();
    let (_file, agent, flags) = flag_testkit::serve_button_experiment().await;

    // Outside a scope: nothing to attribute an outcome to.
    assert_eq!(
        measure::record_outcome("Order", OutcomeKind::Conversion, 1.0),
        Ok(0)
    );

    let (treatment, outcomes) = flags
        .scope(customer("customer-1"), async {
            // Reading another flag exposes nothing.
            assert!(flags.is_enabled("banner").await);
            assert!(
                records(&lines).is_empty(),
                "no exposure before the flag is read"
            );
            let button = flags.flag("checkoutButton").await.unwrap();
            // A second read, of any form, writes nothing more.
            flags.is_enabled_now("checkoutButton");
            flags.flag_now("checkoutButton");
            let written = measure::record_outcome("Revenue", OutcomeKind::Sum, 24.5).unwrap();
            (button.assignment().unwrap().to_string(), written)
        })
        .await;
    assert_eq!(outcomes, 1, "one outcome record per treatment served");
    let written = records(&lines);
    assert_eq!(written.len(), 2, "{written:?}");
    let exposure = &written[0];
    assert_eq!(exposure["Flag"], "checkoutButton");
    assert_eq!(exposure["Treatment"], treatment.as_str());
    assert_eq!(exposure["EntityId"], "customer-1");
    assert_eq!(exposure["Exposure"], 1.0);
    let directive = &exposure["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Shop/Experiments");
    assert_eq!(directive["Dimensions"], json!([["Flag", "Treatment"]]));
    assert_eq!(
        directive["Metrics"],
        json!([{"Name": "Exposure", "Unit": "Count"}])
    );
    assert!(exposure["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    let outcome = &written[1];
    assert_eq!(
        (
            &outcome["Revenue"],
            &outcome["OutcomeKind"],
            &outcome["Treatment"]
        ),
        (&json!(24.5), &json!("sum"), &json!(treatment))
    );
    assert_eq!(
        outcome["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
        "Revenue"
    );

    // The same entity again: no second exposure in this sandbox, outcomes still recorded.
    flags
        .scope(customer("customer-1"), async {
            flags.flag("checkoutButton").await;
            measure::record_outcome("Order", OutcomeKind::Conversion, 1.0).unwrap();
        })
        .await;
    let again = records(&lines);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["OutcomeKind"], "conversion");

    // Another entity is exposed at its own first read; outside the audience, or without an
    // Entity-Id, there is no treatment: nothing is written.
    flags
        .scope(customer("customer-2"), flags.flag("checkoutButton"))
        .await;
    assert_eq!(records(&lines).len(), 1);
    for context in [
        Context::new()
            .with("country", "US")
            .with_entity_id("customer-3"),
        Context::new().with("country", "NZ"),
    ] {
        let written = flags
            .scope(context, async {
                flags.flag("checkoutButton").await;
                measure::record_outcome("Order", OutcomeKind::Conversion, 1.0).unwrap()
            })
            .await;
        assert_eq!(written, 0);
    }
    assert!(records(&lines).is_empty());

    // Invalid outcomes are refused, naming the rule.
    for (metric, value, want) in [
        ("", 1.0, "invalid metric name: 1 to 255 characters"),
        (
            "Exposure",
            1.0,
            "invalid metric name: a name the records use themselves",
        ),
        ("Order", f64::NAN, "the outcome value is NaN or infinite"),
    ] {
        let error = measure::record_outcome(metric, OutcomeKind::Sum, value).unwrap_err();
        assert_eq!(error.to_string(), want);
    }
    assert!(matches!(
        Measurement::new().namespace("AWS/Lambda"),
        Err(MeasureError::InvalidNamespace)
    ));
    // Installed once.
    assert!(Measurement::new().install().is_err());
    agent.stop().await;
}
