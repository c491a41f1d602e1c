//! Hazard 15: a misbehaving caller corrupting objects while `CONFIG_DEBUG_SLAB` is on and
//! their slab is being freed into and drained — `__cache_free`'s `cache_free_debugcheck`
//! (`verify_redzone_free`) on one CPU, `kmem_cache_shrink`'s `drain_cpu_caches`,
//! `drain_freelist` and `slab_destroy`'s `slab_destroy_debugcheck` (2.6.24:
//! `slab_destroy_objs`) — while another CPU stores past one object's end and into
//! another object after it was freed. Eras A and B; always on a DEBUG profile.
//!
//! The kernel's checks are not synchronised with the caller's stores, so which check
//! finds a store depends on where it lands; the trace (the store's `caller-write` event is
//! recorded while it holds memory) says where it landed:
//! * the overrun of live `y` before `y`'s free: exactly one "memory outside object was
//!   overwritten" from `cache_free_debugcheck`;
//! * after the free began: at most one report, that one or, once the free has rewritten the
//!   red zones, "end of a freed object was overwritten" from the destroy check — or none,
//!   when the store falls between `verify_redzone_free`'s read and its rewrite (the kernel
//!   loses it too);
//! * the use-after-free store into `x` before its slab's `slab_destroy`: exactly one "Slab
//!   corruption" with the stored offset; after: at most one;
//! * a store after the pages went back to the page allocator is a `WildWrite` and finds
//!   nothing (the kernel, without `CONFIG_DEBUG_PAGEALLOC`, would not see it either).
//!
//! Catches `redzone-unchecked-on-free` (the overrun before the free goes unreported).

use super::trace::{record_failure, FailedIn};
use super::{done, final_audit, machine, must, spawn, tiny_cache, Outcome, Params};
use slab_model::debug::SlabReport;
use slab_model::sync::{Join, Platform};
use slab_model::trace::EventKind;
use slab_model::{FaultInjection, Gfp, KmallocSetup};

/// Where the scenario's use-after-free store goes inside `x`.
const UAF_OFFSET: usize = 8;

pub(super) fn corrupt_during_drain<P: Platform>(p: &Params) -> Outcome {
    // The scenario is about the debug checks: DEBUG on, and a trace long enough to order
    // the stores against the checks (a switch that cannot act would be a silent pass).
    let p = Params {
        debug: true,
        trace_capacity: p.trace_capacity.max(4096),
        ..p.clone()
    };
    let m = machine::<P>(&p, KmallocSetup::None, FaultInjection::default());
    // 200 bytes: red zones, the last user and poisoning forced (FORCED_DEBUG), on-slab.
    // limit 2, batch 1, no shared array.
    let c = tiny_cache(&m, "scn", 200, (2, 1, 0));
    let object_size = c.geo.object_size;
    let mut setup = m.task(0, "setup");
    let x = must(
        setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "setup",
    );
    let y = must(
        setup.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "setup",
    );
    // x is freed (poisoned) into CPU 0's array; y stays live.
    setup.kmem_cache_free(&c, x).expect("setup free");
    drop(setup);
    let c0 = c.clone();
    let freer = spawn(&m, move |m| {
        let mut t = m.task(0, "task@cpu0");
        t.kmem_cache_free(&c0, y).expect("free");
        // Everything back and every slab destroyed, each object checked on the way.
        t.kmem_cache_shrink(&c0).expect("shrink")
    });
    let driver = spawn(&m, move |m| {
        let t = m.task(1, "driver@cpu1");
        // One byte past y's end (the first byte of red zone 2), then into freed x.
        let overrun = t.caller_write(y, object_size as i64, &[0x00]);
        let uaf = t.caller_write(x, UAF_OFFSET as i64, &[0x00]);
        (overrun.is_ok(), uaf.is_ok())
    });
    let in_use = freer.join();
    let (overrun_landed, uaf_landed) = driver.join();
    assert!(!in_use, "the shrink leaves no slab: nothing is live");

    let events = m.trace.events();
    let seq_of = |f: &dyn Fn(&EventKind) -> bool| events.iter().find(|e| f(&e.kind)).map(|e| e.seq);
    let write_at =
        |addr: u64| seq_of(&|k| matches!(k, EventKind::CallerWrite { addr: a, .. } if *a == addr));
    let y_free = seq_of(&|k| matches!(k, EventKind::Object { addr, alloc: false } if *addr == y))
        .expect("y's free is traced");
    let destroyed = seq_of(&|k| matches!(k, EventKind::SlabDestroyed { .. }))
        .expect("the shrink destroys the slab");

    let reports = m.take_reports();
    let overrun_reports: Vec<&SlabReport> = reports
        .iter()
        .filter(|r| matches!(r, SlabReport::SlabError { .. }))
        .collect();
    let uaf_reports: Vec<&SlabReport> = reports
        .iter()
        .filter(|r| matches!(r, SlabReport::SlabCorruption { .. }))
        .collect();
    let fail = |what: String| -> ! { panic!("{}", record_failure(&m, &what, FailedIn::Audit)) };
    // The overrun of y.
    for r in &overrun_reports {
        let ok = matches!(
            r,
            SlabReport::SlabError {
                function: "cache_free_debugcheck",
                message: "memory outside object was overwritten",
                ..
            }
        ) || matches!(
            r,
            SlabReport::SlabError {
                message: "end of a freed object was overwritten",
                ..
            }
        );
        if !ok {
            fail(format!(
                "hazard 15: the overrun past y's end was reported by the wrong check: {r}"
            ));
        }
    }
    match write_at(y + object_size as u64) {
        None if overrun_landed => fail("hazard 15: the overrun landed but is not traced".into()),
        None if !overrun_reports.is_empty() => fail(format!(
            "hazard 15: the overrun was refused (the slab was gone) yet reported: {}",
            overrun_reports[0]
        )),
        Some(w) if w < y_free && overrun_reports.len() != 1 => fail(format!(
            "hazard 15: a store past y's end before y's free must be reported once by cache_free_debugcheck (verify_redzone_free), got {} report(s)",
            overrun_reports.len()
        )),
        _ if overrun_reports.len() > 1 => {
            fail("hazard 15: one overrun reported more than once".into())
        }
        _ => {}
    }
    // The use-after-free store into x.
    for r in &uaf_reports {
        match r {
            SlabReport::SlabCorruption {
                start,
                first_bad,
                function,
                ..
            } if *start == x
                && *first_bad == UAF_OFFSET
                && matches!(*function, "slab_destroy_objs" | "slab_destroy_debugcheck") => {}
            _ => fail(format!(
                "hazard 15: the store into freed x was reported wrongly: {r}"
            )),
        }
    }
    match write_at(x + UAF_OFFSET as u64) {
        None if uaf_landed => fail("hazard 15: the store into x landed but is not traced".into()),
        None if !uaf_reports.is_empty() => fail(format!(
            "hazard 15: the store into x was refused (the slab was gone) yet reported: {}",
            uaf_reports[0]
        )),
        Some(w) if w < destroyed && uaf_reports.len() != 1 => fail(format!(
            "hazard 15: a store into freed x before its slab's slab_destroy must be reported once (check_poison_obj), got {}",
            uaf_reports.len()
        )),
        _ if uaf_reports.len() > 1 => fail("hazard 15: one store reported more than once".into()),
        _ => {}
    }
    // Nothing else disturbed: no other report (final_audit fails on any left), audit clean.
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 2, 2)
}
