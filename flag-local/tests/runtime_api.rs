//! The emulator's own edges (the e2e tests drive it with the real `lambda_runtime` client).

use std::time::{Duration, Instant};

use flag_local::{InvokeError, RuntimeApi};
use serde_json::json;

#[tokio::test]
async fn an_invocation_nobody_answers_times_out() {
    let api = RuntimeApi::start("127.0.0.1:0".parse().unwrap(), "checkout")
        .await
        .unwrap();
    let started = Instant::now();
    let result = api.invoke(&json!({}), Duration::from_millis(150)).await;
    assert_eq!(
        result,
        Err(InvokeError::TimedOut(Duration::from_millis(150)))
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        result.unwrap_err().to_string(),
        "Task timed out after 0.15 seconds"
    );
    assert_eq!(api.init_error(), None);
}

/// A raw HTTP/1 exchange on a new connection (`Connection: close`): the whole answer.
async fn exchange(addr: std::net::SocketAddr, request: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_timeout_past_the_end_of_time_is_the_furthest_deadline() {
    let api = RuntimeApi::start("127.0.0.1:0".parse().unwrap(), "checkout")
        .await
        .unwrap();
    let addr = api.addr();
    let function = async move {
        let next = exchange(
            addr,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
                .into(),
        )
        .await;
        let header = |name: &str| {
            next.lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix(&format!("{name}: "))
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| panic!("no {name} in {next:?}"))
        };
        let (id, deadline) = (
            header("lambda-runtime-aws-request-id"),
            header("lambda-runtime-deadline-ms"),
        );
        let body = "{\"ok\":true}";
        exchange(
            addr,
            format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nhost: x\r\n\
                 connection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        deadline
    };
    let event = json!({});
    let (result, deadline) = tokio::join!(api.invoke(&event, Duration::MAX), function);
    assert_eq!(
        result.unwrap().outcome,
        flag_local::Outcome::Response(json!({"ok": true}))
    );
    assert_eq!(deadline, u64::MAX.to_string());
}
