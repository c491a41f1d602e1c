#!/usr/bin/env bash
# cargo-mutants on slab-model's lock / list-move / array core, killed by the fast suites.
#
# Mutated files (the concurrency-critical core): array_cache.rs, node.rs, free.rs,
# alien.rs, shrink.rs — override with MUTANT_FILES="alloc grow ...".
# Test set: `cargo test --workspace` narrowed to the root package's loom suite (every
# scenario, exhaustive at bound 2, plus each scenario's known-bad variants), conformance,
# misuse, alien and std-scenario tests and the proptest state machine, built with the
# `mutants` profile (opt-level 1 for the workspace, 3 for dependencies). (cargo-mutants tests the
# mutated package by default; `--cargo-test-arg=--workspace` widens that to the suites
# that actually exercise the model.) Shard across machines with `--shard k/n`; extra
# arguments are passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null 2>&1 || cargo install cargo-mutants --locked
files=${MUTANT_FILES:-"array_cache node free alien shrink"}
args=()
for f in $files; do args+=(-f "slab-model/src/$f.rs"); done
exec cargo mutants --workspace --features loom --cargo-test-arg=--workspace \
  "${args[@]}" \
  --cargo-test-arg=--test=loom --cargo-test-arg=--test=conformance \
  --cargo-test-arg=--test=misuse --cargo-test-arg=--test=scenarios_std \
  --cargo-test-arg=--test=state_machine --cargo-test-arg=--test=alien \
  --profile mutants \
  --jobs "${MUTANT_JOBS:-2}" --timeout 240 --output "${MUTANT_OUT:-target}" "$@"
