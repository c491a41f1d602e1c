//! The mutation catalogue against the checkers: the faithful model passes every checker
//! (the control), every catalogued mutation is caught by at least one, every concurrency
//! mutation by loom or shuttle, and docs/mutations.md lists exactly the catalogue.
//! With `--features loom` the loom column is measured too.

use slab_model::Mutation;
use slab_verify::matrix::{control, detect, Checker, MatrixBudget, CONCURRENCY_MUTATIONS};
use std::io::Write;

fn budget() -> MatrixBudget {
    MatrixBudget {
        shuttle_iterations: 2_000,
        // stats-freehit-on-flush needs 45: only one run in five is on a DEBUG profile.
        reference_runs: 80,
        reference_ops: 150,
        geometry_cases: 2_000,
    }
}

#[test]
fn the_faithful_model_passes_every_checker() {
    for c in Checker::all() {
        let d = control(c, &budget());
        assert!(
            !d.caught,
            "checker {} flags the faithful model: {}",
            c.name(),
            d.detail
        );
    }
}

#[test]
fn every_mutation_is_caught_and_concurrency_mutations_by_a_model_checker() {
    let b = budget();
    let mut missed = Vec::new();
    for m in Mutation::mutations() {
        let mut by = Vec::new();
        for c in Checker::all() {
            let d = detect(m, c, &b);
            if d.caught {
                by.push(c);
                let _ = writeln!(
                    std::io::stderr(),
                    "{:<28} {:<15} caught after {} {}: {}",
                    m.name(),
                    c.name(),
                    d.effort,
                    d.unit,
                    d.detail
                );
            }
            // The model checkers are the expensive columns: stop once one of them has it.
            if d.caught
                && matches!(
                    c,
                    Checker::Loom | Checker::ShuttleRandom | Checker::ShuttlePct
                )
            {
                break;
            }
        }
        if by.is_empty() {
            missed.push(m.name());
        }
        if CONCURRENCY_MUTATIONS.contains(&m) {
            assert!(
                by.iter().any(|c| matches!(
                    c,
                    Checker::Loom | Checker::ShuttleRandom | Checker::ShuttlePct
                )),
                "concurrency mutation {m} is not caught by loom or shuttle"
            );
        }
    }
    assert!(
        missed.is_empty(),
        "mutations no checker catches: {missed:?}"
    );
}

#[test]
fn docs_matrix_lists_exactly_the_catalogue() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/mutations.md"))
        .expect("docs/mutations.md");
    let section = doc
        .split("## Detection matrix")
        .nth(1)
        .expect("a Detection matrix section");
    let listed: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let listed: Vec<&str> = listed
        .into_iter()
        .take_while(|l| !l.starts_with("fix-"))
        .collect();
    let catalogue: Vec<&str> = Mutation::mutations().map(|m| m.name()).collect();
    assert_eq!(
        listed, catalogue,
        "the detection matrix in docs/mutations.md and the catalogue differ"
    );
    let shipped = doc
        .split("## Shipped bugs")
        .nth(1)
        .expect("a Shipped bugs section");
    for b in slab_model::mutation::SHIPPED_BUGS {
        assert!(
            shipped.contains(&format!("`{}`", b.switch.name())),
            "docs/mutations.md does not list the shipped bug fixed by {}",
            b.switch
        );
    }
}

/// cargo-mutants' fast pass (ci/mutants.sh) runs tests/fast_suites, which includes the
/// sequential suites as modules: every suite in tests/ is either there or one of the
/// slow or concurrency suites named here, so a new suite cannot silently stay out of it.
#[test]
fn every_sequential_suite_is_in_the_mutant_fast_pass() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(tests.join("fast_suites/main.rs")).unwrap();
    let fast: std::collections::BTreeSet<String> = main
        .lines()
        .filter_map(|l| l.strip_prefix("#[path = \"../"))
        .filter_map(|l| l.strip_suffix(".rs\"]"))
        .map(str::to_owned)
        .collect();
    let outside = [
        "concurrency_map",
        "docs_links",
        "loom",
        "mutations",
        "shuttle",
        "stress",
    ];
    let mut suites = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(&tests).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".rs") {
            suites.insert(stem.to_owned());
        }
    }
    assert!(fast.len() >= 12, "tests/fast_suites lists {fast:?}");
    for f in &fast {
        assert!(
            suites.contains(f),
            "tests/fast_suites names {f}.rs, which does not exist"
        );
    }
    for s in &suites {
        assert!(
            fast.contains(s) || outside.contains(&s.as_str()),
            "tests/{s}.rs is neither in tests/fast_suites (the mutant fast pass) nor named as outside it"
        );
    }
}

/// The downstream workflow that runs every cargo-mutants shard at once covers exactly the
/// shards ci/mutants.sh cuts: its matrix is 1..=N for the script's default N, and it
/// passes the same N (a shorter matrix would leave slices of the model unmutated with
/// every job green).
#[test]
fn the_mutants_shards_workflow_runs_every_shard_of_ci_mutants_sh() {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = std::fs::read_to_string(format!("{root}/ci/mutants.sh")).expect("ci/mutants.sh");
    let n: usize = script
        .lines()
        .find_map(|l| l.trim().strip_prefix("shards=${MUTANT_SHARDS:-"))
        .and_then(|rest| rest.strip_suffix('}'))
        .expect("ci/mutants.sh sets shards=${MUTANT_SHARDS:-N}")
        .parse()
        .expect("a number of shards");
    let wf = std::fs::read_to_string(format!("{root}/ci/github/workflows/mutants-shards.yml"))
        .expect("ci/github/workflows/mutants-shards.yml");
    let matrix: Vec<usize> = wf
        .lines()
        .find_map(|l| l.trim().strip_prefix("shard: ["))
        .and_then(|rest| rest.strip_suffix(']'))
        .expect("a `shard: [..]` matrix")
        .split(',')
        .map(|s| s.trim().parse().expect("a shard number"))
        .collect();
    assert_eq!(matrix, (1..=n).collect::<Vec<_>>());
    assert!(
        wf.lines()
            .any(|l| l.trim() == format!("MUTANT_SHARDS: \"{n}\"")),
        "the workflow passes MUTANT_SHARDS={n}"
    );
}
