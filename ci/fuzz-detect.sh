#!/usr/bin/env bash
# How fast the fuzz targets find the catalogued mutations (docs/fuzzing.md, "Detection").
#
# For each (target, mutation) row below: a fresh scratch corpus (the committed seeds, or
# nothing for the rows marked `empty`), `SLAB_FUZZ_MUTATION=<mutation>`, libFuzzer with
# `-seed=1` for at most CAP seconds. Prints one markdown row per run: whether it crashed,
# libFuzzer's executed inputs, and the wall time to the crash. A crash is the expected
# outcome here (the mutation is a known bug); a row that stays `not found` is the finding.
#
# Exits 1 if any row is not found within CAP (CI runs this: a mutation the fuzzers stop
# finding is a regression of the targets). Measured 2026-12-02 (with the hot-plug rows):
# every row within 49 s (schedule free-block-unlocked: 360,115 inputs; take-cpu-down-
# unstopped 14 s; the rest within 5.2 s); 77 s in all after the build. The cap leaves
# the slowest row more than 2x headroom.
#
# Environment: CAP (seconds per run, default 120), ROWS (a grep pattern selecting rows).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

CAP="${CAP:-120}"
BUILD_FLAGS=(-s none --no-trace-compares)
cargo fuzz build "${BUILD_FLAGS[@]}" >/dev/null 2>&1 || cargo fuzz build "${BUILD_FLAGS[@]}"
bin=target/x86_64-unknown-linux-gnu/release

# target mutation corpus
rows="
ops free-objects-double-count seeds
ops full-slab-stays-partial seeds
ops transfer-ignores-limit seeds
ops flusharray-no-shift seeds
ops grow-fail-leaks-pages seeds
ops destroy-despite-live-objects seeds
ops freelist-duplicate seeds
ops bufctl-no-end seeds
ops reap-foreign-cpu seeds
ops irq-window-in-atomic seeds
ops ctor-skipped seeds
ops kmalloc-class-too-small seeds
ops hotplug-keeps-free-limit seeds
ops hotplug-skips-dead-array seeds
ops hotplug-frees-node seeds
schedule stale-ac-after-grow seeds
schedule stale-ac-after-grow empty
schedule no-recheck-after-grow seeds
schedule no-recheck-after-grow empty
schedule irq-window-in-atomic seeds
schedule irq-window-in-atomic empty
schedule colour-next-unlocked seeds
schedule free-block-unlocked seeds
schedule shared-transfer-unlocked seeds
schedule tune-frees-array-early seeds
schedule transfer-ignores-limit seeds
schedule take-cpu-down-unstopped seeds
schedule create-lock-order seeds
schedule fallback-grow-asked-node seeds
geometry offslab-limit-stale seeds
geometry offslab-self-descriptor seeds
"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "| target | mutation | corpus | result | inputs | seconds |"
echo "|---|---|---|---|---:|---:|"
missed=0
while read -r target mutation corpus; do
    dir="$scratch/$target-$mutation-$corpus"
    mkdir -p "$dir/corpus"
    if [ "$corpus" = seeds ]; then
        cp "corpus/$target"/seed-* "$dir/corpus/"
    fi
    start=$(date +%s.%N)
    set +e
    SLAB_FUZZ_MUTATION="$mutation" "$bin/$target" "$dir/corpus" -seed=1 \
        -max_total_time="$CAP" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/" >"$dir/log" 2>&1
    rc=$?
    set -e
    end=$(date +%s.%N)
    execs=$(grep -o 'number_of_executed_units: [0-9]*' "$dir/log" | grep -o '[0-9]*$' || echo "?")
    secs=$(echo "$end - $start" | bc | sed 's/^\./0./')
    if [ "$rc" -ne 0 ] && ls "$dir"/crash-* >/dev/null 2>&1; then
        result=found
    else
        result="not found"
        missed=$((missed + 1))
    fi
    printf '| `%s` | `%s` | %s | %s | %s | %.2f |\n' "$target" "$mutation" "$corpus" "$result" "$execs" "$secs"
done < <(echo "$rows" | grep -v '^$' | grep -E "${ROWS:-.}")
if [ "$missed" -gt 0 ]; then
    echo "FAIL: $missed mutation(s) not found within ${CAP}s" >&2
    exit 1
fi
