//! How deep each loom scenario's state space goes: the executions loom explores at
//! preemption bounds 1, 2, 3, … until the count stops growing (the bounded space equals
//! the whole space), confirmed by an unbounded exploration when that fits the budget.
//! `cargo run --release --example loom_depth --features loom -p slab-verify` prints the
//! table of docs/concurrency.md ("loom depth"); tests/loom.rs asserts the counts.

use super::loom::{explore_budgeted, LoomReport};
use crate::scenarios::{Params, ScenarioId};
use slab_model::{Era, MutationSet};
use std::time::Duration;

/// The configuration of `id` in `era` that must pass: the faithful model, plus the
/// upstream fix of a bug that shipped in that era's kernel and that the scenario exposes
/// (the faithful model stops at that bug's first failing execution, which says nothing
/// about the depth of the space).
pub fn passing_params(id: ScenarioId, era: Era, ops: usize) -> Params {
    let mut p = Params::small(era);
    p.ops = ops;
    if let Some(bug) = id.info().shipped_in(era) {
        p.mutations = MutationSet::NONE.with(bug.switch);
    }
    p
}

/// One exploration of the measurement.
#[derive(Clone, Debug)]
pub struct DepthRun {
    /// The bound (`None` = unbounded).
    pub bound: Option<usize>,
    /// Executions explored.
    pub executions: usize,
    /// Wall time.
    pub seconds: f64,
    /// Whether the exploration ran to its end (not stopped at the budget).
    pub finished: bool,
}

/// A scenario's measurement in one era.
#[derive(Clone, Debug)]
pub struct Depth {
    /// The scenario.
    pub id: ScenarioId,
    /// The era.
    pub era: Era,
    /// Operations per context.
    pub ops: usize,
    /// Bound 1, 2, … in order, then the unbounded run if one was tried.
    pub runs: Vec<DepthRun>,
    /// The smallest bound k whose count equals bound k + 1's (`None`: still growing at the
    /// deepest bound that finished).
    pub complete_at: Option<usize>,
    /// Whether the unbounded exploration finished: the whole space, explored.
    pub unbounded_finished: bool,
}

impl Depth {
    /// The executions at `bound`, if measured to the end.
    pub fn at(&self, bound: Option<usize>) -> Option<usize> {
        self.runs
            .iter()
            .find(|r| r.bound == bound && r.finished)
            .map(|r| r.executions)
    }
}

/// Measures `id` in `era`: bounds 1, 2, … up to `max_bound` (none if `bounded` is false),
/// each exploration stopped after `budget`; stops at the first bound whose count equals
/// the previous one's, or at the first run that did not finish. Then explores unbounded
/// within `budget`. Panics if an exploration fails: the passing configuration must pass.
pub fn measure(
    id: ScenarioId,
    era: Era,
    ops: usize,
    max_bound: usize,
    bounded: bool,
    budget: Duration,
) -> Depth {
    let p = passing_params(id, era, ops);
    let mut d = Depth {
        id,
        era,
        ops,
        runs: Vec::new(),
        complete_at: None,
        unbounded_finished: false,
    };
    let push = |d: &mut Depth, r: LoomReport| {
        if let Some(f) = &r.failure {
            panic!(
                "{} era {era} ops {ops}: the passing configuration failed:\n{f}",
                id.info().name
            );
        }
        d.runs.push(DepthRun {
            bound: r.preemption_bound,
            executions: r.executions,
            seconds: r.seconds,
            finished: !r.stopped_at_budget,
        });
        !r.stopped_at_budget
    };
    let mut prev = None;
    for k in (1..=max_bound).take_while(|_| bounded) {
        let r = explore_budgeted(id, &p, Some(k), budget);
        let n = r.executions;
        if !push(&mut d, r) {
            break;
        }
        if prev == Some(n) {
            d.complete_at = Some(k - 1);
            break;
        }
        prev = Some(n);
    }
    // Tried whatever the bounded runs found: unbounded, loom runs plain DPOR, while a
    // bound makes it add a conservative backtrack point at every preemption (loom's
    // `Path::backtrack`), so the unbounded count is smaller than a plateau's, and a
    // space still growing under bounds may be small unbounded.
    let r = explore_budgeted(id, &p, None, budget);
    d.unbounded_finished = push(&mut d, r);
    d
}

fn cell(r: &DepthRun) -> String {
    if r.finished {
        format!("{} ({:.2} s)", r.executions, r.seconds)
    } else {
        format!("> {} (stopped at {:.0} s)", r.executions, r.seconds)
    }
}

/// The Markdown table of docs/concurrency.md: one row per measurement, a column per bound
/// up to the deepest one measured, then the unbounded run and the verdict.
pub fn markdown(rows: &[Depth]) -> String {
    let deepest = rows
        .iter()
        .flat_map(|d| d.runs.iter().filter_map(|r| r.bound))
        .max()
        .unwrap_or(1);
    let mut s = String::from("| scenario | era | ops |");
    for k in 1..=deepest {
        s += &format!(" bound {k} |");
    }
    s += " unbounded | complete at |\n|---|---|---|";
    for _ in 1..=deepest {
        s += "---|";
    }
    s += "---|---|\n";
    for d in rows {
        s += &format!("| {} | {} | {} |", d.id.info().name, d.era, d.ops);
        for k in 1..=deepest {
            match d.runs.iter().find(|r| r.bound == Some(k)) {
                Some(r) => s += &format!(" {} |", cell(r)),
                None => s += " |",
            }
        }
        match d.runs.iter().find(|r| r.bound.is_none()) {
            Some(r) => s += &format!(" {} |", cell(r)),
            None => s += " not run |",
        }
        let deepest_done = d
            .runs
            .iter()
            .filter(|r| r.finished)
            .filter_map(|r| r.bound)
            .max();
        match (d.complete_at, deepest_done) {
            (Some(k), _) => s += &format!(" **{k}** |\n"),
            (None, Some(k)) => s += &format!(" still growing at {k} |\n"),
            (None, None) => s += " — |\n",
        }
    }
    s
}
