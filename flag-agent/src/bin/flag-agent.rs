//! `flag-agent`: the local AppConfig agent stand-in, from the command line.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Serve an AppConfig feature-flags file over the AppConfig agent's HTTP API.
///
/// Edit the files while it runs: the next request serves the new flags and experiments under the
/// next Configuration-Version. Regular files only, at most 4 MiB. Logs go to stderr; RUST_LOG=debug for
/// more. Prints `listening on ADDR` on stdout once it listens (for scripts that pass --port 0).
#[derive(Debug, Parser)]
#[command(name = "flag-agent", version)]
struct Cli {
    /// The feature-flag document to serve (AppConfig's upload format)
    #[arg(long, value_name = "FILE", env = "FLAG_AGENT_FLAGS")]
    flags: PathBuf,

    /// The experiments to run locally (default: experiments.json beside the flags file, when
    /// present)
    #[arg(long, value_name = "FILE", env = "FLAG_AGENT_EXPERIMENTS")]
    experiments: Option<PathBuf>,

    /// The application name the flags are served under
    #[arg(
        long,
        value_name = "NAME",
        env = "APPCONFIG_APPLICATION",
        default_value = "local"
    )]
    application: String,

    /// The environment name the flags are served under
    #[arg(
        long,
        value_name = "NAME",
        env = "APPCONFIG_ENVIRONMENT",
        default_value = "local"
    )]
    environment: String,

    /// The configuration profile name the flags are served under
    #[arg(
        long,
        value_name = "NAME",
        env = "APPCONFIG_CONFIGURATION",
        default_value = "flags"
    )]
    configuration: String,

    /// The port to listen on (0: any free port)
    #[arg(
        long,
        value_name = "PORT",
        env = "AWS_APPCONFIG_EXTENSION_HTTP_PORT",
        default_value_t = 2772
    )]
    port: u16,

    /// The address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    host: IpAddr,
}

fn main() -> ExitCode {
    // Parse first: `--help`, `--version` and usage errors print clap's usual text and exit.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flag-agent: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let Cli {
        flags,
        experiments,
        application,
        environment,
        configuration,
        port,
        host,
    } = cli;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut agent = flag_agent::Agent::new(&flags, &application, &environment, &configuration);
        if let Some(experiments) = experiments {
            agent = agent.experiments_file(experiments);
        }
        let agent = agent
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
            file = %flags.display(),
            "flag-agent ready"
        );
        let _ = tokio::signal::ctrl_c().await;
        agent.stop().await;
        Ok(())
    })
}
