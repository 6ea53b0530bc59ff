//! Instructions per warm check, counted by valgrind's callgrind: deterministic, so figures from
//! a loaded machine (or two versions of the code) compare exactly, where wall-clock benchmarks
//! drift. `cargo bench -p flag-bench --bench instructions` runs itself under
//! `valgrind --tool=callgrind` twice per check form (0 and N calls) and prints the difference
//! per call. Without valgrind it says `skipped:`.

use std::hint::black_box;
use std::process::Command;

use flag_bench::ready;
use flag_macros::feature_flag;

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

const FORMS: [&str; 5] = [
    "plain sync fn",
    "sync check (is_enabled_now)",
    "async check (is_enabled)",
    "#[feature_flag] sync fn",
    "#[feature_flag] async fn",
];
const CALLS: u64 = 100_000;

/// Child mode: `instructions <form> <calls>` runs the calls and exits.
fn run(form: &str, calls: u64) {
    let (_rt, _agent, flags) = flag_bench::warm_setup();
    flag_runtime::install_default(flags.clone()).unwrap();
    // Warm every path once (thread-local views, call-site caches).
    assert!(flags.is_enabled_now("newCheckout") && ready(flags.is_enabled("newCheckout")));
    let _ = (gated_sync(1), ready(gated_async(1)));
    let mut sum = 0u64;
    for i in 0..calls {
        sum = sum.wrapping_add(match form {
            "plain sync fn" => plain_sync(black_box(i)),
            "sync check (is_enabled_now)" => {
                u64::from(flags.is_enabled_now(black_box("newCheckout")))
            }
            "async check (is_enabled)" => {
                u64::from(ready(flags.is_enabled(black_box("newCheckout"))))
            }
            "#[feature_flag] sync fn" => gated_sync(black_box(i)),
            "#[feature_flag] async fn" => ready(gated_async(black_box(i))),
            other => panic!("unknown form {other}"),
        });
    }
    black_box(sum);
}

fn collected(exe: &str, form: &str, calls: u64) -> Option<u64> {
    let out = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            exe,
            "--child",
            form,
        ])
        .arg(calls.to_string())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        run(&args[at + 1], args[at + 2].parse().unwrap());
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("skipped: valgrind is not installed");
        return;
    }
    let exe = &args[0];
    println!("instructions per call (callgrind, {CALLS} calls minus 0 calls):");
    println!("| form | instructions |");
    for form in FORMS {
        let (Some(base), Some(total)) = (collected(exe, form, 0), collected(exe, form, CALLS))
        else {
            println!("| {form} | (valgrind failed) |");
            continue;
        };
        println!(
            "| {form} | {:.1} |",
            (total as f64 - base as f64) / CALLS as f64
        );
    }
}
