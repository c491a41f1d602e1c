//! `slab-verify`: command-line driver of the SLAB model's checkers. The commands live in
//! `cli/` (one module per command, `cli/mod.rs` parses and dispatches).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
