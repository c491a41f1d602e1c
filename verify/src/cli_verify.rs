//! `slab-verify list | check | run | replay`: the shuttle campaigns and counterexamples.

use crate::exit;
use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use slab_model::mutation::ShippedBug;
use slab_model::{Era, Mutation, MutationSet};
use slab_verify::html::counterexample_page;
use slab_verify::scenario::{take_last_failure, Params, ScenarioId, SCENARIOS};
use slab_verify::shuttle_driver::{
    campaign, parse_token, replay, Budget, CampaignReport, SchedulerKind, TOKEN_VERSION,
};
use std::path::PathBuf;
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

fn parse_mutation(s: &str) -> Result<Mutation, String> {
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

/// `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario name (see `list`).
    pub scenario: String,
    /// Scheduler.
    #[arg(long, value_enum, default_value_t = Sched::Random)]
    pub scheduler: Sched,
    /// PCT bug depth, at least 1.
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub depth: usize,
    /// Number of executions, at least 1.
    #[arg(long, conflicts_with = "seconds", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub iterations: Option<usize>,
    /// Wall-time budget in seconds.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Scheduler seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CPUs of the simulated machine.
    #[arg(long, default_value_t = 2)]
    pub cpus: usize,
    /// Operations per context.
    #[arg(long, default_value_t = 3)]
    pub ops: usize,
    /// Kernel era.
    #[arg(long, value_enum, default_value_t = EraArg::A)]
    pub era: EraArg,
    /// Re-introduce a known bug (repeatable; see `list`).
    #[arg(long = "mutation", value_parser = parse_mutation)]
    pub mutations: Vec<Mutation>,
    /// Where to write the counterexample page.
    #[arg(long, default_value = "slab-counterexample.html")]
    pub html: PathBuf,
    /// Also save the counterexample token as a replay file.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The counterexample token printed by `run` / `check` (`slab1:...`).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub token: Option<String>,
    /// A replay file written by `run --save`.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Refuse a token for another scenario.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Print the result as JSON.
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

#[derive(Serialize)]
struct ReplayFile<'a> {
    format: &'a str,
    version: &'a str,
    tool_version: &'a str,
    token: &'a str,
    invariant: &'a str,
}

fn print_counterexample(
    r: &CampaignReport,
    html: &std::path::Path,
    save: Option<&std::path::Path>,
    text: bool,
) -> Result<(), String> {
    let f = r.failure.as_ref().expect("a failure");
    let trace = take_last_failure().unwrap_or_default();
    let invariant = f.message.lines().next().unwrap_or("").to_string();
    if text {
        println!(
            "FAILED after {} executions ({} scheduler):",
            r.iterations, r.scheduler
        );
        println!("  violated: {invariant}");
        println!("  schedule: {}", f.token);
        println!("  replay:   slab-verify replay '{}'", f.token);
        if let Some(i) = f.message.find("--- model trace") {
            println!("\n{}", &f.message[i..]);
        }
    }
    let title = format!(
        "{} era {} cpus {} ops {}{}",
        r.scenario,
        r.params.era,
        r.params.cpus,
        r.params.ops,
        r.params
            .mutations
            .iter()
            .map(|m| format!(" mutation {m}"))
            .collect::<String>()
    );
    std::fs::write(
        html,
        counterexample_page(&title, &f.message, &f.token, &trace),
    )
    .map_err(|e| format!("cannot write {}: {e}", html.display()))?;
    if text {
        println!("counterexample page: {}", html.display());
    }
    if let Some(p) = save {
        let file = ReplayFile {
            format: "slab-verify-counterexample",
            version: TOKEN_VERSION,
            tool_version: env!("CARGO_PKG_VERSION"),
            token: &f.token,
            invariant: &invariant,
        };
        std::fs::write(
            p,
            serde_json::to_string_pretty(&file).expect("serialisable"),
        )
        .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        if text {
            println!("replay file: {}", p.display());
        }
    }
    Ok(())
}

/// `run`.
pub fn run(a: &RunArgs) -> ExitCode {
    let Some(id) = ScenarioId::from_name(&a.scenario) else {
        return exit::usage(&format!(
            "unknown scenario `{}` (see `slab-verify list`)",
            a.scenario
        ));
    };
    if !(1..=64).contains(&a.cpus) || (id.info().loom && a.cpus < 2) {
        return exit::usage(&format!(
            "--cpus {} is out of range for {}",
            a.cpus, a.scenario
        ));
    }
    if a.ops == 0 || a.ops > 10_000 {
        return exit::usage(&format!("--ops {} is not in 1..=10000", a.ops));
    }
    let era: slab_model::Era = a.era.into();
    // A switch that cannot change anything in this era would make the run check nothing
    // it claims to check.
    if let Some(m) = a.mutations.iter().find(|m| !m.acts_in(era)) {
        return exit::usage(&format!(
            "--mutation {m} cannot act in era {era} (see `list`): the run would check nothing"
        ));
    }
    let mut p = Params::small(era);
    p.cpus = a.cpus;
    p.ops = a.ops;
    p.seed = a.seed;
    p.mutations = a
        .mutations
        .iter()
        .fold(MutationSet::NONE, |s, m| s.with(*m));
    let kind = match a.scheduler {
        Sched::Random => SchedulerKind::Random,
        Sched::Pct => SchedulerKind::Pct(a.depth),
        Sched::Dfs => SchedulerKind::Dfs,
    };
    let budget = match (a.iterations, a.seconds) {
        (_, Some(s)) if s > 0.0 => Budget::Seconds(s),
        (_, Some(s)) => return exit::usage(&format!("--seconds {s} must be positive")),
        (Some(n), None) => Budget::Iterations(n),
        (None, None) => Budget::Iterations(100_000),
    };
    let r = campaign(id, &p, kind, a.seed, budget);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("serialisable")
        );
    } else if r.failure.is_none() {
        println!(
            "{} era {} cpus {} ops {} {}: {} executions in {:.2}s ({:.0}/s), every invariant held",
            r.scenario,
            r.params.era,
            r.params.cpus,
            r.params.ops,
            r.scheduler,
            r.iterations,
            r.seconds,
            r.rate()
        );
    }
    if let Some(f) = &r.failure {
        // The page and the replay file are written in both output modes; the text
        // report only without --json.
        if let Err(e) = print_counterexample(&r, &a.html, a.save.as_deref(), !a.json) {
            return exit::usage(&e);
        }
        if let Some(b) = id.info().shipped_in(p.era) {
            if !p.mutations.has(b.switch)
                && !a.json
                && f.message.lines().next().unwrap_or("").contains(b.symptom)
            {
                println!(
                    "\nThis is the bug that shipped in {} (fixed in {}: {}): an expected finding of the faithful era-{} model. Rerun with --mutation {} for the fixed kernel.",
                    b.shipped_in, b.fixed_in, b.fix, b.era, b.switch
                );
            }
        }
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `replay`.
pub fn replay_cmd(a: &ReplayArgs) -> ExitCode {
    let token = match (&a.token, &a.file) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) => {
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) => {
                    return exit::usage(&format!("cannot read replay file {}: {e}", f.display()))
                }
            };
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => {
                    if v.get("format").and_then(|x| x.as_str())
                        != Some("slab-verify-counterexample")
                    {
                        return exit::usage(&format!(
                            "{} is not a slab-verify counterexample file",
                            f.display()
                        ));
                    }
                    let ver = v.get("version").and_then(|x| x.as_str()).unwrap_or("?");
                    if ver != TOKEN_VERSION {
                        return exit::usage(&format!(
                            "{} was written by a different version of slab-verify (format {ver}, this is {TOKEN_VERSION})",
                            f.display()
                        ));
                    }
                    match v.get("token").and_then(|x| x.as_str()) {
                        Some(t) => t.to_string(),
                        None => return exit::usage(&format!("{} has no token", f.display())),
                    }
                }
                Err(_) => text.trim().to_string(),
            }
        }
        (None, None) => return exit::usage("replay needs a token or --file"),
    };
    let (id, _, _) = match parse_token(&token) {
        Ok(x) => x,
        Err(e) => return exit::usage(&e.to_string()),
    };
    if let Some(s) = &a.scenario {
        if ScenarioId::from_name(s) != Some(id) {
            return exit::usage(&format!(
                "the counterexample is for scenario `{}`, not `{s}`",
                id.info().name
            ));
        }
    }
    match replay(&token) {
        Err(e) => exit::usage(&e.to_string()),
        Ok(None) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"scenario": id.info().name, "reproduced": false})
                );
            } else {
                println!(
                    "replay of {} passed: the recorded execution no longer fails",
                    id.info().name
                );
            }
            ExitCode::SUCCESS
        }
        Ok(Some(msg)) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"scenario": id.info().name, "reproduced": true, "message": msg})
                );
            } else {
                println!("reproduced: {}", msg.lines().next().unwrap_or(""));
                if let Some(i) = msg.find("--- model trace") {
                    println!("\n{}", &msg[i..]);
                }
            }
            ExitCode::from(1)
        }
    }
}

/// `mutations`.
#[derive(Args, Debug)]
pub struct MutationsArgs {
    /// shuttle executions per scenario and era.
    #[arg(long, default_value_t = 5_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub shuttle_iterations: usize,
    /// Reference operation sequences.
    #[arg(long, default_value_t = 60, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub reference_runs: usize,
    /// Random geometry cases.
    #[arg(long, default_value_t = 4_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub geometry_cases: usize,
    /// Only these mutations (repeatable).
    #[arg(long = "mutation", value_parser = parse_mutation)]
    pub only: Vec<Mutation>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print the matrix as a Markdown table (docs/mutations.md).
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
}

/// `mutations`: the detection matrix.
pub fn mutations(a: &MutationsArgs) -> ExitCode {
    use slab_verify::matrix::{detect, Checker, MatrixBudget, MatrixRow, CONCURRENCY_MUTATIONS};
    let b = MatrixBudget {
        shuttle_iterations: a.shuttle_iterations,
        reference_runs: a.reference_runs,
        reference_ops: 150,
        geometry_cases: a.geometry_cases,
    };
    let list: Vec<Mutation> = if a.only.is_empty() {
        Mutation::mutations().collect()
    } else {
        a.only.clone()
    };
    if let Some(f) = list.iter().find(|m| m.shipped_bug().is_some()) {
        return exit::usage(&format!(
            "`{f}` is a fix switch (it removes a bug that shipped), not a mutation: the shipped-bugs table below the matrix measures it"
        ));
    }
    let checkers = Checker::all();
    let bar = ProgressBar::new((list.len() * checkers.len()) as u64);
    if a.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("mutations [{bar:40}] {pos}/{len} cells {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let rows: Vec<MatrixRow> = list
        .iter()
        .map(|&m| MatrixRow {
            mutation: m.name(),
            cells: checkers
                .iter()
                .map(|&c| {
                    bar.set_message(format!("{m} x {}", c.name()));
                    let d = detect(m, c, &b);
                    bar.inc(1);
                    (c, d)
                })
                .collect(),
        })
        .collect();
    let shipped = if a.only.is_empty() {
        bar.set_message("shipped bugs");
        slab_verify::matrix::shipped(&b)
    } else {
        Vec::new()
    };
    bar.finish_and_clear();
    let shipped_bad: Vec<String> = shipped
        .iter()
        .filter(|r| !r.faithful.caught || r.fixed.caught)
        .map(|r| format!("{} ({})", r.switch, r.checker.name()))
        .collect();
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.caught())
        .map(|r| r.mutation)
        .collect();
    let conc_missed: Vec<&str> = rows
        .iter()
        .filter(|r| {
            CONCURRENCY_MUTATIONS.iter().any(|m| m.name() == r.mutation)
                && !r.caught_by_model_checker()
        })
        .map(|r| r.mutation)
        .collect();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"budget": b, "rows": rows, "shipped": shipped})
            )
            .expect("serialisable")
        );
    } else if a.markdown {
        print!("| mutation |");
        for c in &checkers {
            print!(" {} |", c.name());
        }
        println!(" first caught by |");
        print!("|---|");
        for _ in &checkers {
            print!("---|");
        }
        println!("---|");
        for r in &rows {
            print!("| `{}` |", r.mutation);
            for (_, d) in &r.cells {
                if d.caught {
                    print!(" **{}** {} |", d.effort, d.unit);
                } else {
                    print!(" – |");
                }
            }
            match r.cells.iter().find(|(_, d)| d.caught) {
                Some((c, d)) => println!(
                    " {}: {} |",
                    c.name(),
                    d.detail.replace('|', "/").replace('`', "'")
                ),
                None => println!(" **not caught** |"),
            }
        }
        println!(
            "\nBudget: {} shuttle executions per scenario and era (scenarios in catalogue order, era A then B, stopping at the first failure); {} reference sequences of {} operations; {} random geometry cases after the golden rows and the kmalloc classes of every boot profile; every boot profile. Effort is cumulative up to and including the first failure.",
            b.shuttle_iterations, b.reference_runs, b.reference_ops, b.geometry_cases
        );
    } else {
        print!("{:<30}", "mutation");
        for c in &checkers {
            print!(" {:>16}", c.name());
        }
        println!();
        for r in &rows {
            print!("{:<30}", r.mutation);
            for (_, d) in &r.cells {
                let cell = if d.caught {
                    format!("yes @{}", d.effort)
                } else if d.effort == 0 {
                    "n/a".to_string()
                } else {
                    "-".to_string()
                };
                print!(" {cell:>16}");
            }
            println!();
        }
        println!(
            "\n(yes @N: caught, N = executions / op sequences / rows+cases / boots up to the first failure; -: not caught within the budget: {} shuttle executions per scenario and era, {} reference sequences of {} ops, {} geometry cases)",
            b.shuttle_iterations, b.reference_runs, b.reference_ops, b.geometry_cases
        );
        for r in &rows {
            if let Some((c, d)) = r.cells.iter().find(|(_, d)| d.caught) {
                println!(
                    "  {:<28} first caught by {:<15} {}",
                    r.mutation,
                    c.name(),
                    d.detail
                );
            }
        }
        println!(
            "\n{}/{} mutations caught by at least one checker; concurrency mutations missed by loom and shuttle: {}",
            rows.len() - missed.len(),
            rows.len(),
            if conc_missed.is_empty() { "none".to_string() } else { conc_missed.join(", ") }
        );
    }
    if !a.json && !shipped.is_empty() {
        let md = a.markdown;
        println!();
        if md {
            println!(
                "| fix switch | era | checker | faithful model (expected finding) | with the fix |"
            );
            println!("|---|---|---|---|---|");
        } else {
            println!("Shipped bugs (faithful model must fail, the fix must pass):");
        }
        for r in &shipped {
            let faithful = if r.faithful.caught {
                format!(
                    "found after {} executions: {}",
                    r.faithful.effort, r.faithful.detail
                )
            } else {
                format!("NOT FOUND in {} executions", r.faithful.effort)
            };
            let fixed = if r.fixed.caught {
                format!("REGRESSION: {}", r.fixed.detail)
            } else {
                format!("passes ({} executions)", r.fixed.effort)
            };
            if md {
                println!(
                    "| `{}` | {} | {} | {} | {} |",
                    r.switch,
                    r.era,
                    r.checker.name(),
                    faithful.replace('|', "/").replace('`', "'"),
                    fixed.replace('|', "/").replace('`', "'")
                );
            } else {
                println!(
                    "  {:<28} era {} {:<15} {faithful}; with the fix: {fixed}",
                    r.switch,
                    r.era,
                    r.checker.name()
                );
            }
        }
    }
    if missed.is_empty() && conc_missed.is_empty() && shipped_bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
