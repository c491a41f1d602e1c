//! Tuning: the `/proc/slabinfo` write and `do_tune_cpucache`.

use crate::alloc::Access;
use crate::array_cache::{ArrayCache, BAADF00D};
use crate::cache::KmemCache;
use crate::cpu::Context;
use crate::error::SlabError;
use crate::geometry::Tunables;
use crate::mutation::Mutation;
use crate::sync::{Lock, Platform, TrackedCell};
use crate::trace::KFn;

/// Longest `/proc/slabinfo` write the kernel accepts (`MAX_SLABINFO_WRITE`).
pub const MAX_SLABINFO_WRITE: usize = 128;

impl<'m, P: Platform> Context<'m, P> {
    /// `slabinfo_write`: parses `"<name> <limit> <batchcount> <shared>"` and tunes the
    /// named cache. The kernel silently ignores invalid values; the model returns a typed
    /// error instead, before changing anything.
    pub fn slabinfo_write(&mut self, line: &str) -> Result<(), SlabError> {
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
        self.do_tune_cpucache(cachep, limit as usize, batchcount as usize, shared as usize);
        self.m.audit_after_op();
        Ok(())
    }

    /// `do_tune_cpucache(cachep, limit, batchcount, shared)` (eras A, B), under
    /// `cache_chain_mutex`:
    /// 1. a new empty array per CPU, installed on each CPU with interrupts off there
    ///    (era A `on_each_cpu(do_ccupdate_local)`; era B swaps `cpu_cache` and
    ///    `kick_all_cpus_sync()`s — both mean no CPU is still inside an irq-off section
    ///    using the old array when it is drained);
    /// 2. the cache's tunables are set;
    /// 3. each old array is `free_block`ed under its node's `list_lock`;
    /// 4. `alloc_kmemlist`: per node a new shared array of `shared * batchcount`
    ///    replaces the old one (whose objects are freed) and `free_limit` is recomputed.
    pub fn do_tune_cpucache(
        &mut self,
        cachep: &KmemCache<P>,
        limit: usize,
        batchcount: usize,
        shared: usize,
    ) {
        let m = self.m;
        let muts = m.mutations();
        let _chain = m.chain.lock();
        self.enter(cachep.id, KFn::DoTuneCpucache);
        let cpus = m.cpus().len();
        let mut old = Vec::with_capacity(cpus);
        for cpu in 0..cpus {
            let new = ArrayCache::new(limit, batchcount);
            if muts.has(Mutation::TuneFreesArrayEarly) {
                // The slip: replace and drain the old array without waiting for the CPU to
                // leave its irq-off section.
                let held = self.cpu_irq_held(cpu);
                old.push(cachep.swap_cpu_array_racy(cpu, held, new));
            } else {
                let irq = self.irq_off_on(cpu);
                old.push(cachep.swap_cpu_array(&irq, new));
            }
        }
        let t = Tunables {
            limit,
            batchcount,
            shared,
        };
        cachep.tunables.with_mut(|x| *x = t);
        for (cpu, ccold) in old.into_iter().enumerate() {
            if ccold.entry.is_empty() {
                continue;
            }
            let node = m.cpus()[cpu].node;
            let irq = self.local_irq_disable();
            let lock = cachep.nodes[node].spin_lock(&irq);
            let doomed = self.free_block(cachep, &ccold.entry, node, &Access::Locked(&lock));
            self.destroy_doomed(cachep, doomed, lock, &irq);
            self.local_irq_enable(irq);
        }
        // alloc_kmemlist
        for node in 0..m.nodes() {
            let new_shared = (shared > 0).then(|| ArrayCache::new(shared * batchcount, BAADF00D));
            let irq = self.local_irq_disable();
            let n = &cachep.nodes[node];
            let lock = n.spin_lock(&irq);
            let old_shared = n.lists(&lock, |l| {
                l.free_limit = crate::geometry::free_limit(m.profile(), node, &t, cachep.num());
                std::mem::replace(&mut l.shared, new_shared)
            });
            let doomed = match old_shared {
                Some(s) if !s.entry.is_empty() => {
                    self.free_block(cachep, &s.entry, node, &Access::Locked(&lock))
                }
                _ => Vec::new(),
            };
            self.destroy_doomed(cachep, doomed, lock, &irq);
            self.local_irq_enable(irq);
        }
    }
}
