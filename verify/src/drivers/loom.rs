//! Runs scenarios under loom: exhaustive exploration of interleavings up to a preemption
//! bound (default 2; `SLAB_LOOM_PREEMPTIONS` or `LOOM_MAX_PREEMPTIONS` override it, see
//! [`preemption_bound`]).
//!
//! loom 0.7.2's limits that matter here: at most 5 threads including the
//! main thread, so loom scenarios use ≤ 4 contexts; `SeqCst` is modelled as `AcqRel` and
//! load buffering is not explored — the model synchronises only through locks and
//! acquire/release counters, so neither gap hides one of its bugs; per-execution branch
//! budget (`LOOM_MAX_BRANCHES`) is raised to 100,000 here.

use crate::scenarios::{panic_message, run, Params, ScenarioId};
use serde::Serialize;
use slab_model::sync::LoomPlatform;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default preemption bound when neither variable is set.
pub const DEFAULT_PREEMPTION_BOUND: usize = 2;

/// The project's own bound variable: a number, or `none` / `unbounded` for no bound. It
/// exists because loom's `Builder::new` parses `LOOM_MAX_PREEMPTIONS` itself as a number
/// and panics on anything else, and `Builder` (`#[non_exhaustive]`, `Default` = `new`)
/// cannot be built without that read — so `none` can only travel in a variable loom does
/// not read.
pub const PREEMPTIONS_VAR: &str = "SLAB_LOOM_PREEMPTIONS";

/// The result of exploring one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct LoomReport {
    /// Scenario name.
    pub scenario: &'static str,
    /// Parameters.
    pub params: Params,
    /// Preemption bound used (`None` = unbounded).
    pub preemption_bound: Option<usize>,
    /// Executions explored (up to and including the failing one).
    pub executions: usize,
    /// Wall time (reporting only; nothing in the model reads a clock).
    pub seconds: f64,
    /// Whether loom stopped at a time budget ([`explore_budgeted`]) before the bounded
    /// space was exhausted: then `executions` is a lower bound of the space.
    pub stopped_at_budget: bool,
    /// The failure, if an execution failed: the violated invariant and the trace.
    pub failure: Option<String>,
    /// The concurrency points the passing executions reached (docs/concurrency.md map).
    pub sites: Vec<slab_model::site::Site>,
}

/// Parses a bound: a number, or `none` / `unbounded` (`Ok(None)`).
pub fn parse_bound(v: &str) -> Result<Option<usize>, String> {
    match v {
        "none" | "unbounded" => Ok(None),
        n => n.parse().map(Some).map_err(|_| {
            format!("not a preemption bound: {v:?} (a number, `none` or `unbounded`)")
        }),
    }
}

/// The bound the two variables' values select: `SLAB_LOOM_PREEMPTIONS` first (a number,
/// `none` or `unbounded`), else `LOOM_MAX_PREEMPTIONS` (a number — loom itself reads it and
/// accepts nothing else), else [`DEFAULT_PREEMPTION_BOUND`]. A value that cannot work is an
/// error, never a silent fallback: `LOOM_MAX_PREEMPTIONS=none` would make loom's
/// `Builder::new` panic with "invalid value", so the error names the variable to use.
pub fn bound_from(slab: Option<&str>, loom: Option<&str>) -> Result<Option<usize>, String> {
    if let Some(loom) = loom {
        // Checked even when SLAB_LOOM_PREEMPTIONS decides: loom parses it regardless.
        if loom.parse::<usize>().is_err() {
            return Err(format!(
                "LOOM_MAX_PREEMPTIONS={loom:?}: loom 0.7.2 parses this variable itself and \
                 accepts only a number; for no bound unset it and set {PREEMPTIONS_VAR}=none"
            ));
        }
    }
    match (slab, loom) {
        (Some(s), _) => parse_bound(s).map_err(|e| format!("{PREEMPTIONS_VAR}: {e}")),
        (None, Some(l)) => parse_bound(l),
        (None, None) => Ok(Some(DEFAULT_PREEMPTION_BOUND)),
    }
}

/// The preemption bound from the environment ([`bound_from`] of `SLAB_LOOM_PREEMPTIONS`
/// and `LOOM_MAX_PREEMPTIONS`). Panics on a value that cannot work.
pub fn preemption_bound() -> Option<usize> {
    let slab = std::env::var(PREEMPTIONS_VAR).ok();
    let loom = std::env::var("LOOM_MAX_PREEMPTIONS").ok();
    bound_from(slab.as_deref(), loom.as_deref()).unwrap_or_else(|e| panic!("{e}"))
}

/// Explores `id` with `params` under loom at the environment's bound
/// ([`preemption_bound`]), honouring loom's other environment variables, including
/// `LOOM_CHECKPOINT_FILE` / `LOOM_CHECKPOINT_INTERVAL` for replay.
pub fn explore(id: ScenarioId, params: &Params) -> LoomReport {
    explore_inner(id, params, preemption_bound(), None, None)
}

/// The same at an explicit `bound` (`None` = unbounded), whatever the environment says.
pub fn explore_bounded(id: ScenarioId, params: &Params, bound: Option<usize>) -> LoomReport {
    explore_inner(id, params, checked(bound), None, None)
}

/// [`explore_bounded`], but loom stops after about `budget` of wall time
/// ([`LoomReport::stopped_at_budget`]); for measuring how deep a scenario's space goes.
pub fn explore_budgeted(
    id: ScenarioId,
    params: &Params,
    bound: Option<usize>,
    budget: Duration,
) -> LoomReport {
    explore_inner(id, params, checked(bound), None, Some(budget))
}

/// An explicit bound still goes through `Builder::new`, which panics on an unparsable
/// `LOOM_MAX_PREEMPTIONS`: fail first with the message that says what to do.
fn checked(bound: Option<usize>) -> Option<usize> {
    let loom = std::env::var("LOOM_MAX_PREEMPTIONS").ok();
    if let Err(e) = bound_from(None, loom.as_deref()) {
        panic!("{e}");
    }
    bound
}

/// The same at the environment's bound, resuming from / writing to a loom checkpoint
/// file with interval 1, so the file ends up holding the failing execution's path:
/// replaying it fails on the first execution. This is how a counterexample becomes a
/// committed regression test.
pub fn explore_with(
    id: ScenarioId,
    params: &Params,
    checkpoint: Option<&std::path::Path>,
) -> LoomReport {
    explore_inner(id, params, preemption_bound(), checkpoint, None)
}

/// How often loom looks at the clock when a budget is set: its model loop checks
/// `max_duration` only every `checkpoint_interval` executions (20,000 by default, minutes
/// for the larger scenarios).
const BUDGET_INTERVAL: usize = 500;

fn explore_inner(
    id: ScenarioId,
    params: &Params,
    bound: Option<usize>,
    checkpoint: Option<&std::path::Path>,
    budget: Option<Duration>,
) -> LoomReport {
    // Only after the bound is known to be loom-parsable (callers check): `new` reads it.
    let mut b = loom::model::Builder::new();
    if let Some(path) = checkpoint {
        b.checkpoint_file(path.to_str().expect("utf-8 checkpoint path"));
        b.checkpoint_interval = 1;
    }
    if let Some(d) = budget {
        b.max_duration = Some(d);
        if checkpoint.is_none() {
            b.checkpoint_interval = BUDGET_INTERVAL;
        }
    }
    b.preemption_bound = bound;
    if std::env::var("LOOM_MAX_BRANCHES").is_err() {
        b.max_branches = 100_000;
    }
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let reached = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let seen = reached.clone();
    let p = params.clone();
    let start = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| {
        b.check(move || {
            c.fetch_add(1, Ordering::Relaxed);
            let o = run::<LoomPlatform>(id, &p);
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(o.sites);
        })
    }));
    let seconds = start.elapsed().as_secs_f64();
    let executions = count.load(Ordering::Relaxed);
    let sites: Vec<slab_model::site::Site> = reached
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    // loom returns from `check` alike when the space is exhausted and when `max_duration`
    // passed; the latter happens only right before execution k·interval + 1, after the
    // budget. (A space that ends exactly there, late, is also counted as stopped: the
    // conservative reading.)
    let stopped_at_budget = r.is_ok()
        && budget.is_some_and(|d| {
            seconds >= d.as_secs_f64() && (executions + 1).is_multiple_of(b.checkpoint_interval)
        });
    LoomReport {
        scenario: id.info().name,
        params: params.clone(),
        preemption_bound: b.preemption_bound,
        executions,
        sites,
        seconds,
        stopped_at_budget,
        failure: r.err().map(|e| {
            format!(
                "{}\n--- replay ---\nloom stops at the first failing execution. To replay it:\n  LOOM_CHECKPOINT_FILE=loom-{name}.json LOOM_CHECKPOINT_INTERVAL=1 cargo test --release --features loom --test loom {name}\nthen rerun the same command with LOOM_LOG=trace LOOM_LOCATION=1 for loom's own step log; the file, committed under tests/regressions/, replays with slab_verify::drivers::loom::explore_with.",
                panic_message(&e),
                name = id.info().name.replace('-', "_"),
            )
        }),
    }
}

impl std::fmt::Display for LoomReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use slab_model::mutation::SwitchKind;
        let muts: Vec<String> = self
            .params
            .mutations
            .iter()
            .filter(|m| m.kind() == SwitchKind::Mutation)
            .map(|m| m.name().to_string())
            .collect();
        let fixes: Vec<String> = self
            .params
            .mutations
            .iter()
            .filter(|m| m.kind() == SwitchKind::Fix)
            .map(|m| m.name().to_string())
            .collect();
        write!(
            f,
            "loom {:<30} era {} ops {} bound {:<4} {:>8} executions {:>7.2}s {}{}{}",
            self.scenario,
            self.params.era,
            self.params.ops,
            self.preemption_bound
                .map(|b| b.to_string())
                .unwrap_or_else(|| "none".into()),
            self.executions,
            self.seconds,
            match (&self.failure, muts.is_empty()) {
                (None, true) => "ok".to_string(),
                (None, false) => format!("NOT FOUND [{}]", muts.join(",")),
                (Some(_), true) => match crate::scenarios::ScenarioId::from_name(self.scenario)
                    .and_then(|id| id.info().shipped_in(self.params.era))
                {
                    Some(b) if fixes.is_empty() => format!(
                        "found the shipped bug (in {}; fixed in {} by {})",
                        b.shipped_in, b.fixed_in, b.switch
                    ),
                    _ => "FAILED".to_string(),
                },
                (Some(_), false) => format!("found [{}]", muts.join(",")),
            },
            if fixes.is_empty() {
                String::new()
            } else {
                format!(" (with {})", fixes.join(","))
            },
            if self.stopped_at_budget {
                " (stopped at the time budget: incomplete)"
            } else {
                ""
            }
        )
    }
}
