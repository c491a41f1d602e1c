//! `slab-verify mutations` as a user reads it: a loom or shuttle cell gives the executions
//! of the scenario that found the mutation and names that scenario and era, and the verdict
//! line names the model checkers that ran (loom only in a `--features loom` build).

use slab_verify::scenario::SCENARIOS;
use std::process::Command;

const BUDGET: usize = 200;

fn mutations(extra: &[&str]) -> String {
    let budget = BUDGET.to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args([
            "mutations",
            "--mutation",
            "stale-ac-after-grow",
            "--shuttle-iterations",
            &budget,
            "--reference-runs",
            "2",
            "--geometry-cases",
            "1",
        ])
        .args(extra)
        .output()
        .expect("slab-verify runs");
    assert!(
        o.status.success(),
        "mutations failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

/// `(scenario, era, execution, total)` of `checker`'s line under "Where each mutation was
/// caught": `    shuttle-random  migrate-across-window era A, execution 1 (401 executions
/// counting the scenarios tried before it)`.
fn place(out: &str, checker: &str) -> (String, String, usize, usize) {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{checker} ")) && l.contains(" era "))
        .unwrap_or_else(|| panic!("no place line for {checker} in\n{out}"));
    let rest = line.trim_start()[checker.len()..].trim_start();
    let (scenario, rest) = rest.split_once(" era ").expect("scenario era");
    let (era, rest) = rest.split_once(", execution ").expect("execution");
    let (n, rest) = rest.split_once(" (").expect("total");
    let total = rest.split(' ').next().expect("total count");
    (
        scenario.to_string(),
        era.to_string(),
        n.parse().expect("execution number"),
        total.parse().unwrap_or(0),
    )
}

#[test]
fn a_shuttle_cell_counts_within_the_scenario_that_found_it_and_names_it() {
    let out = mutations(&[]);
    let first = SCENARIOS[0].name;
    for checker in ["shuttle-random", "shuttle-pct3"] {
        let (scenario, era, n, total) = place(&out, checker);
        assert!(
            SCENARIOS.iter().any(|s| s.name == scenario),
            "{checker}: `{scenario}` is not a scenario"
        );
        assert!(era == "A" || era == "B", "{checker}: era `{era}`");
        // stale-ac-after-grow needs a task to change CPUs inside cache_grow's window:
        // the first scenario (an interrupt in the window, no migration) cannot expose it.
        assert_ne!(scenario, first, "{checker}: found in the first scenario");
        assert!(
            (1..=BUDGET).contains(&n),
            "{checker}: execution {n} is not within one scenario's budget of {BUDGET}"
        );
        // Every scenario and era tried before it ran its whole budget.
        assert!(
            total > n && (total - n) % BUDGET == 0,
            "{checker}: {total} in all is not whole campaigns of {BUDGET} before execution {n}"
        );
        // The table cell is the within-scenario count.
        let row = out
            .lines()
            .find(|l| l.starts_with("stale-ac-after-grow "))
            .expect("table row");
        assert!(row.contains(&format!("yes @{n}")), "{row}");
        assert!(!row.contains(&format!("yes @{total}")), "{row}");
    }
    let md = mutations(&["--markdown"]);
    let (scenario, era, n, _) = place(&out, "shuttle-random");
    assert!(
        md.contains(&format!("| **{n}** in {scenario} {era} |")),
        "markdown cell of shuttle-random:\n{md}"
    );
}

#[test]
fn the_verdict_names_the_model_checkers_that_ran() {
    let out = mutations(&[]);
    let verdict = out
        .lines()
        .find(|l| l.contains("concurrency mutations missed by"))
        .unwrap_or_else(|| panic!("no verdict line in\n{out}"));
    if cfg!(feature = "loom") {
        assert!(
            verdict.contains("(loom, shuttle-random, shuttle-pct3): none"),
            "{verdict}"
        );
        assert!(!verdict.contains("not built in"), "{verdict}");
    } else {
        assert!(
            verdict.contains("(shuttle-random, shuttle-pct3; loom is not built in"),
            "{verdict}"
        );
        assert!(!verdict.contains("missed by loom"), "{verdict}");
        // No loom column either.
        let header = out.lines().next().expect("header");
        assert!(!header.contains("loom"), "{header}");
    }
}
