//! The Runtime API emulator under hostile clients, over real HTTP on loopback: request heads
//! that never end, a huge answer, file descriptors running out. It serves with the local
//! agent's accept loop (`flag_agent::server`), so these check that loop is the one in use.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flag_local::{Outcome, RuntimeApi, MAX_PAYLOAD_BYTES};
use flag_testkit::{answers_again, cpu_ticks};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// Sends `request` on a new connection and reads until `done` holds for what came back (or
/// EOF), failing after 10 s.
async fn exchange(addr: SocketAddr, request: String, done: impl Fn(&str) -> bool) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if done(&String::from_utf8_lossy(&answer)) {
                break;
            }
        }
    };
    timeout(Duration::from_secs(10), read)
        .await
        .expect("no answer within 10 s");
    String::from_utf8_lossy(&answer).into_owned()
}

/// The `Lambda-Runtime-Aws-Request-Id` of a `/next` answer.
fn request_id(answer: &str) -> String {
    answer
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("lambda-runtime-aws-request-id: ")
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no request id in {answer:?}"))
}

#[tokio::test]
async fn request_heads_that_never_end_are_closed_but_next_long_polls() {
    let api = RuntimeApi::start_with_header_read_timeout(
        "127.0.0.1:0".parse().unwrap(),
        "checkout",
        Duration::from_millis(200),
    )
    .await
    .unwrap();
    let addr = api.addr();

    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("GET {NEXT} HTTP/1.1\r\nHost: local\r\n").as_bytes())
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
    println!("100 half-sent heads all closed after {all_closed:?}");
    assert!(all_closed < Duration::from_secs(3), "{all_closed:?}");

    // A complete `/next` long-polls well past the head deadline, then gets its event.
    let poll = tokio::spawn(exchange(
        addr,
        format!("GET {NEXT} HTTP/1.1\r\nHost: local\r\n\r\n"),
        |a| a.contains("\"order\":42"),
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let event = json!({"order": 42});
    let invoke = api.invoke(&event, Duration::from_secs(10));
    let answer_it = async {
        let event = poll.await.unwrap();
        assert!(event.starts_with("HTTP/1.1 200"), "{event:?}");
        let id = request_id(&event);
        let post = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: local\r\nContent-Length: 11\r\n\r\n{{\"ok\":true}}"
        );
        let ack = exchange(addr, post, |a| a.contains("\r\n\r\n")).await;
        assert!(ack.starts_with("HTTP/1.1 202"), "{ack:?}");
    };
    let (invocation, ()) = tokio::join!(invoke, answer_it);
    assert_eq!(
        invocation.unwrap().outcome,
        Outcome::Response(json!({"ok": true}))
    );
}

#[tokio::test]
async fn a_huge_answer_is_refused_unread_and_fails_the_invocation() {
    let api = RuntimeApi::start("127.0.0.1:0".parse().unwrap(), "checkout")
        .await
        .unwrap();
    let addr = api.addr();
    let event = json!({});
    let invoke = api.invoke(&event, Duration::from_secs(20));
    let respond = async {
        let event = exchange(
            addr,
            format!("GET {NEXT} HTTP/1.1\r\nHost: local\r\n\r\n"),
            |a| a.contains("\r\n\r\n{}"),
        )
        .await;
        let id = request_id(&event);
        // 1000 MiB announced, streamed until the emulator closes.
        let head = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: local\r\nContent-Length: {}\r\n\r\n",
            1000u64 << 20
        );
        tokio::task::spawn_blocking(move || {
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
                while let Ok(n @ 1..) = reader.read(&mut buf) {
                    answer.extend_from_slice(&buf[..n]);
                }
                String::from_utf8_lossy(&answer).into_owned()
            });
            let chunk = vec![b'x'; 64 << 10];
            let mut sent = 0u64;
            stream.write_all(head.as_bytes()).unwrap();
            while sent < 1000 << 20 {
                match stream.write(&chunk) {
                    Ok(n) => sent += n as u64,
                    Err(_) => break,
                }
            }
            drop(stream);
            (sent, answer.join().unwrap())
        })
        .await
        .unwrap()
    };
    let (invocation, (sent, answer)) = tokio::join!(invoke, respond);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(sent < 100 << 20, "the emulator took {sent} bytes");
    match invocation.unwrap().outcome {
        Outcome::Error {
            error_type,
            message,
        } => {
            assert_eq!(error_type, "Function.ResponseSizeTooLarge");
            assert!(
                message.contains(&MAX_PAYLOAD_BYTES.to_string()),
                "{message}"
            );
        }
        other => panic!("expected an error outcome, got {other:?}"),
    }
}

/// Set in the child process of `accept_failures_do_not_spin`.
const CHILD: &str = "FLAG_LOCAL_HOSTILE_CHILD";

/// Not a test of its own: the server that `accept_failures_do_not_spin` runs in a child process
/// with few file descriptors (this test binary, run again with only this test).
#[tokio::test]
async fn child_runtime_api() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let api = RuntimeApi::start("127.0.0.1:0".parse().unwrap(), "checkout")
        .await
        .unwrap();
    println!("listening on {}", api.addr());
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// CPU time (user + system) of process `pid` so far, in clock ticks.
/// The emulator with 64 file descriptors at most, flooded with more connections than that: it
/// must back off instead of retrying `accept` in a busy loop, and recover when they free up.
#[test]
fn accept_failures_do_not_spin() {
    let mut child = Command::new("sh")
        .args(["-c", r#"ulimit -n 64 && exec "$0" "$@""#])
        .arg(std::env::current_exe().unwrap())
        .args([
            "child_runtime_api",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "the child exited");
        // The harness may have printed `test child_runtime_api ... ` on the same line.
        if let Some((_, addr)) = line.trim().split_once("listening on ") {
            break addr.parse().unwrap();
        }
    };

    let flood: Vec<_> = (0..128)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let ticks_before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let ticks = cpu_ticks(child.id()) - ticks_before;
    println!("2 s out of descriptors: {ticks} CPU ticks");

    drop(flood);
    let answered = answers_again(addr, "HTTP/1.1 404", Duration::from_secs(10));
    child.kill().unwrap();
    child.wait().unwrap();
    // Backing off: about 0. The old busy loop: 62 on a loaded machine, 200 on an idle one.
    assert!(ticks < 20, "{ticks} CPU ticks in 2 s: spinning on accept");
    assert!(answered, "no answer after the descriptors were freed");
}
