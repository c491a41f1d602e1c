//! The platform abstraction: every lock, atomic, cell and thread the model uses.
//!
//! The model is generic over one [`Platform`] so that the *same* model code runs on real
//! threads ([`StdPlatform`]), under loom's exhaustive explorer ([`LoomPlatform`], feature
//! `loom`) and under shuttle's randomized schedulers ([`ShuttlePlatform`], feature
//! `shuttle`). A trait (rather than a `cfg` facade in the style of tokio's `loom` module)
//! lets one `cargo test --features loom,shuttle` run all three backends in one invocation.
//!
//! Rules the model follows so that the backends stay interchangeable:
//! * no statics: every lock and cell is created inside the model closure;
//! * no spinning: locks block, and the only busy loop (none today) would call
//!   [`Platform::yield_now`], or loom would hit its branch limit;
//! * kernel data that the kernel protects by *convention* (per-CPU arrays under irq-off,
//!   node lists under `list_lock`) lives in a [`TrackedCell`] beside a separate lock, so a
//!   mutation that forgets the lock still compiles, and loom reports the unordered access
//!   as a causality violation instead of the type system hiding the bug.

use std::ops::DerefMut;

/// The backends' counter and peek word: the same wrappers around each backend's
/// `AtomicUsize` (`$atomic`, `$ordering` its `Ordering`), with the orderings the traits
/// document.
macro_rules! atomic_words {
    ($counter:ident, $word:ident, $atomic:ty, $ordering:ident, $what:literal) => {
        #[doc = concat!("The ", $what, " `AtomicUsize` with the orderings the model wants.")]
        #[derive(Debug)]
        pub struct $counter($atomic);

        impl super::AtomicCounter for $counter {
            fn new(v: usize) -> Self {
                $counter(<$atomic>::new(v))
            }
            fn load(&self) -> usize {
                self.0.load($ordering::Acquire)
            }
            fn store(&self, v: usize) {
                self.0.store(v, $ordering::Release)
            }
            fn fetch_add(&self, v: usize) -> usize {
                self.0.fetch_add(v, $ordering::AcqRel)
            }
            fn fetch_sub(&self, v: usize) -> usize {
                self.0.fetch_sub(v, $ordering::AcqRel)
            }
        }

        #[doc = concat!("A relaxed ", $what, " `AtomicUsize` for the kernel's deliberate unlocked reads.")]
        #[derive(Debug)]
        pub struct $word($atomic);

        impl super::PeekWord for $word {
            fn new(v: usize) -> Self {
                $word(<$atomic>::new(v))
            }
            fn read_once(&self) -> usize {
                self.0.load($ordering::Relaxed)
            }
            fn write_once(&self, v: usize) {
                self.0.store(v, $ordering::Relaxed)
            }
            fn publish(&self, v: usize) {
                self.0.store(v, $ordering::Release)
            }
            fn read_dependent(&self) -> usize {
                self.0.load($ordering::Acquire)
            }
        }
    };
}
pub(crate) use atomic_words;

mod std_impl;
pub use std_impl::{StdCell, StdMutex, StdPlatform};

#[cfg(feature = "loom")]
mod loom_impl;
#[cfg(feature = "loom")]
pub use loom_impl::LoomPlatform;

#[cfg(feature = "shuttle")]
mod shuttle_impl;
#[cfg(feature = "shuttle")]
pub use shuttle_impl::ShuttlePlatform;

/// A mutual-exclusion lock whose guard is a value: holding the guard is the proof.
pub trait Lock<T>: Send + Sync {
    /// The guard; dropping it unlocks.
    type Guard<'a>: DerefMut<Target = T>
    where
        Self: 'a;
    /// A new unlocked lock around `value`.
    fn new(value: T) -> Self;
    /// Blocks until the lock is held. Poisoning is ignored: a panic inside the model is
    /// already the failure being reported.
    fn lock(&self) -> Self::Guard<'_>;
    /// Takes the lock if it is free (the kernel's `spin_trylock`, used by `cache_reap`).
    fn try_lock(&self) -> Option<Self::Guard<'_>>;
}

/// A cell whose accesses the backend checks for exclusivity.
///
/// `with_mut` hands out `&mut T` from `&self`; the model guarantees exclusivity by holding
/// the lock or irq-off token the kernel would hold. The backends *check* that guarantee:
/// loom through its causality tracking, std and shuttle through a busy flag that panics on
/// overlapping access (so a broken guarantee is a reported failure, never undefined
/// behaviour).
pub trait TrackedCell<T>: Send + Sync {
    /// A new cell.
    fn new(value: T) -> Self;
    /// Shared access.
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R;
    /// Exclusive access.
    fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

/// A word-sized atomic counter (jiffies, statistics).
pub trait AtomicCounter: Send + Sync {
    /// A new counter.
    fn new(v: usize) -> Self;
    /// Acquire load.
    fn load(&self) -> usize;
    /// Release store.
    fn store(&self, v: usize);
    /// AcqRel fetch-add; returns the previous value.
    fn fetch_add(&self, v: usize) -> usize;
    /// AcqRel fetch-sub (`atomic_dec_return` and friends); returns the previous value.
    fn fetch_sub(&self, v: usize) -> usize;
}

/// A word the kernel reads (and in a few places writes) **without** the lock that
/// otherwise protects it: the spirit of `READ_ONCE` / `WRITE_ONCE` on an `int` or a
/// pointer. Every access is a scheduling point under loom and shuttle, and never by itself
/// a reported race: the kernel makes these accesses on purpose and re-checks (or
/// tolerates) what it read once it holds the lock. The accesses are relaxed: a peek adds
/// no happens-before edge, so it cannot hide a race elsewhere (an acquire load would
/// order everything after it behind the writer's section — stronger than the kernel).
///
/// Only the places listed in docs/concurrency.md ("unlocked read") use it. An access the
/// kernel does not make unlocked must go through a [`TrackedCell`] and its lock.
pub trait PeekWord: Send + Sync {
    /// A new word.
    fn new(v: usize) -> Self;
    /// `READ_ONCE(word)`.
    fn read_once(&self) -> usize;
    /// `WRITE_ONCE(word, v)`.
    fn write_once(&self, v: usize);
    /// A pointer publication (`rcu_assign_pointer` semantics: a release store). Era B's
    /// `cachep->cpu_cache = cpu_cache` is a plain store in 4.4; readers rely on the
    /// address dependency of `this_cpu_ptr` and the architecture's store order to see the
    /// initialised arrays. loom has no `consume` ordering, so the model gives the pair
    /// release / acquire semantics (docs/concurrency.md, "Deliberate differences").
    fn publish(&self, v: usize);
    /// The dependent read of a published pointer (an acquire load).
    fn read_dependent(&self) -> usize;
}

/// A handle to a spawned model thread.
pub trait Join<T>: Send {
    /// Waits for the thread; a panic in the thread is resumed in the caller.
    fn join(self) -> T;
}

/// One backend: std threads, loom or shuttle.
pub trait Platform: Send + Sync + Sized + 'static {
    /// Short name printed in reports (`std`, `loom`, `shuttle`).
    const NAME: &'static str;
    /// Whether the backend checks every cell access for happens-before (loom). Backends
    /// that do not (std, shuttle) get an explicit overlap check on racy model paths.
    const TRACKS_CAUSALITY: bool;
    /// A blocking lock.
    type Mutex<T: Send + 'static>: Lock<T>;
    /// A checked cell.
    type Cell<T: Send + 'static>: TrackedCell<T>;
    /// An atomic counter.
    type Counter: AtomicCounter;
    /// A word read without its lock ([`PeekWord`]).
    type Word: PeekWord;
    /// Join handle of a spawned thread.
    type JoinHandle<T: Send + 'static>: Join<T>;
    /// Spawns a model thread.
    fn spawn<T, F>(f: F) -> Self::JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static;
    /// A scheduling point with no other effect.
    fn yield_now();
    /// A tag of the running model thread, stable for its life and distinct from every
    /// other live model thread's; never a scheduling point. The trace uses it to name
    /// the context whose access failed.
    fn thread_tag() -> u64;
}

/// A deterministic hash of a thread id (std's `DefaultHasher::new` has fixed keys).
pub(crate) fn hash_tag(id: impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish() & !(1 << 63)
}
