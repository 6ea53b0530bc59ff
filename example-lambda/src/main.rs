//! The Lambda entry point: prime the flags during init, then serve checkouts, each invocation
//! an invocation scope for its customer.

use example_lambda::CheckoutRequest;
use flag_runtime::lambda::FlagsLayer;
use flag_runtime::measure::Measurement;
use lambda_runtime::tower::ServiceBuilder;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Load the flags during init so the first invocation is served from memory. A failure is
    // not fatal: each invocation's scope retries, and until then every flag is off.
    let flags = flag_runtime::default_source();
    if let Err(error) = flags.refresh().await {
        lambda_runtime::tracing::warn!(%error, "feature flags not loaded at init; starting with every flag off");
    }
    // Experiment measurement: exposures and the outcomes recorded below become CloudWatch
    // metrics (EMF lines on stdout), and `flag-experiment analyze` reads them. Customer ids are
    // written as a keyed hash when EXPERIMENT_ENTITY_KEY is set.
    let measurement = match std::env::var("EXPERIMENT_ENTITY_KEY") {
        Ok(key) if !key.is_empty() => Measurement::new().hash_entity_ids(key),
        _ => Measurement::new(),
    };
    if measurement.install().is_err() {
        lambda_runtime::tracing::warn!("experiment measurement was already installed");
    }
    // Each invocation: fresh flags at its start, one version and the customer's context
    // throughout; the handler's gates and typed reads name no context.
    // The flags under experiment (experiments.json) are asked for with each customer's
    // Entity-Id, which is how the agent serves treatments.
    let layer = FlagsLayer::new()
        .experiments(example_lambda::flags::experiments())
        .context(|event: &LambdaEvent<CheckoutRequest>| event.payload.flag_context());
    let checkout = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(example_lambda::checkout));
    lambda_runtime::run(checkout).await
}
