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
//!
//! The few node fields the kernel reads without `list_lock` on purpose (`n->shared` and
//! its `avail` / `touched`, `free_objects`, `free_limit`, the emptiness of the lists, and
//! the reaper's `next_reap` and `free_touched`) are also kept in [`PeekWord`]s outside the
//! cell: every locked section publishes what it changed when it ends, and the unlocked
//! readers read only the words. Those reads are scheduling points but never races.

use crate::array_cache::ArrayCache;
use crate::cpu::IrqOff;
use crate::slab::SlabSet;
use crate::sync::{Lock, PeekWord, Platform, TrackedCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many shared arrays of one node the peek words remember: enough for a racy reader
/// that read `n->shared` just before a tune to still find the words of the array it read
/// (a reader older than that is reported as a use-after-free of a long-freed array).
pub const SHARED_RING: usize = 4;

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
    /// `shared`: the node's shared array (absent when the shared factor is 0). Its
    /// `touched` field is only a "set" request, published to the array's peek word when
    /// the locked section ends (the word is the flag: `drain_array` clears it unlocked).
    pub shared: Option<ArrayCache>,
    /// The pointer value of `n->shared`: a new id for every array `alloc_kmemlist`
    /// installs (0 = none yet).
    pub shared_id: u64,
    /// The last pointer value handed out (ids are never reused).
    shared_seq: u64,
    /// An allocation dipped into `slabs_free` during this locked section (`free_touched =
    /// 1`); published to the node's `free_touched` word, which the reaper reads and clears
    /// without the lock.
    pub free_touched: bool,
    published: Published,
}

/// What the peek words hold, so a locked section writes only the words it changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Published {
    free_objects: usize,
    free_limit: usize,
    slabs_free: bool,
    slabs_inuse: bool,
    shared_id: u64,
    shared_avail: usize,
}

impl NodeLists {
    /// Empty lists with `free_limit` and a shared array (`kmem_list3_init` +
    /// `alloc_kmemlist`'s first install).
    pub fn new(free_limit: usize, shared: Option<ArrayCache>) -> Self {
        NodeLists {
            slabs: SlabSet::default(),
            free_objects: 0,
            free_limit,
            colour_next: 0,
            shared_id: shared.is_some() as u64,
            shared_seq: 1,
            shared,
            free_touched: false,
            published: Published::default(),
        }
    }

    /// Installs a new shared array (`n->shared = new_shared`, under `list_lock`) with a
    /// new pointer value; the caller has already `free_block`ed the old one's objects.
    pub(crate) fn replace_shared(&mut self, new: Option<ArrayCache>) {
        self.shared_id = if new.is_some() {
            self.shared_seq += 1;
            self.shared_seq
        } else {
            0
        };
        self.shared = new;
    }
}

/// The words of one shared array that are read without `list_lock`.
pub(crate) struct SharedWords<P: Platform> {
    /// Which array (pointer value) the words belong to.
    id: P::Word,
    /// `avail`.
    avail: P::Word,
    /// `touched` (its only copy).
    pub(crate) touched: P::Word,
    /// `kfree(shared)` ran.
    freed: P::Word,
}

/// The node fields the kernel reads — and for `next_reap`, `free_touched` and the arrays'
/// `touched`, also writes — without `list_lock` (docs/concurrency.md, "unlocked reads").
/// Locked sections publish their changes here when they end ([`KmemCacheNode::lists`]).
pub(crate) struct NodePeek<P: Platform> {
    /// `n->shared` as a pointer value (0 = NULL).
    shared_ptr: P::Word,
    shared: [SharedWords<P>; SHARED_RING],
    pub(crate) free_objects: P::Word,
    free_limit: P::Word,
    /// `!list_empty(&n->slabs_free)`.
    slabs_free: P::Word,
    /// `!list_empty(&n->slabs_full) || !list_empty(&n->slabs_partial)`.
    slabs_inuse: P::Word,
    /// `next_reap` in jiffies (its only copy: only `cache_reap` reads or writes it).
    pub(crate) next_reap: P::Word,
    /// `free_touched` (its only copy).
    pub(crate) free_touched: P::Word,
}

/// `struct kmem_list3` / `struct kmem_cache_node` of one cache on one node.
pub struct KmemCacheNode<P: Platform> {
    /// Node id.
    pub node: usize,
    cache: u32,
    cache_name: String,
    list_lock: P::Mutex<()>,
    lists: P::Cell<NodeLists>,
    pub(crate) peek: NodePeek<P>,
    /// `alien[]`: one array per *remote* node (`None` for this node, or when alien caches
    /// are off), each behind its own lock (era A: the `array_cache` spinlock; era B:
    /// `struct alien_cache`). Not protected by `list_lock`.
    pub(crate) alien: Vec<Option<crate::alien::AlienCache<P>>>,
    /// `n->alien != NULL`: cleared by `cpuup_canceled` when the node's last CPU goes
    /// down (after which its arrays are drained), set again by `cpuup_prepare` or a tune.
    /// Written under `list_lock`; read by the alien paths of the node's own CPUs, which
    /// cannot run while it is detached (no CPU of the node is online).
    alien_attached: AtomicBool,
    /// The node struct was `kfree`d (only `hotplug-frees-node` does this, as 2.6.15 did).
    freed: AtomicBool,
    /// Shadow, not kernel state: 1 when `cpuup_prepare` set `free_limit` since the cache's
    /// last tune or creation, else 0. It computes the limit before the new CPU counts in
    /// `nr_cpus_node`, so from then on the limit is one batch below the formula (a CPU
    /// going down lowers both alike); the audit uses this to predict `free_limit`.
    pub(crate) limit_deficit: AtomicUsize,
}

/// Proof that `list_lock` of one node of one cache is held (`spin_lock(&n->list_lock)`).
pub struct NodeLock<'a, P: Platform> {
    node: usize,
    cache: u32,
    _guard: crate::cpu::Traced<'a, <P::Mutex<()> as Lock<()>>::Guard<'a>>,
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
        cache_name: &str,
        node: usize,
        mut lists: NodeLists,
        next_reap: u64,
        alien: Vec<Option<crate::alien::AlienCache<P>>>,
    ) -> Self {
        let w = |v: usize| P::Word::new(v);
        let peek = NodePeek {
            shared_ptr: w(0),
            shared: std::array::from_fn(|_| SharedWords {
                id: w(0),
                avail: w(0),
                touched: w(0),
                freed: w(0),
            }),
            free_objects: w(0),
            free_limit: w(0),
            slabs_free: w(0),
            slabs_inuse: w(0),
            next_reap: w(next_reap as usize),
            free_touched: w(0),
        };
        publish(&peek, &mut lists);
        KmemCacheNode {
            node,
            cache,
            cache_name: cache_name.to_string(),
            list_lock: P::Mutex::new(()),
            lists: P::Cell::new(lists),
            peek,
            alien,
            alien_attached: AtomicBool::new(true),
            freed: AtomicBool::new(false),
            limit_deficit: AtomicUsize::new(0),
        }
    }

    /// `n->alien != NULL`.
    pub(crate) fn alien_attached(&self) -> bool {
        self.alien_attached.load(Ordering::SeqCst)
    }

    /// `n->alien = alien` / `n->alien = NULL`, under `list_lock`.
    pub(crate) fn set_alien_attached(&self, _lock: &NodeLock<'_, P>, on: bool) {
        self.alien_attached.store(on, Ordering::SeqCst);
    }

    /// Whether `kfree(n)` ran (`hotplug-frees-node` only).
    pub(crate) fn is_freed(&self) -> bool {
        self.freed.load(Ordering::SeqCst)
    }

    /// `kfree(n)` / `cachep->nodelists[node] = NULL` (`hotplug-frees-node`).
    pub(crate) fn kfree_node(&self) {
        self.freed.store(true, Ordering::SeqCst);
    }

    /// `kmalloc_node` + `kmem_list3_init` of a node struct that had been freed
    /// (`cpuup_prepare` under `hotplug-frees-node`): empty lists. Whatever slabs the
    /// freed struct still listed are lost, as they were in the kernel.
    pub(crate) fn reinit_node(&self, free_limit: usize) {
        self.lists.with_mut(|l| {
            *l = NodeLists::new(free_limit, None);
            publish(&self.peek, l);
        });
        self.freed.store(false, Ordering::SeqCst);
    }

    /// `spin_lock(&n->list_lock)`, with interrupts already off on this CPU (the `irq`
    /// token): the lock is irq-safe.
    pub fn spin_lock<'a, 'm: 'a>(&'a self, irq: &IrqOff<'m, P>) -> NodeLock<'a, P> {
        irq.cover_site(crate::site::Site::ListLock);
        assert!(
            !self.is_freed(),
            "use-after-free: spin_lock of node{} of cache {}: its kmem_list3 was kfree'd by cpuup_canceled when the node's last CPU went down (node structs must outlive CPUs: a remote kmalloc_node or free still reaches them)",
            self.node,
            self.cache_name
        );
        NodeLock {
            node: self.node,
            cache: self.cache,
            _guard: irq.traced(
                self.list_lock.lock(),
                self.cache,
                crate::trace::LockName::ListLock {
                    node: self.node as u16,
                },
            ),
        }
    }

    /// The protected data, under its lock (`check_spinlock_acquired_node`).
    #[inline]
    pub fn lists<R>(&self, lock: &NodeLock<'_, P>, f: impl FnOnce(&mut NodeLists) -> R) -> R {
        assert!(
            lock.node == self.node && lock.cache == self.cache,
            "check_spinlock_acquired_node: holding node{} of cache id {} but touching node{} of cache {} (id {})",
            lock.node,
            lock.cache,
            self.node,
            self.cache_name,
            self.cache
        );
        self.lists.with_mut(|l| {
            let r = f(l);
            publish(&self.peek, l);
            r
        })
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
                    self.node, self.cache_name
                ),
            }
        }
        self.lists.with_mut(|l| {
            let r = f(l);
            publish(&self.peek, l);
            r
        })
    }

    /// `READ_ONCE(n->shared)`: the shared array's pointer value, without the lock.
    pub(crate) fn peek_shared_ptr(&self) -> u64 {
        self.peek.shared_ptr.read_once() as u64
    }

    fn shared_words(&self, id: u64, what: &str) -> &SharedWords<P> {
        let w = &self.peek.shared[(id as usize) % SHARED_RING];
        let freed = w.freed.read_once() != 0;
        if w.id.read_once() as u64 != id || freed {
            panic!(
                "use-after-free: {what} reads shared array #{id} of node{} of cache {} after do_tune_cpucache or cpuup_canceled replaced and freed it",
                self.node, self.cache_name
            );
        }
        w
    }

    /// `ac->avail` of the shared array `id` (a pointer read earlier), unlocked.
    pub(crate) fn peek_shared_avail(&self, id: u64, what: &str) -> usize {
        self.shared_words(id, what).avail.read_once()
    }

    /// The `touched` word of the shared array `id`, unlocked.
    pub(crate) fn shared_touched(&self, id: u64, what: &str) -> &P::Word {
        &self.shared_words(id, what).touched
    }

    /// `kfree(shared)` of a replaced shared array: later peeks through a stale pointer
    /// are use-after-free.
    pub(crate) fn kfree_shared(&self, id: u64) {
        if id != 0 {
            self.peek.shared[(id as usize) % SHARED_RING]
                .freed
                .write_once(1);
        }
    }

    /// `n->free_objects`, unlocked.
    pub(crate) fn peek_free_objects(&self) -> usize {
        self.peek.free_objects.read_once()
    }
    /// `n->free_limit`, unlocked.
    pub(crate) fn peek_free_limit(&self) -> usize {
        self.peek.free_limit.read_once()
    }
    /// `!list_empty(&n->slabs_free)`, unlocked.
    pub(crate) fn peek_slabs_free(&self) -> bool {
        self.peek.slabs_free.read_once() != 0
    }
    /// `!list_empty(&n->slabs_full) || !list_empty(&n->slabs_partial)`, unlocked.
    pub(crate) fn peek_slabs_inuse(&self) -> bool {
        self.peek.slabs_inuse.read_once() != 0
    }

    /// The shared array `id` under the lock: a pointer read before a tune replaced the
    /// array reaches memory the tuner has drained (and perhaps freed) — the 4.4 shrink
    /// race. Returns `None` for a NULL pointer.
    pub(crate) fn shared_at<'l>(
        &self,
        l: &'l mut NodeLists,
        id: u64,
        what: &str,
    ) -> Option<&'l mut ArrayCache> {
        if id == 0 {
            return None;
        }
        if l.shared_id != id {
            let freed = self.peek.shared[(id as usize) % SHARED_RING]
                .freed
                .read_once()
                != 0;
            panic!(
                "use-after-free: {what} drains shared array #{id} of node{} of cache {}, which do_tune_cpucache or cpuup_canceled replaced by #{} and {} (its objects were already given back by free_block)",
                self.node,
                self.cache_name,
                l.shared_id,
                if freed { "kfree'd" } else { "is about to kfree" }
            );
        }
        l.shared.as_mut()
    }

    /// The peek words that disagree with the locked lists `l`, as `(word, word's value,
    /// the lists' value)`. Every locked section ends by publishing, so at a quiescent
    /// point (the audit, with every CPU's token and this node's lock) each word equals
    /// what the lists say; a word that does not would feed a stale value to the next
    /// unlocked reader (`cache_reap`'s `free_limit`, `drain_freelist`'s `list_empty`,
    /// `drain_array`'s `n->shared`). In the kernel the two are the same memory.
    pub(crate) fn stale_peeks(&self, l: &NodeLists) -> Vec<(&'static str, usize, usize)> {
        let w = &self.peek;
        let mut out = Vec::new();
        let mut check = |what: &'static str, word: &P::Word, want: usize| {
            let got = word.read_once();
            if got != want {
                out.push((what, got, want));
            }
        };
        check("free_objects", &w.free_objects, l.free_objects);
        check("free_limit", &w.free_limit, l.free_limit);
        check(
            "list_empty(slabs_free)",
            &w.slabs_free,
            usize::from(!l.slabs.free.is_empty()),
        );
        check(
            "slabs_full/partial",
            &w.slabs_inuse,
            usize::from(!l.slabs.full.is_empty() || !l.slabs.partial.is_empty()),
        );
        check("n->shared", &w.shared_ptr, l.shared_id as usize);
        if let (Some(sh), true) = (l.shared.as_ref(), l.shared_id != 0) {
            let sw = &w.shared[(l.shared_id as usize) % SHARED_RING];
            check("shared array id", &sw.id, l.shared_id as usize);
            check("shared->avail", &sw.avail, sh.avail());
            check("shared array kfree'd", &sw.freed, 0);
        }
        out
    }
}

/// Brings the peek words up to date at the end of a locked section (only the changed
/// ones are written, so an unchanged section adds no scheduling point).
fn publish<P: Platform>(peek: &NodePeek<P>, l: &mut NodeLists) {
    let now = Published {
        free_objects: l.free_objects,
        free_limit: l.free_limit,
        slabs_free: !l.slabs.free.is_empty(),
        slabs_inuse: !l.slabs.full.is_empty() || !l.slabs.partial.is_empty(),
        shared_id: l.shared_id,
        shared_avail: l.shared.as_ref().map_or(0, |s| s.avail()),
    };
    let was = l.published;
    if now.shared_id != was.shared_id {
        if now.shared_id != 0 {
            let w = &peek.shared[(now.shared_id as usize) % SHARED_RING];
            w.id.write_once(now.shared_id as usize);
            w.avail.write_once(now.shared_avail);
            w.touched.write_once(0);
            w.freed.write_once(0);
        }
        peek.shared_ptr.write_once(now.shared_id as usize);
    } else if now.shared_avail != was.shared_avail && now.shared_id != 0 {
        peek.shared[(now.shared_id as usize) % SHARED_RING]
            .avail
            .write_once(now.shared_avail);
    }
    if let Some(sh) = l.shared.as_mut() {
        if sh.touched {
            sh.touched = false;
            peek.shared[(now.shared_id as usize) % SHARED_RING]
                .touched
                .write_once(1);
        }
    }
    if l.free_touched {
        l.free_touched = false;
        peek.free_touched.write_once(1);
    }
    if now.free_objects != was.free_objects {
        peek.free_objects.write_once(now.free_objects);
    }
    if now.free_limit != was.free_limit {
        peek.free_limit.write_once(now.free_limit);
    }
    if now.slabs_free != was.slabs_free {
        peek.slabs_free.write_once(now.slabs_free as usize);
    }
    if now.slabs_inuse != was.slabs_inuse {
        peek.slabs_inuse.write_once(now.slabs_inuse as usize);
    }
    l.published = now;
}

#[cfg(test)]
mod tests {
    use crate::testing::{create, panic_of, tiny, Cache, M};
    use crate::{Era, MutationSet};

    fn machine(era: Era) -> (M, Cache) {
        let m = tiny(era, MutationSet::NONE, true);
        let c = create(&m, "n", 500);
        (m, c)
    }

    /// A shared-array pointer read before `do_tune_cpucache` replaced (and `kfree`d) the
    /// array is a use-after-free when drained under the lock afterwards; the report says
    /// the array was already freed, which is what tells the 2.6.24/4.4 tune (free after
    /// the swap) from a drain that raced the swap itself.
    #[test]
    fn draining_a_shared_array_replaced_by_a_tune_reports_it_freed() {
        for era in [Era::A, Era::B] {
            let (m, c) = machine(era);
            let n = &c.nodes[0];
            let old = n.peek_shared_ptr();
            assert_ne!(old, 0, "era {era}: a shared array on a 2-CPU machine");
            m.tuner(0, "tuner")
                .do_tune_cpucache_checked(&c, 8, 4, 2)
                .expect("valid tunables");
            assert_ne!(n.peek_shared_ptr(), old, "era {era}: replaced");
            let t = m.task(0, "t");
            let irq = t.local_irq_disable();
            let msg = panic_of(|| {
                let lock = n.spin_lock(&irq);
                n.lists(&lock, |l| {
                    n.shared_at(l, old, "drain_array");
                });
            });
            assert!(
                msg.starts_with("use-after-free: drain_array drains shared array")
                    && msg.contains("and kfree'd"),
                "era {era}: {msg}"
            );
        }
    }

    /// `drain_freelist` looks at `list_empty(&n->slabs_free)` without the lock and takes
    /// `list_lock` only when the list looks non-empty: with no free slab it returns
    /// without a locked section.
    #[test]
    fn drain_freelist_locks_only_a_node_with_free_slabs() {
        use crate::trace::{EventKind, LockName};
        for era in [Era::A, Era::B] {
            let (m, c) = machine(era);
            let mut t = m.task(0, "t");
            let o = t
                .kmem_cache_alloc(&c, crate::Gfp::KERNEL)
                .expect("no misuse")
                .expect("memory");
            let locks = |from: usize| {
                m.trace.events()[from..]
                    .iter()
                    .filter(|e| e.kind == EventKind::LockTaken(LockName::ListLock { node: 0 }))
                    .count()
            };
            let from = m.trace.events().len();
            assert_eq!(m.reaper(0, "reap0").drain_freelist(&c, 0, 1), 0);
            assert_eq!(locks(from), 0, "era {era}: no free slab, no lock");
            t.kmem_cache_free(&c, o).expect("no misuse");
            m.reaper(0, "reap0").drain_cpu_array(&c, 0, true);
            assert!(
                !m.node_snapshot(&c, 0).slabs_free.is_empty(),
                "era {era}: a free slab"
            );
            let from = m.trace.events().len();
            assert_eq!(
                m.reaper(0, "reap0").drain_freelist(&c, 0, 1),
                1,
                "era {era}"
            );
            assert!(locks(from) >= 1, "era {era}: locked to unlink it");
        }
    }
}
