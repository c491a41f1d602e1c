#![cfg(feature = "loom")]
use slab_model::Era;
use slab_verify::loom_driver::explore;
use slab_verify::scenario::{Params, SCENARIOS};

#[test]
fn probe() {
    for ops in [1, 2] {
        for s in SCENARIOS.iter().filter(|s| s.loom) {
            let mut p = Params::small(Era::A);
            p.ops = ops;
            let r = explore(s.id, &p);
            println!("ops {ops} {r}");
            if let Some(f) = &r.failure {
                println!("   {}", f.lines().next().unwrap_or(""));
            }
        }
    }
}
