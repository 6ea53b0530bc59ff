//! The stand-in under hostile conditions, over real HTTP on loopback with real files: a flags
//! path that is not a regular file (a FIFO, `/dev/zero`, a directory), files over the 4 MiB
//! cap, huge request bodies, request heads that never end, descriptors running out.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flag_agent::{Agent, Fault, FlagsFile, FlagsFileError, RunningAgent};
use flag_testkit::{answers_again, cpu_ticks};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;

const PATH: &str = "/applications/shop/environments/develop/configurations/flags";
const CAP: u64 = 4 * 1024 * 1024;

fn doc() -> Value {
    json!({"version": "1", "flags": {"a": {}}, "values": {"a": {"enabled": true}}})
}

async fn start(path: &Path) -> RunningAgent {
    Agent::new(path, "shop", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Status, `Configuration-Version` and JSON body, failing after 5 s instead of hanging.
async fn get(addr: SocketAddr, path: &str) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let version = response
        .headers()
        .get("configuration-version")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (
        status,
        version,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The `FlagsFileError` inside a start-up error.
fn refused(err: &std::io::Error) -> Option<&FlagsFileError> {
    err.get_ref()?.downcast_ref()
}

/// A FIFO made with `mkfifo`. Dropping it first opens it for writing (without blocking), which
/// frees any reader stuck opening it, then removes it.
struct Fifo(PathBuf);

impl Fifo {
    fn new(path: PathBuf) -> Self {
        let status = Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(status.success(), "mkfifo {}", path.display());
        Fifo(path)
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt as _;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test]
async fn a_fifo_is_refused_at_start_up_with_a_typed_error() {
    let file = FlagsFile::new(&doc());
    let dir = file.path().parent().unwrap();
    let fifo = Fifo::new(dir.join("fifo.json"));
    let started = timeout(
        Duration::from_secs(5),
        Agent::new(&fifo.0, "shop", "develop", "flags").start("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .expect("start-up must not wait for a writer on the FIFO");
    let err = started.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(
        refused(&err),
        Some(&FlagsFileError::NotARegularFile {
            path: fifo.0.clone(),
            kind: "a FIFO"
        })
    );
    assert!(
        err.to_string()
            .ends_with("is a FIFO, not a regular file; the agent serves regular files only"),
        "{err}"
    );

    let err = Agent::new(dir, "shop", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused(&err),
            Some(FlagsFileError::NotARegularFile {
                kind: "a directory",
                ..
            })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_fifo_in_place_of_the_file_never_blocks_a_request() {
    let file = FlagsFile::new(&doc());
    let agent = start(file.path()).await;
    assert_eq!(get(agent.addr(), PATH).await.0, 200);

    std::fs::remove_file(file.path()).unwrap();
    let _fifo = Fifo::new(file.path().to_owned());
    // Refused like any invalid edit: the last valid content is still served, at once.
    let (status, version, body) = get(agent.addr(), PATH).await;
    assert_eq!((status, version.as_deref()), (200, Some("1")));
    assert_eq!(body, json!({"a": {"enabled": true}}));
    assert_eq!(get(agent.addr(), "/ping").await.0, 200);

    // An agent that never had a valid file answers 500 with the reason, as JSON.
    let later = file.path().with_file_name("later.json");
    let fresh = start(&later).await; // missing at start-up: not an error
    let _later_fifo = Fifo::new(later.clone());
    let (status, _, body) = get(fresh.addr(), PATH).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["ReasonCode"], "InvalidConfiguration");
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains("is a FIFO, not a regular file; the agent serves regular files only"),
        "{message}"
    );
    // Every request is answered, none waits on the FIFO.
    for _ in 0..3 {
        assert_eq!(get(fresh.addr(), PATH).await.0, 500);
    }
}

#[tokio::test]
async fn dev_zero_is_refused_and_never_read() {
    let before = rss();
    let started = Instant::now();
    let err = Agent::new("/dev/zero", "shop", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        refused(&err),
        Some(&FlagsFileError::NotARegularFile {
            path: "/dev/zero".into(),
            kind: "a character device"
        })
    );

    // A symbolic link to /dev/zero put in place of the file later: refused per request.
    let file = FlagsFile::new(&doc());
    let agent = start(file.path()).await;
    std::fs::remove_file(file.path()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", file.path()).unwrap();
    let (status, version, _) = get(agent.addr(), PATH).await;
    assert_eq!((status, version.as_deref()), (200, Some("1")));

    let link = file.path().with_file_name("zero.json");
    let fresh = start(&link).await;
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let (status, _, body) = get(fresh.addr(), PATH).await;
    assert_eq!(status, 500);
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("is a character device, not a regular file"),
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let grown = rss().saturating_sub(before);
    assert!(grown < 64 << 20, "memory grew by {grown} bytes");
}

#[tokio::test]
async fn the_read_is_capped_at_4_mib() {
    // Exactly the cap: still served (whitespace keeps it valid JSON).
    let mut text = doc().to_string().into_bytes();
    text.resize(CAP as usize, b' ');
    let file = FlagsFile::new(&doc());
    file.write_raw(&text);
    let agent = start(file.path()).await;
    let (status, version, _) = get(agent.addr(), PATH).await;
    assert_eq!((status, version.as_deref()), (200, Some("1")));

    // One byte over: refused, the last valid content kept.
    text.push(b' ');
    file.write_raw(&text);
    let (status, version, _) = get(agent.addr(), PATH).await;
    assert_eq!((status, version.as_deref()), (200, Some("1")));

    // A sparse 1 GiB file is refused without being read.
    let big = file.path().with_file_name("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let before = rss();
    let fresh = start(&big).await;
    let started = Instant::now();
    let (status, _, body) = get(fresh.addr(), PATH).await;
    assert_eq!(status, 500);
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("is over 4194304 bytes, AppConfig's maximum configuration size"),
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let grown = rss().saturating_sub(before);
    assert!(grown < 64 << 20, "memory grew by {grown} bytes");
}

/// Sends `head` then up to 1000 MiB of `chunk`s (stopping at the first write error), while
/// another thread reads the answer. Returns the bytes sent and the answer.
fn send_huge_body(addr: SocketAddr, head: &str, chunk: Vec<u8>) -> (u64, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = stream.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let answer = std::thread::spawn(move || {
        let mut answer = Vec::new();
        let mut buf = [0; 4096];
        // Until EOF, a reset or the timeout: whatever came before is the answer.
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    });
    let mut sent = 0u64;
    if stream.write_all(head.as_bytes()).is_ok() {
        while sent < 1000 << 20 {
            match stream.write(&chunk) {
                Ok(n) => sent += n as u64,
                Err(_) => break,
            }
        }
    }
    drop(stream);
    (sent, answer.join().unwrap())
}

#[tokio::test]
async fn a_huge_request_body_is_refused_unread() {
    let file = FlagsFile::new(&doc());
    let agent = start(file.path()).await;
    let addr = agent.addr();
    let before = rss();

    // Announced: 1000 MiB.
    let head = format!(
        "GET {PATH} HTTP/1.1\r\nHost: local\r\nContent-Length: {}\r\n\r\n",
        1000u64 << 20
    );
    let (sent, answer) =
        tokio::task::spawn_blocking(move || send_huge_body(addr, &head, vec![b'x'; 64 << 10]))
            .await
            .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(
        answer.contains("\"ReasonCode\":\"PayloadTooLarge\""),
        "{answer}"
    );
    assert!(sent < 100 << 20, "the agent took {sent} bytes of the body");

    // Streamed in chunks with no length: refused once the cap is passed.
    let mut chunk = format!("{:x}\r\n", 16 << 10).into_bytes();
    chunk.extend(std::iter::repeat_n(b'x', 16 << 10));
    chunk.extend_from_slice(b"\r\n");
    let head = "GET /ping HTTP/1.1\r\nHost: local\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned();
    let (sent, answer) = tokio::task::spawn_blocking(move || send_huge_body(addr, &head, chunk))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(sent < 100 << 20, "the agent took {sent} bytes of the body");

    let grown = rss().saturating_sub(before);
    println!("memory grew by {} KiB for two 1000 MiB bodies", grown >> 10);
    assert!(grown < 64 << 20, "memory grew by {grown} bytes");

    // A small body (none is expected) is still read and ignored.
    let response = reqwest::Client::new()
        .get(format!("http://{addr}{PATH}"))
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn request_heads_that_never_end_are_closed() {
    let file = FlagsFile::new(&doc());
    let agent = Agent::new(file.path(), "shop", "develop", "flags")
        .header_read_timeout(Duration::from_millis(200))
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = agent.addr();

    // 200 clients that send half a request head and wait.
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /ping HTTP/1.1\r\nHost: local\r\n")
            .await
            .unwrap();
        clients.push(stream);
    }
    for stream in &mut clients {
        let mut rest = Vec::new();
        let closed = timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a half-sent head still open after 5 s");
    }
    let all_closed = started.elapsed();
    println!("200 half-sent heads all closed after {all_closed:?}");
    assert!(all_closed < Duration::from_secs(3), "{all_closed:?}");

    // One byte at a time (slowloris): the deadline is for the whole head, not each byte.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    for byte in b"GET /ping HTTP/1.1\r\nHost: local\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if slow.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut one = [0; 1];
        if let Ok(read) = timeout(Duration::from_millis(50), slow.read(&mut one)).await {
            // EOF (or a 408 before it): the agent gave up on the head.
            let _ = read;
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("a trickled head was never closed");
    assert!(closed_after < Duration::from_secs(1), "{closed_after:?}");

    // A kept-alive connection gets the same deadline for its next request head.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /ping HTTP/1.1\r\nHost: local\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let started = Instant::now();
    let mut rest = Vec::new();
    let closed = timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "an idle kept-alive connection still open after 5 s"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Complete requests are unaffected, and a slow answer is not cut by the head deadline.
    assert_eq!(get(addr, "/ping").await.0, 200);
    agent.set_fault(Fault::Delay(Duration::from_millis(600)));
    let started = Instant::now();
    assert_eq!(get(addr, PATH).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn names_from_the_request_are_quoted_bounded() {
    let file = FlagsFile::new(&doc());
    let agent = start(file.path()).await;
    let long = "x".repeat(10_000);
    let (status, _, body) = get(
        agent.addr(),
        &format!("/applications/{long}/environments/develop/configurations/flags"),
    )
    .await;
    assert_eq!(status, 404);
    let message = body["Message"].as_str().unwrap();
    assert_eq!(
        message,
        format!("application `{}...` not found", "x".repeat(64))
    );

    let (status, _, body) = get(
        agent.addr(),
        &format!("{PATH}?flag=evil%0AINFO%20forged%20line"),
    )
    .await;
    assert_eq!(status, 400);
    let message = body["Message"].as_str().unwrap();
    assert!(!message.contains('\n'), "{message:?}");
    assert!(message.contains("evil\\nINFO forged line"), "{message:?}");
}

/// CPU time (user + system) of process `pid` so far, in clock ticks.
/// The `flag-agent` binary with 64 file descriptors at most, flooded with more connections than
/// that: it must back off and log once, not spin or log every failure, and recover.
#[test]
fn accept_failures_back_off_and_log_once_per_streak() {
    let file = FlagsFile::new(&doc());
    let mut child = Command::new("sh")
        .args(["-c", r#"ulimit -n 64 && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_flag-agent"))
        .arg("--flags")
        .arg(file.path())
        .args(["--port", "0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let logs = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let collected = Arc::clone(&logs);
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            collected.lock().unwrap().push(line);
        }
    });

    // Twice as many connections as it has descriptors, held open.
    let flood: Vec<_> = (0..128)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let ticks_before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let ticks = cpu_ticks(child.id()) - ticks_before;
    let failures = |logs: &[String]| logs.iter().filter(|l| l.contains("accept failed")).count();
    let logged = failures(&logs.lock().unwrap());
    println!("2 s out of descriptors: {logged} accept-failure lines, {ticks} CPU ticks");
    assert_eq!(logged, 1, "{:#?}", logs.lock().unwrap());
    assert!(ticks < 20, "{ticks} CPU ticks in 2 s: spinning");

    // Descriptors free again: it accepts again within its longest back-off.
    drop(flood);
    let answered = answers_again(addr, "HTTP/1.1 200", Duration::from_secs(10));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answered, "no answer after the descriptors were freed");
    assert_eq!(failures(&logs.lock().unwrap()), 1);
}
