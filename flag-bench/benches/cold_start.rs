//! Cold start of the example binary (release): from process start to the first answered
//! invocation, with the local agent; its peak RSS; the binary's size.
//! `cargo bench -p flag-bench --bench cold_start`

use std::time::{Duration, Instant};

use flag_local::{CargoBinary, LocalFunction, Outcome};
use serde_json::json;

const RUNS: usize = 15;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let binary = CargoBinary::new()
        .manifest_path(flag_bench::root().join("Cargo.toml"))
        .package("example-lambda")
        .release(true)
        .build()
        .expect("release build")
        .executable;
    let size = std::fs::metadata(&binary).unwrap().len();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let event = json!({"items": [{"sku": "mug", "priceCents": 1250, "quantity": 2}]});
    let mut starts = Vec::new();
    let mut rss_kib = Vec::new();
    for _ in 0..RUNS {
        rt.block_on(async {
            let t = Instant::now();
            let function = LocalFunction::builder(&binary, flag_bench::example_flags())
                .start()
                .await
                .unwrap();
            let invocation = function
                .invoke(&event, Duration::from_secs(10))
                .await
                .unwrap();
            starts.push(t.elapsed().as_secs_f64() * 1000.0);
            match invocation.outcome {
                Outcome::Response(answer) => assert_eq!(answer["checkout"], "new"),
                other => panic!("{other:?}"),
            }
            // Peak resident set (what `/usr/bin/time -v` reports as "Maximum resident set size").
            let status =
                std::fs::read_to_string(format!("/proc/{}/status", function.pid().unwrap()))
                    .unwrap();
            let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
            rss_kib.push(
                hwm.split_whitespace()
                    .nth(1)
                    .unwrap()
                    .parse::<f64>()
                    .unwrap(),
            );
            function.stop().await;
        });
    }
    let median_start = flag_bench::median(&mut starts);
    let p_worst = starts[starts.len() - 1];
    println!(
        "cold start of example-lambda (release, {RUNS} runs, local agent, flags loaded at init):"
    );
    println!(
        "  process start -> first answer   median {median_start:.1} ms, worst {p_worst:.1} ms"
    );
    println!(
        "  peak RSS                        median {:.1} MiB",
        flag_bench::median(&mut rss_kib) / 1024.0
    );
    println!(
        "  release binary size             {:.2} MiB ({size} bytes, stripped)",
        size as f64 / 1048576.0
    );
}
