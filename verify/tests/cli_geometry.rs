//! `slab-verify geometry` end to end: exit codes and output lines.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("slab-verify-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

const GOLDEN: &str = include_str!("../../tests/data/golden-slabinfo.tsv");

#[test]
fn check_golden_file_passes() {
    let p = temp_file("ok.tsv", GOLDEN);
    let (code, out, _) = run(&["geometry", "--check", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("24/24 rows match\n"), "{out}");
}

#[test]
fn mismatch_exits_1() {
    let text = GOLDEN.replacen(
        "size-32\t32\t8\t1\t0\t32\t112",
        "size-32\t32\t8\t1\t0\t32\t111",
        1,
    );
    let p = temp_file("bad.tsv", &text);
    let (code, out, _) = run(&["geometry", "--check", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("MISMATCH line 2")
            && out.contains("objperslab=111")
            && out.contains("objperslab=112"),
        "{out}"
    );
    assert!(out.ends_with("23/24 rows match\n"), "{out}");
}

#[test]
fn malformed_exits_2_with_line_and_column() {
    let text = GOLDEN.replacen("\t4096\t", "\tfour\t", 1);
    let p = temp_file("malformed.tsv", &text);
    let (code, out, err) = run(&["geometry", "--check", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1);
    assert!(err.starts_with("error: line 2 column 5: "), "{err}");
}

#[test]
fn one_cache_text_and_json() {
    let (code, out, _) = run(&["geometry", "--size", "1424"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("objperslab    5") && out.contains("pagesperslab  2"),
        "{out}"
    );
    let (code, out, _) = run(&[
        "geometry",
        "--preset",
        "x86_64-4.4",
        "--kmalloc",
        "--size",
        "32",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["slabinfo"]["objperslab"], 124);
    assert_eq!(v["name"], "kmalloc-32");
    let (code, _, err) = run(&["geometry", "--size", "2"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_golden_file_without_data_rows_is_an_error_not_a_pass() {
    let header = GOLDEN.lines().next().unwrap();
    let p = temp_file("header-only.tsv", &format!("{header}\n"));
    let (code, out, err) = run(&["geometry", "--check", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("no data rows: nothing to check"), "{err}");
}
