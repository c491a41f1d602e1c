//! The shuttle backend: randomized, PCT and DFS schedulers for configurations too large for
//! loom. shuttle models every atomic as `SeqCst` and has no data-race detector; races on
//! tracked cells show up through the busy-flag cell (when an access spans a scheduling
//! point) and, above all, through the audit.

use super::{Join, Lock, Platform, StdCell};
use shuttle::sync::atomic::{AtomicUsize, Ordering};

/// Runs the model under a shuttle scheduler.
#[derive(Debug)]
pub struct ShuttlePlatform;

/// `shuttle::sync::Mutex` behind the [`Lock`] trait.
pub struct ShuttleMutex<T>(shuttle::sync::Mutex<T>);

impl<T: Send> Lock<T> for ShuttleMutex<T> {
    type Guard<'a>
        = shuttle::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        ShuttleMutex(shuttle::sync::Mutex::new(value))
    }
    fn lock(&self) -> Self::Guard<'_> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        match self.0.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

/// `shuttle::thread::JoinHandle`.
pub struct ShuttleJoin<T>(shuttle::thread::JoinHandle<T>);

impl<T: Send + 'static> Join<T> for ShuttleJoin<T> {
    fn join(self) -> T {
        match self.0.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Platform for ShuttlePlatform {
    const NAME: &'static str = "shuttle";
    const TRACKS_CAUSALITY: bool = false;
    type Mutex<T: Send + 'static> = ShuttleMutex<T>;
    type Cell<T: Send + 'static> = StdCell<T>;
    type Word = ShuttleWord;
    type Counter = ShuttleCounter;
    type JoinHandle<T: Send + 'static> = ShuttleJoin<T>;
    fn spawn<T, F>(f: F) -> Self::JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        ShuttleJoin(shuttle::thread::spawn(f))
    }
    fn yield_now() {
        shuttle::thread::yield_now()
    }
    fn thread_tag() -> u64 {
        usize::from(shuttle::current::me()) as u64
    }
}

super::atomic_words!(
    ShuttleCounter,
    ShuttleWord,
    AtomicUsize,
    Ordering,
    "shuttle"
);
