//! The Lambda entry point: prime the flags during init, then serve checkouts.

use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Load the flags during init so the first invocation is served from memory. A failure is
    // not fatal: the handler's checks retry, and until then every flag is off.
    let flags = flag_runtime::default_source();
    if let Err(error) = flags.refresh().await {
        lambda_runtime::tracing::warn!(%error, "feature flags not loaded at init; starting with every flag off");
    }
    lambda_runtime::run(service_fn(example_lambda::checkout)).await
}
