//! The counterexample page of a real failing run, as headless Chromium builds it: one
//! failing row and it is the last, lock and irq-off spans drawn, the state table and the
//! mutation's explanation present.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("slab-verify-html-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A headless Chromium, or `None` outside CI when there is none (CI must have one: .ci/run
/// installs it).
fn browser() -> Option<&'static str> {
    let b = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        });
    if b.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide chromium (.ci/run installs it)"
        );
        eprintln!("chromium not installed: DOM rendering check not run here (CI runs it)");
    }
    b
}

/// The DOM Chromium builds from the page.
fn dump_dom(browser: &str, html: &Path) -> String {
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &format!("file://{}", html.display()),
        ])
        .output()
        .expect("chromium runs");
    let dom = text(&o.stdout);
    assert!(
        dom.contains("id=\"lanes\""),
        "chromium did not render the lanes table:\n{}",
        text(&o.stderr)
    );
    dom
}

/// The body rows (`<tr ...`) of the table with this id.
fn body_rows<'d>(dom: &'d str, id: &str) -> Vec<&'d str> {
    let start = dom
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = start + dom[start..].find("</table>").expect("table closes");
    let table = &dom[start..end];
    let body = &table[table.find("<tbody>").expect("tbody")..];
    body.split("<tr").skip(1).collect()
}

#[test]
fn the_counterexample_page_of_a_real_run_renders_spans_and_one_failing_row() {
    let html = tmp("x.html");
    let o = Command::new(env!("CARGO_BIN_EXE_slab-verify"))
        .args([
            "run",
            "migrate-across-window",
            "--mutation",
            "stale-ac-after-grow",
            "--iterations",
            "50",
            "--html",
            html.to_str().unwrap(),
        ])
        .output()
        .expect("slab-verify runs");
    assert_eq!(
        o.status.code(),
        Some(1),
        "the mutation is found:\n{}",
        text(&o.stdout)
    );
    let Some(browser) = browser() else { return };
    let dom = dump_dom(browser, &html);

    // Exactly one failing row in the page, and it is the last row of the lanes table.
    assert_eq!(
        dom.matches("class=\"failing\"").count(),
        1,
        "one failing row"
    );
    assert_eq!(
        dom.matches("class=\"mark\">✗ failing access</span>")
            .count(),
        1
    );
    let rows = body_rows(&dom, "lanes");
    assert!(rows.len() >= 2, "the lanes table has rows");
    assert!(
        rows.last().unwrap().starts_with(" class=\"failing\""),
        "the last row is the failing access: {}",
        rows.last().unwrap()
    );
    assert!(rows[..rows.len() - 1]
        .iter()
        .all(|r| !r.contains("class=\"failing\"")));

    // Lock-held and interrupts-off spans are drawn, with a legend entry per lock.
    let locks = dom.matches("class=\"bar lock").count();
    let irqs = dom.matches("class=\"bar irq").count();
    assert!(locks >= 1, "no lock span drawn");
    assert!(irqs >= 1, "no irq-off span drawn");
    assert!(dom.contains("id=\"legend\"") && dom.contains(" held</span>"));

    // The state at the failure and the mutation's explanation with its reference.
    assert!(dom.contains("id=\"state\""), "state at the failure");
    let m = slab_model::Mutation::StaleAcAfterGrow;
    let expl = &dom[dom.find("id=\"explanation\"").expect("explanation")..];
    assert!(expl.contains("<code>stale-ac-after-grow</code> (mutation)"));
    assert!(expl.contains("cache_alloc_refill keeps the ac pointer"));
    assert!(
        expl.contains("Kernel reference: 2.6.24 mm/slab.c"),
        "{}",
        m.reference()
    );
    assert!(dom.contains("slab-verify replay 'slab") && dom.contains(":migrate-across-window:"));
    assert!(
        dom.contains("<details id=\"message\">"),
        "the message is collapsed"
    );
}
