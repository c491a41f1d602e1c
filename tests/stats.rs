//! STATS: the counters `CONFIG_DEBUG_SLAB` turns on (mm/slab.c 2.6.24 and 4.4 define
//! `STATS 1` exactly when `DEBUG`), printed by `/proc/slabinfo` version `2.1 (statistics)`
//! as `globalstat` and `cpustat`. Every expected number below is derived by hand, step by
//! step in the comments, from the kernel's rules — where each `STATS_*` macro sits:
//!
//! * `____cache_alloc`: `ALLOCHIT` when the CPU's array has an object, else `ALLOCMISS`
//!   and `cache_alloc_refill`;
//! * `cache_alloc_refill`: per object taken from a slab `ALLOCED` (`<listallocs>`),
//!   `ACTIVE`, `SET_HIGH` (`<maxobjs>`); objects from the shared array count nothing;
//! * `cache_grow`: `GROWN` per slab; `free_block`: `DEC_ACTIVE` per object;
//! * `__cache_free`: `FREEHIT` when the array has room, else `FREEMISS` and
//!   `cache_flusharray`, whose `free_done:` block counts the node's free slabs
//!   (`SET_FREEABLE`, `<maxfreeable>`), on the shared-array path too;
//! * `cache_reap`: `ADD_REAPED` by what `drain_freelist` destroyed;
//! * `____cache_alloc_node`: `NODEALLOCS`, `ACTIVE`, `SET_HIGH` per object;
//! * `cache_free_alien`: `NODEFREES` (`<remotefrees>`) per remote object, `ACOVERFLOW`
//!   (`<alienoverflow>`) when the alien array is full; such frees count neither freehit
//!   nor freemiss (they return before the array check);
//! * `STATS_INC_ERR` has no call site in either kernel: `<error>` is always 0.

mod common;
use common::*;
use slab_model::slabinfo::SLABINFO_HEADER_STATS;
use slab_model::stats::SlabStats;
use slab_model::*;

/// The 1000-byte cache on a debug profile: FORCED_DEBUG adds red zones (2 × 8 bytes),
/// the last-user word (8) and poisoning, so the slot is 1024 bytes, off-slab
/// (>= PAGE_SIZE / 8), 4 per order-0 slab; tuned to limit 4, batch 2, no shared array, so
/// that `free_limit` = (1 + CPUs of the node) × 2 + 4.
fn info_cache(m: &M) -> Cache {
    let c = create(m, "info", 1000);
    assert_eq!((c.size(), c.num(), c.geo.pages_per_slab()), (1024, 4, 1));
    tune(m, &c, 4, 2, 0);
    c
}

fn stats(m: &M, c: &Cache) -> SlabStats {
    let row = m.slabinfo_row(c);
    assert_eq!(row.error, None, "s_show consistency checks");
    row.stats.expect("a debug profile keeps statistics").0
}

#[test]
fn header_is_version_2_1_statistics_and_plain_profiles_keep_none() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let text = m.slabinfo();
        assert!(text.starts_with(SLABINFO_HEADER_STATS), "era {era}");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("slabinfo - version: 2.1 (statistics)"));
        assert!(lines.next().unwrap().ends_with(
            " : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable> \
             <nodeallocs> <remotefrees> <alienoverflow> : cpustat <allochit> <allocmiss> \
             <freehit> <freemiss>"
        ));
        // Without CONFIG_DEBUG_SLAB there is no STATS: no counters, the plain header.
        let plain = machine(era);
        let c = create(&plain, "plain", 1000);
        alloc(&plain, 0, &c);
        assert!(plain.slabinfo_row(&c).stats.is_none());
        assert!(c.stats().is_none());
        assert!(plain.slabinfo().starts_with("slabinfo - version: 2.1\n"));
    }
}

#[test]
fn scripted_workload_statistics() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = info_cache(&m);
        // free_limit = (1 + 2) × 2 + 4 = 10.

        // Six allocations on CPU 0 (batch 2, so BATCHREFILL_LIMIT never cuts in):
        //  a1: array empty → allocmiss 1; no slab → cache_grow (grown 1), retry, take 2
        //      from slab S1 (listallocs 2, active 2, high 2); pop, 1 left.
        //  a2: hit (allochit 1).
        //  a3: miss 2; S1 is partial → take its last 2 (listallocs 4, high 4).
        //  a4: hit 2.
        //  a5: miss 3; nothing partial or free → grow S2 (grown 2), take 2 (listallocs 6,
        //      high 6); S2 goes to the head of slabs_partial.
        //  a6: hit 3.
        let o = alloc_n(&m, 0, &c, 6);
        // Free all six on CPU 0 (limit 4):
        //  o1..o4: freehit 4 (array full at 4).
        //  o5: full → freemiss 1: cache_flusharray, no shared array → free_block(o1, o2):
        //      S1 (full) inuse 2, to the *tail* of slabs_partial (active 4); free_done
        //      counts slabs_free = 0 → maxfreeable 0. Then o5 is pushed: [o3, o4, o5].
        //  o6: freehit 5: [o3, o4, o5, o6].
        free(&m, 0, &c, &o);
        // CPU 0 allocates once (hit 4: o6 — and touched is set) and frees it (freehit 6).
        let again = alloc(&m, 0, &c);
        assert_eq!(again, o[5], "LIFO");
        free(&m, 0, &c, &[again]);
        // CPU 1 allocates two: miss 4, refill from the first partial slab, S2 (its two
        // free objects; listallocs 8, active 6, high stays 6) → S2 full; then hit 5.
        let p = alloc_n(&m, 1, &c, 2);
        // CPU 0 frees p1: its array is full → freemiss 2: free_block(o3, o4) empties S1;
        // free_objects 4 <= free_limit 10, so S1 stays on slabs_free and free_done counts
        // 1 free slab → maxfreeable 1. [o5, o6, p1]. Then p2: freehit 7.
        free(&m, 0, &c, &p);
        let after_frees = SlabStats {
            listallocs: 8,
            maxobjs: 6,
            grown: 2,
            maxfreeable: 1,
            allochit: 5,
            allocmiss: 4,
            freehit: 7,
            freemiss: 2,
            // Not printed: objects out of their slabs = S2's four, all in CPU 0's array.
            num_active: 4,
            ..SlabStats::default()
        };
        assert_eq!(stats(&m, &c), after_frees, "era {era}");

        // cache_reap on CPU 0, once the node's next_reap has passed:
        //  1st: CPU 0's array was touched (the alloc above) → touched cleared, nothing
        //       drained. The node's free_touched was set by a1's and a5's refills (their
        //       partial list was empty) → cleared, drain_freelist skipped: reaped 0.
        m.advance_jiffies(100_000);
        m.reaper(0, "reap").cache_reap();
        assert_eq!(
            stats(&m, &c),
            after_frees,
            "era {era}: a touched reap changes nothing"
        );
        //  2nd: untouched → drain_array frees (limit + 4) / 5 = 1 object from the bottom
        //       (o5: S2 inuse 3, active 3); free_touched is clear → drain_freelist of
        //       (free_limit + 5·num − 1) / (5·num) = 29 / 20 = 1 slab: S1 → reaped 1.
        m.advance_jiffies(100_000);
        m.reaper(0, "reap").cache_reap();
        let after_reaps = SlabStats {
            reaped: 1,
            num_active: 3,
            ..after_frees
        };
        assert_eq!(stats(&m, &c), after_reaps, "era {era}");

        // The whole /proc/slabinfo line: S2 alone (inuse 3 of 4).
        let gap = if era == Era::A { " \t\t\t\t" } else { " " };
        assert_eq!(
            m.slabinfo_row(&c).render(),
            format!(
                "info                   3      4   1024    4    1 : tunables    4    2    0 : slabdata      1      1      0 \
                 : globalstat       8      6     2    1{gap}   0    1    0    0    0 : cpustat      5      4      7      2"
            ),
            "era {era}"
        );
        assert!(m
            .slabinfo()
            .lines()
            .any(|l| l == m.slabinfo_row(&c).render()));
    }
}

#[test]
fn numa_statistics_node_allocs_remote_frees_alien_overflow() {
    for era in ERAS {
        // CPU 0 on node 0, CPU 1 on node 1.
        let m = debug_machine(era, 2);
        let c = info_cache(&m);
        // 13 kmem_cache_alloc_node(node 1) from CPU 0: never the per-CPU path, always
        // ____cache_alloc_node(node 1): nodeallocs 13, active and high 13. Node 1 has no
        // slab at first and each holds 4: it grows 4 times (grown 4), retrying after each.
        let mut t = m.task(0, "t");
        let objs: Vec<u64> = (0..13)
            .map(|_| {
                t.kmem_cache_alloc_node(&c, Gfp::KERNEL, 1)
                    .expect("valid")
                    .expect("memory")
            })
            .collect();
        // Free them all on CPU 0 (node 0): each is remote → cache_free_alien: remotefrees
        // 13. The alien array for node 1 holds 12 (limit > 1); the 13th free finds it full
        // → alienoverflow 1, __drain_alien_cache, then the push. No freehit/freemiss.
        for &o in &objs {
            t.kmem_cache_free(&c, o).expect("valid free");
        }
        drop(t);
        let expected = SlabStats {
            maxobjs: 13,
            grown: 4,
            nodeallocs: 13,
            remotefrees: 13,
            alienoverflow: 1,
            // Not printed: the 12 drained objects went back to their slabs.
            num_active: 1,
            ..SlabStats::default()
        };
        assert_eq!(stats(&m, &c), expected, "era {era}");
    }
}
