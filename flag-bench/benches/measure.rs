//! Experiment measurement, against the local agent running the example's experiment
//! (`checkoutButton`, every customer in the audience).
//! `cargo bench -p flag-bench --bench measure`
//!
//! * `record_outcome` in a scope served one treatment (the record written to a sink: what it
//!   costs the handler besides stdout);
//! * the named check of the experiment flag in that scope, measurement on and the exposure
//!   already written (the cold path, with its one extra test).

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use flag_runtime::measure::{self, Measurement, OutcomeKind};
use flag_runtime::{Context, Scope};

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (agent, flags) = rt.block_on(async {
        let agent = flag_bench::agent().await;
        let flags = flag_bench::warm_source(&agent, Duration::from_secs(3600)).await;
        (agent, flags)
    });
    flags.add_experiments(["checkoutButton"]);
    Measurement::new()
        .writer(std::io::sink())
        .install()
        .expect("installed once");
    let context = Context::new()
        .with("customerId", "c-1")
        .with_entity_id("c-1");
    let scope = rt.block_on(flags.scope(context, async { Scope::current().unwrap() }));
    let mut c = Criterion::default().configure_from_args();
    scope.run_sync(|| {
        let button = flags.flag_now("checkoutButton").unwrap();
        assert!(button.assignment().is_some(), "c-1 takes part");
        c.bench_function("record_outcome, one treatment, to a sink", |b| {
            b.iter(|| measure::record_outcome(black_box("Revenue"), OutcomeKind::Sum, 12.5))
        });
        c.bench_function("named check in a scope, measurement on", |b| {
            b.iter(|| flags.is_enabled_now(black_box("checkoutButton")))
        });
    });
    c.final_summary();
    drop(agent);
}
