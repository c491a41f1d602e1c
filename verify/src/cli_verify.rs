//! `slab-verify list | check`: the catalogue and the main job, with the arguments the
//! other commands share.

use crate::exit;
use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use slab_model::mutation::ShippedBug;
use slab_model::{Era, Mutation};
use slab_verify::scenario::{Params, ScenarioId, SCENARIOS};
use slab_verify::shuttle_driver::{campaign, Budget, CampaignReport, SchedulerKind};
use std::process::ExitCode;
use std::sync::Mutex;

/// Scheduler names on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Sched {
    /// Uniformly random.
    Random,
    /// PCT (see --depth).
    Pct,
    /// Depth-first enumeration.
    Dfs,
}

/// Era on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EraArg {
    /// 2.6.x
    A,
    /// 3.13–4.5
    B,
}

impl From<EraArg> for Era {
    fn from(e: EraArg) -> Era {
        match e {
            EraArg::A => Era::A,
            EraArg::B => Era::B,
        }
    }
}

pub fn parse_mutation(s: &str) -> Result<Mutation, String> {
    s.parse()
}

/// `list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Executions per campaign, at least 1 (default: sized for about 4 minutes on 2 cores).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub iterations: Option<usize>,
    /// Scheduler seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run only shard i of n (1-based), e.g. `--shard 2/4`: campaign k runs in shard (k mod n) + 1.
    #[arg(long)]
    pub shard: Option<String>,
    /// Worker threads, at least 1 (default: available cores).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub jobs: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Listing {
    scenarios: Vec<&'static slab_verify::scenario::ScenarioInfo>,
    mutations: Vec<&'static str>,
    shipped_bugs: Vec<&'static ShippedBug>,
    presets: Vec<slab_model::profile::Preset>,
}

/// `list`.
pub fn list(a: &ListArgs) -> ExitCode {
    use slab_model::mutation::SwitchKind;
    let l = Listing {
        scenarios: SCENARIOS.iter().collect(),
        mutations: Mutation::ALL.iter().map(|m| m.name()).collect(),
        shipped_bugs: slab_model::mutation::SHIPPED_BUGS.iter().collect(),
        presets: slab_model::profile::presets(),
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&l).expect("serialisable")
        );
        return ExitCode::SUCCESS;
    }
    println!("Scenarios (hazard = item of the hazard list in docs/scenarios.md; loom = in the exhaustive loom suite):");
    for s in SCENARIOS {
        println!(
            "  {:<30} hazard {:<2} {:<5} {}",
            s.name,
            s.hazard,
            if s.loom { "loom" } else { "" },
            s.summary
        );
    }
    println!("\nMutations (known-bad switches, --mutation NAME):");
    for m in Mutation::ALL
        .iter()
        .filter(|m| m.kind() == SwitchKind::Mutation)
    {
        println!("  {}", m.name());
    }
    println!("\nShipped bugs (the faithful model of that era has them; the fix switch, --mutation NAME, removes them):");
    for b in slab_model::mutation::SHIPPED_BUGS {
        println!(
            "  {:<28} era {}: shipped in {}, fixed in {}: {}",
            b.switch.name(),
            b.era,
            b.shipped_in,
            b.fixed_in,
            b.fix
        );
    }
    println!("\nPresets (--preset NAME):");
    for p in &l.presets {
        println!("  {:<16} era {}  {}", p.name, p.era, p.description);
    }
    ExitCode::SUCCESS
}

/// One campaign of `check`.
#[derive(Clone, Debug)]
struct Job {
    id: ScenarioId,
    params: Params,
    kind: SchedulerKind,
    /// The faithful model of an era whose kernel shipped a bug this scenario exposes:
    /// the campaign must find it (an expected, named finding).
    expect: Option<&'static ShippedBug>,
}

/// How one campaign of `check` ended.
fn verdict(job: &Job, r: &CampaignReport) -> (&'static str, bool) {
    match (job.expect, &r.failure) {
        (None, None) => ("ok", true),
        (None, Some(_)) => ("FAILED", false),
        (Some(b), Some(f)) if f.message.lines().next().unwrap_or("").contains(b.symptom) => {
            ("shipped bug found (expected)", true)
        }
        (Some(_), Some(_)) => ("FAILED (not the shipped bug)", false),
        (Some(_), None) => ("MISSED the shipped bug", false),
    }
}

/// Executions the faithful campaign of a shipped bug may take to find it (loom finds
/// `shrink-vs-tune`'s within a few hundred; shuttle within a few hundred at most).
const SHIPPED_BUG_BUDGET: usize = 20_000;

fn check_jobs(iterations: Option<usize>) -> Vec<(Job, usize)> {
    let mut jobs = Vec::new();
    for s in SCENARIOS {
        for era in [Era::A, Era::B] {
            for kind in [SchedulerKind::Random, SchedulerKind::Pct(3)] {
                let mut cfgs: Vec<(usize, usize)> = vec![(2, 4)];
                if s.id == ScenarioId::Mixed {
                    cfgs = vec![(2, 8), (4, 6), (8, 4)];
                }
                for (cpus, ops) in cfgs {
                    let mut p = Params::small(era);
                    p.cpus = cpus;
                    p.ops = ops;
                    p.trace_capacity = 256;
                    // Default budgets: about 2 minutes in total on 2 cores at the rates
                    // measured here (docs/cli.md).
                    let default = match cpus {
                        2 if s.id != ScenarioId::Mixed => 120_000,
                        2 => 30_000,
                        4 => 12_000,
                        _ => 3_500,
                    };
                    // A bug that shipped in this era: the main campaign runs with the
                    // upstream fix (a failure there is a regression), and one more
                    // campaign of the faithful model must find the bug.
                    if let Some(bug) = s.shipped_in(era) {
                        // It stops at the finding, so a budget that cannot miss it is cheap.
                        jobs.push((
                            Job {
                                id: s.id,
                                params: p.clone(),
                                kind,
                                expect: Some(bug),
                            },
                            iterations.unwrap_or(default).max(SHIPPED_BUG_BUDGET),
                        ));
                        p.mutations = p.mutations.with(bug.switch);
                    }
                    jobs.push((
                        Job {
                            id: s.id,
                            params: p,
                            kind,
                            expect: None,
                        },
                        iterations.unwrap_or(default),
                    ));
                }
            }
        }
    }
    jobs
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard `{s}` is not i/n"))?;
    let i: usize = i
        .parse()
        .map_err(|_| format!("--shard `{s}`: `{i}` is not a number"))?;
    let n: usize = n
        .parse()
        .map_err(|_| format!("--shard `{s}`: `{n}` is not a number"))?;
    if n == 0 || i == 0 || i > n {
        return Err(format!("--shard `{s}`: need 1 <= i <= n"));
    }
    Ok((i, n))
}

#[derive(Serialize)]
struct CheckRow<'a> {
    scenario: &'static str,
    era: String,
    cpus: usize,
    ops: usize,
    scheduler: String,
    iterations: usize,
    seconds: f64,
    iterations_per_second: f64,
    result: &'a str,
    /// The campaign ran a faithful model whose kernel shipped a bug: `result` says
    /// whether the expected finding came.
    expected_finding: bool,
    /// Catalogue switches on (fix switches for a shipped bug's fixed variant).
    switches: Vec<&'static str>,
    counterexample: Option<&'a str>,
}

/// `check`: the main job.
pub fn check(a: &CheckArgs) -> ExitCode {
    let (shard, of) = match a.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s.unwrap_or((1, 1)),
        Err(e) => return exit::usage(&e),
    };
    let all = check_jobs(a.iterations);
    let jobs: Vec<(Job, usize)> = all
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % of == shard - 1)
        .map(|(_, j)| j)
        .collect();
    let workers = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let mp = MultiProgress::new();
    if a.json {
        mp.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let total = mp.add(ProgressBar::new(jobs.len() as u64));
    total.set_style(
        ProgressStyle::with_template(
            "{prefix:>9} [{bar:40}] {pos}/{len} campaigns, {elapsed} elapsed, ~{eta} left",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    total.set_prefix("check");
    let queue = Mutex::new(
        jobs.iter()
            .enumerate()
            .collect::<std::collections::VecDeque<_>>(),
    );
    let results: Mutex<Vec<Option<CampaignReport>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|sc| {
        for _ in 0..workers.min(jobs.len().max(1)) {
            let bar = mp.add(ProgressBar::new_spinner());
            bar.set_style(ProgressStyle::with_template("{prefix:>9} {msg}").expect("template"));
            bar.set_prefix("worker");
            sc.spawn(|| {
                let bar = bar;
                loop {
                    let Some((k, (job, iters))) =
                        queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
                    else {
                        break;
                    };
                    bar.set_message(format!(
                        "{} era {} cpus {} {} ({iters} executions)",
                        job.id.info().name,
                        job.params.era,
                        job.params.cpus,
                        job.kind
                    ));
                    let r = campaign(
                        job.id,
                        &job.params,
                        job.kind,
                        a.seed,
                        Budget::Iterations(*iters),
                    );
                    results.lock().unwrap_or_else(|e| e.into_inner())[k] = Some(r);
                    total.inc(1);
                }
                bar.finish_and_clear();
            });
        }
    });
    total.finish_and_clear();
    let results: Vec<CampaignReport> = results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect();
    let verdicts: Vec<(&str, bool)> = jobs
        .iter()
        .zip(&results)
        .map(|((job, _), r)| verdict(job, r))
        .collect();
    let failed = verdicts.iter().filter(|v| !v.1).count();
    let expected = jobs.iter().filter(|(j, _)| j.expect.is_some()).count();
    let total_iters: usize = results.iter().map(|r| r.iterations).sum();
    let total_secs: f64 = results.iter().map(|r| r.seconds).sum();
    if a.json {
        let rows: Vec<CheckRow> = results
            .iter()
            .zip(&verdicts)
            .zip(&jobs)
            .map(|((r, v), (job, _))| CheckRow {
                expected_finding: job.expect.is_some(),
                scenario: r.scenario,
                era: r.params.era.to_string(),
                cpus: r.params.cpus,
                ops: r.params.ops,
                scheduler: r.scheduler.to_string(),
                iterations: r.iterations,
                seconds: r.seconds,
                iterations_per_second: r.rate(),
                result: v.0,
                switches: r.params.mutations.iter().map(|m| m.name()).collect(),
                counterexample: r.failure.as_ref().map(|f| f.token.as_str()),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("serialisable")
        );
    } else {
        println!(
            "{:<30} {:<3} {:>4} {:>3} {:<7} {:>10} {:>8} {:>10}  result",
            "scenario", "era", "cpus", "ops", "sched", "executions", "secs", "exec/s"
        );
        for (r, v) in results.iter().zip(&verdicts) {
            let fixes: Vec<&str> = r.params.mutations.iter().map(|m| m.name()).collect();
            println!(
                "{:<30} {:<3} {:>4} {:>3} {:<7} {:>10} {:>8.2} {:>10.0}  {}{}",
                r.scenario,
                r.params.era,
                r.params.cpus,
                r.params.ops,
                r.scheduler.to_string(),
                r.iterations,
                r.seconds,
                r.rate(),
                v.0,
                if fixes.is_empty() {
                    String::new()
                } else {
                    format!(" (with {})", fixes.join(","))
                }
            );
        }
        println!(
            "\n{} campaigns (shard {shard}/{of}), {total_iters} executions in {total_secs:.1} CPU-seconds ({:.0} exec/s per core): {}",
            results.len(),
            if total_secs > 0.0 { total_iters as f64 / total_secs } else { 0.0 },
            if failed == 0 { "every invariant held".to_string() } else { format!("{failed} FAILED") }
        );
        for ((job, _), r) in jobs
            .iter()
            .zip(&results)
            .filter(|((j, _), _)| j.expect.is_some())
        {
            let b = job.expect.expect("filtered");
            println!(
                "\nshipped bug, {} era {} (shipped in {}, fixed in {}: {}): {}",
                r.scenario,
                r.params.era,
                b.shipped_in,
                b.fixed_in,
                b.fix,
                match &r.failure {
                    Some(f) => format!(
                        "found as expected: {}",
                        f.message.lines().next().unwrap_or("")
                    ),
                    None => "NOT FOUND".to_string(),
                }
            );
        }
        if expected > 0 {
            println!(
                "\n{expected} campaigns of faithful models with a bug their kernel shipped (expected findings, not failures)."
            );
        }
        for (r, _) in results.iter().zip(&verdicts).filter(|(_, v)| !v.1) {
            let Some(f) = r.failure.as_ref() else {
                println!(
                    "\nFAILED {} era {}: the shipped bug was not found",
                    r.scenario, r.params.era
                );
                continue;
            };
            println!(
                "\nFAILED {} era {}: {}",
                r.scenario,
                r.params.era,
                f.message.lines().next().unwrap_or("")
            );
            println!("  replay: slab-verify replay '{}'", f.token);
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
