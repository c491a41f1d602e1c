//! The sequential reference model: a tiny specification of what SLAB promises its callers,
//! run side by side with the model on one [`Machine<StdPlatform>`].
//!
//! The reference knows nothing of slabs lists, arrays or node structures. It keeps:
//! * per cache, the set of **live** (caller-owned) objects, and which caches exist;
//! * per CPU and cache, a short stack of objects **known to sit on top of that CPU's
//!   array** — because objects can be stranded in another CPU's array, "an object is
//!   free somewhere" does not mean "this CPU can have it" (a free object is in some array or slab, not necessarily this CPU's). The stack
//!   is what lets the reference predict exact results: the per-CPU fast path is LIFO
//!   (`ac->entry[--ac->avail]` pops what `ac->entry[ac->avail++]` pushed, mm/slab.c
//!   §A.6/§A.7), and a free pushes the object on top even when `cache_flusharray` first
//!   moves the `batchcount` *bottom* entries away, so the top `limit - batchcount + 1`
//!   known entries always survive.
//!
//! Geometry facts it reads from the cache descriptor (`num`, `align`, `object_size`,
//! slab order, the off-slab descriptor cache, the initial tunables) are checked elsewhere
//! (golden slabinfo rows); the reference only uses them to phrase its predictions.
//!
//! Predictions checked at every step (any mismatch is a [`Divergence`]):
//! * without fault injection every allocation succeeds, with a distinct, aligned address
//!   in a `PG_slab` page of the requested cache that is not live; with fault injection it
//!   may return NULL only when no object is known to sit on top of the CPU's array;
//! * an allocation on a CPU whose array top is known returns exactly that object;
//! * freeing a live object succeeds; double free, interior pointer, wrong cache, foreign
//!   pointer, bad gfp, sleeping gfp in an interrupt, bad tunables and use after destroy
//!   fail with the right [`SlabError`] and change nothing;
//! * `kmalloc(0)` is `ZERO_SIZE_PTR`, too large is NULL, otherwise the object comes from
//!   the smallest size class that fits (its DMA twin for `GFP_DMA`) and `ksize >= size`;
//! * `kmem_cache_shrink` returns whether live objects exist, and afterwards exactly the
//!   slabs holding live objects remain and every active object is live;
//! * `kmem_cache_destroy` fails with `CacheHasObjects` iff live objects exist;
//! * `cache_reap` is never skipped in a sequential run;
//! * the model's live count of every cache equals the reference's, and the full audit
//!   passes after every operation.

pub use arbitrary::{Arbitrary, Unstructured};
use serde::{Deserialize, Serialize};
use slab_model::kmalloc::ZERO_SIZE_PTR;
use slab_model::sync::StdPlatform;
use slab_model::{
    AuditReport, CreateArgs, FaultInjection, Gfp, KmallocSetup, KmemCache, Machine, MachineConfig,
    SlabError, SlabFlags,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

mod stats;

/// Context names per CPU, without formatting one per operation (names only label traces).
fn cpu_name(names: &'static [&'static str; 8], generic: &'static str, cpu: usize) -> &'static str {
    names.get(cpu).copied().unwrap_or(generic)
}
fn task_name(cpu: usize) -> &'static str {
    const N: [&str; 8] = [
        "task0", "task1", "task2", "task3", "task4", "task5", "task6", "task7",
    ];
    cpu_name(&N, "task", cpu)
}
fn irq_name(cpu: usize) -> &'static str {
    const N: [&str; 8] = [
        "irq0", "irq1", "irq2", "irq3", "irq4", "irq5", "irq6", "irq7",
    ];
    cpu_name(&N, "irq", cpu)
}
fn reap_name(cpu: usize) -> &'static str {
    const N: [&str; 8] = [
        "reap0", "reap1", "reap2", "reap3", "reap4", "reap5", "reap6", "reap7",
    ];
    cpu_name(&N, "reap", cpu)
}

/// The cache type the reference drives.
pub type Cache = Arc<KmemCache<StdPlatform>>;

/// Kmalloc request sizes at or above this raw value ask for more than the largest class.
pub const HUGE_KMALLOC: u16 = 0xf000;
/// Largest ordinary kmalloc request the normaliser produces (keeps memory use bounded).
pub const MAX_SMALL_KMALLOC: usize = 8192;
/// At most this many caches are created by [`Op::Create`] in one run.
pub const MAX_CREATED: usize = 8;

/// A kind of caller misuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub enum MisuseKind {
    /// `kmem_cache_free` a live object twice: the second is `DoubleFree`.
    DoubleFree,
    /// `kfree` a live kmalloc object twice: the second is `DoubleFree`.
    KfreeTwice,
    /// `kmem_cache_free` a pointer inside a live object: `NotObjectStart`.
    InteriorPointer,
    /// `kmem_cache_free` a live object into another cache: `WrongCache`.
    WrongCache,
    /// `kfree` / `kmem_cache_free` of a pointer that is no slab memory: `NotSlabObject`.
    ForeignPointer,
    /// Allocate with `__GFP_HIGHMEM` / `__GFP_DMA32`: `GfpBugMask`.
    BadGfp,
    /// `GFP_KERNEL` from an interrupt handler: `SleepInAtomic`.
    SleepInIrq,
    /// A tuning write with `limit < 1`, `batchcount > limit` or `shared < 0`:
    /// `InvalidTunables`.
    BadTune,
    /// Allocate / shrink / tune / destroy a destroyed cache: `CacheDestroyed`.
    UseAfterDestroy,
}

/// How a misbehaving caller writes into object memory ([`Op::Corrupt`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub enum CorruptKind {
    /// `1 + at % 16` bytes just past the object (clipped to its slot): red zone 2 once
    /// past the alignment pad.
    PastEnd,
    /// `1 + at % 8` bytes just before the object: red zone 1.
    BeforeStart,
    /// One byte at `at % obj_size` of the object after it was freed.
    AfterFree,
    /// The whole object while it is allocated: legitimate, never a finding.
    Inside,
}

/// One operation. Indices are normalised (modulo the number of candidates), so every
/// value is a valid operation; when no candidate exists the operation is skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub enum Op {
    /// `kmem_cache_alloc(cache, GFP_KERNEL)` from a task on `cpu`.
    Alloc { cpu: u8, cache: u8 },
    /// `kmem_cache_free` of live object `which` of `cache`, from a task on `cpu`.
    Free { cpu: u8, cache: u8, which: u16 },
    /// `kmalloc(size, GFP_KERNEL [| GFP_DMA])` from a task on `cpu`. Raw sizes at or
    /// above [`HUGE_KMALLOC`] exceed the largest class; others are taken modulo
    /// `MAX_SMALL_KMALLOC + 1`.
    Kmalloc { cpu: u8, size: u16, dma: bool },
    /// `kfree` of live kmalloc object `which` from a task on `cpu`.
    Kfree { cpu: u8, which: u16 },
    /// `kmem_cache_shrink(cache)` (from CPU 0).
    Shrink { cache: u8 },
    /// Advance `jiffies` by `ticks` and run `cache_reap` on `cpu`.
    Reap { cpu: u8, ticks: u16 },
    /// `do_tune_cpucache` with `limit = 1 + limit % 32`, `batch = 1 + batch % limit`,
    /// `shared = shared % 4` (always valid).
    Tune {
        cache: u8,
        limit: u8,
        batch: u8,
        shared: u8,
    },
    /// `kmem_cache_destroy(cache)`.
    Destroy { cache: u8 },
    /// `kmem_cache_create` of a new cache: size `8 + size % 4089`, alignment 0 or
    /// `1 << (align % 7)`.
    Create {
        size: u16,
        align: u8,
        hwcache: bool,
        ctor: bool,
    },
    /// A misuse that must fail cleanly.
    Misuse {
        kind: MisuseKind,
        cpu: u8,
        cache: u8,
        which: u16,
    },
    /// `kmem_cache_alloc(cache, GFP_ATOMIC)` from an interrupt handler on `cpu`.
    IrqAlloc { cpu: u8, cache: u8 },
    /// `kmem_cache_free` from an interrupt handler on `cpu`.
    IrqFree { cpu: u8, cache: u8, which: u16 },
    /// `kmalloc(size, GFP_ATOMIC)` from an interrupt handler on `cpu`.
    IrqKmalloc { cpu: u8, size: u16 },
    /// `kfree` from an interrupt handler on `cpu`.
    IrqKfree { cpu: u8, which: u16 },
    /// `cpu_down` of CPU `1 + cpu % (cpus − 1)` (from CPU 0, which stays online as on x86
    /// without `BOOTPARAM_HOTPLUG_CPU0`).
    CpuDown { cpu: u8 },
    /// `cpu_up` of CPU `1 + cpu % (cpus − 1)`.
    CpuUp { cpu: u8 },
    /// `kmem_cache_alloc_node(cache, GFP_KERNEL, node % nodes)` from a task on `cpu`.
    AllocNode { cpu: u8, cache: u8, node: u8 },
    /// A misbehaving caller on `cpu` (DEBUG profiles; elsewhere the write is left out):
    /// allocates an object of `cache`, writes into memory it should not (see
    /// [`CorruptKind`]) and frees it — for `AfterFree`, frees, writes and allocates again.
    /// The reference predicts the one report the kernel's debug checks print, at that
    /// operation: `cache_free_debugcheck`'s red-zone check or `cache_alloc_debugcheck_after`'s
    /// poison check (eras A and B alike).
    Corrupt {
        kind: CorruptKind,
        cpu: u8,
        cache: u8,
        at: u8,
    },
}

impl Op {
    /// The CPU an operation runs on (raw, before the harness normalises it), for the ops
    /// that run on a CPU of the caller's choice.
    fn runs_on(&self) -> Option<u8> {
        match *self {
            Op::Alloc { cpu, .. }
            | Op::Free { cpu, .. }
            | Op::Kmalloc { cpu, .. }
            | Op::Kfree { cpu, .. }
            | Op::Reap { cpu, .. }
            | Op::Misuse { cpu, .. }
            | Op::IrqAlloc { cpu, .. }
            | Op::IrqFree { cpu, .. }
            | Op::IrqKmalloc { cpu, .. }
            | Op::IrqKfree { cpu, .. }
            | Op::AllocNode { cpu, .. }
            | Op::Corrupt { cpu, .. } => Some(cpu),
            _ => None,
        }
    }
}

/// Where the reference and the model disagreed (or the model panicked, or the audit
/// failed).
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// Index of the operation in the run (`None`: while creating the initial caches).
    pub index: Option<usize>,
    /// The operation.
    pub op: Option<Op>,
    /// What differed.
    pub what: String,
    /// The audit after the operation.
    pub audit: AuditReport,
    /// `/proc/slabinfo` after the operation (empty after a panic).
    pub slabinfo: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.index, &self.op) {
            (Some(i), Some(op)) => writeln!(f, "divergence at op #{i} {op:?}:")?,
            (Some(i), None) => writeln!(f, "divergence at the audit after {i} ops:")?,
            _ => writeln!(f, "divergence during setup:")?,
        }
        writeln!(f, "  {}", self.what)?;
        writeln!(f, "  {}", self.audit.to_string().replace('\n', "\n  "))?;
        if !self.slabinfo.is_empty() {
            write!(f, "{}", self.slabinfo)?;
        }
        Ok(())
    }
}

impl std::error::Error for Divergence {}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Operations executed (not skipped).
    pub executed: usize,
    /// Operations skipped for want of a candidate (no live object, no such cache) or
    /// because the memory budget was reached.
    pub skipped: usize,
    /// Successful allocations (cache and kmalloc, task and irq).
    pub allocs: usize,
    /// Successful frees.
    pub frees: usize,
    /// Allocations that returned NULL under fault injection.
    pub alloc_failures: usize,
    /// Allocations whose result the reference predicted exactly (known array top).
    pub exact_predictions: usize,
    /// Misuses rejected with the expected error.
    pub misuses: usize,
    /// Shrinks, reaps, tunes, creates and destroys.
    pub maintenance: usize,
    /// Caller-owned objects alive at the end.
    pub live_at_end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// From user cache number `i`.
    User(usize),
    /// From `kmalloc(size)`.
    Kmalloc { size: usize },
}

#[derive(Clone, Copy, Debug)]
struct LiveObj {
    cache: u32,
    origin: Origin,
}

/// Per-cache facts the reference phrases its predictions with.
#[derive(Clone, Debug)]
struct CacheFacts {
    name: String,
    align: usize,
    slab_bytes: u64,
    /// Cache id of the general cache holding this cache's off-slab descriptors.
    desc: Option<u32>,
    limit: usize,
    batch: usize,
}

/// The reference state (the specification's variables).
#[derive(Debug, Default)]
pub struct Reference {
    live: BTreeMap<u64, LiveObj>,
    /// Live objects of each user cache, oldest first.
    user_live: Vec<Vec<u64>>,
    /// Live kmalloc objects, oldest first.
    kmalloc_live: Vec<u64>,
    /// `(cpu, cache id)` → objects known to be on top of that CPU's array (top last).
    known: BTreeMap<(usize, u32), Vec<u64>>,
    facts: BTreeMap<u32, CacheFacts>,
    /// Bytes of slab memory live objects may pin (each may pin its whole slab).
    pinned: u64,
}

impl Reference {
    /// Live caller-owned objects of the cache with this id.
    pub fn live_in(&self, cache: u32) -> usize {
        self.live.values().filter(|o| o.cache == cache).count()
    }
    /// All live caller-owned objects.
    pub fn live_total(&self) -> usize {
        self.live.len()
    }
}

/// The model and the reference, stepped together.
pub struct Harness {
    m: Machine<StdPlatform>,
    r: Reference,
    /// User caches in creation order, with a destroyed flag.
    caches: Vec<(Cache, bool)>,
    created: usize,
    lifo: bool,
    faults: bool,
    budget: u64,
    summary: RunSummary,
    index: usize,
    poisoned: bool,
    /// Run the full audit after every step (the default); when off, only
    /// [`Harness::audit_now`] audits (the fuzz target's fast mode).
    audit_each_step: bool,
    /// `(cpu, cache id)` → what the reference knows of that array's `touched` flag.
    touched: BTreeMap<(usize, u32), stats::Touched>,
    /// Cache id → the highest `active_objs` seen (`<maxobjs>`'s prediction).
    high: BTreeMap<u32, usize>,
}

/// Runs `ops` on a fresh `Machine<StdPlatform>` built from `cfg` with the user caches
/// `caches`, against the reference; audits after every operation. The first
/// disagreement is returned, never panicked.
pub fn run_ops(
    cfg: MachineConfig,
    caches: &[CreateArgs],
    ops: &[Op],
) -> Result<RunSummary, Divergence> {
    let mut h = Harness::new(cfg, caches)?;
    for op in ops {
        h.step(op)?;
    }
    Ok(h.finish())
}

fn panic_message(e: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

type Check = Result<(), String>;

fn expect_err<T: fmt::Debug>(what: &str, got: Result<T, SlabError>, want: &SlabError) -> Check {
    match got {
        Err(e) if &e == want => Ok(()),
        other => Err(format!("{what}: expected Err({want:?}), got {other:?}")),
    }
}

impl Harness {
    /// Boots the machine (`audit_every_op` is switched off: the harness audits itself and
    /// reports instead of panicking) and creates the user caches.
    pub fn new(mut cfg: MachineConfig, caches: &[CreateArgs]) -> Result<Self, Divergence> {
        cfg.audit_every_op = false;
        let faults = cfg.faults != FaultInjection::default();
        let lifo = cfg.profile.nodes == 1;
        let budget = cfg.profile.ram_bytes / 4;
        let setup_err = |what: String| Divergence {
            index: None,
            op: None,
            what,
            audit: AuditReport::default(),
            slabinfo: String::new(),
        };
        let m = Machine::<StdPlatform>::new(cfg)
            .map_err(|e| setup_err(format!("Machine::new: {e}")))?;
        let mut h = Harness {
            m,
            r: Reference::default(),
            caches: Vec::new(),
            created: 0,
            lifo,
            faults,
            budget,
            summary: RunSummary::default(),
            index: 0,
            poisoned: false,
            audit_each_step: true,
            touched: BTreeMap::new(),
            high: BTreeMap::new(),
        };
        for args in caches {
            let c =
                h.m.kmem_cache_create(args.clone())
                    .map_err(|e| setup_err(format!("kmem_cache_create({args:?}): {e}")))?;
            h.add_cache(c);
        }
        Ok(h)
    }

    /// The machine.
    pub fn machine(&self) -> &Machine<StdPlatform> {
        &self.m
    }
    /// The reference state.
    pub fn reference(&self) -> &Reference {
        &self.r
    }
    /// The user caches, with whether each has been destroyed.
    pub fn caches(&self) -> &[(Cache, bool)] {
        &self.caches
    }

    /// Frees every live object (kmalloc ones, then each cache's) and destroys every user
    /// cache, each as an ordinary checked step: the end of a run must leave nothing behind.
    pub fn drain_all(&mut self) -> Result<(), Divergence> {
        while !self.r.kmalloc_live.is_empty() {
            self.step(&Op::Kfree { cpu: 0, which: 0 })?;
        }
        // CPU 1 (a remote free on two CPUs) if it is online; CPU 0 never goes down.
        let cpu = u8::from(self.m.cpus().len() > 1 && self.m.cpu_online(1));
        while self.r.user_live.iter().any(|l| !l.is_empty()) {
            self.step(&Op::Free {
                cpu,
                cache: 0,
                which: 0,
            })?;
        }
        while !self.live_caches().is_empty() {
            self.step(&Op::Destroy { cache: 0 })?;
        }
        Ok(())
    }

    /// The summary so far, with the live count filled in.
    pub fn finish(mut self) -> RunSummary {
        self.summary.live_at_end = self.r.live_total();
        self.summary
    }

    fn add_cache(&mut self, c: Cache) {
        self.facts_of(&c);
        self.caches.push((c, false));
        self.r.user_live.push(Vec::new());
    }

    fn facts_of(&mut self, c: &KmemCache<StdPlatform>) -> &CacheFacts {
        let page = self.m.profile().page_size as u64;
        self.r.facts.entry(c.id).or_insert_with(|| {
            let t = c.tunables();
            CacheFacts {
                name: c.name.clone(),
                align: c.geo.align,
                slab_bytes: page << c.geo.gfporder,
                desc: c.desc_cache.as_ref().map(|d| d.id),
                limit: t.limit,
                batch: t.batchcount,
            }
        })
    }

    /// Executes one operation on both sides and compares; audits afterwards.
    pub fn step(&mut self, op: &Op) -> Result<(), Divergence> {
        let index = self.index;
        self.index += 1;
        if self.poisoned {
            return Err(Divergence {
                index: Some(index),
                op: Some(op.clone()),
                what: "the harness is poisoned by an earlier panic".into(),
                audit: AuditReport::default(),
                slabinfo: String::new(),
            });
        }
        let res = catch_unwind(AssertUnwindSafe(|| self.apply(op)));
        let fail = |what: String, audit: AuditReport, slabinfo: String| Divergence {
            index: Some(index),
            op: Some(op.clone()),
            what,
            audit,
            slabinfo,
        };
        let checked = match res {
            Err(e) => {
                self.poisoned = true;
                return Err(fail(
                    format!("model panicked: {}", panic_message(&*e)),
                    AuditReport::default(),
                    String::new(),
                ));
            }
            Ok(r) => r,
        };
        if !self.audit_each_step {
            let checked = checked
                .and_then(|()| self.check_live_counts())
                .and_then(|()| self.check_active_stats());
            return match checked {
                Err(what) => Err(fail(what, self.m.audit(), self.m.slabinfo())),
                Ok(()) => Ok(()),
            };
        }
        let audit = match catch_unwind(AssertUnwindSafe(|| self.m.audit())) {
            Ok(a) => a,
            Err(e) => {
                self.poisoned = true;
                return Err(fail(
                    format!("audit panicked: {}", panic_message(&*e)),
                    AuditReport::default(),
                    String::new(),
                ));
            }
        };
        let checked = checked
            .and_then(|()| self.check_live_counts())
            .and_then(|()| self.check_active_stats());
        match checked {
            Err(what) => Err(fail(what, audit, self.m.slabinfo())),
            Ok(()) if !audit.is_ok() => Err(fail("audit failed".into(), audit, self.m.slabinfo())),
            Ok(()) => Ok(()),
        }
    }

    /// Whether [`Harness::step`] runs the full audit after every operation (default on).
    /// Off, every prediction is still checked at every step, and the audit runs only in
    /// [`Harness::audit_now`]: much faster, at the cost of reporting a broken invariant
    /// later than the operation that broke it.
    pub fn set_audit_each_step(&mut self, on: bool) {
        self.audit_each_step = on;
    }

    /// Runs the full audit now (a quiescent point).
    pub fn audit_now(&mut self) -> Result<(), Divergence> {
        let fail = |what: String, audit: AuditReport, slabinfo: String| Divergence {
            index: Some(self.index),
            op: None,
            what,
            audit,
            slabinfo,
        };
        match catch_unwind(AssertUnwindSafe(|| self.m.audit())) {
            Ok(a) if a.is_ok() => Ok(()),
            Ok(a) => Err(fail("audit failed".into(), a, self.m.slabinfo())),
            Err(e) => {
                self.poisoned = true;
                Err(fail(
                    format!("audit panicked: {}", panic_message(&*e)),
                    AuditReport::default(),
                    String::new(),
                ))
            }
        }
    }

    fn check_live_counts(&self) -> Check {
        for (i, (c, destroyed)) in self.caches.iter().enumerate() {
            if *destroyed {
                continue;
            }
            let model = self.m.live_objects(c);
            let reference = self.r.user_live[i].len();
            if model != reference {
                return Err(format!(
                    "cache {}: model has {model} live objects, reference {reference}",
                    c.name
                ));
            }
        }
        Ok(())
    }

    fn cpu(&self, cpu: u8) -> usize {
        cpu as usize % self.m.cpus().len()
    }

    fn live_caches(&self) -> Vec<usize> {
        (0..self.caches.len())
            .filter(|&i| !self.caches[i].1)
            .collect()
    }

    fn pick_cache(&self, cache: u8) -> Option<usize> {
        let live = self.live_caches();
        (!live.is_empty()).then(|| live[cache as usize % live.len()])
    }

    fn pick_user_obj(&self, cache: u8, which: u16) -> Option<(usize, usize)> {
        let live = self.live_caches();
        let with_objs: Vec<usize> = live
            .into_iter()
            .filter(|&i| !self.r.user_live[i].is_empty())
            .collect();
        if with_objs.is_empty() {
            return None;
        }
        let ci = with_objs[cache as usize % with_objs.len()];
        Some((ci, which as usize % self.r.user_live[ci].len()))
    }

    fn skip(&mut self) -> Check {
        self.summary.skipped += 1;
        Ok(())
    }

    // ---- bookkeeping of known array tops --------------------------------------------

    /// Something touched cache `id` in a way that may allocate or free its off-slab
    /// descriptors: the descriptor cache's arrays are no longer predictable anywhere.
    fn forget_desc(&mut self, id: u32) {
        if let Some(d) = self.r.facts.get(&id).and_then(|f| f.desc) {
            self.r.known.retain(|&(_, c), _| c != d);
        }
    }
    fn forget_cache(&mut self, id: u32) {
        self.r.known.retain(|&(_, c), _| c != id);
        self.forget_desc(id);
    }
    fn forget_cpu(&mut self, cpu: usize) {
        self.r.known.retain(|&(c, _), _| c != cpu);
    }

    fn pushed(&mut self, cpu: usize, cache: u32, obj: u64) {
        if !self.lifo {
            return;
        }
        let f = &self.r.facts[&cache];
        let cap = f.limit - f.batch + 1;
        let st = self.r.known.entry((cpu, cache)).or_default();
        st.push(obj);
        if st.len() > cap {
            st.drain(..st.len() - cap);
        }
    }

    // ---- allocation and free -----------------------------------------------------------

    /// Checks an allocation's result against the reference and records it.
    fn allocated(
        &mut self,
        cpu: usize,
        cache: &KmemCache<StdPlatform>,
        origin: Origin,
        got: Option<u64>,
    ) -> Check {
        let id = cache.id;
        let expected_top = self.r.known.get_mut(&(cpu, id)).and_then(|s| s.pop());
        self.forget_desc(id);
        let Some(obj) = got else {
            if !self.faults {
                return Err(format!(
                    "{}: allocation returned NULL without fault injection",
                    cache.name
                ));
            }
            if let Some(t) = expected_top {
                return Err(format!(
                    "{}: NULL although {t:#x} is on top of cpu{cpu}'s array",
                    cache.name
                ));
            }
            self.summary.alloc_failures += 1;
            return Ok(());
        };
        if let Some(t) = expected_top {
            if t != obj {
                return Err(format!("{}: cpu{cpu}'s array top is {t:#x} (LIFO) but the allocation returned {obj:#x}", cache.name));
            }
            self.summary.exact_predictions += 1;
        }
        if let Some(prev) = self.r.live.get(&obj) {
            return Err(format!(
                "{}: {obj:#x} handed out twice (live since {prev:?})",
                cache.name
            ));
        }
        match self.m.virt_to_cache(obj) {
            Some(c) if c.id == id => {}
            Some(c) => {
                return Err(format!(
                    "{}: {obj:#x} lies in a slab of cache {}",
                    cache.name, c.name
                ))
            }
            None => return Err(format!("{}: {obj:#x} is not in a PG_slab page", cache.name)),
        }
        let f = &self.r.facts[&id];
        if f.align > 0 && obj % f.align as u64 != 0 {
            return Err(format!(
                "{}: {obj:#x} is not {}-byte aligned",
                cache.name, f.align
            ));
        }
        if let Origin::Kmalloc { size } = origin {
            match self.m.ksize(obj) {
                Some(k) if k >= size => {}
                k => return Err(format!("ksize({obj:#x}) = {k:?} < requested {size}")),
            }
        }
        self.r.pinned += f.slab_bytes;
        self.r.live.insert(obj, LiveObj { cache: id, origin });
        match origin {
            Origin::User(i) => self.r.user_live[i].push(obj),
            Origin::Kmalloc { .. } => self.r.kmalloc_live.push(obj),
        }
        self.summary.allocs += 1;
        Ok(())
    }

    /// Records a successful free of a live object on `cpu`.
    fn freed(&mut self, cpu: usize, obj: u64) {
        let o = self.r.live.remove(&obj).expect("freeing a live object");
        match o.origin {
            Origin::User(i) => self.r.user_live[i].retain(|&x| x != obj),
            Origin::Kmalloc { .. } => self.r.kmalloc_live.retain(|&x| x != obj),
        }
        self.r.pinned -= self.r.facts[&o.cache].slab_bytes;
        self.forget_desc(o.cache);
        self.pushed(cpu, o.cache, obj);
        self.summary.frees += 1;
    }

    fn over_budget(&self, slab_bytes: u64) -> bool {
        self.r.pinned + slab_bytes > self.budget
    }

    fn do_alloc(&mut self, cpu: u8, cache: u8, irq: bool) -> Check {
        let Some(ci) = self.pick_cache(cache) else {
            return self.skip();
        };
        let cpu = self.cpu(cpu);
        let c = self.caches[ci].0.clone();
        if self.over_budget(self.r.facts[&c.id].slab_bytes) {
            return self.skip();
        }
        let pre = self.stats_pre(cpu, &c);
        let got = if irq {
            self.m
                .interrupt(cpu, irq_name(cpu))
                .kmem_cache_alloc(&c, Gfp::ATOMIC)
        } else {
            self.m
                .task(cpu, task_name(cpu))
                .kmem_cache_alloc(&c, Gfp::KERNEL)
        };
        let got = got.map_err(|e| format!("kmem_cache_alloc({}): unexpected {e:?}", c.name))?;
        self.check_alloc_stats(pre, cpu, &c, true)?;
        self.allocated(cpu, &c, Origin::User(ci), got)
    }

    fn do_free(&mut self, cpu: u8, cache: u8, which: u16, irq: bool) -> Check {
        let Some((ci, k)) = self.pick_user_obj(cache, which) else {
            return self.skip();
        };
        let cpu = self.cpu(cpu);
        let c = self.caches[ci].0.clone();
        let obj = self.r.user_live[ci][k];
        let pre = self.stats_pre(cpu, &c);
        let res = if irq {
            self.m
                .interrupt(cpu, irq_name(cpu))
                .kmem_cache_free(&c, obj)
        } else {
            self.m.task(cpu, task_name(cpu)).kmem_cache_free(&c, obj)
        };
        res.map_err(|e| {
            format!(
                "kmem_cache_free({}, {obj:#x}) of a live object: {e:?}",
                c.name
            )
        })?;
        self.check_free_stats(pre, cpu, &c, obj)?;
        self.freed(cpu, obj);
        Ok(())
    }

    /// The kmalloc cache the reference expects for `size`: the smallest class that fits.
    fn kmalloc_cache(&self, size: usize, dma: bool) -> Option<Cache> {
        let slot = self
            .m
            .kmalloc_slots()
            .iter()
            .flatten()
            .filter(|s| s.size >= size)
            .min_by_key(|s| s.size)?;
        if dma {
            slot.dma.clone()
        } else {
            Some(slot.cache.clone())
        }
    }

    fn kmalloc_size(&self, raw: u16) -> usize {
        if raw >= HUGE_KMALLOC {
            let max = self.m.largest_kmalloc_class();
            max + 1 + (raw - HUGE_KMALLOC) as usize
        } else {
            raw as usize % (MAX_SMALL_KMALLOC + 1)
        }
    }

    fn do_kmalloc(&mut self, cpu: u8, raw: u16, dma: bool, irq: bool) -> Check {
        let cpu = self.cpu(cpu);
        let size = self.kmalloc_size(raw);
        let want = self.kmalloc_cache(size, dma);
        if let Some(c) = &want {
            let f = self.facts_of(c).slab_bytes;
            if self.over_budget(f) {
                return self.skip();
            }
        }
        let mut flags = if irq { Gfp::ATOMIC } else { Gfp::KERNEL };
        if dma {
            flags = flags | Gfp::DMA;
        }
        // kmalloc(0) returns ZERO_SIZE_PTR before any cache is involved.
        let want_alloc = want.clone().filter(|_| size > 0);
        let pre = want_alloc.as_ref().and_then(|c| self.stats_pre(cpu, c));
        let got = if irq {
            self.m.interrupt(cpu, irq_name(cpu)).kmalloc(size, flags)
        } else {
            self.m.task(cpu, task_name(cpu)).kmalloc(size, flags)
        };
        let got = got.map_err(|e| format!("kmalloc({size}, {flags}): unexpected {e:?}"))?;
        if let Some(c) = &want_alloc {
            self.check_alloc_stats(pre, cpu, c, true)?;
        }
        if size == 0 {
            return match got {
                Some(ZERO_SIZE_PTR) => Ok(()),
                other => Err(format!("kmalloc(0) = {other:?}, expected ZERO_SIZE_PTR")),
            };
        }
        let Some(c) = want else {
            return match got {
                None => Ok(()),
                Some(o) => Err(format!(
                    "kmalloc({size}, {flags}) = {o:#x}, but no size class fits (expected NULL)"
                )),
            };
        };
        self.allocated(cpu, &c, Origin::Kmalloc { size }, got)
    }

    fn do_kfree(&mut self, cpu: u8, which: u16, irq: bool) -> Check {
        if self.r.kmalloc_live.is_empty() {
            return self.skip();
        }
        let cpu = self.cpu(cpu);
        let obj = self.r.kmalloc_live[which as usize % self.r.kmalloc_live.len()];
        let c = self.m.virt_to_cache(obj);
        let pre = c.as_ref().and_then(|c| self.stats_pre(cpu, c));
        let res = if irq {
            self.m.interrupt(cpu, irq_name(cpu)).kfree(obj)
        } else {
            self.m.task(cpu, task_name(cpu)).kfree(obj)
        };
        res.map_err(|e| format!("kfree({obj:#x}) of a live object: {e:?}"))?;
        if let Some(c) = &c {
            self.check_free_stats(pre, cpu, c, obj)?;
        }
        self.freed(cpu, obj);
        Ok(())
    }

    // ---- maintenance ------------------------------------------------------------------

    fn do_shrink(&mut self, cache: u8) -> Check {
        let Some(ci) = self.pick_cache(cache) else {
            return self.skip();
        };
        let c = self.caches[ci].0.clone();
        let got = self.m.task(0, "task0").kmem_cache_shrink(&c);
        self.forget_cache(c.id);
        self.summary.maintenance += 1;
        let live = &self.r.user_live[ci];
        match got {
            Ok(r) if r != live.is_empty() => {}
            other => {
                return Err(format!(
                    "kmem_cache_shrink({}) = {other:?} with {} live objects",
                    c.name,
                    live.len()
                ))
            }
        }
        // After a full shrink only the slabs holding live objects remain.
        let slab_bytes = self.r.facts[&c.id].slab_bytes;
        let slabs: BTreeSet<u64> = live.iter().map(|&o| o & !(slab_bytes - 1)).collect();
        let row = self.m.slabinfo_row(&c);
        if row.num_slabs != slabs.len()
            || row.active_slabs != slabs.len()
            || row.active_objs != live.len()
        {
            return Err(format!(
                "after kmem_cache_shrink({}): slabinfo active_objs {} active_slabs {} num_slabs {}, but {} live objects in {} slabs",
                c.name,
                row.active_objs,
                row.active_slabs,
                row.num_slabs,
                live.len(),
                slabs.len()
            ));
        }
        Ok(())
    }

    fn do_reap(&mut self, cpu: u8, ticks: u16) -> Check {
        let cpu = self.cpu(cpu);
        self.m.advance_jiffies(ticks as u64 % 1024);
        let pre = self.reap_pre(cpu);
        let out = self.m.reaper(cpu, reap_name(cpu)).cache_reap();
        self.forget_cpu(cpu);
        // Slabs of off-slab caches destroyed by the reaper free their descriptors.
        let ids: Vec<u32> = self.r.facts.keys().copied().collect();
        for id in ids {
            self.forget_desc(id);
        }
        self.summary.maintenance += 1;
        if out.skipped {
            return Err("cache_reap skipped (cache_chain_mutex busy) in a sequential run".into());
        }
        self.check_reap(cpu, pre)
    }

    fn do_tune(&mut self, cache: u8, limit: u8, batch: u8, shared: u8) -> Check {
        let Some(ci) = self.pick_cache(cache) else {
            return self.skip();
        };
        let c = self.caches[ci].0.clone();
        let limit = 1 + limit as usize % 32;
        let batch = 1 + batch as usize % limit;
        let shared = shared as usize % 4;
        let got = self.m.tuner(0, "tuner").do_tune_cpucache_checked(
            &c,
            limit as i64,
            batch as i64,
            shared as i64,
        );
        self.forget_cache(c.id);
        self.summary.maintenance += 1;
        got.map_err(|e| {
            format!(
                "do_tune_cpucache({}, {limit}, {batch}, {shared}): {e:?}",
                c.name
            )
        })?;
        self.arrays_replaced(c.id);
        let f = self.r.facts.get_mut(&c.id).expect("facts");
        f.limit = limit;
        f.batch = batch;
        let t = c.tunables();
        if (t.limit, t.batchcount, t.shared) != (limit, batch, shared) {
            return Err(format!(
                "after tuning {} to {limit} {batch} {shared} the tunables are {t:?}",
                c.name
            ));
        }
        Ok(())
    }

    fn do_destroy(&mut self, cache: u8) -> Check {
        let Some(ci) = self.pick_cache(cache) else {
            return self.skip();
        };
        let c = self.caches[ci].0.clone();
        let live = self.r.user_live[ci].len();
        let got = self.m.task(0, "task0").kmem_cache_destroy(&c);
        self.forget_cache(c.id);
        self.summary.maintenance += 1;
        if live > 0 {
            return expect_err(
                "kmem_cache_destroy",
                got,
                &SlabError::CacheHasObjects {
                    cache: c.name.clone(),
                    live,
                },
            );
        }
        got.map_err(|e| format!("kmem_cache_destroy({}) without live objects: {e:?}", c.name))?;
        self.caches[ci].1 = true;
        if self.m.find_cache(&c.name).is_some() {
            return Err(format!(
                "{} is still on the cache chain after kmem_cache_destroy",
                c.name
            ));
        }
        Ok(())
    }

    fn do_create(&mut self, size: u16, align: u8, hwcache: bool, ctor: bool) -> Check {
        if self.created >= MAX_CREATED {
            return self.skip();
        }
        self.created += 1;
        let name = format!("ref-{}", self.created);
        let size = self.m.profile().word_size + size as usize % 4089;
        let align = if align == 0 { 0 } else { 1 << (align % 7) };
        let flags = if hwcache {
            SlabFlags::HWCACHE_ALIGN
        } else {
            SlabFlags::default()
        };
        let args = CreateArgs {
            name: name.clone(),
            size,
            align,
            flags,
            ctor,
        };
        self.summary.maintenance += 1;
        match self.m.kmem_cache_create(args) {
            Ok(c) => {
                if c.name != name || c.geo.object_size < size {
                    return Err(format!(
                        "kmem_cache_create({name}, {size}) built {} with object size {}",
                        c.name, c.geo.object_size
                    ));
                }
                self.add_cache(c);
                Ok(())
            }
            // Off-slab caches need a general cache for their descriptor.
            Err(SlabError::NoDescriptorCache { .. })
                if self.m.config().kmalloc != KmallocSetup::All =>
            {
                Ok(())
            }
            Err(e) => Err(format!(
                "kmem_cache_create({name}, {size}, align {align}): {e:?}"
            )),
        }
    }

    // ---- misuse -----------------------------------------------------------------------

    /// A second free: the typed `DoubleFree`, except on a red-zoned DEBUG cache, where
    /// the kernel's `cache_free_debugcheck` prints "double free detected" and carries on
    /// (eras A, B): then `Ok` and exactly that one report.
    fn expect_double_free(
        &mut self,
        what: &str,
        got: Result<(), SlabError>,
        red_zone: bool,
        want: &SlabError,
    ) -> Check {
        if !(self.m.profile().debug && red_zone) {
            return expect_err(what, got, want);
        }
        let reports = self.m.take_reports();
        match (&got, reports.as_slice()) {
            (Ok(()), [r]) if r.message() == "double free detected" => Ok(()),
            _ => Err(format!(
                "{what} on a red-zoned DEBUG cache: expected Ok and one \"double free detected\" report, got {got:?} and {reports:?}"
            )),
        }
    }

    fn do_misuse(&mut self, kind: MisuseKind, cpu: u8, cache: u8, which: u16) -> Check {
        let cpu_n = self.cpu(cpu);
        let tname = format!("task{cpu_n}");
        match kind {
            MisuseKind::DoubleFree => {
                let Some((ci, k)) = self.pick_user_obj(cache, which) else {
                    return self.skip();
                };
                let c = self.caches[ci].0.clone();
                let obj = self.r.user_live[ci][k];
                let mut t = self.m.task(cpu_n, &tname);
                t.kmem_cache_free(&c, obj)
                    .map_err(|e| format!("first free of live {obj:#x}: {e:?}"))?;
                let second = t.kmem_cache_free(&c, obj);
                drop(t);
                self.freed(cpu_n, obj);
                let rz = c.geo.flags.contains(SlabFlags::RED_ZONE);
                self.expect_double_free(
                    "second kmem_cache_free",
                    second,
                    rz,
                    &SlabError::DoubleFree {
                        cache: c.name.clone(),
                        addr: obj,
                    },
                )?;
            }
            MisuseKind::KfreeTwice => {
                if self.r.kmalloc_live.is_empty() {
                    return self.skip();
                }
                let obj = self.r.kmalloc_live[which as usize % self.r.kmalloc_live.len()];
                let name = self.r.facts[&self.r.live[&obj].cache].name.clone();
                let rz = self
                    .m
                    .virt_to_cache(obj)
                    .is_some_and(|c| c.geo.flags.contains(SlabFlags::RED_ZONE));
                let mut t = self.m.task(cpu_n, &tname);
                t.kfree(obj)
                    .map_err(|e| format!("first kfree of live {obj:#x}: {e:?}"))?;
                let second = t.kfree(obj);
                drop(t);
                self.freed(cpu_n, obj);
                self.expect_double_free(
                    "second kfree",
                    second,
                    rz,
                    &SlabError::DoubleFree {
                        cache: name,
                        addr: obj,
                    },
                )?;
            }
            MisuseKind::InteriorPointer => {
                let Some((ci, k)) = self.pick_user_obj(cache, which) else {
                    return self.skip();
                };
                let c = self.caches[ci].0.clone();
                let obj = self.r.user_live[ci][k];
                let off = 1 + which as u64 % (c.geo.object_size as u64 - 1);
                let p = obj + off;
                let got = self.m.task(cpu_n, &tname).kmem_cache_free(&c, p);
                expect_err(
                    "kmem_cache_free(interior pointer)",
                    got,
                    &SlabError::NotObjectStart {
                        cache: c.name.clone(),
                        addr: p,
                    },
                )?;
            }
            MisuseKind::WrongCache => {
                let Some((ci, k)) = self.pick_user_obj(cache, which) else {
                    return self.skip();
                };
                let c = self.caches[ci].0.clone();
                let obj = self.r.user_live[ci][k];
                let others: Vec<usize> = self
                    .live_caches()
                    .into_iter()
                    .filter(|&i| i != ci)
                    .collect();
                let other = if others.is_empty() {
                    // Only one user cache: use a general cache as the wrong one.
                    let Some(k) = self.kmalloc_cache(32, false) else {
                        return self.skip();
                    };
                    k
                } else {
                    self.caches[others[which as usize % others.len()]].0.clone()
                };
                let got = self.m.task(cpu_n, &tname).kmem_cache_free(&other, obj);
                let want = SlabError::WrongCache {
                    addr: obj,
                    expected: other.name.clone(),
                    actual: c.name.clone(),
                };
                expect_err("kmem_cache_free(wrong cache)", got, &want)?;
            }
            MisuseKind::ForeignPointer => {
                let p = self.m.profile();
                let addrs = [
                    ZERO_SIZE_PTR + 1,
                    p.page_offset.wrapping_sub(64 * (1 + which as u64 % 16)),
                    p.page_offset + p.ram_bytes * 2 + 8 * which as u64,
                ];
                let addr = addrs[which as usize % addrs.len()];
                let want = SlabError::NotSlabObject { addr };
                let got = match self.pick_cache(cache) {
                    Some(ci) if which % 2 == 1 => {
                        let c = self.caches[ci].0.clone();
                        self.m.task(cpu_n, &tname).kmem_cache_free(&c, addr)
                    }
                    _ => self.m.task(cpu_n, &tname).kfree(addr),
                };
                expect_err("free of a foreign pointer", got, &want)?;
            }
            MisuseKind::BadGfp => {
                let Some(ci) = self.pick_cache(cache) else {
                    return self.skip();
                };
                let c = self.caches[ci].0.clone();
                let bad = if which.is_multiple_of(2) {
                    Gfp::HIGHMEM
                } else {
                    Gfp::DMA32
                };
                let got = self
                    .m
                    .task(cpu_n, &tname)
                    .kmem_cache_alloc(&c, Gfp::KERNEL | bad);
                expect_err(
                    "kmem_cache_alloc(bad gfp)",
                    got,
                    &SlabError::GfpBugMask { bits: bad.0 },
                )?;
            }
            MisuseKind::SleepInIrq => {
                let gfp = Gfp::KERNEL;
                let kmalloc_ok = self.kmalloc_cache(64, false).is_some();
                let got = match self.pick_cache(cache) {
                    Some(ci) if which.is_multiple_of(2) || !kmalloc_ok => {
                        let c = self.caches[ci].0.clone();
                        self.m
                            .interrupt(cpu_n, &format!("irq{cpu_n}"))
                            .kmem_cache_alloc(&c, gfp)
                    }
                    _ if kmalloc_ok => self
                        .m
                        .interrupt(cpu_n, &format!("irq{cpu_n}"))
                        .kmalloc(64, gfp),
                    _ => return self.skip(),
                };
                expect_err(
                    "GFP_KERNEL allocation in an interrupt",
                    got,
                    &SlabError::SleepInAtomic { gfp: gfp.0 },
                )?;
            }
            MisuseKind::BadTune => {
                let Some(ci) = self.pick_cache(cache) else {
                    return self.skip();
                };
                let c = self.caches[ci].0.clone();
                let bad: [(i64, i64, i64); 4] = [(0, 1, 0), (2, 3, 0), (2, 1, -1), (4, 0, 1)];
                let (l, b, s) = bad[which as usize % bad.len()];
                let before = c.tunables();
                let got = self
                    .m
                    .tuner(0, "tuner")
                    .do_tune_cpucache_checked(&c, l, b, s);
                let want = SlabError::InvalidTunables {
                    cache: c.name.clone(),
                    limit: l,
                    batchcount: b,
                    shared: s,
                };
                expect_err("do_tune_cpucache(bad tunables)", got, &want)?;
                if c.tunables() != before {
                    return Err(format!("rejected tuning changed {}'s tunables", c.name));
                }
            }
            MisuseKind::UseAfterDestroy => {
                let dead: Vec<usize> = (0..self.caches.len())
                    .filter(|&i| self.caches[i].1)
                    .collect();
                if dead.is_empty() {
                    return self.skip();
                }
                let c = self.caches[dead[cache as usize % dead.len()]].0.clone();
                let want = SlabError::CacheDestroyed(c.name.clone());
                let mut t = self.m.task(cpu_n, &tname);
                let got = match which % 4 {
                    0 => t.kmem_cache_alloc(&c, Gfp::KERNEL).map(|_| ()),
                    1 => t.kmem_cache_shrink(&c).map(|_| ()),
                    2 => t.kmem_cache_destroy(&c),
                    _ => t.do_tune_cpucache_checked(&c, 4, 2, 1),
                };
                expect_err("use of a destroyed cache", got, &want)?;
            }
        }
        self.summary.misuses += 1;
        Ok(())
    }

    /// The hot-plug target of a raw CPU number: never CPU 0 (`None` on one CPU).
    fn hotplug_target(&self, cpu: u8) -> Option<usize> {
        let n = self.m.cpus().len();
        (n > 1).then(|| 1 + cpu as usize % (n - 1))
    }

    fn do_cpu_down(&mut self, cpu: u8) -> Check {
        let Some(cpu) = self.hotplug_target(cpu) else {
            return self.skip();
        };
        let online = self.m.cpu_online(cpu);
        let got = self.m.task(0, "hotplug").cpu_down(cpu);
        self.summary.maintenance += 1;
        if !online {
            return expect_err("cpu_down", got, &SlabError::CpuAlreadyOffline { cpu });
        }
        got.map_err(|e| format!("cpu_down({cpu}): {e:?}"))?;
        self.cpu_arrays_replaced(cpu);
        // Its array went back to the slabs; slabs destroyed on the way freed their
        // off-slab descriptors from CPU 0.
        self.forget_cpu(cpu);
        let ids: Vec<u32> = self.r.facts.keys().copied().collect();
        for id in ids {
            self.forget_desc(id);
        }
        Ok(())
    }

    fn do_cpu_up(&mut self, cpu: u8) -> Check {
        let Some(cpu) = self.hotplug_target(cpu) else {
            return self.skip();
        };
        let online = self.m.cpu_online(cpu);
        let got = self.m.task(0, "hotplug").cpu_up(cpu);
        self.summary.maintenance += 1;
        if online {
            return expect_err("cpu_up", got, &SlabError::CpuAlreadyOnline { cpu });
        }
        got.map_err(|e| format!("cpu_up({cpu}): {e:?}"))?;
        self.forget_cpu(cpu);
        self.cpu_arrays_replaced(cpu);
        Ok(())
    }

    fn do_alloc_node(&mut self, cpu: u8, cache: u8, node: u8) -> Check {
        let Some(ci) = self.pick_cache(cache) else {
            return self.skip();
        };
        let cpu = self.cpu(cpu);
        let node = node as usize % self.m.nodes();
        let c = self.caches[ci].0.clone();
        if self.over_budget(self.r.facts[&c.id].slab_bytes) {
            return self.skip();
        }
        // The local node takes the per-CPU path (____cache_alloc), another node
        // ____cache_alloc_node, which counts nodeallocs and leaves the array alone.
        let local = node == self.m.cpus()[cpu].node;
        let pre = if local { self.stats_pre(cpu, &c) } else { None };
        let got = self
            .m
            .task(cpu, task_name(cpu))
            .kmem_cache_alloc_node(&c, Gfp::KERNEL, node)
            .map_err(|e| {
                format!(
                    "kmem_cache_alloc_node({}, {node}): unexpected {e:?}",
                    c.name
                )
            })?;
        self.check_alloc_stats(pre, cpu, &c, local)?;
        if let Some(o) = got {
            // Without faults the node has memory: the object comes from it.
            if !self.faults && self.m.page_node_of(o) != Some(node) {
                return Err(format!(
                    "kmem_cache_alloc_node({}, {node}) returned {o:#x} of node {:?}",
                    c.name,
                    self.m.page_node_of(o)
                ));
            }
        }
        self.allocated(cpu, &c, Origin::User(ci), got)
    }

    /// [`Op::Corrupt`]. The object comes from `do_alloc` and goes back through the same
    /// path as [`Op::Free`], so every other prediction (array tops, live counts) holds.
    fn do_corrupt(&mut self, kind: CorruptKind, cpu: u8, cache: u8, at: u8) -> Check {
        let Some(ci) = self.pick_cache(cache) else {
            return self.skip();
        };
        let before = self.r.user_live[ci].len();
        // Same raw index, same pick: the object comes from cache ci.
        self.do_alloc(cpu, cache, false)?;
        // num_active rises here and may fall in the free below: <maxobjs> must see the top.
        self.check_active_stats()?;
        if self.r.user_live[ci].len() == before {
            return Ok(()); // skipped, or NULL under fault injection
        }
        let obj = *self.r.user_live[ci].last().expect("just allocated");
        let c = self.caches[ci].0.clone();
        let cpu_n = self.cpu(cpu);
        let g = &c.geo;
        let debug = self.m.profile().debug;
        let red_zone = debug && g.flags.contains(SlabFlags::RED_ZONE);
        let poison = debug && g.flags.contains(SlabFlags::POISON);
        let store_user = debug && g.flags.contains(SlabFlags::STORE_USER);
        // Red zone 2 from the object's start (dbg_redzone2, both eras), and the slot's end.
        let tail = 8 + if store_user {
            slab_model::geometry::redzone_align(self.m.profile())
        } else {
            0
        };
        let rz2 = g.size - tail - g.obj_offset;
        let slot_end = g.size - g.obj_offset;
        let t = self.m.task(cpu_n, task_name(cpu_n));
        let write = |off: i64, len: usize| {
            t.caller_write(obj, off, &vec![0u8; len])
                .map_err(|e| format!("caller_write({obj:#x}{off:+}, {len}): {e:?}"))
        };
        // (report expected from the free, report expected from the re-allocation)
        let (at_free, at_realloc) = match kind {
            // Without red zones the bytes around an object belong to its neighbours: a
            // write there would be a different bug, so the op leaves it out.
            CorruptKind::PastEnd if red_zone => {
                let n = (1 + at as usize % 16).min(slot_end - g.object_size);
                write(g.object_size as i64, n)?;
                (g.object_size + n > rz2, false)
            }
            CorruptKind::BeforeStart if red_zone => {
                let n = 1 + at as usize % 8;
                write(-(n as i64), n)?;
                (true, false)
            }
            CorruptKind::Inside if debug => {
                write(0, g.object_size)?;
                (false, false)
            }
            CorruptKind::AfterFree if poison && self.lifo => (false, true),
            _ => (false, false),
        };
        drop(t);
        self.free_obj(cpu_n, &c, obj)?;
        let freed_report = self.m.take_reports();
        match (at_free, freed_report.as_slice()) {
            (false, []) => {}
            (true, [r])
                if r.message() == "memory outside object was overwritten"
                    && r.function() == "cache_free_debugcheck" => {}
            _ => {
                return Err(format!(
                "{kind:?} at {at} on {} ({}): the free should report {}, reports {freed_report:?}",
                c.name,
                if red_zone {
                    "red-zoned"
                } else {
                    "no red zones"
                },
                if at_free {
                    "\"memory outside object was overwritten\""
                } else {
                    "nothing"
                }
            ))
            }
        }
        if !at_realloc {
            return Ok(());
        }
        let off = at as usize % g.object_size;
        self.m
            .task(cpu_n, task_name(cpu_n))
            .caller_write(obj, off as i64, &[0])
            .map_err(|e| format!("caller_write into freed {obj:#x}: {e:?}"))?;
        let before = self.r.user_live[ci].len();
        self.do_alloc(cpu, cache, false)?;
        if self.r.user_live[ci].len() == before {
            return Err(format!("{}: re-allocation after a free failed", c.name));
        }
        let again = *self.r.user_live[ci].last().expect("just allocated");
        let reports = self.m.take_reports();
        let found = matches!(reports.as_slice(),
            [slab_model::SlabReport::SlabCorruption { function: "cache_alloc_debugcheck_after", start, first_bad, .. }]
                if *start == obj && *first_bad == off);
        // LIFO: the freed object is on top of this CPU's array and comes straight back.
        if again != obj || !found {
            return Err(format!(
                "write after free at {off} of {obj:#x} ({}): the re-allocation returned {again:#x} and should report \"Slab corruption\" at offset {off}, reports {reports:?}",
                c.name
            ));
        }
        self.free_obj(cpu_n, &c, obj)
    }

    /// `kmem_cache_free(c, obj)` of a live object from a task on `cpu`, recorded.
    fn free_obj(&mut self, cpu: usize, c: &Cache, obj: u64) -> Check {
        let pre = self.stats_pre(cpu, c);
        self.m
            .task(cpu, task_name(cpu))
            .kmem_cache_free(c, obj)
            .map_err(|e| {
                format!(
                    "kmem_cache_free({}, {obj:#x}) of a live object: {e:?}",
                    c.name
                )
            })?;
        self.check_free_stats(pre, cpu, c, obj)?;
        self.freed(cpu, obj);
        self.check_active_stats()
    }

    /// An operation naming a CPU that is down: the model refuses it with `CpuOffline`
    /// before anything changes (the reaper's work was cancelled: it does not run).
    fn on_offline_cpu(&mut self, op: &Op, cpu: usize) -> Check {
        let want = SlabError::CpuOffline { cpu };
        match *op {
            Op::Alloc { cache, .. } | Op::IrqAlloc { cache, .. } | Op::AllocNode { cache, .. } => {
                let Some(ci) = self.pick_cache(cache) else {
                    return self.skip();
                };
                let c = self.caches[ci].0.clone();
                let got = match op {
                    Op::IrqAlloc { .. } => self
                        .m
                        .interrupt(cpu, irq_name(cpu))
                        .kmem_cache_alloc(&c, Gfp::ATOMIC),
                    Op::AllocNode { .. } => {
                        self.m
                            .task(cpu, task_name(cpu))
                            .kmem_cache_alloc_node(&c, Gfp::KERNEL, 0)
                    }
                    _ => self
                        .m
                        .task(cpu, task_name(cpu))
                        .kmem_cache_alloc(&c, Gfp::KERNEL),
                };
                expect_err("alloc on a CPU that is down", got, &want)
            }
            Op::Free { cache, which, .. } | Op::IrqFree { cache, which, .. } => {
                let Some((ci, k)) = self.pick_user_obj(cache, which) else {
                    return self.skip();
                };
                let c = self.caches[ci].0.clone();
                let obj = self.r.user_live[ci][k];
                expect_err(
                    "kmem_cache_free on a CPU that is down",
                    self.m.task(cpu, task_name(cpu)).kmem_cache_free(&c, obj),
                    &want,
                )
            }
            Op::Kmalloc { size, .. } | Op::IrqKmalloc { size, .. } => expect_err(
                "kmalloc on a CPU that is down",
                self.m
                    .task(cpu, task_name(cpu))
                    .kmalloc(size as usize, Gfp::KERNEL),
                &want,
            ),
            Op::Kfree { which, .. } | Op::IrqKfree { which, .. } => {
                if self.r.kmalloc_live.is_empty() {
                    return self.skip();
                }
                let obj = self.r.kmalloc_live[which as usize % self.r.kmalloc_live.len()];
                expect_err(
                    "kfree on a CPU that is down",
                    self.m.task(cpu, task_name(cpu)).kfree(obj),
                    &want,
                )
            }
            Op::Reap { .. } => {
                if self.m.reaper(cpu, reap_name(cpu)).cache_reap().cancelled {
                    Ok(())
                } else {
                    Err(format!("cache_reap ran on cpu{cpu}, which is down"))
                }
            }
            _ => self.skip(),
        }
    }

    fn apply(&mut self, op: &Op) -> Check {
        let before = self.summary.skipped;
        if let Some(raw) = op.runs_on() {
            let cpu = self.cpu(raw);
            if !self.m.cpu_online(cpu) {
                let r = self.on_offline_cpu(op, cpu);
                if self.summary.skipped == before {
                    self.summary.executed += 1;
                }
                return r;
            }
        }
        let r = match *op {
            Op::CpuDown { cpu } => self.do_cpu_down(cpu),
            Op::CpuUp { cpu } => self.do_cpu_up(cpu),
            Op::AllocNode { cpu, cache, node } => self.do_alloc_node(cpu, cache, node),
            Op::Corrupt {
                kind,
                cpu,
                cache,
                at,
            } => self.do_corrupt(kind, cpu, cache, at),
            Op::Alloc { cpu, cache } => self.do_alloc(cpu, cache, false),
            Op::IrqAlloc { cpu, cache } => self.do_alloc(cpu, cache, true),
            Op::Free { cpu, cache, which } => self.do_free(cpu, cache, which, false),
            Op::IrqFree { cpu, cache, which } => self.do_free(cpu, cache, which, true),
            Op::Kmalloc { cpu, size, dma } => self.do_kmalloc(cpu, size, dma, false),
            Op::IrqKmalloc { cpu, size } => self.do_kmalloc(cpu, size, false, true),
            Op::Kfree { cpu, which } => self.do_kfree(cpu, which, false),
            Op::IrqKfree { cpu, which } => self.do_kfree(cpu, which, true),
            Op::Shrink { cache } => self.do_shrink(cache),
            Op::Reap { cpu, ticks } => self.do_reap(cpu, ticks),
            Op::Tune {
                cache,
                limit,
                batch,
                shared,
            } => self.do_tune(cache, limit, batch, shared),
            Op::Destroy { cache } => self.do_destroy(cache),
            Op::Create {
                size,
                align,
                hwcache,
                ctor,
            } => self.do_create(size, align, hwcache, ctor),
            Op::Misuse {
                kind,
                cpu,
                cache,
                which,
            } => self.do_misuse(kind, cpu, cache, which),
        };
        if self.summary.skipped == before {
            self.summary.executed += 1;
        }
        r
    }
}
