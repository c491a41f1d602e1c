//! `concurrent-free-block`, hazard 5 (docs/scenarios.md): concurrent `free_block` from
//! several CPUs into one node, slabs destroyed past `free_limit`.
//!
//! The workload (`ScenarioInfo::summary`): two CPUs flush into free_block on one node;
//! slabs become empty and are destroyed past free_limit.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_flusharray`, `free_block`, `slab_put_obj`, `slab_destroy`,
//!   `kmem_freepages`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `free-block-unlocked`.
//! * Kernel history of hazard 5 (docs/kernel-history.md): B.16, B.23.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn concurrent_free_block<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 1, batch 1, no shared array: every free past the first flushes into
    // free_block. free_limit = (1 + 2 CPUs) × 1 + 3 = 6.
    let c = tiny_cache(&m, "scn", 1300, (1, 1, 0));
    let mut setup = m.task(0, "setup");
    let objs: Vec<u64> = (0..9)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    // Free 6 so the node holds exactly free_limit free objects (one stays in CPU0's array).
    for &o in &objs[..7] {
        setup.kmem_cache_free(&c, o).expect("setup free");
    }
    drop(setup);
    let (x, y) = (objs[7], objs[8]);
    let hs: Vec<_> = [(0usize, x), (1usize, y)]
        .into_iter()
        .map(|(cpu, o)| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                // Two frees: the second overflows the 1-entry array into free_block.
                let extra = must(t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"), "alloc");
                t.kmem_cache_free(&c, o).expect("free");
                t.kmem_cache_free(&c, extra).expect("free");
            })
        })
        .collect();
    for h in hs {
        h.join();
    }
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 11, 11)
}
