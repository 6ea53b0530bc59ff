//! The HTTP/1 accept loop shared by the agent stand-in and `flag-local`'s Runtime API emulator.
//!
//! Not a stable API: it is public only so that `flag-local` serves its Runtime API with the same
//! loop, and may change with either crate.
//!
//! What it guards against, so a misbehaving client (or a test written to be one) cannot take a
//! local server down:
//!
//! * **slow headers**: a connection that has not sent a whole request head within
//!   [`Config::header_read_timeout`] is closed (hyper's `header_read_timeout`; it covers reading
//!   the head only, so a long-polling handler such as the Runtime API's `/next` is never cut);
//! * **accept failures** (`EMFILE` when file descriptors run out, ...): the loop backs off
//!   exponentially ([`AcceptBackoff`], 10 ms doubling to 1 s) instead of spinning, and logs one
//!   line per streak of failures instead of one per failure;
//! * **request bodies**: [`read_body`] refuses a body over a cap from its `Content-Length`
//!   without reading it, and stops reading a streamed one at the cap.
//!
//! Every connection lives in a set owned by the [`serve`] future: dropping or aborting that
//! future closes them all.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// How long a client may take to send a request head, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How a [`serve`] loop treats its clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// Names the server in its log lines (`flag-agent`, `runtime-api`).
    pub name: &'static str,
    /// A connection that has not sent a whole request head this long after it was opened (or
    /// after its previous response, when kept alive) is closed.
    pub header_read_timeout: Duration,
    /// The accept loop's back-off on failures.
    pub backoff: AcceptBackoff,
    /// Counts the connections accepted (kept-alive clients open few).
    pub connections: Arc<AtomicU64>,
}

impl Config {
    /// The defaults: [`DEFAULT_HEADER_READ_TIMEOUT`] and [`AcceptBackoff::default`].
    pub fn new(name: &'static str) -> Self {
        Config {
            name,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            backoff: AcceptBackoff::default(),
            connections: Arc::default(),
        }
    }
}

/// Accepts connections on `listener` and serves each with `handler`, until this future is
/// dropped (which closes every open connection). Never returns.
pub async fn serve<H, F, B>(listener: TcpListener, config: Config, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Config {
        name,
        header_read_timeout,
        mut backoff,
        connections: opened,
    } = config;
    let mut http = hyper::server::conn::http1::Builder::new();
    // Room for a context sent one `Context` header per pair (hyper's default is 100 headers).
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_headers(crate::http::MAX_CONTEXT_PAIRS + 64);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff.succeeded();
                    opened.fetch_add(1, Ordering::Relaxed);
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let response = handler(req);
                        async move { Ok::<_, Infallible>(response.await) }
                    });
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    connections.spawn(async move {
                        let _ = connection.await;
                    });
                }
                Err(error) => {
                    let failure = backoff.failed(Instant::now());
                    if failure.log {
                        tracing::warn!(
                            server = name,
                            %error,
                            "accept failed; retrying with back-off up to {:?} (logged once per streak of failures)",
                            backoff.max,
                        );
                    }
                    // Keep reaping finished connections while waiting: that is what frees
                    // file descriptors when they ran out.
                    let pause = tokio::time::sleep(failure.delay);
                    tokio::pin!(pause);
                    loop {
                        tokio::select! {
                            () = &mut pause => break,
                            Some(_) = connections.join_next(), if !connections.is_empty() => {}
                        }
                    }
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Exponential back-off for an accept loop, logging once per streak of failures.
///
/// Each failure waits twice as long as the one before (from `min` up to `max`); a successful
/// accept brings the wait back to `min`. Failures less than `quiet` apart form one streak, even
/// if some accepts succeed in between (as they do when file descriptors run out and a few free
/// up): only the first failure of a streak is logged.
#[derive(Debug, Clone)]
pub struct AcceptBackoff {
    /// The first wait.
    pub min: Duration,
    /// The longest wait.
    pub max: Duration,
    /// A failure this long after the previous one starts a new streak (and is logged).
    pub quiet: Duration,
    consecutive: u32,
    last_failure: Option<Instant>,
}

/// What to do after an accept failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptFailure {
    /// Wait this long before accepting again.
    pub delay: Duration,
    /// Whether this failure starts a streak, and so should be logged.
    pub log: bool,
}

impl Default for AcceptBackoff {
    /// 10 ms doubling to 1 s; a streak ends after 10 s without a failure.
    fn default() -> Self {
        AcceptBackoff::new(
            Duration::from_millis(10),
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
    }
}

impl AcceptBackoff {
    /// Waits from `min` doubling up to `max`; failures less than `quiet` apart are one streak.
    pub fn new(min: Duration, max: Duration, quiet: Duration) -> Self {
        AcceptBackoff {
            min,
            max,
            quiet,
            consecutive: 0,
            last_failure: None,
        }
    }

    /// An accept failed at `now`: how long to wait, and whether to log it.
    pub fn failed(&mut self, now: Instant) -> AcceptFailure {
        let log = self
            .last_failure
            .is_none_or(|last| now.saturating_duration_since(last) >= self.quiet);
        self.last_failure = Some(now);
        let delay = self
            .min
            .saturating_mul(1 << self.consecutive.min(20))
            .min(self.max);
        self.consecutive = self.consecutive.saturating_add(1);
        AcceptFailure { delay, log }
    }

    /// An accept succeeded: the next failure waits `min` again.
    pub fn succeeded(&mut self) {
        self.consecutive = 0;
    }
}

/// Why [`read_body`] has no body.
#[derive(Debug)]
pub enum BodyError {
    /// Over the cap: announced by `Content-Length` (then nothing was read) or found while
    /// reading (then reading stopped at the cap).
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The client broke off, or sent a malformed body.
    Read(Box<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { limit } => write!(f, "request body over {limit} bytes"),
            BodyError::Read(e) => write!(f, "cannot read the request body: {e}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// Reads a request body of at most `limit` bytes. A larger one is refused without being read
/// when its `Content-Length` says so, else as soon as the bytes read pass `limit`: at most
/// `limit` bytes (plus one read) are ever buffered. The connection is not reused after a
/// refusal (hyper closes it rather than drain the rest).
pub async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(BodyError::TooLarge { limit }),
        Err(e) => Err(BodyError::Read(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_to_the_maximum_and_logs_once_per_streak() {
        let mut b = AcceptBackoff::default();
        let start = Instant::now();
        let mut now = start;
        let mut delays = Vec::new();
        let mut logged = 0;
        // A streak of 100 failures, each retried after its delay.
        for _ in 0..100 {
            let f = b.failed(now);
            delays.push(f.delay);
            logged += usize::from(f.log);
            now += f.delay;
        }
        assert_eq!(
            delays[..9],
            [10, 20, 40, 80, 160, 320, 640, 1000, 1000].map(ms)
        );
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert_eq!(logged, 1, "one line for the whole streak");
        // Fewer than 100 retries in about 93 s: not a spin.
        assert!(now - start > Duration::from_secs(90));
    }

    #[test]
    fn success_resets_the_delay_but_not_the_streak() {
        let mut b = AcceptBackoff::default();
        let t0 = Instant::now();
        assert_eq!(
            b.failed(t0),
            AcceptFailure {
                delay: ms(10),
                log: true
            }
        );
        assert_eq!(b.failed(t0 + ms(10)).delay, ms(20));
        b.succeeded();
        // Descriptors freed one at a time: success, failure, success, ... within the streak.
        let again = b.failed(t0 + ms(40));
        assert_eq!(
            again,
            AcceptFailure {
                delay: ms(10),
                log: false
            }
        );
        b.succeeded();
        // After a quiet spell, a failure is a new streak: logged again.
        let later = b.failed(t0 + ms(40) + Duration::from_secs(10));
        assert_eq!(
            later,
            AcceptFailure {
                delay: ms(10),
                log: true
            }
        );
    }

    #[test]
    fn a_spinning_failure_never_waits_less_than_the_minimum() {
        let mut b = AcceptBackoff::default();
        let now = Instant::now();
        // Failures reported at the very same instant (a clock that does not move) still wait.
        let total: Duration = (0..1000).map(|_| b.failed(now).delay).sum();
        assert!(total >= Duration::from_secs(990));
        assert!(!b.failed(now + Duration::from_secs(9)).log);
    }
}
