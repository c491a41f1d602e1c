//! `grow-failure`, hazard 6 (docs/scenarios.md): `cache_grow` failing (pages, then slab
//! management) while other CPUs refill.
//!
//! The workload (`ScenarioInfo::summary`): an off-slab cache's grow fails (pages, then the
//! descriptor) while another CPU refills.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cache_grow`, `kmem_getpages`, `alloc_slabmgmt`, `kmem_freepages`,
//!   `kmem_cache_alloc_node`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `grow-fail-leaks-pages`.
//! * Under loom: yes.

use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn grow_failure<P: Platform>(p: &Params) -> Outcome {
    // The 2nd page request fails: depending on the interleaving that is CPU1's slab pages
    // or the off-slab descriptor cache's pages (the `opps1` path).
    let faults = FaultInjection {
        fail_nth: Some(2),
        ..FaultInjection::default()
    };
    let m = machine::<P>(p, KmallocSetup::UpTo(64), faults);
    // Era A: 1024-byte objects are off-slab (>= PAGE_SIZE/8), descriptor from size-64 (or
    // size-32). Era B: off-slab too (>= 128 and no room left over).
    // DEBUG adds 24 bytes (two red zones, the user word): 1000 of them make the same
    // 1024-byte slot, four to a page with nothing left over.
    let size = if p.debug { 1000 } else { 1024 };
    let c = tiny_cache(&m, "scn", size, (2, 1, 0));
    assert!(c.geo.off_slab(), "scenario needs an off-slab cache");
    let hs: Vec<_> = (0..2)
        .map(|cpu| {
            let c = c.clone();
            spawn(&m, move |m| {
                let mut t = m.task(cpu, &format!("task@cpu{cpu}"));
                t.kmem_cache_alloc(&c, Gfp::ATOMIC).expect("valid")
            })
        })
        .collect();
    let got: Vec<Option<u64>> = hs.into_iter().map(|h| h.join()).collect();
    final_audit(&m);
    assert!(
        got.iter().any(|g| g.is_some()),
        "one CPU's allocation must succeed"
    );
    let mut t = m.task(0, "after");
    let more = must(
        t.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "allocation after the fault",
    );
    t.kmem_cache_free(&c, more).expect("free");
    final_audit(&m);
    done(&m, got.iter().flatten().count() + 1, 1)
}
