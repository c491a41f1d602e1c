//! `tune-during-grow`, hazard 8 (docs/scenarios.md): `do_tune_cpucache` replacing the
//! per-CPU arrays while a task is inside the grow window.
//!
//! The workload (`ScenarioInfo::summary`): a /proc/slabinfo write swaps the per-CPU arrays
//! while a task sleeps in cache_grow.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `do_tune_cpucache`, `cache_alloc_refill`, `cache_grow`,
//!   `free_block`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `stale-ac-after-grow`,
//!   `tune-frees-array-early`.
//! * Kernel history of hazard 8 (docs/kernel-history.md): H.1 (era C).
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn tune_during_grow<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 0));
    let c0 = c.clone();
    let task = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let o = must(
            t.kmem_cache_alloc(&c0, Gfp::KERNEL).expect("valid"),
            "allocation across the tune",
        );
        t.kmem_cache_free(&c0, o).expect("free");
    });
    let tuner = spawn(&m, move |m| {
        let mut t = m.tuner(1, "tuner@cpu1");
        t.slabinfo_write("scn 3 1 0").expect("valid tunables");
    });
    task.join();
    tuner.join();
    final_audit(&m);
    assert_eq!(c.tunables().limit, 3);
    done(&m, 1, 1)
}
