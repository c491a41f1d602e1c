//! `shrink-vs-tune`, hazard 11 (docs/scenarios.md): `kmem_cache_shrink` racing a
//! `/proc/slabinfo` write that replaces `n->shared` (4.4's shrink takes no `slab_mutex`).
//!
//! The workload (`ScenarioInfo::summary`): kmem_cache_shrink on CPU0 drains the shared
//! array while a /proc/slabinfo write on CPU1 replaces and frees it (era B takes no
//! slab_mutex in shrink: shipped in 4.4, fixed in 4.7); CPU1's reaper drains the same array
//! under the chain mutex.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `kmem_cache_shrink`, `drain_cpu_caches`, `drain_array`,
//!   `do_tune_cpucache`, `alloc_kmemlist`, `kick_all_cpus_sync`, `cache_reap`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): none.
//! * Shipped bug (`ScenarioInfo::shipped`): `fix-shrink-shared-locked` (era B: the bug
//!   shipped in 4.4; the faithful model of that era must fail with its symptom and pass
//!   with the switch on).
//! * Kernel history of hazard 11 (docs/kernel-history.md): B.22 (shipped in era B).
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{Era, FaultInjection, Gfp, KmallocSetup};

pub(super) fn shrink_vs_tune<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 1, shared 1: a shared array of one entry.
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    // Three frees on CPU0: the third flushes one object into node 0's shared array.
    let mut setup = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = (0..3)
        .map(|_| {
            must(
                setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
                "setup",
            )
        })
        .collect();
    for &o in &objs {
        setup.kmem_cache_free(&c, o).expect("setup free");
    }
    // CPU1 refills from the shared array (era B marks it touched), and the object comes
    // back through CPU0's full array into the shared array.
    let o = must(
        m.task(1, "setup@cpu1")
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .expect("valid"),
        "setup",
    );
    setup.kmem_cache_free(&c, o).expect("setup free");
    drop(setup);
    let sh = m.node_snapshot(&c, 0).shared.expect("a shared array");
    assert_eq!(sh.avail(), 1, "scenario needs a non-empty shared array");
    assert_eq!(
        sh.touched,
        p.era == Era::B,
        "era B marks a shared array a refill took from"
    );
    m.advance_jiffies(10 * slab_model::machine::REAPTIMEOUT_NODE);
    let c0 = c.clone();
    let shrinker = spawn(&m, move |m| {
        let mut t = m.task(0, "shrink@cpu0");
        t.kmem_cache_shrink(&c0).expect("shrink")
    });
    let tuner = spawn(&m, |m| {
        let mut t = m.tuner(1, "tuner@cpu1");
        t.slabinfo_write("scn 2 1 1").expect("valid tunables");
    });
    // The reaper drains the same shared array without list_lock too, but under the chain
    // mutex, which the tuner holds as well: safe in both eras.
    let reaper = spawn(&m, |m| {
        m.reaper(1, "reap@cpu1").cache_reap();
    });
    shrinker.join();
    tuner.join();
    reaper.join();
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    let mut t = m.task(0, "after");
    assert!(
        !t.kmem_cache_shrink(&c).expect("shrink"),
        "every object is free: no slab may remain after shrink"
    );
    final_audit(&m);
    done(&m, 4, 4)
}
