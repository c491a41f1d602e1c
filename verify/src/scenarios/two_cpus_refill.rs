//! `two-cpus-refill`, hazard 3 (docs/scenarios.md): two CPUs refilling from one node's
//! lists (`list_lock`, `free_objects`, list moves, `colour_next`).
//!
//! The workload (`ScenarioInfo::summary`): two CPUs refill from one node: list_lock,
//! free_objects, slab list moves, colour_next.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_alloc_refill`, `cache_grow`, `slab_get_obj`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `colour-next-unlocked`,
//!   `full-slab-stays-partial`.
//! * Kernel history of hazard 3 (docs/kernel-history.md): B.4.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::trace::EventKind;
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn two_cpus_refill<P: Platform>(p: &Params) -> Outcome {
    let m = machine::<P>(p, KmallocSetup::None, FaultInjection::default());
    // 1250-byte objects: 3 per slab with 4 (era A) / 5 (era B) colours; batch 2 makes
    // the second refill fill the first slab up (it must move to slabs_full).
    let c = tiny_cache(&m, "scn", 1250, (4, 2, 0));
    assert!(c.geo.colour >= 2, "scenario needs at least two colours");
    let n = p.ops.max(1);
    let hs: Vec<_> = (0..2)
        .map(|cpu| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                // GFP_ATOMIC: no irq window, so both grows overlap only at list_lock.
                (0..n)
                    .map(|_| {
                        must(
                            t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid"),
                            "refill",
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let got: Vec<u64> = hs.into_iter().flat_map(|h| h.join()).collect();
    final_audit(&m);
    let mut uniq = got.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(
        uniq.len(),
        got.len(),
        "conservation: two CPUs were handed the same object"
    );
    // B.4: slabs of one node are coloured sequentially under list_lock.
    let colours: Vec<u32> = m
        .trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::SlabCreated { colour_offset, .. } => Some(colour_offset),
            _ => None,
        })
        .collect();
    let mut cs = colours.clone();
    cs.sort_unstable();
    cs.dedup();
    if colours.len() <= c.geo.colour {
        assert_eq!(
            cs.len(),
            colours.len(),
            "colour_next: concurrent grows reused a colour {colours:?} (B.4)"
        );
    }
    done(&m, got.len(), 0)
}
