//! docs/cli.md states the command line's defaults in two generated blocks, and this test
//! regenerates them and fails when the file differs (printing the block it expects):
//!
//! * `<!-- defaults:begin … -->` … `<!-- defaults:end -->`: every argument and option of
//!   every subcommand with its default and possible values, exactly as
//!   `slab-verify <command> --help` prints them (the binary is run);
//! * `<!-- check-budgets:begin … -->` … `<!-- check-budgets:end -->`: `check`'s campaigns
//!   and their default budgets, grouped, and the totals, from `check_jobs` in
//!   verify/src/cli/verify.rs (through its `default_campaigns`), cross-checked against the
//!   campaigns the binary really runs (`check --json --iterations 1`).
//!
//! To regenerate after changing an option or a budget:
//!
//!     SLAB_VERIFY_BLESS=1 cargo test -p slab-verify --test cli_docs
//!
//! rewrites the blocks in docs/cli.md in place (nothing outside the markers changes).
//!
//! `check_jobs` lives in the binary, which a test cannot link, so the binary's modules that
//! `cli/verify.rs` needs are compiled into this test as well (`#[path]` below, at the crate
//! root so that its `super::exit` and `super::json` resolve); if cli/verify.rs starts
//! using another module of `cli/`, add it here.

#[allow(dead_code)]
#[path = "../src/cli/exit.rs"]
mod exit;
#[allow(dead_code)]
#[path = "../src/cli/json.rs"]
mod json;
#[allow(dead_code)]
#[path = "../src/cli/verify.rs"]
mod verify;

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md");
const BLESS: &str = "SLAB_VERIFY_BLESS";

fn help(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args(args)
        .arg("--help")
        .output()
        .expect("slab-verify runs");
    assert!(o.status.success(), "slab-verify {args:?} --help failed");
    String::from_utf8(o.stdout).expect("utf-8")
}

/// The lines of section `title` (`Commands:`, `Arguments:`, `Options:`) of a help text.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// One argument or option of a help text.
#[derive(Debug, PartialEq)]
struct Entry {
    spec: String,
    default: Option<String>,
    values: Vec<String>,
}

/// The entries of a section, in clap's short form (`  --seed <SEED>  Scheduler seed
/// [default: 1]`, wrapped or not) or long form (spec alone on its line, help below,
/// `Possible values:` as a list, `[default: …]` on a line of its own).
fn entries(lines: &[&str]) -> Vec<Entry> {
    let mut out: Vec<(String, String)> = Vec::new();
    for l in lines {
        let indent = l.len() - l.trim_start().len();
        let t = l.trim();
        let starts_entry = (2..=6).contains(&indent)
            && (t.starts_with('-') || t.starts_with('<') || t.starts_with('['));
        if starts_entry {
            let (spec, rest) = match t.find("  ") {
                Some(i) => (t[..i].to_string(), t[i..].trim().to_string()),
                None => (t.to_string(), String::new()),
            };
            out.push((spec, rest));
        } else if let Some((_, body)) = out.last_mut() {
            body.push('\n');
            body.push_str(t);
        }
    }
    out.into_iter()
        .filter(|(spec, _)| !matches!(spec.as_str(), "-h, --help" | "-V, --version"))
        .map(|(spec, body)| {
            let default = body
                .split("[default: ")
                .nth(1)
                .map(|r| r.split(']').next().unwrap_or("").to_string());
            let mut values: Vec<String> = Vec::new();
            if let Some(r) = body.split("[possible values: ").nth(1) {
                let list = r.split(']').next().unwrap_or("");
                values = list.split(", ").map(str::to_string).collect();
            }
            if let Some(r) = body.split("Possible values:").nth(1) {
                values = r
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("- "))
                    .map(|v| v.split(':').next().unwrap_or(v).trim().to_string())
                    .collect();
            }
            Entry {
                spec,
                default,
                values,
            }
        })
        .collect()
}

fn subcommands() -> Vec<String> {
    let top = help(&[]);
    let names: Vec<String> = section(&top, "Commands:")
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 6, "`slab-verify --help` lists {names:?}");
    names
}

/// The defaults block (without its marker lines).
fn defaults_block() -> String {
    let mut s = String::from(
        "| command | argument or option | default | possible values |\n|---|---|---|---|\n",
    );
    for cmd in subcommands() {
        let text = help(&[&cmd]);
        let mut all = entries(&section(&text, "Arguments:"));
        all.extend(entries(&section(&text, "Options:")));
        for e in all {
            let cells = [
                format!("`{cmd}`"),
                code(&e.spec),
                e.default.as_deref().map_or("–".to_string(), code),
                e.values
                    .iter()
                    .map(|v| code(v))
                    .collect::<Vec<_>>()
                    .join(", "),
            ];
            s.push_str(&format!("| {} |\n", cells.join(" | ")).replace("  |", " |"));
        }
    }
    s.push_str(
        "\n`–`: no default in clap; the command's own rule applies (for `check --iterations`, the budgets below).\n",
    );
    s
}

/// `text` as a code span in a table cell (`|` escaped, as GitHub's tables need).
fn code(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

/// 120000 -> `120,000`.
fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("`{k}` of {v} is not a string"))
}

fn num_of(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("`{k}` of {v} is not a number"))
}

fn ticked(v: impl IntoIterator<Item = String>) -> String {
    v.into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Distinct values in first-seen order.
fn distinct<T: PartialEq + Clone>(v: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// The check-budgets block (without its marker lines).
fn budgets_block(jobs: &[Value]) -> String {
    let all_scenarios: Vec<String> =
        distinct(jobs.iter().map(|j| str_of(j, "scenario").to_string()));
    // Groups of campaigns with the same kind, CPUs, ops and budget, in first-seen order.
    let key = |j: &Value| {
        (
            j["expected_finding"].as_bool().expect("expected_finding"),
            j["debug"].as_bool().expect("debug"),
            num_of(j, "cpus"),
            num_of(j, "ops"),
            num_of(j, "executions"),
        )
    };
    let mut s = String::from(
        "| campaigns | scenarios | eras | schedulers | CPUs, ops per context | default executions per campaign |\n|---|---|---|---|---|---|\n",
    );
    let mut groups = distinct(jobs.iter().map(key));
    // The campaigns that must pass first, then the faithful ones.
    groups.sort_by_key(|k| k.0);
    for k in groups {
        let group: Vec<&Value> = jobs.iter().filter(|j| key(j) == k).collect();
        let (faithful, debug, cpus, ops, executions) = k;
        let scenarios = distinct(group.iter().map(|j| str_of(j, "scenario").to_string()));
        let eras = distinct(group.iter().map(|j| str_of(j, "era").to_string()));
        let scheds = distinct(group.iter().map(|j| str_of(j, "scheduler").to_string()));
        let product = scenarios.len() * eras.len() * scheds.len() == group.len();
        let (who, eras) = if product {
            let missing: Vec<String> = all_scenarios
                .iter()
                .filter(|s| !scenarios.contains(s))
                .cloned()
                .collect();
            let who = if !faithful && missing.is_empty() {
                "every scenario".to_string()
            } else if !faithful && missing.len() < scenarios.len() {
                format!("every scenario except {}", ticked(missing))
            } else {
                ticked(scenarios)
            };
            (who, eras.join(", "))
        } else {
            // Not every scenario in every era: name the pairs.
            let pairs = distinct(
                group
                    .iter()
                    .map(|j| format!("`{}` {}", str_of(j, "scenario"), str_of(j, "era"))),
            );
            (pairs.join(", "), "as named".to_string())
        };
        let who = if faithful {
            format!(
                "{who}: the faithful model of a shipped bug (must find it; stops at the finding)"
            )
        } else if debug {
            format!("{who} on a DEBUG profile (`--debug`: red zones, poison, last user; no debug check may fire)")
        } else {
            who
        };
        s.push_str(&format!(
            "| {} | {who} | {eras} | {} | {cpus}, {ops} | {} |\n",
            group.len(),
            scheds.join(", "),
            thousands(executions)
        ));
    }
    let faithful: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["expected_finding"].as_bool() == Some(true))
        .collect();
    let sum = |v: &mut dyn Iterator<Item = &Value>| v.map(|j| num_of(j, "executions")).sum::<u64>();
    let total = sum(&mut jobs.iter());
    let faithful_total = sum(&mut faithful.iter().copied());
    let seeds: BTreeSet<u64> = jobs.iter().map(|j| num_of(j, "workload_seed")).collect();
    let traces: BTreeSet<u64> = jobs.iter().map(|j| num_of(j, "trace_capacity")).collect();
    s.push_str(&format!(
        "\n{} scenarios; **{} campaigns**: {} that must pass and {} faithful campaigns of shipped bugs. \
         The budgets add up to **{} executions**; the campaigns that must pass run all of theirs \
         ({}) unless one fails, and the faithful ones stop at their finding, so a passing `check` \
         runs a little over {} executions. Workload seed{} {}, trace capacity {}.\n",
        all_scenarios.len(),
        jobs.len(),
        jobs.len() - faithful.len(),
        faithful.len(),
        thousands(total),
        thousands(total - faithful_total),
        thousands(total - faithful_total),
        if seeds.len() > 1 { "s" } else { "" },
        seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        traces.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
    ));
    s
}

/// The text between the marker lines `<!-- NAME:begin …-->` and `<!-- NAME:end -->`, and
/// where it is.
fn block(doc: &str, name: &str) -> (usize, usize) {
    let begin = format!("<!-- {name}:begin");
    let end = format!("<!-- {name}:end -->");
    let b = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("docs/cli.md has no `{begin} … -->` marker"));
    let b = b + doc[b..].find("-->\n").expect("marker closes") + 4;
    let e = b + doc[b..]
        .find(&end)
        .unwrap_or_else(|| panic!("docs/cli.md has no `{end}` marker after `{begin}`"));
    (b, e)
}

/// Compares (or with `SLAB_VERIFY_BLESS` set, rewrites) one generated block.
fn check_block(name: &str, want: &str) {
    let doc = std::fs::read_to_string(DOC).expect("docs/cli.md");
    let (b, e) = block(&doc, name);
    if &doc[b..e] == want {
        return;
    }
    if std::env::var_os(BLESS).is_some() {
        let new = format!("{}{want}{}", &doc[..b], &doc[e..]);
        std::fs::write(DOC, new).expect("write docs/cli.md");
        return;
    }
    panic!(
        "docs/cli.md's `{name}` block is stale. Expected (paste between the markers, or rerun with {BLESS}=1):\n\n{want}"
    );
}

#[test]
fn docs_state_every_option_default_as_help_prints_it() {
    check_block("defaults", &defaults_block());
}

#[test]
fn docs_state_the_check_budgets_of_check_jobs() {
    let jobs = verify::default_campaigns();
    // The campaigns the binary runs are these, in this order.
    let o = Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args(["check", "--json", "--iterations", "1"])
        .output()
        .expect("slab-verify runs");
    assert!(
        o.status.success(),
        "check --iterations 1 failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).expect("check --json");
    let ran = report["campaigns"].as_array().expect("`campaigns` array");
    let shape = |j: &Value| {
        (
            str_of(j, "scenario").to_string(),
            str_of(j, "era").to_string(),
            num_of(j, "cpus"),
            num_of(j, "ops"),
            str_of(j, "scheduler").to_string(),
            j["expected_finding"].as_bool(),
        )
    };
    assert_eq!(
        ran.iter().map(shape).collect::<Vec<_>>(),
        jobs.iter().map(shape).collect::<Vec<_>>(),
        "default_campaigns() and the campaigns `check` runs differ"
    );
    check_block("check-budgets", &budgets_block(&jobs));
}

#[test]
fn the_help_parser_reads_both_clap_layouts() {
    let short = [
        "      --seed <SEED>  Scheduler seed [default: 1]",
        "      --json  Print JSON",
    ];
    assert_eq!(
        entries(&short),
        vec![
            Entry {
                spec: "--seed <SEED>".into(),
                default: Some("1".into()),
                values: vec![]
            },
            Entry {
                spec: "--json".into(),
                default: None,
                values: vec![]
            }
        ]
    );
    let long = [
        "      --era <ERA>",
        "          Kernel era",
        "",
        "          Possible values:",
        "          - a: 2.6.x",
        "          - b: 3.13–4.5",
        "          ",
        "          [default: a]",
        "",
        "  -h, --help",
        "          Print help",
    ];
    assert_eq!(
        entries(&long),
        vec![Entry {
            spec: "--era <ERA>".into(),
            default: Some("a".into()),
            values: vec!["a".into(), "b".into()]
        }]
    );
}
