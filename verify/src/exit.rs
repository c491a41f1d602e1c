//! Exit codes: 0 success, 1 a check failed, 2 bad usage or input (one line on stderr).

use std::process::ExitCode;

/// Prints `error: msg` as one line on stderr and returns exit code 2.
pub fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {}", msg.lines().next().unwrap_or(msg));
    ExitCode::from(2)
}
