use std::fmt;
use std::time::Duration;

/// Everything that can go wrong between this crate and the AppConfig agent.
///
/// Gate checks never return it: a fault means last-known-good, else the flag is off. It is what
/// [`FlagSource::refresh`](crate::FlagSource::refresh), the configuration builders and
/// [`Flag::try_attribute`](crate::Flag::try_attribute) return, and what
/// [`Status::last_error`](crate::Status::last_error) reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A required setting is neither given to the builder nor set in the environment.
    MissingSetting {
        /// The setting, as the builder names it.
        setting: &'static str,
        /// The environment variable that provides it.
        env: &'static str,
    },
    /// A setting has a value that cannot be used.
    InvalidSetting {
        /// The setting (or environment variable).
        setting: &'static str,
        /// Why the value is refused.
        reason: String,
    },
    /// The endpoint is not on loopback and remote endpoints were not allowed.
    NotLoopback {
        /// The refused host.
        host: String,
    },
    /// Nothing accepted the connection: the agent is not (yet) listening.
    Connect {
        /// The underlying error.
        detail: String,
    },
    /// No complete answer within the configured timeout.
    Timeout {
        /// The timeout that expired.
        after: Duration,
    },
    /// The agent answered with a non-2xx status.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the answer's body (at most 512 bytes), for the log.
        body: String,
    },
    /// The answer is larger than the configured cap; it was refused, not buffered.
    TooLarge {
        /// The configured cap in bytes.
        limit: usize,
    },
    /// The connection broke while sending or receiving.
    Transport {
        /// The underlying error.
        detail: String,
    },
    /// The answer is not JSON.
    MalformedJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser found.
        detail: String,
    },
    /// The answer is JSON, but not a map of flag objects with a boolean `enabled`.
    InvalidShape {
        /// The offending flag, when one is to blame.
        flag: Option<String>,
        /// What is wrong.
        detail: String,
    },
    /// An attribute exists but does not deserialize into the requested type.
    AttributeType {
        /// The attribute's name.
        attribute: String,
        /// The deserializer's message.
        detail: String,
    },
    /// The refresh ended before the agent answered: its future was dropped (a cancelled task, a
    /// runtime shut down), or a freeze outlasted its lease and a newer refresh took over.
    Cancelled,
    /// No tokio runtime (with IO and time enabled) is running, so the agent cannot be asked;
    /// checks keep serving the current snapshot.
    NoRuntime,
    /// [`install_default`](crate::install_default) was called after the default source was
    /// already set up (installed, or configured from the environment by a first check).
    DefaultAlreadySet,
}

impl Error {
    /// A short, stable name for the kind of fault (for metrics and log fields).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::MissingSetting { .. } => "missing_setting",
            Error::InvalidSetting { .. } => "invalid_setting",
            Error::NotLoopback { .. } => "not_loopback",
            Error::Connect { .. } => "connect",
            Error::Timeout { .. } => "timeout",
            Error::Status { .. } => "status",
            Error::TooLarge { .. } => "too_large",
            Error::Transport { .. } => "transport",
            Error::MalformedJson { .. } => "malformed_json",
            Error::InvalidShape { .. } => "invalid_shape",
            Error::AttributeType { .. } => "attribute_type",
            Error::Cancelled => "cancelled",
            Error::NoRuntime => "no_runtime",
            Error::DefaultAlreadySet => "default_already_set",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingSetting { setting, env } => {
                write!(f, "no AppConfig {setting} configured: set {env} or call the builder's `{setting}`")
            }
            Error::InvalidSetting { setting, reason } => write!(f, "invalid {setting}: {reason}"),
            Error::NotLoopback { host } => write!(
                f,
                "refusing to talk to `{host}`: the AppConfig agent runs on loopback; \
                 call `allow_remote_endpoint(true)` to allow another host"
            ),
            Error::Connect { detail } => write!(f, "the AppConfig agent is not reachable: {detail}"),
            Error::Timeout { after } => {
                write!(f, "the AppConfig agent did not answer within {} ms", after.as_millis())
            }
            Error::Status { status, body } if body.is_empty() => {
                write!(f, "the AppConfig agent answered HTTP {status}")
            }
            Error::Status { status, body } => {
                write!(f, "the AppConfig agent answered HTTP {status}: {body}")
            }
            Error::TooLarge { limit } => {
                write!(f, "the AppConfig agent's answer is larger than the {limit}-byte cap")
            }
            Error::Transport { detail } => {
                write!(f, "the connection to the AppConfig agent failed: {detail}")
            }
            Error::MalformedJson { line, column, detail } => write!(
                f,
                "the AppConfig agent's answer is not valid JSON (line {line}, column {column}): {detail}"
            ),
            Error::InvalidShape { flag: Some(flag), detail } => {
                write!(f, "flag `{flag}` in the AppConfig agent's answer is malformed: {detail}")
            }
            Error::InvalidShape { flag: None, detail } => {
                write!(f, "the AppConfig agent's answer is not a feature-flag map: {detail}")
            }
            Error::AttributeType { attribute, detail } => {
                write!(f, "attribute `{attribute}` has an unexpected type: {detail}")
            }
            Error::Cancelled => f.write_str("the refresh was cancelled before the AppConfig agent answered"),
            Error::NoRuntime => f.write_str(
                "no tokio runtime (with IO and time enabled) is running, so the AppConfig agent cannot be asked",
            ),
            Error::DefaultAlreadySet => f.write_str(
                "the default flag source is already set (installed, or configured from the \
                 environment by an earlier check); install it once, before the first check",
            ),
        }
    }
}

impl std::error::Error for Error {}
