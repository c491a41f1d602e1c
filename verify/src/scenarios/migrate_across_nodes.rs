//! `migrate-across-nodes`, hazard 13 (docs/scenarios.md): a task moving to a CPU of another
//! node inside the window (2.6.24 keeps the node it read before), and what its array then
//! hands to `free_block`.
//!
//! The workload (`ScenarioInfo::summary`): two nodes: a task on CPU0 (node 0) refills,
//! sleeps in cache_grow and resumes on CPU1 (node 1) while CPU1's reaper runs; then the
//! arrays are drained. 2.6.24 refills CPU1's array from node 0 and hands node-0 objects to
//! free_block with node 1's lists.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_alloc_refill`, `cache_grow`, `cache_free_alien`,
//!   `cache_reap`, `drain_array`, `free_block`, `kmem_cache_shrink`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): none.
//! * Shipped bug (`ScenarioInfo::shipped`): `fix-refill-reread-node` (era A: the bug
//!   shipped in 2.6.24; the faithful model of that era must fail with its symptom and pass
//!   with the switch on).
//! * Kernel history of hazard 13 (docs/kernel-history.md): B.34 (shipped in era A).
//! * Under loom: yes.
//!
//! Era B opens no window here (`gfp_exact_node` strips `__GFP_WAIT` on NUMA), so no window
//! mutation is observable in both eras; the shipped bug is the proof.

use super::{done, final_audit, machine_nodes, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn migrate_across_nodes<P: Platform>(p: &Params) -> Outcome {
    // CPU0 is on node 0, CPU1 on node 1.
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 2, no shared array: a refill takes two objects, one stays in the array.
    let c = tiny_cache(&m, "scn", 1300, (2, 2, 0));
    let c1 = c.clone();
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0(node0)->cpu1(node1)");
        t.plan_migrations([1]);
        let o = must(
            t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
            "migrating task's allocation",
        );
        // On CPU1 now (if the window opened): a node-0 object goes to node 1's alien array.
        t.kmem_cache_free(&c1, o).expect("free");
    });
    let reaper = spawn(&m, move |m| {
        let mut r = m.reaper(1, "reap@cpu1(node1)");
        r.cache_reap();
        r.cache_reap();
    });
    task.join();
    reaper.join();
    // Quiescent: shrink drains every CPU array into its CPU's node (do_drain).
    let mut t = m.task(1, "after@cpu1");
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "every object is free: no slab may remain after shrink"
    );
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 1, 1)
}
