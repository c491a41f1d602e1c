//! Witness executions: for every scenario, a predicate over the model's trace that says
//! whether one execution really exhibits the scenario's hazard (the interrupt really runs
//! inside `cache_grow`'s irq-enabled window, the two `free_block`s really contend for
//! `list_lock`, ...), and the search that finds the first such execution under shuttle.
//!
//! The search is deterministic: execution `k` is shuttle's random scheduler with seed `k`
//! (the scheduler of `slab-verify run --seed k --iterations 1`, so the witness is also that
//! command's execution), seeds 0, 1, 2, ... up to a bound. No witness within the bound is
//! an error ([`WitnessError::NotFound`]), never a silent pass; a failing execution is an
//! error too ([`WitnessError::Failed`]): a witness is an execution the model survives.
//!
//! The predicates read only the trace ([`RunTrace`]): lock taken / released, irq off / on,
//! the grow window opening and closing, function entries, objects moved, migrations. Each
//! returns the window to mark in the diagram ([`Found`]): the span of events that makes the
//! execution a witness, and the events inside it that are the hazard itself.

use crate::scenarios::ScenarioId;
use crate::scenarios::{keep_run_traces, panic_message, run, take_run_trace, Params, RunTrace};
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
use shuttle::{Config, FailurePersistence, Runner};
use slab_model::sync::ShuttlePlatform;
use slab_model::trace::{Event, EventKind, KFn, LockName, Place};
use slab_model::{Era, Mutation};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Executions a witness search tries before giving up.
pub const MAX_EXECUTIONS: usize = 10_000;

/// Events a witness run keeps: far more than any scenario records with one operation per
/// context, so the predicates see the whole execution.
pub const WITNESS_TRACE_CAPACITY: usize = 1 << 16;

/// What makes an execution a witness: a span of the trace and the hazard's events in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Sequence number of the first event of the window.
    pub start: u64,
    /// Sequence number of the last event of the window.
    pub end: u64,
    /// The events inside the window that are the hazard (the interrupt's array access,
    /// the migration, the contending `spin_lock`, ...), by sequence number.
    pub marks: Vec<u64>,
    /// One line: what the window is, in kernel terms.
    pub label: String,
}

/// A witness execution found by [`search`].
#[derive(Clone, Debug)]
pub struct Witness {
    /// The scenario.
    pub id: ScenarioId,
    /// Its parameters (era, switches, one operation per context).
    pub params: Params,
    /// shuttle random-scheduler seed of the execution.
    pub seed: u64,
    /// Executions the search ran, this one included.
    pub executions: usize,
    /// The execution's whole trace.
    pub trace: RunTrace,
    /// The window the predicate found.
    pub found: Found,
}

/// Why no witness.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// No execution within the bound satisfied the predicate.
    #[error("no witness of {scenario} (era {era}) in {executions} executions (seeds 0..{executions}): {what}")]
    NotFound {
        /// Scenario name.
        scenario: &'static str,
        /// Era label.
        era: String,
        /// Executions tried.
        executions: usize,
        /// What the predicate looks for.
        what: &'static str,
    },
    /// An execution failed: the configuration is not one the model survives.
    #[error("{scenario} (era {era}) failed at seed {seed} during the witness search: {message}")]
    Failed {
        /// Scenario name.
        scenario: &'static str,
        /// Era label.
        era: String,
        /// The failing seed.
        seed: u64,
        /// The failure's first line.
        message: String,
    },
}

/// The era a scenario's committed witness diagram uses: the one whose hazard is the
/// scenario's point (era B for the 4.4 lock-order and tune races).
pub fn default_era(id: ScenarioId) -> Era {
    match id {
        ScenarioId::ShrinkVsTune
        | ScenarioId::HotplugVsCreate
        | ScenarioId::HotplugVsTune
        | ScenarioId::FallbackAlloc => Era::B,
        _ => Era::A,
    }
}

/// The parameters of a witness search of `id` in `era`: loom-sized (2 CPUs, one
/// operation per context), the whole trace kept, and the fix switch of the bug the era's
/// kernel shipped when the scenario exposes one (the faithful model of that era fails
/// there by design; the witness shows the fixed kernel living through the hazard).
pub fn params(id: ScenarioId, era: Era) -> Params {
    let mut p = Params::small(era);
    p.trace_capacity = WITNESS_TRACE_CAPACITY;
    if let Some(bug) = id.info().shipped_in(era) {
        p = p.with_mutation(bug.switch);
    }
    p
}

/// A one-execution shuttle scheduler: uniformly random choices on the PCG stream of
/// `shuttle_driver`'s random scheduler with this seed, so seed `k` here is the execution
/// `slab-verify run --seed k --iterations 1` runs.
struct OneSeed {
    rng: rand_pcg::Pcg64Mcg,
    seed: u64,
    started: bool,
}

impl OneSeed {
    fn new(seed: u64) -> Self {
        OneSeed {
            rng: rand_pcg::Pcg64Mcg::new(0xcafe_f00d_d15e_a5e5 ^ seed as u128),
            seed,
            started: false,
        }
    }
}

impl Scheduler for OneSeed {
    fn new_execution(&mut self) -> Option<Schedule> {
        if std::mem::replace(&mut self.started, true) {
            return None;
        }
        Some(Schedule::new(self.seed))
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        _current: Option<TaskId>,
        _is_yielding: bool,
    ) -> Option<TaskId> {
        let i = (rand_core::Rng::next_u64(&mut self.rng) % runnable.len() as u64) as usize;
        Some(runnable[i].id())
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::Rng::next_u64(&mut self.rng)
    }
}

/// Runs execution `seed` of `id` and returns its whole trace, or the failure's first line.
pub fn run_seed(id: ScenarioId, p: &Params, seed: u64) -> Result<RunTrace, String> {
    let mut c = Config::new();
    c.failure_persistence = FailurePersistence::None;
    c.silence_warnings = true;
    let pp = p.clone();
    keep_run_traces(true);
    let r = catch_unwind(AssertUnwindSafe(|| {
        Runner::new(OneSeed::new(seed), c).run(move || {
            run::<ShuttlePlatform>(id, &pp);
        })
    }));
    let trace = take_run_trace();
    keep_run_traces(false);
    match r {
        Ok(_) => Ok(trace.expect("a passing execution kept its trace")),
        Err(e) => Err(panic_message(&e).lines().next().unwrap_or("").to_string()),
    }
}

/// Searches seeds `0..max` for the first execution of `id` whose trace satisfies the
/// scenario's predicate ([`check`]).
pub fn search(id: ScenarioId, p: &Params, max: usize) -> Result<Witness, WitnessError> {
    for seed in 0..max as u64 {
        let trace = run_seed(id, p, seed).map_err(|message| WitnessError::Failed {
            scenario: id.info().name,
            era: p.era_label(),
            seed,
            message,
        })?;
        if let Some(found) = check(id, &trace) {
            return Ok(Witness {
                id,
                params: p.clone(),
                seed,
                executions: seed as usize + 1,
                trace,
                found,
            });
        }
    }
    Err(WitnessError::NotFound {
        scenario: id.info().name,
        era: p.era_label(),
        executions: max,
        what: wanted(id),
    })
}

/// What the predicate of `id` looks for, in one line (the diagram caption, the
/// not-found error).
pub fn wanted(id: ScenarioId) -> &'static str {
    match id {
        ScenarioId::IrqInGrowWindow => "an interrupt on the task's CPU moves objects in or out of that CPU's array inside cache_grow's irq-enabled window",
        ScenarioId::MigrateAcrossWindow => "the task is migrated inside cache_grow's window, and the old CPU's interrupt runs there before the window closes and uses the old CPU's array",
        ScenarioId::TwoCpusRefill => "the other CPU's refill takes objects from the node's slabs between this CPU's cache_grow adding its slab and its retry",
        ScenarioId::SharedTransferVsFlush => "the refill and cache_flusharray are both in flight on one shared array: each has begun before either moved an object",
        ScenarioId::ConcurrentFreeBlock => "one CPU enters cache_flusharray (whose next step is spin_lock(list_lock)) while the other holds list_lock in free_block, and takes the lock right after it",
        ScenarioId::GrowFailure => "a page allocation fails in one CPU's cache_grow while the other CPU is inside its refill and runs in between",
        ScenarioId::ReapVsAlloc => "between cache_reap's unlocked peek and its next step, another context changes what was peeked (the CPU's array, or slabs_free)",
        ScenarioId::TuneDuringGrow => "the tuner replaces the task's CPU's array (on that CPU, irqs off, or the era-B pointer publish) inside the task's grow window",
        ScenarioId::ShrinkDestroy => "the two tasks' allocations interleave, and then kmem_cache_destroy runs with their objects live",
        ScenarioId::AlienFree => "the drain of an alien array into node 0 and a refill from node 0 are both in flight: each has begun before either moved an object",
        ScenarioId::CrossCpuKfree => "a kfree on one CPU and a kmalloc from the same cache on the other are both in flight: each has begun before either finished",
        ScenarioId::Mixed => "a task is migrated inside its grow window, and another context runs on the old CPU before the window closes and uses the old CPU's array",
        ScenarioId::ShrinkVsTune => "kmem_cache_shrink's drain_cpu_caches runs while the tuner is inside do_tune_cpucache, the two alternating on the node's list_lock",
        ScenarioId::MigrateAcrossNodes => "the task is migrated to a CPU of the other node inside cache_grow's window",
        ScenarioId::FallbackAlloc => "an interrupt runs on the task's CPU inside an irq-enabled window the task opened after entering fallback_alloc",
        ScenarioId::CpuHotplug => "take_cpu_down takes CPU1 offline while the task that started on CPU1 is in the middle of an operation",
        ScenarioId::HotplugVsCreate => "kmem_cache_create runs while cpu_down holds cpu_add_remove_lock (events of the creator inside the hot-plug)",
        ScenarioId::HotplugVsTune => "cpu_down has begun before the tuner's kick_all_cpus_sync and takes the CPU offline only after it",
        ScenarioId::CorruptDuringDrain => "a caller's store into the cache's objects lands while another CPU is between kmem_cache_free and the shrink's first slab_destroy (the debug checks)",
    }
}

/// Whether the execution with this trace is a witness of `id`'s hazard; the window if so.
pub fn check(id: ScenarioId, t: &RunTrace) -> Option<Found> {
    let v = View::new(t);
    match id {
        ScenarioId::IrqInGrowWindow => irq_in_grow_window(&v),
        ScenarioId::MigrateAcrossWindow | ScenarioId::Mixed => migrate_with_old_cpu_used(&v),
        ScenarioId::TwoCpusRefill => two_cpus_refill(&v),
        ScenarioId::SharedTransferVsFlush => shared_transfer_vs_flush(&v),
        ScenarioId::ConcurrentFreeBlock => concurrent_free_block(&v),
        ScenarioId::GrowFailure => grow_failure(&v),
        ScenarioId::ReapVsAlloc => reap_vs_alloc(&v),
        ScenarioId::TuneDuringGrow => tune_during_grow(&v),
        ScenarioId::ShrinkDestroy => shrink_destroy(&v),
        ScenarioId::AlienFree => alien_free(&v),
        ScenarioId::CrossCpuKfree => cross_cpu_kfree(&v),
        ScenarioId::ShrinkVsTune => shrink_vs_tune(&v),
        ScenarioId::MigrateAcrossNodes => migrate_across_nodes(&v),
        ScenarioId::FallbackAlloc => fallback_alloc(&v),
        ScenarioId::CpuHotplug => cpu_hotplug(&v),
        ScenarioId::HotplugVsCreate => hotplug_vs_create(&v),
        ScenarioId::HotplugVsTune => hotplug_vs_tune(&v),
        ScenarioId::CorruptDuringDrain => corrupt_during_drain(&v),
    }
}

/// An irq-enabled window of `cache_grow` (or `fallback_alloc`): from `IrqWindowOpen` to
/// the same context's next `IrqWindowClose`, as event indices.
#[derive(Clone, Copy, Debug)]
struct GrowWindow {
    ctx: u16,
    open: usize,
    close: usize,
    /// The CPU the window opened on.
    cpu: u16,
}

/// Index helpers over one trace.
struct View<'t> {
    t: &'t RunTrace,
    ev: &'t [Event],
}

impl<'t> View<'t> {
    fn new(t: &'t RunTrace) -> Self {
        View { t, ev: &t.events }
    }
    fn name(&self, ctx: u16) -> &str {
        self.t.contexts.get(ctx as usize).map_or("", |s| s.as_str())
    }
    /// An interrupt-handler context (`Machine::interrupt`; the scenarios name them
    /// `irq@cpuN`).
    fn is_irq(&self, ctx: u16) -> bool {
        self.name(ctx).starts_with("irq@")
    }
    fn seq(&self, i: usize) -> u64 {
        self.ev[i].seq
    }
    /// The first event of `ctx` after index `i` that satisfies `f`.
    fn next_of(&self, i: usize, ctx: u16, f: impl Fn(&EventKind) -> bool) -> Option<usize> {
        (i + 1..self.ev.len()).find(|&j| self.ev[j].ctx == ctx && f(&self.ev[j].kind))
    }
    /// The next event of `ctx` after index `i`.
    fn next_in(&self, i: usize, ctx: u16) -> Option<usize> {
        self.next_of(i, ctx, |_| true)
    }
    /// The last event of `ctx` before index `i` that satisfies `f`.
    fn prev_of(&self, i: usize, ctx: u16, f: impl Fn(&EventKind) -> bool) -> Option<usize> {
        (0..i)
            .rev()
            .find(|&j| self.ev[j].ctx == ctx && f(&self.ev[j].kind))
    }
    /// Indices of the events satisfying `f`.
    fn all(&self, f: impl Fn(&Event) -> bool) -> Vec<usize> {
        (0..self.ev.len()).filter(|&i| f(&self.ev[i])).collect()
    }
    /// Every grow window of the run.
    fn windows(&self) -> Vec<GrowWindow> {
        self.all(|e| e.kind == EventKind::IrqWindowOpen)
            .into_iter()
            .filter_map(|open| {
                let e = self.ev[open];
                let close = self.next_of(open, e.ctx, |k| {
                    matches!(k, EventKind::IrqWindowClose { .. })
                })?;
                Some(GrowWindow {
                    ctx: e.ctx,
                    open,
                    close,
                    cpu: e.cpu,
                })
            })
            .collect()
    }
    /// The release of the lock `taken` (an index of a `LockTaken`) took.
    fn released(&self, taken: usize) -> Option<usize> {
        let e = self.ev[taken];
        let EventKind::LockTaken(l) = e.kind else {
            return None;
        };
        self.next_of(taken, e.ctx, |k| *k == EventKind::LockReleased(l))
    }
    fn found(&self, start: usize, end: usize, marks: &[usize], label: String) -> Found {
        let mut marks: Vec<u64> = marks.iter().map(|&i| self.seq(i)).collect();
        marks.sort_unstable();
        marks.dedup();
        Found {
            start: self.seq(start),
            end: self.seq(end),
            marks,
            label,
        }
    }
}

/// An event that uses CPU `cpu`'s array: objects moved in or out of `ac[cpu]`, or an
/// object handed out or taken back by a context running on `cpu` (an array hit or a free
/// into the array records only the object).
fn uses_array(e: &Event, cpu: u16) -> bool {
    match e.kind {
        EventKind::ObjectsMoved { from, to, .. } => {
            from == Place::CpuArray(cpu) || to == Place::CpuArray(cpu)
        }
        EventKind::Object { .. } => e.cpu == cpu,
        _ => false,
    }
}

fn is_list_lock(k: &EventKind) -> bool {
    matches!(k, EventKind::LockTaken(LockName::ListLock { .. }))
}

/// `irq-in-grow-window` (hazard 1). Witness: inside a task's `cache_grow` window on CPU
/// `c` (from `IrqWindowOpen` to its `IrqWindowClose`), an interrupt context moves objects
/// in or out of `ac[c]` or hands out / takes back an object on `c`. That is the hazard:
/// the task dropped the array with interrupts on, the interrupt changed it, and the task
/// must re-check it after the window (`no-recheck-after-grow` refills on top).
fn irq_in_grow_window(v: &View) -> Option<Found> {
    v.windows().into_iter().find_map(|w| {
        let marks: Vec<usize> = (w.open + 1..w.close)
            .filter(|&i| v.is_irq(v.ev[i].ctx) && uses_array(&v.ev[i], w.cpu))
            .collect();
        (!marks.is_empty()).then(|| {
            v.found(
                w.open,
                w.close,
                &marks,
                format!(
                    "cache_grow's irq-enabled window of {} on cpu{}: {} interrupt access(es) to ac[cpu{}] inside it",
                    v.name(w.ctx),
                    w.cpu,
                    marks.len(),
                    w.cpu
                ),
            )
        })
    })
}

/// `migrate-across-window` (hazard 2) and `mixed`. Witness: a task's grow window opens on
/// CPU `c`, the task is migrated inside it (`Migrated { from: c, .. }` before the window
/// closes on another CPU), another context runs on `c` after the migration and before
/// the window closes, and that context uses `ac[c]` (in the window or later). The task's
/// array pointer from before the window is CPU `c`'s, which the other context is
/// changing: a stale `ac` after the window (`stale-ac-after-grow`) would race with it.
fn migrate_with_old_cpu_used(v: &View) -> Option<Found> {
    v.windows().into_iter().find_map(|w| {
        let mig = (w.open + 1..=w.close).find(|&i| {
            v.ev[i].ctx == w.ctx
                && matches!(v.ev[i].kind, EventKind::Migrated { from, to } if from == w.cpu && to != from)
        })?;
        let EventKind::Migrated { to, .. } = v.ev[mig].kind else {
            unreachable!()
        };
        (mig + 1..w.close).find_map(|i| {
            let o = v.ev[i];
            if o.ctx == w.ctx || o.cpu != w.cpu {
                return None;
            }
            let use_ = (i..v.ev.len()).find(|&j| v.ev[j].ctx == o.ctx && uses_array(&v.ev[j], w.cpu))?;
            let mut marks: Vec<usize> = (mig + 1..w.close)
                .filter(|&j| v.ev[j].ctx == o.ctx && v.ev[j].cpu == w.cpu)
                .collect();
            marks.extend([mig, use_]);
            Some(v.found(
                w.open,
                w.close,
                &marks,
                format!(
                    "cache_grow's window of {}: opened on cpu{}, migrated to cpu{to}, while {} runs on cpu{} and uses ac[cpu{}]",
                    v.name(w.ctx),
                    w.cpu,
                    v.name(o.ctx),
                    w.cpu,
                    w.cpu
                ),
            ))
        })
    })
}

/// `two-cpus-refill` (hazard 3). Witness: context X's `cache_grow` puts its new slab on
/// the node's lists (`ListMove` from no list), and before X's retry takes objects from
/// the slabs, another context's refill takes objects from them. Both refills work the
/// same lists under `list_lock`: X's retry finds less than it grew (the free_objects and
/// list-move accounting, `full-slab-stays-partial`).
fn two_cpus_refill(v: &View) -> Option<Found> {
    let from_slab = |k: &EventKind| {
        matches!(
            k,
            EventKind::ObjectsMoved {
                from: Place::Slab,
                to: Place::CpuArray(_),
                ..
            }
        )
    };
    v.all(|e| {
        matches!(
            e.kind,
            EventKind::ListMove {
                from: slab_model::trace::ListKind::None,
                ..
            }
        )
    })
    .into_iter()
    .find_map(|added| {
        let x = v.ev[added].ctx;
        let retry = v.next_of(added, x, from_slab)?;
        let other: Vec<usize> = (added + 1..retry)
            .filter(|&i| v.ev[i].ctx != x && from_slab(&v.ev[i].kind))
            .collect();
        if other.is_empty() {
            return None;
        }
        let grow = v
            .prev_of(added, x, |k| *k == EventKind::Enter(KFn::CacheGrow))
            .unwrap_or(added);
        Some(v.found(
            grow,
            retry,
            &other,
            format!(
                "{}'s cache_grow to its retry: {} refills from the node's slabs in between",
                v.name(x),
                v.name(v.ev[other[0]].ctx)
            ),
        ))
    })
}

/// Both operations in flight: the first begins (index `a0` / `b0`) before the other's
/// effect (`a1` / `b1`). Returns the window `[min start, max effect]`.
fn overlap(a0: usize, a1: usize, b0: usize, b1: usize) -> Option<(usize, usize)> {
    (a0.max(b0) < a1.min(b1)).then(|| (a0.min(b0), a1.max(b1)))
}

/// `shared-transfer-vs-flusharray` (hazard 4). Witness: a refill (`cache_alloc_refill`
/// entered) and a `cache_flusharray` of another context into the same node's shared
/// array are both in flight: each was entered before either moved objects (the refill
/// `shared -> ac`, the flush `ac -> shared`). The transfer and the flush then work on one
/// shared array concurrently, which only `list_lock` serialises
/// (`shared-transfer-unlocked`).
fn shared_transfer_vs_flush(v: &View) -> Option<Found> {
    for r in v.all(|e| e.kind == EventKind::Enter(KFn::CacheAllocRefill)) {
        let x = v.ev[r].ctx;
        let Some(t) = v.next_of(r, x, |k| {
            matches!(
                k,
                EventKind::ObjectsMoved {
                    from: Place::Shared(_),
                    to: Place::CpuArray(_),
                    ..
                }
            )
        }) else {
            continue;
        };
        let EventKind::ObjectsMoved {
            from: Place::Shared(n),
            ..
        } = v.ev[t].kind
        else {
            continue;
        };
        for f in v.all(|e| e.ctx != x && e.kind == EventKind::Enter(KFn::CacheFlusharray)) {
            let y = v.ev[f].ctx;
            let Some(p) = v.next_of(f, y, |k| matches!(k, EventKind::ObjectsMoved { from: Place::CpuArray(_), to: Place::Shared(m), .. } if *m == n)) else { continue };
            if let Some((s, e)) = overlap(r, t, f, p) {
                return Some(v.found(
                    s,
                    e,
                    &[t, p],
                    format!(
                        "{}'s refill from shared[node{n}] and {}'s cache_flusharray into it, both in flight",
                        v.name(x),
                        v.name(y)
                    ),
                ));
            }
        }
    }
    None
}

/// `concurrent-free-block` (hazard 5). Witness: context X holds the node's `list_lock` in
/// `free_block` (its `spin_lock` to `spin_unlock` span contains `free_block()`), another
/// context Y enters `cache_flusharray` inside that span, records nothing else before its
/// own `spin_lock` of the same lock, takes it after X releases it, and runs `free_block`.
/// `cache_flusharray`'s first step is that `spin_lock`: Y waited for X's `free_block` (the
/// lock `free-block-unlocked` drops).
fn concurrent_free_block(v: &View) -> Option<Found> {
    for a in v.all(|e| is_list_lock(&e.kind)) {
        let x = v.ev[a].ctx;
        let Some(b) = v.released(a) else { continue };
        if !(a..b).any(|i| v.ev[i].ctx == x && v.ev[i].kind == EventKind::Enter(KFn::FreeBlock)) {
            continue;
        }
        let lock = v.ev[a].kind;
        for f in a + 1..b {
            let e = v.ev[f];
            if e.ctx == x || e.kind != EventKind::Enter(KFn::CacheFlusharray) {
                continue;
            }
            let Some(g) = v.next_in(f, e.ctx) else {
                continue;
            };
            if g <= b || v.ev[g].kind != lock {
                continue;
            }
            let Some(fb) = v.next_in(g, e.ctx) else {
                continue;
            };
            if v.ev[fb].kind != EventKind::Enter(KFn::FreeBlock) {
                continue;
            }
            let end = v.released(g).unwrap_or(fb);
            return Some(v.found(
                a,
                end,
                &[f, g],
                format!(
                    "{} holds {} in free_block while {} enters cache_flusharray and waits for it",
                    v.name(x),
                    lock.lock().map(|l| l.to_string()).unwrap_or_default(),
                    v.name(e.ctx)
                ),
            ));
        }
    }
    None
}

/// `grow-failure` (hazard 6). Witness: a page request fails (`PageAllocFailed`) inside
/// context X's `cache_grow`, while another context Y is inside its refill (entered before
/// the failure, has not handed its object out yet) and records events between X's
/// `cache_grow()` and the failure. The failure path (free the pages, no slab) runs while
/// another CPU refills from the same lists.
fn grow_failure(v: &View) -> Option<Found> {
    for f in v.all(|e| matches!(e.kind, EventKind::PageAllocFailed { .. })) {
        let x = v.ev[f].ctx;
        let Some(g) = v.prev_of(f, x, |k| *k == EventKind::Enter(KFn::CacheGrow)) else {
            continue;
        };
        for r in v.all(|e| e.ctx != x && e.kind == EventKind::Enter(KFn::CacheAllocRefill)) {
            if r >= f {
                continue;
            }
            let y = v.ev[r].ctx;
            let done = v
                .next_of(r, y, |k| matches!(k, EventKind::Object { alloc: true, .. }))
                .unwrap_or(v.ev.len());
            if done <= f {
                continue;
            }
            let between: Vec<usize> = (g + 1..f).filter(|&i| v.ev[i].ctx == y).collect();
            if between.is_empty() {
                continue;
            }
            let mut marks = between.clone();
            marks.push(f);
            return Some(v.found(
                g.min(r),
                f,
                &marks,
                format!(
                    "{}'s cache_grow fails its page request while {} is inside its refill",
                    v.name(x),
                    v.name(y)
                ),
            ));
        }
    }
    None
}

/// `reap-vs-alloc` (hazard 7). Witness: between an unlocked peek of `cache_reap` and the
/// reaper's next event, another context changes what was peeked: after
/// `peek(ac->avail)` of CPU `c`'s array, a context on `c` uses `ac[c]`; or after
/// `list_empty(slabs_free)`, a slab leaves `slabs_free`. The reaper then acts on a stale
/// value (`drain-array-stale-avail`, `drain-freelist-no-recheck`) unless it re-reads
/// under `list_lock`.
fn reap_vs_alloc(v: &View) -> Option<Found> {
    use slab_model::site::Site;
    use slab_model::trace::ListKind;
    for p in v.all(|e| {
        matches!(
            e.kind,
            EventKind::Site(Site::PeekAcAvail) | EventKind::Site(Site::PeekSlabsFree)
        )
    }) {
        let e = v.ev[p];
        let Some(q) = v.next_in(p, e.ctx) else {
            continue;
        };
        let changed: Vec<usize> = (p + 1..q)
            .filter(|&i| {
                let o = v.ev[i];
                o.ctx != e.ctx
                    && match e.kind {
                        EventKind::Site(Site::PeekAcAvail) => {
                            o.cpu == e.cpu && uses_array(&o, e.cpu)
                        }
                        _ => matches!(
                            o.kind,
                            EventKind::ListMove {
                                from: ListKind::Free,
                                ..
                            }
                        ),
                    }
            })
            .collect();
        if changed.is_empty() {
            continue;
        }
        let what = match e.kind {
            EventKind::Site(Site::PeekAcAvail) => format!("ac[cpu{}] changes", e.cpu),
            _ => "a slab leaves slabs_free".to_string(),
        };
        let mut marks = changed.clone();
        marks.push(p);
        return Some(v.found(
            p,
            q,
            &marks,
            format!(
                "{}'s unlocked {} and its next step: {what} ({})",
                v.name(e.ctx),
                e.kind,
                v.name(v.ev[changed[0]].ctx)
            ),
        ));
    }
    None
}

/// `tune-during-grow` (hazard 8). Witness: inside a task's grow window on CPU `c`, a
/// context that entered `do_tune_cpucache` replaces `c`'s array: era A's
/// `on_each_cpu(do_ccupdate_local)` runs on `c` with `c`'s interrupts off (an `IrqOff`
/// on `c` in the tuner's lane), era B publishes the new `cpu_cache` pointer. After the
/// window the task's array is a new one (`stale-ac-after-grow`, `tune-frees-array-early`).
fn tune_during_grow(v: &View) -> Option<Found> {
    use slab_model::site::Site;
    v.windows().into_iter().find_map(|w| {
        let marks: Vec<usize> = (w.open + 1..w.close)
            .filter(|&i| {
                let e = v.ev[i];
                e.ctx != w.ctx
                    && v.prev_of(i, e.ctx, |k| *k == EventKind::Enter(KFn::DoTuneCpucache))
                        .is_some()
                    && ((e.kind == EventKind::IrqOff && e.cpu == w.cpu)
                        || e.kind == EventKind::Site(Site::PublishCpuCache))
            })
            .collect();
        (!marks.is_empty()).then(|| {
            v.found(
                w.open,
                w.close,
                &marks,
                format!(
                    "cache_grow's window of {} on cpu{}: {} replaces the array inside it",
                    v.name(w.ctx),
                    w.cpu,
                    v.name(v.ev[marks[0]].ctx)
                ),
            )
        })
    })
}

/// The first and last event index of `ctx`.
fn extent(v: &View, ctx: u16) -> Option<(usize, usize)> {
    let first = (0..v.ev.len()).find(|&i| v.ev[i].ctx == ctx)?;
    let last = (0..v.ev.len()).rev().find(|&i| v.ev[i].ctx == ctx)?;
    Some((first, last))
}

/// `shrink-destroy` (hazard 10). Witness: the concurrent phase really was concurrent —
/// two contexts whose names start with `task@` each record an event between the other's
/// first and last event — and afterwards `kmem_cache_destroy` is entered while their
/// objects are live (the scenario's first destroy, which must fail, change nothing and
/// leave the cache usable). The window runs from the interleaving to that destroy.
fn shrink_destroy(v: &View) -> Option<Found> {
    let tasks: Vec<u16> = (0..v.t.contexts.len() as u16)
        .filter(|&c| v.name(c).starts_with("task@"))
        .collect();
    let mut start = None;
    for &a in &tasks {
        for &b in &tasks {
            let (Some((a0, a1)), Some((b0, b1))) = (extent(v, a), extent(v, b)) else {
                continue;
            };
            if a != b && a0 < b0 && (b0..b1).any(|i| v.ev[i].ctx == a) && b0 < a1 {
                start = Some(start.map_or(a0, |s: usize| s.min(a0)));
            }
        }
    }
    let start = start?;
    let d = *v
        .all(|e| e.kind == EventKind::Enter(KFn::KmemCacheDestroy))
        .first()?;
    let interleaved: Vec<usize> = (start..d)
        .filter(|&i| tasks.contains(&v.ev[i].ctx) && is_list_lock(&v.ev[i].kind))
        .collect();
    let mut marks = interleaved;
    marks.push(d);
    Some(v.found(
        start,
        d,
        &marks,
        format!(
            "the tasks' interleaved allocations, then {}'s kmem_cache_destroy with their objects live",
            v.name(v.ev[d].ctx)
        ),
    ))
}

/// `alien-free` (hazard 9). Witness: a drain of an alien array into node `n`
/// (`__drain_alien_cache` entered, its objects moved out of `alien[node n]`) and another
/// context's refill from node `n` (`cache_alloc_refill` entered, objects moved into its
/// array) are both in flight: each was entered before either moved objects. The remote
/// node's free and its refill meet on node `n`'s lists and shared array.
fn alien_free(v: &View) -> Option<Found> {
    for d in v.all(|e| e.kind == EventKind::Enter(KFn::DrainAlienCache)) {
        let x = v.ev[d].ctx;
        let Some(m) = v.next_of(d, x, |k| {
            matches!(
                k,
                EventKind::ObjectsMoved {
                    from: Place::Alien(_),
                    ..
                }
            )
        }) else {
            continue;
        };
        let EventKind::ObjectsMoved {
            from: Place::Alien(n),
            ..
        } = v.ev[m].kind
        else {
            continue;
        };
        for r in v.all(|e| e.ctx != x && e.kind == EventKind::Enter(KFn::CacheAllocRefill)) {
            let y = v.ev[r].ctx;
            let Some(t) = v.next_of(r, y, |k| {
                matches!(
                    k,
                    EventKind::ObjectsMoved {
                        to: Place::CpuArray(_),
                        ..
                    }
                )
            }) else {
                continue;
            };
            // The refill is from node n: it takes node n's list_lock in between.
            if !(r..t).any(|i| {
                v.ev[i].ctx == y
                    && v.ev[i].kind == EventKind::LockTaken(LockName::ListLock { node: n })
            }) {
                continue;
            }
            if let Some((s, e)) = overlap(d, m, r, t) {
                return Some(v.found(
                    s,
                    e,
                    &[m, t],
                    format!(
                        "{}'s drain of alien[node{n}] and {}'s refill from node{n}, both in flight",
                        v.name(x),
                        v.name(y)
                    ),
                ));
            }
        }
    }
    None
}

/// `cross-cpu-kfree` (hazard 0). Witness: a `kfree` of context X (entered, object not yet
/// back in an array: its `frees` event) and a `kmalloc` of context Y on another CPU
/// (entered, object not yet handed out) from the same cache are both in flight. The
/// remote free and the allocation use the same size class at once.
fn cross_cpu_kfree(v: &View) -> Option<Found> {
    for a in v.all(|e| e.kind == EventKind::Enter(KFn::Kfree)) {
        let x = v.ev[a].ctx;
        let Some(a1) = v.next_of(a, x, |k| {
            matches!(k, EventKind::Object { alloc: false, .. })
        }) else {
            continue;
        };
        for b in v
            .all(|e| e.ctx != x && e.cpu != v.ev[a].cpu && e.kind == EventKind::Enter(KFn::Kmalloc))
        {
            let y = v.ev[b].ctx;
            let Some(b1) = v.next_of(b, y, |k| matches!(k, EventKind::Object { alloc: true, .. }))
            else {
                continue;
            };
            if v.ev[a1].cache != v.ev[b1].cache {
                continue;
            }
            if let Some((s, e)) = overlap(a, a1, b, b1) {
                return Some(v.found(
                    s,
                    e,
                    &[a1, b1],
                    format!(
                        "{}'s kfree and {}'s kmalloc from {}, both in flight",
                        v.name(x),
                        v.name(y),
                        v.t.caches.get(&v.ev[a1].cache).map_or("", |s| s.as_str())
                    ),
                ));
            }
        }
    }
    None
}

/// `shrink-vs-tune` (hazard 11). Witness: `kmem_cache_shrink`'s `drain_cpu_caches` is
/// entered after a tuner entered `do_tune_cpucache` and before it released its mutex,
/// and the two alternate on the node's `list_lock` (a `spin_lock` of the tuner between
/// two of the shrink's within that span). That is 4.4's race (the shrink took no
/// `slab_mutex`): the shrink drains `n->shared` while the tune replaces it; with the fix
/// switch the drain reads the pointer under `list_lock`.
fn shrink_vs_tune(v: &View) -> Option<Found> {
    for t in v.all(|e| e.kind == EventKind::Enter(KFn::DoTuneCpucache)) {
        let x = v.ev[t].ctx;
        let Some(end) = v.next_of(t, x, |k| {
            matches!(
                k,
                EventKind::LockReleased(LockName::SlabMutex | LockName::CacheChainMutex)
            )
        }) else {
            continue;
        };
        for d in (t + 1..end)
            .filter(|&i| v.ev[i].ctx != x && v.ev[i].kind == EventKind::Enter(KFn::DrainCpuCaches))
        {
            let y = v.ev[d].ctx;
            let ys: Vec<usize> = (d..end)
                .filter(|&i| v.ev[i].ctx == y && is_list_lock(&v.ev[i].kind))
                .collect();
            let (Some(&y0), Some(&y1)) = (ys.first(), ys.last()) else {
                continue;
            };
            let xs: Vec<usize> = (y0..y1)
                .filter(|&i| v.ev[i].ctx == x && is_list_lock(&v.ev[i].kind))
                .collect();
            if xs.is_empty() {
                continue;
            }
            let mut marks = vec![d, y0, y1];
            marks.extend(&xs);
            return Some(v.found(
                t,
                end,
                &marks,
                format!(
                    "{}'s do_tune_cpucache with {}'s drain_cpu_caches inside it, alternating on list_lock",
                    v.name(x),
                    v.name(y)
                ),
            ));
        }
    }
    None
}

/// `migrate-across-nodes` (hazard 13). Witness: a task's grow window opens on CPU `c`
/// and the task is migrated inside it to another CPU (in the scenario's topology CPU `i`
/// is node `i`'s: another node). After the window the refill must use the new CPU's
/// node, which 2.6.24 does not re-read (the shipped bug; the witness runs with its fix).
fn migrate_across_nodes(v: &View) -> Option<Found> {
    v.windows().into_iter().find_map(|w| {
        let mig = (w.open + 1..=w.close).find(|&i| {
            v.ev[i].ctx == w.ctx
                && matches!(v.ev[i].kind, EventKind::Migrated { from, to } if from == w.cpu && to != from)
        })?;
        let EventKind::Migrated { to, .. } = v.ev[mig].kind else {
            unreachable!()
        };
        let after = v.next_of(w.close, w.ctx, is_list_lock).unwrap_or(w.close);
        let mut marks = vec![mig];
        if after != w.close {
            marks.push(after);
        }
        Some(v.found(
            w.open,
            after,
            &marks,
            format!(
                "cache_grow's window of {}: opened on cpu{} (node{}), closed on cpu{to} (node{to})",
                v.name(w.ctx),
                w.cpu,
                w.cpu
            ),
        ))
    })
}

/// `fallback-alloc` (hazard 12). Witness: a task enters `fallback_alloc` and then opens an
/// irq-enabled window (`fallback_alloc`'s own, or its `cache_grow`'s) on CPU `c`, and an
/// interrupt context runs on `c` inside that window. The fallback allocation is
/// preemptible there (`irq-window-in-atomic` opens it for GFP_ATOMIC too).
fn fallback_alloc(v: &View) -> Option<Found> {
    v.windows().into_iter().find_map(|w| {
        let fb = v.prev_of(w.open, w.ctx, |k| *k == EventKind::Enter(KFn::FallbackAlloc))?;
        // The same allocation: no new kmem_cache_alloc between fallback_alloc and the window.
        if (fb..w.open).any(|i| v.ev[i].ctx == w.ctx && v.ev[i].kind == EventKind::Enter(KFn::KmemCacheAlloc)) {
            return None;
        }
        let marks: Vec<usize> = (w.open + 1..w.close)
            .filter(|&i| v.is_irq(v.ev[i].ctx) && v.ev[i].cpu == w.cpu)
            .collect();
        (!marks.is_empty()).then(|| {
            v.found(
                fb,
                w.close,
                &marks,
                format!(
                    "{}'s fallback_alloc and its irq-enabled window on cpu{}: the interrupt runs inside it",
                    v.name(w.ctx),
                    w.cpu
                ),
            )
        })
    })
}

/// `cpu-hotplug` (hazard 14). Witness: `take_cpu_down` takes a CPU offline
/// (`CpuOnline { online: false }`) while a task whose first event ran on that CPU is in
/// the middle of an operation: it entered `kmem_cache_free` / `kmem_cache_alloc` before
/// and has not yet handed out or taken back the object. The dying CPU's array and the
/// task's operation on it race the hot-plug's `cpuup_canceled`.
fn cpu_hotplug(v: &View) -> Option<Found> {
    for d in v.all(|e| matches!(e.kind, EventKind::CpuOnline { online: false, .. })) {
        let EventKind::CpuOnline { cpu, .. } = v.ev[d].kind else {
            continue;
        };
        for ctx in 0..v.t.contexts.len() as u16 {
            if !v.name(ctx).starts_with("task@") {
                continue;
            }
            let Some((first, _)) = extent(v, ctx) else {
                continue;
            };
            if v.ev[first].cpu != cpu {
                continue;
            }
            let Some(op) = v.prev_of(d, ctx, |k| {
                matches!(
                    k,
                    EventKind::Enter(KFn::KmemCacheFree | KFn::KmemCacheAlloc)
                )
            }) else {
                continue;
            };
            let Some(obj) = v.next_of(op, ctx, |k| matches!(k, EventKind::Object { .. })) else {
                continue;
            };
            if obj < d {
                continue;
            }
            return Some(v.found(
                op,
                obj,
                &[d],
                format!(
                    "{}'s {} in flight while take_cpu_down takes cpu{cpu} offline",
                    v.name(ctx),
                    v.ev[op].kind
                ),
            ));
        }
    }
    None
}

/// `hotplug-vs-create` (hazard 14). Witness: the creator (`kmem_cache_create`'s context)
/// records events while the hot-plug holds `cpu_add_remove_lock` (between its
/// `mutex_lock` and `mutex_unlock`). The create and `cpu_down` really overlap, so their
/// locks (era B: `get_online_cpus` and `slab_mutex`; `create-lock-order` takes them the
/// other way round) are taken concurrently.
fn hotplug_vs_create(v: &View) -> Option<Found> {
    let creator = (0..v.t.contexts.len() as u16).find(|&c| v.name(c) == "kmem_cache_create")?;
    for a in v.all(|e| e.kind == EventKind::LockTaken(LockName::CpuAddRemove)) {
        let Some(b) = v.released(a) else { continue };
        let inside: Vec<usize> = (a + 1..b).filter(|&i| v.ev[i].ctx == creator).collect();
        if !inside.is_empty() {
            return Some(v.found(
                a,
                b,
                &inside,
                format!(
                    "{}'s cpu_down (cpu_add_remove_lock held) with kmem_cache_create running inside it",
                    v.name(v.ev[a].ctx)
                ),
            ));
        }
    }
    None
}

/// `hotplug-vs-tune` (hazard 14). Witness: `cpu_down` has begun (its context holds
/// `cpu_add_remove_lock`) when the tuner passes `kick_all_cpus_sync`, and takes the CPU
/// offline (`CpuOnline { online: false }`) only after it. 4.4's tune then runs its
/// `for_each_online_cpu` drain with a hot-plug in flight: the shipped bug when the CPU
/// goes offline before the drain (the witness runs with the fix, `get_online_cpus`).
fn hotplug_vs_tune(v: &View) -> Option<Found> {
    use slab_model::site::Site;
    for k in v.all(|e| e.kind == EventKind::Site(Site::KickAllCpusSync)) {
        let tuner = v.ev[k].ctx;
        for a in v.all(|e| e.kind == EventKind::LockTaken(LockName::CpuAddRemove)) {
            let h = v.ev[a].ctx;
            if a > k || h == tuner {
                continue;
            }
            let Some(b) = v.released(a) else { continue };
            let Some(off) = (a..b).find(|&i| {
                v.ev[i].ctx == h
                    && matches!(v.ev[i].kind, EventKind::CpuOnline { online: false, .. })
            }) else {
                continue;
            };
            if off < k {
                continue;
            }
            return Some(v.found(
                a,
                off,
                &[k, off],
                format!(
                    "{}'s cpu_down in flight across {}'s kick_all_cpus_sync; the CPU goes offline after it",
                    v.name(h),
                    v.name(tuner)
                ),
            ));
        }
    }
    None
}

/// `corrupt-during-drain` (hazard 15). Witness: a caller's store (`CallerWrite`) of one
/// context lands while another context is between its `kmem_cache_free` entry and the
/// first `slab_destroy` of its shrink: the store races the debug checks of the free
/// (`cache_free_debugcheck`'s red-zone check) and of the drain (the destroy's poison
/// check), which are not synchronised with it.
fn corrupt_during_drain(v: &View) -> Option<Found> {
    for f in v.all(|e| e.kind == EventKind::Enter(KFn::KmemCacheFree)) {
        let x = v.ev[f].ctx;
        let Some(d) = v.next_of(f, x, |k| matches!(k, EventKind::SlabDestroyed { .. })) else {
            continue;
        };
        let stores: Vec<usize> = (f + 1..d)
            .filter(|&i| v.ev[i].ctx != x && matches!(v.ev[i].kind, EventKind::CallerWrite { .. }))
            .collect();
        if stores.is_empty() {
            continue;
        }
        return Some(v.found(
            f,
            d,
            &stores,
            format!(
                "{}'s kmem_cache_free to its shrink's first slab_destroy: {} store(s) of {} land inside",
                v.name(x),
                stores.len(),
                v.name(v.ev[stores[0]].ctx)
            ),
        ));
    }
    None
}

/// The mutations and shipped bugs that break `id`, each with the era it breaks it in:
/// the failing pictures' configurations, in order. Each of `catches` in the scenario's
/// default era (else era B, where the switch acts), then the shipped bugs.
pub fn breaking_switches(id: ScenarioId) -> Vec<(Mutation, Era)> {
    let info = id.info();
    let mut out: Vec<(Mutation, Era)> = info
        .catches
        .iter()
        .map(|&m| {
            let era = if m.acts_in(default_era(id)) {
                default_era(id)
            } else {
                Era::B
            };
            (m, era)
        })
        .collect();
    for era in [Era::A, Era::B] {
        if let Some(b) = info.shipped_in(era) {
            out.push((b.switch, era));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, ctx: u16, cpu: u16, kind: EventKind) -> Event {
        Event {
            seq,
            ctx,
            cpu,
            cache: 0,
            kind,
        }
    }

    /// task@cpu0 opens and closes cache_grow's window; irq@cpu0 pushes an object into
    /// ac[cpu0] at `irq_at` (a sequence number).
    fn grow_with_irq_at(irq_at: u64) -> RunTrace {
        let (task, irq) = (0, 1);
        let mut events = vec![
            ev(0, task, 0, EventKind::Enter(KFn::CacheGrow)),
            ev(2, task, 0, EventKind::IrqWindowOpen),
            ev(3, task, 0, EventKind::Enter(KFn::KmemGetpages)),
            ev(5, task, 0, EventKind::IrqWindowClose { cpu: 0 }),
            ev(6, task, 0, EventKind::IrqOn),
        ];
        events.push(ev(
            irq_at,
            irq,
            0,
            EventKind::ObjectsMoved {
                from: Place::Caller,
                to: Place::CpuArray(0),
                count: 1,
            },
        ));
        events.sort_by_key(|e| e.seq);
        RunTrace {
            recorded: events.len() as u64,
            events,
            contexts: vec!["task@cpu0".into(), "irq@cpu0".into()],
            caches: [(0, "scn".to_string())].into_iter().collect(),
        }
    }

    #[test]
    fn an_interrupt_inside_the_grow_window_is_a_witness() {
        let f = check(ScenarioId::IrqInGrowWindow, &grow_with_irq_at(4)).expect("a witness");
        assert_eq!((f.start, f.end, f.marks.clone()), (2, 5, vec![4]));
        assert!(f.label.contains("task@cpu0 on cpu0"), "{}", f.label);
    }

    #[test]
    fn an_interrupt_outside_the_grow_window_is_not() {
        // Before the window opens and after it closes: the task holds interrupts off.
        assert_eq!(
            check(ScenarioId::IrqInGrowWindow, &grow_with_irq_at(1)),
            None
        );
        assert_eq!(
            check(ScenarioId::IrqInGrowWindow, &grow_with_irq_at(7)),
            None
        );
    }

    #[test]
    fn an_interrupt_of_another_cpu_or_a_task_is_not() {
        let mut t = grow_with_irq_at(4);
        t.events.iter_mut().for_each(|e| {
            if e.ctx == 1 {
                e.kind = EventKind::ObjectsMoved {
                    from: Place::Caller,
                    to: Place::CpuArray(1),
                    count: 1,
                };
                e.cpu = 1;
            }
        });
        assert_eq!(check(ScenarioId::IrqInGrowWindow, &t), None, "cpu1's array");
        let mut t = grow_with_irq_at(4);
        t.contexts[1] = "task@cpu1".into();
        assert_eq!(
            check(ScenarioId::IrqInGrowWindow, &t),
            None,
            "not an interrupt"
        );
    }

    #[test]
    fn an_empty_trace_is_no_witness_of_any_scenario() {
        let t = RunTrace::default();
        for s in crate::scenarios::SCENARIOS {
            assert_eq!(check(s.id, &t), None, "{}", s.name);
        }
    }

    #[test]
    fn a_search_that_finds_nothing_is_an_error() {
        // Era B opens no window in migrate-across-nodes (gfp_exact_node): no witness.
        let e = search(
            ScenarioId::MigrateAcrossNodes,
            &params(ScenarioId::MigrateAcrossNodes, Era::B),
            20,
        )
        .unwrap_err();
        assert!(
            matches!(e, WitnessError::NotFound { executions: 20, .. }),
            "{e}"
        );
    }
}
