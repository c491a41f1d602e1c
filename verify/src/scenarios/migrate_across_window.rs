//! `migrate-across-window`, hazard 2 (docs/scenarios.md): the task migrating to another CPU
//! (with NUMA, another node: 13) across that window.
//!
//! The workload (`ScenarioInfo::summary`): a task starts a refill on CPU0, sleeps in
//! cache_grow and resumes on CPU1 while CPU0's interrupt handler uses CPU0's array.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_alloc_refill`, `cache_grow`, `cpu_cache_get`,
//!   `__cache_free`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `stale-ac-after-grow`.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn migrate_across_window<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 0));
    let c1 = c.clone();
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0->1");
        t.plan_migrations([1]);
        let o = must(
            t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
            "migrating task's allocation",
        );
        // After the window the task runs on CPU1: its next free goes to CPU1's array.
        t.kmem_cache_free(&c1, o).expect("free");
        t.cpu()
    });
    let c2 = c.clone();
    let irq = spawn(&m, move |m| {
        let mut i = m.interrupt(0, "irq@cpu0");
        let o = must(
            i.kmem_cache_alloc(&c2, Gfp::ATOMIC).expect("valid"),
            "irq allocation",
        );
        i.kmem_cache_free(&c2, o).expect("free");
    });
    let _cpu = task.join();
    irq.join();
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 2, 2)
}
