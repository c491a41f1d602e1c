//! `slab-verify merge FILE...`: the `check --shard i/n --json` reports of every shard,
//! run on as many machines, as the one report `check` prints for the whole job.
//!
//! Every file is read and checked before anything is printed (exit 2, one line naming the
//! file and the problem): that it is a `check --json` report of this schema and tool
//! version; that all shards belong to one run (the same shard count, scheduler seed,
//! `--iterations` and `--mutation`); that each shard 1..=n comes exactly once; and that
//! every shard holds the campaigns this build's `check` plans for it. The last check is
//! what makes "the union of the shards is the whole job" a fact instead of a hope: a
//! report from another build, edited or cut short is refused rather than merged.

use super::exit;
use super::verify::{check_jobs, in_shard, parse_mutation, print_report, Job, ReportRow, Verdict};
use clap::Args;
use serde::{Deserialize, Serialize};
use slab_model::{Era, MutationSet};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// `merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The `check --shard i/n --json` reports, one per shard, in any order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print the merged report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A `check --json` report as this module reads it: every field typed, none unknown (a
/// field this build does not know means another version wrote the file).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardReport {
    #[allow(dead_code)] // checked on the raw value first, for a clearer message
    schema_version: u32,
    #[allow(dead_code)]
    tool: String,
    #[allow(dead_code)]
    tool_version: String,
    #[allow(dead_code)]
    command: String,
    shard: ShardId,
    seed: u64,
    iterations: Option<usize>,
    mutations: Vec<String>,
    jobs: usize,
    interrupted: bool,
    campaigns: Vec<Campaign>,
    summary: ShardSummary,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct ShardId {
    index: usize,
    count: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardSummary {
    planned_campaigns: usize,
    campaigns: usize,
    executions: usize,
    #[allow(dead_code)] // recomputed from the campaigns
    cpu_seconds: f64,
    failed: usize,
    #[allow(dead_code)] // recomputed from the campaigns
    expected_findings: usize,
    #[allow(dead_code)] // recomputed from the campaigns
    passed: bool,
    wall_seconds: f64,
}

/// One campaign of a shard, read and written back unchanged (the schema's
/// `$defs/check_campaign`).
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
struct Campaign {
    scenario: String,
    era: Era,
    debug: bool,
    cpus: usize,
    ops: usize,
    workload_seed: u64,
    scheduler: String,
    seed: u64,
    mutations: Vec<String>,
    executions: usize,
    seconds: f64,
    executions_per_second: f64,
    failure: Option<Failure>,
    result: Verdict,
    expected_finding: bool,
    shipped_bug: Option<ShippedBug>,
}

#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
struct Failure {
    invariant: String,
    message: String,
    token: String,
    /// The structured trace, passed through as it came.
    trace: Option<serde_json::Value>,
    html: Option<String>,
    replay_file: Option<String>,
}

#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
struct ShippedBug {
    switch: String,
    era: Era,
    shipped_in: String,
    fixed_in: String,
    fix: String,
    symptom: String,
}

/// What identifies a campaign of `check_jobs`: no two campaigns share it.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Debug)]
struct Key {
    scenario: String,
    era: Era,
    debug: bool,
    cpus: usize,
    ops: usize,
    scheduler: String,
    expected_finding: bool,
    mutations: Vec<String>,
}

impl Key {
    fn of_job(j: &Job) -> Key {
        Key {
            scenario: j.id.info().name.to_string(),
            era: j.params.era,
            debug: j.params.debug,
            cpus: j.params.cpus,
            ops: j.params.ops,
            scheduler: j.kind.to_string(),
            expected_finding: j.expect.is_some(),
            mutations: j.params.mutations.iter().map(|m| m.name().into()).collect(),
        }
    }
    fn of_row(c: &Campaign) -> Key {
        Key {
            scenario: c.scenario.clone(),
            era: c.era,
            debug: c.debug,
            cpus: c.cpus,
            ops: c.ops,
            scheduler: c.scheduler.clone(),
            expected_finding: c.expected_finding,
            mutations: c.mutations.clone(),
        }
    }
    fn label(&self) -> String {
        format!(
            "{} era {}{} cpus {} ops {} {}{}",
            self.scenario,
            self.era,
            if self.debug { "+debug" } else { "" },
            self.cpus,
            self.ops,
            self.scheduler,
            if self.expected_finding {
                " (faithful)"
            } else {
                ""
            }
        )
    }
}

/// A bad input: the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
enum MergeError {
    #[error("cannot read {file}: {why}")]
    Read { file: String, why: String },
    #[error("{file} is not a `slab-verify check --json` report: {why}")]
    NotACheckReport { file: String, why: String },
    #[error("{file} has schema_version {found}; this slab-verify reads {want}")]
    SchemaVersion {
        file: String,
        found: String,
        want: u32,
    },
    #[error("{file} was written by slab-verify {found}; this is {want} (run every shard and the merge with one build)")]
    ToolVersion {
        file: String,
        found: String,
        want: &'static str,
    },
    #[error("{file}: {why}")]
    Inconsistent { file: String, why: String },
    #[error("{file} does not belong with {first}: {what}")]
    Mismatch {
        file: String,
        first: String,
        what: String,
    },
    #[error("{file} and {other} are both shard {index}/{count}")]
    Duplicate {
        file: String,
        other: String,
        index: usize,
        count: usize,
    },
    #[error("{missing} (given: {given})")]
    Missing { missing: String, given: String },
    #[error("{file}: {why} (a report from another build of slab-verify?)")]
    NotThePlan { file: String, why: String },
    #[error("no campaign in {files}: nothing was checked")]
    Empty { files: String },
}

/// A shard report read from `file`, not yet compared with the others.
struct Shard {
    file: String,
    report: ShardReport,
}

fn read(path: &std::path::Path) -> Result<Shard, MergeError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| MergeError::Read {
        file: file.clone(),
        why: e.to_string(),
    })?;
    let not = |why: String| MergeError::NotACheckReport {
        file: file.clone(),
        why,
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| not(format!("not JSON ({e})")))?;
    // The envelope first, field by field: "a `run` report" says more than serde's
    // "unknown field `budget`".
    if v.get("tool").and_then(|t| t.as_str()) != Some(super::json::TOOL) {
        return Err(not("no `\"tool\": \"slab-verify\"` envelope".into()));
    }
    match v.get("command").and_then(|c| c.as_str()) {
        Some("check") => {}
        Some(other) => return Err(not(format!("it is a `{other}` report"))),
        None => return Err(not("no `command` field".into())),
    }
    match v.get("schema_version").and_then(|s| s.as_u64()) {
        Some(s) if s == u64::from(super::json::SCHEMA_VERSION) => {}
        other => {
            return Err(MergeError::SchemaVersion {
                file,
                found: other.map_or_else(
                    || {
                        format!(
                            "{}",
                            v.get("schema_version").unwrap_or(&serde_json::Value::Null)
                        )
                    },
                    |s| s.to_string(),
                ),
                want: super::json::SCHEMA_VERSION,
            })
        }
    }
    let version = v
        .get("tool_version")
        .and_then(|s| s.as_str())
        .unwrap_or("?");
    if version != env!("CARGO_PKG_VERSION") {
        return Err(MergeError::ToolVersion {
            file,
            found: version.to_string(),
            want: env!("CARGO_PKG_VERSION"),
        });
    }
    let report: ShardReport = serde_json::from_value(v).map_err(|e| not(e.to_string()))?;
    let bad = |why: String| MergeError::Inconsistent {
        file: file.clone(),
        why,
    };
    let ShardId { index, count } = report.shard;
    if count == 0 || index == 0 || index > count {
        return Err(bad(format!("shard {index}/{count}: need 1 <= i <= n")));
    }
    // The summary against the rows: a truncated or edited file is caught here.
    let s = &report.summary;
    if s.campaigns != report.campaigns.len() {
        return Err(bad(format!(
            "summary.campaigns is {} but the file has {} campaigns",
            s.campaigns,
            report.campaigns.len()
        )));
    }
    let executions: usize = report.campaigns.iter().map(|c| c.executions).sum();
    if s.executions != executions {
        return Err(bad(format!(
            "summary.executions is {} but its campaigns add up to {executions}",
            s.executions
        )));
    }
    let failed = report
        .campaigns
        .iter()
        .filter(|c| !c.result.passed())
        .count();
    if s.failed != failed {
        return Err(bad(format!(
            "summary.failed is {} but {failed} of its campaigns did not pass",
            s.failed
        )));
    }
    if let Some(c) = report.campaigns.iter().find(|c| c.seed != report.seed) {
        return Err(bad(format!(
            "campaign {} has scheduler seed {}, the report {}",
            Key::of_row(c).label(),
            c.seed,
            report.seed
        )));
    }
    Ok(Shard { file, report })
}

/// The shards, checked to be exactly the shards 1..=n of one `check` run of this build's
/// plan; the merged campaigns in job order (`None`: not finished in its shard).
fn validate(shards: &[Shard]) -> Result<Vec<(Job, Option<&Campaign>)>, MergeError> {
    let first = &shards[0];
    let count = first.report.shard.count;
    for s in &shards[1..] {
        let (a, b) = (&first.report, &s.report);
        let differ = |what: String| MergeError::Mismatch {
            file: s.file.clone(),
            first: first.file.clone(),
            what,
        };
        if b.shard.count != count {
            return Err(differ(format!(
                "it is shard {}/{}, {} is shard {}/{count}",
                b.shard.index, b.shard.count, first.file, a.shard.index
            )));
        }
        if b.seed != a.seed {
            return Err(differ(format!("--seed {} vs {}", b.seed, a.seed)));
        }
        if b.iterations != a.iterations {
            let it = |i: Option<usize>| i.map_or("the default budgets".into(), |n| n.to_string());
            return Err(differ(format!(
                "--iterations {} vs {}",
                it(b.iterations),
                it(a.iterations)
            )));
        }
        if b.mutations != a.mutations {
            let m = |m: &[String]| {
                if m.is_empty() {
                    "none".to_string()
                } else {
                    m.join(",")
                }
            };
            return Err(differ(format!(
                "--mutation {} vs {}",
                m(&b.mutations),
                m(&a.mutations)
            )));
        }
    }
    let mut by_index: BTreeMap<usize, &Shard> = BTreeMap::new();
    for s in shards {
        if let Some(other) = by_index.insert(s.report.shard.index, s) {
            return Err(MergeError::Duplicate {
                file: s.file.clone(),
                other: other.file.clone(),
                index: s.report.shard.index,
                count,
            });
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: if missing.len() == 1 {
                format!("shard {} is missing", missing[0])
            } else {
                format!("shards {} are missing", missing.join(", "))
            },
            given: by_index
                .iter()
                .map(|(i, s)| format!("{i}/{count} {}", s.file))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    // The plan the shards ran, rebuilt from their settings by this build.
    let mut extra = MutationSet::NONE;
    for name in &first.report.mutations {
        let m = parse_mutation(name).map_err(|why| MergeError::NotThePlan {
            file: first.file.clone(),
            why,
        })?;
        extra = extra.with(m);
    }
    let plan = check_jobs(first.report.iterations, extra);
    let mut merged: Vec<(Job, Option<&Campaign>)> =
        plan.into_iter().map(|(job, _)| (job, None)).collect();
    for (&i, s) in &by_index {
        let mine: BTreeMap<Key, usize> = (0..merged.len())
            .filter(|&k| in_shard(k, i, count))
            .map(|k| (Key::of_job(&merged[k].0), k))
            .collect();
        let not_plan = |why: String| MergeError::NotThePlan {
            file: s.file.clone(),
            why,
        };
        if s.report.summary.planned_campaigns != mine.len() {
            return Err(not_plan(format!(
                "shard {i}/{count} planned {} campaigns; this slab-verify plans {} for it",
                s.report.summary.planned_campaigns,
                mine.len()
            )));
        }
        for c in &s.report.campaigns {
            let key = Key::of_row(c);
            let Some(&k) = mine.get(&key) else {
                return Err(not_plan(format!(
                    "campaign {} is not one of shard {i}/{count}'s",
                    key.label()
                )));
            };
            if merged[k].1.replace(c).is_some() {
                return Err(not_plan(format!("campaign {} appears twice", key.label())));
            }
        }
    }
    if merged.iter().all(|(_, c)| c.is_none()) {
        return Err(MergeError::Empty {
            files: shards
                .iter()
                .map(|s| s.file.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(merged)
}

/// `merge --json`: one shard.
#[derive(Serialize)]
struct ShardRow<'a> {
    index: usize,
    count: usize,
    file: &'a str,
    jobs: usize,
    interrupted: bool,
    planned_campaigns: usize,
    campaigns: usize,
    failed: usize,
    wall_seconds: f64,
}

#[derive(Serialize)]
struct MergeSummary {
    /// Campaigns of the whole job.
    planned_campaigns: usize,
    /// Campaigns that finished, over all shards.
    campaigns: usize,
    executions: usize,
    cpu_seconds: f64,
    failed: usize,
    expected_findings: usize,
    /// The wall time of the slowest shard: the run's wall time when every shard has a
    /// runner of its own.
    longest_shard_wall_seconds: f64,
    /// Every planned campaign finished and passed.
    passed: bool,
}

#[derive(Serialize)]
struct MergePayload<'a> {
    seed: u64,
    iterations: Option<usize>,
    mutations: &'a [String],
    shards: Vec<ShardRow<'a>>,
    /// Every finished campaign, in job order (as an unsharded `check` lists them).
    campaigns: Vec<&'a Campaign>,
    summary: MergeSummary,
}

/// `merge`.
pub fn merge(a: &MergeArgs) -> ExitCode {
    let mut shards = Vec::new();
    for f in &a.files {
        match read(f) {
            Ok(s) => shards.push(s),
            Err(e) => return exit::usage(&e.to_string()),
        }
    }
    let merged = match validate(&shards) {
        Ok(m) => m,
        Err(e) => return exit::usage(&e.to_string()),
    };
    let mut shards: Vec<&Shard> = shards.iter().collect();
    shards.sort_by_key(|s| s.report.shard.index);
    let count = shards[0].report.shard.count;
    let finished: Vec<&Campaign> = merged.iter().filter_map(|(_, c)| *c).collect();
    let planned = merged.len();
    let failed = finished.iter().filter(|c| !c.result.passed()).count();
    let passed = failed == 0 && finished.len() == planned;
    let longest = shards
        .iter()
        .map(|s| s.report.summary.wall_seconds)
        .fold(0.0, f64::max);
    // Shards that did not finish every campaign (interrupted, or a worker stopped): the
    // merged report is then incomplete, a failure like an incomplete `check`.
    let short: Vec<String> = shards
        .iter()
        .filter(|s| s.report.campaigns.len() < s.report.summary.planned_campaigns)
        .map(|s| {
            format!(
                "shard {}/{count} ({}) finished {} of {} campaigns{}",
                s.report.shard.index,
                s.file,
                s.report.campaigns.len(),
                s.report.summary.planned_campaigns,
                if s.report.interrupted {
                    " (interrupted)"
                } else {
                    ""
                }
            )
        })
        .collect();
    let code = if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if a.json {
        let r0 = &shards[0].report;
        super::json::print(
            "merge",
            &MergePayload {
                seed: r0.seed,
                iterations: r0.iterations,
                mutations: &r0.mutations,
                shards: shards
                    .iter()
                    .map(|s| ShardRow {
                        index: s.report.shard.index,
                        count,
                        file: &s.file,
                        jobs: s.report.jobs,
                        interrupted: s.report.interrupted,
                        planned_campaigns: s.report.summary.planned_campaigns,
                        campaigns: s.report.campaigns.len(),
                        failed: s.report.summary.failed,
                        wall_seconds: s.report.summary.wall_seconds,
                    })
                    .collect(),
                summary: MergeSummary {
                    planned_campaigns: planned,
                    campaigns: finished.len(),
                    executions: finished.iter().map(|c| c.executions).sum(),
                    cpu_seconds: finished.iter().map(|c| c.seconds).sum(),
                    failed,
                    expected_findings: finished.iter().filter(|c| c.expected_finding).count(),
                    longest_shard_wall_seconds: longest,
                    passed,
                },
                campaigns: finished,
            },
        );
        return code;
    }
    let rows: Vec<ReportRow> = finished
        .iter()
        .map(|c| ReportRow {
            scenario: &c.scenario,
            era: format!("{}{}", c.era, if c.debug { "+debug" } else { "" }),
            cpus: c.cpus,
            ops: c.ops,
            scheduler: c.scheduler.clone(),
            executions: c.executions,
            seconds: c.seconds,
            verdict: c.result,
            switches: c.mutations.iter().map(String::as_str).collect(),
            shipped: c
                .shipped_bug
                .as_ref()
                .map(|b| (b.shipped_in.as_str(), b.fixed_in.as_str(), b.fix.as_str())),
            failure: c
                .failure
                .as_ref()
                .map(|f| (f.invariant.as_str(), f.token.as_str())),
            page: c.failure.as_ref().and_then(|f| f.html.as_deref()),
        })
        .collect();
    print_report(
        &rows,
        &format!("{count} shards merged"),
        &format!("longest shard {longest:.1} s wall"),
    );
    if !short.is_empty() {
        println!(
            "\nINCOMPLETE: {} of {planned} campaigns finished; {}.",
            finished.len(),
            short.join("; ")
        );
    }
    code
}
