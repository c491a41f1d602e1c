//! `slab-verify run`: one scenario under one scheduler; a failure is printed, written as
//! an HTML page and optionally saved as a replay file.

use crate::cli_verify::{parse_mutation, EraArg, Sched};
use crate::exit;
use clap::Args;
use serde::Serialize;
use slab_model::Mutation;
use slab_model::MutationSet;
use slab_verify::html::counterexample_page;
use slab_verify::scenario::{take_last_failure, Params, ScenarioId};
use slab_verify::shuttle_driver::{campaign, Budget, CampaignReport, SchedulerKind, TOKEN_VERSION};
use std::path::PathBuf;
use std::process::ExitCode;

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
        counterexample_page(&slab_verify::html::Page::of_campaign(&title, r, f, &trace)),
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
