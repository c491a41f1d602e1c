//! `struct kmem_cache`: geometry, tunables, the per-CPU `array_cache`s and the per-node
//! structures of one cache; `cpu_cache_get`.

use crate::array_cache::{ArrayCache, BAADF00D};
use crate::cpu::IrqOff;
use crate::geometry::{CacheGeometry, Tunables};
use crate::gfp::Gfp;
use crate::machine::REAPTIMEOUT_NODE;
use crate::node::{KmemCacheNode, NodeLists};
use crate::profile::{ArchProfile, Era};
use crate::slab::SlabSet;
use crate::slab_flags::SlabFlags;
use crate::sync::{Platform, TrackedCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A CPU's slot in `cachep->array[]`: the array and a generation number that changes
/// whenever `do_tune_cpucache` installs a new array (so a stale `ac` is detectable: in the
/// kernel it points to a freed `array_cache`).
#[derive(Debug)]
pub struct CpuSlot {
    /// The array.
    pub ac: ArrayCache,
    /// Bumped on every swap.
    pub generation: u64,
}

/// A pointer to a CPU's `array_cache` as `cpu_cache_get()` returns it: which CPU's slot
/// and which array generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcRef {
    /// The CPU whose array this is.
    pub cpu: usize,
    /// The array generation read.
    pub generation: u64,
}

/// `struct kmem_cache`.
pub struct KmemCache<P: Platform> {
    /// Cache id (index in the machine's registry; what `page->slab_cache` stores).
    pub id: u32,
    /// `name`.
    pub name: String,
    /// Everything `kmem_cache_create` computed.
    pub geo: CacheGeometry,
    /// Whether a constructor runs on each object when its slab is created.
    pub ctor: bool,
    /// `gfpflags` (A) / `allocflags` (B): page-allocation flags added by `kmem_getpages`.
    pub gfpflags: Gfp,
    /// `slabp_cache` (A) / `freelist_cache` (B): the general cache holding off-slab
    /// descriptors.
    pub desc_cache: Option<Arc<KmemCache<P>>>,
    /// `batchcount`, `limit`, `shared`: changed by `do_tune_cpucache` under
    /// `cache_chain_mutex`.
    pub(crate) tunables: P::Cell<Tunables>,
    /// `array[NR_CPUS]`: each slot touched only under its CPU's irq-off token.
    pub(crate) cpu_slots: Vec<P::Cell<CpuSlot>>,
    /// `nodelists[]` (A) / `node[]` (B).
    pub nodes: Vec<KmemCacheNode<P>>,
    destroyed: AtomicBool,
}

impl<P: Platform> KmemCache<P> {
    /// Builds the cache structures for `geo` (the end of `kmem_cache_create` plus
    /// `enable_cpucache` / `alloc_kmemlist`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: u32,
        name: String,
        geo: CacheGeometry,
        ctor: bool,
        profile: &ArchProfile,
        era: Era,
        desc_cache: Option<Arc<KmemCache<P>>>,
        jiffies: u64,
    ) -> Self {
        let t = geo.tunables;
        let mut gfpflags = Gfp::default();
        if geo.flags.contains(SlabFlags::CACHE_DMA) {
            gfpflags = gfpflags | Gfp::DMA;
        }
        if geo.flags.contains(SlabFlags::RECLAIM_ACCOUNT) {
            gfpflags = gfpflags | Gfp::RECLAIMABLE;
        }
        if era == Era::B {
            gfpflags = gfpflags | Gfp::COMP;
        }
        let cpu_slots = (0..profile.cpus)
            .map(|_| {
                P::Cell::new(CpuSlot {
                    ac: ArrayCache::new(t.limit, t.batchcount),
                    generation: 0,
                })
            })
            .collect();
        let nodes = (0..profile.nodes)
            .map(|n| {
                // The kernel staggers the first node reap by the cache's address so caches
                // do not all reap in the same tick; the id stands in for the address.
                let stagger = (id as u64 * 97) % REAPTIMEOUT_NODE;
                KmemCacheNode::new(
                    id,
                    n,
                    NodeLists {
                        slabs: SlabSet::default(),
                        free_objects: 0,
                        free_limit: crate::geometry::free_limit(profile, n, &t, geo.num),
                        colour_next: 0,
                        shared: (t.shared > 0)
                            .then(|| ArrayCache::new(t.shared * t.batchcount, BAADF00D)),
                        next_reap: jiffies + REAPTIMEOUT_NODE + stagger,
                        free_touched: false,
                    },
                    crate::alien::alloc_alien_cache(profile, n, t.limit),
                )
            })
            .collect();
        KmemCache {
            id,
            name,
            geo,
            ctor,
            gfpflags,
            desc_cache,
            tunables: P::Cell::new(t),
            cpu_slots,
            nodes,
            destroyed: AtomicBool::new(false),
        }
    }

    /// `cpu_cache_get(cachep)`: this CPU's array, as a pointer value. Needs interrupts off.
    #[inline]
    pub fn cpu_cache_get(&self, irq: &IrqOff<'_, P>) -> AcRef {
        let generation = self.cpu_slots[irq.cpu()].with(|s| s.generation);
        AcRef {
            cpu: irq.cpu(),
            generation,
        }
    }

    /// Dereferences an `ac` pointer with interrupts off on its CPU (`check_irq_off`). A
    /// pointer to an array the tuner has replaced is a use-after-free in the kernel and an
    /// invariant violation here.
    #[inline]
    pub fn ac<R>(&self, irq: &IrqOff<'_, P>, ac: AcRef, f: impl FnOnce(&mut ArrayCache) -> R) -> R {
        assert_eq!(
            ac.cpu,
            irq.cpu(),
            "check_irq_off: cache {} touches cpu{}'s array_cache with interrupts off only on cpu{}",
            self.name,
            ac.cpu,
            irq.cpu()
        );
        self.deref_ac(ac, "check_irq_off", f)
    }

    /// Dereferences an `ac` pointer *without* its CPU's irq protection: only mutation
    /// paths (a stale `ac` after migration, a reaper on the wrong CPU) get here. Backends
    /// without causality tracking report the access if it overlaps an irq-off section of
    /// the owning CPU; loom reports it as a causality violation.
    pub(crate) fn ac_racy<R>(
        &self,
        ctx_cpu_irq_held: impl FnOnce(usize) -> bool,
        ac: AcRef,
        what: &str,
        f: impl FnOnce(&mut ArrayCache) -> R,
    ) -> R {
        if !P::TRACKS_CAUSALITY && ctx_cpu_irq_held(ac.cpu) {
            panic!(
                "data race: {what} touches cpu{}'s array_cache of cache {} while cpu{} has interrupts off",
                ac.cpu, self.name, ac.cpu
            );
        }
        self.deref_ac(ac, what, f)
    }

    /// The dereference itself, for [`KmemCache::ac`] and [`KmemCache::ac_racy`]: an `ac`
    /// read before `do_tune_cpucache` swapped the CPU's array points at freed memory.
    fn deref_ac<R>(&self, ac: AcRef, what: &str, f: impl FnOnce(&mut ArrayCache) -> R) -> R {
        self.cpu_slots[ac.cpu].with_mut(|s| {
            assert_eq!(
                s.generation, ac.generation,
                "use-after-free: {what}: cache {} array_cache of cpu{} was replaced by do_tune_cpucache (stale ac)",
                self.name, ac.cpu
            );
            f(&mut s.ac)
        })
    }

    /// Replaces a CPU's array (the tuner's `do_ccupdate_local`), returning the old one.
    /// Needs that CPU's interrupts off.
    pub(crate) fn swap_cpu_array(&self, irq: &IrqOff<'_, P>, new: ArrayCache) -> ArrayCache {
        self.cpu_slots[irq.cpu()].with_mut(|s| {
            s.generation += 1;
            std::mem::replace(&mut s.ac, new)
        })
    }

    /// Same, without the CPU's irq protection (`tune-frees-array-early`).
    pub(crate) fn swap_cpu_array_racy(
        &self,
        cpu: usize,
        held: bool,
        new: ArrayCache,
    ) -> ArrayCache {
        if !P::TRACKS_CAUSALITY && held {
            panic!(
                "data race: do_tune_cpucache replaces cpu{cpu}'s array_cache of cache {} while cpu{cpu} is using it (interrupts off)",
                self.name
            );
        }
        self.cpu_slots[cpu].with_mut(|s| {
            s.generation += 1;
            std::mem::replace(&mut s.ac, new)
        })
    }

    /// Current tunables (read under `cache_chain_mutex` by slabinfo and the tuner).
    pub fn tunables(&self) -> Tunables {
        self.tunables.with(|t| *t)
    }

    /// Objects per slab.
    #[inline]
    pub fn num(&self) -> usize {
        self.geo.num
    }
    /// Stride.
    #[inline]
    pub fn size(&self) -> usize {
        self.geo.size
    }

    /// Has `kmem_cache_destroy` released this cache?
    pub fn is_destroyed(&self) -> bool {
        self.destroyed.load(Ordering::Acquire)
    }
    pub(crate) fn mark_destroyed(&self) {
        self.destroyed.store(true, Ordering::Release);
    }
}
