//! Per-input cost of the fuzz target bodies (`slab_verify::drivers::fuzz`) outside
//! libFuzzer: what is left of a target's exec/s once the fuzzer's own bookkeeping is
//! taken away. Inputs: every file of `$FUZZ_BENCH_CORPUS/<target>/` when that variable
//! names a directory (e.g. a corpus a `cargo fuzz run` grew), otherwise 512 inputs of
//! 0..=512 bytes from a seeded PCG (deterministic). Throughput is inputs per second.
//! Run: `cargo bench -p slab-verify --bench fuzz_targets [-- ops]`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use slab_verify::drivers::fuzz::{self, MutationKnob};
use std::path::PathBuf;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    if let Some(dir) = std::env::var_os("FUZZ_BENCH_CORPUS") {
        let dir = PathBuf::from(dir).join(target);
        if !dir.is_dir() {
            return Vec::new();
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        return files
            .iter()
            .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .collect();
    }
    let mut rng = Pcg64Mcg::seed_from_u64(0xbe0c_0000 ^ target.len() as u64);
    (0..512)
        .map(|_| {
            let mut v = vec![0u8; rng.next_u32() as usize % 513];
            rng.fill_bytes(&mut v);
            v
        })
        .collect()
}

/// A target body with an explicit mutation knob.
type Body = fn(&[u8], MutationKnob);

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fuzz_target");
    g.sample_size(10);
    let targets: [(&str, Body); 4] = [
        ("ops", fuzz::ops_with),
        ("geometry", fuzz::geometry_with),
        ("kmalloc", fuzz::kmalloc_with),
        ("schedule", fuzz::schedule_with),
    ];
    for (name, f) in targets {
        let data = inputs(name);
        if data.is_empty() {
            continue;
        }
        g.throughput(Throughput::Elements(data.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                for d in &data {
                    f(d, MutationKnob::Off);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
