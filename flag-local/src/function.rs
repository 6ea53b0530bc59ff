//! A function binary run locally against the Runtime API emulator and the local agent.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flag_agent::{Agent, RunningAgent};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{oneshot, watch};

use crate::runtime_api::{Invocation, InvokeError, RuntimeApi};

/// The application name the local agent serves the flags under (and the function is configured
/// with), unless [`LocalFunctionBuilder::application`] says otherwise.
const APPLICATION: &str = "local";
/// The function's name (`AWS_LAMBDA_FUNCTION_NAME`, the invoked ARN), unless
/// [`LocalFunctionBuilder::function_name`] says otherwise.
const FUNCTION_NAME: &str = "function";
/// The environment's name: `local-<pid>-<n>`, unique per [`LocalFunction`], so a function can
/// never be answered by another one's agent (two test functions whose agents restart on
/// released ports could otherwise talk to each other's agent: same names, other flags).
fn environment() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("local-{}-{n}", std::process::id())
}
const PROFILE: &str = "flags";
/// The most of the function's output kept (the latest), for [`LocalFunction::logs`].
pub const MAX_LOG_BYTES: usize = 64 * 1024;

/// Settings for [`LocalFunction`].
#[derive(Debug, Clone)]
#[must_use]
pub struct LocalFunctionBuilder {
    binary: PathBuf,
    files: Served,
    function_name: String,
    application: String,
    ttl: Duration,
    timeout: Option<Duration>,
    agent: bool,
    echo_logs: bool,
    env: Vec<(String, String)>,
}

/// A function process, its Runtime API and its AppConfig agent. Dropping it ends all three.
#[derive(Debug)]
pub struct LocalFunction {
    api: RuntimeApi,
    application: String,
    environment: String,
    agent: Option<RunningAgent>,
    agent_addr: SocketAddr,
    files: Served,
    pid: Option<u32>,
    /// Tells the task that owns the child to kill it (dropping it does too).
    kill: Option<oneshot::Sender<()>>,
    /// The child's exit status, once it has exited.
    exit: watch::Receiver<Option<ExitStatus>>,
    logs: Arc<Mutex<String>>,
}

impl LocalFunctionBuilder {
    /// The function's name: `AWS_LAMBDA_FUNCTION_NAME`, the log group and the invoked function
    /// ARN (default `function`).
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    /// The AppConfig application the agent serves the flags under and the function is given as
    /// `APPCONFIG_APPLICATION` (default `local`). The environment is `local-<pid>-<n>`, unique per
    /// function; the profile is `flags`.
    pub fn application(mut self, name: impl Into<String>) -> Self {
        self.application = name.into();
        self
    }

    /// The experiments the agent runs (see `flag_agent`'s crate docs), instead of
    /// `experiments.json` beside the flags file (run when it exists).
    pub fn experiments_file(mut self, experiments_file: impl Into<PathBuf>) -> Self {
        self.files.experiments = Some(experiments_file.into());
        self
    }

    /// The runtime's snapshot TTL (`FLAGS_TTL_MS`) given to the function.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The runtime's agent request timeout (`FLAGS_TIMEOUT_MS`); the runtime's default if unset.
    pub fn agent_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Start without an agent (its port stays reserved for [`LocalFunction::start_agent`]).
    pub fn without_agent(mut self) -> Self {
        self.agent = false;
        self
    }

    /// Also print the function's output on our stderr (it is always captured).
    pub fn echo_logs(mut self, echo: bool) -> Self {
        self.echo_logs = echo;
        self
    }

    /// An extra environment variable for the function.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts the agent (unless disabled), the Runtime API and the function process.
    pub async fn start(self) -> std::io::Result<LocalFunction> {
        let api = RuntimeApi::start("127.0.0.1:0".parse().unwrap(), &self.function_name).await?;
        // Reserve a port for the agent, so it can be stopped and started again at the same
        // address, as the function was told.
        let agent_addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
            probe.local_addr()?
        };
        let environment = environment();
        let agent = if self.agent {
            Some(start_agent(&self.files, &self.application, &environment, agent_addr).await?)
        } else {
            None
        };
        let mut command = Command::new(&self.binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.addr().to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.function_name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "local")
            .env(flag_runtime::Config::ENV_APPLICATION, &self.application)
            .env(flag_runtime::Config::ENV_ENVIRONMENT, &environment)
            .env(flag_runtime::Config::ENV_CONFIGURATION, PROFILE)
            .env(
                flag_runtime::Config::ENV_PORT,
                agent_addr.port().to_string(),
            )
            .env(
                flag_runtime::Config::ENV_TTL_MS,
                self.ttl.as_millis().to_string(),
            )
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(timeout) = self.timeout {
            command.env("FLAGS_TIMEOUT_MS", timeout.as_millis().to_string());
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut child = command.spawn().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", self.binary.display()),
            )
        })?;
        let logs = Arc::new(Mutex::new(String::new()));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(collect(out, Arc::clone(&logs), self.echo_logs));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(collect(err, Arc::clone(&logs), self.echo_logs));
        }
        let pid = child.id();
        let (kill, killed) = oneshot::channel::<()>();
        let (exited, exit) = watch::channel(None);
        // The child is owned here, so that its exit is noticed while nobody waits for it: every
        // invocation races it.
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            if let Ok(status) = status {
                let _ = exited.send(Some(status));
            }
        });
        Ok(LocalFunction {
            api,
            application: self.application,
            environment,
            agent,
            agent_addr,
            files: self.files,
            pid,
            kill: Some(kill),
            exit,
            logs,
        })
    }
}

impl LocalFunction {
    /// Runs `binary` as a Lambda function whose flags come from `flags_file`.
    pub fn builder(
        binary: impl Into<PathBuf>,
        flags_file: impl Into<PathBuf>,
    ) -> LocalFunctionBuilder {
        LocalFunctionBuilder {
            binary: binary.into(),
            files: Served {
                flags: flags_file.into(),
                experiments: None,
            },
            function_name: FUNCTION_NAME.to_owned(),
            application: APPLICATION.to_owned(),
            ttl: Duration::from_secs(1),
            timeout: None,
            agent: true,
            echo_logs: false,
            env: Vec::new(),
        }
    }

    /// Invokes the function with `payload`; `timeout` plays the function timeout. If the
    /// process exits first (or has exited), [`InvokeError::Exited`] says how, at once.
    pub async fn invoke(
        &self,
        payload: &Value,
        timeout: Duration,
    ) -> Result<Invocation, InvokeError> {
        tokio::select! {
            biased;
            answer = self.api.invoke(payload, timeout) => answer,
            status = self.exited() => Err(InvokeError::Exited(status)),
        }
    }

    /// Waits until the function process exits, and returns how it did.
    pub async fn exited(&self) -> ExitStatus {
        let mut exit = self.exit.clone();
        let status = exit.wait_for(Option::is_some).await.map(|status| *status);
        match status {
            Ok(Some(status)) => status,
            // The task that owns the child ended without a status (`wait` failed): it will
            // never report one.
            _ => std::future::pending().await,
        }
    }

    /// The function's exit status, if it has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// What the function reported to `POST /runtime/init/error`, if anything.
    pub fn init_error(&self) -> Option<String> {
        self.api.init_error()
    }

    /// The address of the agent (the port the function was given), whether it runs or not.
    pub fn agent_addr(&self) -> SocketAddr {
        self.agent_addr
    }

    /// The running agent, if any (to inject faults or count requests).
    pub fn agent(&self) -> Option<&RunningAgent> {
        self.agent.as_ref()
    }

    /// Stops the agent, as if the extension died.
    pub async fn stop_agent(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.stop().await;
        }
    }

    /// Starts the agent again on the port the function knows.
    pub async fn start_agent(&mut self) -> std::io::Result<()> {
        if self.agent.is_none() {
            self.agent = Some(
                start_agent(
                    &self.files,
                    &self.application,
                    &self.environment,
                    self.agent_addr,
                )
                .await?,
            );
        }
        Ok(())
    }

    /// What the function printed so far (stdout and stderr, lines that are not UTF-8 made so
    /// lossily): the latest [`MAX_LOG_BYTES`] at most, from the start of a line.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// The function's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Kills the function and waits for it.
    pub async fn stop(mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        let mut exit = self.exit.clone();
        let _ = exit.wait_for(Option::is_some).await;
        self.stop_agent().await;
    }
}

/// What the agent serves: the flags file, and the experiments file when one is given (else
/// `experiments.json` beside the flags file, when it exists).
#[derive(Debug, Clone)]
struct Served {
    flags: PathBuf,
    experiments: Option<PathBuf>,
}

async fn start_agent(
    files: &Served,
    application: &str,
    environment: &str,
    addr: SocketAddr,
) -> std::io::Result<RunningAgent> {
    // The port was just released by whoever held it; retry briefly if it lingers.
    let mut last = None;
    for _ in 0..50 {
        let mut agent = Agent::new(&files.flags, application, environment, PROFILE);
        if let Some(experiments) = &files.experiments {
            agent = agent.experiments_file(experiments);
        }
        match agent.start(addr).await {
            Ok(agent) => return Ok(agent),
            // The flags file is not one the agent serves (a FIFO, a device...): no retry helps.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return Err(e),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("agent did not start")))
}

/// Reads the function's output line by line until it ends (bytes that are not UTF-8 are
/// replaced, never a reason to stop: an unread pipe would block the function), keeping the tail.
/// A line longer than [`MAX_LOG_BYTES`] is taken in pieces of that size, so that output without
/// line breaks is shown as it comes and never held whole in memory.
async fn collect(stream: impl AsyncRead + Unpin, logs: Arc<Mutex<String>>, echo: bool) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    // Whether pieces of the current line were shown already.
    let mut continued = false;
    let emit = |bytes: &[u8]| {
        let line = String::from_utf8_lossy(bytes);
        if echo {
            eprintln!("  | {line}");
        }
        keep_tail(&mut logs.lock().unwrap(), &line, MAX_LOG_BYTES);
    };
    loop {
        let (ended, used) = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(available) => match available.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    buf.extend_from_slice(&available[..at]);
                    (true, at + 1)
                }
                None => {
                    let take = available.len().min(MAX_LOG_BYTES - buf.len());
                    buf.extend_from_slice(&available[..take]);
                    (false, take)
                }
            },
        };
        reader.consume(used);
        if ended {
            let line = buf.strip_suffix(b"\r").unwrap_or(&buf);
            // A line that ended right after a piece has nothing more to show.
            if !(continued && line.is_empty()) {
                emit(line);
            }
            buf.clear();
            continued = false;
        } else if buf.len() >= MAX_LOG_BYTES {
            // A piece of a long line, cut before a character split at its end, if any.
            let cut = match std::str::from_utf8(&buf) {
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                _ => buf.len(),
            };
            // A `\r` at its end may be the first half of a line break: kept for the next piece.
            let cut = if buf[..cut].ends_with(b"\r") {
                cut - 1
            } else {
                cut
            };
            emit(&buf[..cut]);
            buf.drain(..cut);
            continued = true;
        }
    }
    if !buf.is_empty() {
        emit(&buf);
    }
}

/// Appends `line` to `logs` and drops its oldest lines beyond `max` bytes (a line longer than
/// that on its own keeps its end).
fn keep_tail(logs: &mut String, line: &str, max: usize) {
    logs.push_str(line);
    logs.push('\n');
    if logs.len() <= max {
        return;
    }
    let mut cut = logs.len() - max;
    while !logs.is_char_boundary(cut) {
        cut += 1;
    }
    // From the start of a line, unless the last line alone is over the limit.
    if let Some(newline) = logs[cut..].find('\n') {
        if cut + newline + 1 < logs.len() {
            cut += newline + 1;
        }
    }
    logs.drain(..cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_that_is_not_utf8_is_kept_lossily_and_reading_goes_on() {
        let logs = Arc::new(Mutex::new(String::new()));
        let output: &[u8] = b"starting\n\xff\xfe binary \xc3\r\nstill logging\nlast, unterminated";
        collect(output, Arc::clone(&logs), false).await;
        assert_eq!(
            *logs.lock().unwrap(),
            "starting\n\u{fffd}\u{fffd} binary \u{fffd}\nstill logging\nlast, unterminated\n"
        );
    }

    /// Output without line breaks is taken in pieces as it comes: before, the reader waited for
    /// a line break that never came, holding everything in memory and showing nothing.
    #[tokio::test]
    async fn a_line_without_end_is_taken_in_pieces() {
        use tokio::io::AsyncWriteExt as _;
        let logs = Arc::new(Mutex::new(String::new()));
        let (mut child, output) = tokio::io::duplex(4096);
        let reader = tokio::spawn(collect(output, Arc::clone(&logs), false));
        // 'é' is two bytes: pieces of 64 KiB would split one, were they not cut before it.
        let chunk = format!("x{}", "é".repeat(2047));
        for _ in 0..100 {
            child.write_all(chunk.as_bytes()).await.unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while logs.lock().unwrap().len() < MAX_LOG_BYTES / 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "nothing shown while the line goes on"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.write_all(b" end\n").await.unwrap();
        drop(child);
        reader.await.unwrap();
        let logs = logs.lock().unwrap();
        assert!(logs.len() <= MAX_LOG_BYTES, "{} bytes kept", logs.len());
        assert!(!logs.contains('\u{fffd}'), "no character split");
        assert!(logs.ends_with("é end\n"));
    }

    /// A line break right after a piece (`\n`, or `\r\n` split across the cut) ends the line
    /// shown in pieces: no blank line after it, no `\r` lost from the middle of a line.
    #[tokio::test]
    async fn a_line_break_after_a_piece_adds_no_blank_line() {
        use tokio::io::AsyncWriteExt as _;
        for (first, rest) in [
            ("x".repeat(MAX_LOG_BYTES), "\r\nnext\n"),
            (format!("{}\r", "x".repeat(MAX_LOG_BYTES - 1)), "\nnext\n"),
        ] {
            let logs = Arc::new(Mutex::new(String::new()));
            let (mut child, output) = tokio::io::duplex(4096);
            let reader = tokio::spawn(collect(output, Arc::clone(&logs), false));
            child.write_all(first.as_bytes()).await.unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while logs.lock().unwrap().is_empty() {
                assert!(std::time::Instant::now() < deadline, "the piece is shown");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(!logs.lock().unwrap().contains('\r'));
            child.write_all(rest.as_bytes()).await.unwrap();
            drop(child);
            reader.await.unwrap();
            assert_eq!(*logs.lock().unwrap(), "next\n", "no blank line in between");
        }
    }

    #[tokio::test]
    async fn only_the_latest_output_is_kept() {
        let logs = Arc::new(Mutex::new(String::new()));
        let output: String = (0..20_000).map(|n| format!("line {n:05} é\n")).collect();
        assert!(output.len() > 4 * MAX_LOG_BYTES);
        collect(output.as_bytes(), Arc::clone(&logs), false).await;
        let logs = logs.lock().unwrap();
        assert!(logs.len() <= MAX_LOG_BYTES, "{} bytes kept", logs.len());
        assert!(logs.len() > MAX_LOG_BYTES - 20, "{} bytes kept", logs.len());
        assert!(logs.starts_with("line "), "from the start of a line");
        assert!(logs.ends_with("line 19999 é\n"));

        let mut long = String::new();
        keep_tail(&mut long, &"é".repeat(100), 51);
        assert_eq!(
            long,
            format!("{}\n", "é".repeat(25)),
            "a char boundary, the end kept"
        );
    }
}
