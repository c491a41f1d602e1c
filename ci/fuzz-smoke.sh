#!/usr/bin/env bash
# Fuzz smoke test for CI (stable toolchain, no sanitizer: `cargo fuzz ... -s none`).
# Run from anywhere; takes about 4 minutes of fuzzing plus the first build (~2 min).
#
#   1. installs cargo-fuzz if it is missing;
#   2. builds every target of fuzz/;
#   3. replays the committed seed corpus and crash regressions of each target (-runs=0);
#   4. fuzzes each target for FUZZ_SECONDS (default 60; 4 targets = 4 minutes) starting
#      from that corpus, in a scratch corpus directory (the repository is not modified).
#
# Exits non-zero on the first crash, leak, timeout or OOM; the crashing input is in
# fuzz/artifacts/<target>/ (see fuzz/regressions/README.md for turning it into a test).
#
# Environment: FUZZ_SECONDS (per target, default 60), FUZZ_TARGETS (default: all),
# FUZZ_JOBS (parallel libFuzzer jobs per target, default 1).
set -euo pipefail

cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
TARGETS="${FUZZ_TARGETS:-ops geometry kmalloc schedule}"
JOBS="${FUZZ_JOBS:-1}"
# The knob turns on a known bug: never in CI.
unset SLAB_FUZZ_MUTATION

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
cargo fuzz --version

# No sanitizer (ASan needs nightly) and no comparison tracing: measured here it halves
# the throughput of the ops and schedule targets (their inputs are decoded by modulo, so
# CMP guidance buys little) without lowering the coverage reached. `cargo fuzz run` must
# get the same flags, or it rebuilds.
BUILD_FLAGS=(-s none --no-trace-compares)

echo "== building fuzz targets (${BUILD_FLAGS[*]}, stable)"
cargo fuzz build "${BUILD_FLAGS[@]}"

# Only the committed files: a developer's local corpus/ also holds campaign output.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

parallel=()
if [ "$JOBS" -gt 1 ]; then
    # libFuzzer's -jobs mode writes each job's output to fuzz-<n>.log.
    parallel=(-jobs="$JOBS" -workers="$JOBS")
fi

status=0
for t in $TARGETS; do
    mkdir -p "$scratch/seed/$t" "$scratch/new/$t" "artifacts/$t"
    find "corpus/$t" -maxdepth 1 -type f -name 'seed-*' -exec cp {} "$scratch/seed/$t/" \;
    if [ -d "regressions/$t" ]; then
        find "regressions/$t" -maxdepth 1 -type f ! -name 'README*' ! -name '.gitkeep' \
            -exec cp {} "$scratch/seed/$t/" \;
    fi
    n=$(find "$scratch/seed/$t" -type f | wc -l)

    echo "== $t: replaying $n committed inputs"
    if ! cargo fuzz run "${BUILD_FLAGS[@]}" "$t" "$scratch/seed/$t" -- -runs=0 \
            -artifact_prefix="artifacts/$t/"; then
        echo "FAIL: $t crashes on a committed input (see above)"
        status=1
        continue
    fi

    echo "== $t: fuzzing for ${SECONDS_PER_TARGET}s"
    if ! cargo fuzz run "${BUILD_FLAGS[@]}" "$t" "$scratch/new/$t" "$scratch/seed/$t" -- \
            -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
            ${parallel[@]+"${parallel[@]}"} -print_final_stats=1 \
            -artifact_prefix="artifacts/$t/"; then
        echo "FAIL: $t crashed; the input is in fuzz/artifacts/$t/"
        echo "      minimise it with: cd fuzz && cargo fuzz tmin -s none --no-trace-compares $t <crash file>"
        echo "      and commit it under fuzz/regressions/$t/ with the fix"
        status=1
    fi
done

if [ "$status" -eq 0 ]; then
    echo "== fuzz smoke: no crash"
fi
exit "$status"
