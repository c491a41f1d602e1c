//! Alien caches (NUMA, two nodes), exact kernel numbers (mm/slab.c v2.6.24 and v4.4.11 alien paths):
//! remote frees collect in the freeing node's alien array for the object's node
//! (capacity 12 when the cache's limit > 1); a free into a full alien array first drains
//! it into the remote node — into its shared array as far as there is room
//! (`transfer_objects(shared, alien, alien->limit)`), the rest through `free_block`; the
//! reaper drains the alien array of its rotor's node (`reap_alien`, starting at the node
//! after its own).

mod common;

use common::{Cache, M};
use slab_model::{Era, FaultInjection, Gfp, MutationSet};

fn two_nodes(era: Era) -> M {
    two_nodes_with(era, FaultInjection::default())
}

fn two_nodes_with(era: Era, faults: FaultInjection) -> M {
    common::numa(era, 2, 2, faults, MutationSet::NONE, true)
}

fn cache(m: &M, name: &str, size: usize) -> Cache {
    common::create(m, name, size)
}

#[test]
fn remote_frees_fill_the_alien_array_then_drain_into_the_remote_shared_array() {
    for era in [Era::A, Era::B] {
        let m = two_nodes(era);
        let c = cache(&m, "al", 1300);
        // size > 1024: limit 24, batchcount 12, shared 8 (two CPUs) → shared capacity 96,
        // alien capacity 12.
        let t = c.tunables();
        assert_eq!((t.limit, t.batchcount, t.shared), (24, 12, 8));
        assert_eq!(m.profile().cpu_to_node(0), 0);
        assert_eq!(m.profile().cpu_to_node(1), 1);
        let mut cpu0 = m.task(0, "cpu0");
        let objs: Vec<u64> = (0..14)
            .map(|_| cpu0.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap())
            .collect();
        for &o in &objs {
            assert_eq!(m.virt_to_cache(o).unwrap().id, c.id);
        }
        let mut cpu1 = m.task(1, "cpu1");
        for &o in &objs[..12] {
            cpu1.kmem_cache_free(&c, o).unwrap();
        }
        // All twelve wait in node 1's alien array for node 0; node 0's shared array is
        // still empty and CPU1's own array untouched.
        assert_eq!(
            m.alien_snapshot(&c, 1, 0).unwrap().entry,
            objs[..12].to_vec(),
            "era {era}"
        );
        assert!(
            m.alien_snapshot(&c, 1, 1).is_none(),
            "no alien array for the own node"
        );
        assert_eq!(m.node_snapshot(&c, 0).shared.unwrap().avail(), 0);
        assert_eq!(m.cpu_array_snapshot(&c, 1).avail(), 0);
        // The 13th remote free finds the alien array full: __drain_alien_cache moves all
        // twelve (room 96) to the top of node 0's shared array, in order, then queues it.
        cpu1.kmem_cache_free(&c, objs[12]).unwrap();
        let shared = m.node_snapshot(&c, 0).shared.unwrap();
        assert_eq!(shared.entry, objs[..12].to_vec(), "era {era}");
        // 2.6.24's transfer_objects marks its destination touched (mm/slab.c v2.6.24
        // transfer_objects: `to->touched = 1`), so the reaper skips node 0's shared array
        // once; 4.4's transfer_objects no longer does.
        assert_eq!(
            shared.touched,
            era == Era::A,
            "era {era}: shared.touched after an alien drain"
        );
        assert_eq!(m.alien_snapshot(&c, 1, 0).unwrap().entry, vec![objs[12]]);
        // CPU1's reaper: its rotor starts at node 0, so reap_alien drains that array.
        let mut reaper = m.reaper(1, "reap1");
        reaper.cache_reap();
        assert!(
            m.alien_snapshot(&c, 1, 0).unwrap().entry.is_empty(),
            "reap_alien drained node 1's alien array (era {era})"
        );
        assert_eq!(m.node_snapshot(&c, 0).shared.unwrap().avail(), 13);
        assert_eq!(m.live_objects(&c), 1);
        // CPU0 refills from its node's shared array: batchcount 12 from the top.
        cpu0.kmem_cache_free(&c, objs[13]).unwrap();
        m.audit().assert_ok();
    }
}

#[test]
fn a_full_shared_array_sends_the_alien_overflow_through_free_block() {
    for era in [Era::A, Era::B] {
        let m = two_nodes(era);
        let c = cache(&m, "al", 1300);
        // Shrink node 0's shared array to 2 entries (shared 1 × batchcount 2); the alien
        // arrays keep the capacity they were created with (12).
        m.tuner(0, "tune")
            .do_tune_cpucache_checked(&c, 4, 2, 1)
            .unwrap();
        let mut cpu0 = m.task(0, "cpu0");
        let objs: Vec<u64> = (0..13)
            .map(|_| cpu0.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap())
            .collect();
        let before = m.node_snapshot(&c, 0);
        let slabs = |n: &slab_model::inspect::NodeSnapshot| {
            n.slabs_full.len() + n.slabs_partial.len() + n.slabs_free.len()
        };
        let mut cpu1 = m.task(1, "cpu1");
        for &o in &objs {
            cpu1.kmem_cache_free(&c, o).unwrap();
        }
        // The drain moved the top 2 into shared (room 2) and free_block'ed the other 10;
        // free_limit is (1 + 1 CPU on node 0) × 2 + 3 = 7, so free_block destroyed the
        // slabs that emptied past it (free_objects −= num each).
        let n0 = m.node_snapshot(&c, 0);
        assert_eq!(
            n0.shared.clone().unwrap().entry,
            objs[10..12].to_vec(),
            "era {era}"
        );
        assert_eq!(n0.free_limit, 7);
        let destroyed = slabs(&before) - slabs(&n0);
        assert!(
            destroyed >= 1,
            "era {era}: free_objects crossed free_limit, a slab must go"
        );
        assert_eq!(
            n0.free_objects + 3 * destroyed,
            before.free_objects + 10,
            "era {era}"
        );
        assert_eq!(m.alien_snapshot(&c, 1, 0).unwrap().entry, vec![objs[12]]);
        m.audit().assert_ok();
    }
}

#[test]
fn alien_arrays_hold_twelve_entries_or_one_when_the_limit_is_one() {
    let m = two_nodes(Era::A);
    // enable_cpucache: 1300 bytes → limit 24 → alien arrays of 12; over 128 KiB → limit 1
    // → alien arrays of 1 (alloc_alien_cache(node, limit)).
    let small = cache(&m, "small", 1300);
    let huge = cache(&m, "huge", 140_000);
    assert_eq!(huge.tunables().limit, 1);
    for node in 0..2 {
        let other = 1 - node;
        assert_eq!(m.alien_snapshot(&small, node, other).unwrap().limit, 12);
        assert_eq!(m.alien_snapshot(&huge, node, other).unwrap().limit, 1);
    }
    // Tuning keeps the installed alien arrays (alloc_kmemlist only installs new ones where
    // none exist).
    m.tuner(0, "tune")
        .do_tune_cpucache_checked(&small, 1, 1, 0)
        .unwrap();
    assert_eq!(m.alien_snapshot(&small, 0, 1).unwrap().limit, 12);
}

/// `fallback_alloc` (both eras): with node 0 out of memory, a GFP_KERNEL allocation on
/// CPU0 finds nothing on node 0 (refill, `____cache_alloc_node`, their `__GFP_THISNODE`
/// grows), falls back, opens the irq-enable window around the page allocation from any
/// node, and gets an object of a new node-1 slab. Era B opens no window anywhere else on
/// NUMA (`gfp_exact_node` strips `__GFP_WAIT`), so this is its only one. GFP_ATOMIC
/// falls back without a window.
#[test]
fn fallback_alloc_opens_its_window_and_grows_on_the_node_with_memory() {
    use slab_model::trace::EventKind;
    for era in [Era::A, Era::B] {
        let m = two_nodes_with(
            era,
            FaultInjection {
                exhausted_node: Some(0),
                ..Default::default()
            },
        );
        let c = cache(&m, "fb", 1300);
        let mut t = m.task(0, "cpu0");
        let windows = |m: &M| {
            m.trace
                .events()
                .iter()
                .filter(|e| e.kind == EventKind::IrqWindowOpen)
                .count()
        };
        let before = windows(&m);
        let o = t
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .unwrap()
            .expect("fallback");
        assert_eq!(
            m.page_node_of(o),
            Some(1),
            "era {era}: the object is node 1's"
        );
        let opened = windows(&m) - before;
        // Era A: the refill's and ____cache_alloc_node's THISNODE grows open windows too
        // (GFP_THISNODE keeps __GFP_WAIT in 2.6.24); era B: fallback_alloc's own window
        // and the grow of the page it got.
        assert!(opened >= 2, "era {era}: {opened} windows");
        assert!(
            m.covered().contains(&slab_model::trace::KFn::FallbackAlloc),
            "era {era}"
        );
        assert!(m.node_snapshot(&c, 0).all_slabs().next().is_none());
        let before = windows(&m);
        let mut irq = m.interrupt(0, "irq0");
        let a = irq
            .kmem_cache_alloc(&c, Gfp::ATOMIC)
            .unwrap()
            .expect("atomic fallback");
        assert_eq!(windows(&m), before, "era {era}: no window for GFP_ATOMIC");
        irq.kmem_cache_free(&c, a).unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        m.audit().assert_ok();
    }
}

/// `reap_alien` reads `ac->avail` without the alien lock and takes the lock only when it
/// is non-zero (mm/slab.c v2.6.24 and v4.4.11 `reap_alien`: `if (ac->avail &&
/// spin_trylock_irq(&ac->lock))`): an empty alien array is never locked by the reaper,
/// and one remote free is enough for the very next reap of that node to drain it — the
/// unlocked copy of `avail` follows every change the locked sections make.
#[test]
fn reap_alien_locks_only_a_non_empty_alien_array() {
    use slab_model::trace::{EventKind, LockName};
    let alien_locks = |m: &M, from: usize| {
        m.trace.events()[from..]
            .iter()
            .filter(|e| e.kind == EventKind::LockTaken(LockName::Alien { node: 1, of: 0 }))
            .count()
    };
    for era in [Era::A, Era::B] {
        // Empty: CPU1's first reap looks at node 0's alien array and leaves its lock alone.
        let m = two_nodes(era);
        let c = cache(&m, "pk", 1300);
        let o = common::alloc(&m, 0, &c);
        let from = m.trace.events().len();
        m.reaper(1, "reap1").cache_reap();
        assert_eq!(
            alien_locks(&m, from),
            0,
            "era {era}: the reaper locked an empty alien array"
        );
        common::free(&m, 0, &c, &[o]);
        m.audit().assert_ok();

        // One remote free: the first reap drains it, under the lock. Without the audit
        // after every operation: it reads the alien array under its lock, which would
        // refresh the unlocked copy of `avail` and hide a copy that missed the free.
        let m = common::numa(
            era,
            2,
            2,
            FaultInjection::default(),
            MutationSet::NONE,
            false,
        );
        let c = cache(&m, "pk", 1300);
        let o = common::alloc(&m, 0, &c);
        common::free(&m, 1, &c, &[o]);
        // No snapshot of the alien array before the reap, for the same reason.
        assert_eq!(
            m.cpu_array_snapshot(&c, 1).avail(),
            0,
            "era {era}: the free went to the alien array"
        );
        let from = m.trace.events().len();
        m.reaper(1, "reap1").cache_reap();
        assert_eq!(alien_locks(&m, from), 1, "era {era}");
        assert!(
            m.alien_snapshot(&c, 1, 0).unwrap().entry.is_empty(),
            "era {era}: reap_alien left the remote free in the alien array"
        );
        assert_eq!(
            m.node_snapshot(&c, 0).shared.unwrap().entry,
            vec![o],
            "era {era}"
        );
        m.audit().assert_ok();
    }
}

/// `alloc_alien_cache` gives every node an alien array for each other node on any
/// machine with two nodes or more (mm/slab.c v2.6.24 and v4.4.11: `use_alien_caches`
/// is on whenever `num_possible_nodes() > 1`), not just on two: on three nodes a free
/// from node 2 of a node-0 object waits in node 2's alien array for node 0.
#[test]
fn three_nodes_each_keep_an_alien_array_per_remote_node() {
    for era in [Era::A, Era::B] {
        let m = common::numa(
            era,
            3,
            3,
            FaultInjection::default(),
            MutationSet::NONE,
            true,
        );
        let c = cache(&m, "n3", 1300);
        assert_eq!(m.profile().cpu_to_node(2), 2);
        for node in 0..3 {
            for remote in 0..3 {
                assert_eq!(
                    m.alien_snapshot(&c, node, remote).is_some(),
                    node != remote,
                    "era {era}: node {node}'s alien array for node {remote}"
                );
            }
        }
        let o = common::alloc(&m, 0, &c);
        common::free(&m, 2, &c, &[o]);
        assert_eq!(
            m.alien_snapshot(&c, 2, 0).unwrap().entry,
            vec![o],
            "era {era}"
        );
        m.audit().assert_ok();
    }
}

/// A drain into a full remote shared array moves nothing by `transfer_objects`, so 2.6.24
/// does not mark the shared array touched (mm/slab.c v2.6.24 `transfer_objects`: `if
/// (!nr) return 0;` before `to->touched = 1`), and the trace records no empty move (an
/// `ObjectsMoved` of count 0 is not an event); the one that did move records its count.
#[test]
fn a_drain_into_a_full_shared_array_moves_nothing_and_touches_nothing() {
    use slab_model::trace::{EventKind, Place};
    for era in [Era::A, Era::B] {
        let m = two_nodes(era);
        let c = cache(&m, "ft", 1300);
        // Node 0's shared array: 2 entries (shared 1 × batchcount 2); alien arrays 12.
        m.tuner(0, "tune")
            .do_tune_cpucache_checked(&c, 4, 2, 1)
            .unwrap();
        let objs = common::alloc_n(&m, 0, &c, 26);
        let from = m.trace.events().len();
        // 13 remote frees: the 13th drains the full alien array, 2 into shared.
        common::free(&m, 1, &c, &objs[..13]);
        let moves_to_shared: Vec<u32> = m.trace.events()[from..]
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::ObjectsMoved {
                    from: Place::Alien(0),
                    to: Place::Shared(0),
                    count,
                } => Some(count),
                _ => None,
            })
            .collect();
        assert_eq!(moves_to_shared, vec![2], "era {era}");
        assert_eq!(
            m.node_snapshot(&c, 0).shared.unwrap().touched,
            era == Era::A
        );
        if era == Era::A {
            // CPU0's reaper, its node part due, clears the touched mark and leaves the
            // (full) shared array (drain_array: touched → cleared, else it drains some).
            let due = m.node_snapshot(&c, 0).next_reap;
            m.advance_jiffies(due.saturating_sub(m.jiffies()));
            m.reaper(0, "reap0").cache_reap();
        }
        let shared = m.node_snapshot(&c, 0).shared.unwrap();
        assert!(!shared.touched, "era {era}");
        assert_eq!(shared.avail(), 2, "era {era}");
        // 12 more remote frees: the alien array fills again and the last one drains it
        // into a shared array with no room.
        common::free(&m, 1, &c, &objs[13..25]);
        let shared = m.node_snapshot(&c, 0).shared.unwrap();
        assert_eq!(
            shared.entry,
            objs[10..12].to_vec(),
            "era {era}: shared kept its two"
        );
        assert!(!shared.touched, "era {era}: nothing moved, nothing touched");
        let empty_moves = m
            .trace
            .events()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ObjectsMoved { count: 0, .. }))
            .count();
        assert_eq!(
            empty_moves, 0,
            "era {era}: the trace recorded an empty move"
        );
        common::free(&m, 0, &c, &objs[25..]);
        m.audit().assert_ok();
    }
}
