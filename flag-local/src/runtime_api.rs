//! The Lambda Runtime API, emulated on loopback.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flag_agent::server::{self, read_body, BodyError};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

/// Largest request body read: Lambda's payload limit for a synchronous invocation's response
/// (6 MB). A larger answer is refused with 413, unread, and fails its invocation.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The error type of an invocation whose answer was over [`MAX_PAYLOAD_BYTES`], as Lambda
/// names it.
const TOO_LARGE: &str = "Function.ResponseSizeTooLarge";

/// How an invocation ended, as the function reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../response`: the handler's answer (JSON if it parses, else a string).
    Response(Value),
    /// `POST .../error`: the handler's error.
    Error {
        /// `errorType` (or the `Lambda-Runtime-Function-Error-Type` header).
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
}

/// A completed invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The request id handed to the function.
    pub request_id: String,
    /// What the function answered.
    pub outcome: Outcome,
    /// From [`RuntimeApi::invoke`] to the answer.
    pub duration: Duration,
}

/// Why [`RuntimeApi::invoke`] has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// No answer before the invocation's timeout (Lambda would report `Task timed out`).
    TimedOut(Duration),
    /// The emulator stopped first.
    Stopped,
    /// The function process exited first (a panic at start-up, a crash, an exit): its status.
    /// Only [`LocalFunction::invoke`](crate::LocalFunction::invoke) reports it.
    Exited(std::process::ExitStatus),
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::TimedOut(after) => {
                write!(f, "Task timed out after {:.2} seconds", after.as_secs_f64())
            }
            InvokeError::Stopped => f.write_str("the Runtime API emulator stopped"),
            InvokeError::Exited(status) => write!(f, "the function exited ({status})"),
        }
    }
}

impl std::error::Error for InvokeError {}

struct Pending {
    id: String,
    payload: Bytes,
    deadline_ms: u64,
}

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<Pending>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<String>>,
    next_id: AtomicU64,
    function_arn: String,
}

/// A Lambda Runtime API emulator. Dropping it stops it.
pub struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RuntimeApi {
    /// Listens on `addr` (port 0: any free port) for a function named `function_name`.
    ///
    /// It serves with the local agent's hardened accept loop: a client has 10 s to send each
    /// request head (a long-polling `GET .../invocation/next` waits as long as it needs: the
    /// deadline covers the head only), accept failures back off, and request bodies over
    /// [`MAX_PAYLOAD_BYTES`] are refused unread.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use flag_local::RuntimeApi;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let api = RuntimeApi::start("127.0.0.1:0".parse()?, "my-function").await?;
    /// // Start the function with AWS_LAMBDA_RUNTIME_API set to this, then:
    /// println!("AWS_LAMBDA_RUNTIME_API={}", api.addr());
    /// let invocation = api
    ///     .invoke(&serde_json::json!({"name": "Ada"}), Duration::from_secs(10))
    ///     .await?;
    /// println!("{:?}", invocation.outcome);
    /// # Ok(()) }
    /// ```
    pub async fn start(addr: SocketAddr, function_name: &str) -> std::io::Result<Self> {
        Self::start_with_header_read_timeout(
            addr,
            function_name,
            server::DEFAULT_HEADER_READ_TIMEOUT,
        )
        .await
    }

    /// [`start`](Self::start), with another deadline for a client to send a request head (and,
    /// on a kept-alive connection, the next one).
    pub async fn start_with_header_read_timeout(
        addr: SocketAddr,
        function_name: &str,
        header_read_timeout: Duration,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            function_arn: format!("arn:aws:lambda:local:000000000000:function:{function_name}"),
            ..State::default()
        });
        let config = server::Config {
            header_read_timeout,
            ..server::Config::new("runtime-api")
        };
        let served = Arc::clone(&state);
        let task = tokio::spawn(server::serve(listener, config, move |req| {
            let state = Arc::clone(&served);
            async move { handle(&state, req).await }
        }));
        Ok(RuntimeApi { addr, state, task })
    }

    /// The address to give the function as `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues `payload` and waits for the function's answer, at most `timeout` (which is also
    /// the deadline the function sees in `Lambda-Runtime-Deadline-Ms`).
    pub async fn invoke(
        &self,
        payload: &Value,
        timeout: Duration,
    ) -> Result<Invocation, InvokeError> {
        let started = Instant::now();
        let id = format!(
            "local-{:06}",
            self.state.next_id.fetch_add(1, Ordering::SeqCst) + 1
        );
        let (tx, rx) = oneshot::channel();
        self.state.waiting.lock().unwrap().insert(id.clone(), tx);
        // If this future is dropped unanswered (the caller raced it against something else),
        // the event leaves the queue and the id is forgotten.
        let _forget = Forget {
            state: &self.state,
            id: id.clone(),
        };
        // A timeout past what SystemTime can hold: the furthest deadline there is.
        let deadline_ms = SystemTime::now()
            .checked_add(timeout)
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map_or(u64::MAX, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        self.state.queue.lock().unwrap().push_back(Pending {
            id: id.clone(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms,
        });
        self.state.queued.notify_one();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => Ok(Invocation {
                request_id: id,
                outcome,
                duration: started.elapsed(),
            }),
            Ok(Err(_)) => Err(InvokeError::Stopped),
            Err(_) => Err(InvokeError::TimedOut(timeout)),
        }
    }

    /// What the function reported to `POST /runtime/init/error`, if anything.
    pub fn init_error(&self) -> Option<String> {
        self.state.init_error.lock().unwrap().clone()
    }
}

/// Removes an invocation from the queue and the waiting list when its [`RuntimeApi::invoke`]
/// ends, whichever way (answered: already gone; timed out or dropped: not yet).
struct Forget<'a> {
    state: &'a State,
    id: String,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.state.waiting.lock().unwrap().remove(&self.id);
        self.state.queue.lock().unwrap().retain(|p| p.id != self.id);
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let error_type_header = req
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match read_body(req.into_body(), MAX_PAYLOAD_BYTES).await {
        Ok(body) => body,
        Err(BodyError::TooLarge { limit }) => return too_large(state, &path, limit),
        Err(BodyError::Read(_)) => {
            return reply(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            )
        }
    };
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return reply(StatusCode::NOT_FOUND, "not a Runtime API path");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (method, parts.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(state).await,
        (Method::POST, ["invocation", id, "response"]) => {
            let value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            complete(state, id, Outcome::Response(value))
        }
        (Method::POST, ["invocation", id, "error"]) => {
            let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let text = |key: &str| parsed.get(key).and_then(Value::as_str).map(str::to_owned);
            let outcome = Outcome::Error {
                error_type: text("errorType")
                    .or(error_type_header)
                    .unwrap_or_else(|| "Unhandled".into()),
                message: text("errorMessage")
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()),
            };
            complete(state, id, outcome)
        }
        (Method::POST, ["init", "error"]) => {
            *state.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
            reply(StatusCode::ACCEPTED, "")
        }
        _ => reply(StatusCode::NOT_FOUND, "unknown Runtime API route"),
    }
}

async fn next(state: &State) -> Response<Full<Bytes>> {
    loop {
        let notified = state.queued.notified();
        let pending = state.queue.lock().unwrap().pop_front();
        if let Some(p) = pending {
            let mut response = Response::new(Full::new(p.payload));
            let headers = response.headers_mut();
            let mut set = |name: &'static str, value: String| {
                if let Ok(value) = value.parse() {
                    headers.insert(name, value);
                }
            };
            set("lambda-runtime-aws-request-id", p.id);
            set("lambda-runtime-deadline-ms", p.deadline_ms.to_string());
            set(
                "lambda-runtime-invoked-function-arn",
                state.function_arn.clone(),
            );
            set(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
            );
            set("content-type", "application/json".into());
            return response;
        }
        notified.await;
    }
}

fn complete(state: &State, id: &str, outcome: Outcome) -> Response<Full<Bytes>> {
    match state.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            reply(StatusCode::ACCEPTED, "")
        }
        None => reply(StatusCode::BAD_REQUEST, "unknown or expired request id"),
    }
}

/// A body over the cap, refused unread. An invocation's answer that large fails the invocation,
/// as Lambda fails one whose response is over its payload limit.
fn too_large(state: &State, path: &str, limit: usize) -> Response<Full<Bytes>> {
    let id = path
        .strip_prefix("/2018-06-01/runtime/invocation/")
        .and_then(|rest| rest.split_once('/'))
        .map(|(id, _)| id);
    if let Some(id) = id {
        let outcome = Outcome::Error {
            error_type: TOO_LARGE.to_owned(),
            message: format!("the function's answer is over {limit} bytes, Lambda's payload limit"),
        };
        let _ = complete(state, id, outcome);
    }
    let mut response = reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request body over Lambda's 6 MB payload limit",
    );
    // The rest of the body is not read: the connection cannot be reused.
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn reply(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}
