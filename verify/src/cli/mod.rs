//! The `slab-verify` command line: one clap `Subcommand` per tool, each in its own module
//! of this directory exposing an `Args` struct and a function returning the process exit
//! code (0 success, 1 a check failed, 2 usage or input error, 130 interrupted:
//! [`exit`]). `--json` output follows `verify/schema/slab-verify.schema.json` ([`json`]).
//!
//! | command | module |
//! |---|---|
//! | `list`, `check` | [`verify`] (also the arguments the other commands share) |
//! | `merge` | [`merge`] |
//! | `run` | [`run`] |
//! | `replay` | [`replay`] |
//! | `mutations` | [`mutations`] |
//! | `geometry` | [`geometry`] |
//! | `diagram` | [`diagram`] |

mod diagram;
mod exit;
mod geometry;
mod json;
mod merge;
mod mutations;
mod replay;
mod run;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "slab-verify",
    version,
    about = "Checks for the executable model of Linux mm/slab.c"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The scenarios, mutations (known-bad switches) and presets.
    List(verify::ListArgs),
    /// The main job: every scenario under shuttle (random and PCT, both eras, 2-8 CPUs).
    Check(verify::CheckArgs),
    /// Merge the `check --shard i/n --json` reports of every shard into one report.
    Merge(merge::MergeArgs),
    /// One scenario under one scheduler; on failure print and save the counterexample.
    Run(run::RunArgs),
    /// Re-run a counterexample's exact schedule.
    Replay(replay::ReplayArgs),
    /// The detection matrix: every mutation against every checker.
    Mutations(mutations::MutationsArgs),
    /// Compute one cache's kmem_cache_create geometry, or check a golden slabinfo TSV.
    Geometry(Box<geometry::GeometryArgs>),
    /// Swimlane diagrams (SVG): a scenario's witness execution or failing interleaving.
    Diagram(diagram::DiagramArgs),
}

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap's whole message: the error, its tips ("a similar subcommand exists",
        // the possible values), the usage line. --help and --version go to stdout, exit 0;
        // usage errors to stderr, exit 2.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // Model failures are reported by the commands themselves (invariant, schedule, trace);
    // the default hook's "thread panicked at" lines would only repeat them.
    if std::env::var_os("SLAB_VERIFY_PANIC_HOOK").is_none() {
        slab_verify::drivers::shuttle::quiet_panics(Box::new(|_| {}));
    }
    // shuttle's own `test panicked in task '...'` lines (see exit.rs) off stderr.
    let stderr = exit::Stderr::filter_shuttle_noise();
    let code = match cli.command {
        Command::List(a) => verify::list(&a),
        Command::Check(a) => verify::check(&a),
        Command::Merge(a) => merge::merge(&a),
        Command::Run(a) => run::run(&a),
        Command::Replay(a) => replay::replay_cmd(&a),
        Command::Mutations(a) => mutations::mutations(&a),
        Command::Geometry(args) => geometry::run(&args),
        Command::Diagram(a) => diagram::diagram(&a),
    };
    stderr.finish();
    code
}
