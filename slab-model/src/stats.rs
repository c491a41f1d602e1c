//! `STATS` (eras A and B): the per-cache statistics `CONFIG_DEBUG_SLAB` turns on and
//! `/proc/slabinfo` prints as `globalstat` and `cpustat` (format `2.1 (statistics)`).
//!
//! mm/slab.c sets `STATS` exactly when `DEBUG` is set (2.6.24 lines 128-136, 4.4 the same
//! block), so the model keeps statistics on the debug profile only: a plain profile has
//! no counters at all, and no extra scheduling points.
//!
//! The kernel keeps two kinds of counter, and the model keeps both kinds:
//! * `allochit`, `allocmiss`, `freehit`, `freemiss` are `atomic_t` (`atomic_inc`): the
//!   fast paths bump them with interrupts off and no lock, so they must be atomic.
//!   Here: [`AtomicCounter::fetch_add`].
//! * every other counter is a plain `unsigned long` in `struct kmem_cache`, bumped with
//!   `x++` under whatever the call site holds: a node's `list_lock` (`num_active`,
//!   `num_allocations`, `high_mark`, `grown`, `max_freeable`, `node_allocs`), an alien
//!   array's lock (`node_overflow`), `cache_chain_mutex` / `slab_mutex` (`reaped`), or
//!   nothing but irq-off (`node_frees`, in `cache_free_alien`). The counters are per cache
//!   but most locks are per node, so two nodes' sections (or two CPUs in
//!   `cache_free_alien`) can lose each other's update: the kernel accepts that for
//!   statistics. Here: a [`PeekWord`] read and written once (`READ_ONCE` then
//!   `WRITE_ONCE`), which can lose an update under loom and shuttle exactly as the kernel
//!   can, without a checker calling it a data race.
//!
//! Every counter method is named after its kernel macro and says which lock its call site
//! holds; the site passes the proof (an [`IrqOff`] token or a node-lock guard).

use crate::cpu::IrqOff;
use crate::node::NodeLock;
use crate::profile::Era;
use crate::sync::{AtomicCounter, PeekWord, Platform};
use serde::Serialize;

/// A plain `unsigned long` statistic: `x++` is a read and a write, not an atomic add.
fn plain_add<W: PeekWord>(w: &W, v: usize) {
    w.write_once(w.read_once().wrapping_add(v));
}

/// `STATS_SET_HIGH` / `STATS_SET_FREEABLE`: `if (x < v) x = v`.
fn plain_max<W: PeekWord>(w: &W, v: usize) {
    if w.read_once() < v {
        w.write_once(v);
    }
}

/// The statistics fields of one `struct kmem_cache` (2.6.24 lines 400-419, 4.4
/// include/linux/slab_def.h): present only when `STATS`.
pub struct CacheStats<P: Platform> {
    num_active: P::Word,
    num_allocations: P::Word,
    high_mark: P::Word,
    grown: P::Word,
    reaped: P::Word,
    errors: P::Word,
    max_freeable: P::Word,
    node_allocs: P::Word,
    node_frees: P::Word,
    node_overflow: P::Word,
    allochit: P::Counter,
    allocmiss: P::Counter,
    freehit: P::Counter,
    freemiss: P::Counter,
}

/// A snapshot of one cache's statistics, in `/proc/slabinfo`'s column order and names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SlabStats {
    /// `<listallocs>` = `num_allocations`: objects `cache_alloc_refill` took from slabs.
    pub listallocs: usize,
    /// `<maxobjs>` = `high_mark`: the highest `num_active` seen.
    pub maxobjs: usize,
    /// `<grown>`: slabs `cache_grow` added.
    pub grown: usize,
    /// `<reaped>`: slabs `cache_reap`'s `drain_freelist` destroyed.
    pub reaped: usize,
    /// `<error>`: `STATS_INC_ERR` has no call site in 2.6.24 or 4.4, so always 0.
    pub errors: usize,
    /// `<maxfreeable>`: the most free slabs `cache_flusharray` counted on its node.
    pub maxfreeable: usize,
    /// `<nodeallocs>`: objects `____cache_alloc_node` took straight from a slab.
    pub nodeallocs: usize,
    /// `<remotefrees>` = `node_frees`: frees of another node's object (`cache_free_alien`).
    pub remotefrees: usize,
    /// `<alienoverflow>` = `node_overflow`: alien arrays found full and drained.
    pub alienoverflow: usize,
    /// `<allochit>`: `____cache_alloc` found an object in the CPU's array.
    pub allochit: usize,
    /// `<allocmiss>`: `____cache_alloc` went to `cache_alloc_refill`.
    pub allocmiss: usize,
    /// `<freehit>`: `__cache_free` found room in the CPU's array.
    pub freehit: usize,
    /// `<freemiss>`: `__cache_free` had to `cache_flusharray` first.
    pub freemiss: usize,
    /// `num_active` (not printed): objects out of their slabs (in arrays or with callers).
    pub num_active: usize,
}

impl SlabStats {
    /// `slabinfo_show_stats` (4.4) / the `#if STATS` part of `s_show` (2.6.24): the text
    /// after the `slabdata` columns. 2.6.24 continues the `globalstat` format string with a
    /// backslash-newline inside the literal, so its output carries the four tabs that
    /// indent the next source line; 4.4 splits the literal instead and has none.
    pub fn render(&self, era: Era) -> String {
        let gap = match era {
            Era::A => " \t\t\t\t",
            Era::B => " ",
        };
        format!(
            " : globalstat {:>7} {:>6} {:>5} {:>4}{gap}{:>4} {:>4} {:>4} {:>4} {:>4} : cpustat {:>6} {:>6} {:>6} {:>6}",
            self.listallocs,
            self.maxobjs,
            self.grown,
            self.reaped,
            self.errors,
            self.maxfreeable,
            self.nodeallocs,
            self.remotefrees,
            self.alienoverflow,
            self.allochit,
            self.allocmiss,
            self.freehit,
            self.freemiss,
        )
    }
}

impl<P: Platform> CacheStats<P> {
    /// All counters zero (`kmem_cache_create` zeroes the descriptor).
    pub(crate) fn new() -> Self {
        CacheStats {
            num_active: P::Word::new(0),
            num_allocations: P::Word::new(0),
            high_mark: P::Word::new(0),
            grown: P::Word::new(0),
            reaped: P::Word::new(0),
            errors: P::Word::new(0),
            max_freeable: P::Word::new(0),
            node_allocs: P::Word::new(0),
            node_frees: P::Word::new(0),
            node_overflow: P::Word::new(0),
            allochit: P::Counter::new(0),
            allocmiss: P::Counter::new(0),
            freehit: P::Counter::new(0),
            freemiss: P::Counter::new(0),
        }
    }

    /// What `/proc/slabinfo` would print now (racy reads, as the kernel's `s_show`).
    pub fn snapshot(&self) -> SlabStats {
        SlabStats {
            listallocs: self.num_allocations.read_once(),
            maxobjs: self.high_mark.read_once(),
            grown: self.grown.read_once(),
            reaped: self.reaped.read_once(),
            errors: self.errors.read_once(),
            maxfreeable: self.max_freeable.read_once(),
            nodeallocs: self.node_allocs.read_once(),
            remotefrees: self.node_frees.read_once(),
            alienoverflow: self.node_overflow.read_once(),
            allochit: self.allochit.load(),
            allocmiss: self.allocmiss.load(),
            freehit: self.freehit.load(),
            freemiss: self.freemiss.load(),
            num_active: self.num_active.read_once(),
        }
    }

    /// `STATS_INC_ALLOCHIT` (`____cache_alloc`, interrupts off, no lock: atomic).
    pub(crate) fn inc_allochit(&self, _irq: &IrqOff<'_, P>) {
        self.allochit.fetch_add(1);
    }

    /// `STATS_INC_ALLOCMISS` (`____cache_alloc`, interrupts off, no lock: atomic).
    pub(crate) fn inc_allocmiss(&self, _irq: &IrqOff<'_, P>) {
        self.allocmiss.fetch_add(1);
    }

    /// `STATS_INC_FREEHIT` (`__cache_free`, interrupts off, no lock: atomic).
    pub(crate) fn inc_freehit(&self, _irq: &IrqOff<'_, P>) {
        self.freehit.fetch_add(1);
    }

    /// `STATS_INC_FREEMISS` (`__cache_free`, interrupts off, no lock: atomic).
    pub(crate) fn inc_freemiss(&self, _irq: &IrqOff<'_, P>) {
        self.freemiss.fetch_add(1);
    }

    /// `n` times `STATS_INC_ALLOCED; STATS_INC_ACTIVE; STATS_SET_HIGH` — the refill loop of
    /// `cache_alloc_refill`, under the node's `list_lock`. `num_active` only grows in the
    /// loop, so one `SET_HIGH` after the last increment leaves what `n` of them would.
    pub(crate) fn refill_taken(&self, _lock: &NodeLock<'_, P>, n: usize) {
        if n == 0 {
            return;
        }
        plain_add(&self.num_allocations, n);
        plain_add(&self.num_active, n);
        plain_max(&self.high_mark, self.num_active.read_once());
    }

    /// `STATS_INC_NODEALLOCS; STATS_INC_ACTIVE; STATS_SET_HIGH` (`____cache_alloc_node`,
    /// under the node's `list_lock`).
    pub(crate) fn node_alloc(&self, _lock: &NodeLock<'_, P>) {
        plain_add(&self.node_allocs, 1);
        plain_add(&self.num_active, 1);
        plain_max(&self.high_mark, self.num_active.read_once());
    }

    /// `n` times `STATS_DEC_ACTIVE` (`free_block`, under the node's `list_lock` — or, on the
    /// `free-block-unlocked` mutation's path, without it; the counter does not care).
    pub(crate) fn dec_active(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.num_active
            .write_once(self.num_active.read_once().wrapping_sub(n));
    }

    /// `STATS_INC_GROWN` (`cache_grow`, under the node's `list_lock`, as the new slab goes
    /// on `slabs_free`).
    pub(crate) fn inc_grown(&self, _lock: &NodeLock<'_, P>) {
        plain_add(&self.grown, 1);
    }

    /// `STATS_SET_FREEABLE(cachep, i)` (`cache_flusharray`'s `#if STATS` block, under the
    /// node's `list_lock`): `i` is the number of slabs on the node's `slabs_free`.
    pub(crate) fn set_freeable(&self, _lock: &NodeLock<'_, P>, i: usize) {
        plain_max(&self.max_freeable, i);
    }

    /// `STATS_INC_NODEFREES` (`cache_free_alien` / `__cache_free_alien`): interrupts off
    /// and **no lock** — two CPUs freeing remote objects at once can lose an update.
    pub(crate) fn inc_nodefrees(&self, _irq: &IrqOff<'_, P>) {
        plain_add(&self.node_frees, 1);
    }

    /// `STATS_INC_ACOVERFLOW` (`cache_free_alien`, under the alien array's lock, when the
    /// array is full and drained first).
    pub(crate) fn inc_acoverflow(&self, _irq: &IrqOff<'_, P>) {
        plain_add(&self.node_overflow, 1);
    }

    /// `STATS_ADD_REAPED(searchp, freed)` (`cache_reap`, interrupts on, under
    /// `cache_chain_mutex` / `slab_mutex`, which serialises the reapers).
    pub(crate) fn add_reaped(&self, freed: usize) {
        plain_add(&self.reaped, freed);
    }
}
