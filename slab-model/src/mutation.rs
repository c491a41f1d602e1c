//! The mutation catalogue: known bugs, re-introducible at run time, one switch each.
//!
//! A mutation is off unless its bit is set in the machine's [`MutationSet`]; when off it
//! has no effect at all. Each variant's doc comment says what it changes, which kernel bug
//! or slip it models, and which check should catch it. The detection matrix
//! (`slab-verify mutations`, docs/mutations.md) measures every checker against this list.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! mutations {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// One re-introducible bug.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[repr(u8)]
        pub enum Mutation {
            $($(#[$doc])* $variant,)*
        }
        impl Mutation {
            /// Every mutation, in catalogue order.
            pub const ALL: &'static [Mutation] = &[$(Mutation::$variant,)*];
            /// The switch's name (`stale-ac-after-grow`).
            pub fn name(self) -> &'static str {
                match self { $(Mutation::$variant => $name,)* }
            }
        }
    };
}

mutations! {
    /// `cache_alloc_refill` keeps the `ac` read before `cache_grow`'s irq-enable window
    /// (drops the "cache_grow can reenable interrupts, then ac could change" re-read).
    /// Caught by: loom causality (another CPU's array touched), audit conservation.
    StaleAcAfterGrow => "stale-ac-after-grow",
    /// After the window, refill pops from `ac` without re-checking what an interrupt left
    /// there, overwriting entries (the "objects refilled by interrupt?" path).
    NoRecheckAfterGrow => "no-recheck-after-grow",
    /// `colour_next` read, incremented and wrapped without `list_lock` (B.4).
    ColourNextUnlocked => "colour-next-unlocked",
    /// `cache_flusharray` calls `free_block` after dropping `list_lock`.
    FreeBlockUnlocked => "free-block-unlocked",
    /// Refill takes from the shared array without `list_lock` (B.22 class).
    SharedTransferUnlocked => "shared-transfer-unlocked",
    /// Refill also subtracts from `free_objects` on the shared-array path.
    FreeObjectsDoubleCount => "free-objects-double-count",
    /// Refill leaves a slab it has filled up on `slabs_partial`.
    FullSlabStaysPartial => "full-slab-stays-partial",
    /// `transfer_objects` ignores `to->limit - to->avail`.
    TransferIgnoresLimit => "transfer-ignores-limit",
    /// `cache_flusharray` does not shift the surviving entries down.
    FlusharrayNoShift => "flusharray-no-shift",
    /// `cache_grow`'s `opps1` path skips `kmem_freepages`.
    GrowFailLeaksPages => "grow-fail-leaks-pages",
    /// `kmem_cache_destroy` releases the cache although shrink failed (B.32).
    DestroyDespiteLiveObjects => "destroy-despite-live-objects",
    /// `calculate_slab_order` tests the previous order's `num` against offslab_limit (B.5).
    OffslabLimitStale => "offslab-limit-stale",
    /// A cache may take its off-slab descriptor from itself (B.20).
    OffslabSelfDescriptor => "offslab-self-descriptor",
    /// Slab initialisation writes a duplicate index into the freelist (B.26).
    FreelistDuplicate => "freelist-duplicate",
    /// The last `kmem_bufctl_t` is not `BUFCTL_END` (era A).
    BufctlNoEnd => "bufctl-no-end",
    /// `cache_reap` drains another CPU's array (B.27).
    ReapForeignCpu => "reap-foreign-cpu",
    /// `do_tune_cpucache` frees the old per-CPU array before every CPU stopped using it.
    TuneFreesArrayEarly => "tune-frees-array-early",
    /// `cache_grow` (and `fallback_alloc`) opens the irq window for a mask that does not
    /// allow blocking.
    IrqWindowInAtomic => "irq-window-in-atomic",
    /// `cache_init_objs` skips the constructor for one object.
    CtorSkipped => "ctor-skipped",
    /// The kmalloc size-class lookup picks the class below the requested size.
    KmallocClassTooSmall => "kmalloc-class-too-small",
    /// `drain_array` frees by the `avail` it peeked at with interrupts on instead of
    /// re-reading it under `list_lock` (acting on a stale peek): an interrupt that popped
    /// objects in between makes it free objects the array no longer holds.
    DrainArrayStaleAvail => "drain-array-stale-avail",
    /// `drain_freelist` trusts its unlocked `list_empty(&n->slabs_free)` and does not
    /// re-check under the lock: another CPU that took the last free slab in between makes
    /// it unlink the list head.
    DrainFreelistNoRecheck => "drain-freelist-no-recheck",
    /// **Fix** of a bug that shipped in era B (4.4): `drain_cpu_caches` drains `n->shared`
    /// under `list_lock`, reading the pointer there (`drain_array_locked`, 4.7, "mm/slab:
    /// fix the theoretical race by holding proper lock"). Without it 4.4's shrink, which
    /// takes no `slab_mutex`, can drain a shared array a `/proc/slabinfo` write has just
    /// replaced and freed.
    FixShrinkSharedLocked => "fix-shrink-shared-locked",
    /// **Fix** of a bug that shipped in era A (2.6.24): `cache_alloc_refill` re-reads the
    /// node after `cache_grow`'s irq-enable window (`node = numa_mem_id()`, as 4.4 does).
    /// Without it a task that migrated to a CPU of another node refills that CPU's array
    /// from the old node's lists, and a later flush or drain hands those objects to
    /// `free_block` with the new node's lists and lock.
    FixRefillRereadNode => "fix-refill-reread-node",
    /// `cpuup_canceled` frees the node struct when the node's last CPU goes down, as
    /// 2.6.15 did ("slab cpu hotplug fix", Ravikiran Thirumalai, 2.6.16, Message-ID
    /// 20060203205745.GF3653@localhost.localdomain): a remote `kmalloc_node` or a free of
    /// one of the node's objects then reaches freed memory.
    HotplugFreesNode => "hotplug-frees-node",
    /// `cpuup_canceled` forgets the dead CPU's array: its objects are neither given back
    /// to their slabs nor reachable (era A frees the array with them; era B keeps them in
    /// a CPU that never runs again).
    HotplugSkipsDeadArray => "hotplug-skips-dead-array",
    /// `cpuup_canceled` does not lower `free_limit` by a batch for the dead CPU.
    HotplugKeepsFreeLimit => "hotplug-keeps-free-limit",
    /// `kmem_cache_create` takes `slab_mutex` before `get_online_cpus` (era B), the
    /// opposite of the hot-plug path's order: the ABBA deadlock of "slab: Avoid deadlock
    /// at kmem_cache_create/kmem_cache_destroy" (2.6.16, Message-ID
    /// 20060209182923.GA3576@localhost.localdomain). Era A's SLAB takes no hot-plug lock.
    CreateLockOrder => "create-lock-order",
    /// `take_cpu_down` clears the CPU's online bit without `stop_machine`: the dying CPU
    /// may still be inside an irq-off section, using the array `cpuup_canceled` drains.
    TakeCpuDownUnstopped => "take-cpu-down-unstopped",
    /// `fallback_alloc` hands `cache_grow` the node it asked the page allocator for
    /// (`numa_mem_id()` before the irq window) instead of the page's node
    /// (`page_to_nid(page)`): a page from another node is put on the wrong node's lists.
    FallbackGrowAskedNode => "fallback-grow-asked-node",
    /// **Fix** of a bug the model found in era B (4.4): a `/proc/slabinfo` write takes
    /// `get_online_cpus()` around `do_tune_cpucache`, as `kmem_cache_create` does. Without
    /// it `take_cpu_down` can run between the tune's `kick_all_cpus_sync` and its
    /// `for_each_online_cpu` drain: the dying CPU's old array is skipped and freed with
    /// its objects, which stay allocated in their slabs for good. No upstream fix is known
    /// (the same code is in 6.1.20; SLAB was removed in 6.8).
    FixTuneOnlineCpus => "fix-tune-online-cpus",

}

/// Which direction a catalogue switch goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SwitchKind {
    /// Re-introduces a bug (historical or a classic slip) into a model that is correct.
    Mutation,
    /// Removes a bug that shipped in an era's kernel: the faithful model of that era
    /// exhibits it; the switch applies the upstream fix.
    Fix,
}

/// A bug that shipped in the kernel one era follows, and the upstream fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ShippedBug {
    /// The era whose faithful model has it.
    pub era: crate::profile::Era,
    /// Kernel versions that shipped it.
    pub shipped_in: &'static str,
    /// The version with the fix.
    pub fixed_in: &'static str,
    /// The fix: title and Message-ID.
    pub fix: &'static str,
    /// What a checker reports when it finds it (a substring of the failure).
    pub symptom: &'static str,
    /// The switch that applies the fix.
    pub switch: Mutation,
}

/// Every shipped bug the faithful model exhibits.
pub const SHIPPED_BUGS: &[ShippedBug] = &[
    ShippedBug {
        era: crate::profile::Era::B,
        shipped_in: "4.4–4.6 (modelled: 4.4.11)",
        fixed_in: "4.7",
        fix: "mm/slab: fix the theoretical race by holding proper lock (Joonsoo Kim; Message-ID 1460436666-20462-2-git-send-email-iamjoonsoo.kim@lge.com)",
        symptom: "shared array",
        switch: Mutation::FixShrinkSharedLocked,
    },
    ShippedBug {
        era: crate::profile::Era::A,
        shipped_in: "2.6.24 (modelled)",
        fixed_in: "a later 2.6.x (commit not identified); re-opened in 3.6-rc, closed again by 3.6.5",
        fix: "the node read inside the retry loop (later 2.6.x/3.x: `retry:` above `node = numa_mem_id()`); 072bb0aa5e06 \"mm: sl[au]b: add knowledge of PFMEMALLOC reserve pages\" (3.6) moved it out again; the explicit `node = numa_mem_id()` after cache_grow is in 3.6.5 and 4.4.11 (likely \"mm, slab: lock the correct nodelist after reenabling irqs\", unverified)",
        symptom: "list corruption",
        switch: Mutation::FixRefillRereadNode,
    },
    ShippedBug {
        era: crate::profile::Era::B,
        shipped_in: "4.4 (modelled: 4.4.11; the same code in 6.1.20)",
        fixed_in: "none: SLAB was removed in 6.8 with it",
        fix: "none upstream; found by this model (hotplug-vs-tune). The switch takes get_online_cpus() in slabinfo_write around do_tune_cpucache, the order kmem_cache_create uses",
        symptom: "lost",
        switch: Mutation::FixTuneOnlineCpus,
    },
];

impl Mutation {
    /// Whether the switch adds a bug or removes a shipped one.
    pub fn kind(self) -> SwitchKind {
        if self.shipped_bug().is_some() {
            SwitchKind::Fix
        } else {
            SwitchKind::Mutation
        }
    }
    /// The shipped bug a fix switch removes.
    pub fn shipped_bug(self) -> Option<&'static ShippedBug> {
        SHIPPED_BUGS.iter().find(|b| b.switch == self)
    }
    /// Whether the switch can change anything in `era` (a slip in a data structure or a
    /// lock the era does not have cannot).
    pub fn acts_in(self, era: crate::profile::Era) -> bool {
        use crate::profile::Era;
        match self {
            // 2.6.24's SLAB takes no CPU-hotplug lock in kmem_cache_create.
            Mutation::CreateLockOrder => era == Era::B,
            // kmem_bufctl_t exists only in era A.
            Mutation::BufctlNoEnd => era == Era::A,
            m => m.shipped_bug().is_none_or(|b| b.era == era),
        }
    }
    /// The re-introducing mutations only (what detection matrices measure).
    pub fn mutations() -> impl Iterator<Item = Mutation> {
        Mutation::ALL
            .iter()
            .copied()
            .filter(|m| m.kind() == SwitchKind::Mutation)
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mutation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mutation::ALL
            .iter()
            .copied()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown mutation `{s}`"))
    }
}

/// A set of enabled mutations (empty = the faithful model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MutationSet(u64);

impl MutationSet {
    /// No mutation.
    pub const NONE: MutationSet = MutationSet(0);
    /// Exactly one mutation.
    pub fn only(m: Mutation) -> Self {
        MutationSet(1 << m as u8)
    }
    /// Adds a mutation.
    pub fn with(self, m: Mutation) -> Self {
        MutationSet(self.0 | 1 << m as u8)
    }
    /// Both sets' switches.
    pub fn union(self, other: MutationSet) -> Self {
        MutationSet(self.0 | other.0)
    }
    /// The fix switches of every bug that shipped in `era` (empty for an era without
    /// one): the baseline against which re-introducing mutations are measured.
    pub fn shipped_fixes(era: crate::profile::Era) -> Self {
        SHIPPED_BUGS
            .iter()
            .filter(|b| b.era == era)
            .fold(MutationSet::NONE, |s, b| s.with(b.switch))
    }
    /// Is `m` on?
    #[inline]
    pub fn has(self, m: Mutation) -> bool {
        self.0 & (1 << m as u8) != 0
    }
    /// The enabled mutations.
    pub fn iter(self) -> impl Iterator<Item = Mutation> {
        Mutation::ALL.iter().copied().filter(move |m| self.has(*m))
    }
}
