#!/usr/bin/env bash
# cargo-mutants over the whole of slab-model, in shards that each fit a working session.
#
#   ci/mutants.sh                 # shard 1 of $MUTANT_SHARDS (default 40)
#   MUTANT_SHARD=7 ci/mutants.sh  # shard 7
#   MUTANT_PASS=deep MUTANT_SHARD=7 ci/mutants.sh
#                                 # re-test shard 7's missed mutants with loom and shuttle
#   ci/mutants-table.py mutants/  # the per-file table of every shard run so far
#
# Shards are consecutive slices of cargo-mutants' mutant list (`--sharding slice`), which
# is ordered by file, so a shard covers one to three files completely: 2,611 mutants in 40
# shards of ~65, about an hour each on 2 cores (one mutant: an incremental opt-level-1
# rebuild of slab-model, slab-verify and the test crates, then the fast suites).
#
# Two passes, because the suites that kill concurrency mutants are the slow ones:
#   fast (default): the root package's sequential suites
#     (conformance, misuse, golden, stats, debug_slab, alien, hotplug, slabinfo,
#     mempolicy, state_machine, scenarios_std, fuzz_corpus) — seconds per mutant;
#   deep: `--iterate` over the same shard (only what the fast pass missed or timed out),
#     with the loom and shuttle suites added, in mutants/shard-KK-of-NN-deep/ (seeded with
#     the fast pass's results, which --iterate reads).
# Results land in mutants/shard-KK-of-NN/mutants.out/ (outcomes.json, caught.txt,
# missed.txt, ...); docs/mutations.md has the table and the argument for each missed
# mutant that is equivalent.
#
# Environment: MUTANT_SHARD (1-based, default 1), MUTANT_SHARDS (default 40), MUTANT_PASS
# (fast | deep), MUTANT_JOBS (default 1), MUTANT_FILES (space-separated paths: only these
# files, without sharding). Extra arguments go to cargo mutants.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null 2>&1 || cargo install cargo-mutants --locked

shards=${MUTANT_SHARDS:-40}
shard=${MUTANT_SHARD:-1}
pass=${MUTANT_PASS:-fast}
if ! [[ "$shard" =~ ^[0-9]+$ && "$shards" =~ ^[0-9]+$ ]] || [ "$shard" -lt 1 ] || [ "$shard" -gt "$shards" ]; then
  echo "ci/mutants.sh: MUTANT_SHARD=$shard of MUTANT_SHARDS=$shards: need 1 <= shard <= shards" >&2
  exit 2
fi

tests=(conformance misuse golden stats debug_slab alien hotplug slabinfo mempolicy
  state_machine scenarios_std fuzz_corpus)
features=()
extra=()
suffix=""
case "$pass" in
  fast) ;;
  deep)
    tests+=(loom shuttle)
    features=(--features loom,shuttle)
    extra=(--iterate)
    suffix=-deep
    # The default loom suite explores each scenario completely (about 3 minutes at
    # opt-level 3); per mutant the old bound 2 is enough, and its counts are recorded too.
    export SLAB_LOOM_PREEMPTIONS=2
    ;;
  *)
    echo "ci/mutants.sh: MUTANT_PASS=$pass: expected fast or deep" >&2
    exit 2
    ;;
esac

# cargo-mutants tests the mutated package by default; --workspace reaches the root
# package's suites, and --test narrows them.
args=(-p slab-model --cargo-test-arg=--workspace)
for t in "${tests[@]}"; do args+=("--cargo-test-arg=--test=$t"); done

select=()
fast_out="mutants/shard-$(printf %02d "$shard")-of-$(printf %02d "$shards")"
out="$fast_out$suffix"
if [ -n "${MUTANT_FILES:-}" ]; then
  for f in $MUTANT_FILES; do select+=(-f "$f"); done
  out="mutants/files"
else
  # cargo-mutants numbers shards from 0.
  select=(--shard "$((shard - 1))/$shards" --sharding slice)
fi
mkdir -p "$out"
if [ "$pass" = deep ] && [ ! -d "$out/mutants.out" ]; then
  if [ ! -f "$fast_out/mutants.out/outcomes.json" ]; then
    echo "ci/mutants.sh: the deep pass re-tests what the fast pass missed: run the fast pass of shard $shard first" >&2
    exit 2
  fi
  cp -r "$fast_out/mutants.out" "$out/"
fi

exec cargo mutants "${args[@]}" ${features[@]+"${features[@]}"} ${extra[@]+"${extra[@]}"} \
  "${select[@]}" --profile mutants --jobs "${MUTANT_JOBS:-1}" --timeout 300 \
  --output "$out" "$@"
