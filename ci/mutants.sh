#!/usr/bin/env bash
# cargo-mutants over the whole of slab-model, in shards that each fit a working session.
#
#   ci/mutants.sh                 # shard 1 of $MUTANT_SHARDS (default 40)
#   MUTANT_SHARD=7 ci/mutants.sh  # shard 7
#   MUTANT_PASS=deep MUTANT_SHARD=7 ci/mutants.sh
#                                 # re-test shard 7's missed mutants with loom and shuttle
#   MUTANT_PASS=recheck MUTANT_SHARD=7 ci/mutants.sh
#                                 # after new tests: re-test only what shard 7 missed
#   MUTANT_PASS=recheck MUTANT_SHARD=all ci/mutants.sh
#                                 # re-test what every shard run so far still misses,
#                                 # in one run (one baseline build instead of one a shard)
#   ci/mutants-table.py mutants/  # the per-file table of every shard run so far
#
# Shards are consecutive slices of cargo-mutants' mutant list (`--sharding slice`), which
# is ordered by file, so a shard covers one to four files: 2,636 mutants at commit 02fa916
# (`cargo mutants --list -p slab-model | wc -l`) in 40 shards of 65-66, about 13 minutes
# each on 2 cores (a mutant: an incremental opt-level-1 rebuild of slab-model,
# slab-verify and two test binaries, 7-8 s, then the fast suites, 1 s; a hang costs the
# 300 s timeout). Slices move when the code changes; each result records its commit.
#
# Three passes, because the suites that kill concurrency mutants are the slow ones and
# new tests need a record of what they kill:
#   fast (default): slab-model's unit tests and tests/fast_suites, the root package's
#     sequential suites as one crate (conformance, misuse, golden, stats, debug_slab,
#     alien, hotplug, slabinfo, mempolicy, state_machine, scenarios_std, fuzz_corpus);
#   deep: only what the fast pass missed or timed out, with the loom and shuttle suites
#     added, in mutants/shard-KK-of-NN-deep/;
#   recheck: only what the latest pass missed (not its timeouts), with the fast suites, in
#     mutants/shard-KK-of-NN-recheck/: the record that a test written after the run kills
#     the mutants it was written for (minutes, not a whole shard).
# Results land in mutants/shard-KK-of-NN/mutants.out/ (outcomes.json, caught.txt,
# missed.txt, ...); docs/mutations.md has the table and the argument for each missed
# mutant that is equivalent.
#
# Environment: MUTANT_SHARD (1-based, default 1), MUTANT_SHARDS (default 40), MUTANT_PASS
# (fast | deep | recheck), MUTANT_JOBS (default 1), MUTANT_FILES (space-separated paths: only these
# files, without sharding). Extra arguments go to cargo mutants.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null 2>&1 || cargo install cargo-mutants --locked

shards=${MUTANT_SHARDS:-40}
shard=${MUTANT_SHARD:-1}
pass=${MUTANT_PASS:-fast}
if [ "$shard" = all ] && [ "$pass" != recheck ]; then
  echo "ci/mutants.sh: MUTANT_SHARD=all is for MUTANT_PASS=recheck only" >&2
  exit 2
fi
if [ "$shard" = all ]; then
  : # every shard's latest pass; checked below
elif ! [[ "$shard" =~ ^[0-9]+$ && "$shards" =~ ^[0-9]+$ ]] || [ "$shard" -lt 1 ] || [ "$shard" -gt "$shards" ]; then
  echo "ci/mutants.sh: MUTANT_SHARD=$shard of MUTANT_SHARDS=$shards: need 1 <= shard <= shards" >&2
  exit 2
fi

# The fast suites are one crate, tests/fast_suites (the sequential suites as modules):
# one build of the model's generic code and one link per mutant instead of twelve; and
# slab-model's own unit tests (`--lib`: geometry, page allocator, memory, audit).
tests=(fast_suites)
features=slab-suite/fast-suites
suffix=""
case "$pass" in
  fast) ;;
  deep)
    tests+=(loom shuttle)
    features+=,slab-suite/loom,slab-suite/shuttle
    suffix=-deep
    # The default loom suite explores each scenario completely (about 3 minutes at
    # opt-level 3); per mutant the old bound 2 is enough, and its counts are recorded too.
    export SLAB_LOOM_PREEMPTIONS=2
    ;;
  recheck)
    suffix=-recheck
    ;;
  *)
    echo "ci/mutants.sh: MUTANT_PASS=$pass: expected fast, deep or recheck" >&2
    exit 2
    ;;
esac

# cargo-mutants mutates and tests slab-model (-p); the root package (slab-suite) holds
# the suites. Given to every cargo invocation (-C), not only to `cargo test`
# (--cargo-test-arg), so that the build phase builds exactly the binaries the test
# phase runs.
args=(-p slab-model --features "$features" -C=--package=slab-suite -C=--lib)
for t in "${tests[@]}"; do args+=("-C=--test=$t"); done

select=()
if [ "$shard" = all ]; then
  fast_out="mutants/shard-all-of-$(printf %02d "$shards")"
else
  fast_out="mutants/shard-$(printf %02d "$shard")-of-$(printf %02d "$shards")"
fi
out="$fast_out$suffix"
if [ -n "${MUTANT_FILES:-}" ]; then
  for f in $MUTANT_FILES; do select+=(-f "$f"); done
  out="mutants/files"
elif [ "$shard" != all ]; then
  # cargo-mutants numbers shards from 0.
  select=(--shard "$((shard - 1))/$shards" --sharding slice)
fi
if [ "$pass" != fast ]; then
  if [ -n "${MUTANT_FILES:-}" ]; then
    echo "ci/mutants.sh: the $pass pass re-tests one shard's missed mutants: set MUTANT_SHARD, not MUTANT_FILES" >&2
    exit 2
  fi
  # The latest earlier pass: a recheck after a deep pass re-tests what the deep pass missed.
  seed="$fast_out"
  if [ "$pass" = recheck ] && [ -f "$fast_out-deep/mutants.out/outcomes.json" ]; then
    seed="$fast_out-deep"
  fi
  if [ "$shard" != all ] && [ ! -f "$seed/mutants.out/outcomes.json" ]; then
    echo "ci/mutants.sh: the $pass pass re-tests what the fast pass missed: run the fast pass of shard $shard first" >&2
    exit 2
  fi
  # Select the missed and timed-out mutants by file (-f) and description (-F). Not
  # `--iterate` with `--shard`: cargo-mutants slices the list after dropping the caught
  # ones, so the slice would be another shard's mutants. -F matches file and description
  # but not line and column, so that a mutant still matches after an edit above it moved
  # it, and a description that recurs in a file selects every copy (re-tested, harmless);
  # -f keeps cargo-mutants' struct-field mutants of other files out.
  # The recheck leaves the timed-out ones alone: a hang already failed the tests, and
  # each costs the whole 300 s timeout again.
  from=("$seed/mutants.out/missed.txt")
  if [ "$pass" = deep ]; then from+=("$seed/mutants.out/timeout.txt"); fi
  if [ "$shard" = all ]; then
    # Each shard's latest pass: its recheck, else its deep pass, else its fast pass.
    from=()
    for f in mutants/shard-[0-9][0-9]-of-"$(printf %02d "$shards")"; do
      latest="$f"
      for s in "$f-deep" "$f-recheck"; do
        if [ -f "$s/mutants.out/outcomes.json" ]; then latest="$s"; fi
      done
      from+=("$latest/mutants.out/missed.txt")
    done
  fi
  mapfile -t select < <(cat "${from[@]}" 2>/dev/null |
    python3 -c '
import re, sys
files, res = set(), set()
for line in sys.stdin:
    m = re.match(r"^(\S+?):\d+:\d+: (.*)$", line.rstrip("\n"))
    if m:
        files.add(m.group(1))
        res.add("^" + re.escape(m.group(1)) + r":\d+:\d+: " + re.escape(m.group(2)) + "$")
for f in sorted(files):
    print("-f"); print(f)
for r in sorted(res):
    print("-F"); print(r)
')
  if [ "${#select[@]}" -eq 0 ]; then
    echo "ci/mutants.sh: $seed has no missed or timed-out mutant: nothing for the $pass pass to re-test" >&2
    exit 2
  fi
fi

mkdir -p "$out"
# Shard boundaries move when the model's code changes (a new mutant shifts every later
# slice), so each result records the commit it was run at.
git rev-parse HEAD >"$out/commit"
exec cargo mutants "${args[@]}" \
  "${select[@]}" --profile mutants --jobs "${MUTANT_JOBS:-1}" --timeout 300 \
  --output "$out" "$@"
