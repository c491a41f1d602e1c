//! `struct kmem_cache`: geometry, tunables, the per-CPU `array_cache`s and the per-node
//! structures of one cache; `cpu_cache_get`.

use crate::array_cache::{ArrayCache, BAADF00D};
use crate::cpu::IrqOff;
use crate::geometry::{CacheGeometry, Tunables};
use crate::gfp::Gfp;
use crate::machine::REAPTIMEOUT_NODE;
use crate::node::{KmemCacheNode, NodeLists};
use crate::profile::{ArchProfile, Era};
use crate::slab_flags::SlabFlags;
use crate::stats::{CacheStats, SlabStats};
use crate::sync::{PeekWord, Platform, TrackedCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One per-CPU `array_cache` allocation: the array and the generation (pointer value) it
/// was installed with. Era A has one per CPU, replaced in place by `do_ccupdate_local`
/// under that CPU's irq-off; era B has two per CPU (the arrays of the published
/// `cachep->cpu_cache` and of the previous one, which CPUs inside an irq-off section may
/// still use until `kick_all_cpus_sync` returns).
#[derive(Debug)]
pub struct CpuSlot {
    /// The array.
    pub ac: ArrayCache,
    /// The generation this array belongs to (era A: bumped on every swap; era B: the
    /// `cpu_cache` generation).
    pub generation: u64,
    /// `free_percpu(prev)` / `kfree(ccold)` ran: any further use is a use-after-free.
    pub freed: bool,
    /// `avail` as last written to the peek word.
    published_avail: usize,
}

/// The words of a CPU array that `drain_array` reads with interrupts on: `avail` and
/// `touched` (whose only copy is this word: it is set with interrupts off and cleared by
/// the reaper with interrupts on).
pub(crate) struct AcWords<P: Platform> {
    pub(crate) avail: P::Word,
    pub(crate) touched: P::Word,
}

impl<P: Platform> AcWords<P> {
    fn new() -> Self {
        AcWords {
            avail: P::Word::new(0),
            touched: P::Word::new(0),
        }
    }
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
    /// Era A `array[NR_CPUS]` / era B the per-CPU areas of `cpu_cache`: per CPU two
    /// allocations (era A uses the first only; era B the one of `generation % 2`), each
    /// touched only under its CPU's irq-off token (or, after `kick_all_cpus_sync`, by the
    /// tuner that retired it).
    pub(crate) cpu_slots: Vec<[P::Cell<CpuSlot>; 2]>,
    /// The peek words of each allocation in `cpu_slots`.
    pub(crate) cpu_words: Vec<[AcWords<P>; 2]>,
    /// Era B `cachep->cpu_cache`: the generation of the published per-CPU arrays, read
    /// with interrupts off but without any lock against the tuner.
    pub(crate) cpu_cache: P::Word,
    /// Era A `cachep->array[cpu]` as pointer values (the generation of each CPU's array),
    /// for the reaper's read with interrupts on; written only by `do_ccupdate_local`.
    array_ptr: Vec<P::Word>,
    /// The kernel era (the tune protocol and `cpu_cache_get` differ).
    pub era: Era,
    /// `nodelists[]` (A) / `node[]` (B).
    pub nodes: Vec<KmemCacheNode<P>>,
    /// The `STATS` fields (`CONFIG_DEBUG_SLAB` profiles only): see [`crate::stats`].
    pub(crate) stats: Option<CacheStats<P>>,
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
        online: &[bool],
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
        // Era A allocates arrays for online CPUs only (`for_each_online_cpu` in
        // `do_tune_cpucache`): an offline CPU's `array[cpu]` is NULL until
        // `cpuup_prepare`. Era B's `alloc_percpu` covers every possible CPU.
        let slot = |live: bool, first: bool| {
            P::Cell::new(CpuSlot {
                // The second allocation only exists once an era-B tune prepares it: no
                // entry storage until then (a machine boots dozens of caches).
                ac: if live {
                    ArrayCache::new(t.limit, t.batchcount)
                } else {
                    ArrayCache::new(0, 0)
                },
                generation: if live || first { 0 } else { u64::MAX },
                freed: !live,
                published_avail: 0,
            })
        };
        let cpu_slots = (0..profile.cpus)
            .map(|c| [slot(era == Era::B || online[c], true), slot(false, false)])
            .collect();
        let nr_cpus_node = |n: usize| {
            (0..profile.cpus)
                .filter(|&c| profile.cpu_to_node(c) == n && online[c])
                .count()
        };
        let cpu_words = (0..profile.cpus)
            .map(|_| [AcWords::new(), AcWords::new()])
            .collect();
        let nodes = (0..profile.nodes)
            .map(|n| {
                // The kernel staggers the first node reap by the cache's address so caches
                // do not all reap in the same tick; the id stands in for the address.
                let stagger = (id as u64 * 97) % REAPTIMEOUT_NODE;
                KmemCacheNode::new(
                    id,
                    &name,
                    n,
                    NodeLists::new(
                        crate::geometry::free_limit(nr_cpus_node(n), &t, geo.num),
                        (t.shared > 0).then(|| ArrayCache::new(t.shared * t.batchcount, BAADF00D)),
                    ),
                    jiffies + REAPTIMEOUT_NODE + stagger,
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
            cpu_words,
            cpu_cache: P::Word::new(0),
            array_ptr: (0..profile.cpus).map(|_| P::Word::new(0)).collect(),
            era,
            nodes,
            stats: profile.debug.then(CacheStats::new),
            destroyed: AtomicBool::new(false),
        }
    }

    /// The statistics `/proc/slabinfo` prints with `(statistics)`, on a
    /// `CONFIG_DEBUG_SLAB` profile (`None` on a plain one, as a kernel without `STATS`).
    pub fn stats(&self) -> Option<SlabStats> {
        self.stats.as_ref().map(CacheStats::snapshot)
    }

    /// Which of a CPU's two allocations generation `g` lives in.
    #[inline]
    fn buffer(&self, generation: u64) -> usize {
        match self.era {
            Era::A => 0,
            Era::B => (generation % 2) as usize,
        }
    }

    /// `cpu_cache_get(cachep)`: this CPU's array, as a pointer value. Needs interrupts off.
    /// Era A reads `cachep->array[cpu]` (stable while interrupts are off: only an IPI on
    /// this CPU replaces it); era B reads the published `cachep->cpu_cache`, which the
    /// tuner may replace at any moment (the array stays valid until the tuner's
    /// `kick_all_cpus_sync` has seen this CPU enable interrupts).
    #[inline]
    pub fn cpu_cache_get(&self, irq: &IrqOff<'_, P>) -> AcRef {
        let generation = match self.era {
            Era::A => self.cpu_slots[irq.cpu()][0].with(|s| s.generation),
            Era::B => self.cpu_cache.read_dependent() as u64,
        };
        AcRef {
            cpu: irq.cpu(),
            generation,
        }
    }

    /// `cpu_cache_get` read through the pointer word (era A `array[cpu]`, era B
    /// `cpu_cache`), without the CPU's protection: the reaper's read with interrupts on,
    /// and quiescent readers (snapshots).
    pub(crate) fn current_ac(&self, cpu: usize) -> AcRef {
        let generation = match self.era {
            Era::A => self.array_ptr[cpu].read_once(),
            Era::B => self.cpu_cache.read_dependent(),
        } as u64;
        AcRef { cpu, generation }
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
    /// read before `do_tune_cpucache` retired the CPU's array points at freed memory.
    /// Afterwards the words `drain_array` peeks at are brought up to date: `avail`
    /// when it changed, and `touched` when `f` set it (the array's `touched` field is only
    /// a "set" request; the word is the flag).
    fn deref_ac<R>(&self, ac: AcRef, what: &str, f: impl FnOnce(&mut ArrayCache) -> R) -> R {
        let b = self.buffer(ac.generation);
        let words = &self.cpu_words[ac.cpu][b];
        self.cpu_slots[ac.cpu][b].with_mut(|s| {
            assert!(
                s.generation == ac.generation && !s.freed,
                "use-after-free: {what}: cache {} array_cache of cpu{} (generation {}) was replaced and freed by do_tune_cpucache (stale ac)",
                self.name,
                ac.cpu,
                ac.generation
            );
            let r = f(&mut s.ac);
            if s.ac.touched {
                s.ac.touched = false;
                words.touched.write_once(1);
            }
            let avail = s.ac.avail();
            if avail != s.published_avail {
                s.published_avail = avail;
                words.avail.write_once(avail);
            }
            r
        })
    }

    /// `ac->touched` of a CPU array (its only copy is the peek word): read by
    /// `cache_alloc_refill` with interrupts off and by `drain_array` with them on.
    pub(crate) fn ac_touched(&self, ac: AcRef) -> bool {
        self.cpu_words[ac.cpu][self.buffer(ac.generation)]
            .touched
            .read_once()
            != 0
    }

    /// The peek words of CPU `cpu`'s array of generation `generation`.
    pub(crate) fn ac_words(&self, ac: AcRef) -> &AcWords<P> {
        &self.cpu_words[ac.cpu][self.buffer(ac.generation)]
    }

    /// Era A `do_ccupdate_local`: replaces a CPU's array in place, returning the old one.
    /// Needs that CPU's interrupts off.
    pub(crate) fn swap_cpu_array(&self, irq: &IrqOff<'_, P>, new: ArrayCache) -> ArrayCache {
        self.swap_in_place(irq.cpu(), new)
    }

    /// Same, without the CPU's irq protection (`tune-frees-array-early`, era A).
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
        self.swap_in_place(cpu, new)
    }

    fn swap_in_place(&self, cpu: usize, new: ArrayCache) -> ArrayCache {
        debug_assert_eq!(self.era, Era::A, "era B never replaces an array in place");
        self.cpu_slots[cpu][0].with_mut(|s| {
            self.next_array_a(cpu, s);
            std::mem::replace(&mut s.ac, new)
        })
    }

    /// Era A: `cachep->array[cpu]` gets a new pointer value (a swap, a NULL on CPU down,
    /// a new array on CPU up): the generation moves on, the reaper's pointer word follows,
    /// and the peek words start from an empty, untouched array.
    fn next_array_a(&self, cpu: usize, s: &mut CpuSlot) {
        let words = &self.cpu_words[cpu][0];
        s.generation += 1;
        self.array_ptr[cpu].write_once(s.generation as usize);
        s.published_avail = 0;
        words.avail.write_once(0);
        words.touched.write_once(0);
    }

    /// Era B, first half of `__do_tune_cpucache`: fills the per-CPU area of generation
    /// `generation` (not yet published, so no CPU can reach it) with a new empty array for
    /// every CPU.
    pub(crate) fn prepare_cpu_cache(&self, generation: u64, limit: usize, batchcount: usize) {
        let b = self.buffer(generation);
        for (slots, words) in self.cpu_slots.iter().zip(&self.cpu_words) {
            slots[b].with_mut(|s| {
                assert!(
                    s.freed,
                    "do_tune_cpucache: cache {} reuses a per-CPU area that is still live",
                    self.name
                );
                s.ac = ArrayCache::new(limit, batchcount);
                s.generation = generation;
                s.freed = false;
                s.published_avail = 0;
            });
            words[b].avail.write_once(0);
            words[b].touched.write_once(0);
        }
    }

    /// Era B: the entries of CPU `cpu`'s array of a retired generation (`per_cpu_ptr(prev,
    /// cpu)`), read by the tuner after `kick_all_cpus_sync` without that CPU's token.
    pub(crate) fn retired_entries(&self, cpu: usize, generation: u64) -> Vec<u64> {
        self.cpu_slots[cpu][self.buffer(generation)].with(|s| {
            assert_eq!(s.generation, generation, "retired array generation");
            s.ac.entry.clone()
        })
    }

    /// Era B `free_percpu(prev)`.
    pub(crate) fn free_cpu_cache(&self, generation: u64) {
        let b = self.buffer(generation);
        for slots in &self.cpu_slots {
            slots[b].with_mut(|s| s.freed = true);
        }
    }

    /// Era A `cpuup_canceled`: `nc = cachep->array[cpu]; cachep->array[cpu] = NULL`,
    /// returning the dead CPU's entries (for `free_block`; the array is then `kfree`d).
    /// No token: the CPU is dead, and `take_cpu_down` took its token last. `None` when
    /// the pointer was already NULL.
    pub(crate) fn take_dead_cpu_array(&self, cpu: usize) -> Option<Vec<u64>> {
        debug_assert_eq!(self.era, Era::A);
        self.cpu_slots[cpu][0].with_mut(|s| {
            if s.freed {
                return None;
            }
            s.freed = true;
            self.next_array_a(cpu, s);
            Some(std::mem::take(&mut s.ac.entry))
        })
    }

    /// Era B `cpuup_canceled`: `free_block(nc->entry, nc->avail)` of the dead CPU's
    /// current array and `nc->avail = 0` (the per-CPU area stays). Caller holds the
    /// node's `list_lock`; no token, as above.
    pub(crate) fn drain_dead_cpu_array(&self, cpu: usize) -> Vec<u64> {
        debug_assert_eq!(self.era, Era::B);
        let ac = self.current_ac(cpu);
        self.deref_ac(ac, "cpuup_canceled", |a| std::mem::take(&mut a.entry))
    }

    /// Era A `cpuup_prepare`: `cachep->array[cpu] = nc`, a new empty array of the current
    /// `limit` and `batchcount`, installed before the CPU is online (nothing can reach it).
    pub(crate) fn install_cpu_array(&self, cpu: usize) {
        debug_assert_eq!(self.era, Era::A);
        let t = self.tunables();
        self.cpu_slots[cpu][0].with_mut(|s| {
            assert!(
                s.freed,
                "cpuup_prepare: cpu{cpu} of cache {} already has an array",
                self.name
            );
            s.ac = ArrayCache::new(t.limit, t.batchcount);
            s.freed = false;
            self.next_array_a(cpu, s);
        });
    }

    /// The objects in CPU `cpu`'s current array, or none when its pointer is NULL (era A,
    /// CPU down). Quiescent readers only: the audit's "a CPU that is down owns no objects"
    /// and destroyed caches.
    pub(crate) fn cpu_array_entries(&self, cpu: usize) -> Vec<u64> {
        let ac = self.current_ac(cpu);
        self.cpu_slots[cpu][self.buffer(ac.generation)].with(|s| {
            if s.freed || s.generation != ac.generation {
                Vec::new()
            } else {
                s.ac.entry.clone()
            }
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

#[cfg(test)]
mod tests {
    use crate::testing::{create, panic_of, tiny};
    use crate::{Era, MutationSet};

    /// 2.6.24's `do_tune_cpucache` swaps each `cachep->array[cpu]` for a new array
    /// (`do_ccupdate_local`) and frees the old one: an `ac` pointer read before the swap
    /// is a dangling pointer afterwards. The model tells the two apart by the array's
    /// generation, which every new pointer value must move on; a pointer read after the
    /// swap is the live array.
    #[test]
    fn a_2_6_24_ac_read_before_a_tune_is_stale_after_it() {
        let m = tiny(Era::A, MutationSet::NONE, true);
        let c = create(&m, "g", 500);
        let before = c.current_ac(0);
        let limit = c.deref_ac(before, "test", |a| a.limit);
        assert_ne!(limit, 8, "the tune below changes the limit");
        m.tuner(0, "tuner")
            .do_tune_cpucache_checked(&c, 8, 4, 0)
            .expect("valid tunables");
        let after = c.current_ac(0);
        assert_ne!(after.generation, before.generation, "a new pointer value");
        assert_eq!(c.deref_ac(after, "test", |a| a.limit), 8);
        let msg = panic_of(|| {
            c.deref_ac(before, "test", |a| a.limit);
        });
        assert!(msg.contains("use-after-free"), "{msg}");
    }
}
