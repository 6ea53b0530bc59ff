//! The typed check of `flags!` against the named check, `#[feature_flag]` and a plain call,
//! inside an invocation scope and outside, the cost of entering a scope, and the libraries a
//! Rust user would pick instead, all warm and in one run:
//! `unleash-api-client` (`is_enabled` on features loaded with `memoize`: the default and the
//! flexibleRollout strategies) and `launchdarkly-server-sdk` (`bool_variation` from its
//! `TestData` source: a plain flag and one with a rule). A summary measured in the same run
//! prints the ratios. `cargo bench -p flag-bench --bench typed`

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use flag_bench::{per_call, ready};
use flag_macros::feature_flag;
use flag_runtime::{Context, Scope};

flag_macros::flags!(mod flags, schema = "../example-lambda/flags.json");

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

/// Unleash's client with features loaded in memory (`memoize`), as its own benchmarks do.
mod unleash {
    use std::sync::Arc;

    use unleash_api_client::client::{Client, ClientBuilder, FeatureKey};
    use unleash_api_client::http::{Request, Response, Transport};
    use unleash_api_client::Context;

    #[derive(Debug, Clone, Copy)]
    pub enum Features {
        Default,
        Rollout,
    }

    impl FeatureKey for Features {
        fn name(self) -> &'static str {
            match self {
                Features::Default => "newCheckout",
                Features::Rollout => "rollout",
            }
        }
    }

    /// Never called: the features are memoized, nothing is polled and metrics are off.
    struct NoTransport;

    #[open_feature::async_trait]
    impl Transport for NoTransport {
        async fn execute(&self, _: Request) -> Result<Response, anyhow::Error> {
            Err(anyhow::anyhow!("the bench never polls"))
        }
    }

    pub fn client() -> (Client<Features>, Context) {
        let client = ClientBuilder::default()
            .disable_metric_submission()
            .into_client_with_transport::<Features>(
                "http://127.0.0.1:1/",
                "bench",
                "bench",
                None,
                Arc::new(NoTransport),
            )
            .unwrap();
        let features = serde_json::json!({
            "version": 1,
            "features": [
                {"name": "newCheckout", "enabled": true,
                 "strategies": [{"name": "default", "parameters": {}}]},
                {"name": "rollout", "enabled": true,
                 "strategies": [{"name": "flexibleRollout", "parameters":
                    {"rollout": "100", "stickiness": "userId", "groupId": "rollout"}}]}
            ]
        });
        client
            .memoize(serde_json::from_value(features).unwrap())
            .unwrap();
        let context = Context {
            user_id: Some("customer-4217".into()),
            ..Context::default()
        };
        (client, context)
    }
}

/// LaunchDarkly's server SDK fed by its `TestData` source, events off.
mod launchdarkly {
    use std::time::Duration;

    use launchdarkly_server_sdk::{
        AttributeValue, Client, ConfigBuilder, Context, ContextBuilder, FlagBuilder,
        NullEventProcessorBuilder, TestData,
    };

    pub fn client(rt: &tokio::runtime::Runtime) -> (Client, Context, TestData) {
        let data = TestData::new();
        data.update(FlagBuilder::new("newCheckout").variation_for_all(true));
        data.update(
            FlagBuilder::new("gold")
                .boolean_flag()
                .if_match("tier", [AttributeValue::String("gold".into())])
                .then_return(true)
                .fallthrough_variation(false),
        );
        let config = ConfigBuilder::new("sdk-key")
            .data_source(&data)
            .event_processor(&NullEventProcessorBuilder::new())
            .build()
            .unwrap();
        let client = Client::build(config).unwrap();
        let _enter = rt.enter();
        client.start_with_default_executor();
        let ready = rt.block_on(client.wait_for_initialization(Duration::from_secs(5)));
        assert_eq!(ready, Some(true), "LaunchDarkly initialised");
        let context = ContextBuilder::new("customer-4217")
            .set_value("tier", AttributeValue::String("gold".into()))
            .build()
            .unwrap();
        (client, context, data)
    }
}

fn main() {
    let listing = std::env::args().any(|a| a == "--list");
    // A long TTL: only what the bench itself does refreshes the snapshot.
    let (rt, agent, source) = flag_bench::warm_setup();
    flag_runtime::install_default(source.clone()).unwrap();
    let (unleash, unleash_context) = unleash::client();
    let (ld, ld_context, _ld_data) = launchdarkly::client(&rt);
    let _enter = rt.enter();

    // Warm, and each answers what the bench expects.
    assert!(source.is_enabled_now("newCheckout"));
    assert!(flags::NEW_CHECKOUT.is_enabled_now() && ready(flags::NEW_CHECKOUT.is_enabled()));
    assert_eq!(
        (gated_sync(1), ready(gated_async(1))),
        (plain_sync(1), plain_sync(1))
    );
    assert!(unleash.is_enabled(unleash::Features::Default, None, false));
    assert!(unleash.is_enabled(unleash::Features::Rollout, Some(&unleash_context), false));
    assert!(ld.bool_variation(&ld_context, "newCheckout", false));
    assert!(ld.bool_variation(&ld_context, "gold", false));

    // Invocation scopes of the default source: context-free, and a 3-pair context of its own.
    let three_pairs = || {
        Context::new()
            .with("tier", "gold")
            .with("customerId", "customer-4217")
            .with("region", "eu")
    };
    let scope_of = |context: Context| {
        rt.block_on(flag_runtime::scope(context, async {
            Scope::current().expect("in a scope")
        }))
    };
    let scopes = [
        ("context-free scope", scope_of(Context::new())),
        ("3-pair context scope", scope_of(three_pairs())),
    ];
    let cached = three_pairs();
    ready(flag_runtime::scope(cached.clone(), async {}));

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut g = c.benchmark_group("typed");
        g.bench_function("plain sync fn", |b| b.iter(|| plain_sync(black_box(7))));
        g.bench_function("named check (is_enabled_now)", |b| {
            b.iter(|| source.is_enabled_now(black_box("newCheckout")))
        });
        g.bench_function("#[feature_flag] sync fn", |b| {
            b.iter(|| gated_sync(black_box(7)))
        });
        g.bench_function("typed check (flags::NEW_CHECKOUT.is_enabled_now)", |b| {
            b.iter(|| black_box(&flags::NEW_CHECKOUT).is_enabled_now())
        });
        g.bench_function("typed async check (is_enabled().await)", |b| {
            b.iter(|| ready(black_box(&flags::NEW_CHECKOUT).is_enabled()))
        });
        g.bench_function("#[feature_flag] async fn", |b| {
            b.iter(|| ready(gated_async(black_box(7))))
        });
        g.bench_function("plain async fn", |b| {
            b.iter(|| ready(plain_async(black_box(7))))
        });
        g.bench_function("typed value (DISCOUNT_BANNER.get_now)", |b| {
            b.iter(|| black_box(&flags::DISCOUNT_BANNER).get_now())
        });
        g.finish();
    }
    for (name, scope) in &scopes {
        let mut g = c.benchmark_group(*name);
        scope.clone().run_sync(|| {
            g.bench_function("typed check (is_enabled_now)", |b| {
                b.iter(|| black_box(&flags::NEW_CHECKOUT).is_enabled_now())
            });
            g.bench_function("typed async check (is_enabled().await)", |b| {
                b.iter(|| ready(black_box(&flags::NEW_CHECKOUT).is_enabled()))
            });
            g.bench_function("#[feature_flag] sync fn", |b| {
                b.iter(|| gated_sync(black_box(7)))
            });
            g.bench_function("#[feature_flag] async fn", |b| {
                b.iter(|| ready(gated_async(black_box(7))))
            });
            g.bench_function("named check (is_enabled_now)", |b| {
                b.iter(|| source.is_enabled_now(black_box("newCheckout")))
            });
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("scope entry, nothing due");
        g.bench_function("cached context", |b| {
            b.iter(|| ready(source.scope(cached.clone(), async {})))
        });
        g.bench_function("3-pair context built per invocation", |b| {
            b.iter(|| ready(source.scope(three_pairs(), async {})))
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("alternatives");
        g.bench_function("unleash is_enabled (default strategy)", |b| {
            b.iter(|| unleash.is_enabled(black_box(unleash::Features::Default), None, false))
        });
        g.bench_function("unleash is_enabled (flexibleRollout)", |b| {
            b.iter(|| {
                unleash.is_enabled(
                    black_box(unleash::Features::Rollout),
                    Some(&unleash_context),
                    false,
                )
            })
        });
        g.bench_function("launchdarkly bool_variation (plain flag)", |b| {
            b.iter(|| ld.bool_variation(&ld_context, black_box("newCheckout"), false))
        });
        g.bench_function("launchdarkly bool_variation (rule)", |b| {
            b.iter(|| ld.bool_variation(&ld_context, black_box("gold"), false))
        });
        g.finish();
    }
    c.final_summary();
    if listing {
        return;
    }

    // Ratios, measured here, in the same run.
    let n = 2_000_000;
    let plain = per_call(15, n, |i| {
        black_box(plain_sync(black_box(i)));
    });
    let named = per_call(15, n, |_| {
        black_box(source.is_enabled_now(black_box("newCheckout")));
    });
    let site = per_call(15, n, |i| {
        black_box(gated_sync(black_box(i)));
    });
    let typed = per_call(15, n, |_| {
        black_box(black_box(&flags::NEW_CHECKOUT).is_enabled_now());
    });
    let typed_async = per_call(15, n, |_| {
        black_box(ready(black_box(&flags::NEW_CHECKOUT).is_enabled()));
    });
    let in_scope = |scope: &Scope| {
        scope.clone().run_sync(|| {
            [
                per_call(15, n, |_| {
                    black_box(black_box(&flags::NEW_CHECKOUT).is_enabled_now());
                }),
                per_call(15, n, |_| {
                    black_box(ready(black_box(&flags::NEW_CHECKOUT).is_enabled()));
                }),
                per_call(15, n, |i| {
                    black_box(gated_sync(black_box(i)));
                }),
                per_call(15, n, |i| {
                    black_box(ready(gated_async(black_box(i))));
                }),
                per_call(15, n, |_| {
                    black_box(source.is_enabled_now(black_box("newCheckout")));
                }),
            ]
        })
    };
    let scoped = scopes.each_ref().map(|(_, scope)| in_scope(scope));
    let enter_cached = per_call(9, 200_000, |_| {
        ready(source.scope(cached.clone(), async {}));
    });
    let enter_built = per_call(9, 200_000, |_| {
        ready(source.scope(three_pairs(), async {}));
    });
    let unleash_default = per_call(9, 200_000, |_| {
        black_box(unleash.is_enabled(black_box(unleash::Features::Default), None, false));
    });
    let unleash_rollout = per_call(9, 200_000, |_| {
        black_box(unleash.is_enabled(
            black_box(unleash::Features::Rollout),
            Some(&unleash_context),
            false,
        ));
    });
    let ld_plain = per_call(9, 100_000, |_| {
        black_box(ld.bool_variation(&ld_context, black_box("newCheckout"), false));
    });
    let ld_rule = per_call(9, 100_000, |_| {
        black_box(ld.bool_variation(&ld_context, black_box("gold"), false));
    });
    println!("\nsummary (median ns per call, this run):");
    println!("| check, warm | ns | ratio to the typed check |");
    println!("|---|---:|---:|");
    let row = |name: &str, ns: f64| println!("| {name} | {ns:.1} | {:.1}x |", ns / typed);
    row("plain sync fn (no flag)", plain);
    let plain_async_ns = per_call(15, n, |i| {
        black_box(ready(plain_async(black_box(i))));
    });
    row("plain async fn (no flag)", plain_async_ns);
    row("`flags::NEW_CHECKOUT.is_enabled_now()`", typed);
    row("`flags::NEW_CHECKOUT.is_enabled().await`", typed_async);
    row("`#[feature_flag]` sync fn", site);
    row("named check `is_enabled_now(\"newCheckout\")`", named);
    let forms = [
        "`flags::NEW_CHECKOUT.is_enabled_now()`",
        "`flags::NEW_CHECKOUT.is_enabled().await`",
        "`#[feature_flag]` sync fn",
        "`#[feature_flag]` async fn",
        "named check `is_enabled_now(\"newCheckout\")`",
    ];
    for ((name, _), figures) in scopes.iter().zip(&scoped) {
        for (form, ns) in forms.iter().zip(figures) {
            row(&format!("{form}, in a {name}"), *ns);
        }
    }
    row(
        "entering a scope, nothing due, cached context",
        enter_cached,
    );
    row(
        "entering a scope, nothing due, 3-pair context built per invocation",
        enter_built,
    );
    row(
        "unleash-api-client `is_enabled`, default strategy",
        unleash_default,
    );
    row(
        "unleash-api-client `is_enabled`, flexibleRollout",
        unleash_rollout,
    );
    row(
        "launchdarkly-server-sdk `bool_variation`, plain flag",
        ld_plain,
    );
    row(
        "launchdarkly-server-sdk `bool_variation`, with a rule",
        ld_rule,
    );
    drop(agent);
}
