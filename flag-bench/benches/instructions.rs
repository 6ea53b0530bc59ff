//! Instructions per warm check, counted by valgrind's callgrind: deterministic, so figures from
//! a loaded machine (or two versions of the code) compare exactly, where wall-clock benchmarks
//! drift. `cargo bench -p flag-bench --bench instructions` runs itself under
//! `valgrind --tool=callgrind` twice per check form (0 and N calls) and prints the difference
//! per call. Without valgrind it says `skipped:`.

use std::hint::black_box;
use std::process::Command;

use flag_bench::ready;
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

/// Each form is also counted inside an invocation scope with a 3-pair context (` in a scope`).
const FORMS: [&str; 8] = [
    "plain sync fn",
    "plain async fn",
    "sync check (is_enabled_now)",
    "async check (is_enabled)",
    "typed sync check (flags::X.is_enabled_now)",
    "typed async check (flags::X.is_enabled)",
    "#[feature_flag] sync fn",
    "#[feature_flag] async fn",
];
const CALLS: u64 = 100_000;

/// Child mode: `instructions <form> <calls>` runs the calls and exits.
fn run(form: &str, calls: u64) {
    let (rt, _agent, flags) = flag_bench::warm_setup();
    flag_runtime::install_default(flags.clone()).unwrap();
    let (form, scope) = match form.strip_suffix(" in a scope") {
        Some(form) => {
            let context = Context::new()
                .with("tier", "gold")
                .with("customerId", "customer-4217")
                .with("region", "eu");
            let scope = rt.block_on(flag_runtime::scope(context, async { Scope::current() }));
            (form, scope)
        }
        None => (form, None),
    };
    let count = || {
        // Warm every path once (call-site memos).
        assert!(flags.is_enabled_now("newCheckout") && ready(flags.is_enabled("newCheckout")));
        let _ = (
            gated_sync(1),
            ready(gated_async(1)),
            flags::NEW_CHECKOUT.is_enabled_now(),
        );
        // The form is picked once: each call is then one indirect call plus the check.
        let one: fn(&flag_runtime::FlagSource, u64) -> u64 = match form {
            "plain sync fn" => |_, i| plain_sync(black_box(i)),
            "plain async fn" => |_, i| ready(plain_async(black_box(i))),
            "sync check (is_enabled_now)" => {
                |flags, _| u64::from(flags.is_enabled_now(black_box("newCheckout")))
            }
            "async check (is_enabled)" => {
                |flags, _| u64::from(ready(flags.is_enabled(black_box("newCheckout"))))
            }
            "typed sync check (flags::X.is_enabled_now)" => {
                |_, _| u64::from(black_box(&flags::NEW_CHECKOUT).is_enabled_now())
            }
            "typed async check (flags::X.is_enabled)" => {
                |_, _| u64::from(ready(black_box(&flags::NEW_CHECKOUT).is_enabled()))
            }
            "#[feature_flag] sync fn" => |_, i| gated_sync(black_box(i)),
            "#[feature_flag] async fn" => |_, i| ready(gated_async(black_box(i))),
            other => panic!("unknown form {other}"),
        };
        let one = black_box(one);
        let mut sum = 0u64;
        for i in 0..calls {
            sum = sum.wrapping_add(one(&flags, i));
        }
        black_box(sum);
    };
    match scope {
        Some(scope) => scope.run_sync(count),
        None => count(),
    }
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
    println!("| form | outside a scope | in a scope |");
    println!("|---|---:|---:|");
    for form in FORMS {
        let per_call = |form: &str| match (collected(exe, form, 0), collected(exe, form, CALLS)) {
            (Some(base), Some(total)) => {
                format!("{:.1}", (total as f64 - base as f64) / CALLS as f64)
            }
            _ => "(valgrind failed)".to_owned(),
        };
        println!(
            "| {form} | {} | {} |",
            per_call(form),
            per_call(&format!("{form} in a scope"))
        );
    }
}
