//! Runs scenarios under loom: exhaustive exploration of interleavings up to a preemption
//! bound (default 2; `LOOM_MAX_PREEMPTIONS` overrides, as loom documents).
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
use std::time::Instant;

/// Default preemption bound when `LOOM_MAX_PREEMPTIONS` is unset.
pub const DEFAULT_PREEMPTION_BOUND: usize = 2;

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
    /// The failure, if an execution failed: the violated invariant and the trace.
    pub failure: Option<String>,
    /// The concurrency points the passing executions reached (docs/concurrency.md map).
    pub sites: Vec<slab_model::site::Site>,
}

/// The preemption bound from the environment, or the default.
pub fn preemption_bound() -> Option<usize> {
    match std::env::var("LOOM_MAX_PREEMPTIONS") {
        Ok(v) if v == "none" || v == "unbounded" => None,
        Ok(v) => Some(v.parse().unwrap_or(DEFAULT_PREEMPTION_BOUND)),
        Err(_) => Some(DEFAULT_PREEMPTION_BOUND),
    }
}

/// Explores `id` with `params` under loom (honouring loom's environment variables,
/// including `LOOM_CHECKPOINT_FILE` / `LOOM_CHECKPOINT_INTERVAL` for replay).
pub fn explore(id: ScenarioId, params: &Params) -> LoomReport {
    explore_with(id, params, None)
}

/// The same, resuming from / writing to a loom checkpoint file with interval 1, so the
/// file ends up holding the failing execution's path: replaying it fails on the first
/// execution. This is how a counterexample becomes a committed regression test.
pub fn explore_with(
    id: ScenarioId,
    params: &Params,
    checkpoint: Option<&std::path::Path>,
) -> LoomReport {
    let mut b = loom::model::Builder::new();
    if let Some(path) = checkpoint {
        b.checkpoint_file(path.to_str().expect("utf-8 checkpoint path"));
        b.checkpoint_interval = 1;
    }
    b.preemption_bound = preemption_bound();
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
    let sites: Vec<slab_model::site::Site> = reached
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    LoomReport {
        scenario: id.info().name,
        params: params.clone(),
        preemption_bound: b.preemption_bound,
        executions: count.load(Ordering::Relaxed),
        sites,
        seconds: start.elapsed().as_secs_f64(),
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
            "loom {:<30} era {} bound {:<4} {:>8} executions {:>7.2}s {}{}",
            self.scenario,
            self.params.era,
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
            }
        )
    }
}
