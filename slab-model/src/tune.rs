//! Tuning: the `/proc/slabinfo` write and `do_tune_cpucache`.

use crate::alloc::Access;
use crate::array_cache::{ArrayCache, BAADF00D};
use crate::cache::KmemCache;
use crate::cpu::Context;
use crate::error::SlabError;
use crate::geometry::Tunables;
use crate::mutation::Mutation;
use crate::profile::Era;
use crate::site::Site;
use crate::sync::{PeekWord, Platform, TrackedCell};
use crate::trace::KFn;

/// Longest `/proc/slabinfo` write the kernel accepts (`MAX_SLABINFO_WRITE`).
pub const MAX_SLABINFO_WRITE: usize = 128;

impl<'m, P: Platform> Context<'m, P> {
    /// `slabinfo_write`: parses `"<name> <limit> <batchcount> <shared>"` and tunes the
    /// named cache. The kernel silently ignores invalid values; the model returns a typed
    /// error instead, before changing anything.
    pub fn slabinfo_write(&mut self, line: &str) -> Result<(), SlabError> {
        self.check_running()?;
        if line.len() > MAX_SLABINFO_WRITE {
            return Err(SlabError::SlabinfoSyntax(format!(
                "write of {} bytes exceeds {MAX_SLABINFO_WRITE}",
                line.len()
            )));
        }
        let mut it = line.split_whitespace();
        let (Some(name), Some(l), Some(b), Some(s), None) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(SlabError::SlabinfoSyntax(format!(
                "expected `<name> <limit> <batchcount> <shared>`, got `{line}`"
            )));
        };
        let num = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| SlabError::SlabinfoSyntax(format!("`{v}` is not a number")))
        };
        let (limit, batchcount, shared) = (num(l)?, num(b)?, num(s)?);
        let cachep = self
            .m
            .find_cache(name)
            .ok_or_else(|| SlabError::NoSuchCache(name.to_string()))?;
        self.do_tune_cpucache_checked(&cachep, limit, batchcount, shared)
    }

    /// Validates tunables as `slabinfo_write` does (`limit >= 1`, `1 <= batchcount <=
    /// limit`, `shared >= 0`), then `do_tune_cpucache`.
    pub fn do_tune_cpucache_checked(
        &mut self,
        cachep: &KmemCache<P>,
        limit: i64,
        batchcount: i64,
        shared: i64,
    ) -> Result<(), SlabError> {
        self.check_running()?;
        if cachep.is_destroyed() {
            return Err(SlabError::CacheDestroyed(cachep.name.clone()));
        }
        if limit < 1
            || batchcount < 1
            || batchcount > limit
            || shared < 0
            || limit > 1 << 20
            || shared > 1 << 10
        {
            return Err(SlabError::InvalidTunables {
                cache: cachep.name.clone(),
                limit,
                batchcount,
                shared,
            });
        }
        // 4.4's slabinfo_write takes slab_mutex only; the fix switch adds get_online_cpus.
        let online = self
            .m
            .mutations()
            .has(Mutation::FixTuneOnlineCpus)
            .then(|| self.m.get_online_cpus(self.lane()))
            .flatten();
        self.do_tune_cpucache(cachep, limit as usize, batchcount as usize, shared as usize);
        drop(online);
        self.m.audit_after_op();
        Ok(())
    }

    /// `do_tune_cpucache(cachep, limit, batchcount, shared)` (era A) /
    /// `__do_tune_cpucache` (era B), under `cache_chain_mutex` / `slab_mutex`, process
    /// context with interrupts on:
    /// 1. new empty per-CPU arrays are installed —
    ///    * era A: `on_each_cpu(do_ccupdate_local)`: each CPU swaps its own
    ///      `array[cpu]` pointer with its interrupts off, so no CPU can be using the old
    ///      array afterwards;
    ///    * era B: one `cachep->cpu_cache = cpu_cache` publish, then
    ///      `kick_all_cpus_sync()`. Until the kick returns, a CPU inside an irq-off section
    ///      keeps using the array it read before the publish (and one section may read
    ///      both); the kick waits for every CPU to pass an irq-enabled point;
    /// 2. the cache's tunables are set;
    /// 3. each old array is `free_block`ed under its node's `spin_lock_irq`, emptied slabs
    ///    destroyed per era ([`Self::spin_unlock_irq_slabs_destroy`]), the arrays freed;
    /// 4. `alloc_kmemlist` / `alloc_kmem_cache_node`.
    pub fn do_tune_cpucache(
        &mut self,
        cachep: &KmemCache<P>,
        limit: usize,
        batchcount: usize,
        shared: usize,
    ) {
        let m = self.m;
        let muts = m.mutations();
        m.cover_site(Site::ChainMutex);
        let _chain = self.lock(&m.chain, cachep.id, self.chain_lock_name());
        self.enter(cachep.id, KFn::DoTuneCpucache);
        let cpus = m.cpus().len();
        let t = Tunables {
            limit,
            batchcount,
            shared,
        };
        match m.era() {
            Era::A => {
                // for_each_online_cpu: an offline CPU's array stays NULL (the hot-plug
                // holds the chain mutex for its whole operation, so the mask is stable).
                let mut old = Vec::with_capacity(cpus);
                for cpu in (0..cpus).filter(|&c| m.cpu_online(c)) {
                    let new = ArrayCache::new(limit, batchcount);
                    if muts.has(Mutation::TuneFreesArrayEarly) {
                        // The slip: replace and drain the old array without waiting for
                        // the CPU to leave its irq-off section.
                        let held = self.cpu_irq_held(cpu);
                        old.push((cpu, cachep.swap_cpu_array_racy(cpu, held, new)));
                    } else {
                        let irq = self.irq_off_on(cpu);
                        old.push((cpu, cachep.swap_cpu_array(&irq, new)));
                    }
                }
                cachep.tunables.with_mut(|x| *x = t);
                for (cpu, ccold) in old {
                    self.free_block_old_array(cachep, cpu, &ccold.entry);
                }
            }
            Era::B => {
                let prev = cachep.cpu_cache.read_once() as u64;
                let next = prev + 1;
                cachep.prepare_cpu_cache(next, limit, batchcount);
                self.site(cachep.id, Site::PublishCpuCache);
                cachep.cpu_cache.publish(next as usize);
                if !muts.has(Mutation::TuneFreesArrayEarly) {
                    self.kick_all_cpus_sync(cachep.id);
                }
                cachep.tunables.with_mut(|x| *x = t);
                // for_each_online_cpu, read now: nothing stops a CPU from going down
                // between the kick and this loop (4.4's slabinfo_write takes only
                // slab_mutex, and take_cpu_down needs none), so an array it skips here
                // is freed with whatever it holds.
                for cpu in (0..cpus).filter(|&c| m.cpu_online(c)) {
                    let entries = cachep.retired_entries(cpu, prev);
                    self.free_block_old_array(cachep, cpu, &entries);
                }
                // free_percpu(prev)
                cachep.free_cpu_cache(prev);
            }
        }
        self.alloc_kmemlist(cachep, &t);
    }

    /// Step 3 of the tune for one CPU's old array: `spin_lock_irq(&n->list_lock)`,
    /// `free_block(ac->entry, ac->avail)`, `spin_unlock_irq`, destruction per era. The
    /// lock is taken even for an empty array, as in the kernel.
    fn free_block_old_array(&self, cachep: &KmemCache<P>, cpu: usize, entries: &[u64]) {
        let node = self.m.cpus()[cpu].node;
        let irq = self.local_irq_disable();
        let lock = cachep.nodes[node].spin_lock(&irq);
        let doomed = if entries.is_empty() {
            Vec::new()
        } else {
            self.free_block(cachep, entries, node, &Access::Locked(&lock))
        };
        self.spin_unlock_irq_slabs_destroy(cachep, doomed, lock, irq);
    }

    /// `alloc_kmemlist` (era A) / `alloc_kmem_cache_node` (era B) for a live cache: per
    /// node a new shared array of `shared × batchcount`; `shared = n->shared` is read
    /// without the lock (the tuner is its only writer); then under `spin_lock_irq` the old
    /// array's objects are `free_block`ed — with the **old** `free_limit` — and only then
    /// `n->shared` and `free_limit` are replaced; `spin_unlock_irq`, emptied slabs
    /// destroyed per era, `kfree(shared)`. The old array's `avail` is not cleared: a
    /// reader holding the old pointer still sees its objects.
    fn alloc_kmemlist(&self, cachep: &KmemCache<P>, t: &Tunables) {
        let m = self.m;
        for node in 0..m.nodes() {
            let new_shared =
                (t.shared > 0).then(|| ArrayCache::new(t.shared * t.batchcount, BAADF00D));
            let n = &cachep.nodes[node];
            let old_id = n.peek_shared_ptr();
            let irq = self.local_irq_disable();
            let lock = n.spin_lock(&irq);
            let old_entries = n.lists(&lock, |l| {
                assert_eq!(
                    l.shared_id, old_id,
                    "alloc_kmemlist: n->shared changed under the tuner"
                );
                l.shared
                    .as_ref()
                    .map(|s| s.entry.clone())
                    .unwrap_or_default()
            });
            let doomed = if old_entries.is_empty() {
                Vec::new()
            } else {
                self.free_block(cachep, &old_entries, node, &Access::Locked(&lock))
            };
            let free_limit = crate::geometry::free_limit(m.nr_cpus_node(node), t, cachep.num());
            n.lists(&lock, |l| {
                l.replace_shared(new_shared);
                l.free_limit = free_limit;
            });
            n.limit_deficit
                .store(0, std::sync::atomic::Ordering::SeqCst);
            if !n.alien_attached() && m.numa() {
                // `if (!n->alien) n->alien = new_alien`: a node whose CPUs are all down
                // gets its alien set back (empty, sized for the new limit).
                self.reattach_alien(cachep, node, &lock, &irq, t.limit);
            }
            self.spin_unlock_irq_slabs_destroy(cachep, doomed, lock, irq);
            n.kfree_shared(old_id);
        }
    }
}
