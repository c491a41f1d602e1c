//! /proc/slabinfo (format version 2.1: mm/slab.c v2.6.24 `s_show`): header, exact column widths, and the numbers of a
//! scripted workload worked out by hand — objects parked in per-CPU and shared arrays
//! count as active. Both eras (the 1000-byte cache has the same geometry in each).

mod common;

use common::*;
use slab_model::slabinfo::SLABINFO_HEADER;

#[test]
fn header_is_version_2_1() {
    for era in ERAS {
        let m = machine(era);
        let text = m.slabinfo();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("slabinfo - version: 2.1"));
        assert_eq!(
            lines.next(),
            Some(
                "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> \
                 : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>"
            )
        );
        assert!(text.starts_with(SLABINFO_HEADER));
    }
}

fn line(m: &M, c: &Cache) -> String {
    let row = m.slabinfo_row(c);
    assert_eq!(row.error, None, "s_show consistency checks");
    let l = row.render();
    // %-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu
    // = 17+1+6+1+6+1+6+1+4+1+4 + 12 + 4+1+4+1+4 + 12 + 6+1+6+1+6 = 106 characters.
    assert_eq!(l.len(), 106, "{l:?}");
    assert!(
        m.slabinfo().lines().any(|x| x == l),
        "the row appears in /proc/slabinfo"
    );
    l
}

#[test]
fn scripted_workload_rows() {
    for era in ERAS {
        let m = machine(era);
        // objsize 1000, 4 per order-0 slab (see conformance.rs C1000), tunables 54 27 8.
        let c = create(&m, "info", 1000);
        assert_eq!(
            line(&m, &c),
            "info                   0      0   1000    4    1 : tunables   54   27    8 : slabdata      0      0      0"
        );

        // 10 allocations on CPU 0: each refill can take only one slab's 4 objects
        // (the first would take 16, later ones 27), so 3 refills build 3 slabs and take
        // all 12 objects; 2 stay in CPU 0's array. 3 frees on CPU 1 park 3 objects in
        // CPU 1's array. From the slabs' view all 3 are full:
        // active_objs = 3 × 4 = 12, num_objs 12, active_slabs 3, num_slabs 3, shared 0.
        let objs = alloc_n(&m, 0, &c, 10);
        free(&m, 1, &c, &objs[0..3]);
        assert_eq!(
            line(&m, &c),
            "info                  12     12   1000    4    1 : tunables   54   27    8 : slabdata      3      3      0",
            "era {era}"
        );

        // Draining CPU 0 returns its 2 objects to the third slab: 4 + 4 + 2 = 10 active.
        force_drain(&m, 0, &c);
        assert_eq!(
            line(&m, &c),
            "info                  10     12   1000    4    1 : tunables   54   27    8 : slabdata      3      3      0"
        );

        // Tune to limit 4, batch 2, shared 3 (capacity 6): CPU 1's 3 objects (all of slab
        // 1) go back → slab 1 inuse 1, so active = 1 + 4 + 2 = 7.
        tune(&m, &c, 4, 2, 3);
        assert_eq!(
            line(&m, &c),
            "info                   7     12   1000    4    1 : tunables    4    2    3 : slabdata      3      3      0"
        );

        // Free objs[3..10] on CPU 1: push 3,4,5,6; freeing 7 flushes 3,4 to shared;
        // push 8; freeing 9 flushes 5,6 to shared. Arrays hold everything: the slabs are
        // unchanged (7 active), sharedavail 4.
        free(&m, 1, &c, &objs[3..10]);
        assert_eq!(
            line(&m, &c),
            "info                   7     12   1000    4    1 : tunables    4    2    3 : slabdata      3      3      4"
        );

        // Drain CPU 1 ([7, 8, 9]): 7 → slab 2 (inuse 3); 8, 9 → slab 3 empty with
        // free_objects 5 + 1 + 2 = 8 <= free_limit 3·2 + 4 = 10, so it is kept on
        // slabs_free. active_objs = 1 + 3 = 4, active_slabs 2, num_slabs 3.
        force_drain(&m, 1, &c);
        assert_eq!(
            line(&m, &c),
            "info                   4     12   1000    4    1 : tunables    4    2    3 : slabdata      2      3      4"
        );

        // Shrink: everything back, every slab freed.
        assert!(!m.task(0, "t").kmem_cache_shrink(&c).unwrap());
        assert_eq!(
            line(&m, &c),
            "info                   0      0   1000    4    1 : tunables    4    2    3 : slabdata      0      0      0"
        );
    }
}

/// Names longer than 17 characters push the columns right (`%-17s` is a minimum width).
#[test]
fn long_names_are_not_truncated() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "a_very_long_cache_name", 1000);
        assert_eq!(
            m.slabinfo_row(&c).render(),
            "a_very_long_cache_name      0      0   1000    4    1 : tunables   54   27    8 : slabdata      0      0      0"
        );
    }
}
