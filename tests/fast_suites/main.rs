//! The sequential suites as modules of one test crate: what ci/mutants.sh runs for every
//! mutant. Each `tests/<suite>.rs` stays its own crate for `cargo test`; here they share
//! one build of the model's generic code and one link, which halves a mutant's rebuild
//! (slab-model changes, so every crate that monomorphises it is rebuilt).
//!
//! Built only with `--features fast-suites` (see the root Cargo.toml), so that the
//! README's `cargo test` runs each suite once. The list is the fast pass of
//! ci/mutants.sh: every suite that needs neither loom nor shuttle and finishes in seconds.
//! A suite added to `tests/` that belongs in the fast pass is added here too.

// Each suite declares `mod common;` as its own crate needs; here that loads
// tests/common/mod.rs once per suite, which is what keeps the suites unchanged.
#![allow(clippy::duplicate_mod)]

#[path = "../alien.rs"]
mod alien;
#[path = "../conformance.rs"]
mod conformance;
#[path = "../debug_slab.rs"]
mod debug_slab;
#[path = "../fuzz_corpus.rs"]
mod fuzz_corpus;
#[path = "../golden.rs"]
mod golden;
#[path = "../hotplug.rs"]
mod hotplug;
#[path = "../mempolicy.rs"]
mod mempolicy;
#[path = "../misuse.rs"]
mod misuse;
#[path = "../scenarios_std.rs"]
mod scenarios_std;
#[path = "../slabinfo.rs"]
mod slabinfo;
#[path = "../state_machine.rs"]
mod state_machine;
#[path = "../stats.rs"]
mod stats;
