//! Readers under refresh: two threads check a flag in a loop while a third swaps snapshots as
//! fast as the agent answers (each answer a new configuration version). Reports throughput and
//! the worst single check seen. `cargo bench -p flag-bench --bench readers`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flag_agent::Fault;

const RUN: Duration = Duration::from_secs(3);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches` probing
    }
    // A long TTL: only what the bench itself does refreshes the snapshot.
    let (rt, agent, flags) = flag_bench::warm_setup();
    let stop = AtomicBool::new(false);
    let swaps = AtomicU64::new(0);
    let handle = rt.handle().clone();

    let results: Vec<(u64, Duration, u64, [u64; 32])> = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut version = 1u64;
            while !stop.load(Ordering::Relaxed) {
                version += 1;
                let on = version.is_multiple_of(2);
                agent.set_fault(Fault::Answer {
                    body: format!(
                        r#"{{"newCheckout": {{"enabled": {on}}}, "discountBanner": {{"enabled": true, "percentage": {version}}}}}"#
                    ),
                    version: Some(version.to_string()),
                });
                if handle.block_on(flags.refresh()).is_ok() {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let (mut checks, mut worst, mut on) = (0u64, Duration::ZERO, 0u64);
                    // Power-of-two histogram of single-check times in ns (timer included).
                    let mut histogram = [0u64; 32];
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..1000 {
                            let t = Instant::now();
                            on += u64::from(std::hint::black_box(
                                flags.is_enabled_now("newCheckout"),
                            ));
                            let took = t.elapsed();
                            worst = worst.max(took);
                            let ns = took.as_nanos().max(1) as u64;
                            histogram[(63 - ns.leading_zeros() as usize).min(31)] += 1;
                        }
                        checks += 1000;
                    }
                    (checks, worst, on, histogram)
                })
            })
            .collect();
        std::thread::sleep(RUN);
        stop.store(true, Ordering::Relaxed);
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let total: u64 = results.iter().map(|r| r.0).sum();
    let worst = results.iter().map(|r| r.1).max().unwrap();
    let swaps = swaps.into_inner();
    println!(
        "readers under refresh ({} s, 2 reader threads, 1 swapper, 2 cores):",
        RUN.as_secs()
    );
    println!(
        "  snapshot swaps          {swaps} ({:.0}/s)",
        swaps as f64 / RUN.as_secs_f64()
    );
    println!(
        "  checks                  {total} ({:.1} M/s in all)",
        total as f64 / RUN.as_secs_f64() / 1e6
    );
    println!("  worst single check      {worst:?} (a reader preempted: 4 busy threads on 2 cores)");
    let mut histogram = [0u64; 32];
    for r in &results {
        for (bucket, count) in histogram.iter_mut().zip(r.3) {
            *bucket += count;
        }
    }
    let percentile = |p: f64| {
        let wanted = (total as f64 * p) as u64;
        let mut seen = 0;
        for (i, count) in histogram.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return 1u64 << (i + 1);
            }
        }
        u64::MAX
    };
    println!(
        "  single check (upper bound) p50 < {} ns, p99 < {} ns, p99.9 < {} ns, p99.99 < {} ns",
        percentile(0.5),
        percentile(0.99),
        percentile(0.999),
        percentile(0.9999)
    );
    let on: u64 = results.iter().map(|r| r.2).sum();
    assert!(on > 0 && on < total, "readers saw both states of the flag");
    assert!(swaps > 10, "snapshots were swapped while reading");
}
