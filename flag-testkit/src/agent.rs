//! The local agent on loopback, and a source asking it.

use std::time::Duration;

use flag_agent::{Agent, FlagsFile, RunningAgent};
use flag_runtime::{Config, ConfigBuilder, FlagSource};

/// The application the tests' agents serve.
pub const APP: &str = "shop";
/// The environment the tests' agents serve.
pub const ENV: &str = "develop";
/// The configuration profile the tests' agents serve.
pub const PROFILE: &str = "flags";

/// The local agent serving `file` as [`APP`]/[`ENV`]/[`PROFILE`], on a free loopback port.
pub async fn start_agent(file: &FlagsFile) -> RunningAgent {
    Agent::new(file.path(), APP, ENV, PROFILE)
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A configuration asking the agent on `port` for [`APP`]/[`ENV`]/[`PROFILE`], to complete.
pub fn config(port: u16) -> ConfigBuilder {
    Config::builder()
        .application(APP)
        .environment(ENV)
        .configuration(PROFILE)
        .port(port)
}

/// A source asking the agent on `port` for [`APP`]/[`ENV`]/[`PROFILE`].
pub fn source(port: u16, ttl: Duration, timeout: Duration) -> FlagSource {
    FlagSource::new(config(port).ttl(ttl).timeout(timeout).build().unwrap()).unwrap()
}

/// A port nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The local agent serving [`button_doc`](crate::button_doc) with the experiment
/// `green-button` running at 100 % ([`button_experiments`](crate::button_experiments)), and a
/// source on it (60 s TTL, 2 s timeout) that knows `checkoutButton` is under experiment.
pub async fn serve_button_experiment() -> (FlagsFile, RunningAgent, FlagSource) {
    let file = FlagsFile::new(&crate::button_doc());
    file.write_experiments(&crate::button_experiments(Some(
        serde_json::json!({"ExposurePercentage": 100}),
    )));
    let agent = start_agent(&file).await;
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    flags.add_experiments(["checkoutButton"]);
    (file, agent, flags)
}
