//! Every scenario on real std threads, both eras: the correct model passes (with the fix
//! switches of the bugs that shipped in the era; loom and shuttle check those bugs). (Real threads
//! rarely hit a racy interleaving; loom and shuttle are what explore them.) Also the
//! coverage claim: together the scenarios run every kernel function of the alloc and free
//! paths — recorded by the model itself as each function is entered.

use slab_model::sync::StdPlatform;
use slab_model::trace::KFn;
use slab_model::Era;
use slab_verify::scenarios::{run, Params, SCENARIOS};
use std::collections::BTreeSet;

#[test]
fn every_scenario_passes_on_std_threads() {
    for s in SCENARIOS {
        for era in [Era::A, Era::B] {
            for _ in 0..20 {
                let mut p = Params::small(era);
                p.ops = 3;
                p.mutations = slab_model::MutationSet::shipped_fixes(era);
                run::<StdPlatform>(s.id, &p);
            }
        }
    }
}

/// The same on a CONFIG_DEBUG_SLAB profile: red zones, poison and the last user on every
/// forced cache, every debug check at its kernel point; the final audit of each run also
/// fails if any check printed a report (no scenario's caller misbehaves).
#[test]
fn every_scenario_passes_on_a_debug_profile_with_no_report() {
    for s in SCENARIOS {
        for era in [Era::A, Era::B] {
            for _ in 0..5 {
                let mut p = Params::small(era);
                p.ops = 3;
                p.debug = true;
                p.mutations = slab_model::MutationSet::shipped_fixes(era);
                run::<StdPlatform>(s.id, &p);
            }
        }
    }
}

#[test]
fn loom_scenarios_drive_every_kernel_function_of_the_alloc_and_free_paths() {
    let mut covered = BTreeSet::new();
    for s in SCENARIOS.iter().filter(|s| s.loom) {
        for era in [Era::A, Era::B] {
            let mut p = Params::small(era);
            p.ops = 2;
            p.mutations = slab_model::MutationSet::shipped_fixes(era);
            covered.extend(run::<StdPlatform>(s.id, &p).covered);
        }
    }
    let missing: Vec<_> = KFn::ALL
        .iter()
        .filter(|f| !covered.contains(*f))
        .map(|f| f.name())
        .collect();
    assert!(
        missing.is_empty(),
        "kernel functions no loom scenario runs: {missing:?}"
    );
}
