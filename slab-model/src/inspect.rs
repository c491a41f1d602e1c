//! Read-only snapshots of allocator state for tests and tools: a node's slab lists in
//! list order (what a kernel debugger would print walking `slabs_partial` /
//! `slabs_full` / `slabs_free`), a CPU's `array_cache`, and the page allocator's free
//! page count. Nothing here changes state; each snapshot takes the locks the kernel would
//! need to read the same fields consistently (the CPU's irq-off token, the node's
//! `list_lock`, `zone->lock`).

use crate::array_cache::ArrayCache;
use crate::cache::KmemCache;
use crate::cpu::{Context, ContextKind};
use crate::machine::Machine;
use crate::slab::SlabId;
use crate::sync::{Lock, PeekWord, Platform};
use crate::trace::ListKind;

/// One slab as seen on a node list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlabSnapshot {
    /// The slab's identity (pfn of its first page).
    pub id: SlabId,
    /// `inuse` (era A) / `active` (era B).
    pub inuse: usize,
    /// `page_address` of the first page.
    pub base: u64,
    /// `colouroff`: bytes from `base` to `s_mem` (colour area plus on-slab management).
    pub colouroff: usize,
    /// `s_mem`: address of object 0.
    pub s_mem: u64,
    /// Whether the management data is off-slab (a kmalloc object).
    pub off_slab: bool,
    /// Address of the management data.
    pub mgmt_addr: u64,
}

/// `struct kmem_list3` / `struct kmem_cache_node` of one cache on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSnapshot {
    /// `slabs_partial`, head first.
    pub slabs_partial: Vec<SlabSnapshot>,
    /// `slabs_full`, head first.
    pub slabs_full: Vec<SlabSnapshot>,
    /// `slabs_free`, head first.
    pub slabs_free: Vec<SlabSnapshot>,
    /// `free_objects`.
    pub free_objects: usize,
    /// `free_limit`.
    pub free_limit: usize,
    /// `colour_next`.
    pub colour_next: usize,
    /// The shared array, if any.
    pub shared: Option<ArrayCache>,
    /// `next_reap` (jiffies).
    pub next_reap: u64,
    /// `free_touched`.
    pub free_touched: bool,
}

impl NodeSnapshot {
    /// Ids of the slabs on one list, head first.
    pub fn ids(&self, kind: ListKind) -> Vec<SlabId> {
        let l = match kind {
            ListKind::Partial => &self.slabs_partial,
            ListKind::Full => &self.slabs_full,
            ListKind::Free => &self.slabs_free,
            ListKind::None => return Vec::new(),
        };
        l.iter().map(|s| s.id).collect()
    }
    /// The list a slab is on, if any.
    pub fn list_of(&self, id: SlabId) -> Option<ListKind> {
        [ListKind::Partial, ListKind::Full, ListKind::Free]
            .into_iter()
            .find(|&k| self.ids(k).contains(&id))
    }
    /// Every slab of the node (partial, full, free order).
    pub fn all_slabs(&self) -> impl Iterator<Item = &SlabSnapshot> {
        self.slabs_partial
            .iter()
            .chain(&self.slabs_full)
            .chain(&self.slabs_free)
    }
}

impl<P: Platform> Machine<P> {
    /// Snapshot of one node's lists of `cachep`, taken under that node's `list_lock`.
    /// Quiescent use only (like the audit).
    pub fn node_snapshot(&self, cachep: &KmemCache<P>, node: usize) -> NodeSnapshot {
        let ctx = Context::new(self, ContextKind::Task, 0, "inspect");
        let irq = ctx.local_irq_disable();
        let n = &cachep.nodes[node];
        let lock = n.spin_lock(&irq);
        n.lists(&lock, |l| {
            let list = |kind: ListKind| -> Vec<SlabSnapshot> {
                l.slabs
                    .walk(kind)
                    .unwrap_or_else(|e| panic!("node_snapshot: {e}"))
                    .into_iter()
                    .map(|id| {
                        let s = l.slabs.get(id).expect("walked slab exists");
                        SlabSnapshot {
                            id,
                            inuse: s.inuse,
                            base: s.base,
                            colouroff: s.colouroff,
                            s_mem: s.s_mem,
                            off_slab: s.mgmt_off_slab,
                            mgmt_addr: s.mgmt_addr,
                        }
                    })
                    .collect()
            };
            NodeSnapshot {
                slabs_partial: list(ListKind::Partial),
                slabs_full: list(ListKind::Full),
                slabs_free: list(ListKind::Free),
                free_objects: l.free_objects,
                free_limit: l.free_limit,
                colour_next: l.colour_next,
                shared: l.shared.clone().map(|mut sh| {
                    sh.touched = n.shared_touched(l.shared_id, "node_snapshot").read_once() != 0;
                    sh
                }),
                next_reap: n.peek.next_reap.read_once() as u64,
                free_touched: n.peek.free_touched.read_once() != 0,
            }
        })
    }

    /// Snapshot of CPU `cpu`'s `array_cache` of `cachep` (`cachep->array[cpu]`), read
    /// with that CPU's interrupts off. `entry[avail-1]` is the hottest object. A CPU whose
    /// array is NULL (era A, CPU down) shows an empty array of limit 0.
    pub fn cpu_array_snapshot(&self, cachep: &KmemCache<P>, cpu: usize) -> ArrayCache {
        if cachep.era == crate::profile::Era::A && !self.cpu_online(cpu) {
            return ArrayCache::new(0, 0);
        }
        let ctx = Context::new(self, ContextKind::Task, 0, "inspect");
        let irq = ctx.irq_off_on(cpu);
        let ac = cachep.current_ac(cpu);
        let mut r = cachep.ac(&irq, ac, |a| a.clone());
        r.touched = cachep.ac_touched(ac);
        drop(irq);
        r
    }

    /// Node `node`'s alien array for objects of node `remote` (`n->alien[remote]`), or
    /// `None` when there is none (single node, or `remote == node`).
    pub fn alien_snapshot(
        &self,
        cachep: &KmemCache<P>,
        node: usize,
        remote: usize,
    ) -> Option<ArrayCache> {
        let alien = cachep.nodes[node].alien.get(remote)?.as_ref()?;
        let ctx = Context::new(self, ContextKind::Task, 0, "inspect");
        let irq = ctx.local_irq_disable();
        Some(alien.with(&irq, cachep.id, |ac| ac.clone()))
    }

    /// `nr_free_pages()`: free pages of the page allocator over all nodes.
    pub fn nr_free_pages(&self) -> u64 {
        let zone = self.zone.lock();
        (0..zone.nr_nodes()).map(|n| zone.free_pages_count(n)).sum()
    }

    /// Page allocator requests so far (what `FaultInjection::fail_nth` counts).
    pub fn page_alloc_requests(&self) -> u64 {
        self.zone.lock().requests()
    }

    /// Writes the page allocator's fault-injection knobs at run time (debugfs
    /// `fail_page_alloc`): the only state-changing function of this module, for tests that
    /// need the machine to run out of memory and then recover.
    pub fn set_fault_injection(&self, faults: crate::page_alloc::FaultInjection) {
        self.zone.lock().set_faults(faults);
    }

    /// `NR_SLAB_RECLAIMABLE + NR_SLAB_UNRECLAIMABLE`: pages currently held by slabs.
    pub fn nr_slab_pages(&self) -> u64 {
        let zone = self.zone.lock();
        zone.nr_slab_reclaimable() + zone.nr_slab_unreclaimable()
    }
}
