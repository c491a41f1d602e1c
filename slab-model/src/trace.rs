//! The model's event log: every state transition, in kernel vocabulary.
//!
//! A bounded buffer per run (the oldest events are dropped first) that prints as per-CPU
//! lanes. Recording is "hardware": it uses a plain `std::sync::Mutex` that is never held
//! across a model operation, so it adds no scheduling points under loom or shuttle.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

/// Which slab list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListKind {
    /// `slabs_partial`.
    Partial,
    /// `slabs_full`.
    Full,
    /// `slabs_free`.
    Free,
    /// Not on any list (being built or destroyed).
    None,
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListKind::Partial => "slabs_partial",
            ListKind::Full => "slabs_full",
            ListKind::Free => "slabs_free",
            ListKind::None => "(no list)",
        })
    }
}

/// Where objects moved from or to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Place {
    /// A CPU's `array_cache`.
    CpuArray(u16),
    /// A node's shared array.
    Shared(u16),
    /// A node's alien array for objects of this node.
    Alien(u16),
    /// Free in their slabs.
    Slab,
    /// Handed to / from the caller.
    Caller,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::CpuArray(c) => write!(f, "ac[cpu{c}]"),
            Place::Shared(n) => write!(f, "shared[node{n}]"),
            Place::Alien(n) => write!(f, "alien[node{n}]"),
            Place::Slab => f.write_str("slab"),
            Place::Caller => f.write_str("caller"),
        }
    }
}

/// A lock the trace names: every acquire and release of these is an event, recorded by
/// the guard itself (so no call site can forget it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LockName {
    /// `n->list_lock` of a cache's node.
    ListLock { node: u16 },
    /// The lock of node `node`'s alien array for objects of node `of`.
    Alien { node: u16, of: u16 },
    /// Era A `cache_chain_mutex`.
    CacheChainMutex,
    /// Era B `slab_mutex`.
    SlabMutex,
    /// `zone->lock` of the page allocator.
    Zone,
    /// `cpu_add_remove_lock` (one hot-plug operation at a time).
    CpuAddRemove,
    /// Era B `cpu_hotplug.lock` (`get_online_cpus` / `cpu_hotplug_begin`).
    CpuHotplug,
    /// A CPU's reap work item (its "running" state, which a cancel waits for).
    ReapWork { cpu: u16 },
}

impl fmt::Display for LockName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockName::ListLock { node } => write!(f, "node{node}.list_lock"),
            LockName::Alien { node, of } => write!(f, "alien[node{of}]@node{node}"),
            LockName::CacheChainMutex => f.write_str("cache_chain_mutex"),
            LockName::SlabMutex => f.write_str("slab_mutex"),
            LockName::Zone => f.write_str("zone->lock"),
            LockName::CpuAddRemove => f.write_str("cpu_add_remove_lock"),
            LockName::CpuHotplug => f.write_str("cpu_hotplug.lock"),
            LockName::ReapWork { cpu } => write!(f, "reap_work[cpu{cpu}]"),
        }
    }
}

impl LockName {
    /// The kernel's acquire operation for this lock.
    fn acquire(self) -> &'static str {
        match self {
            LockName::ListLock { .. } | LockName::Alien { .. } | LockName::Zone => "spin_lock",
            LockName::ReapWork { .. } => "work running",
            _ => "mutex_lock",
        }
    }
    /// The kernel's release operation.
    fn release(self) -> &'static str {
        match self {
            LockName::ListLock { .. } | LockName::Alien { .. } | LockName::Zone => "spin_unlock",
            LockName::ReapWork { .. } => "work done",
            _ => "mutex_unlock",
        }
    }
    /// The trylock operation.
    fn try_acquire(self) -> &'static str {
        match self {
            LockName::ListLock { .. } | LockName::Alien { .. } | LockName::Zone => "spin_trylock",
            LockName::ReapWork { .. } => "work running",
            _ => "mutex_trylock",
        }
    }
}

/// The kernel functions the model implements, for the trace and for coverage: a scenario
/// run records which of them executed (see [`crate::machine::Machine::covered`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[repr(u8)]
pub enum KFn {
    /// `kmem_cache_create`.
    KmemCacheCreate,
    /// `kmem_cache_alloc`.
    KmemCacheAlloc,
    /// `kmem_cache_alloc_node`.
    KmemCacheAllocNode,
    /// `__cache_alloc_node`.
    DunderCacheAllocNode,
    /// `____cache_alloc`.
    QuadCacheAlloc,
    /// `cache_alloc_refill`.
    CacheAllocRefill,
    /// `transfer_objects`.
    TransferObjects,
    /// `____cache_alloc_node`.
    QuadCacheAllocNode,
    /// `cache_grow`.
    CacheGrow,
    /// `kmem_getpages`.
    KmemGetpages,
    /// `alloc_slabmgmt`.
    AllocSlabmgmt,
    /// `slab_map_pages`.
    SlabMapPages,
    /// `cache_init_objs`.
    CacheInitObjs,
    /// `slab_get_obj`.
    SlabGetObj,
    /// `kmem_cache_free`.
    KmemCacheFree,
    /// `__cache_free`.
    DunderCacheFree,
    /// `cache_flusharray`.
    CacheFlusharray,
    /// `free_block`.
    FreeBlock,
    /// `slab_put_obj`.
    SlabPutObj,
    /// `slab_destroy`.
    SlabDestroy,
    /// `kmem_freepages`.
    KmemFreepages,
    /// `kmalloc`.
    Kmalloc,
    /// `kfree`.
    Kfree,
    /// `do_tune_cpucache`.
    DoTuneCpucache,
    /// `cache_reap`.
    CacheReap,
    /// `drain_array`.
    DrainArray,
    /// `drain_freelist`.
    DrainFreelist,
    /// `__cache_shrink`.
    DunderCacheShrink,
    /// `drain_cpu_caches`.
    DrainCpuCaches,
    /// `kmem_cache_shrink`.
    KmemCacheShrink,
    /// `kmem_cache_destroy`.
    KmemCacheDestroy,
    /// `cache_free_alien`.
    CacheFreeAlien,
    /// `__drain_alien_cache`.
    DrainAlienCache,
    /// `reap_alien`.
    ReapAlien,
    /// `fallback_alloc`.
    FallbackAlloc,
    /// `cpuup_prepare` (CPU_UP_PREPARE).
    CpuupPrepare,
    /// `cpuup_canceled` (CPU_DEAD / CPU_UP_CANCELED).
    CpuupCanceled,
    /// `take_cpu_down` (stop_machine: the CPU leaves `cpu_online_mask`).
    TakeCpuDown,
    /// `alternate_node_alloc`.
    AlternateNodeAlloc,
}

impl KFn {
    /// Every function, in path order.
    pub const ALL: &'static [KFn] = &[
        KFn::KmemCacheCreate,
        KFn::KmemCacheAlloc,
        KFn::KmemCacheAllocNode,
        KFn::DunderCacheAllocNode,
        KFn::QuadCacheAlloc,
        KFn::CacheAllocRefill,
        KFn::TransferObjects,
        KFn::QuadCacheAllocNode,
        KFn::CacheGrow,
        KFn::KmemGetpages,
        KFn::AllocSlabmgmt,
        KFn::SlabMapPages,
        KFn::CacheInitObjs,
        KFn::SlabGetObj,
        KFn::KmemCacheFree,
        KFn::DunderCacheFree,
        KFn::CacheFlusharray,
        KFn::FreeBlock,
        KFn::SlabPutObj,
        KFn::SlabDestroy,
        KFn::KmemFreepages,
        KFn::Kmalloc,
        KFn::Kfree,
        KFn::DoTuneCpucache,
        KFn::CacheReap,
        KFn::DrainArray,
        KFn::DrainFreelist,
        KFn::DunderCacheShrink,
        KFn::DrainCpuCaches,
        KFn::KmemCacheShrink,
        KFn::KmemCacheDestroy,
        KFn::CacheFreeAlien,
        KFn::DrainAlienCache,
        KFn::ReapAlien,
        KFn::FallbackAlloc,
        KFn::CpuupPrepare,
        KFn::CpuupCanceled,
        KFn::TakeCpuDown,
        KFn::AlternateNodeAlloc,
    ];
    /// The kernel's name.
    pub fn name(self) -> &'static str {
        match self {
            KFn::KmemCacheCreate => "kmem_cache_create",
            KFn::KmemCacheAlloc => "kmem_cache_alloc",
            KFn::KmemCacheAllocNode => "kmem_cache_alloc_node",
            KFn::DunderCacheAllocNode => "__cache_alloc_node",
            KFn::QuadCacheAlloc => "____cache_alloc",
            KFn::CacheAllocRefill => "cache_alloc_refill",
            KFn::TransferObjects => "transfer_objects",
            KFn::QuadCacheAllocNode => "____cache_alloc_node",
            KFn::CacheGrow => "cache_grow",
            KFn::KmemGetpages => "kmem_getpages",
            KFn::AllocSlabmgmt => "alloc_slabmgmt",
            KFn::SlabMapPages => "slab_map_pages",
            KFn::CacheInitObjs => "cache_init_objs",
            KFn::SlabGetObj => "slab_get_obj",
            KFn::KmemCacheFree => "kmem_cache_free",
            KFn::DunderCacheFree => "__cache_free",
            KFn::CacheFlusharray => "cache_flusharray",
            KFn::FreeBlock => "free_block",
            KFn::SlabPutObj => "slab_put_obj",
            KFn::SlabDestroy => "slab_destroy",
            KFn::KmemFreepages => "kmem_freepages",
            KFn::Kmalloc => "kmalloc",
            KFn::Kfree => "kfree",
            KFn::DoTuneCpucache => "do_tune_cpucache",
            KFn::CacheReap => "cache_reap",
            KFn::DrainArray => "drain_array",
            KFn::DrainFreelist => "drain_freelist",
            KFn::DunderCacheShrink => "__cache_shrink",
            KFn::DrainCpuCaches => "drain_cpu_caches",
            KFn::KmemCacheShrink => "kmem_cache_shrink",
            KFn::KmemCacheDestroy => "kmem_cache_destroy",
            KFn::CacheFreeAlien => "cache_free_alien",
            KFn::DrainAlienCache => "__drain_alien_cache",
            KFn::ReapAlien => "reap_alien",
            KFn::FallbackAlloc => "fallback_alloc",
            KFn::CpuupPrepare => "cpuup_prepare",
            KFn::CpuupCanceled => "cpuup_canceled",
            KFn::TakeCpuDown => "take_cpu_down",
            KFn::AlternateNodeAlloc => "alternate_node_alloc",
        }
    }
}

impl fmt::Display for KFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EventKind {
    /// A model function was entered.
    Enter(KFn),
    /// A concurrency point other than an irq or lock transition: an unlocked read, an
    /// IPI, a publish, a kick, a sleep in the page allocator.
    Site(crate::site::Site),
    /// `local_irq_disable` on the event's CPU (for `on_each_cpu` / `stop_machine`: the
    /// target CPU, in the caller's lane).
    IrqOff,
    /// `local_irq_enable` on the event's CPU.
    IrqOn,
    /// `cache_grow` opened its irq-enable window (interrupts on, may sleep / migrate).
    IrqWindowOpen,
    /// The window closed; the task now runs on this CPU.
    IrqWindowClose { cpu: u16 },
    /// The context's CPU went down while it had interrupts on; it continues on `to`.
    MovedOffDeadCpu { from: u16, to: u16 },
    /// The task was preempted inside `cache_grow`'s irq window and the scheduler moved
    /// it: it ran on `from` up to here, and continues on `to`.
    Migrated { from: u16, to: u16 },
    /// `cpu_down` / `cpu_up` changed `cpu_online_mask` (`take_cpu_down`, `__cpu_up`).
    CpuOnline { cpu: u16, online: bool },
    /// A lock was taken (the guard records it once it holds the lock).
    LockTaken(LockName),
    /// A lock is released (the guard records it just before it unlocks).
    LockReleased(LockName),
    /// A trylock found the lock held and gave up (`reap_alien`, `cache_reap`).
    TryLockFailed(LockName),
    /// A slab moved between lists.
    ListMove {
        slab: u64,
        from: ListKind,
        to: ListKind,
    },
    /// Objects moved.
    ObjectsMoved { from: Place, to: Place, count: u32 },
    /// A slab was created by `cache_grow` with this colour offset.
    SlabCreated { slab: u64, colour_offset: u32 },
    /// A slab was destroyed by `slab_destroy`.
    SlabDestroyed { slab: u64 },
    /// The page allocator refused (out of memory or an injected fault).
    PageAllocFailed { order: u8 },
    /// An object address handed out or taken back.
    Object { addr: u64, alloc: bool },
    /// A DEBUG check printed a report (see [`crate::debug::SlabReport`]).
    DebugReport {
        function: &'static str,
        message: &'static str,
    },
    /// A misbehaving caller stored `len` bytes at `addr` (`Context::caller_write`),
    /// recorded while the store holds memory, so that its order against the debug checks'
    /// reads is the trace order.
    CallerWrite { addr: u64, len: u32 },
}

/// One recorded event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Global sequence number (total order of this run).
    pub seq: u64,
    /// Execution context index (see [`Trace::context_name`]).
    pub ctx: u16,
    /// CPU the context was on when the event happened.
    pub cpu: u16,
    /// Cache id, or `u32::MAX` when not cache-specific.
    pub cache: u32,
    /// What happened.
    pub kind: EventKind,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Enter(func) => write!(f, "{func}()"),
            EventKind::Site(s) => write!(f, "{s}"),
            EventKind::IrqOff => f.write_str("local_irq_disable"),
            EventKind::IrqOn => f.write_str("local_irq_enable"),
            EventKind::IrqWindowOpen => f.write_str("irq window OPEN (may sleep/migrate)"),
            EventKind::IrqWindowClose { cpu } => write!(f, "irq window CLOSED on cpu{cpu}"),
            EventKind::MovedOffDeadCpu { from, to } => {
                write!(f, "cpu{from} is down: moved to cpu{to}")
            }
            EventKind::CpuOnline { cpu, online: true } => write!(f, "cpu{cpu} online"),
            EventKind::CpuOnline { cpu, online: false } => {
                write!(f, "take_cpu_down: cpu{cpu} offline")
            }
            EventKind::Migrated { from, to } => {
                write!(
                    f,
                    "preempted in the irq window: migrated cpu{from} -> cpu{to}"
                )
            }
            EventKind::LockTaken(l) => write!(f, "{}({l})", l.acquire()),
            EventKind::LockReleased(l) => write!(f, "{}({l})", l.release()),
            EventKind::TryLockFailed(l) => write!(f, "{}({l}) failed: held", l.try_acquire()),
            EventKind::ListMove { slab, from, to } => write!(f, "slab@{slab:#x} {from} -> {to}"),
            EventKind::ObjectsMoved { from, to, count } => write!(f, "{count} obj {from} -> {to}"),
            EventKind::SlabCreated {
                slab,
                colour_offset,
            } => {
                write!(f, "new slab@{slab:#x} colour offset {colour_offset}")
            }
            EventKind::SlabDestroyed { slab } => write!(f, "slab_destroy slab@{slab:#x}"),
            EventKind::PageAllocFailed { order } => write!(f, "alloc_pages(order {order}) failed"),
            EventKind::Object { addr, alloc: true } => write!(f, "returns {addr:#x}"),
            EventKind::Object { addr, alloc: false } => write!(f, "frees {addr:#x}"),
            EventKind::DebugReport { function, message } => {
                write!(f, "{function}: {message}")
            }
            EventKind::CallerWrite { addr, len } => {
                write!(f, "caller writes {len} byte(s) at {addr:#x}")
            }
        }
    }
}

impl EventKind {
    /// The event's class, as counterexample rows name it.
    pub fn class(&self) -> &'static str {
        match self {
            EventKind::Enter(_) => "enter",
            EventKind::Site(s) if s.is_unlocked_access() => "unlocked-access",
            EventKind::Site(_) => "site",
            EventKind::IrqOff => "irq-off",
            EventKind::IrqOn => "irq-on",
            EventKind::IrqWindowOpen => "irq-window-open",
            EventKind::IrqWindowClose { .. } => "irq-window-close",
            EventKind::MovedOffDeadCpu { .. } | EventKind::Migrated { .. } => "migrate",
            EventKind::CpuOnline { .. } => "cpu-online",
            EventKind::LockTaken(_) => "lock",
            EventKind::LockReleased(_) => "unlock",
            EventKind::TryLockFailed(_) => "trylock-failed",
            EventKind::ListMove { .. } => "list-move",
            EventKind::ObjectsMoved { .. } => "objects",
            EventKind::SlabCreated { .. } | EventKind::SlabDestroyed { .. } => "slab",
            EventKind::PageAllocFailed { .. } => "page-alloc",
            EventKind::Object { .. } => "object",
            EventKind::DebugReport { .. } => "debug-report",
            EventKind::CallerWrite { .. } => "caller-write",
        }
    }
    /// The lock a lock event takes, releases or tries.
    pub fn lock(&self) -> Option<LockName> {
        match *self {
            EventKind::LockTaken(l) | EventKind::LockReleased(l) | EventKind::TryLockFailed(l) => {
                Some(l)
            }
            _ => None,
        }
    }
}

/// The CPU of an event that runs on no particular CPU (a process-context call such as
/// `kmem_cache_create`, which the model does not place on a CPU).
pub const NO_CPU: usize = u16::MAX as usize;

/// The context index of observers whose events are not recorded.
pub const NO_CONTEXT: u16 = u16::MAX;

/// A thread tag the trace does not know: events recorded outside any model thread.
pub const NO_THREAD: u64 = u64::MAX;

struct TraceInner {
    seq: u64,
    events: VecDeque<Event>,
    contexts: Vec<String>,
    caches: Vec<String>,
    /// Per model thread (platform thread tag), the context and CPU of its last event:
    /// a failure caught in that thread is attributed to them.
    last_by_thread: Vec<(u64, u16, u16)>,
}

/// The bounded event buffer of one machine.
pub struct Trace {
    capacity: usize,
    inner: Mutex<TraceInner>,
}

impl Trace {
    /// A buffer keeping the last `capacity` events (0 disables recording).
    pub fn new(capacity: usize) -> Self {
        Trace {
            capacity,
            inner: Mutex::new(TraceInner {
                seq: 0,
                events: VecDeque::new(),
                contexts: Vec::new(),
                caches: Vec::new(),
                last_by_thread: Vec::new(),
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, TraceInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an execution context's name; returns its index.
    pub fn register_context(&self, name: &str) -> u16 {
        if name == "audit" || name == "inspect" {
            // Observers (the audit, the inspection API) take tokens and locks to read
            // state; their events would bury the run's.
            return NO_CONTEXT;
        }
        if self.capacity == 0 {
            // No events will name it: skip the lock and the name search (hot in fuzzing).
            return 0;
        }
        let mut t = self.inner();
        if let Some(i) = t.contexts.iter().position(|c| c == name) {
            return i as u16;
        }
        t.contexts.push(name.to_string());
        (t.contexts.len() - 1) as u16
    }

    /// Registers a cache name under its id.
    pub fn register_cache(&self, id: u32, name: &str) {
        if self.capacity == 0 {
            return;
        }
        let mut t = self.inner();
        let id = id as usize;
        if t.caches.len() <= id {
            t.caches.resize(id + 1, String::new());
        }
        t.caches[id] = name.to_string();
    }

    /// Whether events are recorded at all.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Records one event.
    #[inline]
    pub fn record(&self, ctx: u16, cpu: usize, cache: u32, kind: EventKind) {
        self.record_from(NO_THREAD, ctx, cpu, cache, kind)
    }

    /// Records one event of the model thread tagged `thread` ([`crate::sync::Platform::thread_tag`]).
    #[inline]
    pub fn record_from(&self, thread: u64, ctx: u16, cpu: usize, cache: u32, kind: EventKind) {
        if self.capacity == 0 || ctx == NO_CONTEXT {
            return;
        }
        let mut t = self.inner();
        if thread != NO_THREAD {
            match t.last_by_thread.iter_mut().find(|e| e.0 == thread) {
                Some(e) => *e = (thread, ctx, cpu as u16),
                None => t.last_by_thread.push((thread, ctx, cpu as u16)),
            }
        }
        let seq = t.seq;
        t.seq += 1;
        if t.events.len() == self.capacity {
            t.events.pop_front();
        }
        t.events.push_back(Event {
            seq,
            ctx,
            cpu: cpu as u16,
            cache,
            kind,
        });
    }

    /// The context and CPU of model thread `thread`'s last event.
    pub fn last_of_thread(&self, thread: u64) -> Option<(u16, u16)> {
        self.inner()
            .last_by_thread
            .iter()
            .find(|e| e.0 == thread)
            .map(|e| (e.1, e.2))
    }

    /// Events recorded so far (including those the bounded buffer dropped).
    pub fn recorded(&self) -> u64 {
        self.inner().seq
    }

    /// The recorded events, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.inner().events.iter().copied().collect()
    }

    /// Name of context `i`.
    pub fn context_name(&self, i: u16) -> String {
        self.inner()
            .contexts
            .get(i as usize)
            .cloned()
            .unwrap_or_else(|| format!("ctx{i}"))
    }

    /// Context names, by index.
    pub fn context_names(&self) -> Vec<String> {
        self.inner().contexts.clone()
    }

    /// Cache name of id `i`.
    pub fn cache_name(&self, i: u32) -> String {
        if i == u32::MAX {
            return String::new();
        }
        self.inner()
            .caches
            .get(i as usize)
            .cloned()
            .unwrap_or_else(|| format!("cache{i}"))
    }

    /// The last `last` events and the contexts that appear in them (in first-appearance
    /// order): the part of a run a counterexample shows.
    pub fn tail(&self, last: usize) -> (Vec<Event>, Vec<u16>) {
        let events = self.events();
        let start = events.len().saturating_sub(last);
        let events = events[start..].to_vec();
        let mut lanes: Vec<u16> = Vec::new();
        for e in &events {
            if !lanes.contains(&e.ctx) {
                lanes.push(e.ctx);
            }
        }
        (events, lanes)
    }

    /// One event as lane text: `cpuN what (cache)`.
    pub fn describe(&self, e: &Event) -> String {
        let cache = self.cache_name(e.cache);
        let cpu = if e.cpu as usize == NO_CPU {
            String::new()
        } else {
            format!("cpu{} ", e.cpu)
        };
        if cache.is_empty() {
            format!("{cpu}{}", e.kind)
        } else {
            format!("{cpu}{} ({cache})", e.kind)
        }
    }

    /// Renders the last `last` events as lanes: one column per execution context that
    /// appears in them, one row per event, so the interleaving reads top to bottom.
    /// Nothing is cut: a cell longer than its column wraps onto continuation lines.
    pub fn render_lanes(&self, last: usize) -> String {
        let (events, lanes) = self.tail(last);
        let names: Vec<String> = lanes.iter().map(|&l| self.context_name(l)).collect();
        let rows: Vec<(String, usize, String)> = events
            .iter()
            .map(|e| {
                let lane = lanes.iter().position(|&l| l == e.ctx).unwrap_or(0);
                (e.seq.to_string(), lane, self.describe(e))
            })
            .collect();
        render_table(&names, &rows)
    }
}

/// Widest column of a lane table; longer cells wrap.
pub const LANE_WIDTH: usize = 48;

/// Renders `rows` (seq text, lane, cell) as a lane table under `names`; cells wrap at
/// [`LANE_WIDTH`] characters (on spaces where possible), never cut.
pub fn render_table(names: &[String], rows: &[(String, usize, String)]) -> String {
    let mut widths: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    for (_, lane, cell) in rows {
        widths[*lane] = widths[*lane].max(cell.chars().count().min(LANE_WIDTH));
    }
    let widths: Vec<usize> = widths.into_iter().map(|w| w.min(LANE_WIDTH)).collect();
    let mut out = format!("{:>6} ", "seq");
    for (n, w) in names.iter().zip(&widths) {
        for (i, part) in wrap(n, *w).iter().enumerate() {
            if i > 0 {
                // Lane names are short; one that is not keeps its full text on one line.
                out.push_str(part);
            } else {
                out.push_str(&format!("| {part:<w$} ", w = *w));
            }
        }
    }
    out.push('\n');
    for (seq, lane, cell) in rows {
        let parts = wrap(cell, widths[*lane]);
        for (k, part) in parts.iter().enumerate() {
            let label = if k == 0 { seq.as_str() } else { "" };
            out.push_str(&format!("{label:>6} "));
            for (i, w) in widths.iter().enumerate() {
                let text = if i == *lane { part.as_str() } else { "" };
                out.push_str(&format!("| {text:<w$} ", w = *w));
            }
            out.push('\n');
        }
    }
    out
}

/// Splits `s` into lines of at most `width` characters, breaking at spaces where it can.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let len = line.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + word.len() <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than the column: split it.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_never_loses_text() {
        let s = "irq window OPEN (may sleep/migrate) (kmalloc-1300) and a verylongwordthatexceedsthecolumnwidthbyfar";
        let lines = wrap(s, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        let joined: String = lines.concat();
        assert_eq!(joined.replace(' ', ""), s.replace(' ', ""));
    }

    #[test]
    fn lanes_keep_whole_cells_and_lock_events() {
        let t = Trace::new(16);
        let a = t.register_context("task@cpu0");
        let b = t.register_context("irq@cpu0");
        t.register_cache(0, "size-1300");
        t.record(
            a,
            0,
            0,
            EventKind::LockTaken(LockName::ListLock { node: 0 }),
        );
        t.record(b, 0, 0, EventKind::IrqWindowOpen);
        t.record(
            a,
            0,
            0,
            EventKind::LockReleased(LockName::ListLock { node: 0 }),
        );
        let out = t.render_lanes(16);
        assert!(
            out.contains("spin_lock(node0.list_lock) (size-1300)"),
            "{out}"
        );
        assert!(out.contains("spin_unlock(node0.list_lock)"), "{out}");
        // The 46-character window cell is whole (wrapped, not cut).
        assert!(out.contains("(may sleep/migrate)"), "{out}");
        assert!(out.contains("(size-1300)"), "{out}");
        assert_eq!(t.recorded(), 3);
    }

    #[test]
    fn observers_are_not_traced() {
        let t = Trace::new(16);
        let audit = t.register_context("audit");
        t.record(audit, 0, 0, EventKind::IrqOff);
        assert!(t.events().is_empty());
    }
}
