//! `fallback-alloc`, hazard 12 (docs/scenarios.md): `fallback_alloc` on NUMA: its window,
//! another CPU taking the new slab first, the retry; `____cache_alloc_node` after a failed
//! local refill.
//!
//! The workload (`ScenarioInfo::summary`): two nodes, node 0 out of memory: CPU0's task
//! falls back (fallback_alloc opens its irq window, the slab comes from node 1) and is
//! moved to CPU1 (node 1) inside a window, while CPU0's interrupt handler and CPU1
//! allocate.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `__do_cache_alloc`, `cache_alloc_refill`, `____cache_alloc_node`,
//!   `fallback_alloc`, `kmem_getpages`, `cache_grow`, `cache_free_alien`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `irq-window-in-atomic`,
//!   `fallback-grow-asked-node`.
//! * Kernel history of hazard 12 (docs/kernel-history.md): B.17.
//! * Under loom: yes.

use super::{done, final_audit, machine_nodes, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn fallback_alloc<P: Platform>(p: &Params) -> Outcome {
    // Node 0 has no free memory: requests bound to it fail, others get node 1's pages.
    let faults = FaultInjection {
        exhausted_node: Some(0),
        ..FaultInjection::default()
    };
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, faults);
    let c = tiny_cache(&m, "scn", 1300, (1, 1, 0));
    let c0 = c.clone();
    let task = spawn(&m, move |m| {
        // The task is moved to CPU1 (node 1) at the first window that closes: era A's
        // refill grow (2.6.24 keeps __GFP_WAIT on NUMA), era B's fallback_alloc window.
        let mut t = m.task(0, "task@cpu0(node0)->cpu1(node1)");
        t.plan_migrations([1]);
        let o = must(
            t.kmem_cache_alloc(&c0, Gfp::KERNEL).expect("valid"),
            "GFP_KERNEL allocation on a node without memory (fallback_alloc)",
        );
        t.kmem_cache_free(&c0, o).expect("free");
    });
    let c1 = c.clone();
    let irq = spawn(&m, move |m| {
        let mut i = m.interrupt(0, "irq@cpu0(node0)");
        let o = must(
            i.kmem_cache_alloc(&c1, Gfp::ATOMIC).expect("valid"),
            "GFP_ATOMIC allocation in an interrupt on a node without memory",
        );
        i.kmem_cache_free(&c1, o).expect("free");
    });
    let c2 = c.clone();
    let remote = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1(node1)");
        let o = must(
            t.kmem_cache_alloc(&c2, Gfp::ATOMIC).expect("valid"),
            "allocation on node 1",
        );
        t.kmem_cache_free(&c2, o).expect("free");
    });
    task.join();
    irq.join();
    remote.join();
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    assert!(
        m.node_snapshot(&c, 0).all_slabs().next().is_none(),
        "node 0 has no memory: no slab may be on its lists"
    );
    done(&m, 3, 3)
}
