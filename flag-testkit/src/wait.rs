//! Polling with a deadline.

use std::time::Duration;

/// Polls `done` every 5 ms for up to 10 s.
pub fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: never happened"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
