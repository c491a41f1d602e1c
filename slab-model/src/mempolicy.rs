//! A task's NUMA placement policy as SLAB sees it: the memory policy (`current->mempolicy`,
//! read by `slab_node` / `mempolicy_slab_node`) and the cpuset (`mems_allowed`,
//! `memory_spread_slab`), which steer `alternate_node_alloc` and the node scan of
//! `fallback_alloc` (mm/slab.c v2.6.24 lines 3211–3290, v4.4.11 lines 2978–3060).
//!
//! Only what SLAB consults is modelled. The page allocator ignores cpusets: a cpuset here
//! restricts SLAB's choices, never where `kmem_getpages` finds memory. That matches the
//! kernel for the masks the scenarios use (`GFP_KERNEL` has no `__GFP_HARDWALL`, and
//! the softwall check lets such allocations go to any node of a cpuset that is not
//! hardwalled).

use crate::gfp::Gfp;
use std::cell::Cell;

/// `current->mempolicy` (the parts `slab_node` reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemPolicy {
    /// `MPOL_PREFERRED` of one node.
    Preferred(usize),
    /// `MPOL_INTERLEAVE` over every node: `interleave_nodes` hands out the next node on
    /// each call.
    Interleave,
}

/// A task's cpuset as SLAB sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpuset {
    /// `mems_allowed`, a bit per node.
    pub mems: u64,
    /// `memory_spread_slab` (`PF_SPREAD_SLAB` in 2.6.24): allocations from caches with
    /// `SLAB_MEM_SPREAD` rotate over `mems`.
    pub spread_slab: bool,
}

/// A task's placement state: policy, cpuset and their rotors (`il_next`,
/// `cpuset_mem_spread_rotor`).
#[derive(Debug, Default)]
pub struct TaskPolicy {
    pub(crate) mempolicy: Option<MemPolicy>,
    pub(crate) cpuset: Option<Cpuset>,
    il_next: Cell<usize>,
    spread_rotor: Cell<usize>,
}

impl TaskPolicy {
    /// Whether `__do_cache_alloc` calls `alternate_node_alloc` (era A: `PF_SPREAD_SLAB |
    /// PF_MEMPOLICY`; era B: `current->mempolicy || cpuset_do_slab_mem_spread()`).
    pub(crate) fn wants_alternate(&self) -> bool {
        self.mempolicy.is_some() || self.cpuset.is_some_and(|c| c.spread_slab)
    }

    /// `cpuset_do_slab_mem_spread()`.
    pub(crate) fn spread_slab(&self) -> bool {
        self.cpuset.is_some_and(|c| c.spread_slab)
    }

    /// `slab_node(current->mempolicy)` / `mempolicy_slab_node()`: the policy's node
    /// (interleave advances its rotor), or `here` without a policy.
    pub(crate) fn slab_node(&self, here: usize, nodes: usize) -> usize {
        match self.mempolicy {
            None => here,
            Some(MemPolicy::Preferred(n)) => n,
            Some(MemPolicy::Interleave) => {
                let n = self.il_next.get() % nodes;
                self.il_next.set((n + 1) % nodes);
                n
            }
        }
    }

    /// `cpuset_mem_spread_node()` / `cpuset_slab_spread_node()`: the next node of
    /// `mems_allowed` after the rotor.
    pub(crate) fn spread_node(&self, nodes: usize) -> usize {
        let mems = self.cpuset.map_or(u64::MAX, |c| c.mems);
        for i in 1..=nodes {
            let n = (self.spread_rotor.get() + i) % nodes;
            if mems & (1 << n) != 0 {
                self.spread_rotor.set(n);
                return n;
            }
        }
        self.spread_rotor.get() % nodes
    }

    /// Era A's `cpuset_zone_allowed_hardwall`: only the cpuset's own nodes.
    pub(crate) fn node_allowed_hardwall(&self, node: usize) -> bool {
        self.cpuset.is_none_or(|c| c.mems & (1 << node) != 0)
    }

    /// Era B's `cpuset_zone_allowed(zone, flags)` (softwall): the cpuset's nodes, and —
    /// for a mask without `__GFP_HARDWALL`, the cpuset not being hardwalled — the nearest
    /// hardwalled ancestor's, here the root's: every node.
    pub(crate) fn node_allowed_softwall(&self, node: usize, flags: Gfp) -> bool {
        self.node_allowed_hardwall(node) || !flags.contains(Gfp::HARDWALL)
    }
}
