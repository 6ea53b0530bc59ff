//! Shared set-up for the benchmarks in `benches/` (run them with `cargo bench -p flag-bench`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use flag_agent::{Agent, RunningAgent};

mod in_memory;
use flag_runtime::{Config, FlagSource};
pub use in_memory::InMemory;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The example's flags file.
pub fn example_flags() -> PathBuf {
    root().join("example-lambda/flags.json")
}

/// The local agent serving the example's flags, on a free loopback port.
pub async fn agent() -> RunningAgent {
    Agent::new(example_flags(), "bench", "bench", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .expect("agent")
}

/// A source on `agent` whose snapshot stays fresh for the whole run, loaded.
pub async fn warm_source(agent: &RunningAgent, ttl: Duration) -> FlagSource {
    let config = Config::builder()
        .application("bench")
        .environment("bench")
        .configuration("flags")
        .port(agent.addr().port())
        .ttl(ttl)
        .build()
        .unwrap();
    let source = FlagSource::new(config).unwrap();
    source.refresh().await.expect("first load");
    source
}

/// A multi-threaded runtime (one worker), the agent on it, and a loaded source whose snapshot
/// stays fresh for the whole run.
pub fn warm_setup() -> (tokio::runtime::Runtime, RunningAgent, FlagSource) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let agent = rt.block_on(agent());
    let flags = rt.block_on(warm_source(&agent, Duration::from_secs(3600)));
    (rt, agent, flags)
}

/// The agent URL of [`agent`]'s configuration.
pub fn agent_url(agent: &RunningAgent) -> String {
    format!(
        "http://{}/applications/bench/environments/bench/configurations/flags",
        agent.addr()
    )
}

/// Completes a future that must not wait (a warm check), without a runtime in the way.
///
/// Always inlined, so that the future is built where it is polled, as `.await` in an `async fn`
/// builds it: a call that is not inlined copies the future into its own frame with loads wider
/// than the stores that built it, a store-forwarding stall that cost about 8 ns per check in
/// this harness and in no user's code.
#[inline(always)]
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("expected a future that completes without waiting"),
    }
}

/// Median of `samples` (sorted in place).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// Median nanoseconds per call of `f` over `batches` batches of `n` calls.
#[allow(clippy::cast_precision_loss)]
pub fn per_call(batches: usize, n: u64, mut f: impl FnMut(u64)) -> f64 {
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let t = std::time::Instant::now();
            for i in 0..n {
                f(i);
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    median(&mut samples)
}
