//! The agent's HTTP API over hyper.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::fault::{Fault, FaultSlot};
use crate::server::{read_body, BodyError};
use crate::store::Store;

/// Largest request body read. None is expected (every route is a `GET`); this leaves room for
/// clients that send a small one anyway.
pub(crate) const MAX_REQUEST_BODY: usize = 64 * 1024;

/// Longest part of a request (a name, a flag) quoted back in an error message.
const MAX_QUOTED_CHARS: usize = 64;

#[derive(Debug)]
pub(crate) struct State {
    pub store: Store,
    pub application: String,
    pub environment: String,
    pub profile: String,
    pub requests: AtomicU64,
    pub fault: FaultSlot,
}

pub(crate) async fn handle(state: &State, req: Request<Incoming>) -> Response<Reply> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let targeting = targeting(req.headers());
    // The request body (none is expected) is read, so keep-alive works, up to a small cap.
    match read_body(req.into_body(), MAX_REQUEST_BODY).await {
        Ok(_) => {}
        Err(BodyError::TooLarge { limit }) => {
            let mut response = error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
                &format!("request bodies are limited to {limit} bytes (none is expected)"),
            );
            // The rest of the body is not read: the connection cannot be reused.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        Err(BodyError::Read(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "the request body could not be read",
            )
        }
    }
    if path == "/ping" {
        return text(
            StatusCode::OK,
            concat!("flag-agent ", env!("CARGO_PKG_VERSION")),
        );
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["applications", app, "environments", env, "configurations", profile] = segments[..] else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "no such API path",
        );
    };
    if method != Method::GET {
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "only GET is supported",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let (app, env, profile) = (
        decode(app, false),
        decode(env, false),
        decode(profile, false),
    );
    for (kind, given, served) in [
        ("application", &app, &state.application),
        ("environment", &env, &state.environment),
        ("configuration profile", &profile, &state.profile),
    ] {
        if given.as_deref() != Some(served.as_str()) {
            let shown = given.as_deref().map_or("(undecodable)".into(), quoted);
            return error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!("{kind} `{shown}` not found"),
            );
        }
    }
    let fault = state.fault.get();
    match &fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, "InjectedFault", "fault injected by the test");
        }
        Some(Fault::Answer { body, version }) => {
            let mut response = Response::new(Reply::full(body.clone()));
            set_json(&mut response, version.as_deref());
            return response;
        }
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Delay(delay)) => tokio::time::sleep(*delay).await,
        _ => {}
    }
    let served = match state.store.current().await {
        Ok(served) => served,
        Err(message) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InvalidConfiguration",
                &message,
            )
        }
    };
    let (context, entity) = match targeting {
        Ok(targeting) => targeting,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let wanted: Option<Vec<String>> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("flag="))
        .map(|value| decode(value, true))
        .collect();
    let Some(wanted) = wanted else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "a `flag` parameter is not valid UTF-8",
        );
    };
    if let Some(unknown) = wanted
        .iter()
        .find(|key| !served.doc.flags.contains_key(*key))
    {
        return unknown_flag(unknown);
    }
    // A flag under an active run is served its treatment when the request names it and
    // carries an `Entity-Id`, as AWS documents the retrieval; a whole-profile request gets the
    // deployed values.
    let entity = entity.filter(|_| {
        wanted
            .iter()
            .any(|key| served.experiments.running(key).is_some())
    });
    // Without a context or a treatment to assign, the context-free evaluation computed when the
    // file was read is served. Otherwise only the flags asked for are evaluated, on the
    // blocking pool: a costly rule delays its own request, never `/ping` or another request.
    let body = if context.is_empty() && entity.is_none() {
        narrowed(&served.evaluated, &wanted)
    } else {
        let served = std::sync::Arc::clone(&served);
        let evaluated = tokio::task::spawn_blocking(move || {
            let mut evaluated = if wanted.is_empty() {
                served.doc.evaluate_with(&context)
            } else {
                let one = |key: &String| {
                    Some((key.clone(), served.doc.evaluate_flag_with(key, &context)?))
                };
                wanted.iter().filter_map(one).collect()
            };
            if let Some(entity) = &entity {
                for key in &wanted {
                    if let Some(answer) = served.experiments.assign(key, entity, &context) {
                        evaluated.insert(key.clone(), answer);
                    }
                }
            }
            narrowed(&evaluated, &wanted)
        })
        .await;
        match evaluated {
            Ok(body) => body,
            Err(_) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "the evaluation of this request's flags did not complete",
                )
            }
        }
    };
    let body = body.to_string().into_bytes();
    let version = served.version.to_string();
    let reply = match fault {
        Some(Fault::Trickle(interval)) => Reply::Trickle {
            data: Bytes::from(body),
            pos: 0,
            interval,
            sleep: None,
        },
        Some(Fault::ResetMidBody) => Reply::Broken(Some(Bytes::from(body))),
        Some(Fault::Oversized(size)) => Reply::full(padded(&body, size)),
        Some(Fault::OversizedStream(size)) => Reply::Chunked(Bytes::from(padded(&body, size))),
        _ => Reply::full(body),
    };
    let mut response = Response::new(reply);
    set_json(&mut response, Some(&version));
    response
}

/// The flags asked for (all when none is named) of a context-free evaluation: one flag's bare
/// object for exactly one `flag`, as the AppConfig agent answers.
fn narrowed(evaluated: &Map<String, Value>, wanted: &[String]) -> Value {
    match wanted {
        [] => Value::Object(evaluated.clone()),
        [one] => evaluated.get(one).cloned().unwrap_or_default(),
        many => Value::Object(
            many.iter()
                .filter_map(|key| Some((key.clone(), evaluated.get(key)?.clone())))
                .collect(),
        ),
    }
}

/// `body` padded with whitespace to `size` bytes: still valid JSON, just big. Filled in one
/// `memset` (an element-wise `resize` of 64 MiB took a debug build hundreds of milliseconds).
fn padded(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = vec![b' '; body.len().max(size)];
    out[..body.len()].copy_from_slice(body);
    out
}

/// The request's evaluation context, from its `Context` headers (one pair per header, or
/// comma-separated pairs), and its `Entity-Id` (at most 2 KB of UTF-8), which picks an
/// experiment's treatment. The stand-in serves one configuration version at a time, so every
/// entity gets the current one. Errors name positions, never the text (a context value may be
/// personal data).
fn targeting(
    headers: &hyper::HeaderMap,
) -> Result<(flag_schema::RuleContext, Option<String>), String> {
    let entity = match headers.get("entity-id") {
        Some(id) if id.len() > MAX_ENTITY_ID_BYTES => {
            return Err(format!(
                "`Entity-Id` is longer than {MAX_ENTITY_ID_BYTES} bytes"
            ));
        }
        Some(id) => Some(
            std::str::from_utf8(id.as_bytes())
                .map_err(|_| "`Entity-Id` is not UTF-8".to_owned())?
                .to_owned(),
        ),
        None => None,
    };
    let mut values = Vec::new();
    let mut bytes = 0;
    for (i, value) in headers.get_all("context").iter().enumerate() {
        bytes += value.len();
        if bytes > MAX_CONTEXT_BYTES {
            return Err(format!(
                "the `Context` headers hold more than {MAX_CONTEXT_BYTES} bytes"
            ));
        }
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| format!("`Context` header {} is not UTF-8", i + 1))?;
        values.push(text);
    }
    let context = flag_schema::RuleContext::from_headers(values).map_err(|e| e.to_string())?;
    if context.len() > MAX_CONTEXT_PAIRS {
        return Err(format!(
            "the context has more than {MAX_CONTEXT_PAIRS} keys"
        ));
    }
    Ok((context, entity))
}

/// The most context this stand-in evaluates, in bytes of `Context` headers: four times what
/// flag-runtime sends at most (16 KiB), so that every context it sends is served, and the work
/// of one request stays bounded (with one rule's at most 16,384 characters).
pub(crate) const MAX_CONTEXT_BYTES: usize = 64 * 1024;
/// The most context keys evaluated (flag-runtime sends at most 256).
pub(crate) const MAX_CONTEXT_PAIRS: usize = 1024;

/// The longest `Entity-Id` the AppConfig agent accepts.
const MAX_ENTITY_ID_BYTES: usize = 2048;

fn unknown_flag(key: &str) -> Response<Reply> {
    error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("flag `{}` is not in this configuration", quoted(key)),
    )
}

/// A name from the request, for an error message: at most [`MAX_QUOTED_CHARS`] characters
/// (then `...`), control characters escaped, so a client cannot make the message huge or
/// forge lines in whatever logs it.
fn quoted(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_QUOTED_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn set_json(response: &mut Response<Reply>, version: Option<&str>) {
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(version) = version.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert("Configuration-Version", version);
    }
}

fn error(status: StatusCode, reason: &str, message: &str) -> Response<Reply> {
    let body = json!({ "Message": message, "ReasonCode": reason }).to_string();
    let mut response = Response::new(Reply::full(body));
    *response.status_mut() = status;
    set_json(&mut response, None);
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Reply> {
    let mut response = Response::new(Reply::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Percent-decodes a path segment (`plus_is_space: false`) or a query value (`true`); `None`
/// if it is not valid UTF-8 after decoding. A `%` not followed by two hex digits stays as is.
fn decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            byte,
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Response bodies: whole, trickled, or cut short.
pub(crate) enum Reply {
    Full(Option<Bytes>),
    Trickle {
        data: Bytes,
        pos: usize,
        interval: Duration,
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    Broken(Option<Bytes>),
    /// Sent in 8 KiB chunks with no length announced (chunked transfer encoding).
    Chunked(Bytes),
}

impl Reply {
    fn full(body: impl Into<Bytes>) -> Self {
        Reply::Full(Some(body.into()))
    }
}

impl Body for Reply {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Reply::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Reply::Broken(data) => match data.take() {
                Some(d) => Poll::Ready(Some(Ok(Frame::data(d.slice(..d.len() / 2))))),
                None => Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fault injected: connection reset mid-body",
                )))),
            },
            Reply::Chunked(data) => {
                if data.is_empty() {
                    return Poll::Ready(None);
                }
                let chunk = data.split_to(data.len().min(8192));
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Reply::Trickle {
                data,
                pos,
                interval,
                sleep,
            } => {
                if *pos >= data.len() {
                    return Poll::Ready(None);
                }
                if let Some(s) = sleep.as_mut() {
                    if s.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                *sleep = Some(Box::pin(tokio::time::sleep(*interval)));
                let byte = data.slice(*pos..*pos + 1);
                *pos += 1;
                Poll::Ready(Some(Ok(Frame::data(byte))))
            }
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Reply::Full(Some(d)) => hyper::body::SizeHint::with_exact(d.len() as u64),
            Reply::Full(None) => hyper::body::SizeHint::with_exact(0),
            Reply::Trickle { data, .. } => hyper::body::SizeHint::with_exact(data.len() as u64),
            Reply::Broken(Some(d)) => hyper::body::SizeHint::with_exact(d.len() as u64),
            Reply::Broken(None) | Reply::Chunked(_) => hyper::body::SizeHint::default(),
        }
    }
}
