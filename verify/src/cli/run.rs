//! `slab-verify run`: one scenario under one scheduler; a failure is printed, written as
//! an HTML page and optionally saved as a replay file.

use super::exit;
use super::json::{CampaignRow, ShippedBugRow};
use super::verify::{parse_mutation, EraArg, Sched};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use slab_model::mutation::SwitchKind;
use slab_model::Mutation;
use slab_model::MutationSet;
use slab_verify::drivers::shuttle::{
    campaign_with_progress, Budget, CampaignReport, SchedulerKind, TOKEN_VERSION,
};
use slab_verify::html::counterexample_page;
use slab_verify::scenarios::{take_last_failure, FailureTrace, Params, ScenarioId};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    /// Run on a CONFIG_DEBUG_SLAB profile (red zones, poisoning, last user; a debug
    /// check that fires is a failure).
    #[arg(long)]
    pub debug: bool,
    /// Re-introduce a known bug (repeatable; see `list`).
    #[arg(long = "mutation", value_name = "NAME", value_parser = parse_mutation)]
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
    /// The failing context's lane (with `invariant`: the failure `replay` must see).
    context: &'a str,
}

/// `run --json`: the budget asked for.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum BudgetRow {
    Executions(usize),
    Seconds(f64),
}

/// `run --json`.
#[derive(Serialize)]
struct RunPayload {
    #[serde(flatten)]
    campaign: CampaignRow,
    budget: BudgetRow,
    /// `ok`, `failed`, or `shipped-bug-found` (the faithful model of an era found the bug
    /// its kernel shipped: an expected finding, still exit 1).
    result: &'static str,
    /// That bug, when `result` is `shipped-bug-found`.
    shipped_bug: Option<ShippedBugRow>,
}

/// `{rate}` of the progress bars: executions per second, whole.
fn rate(s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{:.0}/s", s.per_sec());
}

/// ` with mutation a, b and fix switch f` for the switches on, or nothing.
fn switches_phrase(m: MutationSet) -> String {
    let names = |k: SwitchKind| -> Vec<&str> {
        m.iter()
            .filter(|s| s.kind() == k)
            .map(|s| s.name())
            .collect()
    };
    let mut parts = Vec::new();
    for (k, one, many) in [
        (SwitchKind::Mutation, "mutation", "mutations"),
        (SwitchKind::Fix, "fix switch", "fix switches"),
    ] {
        let n = names(k);
        if !n.is_empty() {
            let what = if n.len() == 1 { one } else { many };
            parts.push(format!("{what} {}", n.join(", ")));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" with {}", parts.join(" and "))
    }
}

fn print_counterexample(
    r: &CampaignReport,
    trace: &FailureTrace,
    html: &std::path::Path,
    save: Option<&std::path::Path>,
    text: bool,
) -> Result<(), String> {
    let f = r.failure.as_ref().expect("a failure");
    let invariant = f.message.lines().next().unwrap_or("").to_string();
    if text {
        println!(
            "FAILED after {} executions ({} scheduler{}):",
            r.iterations,
            r.scheduler,
            switches_phrase(r.params.mutations)
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
        r.params.era_label(),
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
        counterexample_page(&slab_verify::html::Page::of_campaign(&title, r, f, trace)),
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
            context: &f.failure.context,
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
    // A loom scenario needs two CPUs for its two contexts.
    let min_cpus = if id.info().loom { 2 } else { 1 };
    if !(min_cpus..=64).contains(&a.cpus) {
        return exit::usage(&format!(
            "--cpus {} is out of range for {}: need {min_cpus}..=64",
            a.cpus, a.scenario
        ));
    }
    if !(1..=10_000).contains(&a.ops) {
        return exit::usage(&format!(
            "--ops {} is out of range: need 1..=10000 operations per context",
            a.ops
        ));
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
    p.debug = a.debug;
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
        (_, Some(s)) if s > 0.0 && s.is_finite() => Budget::Seconds(s),
        (_, Some(s)) => {
            return exit::usage(&format!(
                "--seconds {s} is out of range: need a positive, finite number"
            ))
        }
        (Some(n), None) => Budget::Iterations(n),
        (None, None) => Budget::Iterations(100_000),
    };
    // Progress by executions (a spinner for a time budget); hidden with --json or when
    // stderr is not a terminal.
    let mp = MultiProgress::with_draw_target(exit::progress_target(a.json));
    let drawing = exit::drawing(&mp);
    let bar = match budget {
        Budget::Iterations(n) => {
            let bar = mp.add(ProgressBar::new(n as u64));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:40}] {human_pos}/{human_len} executions, {rate}, {elapsed} elapsed, ~{eta} left",
                )
                .expect("template")
                .with_key("rate", rate)
                .progress_chars("=> "),
            );
            bar
        }
        Budget::Seconds(s) => {
            let bar = mp.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} {spinner} {human_pos} executions, {rate}, {elapsed} of {msg}",
                )
                .expect("template")
                .with_key("rate", rate),
            );
            bar.set_message(format!("{s}s"));
            bar
        }
    };
    bar.set_prefix(a.scenario.clone());
    let progress = {
        let bar = bar.clone();
        Arc::new(move |n: usize| bar.set_position(n as u64))
    };
    let r = campaign_with_progress(id, &p, kind, a.seed, budget, progress);
    bar.finish_and_clear();
    drop(drawing);
    let trace = r.failure.as_ref().and_then(|_| take_last_failure());
    // The bug the faithful model of this era is expected to find, if this is it.
    let shipped = id.info().shipped_in(p.era).filter(|b| {
        !p.mutations.has(b.switch)
            && r.failure
                .as_ref()
                .is_some_and(|f| f.message.lines().next().unwrap_or("").contains(b.symptom))
    });
    if r.failure.is_some() {
        // The page and the replay file are written in both output modes; the text
        // report only without --json.
        let t = trace.clone().unwrap_or_default();
        if let Err(e) = print_counterexample(&r, &t, &a.html, a.save.as_deref(), !a.json) {
            return exit::usage(&e);
        }
    }
    if a.json {
        let path = |p: &std::path::Path| p.display().to_string();
        super::json::print(
            "run",
            &RunPayload {
                campaign: CampaignRow::new(&r, a.seed, trace)
                    .with_files(Some(path(&a.html)), a.save.as_deref().map(path)),
                budget: match budget {
                    Budget::Iterations(n) => BudgetRow::Executions(n),
                    Budget::Seconds(s) => BudgetRow::Seconds(s),
                },
                result: match (&r.failure, shipped) {
                    (None, _) => "ok",
                    (Some(_), None) => "failed",
                    (Some(_), Some(_)) => "shipped-bug-found",
                },
                shipped_bug: shipped.map(Into::into),
            },
        );
    } else if r.failure.is_none() {
        println!(
            "{} era {} cpus {} ops {} {}{}: {} executions in {:.2}s ({:.0}/s), every invariant held",
            r.scenario,
            r.params.era_label(),
            r.params.cpus,
            r.params.ops,
            r.scheduler,
            switches_phrase(r.params.mutations),
            r.iterations,
            r.seconds,
            r.rate()
        );
    } else if let Some(b) = shipped {
        println!(
            "\nThis is the bug that shipped in {} (fixed in {}: {}): an expected finding of the faithful era-{} model. Rerun with --mutation {} for the fixed kernel.",
            b.shipped_in, b.fixed_in, b.fix, b.era, b.switch
        );
    }
    if r.failure.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
