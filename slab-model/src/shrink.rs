//! `kmem_cache_shrink` and `kmem_cache_destroy`.

use crate::alloc::Access;
use crate::cache::KmemCache;
use crate::cpu::Context;
use crate::error::SlabError;
use crate::mutation::Mutation;
use crate::sync::{Lock, Platform};
use crate::trace::KFn;

impl<'m, P: Platform> Context<'m, P> {
    /// `kmem_cache_shrink(cachep)` (eras A, B), under `cache_chain_mutex`: drains every
    /// CPU array and every shared array back into the slabs, then destroys every free
    /// slab. Returns `true` (the kernel's 1) when full or partial slabs remain.
    pub fn kmem_cache_shrink(&mut self, cachep: &KmemCache<P>) -> Result<bool, SlabError> {
        if cachep.is_destroyed() {
            return Err(SlabError::CacheDestroyed(cachep.name.clone()));
        }
        self.enter(cachep.id, KFn::KmemCacheShrink);
        let chain = self.m.chain.lock();
        let r = self.__cache_shrink(cachep);
        drop(chain);
        self.m.audit_after_op();
        Ok(r)
    }

    /// `__cache_shrink` (eras A, B): `drain_cpu_caches`, then `drain_freelist` of every
    /// node with `free_objects` as the slab count (an over-estimate that means "all").
    pub(crate) fn __cache_shrink(&self, cachep: &KmemCache<P>) -> bool {
        self.enter(cachep.id, KFn::DunderCacheShrink);
        self.drain_cpu_caches(cachep);
        let mut remain = false;
        for node in 0..self.m.nodes() {
            let n = &cachep.nodes[node];
            let tofree = {
                let irq = self.local_irq_disable();
                let lock = n.spin_lock(&irq);
                n.lists(&lock, |l| l.free_objects)
            };
            self.drain_freelist(cachep, node, tofree);
            let irq = self.local_irq_disable();
            let lock = n.spin_lock(&irq);
            remain |= n.lists(&lock, |l| {
                !l.slabs.full.is_empty() || !l.slabs.partial.is_empty()
            });
        }
        remain
    }

    /// `drain_cpu_caches` (eras A, B): on each CPU with interrupts off there
    /// (`on_each_cpu(do_drain)`), `free_block` its whole array; then drain every node's
    /// alien arrays (all nodes first: an alien drain refills a remote shared array); then
    /// force-drain every node's shared array.
    pub(crate) fn drain_cpu_caches(&self, cachep: &KmemCache<P>) {
        let m = self.m;
        self.enter(cachep.id, KFn::DrainCpuCaches);
        for cpu in 0..m.cpus().len() {
            let irq = self.irq_off_on(cpu);
            let node = m.cpus()[cpu].node;
            let ac = cachep.cpu_cache_get(&irq);
            let objs = cachep.ac(&irq, ac, |a| std::mem::take(&mut a.entry));
            if objs.is_empty() {
                continue;
            }
            let lock = cachep.nodes[node].spin_lock(&irq);
            let doomed = self.free_block(cachep, &objs, node, &Access::Locked(&lock));
            self.destroy_doomed(cachep, doomed, lock, &irq);
        }
        // Aliens of every node before any shared array (kernel-facts §A.10): an alien
        // drain refills the remote shared array.
        for node in 0..m.nodes() {
            self.drain_alien_cache(cachep, node);
        }
        for node in 0..m.nodes() {
            self.drain_shared_array(cachep, node, true);
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
        self.enter(cachep.id, KFn::KmemCacheDestroy);
        let mut chain = m.chain.lock();
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
