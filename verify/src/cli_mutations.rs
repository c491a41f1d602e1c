//! `slab-verify mutations`: the detection matrix.

use crate::cli_verify::parse_mutation;
use crate::exit;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use slab_model::Mutation;
use std::process::ExitCode;

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
    #[arg(long = "mutation", value_parser = parse_mutation)]
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
    use slab_verify::matrix::{
        detect, summary, Checker, MatrixBudget, MatrixRow, CONCURRENCY_MUTATIONS,
    };
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
    let bar = ProgressBar::new((list.len() * checkers.len()) as u64);
    if a.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("mutations [{bar:40}] {pos}/{len} cells {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let rows: Vec<MatrixRow> = list
        .iter()
        .map(|&m| MatrixRow {
            mutation: m.name(),
            cells: checkers
                .iter()
                .map(|&c| {
                    bar.set_message(format!("{m} x {}", c.name()));
                    let d = detect(m, c, &b);
                    bar.inc(1);
                    (c, d)
                })
                .collect(),
        })
        .collect();
    let shipped = if a.only.is_empty() {
        bar.set_message("shipped bugs");
        slab_verify::matrix::shipped(&b)
    } else {
        Vec::new()
    };
    bar.finish_and_clear();
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
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"budget": b, "rows": rows, "shipped": shipped})
            )
            .expect("serialisable")
        );
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
                format!(
                    "found after {} executions: {}",
                    r.faithful.effort, r.faithful.detail
                )
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
    if missed.is_empty() && conc_missed.is_empty() && shipped_bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
