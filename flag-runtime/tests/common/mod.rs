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

/// A hostile agent: raw HTTP/1.1 on loopback, on threads of its own (no runtime), answering the
/// `n`th request (from 0) with the bytes `answer(n)` gives, then closing the connection.
pub struct RawAgent {
    port: u16,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl RawAgent {
    pub fn start(answer: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static) -> Self {
        Self::start_with_head(move |n, _| answer(n))
    }

    /// The same, with the request's head (request line and headers) given to `answer`.
    pub fn start_with_head(
        answer: impl Fn(usize, &str) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        use std::io::{BufRead as _, BufReader};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let answer = Arc::clone(&answer);
                let n = counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut head = String::new();
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|read| read > 0) {
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                        line.clear();
                    }
                    let _ = stream.write_all(&answer(n, &head));
                });
            }
        });
        RawAgent { port, requests }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A `200 OK` answer with this body and `Configuration-Version`.
pub fn http_ok(body: &[u8], version: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConfiguration-Version: {version}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// An answer with this status line (e.g. `500 Internal Server Error`) and body.
pub fn http_status(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Polls `done` every 5 ms for up to 10 s.
pub fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: never happened"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
