//! Configuration from the environment. One test in this binary: the environment is global.

use std::time::Duration;

use flag_runtime::{Config, Error, FlagSource};

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
    assert_eq!(
        Config::from_env().unwrap_err(),
        Error::MissingSetting {
            setting: "application",
            env: "APPCONFIG_APPLICATION"
        }
    );
    // An unconfigured default source never panics: every flag is off, the reason is kept.
    let unconfigured = FlagSource::from_env();
    assert!(!unconfigured.is_enabled_now("anything"));
    assert!(matches!(
        unconfigured.status().last_error,
        Some(Error::MissingSetting { .. })
    ));

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

    // The builder wins over the environment.
    let config = Config::builder()
        .port(3000)
        .application("other")
        .build()
        .unwrap();
    assert!(config
        .url()
        .starts_with("http://127.0.0.1:3000/applications/other/"));

    std::env::set_var("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "http");
    assert!(matches!(
        Config::from_env(),
        Err(Error::InvalidSetting {
            setting: "AWS_APPCONFIG_EXTENSION_HTTP_PORT",
            ..
        })
    ));
    std::env::set_var("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "2772");
    std::env::set_var("FLAGS_TTL_MS", "5s");
    assert!(matches!(
        Config::from_env(),
        Err(Error::InvalidSetting {
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
