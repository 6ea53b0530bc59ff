//! OpenFeature evaluations, warm, in one run: through the SDK with this project's
//! `AppConfigProvider`, through the SDK with a minimal in-memory provider (the SDK's own cost),
//! and the direct check of the same flag source (no SDK). Without a context (`newCheckout`) and
//! with one (`discountBanner` targeted on `tier`, an attribute read). Criterion measures each; a
//! summary measured in the same run prints the ratios.
//! `cargo bench -p flag-bench --bench openfeature`

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use flag_bench::{median, InMemory};
use flag_openfeature::AppConfigProvider;
use flag_runtime::Context;
use open_feature::provider::FeatureProvider;
use open_feature::{Client, EvaluationContext, OpenFeature};

/// A client of an API of its own with `provider` set (and initialised).
fn client_with(rt: &tokio::runtime::Runtime, provider: impl FeatureProvider) -> Client {
    rt.block_on(async {
        let mut api = OpenFeature::default();
        api.set_provider(provider).await;
        let client = api.create_client();
        // The API's registry is shared with the client: the API itself may go.
        drop(api);
        client
    })
}

/// `iters` awaited calls of `f` in one `block_on`, timed.
fn timed<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    rt.block_on(async {
        let t = Instant::now();
        for _ in 0..iters {
            black_box(f().await);
        }
        t.elapsed()
    })
}

/// Median nanoseconds per awaited call of `f`, over `batches` batches of `n` calls.
fn per_call<F, Fut>(rt: &tokio::runtime::Runtime, batches: usize, n: u64, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| timed(rt, n, &mut f).as_nanos() as f64 / n as f64)
        .collect();
    median(&mut samples)
}

fn main() {
    let listing = std::env::args().any(|a| a == "--list");
    // A long TTL: only what the bench itself does refreshes the snapshot.
    let (rt, agent, flags) = flag_bench::warm_setup();
    let appconfig = client_with(&rt, AppConfigProvider::new(flags.clone()));
    let in_memory = client_with(
        &rt,
        InMemory::new(
            &[("newCheckout", true)],
            &[("discountBanner.percentage", 20.0)],
        ),
    );
    let provider = AppConfigProvider::new(flags.clone());
    let bare = AppConfigProvider::new(flags.clone()).without_flag_metadata();
    let appconfig_bare = client_with(&rt, bare.clone());
    let no_context = EvaluationContext::default();
    let gold = EvaluationContext::default().with_custom_field("tier", "gold");
    let gold_direct = Context::new().with("tier", "gold");

    // Every path answers the same, and the targeted context is cached before measuring.
    rt.block_on(async {
        assert!(flags.is_enabled("newCheckout").await);
        assert!(appconfig
            .get_bool_value("newCheckout", None, None)
            .await
            .unwrap());
        assert!(in_memory
            .get_bool_value("newCheckout", None, None)
            .await
            .unwrap());
        let direct: f64 = flags
            .with_context(&gold_direct)
            .attribute("discountBanner", "percentage")
            .await
            .unwrap();
        let through: f64 = appconfig
            .get_float_value("discountBanner.percentage", Some(&gold), None)
            .await
            .unwrap();
        assert_eq!((direct, through), (20.0, 20.0));
    });
    let requests = agent.requests();

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("openfeature: boolean, no context");
        g.bench_function("direct check (is_enabled)", |b| {
            b.iter_custom(|n| timed(&rt, n, || flags.is_enabled(black_box("newCheckout"))))
        });
        g.bench_function("AppConfigProvider resolve (no SDK)", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || {
                    provider.resolve_bool_value(black_box("newCheckout"), &no_context)
                })
            })
        });
        g.bench_function("SDK + AppConfigProvider", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || {
                    appconfig.get_bool_value(black_box("newCheckout"), None, None)
                })
            })
        });
        g.bench_function("SDK + AppConfigProvider without flag metadata", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || {
                    appconfig_bare.get_bool_value(black_box("newCheckout"), None, None)
                })
            })
        });
        g.bench_function("SDK + in-memory provider", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || {
                    in_memory.get_bool_value(black_box("newCheckout"), None, None)
                })
            })
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("openfeature: float attribute, targeted");
        g.bench_function("direct check, context built per request", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || async {
                    let context = Context::new().with("tier", black_box("gold"));
                    flags
                        .with_context(&context)
                        .attribute::<f64>(black_box("discountBanner"), "percentage")
                        .await
                })
            })
        });
        g.bench_function("direct check, context prebuilt", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || async {
                    flags
                        .with_context(&gold_direct)
                        .attribute::<f64>(black_box("discountBanner"), "percentage")
                        .await
                })
            })
        });
        g.bench_function("SDK + AppConfigProvider", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || {
                    appconfig.get_float_value(
                        black_box("discountBanner.percentage"),
                        Some(&gold),
                        None,
                    )
                })
            })
        });
        g.bench_function("SDK + in-memory provider (no targeting)", |b| {
            b.iter_custom(|n| {
                timed(&rt, n, || {
                    in_memory.get_float_value(
                        black_box("discountBanner.percentage"),
                        Some(&gold),
                        None,
                    )
                })
            })
        });
        g.finish();
    }
    c.final_summary();
    assert_eq!(
        agent.requests(),
        requests,
        "every measured evaluation was served from the cache"
    );
    if listing {
        return;
    }

    // Ratios, measured here, in the same run.
    const N: u64 = 100_000;
    let direct = per_call(&rt, 9, N, || flags.is_enabled(black_box("newCheckout")));
    let resolve = per_call(&rt, 9, N, || {
        provider.resolve_bool_value(black_box("newCheckout"), &no_context)
    });
    let sdk_appconfig = per_call(&rt, 9, N, || {
        appconfig.get_bool_value(black_box("newCheckout"), None, None)
    });
    let resolve_bare = per_call(&rt, 9, N, || {
        bare.resolve_bool_value(black_box("newCheckout"), &no_context)
    });
    let sdk_bare = per_call(&rt, 9, N, || {
        appconfig_bare.get_bool_value(black_box("newCheckout"), None, None)
    });
    let sdk_bare_targeted = per_call(&rt, 9, N, || {
        appconfig_bare.get_float_value(black_box("discountBanner.percentage"), Some(&gold), None)
    });
    let sdk_memory = per_call(&rt, 9, N, || {
        in_memory.get_bool_value(black_box("newCheckout"), None, None)
    });
    let direct_targeted = per_call(&rt, 9, N, || async {
        let context = Context::new().with("tier", black_box("gold"));
        flags
            .with_context(&context)
            .attribute::<f64>(black_box("discountBanner"), "percentage")
            .await
    });
    let sdk_targeted = per_call(&rt, 9, N, || {
        appconfig.get_float_value(black_box("discountBanner.percentage"), Some(&gold), None)
    });
    let memory_targeted = per_call(&rt, 9, N, || {
        in_memory.get_float_value(black_box("discountBanner.percentage"), Some(&gold), None)
    });
    println!("\nsummary (median ns per awaited call, this run):");
    println!("| measure | no context, boolean | targeted, float attribute |");
    println!("|---|---:|---:|");
    println!("| direct check (targeted: context built per request) | {direct:.1} | {direct_targeted:.1} |");
    println!("| AppConfigProvider resolve, no SDK | {resolve:.1} | |");
    println!("| AppConfigProvider resolve, no SDK, no flag metadata | {resolve_bare:.1} | |");
    println!("| SDK + AppConfigProvider | {sdk_appconfig:.1} | {sdk_targeted:.1} |");
    println!(
        "| SDK + AppConfigProvider, no flag metadata | {sdk_bare:.1} | {sdk_bare_targeted:.1} |"
    );
    println!("| SDK + in-memory provider | {sdk_memory:.1} | {memory_targeted:.1} |");
    println!(
        "| SDK + AppConfigProvider / SDK + in-memory | {:.2}x | {:.2}x |",
        sdk_appconfig / sdk_memory,
        sdk_targeted / memory_targeted
    );
    println!(
        "| same, no flag metadata / SDK + in-memory | {:.2}x | {:.2}x |",
        sdk_bare / sdk_memory,
        sdk_bare_targeted / memory_targeted
    );
    println!(
        "| SDK + AppConfigProvider / direct check | {:.1}x | {:.1}x |",
        sdk_appconfig / direct,
        sdk_targeted / direct_targeted
    );
    drop(agent);
}
