//! `hotplug-vs-create`, hazard 14 (docs/scenarios.md): CPU hot-plug (`cpu_down` / `cpu_up`:
//! `take_cpu_down`, `cpuup_canceled`, `cpuup_prepare`) racing the reaper, the tuner, cache
//! creation and allocations on the dying CPU and others (docs/hotplug.md).
//!
//! The workload (`ScenarioInfo::summary`): CPU0 takes CPU1 down while a task on CPU1
//! creates a cache (era B: get_online_cpus, then slab_mutex; the hot-plug holds cpu_hotplug
//! and takes slab_mutex at CPU_DEAD); then the CPU comes back and uses the new cache.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cpu_down`, `cpu_up`, `kmem_cache_create`, `cpuup_canceled`,
//!   `cpuup_prepare`, `kmem_cache_alloc`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `create-lock-order`.
//! * Kernel history of hazard 14 (docs/kernel-history.md): B.4, B.6, B.35 (shipped in era
//!   B).
//! * Under loom: yes.
//!
//! `create-lock-order` acts in era B only (`Mutation::acts_in`): 4.4 takes
//! `get_online_cpus` before `slab_mutex`.

use super::{done, final_audit, machine_nodes, must, spawn, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{CreateArgs, FaultInjection, Gfp, KmallocSetup, SlabFlags};

pub(super) fn hotplug_vs_create<P: Platform>(p: &Params) -> Outcome {
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    let hotplug = spawn(&m, |m| {
        m.task(0, "hotplug@cpu0").cpu_down(1).expect("cpu_down(1)");
    });
    let creator = spawn(&m, |m| {
        m.kmem_cache_create(CreateArgs {
            name: "new".into(),
            size: 1300,
            align: 0,
            flags: SlabFlags::default(),
            ctor: false,
        })
        .expect("kmem_cache_create")
    });
    hotplug.join();
    let c = creator.join();
    final_audit(&m);
    m.task(0, "after@cpu0").cpu_up(1).expect("cpu_up(1)");
    // The cache created around the hot-plug works on the CPU that came back.
    let mut t = m.task(1, "after@cpu1");
    let o = must(
        t.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "after cpu_up",
    );
    assert_eq!(m.page_node_of(o), Some(1));
    t.kmem_cache_free(&c, o).expect("free");
    final_audit(&m);
    done(&m, 1, 1)
}
