#!/usr/bin/env python3
"""The per-file table of cargo-mutants results over every shard run so far.

    ci/mutants-table.py [DIR]      # DIR defaults to mutants/

Reads DIR/shard-*/mutants.out/outcomes.json (written by ci/mutants.sh: the fast pass in
DIR/shard-KK-of-NN/, a deep pass in ...-deep/, a recheck after new tests in ...-recheck/;
a deep pass or recheck replaces every earlier outcome of each (file, description) it
re-tested, whatever its line, since lines move between the commits the passes ran at)
and prints a Markdown
table: per file, caught, missed, unviable, timeouts, missed as a share of the viable
(caught + missed + timeouts), and how many the fast passes alone missed;
then the mutants still missed, by name. Exits 2 when there is nothing to read: a table of
no mutants is not a result.
"""

import glob
import json
import os
import sys

KINDS = {
    "CaughtMutant": "caught",
    "MissedMutant": "missed",
    "Unviable": "unviable",
    "Timeout": "timeout",
}


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else "mutants"
    # Later passes last, so that their outcome for a mutant wins.
    files = sorted(
        glob.glob(os.path.join(root, "shard-*", "mutants.out", "outcomes.json")),
        key=lambda p: (pass_rank(p), p),
    )
    if not files:
        print(f"mutants-table: no {root}/shard-*/mutants.out/outcomes.json", file=sys.stderr)
        return 2
    by_name = {}
    first = {}
    shards = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        shards.append(os.path.basename(os.path.dirname(os.path.dirname(path))))
        outcomes = []
        for o in data.get("outcomes", []):
            sc = o.get("scenario")
            if not isinstance(sc, dict) or "Mutant" not in sc:
                continue  # the baseline
            kind = KINDS.get(o.get("summary"))
            if kind is None:
                continue
            outcomes.append((sc["Mutant"], kind))
        if pass_rank(path) > 0:
            # A deep pass or recheck re-tests every copy of a (file, description) it
            # selects, possibly at a later commit where the lines moved: its outcomes
            # replace the earlier passes' for the whole group, whatever their lines.
            groups = {group(m["name"]) for m, _ in outcomes}
            for name in [n for n in by_name if group(n) in groups]:
                by_name.pop(name)
        for m, kind in outcomes:
            by_name[m["name"]] = (m["file"], kind)
            if pass_rank(path) == 0:
                first[m["name"]] = (m["file"], kind)
    if not by_name:
        print("mutants-table: the outcome files hold no mutant", file=sys.stderr)
        return 2
    rows = {}
    blank = {"caught": 0, "missed": 0, "unviable": 0, "timeout": 0, "first": 0}
    for name, (file, kind) in by_name.items():
        rows.setdefault(file, dict(blank))[kind] += 1
    # What the fast passes alone missed, before any later pass or new test.
    for name, (file, kind) in first.items():
        rows.setdefault(file, dict(blank))["first"] += kind == "missed"
    total = dict(blank)
    print(f"Shards: {', '.join(shards)} ({len(by_name)} mutants)\n")
    print("| file | caught | missed | unviable | timeouts | missed / viable | missed by the fast pass |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for file in sorted(rows):
        r = rows[file]
        for k in total:
            total[k] += r[k]
        print(row(file, r))
    print(row("**all**", total))
    missed = sorted(n for n, (_, k) in by_name.items() if k == "missed")
    if missed:
        print("\nStill missed:\n")
        for n in missed:
            print(f"- `{n}`")
    return 0


def row(name, r) -> str:
    viable = r["caught"] + r["missed"] + r["timeout"]
    share = f"{100 * r['missed'] / viable:.1f} %" if viable else "–"
    return (
        f"| {name} | {r['caught']} | {r['missed']} | {r['unviable']} | {r['timeout']} | {share} "
        f"| {r['first']} |"
    )


def group(name: str) -> str:
    """`file:line:col: description` without the line and column."""
    file, _, rest = name.partition(":")
    return file + ":" + rest.split(": ", 1)[-1]


def pass_rank(path) -> int:
    shard = os.path.basename(os.path.dirname(os.path.dirname(path)))
    if shard.endswith("-recheck"):
        return 2
    if shard.endswith("-deep"):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
