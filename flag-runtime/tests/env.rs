//! Configuration from the environment. One test in this binary: the environment is global.

use std::time::Duration;

use flag_runtime::{Config, ConfigError, FetchError, FlagSource};

mod common;

#[test]
fn environment_configures_the_client() {
    for var in [
        "APPCONFIG_APPLICATION",
        "APPCONFIG_ENVIRONMENT",
        "APPCONFIG_CONFIGURATION",
        "AWS_APPCONFIG_EXTENSION_HTTP_PORT",
        "FLAGS_TTL_MS",
        "FLAGS_TIMEOUT_MS",
    ] {
        std::env::remove_var(var);
    }
    the_unconfigured_default_logs_without_reentering_its_setup();
    assert!(matches!(
        Config::from_env().unwrap_err(),
        ConfigError::MissingSetting {
            setting: "application",
            env: "APPCONFIG_APPLICATION"
        }
    ));
    // An unconfigured default source never panics: every flag is off (or its default), the
    // reason is kept, logged once (it used to be logged twice: "not configured", then
    // "refresh failed"), and the agent is never asked.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (logs, guard) = common::Logs::capture();
    let unconfigured = FlagSource::from_env();
    assert!(!unconfigured.is_enabled_now("anything"));
    assert!(
        unconfigured.flag_now("killSwitch").is_none(),
        "nothing known"
    );
    rt.block_on(async {
        assert!(!unconfigured.is_enabled("anything").await);
        assert!(matches!(
            unconfigured.refresh().await,
            Err(FetchError::Unconfigured(ConfigError::MissingSetting { .. }))
        ));
    });
    std::thread::sleep(Duration::from_millis(50));
    assert!(!unconfigured.is_enabled_now("anything"));
    drop(guard);
    assert!(matches!(
        unconfigured.status().last_error,
        Some(FetchError::Unconfigured(ConfigError::MissingSetting { .. }))
    ));
    assert!(unconfigured.status().last_refresh.is_none(), "never asked");
    assert_eq!(logs.count("WARN", ""), 1, "{}", logs.text());
    assert_eq!(logs.count("", "not configured"), 1, "{}", logs.text());
    // The line and the error say what to set: every variable the environment needs.
    let error = unconfigured.status().last_error.unwrap().to_string();
    for var in [
        "APPCONFIG_APPLICATION",
        "APPCONFIG_ENVIRONMENT",
        "APPCONFIG_CONFIGURATION",
    ] {
        assert!(error.contains(var), "{error}");
        assert_eq!(logs.count("WARN", var), 1, "{}", logs.text());
    }

    std::env::set_var("APPCONFIG_APPLICATION", "shop app");
    std::env::set_var("APPCONFIG_ENVIRONMENT", "develop");
    std::env::set_var("APPCONFIG_CONFIGURATION", "flags");
    std::env::set_var("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "2999");
    std::env::set_var("FLAGS_TTL_MS", "1500");
    std::env::set_var("FLAGS_TIMEOUT_MS", "250");
    let config = Config::from_env().unwrap();
    assert_eq!(
        config.url(),
        "http://127.0.0.1:2999/applications/shop%20app/environments/develop/configurations/flags"
    );
    assert_eq!(config.ttl(), Duration::from_millis(1500));
    assert_eq!(config.timeout(), Duration::from_millis(250));

    // The builder reads no environment unless told to.
    assert!(matches!(
        Config::builder().build(),
        Err(ConfigError::MissingSetting {
            setting: "application",
            ..
        })
    ));
    // With the environment, what the builder is given wins.
    let config = Config::builder()
        .port(3000)
        .application("other")
        .with_env()
        .build()
        .unwrap();
    assert_eq!(config.ttl(), Duration::from_millis(1500));
    assert!(config
        .url()
        .starts_with("http://127.0.0.1:3000/applications/other/"));

    std::env::set_var("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "http");
    assert!(matches!(
        Config::from_env(),
        Err(ConfigError::InvalidSetting {
            setting: "AWS_APPCONFIG_EXTENSION_HTTP_PORT",
            ..
        })
    ));
    std::env::set_var("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "2772");
    std::env::set_var("FLAGS_TTL_MS", "5s");
    assert!(matches!(
        Config::from_env(),
        Err(ConfigError::InvalidSetting {
            setting: "FLAGS_TTL_MS",
            ..
        })
    ));

    // A proxy set for outbound traffic must not capture the agent on loopback.
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::set_var(var, format!("http://127.0.0.1:{}", common::dead_port()));
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let file = common::FlagsFile::new(&common::doc(true, 5));
        let agent = common::start_agent(&file).await;
        let flags = common::source(
            agent.addr().port(),
            Duration::from_secs(60),
            Duration::from_secs(1),
        );
        assert!(
            flags.refresh().await.is_ok(),
            "the client ignores HTTP(S)_PROXY for the agent"
        );
        assert!(flags.is_enabled("newCheckout").await);
    });
}

/// A subscriber that checks a flag while it handles an event (a layer deciding by flag what to
/// record) met the unconfigured default source's warning while that source was being set up: the
/// check re-entered the set-up, a deadlock. The warning now comes once the default is set.
fn the_unconfigured_default_logs_without_reentering_its_setup() {
    use tracing_subscriber::layer::SubscriberExt as _;

    struct ChecksAFlag(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ChecksAFlag {
        fn on_event(
            &self,
            _event: &tracing::Event<'_>,
            _ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let _ = flag_runtime::default_source().is_enabled_now("verboseLogs");
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    let events = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&events);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let subscriber = tracing_subscriber::registry().with(ChecksAFlag(seen));
        tracing::subscriber::with_default(subscriber, || {
            let _ = flag_runtime::default_source().is_enabled_now("anything");
        });
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("default_source() deadlocked: its warning re-entered its set-up");
    assert!(
        events.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the warning was logged"
    );
}
