//! `shared-transfer-vs-flusharray`, hazard 4 (docs/scenarios.md): the refill's shared-array
//! transfer racing `cache_flusharray` into the same array.
//!
//! The workload (`ScenarioInfo::summary`): CPU0 refills from the shared array while CPU1's
//! cache_flusharray pushes into it.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_alloc_refill`, `transfer_objects`, `cache_flusharray`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `shared-transfer-unlocked`,
//!   `free-objects-double-count`, `flusharray-no-shift`.
//! * Kernel history of hazard 4 (docs/kernel-history.md): B.22 (class).
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn shared_transfer_vs_flusharray<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 1, shared 2 → shared capacity 2.
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 2));
    // Setup on CPU1: allocate 4, free 3 → array holds 2 after one flush into shared.
    let mut setup = m.task(1, "setup@cpu1");
    let objs: Vec<u64> = (0..4)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for &o in &objs[..3] {
        setup.kmem_cache_free(&c, o).expect("setup free");
    }
    drop(setup);
    let keep = objs[3];
    let c0 = c.clone();
    let a = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        must(
            t.kmem_cache_alloc(&c0, Gfp::ATOMIC).expect("valid"),
            "refill from the shared array",
        )
    });
    let c1 = c.clone();
    let b = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1");
        // CPU1's array is full (2 of 2): this free flushes one object into shared.
        t.kmem_cache_free(&c1, keep).expect("free");
    });
    let got = a.join();
    b.join();
    final_audit(&m);
    assert_ne!(
        got, keep,
        "the object CPU1 is freeing cannot be handed to CPU0 before it is free"
    );
    done(&m, 5, 4)
}
