#![allow(dead_code)]
//! Shared helpers: a flags file in a temp dir, the local agent on a free port, log capture.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flag_agent::{Agent, RunningAgent};
use flag_runtime::{Config, FlagSource};
use serde_json::{json, Value};

pub const APP: &str = "shop";
pub const ENV: &str = "develop";
pub const PROFILE: &str = "flags";

pub use flag_agent::FlagsFile;

/// A flags document with `newCheckout` (attribute `limit`) and `banner`.
pub fn doc(new_checkout: bool, limit: u32) -> Value {
    json!({
        "version": "1",
        "flags": {
            "newCheckout": {"name": "New checkout", "attributes": {"limit": {"constraints": {"type": "number"}}}},
            "banner": {"name": "Banner"}
        },
        "values": {
            "newCheckout": {"enabled": new_checkout, "limit": limit},
            "banner": {"enabled": false}
        }
    })
}

pub async fn start_agent(file: &FlagsFile) -> RunningAgent {
    Agent::new(file.path(), APP, ENV, PROFILE)
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn source(port: u16, ttl: Duration, timeout: Duration) -> FlagSource {
    FlagSource::new(
        Config::builder()
            .without_env()
            .application(APP)
            .environment(ENV)
            .configuration(PROFILE)
            .port(port)
            .ttl(ttl)
            .timeout(timeout)
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// A port nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Captures this thread's `tracing` output (use with a current-thread runtime).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // With a single registered dispatcher, tracing-core computes a callsite's interest from
        // the registering thread's default only: a callsite first hit on another test's thread
        // (no subscriber there) would stay disabled for us. A second, idle dispatcher makes it
        // combine all of them.
        static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        (logs, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Lines at `level` (e.g. "WARN") containing `needle`.
    pub fn count(&self, level: &str, needle: &str) -> usize {
        self.text()
            .lines()
            .filter(|l| l.contains(level) && l.contains(needle))
            .count()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
