//! std stress: two real threads share one `Machine<StdPlatform>`, each a task on its own
//! CPU doing over a million mixed operations — alloc/free of its own objects, kmalloc /
//! kfree, frees of objects the *other* CPU allocated (handed over by a channel, so they
//! land in this CPU's array and the slabs see cross-CPU traffic), and interrupt-context
//! allocations and frees on its CPU. Deterministic per-thread PCG streams pick the
//! operations (the interleaving is the OS's). Afterwards: full audit, live counts equal
//! to what the threads hold, then everything is freed, shrunk and destroyed and the audit
//! passes again.

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use slab_model::sync::StdPlatform;
use slab_model::*;
use std::sync::mpsc;
use std::sync::Arc;

const OPS_PER_THREAD: usize = 1_000_000;
const MAX_HELD: usize = 512;

/// What a thread still holds at the end.
struct Held {
    objs: Vec<(usize, u64)>,
    kmallocs: Vec<u64>,
}

fn worker(
    m: Arc<Machine<StdPlatform>>,
    cpu: usize,
    caches: Vec<Arc<KmemCache<StdPlatform>>>,
    to_peer: mpsc::SyncSender<(usize, u64)>,
    from_peer: mpsc::Receiver<(usize, u64)>,
) -> Held {
    let mut rng = Pcg64Mcg::seed_from_u64(0x51ab_0000 + cpu as u64);
    let mut task = m.task(cpu, &format!("task{cpu}"));
    let mut irq = m.interrupt(cpu, &format!("irq{cpu}"));
    let mut objs: Vec<(usize, u64)> = Vec::new();
    let mut kmallocs: Vec<u64> = Vec::new();
    let mut ops = 0;
    while ops < OPS_PER_THREAD {
        // Objects the other CPU allocated: free them here.
        while let Ok((ci, o)) = from_peer.try_recv() {
            task.kmem_cache_free(&caches[ci], o)
                .expect("free of a peer's object");
            ops += 1;
        }
        let r = rng.next_u32();
        let ci = (r >> 8) as usize % caches.len();
        match r % 100 {
            0..=39 if objs.len() < MAX_HELD => {
                let o = task
                    .kmem_cache_alloc(&caches[ci], Gfp::KERNEL)
                    .unwrap()
                    .expect("no memory");
                objs.push((ci, o));
            }
            0..=59 if !objs.is_empty() => {
                let i = (r >> 16) as usize % objs.len();
                let (ci, o) = objs.swap_remove(i);
                task.kmem_cache_free(&caches[ci], o).unwrap();
            }
            60..=74 if kmallocs.len() < MAX_HELD => {
                let size = 8 + (r >> 12) as usize % 4089;
                kmallocs.push(task.kmalloc(size, Gfp::KERNEL).unwrap().expect("no memory"));
            }
            60..=89 if !kmallocs.is_empty() => {
                let i = (r >> 16) as usize % kmallocs.len();
                task.kfree(kmallocs.swap_remove(i)).unwrap();
            }
            90..=93 if !objs.is_empty() => {
                // Hand an object to the other CPU (bounded channel: never block).
                let i = (r >> 16) as usize % objs.len();
                let x = objs.swap_remove(i);
                if let Err(mpsc::TrySendError::Full(x)) = to_peer.try_send(x) {
                    objs.push(x);
                }
            }
            94..=96 => {
                let o = irq
                    .kmem_cache_alloc(&caches[ci], Gfp::ATOMIC)
                    .unwrap()
                    .expect("no memory");
                irq.kmem_cache_free(&caches[ci], o).unwrap();
            }
            97..=98 => {
                let o = irq
                    .kmalloc(64 + (r >> 12) as usize % 512, Gfp::ATOMIC)
                    .unwrap()
                    .expect("no memory");
                irq.kfree(o).unwrap();
            }
            _ => {
                if let Some(&(ci, o)) = objs.last() {
                    assert!(matches!(
                        irq.kmem_cache_free(&caches[ci], o + 1),
                        Err(SlabError::NotObjectStart { .. })
                    ));
                }
            }
        }
        ops += 1;
    }
    // Drain whatever the peer sent until it has hung up.
    drop(to_peer);
    for (ci, o) in from_peer.iter() {
        task.kmem_cache_free(&caches[ci], o).unwrap();
    }
    Held { objs, kmallocs }
}

#[test]
fn two_cpus_a_million_ops_each() {
    for era in [Era::A, Era::B] {
        let mut cfg = MachineConfig::new(ArchProfile::tiny(), era);
        cfg.audit_every_op = false;
        cfg.trace_capacity = 0;
        let m = Arc::new(Machine::<StdPlatform>::new(cfg).expect("boot"));
        let caches: Vec<_> = [(64, false), (1000, true), (2048, false)]
            .iter()
            .map(|&(size, ctor)| {
                m.kmem_cache_create(CreateArgs {
                    name: format!("stress-{size}"),
                    size,
                    align: 0,
                    flags: SlabFlags::default(),
                    ctor,
                })
                .unwrap()
            })
            .collect();
        // Small arrays so refill, flusharray and the shared array are on the hot path.
        {
            let mut t = m.tuner(0, "tuner");
            t.do_tune_cpucache_checked(&caches[1], 8, 3, 2).unwrap();
            t.do_tune_cpucache_checked(&caches[2], 4, 2, 1).unwrap();
        }
        let (tx0, rx1) = mpsc::sync_channel(64);
        let (tx1, rx0) = mpsc::sync_channel(64);
        let start = std::time::Instant::now();
        let h0 = {
            let (m, c) = (m.clone(), caches.clone());
            std::thread::spawn(move || worker(m, 0, c, tx0, rx0))
        };
        let h1 = {
            let (m, c) = (m.clone(), caches.clone());
            std::thread::spawn(move || worker(m, 1, c, tx1, rx1))
        };
        let held = [h0.join().unwrap(), h1.join().unwrap()];
        eprintln!(
            "era {era}: 2 x {OPS_PER_THREAD} ops in {:?}",
            start.elapsed()
        );
        m.audit().assert_ok();
        for (ci, c) in caches.iter().enumerate() {
            let expect: usize = held
                .iter()
                .map(|h| h.objs.iter().filter(|o| o.0 == ci).count())
                .sum();
            assert_eq!(m.live_objects(c), expect, "live objects of {}", c.name);
        }
        let kmalloc_live: usize = m
            .kmalloc_slots()
            .iter()
            .flatten()
            .flat_map(|s| [Some(&s.cache), s.dma.as_ref()])
            .flatten()
            .map(|c| m.live_objects(c))
            .sum();
        assert!(kmalloc_live >= held.iter().map(|h| h.kmallocs.len()).sum::<usize>());
        let mut t = m.task(0, "teardown");
        for h in &held {
            for &(ci, o) in &h.objs {
                t.kmem_cache_free(&caches[ci], o).unwrap();
            }
            for &o in &h.kmallocs {
                t.kfree(o).unwrap();
            }
        }
        for c in &caches {
            assert!(!t.kmem_cache_shrink(c).unwrap());
            t.kmem_cache_destroy(c).unwrap();
        }
        // With the user caches gone their off-slab descriptors are gone too. Shrinking
        // the general caches largest first frees the descriptors of their own off-slab
        // slabs (which come from smaller classes) before those classes are shrunk, so
        // every general cache must end empty.
        for s in m.kmalloc_slots().iter().flatten().rev() {
            for c in [Some(&s.cache), s.dma.as_ref()].into_iter().flatten() {
                assert!(
                    !t.kmem_cache_shrink(c).unwrap(),
                    "{} still has slabs in use",
                    c.name
                );
                assert_eq!(
                    m.live_objects(c),
                    0,
                    "live objects of {} after teardown",
                    c.name
                );
            }
        }
        m.audit().assert_ok();
    }
}
