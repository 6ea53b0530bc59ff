//! Build cost of `#[feature_flag]`: a crate with 500 annotated functions against the same crate
//! with 500 plain functions, both compiled (debug, dependencies already built) after a touch.
//! `cargo bench -p flag-bench --bench build_cost`

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const FUNCTIONS: usize = 500;
const RUNS: usize = 3;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = flag_bench::root();
    let work = root.join("target/build-cost");
    let target = work.join("target");
    let mut results = Vec::new();
    for annotated in [false, true] {
        let name = if annotated { "annotated" } else { "plain" };
        let dir = work.join(name);
        write_crate(&root, &dir, annotated);
        // Dependencies first (not measured), then the crate alone, RUNS times.
        build(&dir, &target);
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let lib = dir.join("src/lib.rs");
            let text = std::fs::read_to_string(&lib).unwrap();
            std::fs::write(&lib, text).unwrap(); // touch
            let t = Instant::now();
            build(&dir, &target);
            times.push(t.elapsed().as_secs_f64());
        }
        results.push((name, flag_bench::median(&mut times)));
    }
    let (plain, annotated) = (results[0].1, results[1].1);
    println!(
        "build cost ({FUNCTIONS} functions, debug, median of {RUNS}, schema read once per rustc):"
    );
    println!("  plain        {plain:.2} s");
    println!("  annotated    {annotated:.2} s");
    println!(
        "  per annotation  {:.2} ms ({:.2}x the plain crate)",
        (annotated - plain) * 1000.0 / FUNCTIONS as f64,
        annotated / plain
    );
}

fn build(dir: &Path, target: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--lib"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "building {}", dir.display());
}

fn write_crate(root: &Path, dir: &Path, annotated: bool) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"build-cost-{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\nflag-macros = {{ path = {:?} }}\nflag-runtime = {{ path = {:?} }}\n",
        if annotated { "annotated" } else { "plain" },
        root.join("flag-macros"),
        root.join("flag-runtime"),
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(
        root.join("example-lambda/flags.json"),
        dir.join("flags.json"),
    )
    .unwrap();
    let mut src = String::from("#![allow(dead_code)]\n");
    for i in 0..FUNCTIONS {
        if annotated {
            let flag = ["newCheckout", "discountBanner", "expressShipping"][i % 3];
            if i.is_multiple_of(2) {
                writeln!(src, "#[flag_macros::feature_flag({flag:?}, fallback = old_{i})]\npub async fn new_{i}(x: u64, (a, b): (u8, u8)) -> u64 {{ x + u64::from(a) + u64::from(b) + {i} }}").unwrap();
                writeln!(
                    src,
                    "pub async fn old_{i}(x: u64, _p: (u8, u8)) -> u64 {{ x }}"
                )
                .unwrap();
            } else {
                writeln!(src, "#[flag_macros::feature_flag({flag:?}, fallback = old_{i})]\npub fn new_{i}(x: u64, (a, b): (u8, u8)) -> u64 {{ x + u64::from(a) + u64::from(b) + {i} }}").unwrap();
                writeln!(src, "pub fn old_{i}(x: u64, _p: (u8, u8)) -> u64 {{ x }}").unwrap();
            }
        } else if i.is_multiple_of(2) {
            writeln!(src, "pub async fn new_{i}(x: u64, (a, b): (u8, u8)) -> u64 {{ x + u64::from(a) + u64::from(b) + {i} }}").unwrap();
            writeln!(
                src,
                "pub async fn old_{i}(x: u64, _p: (u8, u8)) -> u64 {{ x }}"
            )
            .unwrap();
        } else {
            writeln!(src, "pub fn new_{i}(x: u64, (a, b): (u8, u8)) -> u64 {{ x + u64::from(a) + u64::from(b) + {i} }}").unwrap();
            writeln!(src, "pub fn old_{i}(x: u64, _p: (u8, u8)) -> u64 {{ x }}").unwrap();
        }
    }
    std::fs::write(dir.join("src/lib.rs"), src).unwrap();
}
