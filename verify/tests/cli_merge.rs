//! `slab-verify merge`: the reports of `check --shard i/n --json`, run as separate
//! processes, merge into the report of the whole job. The truth they are held to is an
//! unsharded `check` of the same seed and budget, run here too: the union of the shards
//! is the whole campaign list, and every campaign is deterministic in its seed, so the
//! merged campaigns must be the unsharded ones, in the same order, with the same
//! executions and results (only the timings differ). Bad input is refused with exit 2 and
//! a message naming the file, before anything is printed; a failing shard fails the merge
//! and its counterexample tokens still replay.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("../schema/slab-verify.schema.json");
/// Small enough for seconds per run, large enough that PCT and the random scheduler
/// really run (the faithful campaigns of shipped bugs get 20,000 whatever it is).
const ITERATIONS: &str = "30";
const SHARDS: usize = 3;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args(args)
        .output()
        .expect("slab-verify runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("slab-verify-merge-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `check --json` with `args`, writes its stdout to `name` in the test directory and
/// returns the path (the exit code is the caller's business).
fn check_to(name: &str, args: &[&str], want_code: i32) -> PathBuf {
    let mut all = vec!["check", "--json", "--jobs", "1"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert_eq!(
        o.status.code(),
        Some(want_code),
        "check {args:?}: {}",
        text(&o.stderr)
    );
    let p = dir().join(name);
    std::fs::write(&p, &o.stdout).unwrap();
    p
}

/// Shards 1..=SHARDS of the campaign at seed 1, written once for every test.
fn shards() -> &'static [PathBuf] {
    static S: OnceLock<Vec<PathBuf>> = OnceLock::new();
    S.get_or_init(|| {
        (1..=SHARDS)
            .map(|i| {
                let shard = format!("{i}/{SHARDS}");
                check_to(
                    &format!("shard-{i}.json"),
                    &["--shard", &shard, "--iterations", ITERATIONS],
                    0,
                )
            })
            .collect()
    })
}

fn paths(ps: &[&Path]) -> Vec<String> {
    ps.iter().map(|p| p.display().to_string()).collect()
}

fn merge(files: &[&Path], extra: &[&str]) -> Output {
    let mut args = vec!["merge".to_string()];
    args.extend(paths(files));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).expect("JSON on stdout")
}

/// A campaign without its timings, which are the only fields allowed to differ.
fn untimed(c: &Value) -> Value {
    let mut c = c.clone();
    let o = c.as_object_mut().unwrap();
    o.remove("seconds");
    o.remove("executions_per_second");
    c
}

fn validate(v: &Value) {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let mut narrow = schema.clone();
    narrow["oneOf"] = serde_json::json!([{ "$ref": "#/$defs/merge" }]);
    let validator = jsonschema::validator_for(&narrow).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "merge --json: {}", errors.join("\n"));
    let full = jsonschema::validator_for(&schema).expect("the schema compiles");
    assert!(full.is_valid(v), "not valid under the full schema");
}

#[test]
fn merged_shards_are_the_unsharded_campaign() {
    let whole = check_to("whole.json", &["--iterations", ITERATIONS], 0);
    let whole = json(&std::fs::read(whole).unwrap());
    let s = shards();
    // In any order: the merge puts the campaigns back in job order.
    let o = merge(&[&s[2], &s[0], &s[1]], &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stderr.is_empty(), "stderr: {}", text(&o.stderr));
    let merged = json(&o.stdout);
    validate(&merged);
    assert_eq!(merged["command"], "merge");
    let (m, w) = (
        merged["campaigns"].as_array().unwrap(),
        whole["campaigns"].as_array().unwrap(),
    );
    assert_eq!(m.len(), w.len(), "campaign count");
    for (k, (a, b)) in m.iter().zip(w).enumerate() {
        assert_eq!(untimed(a), untimed(b), "campaign {k} differs from check's");
    }
    for f in [
        "campaigns",
        "executions",
        "failed",
        "expected_findings",
        "passed",
    ] {
        assert_eq!(merged["summary"][f], whole["summary"][f], "summary.{f}");
    }
    assert_eq!(
        merged["summary"]["planned_campaigns"],
        whole["summary"]["planned_campaigns"]
    );
    assert_eq!(merged["summary"]["passed"], true);
    assert!(merged["summary"]["expected_findings"].as_u64().unwrap() > 0);
    let shards: Vec<u64> = merged["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["index"].as_u64().unwrap())
        .collect();
    assert_eq!(shards, vec![1, 2, 3]);
    let longest = merged["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["wall_seconds"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(merged["summary"]["longest_shard_wall_seconds"], longest);
}

/// The table of the text report without its timing columns (secs, exec/s) and the
/// summary line's timings: what a sharded and an unsharded run must print alike.
fn table(out: &str) -> Vec<String> {
    out.lines()
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // scenario era cpus ops sched executions secs exec/s result...
            [&w[..6], &w[8..]].concat().join(" ")
        })
        .collect()
}

#[test]
fn the_merged_text_report_is_checks_table() {
    let whole = run(&["check", "--iterations", ITERATIONS, "--jobs", "1"]);
    assert_eq!(whole.status.code(), Some(0));
    let s = shards();
    let o = merge(&[&s[0], &s[1], &s[2]], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let (m, w) = (text(&o.stdout), text(&whole.stdout));
    assert_eq!(table(&m), table(&w));
    let n = table(&w).len() - 1;
    let line = m
        .lines()
        .find(|l| l.contains(" campaigns ("))
        .expect("the summary line");
    assert!(
        line.starts_with(&format!("{n} campaigns ({SHARDS} shards merged), ")),
        "{line}"
    );
    assert!(line.ends_with(": every invariant held"), "{line}");
    let executions = |out: &str| -> String {
        let l = out.lines().find(|l| l.contains(" campaigns (")).unwrap();
        l.split(", ")
            .nth(1)
            .unwrap()
            .split(" in ")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(executions(&m), executions(&w), "total executions");
}

/// Exit 2, nothing on stdout, and one `error:` line on stderr containing every `want`.
fn refused(o: &Output, want: &[&str]) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(o.stdout.is_empty(), "stdout: {}", text(&o.stdout));
    assert!(err.starts_with("error: "), "{err}");
    for w in want {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
}

/// A copy of `from` with `edit` applied to its JSON.
fn edited(from: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut v = json(&std::fs::read(from).unwrap());
    edit(&mut v);
    let p = dir().join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    p
}

#[test]
fn shards_that_do_not_make_one_run_are_refused() {
    let s = shards();
    let name = |p: &Path| p.display().to_string();

    let o = merge(&[&s[0], &s[2]], &[]);
    refused(&o, &["shard 2/3 is missing", &name(&s[0]), &name(&s[2])]);

    let o = merge(&[&s[0], &s[1], &s[1], &s[2]], &["--json"]);
    refused(&o, &[&name(&s[1]), "are both shard 2/3"]);

    let seed2 = check_to(
        "seed2.json",
        &["--shard", "3/3", "--iterations", ITERATIONS, "--seed", "2"],
        0,
    );
    let o = merge(&[&s[0], &s[1], &seed2], &[]);
    refused(&o, &[&name(&seed2), &name(&s[0]), "--seed 2 vs 1"]);

    let budget = check_to("budget.json", &["--shard", "3/3", "--iterations", "31"], 0);
    let o = merge(&[&s[0], &s[1], &budget], &[]);
    refused(&o, &[&name(&budget), "--iterations 31 vs 30"]);

    let of4 = check_to(
        "of4.json",
        &["--shard", "3/4", "--iterations", ITERATIONS],
        0,
    );
    let o = merge(&[&s[0], &s[1], &of4], &[]);
    refused(&o, &[&name(&of4), "it is shard 3/4", "shard 1/3"]);

    let drill = check_to(
        "drill-3.json",
        &[
            "--shard",
            "3/3",
            "--iterations",
            ITERATIONS,
            "--mutation",
            "no-recheck-after-grow",
        ],
        1,
    );
    let o = merge(&[&s[0], &s[1], &drill], &[]);
    refused(
        &o,
        &[&name(&drill), "--mutation no-recheck-after-grow vs none"],
    );

    let version = edited(&s[2], "version.json", |v| {
        v["tool_version"] = "0.0.1".into()
    });
    let o = merge(&[&s[0], &s[1], &version], &[]);
    refused(&o, &[&name(&version), "written by slab-verify 0.0.1"]);

    let schema = edited(&s[2], "schema.json", |v| v["schema_version"] = 2.into());
    let o = merge(&[&s[0], &s[1], &schema], &[]);
    refused(&o, &[&name(&schema), "schema_version 2"]);
}

#[test]
fn files_that_are_not_check_reports_are_refused() {
    let s = shards();
    let garbage = dir().join("garbage.json");
    std::fs::write(&garbage, "these are not the reports you are looking for\n").unwrap();
    let o = merge(&[&s[0], &garbage], &[]);
    refused(
        &o,
        &[
            &garbage.display().to_string(),
            "is not a `slab-verify check --json` report: not JSON",
        ],
    );

    let o = run(&["run", "two-cpus-refill", "--iterations", "3", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let run_report = dir().join("run.json");
    std::fs::write(&run_report, &o.stdout).unwrap();
    refused(&merge(&[&run_report], &[]), &["it is a `run` report"]);

    let missing = dir().join("no-such-shard.json");
    refused(
        &merge(&[&missing], &[]),
        &["cannot read", &missing.display().to_string()],
    );

    // A report cut short or edited: its rows and its summary disagree.
    let cut = edited(&s[0], "cut.json", |v| {
        v["campaigns"].as_array_mut().unwrap().pop();
    });
    refused(
        &merge(&[&cut, &s[1], &s[2]], &[]),
        &[&cut.display().to_string(), "summary.campaigns is"],
    );
    // A campaign this build does not plan for the shard.
    let alien = edited(&s[0], "alien.json", |v| {
        v["campaigns"][0]["cpus"] = 7.into();
    });
    refused(
        &merge(&[&alien, &s[1], &s[2]], &[]),
        &[&alien.display().to_string(), "is not one of shard 1/3's"],
    );
}

#[test]
fn merging_nothing_is_an_error_never_a_pass() {
    // No file at all: clap's own error, whole.
    let o = run(&["merge"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(
        text(&o.stderr).contains("the following required arguments were not provided"),
        "{}",
        text(&o.stderr)
    );
    // A report that holds no campaign (interrupted before the first one finished).
    let whole = check_to("whole-for-empty.json", &["--iterations", "1"], 0);
    let empty = edited(&whole, "empty.json", |v| {
        v["campaigns"] = serde_json::json!([]);
        v["interrupted"] = true.into();
        let s = &mut v["summary"];
        s["campaigns"] = 0.into();
        s["executions"] = 0.into();
        s["failed"] = 0.into();
        s["expected_findings"] = 0.into();
        s["passed"] = false.into();
    });
    refused(
        &merge(&[&empty], &["--json"]),
        &[
            "no campaign in",
            &empty.display().to_string(),
            "nothing was checked",
        ],
    );
}

#[test]
fn an_incomplete_shard_fails_the_merge() {
    let s = shards();
    // Shard 2 stopped after its first campaign (SIGINT on its runner).
    let short = edited(&s[1], "short.json", |v| {
        v["campaigns"].as_array_mut().unwrap().truncate(1);
        let kept = v["campaigns"][0].clone();
        v["interrupted"] = true.into();
        let s = &mut v["summary"];
        s["campaigns"] = 1.into();
        s["executions"] = kept["executions"].clone();
        s["failed"] = 0.into();
        s["passed"] = false.into();
    });
    let o = merge(&[&s[0], &short, &s[2]], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains(&format!("shard 2/3 ({}) finished 1 of", short.display()))
            && out.contains("(interrupted)"),
        "{out}"
    );
    let o = merge(&[&s[0], &short, &s[2]], &["--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o.stdout);
    validate(&v);
    assert_eq!(v["summary"]["passed"], false);
    assert!(v["summary"]["campaigns"].as_u64() < v["summary"]["planned_campaigns"].as_u64());
}

#[test]
fn a_failing_shard_fails_the_merge_and_its_tokens_replay() {
    let pages = dir().join("pages");
    let pages_arg = pages.display().to_string();
    // A fire drill: every campaign with a known-bad switch, which irq-in-grow-window
    // catches (docs/mutations.md) within a few executions.
    let drill: Vec<PathBuf> = (1..=2)
        .map(|i| {
            check_to(
                &format!("drill-{i}-of-2.json"),
                &[
                    "--shard",
                    &format!("{i}/2"),
                    "--iterations",
                    "20",
                    "--mutation",
                    "no-recheck-after-grow",
                    "--html-dir",
                    &pages_arg,
                ],
                1,
            )
        })
        .collect();
    // The failures the shards reported themselves, each with its token and page.
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut failed = 0;
    for f in &drill {
        let v = json(&std::fs::read(f).unwrap());
        failed += v["summary"]["failed"].as_u64().unwrap();
        for c in v["campaigns"].as_array().unwrap() {
            if c["result"] == "failed" || c["result"] == "wrong-failure" {
                let f = &c["failure"];
                failures.push((
                    f["token"].as_str().unwrap().to_string(),
                    f["html"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert!(!failures.is_empty(), "the drill found nothing");
    let o = merge(&[&drill[1], &drill[0]], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains(&format!(": {failed} FAILED")),
        "the summary counts the failures: {out}"
    );
    for (token, page) in &failures {
        assert!(
            out.contains(&format!("  replay: slab-verify replay '{token}'")),
            "token {token} not printed"
        );
        assert!(out.contains(&format!("  page:   {page}")), "page {page}");
        let html = std::fs::read_to_string(page).expect("the page was written");
        assert!(html.starts_with("<!DOCTYPE html>"));
    }
    // The first token, as merge printed it, still replays to the same failure.
    let o = run(&["replay", &failures[0].0]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).starts_with("reproduced"),
        "{}",
        text(&o.stdout)
    );

    let o = merge(&[&drill[0], &drill[1]], &["--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o.stdout);
    validate(&v);
    assert_eq!(v["summary"]["passed"], false);
    assert_eq!(v["mutations"], serde_json::json!(["no-recheck-after-grow"]));
    // Every shard's failing token is in the merged report (in job order there, shard by
    // shard here).
    let mut tokens: Vec<&str> = v["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] == "failed" || c["result"] == "wrong-failure")
        .map(|c| c["failure"]["token"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = failures.iter().map(|f| f.0.as_str()).collect();
    tokens.sort();
    want.sort();
    assert!(tokens == want, "the merged JSON lost or changed a token");
}

#[test]
fn check_refuses_a_fix_switch_and_an_unusable_html_dir_before_running() {
    // `--iterations 1`: were the input not refused, the run would still be short.
    let o = run(&[
        "check",
        "--iterations",
        "1",
        "--mutation",
        "fix-shrink-shared-locked",
    ]);
    refused(&o, &["fix switch"]);
    let file = dir().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under = file.join("pages");
    let o = run(&[
        "check",
        "--iterations",
        "1",
        "--html-dir",
        &under.display().to_string(),
    ]);
    refused(&o, &["cannot create --html-dir"]);
}
