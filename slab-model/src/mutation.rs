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
    /// DEBUG: `verify_redzone_free` trusts the red zones without reading them: a write
    /// past an object's end or before its start, and a double free, go unreported.
    RedzoneUncheckedOnFree => "redzone-unchecked-on-free",
    /// DEBUG: `cache_alloc_debugcheck_after` poisons with `POISON_INUSE` without
    /// `check_poison_obj` first: a write after free goes unreported.
    PoisonUncheckedOnAlloc => "poison-unchecked-on-alloc",
    /// STATS: `__cache_free` counts `freehit` on both branches, also when the array is
    /// full and `cache_flusharray` runs (the kernel counts `freemiss` there).
    StatsFreehitOnFlush => "stats-freehit-on-flush",
    /// `drain_array` (the reaper's, not forced) ignores `touched`: an array allocated
    /// from since the last reap is drained anyway, and the flag is left set.
    ReapIgnoresTouched => "reap-ignores-touched",
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
    /// One sentence on what the switch does to the model: the bug a mutation re-introduces,
    /// or the upstream fix a `fix-…` switch applies and the bug it removes (for the
    /// counterexample page; the table in docs/mutations.md has the detail).
    pub fn description(self) -> &'static str {
        match self {
            Mutation::StaleAcAfterGrow => "cache_alloc_refill keeps the ac pointer it read before cache_grow's irq-enable window instead of re-reading cpu_cache_get(cachep) after it: a task that migrated in the window, or whose array a tune replaced, refills another CPU's (or a freed) array_cache.",
            Mutation::NoRecheckAfterGrow => "After a successful cache_grow, cache_alloc_refill retries without checking what an interrupt put into ac during the irq window, and refills on top of it: the array overflows and free_objects goes wrong.",
            Mutation::ColourNextUnlocked => "cache_grow reads, increments and wraps colour_next without the node's list_lock: two CPUs growing the cache at once can give two slabs the same colour.",
            Mutation::FreeBlockUnlocked => "cache_flusharray drops the node's list_lock before free_block: slab lists and free_objects are updated without the lock, racing with other CPUs' refills and flushes.",
            Mutation::SharedTransferUnlocked => "cache_alloc_refill moves objects out of the node's shared array before taking list_lock: two CPUs can take the same entries.",
            Mutation::FreeObjectsDoubleCount => "The refill from the shared array also subtracts the moved objects from n->free_objects, which counts only objects on slabs, not in arrays.",
            Mutation::FullSlabStaysPartial => "cache_alloc_refill leaves a slab it has taken every free object from on slabs_partial instead of moving it to slabs_full.",
            Mutation::TransferIgnoresLimit => "transfer_objects ignores the room left in the destination array (to->limit - to->avail) and writes past its last entry.",
            Mutation::FlusharrayNoShift => "cache_flusharray / drain_array free the bottom entries but do not shift the surviving entries down (the missing memmove): objects are lost or kept twice.",
            Mutation::GrowFailLeaksPages => "cache_grow's failure path (opps1, the slab descriptor could not be allocated) skips kmem_freepages: the slab's pages leak.",
            Mutation::DestroyDespiteLiveObjects => "kmem_cache_destroy skips the live-object check and releases the cache although shrinking it failed: its pages and live objects are left behind.",
            Mutation::OffslabLimitStale => "calculate_slab_order tests the previous order's objects per slab against offslab_limit: an off-slab descriptor can be larger than the objects of the cache that holds it.",
            Mutation::OffslabSelfDescriptor => "An off-slab cache may take its slab descriptor from itself (the pre-4.4 threshold PAGE_SIZE >> 5): growing it recurses into its own cache_grow.",
            Mutation::FreelistDuplicate => "Slab initialisation writes object 0 twice into the new slab's freelist: one object is handed out twice.",
            Mutation::BufctlNoEnd => "Era A: the last kmem_bufctl_t of a new slab is not BUFCTL_END, so the free chain runs past its end.",
            Mutation::ReapForeignCpu => "cache_reap drains another CPU's array ((cpu + 1) % n) instead of its own, racing with that CPU's irq-off fast path.",
            Mutation::TuneFreesArrayEarly => "do_tune_cpucache frees the old per-CPU arrays before every CPU stopped using them (era A: no on_each_cpu wait; era B: no kick_all_cpus_sync).",
            Mutation::IrqWindowInAtomic => "cache_grow and fallback_alloc enable interrupts around the page allocation even for a GFP mask that may not block (GFP_ATOMIC, an interrupt's allocation).",
            Mutation::CtorSkipped => "cache_init_objs skips the constructor of the last object of a new slab.",
            Mutation::KmallocClassTooSmall => "The kmalloc size-class lookup picks the class below the requested size: kmalloc(N) returns an object smaller than N bytes.",
            Mutation::DrainArrayStaleAvail => "drain_array frees by the avail it peeked at with interrupts on instead of the value under list_lock: after an interrupt popped objects in between, it frees entries the array no longer holds.",
            Mutation::DrainFreelistNoRecheck => "drain_freelist trusts its unlocked list_empty(&n->slabs_free) and does not re-check under list_lock: after another CPU took the last free slab, it unlinks the list head.",
            Mutation::FixShrinkSharedLocked => "Fix switch: drain_cpu_caches drains n->shared under list_lock, reading the pointer there (4.7's drain_array_locked). Without it, 4.4's kmem_cache_shrink, which takes no slab_mutex, can drain a shared array that a /proc/slabinfo write has just replaced and freed.",
            Mutation::FixRefillRereadNode => "Fix switch: cache_alloc_refill re-reads the node after cache_grow's irq window (node = numa_mem_id(), as 4.4 does). Without it (2.6.24), a task that migrated to a CPU of another node refills that CPU's array from the old node's lists, and a later flush hands those objects to free_block with the new node's lists and lock.",
            Mutation::HotplugFreesNode => "cpuup_canceled frees the node struct when the node's last CPU goes down, as 2.6.15 did: a remote kmalloc_node or a free of one of the node's objects then reaches freed memory.",
            Mutation::HotplugSkipsDeadArray => "cpuup_canceled forgets the dead CPU's array: its objects are neither given back to their slabs nor reachable (era A frees the array with them; era B leaves them in a CPU that never runs again).",
            Mutation::HotplugKeepsFreeLimit => "cpuup_canceled does not lower the node's free_limit by a batch for the CPU that went down.",
            Mutation::CreateLockOrder => "kmem_cache_create takes slab_mutex before get_online_cpus (era B), the opposite of the CPU hot-plug path's order: an ABBA deadlock with cpu_down.",
            Mutation::TakeCpuDownUnstopped => "take_cpu_down clears the CPU's online bit without stop_machine: the dying CPU may still be inside an irq-off section, using the array that cpuup_canceled drains.",
            Mutation::FallbackGrowAskedNode => "fallback_alloc hands cache_grow the node it asked the page allocator for (numa_mem_id() before the irq window) instead of the page's node (page_to_nid(page)): a page of another node goes on the wrong node's lists.",
            Mutation::RedzoneUncheckedOnFree => "DEBUG: verify_redzone_free takes the red zones as active without reading them, so a write past the object's end or before its start, and a double free, go unreported.",
            Mutation::PoisonUncheckedOnAlloc => "DEBUG: cache_alloc_debugcheck_after writes POISON_INUSE without check_poison_obj first, so a write into a freed object goes unreported.",
            Mutation::StatsFreehitOnFlush => "STATS: __cache_free counts freehit also when the array is full and cache_flusharray runs, where the kernel counts freemiss: /proc/slabinfo's cpustat misreports the flushes.",
            Mutation::ReapIgnoresTouched => "drain_array (cache_reap, not forced) drains a CPU array even when it was touched since the last reap, and leaves the flag set: the reaper takes objects away from a CPU that is using them.",
            Mutation::FixTuneOnlineCpus => "Fix switch: a /proc/slabinfo write takes get_online_cpus() around do_tune_cpucache, as kmem_cache_create does. Without it (4.4), take_cpu_down can run between the tune's kick_all_cpus_sync and its for_each_online_cpu drain: the dying CPU's old array is freed with its objects, which stay allocated in their slabs for good.",
        }
    }
    /// Where the bug comes from: the kernel version, commit or Message-ID of the upstream
    /// change (docs/mutations.md's "kernel bug modelled" column), or, for a classic slip
    /// with no single upstream fix, the kernel code it breaks.
    pub fn reference(self) -> &'static str {
        match self {
            Mutation::StaleAcAfterGrow => "2.6.24 mm/slab.c cache_alloc_refill: drops the re-read after \"cache_grow can reenable interrupts, then ac could change\"; the class of A.14(1)",
            Mutation::NoRecheckAfterGrow => "slip, no single upstream fix: 2.6.24 mm/slab.c cache_alloc_refill's \"objects refilled by interrupt?\" check",
            Mutation::ColourNextUnlocked => "B.4: colour_next moved under list_lock in 2.6.16",
            Mutation::FreeBlockUnlocked => "slip, no single upstream fix: cache_flusharray's list_lock (the B.22 class)",
            Mutation::SharedTransferUnlocked => "B.22 class: the shared array touched without the node's list_lock",
            Mutation::FreeObjectsDoubleCount => "slip, no single upstream fix: free_objects counts objects on slabs only",
            Mutation::FullSlabStaysPartial => "slip, no single upstream fix: the slab list discipline of cache_alloc_refill",
            Mutation::TransferIgnoresLimit => "slip, no single upstream fix: transfer_objects' bound; the overflow class of A.14(1)",
            Mutation::FlusharrayNoShift => "slip, no single upstream fix: the memmove in cache_flusharray / drain_array",
            Mutation::GrowFailLeaksPages => "slip, no single upstream fix: cache_grow's opps1 failure path",
            Mutation::DestroyDespiteLiveObjects => "B.32: v6.0–6.6 released the cache after a failed shutdown",
            Mutation::OffslabLimitStale => "B.5: commit 9888e6fa, 2.6.16",
            Mutation::OffslabSelfDescriptor => "B.20: arm64's kmalloc-128 as its own freelist cache (KMALLOC_MIN_SIZE 128)",
            Mutation::FreelistDuplicate => "B.26: CVE-2017-5546, freelist randomisation duplicates",
            Mutation::BufctlNoEnd => "slip, no single upstream fix: BUFCTL_END (cf. 2.6.24 check_slabp)",
            Mutation::ReapForeignCpu => "B.27: the reaper re-armed on another CPU",
            Mutation::TuneFreesArrayEarly => "slip, no single upstream fix: the on_each_cpu / kick_all_cpus_sync wait in do_tune_cpucache; related to B.22, B.24",
            Mutation::IrqWindowInAtomic => "slip, no single upstream fix: the __GFP_WAIT test before local_irq_enable in cache_grow (cf. B.3, kmalloc_node irq safety)",
            Mutation::CtorSkipped => "slip, no single upstream fix: cache_init_objs",
            Mutation::KmallocClassTooSmall => "slip, no single upstream fix: kmalloc_index (cf. B.19 index mapping)",
            Mutation::DrainArrayStaleAvail => "slip, no single upstream fix: drain_array re-checks ac->avail under list_lock",
            Mutation::DrainFreelistNoRecheck => "slip, no single upstream fix: drain_freelist re-checks slabs_free under list_lock",
            Mutation::FixShrinkSharedLocked => "shipped in 4.4–4.6, fixed in 4.7: \"mm/slab: fix the theoretical race by holding proper lock\" (Joonsoo Kim; Message-ID 1460436666-20462-2-git-send-email-iamjoonsoo.kim@lge.com)",
            Mutation::FixRefillRereadNode => "shipped in 2.6.24; the node read inside the retry loop in later 2.6.x (commit not identified), moved out again by 072bb0aa5e06 (3.6), the explicit node = numa_mem_id() after cache_grow in 3.6.5 and 4.4.11 (likely \"mm, slab: lock the correct nodelist after reenabling irqs\", unverified)",
            Mutation::HotplugFreesNode => "\"slab cpu hotplug fix\" (Ravikiran Thirumalai, 2.6.16; Message-ID 20060203205745.GF3653@localhost.localdomain; B.4 patch 3)",
            Mutation::HotplugSkipsDeadArray => "slip, no single upstream fix: cpuup_canceled's free_block of the dead CPU's array",
            Mutation::HotplugKeepsFreeLimit => "slip, no single upstream fix: cpuup_canceled's free_limit -= batchcount",
            Mutation::CreateLockOrder => "\"slab: Avoid deadlock at kmem_cache_create/kmem_cache_destroy\" (2.6.16; Message-ID 20060209182923.GA3576@localhost.localdomain; B.6)",
            Mutation::TakeCpuDownUnstopped => "slip, no single upstream fix: take_cpu_down runs under stop_machine",
            Mutation::FallbackGrowAskedNode => "slip, no single upstream fix: fallback_alloc's cache_grow(cache, flags, page_to_nid(page), page)",
            Mutation::RedzoneUncheckedOnFree => "slip, no single upstream fix: verify_redzone_free (2.6.24, 4.4) compares both words with RED_ACTIVE",
            Mutation::PoisonUncheckedOnAlloc => "slip, no single upstream fix: cache_alloc_debugcheck_after (2.6.24, 4.4) calls check_poison_obj before poison_obj(POISON_INUSE)",
            Mutation::StatsFreehitOnFlush => "slip, no single upstream fix: __cache_free (2.6.24, 4.4) has STATS_INC_FREEMISS on the flush branch",
            Mutation::ReapIgnoresTouched => "slip, no single upstream fix: drain_array (2.6.24, 4.4) clears ac->touched and returns when it is set and force is 0",
            Mutation::FixTuneOnlineCpus => "shipped in 4.4 (the same code in 6.1.20); no upstream fix (SLAB was removed in 6.8); found by this model (hotplug-vs-tune)",
        }
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
    /// Removes a switch.
    pub fn without(self, m: Mutation) -> Self {
        MutationSet(self.0 & !(1 << m as u8))
    }
    /// No switch on.
    pub fn is_empty(self) -> bool {
        self.0 == 0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_switch_has_a_description_and_a_reference() {
        for &m in Mutation::ALL {
            assert!(!m.description().trim().is_empty(), "{m}: no description");
            assert!(!m.reference().trim().is_empty(), "{m}: no reference");
            if m.kind() == SwitchKind::Fix {
                assert!(m.description().starts_with("Fix switch"), "{m}");
            }
        }
    }
}
