//! The shuttle suite (`cargo test --features shuttle`): a CI-sized campaign of every
//! scenario under random and PCT schedulers in both eras; every scenario's known-bad
//! variants found by shuttle; counterexample tokens that replay to the same failure.
#![cfg(feature = "shuttle")]

use slab_model::Era;
use slab_verify::drivers::shuttle::{
    campaign, parse_token, replay, replay_token, Budget, ReplayOutcome, SchedulerKind,
};
use slab_verify::scenarios::{Params, ScenarioId, SCENARIOS};
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
                if s.id == slab_verify::scenarios::ScenarioId::Mixed {
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
                let again = replay_token(&f.token).expect("valid token");
                assert_eq!(
                    again.outcome,
                    ReplayOutcome::Reproduced,
                    "replay of {}: {}",
                    f.token,
                    again.detail
                );
                assert_eq!(again.observed.as_ref(), Some(&f.failure));
                assert_eq!(again.replayed_steps, again.recorded_steps);
            }
        }
    }
}

#[test]
fn malformed_tokens_are_rejected_with_a_reason() {
    const FP: &str = "01234567-0123456789abcdef";
    for bad in [
        "".to_string(),
        "slab2:two-cpus-refill".to_string(),
        format!("slab1:two-cpus-refill:A:2:1:0:-:{FP}:9102"),
        format!("slab2:no-such-scenario:A:2:1:0:-:{FP}:9102"),
        format!("slab2:two-cpus-refill:C:2:1:0:-:{FP}:9102"),
        format!("slab2:two-cpus-refill:A:0:1:0:-:{FP}:9102"),
        format!("slab2:two-cpus-refill:A:2:1:0:no-such-mutation:{FP}:9102"),
        format!("slab2:two-cpus-refill:A:2:1:0:-:{FP}:zz"),
        "slab2:two-cpus-refill:A:2:1:0:-:nothex:9102".to_string(),
    ] {
        let bad = bad.as_str();
        assert!(parse_token(bad).is_err(), "accepted {bad:?}");
        assert!(replay(bad).is_err());
    }
}

/// The token of the first failure of `scenario` with `m` on (era A, random scheduler).
fn failing_token(id: ScenarioId, m: slab_model::Mutation) -> String {
    failing_token_at(id, m, 1)
}

/// [`failing_token`] with scheduler seed `seed`.
fn failing_token_at(id: ScenarioId, m: slab_model::Mutation, seed: u64) -> String {
    let r = campaign(
        id,
        &Params::small(Era::A).with_mutation(m),
        SchedulerKind::Random,
        seed,
        Budget::Iterations(5_000),
    );
    r.failure.expect("the mutation is found").token
}

/// Replaces field `k` of a token.
fn edit(token: &str, k: usize, value: &str) -> String {
    let mut f: Vec<&str> = token.splitn(9, ':').collect();
    f[k] = value;
    f.join(":")
}

#[test]
fn replay_has_three_outcomes() {
    // ctor-skipped shows only in the final audit: the fixed model follows every recorded
    // step, runs on to its end and passes.
    let t = failing_token(ScenarioId::GrowFailure, slab_model::Mutation::CtorSkipped);
    let r = replay_token(&t).expect("valid");
    assert_eq!(r.outcome, ReplayOutcome::Reproduced, "{}", r.detail);
    assert_eq!(
        r.observed.as_ref().map(|o| o.context.as_str()),
        Some("audit (after join)")
    );
    let fixed = replay_token(&edit(&t, 6, "-")).expect("valid");
    assert_eq!(fixed.outcome, ReplayOutcome::Passed, "{}", fixed.detail);
    assert_eq!(fixed.replayed_steps, fixed.recorded_steps);
    assert!(
        fixed.continued_steps > 0,
        "the fixed run went past the failure"
    );
    assert!(fixed.observed.is_none());
    assert_eq!(replay(&edit(&t, 6, "-")).expect("valid"), None);

    // stale-ac-after-grow: the fixed model takes other scheduling points (the refill
    // re-reads its own CPU's array after the window), so for most recorded failures the
    // schedule no longer fits. That is a divergence, never a reproduction; where the
    // fixed model happens to fit every recorded step, it passes. Which failure a seed
    // finds first moves with every scheduling point added anywhere (the final audit's
    // included), so the property is checked over several seeds' failures.
    let tokens: Vec<String> = (1..=8)
        .map(|seed| {
            failing_token_at(
                ScenarioId::MigrateAcrossWindow,
                slab_model::Mutation::StaleAcAfterGrow,
                seed,
            )
        })
        .collect();
    let mut diverged = None;
    for t in &tokens {
        let d = replay_token(&edit(t, 6, "-")).expect("valid");
        match d.outcome {
            ReplayOutcome::Diverged => {
                assert!(d.detail.contains("no longer fits"), "{}", d.detail);
                assert!(d.detail.len() < 300, "one line, no dumps: {}", d.detail);
                diverged.get_or_insert(t.clone());
            }
            ReplayOutcome::Passed => assert!(d.observed.is_none(), "{}", d.detail),
            ReplayOutcome::Reproduced => panic!("the fixed model reproduced {t}: {}", d.detail),
        }
    }
    let t = diverged.expect("one of 8 failures no longer fits the fixed model");

    // A token whose scenario field was edited is for another configuration.
    let e = replay_token(&edit(&t, 1, "two-cpus-refill")).expect("valid");
    assert_eq!(e.outcome, ReplayOutcome::Diverged, "{}", e.detail);
    assert!(e.detail.contains("edited token"), "{}", e.detail);

    // A different recorded failure (fingerprint) is not reproduced by this one.
    let f = replay_token(&edit(
        &t,
        7,
        &format!("{}-0000000000000000", &t.split(':').nth(7).unwrap()[..8]),
    ))
    .expect("valid");
    assert_eq!(f.outcome, ReplayOutcome::Diverged, "{}", f.detail);
    assert!(f.detail.contains("not as recorded"), "{}", f.detail);
}

#[test]
fn the_trace_shows_the_race() {
    // colour-next-unlocked fails either as the overlap check ("... while another
    // context holds it") or later as the colour assertion; take the first overlap.
    let f = (1..=40)
        .filter_map(|seed| {
            campaign(
                ScenarioId::TwoCpusRefill,
                &Params::small(Era::A).with_mutation(slab_model::Mutation::ColourNextUnlocked),
                SchedulerKind::Random,
                seed,
                Budget::Iterations(2_000),
            )
            .failure
        })
        .find(|f| f.message.contains("holds it"))
        .expect("some seed finds the unlocked colour_next access overlapping a locked section");
    let t = f.trace.expect("a structured trace");
    let last = t.rows.last().expect("rows");
    assert!(last.failing && last.class == "failure");
    assert_eq!(t.rows.iter().filter(|r| r.failing).count(), 1);
    assert_eq!(t.lanes[last.lane].name, t.context);
    // The message says another context holds list_lock: some other lane's last
    // list_lock event must be an acquire with no release after it.
    assert!(f.message.contains("holds"), "{}", f.message);
    let holder = (0..t.lanes.len()).filter(|&l| l != last.lane).any(|l| {
        t.rows
            .iter()
            .rev()
            .filter(|r| r.lane == l && r.lock.as_deref().is_some_and(|n| n.ends_with("list_lock")))
            .map(|r| r.class)
            .next()
            == Some("lock")
    });
    assert!(holder, "no lane shows list_lock held:\n{}", f.message);
    // One name per cache: the message's cache name is the trace's.
    let cache = t
        .rows
        .iter()
        .find_map(|r| r.cache.clone())
        .expect("a cache row");
    assert!(
        f.message.lines().next().unwrap().contains(&cache),
        "{}",
        f.message
    );
    // Nothing is cut.
    assert!(f.message.contains("(may sleep/migrate)") || !f.message.contains("irq window OPEN"));
}
