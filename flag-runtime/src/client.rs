//! The agent's answer for one target: plain HTTP on loopback, bounded in time and size; for an
//! entity, the experiment flags asked for again by name, as AWS serves treatments.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::context::Context;

use crate::error::{token, ConfigError, FetchError};

/// What the agent answered: the raw body and its configuration version.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub version: Option<String>,
}

#[derive(Debug)]
pub(crate) struct AgentClient {
    /// Keeps connections alive for a TTL.
    http: reqwest::Client,
    /// Opens a new connection for each request: the one retry of a request whose kept-alive
    /// connection died (see [`died_unanswered`]).
    fresh: reqwest::Client,
    url: String,
    timeout: Duration,
    max_body_bytes: usize,
    /// The flags under experiment (`flags!`'s `experiments()`), sorted, without duplicates.
    experiments: RwLock<Arc<[Box<str>]>>,
    /// Whether a scope without an Entity-Id was logged (once per process).
    anonymous_warned: AtomicBool,
}

impl AgentClient {
    pub(crate) fn new(config: &Config) -> Result<Self, ConfigError> {
        let builder = || {
            reqwest::Client::builder()
                // The agent is on loopback: an HTTP(S)_PROXY meant for outbound traffic must
                // not capture it, and a redirect could only lead somewhere it should not.
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .tcp_nodelay(true)
                .connect_timeout(config.timeout())
        };
        let built = |builder: reqwest::ClientBuilder| {
            builder
                .build()
                .map_err(|e| ConfigError::HttpClient(Arc::new(e)))
        };
        // Connections are kept alive for a TTL: a first-seen context then costs a request,
        // not a connect. One that died meanwhile (the agent closed it, a SnapStart restore)
        // fails before any answer, and the request is sent again once on a new connection.
        let http = built(
            builder()
                .pool_idle_timeout(config.ttl())
                .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS),
        )?;
        let fresh = built(builder().pool_max_idle_per_host(0))?;
        Ok(AgentClient {
            http,
            fresh,
            url: config.url().to_owned(),
            timeout: config.timeout(),
            max_body_bytes: config.max_body_bytes(),
            experiments: RwLock::new(Arc::from([])),
            anonymous_warned: AtomicBool::new(false),
        })
    }

    /// Adds `flags` to the flags under experiment.
    pub(crate) fn add_experiments<'a>(&self, flags: impl IntoIterator<Item = &'a str>) {
        let mut experiments = self.experiments.write().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<Box<str>> = experiments.iter().cloned().collect();
        all.extend(flags.into_iter().map(Box::from));
        all.sort_unstable();
        all.dedup();
        *experiments = Arc::from(all);
    }

    /// Logs, once per process and one line per flag (names only), that the flags under
    /// experiment are served their deployed values: an invocation scope has no Entity-Id.
    pub(crate) fn warn_anonymous(&self) {
        if self.anonymous_warned.load(Ordering::Relaxed) {
            return;
        }
        let experiments = self.experiments();
        if experiments.is_empty() || self.anonymous_warned.swap(true, Ordering::Relaxed) {
            return;
        }
        for flag in experiments.iter() {
            tracing::warn!(
                flag = &**flag,
                "flag under experiment read in an invocation scope without an Entity-Id: its deployed value is served (give the scope's context an entity id)"
            );
        }
    }

    /// The flags under experiment.
    pub(crate) fn experiments(&self) -> Arc<[Box<str>]> {
        Arc::clone(&self.experiments.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// GET the configuration, whole or not at all, by `deadline` (the timeout after the refresh
    /// started). Needs a tokio runtime with IO and time: it runs on the background refresher's.
    pub(crate) async fn fetch(
        &self,
        deadline: tokio::time::Instant,
        context: Option<&Context>,
    ) -> Result<Answer, FetchError> {
        let experiments = self.experiments();
        let treatments = context.filter(|c| c.entity_id().is_some() && !experiments.is_empty());
        let fetched = async {
            match treatments {
                None => self.fetch_unbounded(context, &[]).await,
                // The whole profile for the context, and the experiment flags by name, at once.
                Some(_) => match tokio::join!(
                    self.fetch_unbounded(context, &[]),
                    self.fetch_unbounded(context, &experiments)
                ) {
                    (Ok(whole), Ok(named)) => merged(whole, named, &experiments),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                },
            }
        };
        match tokio::time::timeout_at(deadline, fetched).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                after: self.timeout,
            }),
        }
    }

    /// One GET; `named` flags with `?flag=` (all of the profile when empty).
    async fn fetch_unbounded(
        &self,
        context: Option<&Context>,
        named: &[Box<str>],
    ) -> Result<Answer, FetchError> {
        let sent = match self.request(&self.http, context, named).send().await {
            Err(e) if died_unanswered(&e) => self.request(&self.fresh, context, named).send().await,
            sent => sent,
        };
        let mut response = sent.map_err(|e| self.classify(e))?;
        let status = response.status();
        if !status.is_success() {
            // Only the reason code of the agent's JSON error body is kept, and only when it is
            // a short token: the rest of the body is agent text (it may quote a value).
            let mut body = Vec::new();
            while body.len() < ERROR_BODY_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            return Err(FetchError::Status {
                status: status.as_u16(),
                reason: reason_code(&body),
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body_bytes as u64)
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        let headers = response.headers();
        let version = headers
            .get("configuration-version")
            .or_else(|| headers.get("configurationversion"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Capacity from the announced length, bounded: the length is the agent's word.
        let announced = response.content_length().unwrap_or(0).min(64 * 1024) as usize;
        let mut body = Vec::with_capacity(announced);
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(FetchError::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { body, version })
    }

    /// The GET of the configuration on `http`, with `context`'s headers and `named` flags.
    fn request(
        &self,
        http: &reqwest::Client,
        context: Option<&Context>,
        named: &[Box<str>],
    ) -> reqwest::RequestBuilder {
        let mut request = if named.is_empty() {
            http.get(&self.url)
        } else {
            use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
            let query: Vec<String> = named
                .iter()
                .map(|key| format!("flag={}", utf8_percent_encode(key, NON_ALPHANUMERIC)))
                .collect();
            http.get(format!("{}?{}", self.url, query.join("&")))
        }
        .header(reqwest::header::ACCEPT, "application/json");
        if let Some(context) = context {
            // One `Context` header, the pairs comma-separated (values hold no comma: `Context`
            // checked that, and its size), as AWS's samples allow: a context of hundreds of
            // pairs stays one header, far below any server's header-count limit. Bytes, not
            // `&str`: UTF-8 values are sent as they are (obs-text).
            use reqwest::header::HeaderValue;
            if context.pairs().next().is_some() {
                if let Ok(header) = HeaderValue::from_bytes(context.header().as_bytes()) {
                    request = request.header("Context", header);
                }
            }
            if let Some(header) = context
                .entity_id()
                .and_then(|id| HeaderValue::from_bytes(id.as_bytes()).ok())
            {
                request = request.header("Entity-Id", header);
            }
        }
        request
    }

    fn classify(&self, error: reqwest::Error) -> FetchError {
        if error.is_timeout() {
            FetchError::Timeout {
                after: self.timeout,
            }
        } else if error.is_connect() {
            FetchError::Connect(Arc::new(error))
        } else {
            FetchError::Transport(Arc::new(error))
        }
    }
}

/// The whole answer with the experiment flags' own answers laid over it: one body, as if one
/// request had answered both (the version is the whole answer's). With one flag named, the
/// agent answers that flag's bare object.
fn merged(whole: Answer, named: Answer, experiments: &[Box<str>]) -> Result<Answer, FetchError> {
    let shape = || {
        FetchError::from(crate::error::ParseError::InvalidShape {
            flag: None,
            problem: crate::error::ShapeProblem::NotAnObjectOfFlags,
        })
    };
    let mut all: Map<String, Value> = serde_json::from_slice(&whole.body).map_err(|_| shape())?;
    let named: Value = serde_json::from_slice(&named.body).map_err(|_| shape())?;
    match (experiments, named) {
        ([one], answer @ Value::Object(_)) => {
            all.insert(one.to_string(), answer);
        }
        (_, Value::Object(flags)) => all.extend(flags),
        _ => return Err(shape()),
    }
    let body = serde_json::to_vec(&all).map_err(|_| shape())?;
    Ok(Answer {
        body,
        version: whole.version,
    })
}

/// Idle connections kept per agent: a few concurrent refreshes each reuse one.
const MAX_IDLE_CONNECTIONS: usize = 4;

/// Whether `error` is a connection that ended before any byte of an answer (hyper's
/// incomplete message, a reset, a broken pipe): what a kept-alive connection that died while
/// idle gives (closed by the agent, dead after a SnapStart restore). A refused connect, a
/// timeout, or a fault in an answer's bytes is the agent's, and is not asked again.
fn died_unanswered(error: &reqwest::Error) -> bool {
    use std::io::ErrorKind;
    if error.is_connect() || error.is_timeout() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() {
                return true;
            }
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            );
        }
        source = cause.source();
    }
    false
}

/// How much of an error answer is read to find its reason code.
const ERROR_BODY_BYTES: usize = 4096;

/// The `ReasonCode` (or `Code`) of an agent error body, when it is a short token.
fn reason_code(body: &[u8]) -> Option<String> {
    let body = body.get(..ERROR_BODY_BYTES).unwrap_or(body);
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["ReasonCode", "reasonCode", "Code", "code"]
        .iter()
        .find_map(|key| value.get(key)?.as_str())
        .and_then(token)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::reason_code;

    #[test]
    fn only_a_token_reason_code_is_kept() {
        assert_eq!(
            reason_code(br#"{"Message": "value s3cr3t is bad", "ReasonCode": "BadRequest"}"#),
            Some("BadRequest".to_owned())
        );
        assert_eq!(reason_code(br#"{"ReasonCode": "s3cr3t value"}"#), None);
        assert_eq!(reason_code(br#"{"Message": "s3cr3t"}"#), None);
        assert_eq!(reason_code(b"s3cr3t"), None);
    }
}
