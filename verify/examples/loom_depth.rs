//! Prints how deep each loom scenario's state space goes (docs/concurrency.md, "loom
//! depth"): executions and seconds at preemption bounds 1, 2, … until the count stops
//! growing, then unbounded.
//!
//! ```text
//! cargo run --release --example loom_depth --features loom -p slab-verify -- \
//!     [--max-bound N] [--budget SECONDS] [--ops N] [--era a|b] [--unbounded-only] [SCENARIO ...]
//! ```
//!
//! Defaults: bounds up to 24, 120 s per exploration, `ops = 2`, both eras, every loom
//! scenario. A progress line per exploration goes to stderr, the Markdown table to stdout.

#[cfg(feature = "loom")]
fn main() {
    use slab_model::Era;
    use slab_verify::drivers::loom_depth::{markdown, measure};
    use slab_verify::scenarios::{ScenarioId, SCENARIOS};
    use std::time::Duration;

    let usage =
        "usage: loom_depth [--max-bound N] [--budget SECONDS] [--ops N] [--era a|b] [--unbounded-only] [SCENARIO ...]";
    let mut max_bound = 24;
    let mut budget = 120u64;
    let mut ops = 2;
    let mut eras = vec![Era::A, Era::B];
    let mut bounded = true;
    let mut ids = Vec::new();
    let mut args = std::env::args().skip(1);
    let num = |v: Option<String>| -> usize {
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{usage}"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--max-bound" => max_bound = num(args.next()),
            "--budget" => budget = num(args.next()) as u64,
            "--ops" => ops = num(args.next()),
            "--unbounded-only" => bounded = false,
            "--era" => {
                eras = match args.next().as_deref() {
                    Some("a" | "A") => vec![Era::A],
                    Some("b" | "B") => vec![Era::B],
                    _ => panic!("{usage}"),
                }
            }
            name => ids.push(
                ScenarioId::from_name(name)
                    .unwrap_or_else(|| panic!("unknown scenario {name}\n{usage}")),
            ),
        }
    }
    if ids.is_empty() {
        ids = SCENARIOS.iter().filter(|s| s.loom).map(|s| s.id).collect();
    }
    let mut rows = Vec::new();
    for id in ids {
        for &era in &eras {
            let d = measure(
                id,
                era,
                ops,
                max_bound,
                bounded,
                Duration::from_secs(budget),
            );
            for r in &d.runs {
                eprintln!(
                    "{:<30} era {era} ops {ops} bound {:<4} {:>9} executions {:>8.2}s{}",
                    id.info().name,
                    r.bound.map_or("none".into(), |b| b.to_string()),
                    r.executions,
                    r.seconds,
                    if r.finished { "" } else { " (stopped)" }
                );
            }
            rows.push(d);
        }
    }
    print!("{}", markdown(&rows));
}

#[cfg(not(feature = "loom"))]
fn main() {
    eprintln!("loom_depth needs the loom feature: cargo run --release --example loom_depth --features loom -p slab-verify");
    std::process::exit(2);
}
