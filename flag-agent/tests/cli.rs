//! The `flag-agent` command line (clap): `--help`, errors in clap's form with exit code 2, and the
//! environment fallbacks, checked by starting the real binary and asking it over HTTP.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Output, Stdio};

use flag_agent::FlagsFile;
use serde_json::json;

const ENV_VARS: [&str; 5] = [
    "FLAG_AGENT_FLAGS",
    "APPCONFIG_APPLICATION",
    "APPCONFIG_ENVIRONMENT",
    "APPCONFIG_CONFIGURATION",
    "AWS_APPCONFIG_EXTENSION_HTTP_PORT",
];

/// The binary with none of the fallback variables inherited from the test's environment.
fn agent() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flag-agent"));
    for var in ENV_VARS {
        command.env_remove(var);
    }
    command.stdin(Stdio::null());
    command
}

fn output(command: &mut Command) -> Output {
    command.output().expect("flag-agent runs")
}

fn flags() -> FlagsFile {
    FlagsFile::new(&json!({
        "version": "1",
        "flags": {"newCheckout": {"name": "newCheckout"}},
        "values": {"newCheckout": {"enabled": true}}
    }))
}

/// A started agent and the address it printed.
struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Running {
    fn start(command: &mut Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("flag-agent starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Running { child, addr }
    }

    /// The status code of `GET path`.
    fn status(&self, path: &str) -> u16 {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn help_lists_every_option_with_its_environment_fallback() {
    let out = output(agent().arg("--help"));
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.starts_with("Serve an AppConfig feature-flags file"),
        "{help}"
    );
    assert!(
        help.contains("Usage: flag-agent [OPTIONS] --flags <FILE>"),
        "{help}"
    );
    for (option, env) in [
        ("--flags <FILE>", "[env: FLAG_AGENT_FLAGS=]"),
        ("--application <NAME>", "[env: APPCONFIG_APPLICATION=]"),
        ("--environment <NAME>", "[env: APPCONFIG_ENVIRONMENT=]"),
        ("--configuration <NAME>", "[env: APPCONFIG_CONFIGURATION=]"),
        ("--port <PORT>", "[env: AWS_APPCONFIG_EXTENSION_HTTP_PORT=]"),
    ] {
        assert!(help.contains(option), "no {option} in {help}");
        assert!(help.contains(env), "no {env} in {help}");
    }
    assert!(help.contains("--host <ADDR>"), "{help}");
}

#[test]
fn usage_errors_are_clap_errors_with_exit_code_2() {
    let file = flags();
    let cases: [(Vec<&str>, &str); 4] = [
        (vec![], "the following required arguments were not provided"),
        (vec!["--nope"], "unexpected argument '--nope' found"),
        (
            vec!["--port", "nope"],
            "invalid value 'nope' for '--port <PORT>'",
        ),
        (
            vec!["--host", "localhost"],
            "invalid value 'localhost' for '--host <ADDR>'",
        ),
    ];
    for (args, wanted) in cases {
        let mut command = agent();
        if !args.is_empty() {
            command.arg("--flags").arg(file.path());
        }
        let out = output(command.args(&args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(wanted),
            "{args:?}: no {wanted:?} in {stderr}"
        );
        // clap's closing line: the usage, or where to find it.
        assert!(
            stderr.contains("Usage: flag-agent") || stderr.contains("try '--help'"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn environment_variables_fill_in_what_the_command_line_leaves_out() {
    let file = flags();
    let running = Running::start(
        agent()
            .env("FLAG_AGENT_FLAGS", file.path())
            .env("APPCONFIG_APPLICATION", "shop")
            .env("APPCONFIG_ENVIRONMENT", "develop")
            .env("APPCONFIG_CONFIGURATION", "checkout-flags")
            .env("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "0"),
    );
    assert_eq!(
        running.status("/applications/shop/environments/develop/configurations/checkout-flags"),
        200
    );
    assert_eq!(
        running.status("/applications/local/environments/local/configurations/flags"),
        404
    );
}

#[test]
fn the_command_line_wins_over_the_environment() {
    let file = flags();
    let running = Running::start(
        agent()
            .arg("--flags")
            .arg(file.path())
            .args(["--application", "cli-app", "--port", "0"])
            .env("APPCONFIG_APPLICATION", "env-app")
            .env("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "1"),
    );
    assert_eq!(
        running.status("/applications/cli-app/environments/local/configurations/flags"),
        200
    );
    assert_eq!(
        running.status("/applications/env-app/environments/local/configurations/flags"),
        404
    );
}

#[test]
fn a_refused_flags_file_is_a_runtime_error_not_a_usage_error() {
    let out = output(agent().args(["--flags", "/dev/null", "--port", "0"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("flag-agent: /dev/null is a character device, not a regular file"),
        "{stderr}"
    );
}
