//! The std backend: real threads, a yielding spinlock, and a cell with a busy flag.

use super::{Join, Lock, Platform, TrackedCell};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Real threads. Also the backend for proptest, fuzzing, benchmarks and Miri.
#[derive(Debug)]
pub struct StdPlatform;

/// The std backend's lock: a spinlock that yields while contended, released with a
/// plain store. std's futex mutex releases with an atomic swap; with the kernel's
/// sections this short (an `local_irq_save` pair, a `list_lock` section), that swap was
/// a fifth of a fast-path operation. Never held while a thread waits for something only
/// another thread's progress can give except the lock itself, so yielding is enough.
pub type StdMutex<T> = spin::mutex::SpinMutex<T, spin::relax::Yield>;

impl<T: Send> Lock<T> for StdMutex<T> {
    type Guard<'a>
        = spin::mutex::SpinMutexGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        spin::mutex::SpinMutex::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        spin::mutex::SpinMutex::lock(self)
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        spin::mutex::SpinMutex::try_lock(self)
    }
}

const FREE: usize = 0;
// The top bit marks a writer; the low bits count readers.
const WRITER: usize = 1 << (usize::BITS - 1);

/// An `UnsafeCell` with a reader/writer busy flag. Overlapping exclusive access panics
/// with "concurrent access to tracked cell": on real threads that is the data race the
/// kernel's locking convention exists to prevent.
pub struct StdCell<T> {
    state: AtomicUsize,
    value: UnsafeCell<T>,
}

// SAFETY: every access goes through `with`/`with_mut`, which admit either one writer or
// any number of readers at a time (checked with `state`), like a RwLock that panics
// instead of blocking.
unsafe impl<T: Send> Sync for StdCell<T> {}
// SAFETY: owning the cell owns the value.
unsafe impl<T: Send> Send for StdCell<T> {}

impl<T: Send> TrackedCell<T> for StdCell<T> {
    fn new(value: T) -> Self {
        StdCell {
            state: AtomicUsize::new(FREE),
            value: UnsafeCell::new(value),
        }
    }
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let prev = self.state.fetch_add(1, Ordering::Acquire);
        if prev & WRITER != 0 {
            self.state.fetch_sub(1, Ordering::Release);
            panic!("concurrent access to tracked cell: read while a writer holds it");
        }
        struct Reader<'a>(&'a AtomicUsize);
        impl Drop for Reader<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Release);
            }
        }
        let _r = Reader(&self.state);
        // SAFETY: `state` counts us as a reader and no writer can enter while it is non-zero.
        f(unsafe { &*self.value.get() })
    }
    fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        if self
            .state
            .compare_exchange(FREE, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            panic!("concurrent access to tracked cell: write while another access is in progress");
        }
        struct Writer<'a>(&'a AtomicUsize);
        impl Drop for Writer<'_> {
            fn drop(&mut self) {
                self.0.store(FREE, Ordering::Release);
            }
        }
        let _w = Writer(&self.state);
        // SAFETY: we hold `state == WRITER`, so no other reference to the value exists.
        f(unsafe { &mut *self.value.get() })
    }
}

impl<T: Send + 'static> Join<T> for std::thread::JoinHandle<T> {
    fn join(self) -> T {
        match std::thread::JoinHandle::join(self) {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Platform for StdPlatform {
    const NAME: &'static str = "std";
    const TRACKS_CAUSALITY: bool = false;
    type Mutex<T: Send + 'static> = StdMutex<T>;
    type Cell<T: Send + 'static> = StdCell<T>;
    type Word = StdWord;
    type Counter = StdCounter;
    type JoinHandle<T: Send + 'static> = std::thread::JoinHandle<T>;
    fn spawn<T, F>(f: F) -> Self::JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        std::thread::spawn(f)
    }
    fn yield_now() {
        std::thread::yield_now()
    }
    fn thread_tag() -> u64 {
        // Hashed once per thread: `thread::current()` clones an Arc and the hash is
        // SipHash, together most of a traced fast-path operation's cost.
        thread_local!(static TAG: u64 = super::hash_tag(std::thread::current().id()));
        TAG.with(|t| *t)
    }
}

super::atomic_words!(StdCounter, StdWord, AtomicUsize, Ordering, "std");
