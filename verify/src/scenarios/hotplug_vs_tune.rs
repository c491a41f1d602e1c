//! `hotplug-vs-tune`, hazard 14 (docs/scenarios.md): CPU hot-plug (`cpu_down` / `cpu_up`:
//! `take_cpu_down`, `cpuup_canceled`, `cpuup_prepare`) racing the reaper, the tuner, cache
//! creation and allocations on the dying CPU and others (docs/hotplug.md).
//!
//! The workload (`ScenarioInfo::summary`): CPU0 takes CPU1 down while a /proc/slabinfo
//! write on CPU0 replaces every CPU's array; CPU1's array holds objects.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cpu_down`, `take_cpu_down`, `cpuup_canceled`, `do_tune_cpucache`,
//!   `kick_all_cpus_sync`, `free_block`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `hotplug-skips-dead-array`.
//! * Shipped bug (`ScenarioInfo::shipped`): `fix-tune-online-cpus` (era B: the bug shipped
//!   in 4.4; the faithful model of that era must fail with its symptom and pass with the
//!   switch on).
//! * Kernel history of hazard 14 (docs/kernel-history.md): B.4, B.6, B.35 (shipped in era
//!   B).
//! * Under loom: yes.

use super::{done, final_audit, machine_nodes, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn hotplug_vs_tune<P: Platform>(p: &Params) -> Outcome {
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    // CPU1's array holds an object when the race starts.
    let mut s1 = m.task(1, "setup@cpu1");
    let a = must(
        s1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "setup",
    );
    s1.kmem_cache_free(&c, a).expect("setup free");
    drop(s1);
    let hotplug = spawn(&m, |m| {
        m.task(0, "hotplug@cpu0").cpu_down(1).expect("cpu_down(1)");
    });
    let tuner = spawn(&m, |m| {
        m.tuner(0, "tuner@cpu0")
            .slabinfo_write("scn 3 1 1")
            .expect("tune");
    });
    hotplug.join();
    tuner.join();
    final_audit(&m);
    m.task(0, "after@cpu0").cpu_up(1).expect("cpu_up(1)");
    final_audit(&m);
    done(&m, 1, 1)
}
