//! Exit codes and what reaches stderr.
//!
//! Exit codes: 0 success, 1 a check failed, 2 bad usage or input (our own errors are one
//! line, `error: ...`; clap's keep its whole message), 130 interrupted by SIGINT (the
//! finished part of the report is printed first).
//!
//! stderr carries errors and progress bars only. shuttle 0.9.9 (its engine crate,
//! `shuttle-engine` 0.1.7, `Execution::failure` in `runtime/execution.rs`) writes
//! `test panicked in task '<name>'` with `eprintln!` for every failing execution, with no
//! switch to turn it off; a campaign reports the same failure itself (the invariant, the
//! token and the trace come from the panic payload). [`Stderr::filter_shuttle_noise`]
//! therefore puts a pipe in front of file descriptor 2 and drops exactly shuttle's fixed
//! lines ([`is_shuttle_noise`]); every other line goes through unchanged, above any
//! progress bar being drawn. The bars themselves are drawn on the original descriptor
//! ([`progress_target`]), so they still see the terminal.

use indicatif::{MultiProgress, ProgressDrawTarget};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock};

/// Exit code of a run stopped by SIGINT (128 + 2, as a shell reports it).
pub const INTERRUPTED: u8 = 130;

/// Prints `error: msg` as one line on stderr and returns exit code 2.
pub fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {}", msg.lines().next().unwrap_or(msg));
    ExitCode::from(2)
}

/// Runs `on_sigint` (on ctrlc's own thread) when the user presses Ctrl-C. Returns false if
/// no handler could be installed (then SIGINT keeps its default action: the process ends).
pub fn on_interrupt(on_sigint: impl FnMut() + Send + 'static) -> bool {
    ctrlc::set_handler(on_sigint).is_ok()
}

/// Progress updates that can be stopped for good: once [`Gate::close`] returns, no update
/// passed to [`Gate::run`] is running or will run, so the bars can be cleared for the
/// report while abandoned campaigns go on in their threads.
#[derive(Clone, Default)]
pub struct Gate(std::sync::Arc<std::sync::RwLock<bool>>);

impl Gate {
    /// Runs `update` unless the gate is closed.
    pub fn run(&self, update: impl FnOnce()) {
        let closed = self.0.read().unwrap_or_else(|e| e.into_inner());
        if !*closed {
            update();
        }
    }
    /// Closes the gate, waiting for updates in flight.
    pub fn close(&self) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = true;
    }
    /// Whether the gate is closed.
    pub fn is_closed(&self) -> bool {
        *self.0.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// The lines shuttle writes on stderr by itself when an execution fails (shuttle-engine
/// 0.1.7 `runtime/execution.rs`, `Execution::failure` and `Execution::run`). Each comes
/// with a panic that the campaign turns into its report.
pub fn is_shuttle_noise(line: &str) -> bool {
    let line = line.trim_end_matches(['\n', '\r']);
    (line.starts_with("test panicked in task '") && line.ends_with('\''))
        || line.starts_with("Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE is not set.")
        || line == "test panicked while dropping the tasks that were unfinished at the end of the execution"
        || line == "test panicked in a task that was still unwinding the panic when the execution stopped"
}

/// The original stderr while the filter runs (progress bars draw here).
static REAL_STDERR: OnceLock<File> = OnceLock::new();
/// The progress bars being drawn: forwarded lines are printed above them.
static DRAWING: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// The stderr filter; [`Stderr::finish`] drains it.
pub struct Stderr {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stderr {
    /// Routes file descriptor 2 through a pipe whose reader drops [`is_shuttle_noise`]
    /// lines. Returns a filter that does nothing where that is not possible (not Unix, or
    /// a failing system call): then shuttle's lines stay.
    pub fn filter_shuttle_noise() -> Stderr {
        Stderr {
            thread: install().ok(),
        }
    }

    /// Points descriptor 2 at /dev/null (closing the pipe's last writer) and waits until
    /// every line written before has been forwarded.
    pub fn finish(mut self) {
        let Some(t) = self.thread.take() else { return };
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
            use std::os::fd::AsRawFd;
            // SAFETY: dup2 on two open descriptors; fd 2 now refers to /dev/null.
            if unsafe { libc::dup2(null.as_raw_fd(), libc::STDERR_FILENO) } >= 0 {
                let _ = t.join();
            }
        }
    }
}

#[cfg(unix)]
fn install() -> std::io::Result<std::thread::JoinHandle<()>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let err = std::io::Error::last_os_error;
    // SAFETY: plain descriptor calls; every descriptor created here is owned below.
    let (real, read) = unsafe {
        let real = libc::fcntl(libc::STDERR_FILENO, libc::F_DUPFD_CLOEXEC, 3);
        if real < 0 {
            return Err(err());
        }
        let real = OwnedFd::from_raw_fd(real);
        let mut fds = [0; 2];
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(err());
        }
        let (read, write) = (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]));
        use std::os::fd::AsRawFd;
        if libc::dup2(write.as_raw_fd(), libc::STDERR_FILENO) < 0 {
            return Err(err());
        }
        (File::from(real), File::from(read))
    };
    let _ = REAL_STDERR.set(real);
    Ok(std::thread::spawn(move || forward(read)))
}

#[cfg(not(unix))]
fn install() -> std::io::Result<std::thread::JoinHandle<()>> {
    Err(std::io::Error::other("no stderr filter on this platform"))
}

fn forward(read: File) {
    let Some(real) = REAL_STDERR.get() else {
        return;
    };
    let mut r = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if is_shuttle_noise(&String::from_utf8_lossy(&line)) {
            continue;
        }
        let mut out = real;
        let drawing = DRAWING.lock().unwrap_or_else(|e| e.into_inner());
        match drawing.as_ref() {
            Some(mp) => mp.suspend(|| {
                let _ = out.write_all(&line);
            }),
            None => {
                let _ = out.write_all(&line);
            }
        }
    }
}

/// Where progress bars draw: hidden with `hidden` (`--json`) or when stderr is not a
/// terminal (indicatif's rule), else stderr at 20 Hz — the original descriptor when the
/// noise filter holds fd 2.
pub fn progress_target(hidden: bool) -> ProgressDrawTarget {
    if hidden {
        return ProgressDrawTarget::hidden();
    }
    #[cfg(unix)]
    if let Some(real) = REAL_STDERR.get().and_then(|f| f.try_clone().ok()) {
        return ProgressDrawTarget::term(
            console::Term::read_write_pair(std::io::stdin(), real),
            20,
        );
    }
    ProgressDrawTarget::stderr()
}

/// While the guard lives, lines other code writes on stderr are printed above `mp`'s
/// bars instead of through them.
pub fn drawing(mp: &MultiProgress) -> DrawingGuard {
    *DRAWING.lock().unwrap_or_else(|e| e.into_inner()) = Some(mp.clone());
    DrawingGuard
}

/// See [`drawing`].
pub struct DrawingGuard;

impl Drop for DrawingGuard {
    fn drop(&mut self) {
        *DRAWING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::is_shuttle_noise;

    #[test]
    fn only_shuttles_fixed_lines_are_noise() {
        assert!(is_shuttle_noise("test panicked in task 'task-1'\n"));
        assert!(is_shuttle_noise("test panicked in task 'main-thread'"));
        assert!(is_shuttle_noise("Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE is not set. If either of those are set then the backtrace of each task will be collected and printed as part of the panic message.\n"));
        assert!(!is_shuttle_noise("error: --cpus 0 is out of range\n"));
        assert!(!is_shuttle_noise("test panicked in task 'x' and more\n"));
        assert!(!is_shuttle_noise(
            "thread 'main' panicked at verify/src/scenarios/mod.rs:1:1\n"
        ));
    }
}
