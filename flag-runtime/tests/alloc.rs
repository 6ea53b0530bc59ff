//! A warm gate check allocates nothing, in an invocation scope or not: counted with a counting
//! global allocator.
//! One test in this binary, so nothing else allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

mod common;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts the allocations `f` makes.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// Polls a future that must complete without waiting (a warm async check does).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a warm check must not wait"),
    }
}

#[flag_macros::feature_flag("newCheckout", fallback = old_path, schema = "tests/flags.json")]
fn new_path(x: u64) -> u64 {
    x + 1
}

fn old_path(x: u64) -> u64 {
    x
}

#[test]
fn a_warm_check_allocates_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let file = common::FlagsFile::new(&common::doc(true, 5));
    let agent = rt.block_on(common::start_agent(&file));
    let flags = common::source(
        agent.addr().port(),
        Duration::from_secs(600),
        Duration::from_secs(1),
    );
    rt.block_on(flags.refresh()).unwrap();
    flag_runtime::install_default(flags.clone()).unwrap();

    let _enter = rt.enter();
    // Warm up thread-locals and lazily initialised state outside the count.
    assert!(flags.is_enabled_now("newCheckout"));
    assert!(ready(flags.is_enabled("newCheckout")));
    assert_eq!(new_path(1), 2);

    let n = allocations(|| {
        for _ in 0..10_000 {
            assert!(flags.is_enabled_now("newCheckout"));
            assert!(!flags.is_enabled_now("banner"));
        }
    });
    assert_eq!(n, 0, "sync check: {n} allocations in 20,000 checks");

    let n = allocations(|| {
        for _ in 0..10_000 {
            assert!(ready(flags.is_enabled("newCheckout")));
        }
    });
    assert_eq!(n, 0, "async check: {n} allocations in 10,000 checks");

    let n = allocations(|| {
        for i in 0..10_000 {
            assert_eq!(new_path(i), i + 1);
        }
    });
    assert_eq!(
        n, 0,
        "#[feature_flag] function: {n} allocations in 10,000 calls"
    );

    // Inside an invocation scope with a context of its own: the pinned answer, the same cost.
    let context = flag_runtime::Context::new().with("tier", "gold");
    let scope = rt.block_on(flag_runtime::scope(context, async {
        flag_runtime::Scope::current().expect("in the scope")
    }));
    let n = scope.run_sync(|| {
        assert!(flags.is_enabled_now("newCheckout"));
        assert_eq!(new_path(1), 2);
        allocations(|| {
            for i in 0..10_000 {
                assert!(flags.is_enabled_now("newCheckout"));
                assert!(ready(flags.is_enabled("newCheckout")));
                assert_eq!(new_path(i), i + 1);
            }
        })
    });
    assert_eq!(n, 0, "in a scope: {n} allocations in 30,000 checks");

    // The counter does count.
    let n = allocations(|| {
        let _ = std::hint::black_box(vec![1u8; 16]);
    });
    assert!(n > 0, "the counting allocator must see allocations");
    drop(agent);
}
