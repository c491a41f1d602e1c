//! The loom suite: every loom-sized scenario, both eras, explored exhaustively up to the
//! preemption bound (2 by default; `LOOM_MAX_PREEMPTIONS=3` for the extended run), and
//! for every scenario each of its known-bad variants, which loom must find.
//!
//! Run with `cargo test --features loom`. Each test writes one line per exploration
//! (executions, time, result) straight to stderr, so the figures show even for passing
//! tests.
#![cfg(feature = "loom")]

use slab_model::Era;
use slab_verify::drivers::loom::{explore, LoomReport};
use slab_verify::scenarios::{Params, ScenarioId};
use std::io::Write;

fn report(r: &LoomReport) {
    let _ = writeln!(std::io::stderr(), "{r}");
}

/// Loom parameters: two operations per context, which reaches every slow path of the
/// scenario's tiny cache while keeping each exploration well under a second.
fn params(era: Era) -> Params {
    let mut p = Params::small(era);
    p.ops = 2;
    p
}

/// The faithful model of `era` passes — unless the scenario exposes a bug that shipped
/// in that era's kernel: then loom must find it (an expected finding naming the bug), and
/// the model with the upstream fix switched on must pass.
fn passes(id: ScenarioId, era: Era) {
    let r = explore(id, &params(era));
    report(&r);
    if let Some(bug) = id.info().shipped_in(era) {
        let f = r.failure.as_deref().unwrap_or_else(|| {
            panic!(
                "loom did not find the bug that shipped in {} ({}) in scenario {} era {era}",
                bug.shipped_in,
                bug.fix,
                id.info().name
            )
        });
        let first = f.lines().next().unwrap_or("");
        assert!(
            first.contains(bug.symptom),
            "era {era}: expected the shipped bug ({}), got: {first}",
            bug.symptom
        );
        let _ = writeln!(
            std::io::stderr(),
            "    -> expected finding (shipped in {}, fixed in {}): {first}",
            bug.shipped_in,
            bug.fixed_in
        );
        let r = explore(id, &params(era).with_mutation(bug.switch));
        report(&r);
        if let Some(f) = &r.failure {
            panic!(
                "loom found a failing interleaving with {} on:\n{f}",
                bug.switch
            );
        }
        assert!(r.executions > 1, "the fixed variant explored one execution");
        return;
    }
    if let Some(f) = &r.failure {
        panic!("loom found a failing interleaving of the faithful model:\n{f}");
    }
    assert!(
        r.executions > 1,
        "loom explored a single execution: the scenario has no concurrency"
    );
}

fn finds_its_mutations(id: ScenarioId) {
    assert!(
        !id.info().catches.is_empty() || !id.info().shipped.is_empty(),
        "every loom scenario must prove it can fail"
    );
    for &m in id.info().catches {
        for era in [Era::A, Era::B].into_iter().filter(|&e| m.acts_in(e)) {
            // Measured on the fixed model, so the finding is the mutation's alone.
            let mut p = params(era).with_mutation(m);
            p.mutations = p
                .mutations
                .union(slab_model::MutationSet::shipped_fixes(era));
            let r = explore(id, &p);
            report(&r);
            let f = r.failure.as_deref().unwrap_or_else(|| {
                panic!(
                    "loom did not find mutation {m} in scenario {} (era {era})",
                    id.info().name
                )
            });
            let _ = writeln!(
                std::io::stderr(),
                "    -> {}",
                f.lines().next().unwrap_or("")
            );
        }
    }
}

macro_rules! loom_scenario {
    ($($name:ident => $id:expr,)*) => {
        mod passes {
            use super::*;
            $(
                #[test]
                fn $name() {
                    passes($id, Era::A);
                    passes($id, Era::B);
                }
            )*
        }
        mod finds_mutation {
            use super::*;
            $(
                #[test]
                fn $name() {
                    finds_its_mutations($id);
                }
            )*
        }
        /// Every scenario the macro generated tests for.
        const SUITE: &[ScenarioId] = &[$($id),*];
    };
}

loom_scenario! {
    irq_in_grow_window => ScenarioId::IrqInGrowWindow,
    migrate_across_window => ScenarioId::MigrateAcrossWindow,
    two_cpus_refill => ScenarioId::TwoCpusRefill,
    shared_transfer_vs_flusharray => ScenarioId::SharedTransferVsFlush,
    concurrent_free_block => ScenarioId::ConcurrentFreeBlock,
    grow_failure => ScenarioId::GrowFailure,
    reap_vs_alloc => ScenarioId::ReapVsAlloc,
    tune_during_grow => ScenarioId::TuneDuringGrow,
    shrink_destroy => ScenarioId::ShrinkDestroy,
    cross_cpu_kfree => ScenarioId::CrossCpuKfree,
    alien_free => ScenarioId::AlienFree,
    shrink_vs_tune => ScenarioId::ShrinkVsTune,
    migrate_across_nodes => ScenarioId::MigrateAcrossNodes,
    fallback_alloc => ScenarioId::FallbackAlloc,
    cpu_hotplug => ScenarioId::CpuHotplug,
    hotplug_vs_create => ScenarioId::HotplugVsCreate,
    hotplug_vs_tune => ScenarioId::HotplugVsTune,
    corrupt_during_drain => ScenarioId::CorruptDuringDrain,
}

#[test]
fn every_loom_scenario_is_in_the_suite() {
    for s in slab_verify::scenarios::SCENARIOS.iter().filter(|s| s.loom) {
        assert!(
            SUITE.contains(&s.id),
            "loom scenario {} has no test",
            s.name
        );
    }
    let mut ids = SUITE.to_vec();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        SUITE.len(),
        "a scenario is listed twice in the loom suite"
    );
}

/// A committed counterexample: loom's checkpoint of an interleaving in which a
/// `/proc/slabinfo` write replaces CPU0's array while
/// the task sleeps in `cache_grow`'s window and the task then keeps using the old array
/// (`stale-ac-after-grow`: a use-after-free in the kernel). Replaying the file must fail
/// on its first execution with the same violation.
#[test]
fn replays_committed_counterexample() {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions/loom-stale-ac-tune.json");
    let work = std::env::temp_dir().join(format!("slab-loom-replay-{}.json", std::process::id()));
    if !committed.exists() {
        // First run on a new loom version: record the checkpoint (then commit it).
        let _ = std::fs::remove_file(&work);
        let r = slab_verify::drivers::loom::explore_with(
            ScenarioId::TuneDuringGrow,
            &params(Era::A).with_mutation(slab_model::Mutation::StaleAcAfterGrow),
            Some(&work),
        );
        assert!(r.failure.is_some());
        std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
        std::fs::copy(&work, &committed).unwrap();
    }
    std::fs::copy(&committed, &work).unwrap();
    let r = slab_verify::drivers::loom::explore_with(
        ScenarioId::TuneDuringGrow,
        &params(Era::A).with_mutation(slab_model::Mutation::StaleAcAfterGrow),
        Some(&work),
    );
    let _ = std::fs::remove_file(&work);
    report(&r);
    assert_eq!(
        r.executions, 1,
        "the checkpoint replays the failing execution first"
    );
    let f = r
        .failure
        .expect("the committed counterexample must still fail");
    assert!(f.contains("use-after-free"), "{f}");
}
