//! The allocation path: `kmem_cache_alloc` → `____cache_alloc` (per-CPU fast path) →
//! `cache_alloc_refill` (shared array, then the node's slab lists, then `cache_grow`),
//! and the node-directed `kmem_cache_alloc_node` → `____cache_alloc_node`.

use crate::array_cache::{transfer_objects, BATCHREFILL_LIMIT};
use crate::cache::{AcRef, KmemCache};
use crate::cpu::{Context, ContextKind, IrqOff, MigrationPoint};
use crate::debug::check_slabp;
use crate::error::SlabError;
use crate::gfp::Gfp;
use crate::machine::Owner;
use crate::mutation::Mutation;
use crate::node::NodeLists;
use crate::profile::Era;
use crate::sync::Platform;
use crate::trace::{EventKind, KFn, ListKind, Place};

/// How a node's lists are reached: under `list_lock` (the kernel) or, on a mutated path,
/// without it.
pub(crate) enum Access<'a, 'b, P: Platform> {
    /// Holding `list_lock`.
    Locked(&'a crate::node::NodeLock<'b, P>),
    /// Without the lock (a mutation); the string names the path for the race report.
    Racy(&'static str),
}

pub(crate) fn with_lists<P: Platform, R>(
    cachep: &KmemCache<P>,
    node: usize,
    access: &Access<'_, '_, P>,
    f: impl FnOnce(&mut NodeLists) -> R,
) -> R {
    match access {
        Access::Locked(l) => cachep.nodes[node].lists(l, f),
        Access::Racy(what) => cachep.nodes[node].lists_racy(what, f),
    }
}

impl<'m, P: Platform> Context<'m, P> {
    /// Checks the arguments of an allocation before anything changes: a live cache, no
    /// bits of `GFP_SLAB_BUG_MASK` (the kernel BUGs lazily in `cache_grow`; the model
    /// rejects them up front so nothing is half done), and no sleeping gfp mask in an
    /// interrupt handler (`might_sleep_if`).
    pub(crate) fn check_alloc_args(
        &self,
        cachep: &KmemCache<P>,
        flags: Gfp,
    ) -> Result<(), SlabError> {
        self.check_running()?;
        if cachep.is_destroyed() {
            return Err(SlabError::CacheDestroyed(cachep.name.clone()));
        }
        if flags.intersects(Gfp::SLAB_BUG_MASK) {
            return Err(SlabError::GfpBugMask {
                bits: (flags & Gfp::SLAB_BUG_MASK).0,
            });
        }
        if self.kind() == ContextKind::Interrupt && flags.allows_blocking() {
            return Err(SlabError::SleepInAtomic { gfp: flags.0 });
        }
        // cache_alloc_debugcheck_before.
        self.kmem_flagcheck(cachep, flags)
    }

    /// `kmem_cache_alloc(cachep, flags)` (eras A, B): `local_irq_save`,
    /// `__do_cache_alloc`, `local_irq_restore`, then the post-allocation work
    /// (`__GFP_ZERO`). Returns `Ok(None)` when the kernel returns NULL (no memory).
    pub fn kmem_cache_alloc(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
    ) -> Result<Option<u64>, SlabError> {
        self.check_alloc_args(cachep, flags)?;
        self.enter(cachep.id, KFn::KmemCacheAlloc);
        let irq = self.local_irq_disable();
        let (objp, irq) = self.__do_cache_alloc(cachep, flags, irq);
        self.local_irq_enable(irq);
        let objp = objp.map(|o| self.cache_alloc_debugcheck_after(cachep, flags, o, Owner::Caller));
        self.m.audit_after_op();
        Ok(objp)
    }

    /// `__do_cache_alloc` (eras A, B), interrupts off: on a NUMA machine, only for a task
    /// with a memory policy or a spreading cpuset (`PF_MEMPOLICY | PF_SPREAD_SLAB`),
    /// `alternate_node_alloc` first; then `____cache_alloc`, and on NUMA, when the local
    /// refill found nothing ("we may just have run out of memory on the local node"),
    /// `____cache_alloc_node(numa_node_id())`, which can fall back to other nodes.
    pub(crate) fn __do_cache_alloc(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        irq: IrqOff<'m, P>,
    ) -> (Option<u64>, IrqOff<'m, P>) {
        let mut irq = irq;
        if self.m.numa() && self.policy.wants_alternate() {
            let (o, i) = self.alternate_node_alloc(cachep, flags, irq);
            irq = i;
            if o.is_some() {
                return (o, irq);
            }
        }
        let (objp, irq) = self.____cache_alloc(cachep, flags, irq);
        if objp.is_some() || !self.m.numa() {
            return (objp, irq);
        }
        // numa_node_id() now: the refill's window may have moved the task.
        let node = self.node();
        self.____cache_alloc_node(cachep, flags, node, irq)
    }

    /// `kmem_cache_alloc_node(cachep, flags, nodeid)`. Without NUMA it is
    /// `kmem_cache_alloc`; with NUMA the local node tries the per-CPU array first, then
    /// (or for a remote node directly) `____cache_alloc_node`, whose failed grow goes to
    /// `fallback_alloc`.
    pub fn kmem_cache_alloc_node(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        nodeid: usize,
    ) -> Result<Option<u64>, SlabError> {
        self.check_alloc_args(cachep, flags)?;
        if nodeid >= self.m.nodes() {
            return Err(SlabError::NoSuchNode {
                node: nodeid,
                nodes: self.m.nodes(),
            });
        }
        self.enter(cachep.id, KFn::KmemCacheAllocNode);
        let irq = self.local_irq_disable();
        let (objp, irq) = self.__cache_alloc_node(cachep, flags, nodeid, irq);
        self.local_irq_enable(irq);
        let objp = objp.map(|o| self.cache_alloc_debugcheck_after(cachep, flags, o, Owner::Caller));
        self.m.audit_after_op();
        Ok(objp)
    }

    /// `__cache_alloc_node` (NUMA) / `__cache_alloc` (UMA) with interrupts already off.
    pub(crate) fn __cache_alloc_node(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        nodeid: usize,
        irq: IrqOff<'m, P>,
    ) -> (Option<u64>, IrqOff<'m, P>) {
        self.enter(cachep.id, KFn::DunderCacheAllocNode);
        if !self.m.numa() {
            return self.____cache_alloc(cachep, flags, irq);
        }
        let mut irq = irq;
        if nodeid == self.node() {
            let (o, i) = self.____cache_alloc(cachep, flags, irq);
            irq = i;
            if o.is_some() {
                return (o, irq);
            }
        }
        self.____cache_alloc_node(cachep, flags, nodeid, irq)
    }

    /// `____cache_alloc` (eras A, B): pop from this CPU's array (setting `touched`), or
    /// refill. Needs interrupts off (`irq`); returns the token it ends with, which may be
    /// for another CPU if the task migrated inside `cache_grow`.
    pub(crate) fn ____cache_alloc(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        irq: IrqOff<'m, P>,
    ) -> (Option<u64>, IrqOff<'m, P>) {
        self.m.cover(KFn::QuadCacheAlloc);
        let ac = self.cpu_cache_get(cachep, &irq);
        let hit = cachep.ac(&irq, ac, |ac| {
            if ac.avail() > 0 {
                ac.touched = true;
                Some(ac.pop())
            } else {
                None
            }
        });
        match hit {
            Some(o) => {
                if let Some(st) = &cachep.stats {
                    st.inc_allochit(&irq);
                }
                (Some(o), irq)
            }
            None => {
                if let Some(st) = &cachep.stats {
                    st.inc_allocmiss(&irq);
                }
                self.cache_alloc_refill(cachep, flags, irq)
            }
        }
    }

    /// `cpu_cache_get(cachep)` with interrupts off: era B reads the published
    /// `cachep->cpu_cache` (a concurrency point: the tuner may have just replaced it).
    #[inline]
    pub(crate) fn cpu_cache_get(&self, cachep: &KmemCache<P>, irq: &IrqOff<'m, P>) -> AcRef {
        if cachep.era == Era::B {
            self.m.cover_site(crate::site::Site::ReadCpuCache);
        }
        cachep.cpu_cache_get(irq)
    }

    /// Touches the array `ac` points to. Normally `ac` is this CPU's array and the token
    /// proves interrupts are off; only the `stale-ac-after-grow` mutation can leave `ac`
    /// pointing at another CPU's array, which is then touched without its protection.
    pub(crate) fn ac_do<R>(
        &self,
        cachep: &KmemCache<P>,
        irq: &IrqOff<'m, P>,
        ac: AcRef,
        f: impl FnOnce(&mut crate::array_cache::ArrayCache) -> R,
    ) -> R {
        if ac.cpu != irq.cpu() && self.m.mutations().has(Mutation::StaleAcAfterGrow) {
            cachep.ac_racy(
                |c| self.cpu_irq_held(c),
                ac,
                "cache_alloc_refill with a stale ac",
                f,
            )
        } else {
            cachep.ac(irq, ac, f)
        }
    }

    /// `cache_alloc_refill` (eras A, B). Interrupts off on entry and exit; takes and drops
    /// the node's `list_lock`; may call `cache_grow`, whose irq-enable window is why `ac`
    /// is re-read afterwards ("cache_grow can reenable interrupts, then ac could change").
    /// Era A keeps `node` from before the window (a shipped bug after a cross-node
    /// migration, see `fix-refill-reread-node`); era B re-reads it (`numa_mem_id()`).
    pub(crate) fn cache_alloc_refill(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        mut irq: IrqOff<'m, P>,
    ) -> (Option<u64>, IrqOff<'m, P>) {
        let m = self.m;
        let muts = m.mutations();
        let era = m.era();
        self.enter(cachep.id, KFn::CacheAllocRefill);
        let mut node = self.node();
        let mut ac = self.cpu_cache_get(cachep, &irq);
        loop {
            // retry:
            let (mut batchcount, avail) =
                self.ac_do(cachep, &irq, ac, |a| (a.batchcount, a.avail()));
            let touched = cachep.ac_touched(ac);
            if !touched && batchcount > BATCHREFILL_LIMIT {
                batchcount = BATCHREFILL_LIMIT;
            }
            if !muts.has(Mutation::NoRecheckAfterGrow) {
                assert_eq!(
                    avail, 0,
                    "cache_alloc_refill: BUG_ON(ac->avail > 0) in cache {}",
                    cachep.name
                );
            }
            let n = &cachep.nodes[node];
            let moved;
            let lock;
            if muts.has(Mutation::SharedTransferUnlocked) {
                moved = self.refill_from_shared(
                    cachep,
                    node,
                    &Access::Racy("cache_alloc_refill shared transfer"),
                    &irq,
                    ac,
                    batchcount,
                );
                P::yield_now();
                lock = n.spin_lock(&irq);
            } else {
                lock = n.spin_lock(&irq);
                moved = self.refill_from_shared(
                    cachep,
                    node,
                    &Access::Locked(&lock),
                    &irq,
                    ac,
                    batchcount,
                );
            }
            if moved == 0 {
                self.refill_from_slabs(cachep, node, &lock, &irq, ac, batchcount);
            }
            // alloc_done:
            drop(lock);
            if self.ac_do(cachep, &irq, ac, |a| a.avail()) == 0 {
                let mut grow_flags = flags;
                if m.numa() {
                    grow_flags = match era {
                        Era::A => flags | Gfp::GFP_THISNODE,
                        Era::B => flags.exact_node(true),
                    };
                }
                let (x, new_irq) = self.cache_grow(cachep, grow_flags, node, None, irq);
                irq = new_irq;
                // cache_grow can reenable interrupts, then ac could change.
                if !muts.has(Mutation::StaleAcAfterGrow) {
                    ac = self.cpu_cache_get(cachep, &irq);
                }
                // Era B re-reads the node (`node = numa_mem_id()`); 2.6.24 keeps the one
                // read before the window, so after a migration to another node's CPU it
                // refills that CPU's array from the old node's lists.
                if era == Era::B || muts.has(Mutation::FixRefillRereadNode) {
                    node = self.node();
                }
                let avail = self.ac_do(cachep, &irq, ac, |a| a.avail());
                if !x && avail == 0 {
                    // no objects in sight? abort
                    return (None, irq);
                }
                if avail == 0 || (x && muts.has(Mutation::NoRecheckAfterGrow)) {
                    // objects refilled by interrupt? (the mutation never looks)
                    continue;
                }
            }
            let objp = self.ac_do(cachep, &irq, ac, |a| {
                a.touched = true;
                a.pop()
            });
            return (Some(objp), irq);
        }
    }

    /// The shared-array step of `cache_alloc_refill`: `transfer_objects(ac, n->shared,
    /// batchcount)`. Era B also marks the shared array touched (2.6.34+); era A marks only
    /// `ac` (at the end of refill). Returns how many moved.
    fn refill_from_shared(
        &self,
        cachep: &KmemCache<P>,
        node: usize,
        access: &Access<'_, '_, P>,
        irq: &IrqOff<'m, P>,
        ac: AcRef,
        batchcount: usize,
    ) -> usize {
        let muts = self.m.mutations();
        let era = self.m.era();
        let moved = with_lists(cachep, node, access, |l| {
            let Some(shared) = l.shared.as_mut() else {
                return 0;
            };
            self.m.cover(KFn::TransferObjects);
            let moved = self.ac_do(cachep, irq, ac, |a| {
                let nr = transfer_objects(a, shared, batchcount, muts);
                if nr > 0 && era == Era::A {
                    // 2.6.24 transfer_objects marks its destination touched (redundant
                    // here: refill marks ac touched when it returns anyway).
                    a.touched = true;
                }
                nr
            });
            if moved > 0 {
                if era == Era::B {
                    shared.touched = true;
                }
                if muts.has(Mutation::FreeObjectsDoubleCount) {
                    // The slip: objects from the shared array were never counted in
                    // free_objects, so subtracting them corrupts the count.
                    l.free_objects = l.free_objects.wrapping_sub(moved);
                }
            }
            moved
        });
        if moved > 0 {
            self.trace(
                cachep.id,
                EventKind::ObjectsMoved {
                    from: Place::Shared(node as u16),
                    to: Place::CpuArray(ac.cpu as u16),
                    count: moved as u32,
                },
            );
        }
        moved
    }

    /// The slab step of `cache_alloc_refill`, under `list_lock`: take objects from the
    /// first partial slab (else the first free slab, setting `free_touched`) until
    /// `batchcount` are taken, moving each slab to the head of `slabs_full` or
    /// `slabs_partial`; then `free_objects -= ac->avail` (the `must_grow` label).
    fn refill_from_slabs(
        &self,
        cachep: &KmemCache<P>,
        node: usize,
        lock: &crate::node::NodeLock<'_, P>,
        irq: &IrqOff<'m, P>,
        ac: AcRef,
        batchcount: usize,
    ) {
        let muts = self.m.mutations();
        let num = cachep.num();
        let size = cachep.size();
        let mut moves: Vec<(u64, ListKind, ListKind, u32)> = Vec::new();
        let mut alloced = 0;
        cachep.nodes[node].lists(lock, |l| {
            let mut batchcount = batchcount;
            while batchcount > 0 {
                let id = match l.slabs.partial.first() {
                    Some(id) => id,
                    None => {
                        l.free_touched = true;
                        match l.slabs.free.first() {
                            Some(id) => id,
                            None => break, // must_grow
                        }
                    }
                };
                let slab = l.slabs.get_mut(id).expect("refill: listed slab exists");
                assert!(slab.inuse < num, "cache_alloc_refill: BUG_ON(slabp->inuse >= num) in cache {}", cachep.name);
                assert_eq!(slab.node, node, "cache_alloc_refill: slab@{id:#x} of node{} on node{node}'s list", slab.node);
                check_slabp(self.m, cachep, slab);
                let mut taken = Vec::new();
                while slab.inuse < num && batchcount > 0 {
                    batchcount -= 1;
                    // Slot addresses, as the kernel's arrays hold them
                    // (cache_alloc_debugcheck_after adds obj_offset).
                    taken.push(slab.slab_get_obj(size, num));
                    self.m.cover(KFn::SlabGetObj);
                }
                check_slabp(self.m, cachep, slab);
                let full = slab.is_full(num);
                let from = l.slabs.list_del(id);
                let to = if full && !muts.has(Mutation::FullSlabStaysPartial) { ListKind::Full } else { ListKind::Partial };
                l.slabs.list_add(id, to);
                moves.push((id, from, to, taken.len() as u32));
                alloced += taken.len();
                self.ac_do(cachep, irq, ac, |a| {
                    for o in taken {
                        a.push(o);
                    }
                });
            }
            // must_grow:
            let avail = self.ac_do(cachep, irq, ac, |a| a.avail());
            assert!(
                l.free_objects >= avail,
                "cache_alloc_refill: free_objects {} < objects taken {avail} in cache {} node{node}",
                l.free_objects,
                cachep.name
            );
            l.free_objects -= avail;
        });
        if let Some(st) = &cachep.stats {
            st.refill_taken(lock, alloced);
        }
        for (id, from, to, count) in moves {
            self.trace(
                cachep.id,
                EventKind::ObjectsMoved {
                    from: Place::Slab,
                    to: Place::CpuArray(ac.cpu as u16),
                    count,
                },
            );
            if from != to {
                self.trace(cachep.id, EventKind::ListMove { slab: id, from, to });
            }
        }
    }

    /// `____cache_alloc_node` (NUMA, eras A, B): one object straight from the node's
    /// first partial (else free) slab under its `list_lock`, no per-CPU array involved;
    /// grows on that node and retries when the node has none.
    pub(crate) fn ____cache_alloc_node(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        nodeid: usize,
        mut irq: IrqOff<'m, P>,
    ) -> (Option<u64>, IrqOff<'m, P>) {
        let num = cachep.num();
        let size = cachep.size();
        self.enter(cachep.id, KFn::QuadCacheAllocNode);
        loop {
            let n = &cachep.nodes[nodeid];
            let lock = n.spin_lock(&irq);
            let got = n.lists(&lock, |l| {
                let id = match l.slabs.partial.first() {
                    Some(id) => id,
                    None => {
                        l.free_touched = true;
                        l.slabs.free.first()?
                    }
                };
                let slab = l.slabs.get_mut(id).expect("listed slab exists");
                assert!(
                    slab.inuse < num,
                    "____cache_alloc_node: BUG_ON(slabp->inuse == num)"
                );
                check_slabp(self.m, cachep, slab);
                let obj = slab.slab_get_obj(size, num);
                check_slabp(self.m, cachep, slab);
                let full = slab.is_full(num);
                l.free_objects -= 1;
                let from = l.slabs.list_del(id);
                let to = if full {
                    ListKind::Full
                } else {
                    ListKind::Partial
                };
                l.slabs.list_add(id, to);
                Some((obj, id, from, to))
            });
            if let (Some(st), Some(_)) = (&cachep.stats, got) {
                st.node_alloc(&lock);
            }
            drop(lock);
            if let Some((obj, id, from, to)) = got {
                if from != to {
                    self.trace(cachep.id, EventKind::ListMove { slab: id, from, to });
                }
                return (Some(obj), irq);
            }
            let grow_flags = match self.m.era() {
                Era::A => flags | Gfp::GFP_THISNODE,
                Era::B => flags.exact_node(true),
            };
            let (x, new_irq) = self.cache_grow(cachep, grow_flags, nodeid, None, irq);
            irq = new_irq;
            if !x {
                return self.fallback_alloc(cachep, flags, irq);
            }
        }
    }

    /// `alternate_node_alloc(cachep, flags)` (NUMA, eras A, B), interrupts off: for a
    /// task with a memory policy or a slab-spreading cpuset (never in an interrupt, never
    /// for `__GFP_THISNODE`), the node `cpuset_mem_spread_node` (caches with
    /// `SLAB_MEM_SPREAD`) or `slab_node(current->mempolicy)` picks; if it is not this CPU's
    /// node, `____cache_alloc_node` there. `None` sends the caller on to the per-CPU path.
    fn alternate_node_alloc(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        irq: IrqOff<'m, P>,
    ) -> (Option<u64>, IrqOff<'m, P>) {
        if self.kind() == ContextKind::Interrupt || flags.contains(Gfp::THISNODE) {
            return (None, irq);
        }
        self.m.cover(KFn::AlternateNodeAlloc);
        let here = self.node();
        let nodes = self.m.nodes();
        let nid = if self.policy.spread_slab()
            && cachep
                .geo
                .flags
                .contains(crate::slab_flags::SlabFlags::MEM_SPREAD)
        {
            self.policy.spread_node(nodes)
        } else if self.policy.mempolicy.is_some() {
            self.policy.slab_node(here, nodes)
        } else {
            here
        };
        if nid == here {
            return (None, irq);
        }
        self.____cache_alloc_node(cachep, flags, nid, irq)
    }

    /// `fallback_alloc(cache, flags)` (NUMA, eras A, B), interrupts off: no object on the
    /// wanted node and it cannot grow. Unless the mask is `__GFP_THISNODE`: walk the nodes
    /// in zonelist order (this node first) and take an object from any whose
    /// `free_objects`, read **without** `list_lock`, is non-zero (`____cache_alloc_node`
    /// with a node-exact mask); else **enable interrupts if the mask may block** and ask
    /// the page allocator for a slab from any node (`kmem_getpages`: era A `nodeid = -1`,
    /// era B `numa_mem_id()` without `__GFP_THISNODE`), disable them again — possibly on
    /// another CPU — and `cache_grow` that page on the node it came from, then take an
    /// object from it; when another CPU took the new slab's objects first ("we are not
    /// holding any locks"), retry. The cpuset retry of 3.x–4.x (B.17) is not modelled: the
    /// model has no cpusets.
    pub(crate) fn fallback_alloc(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        mut irq: IrqOff<'m, P>,
    ) -> (Option<u64>, IrqOff<'m, P>) {
        self.enter(cachep.id, KFn::FallbackAlloc);
        if flags.contains(Gfp::THISNODE) {
            return (None, irq);
        }
        let exact = |f: Gfp| match self.m.era() {
            Era::A => f | Gfp::GFP_THISNODE,
            Era::B => f.exact_node(true),
        };
        let local_flags = flags & (Gfp(Gfp::CONSTRAINT_MASK.0 | Gfp::RECLAIM_MASK.0));
        let nodes = self.m.nodes();
        loop {
            // retry: objects on any node's lists, in the zonelist order of the policy's
            // node (`slab_node(current->mempolicy)`, else this one). The cpuset check is
            // era A's hardwall one (only the cpuset's nodes, while the page allocation
            // below may use any: "slab: fix cpuset check in fallback_alloc", Vladimir
            // Davydov, 2014, made it softwall) and era B's softwall one.
            let here = self.policy.slab_node(self.node(), nodes);
            let softwall = self.m.era() == Era::B;
            for i in 0..nodes {
                let nid = (here + i) % nodes;
                let allowed = if softwall {
                    self.policy.node_allowed_softwall(nid, flags)
                } else {
                    self.policy.node_allowed_hardwall(nid)
                };
                if !allowed {
                    continue;
                }
                self.site(cachep.id, crate::site::Site::PeekFreeObjects);
                if cachep.nodes[nid].peek_free_objects() == 0 {
                    continue;
                }
                let (o, i) = self.____cache_alloc_node(cachep, exact(flags), nid, irq);
                irq = i;
                if o.is_some() {
                    return (o, irq);
                }
            }
            // A slab from the page allocator, from whichever node it has memory on.
            let tok = self.irq_window_open_if(cachep.id, "fallback_alloc", local_flags, irq);
            let window = tok.is_none();
            let want = self.node();
            let page = self.kmem_getpages(cachep, local_flags, want);
            if window {
                self.may_sleep(cachep.id, MigrationPoint::AfterGetpages);
            }
            irq = match tok {
                Some(t) => t,
                None => self.irq_window_close(cachep.id),
            };
            let Some(pfn) = page else {
                return (None, irq);
            };
            // nid = page_to_nid(page): the page may come from any node (and the task may
            // run on another CPU now); `fallback-grow-asked-node` keeps the node it asked for.
            let nid = if self.m.mutations().has(Mutation::FallbackGrowAskedNode) {
                want
            } else {
                self.m.mem().page(pfn).expect("allocated page").node as usize
            };
            let (grown, i) = self.cache_grow(cachep, flags, nid, Some(pfn), irq);
            irq = i;
            if !grown {
                // cache_grow already freed the page.
                return (None, irq);
            }
            let (o, i) = self.____cache_alloc_node(cachep, exact(flags), nid, irq);
            irq = i;
            if o.is_some() {
                return (o, irq);
            }
            // Another processor may allocate the objects in the slab since we are not
            // holding any locks.
        }
    }
}
