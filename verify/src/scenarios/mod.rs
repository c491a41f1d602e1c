//! The scenario library: small, named, parameterised concurrent workloads, each aimed at
//! one hazard of the list in docs/scenarios.md, generic over the platform so loom, shuttle and std threads
//! run the same code.
//!
//! A scenario builds a machine inside the model closure (no statics), prepares state
//! single-threaded, spawns its execution contexts as model threads, joins them, and then
//! asserts: the full audit, plus what the contexts must have got (an allocation that must
//! succeed did succeed, colours are sequential, …). Any failure is a panic whose message
//! names the violated invariant and carries the model's trace as per-CPU lanes.
//!
//! One file per scenario, named after its command-line name (`irq-in-grow-window` is
//! `irq_in_grow_window.rs`); its module doc names the hazard, the kernel functions and the
//! mutations and shipped bugs it catches. This file holds what they share: the catalogue
//! ([`SCENARIOS`], [`ScenarioId`], [`ScenarioInfo`]), [`Params`], [`Outcome`], the machine
//! and cache builders, `spawn`, `final_audit` and the [`run`] dispatch; `trace.rs` builds
//! the counterexample trace of a failure ([`FailureTrace`]).

mod alien_free;
mod concurrent_free_block;
mod corrupt_during_drain;
mod cpu_hotplug;
mod cross_cpu_kfree;
mod fallback_alloc;
mod grow_failure;
mod hotplug_vs_create;
mod hotplug_vs_tune;
mod irq_in_grow_window;
mod migrate_across_nodes;
mod migrate_across_window;
mod mixed;
mod reap_vs_alloc;
mod shared_transfer_vs_flusharray;
mod shrink_destroy;
mod shrink_vs_tune;
mod trace;
mod tune_during_grow;
mod two_cpus_refill;

pub use trace::{
    keep_run_traces, last_failure, panic_message, take_last_failure, take_run_trace, FailureTrace,
    Lane, RunTrace, StateRow, TraceRow, AUDIT_LANE, COUNTEREXAMPLE_EVENTS,
};

use serde::Serialize;
use slab_model::sync::Platform;
use slab_model::trace::KFn;
use slab_model::{
    ArchProfile, CreateArgs, Era, FaultInjection, KmallocSetup, KmemCache, Machine, MachineConfig,
    Mutation, MutationSet, SlabFlags,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use trace::{record_failure, with_trace, FailedIn, CURRENT, LAST_FAILURE};

/// Identifies a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ScenarioId {
    /// §6.1 per-CPU refill racing an interrupt on the same CPU during `cache_grow`'s
    /// irq-enable window.
    IrqInGrowWindow,
    /// §6.2 the task migrating to another CPU across that window.
    MigrateAcrossWindow,
    /// §6.3 two CPUs refilling from the same node lists.
    TwoCpusRefill,
    /// §6.4 shared-array transfer in refill racing `cache_flusharray` into the same array.
    SharedTransferVsFlush,
    /// §6.5 concurrent `free_block` from several CPUs, slabs destroyed past `free_limit`.
    ConcurrentFreeBlock,
    /// §6.6 `cache_grow` failing (pages, then slab management) while another CPU refills.
    GrowFailure,
    /// §6.7 `cache_reap` / `drain_array` racing allocation on the same CPU and others.
    ReapVsAlloc,
    /// §6.8 `do_tune_cpucache` swapping per-CPU arrays while a task is in the grow window.
    TuneDuringGrow,
    /// §6.10 shrink / destroy after quiescence, destroy with live objects failing cleanly.
    ShrinkDestroy,
    /// §6.9 alien-cache frees of remote-node objects racing the remote node's refill and
    /// drain (NUMA, two nodes).
    AlienFree,
    /// kmalloc on one CPU, kfree of the same objects on another (remote free into the
    /// freeing CPU's array) while both keep allocating.
    CrossCpuKfree,
    /// §6.13 a task migrating to a CPU of another node inside `cache_grow`'s window
    /// (two nodes): 2.6.24 keeps the node it read before the window.
    MigrateAcrossNodes,
    /// §6.12 `fallback_alloc` on NUMA: the local node has no memory; its irq-enable window
    /// with an interrupt on the same CPU, and another node's CPU allocating.
    FallbackAlloc,
    /// §6.11 `kmem_cache_shrink` racing a `/proc/slabinfo` write that replaces and frees
    /// `n->shared`: the race that shipped in 4.4 (era B) and was fixed in 4.7.
    ShrinkVsTune,
    /// A mixed workload of every context kind, scaled by the parameters (shuttle).
    Mixed,
    /// §6.14 `cpu_down` of a node's last CPU racing a task on that CPU and its reaper
    /// (two nodes), then remote use of the CPU-less node and `cpu_up`.
    CpuHotplug,
    /// §6.14 `cpu_down` racing `kmem_cache_create` (the lock order of get_online_cpus and
    /// slab_mutex, era B).
    HotplugVsCreate,
    /// §6.14 `cpu_down` racing a `/proc/slabinfo` write (era B: the tune takes only
    /// slab_mutex, so `take_cpu_down` can run between its kick and its drain loop).
    HotplugVsTune,
    /// Hazard 15: a caller overrunning one object and writing into a freed one on
    /// another CPU while the objects are freed, drained and their slab destroyed, on a
    /// `CONFIG_DEBUG_SLAB` profile: the kernel's check that must find each store.
    CorruptDuringDrain,
}

/// Static description of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioInfo {
    /// The id.
    pub id: ScenarioId,
    /// Command-line name.
    pub name: &'static str,
    /// Hazard number of the list in docs/scenarios.md (0 = none in particular).
    pub hazard: u8,
    /// One line.
    pub summary: &'static str,
    /// Kernel functions it drives.
    pub drives: &'static [&'static str],
    /// Whether it fits loom's budget (≤ 4 spawned threads, few lock operations).
    pub loom: bool,
    /// The known-bad variants it must find (its proof that it can fail).
    pub catches: &'static [Mutation],
    /// Fix switches of shipped bugs this scenario exposes: in the era that shipped the
    /// bug the faithful model must fail (an expected, named finding) and pass with the
    /// switch on.
    pub shipped: &'static [Mutation],
}

/// Every scenario.
pub const SCENARIOS: &[ScenarioInfo] = &[
    ScenarioInfo {
        id: ScenarioId::IrqInGrowWindow,
        name: "irq-in-grow-window",
        hazard: 1,
        summary: "CPU0 task refills and grows with GFP_KERNEL; CPU0's interrupt handler allocates and frees inside the irq-enable window",
        drives: &["kmem_cache_alloc", "____cache_alloc", "cache_alloc_refill", "cache_grow", "kmem_getpages", "cache_init_objs", "kmem_cache_free", "__cache_free"],
        loom: true,
        catches: &[Mutation::NoRecheckAfterGrow, Mutation::IrqWindowInAtomic],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::MigrateAcrossWindow,
        name: "migrate-across-window",
        hazard: 2,
        summary: "a task starts a refill on CPU0, sleeps in cache_grow and resumes on CPU1 while CPU0's interrupt handler uses CPU0's array",
        drives: &["cache_alloc_refill", "cache_grow", "cpu_cache_get", "__cache_free"],
        loom: true,
        catches: &[Mutation::StaleAcAfterGrow],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::TwoCpusRefill,
        name: "two-cpus-refill",
        hazard: 3,
        summary: "two CPUs refill from one node: list_lock, free_objects, slab list moves, colour_next",
        drives: &["cache_alloc_refill", "cache_grow", "slab_get_obj"],
        loom: true,
        catches: &[Mutation::ColourNextUnlocked, Mutation::FullSlabStaysPartial],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::SharedTransferVsFlush,
        name: "shared-transfer-vs-flusharray",
        hazard: 4,
        summary: "CPU0 refills from the shared array while CPU1's cache_flusharray pushes into it",
        drives: &["cache_alloc_refill", "transfer_objects", "cache_flusharray"],
        loom: true,
        catches: &[Mutation::SharedTransferUnlocked, Mutation::FreeObjectsDoubleCount, Mutation::FlusharrayNoShift],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::ConcurrentFreeBlock,
        name: "concurrent-free-block",
        hazard: 5,
        summary: "two CPUs flush into free_block on one node; slabs become empty and are destroyed past free_limit",
        drives: &["cache_flusharray", "free_block", "slab_put_obj", "slab_destroy", "kmem_freepages"],
        loom: true,
        catches: &[Mutation::FreeBlockUnlocked],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::GrowFailure,
        name: "grow-failure",
        hazard: 6,
        summary: "an off-slab cache's grow fails (pages, then the descriptor) while another CPU refills",
        drives: &["cache_grow", "kmem_getpages", "alloc_slabmgmt", "kmem_freepages", "kmem_cache_alloc_node"],
        loom: true,
        catches: &[Mutation::GrowFailLeaksPages],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::ReapVsAlloc,
        name: "reap-vs-alloc",
        hazard: 7,
        summary: "CPU0's cache_reap drains arrays and free slabs while CPU0 and CPU1 allocate and free",
        drives: &["cache_reap", "drain_array", "drain_freelist", "free_block", "slab_destroy"],
        loom: true,
        catches: &[Mutation::ReapForeignCpu, Mutation::DrainArrayStaleAvail, Mutation::DrainFreelistNoRecheck],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::TuneDuringGrow,
        name: "tune-during-grow",
        hazard: 8,
        summary: "a /proc/slabinfo write swaps the per-CPU arrays while a task sleeps in cache_grow",
        drives: &["do_tune_cpucache", "cache_alloc_refill", "cache_grow", "free_block"],
        loom: true,
        catches: &[Mutation::StaleAcAfterGrow, Mutation::TuneFreesArrayEarly],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::ShrinkDestroy,
        name: "shrink-destroy",
        hazard: 10,
        summary: "after concurrent use: destroy with live objects fails and leaves the cache usable; shrink; destroy returns every page",
        drives: &["kmem_cache_shrink", "drain_cpu_caches", "drain_freelist", "kmem_cache_destroy"],
        loom: true,
        catches: &[Mutation::DestroyDespiteLiveObjects],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::AlienFree,
        name: "alien-free",
        hazard: 9,
        summary: "two nodes: CPU1 frees node-0 objects through its alien array (draining into node 0's full shared array) and allocates from node 0 directly while CPU0 refills from node 0",
        drives: &["cache_free_alien", "__drain_alien_cache", "transfer_objects", "free_block", "kmem_cache_alloc_node", "____cache_alloc_node", "cache_alloc_refill"],
        loom: true,
        catches: &[Mutation::TransferIgnoresLimit],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::CrossCpuKfree,
        name: "cross-cpu-kfree",
        hazard: 0,
        summary: "objects kmalloc'ed on CPU0 are kfree'd on CPU1 while both CPUs kmalloc from the same size classes",
        drives: &["kmalloc", "kfree", "kmem_cache_alloc", "__cache_free", "cache_flusharray"],
        loom: true,
        catches: &[Mutation::KmallocClassTooSmall],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::Mixed,
        name: "mixed",
        hazard: 0,
        summary: "two nodes: a task (moved to the other node in its first window), an interrupt handler and a reaper on every CPU, node-directed allocations, a tuner, and the last CPU going down and up; several caches incl. kmalloc with off-slab descriptors",
        drives: &["kmem_cache_alloc", "kmem_cache_alloc_node", "kmem_cache_free", "kmalloc", "kfree", "cache_reap", "do_tune_cpucache", "cpu_down", "cpu_up"],
        loom: false,
        catches: &[],
        shipped: &[Mutation::FixRefillRereadNode],
    },
    ScenarioInfo {
        id: ScenarioId::ShrinkVsTune,
        name: "shrink-vs-tune",
        hazard: 11,
        summary: "kmem_cache_shrink on CPU0 drains the shared array while a /proc/slabinfo write on CPU1 replaces and frees it (era B takes no slab_mutex in shrink: shipped in 4.4, fixed in 4.7); CPU1's reaper drains the same array under the chain mutex",
        drives: &["kmem_cache_shrink", "drain_cpu_caches", "drain_array", "do_tune_cpucache", "alloc_kmemlist", "kick_all_cpus_sync", "cache_reap"],
        loom: true,
        catches: &[],
        shipped: &[Mutation::FixShrinkSharedLocked],
    },
    ScenarioInfo {
        id: ScenarioId::MigrateAcrossNodes,
        name: "migrate-across-nodes",
        hazard: 13,
        summary: "two nodes: a task on CPU0 (node 0) refills, sleeps in cache_grow and resumes on CPU1 (node 1) while CPU1's reaper runs; then the arrays are drained. 2.6.24 refills CPU1's array from node 0 and hands node-0 objects to free_block with node 1's lists",
        drives: &["cache_alloc_refill", "cache_grow", "cache_free_alien", "cache_reap", "drain_array", "free_block", "kmem_cache_shrink"],
        loom: true,
        // Era B opens no window here (gfp_exact_node strips __GFP_WAIT on NUMA), so no
        // window mutation is observable in both eras; the shipped bug is the proof.
        catches: &[],
        shipped: &[Mutation::FixRefillRereadNode],
    },
    ScenarioInfo {
        id: ScenarioId::FallbackAlloc,
        name: "fallback-alloc",
        hazard: 12,
        summary: "two nodes, node 0 out of memory: CPU0's task falls back (fallback_alloc opens its irq window, the slab comes from node 1) and is moved to CPU1 (node 1) inside a window, while CPU0's interrupt handler and CPU1 allocate",
        drives: &["__do_cache_alloc", "cache_alloc_refill", "____cache_alloc_node", "fallback_alloc", "kmem_getpages", "cache_grow", "cache_free_alien"],
        loom: true,
        catches: &[Mutation::IrqWindowInAtomic, Mutation::FallbackGrowAskedNode],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::CpuHotplug,
        name: "cpu-hotplug",
        hazard: 14,
        summary: "two nodes: CPU0 takes CPU1 (node 1's only CPU) down while a task on CPU1 frees and allocates and (shuttle only: a loom try_lock bug) CPU1's reaper runs; then CPU0 allocates from the CPU-less node 1 (node-directed, and through a task's MPOL_PREFERRED policy) and brings CPU1 back",
        drives: &["cpu_down", "take_cpu_down", "cpuup_canceled", "cpuup_prepare", "cache_reap", "kmem_cache_free", "kmem_cache_alloc", "kmem_cache_alloc_node", "alternate_node_alloc", "free_block", "drain_freelist"],
        loom: true,
        catches: &[Mutation::HotplugFreesNode, Mutation::HotplugSkipsDeadArray, Mutation::HotplugKeepsFreeLimit, Mutation::TakeCpuDownUnstopped],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::HotplugVsCreate,
        name: "hotplug-vs-create",
        hazard: 14,
        summary: "CPU0 takes CPU1 down while a task on CPU1 creates a cache (era B: get_online_cpus, then slab_mutex; the hot-plug holds cpu_hotplug and takes slab_mutex at CPU_DEAD); then the CPU comes back and uses the new cache",
        drives: &["cpu_down", "cpu_up", "kmem_cache_create", "cpuup_canceled", "cpuup_prepare", "kmem_cache_alloc"],
        loom: true,
        catches: &[Mutation::CreateLockOrder],
        shipped: &[],
    },
    ScenarioInfo {
        id: ScenarioId::HotplugVsTune,
        name: "hotplug-vs-tune",
        hazard: 14,
        summary: "CPU0 takes CPU1 down while a /proc/slabinfo write on CPU0 replaces every CPU's array; CPU1's array holds objects",
        drives: &["cpu_down", "take_cpu_down", "cpuup_canceled", "do_tune_cpucache", "kick_all_cpus_sync", "free_block"],
        loom: true,
        catches: &[Mutation::HotplugSkipsDeadArray],
        shipped: &[Mutation::FixTuneOnlineCpus],
    },
    ScenarioInfo {
        id: ScenarioId::CorruptDuringDrain,
        name: "corrupt-during-drain",
        hazard: 15,
        summary: "DEBUG profile: CPU0 frees an object and shrinks the cache while a caller on CPU1 stores past that object's end and into an object freed earlier; each store must be reported by the check the kernel would use (verify_redzone_free, check_poison_obj at slab_destroy) where it landed, nothing else",
        drives: &["kmem_cache_free", "__cache_free", "cache_free_debugcheck", "kmem_cache_shrink", "drain_cpu_caches", "drain_freelist", "slab_destroy", "slab_destroy_debugcheck"],
        loom: true,
        catches: &[Mutation::RedzoneUncheckedOnFree],
        shipped: &[],
    },
];

impl ScenarioInfo {
    /// The bug that shipped in `era`'s kernel and that this scenario exposes: the
    /// faithful model of that era must fail with its symptom (an expected finding), and
    /// pass with its fix switch on.
    pub fn shipped_in(&self, era: Era) -> Option<&'static slab_model::mutation::ShippedBug> {
        self.shipped
            .iter()
            .filter_map(|m| m.shipped_bug())
            .find(|b| b.era == era)
    }
}

impl ScenarioId {
    /// The scenario's static description.
    pub fn info(self) -> &'static ScenarioInfo {
        SCENARIOS
            .iter()
            .find(|s| s.id == self)
            .expect("every id is listed")
    }
    /// Looks a scenario up by name.
    pub fn from_name(name: &str) -> Option<ScenarioId> {
        SCENARIOS.iter().find(|s| s.name == name).map(|s| s.id)
    }
}

/// Parameters of one scenario run.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    /// Kernel era.
    pub era: Era,
    /// Enabled mutations.
    pub mutations: MutationSet,
    /// CPUs (loom scenarios use 2).
    pub cpus: usize,
    /// Operations per context (loom: 1–2).
    pub ops: usize,
    /// Seed for the workload choices of scaled scenarios (never for scheduling).
    pub seed: u64,
    /// Events kept in the trace.
    pub trace_capacity: usize,
    /// `CONFIG_DEBUG_SLAB`: red zones, poisoning and the last user on every cache the
    /// kernel forces them on, checked at run time. Scenarios assert that a clean run
    /// reports nothing.
    pub debug: bool,
}

impl Params {
    /// The era as tokens and reports name it: `A`, or `A+debug` on a DEBUG profile.
    pub fn era_label(&self) -> String {
        if self.debug {
            format!("{}+debug", self.era)
        } else {
            self.era.to_string()
        }
    }
}

impl Params {
    /// Loom-sized defaults.
    pub fn small(era: Era) -> Self {
        Params {
            era,
            mutations: MutationSet::NONE,
            cpus: 2,
            ops: 1,
            seed: 0,
            trace_capacity: 512,
            debug: false,
        }
    }
    /// The same with one mutation.
    pub fn with_mutation(mut self, m: Mutation) -> Self {
        self.mutations = self.mutations.with(m);
        self
    }
}

/// What one execution produced (for reports).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Objects allocated.
    pub allocated: usize,
    /// Objects freed.
    pub freed: usize,
    /// Kernel functions the execution ran.
    pub covered: Vec<KFn>,
    /// Concurrency points the execution passed (docs/concurrency.md map).
    pub sites: Vec<slab_model::site::Site>,
}

fn done<P: Platform>(m: &Machine<P>, allocated: usize, freed: usize) -> Outcome {
    Outcome {
        allocated,
        freed,
        covered: m.covered(),
        sites: m.sites(),
    }
}

fn machine<P: Platform>(
    p: &Params,
    kmalloc: KmallocSetup,
    faults: FaultInjection,
) -> Arc<Machine<P>> {
    machine_nodes(p, 1, kmalloc, faults)
}

fn machine_nodes<P: Platform>(
    p: &Params,
    nodes: usize,
    kmalloc: KmallocSetup,
    faults: FaultInjection,
) -> Arc<Machine<P>> {
    let profile = ArchProfile {
        cpus: p.cpus,
        nodes,
        debug: p.debug,
        ..ArchProfile::tiny()
    };
    let mut cfg = MachineConfig::new(profile, p.era);
    cfg.mutations = p.mutations;
    cfg.kmalloc = kmalloc;
    cfg.kmalloc_dma = false;
    cfg.trace_capacity = p.trace_capacity;
    cfg.audit_every_op = false;
    cfg.faults = faults;
    let m = Arc::new(Machine::new(cfg).expect("scenario machine boots"));
    let mm = m.clone();
    CURRENT.with(|c| {
        *c.borrow_mut() = Some(Box::new(move |msg: &str| {
            record_failure(&mm, msg, FailedIn::Thread)
        }))
    });
    trace::keep_machine(&m);
    m
}

/// A cache of `size`-byte objects (1300 bytes: 3 objects per on-slab slab in both eras),
/// tuned to `limit`/`batch`/`shared` so the slow paths happen within a few operations.
fn tiny_cache<P: Platform>(
    m: &Machine<P>,
    name: &str,
    size: usize,
    t: (i64, i64, i64),
) -> Arc<KmemCache<P>> {
    let c = m
        .kmem_cache_create(CreateArgs {
            name: name.into(),
            size,
            align: 0,
            flags: SlabFlags::default(),
            ctor: true,
        })
        .expect("scenario cache");
    let mut tuner = m.tuner(0, "setup");
    tuner
        .do_tune_cpucache_checked(&c, t.0, t.1, t.2)
        .expect("scenario tunables");
    c
}

fn spawn<P: Platform, T: Send + 'static>(
    m: &Arc<Machine<P>>,
    body: impl FnOnce(&Machine<P>) -> T + Send + 'static,
) -> P::JoinHandle<T> {
    let m = m.clone();
    P::spawn(move || {
        let mm = m.clone();
        with_trace(&mm, || body(&m))
    })
}

/// The audit, with the trace on failure.
fn final_audit<P: Platform>(m: &Machine<P>) {
    let r = m.audit();
    if !r.is_ok() {
        panic!(
            "{}",
            record_failure(m, &format!("audit: {r}"), FailedIn::Audit)
        );
    }
    // No scenario's caller misbehaves, so a DEBUG check that fired is a slip of the
    // model (or a switch) that the kernel's own safety net would have printed.
    if let Some(first) = m.reports().first() {
        panic!(
            "{}",
            record_failure(
                m,
                &format!("debug check: the kernel would print: {first}"),
                FailedIn::Audit
            )
        );
    }
}

fn must<T>(v: Option<T>, what: &str) -> T {
    v.unwrap_or_else(|| panic!("scenario expectation: {what} must succeed but returned NULL"))
}

/// Runs one execution of a scenario on platform `P`. Panics on any failure, with the
/// model trace in the message.
pub fn run<P: Platform>(id: ScenarioId, p: &Params) -> Outcome {
    // A failure without a model trace (a deadlock shuttle reports) must not inherit the
    // trace of an earlier execution.
    LAST_FAILURE.with(|f| *f.borrow_mut() = None);
    trace::run_starts();
    let r = catch_unwind(AssertUnwindSafe(|| run_inner::<P>(id, p)));
    // Drop the machine inside the execution (loom objects must not outlive it).
    trace::run_ends();
    let render = CURRENT.with(|c| c.borrow_mut().take());
    match r {
        Ok(o) => o,
        Err(e) => {
            let msg = panic_message(&e);
            match render {
                Some(f) if !msg.contains("--- model trace") => panic!("{}", f(&msg)),
                _ => std::panic::resume_unwind(e),
            }
        }
    }
}

fn run_inner<P: Platform>(id: ScenarioId, p: &Params) -> Outcome {
    match id {
        ScenarioId::IrqInGrowWindow => irq_in_grow_window::irq_in_grow_window::<P>(p),
        ScenarioId::MigrateAcrossWindow => migrate_across_window::migrate_across_window::<P>(p),
        ScenarioId::TwoCpusRefill => two_cpus_refill::two_cpus_refill::<P>(p),
        ScenarioId::SharedTransferVsFlush => {
            shared_transfer_vs_flusharray::shared_transfer_vs_flusharray::<P>(p)
        }
        ScenarioId::ConcurrentFreeBlock => concurrent_free_block::concurrent_free_block::<P>(p),
        ScenarioId::GrowFailure => grow_failure::grow_failure::<P>(p),
        ScenarioId::ReapVsAlloc => reap_vs_alloc::reap_vs_alloc::<P>(p),
        ScenarioId::TuneDuringGrow => tune_during_grow::tune_during_grow::<P>(p),
        ScenarioId::ShrinkDestroy => shrink_destroy::shrink_destroy::<P>(p),
        ScenarioId::AlienFree => alien_free::alien_free::<P>(p),
        ScenarioId::CrossCpuKfree => cross_cpu_kfree::cross_cpu_kfree::<P>(p),
        ScenarioId::ShrinkVsTune => shrink_vs_tune::shrink_vs_tune::<P>(p),
        ScenarioId::MigrateAcrossNodes => migrate_across_nodes::migrate_across_nodes::<P>(p),
        ScenarioId::FallbackAlloc => fallback_alloc::fallback_alloc::<P>(p),
        ScenarioId::Mixed => mixed::mixed::<P>(p),
        ScenarioId::CpuHotplug => cpu_hotplug::cpu_hotplug::<P>(p),
        ScenarioId::HotplugVsCreate => hotplug_vs_create::hotplug_vs_create::<P>(p),
        ScenarioId::HotplugVsTune => hotplug_vs_tune::hotplug_vs_tune::<P>(p),
        ScenarioId::CorruptDuringDrain => corrupt_during_drain::corrupt_during_drain::<P>(p),
    }
}
