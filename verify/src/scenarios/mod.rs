//! The scenario library: small, named, parameterised concurrent workloads, each aimed at
//! one hazard of the list in docs/scenarios.md, generic over the platform so loom, shuttle and std threads
//! run the same code.
//!
//! A scenario builds a machine inside the model closure (no statics), prepares state
//! single-threaded, spawns its execution contexts as model threads, joins them, and then
//! asserts: the full audit, plus what the contexts must have got (an allocation that must
//! succeed did succeed, colours are sequential, …). Any failure is a panic whose message
//! names the violated invariant and carries the model's trace as per-CPU lanes.

use serde::Serialize;
use slab_model::sync::{Join, Platform};
use slab_model::trace::{EventKind, KFn};
use slab_model::{
    ArchProfile, CreateArgs, Era, FaultInjection, Gfp, KmallocSetup, KmemCache, Machine,
    MachineConfig, Mutation, MutationSet, SlabFlags,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

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

/// Events a counterexample shows.
pub const COUNTEREXAMPLE_EVENTS: usize = 60;

/// One row of a counterexample's trace: a model event, or (the last row) the failing
/// access itself.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TraceRow {
    /// Global sequence number of the event (the failure row: one past the last event).
    pub seq: u64,
    /// Index into [`FailureTrace::lanes`].
    pub lane: usize,
    /// The CPU the event ran on (for the failure row: the failing context's CPU).
    pub cpu: u16,
    /// The cache's name (`kmem_cache_create`'s `name`), when the event is cache-specific.
    pub cache: Option<String>,
    /// Event class: `enter`, `irq-off`, `irq-on`, `irq-window-open`, `irq-window-close`,
    /// `migrate`, `lock`, `unlock`, `unlocked-access`, `objects`, `list-move`, `slab`,
    /// `page-alloc`, `object`, `cpu-online`, or `failure` (the failing access).
    pub class: &'static str,
    /// The lock a `lock` / `unlock` row takes or releases (`node0.list_lock`,
    /// `alien[node1]@node0`, `cache_chain_mutex`, `slab_mutex`, `zone->lock`, ...).
    pub lock: Option<String>,
    /// What happened, in kernel vocabulary, never truncated.
    pub text: String,
    /// The failing access (the last row), in text and HTML marked as such.
    pub failing: bool,
}

/// One lane (column) of a counterexample: an execution context.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Lane {
    /// The context's name (`task@cpu0`, `irq@cpu1`, `reaper@cpu0`, `setup`, ...).
    pub name: String,
    /// Whether this lane is the single-threaded setup (before any concurrent context).
    pub setup: bool,
}

/// What the trace last recorded about one array or slab: the state at the failure of the
/// places involved.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StateRow {
    /// The place: `ac[cpu0]`, `shared[node0]`, `alien[node1]`, `slab@0x400`.
    pub place: String,
    /// The cache, when known.
    pub cache: Option<String>,
    /// Its last recorded state (`avail 3`, `on slabs_partial`, `destroyed`).
    pub state: String,
    /// Sequence number of the event that recorded it.
    pub seq: u64,
}

/// A failing execution's trace, structured (the text lanes, the HTML page and the JSON
/// reports are all rendered from it).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct FailureTrace {
    /// The violated invariant (first line of the failure).
    pub invariant: String,
    /// The context whose access failed (`audit` for the final audit on the main thread).
    pub context: String,
    /// Lanes, in column order.
    pub lanes: Vec<Lane>,
    /// Rows, oldest first; the last one is the failing access (`failing: true`).
    pub rows: Vec<TraceRow>,
    /// Events recorded before the first row (dropped from the bounded buffer or cut
    /// from the window): the rows are the last part of the run.
    pub earlier_events: u64,
    /// State of the arrays and slabs the rows involve, as last recorded.
    pub state: Vec<StateRow>,
}

type Renderer = Box<dyn Fn(&str) -> String>;

thread_local! {
    /// The running scenario's machine, as a failure renderer: lets `run` attach the trace
    /// to a failed main-thread assertion too.
    static CURRENT: std::cell::RefCell<Option<Renderer>> = const { std::cell::RefCell::new(None) };
    /// The trace of the most recent failure on this OS thread (loom and shuttle run every
    /// model thread on the thread that called them).
    static LAST_FAILURE: std::cell::RefCell<Option<FailureTrace>> = const { std::cell::RefCell::new(None) };
}

/// Takes the trace recorded by the most recent failure on this thread.
pub fn take_last_failure() -> Option<FailureTrace> {
    LAST_FAILURE.with(|f| f.borrow_mut().take())
}

/// A copy of the trace recorded by the most recent failure on this thread.
pub fn last_failure() -> Option<FailureTrace> {
    LAST_FAILURE.with(|f| f.borrow().clone())
}

/// Where a failure was caught.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FailedIn {
    /// Inside a model thread (or the scenario's main thread): the context of that
    /// thread's last event made the failing access.
    Thread,
    /// The audit after every context joined.
    Audit,
}

/// The lane name of the final audit.
pub const AUDIT_LANE: &str = "audit (after join)";

/// Builds the structured trace of a failure from the machine's trace: the last
/// [`COUNTEREXAMPLE_EVENTS`] events, then the failing access as the last row, in the lane
/// of the context that made it.
fn failure_trace<P: Platform>(m: &Machine<P>, msg: &str, at: FailedIn) -> FailureTrace {
    let t = &m.trace;
    let (events, mut lane_ids) = t.tail(COUNTEREXAMPLE_EVENTS);
    let invariant = msg.lines().next().unwrap_or("").to_string();
    let cache = |id: u32| Some(t.cache_name(id)).filter(|n| !n.is_empty());
    let mut rows: Vec<TraceRow> = events
        .iter()
        .map(|e| TraceRow {
            seq: e.seq,
            lane: lane_ids.iter().position(|&l| l == e.ctx).unwrap_or(0),
            cpu: e.cpu,
            cache: cache(e.cache),
            class: e.kind.class(),
            lock: e.kind.lock().map(|l| l.to_string()),
            text: t.describe(e),
            failing: false,
        })
        .collect();
    let names: Vec<String> = lane_ids.iter().map(|&l| t.context_name(l)).collect();
    // The single-threaded setup: the `setup*` contexts, and any other lane (the
    // machine-level `kmem_cache_create` of the scenario's caches) whose rows all come
    // before the first row of every lane that is not setup.
    let first = |i: usize| rows.iter().position(|r| r.lane == i).unwrap_or(usize::MAX);
    let last = |i: usize| rows.iter().rposition(|r| r.lane == i).unwrap_or(0);
    let named: Vec<bool> = names.iter().map(|n| n.starts_with("setup")).collect();
    let mut lanes: Vec<Lane> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Lane {
            setup: named[i]
                || (0..names.len())
                    .filter(|&j| j != i && !named[j])
                    .all(|j| last(i) < first(j)),
            name: name.clone(),
        })
        .collect();
    if lanes.iter().all(|l| l.setup) {
        // Nothing ran concurrently in the rows shown: nothing to fold away.
        for (l, &n) in lanes.iter_mut().zip(&named) {
            l.setup = n;
        }
    }
    let failing = match at {
        // After a backend's own failure (loom's deadlock report) the thread may no longer
        // be able to name itself: then the failure has no lane of its own.
        FailedIn::Thread => catch_unwind(P::thread_tag)
            .ok()
            .and_then(|tag| t.last_of_thread(tag)),
        FailedIn::Audit => None,
    };
    let (lane, cpu, context) = match failing {
        Some((ctx, cpu)) => {
            let lane = match lane_ids.iter().position(|&l| l == ctx) {
                Some(i) => i,
                None => {
                    lane_ids.push(ctx);
                    lanes.push(Lane {
                        name: t.context_name(ctx),
                        setup: false,
                    });
                    lanes.len() - 1
                }
            };
            (lane, cpu, t.context_name(ctx))
        }
        None => {
            // The final audit, or a failure the backend itself reported (a deadlock)
            // in a thread that can no longer be named.
            let name = match at {
                FailedIn::Audit => AUDIT_LANE,
                FailedIn::Thread => "model checker",
            };
            lanes.push(Lane {
                name: name.into(),
                setup: false,
            });
            (
                lanes.len() - 1,
                slab_model::trace::NO_CPU as u16,
                name.to_string(),
            )
        }
    };
    let seq = t.recorded();
    let where_ = if cpu as usize == slab_model::trace::NO_CPU {
        String::new()
    } else {
        format!("cpu{cpu} ")
    };
    rows.push(TraceRow {
        seq,
        lane,
        cpu,
        cache: None,
        class: "failure",
        lock: None,
        text: format!("{where_}FAILS HERE: {invariant}"),
        failing: true,
    });
    FailureTrace {
        state: state_rows(&events, t),
        earlier_events: events.first().map_or(seq, |e| e.seq),
        invariant,
        context,
        lanes,
        rows,
    }
}

/// The arrays and slabs the rows involve, as the rows leave them: for each array the
/// objects the rows moved in and out, for each slab the list it was last put on.
fn state_rows(events: &[slab_model::trace::Event], t: &slab_model::trace::Trace) -> Vec<StateRow> {
    use slab_model::trace::{EventKind, ListKind, Place};
    use std::collections::BTreeMap;
    // (place, cache) -> (in, out, last seq); slab -> (state, cache, seq). BTreeMaps keep
    // the order deterministic.
    let mut arrays: BTreeMap<(String, u32), (u32, u32, u64)> = BTreeMap::new();
    let mut slabs: BTreeMap<u64, (String, u32, u64)> = BTreeMap::new();
    for e in events {
        match e.kind {
            EventKind::ObjectsMoved { from, to, count } => {
                for (p, incoming) in [(from, false), (to, true)] {
                    if matches!(p, Place::Slab | Place::Caller) {
                        continue;
                    }
                    let a = arrays.entry((p.to_string(), e.cache)).or_default();
                    if incoming {
                        a.0 += count;
                    } else {
                        a.1 += count;
                    }
                    a.2 = e.seq;
                }
            }
            EventKind::SlabCreated {
                slab,
                colour_offset,
            } => {
                slabs.insert(
                    slab,
                    (
                        format!("created, colour offset {colour_offset}"),
                        e.cache,
                        e.seq,
                    ),
                );
            }
            EventKind::ListMove { slab, to, .. } => {
                let state = match to {
                    ListKind::None => "on no list".to_string(),
                    l => format!("on {l}"),
                };
                slabs.insert(slab, (state, e.cache, e.seq));
            }
            EventKind::SlabDestroyed { slab } => {
                slabs.insert(slab, ("destroyed".into(), e.cache, e.seq));
            }
            _ => {}
        }
    }
    let name = |id: u32| Some(t.cache_name(id)).filter(|n| !n.is_empty());
    let mut out: Vec<StateRow> = arrays
        .into_iter()
        .map(|((place, cache), (i, o, seq))| StateRow {
            place,
            cache: name(cache),
            state: format!("{i} objects in, {o} out in these rows"),
            seq,
        })
        .collect();
    out.extend(
        slabs
            .into_iter()
            .map(|(slab, (state, cache, seq))| StateRow {
                place: format!("slab@{slab:#x}"),
                cache: name(cache),
                state,
                seq,
            }),
    );
    out
}

/// The failure as text: the message, then the lanes of the structured trace.
fn render_failure(msg: &str, ft: &FailureTrace) -> String {
    let names: Vec<String> = ft.lanes.iter().map(|l| l.name.clone()).collect();
    let rows: Vec<(String, usize, String)> = ft
        .rows
        .iter()
        .map(|r| {
            let seq = if r.failing {
                ">>".to_string()
            } else {
                r.seq.to_string()
            };
            (seq, r.lane, r.text.clone())
        })
        .collect();
    format!(
        "{msg}\n--- model trace (last events, one column per context; >> marks the failing access) ---\n{}",
        slab_model::trace::render_table(&names, &rows)
    )
}

fn record_failure<P: Platform>(m: &Machine<P>, msg: &str, at: FailedIn) -> String {
    let ft = failure_trace(m, msg, at);
    let text = render_failure(msg, &ft);
    LAST_FAILURE.with(|f| *f.borrow_mut() = Some(ft));
    text
}

/// Runs `body` and, if it panics, panics again with the trace lanes appended: the
/// counterexample in kernel terms.
fn with_trace<P: Platform, T>(m: &Machine<P>, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(e) => {
            let msg = panic_message(&e);
            if msg.contains("--- model trace") {
                std::panic::resume_unwind(e);
            }
            panic!("{}", record_failure(m, &msg, FailedIn::Thread));
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "panic with a non-string payload".into()
    }
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
    let r = catch_unwind(AssertUnwindSafe(|| run_inner::<P>(id, p)));
    // Drop the machine inside the execution (loom objects must not outlive it).
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
        ScenarioId::IrqInGrowWindow => irq_in_grow_window::<P>(p),
        ScenarioId::MigrateAcrossWindow => migrate_across_window::<P>(p),
        ScenarioId::TwoCpusRefill => two_cpus_refill::<P>(p),
        ScenarioId::SharedTransferVsFlush => shared_transfer_vs_flush::<P>(p),
        ScenarioId::ConcurrentFreeBlock => concurrent_free_block::<P>(p),
        ScenarioId::GrowFailure => grow_failure::<P>(p),
        ScenarioId::ReapVsAlloc => reap_vs_alloc::<P>(p),
        ScenarioId::TuneDuringGrow => tune_during_grow::<P>(p),
        ScenarioId::ShrinkDestroy => shrink_destroy::<P>(p),
        ScenarioId::AlienFree => alien_free::<P>(p),
        ScenarioId::CrossCpuKfree => cross_cpu_kfree::<P>(p),
        ScenarioId::ShrinkVsTune => shrink_vs_tune::<P>(p),
        ScenarioId::MigrateAcrossNodes => migrate_across_nodes::<P>(p),
        ScenarioId::FallbackAlloc => fallback_alloc::<P>(p),
        ScenarioId::Mixed => mixed::<P>(p),
        ScenarioId::CpuHotplug => cpu_hotplug::<P>(p),
        ScenarioId::HotplugVsCreate => hotplug_vs_create::<P>(p),
        ScenarioId::HotplugVsTune => hotplug_vs_tune::<P>(p),
    }
}

fn hotplug_vs_tune<P: Platform>(p: &Params) -> Outcome {
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    // CPU1's array holds an object when the race starts.
    let mut s1 = m.task(1, "setup@cpu1");
    let a = must(
        s1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "setup",
    );
    s1.kmem_cache_free(&c, a).expect("setup free");
    drop(s1);
    let hotplug = spawn(&m, |m| {
        m.task(0, "hotplug@cpu0").cpu_down(1).expect("cpu_down(1)");
    });
    let tuner = spawn(&m, |m| {
        m.tuner(0, "tuner@cpu0")
            .slabinfo_write("scn 3 1 1")
            .expect("tune");
    });
    hotplug.join();
    tuner.join();
    final_audit(&m);
    m.task(0, "after@cpu0").cpu_up(1).expect("cpu_up(1)");
    final_audit(&m);
    done(&m, 1, 1)
}

fn cpu_hotplug<P: Platform>(p: &Params) -> Outcome {
    // CPU0 is on node 0, CPU1 on node 1 (its only CPU).
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 1, shared 1: node 1 has a shared array to detach.
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    let mut s1 = m.task(1, "setup@cpu1");
    let [a, b, spare] = std::array::from_fn(|_| {
        must(
            s1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
            "setup",
        )
    });
    // CPU1's array keeps an object: the dead CPU has something to give back.
    s1.kmem_cache_free(&c, spare).expect("setup free");
    drop(s1);
    // A node-1 object in node 0's alien array.
    m.task(0, "setup@cpu0")
        .kmem_cache_free(&c, b)
        .expect("setup free");
    let ops = p.ops;
    let hotplug = spawn(&m, |m| {
        m.task(0, "hotplug@cpu0").cpu_down(1).expect("cpu_down(1)");
    });
    let c1 = c.clone();
    let task = spawn(&m, move |m| {
        // Moved to CPU0 if CPU1 goes down first; a node-1 object then becomes a remote free.
        let mut t = m.task(1, "task@cpu1").running_since_boot();
        t.kmem_cache_free(&c1, a).expect("free");
        for _ in 1..ops {
            let o = must(
                t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
                "task allocation",
            );
            t.kmem_cache_free(&c1, o).expect("free");
        }
    });
    // CPU1's reaper races the cancel of its work. Not under loom: loom 0.7.2 blocks a
    // thread that is inside `try_lock` when another thread takes the lock (tokio-rs/loom
    // issue #376, fix pending in PR #383), and here the hot-plug holds the chain mutex
    // (era A) while it waits for the reaper's `mutex_trylock` to return — a deadlock
    // only loom sees. shuttle explores the race.
    let reaper = (!P::TRACKS_CAUSALITY).then(|| {
        spawn(&m, |m| {
            let mut r = m.reaper(1, "reap@cpu1");
            m.advance_jiffies(slab_model::machine::REAPTIMEOUT_NODE);
            r.cache_reap();
        })
    });
    hotplug.join();
    task.join();
    if let Some(r) = reaper {
        r.join();
    }
    final_audit(&m);
    // Node 1 has no CPU but keeps its node struct: allocate from it remotely.
    let mut t = m.task(0, "after@cpu0");
    let o = must(
        t.kmem_cache_alloc_node(&c, Gfp::KERNEL, 1).expect("valid"),
        "kmem_cache_alloc_node(node 1) with node 1's CPUs down",
    );
    assert_eq!(m.page_node_of(o), Some(1), "the object comes from node 1");
    t.kmem_cache_free(&c, o).expect("free");
    // A task whose memory policy prefers node 1 gets there through alternate_node_alloc.
    let mut pol = m.task(0, "policy@cpu0");
    pol.set_mempolicy(Some(slab_model::mempolicy::MemPolicy::Preferred(1)))
        .expect("node 1 exists");
    let o = must(
        pol.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "kmem_cache_alloc with MPOL_PREFERRED(1)",
    );
    assert_eq!(m.page_node_of(o), Some(1), "the policy's node");
    pol.kmem_cache_free(&c, o).expect("free");
    t.cpu_up(1).expect("cpu_up(1)");
    let mut t1 = m.task(1, "after@cpu1");
    let o = must(
        t1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "after cpu_up",
    );
    t1.kmem_cache_free(&c, o).expect("free");
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 3 + ops, 3 + ops)
}

fn hotplug_vs_create<P: Platform>(p: &Params) -> Outcome {
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    let hotplug = spawn(&m, |m| {
        m.task(0, "hotplug@cpu0").cpu_down(1).expect("cpu_down(1)");
    });
    let creator = spawn(&m, |m| {
        m.kmem_cache_create(CreateArgs {
            name: "new".into(),
            size: 1300,
            align: 0,
            flags: SlabFlags::default(),
            ctor: false,
        })
        .expect("kmem_cache_create")
    });
    hotplug.join();
    let c = creator.join();
    final_audit(&m);
    m.task(0, "after@cpu0").cpu_up(1).expect("cpu_up(1)");
    // The cache created around the hot-plug works on the CPU that came back.
    let mut t = m.task(1, "after@cpu1");
    let o = must(
        t.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "after cpu_up",
    );
    assert_eq!(m.page_node_of(o), Some(1));
    t.kmem_cache_free(&c, o).expect("free");
    final_audit(&m);
    done(&m, 1, 1)
}

fn irq_in_grow_window<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 1, batch 1: an object the interrupt frees fills CPU0's array, so the task must
    // find it after the window instead of refilling on top of it.
    let c = tiny_cache(&m, "scn", 1300, (1, 1, 0));
    let c1 = c.clone();
    let ops = p.ops;
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let mut got = Vec::new();
        for _ in 0..ops {
            got.push(must(
                t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
                "task kmem_cache_alloc(GFP_KERNEL)",
            ));
        }
        got
    });
    let c2 = c.clone();
    let irq = spawn(&m, move |m| {
        let mut i = m.interrupt(0, "irq@cpu0");
        for _ in 0..ops {
            let o = must(
                i.kmem_cache_alloc(&c2, Gfp::ATOMIC).expect("valid"),
                "irq kmem_cache_alloc(GFP_ATOMIC)",
            );
            i.kmem_cache_free(&c2, o).expect("irq frees its own object");
        }
    });
    let got = task.join();
    irq.join();
    final_audit(&m);
    assert_eq!(
        m.live_objects(&c),
        got.len(),
        "every object the task holds is live"
    );
    done(&m, got.len() + ops, ops)
}

fn migrate_across_window<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 0));
    let c1 = c.clone();
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0->1");
        t.plan_migrations([1]);
        let o = must(
            t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
            "migrating task's allocation",
        );
        // After the window the task runs on CPU1: its next free goes to CPU1's array.
        t.kmem_cache_free(&c1, o).expect("free");
        t.cpu()
    });
    let c2 = c.clone();
    let irq = spawn(&m, move |m| {
        let mut i = m.interrupt(0, "irq@cpu0");
        let o = must(
            i.kmem_cache_alloc(&c2, Gfp::ATOMIC).expect("valid"),
            "irq allocation",
        );
        i.kmem_cache_free(&c2, o).expect("free");
    });
    let _cpu = task.join();
    irq.join();
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 2, 2)
}

fn two_cpus_refill<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // 1250-byte objects: 3 per slab with 4 (era A) / 5 (era B) colours; batch 2 makes
    // the second refill fill the first slab up (it must move to slabs_full).
    let c = tiny_cache(&m, "scn", 1250, (4, 2, 0));
    assert!(c.geo.colour >= 2, "scenario needs at least two colours");
    let n = p.ops.max(1);
    let hs: Vec<_> = (0..2)
        .map(|cpu| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                // GFP_ATOMIC: no irq window, so both grows overlap only at list_lock.
                (0..n)
                    .map(|_| {
                        must(
                            t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"),
                            "refill",
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let got: Vec<u64> = hs.into_iter().flat_map(|h| h.join()).collect();
    final_audit(&m);
    let mut uniq = got.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(
        uniq.len(),
        got.len(),
        "conservation: two CPUs were handed the same object"
    );
    // B.4: slabs of one node are coloured sequentially under list_lock.
    let colours: Vec<u32> = m
        .trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::SlabCreated { colour_offset, .. } => Some(colour_offset),
            _ => None,
        })
        .collect();
    let mut cs = colours.clone();
    cs.sort_unstable();
    cs.dedup();
    if colours.len() <= c.geo.colour {
        assert_eq!(
            cs.len(),
            colours.len(),
            "colour_next: concurrent grows reused a colour {colours:?} (B.4)"
        );
    }
    done(&m, got.len(), 0)
}

fn shared_transfer_vs_flush<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 1, shared 2 → shared capacity 2.
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 2));
    // Setup on CPU1: allocate 4, free 3 → array holds 2 after one flush into shared.
    let mut setup = m.task(1, "setup@cpu1");
    let objs: Vec<u64> = (0..4)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for &o in &objs[..3] {
        setup.kmem_cache_free(&c, o).expect("setup free");
    }
    drop(setup);
    let keep = objs[3];
    let c0 = c.clone();
    let a = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "refill from the shared array",
        )
    });
    let c1 = c.clone();
    let b = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1");
        // CPU1's array is full (2 of 2): this free flushes one object into shared.
        t.kmem_cache_free(&c1, keep).expect("free");
    });
    let got = a.join();
    b.join();
    final_audit(&m);
    assert_ne!(
        got, keep,
        "the object CPU1 is freeing cannot be handed to CPU0 before it is free"
    );
    done(&m, 5, 4)
}

fn concurrent_free_block<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 1, batch 1, no shared array: every free past the first flushes into
    // free_block. free_limit = (1 + 2 CPUs) × 1 + 3 = 6.
    let c = tiny_cache(&m, "scn", 1300, (1, 1, 0));
    let mut setup = m.task(0, "setup");
    let objs: Vec<u64> = (0..9)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    // Free 6 so the node holds exactly free_limit free objects (one stays in CPU0's array).
    for &o in &objs[..7] {
        setup.kmem_cache_free(&c, o).expect("setup free");
    }
    drop(setup);
    let (x, y) = (objs[7], objs[8]);
    let hs: Vec<_> = [(0usize, x), (1usize, y)]
        .into_iter()
        .map(|(cpu, o)| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                // Two frees: the second overflows the 1-entry array into free_block.
                let extra = must(t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"), "alloc");
                t.kmem_cache_free(&c, o).expect("free");
                t.kmem_cache_free(&c, extra).expect("free");
            })
        })
        .collect();
    for h in hs {
        h.join();
    }
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 11, 11)
}

fn grow_failure<P: Platform>(p: &Params) -> Outcome {
    // The 2nd page request fails: depending on the interleaving that is CPU1's slab pages
    // or the off-slab descriptor cache's pages (the `opps1` path).
    let faults = FaultInjection {
        fail_nth: Some(2),
        ..FaultInjection::default()
    };
    let m = machine::<P>(p, KmallocSetup::UpTo(64), faults);
    // Era A: 1024-byte objects are off-slab (>= PAGE_SIZE/8), descriptor from size-64 (or
    // size-32). Era B: off-slab too (>= 128 and no room left over).
    // DEBUG adds 24 bytes (two red zones, the user word): 1000 of them make the same
    // 1024-byte slot, four to a page with nothing left over.
    let size = if p.debug { 1000 } else { 1024 };
    let c = tiny_cache(&m, "scn", size, (2, 1, 0));
    assert!(c.geo.off_slab(), "scenario needs an off-slab cache");
    let hs: Vec<_> = (0..2)
        .map(|cpu| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid")
            })
        })
        .collect();
    let got: Vec<Option<u64>> = hs.into_iter().map(|h| h.join()).collect();
    final_audit(&m);
    assert!(
        got.iter().any(|g| g.is_some()),
        "one CPU's allocation must succeed"
    );
    let mut t = m.task(0, "after");
    let more = must(
        t.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "allocation after the fault",
    );
    t.kmem_cache_free(&c, more).expect("free");
    final_audit(&m);
    done(&m, got.iter().flatten().count() + 1, 1)
}

fn reap_vs_alloc<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 4, batch 2, no shared array; 3 objects per slab; free_limit (1 + 2)·2 + 3 = 9.
    let c = tiny_cache(&m, "scn", 1300, (4, 2, 0));
    // CPU0: its array holds exactly one object (so an allocation between the reaper's
    // unlocked peek and its lock empties it); two objects stay allocated.
    let mut t0 = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = (0..3)
        .map(|_| {
            must(
                t0.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for o in objs {
        t0.kmem_cache_free(&c, o).expect("setup free");
    }
    let held: Vec<u64> = (0..2)
        .map(|_| {
            must(
                t0.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    drop(t0);
    // CPU1: seven objects allocated and freed; the flushes give one slab entirely back
    // (on slabs_free: free_objects 5 <= free_limit) and leave a partial slab with two
    // free objects; CPU1's array holds four.
    let mut t1 = m.task(1, "setup@cpu1");
    let objs: Vec<u64> = (0..7)
        .map(|_| {
            must(
                t1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for o in objs {
        t1.kmem_cache_free(&c, o).expect("setup free");
    }
    drop(t1);
    let n = m.node_snapshot(&c, 0);
    assert!(
        n.slabs_free.len() == 1 && n.slabs_partial.len() == 1,
        "scenario needs one free and one partial slab: {n:?}"
    );
    m.advance_jiffies(10 * slab_model::machine::REAPTIMEOUT_NODE);
    let reaper = spawn(&m, move |m| {
        // The first pass clears the touched flags; the second, a node period later, drains
        // arrays and free slabs.
        let mut r = m.reaper(0, "reap@cpu0");
        r.cache_reap();
        m.advance_jiffies(slab_model::machine::REAPTIMEOUT_NODE);
        r.cache_reap();
    });
    let c0 = c.clone();
    let t0 = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let o = must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "alloc during reap",
        );
        t.kmem_cache_free(&c0, o).expect("free");
    });
    let c1 = c.clone();
    let t1 = spawn(&m, move |m| {
        // Four hits on CPU1's array, a refill that empties the partial slab, two hits, and
        // a refill from the free slab (which leaves slabs_free: sets free_touched).
        let mut t = m.task(1, "task@cpu1");
        let got: Vec<u64> = (0..7)
            .map(|_| {
                must(
                    t.kmem_cache_alloc(&c1, Gfp::ATOMIC).expect("valid"),
                    "alloc during reap",
                )
            })
            .collect();
        for o in got {
            t.kmem_cache_free(&c1, o).expect("free");
        }
    });
    reaper.join();
    t0.join();
    t1.join();
    final_audit(&m);
    let mut t = m.task(0, "after");
    for o in held {
        t.kmem_cache_free(&c, o).expect("free");
    }
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 20, 20)
}

fn tune_during_grow<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 0));
    let c0 = c.clone();
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let o = must(
            t.kmem_cache_alloc(&c0, Gfp::KERNEL).expect("valid"),
            "allocation across the tune",
        );
        t.kmem_cache_free(&c0, o).expect("free");
    });
    let tuner = spawn(&m, move |m| {
        let mut t = m.tuner(1, "tuner@cpu1");
        t.slabinfo_write("scn 3 1 0").expect("valid tunables");
    });
    task.join();
    tuner.join();
    final_audit(&m);
    assert_eq!(c.tunables().limit, 3);
    done(&m, 1, 1)
}

fn shrink_destroy<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    let hs: Vec<_> = (0..2)
        .map(|cpu| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                let a = must(t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"), "alloc");
                let b = must(t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"), "alloc");
                t.kmem_cache_free(&c, a).expect("free");
                b
            })
        })
        .collect();
    let live: Vec<u64> = hs.into_iter().map(|h| h.join()).collect();
    final_audit(&m);
    // Quiescent now. Destroy with live objects must fail and change nothing.
    let mut t = m.task(0, "admin");
    let before = m.slabinfo();
    let err = t.kmem_cache_destroy(&c);
    if err.is_ok() {
        final_audit(&m);
        panic!(
            "kmem_cache_destroy succeeded with {} live objects",
            live.len()
        );
    }
    assert_eq!(m.slabinfo(), before, "a failed destroy changed the cache");
    final_audit(&m);
    // Still usable.
    let o = must(
        t.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "allocation after failed destroy",
    );
    t.kmem_cache_free(&c, o).expect("free");
    for o in live {
        t.kmem_cache_free(&c, o).expect("free");
    }
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "no slab may remain after freeing everything"
    );
    t.kmem_cache_destroy(&c)
        .expect("destroy after freeing everything");
    final_audit(&m);
    done(&m, 5, 5)
}

fn shrink_vs_tune<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 1, shared 1: a shared array of one entry.
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    // Three frees on CPU0: the third flushes one object into node 0's shared array.
    let mut setup = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = (0..3)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for &o in &objs {
        setup.kmem_cache_free(&c, o).expect("setup free");
    }
    // CPU1 refills from the shared array (era B marks it touched), and the object comes
    // back through CPU0's full array into the shared array.
    let o = must(
        m.task(1, "setup@cpu1")
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .expect("valid"),
        "setup",
    );
    setup.kmem_cache_free(&c, o).expect("setup free");
    drop(setup);
    let sh = m.node_snapshot(&c, 0).shared.expect("a shared array");
    assert_eq!(sh.avail(), 1, "scenario needs a non-empty shared array");
    assert_eq!(
        sh.touched,
        p.era == Era::B,
        "era B marks a shared array a refill took from"
    );
    m.advance_jiffies(10 * slab_model::machine::REAPTIMEOUT_NODE);
    let c0 = c.clone();
    let shrinker = spawn(&m, move |m| {
        let mut t = m.task(0, "shrink@cpu0");
        t.kmem_cache_shrink(&c0).expect("shrink")
    });
    let tuner = spawn(&m, |m| {
        let mut t = m.tuner(1, "tuner@cpu1");
        t.slabinfo_write("scn 2 1 1").expect("valid tunables");
    });
    // The reaper drains the same shared array without list_lock too, but under the chain
    // mutex, which the tuner holds as well: safe in both eras.
    let reaper = spawn(&m, |m| {
        m.reaper(1, "reap@cpu1").cache_reap();
    });
    shrinker.join();
    tuner.join();
    reaper.join();
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    let mut t = m.task(0, "after");
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "every object is free: no slab may remain after shrink"
    );
    final_audit(&m);
    done(&m, 4, 4)
}

fn fallback_alloc<P: Platform>(p: &Params) -> Outcome {
    // Node 0 has no free memory: requests bound to it fail, others get node 1's pages.
    let faults = FaultInjection {
        exhausted_node: Some(0),
        ..FaultInjection::default()
    };
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, faults);
    let c = tiny_cache(&m, "scn", 1300, (1, 1, 0));
    let c0 = c.clone();
    let task = spawn(&m, move |m| {
        // The task is moved to CPU1 (node 1) at the first window that closes: era A's
        // refill grow (2.6.24 keeps __GFP_WAIT on NUMA), era B's fallback_alloc window.
        let mut t = m.task(0, "task@cpu0(node0)->cpu1(node1)");
        t.plan_migrations([1]);
        let o = must(
            t.kmem_cache_alloc(&c0, Gfp::KERNEL).expect("valid"),
            "GFP_KERNEL allocation on a node without memory (fallback_alloc)",
        );
        t.kmem_cache_free(&c0, o).expect("free");
    });
    let c1 = c.clone();
    let irq = spawn(&m, move |m| {
        let mut i = m.interrupt(0, "irq@cpu0(node0)");
        let o = must(
            i.kmem_cache_alloc(&c1, Gfp::ATOMIC).expect("valid"),
            "GFP_ATOMIC allocation in an interrupt on a node without memory",
        );
        i.kmem_cache_free(&c1, o).expect("free");
    });
    let c2 = c.clone();
    let remote = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1(node1)");
        let o = must(
            t.kmem_cache_alloc(&c2, Gfp::ATOMIC).expect("valid"),
            "allocation on node 1",
        );
        t.kmem_cache_free(&c2, o).expect("free");
    });
    task.join();
    irq.join();
    remote.join();
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    assert!(
        m.node_snapshot(&c, 0).all_slabs().next().is_none(),
        "node 0 has no memory: no slab may be on its lists"
    );
    done(&m, 3, 3)
}

fn migrate_across_nodes<P: Platform>(p: &Params) -> Outcome {
    // CPU0 is on node 0, CPU1 on node 1.
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 2, no shared array: a refill takes two objects, one stays in the array.
    let c = tiny_cache(&m, "scn", 1300, (2, 2, 0));
    let c1 = c.clone();
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0(node0)->cpu1(node1)");
        t.plan_migrations([1]);
        let o = must(
            t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
            "migrating task's allocation",
        );
        // On CPU1 now (if the window opened): a node-0 object goes to node 1's alien array.
        t.kmem_cache_free(&c1, o).expect("free");
    });
    let reaper = spawn(&m, move |m| {
        let mut r = m.reaper(1, "reap@cpu1(node1)");
        r.cache_reap();
        r.cache_reap();
    });
    task.join();
    reaper.join();
    // Quiescent: shrink drains every CPU array into its CPU's node (do_drain).
    let mut t = m.task(1, "after@cpu1");
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "every object is free: no slab may remain after shrink"
    );
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 1, 1)
}

fn alien_free<P: Platform>(p: &Params) -> Outcome {
    // CPU0 is on node 0, CPU1 on node 1. Alien arrays are sized when the cache is created
    // (`alloc_alien_cache(node, limit)`; tuning does not resize them): objects over 128 KiB
    // get limit 1, hence 1-entry alien arrays, so CPU1's second remote free finds the array
    // full and drains it. The tune then adds a 1-entry shared array (shared factor 1).
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    let c = m
        .kmem_cache_create(CreateArgs {
            name: "scn".into(),
            size: 140_000,
            align: 0,
            flags: SlabFlags::default(),
            ctor: false,
        })
        .expect("scenario cache");
    assert_eq!(
        c.tunables().limit,
        1,
        "objects over 128 KiB start with limit 1"
    );
    m.tuner(0, "setup")
        .do_tune_cpucache_checked(&c, 1, 1, 1)
        .expect("scenario tunables");
    let mut setup = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = (0..5)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    // Fill node 0's shared array (capacity 1): free two on CPU0, the first is flushed.
    setup.kmem_cache_free(&c, objs[0]).expect("setup free");
    setup.kmem_cache_free(&c, objs[1]).expect("setup free");
    drop(setup);
    let (x, y) = (objs[2], objs[3]);
    let c1 = c.clone();
    let remote = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1(node1)");
        // Both node-0 objects go through node 1's 1-entry alien array; the second free
        // drains the first into node 0 (its shared array is full, so into its slabs).
        t.kmem_cache_free(&c1, x).expect("alien free");
        t.kmem_cache_free(&c1, y).expect("alien free");
        // A node-directed allocation from the remote node's lists.
        let o = must(
            t.kmem_cache_alloc_node(&c1, Gfp::ATOMIC, 0).expect("valid"),
            "kmem_cache_alloc_node(node 0)",
        );
        t.kmem_cache_free(&c1, o).expect("free");
    });
    let c0 = c.clone();
    let local = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0(node0)");
        let a = must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "alloc",
        );
        let b = must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "refill from node 0",
        );
        t.kmem_cache_free(&c0, a).expect("free");
        b
    });
    let reaper = spawn(&m, |m| {
        // The rotor starts at the node after CPU1's own (init_reap_node), node 0:
        // reap_alien trylocks node 1's alien array for node 0 and drains it.
        let mut r = m.reaper(1, "reap@cpu1(node1)");
        r.cache_reap();
        r.cache_reap();
    });
    remote.join();
    reaper.join();
    let b = local.join();
    final_audit(&m);
    let mut t = m.task(1, "after@cpu1");
    t.kmem_cache_free(&c, b).expect("free");
    t.kmem_cache_free(&c, objs[4]).expect("free");
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "every object is free: no slab may remain after shrink"
    );
    final_audit(&m);
    done(&m, 8, 8)
}

fn kmalloc_checked<P: Platform>(
    m: &Machine<P>,
    ctx: &mut slab_model::Context<'_, P>,
    size: usize,
    gfp: Gfp,
) -> u64 {
    let o = must(ctx.kmalloc(size, gfp).expect("valid"), "kmalloc");
    let usable = m.ksize(o).expect("a kmalloc object has a size");
    assert!(
        usable >= size,
        "kmalloc({size}) returned a {usable}-byte object: the size class is too small"
    );
    o
}

fn cross_cpu_kfree<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::UpTo(256), FaultInjection::default());
    // Small kmalloc arrays so frees overflow into cache_flusharray.
    let mut tuner = m.tuner(0, "setup");
    for name in m
        .caches()
        .iter()
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
    {
        tuner
            .slabinfo_write(&format!("{name} 2 1 1"))
            .expect("tune kmalloc cache");
    }
    drop(tuner);
    let mut setup = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = [100usize, 200, 100]
        .iter()
        .map(|&s| kmalloc_checked(&m, &mut setup, s, Gfp::KERNEL))
        .collect();
    drop(setup);
    let remote = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1");
        for o in objs {
            t.kfree(o).expect("remote kfree");
        }
        let o = kmalloc_checked(m, &mut t, 150, Gfp::ATOMIC);
        t.kfree(o).expect("kfree");
    });
    let local = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let o = kmalloc_checked(m, &mut t, 120, Gfp::ATOMIC);
        t.kfree(o).expect("kfree");
    });
    remote.join();
    local.join();
    final_audit(&m);
    done(&m, 5, 5)
}

fn mixed<P: Platform>(p: &Params) -> Outcome {
    // Two nodes from two CPUs on (CPUs split in halves), so node-directed allocations,
    // alien frees and cross-node migration happen; the last CPU goes down and comes back.
    let nodes = if p.cpus >= 2 { 2 } else { 1 };
    let m = machine_nodes::<P>(
        p,
        nodes,
        KmallocSetup::UpTo(4096),
        FaultInjection::default(),
    );
    let caches = [
        tiny_cache(&m, "small", 384, (4, 2, 2)),
        tiny_cache(&m, "big", 1300, (2, 1, 1)),
    ];
    let mut hs = Vec::new();
    for cpu in 0..p.cpus {
        for kind in 0..2 {
            let caches = caches.clone();
            let ops = p.ops;
            let seed = p.seed ^ ((cpu as u64) << 8 | kind as u64);
            let cpus = p.cpus;
            hs.push(spawn(&m, move |m| {
                let mut ctx = if kind == 0 {
                    let mut t = m.task(cpu, &format!("task@cpu{cpu}")).running_since_boot();
                    // The scheduler moves the task to a CPU of the other node in its
                    // first window.
                    if cpus >= 2 {
                        t.plan_migrations([(cpu + cpus / 2) % cpus]);
                    }
                    t
                } else {
                    m.interrupt(cpu, &format!("irq@cpu{cpu}"))
                        .running_since_boot()
                };
                let gfp = if kind == 0 { Gfp::KERNEL } else { Gfp::ATOMIC };
                let mut held: Vec<(usize, u64)> = Vec::new();
                let mut x = seed | 1;
                for _ in 0..ops {
                    // The workload shape comes from the seed; the interleaving from the
                    // scheduler.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match x % 5 {
                        0 | 1 => {
                            let ci = (x >> 8) as usize % 2;
                            if let Some(o) = ctx.kmem_cache_alloc(&caches[ci], gfp).expect("valid")
                            {
                                held.push((ci, o));
                            }
                        }
                        4 => {
                            let ci = (x >> 8) as usize % 2;
                            let node = (x >> 24) as usize % nodes;
                            if let Some(o) = ctx
                                .kmem_cache_alloc_node(&caches[ci], gfp, node)
                                .expect("valid")
                            {
                                held.push((ci, o));
                            }
                        }
                        2 => {
                            if let Some(o) = ctx
                                .kmalloc(((x >> 16) % 2048) as usize + 1, gfp)
                                .expect("valid")
                            {
                                held.push((usize::MAX, o));
                            }
                        }
                        _ => {
                            if let Some((ci, o)) = held.pop() {
                                if ci == usize::MAX {
                                    ctx.kfree(o).expect("kfree");
                                } else {
                                    ctx.kmem_cache_free(&caches[ci], o).expect("free");
                                }
                            }
                        }
                    }
                }
                for (ci, o) in held {
                    if ci == usize::MAX {
                        ctx.kfree(o).expect("kfree");
                    } else {
                        ctx.kmem_cache_free(&caches[ci], o).expect("free");
                    }
                }
            }));
        }
        let r = spawn(&m, move |m| {
            let mut r = m.reaper(cpu, &format!("reap@cpu{cpu}"));
            m.advance_jiffies(slab_model::machine::REAPTIMEOUT_NODE);
            r.cache_reap();
        });
        hs.push(r);
    }
    let tuner = spawn(&m, |m| {
        let mut t = m.tuner(0, "tuner").running_since_boot();
        t.slabinfo_write("small 6 3 1").expect("tune");
    });
    // The hot-plug starts once the tune is done: their race (a bug that shipped in 4.4)
    // is hotplug-vs-tune's; here it would make every era-B campaign a finding.
    tuner.join();
    let last = p.cpus - 1;
    let hotplug = (p.cpus >= 2).then(|| {
        spawn(&m, move |m| {
            let mut h = m.task(0, "hotplug@cpu0");
            h.cpu_down(last).expect("cpu_down");
            h.cpu_up(last).expect("cpu_up");
        })
    });
    for h in hs {
        h.join();
    }
    if let Some(h) = hotplug {
        h.join();
    }
    final_audit(&m);
    for c in &caches {
        assert_eq!(m.live_objects(c), 0);
    }
    done(&m, 0, 0)
}
