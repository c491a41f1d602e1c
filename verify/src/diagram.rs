//! The committed pictures of docs/diagrams: for every scenario a witness diagram (the
//! first execution the witness search finds, [`crate::witness`]) and, where a mutation or
//! a shipped bug breaks the scenario, the failing interleaving the shuttle driver finds.
//! `slab-verify diagram --all --out-dir docs/diagrams` writes them; verify/tests/diagrams.rs
//! regenerates them in memory and compares byte for byte.

use crate::drivers::shuttle::{campaign, Budget, SchedulerKind};
use crate::scenarios::{keep_run_traces, take_run_trace, Params, ScenarioId, SCENARIOS};
use crate::svg::{render, Diagram};
use crate::witness::{
    breaking_switches, check, default_era, params, search, wanted, MAX_EXECUTIONS,
};
use slab_model::mutation::SwitchKind;
use slab_model::{Era, Mutation};

/// Executions the failing-interleaving search runs at most (shuttle random, seed 0).
pub const FAILURE_BUDGET: usize = 20_000;

/// One picture: its file name under docs/diagrams, a one-line caption, the SVG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// `<scenario>.svg` or `<scenario>-failing.svg`.
    pub file: String,
    /// One line: what the picture shows.
    pub caption: String,
    /// The executions the search needed.
    pub executions: usize,
    /// The SVG document.
    pub svg: String,
}

/// The witness picture of `id` in `era` (file `<scenario>.svg` for the default era,
/// `<scenario>-<era>.svg` otherwise).
pub fn witness_picture(id: ScenarioId, era: Era) -> Result<Picture, String> {
    let w = search(id, &params(id, era), MAX_EXECUTIONS).map_err(|e| e.to_string())?;
    let svg = render(&Diagram::of_witness(&w));
    let name = id.info().name;
    Ok(Picture {
        file: if era == default_era(id) {
            format!("{name}.svg")
        } else {
            format!("{name}-{}.svg", era.to_string().to_lowercase())
        },
        caption: format!("era {era}, seed {}: {}", w.seed, wanted(id)),
        executions: w.executions,
        svg,
    })
}

/// The failing interleaving of `id` under `switch` in `era` (a mutation on, or the
/// faithful model of the era that shipped the bug a fix switch removes): the first
/// failing execution of a shuttle random campaign with seed 0.
pub fn failing_picture(id: ScenarioId, switch: Mutation, era: Era) -> Result<Picture, String> {
    let name = id.info().name;
    let fix = switch.kind() == SwitchKind::Fix;
    let mut p = Params::small(era);
    if !fix {
        p = p.with_mutation(switch);
    }
    keep_run_traces(true);
    let r = campaign(
        id,
        &p,
        SchedulerKind::Random,
        0,
        Budget::Iterations(FAILURE_BUDGET),
    );
    let run = take_run_trace();
    keep_run_traces(false);
    let cx = r.failure.ok_or_else(|| {
        format!(
            "{name} (era {era}) with {} did not fail in {FAILURE_BUDGET} executions",
            if fix {
                "the shipped bug"
            } else {
                "the mutation"
            }
        )
    })?;
    let ft = cx
        .trace
        .ok_or_else(|| format!("{name}: the failure left no model trace"))?;
    let what = if fix {
        format!(
            "the bug era {era}'s kernel shipped (fix switch {} off)",
            switch.name()
        )
    } else {
        format!("mutation {}", switch.name())
    };
    let title = format!(
        "{name} (hazard {}), era {era}, {what}: the failing interleaving",
        id.info().hazard
    );
    let mut lines = vec![
        format!(
            "found by slab-verify: shuttle random scheduler, seed 0, failing execution {} (--ops {}, --cpus {})",
            r.iterations, p.ops, p.cpus
        ),
        format!(
            "the same campaign: slab-verify run {name} --era {} --ops {} --cpus {} --seed 0 --iterations {}{}",
            era.to_string().to_lowercase(),
            p.ops,
            p.cpus,
            r.iterations,
            if fix {
                String::new()
            } else {
                format!(" --mutation {}", switch.name())
            }
        ),
        format!("violated: {}", ft.invariant),
    ];
    let failing = ft.rows.iter().rfind(|r| r.failing);
    let diagram = match (&run, failing) {
        (Some(run), Some(row)) => {
            // The hazard's window, when the failing run still has one.
            let found = check(id, run);
            if let Some(f) = &found {
                lines.push(format!("window: {}", f.label));
            }
            Diagram::of_run(
                title,
                lines,
                run,
                found.as_ref(),
                Some((&ft.context, &row.text)),
            )
        }
        _ => {
            lines.pop();
            Diagram::of_failure(title, lines, &ft)
        }
    };
    let svg = render(&diagram);
    Ok(Picture {
        file: format!("{name}-failing.svg"),
        caption: format!("era {era}, {what}: {}", ft.invariant),
        executions: r.iterations,
        svg,
    })
}

/// Every committed picture, scenario by scenario: the witness in the scenario's default
/// era, then the failing interleaving of the first breaking switch
/// ([`breaking_switches`]) whose failure has a model trace (a deadlock shuttle reports
/// has none to draw).
pub fn committed() -> Result<Vec<Picture>, String> {
    let mut out = Vec::new();
    for s in SCENARIOS {
        out.push(witness_picture(s.id, default_era(s.id))?);
        let mut why = Vec::new();
        for (m, era) in breaking_switches(s.id) {
            match failing_picture(s.id, m, era) {
                Ok(p) => {
                    out.push(p);
                    why.clear();
                    break;
                }
                Err(e) => why.push(e),
            }
        }
        if !why.is_empty() && !NO_FAILING_PICTURE.contains(&s.id) {
            return Err(why.join("; "));
        }
    }
    Ok(out)
}

/// Scenarios whose breaking switches all fail without a model trace to draw (a deadlock
/// that shuttle reports: `create-lock-order`).
pub const NO_FAILING_PICTURE: &[ScenarioId] = &[ScenarioId::HotplugVsCreate];
