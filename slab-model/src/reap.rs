//! Periodic reaping: `cache_reap`, `drain_array`, `drain_freelist`.

use crate::alloc::Access;
use crate::cache::{AcRef, KmemCache};
use crate::cpu::Context;
use crate::machine::REAPTIMEOUT_NODE;
use crate::mutation::Mutation;
use crate::sync::{Lock, Platform, TrackedCell};
use crate::trace::{EventKind, KFn, ListKind};

/// What one `cache_reap` pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReapOutcome {
    /// `mutex_trylock(&cache_chain_mutex)` failed: nothing was done.
    pub skipped: bool,
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
    /// `cache_reap` (eras A, B) for this context's CPU: with `cache_chain_mutex`
    /// (trylock: a busy chain means "try again next period"), for every cache:
    /// `reap_alien` of the rotor's node (trylock), `drain_array` of this CPU's array (the touched rule); then, only if `jiffies` has
    /// passed the node's `next_reap`, `next_reap = jiffies + REAPTIMEOUT_NODE`, `drain_array` of
    /// the shared array, and — unless `free_touched` (which is cleared instead) —
    /// `drain_freelist` of `(free_limit + 5·num − 1) / (5·num)` slabs. The rotor then
    /// advances (`next_reap_node`).
    pub fn cache_reap(&mut self) -> ReapOutcome {
        let m = self.m;
        let mut out = ReapOutcome::default();
        let Some(chain) = m.chain.try_lock() else {
            out.skipped = true;
            return out;
        };
        let ids = chain.ids.clone();
        let reap_node = m.next_reap_node(self.cpu());
        self.enter(u32::MAX, KFn::CacheReap);
        for id in ids {
            let cachep = m.cache_by_id(id);
            let node = self.node();
            self.reap_alien(&cachep, reap_node);
            let target = if m.mutations().has(Mutation::ReapForeignCpu) {
                // B.27: the work item runs on another CPU than the array it drains.
                (self.cpu() + 1) % m.cpus().len()
            } else {
                self.cpu()
            };
            out.objects_drained += self.drain_cpu_array(&cachep, target, false);
            let jiffies = m.jiffies();
            let due = {
                let irq = self.local_irq_disable();
                let n = &cachep.nodes[node];
                let lock = n.spin_lock(&irq);
                let due = n.lists(&lock, |l| {
                    if l.next_reap > jiffies {
                        false
                    } else {
                        l.next_reap = jiffies + REAPTIMEOUT_NODE;
                        true
                    }
                });
                drop(lock);
                self.local_irq_enable(irq);
                due
            };
            if !due {
                continue;
            }
            out.objects_drained += self.drain_shared_array(&cachep, node, false);
            let (touched, tofree) = {
                let irq = self.local_irq_disable();
                let n = &cachep.nodes[node];
                let lock = n.spin_lock(&irq);
                let num = cachep.num();
                let r = n.lists(&lock, |l| {
                    let t = l.free_touched;
                    l.free_touched = false;
                    (t, l.free_limit.div_ceil(5 * num))
                });
                drop(lock);
                self.local_irq_enable(irq);
                r
            };
            if !touched {
                out.slabs_freed += self.drain_freelist(&cachep, node, tofree);
            }
        }
        drop(chain);
        out
    }

    /// `drain_array(cachep, n, ac, force, node)` for a CPU's array (eras A, B): if
    /// `touched` and not forced, clear `touched` and keep everything; else free
    /// [`drain_amount`] objects from the bottom via `free_block` and shift the rest down.
    /// The kernel reads `touched` with interrupts on (a benign race on its own CPU's
    /// data); the model reads it with interrupts off. Returns the objects freed.
    pub fn drain_cpu_array(&self, cachep: &KmemCache<P>, cpu: usize, force: bool) -> usize {
        let m = self.m;
        let muts = m.mutations();
        let irq = self.local_irq_disable();
        let foreign = cpu != irq.cpu();
        let generation = cachep.cpu_slots[cpu].with(|s| s.generation);
        let ac = AcRef { cpu, generation };
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
        let mut objs = Vec::new();
        touch(&mut |a| {
            if a.avail() == 0 {
                return;
            }
            if a.touched && !force {
                a.touched = false;
                return;
            }
            let n = drain_amount(a.limit, a.avail(), force);
            objs = a.entry[..n].to_vec();
        });
        if objs.is_empty() {
            drop(irq);
            return 0;
        }
        self.enter(cachep.id, KFn::DrainArray);
        let node = m.cpus()[self.cpu()].node;
        let lock = cachep.nodes[node].spin_lock(&irq);
        let doomed = self.free_block(cachep, &objs, node, &Access::Locked(&lock));
        touch(&mut |a| {
            a.take_bottom(objs.len(), muts);
        });
        self.destroy_doomed(cachep, doomed, lock, &irq);
        drop(irq);
        objs.len()
    }

    /// `drain_array` for a node's shared array (eras A, B), under that node's
    /// `list_lock` throughout (the 2.6 kernel peeked at `touched` unlocked; B.22 is the
    /// class of bug that peeking leads to).
    pub fn drain_shared_array(&self, cachep: &KmemCache<P>, node: usize, force: bool) -> usize {
        self.m.cover(KFn::DrainArray);
        let muts = self.m.mutations();
        let irq = self.local_irq_disable();
        let n = &cachep.nodes[node];
        let lock = n.spin_lock(&irq);
        let objs = n.lists(&lock, |l| {
            let Some(shared) = l.shared.as_mut() else {
                return Vec::new();
            };
            if shared.avail() == 0 {
                return Vec::new();
            }
            if shared.touched && !force {
                shared.touched = false;
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
        self.destroy_doomed(cachep, doomed, lock, &irq);
        drop(irq);
        objs.len()
    }

    /// `drain_freelist(cache, n, tofree)` (eras A, B): destroys up to `tofree` **slabs**
    /// from the tail of `slabs_free`, taking `list_lock` for each unlink and destroying the
    /// slab after dropping it. Returns the slabs destroyed.
    pub fn drain_freelist(&self, cachep: &KmemCache<P>, node: usize, tofree: usize) -> usize {
        self.m.cover(KFn::DrainFreelist);
        let mut freed = 0;
        let n = &cachep.nodes[node];
        while freed < tofree {
            let irq = self.local_irq_disable();
            let lock = n.spin_lock(&irq);
            let slab = n.lists(&lock, |l| {
                let id = l.slabs.free.last()?;
                l.slabs.list_del(id);
                l.free_objects -= cachep.num();
                Some(l.slabs.remove(id))
            });
            drop(lock);
            let Some(slab) = slab else {
                drop(irq);
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
            self.slab_destroy(cachep, slab, &irq);
            drop(irq);
            freed += 1;
        }
        freed
    }
}
