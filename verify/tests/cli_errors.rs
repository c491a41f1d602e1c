//! What a user sees when something is wrong, and what stays off stderr: clap's usage
//! errors in full (exit 2), our own input errors as one line naming the range (exit 2),
//! no shuttle noise, the switches a passing run had, and Ctrl-C (exit 130 with the
//! finished part of the report).

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args(args)
        .output()
        .expect("slab-verify runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A usage error clap found: exit 2, nothing on stdout, clap's whole message on stderr
/// (the error line, then `want` — tips, possible values, usage — and the help hint).
fn clap_error(args: &[&str], first: &str, want: &[&str]) {
    let o = run(args);
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
    assert!(
        o.stdout.is_empty(),
        "{args:?}: stdout {:?}",
        text(&o.stdout)
    );
    assert_eq!(e.lines().next(), Some(first), "{args:?}:\n{e}");
    for w in want {
        assert!(e.contains(w), "{args:?}: no {w:?} in\n{e}");
    }
    assert!(
        e.trim_end()
            .ends_with("For more information, try '--help'."),
        "{args:?}:\n{e}"
    );
}

#[test]
fn a_missing_argument_names_it_and_shows_the_usage() {
    clap_error(
        &["run"],
        "error: the following required arguments were not provided:",
        &["  <SCENARIO>", "Usage: slab-verify run <SCENARIO>"],
    );
}

#[test]
fn a_bad_value_lists_the_possible_values() {
    clap_error(
        &["run", "two-cpus-refill", "--era", "c"],
        "error: invalid value 'c' for '--era <ERA>'",
        &["[possible values: a, b]"],
    );
    clap_error(
        &["run", "two-cpus-refill", "--scheduler", "fifo"],
        "error: invalid value 'fifo' for '--scheduler <SCHEDULER>'",
        &["[possible values: random, pct, dfs]"],
    );
    clap_error(
        &["run", "two-cpus-refill", "--mutation", "no-such-mutation"],
        "error: invalid value 'no-such-mutation' for '--mutation <NAME>': unknown mutation `no-such-mutation`",
        &[],
    );
}

#[test]
fn a_typo_gets_clap_s_similar_name_tip() {
    clap_error(
        &["chek"],
        "error: unrecognized subcommand 'chek'",
        &[
            "tip: a similar subcommand exists: 'check'",
            "Usage: slab-verify <COMMAND>",
        ],
    );
    clap_error(
        &["run", "two-cpus-refill", "--mutaton", "ctor-skipped"],
        "error: unexpected argument '--mutaton' found",
        &["tip: a similar argument exists: '--mutation'", "Usage:"],
    );
}

/// Budgets of 0 would check nothing: clap refuses them by range, with its message.
#[test]
fn zero_budgets_are_refused_with_the_range() {
    for (args, flag) in [
        (&["check", "--jobs", "0"][..], "--jobs <JOBS>"),
        (&["check", "--iterations", "0"], "--iterations <ITERATIONS>"),
        (
            &[
                "run",
                "two-cpus-refill",
                "--scheduler",
                "pct",
                "--depth",
                "0",
            ],
            "--depth <DEPTH>",
        ),
        (
            &["run", "two-cpus-refill", "--iterations", "0"],
            "--iterations <ITERATIONS>",
        ),
        (
            &["mutations", "--shuttle-iterations", "0"],
            "--shuttle-iterations <SHUTTLE_ITERATIONS>",
        ),
    ] {
        clap_error(
            args,
            &format!(
                "error: invalid value '0' for '{flag}': 0 is not in 1..{}",
                u64::MAX
            ),
            &[],
        );
    }
}

#[test]
fn help_and_version_are_not_errors() {
    for args in [&["--help"][..], &["run", "--help"], &["--version"]] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(!o.stdout.is_empty() && o.stderr.is_empty(), "{args:?}");
    }
}

/// Our own checks: one line, exit 2, the range that was violated.
#[test]
fn out_of_range_values_say_the_range() {
    let loom = slab_verify::scenarios::ScenarioId::from_name("two-cpus-refill")
        .unwrap()
        .info()
        .loom;
    let min = if loom { 2 } else { 1 };
    for (args, want) in [
        (
            &["run", "two-cpus-refill", "--cpus", "0"][..],
            format!("error: --cpus 0 is out of range for two-cpus-refill: need {min}..=64"),
        ),
        (
            &["run", "two-cpus-refill", "--cpus", "65"],
            format!("error: --cpus 65 is out of range for two-cpus-refill: need {min}..=64"),
        ),
        (
            &["run", "two-cpus-refill", "--ops", "0"],
            "error: --ops 0 is out of range: need 1..=10000 operations per context".into(),
        ),
        (
            &["run", "two-cpus-refill", "--seconds", "0"],
            "error: --seconds 0 is out of range: need a positive, finite number".into(),
        ),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert_eq!(text(&o.stderr), format!("{want}\n"), "{args:?}");
    }
}

#[test]
fn a_passing_run_names_the_switches_it_had() {
    let o = run(&[
        "run",
        "shrink-vs-tune",
        "--era",
        "b",
        "--iterations",
        "20",
        "--mutation",
        "fix-shrink-shared-locked",
        "--mutation",
        "offslab-limit-stale",
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "random with mutation offslab-limit-stale and fix switch fix-shrink-shared-locked: 20 executions"
        ) && out.contains("every invariant held"),
        "{out}"
    );
    let o = run(&["run", "two-cpus-refill", "--iterations", "5"]);
    let out = text(&o.stdout);
    assert!(
        out.starts_with("two-cpus-refill era A cpus 2 ops 3 random: 5 executions"),
        "{out}"
    );
}

/// shuttle prints `test panicked in task '...'` for every failing execution; the report
/// says it all, so stderr stays empty (progress bars are hidden off a terminal).
#[test]
fn failing_executions_leave_stderr_empty() {
    let html = std::env::temp_dir().join(format!("slab-verify-err-{}.html", std::process::id()));
    let o = run(&[
        "run",
        "migrate-across-window",
        "--mutation",
        "stale-ac-after-grow",
        "--iterations",
        "50",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("violated:"));
    assert_eq!(text(&o.stderr), "", "stderr of a failing run");
    // The matrix runs many failing campaigns (36 shuttle lines before).
    let o = run(&[
        "mutations",
        "--mutation",
        "stale-ac-after-grow",
        "--shuttle-iterations",
        "50",
        "--reference-runs",
        "2",
        "--geometry-cases",
        "10",
    ]);
    assert!(text(&o.stdout).contains("stale-ac-after-grow"));
    assert_eq!(text(&o.stderr), "", "stderr of the matrix");
}

/// Ctrl-C during `check` prints the report of the campaigns that finished, marked as
/// interrupted, and exits 130. The signal is sent once the process has installed its
/// handler (its SigCgt mask in /proc says so); the budget is far too large to finish.
#[cfg(target_os = "linux")]
#[test]
fn sigint_reports_the_finished_campaigns_and_exits_130() {
    for json in [true, false] {
        let mut args = vec!["check", "--iterations", "100000000", "--jobs", "1"];
        if json {
            args.push("--json");
        }
        let child = Command::new(env!("CARGO_BIN_EXE_slab-verify"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("slab-verify starts");
        let pid = child.id();
        let mut handled = false;
        for _ in 0..6000 {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let caught = status
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                .unwrap_or(0);
            if caught & (1 << (libc::SIGINT - 1)) != 0 {
                handled = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(handled, "check never installed its SIGINT handler");
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        if json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON after SIGINT");
            assert_eq!(v["interrupted"], true);
            assert_eq!(v["summary"]["passed"], false);
            assert_eq!(
                v["summary"]["campaigns"],
                v["campaigns"].as_array().unwrap().len()
            );
            assert!(
                v["summary"]["campaigns"].as_u64() < v["summary"]["planned_campaigns"].as_u64()
            );
        } else {
            assert!(out.starts_with("scenario "), "the table header:\n{out}");
            assert!(out.contains("INTERRUPTED (SIGINT): "), "{out}");
        }
    }
}
