//! Periodic reaping: `cache_reap`, `drain_array`, `drain_freelist`.

use crate::alloc::Access;
use crate::cache::KmemCache;
use crate::cpu::{Context, IrqState};
use crate::machine::REAPTIMEOUT_NODE;
use crate::mutation::Mutation;
use crate::site::Site;
use crate::sync::{PeekWord, Platform};
use crate::trace::{EventKind, KFn, ListKind, LockName};

/// What one `cache_reap` pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReapOutcome {
    /// `mutex_trylock(&cache_chain_mutex)` failed: nothing was done.
    pub skipped: bool,
    /// The CPU's reap work had been cancelled (`cpu_down`): it did not run.
    pub cancelled: bool,
    /// Objects returned from arrays to slabs.
    pub objects_drained: usize,
    /// Slabs destroyed by `drain_freelist`.
    pub slabs_freed: usize,
}

/// `drain_array`'s amount: all when forced, else `(limit + 4) / 5`, or half the array
/// (rounded up) when that is more than it holds.
pub fn drain_amount(limit: usize, avail: usize, force: bool) -> usize {
    if force {
        return avail;
    }
    let tofree = limit.div_ceil(5); // (limit + 4) / 5
    if tofree > avail {
        avail.div_ceil(2)
    } else {
        tofree
    }
}

impl<'m, P: Platform> Context<'m, P> {
    /// `cache_reap` (eras A, B) for this context's CPU, in process context with interrupts
    /// on. With `cache_chain_mutex` / `slab_mutex` (trylock: a busy chain means "try again
    /// next period"), for every cache: `reap_alien` of the rotor's node, `drain_array` of
    /// this CPU's array; then the node part, guarded by the kernel's "racy checks but it
    /// does not matter": `next_reap` is read and rewritten without `list_lock`, the shared
    /// array is drained, and `free_touched` is read and cleared without the lock — unless
    /// it was set, `drain_freelist` of `(free_limit + 5·num − 1) / (5·num)` slabs, with
    /// `free_limit` read unlocked too. The rotor then advances (`next_reap_node`).
    pub fn cache_reap(&mut self) -> ReapOutcome {
        let m = self.m;
        let mut out = ReapOutcome::default();
        // The work item runs under its workqueue's "running" state, which
        // cancel_delayed_work_sync waits for; a cancelled work does not run at all.
        m.cover_site(Site::ReapWork);
        let work = self.lock(
            &m.reap_work[self.cpu()],
            u32::MAX,
            LockName::ReapWork {
                cpu: self.cpu() as u16,
            },
        );
        if !*work {
            out.cancelled = true;
            return out;
        }
        m.cover_site(Site::ChainTrylock);
        let Some(chain) = self.try_lock(&m.chain, u32::MAX, self.chain_lock_name()) else {
            out.skipped = true;
            return out;
        };
        let ids = chain.ids.clone();
        let reap_node = m.next_reap_node(self.cpu());
        self.enter(u32::MAX, KFn::CacheReap);
        for id in ids {
            let cachep = m.cache_by_id(id);
            let node = self.node();
            let n = &cachep.nodes[node];
            self.reap_alien(&cachep, reap_node);
            let target = if m.mutations().has(Mutation::ReapForeignCpu) {
                // B.27: the work item runs on another CPU than the array it drains.
                (self.cpu() + 1) % m.cpus().len()
            } else {
                self.cpu()
            };
            out.objects_drained += self.drain_cpu_array(&cachep, target, false);
            let jiffies = m.jiffies();
            self.site(cachep.id, Site::NextReap);
            if n.peek.next_reap.read_once() as u64 > jiffies {
                continue;
            }
            n.peek
                .next_reap
                .write_once((jiffies + REAPTIMEOUT_NODE) as usize);
            out.objects_drained += self.drain_shared_array(&cachep, node, false);
            self.site(cachep.id, Site::FreeTouched);
            if n.peek.free_touched.read_once() != 0 {
                n.peek.free_touched.write_once(0);
            } else {
                self.site(cachep.id, Site::PeekFreeLimit);
                let tofree = n.peek_free_limit().div_ceil(5 * cachep.num());
                let freed = self.drain_freelist(&cachep, node, tofree);
                if let Some(st) = &cachep.stats {
                    st.add_reaped(freed);
                }
                out.slabs_freed += freed;
            }
        }
        drop(chain);
        drop(work);
        out
    }

    /// `drain_array(cachep, n, ac, force, node)` for a CPU's array (eras A, B), called
    /// with interrupts on (the reaper; `drain_cpu_caches` drains CPU arrays through
    /// `do_drain` instead). Peeks at `ac->avail` and `ac->touched` without the CPU's
    /// protection; if `touched` and not forced, clears it (also unlocked) and keeps
    /// everything. Otherwise `spin_lock_irq(&n->list_lock)`, re-checks `avail`, frees
    /// [`drain_amount`] objects from the bottom via `free_block`, shifts the rest down,
    /// `spin_unlock_irq`, and (era B) destroys emptied slabs with interrupts on.
    ///
    /// The `ac` pointer is read once, before the peek, as in the kernel; no tune can
    /// replace it meanwhile because `cache_reap` holds the chain mutex. Returns the
    /// objects freed.
    pub fn drain_cpu_array(&self, cachep: &KmemCache<P>, cpu: usize, force: bool) -> usize {
        let m = self.m;
        let muts = m.mutations();
        // cpu_cache_get(searchp) with interrupts on.
        let ac = cachep.current_ac(cpu);
        if cachep.era == crate::profile::Era::B {
            self.site(cachep.id, Site::ReadCpuCache);
        }
        let words = cachep.ac_words(ac);
        self.site(cachep.id, Site::PeekAcAvail);
        let peeked = words.avail.read_once();
        if peeked == 0 {
            return 0;
        }
        if !force {
            self.site(cachep.id, Site::PeekAcTouched);
            if words.touched.read_once() != 0 && !muts.has(Mutation::ReapIgnoresTouched) {
                self.site(cachep.id, Site::ClearAcTouched);
                words.touched.write_once(0);
                return 0;
            }
        }
        let irq = self.local_irq_disable();
        let foreign = cpu != irq.cpu();
        let touch = |f: &mut dyn FnMut(&mut crate::array_cache::ArrayCache)| {
            if foreign {
                cachep.ac_racy(
                    |c| self.cpu_irq_held(c),
                    ac,
                    "cache_reap drain_array of another CPU",
                    |a| f(a),
                )
            } else {
                cachep.ac(&irq, ac, |a| f(a))
            }
        };
        let node = m.cpus()[self.cpu()].node;
        let lock = cachep.nodes[node].spin_lock(&irq);
        let mut objs = Vec::new();
        touch(&mut |a| {
            let avail = if muts.has(Mutation::DrainArrayStaleAvail) {
                // The slip: trust the count read before the lock.
                peeked
            } else {
                // if (ac->avail): re-checked under the lock.
                a.avail()
            };
            if avail == 0 {
                return;
            }
            let n = drain_amount(a.limit, avail, force);
            assert!(
                n <= a.avail(),
                "drain_array: freeing {n} objects of cache {} from an array that holds {} (acted on a stale avail)",
                cachep.name,
                a.avail()
            );
            objs = a.entry[..n].to_vec();
        });
        if objs.is_empty() {
            drop(lock);
            self.local_irq_enable(irq);
            return 0;
        }
        self.enter(cachep.id, KFn::DrainArray);
        let doomed = self.free_block(cachep, &objs, node, &Access::Locked(&lock));
        touch(&mut |a| {
            a.take_bottom(objs.len(), muts);
        });
        self.spin_unlock_irq_slabs_destroy(cachep, doomed, lock, irq);
        objs.len()
    }

    /// `drain_array(cachep, n, n->shared, force, node)` (eras A, B), called with
    /// interrupts on and **without** `list_lock`: `n->shared` is read unlocked, then that
    /// array's `avail` and `touched` (cleared unlocked when set and not forced); only then
    /// `spin_lock_irq`, the `avail` re-check, `free_block` of [`drain_amount`] objects from
    /// the bottom, `spin_unlock_irq` and (era B) destruction with interrupts on.
    ///
    /// The pointer read early is what the kernel dereferences under the lock. The reaper
    /// holds the chain mutex, so no tune replaces the array meanwhile; era B's
    /// `kmem_cache_shrink` holds nothing, so a concurrent `/proc/slabinfo` write can
    /// replace and free it first: the use-after-free fixed in 4.7 ("mm/slab: fix the
    /// theoretical race by holding proper lock", see [`Self::drain_shared_array_locked`]).
    /// Returns the objects freed.
    pub fn drain_shared_array(&self, cachep: &KmemCache<P>, node: usize, force: bool) -> usize {
        self.drain_shared_array_for(cachep, node, force, "cache_reap")
    }

    /// [`Self::drain_shared_array`] with the caller named in a use-after-free report.
    pub(crate) fn drain_shared_array_for(
        &self,
        cachep: &KmemCache<P>,
        node: usize,
        force: bool,
        who: &str,
    ) -> usize {
        self.m.cover(KFn::DrainArray);
        let n = &cachep.nodes[node];
        self.site(cachep.id, Site::PeekSharedPtr);
        let id = n.peek_shared_ptr();
        if id == 0 {
            return 0;
        }
        let what = format!("drain_array ({who})");
        self.site(cachep.id, Site::PeekSharedAvail);
        if n.peek_shared_avail(id, &what) == 0 {
            return 0;
        }
        if !force {
            self.site(cachep.id, Site::PeekSharedTouched);
            let touched = n.shared_touched(id, &what);
            if touched.read_once() != 0 {
                self.site(cachep.id, Site::ClearSharedTouched);
                touched.write_once(0);
                return 0;
            }
        }
        let irq = self.local_irq_disable();
        let lock = n.spin_lock(&irq);
        self.drain_array_locked(cachep, node, id, force, &what, lock, irq)
    }

    /// The 4.7 shape of the shrink path's shared-array drain (`drain_array_locked` under
    /// `spin_lock_irq(&n->list_lock)`): `n->shared` is read under the lock, so a tune can
    /// no longer free it in between. Used by `drain_cpu_caches` when the
    /// `fix-shrink-shared-locked` switch removes the 4.4 race from era B.
    pub fn drain_shared_array_locked(&self, cachep: &KmemCache<P>, node: usize) -> usize {
        self.m.cover(KFn::DrainArray);
        let n = &cachep.nodes[node];
        let irq = self.local_irq_disable();
        let lock = n.spin_lock(&irq);
        let id = n.lists(&lock, |l| l.shared_id);
        self.drain_array_locked(cachep, node, id, true, "drain_array_locked", lock, irq)
    }

    /// The locked half of `drain_array` on a shared array: re-check `avail`, free from the
    /// bottom, unlock (interrupts on again) and destroy per era.
    #[allow(clippy::too_many_arguments)]
    fn drain_array_locked(
        &self,
        cachep: &KmemCache<P>,
        node: usize,
        id: u64,
        force: bool,
        what: &str,
        lock: crate::node::NodeLock<'_, P>,
        irq: crate::cpu::IrqOff<'m, P>,
    ) -> usize {
        let muts = self.m.mutations();
        let n = &cachep.nodes[node];
        let objs = n.lists(&lock, |l| {
            let Some(shared) = n.shared_at(l, id, what) else {
                return Vec::new();
            };
            if shared.avail() == 0 {
                return Vec::new();
            }
            let k = drain_amount(shared.limit, shared.avail(), force);
            shared.take_bottom(k, muts)
        });
        let doomed = if objs.is_empty() {
            Vec::new()
        } else {
            self.free_block(cachep, &objs, node, &Access::Locked(&lock))
        };
        self.spin_unlock_irq_slabs_destroy(cachep, doomed, lock, irq);
        objs.len()
    }

    /// `drain_freelist(cache, n, tofree)` (eras A, B), interrupts on: while fewer than
    /// `tofree` **slabs** were freed and `slabs_free` looks non-empty (an unlocked
    /// `list_empty`), `spin_lock_irq`, re-check and unlink the tail of `slabs_free`,
    /// `free_objects -= num`, `spin_unlock_irq`, and destroy the slab with interrupts on.
    /// Returns the slabs destroyed.
    pub fn drain_freelist(&self, cachep: &KmemCache<P>, node: usize, tofree: usize) -> usize {
        self.m.cover(KFn::DrainFreelist);
        let muts = self.m.mutations();
        let mut freed = 0;
        let n = &cachep.nodes[node];
        while freed < tofree {
            self.site(cachep.id, Site::PeekSlabsFree);
            if !n.peek_slabs_free() {
                break;
            }
            let irq = self.local_irq_disable();
            let lock = n.spin_lock(&irq);
            let slab = n.lists(&lock, |l| {
                let id = match l.slabs.free.last() {
                    Some(id) => id,
                    None if muts.has(Mutation::DrainFreelistNoRecheck) => panic!(
                        "drain_freelist: slabs_free of node{node} of cache {} is empty under list_lock although the unlocked list_empty said otherwise: list_entry() of the list head (list corruption)",
                        cachep.name
                    ),
                    None => return None,
                };
                l.slabs.list_del(id);
                l.free_objects -= cachep.num();
                Some(l.slabs.remove(id))
            });
            drop(lock);
            self.local_irq_enable(irq);
            let Some(slab) = slab else {
                break;
            };
            self.trace(
                cachep.id,
                EventKind::ListMove {
                    slab: slab.pfn,
                    from: ListKind::Free,
                    to: ListKind::None,
                },
            );
            self.slab_destroy(cachep, slab, IrqState::On);
            freed += 1;
        }
        freed
    }
}
