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
//! cases, boots) up to and including the first failure. loom and shuttle try the scenarios
//! in catalogue order, era A then B, and stop at the first failure: their cell's
//! [`Detection::effort`] counts the executions *of the scenario and era that found it*
//! ([`Detection::scenario`], [`Detection::era`]), and [`Detection::effort_total`] adds the
//! executions of every scenario tried before it. For the other checkers, whose runs are not
//! scenarios, both are the runs, rows or boots tried up to the failure.

use crate::drivers::shuttle::{campaign, Budget, SchedulerKind};
use crate::reference::{run_ops, Op};
use crate::scenarios::{panic_message, Params, ScenarioId, SCENARIOS};
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
    /// loom or shuttle (the checkers a concurrency mutation must be caught by).
    pub fn is_model_checker(self) -> bool {
        matches!(
            self,
            Checker::Loom | Checker::ShuttleRandom | Checker::ShuttlePct
        )
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
    /// Effort up to and including the first failure, counted within the scenario and era
    /// that found it (loom, shuttle; see [`Detection::scenario`]) or over the runs, rows or
    /// boots tried (the other checkers). When not caught: the whole budget spent.
    pub effort: usize,
    /// Effort over everything tried up to and including the first failure: for loom and
    /// shuttle, the executions of every scenario and era tried before the one that found
    /// it plus [`Detection::effort`]. Equal to `effort` for the other checkers and when not
    /// caught.
    pub effort_total: usize,
    /// Unit of `effort`.
    pub unit: &'static str,
    /// The scenario that found it (loom and shuttle cells that caught it; `None` otherwise).
    pub scenario: Option<&'static str>,
    /// The era of that scenario run.
    pub era: Option<Era>,
    /// Wall time (reporting only).
    pub seconds: f64,
    /// Where it was found (scenario and era / run / row) and the first line of the failure.
    pub detail: String,
}

impl Detection {
    /// Found by a checker whose runs are not scenarios (`effort` runs, rows or boots).
    fn found(effort: usize, unit: &'static str, start: Instant, detail: String) -> Self {
        Detection {
            caught: true,
            effort,
            effort_total: effort,
            unit,
            scenario: None,
            era: None,
            seconds: start.elapsed().as_secs_f64(),
            detail,
        }
    }
    /// Found by scenario `scenario` in era `era` at its execution `effort`, after
    /// `effort_total` executions counting the scenarios tried before it.
    fn found_in(
        scenario: &'static str,
        era: Era,
        effort: usize,
        effort_total: usize,
        start: Instant,
        message: &str,
    ) -> Self {
        Detection {
            caught: true,
            effort,
            effort_total,
            unit: "executions",
            scenario: Some(scenario),
            era: Some(era),
            seconds: start.elapsed().as_secs_f64(),
            detail: format!("{scenario} era {era}: {}", first_line(message)),
        }
    }
    fn missed(effort: usize, unit: &'static str, start: Instant) -> Self {
        Detection {
            caught: false,
            effort,
            effort_total: effort,
            unit,
            scenario: None,
            era: None,
            seconds: start.elapsed().as_secs_f64(),
            detail: String::new(),
        }
    }

    /// The scenario and era that found it, e.g. `cross-cpu-kfree era A`.
    pub fn place(&self) -> Option<String> {
        match (self.scenario, self.era) {
            (Some(s), Some(e)) => Some(format!("{s} era {e}")),
            _ => None,
        }
    }

    /// The cell of the text table: `yes @N` (N = [`Detection::effort`]), `-` (not caught)
    /// or `n/a` (the checker did not run).
    pub fn text_cell(&self) -> String {
        if self.caught {
            format!("yes @{}", self.effort)
        } else if self.effort == 0 {
            "n/a".to_string()
        } else {
            "-".to_string()
        }
    }

    /// Where the text report says the cell was found: `cross-cpu-kfree era A, execution 1
    /// (100001 executions counting the scenarios tried before it)`, or `after 1 op
    /// sequences` for a checker without scenarios. `None` when not caught.
    pub fn text_place(&self) -> Option<String> {
        if !self.caught {
            return None;
        }
        Some(match self.place() {
            Some(place) if self.effort_total > self.effort => format!(
                "{place}, execution {} ({} {} counting the scenarios tried before it)",
                self.effort, self.effort_total, self.unit
            ),
            Some(place) => format!(
                "{place}, execution {} (the first scenario tried)",
                self.effort
            ),
            None => format!("after {} {}", self.effort, self.unit),
        })
    }

    /// The cell of the Markdown table: `**1** in cross-cpu-kfree A` (loom, shuttle:
    /// executions of that scenario and era), `**8** op sequences` (the other checkers), or
    /// `–` (not caught).
    pub fn markdown_cell(&self) -> String {
        if !self.caught {
            return "–".to_string();
        }
        match (self.scenario, self.era) {
            (Some(s), Some(e)) => format!("**{}** in {s} {e}", self.effort),
            _ => format!("**{}** {}", self.effort, self.unit),
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
        self.cells
            .iter()
            .any(|(c, d)| d.caught && c.is_model_checker())
    }
}

/// The verdict line of a matrix: how many mutations at least one checker caught, and which
/// concurrency mutations ([`CONCURRENCY_MUTATIONS`]) no model checker caught. It names the
/// model checkers the rows were measured with, and says when loom is not among them (loom
/// is only built in with the `loom` feature), so "none" is never claimed for a checker
/// that did not run.
pub fn summary(rows: &[MatrixRow]) -> String {
    let measured: Vec<Checker> = [Checker::Loom, Checker::ShuttleRandom, Checker::ShuttlePct]
        .into_iter()
        .filter(|c| rows.iter().any(|r| r.cells.iter().any(|(x, _)| x == c)))
        .collect();
    let mut built: String = measured
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ");
    if !measured.contains(&Checker::Loom) {
        if !built.is_empty() {
            built.push_str("; ");
        }
        built.push_str("loom is not built in, build with --features loom");
    }
    let concurrency: Vec<&MatrixRow> = rows
        .iter()
        .filter(|r| CONCURRENCY_MUTATIONS.iter().any(|m| m.name() == r.mutation))
        .collect();
    let missed: Vec<&str> = concurrency
        .iter()
        .filter(|r| !r.caught_by_model_checker())
        .map(|r| r.mutation)
        .collect();
    let verdict = if concurrency.is_empty() {
        "none measured".to_string()
    } else if missed.is_empty() {
        "none".to_string()
    } else {
        missed.join(", ")
    };
    format!(
        "{}/{} mutations caught by at least one checker; concurrency mutations missed by every model checker ({built}): {verdict}",
        rows.iter().filter(|r| r.caught()).count(),
        rows.len(),
    )
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

/// The parameters of the shuttle columns' campaign of scenario `id` in `era`.
fn shuttle_params(id: ScenarioId, era: Era, m: MutationSet) -> Params {
    let mut p = Params::small(era);
    p.mutations = m.union(MutationSet::shipped_fixes(era));
    p.ops = 2;
    p.trace_capacity = 128;
    if id == ScenarioId::Mixed {
        p.cpus = 4;
        p.ops = 4;
    }
    p
}

/// The scheduler seed of every matrix campaign.
const SHUTTLE_SEED: u64 = 11;

fn shuttle(m: MutationSet, kind: SchedulerKind, b: &MatrixBudget) -> Detection {
    let start = Instant::now();
    let mut effort = 0;
    for s in SCENARIOS {
        for era in [Era::A, Era::B] {
            let p = shuttle_params(s.id, era, m);
            let r = campaign(
                s.id,
                &p,
                kind,
                SHUTTLE_SEED,
                Budget::Iterations(b.shuttle_iterations),
            );
            effort += r.iterations;
            if let Some(f) = r.failure {
                return Detection::found_in(s.name, era, r.iterations, effort, start, &f.message);
            }
        }
    }
    Detection::missed(effort, "executions", start)
}

/// The parameters of the loom column's exploration in `era`.
#[cfg(feature = "loom")]
fn loom_params(era: Era, m: MutationSet) -> Params {
    let mut p = Params::small(era);
    p.mutations = m.union(MutationSet::shipped_fixes(era));
    p.ops = 2;
    p
}

#[cfg(feature = "loom")]
fn loom(m: MutationSet) -> Detection {
    let start = Instant::now();
    let mut effort = 0;
    for s in SCENARIOS.iter().filter(|s| s.loom) {
        for era in [Era::A, Era::B] {
            let p = loom_params(era, m);
            let r = crate::drivers::loom::explore(s.id, &p);
            effort += r.executions;
            if let Some(f) = r.failure {
                return Detection::found_in(s.name, era, r.executions, effort, start, &f);
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
    let era = if seed.is_multiple_of(2) {
        Era::A
    } else {
        Era::B
    };
    let mut profile = ArchProfile::tiny();
    profile.cpus = 2 + (seed % 3) as usize;
    if seed % 4 == 3 {
        profile.nodes = 2;
    }
    // One run in five on a CONFIG_DEBUG_SLAB profile, where Op::Corrupt's writes happen
    // and the reference predicts each debug report.
    profile.debug = seed % 5 == 4;
    let mut cfg = MachineConfig::new(profile, era);
    cfg.trace_capacity = 0;
    cfg.mutations = m;
    if seed.is_multiple_of(3) {
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
    if !g.size.is_multiple_of(g.align.max(1)) {
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

/// The profiles `boot` tries: every preset, and arm64 4.4's `KMALLOC_MIN_SIZE` 128 without
/// and with lock debugging (B.20).
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
    v.push((
        "arm64-4.4 (KMALLOC_MIN_SIZE 128)".into(),
        arm64.clone(),
        Era::B,
    ));
    // B.20's configuration: with CONFIG_DEBUG_SPINLOCK and CONFIG_DEBUG_LOCK_ALLOC a
    // 56-byte spinlock_t makes kmem_cache_node 152 bytes, so kmalloc-256 is the
    // bootstrap class and kmalloc-128 is created after slab_early_init is cleared.
    v.push((
        "arm64-4.4 lockdep (KMALLOC_MIN_SIZE 128, spinlock_t 56)".into(),
        ArchProfile {
            spinlock_size: 56,
            ..arm64
        },
        Era::B,
    ));
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
            effort_total: 0,
            unit: "-",
            scenario: None,
            era: None,
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
                        let r = crate::drivers::loom::explore(s.id, &p);
                        (r.executions, r.failure)
                    }
                    _ => {
                        let r = campaign(
                            s.id,
                            &p,
                            SchedulerKind::Pct(3),
                            SHUTTLE_SEED,
                            Budget::Iterations(b.shuttle_iterations),
                        );
                        (r.iterations, r.failure.map(|f| f.message))
                    }
                };
                effort += n;
                if let Some(f) = failure {
                    return Detection::found_in(s.name, bug.era, n, effort, start, &f);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reruns, campaign by campaign, what a shuttle cell claims: every scenario and era
    /// before the one it names passes the whole budget, and that one fails at the
    /// execution the cell reports.
    fn check_shuttle_cell(m: Mutation, kind: SchedulerKind, b: &MatrixBudget, d: &Detection) {
        let set = MutationSet::only(m);
        let name = d
            .scenario
            .expect("a caught shuttle cell names its scenario");
        let era = d.era.expect("and its era");
        let mut before = 0;
        'outer: for s in SCENARIOS {
            for e in [Era::A, Era::B] {
                let r = campaign(
                    s.id,
                    &shuttle_params(s.id, e, set),
                    kind,
                    SHUTTLE_SEED,
                    Budget::Iterations(b.shuttle_iterations),
                );
                if s.name == name && e == era {
                    assert!(
                        r.failure.is_some(),
                        "{name} era {era} does not fail on its own"
                    );
                    assert_eq!(
                        d.effort, r.iterations,
                        "effort counts the executions of {name} era {era} alone"
                    );
                    assert_eq!(d.effort_total, before + r.iterations);
                    break 'outer;
                }
                assert!(
                    r.failure.is_none(),
                    "{} era {e}, tried before {name}, fails too",
                    s.name
                );
                before += r.iterations;
            }
        }
        assert!(
            before >= 2 * b.shuttle_iterations,
            "precondition: {m} is found after at least one whole scenario ({before} executions before {name})"
        );
    }

    /// B.20 needs lock debugging: on arm64 4.4 without it kmalloc-128 is the bootstrap
    /// class (on-slab under `slab_early_init`) and the pre-4.4 threshold changes nothing
    /// at boot; with a 56-byte `spinlock_t` kmalloc-256 is, kmalloc-128 is created later,
    /// goes off-slab and is its own freelist cache, and the first kmalloc(128) recurses.
    #[test]
    fn b20_boots_fail_only_with_lock_debugging() {
        let profiles = boot_profiles();
        let by_name = |needle: &str| {
            profiles
                .iter()
                .find(|(n, _, _)| n.contains(needle))
                .cloned()
                .expect("a boot profile")
        };
        let m = MutationSet::only(Mutation::OffslabSelfDescriptor);
        let (_, plain, era) = by_name("arm64-4.4 (");
        assert_eq!(boot_smoke(plain.clone(), era, MutationSet::NONE), Ok(()));
        assert_eq!(boot_smoke(plain, era, m), Ok(()));
        let (_, lockdep, era) = by_name("arm64-4.4 lockdep");
        assert_eq!(boot_smoke(lockdep.clone(), era, MutationSet::NONE), Ok(()));
        let e = boot_smoke(lockdep, era, m).expect_err("B.20 is a boot failure");
        assert!(e.contains("cache_grow recursion"), "{e}");
        let d = detect(
            Mutation::OffslabSelfDescriptor,
            Checker::Boot,
            &MatrixBudget::default(),
        );
        assert!(d.caught && d.detail.contains("lockdep"), "{d:?}");
        // The lockdep profile is the last one the checker tries (docs/mutations.md's cell).
        let at = profiles
            .iter()
            .position(|(n, _, _)| n.contains("arm64-4.4 lockdep"))
            .expect("listed");
        assert_eq!(d.effort, at + 1, "{d:?}");
    }

    #[test]
    fn a_cell_found_in_a_later_scenario_counts_executions_within_that_scenario() {
        let b = MatrixBudget {
            shuttle_iterations: 200,
            ..MatrixBudget::default()
        };
        // Before this matrix counted per scenario the cell read `@(earlier scenarios x
        // budget + 1)`: `kmalloc-class-too-small` is first exposed by `cross-cpu-kfree`,
        // far down the catalogue.
        let m = Mutation::KmallocClassTooSmall;
        for kind in [SchedulerKind::Random, SchedulerKind::Pct(3)] {
            let d = detect(
                m,
                if kind == SchedulerKind::Random {
                    Checker::ShuttleRandom
                } else {
                    Checker::ShuttlePct
                },
                &b,
            );
            assert!(d.caught, "{m} not caught by {kind}");
            check_shuttle_cell(m, kind, &b, &d);
            let name = d.scenario.unwrap();
            let era = d.era.unwrap();
            assert_eq!(d.text_cell(), format!("yes @{}", d.effort));
            assert_eq!(
                d.markdown_cell(),
                format!("**{}** in {name} {era}", d.effort)
            );
            assert_eq!(
                d.text_place().unwrap(),
                format!(
                    "{name} era {era}, execution {} ({} executions counting the scenarios tried before it)",
                    d.effort, d.effort_total
                )
            );
            assert!(d.detail.starts_with(&format!("{name} era {era}: ")));
        }
    }

    #[cfg(feature = "loom")]
    #[test]
    fn a_loom_cell_counts_executions_within_its_scenario() {
        let m = Mutation::StaleAcAfterGrow;
        let d = detect(m, Checker::Loom, &MatrixBudget::default());
        assert!(d.caught);
        let name = d.scenario.unwrap();
        let era = d.era.unwrap();
        let set = MutationSet::only(m);
        let mut before = 0;
        'outer: for s in SCENARIOS.iter().filter(|s| s.loom) {
            for e in [Era::A, Era::B] {
                let r = crate::drivers::loom::explore(s.id, &loom_params(e, set));
                if s.name == name && e == era {
                    assert!(r.failure.is_some());
                    assert_eq!(d.effort, r.executions);
                    assert_eq!(d.effort_total, before + r.executions);
                    break 'outer;
                }
                assert!(r.failure.is_none(), "{} era {e} fails too", s.name);
                before += r.executions;
            }
        }
        assert!(
            before > 0,
            "precondition: {m} is found after the first loom run"
        );
    }

    fn cell(caught: bool, c: Checker) -> (Checker, Detection) {
        let start = Instant::now();
        let d = if caught {
            Detection::found_in("two-cpus-refill", Era::A, 3, 3, start, "boom")
        } else {
            Detection::missed(10, "executions", start)
        };
        (c, d)
    }

    fn row(m: Mutation, cells: Vec<(Checker, Detection)>) -> MatrixRow {
        MatrixRow {
            mutation: m.name(),
            cells,
        }
    }

    #[test]
    fn the_summary_names_the_model_checkers_it_measured() {
        let m = CONCURRENCY_MUTATIONS[0];
        let shuttle_only = vec![row(
            m,
            vec![
                cell(true, Checker::ShuttleRandom),
                cell(false, Checker::ShuttlePct),
                cell(false, Checker::Reference),
            ],
        )];
        assert_eq!(
            summary(&shuttle_only),
            "1/1 mutations caught by at least one checker; concurrency mutations missed by every model checker (shuttle-random, shuttle-pct3; loom is not built in, build with --features loom): none"
        );
        let with_loom = vec![row(
            m,
            vec![
                cell(false, Checker::Loom),
                cell(false, Checker::ShuttleRandom),
                cell(false, Checker::ShuttlePct),
                cell(true, Checker::Reference),
            ],
        )];
        assert_eq!(
            summary(&with_loom),
            format!("1/1 mutations caught by at least one checker; concurrency mutations missed by every model checker (loom, shuttle-random, shuttle-pct3): {m}")
        );
        // This build's own checkers.
        let built = vec![row(
            m,
            Checker::all().into_iter().map(|c| cell(true, c)).collect(),
        )];
        assert_eq!(
            summary(&built).contains("loom is not built in"),
            !cfg!(feature = "loom")
        );
    }
}
