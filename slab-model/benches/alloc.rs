//! Criterion benches of the model's hot paths, each next to the system allocator doing the
//! same loop with the same sizes (`std::alloc::alloc` / `dealloc`), so the report reads as
//! "the model costs N× malloc". Machine: x86_64 profile, audit and trace off.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use slab_model::sync::StdPlatform;
use slab_model::*;
use std::alloc::{alloc, dealloc, Layout};
use std::hint::black_box;

fn machine() -> Machine<StdPlatform> {
    machine_on(ArchProfile::tiny())
}

/// The same machine with `CONFIG_DEBUG_SLAB`: red zones, store-user and poisoning forced
/// on the bench caches (FORCED_DEBUG), the debug checks on every allocation and free, and
/// STATS — the cost of debug mode next to the plain model.
fn debug_machine() -> Machine<StdPlatform> {
    machine_on(ArchProfile {
        debug: true,
        ..ArchProfile::tiny()
    })
}

fn machine_on(profile: ArchProfile) -> Machine<StdPlatform> {
    let mut cfg = MachineConfig::new(profile, Era::B);
    cfg.audit_every_op = false;
    cfg.trace_capacity = 0;
    Machine::new(cfg).expect("boot")
}

fn args(size: usize) -> CreateArgs {
    CreateArgs {
        name: format!("bench-{size}"),
        size,
        align: 0,
        flags: SlabFlags::default(),
        ctor: false,
    }
}

/// One `kmem_cache_alloc` + `kmem_cache_free` on the per-CPU fast path.
fn fast_path(c: &mut Criterion) {
    let m = machine();
    let cache = m.kmem_cache_create(args(256)).unwrap();
    let mut t = m.task(0, "bench");
    let mut g = c.benchmark_group("fast_path_pair_256");
    g.bench_function("model", |b| {
        b.iter(|| {
            let o = t.kmem_cache_alloc(&cache, Gfp::KERNEL).unwrap().unwrap();
            t.kmem_cache_free(&cache, black_box(o)).unwrap();
        })
    });
    let dm = debug_machine();
    let dcache = dm.kmem_cache_create(args(256)).unwrap();
    let mut dt = dm.task(0, "bench");
    g.bench_function("model-debug", |b| {
        b.iter(|| {
            let o = dt.kmem_cache_alloc(&dcache, Gfp::KERNEL).unwrap().unwrap();
            dt.kmem_cache_free(&dcache, black_box(o)).unwrap();
        })
    });
    let layout = Layout::from_size_align(256, 8).unwrap();
    g.bench_function("system", |b| {
        b.iter(|| unsafe {
            let p = alloc(layout);
            dealloc(black_box(p), layout);
        })
    });
    g.finish();
}

/// Alloc 200 then free 200 with `limit 4, batchcount 2`: every few operations go through
/// `cache_alloc_refill` / `cache_flusharray` / the shared array / `free_block`.
fn refill_flush(c: &mut Criterion) {
    let m = machine();
    let cache = m.kmem_cache_create(args(512)).unwrap();
    m.tuner(0, "tuner")
        .do_tune_cpucache_checked(&cache, 4, 2, 1)
        .unwrap();
    let mut t = m.task(0, "bench");
    let mut objs = Vec::with_capacity(200);
    let mut g = c.benchmark_group("refill_flush_200_512");
    g.bench_function("model", |b| {
        b.iter(|| {
            for _ in 0..200 {
                objs.push(t.kmem_cache_alloc(&cache, Gfp::KERNEL).unwrap().unwrap());
            }
            for o in objs.drain(..) {
                t.kmem_cache_free(&cache, o).unwrap();
            }
        })
    });
    let dm = debug_machine();
    let dcache = dm.kmem_cache_create(args(512)).unwrap();
    dm.tuner(0, "tuner")
        .do_tune_cpucache_checked(&dcache, 4, 2, 1)
        .unwrap();
    let mut dt = dm.task(0, "bench");
    g.bench_function("model-debug", |b| {
        b.iter(|| {
            for _ in 0..200 {
                objs.push(dt.kmem_cache_alloc(&dcache, Gfp::KERNEL).unwrap().unwrap());
            }
            for o in objs.drain(..) {
                dt.kmem_cache_free(&dcache, o).unwrap();
            }
        })
    });
    let layout = Layout::from_size_align(512, 8).unwrap();
    let mut ptrs = Vec::with_capacity(200);
    g.bench_function("system", |b| {
        b.iter(|| unsafe {
            for _ in 0..200 {
                ptrs.push(alloc(layout));
            }
            for p in ptrs.drain(..) {
                dealloc(p, layout);
            }
        })
    });
    g.finish();
}

/// kmalloc / kfree of a fixed mix of sizes from 8 to 4096, 64 live at a time.
fn kmalloc_mix(c: &mut Criterion) {
    let sizes: Vec<usize> = (0..64)
        .map(|i| 8usize << (i % 10))
        .map(|s| s.min(4096) - (s / 3) % 7)
        .collect();
    let m = machine();
    let mut t = m.task(0, "bench");
    let mut objs = Vec::with_capacity(sizes.len());
    let mut g = c.benchmark_group("kmalloc_mix_8_4096");
    g.bench_with_input(
        BenchmarkId::new("model", sizes.len()),
        &sizes,
        |b, sizes| {
            b.iter(|| {
                for &s in sizes {
                    objs.push(t.kmalloc(s, Gfp::KERNEL).unwrap().unwrap());
                }
                for o in objs.drain(..) {
                    t.kfree(o).unwrap();
                }
            })
        },
    );
    let mut ptrs = Vec::with_capacity(sizes.len());
    g.bench_with_input(
        BenchmarkId::new("system", sizes.len()),
        &sizes,
        |b, sizes| {
            b.iter(|| unsafe {
                for &s in sizes {
                    let l = Layout::from_size_align(s, 8).unwrap();
                    ptrs.push((alloc(l), l));
                }
                for (p, l) in ptrs.drain(..) {
                    dealloc(p, l);
                }
            })
        },
    );
    g.finish();
}

criterion_group!(benches, fast_path, refill_flush, kmalloc_mix);
criterion_main!(benches);
