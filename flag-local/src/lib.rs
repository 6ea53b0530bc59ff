//! Run a Lambda function on one machine, with its feature flags served by the local agent.
//!
//! * [`RuntimeApi`]: an emulator of the [Lambda Runtime API] (`2018-06-01`), enough for the real
//!   `lambda_runtime` client: `GET /runtime/invocation/next` hands out queued events with the
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` and
//!   `Lambda-Runtime-Invoked-Function-Arn` headers; `POST .../{id}/response` and `.../{id}/error`
//!   complete them; `POST /runtime/init/error` is recorded.
//! * [`LocalFunction`]: a function binary started against a [`RuntimeApi`] and a
//!   [`flag_agent`] stand-in serving a flags file, with the environment Lambda and the AppConfig
//!   extension would give it. Dropping it kills the process and stops both servers.
//! * [`CargoBinary`]: the binary to run, chosen with cargo's own options (`--manifest-path`,
//!   `--package`, `--bin`, `--release`) and built with cargo.
//! * [`describe`]: one line per answer, compact JSON cut to a width or a [`Summary`] template,
//!   with the time taken.
//!
//! The `flag-local` command puts them together for any Lambda crate:
//!
//! ```text
//! flag-local --manifest-path path/to/Cargo.toml --flags path/to/flags.json --events path/to/events/ --rounds 1
//! ```
//!
//! The same pieces as a library, for a test of your own function:
//!
//! ```no_run
//! use std::time::Duration;
//! use flag_local::{CargoBinary, LocalFunction, Outcome};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let built = CargoBinary::new().manifest_path("my-lambda/Cargo.toml").build()?;
//! let function = LocalFunction::builder(&built.executable, "my-lambda/flags.json")
//!     .function_name(&built.name)
//!     .start()
//!     .await?;
//! let invocation = function
//!     .invoke(&serde_json::json!({"name": "Ada"}), Duration::from_secs(10))
//!     .await?;
//! assert!(matches!(invocation.outcome, Outcome::Response(_)));
//! function.stop().await;
//! # Ok(()) }
//! ```
//!
//! # The API at a glance
//!
//! | family | items |
//! |---|---|
//! | the function | [`LocalFunction`] (example above), [`LocalFunctionBuilder`], [`Invocation`], [`Outcome`], [`InvokeError`], [`MAX_LOG_BYTES`] |
//! | the binary | [`CargoBinary`] (example above), [`BuiltBinary`], [`BuildError`] |
//! | the Runtime API alone | [`RuntimeApi::start`], [`RuntimeApi`], [`MAX_PAYLOAD_BYTES`] |
//! | printing answers | [`Summary`], [`describe`], [`AnswerFormat`], [`SummaryError`] |
//!
//! [Lambda Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod cargo;
mod function;
mod runtime_api;
mod summary;

pub use cargo::{BuildError, BuiltBinary, CargoBinary};
pub use function::{LocalFunction, LocalFunctionBuilder, MAX_LOG_BYTES};
pub use runtime_api::{Invocation, InvokeError, Outcome, RuntimeApi, MAX_PAYLOAD_BYTES};
pub use summary::{describe, AnswerFormat, Summary, SummaryError};
