//! One request to the agent: plain HTTP on loopback, bounded in time and size.

use std::time::Duration;

use crate::config::Config;
use crate::error::Error;

/// What the agent answered: the raw body and its configuration version.
#[derive(Debug)]
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub version: Option<String>,
}

#[derive(Debug)]
pub(crate) struct AgentClient {
    http: reqwest::Client,
    url: String,
    timeout: Duration,
    max_body_bytes: usize,
}

impl AgentClient {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            // The agent is on loopback: an HTTP(S)_PROXY meant for outbound traffic must not
            // capture it, and a redirect could only lead somewhere it should not.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .connect_timeout(config.timeout())
            // No pooled connections: one loopback connect per TTL window costs nothing, while a
            // pooled connection belongs to the runtime that opened it and breaks under another
            // (tests with a runtime each, a runtime rebuilt after a Lambda SnapStart restore).
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| Error::InvalidSetting {
                setting: "http client",
                reason: e.to_string(),
            })?;
        Ok(AgentClient {
            http,
            url: config.url().to_owned(),
            timeout: config.timeout(),
            max_body_bytes: config.max_body_bytes(),
        })
    }

    /// GET the configuration, whole or not at all, within the timeout.
    pub(crate) async fn fetch(&self) -> Result<Answer, Error> {
        match tokio::time::timeout(self.timeout, self.fetch_unbounded()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                after: self.timeout,
            }),
        }
    }

    async fn fetch_unbounded(&self) -> Result<Answer, Error> {
        let mut response = self
            .http
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        if !status.is_success() {
            let mut body = Vec::new();
            while body.len() < 512 {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            body.truncate(512);
            return Err(Error::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).trim().to_owned(),
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body_bytes as u64)
        {
            return Err(Error::TooLarge {
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
                return Err(Error::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { body, version })
    }

    fn classify(&self, error: reqwest::Error) -> Error {
        if error.is_timeout() {
            Error::Timeout {
                after: self.timeout,
            }
        } else if error.is_connect() {
            Error::Connect {
                detail: chain(&error),
            }
        } else {
            Error::Transport {
                detail: chain(&error),
            }
        }
    }
}

/// The error and its causes on one line ("error sending request: connection refused").
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
