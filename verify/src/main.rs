//! `slab-verify`: command-line driver of the SLAB model's checkers.
//!
//! One clap `Subcommand` per tool; each lives in its own `cli_*.rs` module exposing an
//! `Args` struct and a `run` function returning the process exit code (0 success,
//! 1 a check failed, 2 usage or input error — printed as one line on stderr).

mod cli_geometry;

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
    /// Compute one cache's kmem_cache_create geometry, or check a golden slabinfo TSV.
    Geometry(cli_geometry::GeometryArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(
                    e.kind(),
                    ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                e.exit();
            }
            // Usage errors too are one line on stderr, exit 2, like every other error.
            let text = e.to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Geometry(args) => cli_geometry::run(&args),
    }
}
