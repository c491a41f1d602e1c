//! `reap-vs-alloc`, hazard 7 (docs/scenarios.md): `cache_reap` / `drain_array` racing
//! allocation on the same CPU and on others (the touched logic, the unlocked peeks).
//!
//! The workload (`ScenarioInfo::summary`): CPU0's cache_reap drains arrays and free slabs
//! while CPU0 and CPU1 allocate and free.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_reap`, `drain_array`, `drain_freelist`, `free_block`,
//!   `slab_destroy`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `reap-foreign-cpu`,
//!   `drain-array-stale-avail`, `drain-freelist-no-recheck`.
//! * Kernel history of hazard 7 (docs/kernel-history.md): B.11, B.27.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn reap_vs_alloc<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 4, batch 2, no shared array; 3 objects per slab; free_limit (1 + 2)·2 + 3 = 9.
    let c = tiny_cache(&m, "scn", 1300, (4, 2, 0));
    // CPU0: its array holds exactly one object (so an allocation between the reaper's
    // unlocked peek and its lock empties it); two objects stay allocated.
    let mut t0 = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = (0..3)
        .map(|_| {
            must(
                t0.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for o in objs {
        t0.kmem_cache_free(&c, o).expect("setup free");
    }
    let held: Vec<u64> = (0..2)
        .map(|_| {
            must(
                t0.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    drop(t0);
    // CPU1: seven objects allocated and freed; the flushes give one slab entirely back
    // (on slabs_free: free_objects 5 <= free_limit) and leave a partial slab with two
    // free objects; CPU1's array holds four.
    let mut t1 = m.task(1, "setup@cpu1");
    let objs: Vec<u64> = (0..7)
        .map(|_| {
            must(
                t1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for o in objs {
        t1.kmem_cache_free(&c, o).expect("setup free");
    }
    drop(t1);
    let n = m.node_snapshot(&c, 0);
    assert!(
        n.slabs_free.len() == 1 && n.slabs_partial.len() == 1,
        "scenario needs one free and one partial slab: {n:?}"
    );
    m.advance_jiffies(10 * slab_model::machine::REAPTIMEOUT_NODE);
    let reaper = spawn(&m, move |m| {
        // The first pass clears the touched flags; the second, a node period later, drains
        // arrays and free slabs.
        let mut r = m.reaper(0, "reap@cpu0");
        r.cache_reap();
        m.advance_jiffies(slab_model::machine::REAPTIMEOUT_NODE);
        r.cache_reap();
    });
    let c0 = c.clone();
    let t0 = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let o = must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "alloc during reap",
        );
        t.kmem_cache_free(&c0, o).expect("free");
    });
    let c1 = c.clone();
    let t1 = spawn(&m, move |m| {
        // Four hits on CPU1's array, a refill that empties the partial slab, two hits, and
        // a refill from the free slab (which leaves slabs_free: sets free_touched).
        let mut t = m.task(1, "task@cpu1");
        let got: Vec<u64> = (0..7)
            .map(|_| {
                must(
                    t.kmem_cache_alloc(&c1, Gfp::ATOMIC).expect("valid"),
                    "alloc during reap",
                )
            })
            .collect();
        for o in got {
            t.kmem_cache_free(&c1, o).expect("free");
        }
    });
    reaper.join();
    t0.join();
    t1.join();
    final_audit(&m);
    let mut t = m.task(0, "after");
    for o in held {
        t.kmem_cache_free(&c, o).expect("free");
    }
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 20, 20)
}
