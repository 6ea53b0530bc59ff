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
