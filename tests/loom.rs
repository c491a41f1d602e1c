//! The loom suite: every loom-sized scenario, both eras, explored at the bound where its
//! state space is complete (or, for the few still growing there, the deepest bound the
//! suite's ~5-minute budget allows), asserting the executions measured in
//! docs/concurrency.md ("loom depth"); and for every scenario each of its known-bad
//! variants, which loom must find at the default bound 2.
//!
//! Run with `cargo test --features loom --test loom`. `SLAB_LOOM_PREEMPTIONS=k` (or
//! `LOOM_MAX_PREEMPTIONS=k`) runs every exploration at bound k instead, `none` unbounded
//! (the extended run); the counts asserted are then the recorded ones at that bound. Each
//! test writes one line per exploration (executions, time, result) straight to stderr, so
//! the figures show even for passing tests.
#![cfg(feature = "loom")]

use slab_model::Era;
use slab_verify::drivers::loom::{
    bound_from, explore, explore_bounded, preemption_bound, LoomReport, PREEMPTIONS_VAR,
};
use slab_verify::drivers::loom_depth::passing_params;
use slab_verify::scenarios::{Params, ScenarioId};
use std::io::Write;

fn report(r: &LoomReport) {
    let _ = writeln!(std::io::stderr(), "{r}");
}

/// Parameters of the known-bad variants and the committed counterexample: two
/// operations per context, which reaches every slow path of the scenario's tiny cache.
fn params(era: Era) -> Params {
    let mut p = Params::small(era);
    p.ops = 2;
    p
}

/// One row of the depth table of docs/concurrency.md: what loom explores of a scenario's
/// passing configuration (`passing_params`) in one era.
struct Depth {
    id: ScenarioId,
    era: Era,
    ops: usize,
    /// Executions at bound 1, 2, …, measured with
    /// `cargo run --release --example loom_depth --features loom -p slab-verify`; loom's
    /// DFS is deterministic, so these are exact. A row whose last two counts are equal is
    /// complete: a deeper bound adds nothing.
    counts: &'static [usize],
    /// Executions unbounded, where that finished (fewer than a plateau's: bounded, loom
    /// adds a conservative backtrack point at every preemption).
    unbounded: Option<usize>,
    /// The bound the default suite explores: the complete bound, else the deepest that
    /// fits the budget (docs/concurrency.md, "how the suite picks bounds").
    suite: usize,
}

impl Depth {
    /// The bound from which the count no longer grows, if measured.
    fn complete_at(&self) -> Option<usize> {
        self.counts
            .windows(2)
            .position(|w| w[0] == w[1])
            .map(|i| i + 1)
    }
    /// What an exploration at `bound` must count: `(exact, at_least)`.
    fn expected(&self, bound: Option<usize>) -> (Option<usize>, usize) {
        let complete = self.complete_at().map(|k| self.counts[k - 1]);
        let deepest = *self.counts.last().expect("measured");
        match bound {
            Some(k) if k <= self.counts.len() => (Some(self.counts[k - 1]), 0),
            Some(_) => (complete, deepest),
            None => (self.unbounded, 2),
        }
    }
}

use Era::{A, B};
use ScenarioId as S;

/// The measured depths. Only irq-in-grow-window, two-cpus-refill and cpu-hotplug read
/// `ops`: they run 3 operations per context (complete within the budget); the rest, 2.
const DEPTHS: &[Depth] = &[
    Depth {
        id: S::IrqInGrowWindow,
        era: A,
        ops: 3,
        counts: &[
            31, 160, 590, 1575, 3308, 5598, 7893, 9649, 10633, 11035, 11128, 11133, 11133,
        ],
        unbounded: Some(7287),
        suite: 12,
    },
    Depth {
        id: S::IrqInGrowWindow,
        era: B,
        ops: 3,
        counts: &[
            31, 160, 590, 1575, 3308, 5598, 7893, 9649, 10633, 11035, 11128, 11133, 11133,
        ],
        unbounded: Some(7287),
        suite: 12,
    },
    Depth {
        id: S::MigrateAcrossWindow,
        era: A,
        ops: 2,
        counts: &[17, 67, 178, 356, 574, 779, 926, 1003, 1030, 1035, 1035],
        unbounded: Some(747),
        suite: 10,
    },
    Depth {
        id: S::MigrateAcrossWindow,
        era: B,
        ops: 2,
        counts: &[17, 67, 178, 356, 574, 779, 926, 1003, 1030, 1035, 1035],
        unbounded: Some(747),
        suite: 10,
    },
    Depth {
        id: S::TwoCpusRefill,
        era: A,
        ops: 3,
        counts: &[
            32, 160, 642, 2138, 5744, 12424, 21942, 32490, 41596, 47728, 50924, 52200, 52578,
            52654, 52662, 52662,
        ],
        unbounded: Some(26331),
        suite: 15,
    },
    Depth {
        id: S::TwoCpusRefill,
        era: B,
        ops: 3,
        counts: &[
            32, 160, 642, 2138, 5744, 12424, 21942, 32490, 41596, 47728, 50924, 52200, 52578,
            52654, 52662, 52662,
        ],
        unbounded: Some(26331),
        suite: 15,
    },
    Depth {
        id: S::SharedTransferVsFlush,
        era: A,
        ops: 2,
        counts: &[8, 16, 22, 24, 24],
        unbounded: Some(12),
        suite: 4,
    },
    Depth {
        id: S::SharedTransferVsFlush,
        era: B,
        ops: 2,
        counts: &[8, 16, 22, 24, 24],
        unbounded: Some(12),
        suite: 4,
    },
    Depth {
        id: S::ConcurrentFreeBlock,
        era: A,
        ops: 2,
        counts: &[10, 23, 35, 41, 42, 42],
        unbounded: Some(15),
        suite: 5,
    },
    Depth {
        id: S::ConcurrentFreeBlock,
        era: B,
        ops: 2,
        counts: &[10, 23, 35, 41, 42, 42],
        unbounded: Some(15),
        suite: 5,
    },
    Depth {
        id: S::GrowFailure,
        era: A,
        ops: 2,
        counts: &[16, 70, 202, 430, 712, 970, 1140, 1220, 1244, 1248, 1248],
        unbounded: Some(624),
        suite: 10,
    },
    Depth {
        id: S::GrowFailure,
        era: B,
        ops: 2,
        counts: &[16, 70, 202, 430, 712, 970, 1140, 1220, 1244, 1248, 1248],
        unbounded: Some(624),
        suite: 10,
    },
    Depth {
        id: S::ReapVsAlloc,
        era: A,
        ops: 2,
        counts: &[1791, 27201, 296799],
        unbounded: None,
        suite: 3,
    },
    Depth {
        id: S::ReapVsAlloc,
        era: B,
        ops: 2,
        counts: &[1791, 27201, 296799],
        unbounded: None,
        suite: 3,
    },
    Depth {
        id: S::TuneDuringGrow,
        era: A,
        ops: 2,
        counts: &[16, 62, 163, 333, 552, 764, 915, 990, 1015, 1020, 1020],
        unbounded: Some(450),
        suite: 10,
    },
    Depth {
        id: S::TuneDuringGrow,
        era: B,
        ops: 2,
        counts: &[
            21, 107, 322, 690, 1169, 1699, 2167, 2503, 2666, 2721, 2730, 2730,
        ],
        unbounded: Some(1272),
        suite: 11,
    },
    Depth {
        id: S::ShrinkDestroy,
        era: A,
        ops: 2,
        counts: &[
            26, 134, 478, 1334, 2978, 5436, 8262, 10782, 12496, 13384, 13722, 13816, 13834, 13836,
            13836,
        ],
        unbounded: Some(6918),
        suite: 14,
    },
    Depth {
        id: S::ShrinkDestroy,
        era: B,
        ops: 2,
        counts: &[
            26, 134, 478, 1334, 2978, 5436, 8262, 10782, 12496, 13384, 13722, 13816, 13834, 13836,
            13836,
        ],
        unbounded: Some(6918),
        suite: 14,
    },
    Depth {
        id: S::CrossCpuKfree,
        era: A,
        ops: 2,
        counts: &[4, 6, 6],
        unbounded: Some(3),
        suite: 2,
    },
    Depth {
        id: S::CrossCpuKfree,
        era: B,
        ops: 2,
        counts: &[4, 6, 6],
        unbounded: Some(3),
        suite: 2,
    },
    Depth {
        id: S::AlienFree,
        era: A,
        ops: 2,
        counts: &[123, 1435, 8396, 32408, 89159, 187805],
        unbounded: None,
        suite: 5,
    },
    Depth {
        id: S::AlienFree,
        era: B,
        ops: 2,
        counts: &[123, 1435, 8396, 32408, 89159, 187805],
        unbounded: None,
        suite: 5,
    },
    Depth {
        id: S::ShrinkVsTune,
        era: A,
        ops: 2,
        counts: &[
            62, 580, 2481, 6915, 13143, 19047, 22769, 24261, 24607, 24641, 24641,
        ],
        unbounded: Some(3606),
        suite: 10,
    },
    Depth {
        id: S::ShrinkVsTune,
        era: B,
        ops: 2,
        counts: &[119, 1801, 16242, 98195, 449207],
        unbounded: None,
        suite: 4,
    },
    Depth {
        id: S::MigrateAcrossNodes,
        era: A,
        ops: 2,
        counts: &[86, 387, 986, 1950, 2968, 3810, 4284, 4484, 4545, 4557, 4557],
        unbounded: Some(3336),
        suite: 10,
    },
    Depth {
        id: S::MigrateAcrossNodes,
        era: B,
        ops: 2,
        counts: &[4, 6, 6],
        unbounded: Some(3),
        suite: 2,
    },
    Depth {
        id: S::FallbackAlloc,
        era: A,
        ops: 2,
        counts: &[232, 4517, 52595, 450041],
        unbounded: None,
        suite: 3,
    },
    Depth {
        id: S::FallbackAlloc,
        era: B,
        ops: 2,
        counts: &[357, 7459, 107821],
        unbounded: None,
        suite: 3,
    },
    Depth {
        id: S::CpuHotplug,
        era: A,
        ops: 3,
        counts: &[17, 79, 238, 558, 1034, 1580, 2040, 2328, 2447, 2478, 2478],
        unbounded: Some(1293),
        suite: 10,
    },
    Depth {
        id: S::CpuHotplug,
        era: B,
        ops: 3,
        counts: &[17, 77, 225, 505, 895, 1310, 1630, 1810, 1875, 1890, 1890],
        unbounded: Some(987),
        suite: 10,
    },
    Depth {
        id: S::HotplugVsCreate,
        era: A,
        ops: 2,
        counts: &[4, 10, 16, 20, 21, 21],
        unbounded: Some(9),
        suite: 5,
    },
    Depth {
        id: S::HotplugVsCreate,
        era: B,
        ops: 2,
        counts: &[8, 21, 38, 53, 62, 66, 67, 67],
        unbounded: Some(25),
        suite: 7,
    },
    Depth {
        id: S::HotplugVsTune,
        era: A,
        ops: 2,
        counts: &[12, 26, 39, 44, 45, 45],
        unbounded: Some(18),
        suite: 5,
    },
    Depth {
        id: S::HotplugVsTune,
        era: B,
        ops: 2,
        counts: &[17, 44, 77, 102, 114, 116, 116],
        unbounded: Some(49),
        suite: 6,
    },
    Depth {
        id: S::CorruptDuringDrain,
        era: A,
        ops: 2,
        counts: &[69, 308, 542, 1046, 1349, 1626, 1626],
        unbounded: Some(3),
        suite: 6,
    },
    Depth {
        id: S::CorruptDuringDrain,
        era: B,
        ops: 2,
        counts: &[91, 450, 814, 1584, 2045, 2460, 2460],
        unbounded: Some(3),
        suite: 6,
    },
];

fn depth(id: ScenarioId, era: Era) -> &'static Depth {
    DEPTHS
        .iter()
        .find(|d| d.id == id && d.era == era)
        .unwrap_or_else(|| panic!("no recorded depth for {} era {era}", id.info().name))
}

/// Whether the environment chooses the bound (the extended run) instead of the table.
fn bound_from_env() -> bool {
    std::env::var_os(PREEMPTIONS_VAR).is_some()
        || std::env::var_os("LOOM_MAX_PREEMPTIONS").is_some()
}

/// Checks a passing exploration's count against the table.
fn assert_count(d: &Depth, r: &LoomReport) {
    let (exact, at_least) = d.expected(r.preemption_bound);
    let again = "if the model's scheduling points changed on purpose, re-measure with the \
                 loom_depth example and update DEPTHS and docs/concurrency.md";
    if let Some(n) = exact {
        assert_eq!(
            r.executions, n,
            "{} era {}: the recorded count at this bound is {n}; {again}",
            r.scenario, d.era
        );
    }
    assert!(
        r.executions >= at_least,
        "{} era {}: {} executions, fewer than the {at_least} recorded at a smaller bound; {again}",
        r.scenario,
        d.era,
        r.executions
    );
}

/// The faithful model of `era` passes — unless the scenario exposes a bug that shipped
/// in that era's kernel: then loom must find it (an expected finding naming the bug), and
/// the model with the upstream fix switched on must pass. The passing exploration runs
/// at the scenario's suite bound and must count what the table says.
fn passes(id: ScenarioId, era: Era) {
    let d = depth(id, era);
    let bound = if bound_from_env() {
        preemption_bound()
    } else {
        Some(d.suite)
    };
    let pass = passing_params(id, era, d.ops);
    if let Some(bug) = id.info().shipped_in(era) {
        let mut faithful = pass.clone();
        faithful.mutations = slab_model::MutationSet::NONE;
        let r = explore_bounded(id, &faithful, bound);
        report(&r);
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
    }
    let r = explore_bounded(id, &pass, bound);
    report(&r);
    if let Some(f) = &r.failure {
        panic!("loom found a failing interleaving of the passing configuration:\n{f}");
    }
    assert!(
        r.executions > 1,
        "loom explored a single execution: the scenario has no concurrency"
    );
    assert_count(d, &r);
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
        // One test per era, so the harness runs the two deepest explorations in parallel.
        mod passes {
            mod era_a {
                use super::super::*;
                $(
                    #[test]
                    fn $name() {
                        passes($id, Era::A);
                    }
                )*
            }
            mod era_b {
                use super::super::*;
                $(
                    #[test]
                    fn $name() {
                        passes($id, Era::B);
                    }
                )*
            }
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

/// The preemption bound's two variables (docs/concurrency.md, "Bound"): decided by the
/// pure function the driver calls, so no test has to change the process environment.
mod bound {
    use super::*;

    #[test]
    fn the_variables_select_the_bound() {
        assert_eq!(bound_from(None, None), Ok(Some(2)));
        assert_eq!(bound_from(None, Some("3")), Ok(Some(3)));
        assert_eq!(bound_from(Some("none"), None), Ok(None));
        assert_eq!(bound_from(Some("unbounded"), None), Ok(None));
        // The project variable wins over a numeric LOOM_MAX_PREEMPTIONS.
        assert_eq!(bound_from(Some("none"), Some("3")), Ok(None));
        assert_eq!(bound_from(Some("4"), Some("3")), Ok(Some(4)));
        // loom's Builder::new would panic on these: an error that says what to use.
        for bad in ["none", "unbounded", "x", " 3"] {
            let e = bound_from(None, Some(bad)).unwrap_err();
            assert!(e.contains("SLAB_LOOM_PREEMPTIONS=none"), "{e}");
            assert!(bound_from(Some("none"), Some(bad)).is_err());
        }
        assert!(bound_from(Some("two"), None).is_err());
    }

    /// Unbounded, loom explores cross-cpu-kfree in 3 executions; at the default bound 2
    /// (and at its plateau) in 6: a driver that dropped `None` for a bound fails here.
    #[test]
    fn none_explores_unbounded() {
        let d = depth(S::CrossCpuKfree, A);
        assert_ne!(
            d.unbounded,
            Some(d.counts[1]),
            "the test needs distinct counts"
        );
        let r = explore_bounded(d.id, &passing_params(d.id, d.era, d.ops), None);
        report(&r);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!(r.preemption_bound, None);
        assert_eq!(Some(r.executions), d.unbounded);
    }

    /// Explores cross-cpu-kfree at the environment's bound and checks the count recorded
    /// for that bound: on its own (bound 2, 6 executions), and as the child process of
    /// `the_environment_reaches_the_driver`.
    #[test]
    fn env_bound_child() {
        let d = depth(S::CrossCpuKfree, A);
        let r = explore(d.id, &passing_params(d.id, d.era, d.ops));
        report(&r);
        assert!(r.failure.is_none(), "{:?}", r.failure);
        assert_eq!(r.preemption_bound, preemption_bound());
        assert_count(d, &r);
    }

    /// The variables as a user sets them, in a child process of this test binary (a test
    /// must not change its own, multi-threaded, process's environment).
    #[test]
    fn the_environment_reaches_the_driver() {
        // (the variables set, the report line the child must print; None: must fail)
        type Case = (
            &'static [(&'static str, &'static str)],
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            (
                &[(PREEMPTIONS_VAR, "none")],
                Some("bound none        3 executions"),
            ),
            (
                &[(PREEMPTIONS_VAR, "unbounded")],
                Some("bound none        3 executions"),
            ),
            (
                &[("LOOM_MAX_PREEMPTIONS", "1")],
                Some("bound 1           4 executions"),
            ),
            (
                &[(PREEMPTIONS_VAR, "none"), ("LOOM_MAX_PREEMPTIONS", "1")],
                Some("bound none        3 executions"),
            ),
            // Fails with the driver's message, not loom's "invalid value".
            (&[("LOOM_MAX_PREEMPTIONS", "none")], None),
        ];
        for (env, want) in cases {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
            cmd.args([
                "--exact",
                "bound::env_bound_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_remove(PREEMPTIONS_VAR)
            .env_remove("LOOM_MAX_PREEMPTIONS");
            for (k, v) in env.iter() {
                cmd.env(k, v);
            }
            let out = cmd.output().expect("run the test binary");
            let err = String::from_utf8_lossy(&out.stderr);
            let all = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
            match want {
                Some(line) => {
                    assert!(out.status.success(), "{env:?}:\n{all}");
                    assert!(err.contains(line), "{env:?}: no {line:?} in:\n{all}");
                }
                None => {
                    assert!(!out.status.success(), "{env:?} must fail:\n{all}");
                    assert!(
                        all.contains("SLAB_LOOM_PREEMPTIONS=none"),
                        "{env:?}:\n{all}"
                    );
                    assert!(!all.contains("invalid value"), "{env:?}:\n{all}");
                }
            }
            assert!(
                all.contains("1 passed") || want.is_none(),
                "{env:?} ran no test:\n{all}"
            );
        }
    }
}
