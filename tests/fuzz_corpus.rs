//! The fuzz targets under `cargo test`, on stable, without cargo-fuzz: every target
//! function of `slab_verify::drivers::fuzz` runs over its committed seed corpus
//! (`fuzz/corpus/<target>/seed-*`), over every committed crash regression
//! (`fuzz/regressions/<target>/*`, see the README there) and over inputs generated
//! deterministically from a seeded PCG, so a fixed bug stays fixed and the targets' own
//! logic is exercised on every test run.

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use slab_verify::drivers::fuzz::{self, AuditKnob, MutationKnob};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The committed files of `fuzz/<kind>/<target>/`: the seed corpus (`seed-*` only: the
/// rest of a corpus directory is a local campaign's output) or the regressions (all but
/// the README).
fn committed(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            match kind {
                "corpus" => name.starts_with("seed-"),
                _ => !name.eq_ignore_ascii_case("README.md"),
            }
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, data)
        })
        .collect()
}

/// Runs `f` over the seed corpus (which must not be empty), the regressions and `n`
/// generated inputs of 0..=`max_len` bytes. A failing input is named in the panic.
fn exercise(target: &str, n: usize, max_len: usize, f: impl Fn(&[u8])) {
    let seeds = committed("corpus", target);
    assert!(
        !seeds.is_empty(),
        "fuzz/corpus/{target}/ has no committed seed-* files"
    );
    for (path, data) in seeds.iter().chain(committed("regressions", target).iter()) {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(data)));
        if let Err(e) = r {
            panic!(
                "{target}: {} failed: {}",
                path.display(),
                slab_verify::scenarios::panic_message(&e)
            );
        }
    }
    let mut rng = Pcg64Mcg::seed_from_u64(0xf022_0000 ^ target.len() as u64);
    let mut buf = vec![0u8; max_len];
    for i in 0..n {
        let len = (rng.next_u32() as usize) % (max_len + 1);
        rng.fill_bytes(&mut buf[..len]);
        let data = &buf[..len];
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(data)));
        if let Err(e) = r {
            panic!(
                "{target}: generated input #{i} failed: {}\ninput: {data:02x?}",
                slab_verify::scenarios::panic_message(&e)
            );
        }
    }
}

#[test]
fn geometry_target() {
    exercise("geometry", 20_000, 96, |d| {
        fuzz::geometry_with(d, MutationKnob::Off)
    });
}

#[test]
fn kmalloc_target() {
    exercise("kmalloc", 2_000, 256, |d| {
        fuzz::kmalloc_with(d, MutationKnob::Off)
    });
}

#[test]
fn ops_target() {
    exercise("ops", 2_000, 512, |d| fuzz::ops_with(d, MutationKnob::Off));
}

/// The seed corpus and regressions (and generated inputs) on a CONFIG_DEBUG_SLAB profile:
/// the reference's predictions hold, the audit is clean, and no debug check fires.
#[test]
fn ops_target_on_a_debug_profile() {
    exercise("ops", 1_000, 512, |d| fuzz::ops_debug(d, MutationKnob::Off));
}

/// The `SLAB_FUZZ_AUDIT=step` mode on generated inputs (the default mode is `ops_target`).
#[test]
fn ops_target_audit_each_step() {
    exercise("ops", 300, 512, |d| {
        fuzz::ops_with_audit(d, MutationKnob::Off, AuditKnob::EachStep)
    });
}

/// `ctor-skipped` is visible only to the audit (the reference does not watch
/// constructors): by default it is reported at the audit after the sequence, with
/// `SLAB_FUZZ_AUDIT=step` at the operation that grew the cache.
#[test]
fn ops_audit_knob_moves_the_report_to_the_operation() {
    let knob = MutationKnob::Fixed(slab_model::Mutation::CtorSkipped);
    let msg = |d: &[u8], audit| {
        let r = std::panic::catch_unwind(|| fuzz::ops_with_audit(d, knob, audit));
        r.err().map(|e| slab_verify::scenarios::panic_message(&e))
    };
    let mut rng = Pcg64Mcg::seed_from_u64(5);
    let mut buf = [0u8; 256];
    let found = (0..5_000).find_map(|_| {
        rng.fill_bytes(&mut buf);
        msg(&buf, AuditKnob::AtEnd).map(|m| (buf, m))
    });
    let (input, at_end) = found.expect("ctor-skipped survived 5000 ops inputs");
    assert!(
        at_end.contains("divergence at the audit after"),
        "default mode: {at_end}"
    );
    let each = msg(&input, AuditKnob::EachStep).expect("fails in step mode too");
    assert!(each.contains("divergence at op #"), "step mode: {each}");
    assert!(each.contains("ctor-once"), "step mode: {each}");
}

#[test]
fn audit_knob_parses() {
    assert_eq!(AuditKnob::parse("").unwrap(), AuditKnob::AtEnd);
    assert_eq!(AuditKnob::parse("end").unwrap(), AuditKnob::AtEnd);
    assert_eq!(AuditKnob::parse("step").unwrap(), AuditKnob::EachStep);
    assert!(AuditKnob::parse("often").is_err());
}

#[cfg(feature = "shuttle")]
#[test]
fn schedule_target() {
    exercise("schedule", 2_000, 128, |d| {
        fuzz::schedule_with(d, MutationKnob::Off)
    });
}

/// The knob's parser accepts exactly the catalogue's names.
#[test]
fn mutation_knob_parses_catalogue_names() {
    assert_eq!(MutationKnob::parse("").unwrap(), MutationKnob::Off);
    assert_eq!(MutationKnob::parse("any").unwrap(), MutationKnob::Any);
    for &m in slab_model::Mutation::ALL {
        assert_eq!(
            MutationKnob::parse(m.name()).unwrap(),
            MutationKnob::Fixed(m)
        );
    }
    assert!(MutationKnob::parse("no-such-mutation").is_err());
}

/// With a mutation the kmalloc target can expose, some generated input must fail: the
/// target is not vacuous.
#[test]
fn kmalloc_target_detects_a_mutation() {
    let knob = MutationKnob::Fixed(slab_model::Mutation::KmallocClassTooSmall);
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    let mut buf = [0u8; 512];
    let found = (0..5_000).any(|_| {
        rng.fill_bytes(&mut buf);
        std::panic::catch_unwind(|| fuzz::kmalloc_with(&buf, knob)).is_err()
    });
    assert!(
        found,
        "kmalloc-class-too-small survived 5000 kmalloc inputs"
    );
}

/// The schedule target reports a failing execution as a panic of the caller, and the
/// next input runs on a fresh runner.
#[cfg(feature = "shuttle")]
#[test]
fn schedule_target_detects_a_mutation_and_recovers() {
    let knob = MutationKnob::Fixed(slab_model::Mutation::IrqWindowInAtomic);
    let mut rng = Pcg64Mcg::seed_from_u64(11);
    let mut buf = [0u8; 64];
    let found = (0..5_000).any(|_| {
        rng.fill_bytes(&mut buf);
        std::panic::catch_unwind(|| fuzz::schedule_with(&buf, knob)).is_err()
    });
    assert!(found, "irq-window-in-atomic survived 5000 schedule inputs");
    for (_, data) in committed("corpus", "schedule") {
        fuzz::schedule_with(&data, MutationKnob::Off);
    }
}
