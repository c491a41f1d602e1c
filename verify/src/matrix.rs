//! The detection matrix: every catalogued mutation against every checker, with how fast
//! each checker finds it. `slab-verify mutations` prints it; docs/mutations.md records it.
//!
//! Checkers:
//! * `loom` — every loom scenario, both eras, exhaustive at the preemption bound (only in
//!   builds with the `loom` feature);
//! * `shuttle-random`, `shuttle-pct3` — every scenario (the mixed one with 4 CPUs), both
//!   eras, a fixed number of executions each;
//! * `reference` — random operation sequences on one CPU at a time against the sequential
//!   reference model with the audit after every operation (the proptest / `ops` fuzz
//!   logic), some runs with page-allocator fault injection;
//! * `geometry` — the golden slabinfo rows (real and hand-derived) and the geometry
//!   invariants over random profiles and creation arguments;
//! * `boot` — every preset plus an arm64-like profile (`KMALLOC_MIN_SIZE` 128) booted with
//!   every kmalloc cache, one allocation from each, audit.
//!
//! Effort is counted in the checker's own unit (executions, operation sequences, rows and
//! cases, boots) up to and including the first failure, summed over the scenarios or runs
//! tried before it.

use crate::reference::{run_ops, Op};
use crate::scenario::{panic_message, Params, ScenarioId, SCENARIOS};
use crate::shuttle_driver::{campaign, Budget, SchedulerKind};
use arbitrary::{Arbitrary, Unstructured};
use serde::Serialize;
use slab_model::geometry::{calculate_geometry, CreateArgs};
use slab_model::sync::StdPlatform;
use slab_model::{
    ArchProfile, Era, FaultInjection, Gfp, Machine, MachineConfig, Mutation, MutationSet, SlabFlags,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// A checker (a column of the matrix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Checker {
    /// Exhaustive loom exploration of the loom scenarios.
    Loom,
    /// shuttle, random scheduler.
    ShuttleRandom,
    /// shuttle, PCT depth 3.
    ShuttlePct,
    /// Sequential operation sequences against the reference model.
    Reference,
    /// Golden rows and geometry invariants.
    Geometry,
    /// Booting every preset and allocating from every kmalloc class.
    Boot,
}

impl Checker {
    /// Column name.
    pub fn name(self) -> &'static str {
        match self {
            Checker::Loom => "loom",
            Checker::ShuttleRandom => "shuttle-random",
            Checker::ShuttlePct => "shuttle-pct3",
            Checker::Reference => "reference",
            Checker::Geometry => "geometry",
            Checker::Boot => "boot",
        }
    }
    /// Every checker available in this build.
    pub fn all() -> Vec<Checker> {
        let mut v = vec![];
        if cfg!(feature = "loom") {
            v.push(Checker::Loom);
        }
        v.extend([
            Checker::ShuttleRandom,
            Checker::ShuttlePct,
            Checker::Reference,
            Checker::Geometry,
            Checker::Boot,
        ]);
        v
    }
}

/// Budget of one matrix run.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MatrixBudget {
    /// shuttle executions per scenario and era.
    pub shuttle_iterations: usize,
    /// Reference runs (operation sequences).
    pub reference_runs: usize,
    /// Operations per reference run.
    pub reference_ops: usize,
    /// Random geometry cases.
    pub geometry_cases: usize,
}

impl Default for MatrixBudget {
    fn default() -> Self {
        MatrixBudget {
            shuttle_iterations: 5_000,
            reference_runs: 60,
            reference_ops: 150,
            geometry_cases: 4_000,
        }
    }
}

/// One cell.
#[derive(Clone, Debug, Serialize)]
pub struct Detection {
    /// Found within the budget?
    pub caught: bool,
    /// Effort up to the first failure (or the whole budget when not caught).
    pub effort: usize,
    /// Unit of `effort`.
    pub unit: &'static str,
    /// Wall time (reporting only).
    pub seconds: f64,
    /// Where it was found (scenario / run) and the first line of the failure.
    pub detail: String,
}

impl Detection {
    fn found(effort: usize, unit: &'static str, start: Instant, detail: String) -> Self {
        Detection {
            caught: true,
            effort,
            unit,
            seconds: start.elapsed().as_secs_f64(),
            detail,
        }
    }
    fn missed(effort: usize, unit: &'static str, start: Instant) -> Self {
        Detection {
            caught: false,
            effort,
            unit,
            seconds: start.elapsed().as_secs_f64(),
            detail: String::new(),
        }
    }
}

/// One row.
#[derive(Clone, Debug, Serialize)]
pub struct MatrixRow {
    /// The mutation.
    pub mutation: &'static str,
    /// One cell per checker, in [`Checker::all`] order.
    pub cells: Vec<(Checker, Detection)>,
}

impl MatrixRow {
    /// Caught by at least one checker?
    pub fn caught(&self) -> bool {
        self.cells.iter().any(|(_, d)| d.caught)
    }
    /// Caught by loom or shuttle?
    pub fn caught_by_model_checker(&self) -> bool {
        self.cells.iter().any(|(c, d)| {
            d.caught
                && matches!(
                    c,
                    Checker::Loom | Checker::ShuttleRandom | Checker::ShuttlePct
                )
        })
    }
}

/// The concurrency mutations: each must be caught by loom or shuttle.
pub const CONCURRENCY_MUTATIONS: &[Mutation] = &[
    Mutation::StaleAcAfterGrow,
    Mutation::NoRecheckAfterGrow,
    Mutation::ColourNextUnlocked,
    Mutation::FreeBlockUnlocked,
    Mutation::SharedTransferUnlocked,
    Mutation::ReapForeignCpu,
    Mutation::TuneFreesArrayEarly,
    Mutation::IrqWindowInAtomic,
    Mutation::DrainArrayStaleAvail,
    Mutation::DrainFreelistNoRecheck,
    Mutation::CreateLockOrder,
    Mutation::TakeCpuDownUnstopped,
];

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(120).collect()
}

fn shuttle(m: MutationSet, kind: SchedulerKind, b: &MatrixBudget) -> Detection {
    let start = Instant::now();
    let mut effort = 0;
    for s in SCENARIOS {
        for era in [Era::A, Era::B] {
            let mut p = Params::small(era);
            p.mutations = m.union(MutationSet::shipped_fixes(era));
            p.ops = 2;
            p.trace_capacity = 128;
            if s.id == ScenarioId::Mixed {
                p.cpus = 4;
                p.ops = 4;
            }
            let r = campaign(s.id, &p, kind, 11, Budget::Iterations(b.shuttle_iterations));
            effort += r.iterations;
            if let Some(f) = r.failure {
                return Detection::found(
                    effort,
                    "executions",
                    start,
                    format!("{} era {era}: {}", s.name, first_line(&f.message)),
                );
            }
        }
    }
    Detection::missed(effort, "executions", start)
}

#[cfg(feature = "loom")]
fn loom(m: MutationSet) -> Detection {
    let start = Instant::now();
    let mut effort = 0;
    for s in SCENARIOS.iter().filter(|s| s.loom) {
        for era in [Era::A, Era::B] {
            let mut p = Params::small(era);
            p.mutations = m.union(MutationSet::shipped_fixes(era));
            p.ops = 2;
            let r = crate::loom_driver::explore(s.id, &p);
            effort += r.executions;
            if let Some(f) = r.failure {
                return Detection::found(
                    effort,
                    "executions",
                    start,
                    format!("{} era {era}: {}", s.name, first_line(&f)),
                );
            }
        }
    }
    Detection::missed(effort, "executions", start)
}

/// Bytes for `arbitrary`, from a seeded PCG stream (no OS randomness).
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    use rand_core::Rng;
    let mut rng =
        rand_pcg::Pcg64Mcg::new(0x5eed_0000_0000_0001 ^ ((seed as u128) << 64 | seed as u128));
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// One reference run: op sequence `seed` on a tiny machine, optionally with faults.
pub fn reference_run(seed: u64, ops: usize, m: MutationSet) -> Result<(), String> {
    let era = if seed % 2 == 0 { Era::A } else { Era::B };
    let mut profile = ArchProfile::tiny();
    profile.cpus = 2 + (seed % 3) as usize;
    if seed % 4 == 3 {
        profile.nodes = 2;
    }
    let mut cfg = MachineConfig::new(profile, era);
    cfg.trace_capacity = 0;
    cfg.mutations = m;
    if seed % 3 == 0 {
        cfg.faults = FaultInjection {
            fail_probability_ppm: 150_000,
            seed,
            ..FaultInjection::default()
        };
    }
    let caches: Vec<CreateArgs> = (0..2)
        .map(|i| CreateArgs {
            name: format!("matrix-{i}"),
            size: [1000, 1300, 2048, 700][(seed as usize + i) % 4],
            align: 0,
            flags: SlabFlags::default(),
            ctor: i % 2 == 0,
        })
        .collect();
    let data = bytes(seed, ops * 16);
    let mut u = Unstructured::new(&data);
    let mut seq = Vec::with_capacity(ops + 2);
    // Small arrays so the flush and shared paths run.
    seq.push(Op::Tune {
        cache: 0,
        limit: 1,
        batch: 1,
        shared: 1,
    });
    seq.push(Op::Tune {
        cache: 1,
        limit: 3,
        batch: 1,
        shared: 2,
    });
    for _ in 0..ops {
        match Op::arbitrary(&mut u) {
            Ok(op) => seq.push(op),
            Err(_) => break,
        }
    }
    match catch_unwind(AssertUnwindSafe(|| run_ops(cfg, &caches, &seq))) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(d)) => Err(d.to_string()),
        Err(e) => Err(panic_message(&e)),
    }
}

fn reference(m: MutationSet, b: &MatrixBudget) -> Detection {
    let start = Instant::now();
    for seed in 0..b.reference_runs as u64 {
        if let Err(e) = reference_run(seed, b.reference_ops, m) {
            return Detection::found(
                seed as usize + 1,
                "op sequences",
                start,
                format!("run {seed}: {}", first_line(&e)),
            );
        }
    }
    Detection::missed(b.reference_runs, "op sequences", start)
}

const GOLDEN: &str = include_str!("../../tests/data/golden-slabinfo.tsv");
const GOLDEN_OTHER: &str = include_str!("../../tests/data/golden-other-kernels.tsv");

/// One geometry case: a panic or a violated invariant of a created cache (a typed
/// refusal is fine).
fn geometry_case(
    p: &ArchProfile,
    era: Era,
    args: &CreateArgs,
    ctx: &slab_model::geometry::CreateContext,
) -> Option<String> {
    match catch_unwind(AssertUnwindSafe(|| calculate_geometry(p, era, args, ctx))) {
        Err(e) => Some(format!("panic: {}", panic_message(&e))),
        Ok(Err(_)) => None,
        Ok(Ok(g)) => geometry_invariants(p, &g).err(),
    }
}

/// The geometry invariants for one created cache.
pub fn geometry_invariants(p: &ArchProfile, g: &slab_model::CacheGeometry) -> Result<(), String> {
    let slab = p.page_size << g.gfporder;
    let mgmt = if g.off_slab() { 0 } else { g.mgmt_size };
    if g.num == 0 {
        return Err("num is 0".into());
    }
    if g.num * g.size + mgmt + g.colour * g.colour_off > slab {
        return Err(format!(
            "{} objects of {} + management {} + colour area {}x{} exceed the {}-byte slab",
            g.num, g.size, mgmt, g.colour, g.colour_off, slab
        ));
    }
    if g.size % g.align.max(1) != 0 {
        return Err(format!(
            "stride {} not a multiple of align {}",
            g.size, g.align
        ));
    }
    // offslab_limit (B.7): an off-slab descriptor is never larger than an object, so the
    // descriptor cache is a smaller class and growing never loops.
    // (Only where the kernel's unsigned `size - sizeof(struct slab)` does not wrap.)
    if g.off_slab() && g.mgmt_size > g.size && g.size > p.slab_desc_size {
        return Err(format!(
            "off-slab descriptor of {} bytes for {} objects exceeds the {}-byte object",
            g.mgmt_size, g.num, g.size
        ));
    }
    // B.20: a cache is never its own descriptor source.
    if g.descriptor == slab_model::geometry::DescriptorSource::SelfCache {
        return Err("the cache is its own off-slab descriptor source".into());
    }
    Ok(())
}

fn geometry(m: MutationSet, b: &MatrixBudget) -> Detection {
    let start = Instant::now();
    let muts = m;
    let mut effort = 0;
    for text in [GOLDEN, GOLDEN_OTHER] {
        let rows = crate::golden::parse(text).expect("committed golden files parse");
        for row in rows {
            effort += 1;
            let Ok((args, mut ctx)) = row.inputs() else {
                continue;
            };
            ctx.mutations = muts;
            let got = catch_unwind(AssertUnwindSafe(|| {
                calculate_geometry(&row.profile(), row.era, &args, &ctx)
            }));
            let bad = match got {
                Err(e) => Some(format!("panic: {}", panic_message(&e))),
                Ok(Err(e)) => Some(format!("error: {e}")),
                Ok(Ok(g)) => {
                    let c = crate::golden::SlabinfoColumns::of(&g);
                    (c != row.expected).then(|| {
                        format!(
                            "{} {}: expected {} computed {c}",
                            row.kernel, row.cache, row.expected
                        )
                    })
                }
            };
            if let Some(d) = bad {
                return Detection::found(effort, "rows/cases", start, first_line(&d));
            }
        }
    }
    // Every kmalloc class of every boot profile, created after early init with all other
    // classes present (where the arm64 lockdep boot of B.20 created kmalloc-128).
    for (name, p, era) in boot_profiles() {
        let classes = slab_model::kmalloc_sizes::kmalloc_classes(&p, era);
        for class in &classes {
            effort += 1;
            let ctx = slab_model::geometry::CreateContext {
                slab_early_init: false,
                general_caches: classes
                    .iter()
                    .filter(|c| c.size != class.size)
                    .map(|c| slab_model::geometry::GeneralCache {
                        size: c.size,
                        off_slab: false,
                    })
                    .collect(),
                self_class: Some(class.size),
                mutations: muts,
            };
            let args = slab_model::kmalloc_sizes::kmalloc_boot_args(&p, era, class);
            let bad =
                geometry_case(&p, era, &args, &ctx).map(|e| format!("{name} {}: {e}", class.name));
            if let Some(d) = bad {
                return Detection::found(effort, "rows/cases", start, first_line(&d));
            }
        }
    }
    for case in 0..b.geometry_cases as u64 {
        effort += 1;
        let data = bytes(case ^ 0x6e0, 64);
        let mut u = Unstructured::new(&data);
        let mut p = ArchProfile::x86_64();
        let pick = |u: &mut Unstructured, v: &[usize]| v[u.choose_index(v.len()).unwrap_or(0)];
        p.word_size = pick(&mut u, &[4, 8]);
        p.slab_desc_size = pick(&mut u, &[24, 28, 48, 120, 1000]);
        p.bufctl_size = pick(&mut u, &[2, 4]);
        p.cache_line_size = pick(&mut u, &[32, 64, 128]);
        let era = if u.arbitrary::<bool>().unwrap_or(false) {
            Era::A
        } else {
            Era::B
        };
        let mut size = 8 + (u.arbitrary::<u32>().unwrap_or(0) as usize % 70_000);
        if u.ratio(1, 4).unwrap_or(false) {
            // Objects just above a (large) struct slab: where offslab_limit is small and
            // calculate_slab_order's off-slab stop rule decides the order (B.5, B.7).
            p.slab_desc_size = pick(&mut u, &[600, 1080, 2000]);
            size = p.slab_desc_size + 1 + (u.arbitrary::<u8>().unwrap_or(0) as usize % 64);
        }
        let args = CreateArgs {
            name: "g".into(),
            size,
            align: 0,
            flags: SlabFlags::HWCACHE_ALIGN,
            ctor: false,
        };
        let ctx = slab_model::geometry::CreateContext {
            slab_early_init: false,
            general_caches: (5..=22)
                .map(|s| slab_model::geometry::GeneralCache {
                    size: 1 << s,
                    off_slab: s >= 9,
                })
                .collect(),
            self_class: None,
            mutations: muts,
        };
        let bad =
            geometry_case(&p, era, &args, &ctx).map(|e| format!("size {size} era {era}: {e}"));
        if let Some(d) = bad {
            return Detection::found(effort, "rows/cases", start, first_line(&d));
        }
    }
    Detection::missed(effort, "rows/cases", start)
}

/// Boots one profile with every kmalloc cache and allocates once from each class.
pub fn boot_smoke(profile: ArchProfile, era: Era, m: MutationSet) -> Result<(), String> {
    let mut cfg = MachineConfig::new(profile, era);
    cfg.mutations = m;
    cfg.trace_capacity = 0;
    cfg.audit_every_op = false;
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let mach = Machine::<StdPlatform>::new(cfg).map_err(|e| format!("boot: {e}"))?;
        let mut t = mach.task(0, "boot");
        let sizes: Vec<usize> = mach
            .kmalloc_slots()
            .iter()
            .flatten()
            .map(|s| s.size)
            .filter(|&s| s <= 1 << 17)
            .collect();
        let mut objs = Vec::new();
        for s in sizes {
            match t.kmalloc(s, Gfp::KERNEL).map_err(|e| e.to_string())? {
                Some(o) => objs.push(o),
                None => return Err(format!("kmalloc({s}) returned NULL on a fresh machine")),
            }
        }
        for o in objs {
            t.kfree(o).map_err(|e| e.to_string())?;
        }
        let a = mach.audit();
        if a.is_ok() {
            Ok(())
        } else {
            Err(a.to_string())
        }
    }));
    match r {
        Ok(x) => x,
        Err(e) => Err(panic_message(&e)),
    }
}

/// The profiles `boot` tries: every preset, and arm64 4.4's `KMALLOC_MIN_SIZE` 128 (B.20).
pub fn boot_profiles() -> Vec<(String, ArchProfile, Era)> {
    let mut v: Vec<(String, ArchProfile, Era)> = slab_model::profile::presets()
        .into_iter()
        .map(|p| {
            (
                p.name.to_string(),
                ArchProfile {
                    ram_bytes: 256 << 20,
                    cpus: 2,
                    ..p.profile
                },
                p.era,
            )
        })
        .collect();
    let arm64 = ArchProfile {
        kmalloc_min_size: 128,
        arch_kmalloc_minalign: 128,
        arch_slab_minalign: 8,
        cache_line_size: 128,
        ..ArchProfile::tiny()
    };
    v.push(("arm64-4.4 (KMALLOC_MIN_SIZE 128)".into(), arm64, Era::B));
    v
}

fn boot(m: MutationSet) -> Detection {
    let start = Instant::now();
    for (i, (name, p, era)) in boot_profiles().into_iter().enumerate() {
        if let Err(e) = boot_smoke(p, era, m) {
            return Detection::found(i + 1, "boots", start, format!("{name}: {}", first_line(&e)));
        }
    }
    Detection::missed(boot_profiles().len(), "boots", start)
}

/// Runs one cell. `None` runs the checker on the faithful model (the control: it must
/// find nothing).
pub fn detect(m: Mutation, c: Checker, b: &MatrixBudget) -> Detection {
    detect_in(Some(m), c, b)
}

/// The control run of a checker: the faithful model.
pub fn control(c: Checker, b: &MatrixBudget) -> Detection {
    detect_in(None, c, b)
}

fn detect_in(m: Option<Mutation>, c: Checker, b: &MatrixBudget) -> Detection {
    let m = m.map_or(MutationSet::NONE, MutationSet::only);
    match c {
        #[cfg(feature = "loom")]
        Checker::Loom => loom(m),
        #[cfg(not(feature = "loom"))]
        Checker::Loom => Detection {
            caught: false,
            effort: 0,
            unit: "-",
            seconds: 0.0,
            detail: "build with --features loom".into(),
        },
        Checker::ShuttleRandom => shuttle(m, SchedulerKind::Random, b),
        Checker::ShuttlePct => shuttle(m, SchedulerKind::Pct(3), b),
        Checker::Reference => reference(m, b),
        Checker::Geometry => geometry(m, b),
        Checker::Boot => boot(m),
    }
}

/// The whole matrix, row by row (`progress` is called after each cell).
pub fn matrix(b: &MatrixBudget, mut progress: impl FnMut(Mutation, Checker)) -> Vec<MatrixRow> {
    Mutation::mutations()
        .map(|m| MatrixRow {
            mutation: m.name(),
            cells: Checker::all()
                .into_iter()
                .map(|c| {
                    let d = detect(m, c, b);
                    progress(m, c);
                    (c, d)
                })
                .collect(),
        })
        .collect()
}

/// The second direction of the catalogue: for a bug that shipped in an era's kernel, what
/// a model checker finds in that era's faithful model (it must find the bug) and in the
/// model with the fix switch on (it must find nothing).
#[derive(Clone, Debug, Serialize)]
pub struct ShippedRow {
    /// The fix switch.
    pub switch: &'static str,
    /// The era that shipped the bug.
    pub era: Era,
    /// The checker.
    pub checker: Checker,
    /// On the faithful model: `caught` is the expected finding.
    pub faithful: Detection,
    /// With the fix: `caught` is a regression.
    pub fixed: Detection,
}

/// Every shipped bug against loom (with the `loom` feature) and shuttle PCT, on the
/// scenarios that expose it.
pub fn shipped(b: &MatrixBudget) -> Vec<ShippedRow> {
    let mut rows = Vec::new();
    for bug in slab_model::mutation::SHIPPED_BUGS {
        let scenarios: Vec<_> = SCENARIOS
            .iter()
            .filter(|s| s.shipped.contains(&bug.switch))
            .collect();
        let run = |c: Checker, m: MutationSet| -> Detection {
            let start = Instant::now();
            let mut effort = 0;
            for s in &scenarios {
                // `mixed` is shuttle-only (too many threads for loom).
                if c == Checker::Loom && !s.loom {
                    continue;
                }
                let mut p = Params::small(bug.era);
                p.mutations = m;
                p.ops = 2;
                let (n, failure) = match c {
                    #[cfg(feature = "loom")]
                    Checker::Loom => {
                        let r = crate::loom_driver::explore(s.id, &p);
                        (r.executions, r.failure)
                    }
                    _ => {
                        let r = campaign(
                            s.id,
                            &p,
                            SchedulerKind::Pct(3),
                            11,
                            Budget::Iterations(b.shuttle_iterations),
                        );
                        (r.iterations, r.failure.map(|f| f.message))
                    }
                };
                effort += n;
                if let Some(f) = failure {
                    return Detection::found(
                        effort,
                        "executions",
                        start,
                        format!("{} era {}: {}", s.name, bug.era, first_line(&f)),
                    );
                }
            }
            Detection::missed(effort, "executions", start)
        };
        let mut checkers = vec![Checker::ShuttlePct];
        if cfg!(feature = "loom") {
            checkers.insert(0, Checker::Loom);
        }
        for c in checkers {
            rows.push(ShippedRow {
                switch: bug.switch.name(),
                era: bug.era,
                checker: c,
                faithful: run(c, MutationSet::NONE),
                fixed: run(c, MutationSet::only(bug.switch)),
            });
        }
    }
    rows
}
