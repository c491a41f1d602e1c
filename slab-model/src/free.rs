//! The free path: `kmem_cache_free` → `__cache_free` → `cache_flusharray` (to the shared
//! array, else `free_block`) → `free_block` (back into slabs; empty slabs past
//! `free_limit` destroyed) → `slab_destroy`.

use crate::alloc::{with_lists, Access};
use crate::cache::{AcRef, KmemCache};
use crate::cpu::{Context, IrqOff, IrqState};
use crate::debug::{check_slabp, slab_put_obj_debugcheck};
use crate::error::SlabError;
use crate::machine::Owner;
use crate::memory::{PhysMem, PG_SLAB};
use crate::mutation::Mutation;
use crate::node::NodeLock;
use crate::profile::Era;
use crate::slab::Slab;
use crate::sync::Platform;
use crate::trace::{EventKind, KFn, ListKind, Place};
use std::sync::Arc;

/// `virt_to_page(objp)` of a slab page: the id of its cache (`page->slab_cache`) and
/// the slab's `s_mem`, or [`SlabError::NotSlabObject`].
fn page_of(mem: &PhysMem, objp: u64) -> Result<(u32, u64), SlabError> {
    let not_slab = SlabError::NotSlabObject { addr: objp };
    let pfn = mem
        .virt_to_pfn(objp)
        .filter(|&p| mem.pfn_valid(p))
        .ok_or(not_slab.clone())?;
    match mem.page(pfn) {
        Some(r) if r.flags & PG_SLAB != 0 => r.slab_cache.map(|id| (id, r.s_mem)).ok_or(not_slab),
        _ => Err(not_slab),
    }
}

impl<'m, P: Platform> Context<'m, P> {
    /// Validates a pointer handed to `kfree` before anything changes: it must lie in a
    /// `PG_slab` page (`virt_to_page`), be the start of an object of that slab
    /// (`obj_to_index` round trip) and be currently allocated to a caller (else it is a
    /// double free). Returns the owning cache (`virt_to_cache`) with the caller's
    /// ownership dropped, or `None` when a red-zoned DEBUG cache reported the double free
    /// the kernel's way (nothing more to do: see `debug_double_free`).
    pub(crate) fn check_free(&self, objp: u64) -> Result<Option<Arc<KmemCache<P>>>, SlabError> {
        self.check_running()?;
        let (id, _) = page_of(&self.m.mem(), objp)?;
        let cachep = self.m.cache_by_id(id);
        Ok(self.claim_free(&cachep, objp)?.then_some(cachep))
    }

    /// The checks of [`Self::check_free`] in the cache `cachep` the caller named or the
    /// page gave, in one section of the host lock: the page is still `cachep`'s slab
    /// (`kmem_cache_free`'s "wrong cache" check), the cache is live, `objp` starts an
    /// object, a caller holds it. On success the shadow map forgets it in the same
    /// section, so a second free of the same pointer, even a concurrent one, is a double
    /// free. `Ok(false)`: a red-zoned double free the DEBUG check reported.
    fn claim_free(&self, cachep: &KmemCache<P>, objp: u64) -> Result<bool, SlabError> {
        let mut host = self.m.host();
        let (id, s_mem) = page_of(&host.mem, objp)?;
        if id != cachep.id {
            drop(host);
            return Err(SlabError::WrongCache {
                addr: objp,
                expected: cachep.name.clone(),
                actual: self.m.cache_by_id(id).name.clone(),
            });
        }
        if cachep.is_destroyed() {
            return Err(SlabError::CacheDestroyed(cachep.name.clone()));
        }
        let size = cachep.size() as u64;
        let start = s_mem + cachep.geo.obj_offset as u64;
        let inside = objp >= start
            && (objp - start).is_multiple_of(size)
            && ((objp - start) / size) < cachep.num() as u64;
        if !inside {
            return Err(SlabError::NotObjectStart {
                cache: cachep.name.clone(),
                addr: objp,
            });
        }
        match host.shadow.objects.get(&objp).map(|&(_, o)| o) {
            Some(Owner::Caller) => {
                host.shadow.remove(objp);
                Ok(true)
            }
            Some(Owner::SlabDescriptor) => Err(SlabError::NotOwned {
                cache: cachep.name.clone(),
                addr: objp,
            }),
            None => {
                // The DEBUG check reads object memory: under the host lock of its own.
                drop(host);
                if self.debug_double_free(cachep, objp) {
                    Ok(false)
                } else {
                    Err(SlabError::DoubleFree {
                        cache: cachep.name.clone(),
                        addr: objp,
                    })
                }
            }
        }
    }

    /// `kmem_cache_free(cachep, objp)` (eras A, B): `local_irq_save`, `__cache_free`,
    /// `local_irq_restore`. Misuse (see [`SlabError`]) is rejected before any change.
    pub fn kmem_cache_free(&mut self, cachep: &KmemCache<P>, objp: u64) -> Result<(), SlabError> {
        self.check_running()?;
        if !self.claim_free(cachep, objp)? {
            return Ok(());
        }
        self.enter(cachep.id, KFn::KmemCacheFree);
        self.free_checked(cachep, objp);
        Ok(())
    }

    /// The body shared by `kmem_cache_free` and `kfree` once the pointer is validated
    /// and the caller's ownership dropped: `local_irq_save`, `__cache_free`,
    /// `local_irq_restore`.
    pub(crate) fn free_checked(&mut self, cachep: &KmemCache<P>, objp: u64) {
        let irq = self.local_irq_disable();
        self.trace(
            cachep.id,
            EventKind::Object {
                addr: objp,
                alloc: false,
            },
        );
        self.__cache_free(cachep, objp, &irq);
        self.local_irq_enable(irq);
        self.m.audit_after_op();
    }

    /// `__cache_free(cachep, objp)` (eras A, B), interrupts off: push onto this CPU's
    /// array, flushing a batch first when it is full. On a NUMA machine an object of a
    /// remote node goes to this node's alien array for that node (`cache_free_alien`).
    pub(crate) fn __cache_free(&self, cachep: &KmemCache<P>, objp: u64, irq: &IrqOff<'m, P>) {
        self.m.cover(KFn::DunderCacheFree);
        // From here on the slot, as the arrays hold it (obj_offset is 0 without DEBUG).
        let objp = self.cache_free_debugcheck(cachep, objp, irq);
        // Read once, before the alien check, and handed to cache_flusharray: in era B a
        // tune may publish a new array meanwhile, and this section keeps using this one.
        let ac = self.cpu_cache_get(cachep, irq);
        if self.m.numa() {
            let obj_node = {
                let mem = self.m.mem();
                let pfn = mem.virt_to_pfn(objp).expect("validated");
                mem.page(pfn).expect("validated").node as usize
            };
            if obj_node != self.node() {
                self.cache_free_alien(cachep, objp, obj_node, irq);
                return;
            }
        }
        // One access on the fast path: push if there is room, else report full.
        let full = !cachep.ac(irq, ac, |a| {
            let room = a.avail() < a.limit;
            if room {
                a.push(objp);
            }
            room
        });
        if let Some(st) = &cachep.stats {
            if full && !self.m.mutations().has(Mutation::StatsFreehitOnFlush) {
                st.inc_freemiss(irq);
            } else {
                st.inc_freehit(irq);
            }
        }
        if full {
            self.cache_flusharray(cachep, ac, irq);
            cachep.ac(irq, ac, |a| a.push(objp));
        }
        self.trace(
            cachep.id,
            EventKind::ObjectsMoved {
                from: Place::Caller,
                to: Place::CpuArray(irq.cpu() as u16),
                count: 1,
            },
        );
    }

    /// `cache_flusharray(cachep, ac)` (eras A, B), interrupts off, takes `list_lock`:
    /// moves `batchcount` objects from the **bottom** of the array to the top of the
    /// node's shared array if it has room (at most the room), else `free_block`s them;
    /// then shifts the survivors down.
    fn cache_flusharray(&self, cachep: &KmemCache<P>, ac: AcRef, irq: &IrqOff<'m, P>) {
        let muts = self.m.mutations();
        self.enter(cachep.id, KFn::CacheFlusharray);
        let (mut batchcount, avail) = cachep.ac(irq, ac, |a| (a.batchcount, a.avail()));
        assert!(
            batchcount > 0 && batchcount <= avail,
            "cache_flusharray: BUG_ON(!batchcount || batchcount > ac->avail) in cache {}",
            cachep.name
        );
        let node = self.node();
        let n = &cachep.nodes[node];
        let lock = n.spin_lock(irq);
        let to_shared = n.lists(&lock, |l| {
            let shared = l.shared.as_mut()?;
            let max = shared.limit - shared.avail();
            if max == 0 {
                return None;
            }
            batchcount = batchcount.min(max);
            let objs = cachep.ac(irq, ac, |a| a.entry[..batchcount].to_vec());
            shared.entry.extend_from_slice(&objs);
            Some(batchcount)
        });
        let doomed;
        if let Some(moved) = to_shared {
            self.trace(
                cachep.id,
                EventKind::ObjectsMoved {
                    from: Place::CpuArray(irq.cpu() as u16),
                    to: Place::Shared(node as u16),
                    count: moved as u32,
                },
            );
            doomed = Vec::new();
        } else {
            let objs = cachep.ac(irq, ac, |a| a.entry[..batchcount].to_vec());
            if muts.has(Mutation::FreeBlockUnlocked) {
                drop(lock);
                let doomed = self.free_block_racy(cachep, &objs, node);
                for s in doomed {
                    self.slab_destroy(cachep, s, IrqState::Off(irq));
                }
                cachep.ac(irq, ac, |a| a.take_bottom(batchcount, muts));
                return;
            }
            doomed = self.free_block(cachep, &objs, node, &Access::Locked(&lock));
        }
        // free_done: (#if STATS) count the node's free slabs for <maxfreeable>.
        if let Some(st) = &cachep.stats {
            let i = n.lists(&lock, |l| l.slabs.free.len());
            st.set_freeable(&lock, i);
        }
        self.spin_unlock_slabs_destroy(cachep, doomed, lock, irq);
        cachep.ac(irq, ac, |a| a.take_bottom(batchcount, muts));
    }

    /// `spin_unlock(&n->list_lock)` with interrupts staying off, and the slabs
    /// `free_block` gave up destroyed: era A inside the locked section (2.6.x `free_block`
    /// destroyed as it went), era B after the unlock (`slabs_destroy`, 2014) — in both
    /// with interrupts off, because the caller's irq-off section continues
    /// (`cache_flusharray`, `do_drain`, `cache_free_alien`).
    pub(crate) fn spin_unlock_slabs_destroy(
        &self,
        cachep: &KmemCache<P>,
        doomed: Vec<Slab>,
        lock: NodeLock<'_, P>,
        irq: &IrqOff<'m, P>,
    ) {
        match self.m.era() {
            Era::A => {
                self.slabs_destroy(cachep, doomed, IrqState::Off(irq));
                drop(lock);
            }
            Era::B => {
                drop(lock);
                self.slabs_destroy(cachep, doomed, IrqState::Off(irq));
            }
        }
    }

    /// `spin_unlock_irq(&n->list_lock)` and the doomed slabs destroyed: era A inside the
    /// locked section with interrupts off; era B after the unlock **with interrupts on**
    /// (`slabs_destroy` after `spin_unlock_irq`: `drain_array`, `do_tune_cpucache`,
    /// `alloc_kmem_cache_node`), so an interrupt can run between the unlock and each
    /// destruction, and an off-slab descriptor is freed in its own irq section.
    pub(crate) fn spin_unlock_irq_slabs_destroy(
        &self,
        cachep: &KmemCache<P>,
        doomed: Vec<Slab>,
        lock: NodeLock<'_, P>,
        irq: IrqOff<'m, P>,
    ) {
        match self.m.era() {
            Era::A => {
                self.slabs_destroy(cachep, doomed, IrqState::Off(&irq));
                drop(lock);
                self.local_irq_enable(irq);
            }
            Era::B => {
                drop(lock);
                self.local_irq_enable(irq);
                self.slabs_destroy(cachep, doomed, IrqState::On);
            }
        }
    }

    /// `free_block(cachep, objpp, nr_objects, node)` (eras A, B), under the node's
    /// `list_lock`: puts each object back into its slab (`slab_put_obj`),
    /// `free_objects++`; a slab that becomes empty goes to the head of `slabs_free`, or —
    /// when `free_objects > free_limit` — is unlinked for destruction (`free_objects -=
    /// num`); a slab still in use goes to the tail of `slabs_partial`. Returns the slabs
    /// to destroy (the caller destroys them per era, see [`Self::spin_unlock_slabs_destroy`] and [`Self::spin_unlock_irq_slabs_destroy`]).
    pub(crate) fn free_block(
        &self,
        cachep: &KmemCache<P>,
        objpp: &[u64],
        node: usize,
        access: &Access<'_, '_, P>,
    ) -> Vec<Slab> {
        self.enter(cachep.id, KFn::FreeBlock);
        let num = cachep.num();
        let reciprocal = cachep.geo.reciprocal_size;
        let slab_ids: Vec<u64> = {
            let mem = self.m.mem();
            objpp
                .iter()
                .map(|&o| {
                    let pfn = mem
                        .virt_to_pfn(o)
                        .unwrap_or_else(|| panic!("free_block: {o:#x} is not memory"));
                    let rec = mem.page(pfn);
                    if let Some(r) = rec.filter(|r| r.node as usize != node) {
                        // The kernel would list_del the slab from the other node's list
                        // and relink it on this node's, under this node's lock only.
                        panic!(
                            "free_block: object {o:#x} of node{} handed to node{node}'s lists under node{node}'s list_lock (cache {}): its slab is on node{}'s lists — list corruption",
                            r.node, cachep.name, r.node
                        );
                    }
                    rec.and_then(|r| r.slab).unwrap_or_else(|| {
                        panic!(
                            "free_block: {o:#x} of cache {} is not in a slab page",
                            cachep.name
                        )
                    })
                })
                .collect()
        };
        let mut doomed = Vec::new();
        let mut moves = Vec::new();
        with_lists(cachep, node, access, |l| {
            for (&objp, &id) in objpp.iter().zip(&slab_ids) {
                let from = l.slabs.list_del(id);
                let slab = l.slabs.get_mut(id).unwrap_or_else(|| {
                    panic!(
                        "free_block: slab@{id:#x} of {objp:#x} is not on node{node} of cache {}",
                        cachep.name
                    )
                });
                let objnr = slab.obj_to_index(reciprocal, objp);
                check_slabp(self.m, cachep, slab);
                slab_put_obj_debugcheck(self.m, cachep, slab, objnr, objp);
                slab.slab_put_obj(objnr);
                check_slabp(self.m, cachep, slab);
                self.m.cover(KFn::SlabPutObj);
                l.free_objects += 1;
                let to = if slab.inuse == 0 {
                    if l.free_objects > l.free_limit {
                        l.free_objects -= num;
                        doomed.push(l.slabs.remove(id));
                        ListKind::None
                    } else {
                        l.slabs.list_add(id, ListKind::Free);
                        ListKind::Free
                    }
                } else {
                    l.slabs.list_add_tail(id, ListKind::Partial);
                    ListKind::Partial
                };
                if from != to {
                    moves.push((id, from, to));
                }
            }
        });
        if let Some(st) = &cachep.stats {
            st.dec_active(objpp.len());
        }
        self.trace(
            cachep.id,
            EventKind::ObjectsMoved {
                from: Place::CpuArray(self.cpu() as u16),
                to: Place::Slab,
                count: objpp.len() as u32,
            },
        );
        for (id, from, to) in moves {
            self.trace(cachep.id, EventKind::ListMove { slab: id, from, to });
        }
        doomed
    }

    /// `free_block` without `list_lock` (`free-block-unlocked`): one object at a time,
    /// with a scheduling point between objects where another CPU's locked section can
    /// interleave — the race the lock exists to prevent.
    fn free_block_racy(&self, cachep: &KmemCache<P>, objpp: &[u64], node: usize) -> Vec<Slab> {
        let mut doomed = Vec::new();
        for &o in objpp {
            doomed.extend(self.free_block(
                cachep,
                &[o],
                node,
                &Access::Racy("cache_flusharray free_block"),
            ));
            P::yield_now();
        }
        doomed
    }
}
