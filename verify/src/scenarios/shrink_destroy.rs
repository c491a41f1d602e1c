//! `shrink-destroy`, hazard 10 (docs/scenarios.md): shrink / destroy after concurrent use;
//! destroy with live objects fails cleanly and leaves the cache usable.
//!
//! The workload (`ScenarioInfo::summary`): after concurrent use: destroy with live objects
//! fails and leaves the cache usable; shrink; destroy returns every page.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `kmem_cache_shrink`, `drain_cpu_caches`, `drain_freelist`,
//!   `kmem_cache_destroy`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `destroy-despite-live-objects`.
//! * Kernel history of hazard 10 (docs/kernel-history.md): B.9, B.32.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn shrink_destroy<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    let hs: Vec<_> = (0..2)
        .map(|cpu| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                let a = must(t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"), "alloc");
                let b = must(t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"), "alloc");
                t.kmem_cache_free(&c, a).expect("free");
                b
            })
        })
        .collect();
    let live: Vec<u64> = hs.into_iter().map(|h| h.join()).collect();
    final_audit(&m);
    // Quiescent now. Destroy with live objects must fail and change nothing.
    let mut t = m.task(0, "admin");
    let before = m.slabinfo();
    let err = t.kmem_cache_destroy(&c);
    if err.is_ok() {
        final_audit(&m);
        panic!(
            "kmem_cache_destroy succeeded with {} live objects",
            live.len()
        );
    }
    assert_eq!(m.slabinfo(), before, "a failed destroy changed the cache");
    final_audit(&m);
    // Still usable.
    let o = must(
        t.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "allocation after failed destroy",
    );
    t.kmem_cache_free(&c, o).expect("free");
    for o in live {
        t.kmem_cache_free(&c, o).expect("free");
    }
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "no slab may remain after freeing everything"
    );
    t.kmem_cache_destroy(&c)
        .expect("destroy after freeing everything");
    final_audit(&m);
    done(&m, 5, 5)
}
