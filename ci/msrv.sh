#!/usr/bin/env bash
# MSRV check: every package's `rust-version` must be at least what the committed lock file
# needs. Run from anywhere; takes a second or two (cargo may download crate manifests the
# first time).
#
# For each workspace (the main one and fuzz/, which has its own Cargo.lock), runs
#
#     cargo metadata --format-version 1 --all-features --locked
#
# and takes the highest `rust-version` declared by any resolved package that is not a member
# of that workspace: every dependency, dev-dependency and optional dependency (loom),
# for every target platform, because `cargo test --features loom,shuttle` builds them all.
# The workspace is built and tested as one, so each member must declare at least that.
#
# Exit status: 1 if a member declares less than needed or declares no `rust-version` (the
# message names the crates that need more); 0 otherwise. A member that declares *more*
# than the lock file needs is reported as a note (by how many releases) but passes: a
# crate may require a newer compiler for its own code.
#
# Needs cargo and python3 or jq (MSRV_TOOL=jq forces jq).
set -euo pipefail

cd "$(dirname "$0")/.."

tool="${MSRV_TOOL:-}" # python3 or jq; default: python3 if present
if [ -n "$tool" ]; then
    command -v "$tool" >/dev/null 2>&1 || { echo "msrv: MSRV_TOOL=$tool is not installed" >&2; exit 2; }
elif command -v python3 >/dev/null 2>&1; then
    tool=python3
elif command -v jq >/dev/null 2>&1; then
    tool=jq
else
    echo "msrv: needs python3 or jq to read cargo metadata" >&2
    exit 2
fi

# check MANIFEST: prints the verdict for one workspace; returns 1 on a failure.
check() {
    local manifest="$1" json
    json="$(cargo metadata --format-version 1 --all-features --locked --manifest-path "$manifest")"
    if [ "$tool" = python3 ]; then
        MSRV_MANIFEST="$manifest" python3 -c "$PY" <<<"$json"
    else
        jq -r --arg manifest "$manifest" "$JQ" <<<"$json" | {
            status=0
            while IFS= read -r line; do
                echo "$line"
                case "$line" in *"msrv: FAIL"*) status=1 ;; esac
            done
            exit "$status"
        }
    fi
}

# shellcheck disable=SC2016
PY='
import json, os, sys
from collections import deque

def ver(s):
    parts = [int(x) for x in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

def show(v):
    return "%d.%d" % v[:2] if v[2] == 0 else "%d.%d.%d" % v

m = json.load(sys.stdin)
manifest = os.environ["MSRV_MANIFEST"]
members = set(m["workspace_members"])
pkgs = {p["id"]: p for p in m["packages"]}
deps = [p for p in pkgs.values() if p["id"] not in members and p.get("rust_version")]
if not deps:
    print("msrv: %s: no dependency declares a rust-version" % manifest)
    sys.exit(0)
need = max(ver(p["rust_version"]) for p in deps)

# Who pulls a crate in: the shortest chain from a workspace member (resolve graph).
parents = {}
for node in m["resolve"]["nodes"]:
    for d in node["deps"]:
        parents.setdefault(d["pkg"], []).append(node["id"])

def chain(pid):
    seen, todo = {pid: None}, deque([pid])
    while todo:
        cur = todo.popleft()
        if cur in members:
            names = []
            while cur is not None:
                names.append(pkgs[cur]["name"])
                cur = seen[cur]
            return " -> ".join(names)
        for p in parents.get(cur, []):
            if p not in seen:
                seen[p] = cur
                todo.append(p)
    return "?"

def crates(pred, chains=True, most=6):
    hits = sorted((p for p in deps if pred(ver(p["rust_version"]))),
                  key=lambda p: (tuple(-x for x in ver(p["rust_version"])), p["name"]))
    text = ["%s %s (%s%s)" % (p["name"], p["version"], p["rust_version"],
                              "; " + chain(p["id"]) if chains else "") for p in hits[:most]]
    if len(hits) > most:
        text.append("and %d more" % (len(hits) - most))
    return ", ".join(text)

print("msrv: %s: the lock file needs Rust %s: %s" % (manifest, show(need), crates(lambda v: v == need)))
levels = sorted({ver(p["rust_version"]) for p in deps}, reverse=True)[1:3]
for lv in levels:
    print("msrv:   next, %s: %s" % (show(lv), crates(lambda v, lv=lv: v == lv)))

failed = False
for pid in sorted(members, key=lambda i: pkgs[i]["name"]):
    p = pkgs[pid]
    rv = p.get("rust_version")
    if not rv:
        print("msrv: FAIL: %s (%s) declares no rust-version; it needs %s"
              % (p["name"], p["manifest_path"], show(need)))
        failed = True
        continue
    have = ver(rv)
    if have < need:
        print("msrv: FAIL: %s (%s) declares rust-version %s, but the lock file needs %s for: %s"
              % (p["name"], p["manifest_path"], rv, show(need), crates(lambda v: v > have, chains=False, most=12)))
        failed = True
    elif have > need:
        if have[0] == need[0]:
            by = "%d minor release(s)" % (have[1] - need[1]) if have[1] != need[1] \
                else "%d patch release(s)" % (have[2] - need[2])
        else:
            by = "%d major release(s)" % (have[0] - need[0])
        print("msrv: note: %s declares rust-version %s, %s more than the lock file needs (%s)"
              % (p["name"], rv, by, show(need)))
    else:
        print("msrv: ok: %s declares rust-version %s" % (p["name"], rv))
sys.exit(1 if failed else 0)
'

# The same check without python3 (no dependency chains).
# shellcheck disable=SC2016
JQ='
def ver: split(".") | map(tonumber) | . + [0, 0, 0] | .[0:3];
def show: if .[2] == 0 then "\(.[0]).\(.[1])" else "\(.[0]).\(.[1]).\(.[2])" end;
(.workspace_members) as $members
| [.packages[] | select(.rust_version != null and ((.id | IN($members[])) | not))] as $deps
| if ($deps | length) == 0 then "msrv: \($manifest): no dependency declares a rust-version"
  else
  ($deps | map(.rust_version | ver) | max) as $need
  | def crates(f): [$deps[] | select(.rust_version | ver | f) | "\(.name) \(.version) (rust-version \(.rust_version))"] | sort | join(", ");
  "msrv: \($manifest): the lock file needs Rust \($need | show): \(crates(. == $need))",
  (.packages[] | select(.id | IN($members[])) |
    if .rust_version == null then
      "msrv: FAIL: \(.name) (\(.manifest_path)) declares no rust-version; it needs \($need | show)"
    else (.rust_version | ver) as $have
      | if $have < $need then
          "msrv: FAIL: \(.name) (\(.manifest_path)) declares rust-version \(.rust_version), but the lock file needs \($need | show) for: \(crates(. > $have))"
        elif $have > $need then
          "msrv: note: \(.name) declares rust-version \(.rust_version), more than the lock file needs (\($need | show))"
        else "msrv: ok: \(.name) declares rust-version \(.rust_version)" end
    end)
  end
'

status=0
check Cargo.toml || status=1
if [ -f fuzz/Cargo.lock ]; then
    check fuzz/Cargo.toml || status=1
fi
if [ "$status" -ne 0 ]; then
    echo "msrv: raise rust-version in the failing Cargo.toml files (or pin the crates named above to older versions in Cargo.lock)" >&2
fi
exit "$status"
