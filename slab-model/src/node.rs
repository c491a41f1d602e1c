//! The per-node part of a cache: era A `struct kmem_list3`, era B `struct
//! kmem_cache_node` — the three slab lists, `free_objects`, `free_limit`, `colour_next`,
//! the shared array and the reaper's node state, all protected by `list_lock`.
//!
//! The lock and the data are separate so the *types* carry the locking rule: the data is
//! reachable through [`KmemCacheNode::lists`] only with a [`NodeLock`] of the same node of
//! the same cache, and a `NodeLock` can only be taken with interrupts off (the lock is
//! irq-safe: it is also taken from interrupt context, so holding it with interrupts on
//! could deadlock against an interrupt on the same CPU). Mutations that model a missing
//! lock go through [`KmemCacheNode::lists_racy`], which the backends check.

use crate::array_cache::ArrayCache;
use crate::cpu::IrqOff;
use crate::slab::SlabSet;
use crate::sync::{Lock, Platform, TrackedCell};

/// Everything `list_lock` protects.
#[derive(Clone, Debug)]
pub struct NodeLists {
    /// The slabs of this node and the `slabs_partial` / `slabs_full` / `slabs_free` lists.
    pub slabs: SlabSet,
    /// `free_objects`: free objects in this node's slabs (arrays excluded).
    pub free_objects: usize,
    /// `free_limit`: above it, `free_block` destroys empty slabs instead of keeping them.
    pub free_limit: usize,
    /// `colour_next`: colour of the next slab `cache_grow` creates on this node.
    pub colour_next: usize,
    /// `shared`: the node's shared array (absent when the shared factor is 0).
    pub shared: Option<ArrayCache>,
    /// `next_reap` in jiffies: the node part of `cache_reap` runs only after it.
    pub next_reap: u64,
    /// `free_touched`: an allocation dipped into `slabs_free` since the last reap.
    pub free_touched: bool,
}

/// `struct kmem_list3` / `struct kmem_cache_node` of one cache on one node.
pub struct KmemCacheNode<P: Platform> {
    /// Node id.
    pub node: usize,
    cache: u32,
    list_lock: P::Mutex<()>,
    lists: P::Cell<NodeLists>,
    /// `alien[]`: one array per *remote* node (`None` for this node, or when alien caches
    /// are off), each behind its own lock (era A: the `array_cache` spinlock; era B:
    /// `struct alien_cache`). Not protected by `list_lock`.
    pub(crate) alien: Vec<Option<crate::alien::AlienCache<P>>>,
}

/// Proof that `list_lock` of one node of one cache is held (`spin_lock(&n->list_lock)`).
pub struct NodeLock<'a, P: Platform> {
    node: usize,
    cache: u32,
    _guard: <P::Mutex<()> as Lock<()>>::Guard<'a>,
}

impl<P: Platform> NodeLock<'_, P> {
    /// The node whose lock is held.
    pub fn node(&self) -> usize {
        self.node
    }
}

impl<P: Platform> KmemCacheNode<P> {
    /// A node structure with empty lists.
    pub fn new(
        cache: u32,
        node: usize,
        lists: NodeLists,
        alien: Vec<Option<crate::alien::AlienCache<P>>>,
    ) -> Self {
        KmemCacheNode {
            node,
            cache,
            list_lock: P::Mutex::new(()),
            lists: P::Cell::new(lists),
            alien,
        }
    }

    /// `spin_lock(&n->list_lock)`, with interrupts already off on this CPU (the `irq`
    /// token): the lock is irq-safe.
    pub fn spin_lock<'a>(&'a self, _irq: &IrqOff<'_, P>) -> NodeLock<'a, P> {
        NodeLock {
            node: self.node,
            cache: self.cache,
            _guard: self.list_lock.lock(),
        }
    }

    /// `spin_trylock`.
    pub fn spin_trylock<'a>(&'a self, _irq: &IrqOff<'_, P>) -> Option<NodeLock<'a, P>> {
        self.list_lock.try_lock().map(|g| NodeLock {
            node: self.node,
            cache: self.cache,
            _guard: g,
        })
    }

    /// The protected data, under its lock (`check_spinlock_acquired_node`).
    #[inline]
    pub fn lists<R>(&self, lock: &NodeLock<'_, P>, f: impl FnOnce(&mut NodeLists) -> R) -> R {
        assert!(
            lock.node == self.node && lock.cache == self.cache,
            "check_spinlock_acquired_node: holding node{} of cache {} but touching node{} of cache {}",
            lock.node,
            lock.cache,
            self.node,
            self.cache
        );
        self.lists.with_mut(f)
    }

    /// The protected data *without* the lock: only mutations use this, to model a kernel
    /// path that forgot `list_lock`. On backends without causality tracking it first
    /// checks whether another context holds the lock right now — an access that overlaps
    /// a locked section is the data race, reported as such. (Under loom the check is
    /// skipped: its lock operations would order the accesses and hide the race that loom's
    /// causality checker reports.)
    pub fn lists_racy<R>(&self, what: &str, f: impl FnOnce(&mut NodeLists) -> R) -> R {
        if !P::TRACKS_CAUSALITY {
            match self.list_lock.try_lock() {
                Some(g) => drop(g),
                None => panic!(
                    "data race: {what} touches node{} lists of cache {} without list_lock while another context holds it",
                    self.node, self.cache
                ),
            }
        }
        self.lists.with_mut(f)
    }
}
