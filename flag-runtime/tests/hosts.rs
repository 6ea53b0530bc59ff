//! Every kind of host a check may run in: no runtime at all, another executor, tokio runtimes
//! built without a timer, without IO or with neither, current-thread and multi-thread, and one
//! shutting down. In each, checks never panic, async checks wait (bounded) for the first load,
//! and sync checks get fresh flags: refreshes run on the crate's own background thread.
//!
//! Before the refresher, a check in a runtime without a timer panicked ("timers are disabled"),
//! one without IO panicked in tokio's TCP code, and sync code with no runtime never got flags.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::*;

const TTL: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long the agent holds an answer when a test needs a load still in flight.
const HOLD: Duration = Duration::from_millis(500);

/// The stand-in agent, on a runtime of its own that the host under test never sees.
struct Served {
    _rt: tokio::runtime::Runtime,
    file: FlagsFile,
    agent: flag_agent::RunningAgent,
}

fn served() -> Served {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let file = FlagsFile::new(&doc(true, 5));
    let agent = rt.block_on(start_agent(&file));
    Served {
        _rt: rt,
        file,
        agent,
    }
}

/// A minimal executor: no tokio anywhere on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// What every host must give: the first async check waits for the load and answers from it;
/// a flip is seen by sync checks after the TTL; attributes are read; nothing panics.
fn exercise(name: &str, run: impl Fn(&dyn Fn() -> bool, &dyn Fn() -> Option<u32>) -> (bool, bool)) {
    let served = served();
    let flags = source(served.agent.addr().port(), TTL, TIMEOUT);
    let check = || block_on(flags.is_enabled("newCheckout"));
    let limit = || block_on(flags.attribute::<u32>("newCheckout", "limit"));
    let t = Instant::now();
    let (first, now) = run(&check, &limit);
    assert!(first, "{name}: the first async check waits for the load");
    assert!(now, "{name}: the sync check serves the loaded flags");
    assert!(t.elapsed() < TIMEOUT, "{name}: bounded ({:?})", t.elapsed());

    served.file.write(&doc(false, 5));
    std::thread::sleep(TTL);
    wait_until(|| !flags.is_enabled_now("newCheckout"), name);
    assert!(
        flags.status().failure_streak == 0,
        "{name}: {:?}",
        flags.status()
    );
}

#[test]
fn no_runtime_at_all() {
    exercise("no runtime", |check, limit| {
        let first = check();
        assert_eq!(limit(), Some(5));
        (first, true)
    });
    // Sync code alone, never an async check: the background refresher loads the flags. The
    // agent holds its first answer, so the first check cannot race the load it starts.
    let served = served();
    served.agent.set_fault(flag_agent::Fault::Delay(HOLD));
    let flags = source(served.agent.addr().port(), TTL, TIMEOUT);
    let t = Instant::now();
    assert!(
        !flags.is_enabled_now("newCheckout"),
        "not loaded yet, never waits"
    );
    assert!(t.elapsed() < HOLD, "never waits ({:?})", t.elapsed());
    served.agent.clear_fault();
    wait_until(
        || flags.is_enabled_now("newCheckout"),
        "sync-only first load",
    );
}

fn in_runtime(name: &str, rt: tokio::runtime::Runtime) {
    let flags_check = |check: &dyn Fn() -> bool, limit: &dyn Fn() -> Option<u32>| {
        // The checks run inside the host runtime's context: a refresh must not use it.
        let _inside = rt.enter();
        let first = check();
        assert_eq!(limit(), Some(5));
        (first, true)
    };
    exercise(name, flags_check);

    // And from within `block_on`, with the tokio executor itself.
    let served = served();
    let flags = source(served.agent.addr().port(), TTL, TIMEOUT);
    let (first, sync_after) = rt.block_on(async {
        let first = flags.is_enabled("newCheckout").await;
        (first, flags.is_enabled_now("newCheckout"))
    });
    assert!(first && sync_after, "{name}: inside block_on");
    served.file.write(&doc(false, 5));
    std::thread::sleep(TTL);
    rt.block_on(async {
        let start = Instant::now();
        while flags.is_enabled_now("newCheckout") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{name}: no refresh"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

#[test]
fn current_thread_runtime_without_a_timer() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    in_runtime("current-thread, IO only", rt);
}

#[test]
fn current_thread_runtime_without_io() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    in_runtime("current-thread, time only", rt);
}

#[test]
fn runtime_with_neither_io_nor_time() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    in_runtime("current-thread, nothing enabled", rt);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    in_runtime("multi-thread, nothing enabled", rt);
}

#[test]
fn full_runtimes() {
    in_runtime(
        "current-thread, all",
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
    in_runtime("multi-thread, all", tokio::runtime::Runtime::new().unwrap());
}

/// Checks running in tasks of a runtime that shuts down under them, and in the destructors its
/// shutdown runs: no panic, and the flags stay served afterwards.
#[test]
fn a_runtime_shutting_down() {
    let served = served();
    let flags = source(
        served.agent.addr().port(),
        Duration::from_millis(1),
        TIMEOUT,
    );
    struct CheckOnDrop(flag_runtime::FlagSource);
    impl Drop for CheckOnDrop {
        fn drop(&mut self) {
            let _ = self.0.is_enabled_now("newCheckout");
            let _ = block_on(self.0.is_enabled("newCheckout"));
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..8 {
        let flags = flags.clone();
        rt.spawn(async move {
            let _on_drop = CheckOnDrop(flags.clone());
            loop {
                let _ = flags.is_enabled("newCheckout").await;
                let _ = flags.is_enabled_now("newCheckout");
                tokio::task::yield_now().await;
            }
        });
    }
    std::thread::sleep(Duration::from_millis(100));
    rt.shutdown_timeout(Duration::from_millis(100));
    std::thread::sleep(Duration::from_millis(10));
    wait_until(
        || flags.is_enabled_now("newCheckout"),
        "served after the shutdown",
    );
    assert!(block_on(flags.is_enabled("newCheckout")));
}

/// Under valgrind (a host many test suites run in): the clock is read through libc's
/// `clock_gettime`, not a vDSO parsed by hand, which crashed under valgrind (an earlier clock on
/// rustix's raw backend read the auxiliary vector). The test re-runs itself under
/// `valgrind --tool=none` when valgrind is installed.
#[test]
fn checks_run_under_valgrind() {
    if std::env::var_os("FLAG_UNDER_VALGRIND").is_some() {
        let flags = source(dead_port(), TTL, TIMEOUT);
        assert!(!flags.is_enabled_now("newCheckout"));
        assert!(!block_on(flags.is_enabled("newCheckout")));
        return;
    }
    if std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: valgrind is not installed");
        return;
    }
    let out = std::process::Command::new("valgrind")
        .args(["--tool=none", "--error-exitcode=3"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "checks_run_under_valgrind", "--test-threads=1"])
        .env("FLAG_UNDER_VALGRIND", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
