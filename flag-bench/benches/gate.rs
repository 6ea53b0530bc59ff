//! The gate check, warm: sync, async, and through `#[feature_flag]` against a plain call; and the
//! alternatives: one HTTP GET to the agent per check (the seed's approach), and OpenFeature's
//! evaluation through an in-memory provider. Criterion measures each; a summary measured in the
//! same run prints the ratios. `cargo bench -p flag-bench --bench gate`

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use flag_bench::{median, per_call, ready, InMemory};
use flag_macros::feature_flag;
use open_feature::OpenFeature;

#[feature_flag("newCheckout", fallback = plain_sync, schema = "../example-lambda/flags.json")]
fn gated_sync(x: u64) -> u64 {
    x.wrapping_mul(31) ^ 7
}

fn plain_sync(x: u64) -> u64 {
    x.wrapping_mul(31) ^ 7
}

#[feature_flag("newCheckout", fallback = plain_async, schema = "../example-lambda/flags.json")]
async fn gated_async(x: u64) -> u64 {
    x.wrapping_mul(31) ^ 7
}

async fn plain_async(x: u64) -> u64 {
    x.wrapping_mul(31) ^ 7
}

/// The seed's approach: ask the agent on every check (connection reused), parse, look up.
async fn http_check(client: &reqwest::Client, url: &str) -> bool {
    let body = client.get(url).send().await.unwrap().bytes().await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    doc["newCheckout"]["enabled"].as_bool().unwrap_or(false)
}

fn main() {
    let listing = std::env::args().any(|a| a == "--list");
    // A long TTL: only what the bench itself does refreshes the snapshot.
    let (rt, agent, flags) = flag_bench::warm_setup();
    flag_runtime::install_default(flags.clone()).unwrap();
    let url = flag_bench::agent_url(&agent);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let of_client = rt.block_on(async {
        let mut api = OpenFeature::singleton_mut().await;
        api.set_provider(InMemory::new(&[("newCheckout", true)], &[]))
            .await;
        api.create_client()
    });
    let _enter = rt.enter();
    assert!(flags.is_enabled_now("newCheckout") && ready(flags.is_enabled("newCheckout")));
    assert!(rt.block_on(http_check(&http, &url)));
    assert!(rt
        .block_on(of_client.get_bool_value("newCheckout", None, None))
        .unwrap());

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("gate");
        g.bench_function("sync check (is_enabled_now)", |b| {
            b.iter(|| flags.is_enabled_now(black_box("newCheckout")))
        });
        g.bench_function("async check (is_enabled)", |b| {
            b.iter(|| ready(flags.is_enabled(black_box("newCheckout"))))
        });
        g.bench_function("plain sync fn", |b| b.iter(|| plain_sync(black_box(7))));
        g.bench_function("#[feature_flag] sync fn", |b| {
            b.iter(|| gated_sync(black_box(7)))
        });
        g.bench_function("plain async fn", |b| {
            b.iter(|| ready(plain_async(black_box(7))))
        });
        g.bench_function("#[feature_flag] async fn", |b| {
            b.iter(|| ready(gated_async(black_box(7))))
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("alternatives");
        g.bench_function("HTTP GET to the agent per check (seed)", |b| {
            b.iter(|| rt.block_on(http_check(&http, &url)))
        });
        g.bench_function("open-feature get_bool_value (in-memory provider)", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        black_box(
                            of_client
                                .get_bool_value(black_box("newCheckout"), None, None)
                                .await
                                .unwrap(),
                        );
                    }
                    t.elapsed()
                })
            })
        });
        g.finish();
    }
    c.final_summary();
    if listing {
        return;
    }

    // Ratios, measured here, in the same run.
    let sync = per_call(15, 2_000_000, |_| {
        black_box(flags.is_enabled_now(black_box("newCheckout")));
    });
    let asynch = per_call(15, 2_000_000, |_| {
        black_box(ready(flags.is_enabled(black_box("newCheckout"))));
    });
    let plain = per_call(15, 2_000_000, |i| {
        black_box(plain_sync(black_box(i)));
    });
    let gated = per_call(15, 2_000_000, |i| {
        black_box(gated_sync(black_box(i)));
    });
    let per_http = per_call(9, 300, |_| {
        black_box(rt.block_on(http_check(&http, &url)));
    });
    let of = rt.block_on(async {
        let mut samples = Vec::new();
        for _ in 0..9 {
            let t = Instant::now();
            for _ in 0..100_000 {
                black_box(
                    of_client
                        .get_bool_value(black_box("newCheckout"), None, None)
                        .await
                        .unwrap(),
                );
            }
            samples.push(t.elapsed().as_nanos() as f64 / 100_000.0);
        }
        median(&mut samples)
    });
    println!("\nsummary (median ns per call, this run):");
    println!("| measure | ns | ratio |");
    println!("|---|---:|---:|");
    println!("| sync check, warm | {sync:.1} | 1 |");
    println!(
        "| async check, warm | {asynch:.1} | {:.2}x sync |",
        asynch / sync
    );
    println!("| plain sync fn | {plain:.1} | |");
    println!(
        "| #[feature_flag] sync fn | {gated:.1} | +{:.1} ns over plain |",
        gated - plain
    );
    println!(
        "| HTTP GET per check (seed) | {per_http:.0} | {:.0}x the sync check |",
        per_http / sync
    );
    println!(
        "| open-feature in-memory | {of:.1} | {:.1}x the sync check |",
        of / sync
    );
    drop(agent);
}
