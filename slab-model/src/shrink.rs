//! `kmem_cache_shrink` and `kmem_cache_destroy`.

use crate::alloc::Access;
use crate::cache::KmemCache;
use crate::cpu::Context;
use crate::error::SlabError;
use crate::mutation::Mutation;
use crate::profile::Era;
use crate::site::Site;
use crate::sync::Platform;
use crate::trace::KFn;

impl<'m, P: Platform> Context<'m, P> {
    /// `kmem_cache_shrink(cachep)`: drains every CPU array, alien array and shared array
    /// back into the slabs, then destroys every free slab. Returns `true` (the kernel's 1)
    /// when full or partial slabs remain. Era A holds `cache_chain_mutex` throughout
    /// (mm/slab.c v2.6.24); era B takes **no** `slab_mutex` (mm/slab_common.c v4.4:
    /// only `get_online_cpus` / `get_online_mems`, which exclude CPU hot-plug but not a
    /// `/proc/slabinfo` write), so its unlocked `n->shared` drain races a tune — the
    /// race 4.7 fixed (`fix-shrink-shared-locked`).
    pub fn kmem_cache_shrink(&mut self, cachep: &KmemCache<P>) -> Result<bool, SlabError> {
        if cachep.is_destroyed() {
            return Err(SlabError::CacheDestroyed(cachep.name.clone()));
        }
        self.check_running()?;
        self.enter(cachep.id, KFn::KmemCacheShrink);
        let r = match self.m.era() {
            Era::A => {
                self.m.cover_site(Site::ChainMutex);
                let chain = self.lock(&self.m.chain, cachep.id, self.chain_lock_name());
                let r = self.__cache_shrink(cachep);
                drop(chain);
                r
            }
            Era::B => {
                let online = self.m.get_online_cpus(self.lane());
                let r = self.__cache_shrink(cachep);
                drop(online);
                r
            }
        };
        self.m.audit_after_op();
        Ok(r)
    }

    /// `__cache_shrink` (era A) / `__kmem_cache_shrink` (era B), interrupts on:
    /// `drain_cpu_caches`, then per node `drain_freelist` with a slab count read without
    /// `list_lock` (era A passes `free_objects` itself, an over-estimate; era B
    /// `slabs_tofree`, `free_objects` rounded up to slabs), then the unlocked
    /// `list_empty` of `slabs_full` and `slabs_partial` for the result.
    pub(crate) fn __cache_shrink(&self, cachep: &KmemCache<P>) -> bool {
        self.enter(cachep.id, KFn::DunderCacheShrink);
        self.drain_cpu_caches(cachep);
        let mut remain = false;
        for node in 0..self.m.nodes() {
            let n = &cachep.nodes[node];
            self.site(cachep.id, Site::PeekFreeObjects);
            let free_objects = n.peek_free_objects();
            let tofree = match self.m.era() {
                Era::A => free_objects,
                Era::B => free_objects.div_ceil(cachep.num()),
            };
            self.drain_freelist(cachep, node, tofree);
            self.site(cachep.id, Site::PeekSlabsInuse);
            remain |= n.peek_slabs_inuse();
        }
        remain
    }

    /// `drain_cpu_caches` (eras A, B): `on_each_cpu(do_drain)` — on each CPU with its
    /// interrupts off, `free_block` its whole array under the node lock (`spin_lock`),
    /// destroy emptied slabs (still irq-off), `ac->avail = 0`; then, interrupts on, every
    /// node's alien arrays (all nodes first: an alien drain refills a remote shared array,
    /// B.9); then every node's shared array, forced — through the unlocked `n->shared`
    /// read of 2.6.24 and 4.4, or under `list_lock` with `fix-shrink-shared-locked` (4.7).
    pub(crate) fn drain_cpu_caches(&self, cachep: &KmemCache<P>) {
        let m = self.m;
        self.enter(cachep.id, KFn::DrainCpuCaches);
        // on_each_cpu reaches the online CPUs (the hot-plug is excluded: era A by the
        // chain mutex, era B by get_online_cpus).
        for cpu in (0..m.cpus().len()).filter(|&c| m.cpu_online(c)) {
            // do_drain, run by the IPI on `cpu`.
            let irq = self.irq_off_on(cpu);
            let node = m.cpus()[cpu].node;
            let ac = self.cpu_cache_get(cachep, &irq);
            let objs = cachep.ac(&irq, ac, |a| a.entry.clone());
            let lock = cachep.nodes[node].spin_lock(&irq);
            let doomed = if objs.is_empty() {
                Vec::new()
            } else {
                self.free_block(cachep, &objs, node, &Access::Locked(&lock))
            };
            self.spin_unlock_slabs_destroy(cachep, doomed, lock, &irq);
            cachep.ac(&irq, ac, |a| a.entry.clear());
        }
        // Aliens of every node before any shared array ("slab: Fix kmem_cache_destroy() on
        // NUMA", 2.6.17): an alien drain refills the remote shared array.
        for node in 0..m.nodes() {
            self.drain_alien_cache(cachep, node);
        }
        let fixed = m.mutations().has(Mutation::FixShrinkSharedLocked);
        for node in 0..m.nodes() {
            if fixed {
                self.drain_shared_array_locked(cachep, node);
            } else {
                self.drain_shared_array_for(cachep, node, true, "kmem_cache_shrink");
            }
        }
    }

    /// `kmem_cache_destroy(cachep)` (eras A, B). With objects still allocated it fails
    /// cleanly *before* touching anything ("Can't free all objects" / "Slab cache still
    /// has objects"), and the cache stays fully usable. Otherwise, under
    /// `cache_chain_mutex`, the cache leaves the chain, is shrunk (every page returns to
    /// the page allocator) and is released.
    pub fn kmem_cache_destroy(&mut self, cachep: &KmemCache<P>) -> Result<(), SlabError> {
        let m = self.m;
        if cachep.is_destroyed() {
            return Err(SlabError::CacheDestroyed(cachep.name.clone()));
        }
        let live = m.live_objects(cachep);
        let despite = m.mutations().has(Mutation::DestroyDespiteLiveObjects);
        if live > 0 && !despite {
            return Err(SlabError::CacheHasObjects {
                cache: cachep.name.clone(),
                live,
            });
        }
        self.check_running()?;
        self.enter(cachep.id, KFn::KmemCacheDestroy);
        // Both eras hold the chain mutex here (era B: slab_common's kmem_cache_destroy
        // takes get_online_cpus, then slab_mutex around __kmem_cache_shutdown).
        let _online = m.get_online_cpus(self.lane());
        m.cover_site(Site::ChainMutex);
        let mut chain = self.lock(&m.chain, cachep.id, self.chain_lock_name());
        let pos = chain
            .ids
            .iter()
            .position(|&i| i == cachep.id)
            .expect("a live cache is on the chain");
        chain.ids.remove(pos);
        if self.__cache_shrink(cachep) && !despite {
            // Only a model bug gets here (no caller-owned objects, yet slabs in use).
            chain.ids.insert(pos, cachep.id);
            return Err(SlabError::CacheHasObjects {
                cache: cachep.name.clone(),
                live,
            });
        }
        // B.32: with the mutation the descriptor is released although slabs remain.
        cachep.mark_destroyed();
        drop(chain);
        m.audit_after_op();
        Ok(())
    }
}
