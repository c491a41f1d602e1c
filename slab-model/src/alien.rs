//! Alien caches (NUMA): frees of objects that belong to another node are batched per
//! remote node and returned to that node's shared array and slabs in one go —
//! `cache_free_alien`, `__drain_alien_cache`, `reap_alien`, `drain_alien_cache`
//! (mm/slab.c v2.6.24 lines 1067–1156, v4.4.11 lines 920–1032).
//!
//! Alien caches are used when more than one node is online (`use_alien_caches`). Each
//! array has its own lock, taken with interrupts off; draining it takes the *remote*
//! node's `list_lock` inside that lock (lock order: alien lock → remote `list_lock`).

use crate::alloc::Access;
use crate::array_cache::{transfer_objects, ArrayCache, BAADF00D};
use crate::cache::KmemCache;
use crate::cpu::{Context, IrqOff, IrqState};
use crate::profile::{ArchProfile, Era};
use crate::site::Site;
use crate::slab::Slab;
use crate::sync::{Lock, PeekWord, Platform, TrackedCell};
use crate::trace::{EventKind, KFn, LockName, Place};

/// One alien array: `struct alien_cache` (era B) / an `array_cache` with its spinlock
/// (era A).
pub struct AlienCache<P: Platform> {
    /// The node whose `kmem_list3` holds the array, and the node its objects belong to
    /// (for the trace's lock name).
    node: u16,
    of: u16,
    lock: P::Mutex<()>,
    ac: P::Cell<ArrayCache>,
    /// `ac->avail`, for `reap_alien`'s peek before the trylock.
    avail: P::Word,
}

impl<P: Platform> AlienCache<P> {
    /// Runs `f` on the array under its lock (callers have interrupts off).
    pub(crate) fn with<R>(
        &self,
        irq: &IrqOff<'_, P>,
        cache: u32,
        f: impl FnOnce(&mut ArrayCache) -> R,
    ) -> R {
        irq.cover_site(Site::AlienLock);
        let _g = irq.traced(self.lock.lock(), cache, self.lock_name());
        self.locked(f)
    }
    fn lock_name(&self) -> LockName {
        LockName::Alien {
            node: self.node,
            of: self.of,
        }
    }
    /// `spin_trylock`: `None` when another context holds the array (the reaper skips it).
    pub(crate) fn try_with<R>(
        &self,
        irq: &IrqOff<'_, P>,
        cache: u32,
        f: impl FnOnce(&mut ArrayCache) -> R,
    ) -> Option<R> {
        irq.cover_site(Site::AlienTrylock);
        let Some(g) = self.lock.try_lock() else {
            irq.trace(cache, EventKind::TryLockFailed(self.lock_name()));
            return None;
        };
        let g = irq.traced(g, cache, self.lock_name());
        let r = self.locked(f);
        drop(g);
        Some(r)
    }
    fn locked<R>(&self, f: impl FnOnce(&mut ArrayCache) -> R) -> R {
        self.ac.with_mut(|ac| {
            let before = ac.avail();
            let r = f(ac);
            if ac.avail() != before {
                self.avail.write_once(ac.avail());
            }
            r
        })
    }
    /// `READ_ONCE(ac->avail)` without the alien lock.
    pub(crate) fn peek_avail(&self) -> usize {
        self.avail.read_once()
    }
}

/// Alien array capacity: 12 entries, or 1 when the cache's per-CPU limit is 1.
pub fn alien_limit(limit: usize) -> usize {
    if limit > 1 {
        12
    } else {
        1
    }
}

/// `alloc_alien_cache(node, limit)`: one array per remote node, none for `node` itself;
/// none at all on a single-node machine (`use_alien_caches` off).
pub fn alloc_alien_cache<P: Platform>(
    profile: &ArchProfile,
    node: usize,
    limit: usize,
) -> Vec<Option<AlienCache<P>>> {
    if profile.nodes < 2 {
        return Vec::new();
    }
    (0..profile.nodes)
        .map(|r| {
            (r != node).then(|| AlienCache {
                node: node as u16,
                of: r as u16,
                lock: P::Mutex::new(()),
                ac: P::Cell::new(ArrayCache::new(alien_limit(limit), BAADF00D)),
                avail: P::Word::new(0),
            })
        })
        .collect()
}

impl<'m, P: Platform> Context<'m, P> {
    /// `cache_free_alien(cachep, objp)` (eras A, B), interrupts off: `objp` belongs to
    /// `nodeid`, not to this CPU's node. Under the alien array's lock: if it is full,
    /// `__drain_alien_cache` it into the remote node first; then push the object. Era B
    /// destroys the slabs the drain emptied only after the alien lock is dropped (B.16).
    pub(crate) fn cache_free_alien(
        &self,
        cachep: &KmemCache<P>,
        objp: u64,
        nodeid: usize,
        irq: &IrqOff<'m, P>,
    ) {
        self.enter(cachep.id, KFn::CacheFreeAlien);
        if let Some(st) = &cachep.stats {
            st.inc_nodefrees(irq);
        }
        let local = &cachep.nodes[self.node()];
        if !local.alien_attached() {
            // `n->alien == NULL`: straight into the remote node's lists. (Unreachable in
            // the faithful model: the freeing CPU is online, so its node keeps its alien
            // set; kept because the kernel has the branch.)
            let rn = &cachep.nodes[nodeid];
            let lock = rn.spin_lock(irq);
            let doomed = self.free_block(cachep, &[objp], nodeid, &Access::Locked(&lock));
            self.spin_unlock_slabs_destroy(cachep, doomed, lock, irq);
            return;
        }
        let alien = local
            .alien
            .get(nodeid)
            .and_then(|a| a.as_ref())
            .expect("an alien array for every remote node");
        let doomed = alien.with(irq, cachep.id, |ac| {
            let doomed = if ac.avail() == ac.limit {
                if let Some(st) = &cachep.stats {
                    st.inc_acoverflow(irq);
                }
                self.__drain_alien_cache(cachep, ac, nodeid, irq)
            } else {
                Vec::new()
            };
            ac.push(objp);
            doomed
        });
        self.slabs_destroy(cachep, doomed, IrqState::Off(irq));
        self.trace(
            cachep.id,
            EventKind::ObjectsMoved {
                from: Place::Caller,
                to: Place::Alien(nodeid as u16),
                count: 1,
            },
        );
    }

    /// `__drain_alien_cache(cachep, ac, node)` (eras A, B): with the alien array's lock
    /// held, take the remote node's `list_lock`, move what fits into its shared array
    /// (`transfer_objects(rl3->shared, ac, ac->limit)`), `free_block` the rest, empty the
    /// array. Era A destroys emptied slabs inside `list_lock` (2.6.x `free_block`) and
    /// returns nothing; era B returns them for [`Self::slabs_destroy`] once the caller has
    /// dropped the alien lock too.
    pub(crate) fn __drain_alien_cache(
        &self,
        cachep: &KmemCache<P>,
        ac: &mut ArrayCache,
        node: usize,
        irq: &IrqOff<'m, P>,
    ) -> Vec<Slab> {
        if ac.avail() == 0 {
            return Vec::new();
        }
        self.enter(cachep.id, KFn::DrainAlienCache);
        let muts = self.m.mutations();
        let rn = &cachep.nodes[node];
        let lock = rn.spin_lock(irq);
        let era = self.m.era();
        let moved = rn.lists(&lock, |l| match l.shared.as_mut() {
            Some(shared) => {
                let limit = ac.limit;
                self.m.cover(KFn::TransferObjects);
                let nr = transfer_objects(shared, ac, limit, muts);
                if nr > 0 && era == Era::A {
                    // 2.6.24 transfer_objects sets to->touched: the reaper then skips the
                    // remote shared array once.
                    shared.touched = true;
                }
                nr
            }
            None => 0,
        });
        if moved > 0 {
            self.trace(
                cachep.id,
                EventKind::ObjectsMoved {
                    from: Place::Alien(node as u16),
                    to: Place::Shared(node as u16),
                    count: moved as u32,
                },
            );
        }
        let rest = std::mem::take(&mut ac.entry);
        let doomed = if rest.is_empty() {
            Vec::new()
        } else {
            self.free_block(cachep, &rest, node, &Access::Locked(&lock))
        };
        match self.m.era() {
            Era::A => {
                for s in doomed {
                    self.slab_destroy(cachep, s, IrqState::Off(irq));
                }
                drop(lock);
                Vec::new()
            }
            Era::B => {
                drop(lock);
                doomed
            }
        }
    }

    /// `slabs_destroy` (era B): destroys slabs after every lock is dropped, in the irq
    /// state the caller is in then.
    pub(crate) fn slabs_destroy(
        &self,
        cachep: &KmemCache<P>,
        doomed: Vec<Slab>,
        irq: IrqState<'_, 'm, P>,
    ) {
        for s in doomed {
            self.slab_destroy(cachep, s, irq);
        }
    }

    /// `reap_alien(cachep, l3)` (eras A, B), interrupts on: peek at `avail` of this node's
    /// alien array for the CPU's `reap_node` rotor position without its lock; only if it
    /// is non-empty, `spin_trylock_irq` and drain it; era B destroys the emptied slabs
    /// after `spin_unlock_irq`, with interrupts on.
    pub(crate) fn reap_alien(&self, cachep: &KmemCache<P>, reap_node: usize) {
        let local = &cachep.nodes[self.node()];
        if !local.alien_attached() {
            return;
        }
        let Some(alien) = local.alien.get(reap_node).and_then(|a| a.as_ref()) else {
            return;
        };
        self.m.cover(KFn::ReapAlien);
        self.site(cachep.id, Site::PeekAlienAvail);
        if alien.peek_avail() == 0 {
            return;
        }
        let irq = self.local_irq_disable();
        let doomed = alien.try_with(&irq, cachep.id, |ac| {
            self.__drain_alien_cache(cachep, ac, reap_node, &irq)
        });
        self.local_irq_enable(irq);
        if let Some(doomed) = doomed {
            self.slabs_destroy(cachep, doomed, IrqState::On);
        }
    }

    /// `drain_alien_cache(cachep, alien)` (eras A, B), interrupts on: drain every alien
    /// array of `node` under `spin_lock_irqsave` (shrink and destroy, before the shared
    /// arrays are drained); era B destroys after `spin_unlock_irqrestore`, interrupts on.
    pub(crate) fn drain_alien_cache(&self, cachep: &KmemCache<P>, node: usize) {
        if cachep.nodes[node].alien_attached() {
            self.drain_alien_set(cachep, node);
        }
    }

    /// The loop of `drain_alien_cache` (eras A, B, interrupts on: each array under
    /// `spin_lock_irqsave`) over one node's alien set, attached or (in `cpuup_canceled`)
    /// just detached.
    pub(crate) fn drain_alien_set(&self, cachep: &KmemCache<P>, node: usize) {
        for (r, a) in cachep.nodes[node].alien.iter().enumerate() {
            if let Some(alien) = a {
                let irq = self.local_irq_disable();
                let doomed = alien.with(&irq, cachep.id, |ac| {
                    self.__drain_alien_cache(cachep, ac, r, &irq)
                });
                self.local_irq_enable(irq);
                self.slabs_destroy(cachep, doomed, IrqState::On);
            }
        }
    }

    /// `n->alien = alloc_alien_cache(node, limit)` where it was NULL (eras A, B:
    /// `cpuup_prepare`, `alloc_kmemlist` / `setup_kmem_cache_node`), with interrupts off
    /// and the node's `list_lock` held (the `lock` guard): the node's arrays come back empty, sized for
    /// the current `limit`. (Their locks are taken only to hand the memory over to loom
    /// in order; no other context can reach a detached set.)
    pub(crate) fn reattach_alien(
        &self,
        cachep: &KmemCache<P>,
        node: usize,
        lock: &crate::node::NodeLock<'_, P>,
        irq: &IrqOff<'m, P>,
        limit: usize,
    ) {
        let n = &cachep.nodes[node];
        for alien in n.alien.iter().flatten() {
            alien.with(irq, cachep.id, |ac| {
                assert_eq!(ac.avail(), 0, "a detached alien array was drained");
                *ac = ArrayCache::new(alien_limit(limit), BAADF00D);
            });
        }
        n.set_alien_attached(lock, true);
    }
}
