//! Golden slabinfo rows: every row of `tests/data/golden-slabinfo.tsv` (real 2.6.30.1
//! x86_64 data, real /proc/slabinfo rows) and of `tests/data/golden-other-kernels.tsv` (rows
//! derived by hand from the facts, derivations in that file's comments) must be
//! reproduced exactly by the geometry model.

use slab_verify::golden::{check_text, parse};

fn check_file(text: &str) -> usize {
    let results = check_text(text).expect("golden file parses");
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !r.ok())
        .map(|r| r.to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} rows mismatch:\n{}",
        bad.len(),
        results.len(),
        bad.join("\n")
    );
    results.len()
}

#[test]
fn real_slabinfo_rows_match() {
    let n = check_file(include_str!("data/golden-slabinfo.tsv"));
    assert_eq!(n, 24, "every row of the D4 dataset is checked");
}

#[test]
fn hand_derived_rows_for_other_kernels_match() {
    let n = check_file(include_str!("data/golden-other-kernels.tsv"));
    assert!(n >= 5);
}

#[test]
fn malformed_input_names_line_and_column() {
    let header = include_str!("data/golden-slabinfo.tsv")
        .lines()
        .next()
        .unwrap();
    let good = include_str!("data/golden-slabinfo.tsv")
        .lines()
        .nth(1)
        .unwrap();
    let bad = good.replacen("\t112\t", "\tlots\t", 1);
    let e = parse(&format!("{header}\n{good}\n{bad}\n")).unwrap_err();
    assert_eq!((e.line, e.column), (3, 17), "{e}");
    let e = parse(&format!("{header}\n{good}\tx\n")).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    let e = parse("dataset\tkernel\n").unwrap_err();
    assert_eq!(e.line, 1, "{e}");
}
