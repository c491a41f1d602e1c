//! Every command's `--json` against the one schema (verify/schema/slab-verify.schema.json):
//! the envelope, names instead of bitmasks and Rust variant names, addresses as hex
//! strings, no number above 2^53, nothing on stderr.

use serde_json::Value;
use std::process::Command;

const SCHEMA: &str = include_str!("../schema/slab-verify.schema.json");
const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/golden-slabinfo.tsv"
);

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("the schema is JSON")
}

/// The schema with its top-level `oneOf` narrowed to `$defs/<def>`: errors then name the
/// field instead of "not valid under any of the schemas".
fn schema_of(def: &str) -> Value {
    let mut s = schema();
    s["oneOf"] = serde_json::json!([{ "$ref": format!("#/$defs/{def}") }]);
    s
}

fn validate(def: &str, v: &Value) {
    let narrow = jsonschema::validator_for(&schema_of(def)).expect("the schema compiles");
    let errors: Vec<String> = narrow
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{def}: not valid under the schema:\n  {}\n{v:#}",
        errors.join("\n  ")
    );
    let full = jsonschema::validator_for(&schema()).expect("the schema compiles");
    assert!(full.is_valid(v), "{def}: not valid under the full schema");
}

/// Numbers a JSON parser using doubles would corrupt (above 2^53), by path.
fn big_numbers(v: &Value, path: &str, out: &mut Vec<String>) {
    const LIMIT: u64 = 1 << 53;
    match v {
        Value::Number(n) => {
            let big = n.as_u64().map(|x| x > LIMIT).unwrap_or(false)
                || n.as_i64()
                    .map(|x| x.unsigned_abs() > LIMIT)
                    .unwrap_or(false)
                || n.as_f64().map(|x| x.abs() > LIMIT as f64).unwrap_or(false);
            if big {
                out.push(format!("{path} = {n}"));
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                big_numbers(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                big_numbers(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Rust variant names that must never reach JSON (names are kebab-case or lower case).
fn rust_names() -> Vec<String> {
    use slab_verify::matrix::Checker;
    let mut v: Vec<String> = slab_model::Mutation::ALL
        .iter()
        .map(|m| format!("{m:?}"))
        .collect();
    v.extend(
        slab_verify::scenarios::SCENARIOS
            .iter()
            .map(|s| format!("{:?}", s.id)),
    );
    v.extend(Checker::all().iter().map(|c| format!("{c:?}")));
    v.extend(
        [
            "Loom",
            "Random",
            "Pct",
            "Dfs",
            "Mutation",
            "Fix",
            "OnSlab",
            "General",
            "SelfCache",
            "Iterations",
            "Seconds",
        ]
        .map(String::from),
    );
    v
}

/// A one-word CamelCase string (`NoRecheckAfterGrow`, `ShuttleRandom`).
fn camel_case(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.chars().any(|c| c.is_ascii_lowercase())
        && s.chars().skip(1).any(|c| c.is_ascii_uppercase())
}

fn rust_spellings(v: &Value, path: &str, banned: &[String], out: &mut Vec<String>) {
    let bad = |s: &str| banned.iter().any(|b| b == s) || camel_case(s);
    match v {
        Value::String(s) if bad(s) => out.push(format!("{path} = {s:?}")),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                rust_spellings(x, &format!("{path}[{i}]"), banned, out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                if bad(k) {
                    out.push(format!("{path}: key {k:?}"));
                }
                rust_spellings(x, &format!("{path}.{k}"), banned, out);
            }
        }
        _ => {}
    }
}

/// Runs `slab-verify args`, checks the exit code, that stderr is empty (no shuttle noise,
/// no progress bar off a terminal) and that stdout is one valid `def` document.
fn json_of(def: &str, args: &[&str], exit: i32) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args(args)
        .output()
        .expect("slab-verify runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(exit), "{args:?}: {stderr}");
    assert!(stderr.is_empty(), "{args:?} wrote on stderr:\n{stderr}");
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}):\n{stdout}"));
    assert_eq!(v["schema_version"], 1, "{args:?}");
    assert_eq!(v["tool"], "slab-verify");
    assert_eq!(v["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["command"], args[0], "{args:?}");
    validate(def, &v);
    let mut big = Vec::new();
    big_numbers(&v, "$", &mut big);
    assert!(big.is_empty(), "{args:?}: numbers above 2^53: {big:?}");
    let mut rust = Vec::new();
    rust_spellings(&v, "$", &rust_names(), &mut rust);
    assert!(rust.is_empty(), "{args:?}: Rust spellings: {rust:?}");
    v
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("slab-verify-json-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::meta::validate(&s).expect("valid against the 2020-12 meta-schema");
    for def in [
        "list",
        "check",
        "run",
        "replay",
        "mutations",
        "geometry",
        "envelope",
    ] {
        assert!(s["$defs"][def].is_object(), "no $defs/{def}");
    }
}

#[test]
fn list_names_switches_and_writes_addresses_in_hex() {
    let v = json_of("list", &["list", "--json"], 0);
    let names: Vec<&str> = v["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = slab_model::Mutation::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(names, want);
    for s in v["scenarios"].as_array().unwrap() {
        for m in s["catches"].as_array().unwrap() {
            assert!(names.contains(&m.as_str().unwrap()), "{s}");
        }
    }
    let x86 = v["presets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "x86_64-2.6.30")
        .expect("the x86_64 preset");
    assert_eq!(x86["profile"]["page_offset"], "0xffff880000000000");
}

#[test]
fn check_reports_campaigns_in_executions_with_names() {
    let v = json_of(
        "check",
        &[
            "check",
            "--iterations",
            "2",
            "--shard",
            "1/40",
            "--jobs",
            "1",
            "--json",
        ],
        0,
    );
    let c = v["campaigns"].as_array().unwrap();
    assert!(!c.is_empty());
    assert_eq!(v["summary"]["campaigns"], c.len());
    assert_eq!(v["summary"]["planned_campaigns"], c.len());
    assert_eq!(v["interrupted"], false);
    assert_eq!(v["summary"]["passed"], true);
    assert_eq!(v["shard"]["index"], 1);
    assert_eq!(v["shard"]["count"], 40);
    for row in c {
        assert!(["random", "pct3"].contains(&row["scheduler"].as_str().unwrap()));
        if row["expected_finding"] == false {
            assert_eq!(row["executions"], 2, "{row}");
            assert_eq!(row["result"], "ok");
        }
    }
}

#[test]
fn run_passing_names_its_scheduler_and_budget() {
    let v = json_of(
        "run",
        &["run", "two-cpus-refill", "--iterations", "5", "--json"],
        0,
    );
    assert_eq!(v["result"], "ok");
    assert_eq!(v["executions"], 5);
    assert_eq!(v["budget"]["executions"], 5);
    assert_eq!(v["scheduler"], "random");
    assert_eq!(v["mutations"], serde_json::json!([]));
    assert!(v["failure"].is_null());
}

#[test]
fn run_failing_carries_the_structured_trace_and_still_prints_json() {
    let html = tmp("cx.html");
    let v = json_of(
        "run",
        &[
            "run",
            "migrate-across-window",
            "--mutation",
            "stale-ac-after-grow",
            "--iterations",
            "50",
            "--html",
            html.to_str().unwrap(),
            "--json",
        ],
        1,
    );
    assert_eq!(v["result"], "failed");
    assert_eq!(v["mutations"], serde_json::json!(["stale-ac-after-grow"]));
    let f = &v["failure"];
    let message = f["message"].as_str().unwrap();
    assert_eq!(f["invariant"], message.lines().next().unwrap());
    assert!(f["token"].as_str().unwrap().contains("stale-ac-after-grow"));
    assert_eq!(f["html"], html.to_str().unwrap());
    assert!(html.exists(), "the page is written with --json too");
    let t = &f["trace"];
    assert_eq!(t["invariant"], f["invariant"]);
    let rows = t["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.last().unwrap()["failing"] == true);
    assert!(t["lanes"].as_array().unwrap().len() >= 2);
}

#[test]
fn mutations_cells_name_their_checkers() {
    let v = json_of(
        "mutations",
        &[
            "mutations",
            "--mutation",
            "ctor-skipped",
            "--shuttle-iterations",
            "50",
            "--reference-runs",
            "2",
            "--geometry-cases",
            "10",
            "--json",
        ],
        // Whether the small budget catches it decides the exit code; the JSON says which.
        if caught_ctor_skipped() { 0 } else { 1 },
    );
    let checkers: Vec<&str> = slab_verify::matrix::Checker::all()
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(v["checkers"], serde_json::json!(checkers));
    let row = &v["rows"][0];
    assert_eq!(row["mutation"], "ctor-skipped");
    let cells: Vec<&str> = row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["checker"].as_str().unwrap())
        .collect();
    assert_eq!(cells, checkers);
    assert_eq!(v["budget"]["shuttle_executions"], 50);
    assert_eq!(v["summary"]["passed"], row["caught"]);
}

/// ctor-skipped is not a concurrency mutation, so the run passes iff some checker caught
/// it: the matrix library says whether, with the same budget.
fn caught_ctor_skipped() -> bool {
    use slab_verify::matrix::{detect, Checker, MatrixBudget};
    let b = MatrixBudget {
        shuttle_iterations: 50,
        reference_runs: 2,
        reference_ops: 150,
        geometry_cases: 10,
    };
    Checker::all()
        .into_iter()
        .any(|c| detect(slab_model::Mutation::CtorSkipped, c, &b).caught)
}

#[test]
fn geometry_honours_json_in_both_modes() {
    let v = json_of("geometry", &["geometry", "--size", "100", "--json"], 0);
    assert_eq!(v["mode"], "cache");
    assert!(v["slabinfo"]["objperslab"].as_u64().unwrap() > 0);
    assert!(v["profile"]["page_offset"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
    assert!(v["geometry"]["flags"]["value"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
    let v = json_of("geometry", &["geometry", "--check", GOLDEN, "--json"], 0);
    assert_eq!(v["mode"], "golden-check");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(v["summary"]["rows"], rows.len());
    assert_eq!(v["summary"]["matching"], rows.len());
    assert!(rows
        .iter()
        .all(|r| r["ok"] == true && r["computed"] == r["expected"]));
}

/// The token and replay file of a failing `run`.
fn failing_run(scenario: &str, mutation: &str) -> (String, std::path::PathBuf) {
    let file = tmp(&format!("{scenario}.replay.json"));
    let v = json_of(
        "run",
        &[
            "run",
            scenario,
            "--mutation",
            mutation,
            "--html",
            tmp("r.html").to_str().unwrap(),
            "--save",
            file.to_str().unwrap(),
            "--json",
        ],
        1,
    );
    (v["failure"]["token"].as_str().unwrap().to_string(), file)
}

#[test]
fn replay_reports_each_outcome_in_the_schema_with_its_exit_code() {
    let (token, file) = failing_run("grow-failure", "ctor-skipped");
    // From the replay file: the recorded failure is named and seen again.
    let v = json_of(
        "replay",
        &["replay", "--file", file.to_str().unwrap(), "--json"],
        1,
    );
    assert_eq!(v["outcome"], "reproduced");
    assert_eq!(v["expected"], v["observed"]);
    assert_eq!(v["expected"]["context"], "audit (after join)");
    assert_eq!(v["recorded_steps"], v["replayed_steps"]);
    // The fixed model follows the recorded steps and runs on to pass.
    let v = json_of(
        "replay",
        &["replay", &token, "--without", "ctor-skipped", "--json"],
        0,
    );
    assert_eq!(v["outcome"], "passed");
    assert_eq!(v["observed"], Value::Null);
    assert_eq!(v["mutations"], serde_json::json!([]));
    // A bare token names no expected failure, only its fingerprint.
    let v = json_of("replay", &["replay", &token, "--json"], 1);
    assert_eq!(v["expected"], Value::Null);
    // An edited configuration diverges (exit 3).
    let edited = token.replacen(":grow-failure:", ":two-cpus-refill:", 1);
    let v = json_of("replay", &["replay", &edited, "--json"], 3);
    assert_eq!(v["outcome"], "diverged");
    let bad = {
        let mut b = v.clone();
        b["outcome"] = "Diverged".into();
        b
    };
    let val = jsonschema::validator_for(&schema_of("replay")).unwrap();
    assert!(!val.is_valid(&bad), "a Rust variant name is not an outcome");
}
