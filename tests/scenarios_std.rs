//! Every scenario on real std threads, both eras: the correct model passes. (Real threads
//! rarely hit a racy interleaving; loom and shuttle are what explore them.)

use slab_model::sync::StdPlatform;
use slab_model::Era;
use slab_verify::scenario::{run, Params, SCENARIOS};

#[test]
fn every_scenario_passes_on_std_threads() {
    for s in SCENARIOS {
        for era in [Era::A, Era::B] {
            for _ in 0..20 {
                let mut p = Params::small(era);
                p.ops = 3;
                run::<StdPlatform>(s.id, &p);
            }
        }
    }
}
