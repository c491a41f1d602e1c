//! proptest state machine: random alloc / free / kmalloc / kfree / shrink / reap / tune /
//! destroy / create / misuse, from tasks and interrupt handlers, on 2–4 CPUs and 2–3
//! caches with tiny geometries (1000–2048-byte objects: 2–4 per slab) and tiny tunables
//! (limit 1..=4, so refills, `cache_flusharray` and the shared array happen constantly),
//! both eras, page-allocator fault injection in some cases. Every step runs the model and
//! the sequential reference (`slab_verify::reference`) side by side and audits; failures
//! shrink to a minimal operation sequence.
//!
//! `PROPTEST_CASES` overrides the number of cases (default 256, about a second).

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use slab_model::{ArchProfile, CreateArgs, Era, FaultInjection, MachineConfig, SlabFlags};
use slab_verify::reference::{Harness, MisuseKind, Op, HUGE_KMALLOC};

/// The machine and caches of one case.
#[derive(Clone, Debug)]
struct Setup {
    era: Era,
    cpus: usize,
    /// Object sizes of the user caches.
    sizes: Vec<usize>,
    /// Initial tunables per cache, raw (normalised by `Op::Tune`).
    tunes: Vec<(u8, u8, u8)>,
    /// Page allocator fault probability (ppm) and seed.
    faults: Option<(u32, u64)>,
}

struct SlabMachine;

impl ReferenceStateMachine for SlabMachine {
    type State = Setup;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Setup> {
        (
            prop_oneof![Just(Era::A), Just(Era::B)],
            2usize..=4,
            prop::collection::vec((1000usize..=2048, (0u8..4, 0u8..4, 0u8..3)), 2..=3),
            prop::option::weighted(0.3, (5_000u32..300_000, any::<u64>())),
        )
            .prop_map(|(era, cpus, caches, faults)| Setup {
                era,
                cpus,
                sizes: caches.iter().map(|c| c.0).collect(),
                tunes: caches.iter().map(|c| c.1).collect(),
                faults,
            })
            .boxed()
    }

    fn transitions(s: &Setup) -> BoxedStrategy<Op> {
        let cpu = 0..s.cpus as u8;
        let cache = 0u8..4;
        let which = any::<u16>();
        let size = prop_oneof![9 => 0u16..4200, 1 => HUGE_KMALLOC..=u16::MAX];
        let misuse = prop_oneof![
            Just(MisuseKind::DoubleFree),
            Just(MisuseKind::KfreeTwice),
            Just(MisuseKind::InteriorPointer),
            Just(MisuseKind::WrongCache),
            Just(MisuseKind::ForeignPointer),
            Just(MisuseKind::BadGfp),
            Just(MisuseKind::SleepInIrq),
            Just(MisuseKind::BadTune),
            Just(MisuseKind::UseAfterDestroy),
        ];
        prop_oneof![
            12 => (cpu.clone(), cache.clone()).prop_map(|(cpu, cache)| Op::Alloc { cpu, cache }),
            10 => (cpu.clone(), cache.clone(), which).prop_map(|(cpu, cache, which)| Op::Free { cpu, cache, which }),
            3 => (cpu.clone(), cache.clone()).prop_map(|(cpu, cache)| Op::IrqAlloc { cpu, cache }),
            3 => (cpu.clone(), cache.clone(), which).prop_map(|(cpu, cache, which)| Op::IrqFree { cpu, cache, which }),
            4 => (cpu.clone(), size.clone(), prop::bool::weighted(0.2)).prop_map(|(cpu, size, dma)| Op::Kmalloc { cpu, size, dma }),
            4 => (cpu.clone(), which).prop_map(|(cpu, which)| Op::Kfree { cpu, which }),
            1 => (cpu.clone(), size).prop_map(|(cpu, size)| Op::IrqKmalloc { cpu, size }),
            1 => (cpu.clone(), which).prop_map(|(cpu, which)| Op::IrqKfree { cpu, which }),
            1 => cache.clone().prop_map(|cache| Op::Shrink { cache }),
            2 => (cpu.clone(), 0u16..600).prop_map(|(cpu, ticks)| Op::Reap { cpu, ticks }),
            2 => (cache.clone(), 0u8..4, 0u8..4, 0u8..3)
                .prop_map(|(cache, limit, batch, shared)| Op::Tune { cache, limit, batch, shared }),
            1 => cache.clone().prop_map(|cache| Op::Destroy { cache }),
            1 => (992u16..=2040, any::<bool>(), any::<bool>())
                .prop_map(|(size, hwcache, ctor)| Op::Create { size, align: 0, hwcache, ctor }),
            3 => (misuse, cpu.clone(), cache.clone(), which).prop_map(|(kind, cpu, cache, which)| Op::Misuse { kind, cpu, cache, which }),
            1 => any::<u8>().prop_map(|cpu| Op::CpuDown { cpu }),
            1 => any::<u8>().prop_map(|cpu| Op::CpuUp { cpu }),
            2 => (cpu, cache, 0u8..2).prop_map(|(cpu, cache, node)| Op::AllocNode { cpu, cache, node }),
        ]
        .boxed()
    }

    fn apply(state: Setup, _op: &Op) -> Setup {
        // Operations are normalised against the harness's own state, so the generator
        // needs nothing but the machine's shape.
        state
    }
}

impl StateMachineTest for SlabMachine {
    type SystemUnderTest = Harness;
    type Reference = SlabMachine;

    fn init_test(s: &Setup) -> Harness {
        let mut profile = ArchProfile::tiny();
        profile.cpus = s.cpus;
        // Three CPUs: two nodes (cpu2 alone on node 1), so hot-plug empties a node.
        if s.cpus >= 3 {
            profile.nodes = 2;
        }
        let mut cfg = MachineConfig::new(profile, s.era);
        cfg.trace_capacity = 0;
        if let Some((ppm, seed)) = s.faults {
            cfg.faults = FaultInjection {
                fail_probability_ppm: ppm,
                seed,
                ..FaultInjection::default()
            };
        }
        let caches: Vec<CreateArgs> = s
            .sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| CreateArgs {
                name: format!("prop-{i}"),
                size,
                align: 0,
                flags: SlabFlags::default(),
                ctor: i % 2 == 0,
            })
            .collect();
        let mut h = Harness::new(cfg, &caches).unwrap_or_else(|d| panic!("{d}"));
        for (i, &(limit, batch, shared)) in s.tunes.iter().enumerate() {
            h.step(&Op::Tune {
                cache: i as u8,
                limit,
                batch,
                shared,
            })
            .unwrap_or_else(|d| panic!("{d}"));
        }
        h
    }

    fn apply(mut h: Harness, _s: &Setup, op: Op) -> Harness {
        h.step(&op).unwrap_or_else(|d| panic!("{d}"));
        h
    }

    fn teardown(mut h: Harness, _s: Setup) {
        h.drain_all().unwrap_or_else(|d| panic!("{d}"));
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 4096,
        // Named, not derived from `file!()`: tests/fast_suites includes this file as a
        // module, where proptest's derived path would miss the committed regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/state_machine.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn slab_conforms_to_reference(sequential 1..160 => SlabMachine);
}

/// A fixed sequence through every operation kind, so a broken harness cannot pass by
/// skipping everything.
#[test]
fn reference_run_covers_every_kind() {
    let mut profile = ArchProfile::tiny();
    profile.cpus = 3;
    let cfg = MachineConfig::new(profile, Era::B);
    let caches: Vec<CreateArgs> = [1000, 2048]
        .iter()
        .enumerate()
        .map(|(i, &size)| CreateArgs {
            name: format!("c{i}"),
            size,
            align: 0,
            flags: SlabFlags::default(),
            ctor: true,
        })
        .collect();
    let mut ops = vec![
        Op::Tune {
            cache: 0,
            limit: 2,
            batch: 1,
            shared: 1,
        },
        Op::Tune {
            cache: 1,
            limit: 3,
            batch: 1,
            shared: 2,
        },
    ];
    for i in 0..40u8 {
        ops.push(Op::Alloc {
            cpu: i % 3,
            cache: i % 2,
        });
        ops.push(Op::Kmalloc {
            cpu: i % 3,
            size: 100 * i as u16,
            dma: i % 5 == 0,
        });
    }
    for i in 0..15u16 {
        ops.push(Op::Free {
            cpu: (i % 3) as u8,
            cache: (i % 2) as u8,
            which: i * 7,
        });
        ops.push(Op::Kfree {
            cpu: (i % 3) as u8,
            which: i,
        });
        ops.push(Op::IrqAlloc {
            cpu: (i % 3) as u8,
            cache: 1,
        });
        ops.push(Op::IrqFree {
            cpu: ((i + 1) % 3) as u8,
            cache: 1,
            which: i,
        });
    }
    ops.push(Op::Kmalloc {
        cpu: 0,
        size: 0,
        dma: false,
    });
    ops.push(Op::Kmalloc {
        cpu: 0,
        size: u16::MAX,
        dma: false,
    });
    ops.push(Op::Reap { cpu: 0, ticks: 500 });
    ops.push(Op::Reap { cpu: 1, ticks: 500 });
    for (i, kind) in [
        MisuseKind::DoubleFree,
        MisuseKind::KfreeTwice,
        MisuseKind::InteriorPointer,
        MisuseKind::WrongCache,
        MisuseKind::ForeignPointer,
        MisuseKind::BadGfp,
        MisuseKind::SleepInIrq,
        MisuseKind::BadTune,
    ]
    .into_iter()
    .enumerate()
    {
        ops.push(Op::Misuse {
            kind,
            cpu: i as u8,
            cache: i as u8,
            which: i as u16,
        });
    }
    ops.push(Op::Shrink { cache: 0 });
    ops.push(Op::Destroy { cache: 1 });
    ops.push(Op::Create {
        size: 1500,
        align: 3,
        hwcache: true,
        ctor: false,
    });
    ops.push(Op::Alloc { cpu: 2, cache: 2 });
    let mut h = Harness::new(cfg, &caches).unwrap_or_else(|d| panic!("{d}"));
    for op in &ops {
        h.step(op).unwrap_or_else(|d| panic!("{d}"));
    }
    h.drain_all().unwrap_or_else(|d| panic!("{d}"));
    h.step(&Op::Misuse {
        kind: MisuseKind::UseAfterDestroy,
        cpu: 0,
        cache: 0,
        which: 0,
    })
    .unwrap_or_else(|d| panic!("{d}"));
    let s = h.finish();
    assert!(
        s.allocs >= 80 && s.frees >= 80 && s.misuses >= 9 && s.exact_predictions > 0,
        "{s:?}"
    );
    assert_eq!(s.live_at_end, 0);
}
