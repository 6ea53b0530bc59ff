//! Checks with an evaluation context, against the local agent serving the example's flags
//! (`discountBanner` is targeted on `tier` and `customerId`).
//! `cargo bench -p flag-bench --bench targeting`
//!
//! * a check for a cached context (goal: under 100 ns), sync and async;
//! * a check for a new context: one agent request (bounded by the timeout), beside the
//!   loopback floor (the same request, bare, on a kept-alive connection);
//! * many concurrent checks of one new context: one request;
//! * memory per cached context (a counting allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use flag_bench::ready;
use flag_runtime::{Config, Context, FlagSource};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn source(port: u16, max_contexts: usize) -> FlagSource {
    FlagSource::new(
        Config::builder()
            .application("bench")
            .environment("bench")
            .configuration("flags")
            .port(port)
            .ttl(Duration::from_secs(3600))
            .max_contexts(max_contexts)
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let agent = rt.block_on(flag_bench::agent());
    let port = agent.addr().port();
    let flags = source(port, 100_000);
    let gold = Context::new()
        .with("tier", "gold")
        .with("customerId", "c-7")
        .with_entity_id("c-7");
    assert!(rt.block_on(flags.with_context(&gold).is_enabled("discountBanner")));
    let requests_before = agent.requests();

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("targeting");
        g.bench_function("cached context, sync check", |b| {
            b.iter(|| {
                flags
                    .with_context(black_box(&gold))
                    .is_enabled_now("discountBanner")
            })
        });
        g.bench_function("cached context, async check", |b| {
            b.iter(|| {
                ready(
                    flags
                        .with_context(black_box(&gold))
                        .is_enabled("discountBanner"),
                )
            })
        });
        g.bench_function("cached context, built per request, async check", |b| {
            b.iter(|| {
                let context = Context::new()
                    .with("tier", black_box("gold"))
                    .with("customerId", black_box("c-7"))
                    .with_entity_id("c-7");
                ready(flags.with_context(&context).is_enabled("discountBanner"))
            })
        });
        g.finish();
    }
    assert_eq!(
        agent.requests(),
        requests_before,
        "cached contexts never ask the agent"
    );
    {
        let mut g = c.benchmark_group("targeting");
        let next = AtomicU64::new(0);
        g.bench_function("new context (one agent request)", |b| {
            b.iter(|| {
                let id = next.fetch_add(1, Ordering::Relaxed);
                let context = Context::new().with("customerId", id);
                rt.block_on(flags.with_context(&context).is_enabled("discountBanner"))
            })
        });
        // The loopback floor: the same request, bare, on a kept-alive connection.
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = flag_bench::agent_url(&agent);
        g.bench_function("the floor: a bare GET with a new context", |b| {
            b.iter(|| {
                let id = next.fetch_add(1, Ordering::Relaxed);
                rt.block_on(async {
                    let request = http.get(&url).header("Context", format!("customerId={id}"));
                    request.send().await.unwrap().bytes().await.unwrap()
                })
            })
        });
        g.finish();
    }

    // Many concurrent checks of one new context: one request.
    let before = agent.requests();
    let shared = Arc::new(flags.clone());
    let started = Instant::now();
    rt.block_on(async {
        let context = Arc::new(Context::new().with("customerId", "concurrent"));
        let tasks: Vec<_> = (0..256)
            .map(|_| {
                let flags = Arc::clone(&shared);
                let context = Arc::clone(&context);
                tokio::spawn(async move {
                    flags
                        .with_context(&context)
                        .is_enabled("discountBanner")
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let concurrent = started.elapsed();
    let concurrent_requests = agent.requests() - before;

    // Memory per cached context: 1,000 new contexts on a fresh source.
    let fresh = source(port, 100_000);
    let baseline = rt.block_on(async {
        fresh.refresh().await.unwrap();
        LIVE_BYTES.load(Ordering::Relaxed)
    });
    rt.block_on(async {
        for id in 0..1000 {
            let context = Context::new().with("tier", "silver").with("customerId", id);
            fresh
                .with_context(&context)
                .is_enabled("discountBanner")
                .await;
        }
    });
    let per_context = (LIVE_BYTES.load(Ordering::Relaxed) - baseline) / 1000;
    assert_eq!(fresh.cached_contexts(), 1000);

    println!("\nsummary (this run):");
    println!("| measure | result |");
    println!(
        "| 256 concurrent checks of one new context | {concurrent_requests} agent request(s), {:.2} ms in all |",
        concurrent.as_secs_f64() * 1e3
    );
    println!("| memory per cached context (example flags, 4 flags) | {per_context} bytes |");
    println!(
        "| connections opened to the agent, all of this run | {} for {} requests (kept alive) |",
        agent.connections(),
        agent.requests()
    );
}
