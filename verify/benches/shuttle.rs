//! shuttle throughput: executions per second of the standard 2-CPU refill scenario and
//! of the mixed scenario at 2, 4 and 8 CPUs, random and PCT schedulers (release build). The issue's
//! targets on the project machine: ≥ 20k exec/s (2 CPUs) and ≥ 5k exec/s (4 CPUs).
//! Run: `cargo bench -p slab-verify --bench shuttle`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use slab_model::Era;
use slab_verify::drivers::shuttle::{campaign, Budget, SchedulerKind};
use slab_verify::scenarios::{Params, ScenarioId};

const EXECUTIONS: usize = 2_000;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("shuttle");
    g.throughput(Throughput::Elements(EXECUTIONS as u64));
    g.sample_size(10);
    for (name, id, cpus, ops) in [
        ("two-cpus-refill/2cpu", ScenarioId::TwoCpusRefill, 2, 1),
        ("mixed/2cpu", ScenarioId::Mixed, 2, 4),
        ("mixed/4cpu", ScenarioId::Mixed, 4, 4),
        ("mixed/8cpu", ScenarioId::Mixed, 8, 4),
    ] {
        for kind in [SchedulerKind::Random, SchedulerKind::Pct(3)] {
            let mut p = Params::small(Era::A);
            // The fixed model: era A's faithful `mixed` finds 2.6.24's stale node.
            p.mutations = slab_model::MutationSet::shipped_fixes(Era::A);
            p.cpus = cpus;
            p.ops = ops;
            p.trace_capacity = 256;
            g.bench_function(format!("{name}/{kind}"), |b| {
                b.iter(|| {
                    let r = campaign(id, &p, kind, 1, Budget::Iterations(EXECUTIONS));
                    assert!(r.failure.is_none());
                    r.iterations
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
