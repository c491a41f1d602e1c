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
    /// `local_irq_disable` on the context's CPU.
    IrqOff,
    /// `local_irq_enable`.
    IrqOn,
    /// `cache_grow` opened its irq-enable window (interrupts on, may sleep / migrate).
    IrqWindowOpen,
    /// The window closed; the task now runs on this CPU.
    IrqWindowClose { cpu: u16 },
    /// The context's CPU went down while it had interrupts on; it continues on `to`.
    MovedOffDeadCpu { from: u16, to: u16 },
    /// `cpu_down` / `cpu_up` changed `cpu_online_mask` (`take_cpu_down`, `__cpu_up`).
    CpuOnline { cpu: u16, online: bool },
    /// `spin_lock(&n->list_lock)`.
    LockTaken { node: u16 },
    /// `spin_unlock(&n->list_lock)`.
    LockReleased { node: u16 },
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
            EventKind::LockTaken { node } => write!(f, "spin_lock(node{node}.list_lock)"),
            EventKind::LockReleased { node } => write!(f, "spin_unlock(node{node}.list_lock)"),
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
        }
    }
}

struct TraceInner {
    seq: u64,
    events: VecDeque<Event>,
    contexts: Vec<String>,
    caches: Vec<String>,
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
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, TraceInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an execution context's name; returns its index.
    pub fn register_context(&self, name: &str) -> u16 {
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
        if self.capacity == 0 {
            return;
        }
        let mut t = self.inner();
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

    /// One event as lane text: `cpuN what [cache]`.
    pub fn describe(&self, e: &Event) -> String {
        let cache = self.cache_name(e.cache);
        if cache.is_empty() {
            format!("cpu{} {}", e.cpu, e.kind)
        } else {
            format!("cpu{} {} [{cache}]", e.cpu, e.kind)
        }
    }

    /// Renders the last `last` events as lanes: one column per execution context that
    /// appears in them, one row per event, so the interleaving reads top to bottom.
    pub fn render_lanes(&self, last: usize) -> String {
        let (events, lanes) = self.tail(last);
        let width = 44usize;
        let mut out = format!("{:>6} ", "seq");
        for &l in &lanes {
            out.push_str(&format!("| {:<w$}", self.context_name(l), w = width));
        }
        out.push('\n');
        for e in &events {
            out.push_str(&format!("{:>6} ", e.seq));
            for &l in &lanes {
                let cell: String = if l == e.ctx {
                    self.describe(e).chars().take(width).collect()
                } else {
                    String::new()
                };
                out.push_str(&format!("| {:<w$}", cell, w = width));
            }
            out.push('\n');
        }
        out
    }
}
