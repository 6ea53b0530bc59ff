//! The errors, by concern: a setting that cannot be used ([`ConfigError`]), a refresh that failed
//! ([`FetchError`]), an attribute read as the wrong type ([`AttributeError`]).
//!
//! None of them holds text the agent supplied beyond a status code, a flag key that is a valid
//! AppConfig key, and a reason code that is a short token: an error may be logged, and a flag
//! value must never reach a log.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A setting that cannot be used: from [`ConfigBuilder::build`](crate::ConfigBuilder::build),
/// [`Config::from_env`](crate::Config::from_env), [`FlagSource::new`](crate::FlagSource::new) or
/// [`install_default`](crate::install_default).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting was not given (and, with [`ConfigBuilder::with_env`](crate::ConfigBuilder::with_env),
    /// is not set in the environment either).
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
    /// The HTTP client could not be built.
    HttpClient(Arc<reqwest::Error>),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingSetting { setting, env } => write!(
                f,
                "no AppConfig {setting} configured: set {env} (the environment needs \
                 APPCONFIG_APPLICATION, APPCONFIG_ENVIRONMENT and APPCONFIG_CONFIGURATION), or \
                 call the builder's `{setting}`"
            ),
            ConfigError::InvalidSetting { setting, reason } => {
                write!(f, "invalid {setting}: {reason}")
            }
            ConfigError::NotLoopback { host } => write!(
                f,
                "refusing to talk to `{host}`: the AppConfig agent runs on loopback; \
                 call `allow_remote_endpoint(true)` to allow another host"
            ),
            ConfigError::HttpClient(_) => f.write_str("the HTTP client could not be built"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::HttpClient(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Why a refresh failed. Gate checks never return it (a fault means last-known-good, else the
/// flag is off): [`FlagSource::refresh`](crate::FlagSource::refresh) does, and
/// [`Status`](crate::Status) reports the latest.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FetchError {
    /// The source has no usable configuration (see [`FlagSource::from_env`](crate::FlagSource::from_env)),
    /// so the agent is never asked.
    Unconfigured(ConfigError),
    /// Nothing accepted the connection: the agent is not (yet) listening.
    Connect(Arc<reqwest::Error>),
    /// No complete answer within the configured timeout.
    Timeout {
        /// The timeout that expired.
        after: Duration,
    },
    /// The agent answered with a non-2xx status.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The agent's reason code (`ReasonCode` in its JSON error body), when it is a short
        /// token (letters, digits, `_.:-`, at most 64 bytes). Nothing else of the body is kept.
        reason: Option<String>,
    },
    /// The answer is larger than the configured cap; it was refused, not buffered.
    TooLarge {
        /// The configured cap in bytes.
        limit: usize,
    },
    /// The connection broke while sending or receiving.
    Transport(Arc<reqwest::Error>),
    /// The answer is not a flags answer: not JSON, or not a map of flag objects.
    Parse(ParseError),
    /// The refresh never finished: it was superseded after a freeze outlasted its lease, or its
    /// task ended without an answer.
    Cancelled,
    /// The background refresher (a thread with its own tokio runtime) could not be started.
    Refresher(Arc<std::io::Error>),
    /// The evaluation context cannot be sent (see [`Context::validate`](crate::Context::validate)).
    InvalidContext(crate::context::ContextError),
}

/// Why an answer of the agent is not a flags answer ([`Snapshot::parse`](crate::Snapshot::parse)).
/// Names positions and valid flag keys, never text of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The answer is not JSON (the position of the first fault; no text of the answer is kept).
    MalformedJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The answer is JSON, but not a map of flag objects with a boolean `enabled`.
    InvalidShape {
        /// The offending flag's key, when one is to blame and the key is a valid AppConfig key
        /// (`^[a-z][a-zA-Z0-9_-]{0,63}$`); any other key is not repeated.
        flag: Option<String>,
        /// What is wrong.
        problem: ShapeProblem,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::MalformedJson { line, column } => write!(
                f,
                "the AppConfig agent's answer is not valid JSON (line {line}, column {column})"
            ),
            ParseError::InvalidShape {
                flag: Some(flag),
                problem,
            } => write!(
                f,
                "flag `{flag}` in the AppConfig agent's answer is malformed: {problem}"
            ),
            ParseError::InvalidShape {
                flag: None,
                problem,
            } => write!(f, "the AppConfig agent's answer is malformed: {problem}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for FetchError {
    fn from(error: ParseError) -> Self {
        FetchError::Parse(error)
    }
}

/// What is wrong with the shape of an answer ([`ParseError::InvalidShape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeProblem {
    /// The answer is not a JSON object of flags.
    NotAnObjectOfFlags,
    /// A flag is not a JSON object.
    FlagNotAnObject,
    /// A flag has no `enabled`.
    MissingEnabled,
    /// A flag's `enabled` is not a boolean.
    EnabledNotBoolean,
    /// A flag's `_variant` is not a string.
    VariantNotString,
}

impl fmt::Display for ShapeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShapeProblem::NotAnObjectOfFlags => "expected a JSON object of flags",
            ShapeProblem::FlagNotAnObject => "a flag must be a JSON object",
            ShapeProblem::MissingEnabled => "missing `enabled`",
            ShapeProblem::EnabledNotBoolean => "`enabled` must be a boolean",
            ShapeProblem::VariantNotString => "`_variant` must be a string",
        })
    }
}

/// The kind of a [`FetchError`], without its details: for matching, metrics and log fields
/// ([`as_str`](Self::as_str) is a short, stable name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// [`FetchError::Unconfigured`].
    Unconfigured,
    /// [`FetchError::Connect`].
    Connect,
    /// [`FetchError::Timeout`].
    Timeout,
    /// [`FetchError::Status`].
    Status,
    /// [`FetchError::TooLarge`].
    TooLarge,
    /// [`FetchError::Transport`].
    Transport,
    /// [`FetchError::Parse`] of [`ParseError::MalformedJson`].
    MalformedJson,
    /// [`FetchError::Parse`] of [`ParseError::InvalidShape`].
    InvalidShape,
    /// [`FetchError::Cancelled`].
    Cancelled,
    /// [`FetchError::Refresher`].
    Refresher,
    /// [`FetchError::InvalidContext`].
    InvalidContext,
}

impl FetchErrorKind {
    /// A short, stable name (`"timeout"`, `"malformed_json"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FetchErrorKind::Unconfigured => "unconfigured",
            FetchErrorKind::Connect => "connect",
            FetchErrorKind::Timeout => "timeout",
            FetchErrorKind::Status => "status",
            FetchErrorKind::TooLarge => "too_large",
            FetchErrorKind::Transport => "transport",
            FetchErrorKind::MalformedJson => "malformed_json",
            FetchErrorKind::InvalidShape => "invalid_shape",
            FetchErrorKind::Cancelled => "cancelled",
            FetchErrorKind::Refresher => "refresher",
            FetchErrorKind::InvalidContext => "invalid_context",
        }
    }
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FetchError {
    /// The kind of fault, without its details.
    pub fn kind(&self) -> FetchErrorKind {
        match self {
            FetchError::Unconfigured(_) => FetchErrorKind::Unconfigured,
            FetchError::Connect(_) => FetchErrorKind::Connect,
            FetchError::Timeout { .. } => FetchErrorKind::Timeout,
            FetchError::Status { .. } => FetchErrorKind::Status,
            FetchError::TooLarge { .. } => FetchErrorKind::TooLarge,
            FetchError::Transport(_) => FetchErrorKind::Transport,
            FetchError::Parse(ParseError::MalformedJson { .. }) => FetchErrorKind::MalformedJson,
            FetchError::Parse(ParseError::InvalidShape { .. }) => FetchErrorKind::InvalidShape,
            FetchError::Cancelled => FetchErrorKind::Cancelled,
            FetchError::Refresher(_) => FetchErrorKind::Refresher,
            FetchError::InvalidContext(_) => FetchErrorKind::InvalidContext,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Unconfigured(error) => {
                write!(f, "feature flags are not configured: {error}")
            }
            FetchError::Connect(_) => f.write_str("the AppConfig agent is not reachable"),
            FetchError::Timeout { after } => write!(
                f,
                "the AppConfig agent did not answer within {} ms",
                after.as_millis()
            ),
            FetchError::Status {
                status,
                reason: None,
            } => write!(f, "the AppConfig agent answered HTTP {status}"),
            FetchError::Status {
                status,
                reason: Some(reason),
            } => write!(f, "the AppConfig agent answered HTTP {status} ({reason})"),
            FetchError::TooLarge { limit } => write!(
                f,
                "the AppConfig agent's answer is larger than the {limit}-byte cap"
            ),
            FetchError::Transport(_) => f.write_str("the connection to the AppConfig agent failed"),
            FetchError::Parse(error) => error.fmt(f),
            FetchError::Cancelled => {
                f.write_str("the refresh ended before the AppConfig agent's answer was applied")
            }
            FetchError::Refresher(_) => {
                f.write_str("the background refresher thread could not be started")
            }
            FetchError::InvalidContext(_) => f.write_str("the evaluation context cannot be sent"),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Its message is part of this one's (what to set), so it is not a source as well:
            // error-chain printers would show it twice.
            FetchError::Connect(e) | FetchError::Transport(e) => Some(&**e),
            FetchError::Refresher(e) => Some(&**e),
            FetchError::InvalidContext(e) => Some(e),
            _ => None,
        }
    }
}

/// An attribute exists but is not of the requested type ([`Flag::try_attribute`](crate::Flag::try_attribute)).
///
/// It names the attribute, the type asked for and the JSON type found, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeError {
    /// The attribute's name.
    pub attribute: String,
    /// The Rust type asked for.
    pub expected: &'static str,
    /// The JSON type found ("a string", "a number", ...).
    pub found: &'static str,
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "attribute `{}` is {}, which does not fit a `{}`",
            self.attribute, self.found, self.expected
        )
    }
}

impl std::error::Error for AttributeError {}

/// `text` when it is a short token that cannot carry a value (letters, digits, `_.:-`, at most
/// 64 bytes): what an agent-supplied reason code or version may show in a log.
pub(crate) fn token(text: &str) -> Option<&str> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    ok.then_some(text)
}

/// `key` when it is a valid AppConfig flag key (`^[a-z][a-zA-Z0-9_-]{0,63}$`).
pub(crate) fn flag_key(key: &str) -> Option<&str> {
    flag_schema::is_valid_key(key).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_keys_are_bounded() {
        assert_eq!(token("ResourceNotFound"), Some("ResourceNotFound"));
        assert_eq!(token("12"), Some("12"));
        assert_eq!(token("has space"), None);
        assert_eq!(token("\"quoted\""), None);
        assert_eq!(token(&"a".repeat(65)), None);
        assert_eq!(token(""), None);
        assert_eq!(flag_key("newCheckout"), Some("newCheckout"));
        assert_eq!(flag_key("NewCheckout"), None);
        assert_eq!(flag_key("a b"), None);
        assert_eq!(flag_key(&"a".repeat(65)), None);
    }

    #[test]
    fn sources_are_kept() {
        use std::error::Error as _;
        let config = ConfigError::MissingSetting {
            setting: "application",
            env: "APPCONFIG_APPLICATION",
        };
        // An unconfigured source says what to set in its own message, once.
        let fetch = FetchError::Unconfigured(config.clone());
        assert!(fetch.source().is_none());
        assert!(fetch.to_string().ends_with(&config.to_string()), "{fetch}");
        let io = FetchError::Refresher(Arc::new(std::io::Error::other("no threads")));
        assert_eq!(io.source().unwrap().to_string(), "no threads");
    }
}
