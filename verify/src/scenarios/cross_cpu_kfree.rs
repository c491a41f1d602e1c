//! `cross-cpu-kfree`, hazard 0 (docs/scenarios.md: no single hazard): several hazards at
//! once: `kmalloc` / `kfree` across CPUs; the shuttle-sized mix.
//!
//! The workload (`ScenarioInfo::summary`): objects kmalloc'ed on CPU0 are kfree'd on CPU1
//! while both CPUs kmalloc from the same size classes.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `kmalloc`, `kfree`, `kmem_cache_alloc`, `__cache_free`,
//!   `cache_flusharray`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `kmalloc-class-too-small`.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup, Machine};

fn kmalloc_checked<P: Platform>(
    m: &Machine<P>,
    ctx: &mut slab_model::Context<'_, P>,
    size: usize,
    gfp: Gfp,
) -> u64 {
    let o = must(ctx.kmalloc(size, gfp).expect("valid"), "kmalloc");
    let usable = m.ksize(o).expect("a kmalloc object has a size");
    assert!(
        usable >= size,
        "kmalloc({size}) returned a {usable}-byte object: the size class is too small"
    );
    o
}

pub(super) fn cross_cpu_kfree<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::UpTo(256), FaultInjection::default());
    // Small kmalloc arrays so frees overflow into cache_flusharray.
    let mut tuner = m.tuner(0, "setup");
    for name in m
        .caches()
        .iter()
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
    {
        tuner
            .slabinfo_write(&format!("{name} 2 1 1"))
            .expect("tune kmalloc cache");
    }
    drop(tuner);
    let mut setup = m.task(0, "setup@cpu0");
    let objs: Vec<u64> = [100usize, 200, 100]
        .iter()
        .map(|&s| kmalloc_checked(&m, &mut setup, s, Gfp::KERNEL))
        .collect();
    drop(setup);
    let remote = spawn(&m, move |m| {
        let mut t = m.task(1, "task@cpu1");
        for o in objs {
            t.kfree(o).expect("remote kfree");
        }
        let o = kmalloc_checked(m, &mut t, 150, Gfp::ATOMIC);
        t.kfree(o).expect("kfree");
    });
    let local = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        let o = kmalloc_checked(m, &mut t, 120, Gfp::ATOMIC);
        t.kfree(o).expect("kfree");
    });
    remote.join();
    local.join();
    final_audit(&m);
    done(&m, 5, 5)
}
