#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the parsers that read untrusted-ish bytes,
# on the stable toolchain. Runs each target for a bounded time and fails on the first crash.
#
#   fuzz/run.sh [TARGET...]            every target when none is named
#
# Environment:
#   FUZZ_SECONDS    time per target, after the build (default 20: the CI budget)
#   FUZZ_SANITIZER  none (default) or address. The fuzzed paths are safe Rust, where a bug is a
#                   panic and needs no sanitizer; AddressSanitizer costs about a minute more of
#                   build and 3 to 5 times fewer execs/s, and is there for a run over unsafe code.
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1)
#   FUZZ_MAX_LEN    largest input in bytes (default 65536)
#   FUZZ_RSS_MB     memory limit per process in MiB (default 2048)
#   FUZZ_VERBOSE    set to print every new input libFuzzer finds
#
# Seeds: tests/corpus/<kind>/ (shared with the proptest fuzzing in tests/fuzz.rs) and
# fuzz/regressions/<target>/ (inputs that once crashed; they replay first). Inputs that reach
# new coverage go to fuzz/corpus/<target>/ (not committed) and seed the next local run; a crash
# is written to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
sanitizer=${FUZZ_SANITIZER:-none}
jobs=${FUZZ_JOBS:-1}
max_len=${FUZZ_MAX_LEN:-65536}
rss_mb=${FUZZ_RSS_MB:-2048}

# A sanitizer is a nightly-only rustc flag (-Zsanitizer=address): RUSTC_BOOTSTRAP=1 lets the
# stable compiler accept it. (The coverage instrumentation, -Cpasses=sancov-module and
# -Cllvm-args, is stable.) Only this script's cargo sees the variable.
export RUSTC_BOOTSTRAP=1
# A panic's stack, printed before libFuzzer saves the input.
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

# Every target, with its seed directory under tests/corpus/. 
declare -A seeds=([agent_answer]=answer [schema_document]=schema [rule]=rule)
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(printf '%s\n' "${!seeds[@]}" | sort)
fi
for target in "${targets[@]}"; do
    [ -n "${seeds[$target]:-}" ] || { echo "unknown fuzz target: $target" >&2; exit 2; }
done

# libFuzzer logs every input that reaches new coverage (NEW, REDUCE, NEW_FUNC), thousands of
# lines in 20 s, and at the end the dictionary entries it found useful. Keep the rest: INITED,
# the pulses, DONE, the final stats and any crash report. FUZZ_VERBOSE=1 keeps everything.
quiet() {
    if [ -n "${FUZZ_VERBOSE:-}" ]; then
        cat
    else
        awk '!/^#[0-9]+\t(NEW|REDUCE) / && !/^\tNEW_FUNC/ && !/^".*" # Uses: [0-9]+$/ { print; fflush() }'
    fi
}

# One build for every target (they share all dependencies).
echo "cargo fuzz build --sanitizer $sanitizer"
time cargo fuzz build --sanitizer "$sanitizer"

for target in "${targets[@]}"; do
    printf '\n--- %s: %ss\n' "$target" "$seconds"
    corpus=fuzz/corpus/$target
    mkdir -p "$corpus"
    dirs=("$corpus" "tests/corpus/${seeds[$target]}")
    [ -d "fuzz/regressions/$target" ] && dirs+=("fuzz/regressions/$target")
    # The first directory receives the new inputs; the others are only read.
    cargo fuzz run --sanitizer "$sanitizer" --jobs "$jobs" "$target" "${dirs[@]}" -- \
        -dict=fuzz/json.dict \
        -max_total_time="$seconds" \
        -max_len="$max_len" \
        -rss_limit_mb="$rss_mb" \
        -timeout=10 \
        -print_final_stats=1 \
        2>&1 | quiet
done
