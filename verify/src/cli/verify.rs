//! `slab-verify list | check`: the catalogue and the main job, with the arguments the
//! other commands share.

use super::exit;
use super::json::{CampaignRow, ShippedBugRow};
use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use slab_model::mutation::{ShippedBug, SwitchKind};
use slab_model::{Era, Mutation, MutationSet};
use slab_verify::drivers::shuttle::{
    campaign_with_progress, Budget, CampaignReport, SchedulerKind,
};
use slab_verify::scenarios::{take_last_failure, FailureTrace, Params, ScenarioId, SCENARIOS};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{mpsc, Arc, Mutex};

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
    /// Turn on a known-bad switch in every campaign (repeatable; see `list`): a fire drill,
    /// the scenarios that catch it must fail, and so must the CI job around them.
    #[arg(long = "mutation", value_name = "NAME", value_parser = parse_mutation)]
    pub mutations: Vec<Mutation>,
    /// Write a counterexample page (HTML) for every failing campaign into this directory.
    #[arg(long, value_name = "DIR")]
    pub html_dir: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `list --json`: one scenario.
#[derive(Serialize)]
struct ScenarioRow {
    name: &'static str,
    hazard: u8,
    summary: &'static str,
    drives: &'static [&'static str],
    loom: bool,
    /// The mutations it must catch.
    catches: Vec<&'static str>,
    /// Fix switches of shipped bugs it exposes.
    shipped: Vec<&'static str>,
}

/// `list --json`: one catalogue switch.
#[derive(Serialize)]
struct SwitchRow {
    name: &'static str,
    /// `mutation` (adds a bug) or `fix` (removes one that shipped).
    kind: &'static str,
    /// The eras it can act in.
    eras: Vec<Era>,
    description: &'static str,
}

/// `list --json`: one preset.
#[derive(Serialize)]
struct PresetRow {
    name: &'static str,
    description: &'static str,
    era: Era,
    profile: super::json::ProfileRow,
}

#[derive(Serialize)]
struct Listing {
    scenarios: Vec<ScenarioRow>,
    mutations: Vec<SwitchRow>,
    shipped_bugs: Vec<super::json::ShippedBugRow>,
    presets: Vec<PresetRow>,
}

/// `list`.
pub fn list(a: &ListArgs) -> ExitCode {
    let presets = slab_model::profile::presets();
    if a.json {
        let names = |ms: &[Mutation]| ms.iter().map(|m| m.name()).collect();
        let l = Listing {
            scenarios: SCENARIOS
                .iter()
                .map(|s| ScenarioRow {
                    name: s.name,
                    hazard: s.hazard,
                    summary: s.summary,
                    drives: s.drives,
                    loom: s.loom,
                    catches: names(s.catches),
                    shipped: names(s.shipped),
                })
                .collect(),
            mutations: Mutation::ALL
                .iter()
                .map(|&m| SwitchRow {
                    name: m.name(),
                    kind: match m.kind() {
                        SwitchKind::Mutation => "mutation",
                        SwitchKind::Fix => "fix",
                    },
                    eras: [Era::A, Era::B]
                        .into_iter()
                        .filter(|&e| m.acts_in(e))
                        .collect(),
                    description: m.description(),
                })
                .collect(),
            shipped_bugs: slab_model::mutation::SHIPPED_BUGS
                .iter()
                .map(Into::into)
                .collect(),
            presets: presets
                .iter()
                .map(|p| PresetRow {
                    name: p.name,
                    description: p.description,
                    era: p.era,
                    profile: (&p.profile).into(),
                })
                .collect(),
        };
        super::json::print("list", &l);
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
    for p in &presets {
        println!("  {:<16} era {}  {}", p.name, p.era, p.description);
    }
    ExitCode::SUCCESS
}

/// One campaign of `check`.
#[derive(Clone, Debug)]
pub(super) struct Job {
    pub id: ScenarioId,
    pub params: Params,
    pub kind: SchedulerKind,
    /// The faithful model of an era whose kernel shipped a bug this scenario exposes:
    /// the campaign must find it (an expected, named finding).
    pub expect: Option<&'static ShippedBug>,
}

/// How one campaign of `check` ended; in JSON the schema's `$defs/check_campaign.result`
/// tokens (`merge` reads them back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Verdict {
    /// No failure, none expected.
    Ok,
    /// A failure where none was expected.
    Failed,
    /// The faithful model of the era found the bug its kernel shipped (expected).
    ShippedBugFound,
    /// The faithful model failed, but not with the shipped bug's symptom.
    WrongFailure,
    /// The faithful model did not find the bug its kernel shipped.
    ShippedBugMissed,
}

impl Verdict {
    fn of(job: &Job, r: &CampaignReport) -> Verdict {
        match (job.expect, &r.failure) {
            (None, None) => Verdict::Ok,
            (None, Some(_)) => Verdict::Failed,
            (Some(b), Some(f)) if f.message.lines().next().unwrap_or("").contains(b.symptom) => {
                Verdict::ShippedBugFound
            }
            (Some(_), Some(_)) => Verdict::WrongFailure,
            (Some(_), None) => Verdict::ShippedBugMissed,
        }
    }
    pub fn passed(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::ShippedBugFound)
    }
    /// The text report's words.
    fn text(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Failed => "FAILED",
            Verdict::ShippedBugFound => "shipped bug found (expected)",
            Verdict::WrongFailure => "FAILED (not the shipped bug)",
            Verdict::ShippedBugMissed => "MISSED the shipped bug",
        }
    }
}

/// Executions the faithful campaign of a shipped bug may take to find it (loom finds
/// `shrink-vs-tune`'s within a few hundred; shuttle within a few hundred at most).
const SHIPPED_BUG_BUDGET: usize = 20_000;

/// The campaigns of `check`, in the order `--shard` counts them, with their budgets;
/// `extra` (`--mutation`) is on in every one of them.
pub(super) fn check_jobs(iterations: Option<usize>, extra: MutationSet) -> Vec<(Job, usize)> {
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
                    p.mutations = p.mutations.union(extra);
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
            // The same scenario on a CONFIG_DEBUG_SLAB profile: red zones, poison and the
            // last user on every object, every debug check on the way, and none may fire
            // (with the upstream fix of a shipped bug, which is the plain campaigns' job).
            let mut p = Params::small(era);
            p.mutations = p.mutations.union(extra);
            p.cpus = 2;
            p.ops = 4;
            p.trace_capacity = 256;
            p.debug = true;
            if let Some(bug) = s.shipped_in(era) {
                p.mutations = p.mutations.with(bug.switch);
            }
            jobs.push((
                Job {
                    id: s.id,
                    params: p,
                    kind: SchedulerKind::Random,
                    expect: None,
                },
                iterations.unwrap_or(DEBUG_BUDGET),
            ));
        }
    }
    jobs
}

/// Executions of each scenario's DEBUG campaign (a quarter of a plain 2-CPU campaign).
const DEBUG_BUDGET: usize = 30_000;

/// Whether campaign `k` (0-based, in `check_jobs` order) runs in shard `i` of `n`.
pub(super) fn in_shard(k: usize, i: usize, n: usize) -> bool {
    k % n == i - 1
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

/// `check --json`: one campaign.
#[derive(Serialize)]
struct CheckRow {
    #[serde(flatten)]
    campaign: CampaignRow,
    /// How it ended: `ok`, `failed`, `shipped-bug-found`, `wrong-failure`,
    /// `shipped-bug-missed`.
    result: Verdict,
    /// The campaign ran a faithful model whose kernel shipped a bug: `result` says
    /// whether the expected finding came.
    expected_finding: bool,
    /// That bug, for such a campaign.
    shipped_bug: Option<ShippedBugRow>,
}

#[derive(Serialize)]
struct Shard {
    index: usize,
    count: usize,
}

#[derive(Serialize)]
struct CheckSummary {
    /// Campaigns of this shard.
    planned_campaigns: usize,
    /// Campaigns that finished (fewer when interrupted).
    campaigns: usize,
    executions: usize,
    cpu_seconds: f64,
    /// Finished campaigns whose result is not `ok` or `shipped-bug-found`.
    failed: usize,
    /// Finished campaigns of faithful models with a bug their kernel shipped.
    expected_findings: usize,
    /// Every planned campaign finished and passed.
    passed: bool,
    /// Wall time of the whole run (what a CI runner's time limit has to cover).
    wall_seconds: f64,
}

#[derive(Serialize)]
struct CheckPayload {
    shard: Shard,
    seed: u64,
    /// `--iterations`; null: the default budgets. Shards merge only with equal budgets.
    iterations: Option<usize>,
    /// `--mutation`: the switches on in every campaign (each campaign's `mutations` also
    /// has the fix switch of its shipped bug).
    mutations: Vec<&'static str>,
    jobs: usize,
    /// SIGINT stopped the run: `campaigns` holds the finished ones only.
    interrupted: bool,
    campaigns: Vec<CheckRow>,
    summary: CheckSummary,
}

/// What the workers of `check` tell the main thread.
enum Msg {
    /// Campaign k finished (with the structured trace of its failure).
    Done(usize, Box<(CampaignReport, Option<FailureTrace>)>),
    /// A worker has stopped.
    WorkerExit,
    /// SIGINT.
    Interrupted,
}

/// Tells the main thread that a worker stopped, however it stops.
struct ExitNotice(mpsc::Sender<Msg>);

impl Drop for ExitNotice {
    fn drop(&mut self) {
        let _ = self.0.send(Msg::WorkerExit);
    }
}

/// `check`: the main job.
pub fn check(a: &CheckArgs) -> ExitCode {
    let (shard, of) = match a.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s.unwrap_or((1, 1)),
        Err(e) => return exit::usage(&e),
    };
    let mut extra = MutationSet::NONE;
    for &m in &a.mutations {
        // The faithful model of each shipped bug and its fix already run as campaigns of
        // their own; a fix switch here would only turn the faithful ones into misses.
        if m.kind() == SwitchKind::Fix {
            return exit::usage(&format!(
                "--mutation {m}: a fix switch; check already runs every shipped bug with and without its fix (mutations: see `slab-verify list`)"
            ));
        }
        extra = extra.with(m);
    }
    // Before any campaign runs: a directory that cannot be made would only show up
    // after the whole run, at the first failure.
    if let Some(d) = &a.html_dir {
        if let Err(e) = std::fs::create_dir_all(d) {
            return exit::usage(&format!("cannot create --html-dir {}: {e}", d.display()));
        }
    }
    let started = std::time::Instant::now();
    // Each campaign keeps its index in the whole job: page names stay unique across shards.
    let (indices, jobs): (Vec<usize>, Vec<(Job, usize)>) = check_jobs(a.iterations, extra)
        .into_iter()
        .enumerate()
        .filter(|(k, _)| in_shard(*k, shard, of))
        .unzip();
    let jobs = Arc::new(jobs);
    let workers = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let n = jobs.len();
    // The total bar counts executions (every budget is known), so its ETA is by work.
    let planned: u64 = jobs.iter().map(|(_, i)| *i as u64).sum();
    let mp = MultiProgress::with_draw_target(exit::progress_target(a.json));
    let drawing = exit::drawing(&mp);
    let total = mp.add(ProgressBar::new(planned));
    total.set_style(
        ProgressStyle::with_template(
            "{prefix:>9} [{bar:40}] {human_pos}/{human_len} executions, {msg}, {elapsed} elapsed, ~{eta} left",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    total.set_prefix("check");
    total.set_message(format!("0/{n} campaigns"));
    let (tx, rx) = mpsc::channel::<Msg>();
    // Closed by SIGINT: no worker starts a campaign or moves a bar after that.
    let gate = exit::Gate::default();
    let sigint = tx.clone();
    exit::on_interrupt(move || {
        let _ = sigint.send(Msg::Interrupted);
    });
    let queue = Arc::new(Mutex::new((0..n).collect::<VecDeque<usize>>()));
    let spawned = workers.min(n.max(1));
    for _ in 0..spawned {
        let bar = mp.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>9} [{bar:20}] {human_pos}/{human_len} {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_prefix("worker");
        let (jobs, queue, gate, total, seed) = (
            jobs.clone(),
            queue.clone(),
            gate.clone(),
            total.clone(),
            a.seed,
        );
        let notice = ExitNotice(tx.clone());
        std::thread::spawn(move || {
            let notice = notice;
            while !gate.is_closed() {
                let Some(k) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
                    break;
                };
                let (job, iters) = &jobs[k];
                gate.run(|| {
                    bar.set_length(*iters as u64);
                    bar.set_position(0);
                    bar.set_message(format!(
                        "{} era {} cpus {} {}",
                        job.id.info().name,
                        job.params.era_label(),
                        job.params.cpus,
                        job.kind
                    ));
                });
                let progress = {
                    let (bar, total, gate) = (bar.clone(), total.clone(), gate.clone());
                    Arc::new(move |_: usize| {
                        gate.run(|| {
                            bar.inc(1);
                            total.inc(1);
                        })
                    })
                };
                let r = campaign_with_progress(
                    job.id,
                    &job.params,
                    job.kind,
                    seed,
                    Budget::Iterations(*iters),
                    progress,
                );
                // A campaign that stopped at a failure has done its share of the work.
                gate.run(|| total.inc(iters.saturating_sub(r.iterations) as u64));
                let trace = r.failure.as_ref().and_then(|_| take_last_failure());
                if notice.0.send(Msg::Done(k, Box::new((r, trace)))).is_err() {
                    break;
                }
            }
            gate.run(|| bar.finish_and_clear());
        });
    }
    drop(tx);
    let mut results: Vec<Option<(CampaignReport, Option<FailureTrace>)>> = vec![None; n];
    let (mut done, mut live, mut interrupted) = (0, spawned, false);
    while done < n && live > 0 {
        match rx.recv() {
            Ok(Msg::Done(k, report)) => {
                results[k] = Some(*report);
                done += 1;
                gate.run(|| total.set_message(format!("{done}/{n} campaigns")));
            }
            Ok(Msg::WorkerExit) => live -= 1,
            Ok(Msg::Interrupted) => {
                // Campaigns in flight are abandoned: the report covers the finished ones.
                interrupted = true;
                break;
            }
            Err(_) => break,
        }
    }
    gate.close();
    let _ = mp.clear();
    mp.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    drop(drawing);
    let wall = started.elapsed().as_secs_f64();
    // (index in the whole job, campaign, report, trace, verdict) of each finished campaign.
    let finished: Vec<(usize, &Job, CampaignReport, Option<FailureTrace>, Verdict)> = jobs
        .iter()
        .zip(&indices)
        .zip(results)
        .filter_map(|(((job, _), &k), r)| {
            r.map(|(r, t)| {
                let v = Verdict::of(job, &r);
                (k, job, r, t, v)
            })
        })
        .collect();
    // The pages of the failing campaigns, by position in `finished`.
    let mut pages: Vec<Option<String>> = vec![None; finished.len()];
    if let Some(dir) = &a.html_dir {
        for (slot, (k, _, r, t, v)) in pages.iter_mut().zip(&finished) {
            if v.passed() || r.failure.is_none() {
                continue;
            }
            match write_page(dir, *k, r, t.as_ref()) {
                Ok(path) => *slot = Some(path),
                // The report matters more than a page: say so and go on (the exit code
                // is 1 anyway, the campaign failed).
                Err(e) => eprintln!("error: {e}"),
            }
        }
    }
    let failed = finished.iter().filter(|f| !f.4.passed()).count();
    let code = if interrupted {
        ExitCode::from(exit::INTERRUPTED)
    } else if failed == 0 && done == n {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if a.json {
        let expected = finished.iter().filter(|f| f.1.expect.is_some()).count();
        let total_iters: usize = finished.iter().map(|f| f.2.iterations).sum();
        let total_secs: f64 = finished.iter().map(|f| f.2.seconds).sum();
        let campaigns: Vec<CheckRow> = finished
            .into_iter()
            .zip(pages)
            .map(|((_, job, r, t, v), page)| CheckRow {
                campaign: CampaignRow::new(&r, a.seed, t).with_files(page, None),
                result: v,
                expected_finding: job.expect.is_some(),
                shipped_bug: job.expect.map(Into::into),
            })
            .collect();
        super::json::print(
            "check",
            &CheckPayload {
                shard: Shard {
                    index: shard,
                    count: of,
                },
                seed: a.seed,
                iterations: a.iterations,
                mutations: super::json::switch_names(extra),
                jobs: workers,
                interrupted,
                summary: CheckSummary {
                    planned_campaigns: n,
                    campaigns: campaigns.len(),
                    executions: total_iters,
                    cpu_seconds: total_secs,
                    failed,
                    expected_findings: expected,
                    passed: failed == 0 && done == n && !interrupted,
                    wall_seconds: wall,
                },
                campaigns,
            },
        );
        return code;
    }
    let rows: Vec<ReportRow> = finished
        .iter()
        .zip(&pages)
        .map(|((_, job, r, _, v), page)| ReportRow {
            scenario: r.scenario,
            era: r.params.era_label(),
            cpus: r.params.cpus,
            ops: r.params.ops,
            scheduler: r.scheduler.to_string(),
            executions: r.iterations,
            seconds: r.seconds,
            verdict: *v,
            switches: r.params.mutations.iter().map(|m| m.name()).collect(),
            shipped: job.expect.map(|b| (b.shipped_in, b.fixed_in, b.fix)),
            failure: r
                .failure
                .as_ref()
                .map(|f| (f.message.lines().next().unwrap_or(""), f.token.as_str())),
            page: page.as_deref(),
        })
        .collect();
    print_report(
        &rows,
        &format!("shard {shard}/{of}"),
        &format!("{wall:.1} s wall"),
    );
    if interrupted {
        println!(
            "\nINTERRUPTED (SIGINT): {done} of {n} campaigns finished; the report above covers only those, the others did not run or were abandoned."
        );
    } else if done < n {
        println!("\nINCOMPLETE: {done} of {n} campaigns finished (a worker stopped).");
    }
    code
}

/// Writes the counterexample page of campaign `k` (its index in the whole job, so the
/// names of all shards' pages differ) into `dir`; the path written.
fn write_page(
    dir: &Path,
    k: usize,
    r: &CampaignReport,
    trace: Option<&FailureTrace>,
) -> Result<String, String> {
    let f = r.failure.as_ref().expect("a failing campaign");
    let empty = FailureTrace::default();
    let title = format!(
        "{} era {} cpus {} ops {} {}{}",
        r.scenario,
        r.params.era_label(),
        r.params.cpus,
        r.params.ops,
        r.scheduler,
        r.params
            .mutations
            .iter()
            .map(|m| format!(" mutation {m}"))
            .collect::<String>()
    );
    let path = dir.join(format!(
        "{k:03}-{}-{}-{}cpu-{}.html",
        r.scenario,
        r.params.era_label().replace('+', "-"),
        r.params.cpus,
        r.scheduler
    ));
    let page = slab_verify::html::Page::of_campaign(&title, r, f, trace.unwrap_or(&empty));
    std::fs::write(&path, slab_verify::html::counterexample_page(&page))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// One campaign in the text report of `check` and of `merge` (which reads it back from
/// the shards' JSON): both print the same table from these.
pub(super) struct ReportRow<'a> {
    pub scenario: &'a str,
    /// `A`, `B`, `A+debug`, ... (`Params::era_label`).
    pub era: String,
    pub cpus: usize,
    pub ops: usize,
    pub scheduler: String,
    pub executions: usize,
    pub seconds: f64,
    pub verdict: Verdict,
    /// The switches on (mutations and fix switches), by name.
    pub switches: Vec<&'a str>,
    /// For a faithful campaign: the bug's `shipped_in`, `fixed_in`, `fix`.
    pub shipped: Option<(&'a str, &'a str, &'a str)>,
    /// The failure's first line and its token.
    pub failure: Option<(&'a str, &'a str)>,
    /// The counterexample page written (`--html-dir`).
    pub page: Option<&'a str>,
}

/// The table, the summary line (`N campaigns (<scope>), ... CPU-seconds (...), <wall>:
/// every invariant held`), the shipped bugs and every failure with its replay command.
pub(super) fn print_report(rows: &[ReportRow], scope: &str, wall: &str) {
    let failed = rows.iter().filter(|r| !r.verdict.passed()).count();
    let expected = rows.iter().filter(|r| r.shipped.is_some()).count();
    let total_iters: usize = rows.iter().map(|r| r.executions).sum();
    let total_secs: f64 = rows.iter().map(|r| r.seconds).sum();
    println!(
        "{:<30} {:<3} {:>4} {:>3} {:<7} {:>10} {:>8} {:>10}  result",
        "scenario", "era", "cpus", "ops", "sched", "executions", "secs", "exec/s"
    );
    for r in rows {
        let rate = if r.seconds > 0.0 {
            r.executions as f64 / r.seconds
        } else {
            0.0
        };
        println!(
            "{:<30} {:<3} {:>4} {:>3} {:<7} {:>10} {:>8.2} {:>10.0}  {}{}",
            r.scenario,
            r.era,
            r.cpus,
            r.ops,
            r.scheduler,
            r.executions,
            r.seconds,
            rate,
            r.verdict.text(),
            if r.switches.is_empty() {
                String::new()
            } else {
                format!(" (with {})", r.switches.join(","))
            }
        );
    }
    println!(
        "\n{} campaigns ({scope}), {total_iters} executions in {total_secs:.1} CPU-seconds ({:.0} exec/s per core), {wall}: {}",
        rows.len(),
        if total_secs > 0.0 { total_iters as f64 / total_secs } else { 0.0 },
        if failed == 0 { "every invariant held".to_string() } else { format!("{failed} FAILED") }
    );
    for r in rows {
        let Some((shipped_in, fixed_in, fix)) = r.shipped else {
            continue;
        };
        println!(
            "\nshipped bug, {} era {} (shipped in {shipped_in}, fixed in {fixed_in}: {fix}): {}",
            r.scenario,
            r.era,
            match r.failure {
                Some((first, _)) => format!("found as expected: {first}"),
                None => "NOT FOUND".to_string(),
            }
        );
    }
    if expected > 0 {
        println!(
            "\n{expected} campaigns of faithful models with a bug their kernel shipped (expected findings, not failures)."
        );
    }
    for r in rows.iter().filter(|r| !r.verdict.passed()) {
        let Some((first, token)) = r.failure else {
            println!(
                "\nFAILED {} era {}: the shipped bug was not found",
                r.scenario, r.era
            );
            continue;
        };
        println!("\nFAILED {} era {}: {first}", r.scenario, r.era);
        println!("  replay: slab-verify replay '{token}'");
        if let Some(p) = r.page {
            println!("  page:   {p}");
        }
    }
}

/// The default job of `check` (no `--iterations`): one object per campaign, in the order
/// `--shard` counts them, with `scenario`, `era`, `cpus`, `ops`, `scheduler`, `executions`
/// (the default budget), `expected_finding` (a faithful campaign of a shipped bug, which
/// stops at its finding), `workload_seed` and `trace_capacity`. verify/tests/cli_docs.rs
/// generates docs/cli.md's budget table from it.
#[allow(dead_code)] // only verify/tests/cli_docs.rs calls it (it includes this file)
pub fn default_campaigns() -> Vec<serde_json::Value> {
    check_jobs(None, MutationSet::NONE)
        .into_iter()
        .map(|(job, executions)| {
            serde_json::json!({
                "scenario": job.id.info().name,
                "era": job.params.era.to_string(),
                "debug": job.params.debug,
                "cpus": job.params.cpus,
                "ops": job.params.ops,
                "scheduler": job.kind.to_string(),
                "executions": executions,
                "expected_finding": job.expect.is_some(),
                "workload_seed": job.params.seed,
                "trace_capacity": job.params.trace_capacity,
            })
        })
        .collect()
}
