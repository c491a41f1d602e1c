//! `alien-free`, hazard 9 (docs/scenarios.md): alien frees of remote objects racing the
//! remote node's refill and drain.
//!
//! The workload (`ScenarioInfo::summary`): two nodes: CPU1 frees node-0 objects through its
//! alien array (draining into node 0's full shared array) and allocates from node 0
//! directly while CPU0 refills from node 0.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_free_alien`, `__drain_alien_cache`, `transfer_objects`,
//!   `free_block`, `kmem_cache_alloc_node`, `____cache_alloc_node`, `cache_alloc_refill`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `transfer-ignores-limit`.
//! * Kernel history of hazard 9 (docs/kernel-history.md): B.9, B.13, B.16.
//! * Under loom: yes.

use super::{done, final_audit, machine_nodes, must, spawn, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{CreateArgs, FaultInjection, Gfp, KmallocSetup, SlabFlags};

pub(super) fn alien_free<P: Platform>(p: &Params) -> Outcome {
    // CPU0 is on node 0, CPU1 on node 1. Alien arrays are sized when the cache is created
    // (`alloc_alien_cache(node, limit)`; tuning does not resize them): objects over 128 KiB
    // get limit 1, hence 1-entry alien arrays, so CPU1's second remote free finds the array
    // full and drains it. The tune then adds a 1-entry shared array (shared factor 1).
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    let c = m
        .kmem_cache_create(CreateArgs {
            name: "scn".into(),
            size: 140_000,
            align: 0,
            flags: SlabFlags::default(),
            ctor: false,
        })
        .expect("scenario cache");
    assert_eq!(
        c.tunables().limit,
        1,
        "objects over 128 KiB start with limit 1"
    );
    m.tuner(0, "setup")
        .do_tune_cpucache_checked(&c, 1, 1, 1)
        .expect("scenario tunables");
    let mut setup = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = (0..5)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    // Fill node 0's shared array (capacity 1): free two on CPU0, the first is flushed.
    setup.kmem_cache_free(&c, objs[0]).expect("setup free");
    setup.kmem_cache_free(&c, objs[1]).expect("setup free");
    drop(setup);
    let (x, y) = (objs[2], objs[3]);
    let c1 = c.clone();
    let remote = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1(node1)");
        // Both node-0 objects go through node 1's 1-entry alien array; the second free
        // drains the first into node 0 (its shared array is full, so into its slabs).
        t.kmem_cache_free(&c1, x).expect("alien free");
        t.kmem_cache_free(&c1, y).expect("alien free");
        // A node-directed allocation from the remote node's lists.
        let o = must(
            t.kmem_cache_alloc_node(&c1, Gfp::ATOMIC, 0).expect("valid"),
            "kmem_cache_alloc_node(node 0)",
        );
        t.kmem_cache_free(&c1, o).expect("free");
    });
    let c0 = c.clone();
    let local = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0(node0)");
        let a = must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "alloc",
        );
        let b = must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "refill from node 0",
        );
        t.kmem_cache_free(&c0, a).expect("free");
        b
    });
    let reaper = spawn(&m, |m| {
        // The rotor starts at the node after CPU1's own (init_reap_node), node 0:
        // reap_alien trylocks node 1's alien array for node 0 and drains it.
        let mut r = m.reaper(1, "reap@cpu1(node1)");
        r.cache_reap();
        r.cache_reap();
    });
    remote.join();
    reaper.join();
    let b = local.join();
    final_audit(&m);
    let mut t = m.task(1, "after@cpu1");
    t.kmem_cache_free(&c, b).expect("free");
    t.kmem_cache_free(&c, objs[4]).expect("free");
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "every object is free: no slab may remain after shrink"
    );
    final_audit(&m);
    done(&m, 8, 8)
}
