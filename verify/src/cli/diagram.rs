//! `slab-verify diagram`: the swimlane picture (SVG) of a scenario's witness execution,
//! or of its failing interleaving under a mutation or shipped bug, or all the committed
//! pictures of docs/diagrams at once (see docs/scenarios.md, "Pictures of the
//! interleavings").

use crate::cli::exit;
use crate::cli::verify::{parse_mutation, EraArg};
use clap::Args;
use slab_model::{Era, Mutation};
use slab_verify::diagram::{committed, failing_picture, witness_picture, Picture};
use slab_verify::scenarios::ScenarioId;
use slab_verify::witness::{breaking_switches, default_era};
use std::path::PathBuf;
use std::process::ExitCode;

/// `diagram`.
#[derive(Args, Debug)]
pub struct DiagramArgs {
    /// Scenario name (see `list`); omit with --all.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub scenario: Option<String>,
    /// Kernel era (default: the scenario's diagram era, see docs/scenarios.md).
    #[arg(long, value_enum)]
    pub era: Option<EraArg>,
    /// Draw the failing interleaving instead of the witness: under this mutation, or, for
    /// a fix switch, the faithful model of the era that shipped the bug (default: the
    /// scenario's first mutation or shipped bug).
    #[arg(long, value_name = "NAME", value_parser = parse_mutation, num_args = 0..=1, default_missing_value = None)]
    pub failing: Option<Option<Mutation>>,
    /// Where to write the SVG (default: standard output).
    #[arg(long, conflicts_with = "all")]
    pub out: Option<PathBuf>,
    /// Every committed picture: each scenario's witness and failing interleaving.
    #[arg(long, requires = "out_dir")]
    pub all: bool,
    /// The directory --all writes into (docs/diagrams in the repository).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

fn write(p: &Picture, out: Option<&PathBuf>) -> Result<(), String> {
    match out {
        Some(path) => std::fs::write(path, &p.svg)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            print!("{}", p.svg);
            Ok(())
        }
    }
}

/// Runs `diagram`.
pub fn diagram(a: &DiagramArgs) -> ExitCode {
    if a.all {
        let dir = a.out_dir.as_ref().expect("clap requires --out-dir");
        if let Err(e) = std::fs::create_dir_all(dir) {
            return exit::usage(&format!("cannot create {}: {e}", dir.display()));
        }
        let pics = match committed() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        for p in &pics {
            if let Err(e) = write(p, Some(&dir.join(&p.file))) {
                return exit::usage(&e);
            }
            eprintln!(
                "{}: {} executions: {}",
                dir.join(&p.file).display(),
                p.executions,
                p.caption
            );
        }
        return ExitCode::SUCCESS;
    }
    let name = a.scenario.as_deref().expect("clap requires a scenario");
    let Some(id) = ScenarioId::from_name(name) else {
        return exit::usage(&format!(
            "unknown scenario `{name}` (see `slab-verify list`)"
        ));
    };
    let pic = match a.failing {
        None => witness_picture(id, a.era.map_or(default_era(id), Era::from)),
        Some(m) => {
            let chosen = match m {
                Some(m) => {
                    let era = a.era.map_or_else(
                        || match m.shipped_bug() {
                            Some(b) => b.era,
                            None if m.acts_in(default_era(id)) => default_era(id),
                            None => Era::B,
                        },
                        Era::from,
                    );
                    Some((m, era))
                }
                None => breaking_switches(id)
                    .into_iter()
                    .find(|(_, era)| a.era.is_none_or(|e| Era::from(e) == *era)),
            };
            match chosen {
                Some((m, era)) => failing_picture(id, m, era),
                None => Err(format!(
                    "{name} lists no mutation or shipped bug for this era: name one with --failing NAME"
                )),
            }
        }
    };
    match pic.and_then(|p| {
        write(&p, a.out.as_ref())?;
        if let Some(path) = &a.out {
            eprintln!(
                "{}: {} executions: {}",
                path.display(),
                p.executions,
                p.caption
            );
        }
        Ok(())
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
