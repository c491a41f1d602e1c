//! `slab-verify mutations`: the detection matrix.

use super::exit;
use super::verify::parse_mutation;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use slab_model::{Era, Mutation};
use slab_verify::matrix::{Checker, Detection, MatrixBudget, MatrixRow, ShippedRow};
use std::process::ExitCode;
use std::sync::mpsc;

/// `mutations`.
#[derive(Args, Debug)]
pub struct MutationsArgs {
    /// shuttle executions per scenario and era.
    #[arg(long, default_value_t = 5_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub shuttle_iterations: usize,
    /// Reference operation sequences.
    #[arg(long, default_value_t = 60, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub reference_runs: usize,
    /// Random geometry cases.
    #[arg(long, default_value_t = 4_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub geometry_cases: usize,
    /// Only these mutations (repeatable).
    #[arg(long = "mutation", value_name = "NAME", value_parser = parse_mutation)]
    pub only: Vec<Mutation>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print the matrix as a Markdown table (docs/mutations.md).
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
}

/// `mutations`: the detection matrix.
pub fn mutations(a: &MutationsArgs) -> ExitCode {
    use slab_verify::matrix::{summary, CONCURRENCY_MUTATIONS};
    let b = MatrixBudget {
        shuttle_iterations: a.shuttle_iterations,
        reference_runs: a.reference_runs,
        reference_ops: 150,
        geometry_cases: a.geometry_cases,
    };
    let list: Vec<Mutation> = if a.only.is_empty() {
        Mutation::mutations().collect()
    } else {
        a.only.clone()
    };
    if let Some(f) = list.iter().find(|m| m.shipped_bug().is_some()) {
        return exit::usage(&format!(
            "`{f}` is a fix switch (it removes a bug that shipped), not a mutation: the shipped-bugs table below the matrix measures it"
        ));
    }
    let checkers = Checker::all();
    let (rows, shipped, interrupted) = measure(&list, &checkers, &b, a.only.is_empty(), a.json);
    let shipped_bad: Vec<String> = shipped
        .iter()
        .filter(|r| !r.faithful.caught || r.fixed.caught)
        .map(|r| format!("{} ({})", r.switch, r.checker.name()))
        .collect();
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.caught())
        .map(|r| r.mutation)
        .collect();
    let conc_missed: Vec<&str> = rows
        .iter()
        .filter(|r| {
            CONCURRENCY_MUTATIONS.iter().any(|m| m.name() == r.mutation)
                && !r.caught_by_model_checker()
        })
        .map(|r| r.mutation)
        .collect();
    if a.json {
        let payload = MutationsPayload {
            budget: BudgetRow {
                shuttle_executions: b.shuttle_iterations,
                reference_runs: b.reference_runs,
                reference_ops: b.reference_ops,
                geometry_cases: b.geometry_cases,
            },
            checkers: checkers.iter().map(|c| c.name()).collect(),
            interrupted,
            rows: rows
                .iter()
                .map(|r| RowOut {
                    mutation: r.mutation,
                    caught: r.caught(),
                    caught_by_model_checker: r.caught_by_model_checker(),
                    concurrency: CONCURRENCY_MUTATIONS.iter().any(|m| m.name() == r.mutation),
                    first_caught_by: r
                        .cells
                        .iter()
                        .find(|(_, d)| d.caught)
                        .map(|(c, _)| c.name()),
                    cells: r
                        .cells
                        .iter()
                        .map(|(c, d)| CellOut {
                            checker: c.name(),
                            detection: d,
                        })
                        .collect(),
                })
                .collect(),
            shipped: shipped
                .iter()
                .map(|r| ShippedOut {
                    switch: r.switch,
                    era: r.era,
                    checker: r.checker.name(),
                    faithful: &r.faithful,
                    fixed: &r.fixed,
                })
                .collect(),
            summary: SummaryOut {
                mutations: rows.len(),
                caught: rows.len() - missed.len(),
                missed: missed.clone(),
                concurrency_missed: conc_missed.clone(),
                shipped_bad: shipped_bad.clone(),
                passed: !interrupted
                    && missed.is_empty()
                    && conc_missed.is_empty()
                    && shipped_bad.is_empty(),
            },
        };
        super::json::print("mutations", &payload);
    } else if a.markdown {
        print!("| mutation |");
        for c in &checkers {
            print!(" {} |", c.name());
        }
        println!(" first failure (leftmost checker that caught it) |");
        print!("|---|");
        for _ in &checkers {
            print!("---|");
        }
        println!("---|");
        for r in &rows {
            print!("| `{}` |", r.mutation);
            for (_, d) in &r.cells {
                print!(" {} |", d.markdown_cell());
            }
            match r.cells.iter().find(|(_, d)| d.caught) {
                Some((c, d)) => println!(
                    " {}: {} |",
                    c.name(),
                    d.detail.replace('|', "/").replace('`', "'")
                ),
                None => println!(" **not caught** |"),
            }
        }
        println!(
            "\nBudget: {} shuttle executions per scenario and era (scenarios in catalogue order, era A then B, stopping at the first failure); {} reference sequences of {} operations; {} random geometry cases after the golden rows and the kmalloc classes of every boot profile; every boot profile. A loom or shuttle cell `**N** in S E` is the N-th execution of scenario S in era E, the first scenario and era that failed (the executions of the scenarios tried before it are not counted); the other cells count the sequences, rows and cases, or boots tried up to and including the first failure.",
            b.shuttle_iterations, b.reference_runs, b.reference_ops, b.geometry_cases
        );
        println!("\n{}.", summary(&rows));
    } else {
        print!("{:<30}", "mutation");
        for c in &checkers {
            print!(" {:>16}", c.name());
        }
        println!();
        for r in &rows {
            print!("{:<30}", r.mutation);
            for (_, d) in &r.cells {
                print!(" {:>16}", d.text_cell());
            }
            println!();
        }
        println!(
            "\n(yes @N: caught; for loom and shuttle N is the execution of the scenario and era that failed first (scenarios in catalogue order, era A then B), for the others the op sequences / rows+cases / boots tried up to the failure; -: not caught within the budget: {} shuttle executions per scenario and era, {} reference sequences of {} ops, {} geometry cases)",
            b.shuttle_iterations, b.reference_runs, b.reference_ops, b.geometry_cases
        );
        println!("\nWhere each mutation was caught:");
        for r in &rows {
            let mut caught = r.cells.iter().filter(|(_, d)| d.caught).peekable();
            let Some((first, d0)) = caught.peek().map(|(c, d)| (*c, d)) else {
                continue;
            };
            println!("  {}", r.mutation);
            for (c, d) in caught {
                println!(
                    "    {:<15} {}",
                    c.name(),
                    d.text_place().unwrap_or_default()
                );
            }
            println!("    first failure ({}): {}", first.name(), d0.detail);
        }
        println!("\n{}", summary(&rows));
    }
    if !a.json && !shipped.is_empty() {
        let md = a.markdown;
        println!();
        if md {
            println!(
                "| fix switch | era | checker | faithful model (expected finding) | with the fix |"
            );
            println!("|---|---|---|---|---|");
        } else {
            println!("Shipped bugs (faithful model must fail, the fix must pass):");
        }
        for r in &shipped {
            let faithful = if r.faithful.caught {
                let d = &r.faithful;
                match d.place() {
                    Some(place) => format!(
                        "found at execution {} of {place}{}: {}",
                        d.effort,
                        if d.effort_total > d.effort {
                            format!(" ({} executions in all)", d.effort_total)
                        } else {
                            String::new()
                        },
                        d.detail
                            .strip_prefix(&format!("{place}: "))
                            .unwrap_or(&d.detail)
                    ),
                    None => format!("found after {} executions: {}", d.effort, d.detail),
                }
            } else {
                format!("NOT FOUND in {} executions", r.faithful.effort)
            };
            let fixed = if r.fixed.caught {
                format!("REGRESSION: {}", r.fixed.detail)
            } else {
                format!("passes ({} executions)", r.fixed.effort)
            };
            if md {
                println!(
                    "| `{}` | {} | {} | {} | {} |",
                    r.switch,
                    r.era,
                    r.checker.name(),
                    faithful.replace('|', "/").replace('`', "'"),
                    fixed.replace('|', "/").replace('`', "'")
                );
            } else {
                println!(
                    "  {:<28} era {} {:<15} {faithful}; with the fix: {fixed}",
                    r.switch,
                    r.era,
                    r.checker.name()
                );
            }
        }
    }
    if interrupted {
        if !a.json {
            println!(
                "\nINTERRUPTED (SIGINT): {} of {} mutations measured; the report above covers only those{}.",
                rows.len(),
                list.len(),
                if a.only.is_empty() { ", without the shipped-bugs table" } else { "" }
            );
        }
        ExitCode::from(exit::INTERRUPTED)
    } else if missed.is_empty() && conc_missed.is_empty() && shipped_bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// What the measuring thread tells the main thread.
enum Msg {
    /// Row `i`'s cell of a checker.
    Cell(usize, Checker, Detection),
    /// The shipped-bugs table.
    Shipped(Vec<ShippedRow>),
    /// Everything was measured.
    Done,
    /// The measuring thread stopped (after `Done`, or early).
    Exit,
    /// SIGINT.
    Interrupted,
}

/// Tells the main thread that the measuring thread stopped, however it stops.
struct ExitNotice(mpsc::Sender<Msg>);

impl Drop for ExitNotice {
    fn drop(&mut self) {
        let _ = self.0.send(Msg::Exit);
    }
}

/// Measures every cell (and, with `with_shipped`, the shipped-bugs table) on a thread of
/// its own behind one progress bar, so that Ctrl-C returns at once with the rows whose
/// cells all finished (the cell in flight is abandoned). Returns the rows, the shipped
/// rows and whether SIGINT stopped it.
fn measure(
    list: &[Mutation],
    checkers: &[Checker],
    b: &MatrixBudget,
    with_shipped: bool,
    json: bool,
) -> (Vec<MatrixRow>, Vec<ShippedRow>, bool) {
    let mp = MultiProgress::with_draw_target(exit::progress_target(json));
    // Nothing else writes through the bar: other stderr lines go above it.
    let drawing = exit::drawing(&mp);
    let bar = mp.add(ProgressBar::new((list.len() * checkers.len()) as u64));
    bar.set_style(
        ProgressStyle::with_template("mutations [{bar:40}] {pos}/{len} cells {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    // Closed at the end: the abandoned cell (after SIGINT) no longer moves the bar.
    let gate = exit::Gate::default();
    let (tx, rx) = mpsc::channel::<Msg>();
    let sigint = tx.clone();
    exit::on_interrupt(move || {
        let _ = sigint.send(Msg::Interrupted);
    });
    {
        let (list, checkers, b, bar, gate) = (
            list.to_vec(),
            checkers.to_vec(),
            *b,
            bar.clone(),
            gate.clone(),
        );
        let notice = ExitNotice(tx);
        std::thread::spawn(move || {
            let notice = notice;
            for (i, &m) in list.iter().enumerate() {
                for &c in &checkers {
                    gate.run(|| bar.set_message(format!("{m} x {}", c.name())));
                    let d = slab_verify::matrix::detect(m, c, &b);
                    gate.run(|| bar.inc(1));
                    if notice.0.send(Msg::Cell(i, c, d)).is_err() {
                        return;
                    }
                }
            }
            if with_shipped {
                gate.run(|| bar.set_message("shipped bugs"));
                let _ = notice
                    .0
                    .send(Msg::Shipped(slab_verify::matrix::shipped(&b)));
            }
            let _ = notice.0.send(Msg::Done);
        });
    }
    let mut cells: Vec<Vec<(Checker, Detection)>> = vec![Vec::new(); list.len()];
    let mut shipped = Vec::new();
    let (mut done, mut interrupted) = (false, false);
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Cell(i, c, d) => cells[i].push((c, d)),
            Msg::Shipped(s) => shipped = s,
            Msg::Done => done = true,
            Msg::Exit => break,
            Msg::Interrupted => {
                interrupted = true;
                break;
            }
        }
    }
    gate.close();
    bar.finish_and_clear();
    mp.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    drop(drawing);
    if !done && !interrupted {
        // The measuring thread died: report what it finished, never a pass.
        eprintln!("error: the detection matrix stopped before every cell was measured");
        interrupted = true;
    }
    let rows = list
        .iter()
        .zip(cells)
        .filter(|(_, c)| c.len() == checkers.len())
        .map(|(m, cells)| MatrixRow {
            mutation: m.name(),
            cells,
        })
        .collect();
    (rows, shipped, interrupted)
}

/// `mutations --json`: the budget, in the schema's words.
#[derive(Serialize)]
struct BudgetRow {
    /// shuttle executions per scenario and era (`--shuttle-iterations`).
    shuttle_executions: usize,
    reference_runs: usize,
    reference_ops: usize,
    geometry_cases: usize,
}

/// One cell: the checker's name and its `Detection`.
#[derive(Serialize)]
struct CellOut<'a> {
    checker: &'static str,
    #[serde(flatten)]
    detection: &'a Detection,
}

#[derive(Serialize)]
struct RowOut<'a> {
    mutation: &'static str,
    caught: bool,
    caught_by_model_checker: bool,
    /// In `matrix::CONCURRENCY_MUTATIONS`: loom or shuttle must catch it.
    concurrency: bool,
    first_caught_by: Option<&'static str>,
    cells: Vec<CellOut<'a>>,
}

#[derive(Serialize)]
struct ShippedOut<'a> {
    switch: &'static str,
    era: Era,
    checker: &'static str,
    faithful: &'a Detection,
    fixed: &'a Detection,
}

#[derive(Serialize)]
struct SummaryOut<'a> {
    mutations: usize,
    caught: usize,
    missed: Vec<&'a str>,
    concurrency_missed: Vec<&'a str>,
    shipped_bad: Vec<String>,
    passed: bool,
}

#[derive(Serialize)]
struct MutationsPayload<'a> {
    budget: BudgetRow,
    checkers: Vec<&'static str>,
    /// SIGINT stopped the run: `rows` holds the measured mutations only.
    interrupted: bool,
    rows: Vec<RowOut<'a>>,
    shipped: Vec<ShippedOut<'a>>,
    summary: SummaryOut<'a>,
}
