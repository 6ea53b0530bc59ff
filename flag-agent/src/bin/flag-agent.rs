//! `flag-agent`: the local AppConfig agent stand-in, from the command line.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

const USAGE: &str = "\
Serve an AppConfig feature-flags file over the AppConfig agent's HTTP API.

Usage: flag-agent --flags FILE [options]

Options:
  --flags FILE          the feature-flag document to serve (AppConfig's upload format)
  --application NAME    default: $APPCONFIG_APPLICATION, else `local`
  --environment NAME    default: $APPCONFIG_ENVIRONMENT, else `local`
  --configuration NAME  default: $APPCONFIG_CONFIGURATION, else `flags`
  --port PORT           default: $AWS_APPCONFIG_EXTENSION_HTTP_PORT, else 2772 (0: any free port)
  --host ADDR           default: 127.0.0.1
  -h, --help            this text

Edit the file while it runs: the next request serves the new flags under the next
Configuration-Version. Regular files only, at most 4 MiB. Logs go to stderr;
RUST_LOG=debug for more.";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flag-agent: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let mut flags = None;
    let mut application = env("APPCONFIG_APPLICATION", "local");
    let mut environment = env("APPCONFIG_ENVIRONMENT", "local");
    let mut configuration = env("APPCONFIG_CONFIGURATION", "flags");
    let mut port = env("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "2772");
    let mut host = "127.0.0.1".to_owned();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--flags" => flags = Some(value()?),
            "--application" => application = value()?,
            "--environment" => environment = value()?,
            "--configuration" => configuration = value()?,
            "--port" => port = value()?,
            "--host" => host = value()?,
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let flags = flags.ok_or_else(|| format!("--flags FILE is required\n\n{USAGE}"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number"))?;
    let host: IpAddr = host
        .parse()
        .map_err(|_| format!("`{host}` is not an IP address"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let agent = flag_agent::Agent::new(&flags, &application, &environment, &configuration)
            .start(SocketAddr::new(host, port))
            .await
            .map_err(|e| {
                match e.get_ref().and_then(|e| e.downcast_ref::<flag_agent::FlagsFileError>()) {
                    Some(refused) => refused.to_string(),
                    None => format!("cannot listen on {host}:{port}: {e}"),
                }
            })?;
        let addr = agent.addr();
        // One machine-readable line on stdout, for scripts that started it with --port 0.
        println!("listening on {addr}");
        tracing::info!(
            url = %format!("http://{addr}/applications/{application}/environments/{environment}/configurations/{configuration}"),
            file = %flags,
            "flag-agent ready"
        );
        let _ = tokio::signal::ctrl_c().await;
        agent.stop().await;
        Ok(())
    })
}
