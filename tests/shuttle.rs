//! The shuttle suite (`cargo test --features shuttle`): a CI-sized campaign of every
//! scenario under random and PCT schedulers in both eras; every scenario's known-bad
//! variants found by shuttle; counterexample tokens that replay to the same failure.
#![cfg(feature = "shuttle")]

use slab_model::Era;
use slab_verify::scenario::{Params, SCENARIOS};
use slab_verify::shuttle_driver::{campaign, parse_token, replay, Budget, SchedulerKind};
use std::io::Write;

/// Executions per campaign in `cargo test`: small enough for CI, large enough that the
/// correct model's interleavings are sampled broadly (the main job runs 120,000).
const CI_ITERATIONS: usize = 2_000;

#[test]
fn every_scenario_passes_a_ci_sized_campaign() {
    for s in SCENARIOS {
        for era in [Era::A, Era::B] {
            for kind in [SchedulerKind::Random, SchedulerKind::Pct(3)] {
                let mut p = Params::small(era);
                p.ops = 3;
                // A scenario exposing a bug that shipped in this era runs with the upstream
                // fix here (a failure is a regression), and once more below without it.
                let shipped = s.shipped_in(era);
                if let Some(bug) = shipped {
                    p.mutations = p.mutations.with(bug.switch);
                }
                if s.id == slab_verify::scenario::ScenarioId::Mixed {
                    p.cpus = 4;
                }
                let r = campaign(
                    s.id,
                    &p,
                    kind,
                    7,
                    Budget::Iterations(CI_ITERATIONS / if p.cpus > 2 { 4 } else { 1 }),
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "shuttle {:<30} era {} {:<6} {:>6} executions {:>8.0}/s {}",
                    s.name,
                    era,
                    kind,
                    r.iterations,
                    r.rate(),
                    if r.failure.is_some() { "FAILED" } else { "ok" }
                );
                if let Some(f) = r.failure {
                    panic!("shuttle found a failing interleaving of the faithful model:\n{}\ntoken: {}", f.message, f.token);
                }
                if let Some(bug) = shipped {
                    // The same scenario without the fix: the shipped bug must be found.
                    let mut q = p.clone();
                    q.mutations = slab_model::MutationSet::NONE;
                    let r = campaign(s.id, &q, kind, 7, Budget::Iterations(20_000));
                    let f = r.failure.unwrap_or_else(|| {
                        panic!(
                            "shuttle ({kind}) did not find the bug that shipped in {} in {} era {era}",
                            bug.shipped_in, s.name
                        )
                    });
                    let first = f.message.lines().next().unwrap_or("");
                    assert!(first.contains(bug.symptom), "{first}");
                    let _ = writeln!(
                        std::io::stderr(),
                        "shuttle {:<30} era {} {:<6} expected finding after {} executions (shipped in {}, fixed in {}): {first}",
                        s.name, era, kind, r.iterations, bug.shipped_in, bug.fixed_in
                    );
                }
            }
        }
    }
}

#[test]
fn shuttle_finds_every_scenarios_known_bad_variants_and_replays_them() {
    for s in SCENARIOS {
        for &m in s.catches {
            for era in [Era::A, Era::B].into_iter().filter(|&e| m.acts_in(e)) {
                let mut p = Params::small(era).with_mutation(m);
                p.mutations = p
                    .mutations
                    .union(slab_model::MutationSet::shipped_fixes(era));
                let r = campaign(
                    s.id,
                    &p,
                    SchedulerKind::Pct(3),
                    1,
                    Budget::Iterations(20_000),
                );
                let f = r.failure.unwrap_or_else(|| {
                    panic!(
                        "shuttle (PCT) did not find {m} in {} era {era} within 20,000 executions",
                        s.name
                    )
                });
                let _ = writeln!(
                    std::io::stderr(),
                    "shuttle {:<30} era {era} {m:<28} found after {:>5} executions",
                    s.name,
                    r.iterations
                );
                // The token names the scenario and mutation and replays the same failure.
                let (id, params, _) = parse_token(&f.token).expect("token parses");
                assert_eq!(id, s.id);
                assert!(params.mutations.has(m));
                let again = replay(&f.token)
                    .expect("valid token")
                    .expect("the replay fails again");
                assert_eq!(
                    again.lines().next(),
                    f.message.lines().next(),
                    "replay of {} reproduced a different failure",
                    f.token
                );
            }
        }
    }
}

#[test]
fn malformed_tokens_are_rejected_with_a_reason() {
    for bad in [
        "",
        "slab1:two-cpus-refill",
        "slab0:two-cpus-refill:A:2:1:0:-:9102",
        "slab1:no-such-scenario:A:2:1:0:-:9102",
        "slab1:two-cpus-refill:C:2:1:0:-:9102",
        "slab1:two-cpus-refill:A:0:1:0:-:9102",
        "slab1:two-cpus-refill:A:2:1:0:no-such-mutation:9102",
        "slab1:two-cpus-refill:A:2:1:0:-:zz",
    ] {
        assert!(parse_token(bad).is_err(), "accepted {bad:?}");
        assert!(replay(bad).is_err());
    }
}
