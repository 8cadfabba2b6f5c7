#!/usr/bin/env bash
# Long fuzzing runs of core's parsers of outside input (issue #16; docs/reliability.md).
#
#   bash scripts/fuzz.sh                 # every target, 10,000,000 inputs each
#   bash scripts/fuzz.sh gmo_answer      # one target
#   bash scripts/fuzz.sh all 100000      # every target, a short run
#
# Prints per target the inputs run, the time, inputs/s and whether it crashed; exits 1 when a
# target crashed (the input is in fuzz/artifacts/<target>/). Not part of CI: needs nightly and
# cargo-fuzz, which this script installs once from crates.io.
#
# Environment: FUZZ_TOOLCHAIN (default nightly-2026-04-01), FUZZ_SANITIZER (default none;
# `address` for ASan, about half the speed), FUZZ_MAX_LEN (default 4096 bytes per input),
# CARGO_TARGET_DIR (default target/fuzz, apart from the main build).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.1
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly-2026-04-01}
SANITIZER=${FUZZ_SANITIZER:-none}
MAX_LEN=${FUZZ_MAX_LEN:-4096}
target=${1:-all}
runs=${2:-10000000}

root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/fuzz}

if ! rustup toolchain list | grep -q "^$TOOLCHAIN"; then
    echo "fuzz: toolchain $TOOLCHAIN is missing (rustup toolchain install $TOOLCHAIN)" >&2
    exit 2
fi
if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cd "$root"
if [ "$target" = all ]; then
    mapfile -t targets < <(cargo fuzz list)
else
    targets=("$target")
fi

# -a: debug assertions (integer overflow panics); malloc_limit: one allocation over 64 MB for an
# input of at most MAX_LEN bytes counts as a crash (unbounded allocation).
build=(cargo "+$TOOLCHAIN" fuzz build -a -s "$SANITIZER")
[ "$target" = all ] || build+=("$target")
"${build[@]}" >/dev/null 2>&1 || "${build[@]}"

failed=0
printf '%-18s %12s %8s %10s  %s\n' target inputs seconds inputs/s result
for t in "${targets[@]}"; do
    corpus="$CARGO_TARGET_DIR/corpus/$t"
    mkdir -p "$corpus" "$root/fuzz/artifacts/$t"
    log="$CARGO_TARGET_DIR/$t.log"
    start=$(date +%s.%N)
    if cargo "+$TOOLCHAIN" fuzz run -a -s "$SANITIZER" "$t" "$corpus" -- \
        -runs="$runs" -max_len="$MAX_LEN" -malloc_limit_mb=64 -rss_limit_mb=1024 \
        -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result="CRASHED (see $log, fuzz/artifacts/$t/)"
        failed=1
    fi
    end=$(date +%s.%N)
    done_runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    done_runs=${done_runs:-0}
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    rate=$(awk -v n="$done_runs" -v s="$secs" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')
    printf '%-18s %12s %8s %10s  %s\n' "$t" "$done_runs" "$secs" "$rate" "$result"
done
exit "$failed"
