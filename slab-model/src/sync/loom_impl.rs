//! The loom backend: exhaustive exploration of interleavings up to a preemption bound.
//!
//! Limits of loom 0.7.2 that matter for this model: at most 5 threads including the
//! main thread (2 CPUs × task + interrupt handler); `SeqCst` accesses are modelled as
//! `AcqRel`; load buffering is not explored. The model only uses locks and acquire/release
//! counters, so neither gap hides a bug in it.

use super::{Join, Lock, Platform, TrackedCell};
use loom::sync::atomic::{AtomicUsize, Ordering};

/// Runs the model under `loom::model`.
#[derive(Debug)]
pub struct LoomPlatform;

/// `loom::sync::Mutex` behind the [`Lock`] trait.
pub struct LoomMutex<T>(loom::sync::Mutex<T>);

impl<T: Send> Lock<T> for LoomMutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        LoomMutex(loom::sync::Mutex::new(value))
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

/// `loom::cell::UnsafeCell`: loom panics with "Causality violation" when two accesses are
/// not ordered by happens-before — the report for a per-CPU array touched without its
/// irq-off token, or a node list touched without `list_lock`.
pub struct LoomCell<T>(loom::cell::UnsafeCell<T>);

// SAFETY: loom checks every access for causality and runs one thread at a time; the model
// only touches the value inside `with`/`with_mut`.
unsafe impl<T: Send> Sync for LoomCell<T> {}
// SAFETY: owning the cell owns the value.
unsafe impl<T: Send> Send for LoomCell<T> {}

impl<T: Send> TrackedCell<T> for LoomCell<T> {
    fn new(value: T) -> Self {
        LoomCell(loom::cell::UnsafeCell::new(value))
    }
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: loom's tracking panics before handing out a pointer that races.
        self.0.with(|p| f(unsafe { &*p }))
    }
    fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: as above; exclusivity is what loom verifies.
        self.0.with_mut(|p| f(unsafe { &mut *p }))
    }
}

/// `loom::thread::JoinHandle`.
pub struct LoomJoin<T>(loom::thread::JoinHandle<T>);

impl<T: Send + 'static> Join<T> for LoomJoin<T> {
    fn join(self) -> T {
        match self.0.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Platform for LoomPlatform {
    const NAME: &'static str = "loom";
    const TRACKS_CAUSALITY: bool = true;
    type Mutex<T: Send + 'static> = LoomMutex<T>;
    type Cell<T: Send + 'static> = LoomCell<T>;
    type Word = LoomWord;
    type Counter = LoomCounter;
    type JoinHandle<T: Send + 'static> = LoomJoin<T>;
    fn spawn<T, F>(f: F) -> Self::JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        LoomJoin(loom::thread::spawn(f))
    }
    fn yield_now() {
        loom::thread::yield_now()
    }
    fn thread_tag() -> u64 {
        super::hash_tag(loom::thread::current().id())
    }
}

super::atomic_words!(LoomCounter, LoomWord, AtomicUsize, Ordering, "loom");
