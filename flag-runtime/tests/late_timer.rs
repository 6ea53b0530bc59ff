//! The refresher's timer that ends the clock-free window of sync checks may fire late: a
//! sandbox thawed after a freeze, a refresher starved of CPU. Sync checks have then served the
//! cached answer past the TTL, and the next check may be a whole invocation away: the late timer
//! starts the due refresh itself, and the first async check after the TTL still waits for it,
//! as it would for a refresh it started (after a thaw the timer usually wins that race).

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;

/// Set to stall the refresher's thread once, for [`STALL_FOR`], at its next log line.
static STALL: AtomicBool = AtomicBool::new(false);
const STALL_FOR: Duration = Duration::from_millis(700);

struct StallingWriter;

impl Write for StallingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let on_refresher = std::thread::current().name() == Some("flag-refresher");
        if on_refresher && STALL.swap(false, Ordering::SeqCst) {
            std::thread::sleep(STALL_FOR);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_timer_starts_the_due_refresh_without_a_check() {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(|| StallingWriter)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();

    let file = FlagsFile::new(&doc(true, 1));
    let agent = start_agent(&file).await;
    let ttl = Duration::from_millis(300);
    let flags = source(agent.addr().port(), ttl, Duration::from_secs(1));
    flags.refresh().await.unwrap();
    assert!(flags.is_enabled_now("newCheckout"));
    let loaded = agent.requests();
    // The flip the next refresh brings, held at the agent so that it is still in flight when
    // the async check below runs.
    file.write(&doc(false, 1));
    agent.set_fault(flag_agent::Fault::Delay(Duration::from_millis(400)));

    // Starve the refresher past the TTL: another source's first fault is logged on its thread,
    // and the log line takes `STALL_FOR`. The timer armed by the load above wakes late.
    STALL.store(true, Ordering::SeqCst);
    let dead = source(dead_port(), ttl, Duration::from_secs(1));
    assert!(dead.refresh().await.is_err());
    assert!(
        !STALL.load(Ordering::SeqCst),
        "the refresher logged the fault"
    );

    // No check of `flags` from here on: the late timer alone asks the agent again.
    let started = Instant::now();
    while agent.requests() == loaded && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        agent.requests(),
        loaded + 1,
        "the late timer started the due refresh"
    );
    assert!(
        !flags.is_enabled("newCheckout").await,
        "the first async check after the TTL waits for the refresh the timer started"
    );
    assert_eq!(
        agent.requests(),
        loaded + 1,
        "and joins it: no second request"
    );
}
