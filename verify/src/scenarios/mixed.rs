//! `mixed`, hazard 0 (docs/scenarios.md: no single hazard): several hazards at once:
//! `kmalloc` / `kfree` across CPUs; the shuttle-sized mix.
//!
//! The workload (`ScenarioInfo::summary`): two nodes: a task (moved to the other node in
//! its first window), an interrupt handler and a reaper on every CPU, node-directed
//! allocations, a tuner, and the last CPU going down and up; several caches incl. kmalloc
//! with off-slab descriptors.
//!
//! Also hazard 13: a task moving to a CPU of another node inside the window (2.6.24 keeps
//! the node it read before), and what its array then hands to `free_block`.
//!
//! * Kernel functions (`ScenarioInfo::drives`), in both modelled eras (A: mm/slab.c
//!   v2.6.24, B: v4.4): `kmem_cache_alloc`, `kmem_cache_alloc_node`, `kmem_cache_free`,
//!   `kmalloc`, `kfree`, `cache_reap`, `do_tune_cpucache`, `cpu_down`, `cpu_up`.
//! * Catches (`ScenarioInfo::catches`, docs/mutations.md): none.
//! * Shipped bug (`ScenarioInfo::shipped`): `fix-refill-reread-node` (era A: the bug
//!   shipped in 2.6.24; the faithful model of that era must fail with its symptom and pass
//!   with the switch on).
//! * Kernel history of hazard 13: B.34 (shipped in era A).
//! * Under loom: no (too many threads; shuttle only).

use super::{done, final_audit, machine_nodes, spawn, tiny_cache, Outcome, Params};
use slab_model::sync::{Join, Platform};
use slab_model::{FaultInjection, Gfp, KmallocSetup};

pub(super) fn mixed<P: Platform>(p: &Params) -> Outcome {
    // Two nodes from two CPUs on (CPUs split in halves), so node-directed allocations,
    // alien frees and cross-node migration happen; the last CPU goes down and comes back.
    let nodes = if p.cpus >= 2 { 2 } else { 1 };
    let m = machine_nodes::<P>(
        p,
        nodes,
        KmallocSetup::UpTo(4096),
        FaultInjection::default(),
    );
    let caches = [
        tiny_cache(&m, "small", 384, (4, 2, 2)),
        tiny_cache(&m, "big", 1300, (2, 1, 1)),
    ];
    let mut hs = Vec::new();
    for cpu in 0..p.cpus {
        for kind in 0..2 {
            let caches = caches.clone();
            let ops = p.ops;
            let seed = p.seed ^ ((cpu as u64) << 8 | kind as u64);
            let cpus = p.cpus;
            hs.push(spawn(&m, move |m| {
                let mut ctx = if kind == 0 {
                    let mut t = m.task(cpu, &format!("task@cpu{cpu}")).running_since_boot();
                    // The scheduler moves the task to a CPU of the other node in its
                    // first window.
                    if cpus >= 2 {
                        t.plan_migrations([(cpu + cpus / 2) % cpus]);
                    }
                    t
                } else {
                    m.interrupt(cpu, &format!("irq@cpu{cpu}"))
                        .running_since_boot()
                };
                let gfp = if kind == 0 { Gfp::KERNEL } else { Gfp::ATOMIC };
                let mut held: Vec<(usize, u64)> = Vec::new();
                let mut x = seed | 1;
                for _ in 0..ops {
                    // The workload shape comes from the seed; the interleaving from the
                    // scheduler.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match x % 5 {
                        0 | 1 => {
                            let ci = (x >> 8) as usize % 2;
                            if let Some(o) = ctx.kmem_cache_alloc(&caches[ci], gfp).expect("valid")
                            {
                                held.push((ci, o));
                            }
                        }
                        4 => {
                            let ci = (x >> 8) as usize % 2;
                            let node = (x >> 24) as usize % nodes;
                            if let Some(o) = ctx
                                .kmem_cache_alloc_node(&caches[ci], gfp, node)
                                .expect("valid")
                            {
                                held.push((ci, o));
                            }
                        }
                        2 => {
                            if let Some(o) = ctx
                                .kmalloc(((x >> 16) % 2048) as usize + 1, gfp)
                                .expect("valid")
                            {
                                held.push((usize::MAX, o));
                            }
                        }
                        _ => {
                            if let Some((ci, o)) = held.pop() {
                                if ci == usize::MAX {
                                    ctx.kfree(o).expect("kfree");
                                } else {
                                    ctx.kmem_cache_free(&caches[ci], o).expect("free");
                                }
                            }
                        }
                    }
                }
                for (ci, o) in held {
                    if ci == usize::MAX {
                        ctx.kfree(o).expect("kfree");
                    } else {
                        ctx.kmem_cache_free(&caches[ci], o).expect("free");
                    }
                }
            }));
        }
        let r = spawn(&m, move |m| {
            let mut r = m.reaper(cpu, &format!("reap@cpu{cpu}"));
            m.advance_jiffies(slab_model::machine::REAPTIMEOUT_NODE);
            r.cache_reap();
        });
        hs.push(r);
    }
    let tuner = spawn(&m, |m| {
        let mut t = m.tuner(0, "tuner").running_since_boot();
        t.slabinfo_write("small 6 3 1").expect("tune");
    });
    // The hot-plug starts once the tune is done: their race (a bug that shipped in 4.4)
    // is hotplug-vs-tune's; here it would make every era-B campaign a finding.
    tuner.join();
    let last = p.cpus - 1;
    let hotplug = (p.cpus >= 2).then(|| {
        spawn(&m, move |m| {
            let mut h = m.task(0, "hotplug@cpu0");
            h.cpu_down(last).expect("cpu_down");
            h.cpu_up(last).expect("cpu_up");
        })
    });
    for h in hs {
        h.join();
    }
    if let Some(h) = hotplug {
        h.join();
    }
    final_audit(&m);
    for c in &caches {
        assert_eq!(m.live_objects(c), 0);
    }
    done(&m, 0, 0)
}
