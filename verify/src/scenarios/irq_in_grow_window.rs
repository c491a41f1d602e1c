//! `irq-in-grow-window`, hazard 1 (docs/scenarios.md): a per-CPU refill racing an interrupt
//! on the same CPU inside `cache_grow`'s irq-enable window.
//!
//! The workload (`ScenarioInfo::summary`): CPU0 task refills and grows with GFP_KERNEL;
//! CPU0's interrupt handler allocates and frees inside the irq-enable window.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `kmem_cache_alloc`, `____cache_alloc`, `cache_alloc_refill`,
//!   `cache_grow`, `kmem_getpages`, `cache_init_objs`, `kmem_cache_free`, `__cache_free`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `no-recheck-after-grow`,
//!   `irq-window-in-atomic`.
//! * Kernel history of hazard 1 (docs/kernel-history.md): B.3.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn irq_in_grow_window<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 1, batch 1: an object the interrupt frees fills CPU0's array, so the task must
    // find it after the window instead of refilling on top of it.
    let c = tiny_cache(&m, "scn", 1300, (1, 1, 0));
    let c1 = c.clone();
    let ops = p.ops;
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let mut got = Vec::new();
        for _ in 0..ops {
            got.push(must(
                t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
                "task kmem_cache_alloc(GFP_KERNEL)",
            ));
        }
        got
    });
    let c2 = c.clone();
    let irq = spawn(&m, move |m| {
        let mut i = m.interrupt(0, "irq@cpu0");
        for _ in 0..ops {
            let o = must(
                i.kmem_cache_alloc(&c2, Gfp::ATOMIC).expect("valid"),
                "irq kmem_cache_alloc(GFP_ATOMIC)",
            );
            i.kmem_cache_free(&c2, o).expect("irq frees its own object");
        }
    });
    let got = task.join();
    irq.join();
    final_audit(&m);
    assert_eq!(
        m.live_objects(&c),
        got.len(),
        "every object the task holds is live"
    );
    done(&m, got.len() + ops, ops)
}
