//! `cpu-hotplug`, hazard 14 (docs/scenarios.md): CPU hot-plug (`cpu_down` / `cpu_up`:
//! `take_cpu_down`, `cpuup_canceled`, `cpuup_prepare`) racing the reaper, the tuner, cache
//! creation and allocations on the dying CPU and others (docs/hotplug.md).
//!
//! The workload (`ScenarioInfo::summary`): two nodes: CPU0 takes CPU1 (node 1's only CPU)
//! down while a task on CPU1 frees and allocates and (shuttle only: a loom try_lock bug)
//! CPU1's reaper runs; then CPU0 allocates from the CPU-less node 1 (node-directed, and
//! through a task's MPOL_PREFERRED policy) and brings CPU1 back.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `cpu_down`, `take_cpu_down`, `cpuup_canceled`, `cpuup_prepare`,
//!   `cache_reap`, `kmem_cache_free`, `kmem_cache_alloc`, `kmem_cache_alloc_node`,
//!   `alternate_node_alloc`, `free_block`, `drain_freelist`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): `hotplug-frees-node`,
//!   `hotplug-skips-dead-array`, `hotplug-keeps-free-limit`, `take-cpu-down-unstopped`.
//! * Kernel history of hazard 14 (docs/kernel-history.md): B.4, B.6, B.35 (shipped in era
//!   B).
//! * Under loom: yes.
//!
//! The reaper on CPU1 runs under shuttle only: loom 0.7.2 blocks a thread inside `try_lock`
//! when another thread takes the lock (tokio-rs/loom issue #376), see docs/hotplug.md.

use super::{done, final_audit, machine_nodes, must, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn cpu_hotplug<P: Platform>(p: &Params) -> Outcome {
    // CPU0 is on node 0, CPU1 on node 1 (its only CPU).
    let m = machine_nodes::<P>(p, 2, KmallocSetup::None, FaultInjection::default());
    // limit 2, batch 1, shared 1: node 1 has a shared array to detach.
    let c = tiny_cache(&m, "scn", 1300, (2, 1, 1));
    let mut s1 = m.task(1, "setup@cpu1");
    let [a, b, spare] = std::array::from_fn(|_| {
        must(
            s1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
            "setup",
        )
    });
    // CPU1's array keeps an object: the dead CPU has something to give back.
    s1.kmem_cache_free(&c, spare).expect("setup free");
    drop(s1);
    // A node-1 object in node 0's alien array.
    m.task(0, "setup@cpu0")
        .kmem_cache_free(&c, b)
        .expect("setup free");
    let ops = p.ops;
    let hotplug = spawn(&m, |m| {
        m.task(0, "hotplug@cpu0").cpu_down(1).expect("cpu_down(1)");
    });
    let c1 = c.clone();
    let task = spawn(&m, move |m| {
        // Moved to CPU0 if CPU1 goes down first; a node-1 object then becomes a remote free.
        let mut t = m.task(1, "task@cpu1").running_since_boot();
        t.kmem_cache_free(&c1, a).expect("free");
        for _ in 1..ops {
            let o = must(
                t.kmem_cache_alloc(&c1, Gfp::KERNEL).expect("valid"),
                "task allocation",
            );
            t.kmem_cache_free(&c1, o).expect("free");
        }
    });
    // CPU1's reaper races the cancel of its work. Not under loom: loom 0.7.2 blocks a
    // thread that is inside `try_lock` when another thread takes the lock (tokio-rs/loom
    // issue #376, fix pending in PR #383), and here the hot-plug holds the chain mutex
    // (era A) while it waits for the reaper's `mutex_trylock` to return — a deadlock
    // only loom sees. shuttle explores the race.
    let reaper = (!P::TRACKS_CAUSALITY).then(|| {
        spawn(&m, |m| {
            let mut r = m.reaper(1, "reap@cpu1");
            m.advance_jiffies(slab_model::machine::REAPTIMEOUT_NODE);
            r.cache_reap();
        })
    });
    hotplug.join();
    task.join();
    if let Some(r) = reaper {
        r.join();
    }
    final_audit(&m);
    // Node 1 has no CPU but keeps its node struct: allocate from it remotely.
    let mut t = m.task(0, "after@cpu0");
    let o = must(
        t.kmem_cache_alloc_node(&c, Gfp::KERNEL, 1).expect("valid"),
        "kmem_cache_alloc_node(node 1) with node 1's CPUs down",
    );
    assert_eq!(m.page_node_of(o), Some(1), "the object comes from node 1");
    t.kmem_cache_free(&c, o).expect("free");
    // A task whose memory policy prefers node 1 gets there through alternate_node_alloc.
    let mut pol = m.task(0, "policy@cpu0");
    pol.set_mempolicy(Some(slab_model::mempolicy::MemPolicy::Preferred(1)))
        .expect("node 1 exists");
    let o = must(
        pol.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "kmem_cache_alloc with MPOL_PREFERRED(1)",
    );
    assert_eq!(m.page_node_of(o), Some(1), "the policy's node");
    pol.kmem_cache_free(&c, o).expect("free");
    t.cpu_up(1).expect("cpu_up(1)");
    let mut t1 = m.task(1, "after@cpu1");
    let o = must(
        t1.kmem_cache_alloc(&c, Gfp::KERNEL).expect("valid"),
        "after cpu_up",
    );
    t1.kmem_cache_free(&c, o).expect("free");
    final_audit(&m);
    assert_eq!(m.live_objects(&c), 0);
    done(&m, 3 + ops, 3 + ops)
}
