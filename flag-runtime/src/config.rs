//! Where the agent is, which configuration to ask for, and how fresh to keep it.

use std::net::IpAddr;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::ConfigError;

/// The settings' names and defaults.
impl Config {
    /// Environment variable naming the AppConfig application (name or ID).
    pub const ENV_APPLICATION: &str = "APPCONFIG_APPLICATION";
    /// Environment variable naming the AppConfig environment (name or ID).
    pub const ENV_ENVIRONMENT: &str = "APPCONFIG_ENVIRONMENT";
    /// Environment variable naming the feature-flag configuration profile (name or ID).
    pub const ENV_CONFIGURATION: &str = "APPCONFIG_CONFIGURATION";
    /// The extension's own port setting, honoured by the client too.
    pub const ENV_PORT: &str = "AWS_APPCONFIG_EXTENSION_HTTP_PORT";
    /// Optional: the snapshot TTL in milliseconds.
    pub const ENV_TTL_MS: &str = "FLAGS_TTL_MS";
    /// Optional: the agent request timeout in milliseconds.
    pub const ENV_TIMEOUT_MS: &str = "FLAGS_TIMEOUT_MS";

    /// The agent's port when [`Self::ENV_PORT`] is not set.
    pub const DEFAULT_PORT: u16 = 2772;
    /// How long a snapshot is served before the next check asks the agent again.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
    /// How long one agent request may take, body included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
    /// Longest accepted request timeout (a Lambda invocation lasts at most 15 minutes).
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);
    /// Largest answer accepted: AppConfig's maximum hosted configuration size (4 MB).
    pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
    /// How many evaluation contexts a source keeps answers for (least recently used out).
    pub const DEFAULT_MAX_CONTEXTS: usize = 1024;
}

/// A validated client configuration. Build one with [`Config::builder`] or [`Config::from_env`].
///
/// ```
/// use std::time::Duration;
/// use flag_runtime::Config;
///
/// let config = Config::builder()
///     .application("checkout")
///     .environment("develop")
///     .configuration("flags")
///     .ttl(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(
///     config.url(),
///     "http://127.0.0.1:2772/applications/checkout/environments/develop/configurations/flags"
/// );
/// # Ok::<(), flag_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    application: String,
    environment: String,
    configuration: String,
    host: String,
    port: u16,
    ttl: Duration,
    timeout: Duration,
    max_body_bytes: usize,
    max_contexts: usize,
    url: String,
}

/// Builder for [`Config`]: what it is given, then the defaults. It reads no environment
/// variable unless told to with [`with_env`](Self::with_env).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ConfigBuilder {
    application: Option<String>,
    environment: Option<String>,
    configuration: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    ttl: Option<Duration>,
    timeout: Option<Duration>,
    max_body_bytes: Option<usize>,
    max_contexts: Option<usize>,
    allow_remote: bool,
    use_env: bool,
}

impl Config {
    /// A builder with nothing set: it reads no environment variable (see
    /// [`ConfigBuilder::with_env`] for that).
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Everything from the environment: [`Config::ENV_APPLICATION`], [`Config::ENV_ENVIRONMENT`],
    /// [`Config::ENV_CONFIGURATION`] (required), [`Config::ENV_PORT`], [`Config::ENV_TTL_MS`], [`Config::ENV_TIMEOUT_MS`].
    /// The same as `Config::builder().with_env().build()`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().with_env().build()
    }

    /// The application's name or ID.
    pub fn application(&self) -> &str {
        &self.application
    }

    /// The environment's name or ID.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The configuration profile's name or ID.
    pub fn configuration(&self) -> &str {
        &self.configuration
    }

    /// How long a snapshot is served before it is refreshed.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long one agent request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Largest answer accepted, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How many evaluation contexts a source keeps answers for.
    pub fn max_contexts(&self) -> usize {
        self.max_contexts
    }

    /// The agent URL this configuration asks, path segments percent-encoded.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl ConfigBuilder {
    /// The AppConfig application (name or ID). Required.
    pub fn application(mut self, value: impl Into<String>) -> Self {
        self.application = Some(value.into());
        self
    }

    /// The AppConfig environment (name or ID). Required.
    pub fn environment(mut self, value: impl Into<String>) -> Self {
        self.environment = Some(value.into());
        self
    }

    /// The feature-flag configuration profile (name or ID). Required.
    pub fn configuration(mut self, value: impl Into<String>) -> Self {
        self.configuration = Some(value.into());
        self
    }

    /// The agent's port. Default 2772.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The agent's host. Default `127.0.0.1` (what `localhost` names, without a DNS lookup).
    /// A host that is not loopback also needs [`allow_remote_endpoint`](Self::allow_remote_endpoint).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Allow a non-loopback host. The agent only ever runs beside the function, so a remote
    /// endpoint is almost always a mistake; this makes it a deliberate one.
    pub fn allow_remote_endpoint(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// How long a snapshot is served before the next check refreshes it (default 5 s). At most one agent request is made per TTL window.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// How long one agent request may take, body included (default 1 s).
    /// It also bounds how long an async check waits.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Largest answer accepted (default 4 MiB, AppConfig's maximum configuration size).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }

    /// How many evaluation contexts a source keeps answers for, least recently used out (default
    /// 1024, at least 1). Each holds one evaluated answer of the profile.
    pub fn max_contexts(mut self, count: usize) -> Self {
        self.max_contexts = Some(count);
        self
    }

    /// Fill every setting the builder is not given from the environment ([`Config::ENV_APPLICATION`],
    /// [`Config::ENV_ENVIRONMENT`], [`Config::ENV_CONFIGURATION`], [`Config::ENV_PORT`], [`Config::ENV_TTL_MS`],
    /// [`Config::ENV_TIMEOUT_MS`]), then from the defaults. What the builder is given wins.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// // The Lambda's environment, with a longer TTL than `$FLAGS_TTL_MS` says:
    /// let config = flag_runtime::Config::builder()
    ///     .ttl(Duration::from_secs(30))
    ///     .with_env()
    ///     .build()?;
    /// # Ok::<(), flag_runtime::ConfigError>(())
    /// ```
    pub fn with_env(mut self) -> Self {
        self.use_env = true;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<Config, ConfigError> {
        let env = |name: &str| {
            if self.use_env {
                std::env::var(name).ok().filter(|v| !v.trim().is_empty())
            } else {
                None
            }
        };
        let required = |given: Option<String>, setting: &'static str, var: &'static str| {
            let value = given
                .or_else(|| env(var))
                .ok_or(ConfigError::MissingSetting { setting, env: var })?;
            check_segment(setting, &value)?;
            Ok::<_, ConfigError>(value)
        };
        let application = required(
            self.application.clone(),
            "application",
            Config::ENV_APPLICATION,
        )?;
        let environment = required(
            self.environment.clone(),
            "environment",
            Config::ENV_ENVIRONMENT,
        )?;
        let configuration = required(
            self.configuration.clone(),
            "configuration",
            Config::ENV_CONFIGURATION,
        )?;

        let port = match (self.port, env(Config::ENV_PORT)) {
            (Some(port), _) => port,
            (None, Some(text)) => text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ConfigError::InvalidSetting {
                    setting: Config::ENV_PORT,
                    reason: format!("`{text}` is not a port number"),
                })?,
            (None, None) => Config::DEFAULT_PORT,
        };
        let millis = |var: &'static str| -> Result<Option<Duration>, ConfigError> {
            env(var)
                .map(|text| {
                    text.trim()
                        .parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|_| ConfigError::InvalidSetting {
                            setting: var,
                            reason: format!("`{text}` is not a whole number of milliseconds"),
                        })
                })
                .transpose()
        };
        let ttl = match self.ttl {
            Some(ttl) => ttl,
            None => millis(Config::ENV_TTL_MS)?.unwrap_or(Config::DEFAULT_TTL),
        };
        let timeout = match self.timeout {
            Some(timeout) => timeout,
            None => millis(Config::ENV_TIMEOUT_MS)?.unwrap_or(Config::DEFAULT_TIMEOUT),
        };
        if timeout.is_zero() || timeout > Config::MAX_TIMEOUT {
            return Err(ConfigError::InvalidSetting {
                setting: "timeout",
                reason: format!(
                    "must be more than zero and at most {} s, found {} ms",
                    Config::MAX_TIMEOUT.as_secs(),
                    timeout.as_millis()
                ),
            });
        }
        let max_body_bytes = self
            .max_body_bytes
            .unwrap_or(Config::DEFAULT_MAX_BODY_BYTES);
        let max_contexts = self.max_contexts.unwrap_or(Config::DEFAULT_MAX_CONTEXTS);
        if max_contexts == 0 {
            return Err(ConfigError::InvalidSetting {
                setting: "max_contexts",
                reason: "must be at least 1".into(),
            });
        }
        let host = self.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned());
        if !self.allow_remote && !is_loopback(&host) {
            return Err(ConfigError::NotLoopback { host });
        }
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(ConfigError::InvalidSetting {
                setting: "host",
                reason: format!("`{host}` is not a host name or address"),
            });
        }
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let url = format!(
            "http://{authority}/applications/{}/environments/{}/configurations/{}",
            encode_segment(&application),
            encode_segment(&environment),
            encode_segment(&configuration),
        );
        Ok(Config {
            application,
            environment,
            configuration,
            host,
            port,
            ttl,
            timeout,
            max_body_bytes,
            max_contexts,
            url,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `.` and `..` would be resolved away by URL normalisation and reach another resource;
/// everything else is percent-encoded by [`encode_segment`].
fn check_segment(setting: &'static str, value: &str) -> Result<(), ConfigError> {
    if value == "."
        || value == ".."
        || value.eq_ignore_ascii_case("%2e")
        || value.eq_ignore_ascii_case("%2e%2e")
    {
        return Err(ConfigError::InvalidSetting {
            setting,
            reason: format!("`{value}` is a relative path segment, not a name or ID"),
        });
    }
    if value.len() > 2048 || value.chars().any(char::is_control) {
        return Err(ConfigError::InvalidSetting {
            setting,
            reason: "must be at most 2048 bytes with no control characters".into(),
        });
    }
    Ok(())
}

/// Everything but RFC 3986's unreserved characters is percent-encoded, so `/`, `?`, `#` and `%`
/// stay inside the segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(crate) fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConfigBuilder {
        Config::builder()
            .application("app")
            .environment("env")
            .configuration("flags")
    }

    #[test]
    fn defaults() {
        let c = base().build().unwrap();
        assert_eq!(c.ttl(), Config::DEFAULT_TTL);
        assert_eq!(c.timeout(), Config::DEFAULT_TIMEOUT);
        assert_eq!(c.max_body_bytes(), Config::DEFAULT_MAX_BODY_BYTES);
        assert_eq!(
            c.url(),
            "http://127.0.0.1:2772/applications/app/environments/env/configurations/flags"
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        let c = base().application("my app/../x?y#z%2f").build().unwrap();
        assert_eq!(
            c.url(),
            "http://127.0.0.1:2772/applications/my%20app%2F..%2Fx%3Fy%23z%252f/environments/env/configurations/flags"
        );
    }

    #[test]
    fn dot_segments_are_refused() {
        for bad in [".", "..", "%2e", "%2E%2e"] {
            let err = base().environment(bad).build().unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::InvalidSetting {
                        setting: "environment",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn missing_settings_name_the_variable() {
        let err = Config::builder()
            .application("a")
            .environment("e")
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingSetting {
                setting: "configuration",
                env: Config::ENV_CONFIGURATION
            }
        ));
        assert!(err.to_string().contains("APPCONFIG_CONFIGURATION"));
    }

    #[test]
    fn only_loopback_unless_allowed() {
        assert!(matches!(
            base().host("10.0.0.1").build(),
            Err(ConfigError::NotLoopback { .. })
        ));
        assert!(matches!(
            base().host("example.com").build(),
            Err(ConfigError::NotLoopback { .. })
        ));
        assert!(base().host("localhost").build().is_ok());
        assert!(base()
            .host("::1")
            .build()
            .unwrap()
            .url()
            .starts_with("http://[::1]:2772/"));
        assert!(base().host("127.0.0.2").build().is_ok());
        let remote = base()
            .host("agent.internal")
            .allow_remote_endpoint(true)
            .build()
            .unwrap();
        assert!(remote.url().starts_with("http://agent.internal:2772/"));
        assert!(matches!(
            base().host("a@b").allow_remote_endpoint(true).build(),
            Err(ConfigError::InvalidSetting {
                setting: "host",
                ..
            })
        ));
    }

    #[test]
    fn zero_or_huge_timeout_is_refused() {
        assert!(matches!(
            base().timeout(Duration::from_secs(901)).build(),
            Err(ConfigError::InvalidSetting { .. })
        ));
        assert!(base().timeout(Config::MAX_TIMEOUT).build().is_ok());
        assert!(matches!(
            base().timeout(Duration::ZERO).build(),
            Err(ConfigError::InvalidSetting { .. })
        ));
    }
}
