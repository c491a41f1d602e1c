#!/usr/bin/env bash
# rustc wrapper for the fuzz build: keeps libFuzzer's coverage instrumentation
# (SanitizerCoverage, `-Cpasses=sancov-module`, added by cargo-fuzz to every crate) only
# on the crates named in SLAB_FUZZ_FOCUS (default: the model, `slab_model`).
#
# Why: the harness (`slab_verify`: reference model, scenarios, target bodies), shuttle's
# runtime and the other dependencies say nothing about which allocator states an input
# reached, yet every edge they touch costs libFuzzer a feature lookup per input. Measured
# on the `ops` target: ~3,400 edges per run before, ~1,000 after, and 1.3-1.6x the
# executions per second at the same inputs (docs/fuzzing.md). Everything is still
# compiled and run; only the coverage counters are left out. Used through
# fuzz/.cargo/config.toml (`build.rustc-wrapper`), so `cargo fuzz` run inside fuzz/
# picks it up; SLAB_FUZZ_FOCUS="*" instruments everything again.
set -euo pipefail

rustc="$1"
shift

crate=""
prev=""
for a in "$@"; do
    if [ "$prev" = "--crate-name" ]; then
        crate="$a"
        break
    fi
    prev="$a"
done

focus="${SLAB_FUZZ_FOCUS:-slab_model}"
if [ "$focus" = "*" ] || [ -z "$crate" ]; then
    exec "$rustc" "$@"
fi
for f in $focus; do
    if [ "$f" = "$crate" ]; then
        exec "$rustc" "$@"
    fi
done

args=()
for a in "$@"; do
    if [ "$a" != "-Cpasses=sancov-module" ]; then
        args+=("$a")
    fi
done
exec "$rustc" "${args[@]}"
