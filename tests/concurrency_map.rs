//! Keeps the concurrency-point map of docs/concurrency.md honest: every model site the
//! map names exists, every site of the model is in the map, and (with `--features loom`)
//! every site is reached by some execution loom explores of some loom scenario.

use slab_model::site::Site;
#[cfg(feature = "loom")]
use slab_model::Era;
#[cfg(feature = "loom")]
use slab_verify::scenarios::{Params, SCENARIOS};
use std::collections::BTreeSet;

fn map_section() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/concurrency.md"))
        .expect("docs/concurrency.md");
    let start = doc
        .find("## The concurrency-point map")
        .expect("a concurrency-point map section");
    let rest = &doc[start + 1..];
    let end = rest.find("\n## ").map_or(rest.len(), |e| e);
    rest[..end].to_string()
}

/// The site names in the map's "model site" column (the fourth), in backticks.
fn mapped_sites() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in map_section().lines().filter(|l| l.starts_with('|')) {
        let cols: Vec<&str> = line.split('|').collect();
        let Some(col) = cols.get(4) else { continue };
        for (i, part) in col.split('`').enumerate() {
            if i % 2 == 1 {
                out.insert(part.to_string());
            }
        }
    }
    out
}

#[test]
fn every_site_in_the_map_exists_and_every_site_is_mapped() {
    let mapped = mapped_sites();
    assert!(!mapped.is_empty(), "the map names no model site");
    let names: BTreeSet<String> = Site::ALL.iter().map(|s| s.name().to_string()).collect();
    let unknown: Vec<&String> = mapped.difference(&names).collect();
    assert!(
        unknown.is_empty(),
        "the map names sites the model does not have: {unknown:?}"
    );
    let missing: Vec<&String> = names.difference(&mapped).collect();
    assert!(
        missing.is_empty(),
        "model sites missing from the map: {missing:?}"
    );
}

/// The sites each loom scenario reaches: the union over every execution loom explores
/// (on the fixed model of each era).
#[cfg(feature = "loom")]
fn reached_sites() -> BTreeSet<Site> {
    let mut reached = BTreeSet::new();
    for s in SCENARIOS.iter().filter(|s| s.loom) {
        for era in [Era::A, Era::B] {
            let mut p = Params::small(era);
            p.ops = 2;
            // The fixed model, so that a shipped bug does not end the exploration early.
            p.mutations = slab_model::MutationSet::shipped_fixes(era);
            let r = slab_verify::drivers::loom::explore(s.id, &p);
            assert!(r.failure.is_none(), "{}: {:?}", s.name, r.failure);
            reached.extend(r.sites);
        }
    }
    reached
}

#[cfg(feature = "loom")]
#[test]
fn every_site_is_reached_by_a_loom_scenario() {
    let reached = reached_sites();
    let unreached: Vec<&str> = Site::ALL
        .iter()
        .filter(|s| !reached.contains(s))
        .map(|s| s.name())
        .collect();
    assert!(
        unreached.is_empty(),
        "concurrency points no loom scenario reaches: {unreached:?}"
    );
}
