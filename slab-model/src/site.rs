//! Concurrency points: every place where the model lets loom and shuttle switch contexts,
//! named after the kernel operation it stands for.
//!
//! docs/concurrency.md maps each kernel concurrency point of every modelled function, per
//! era, to one of these sites; a test (tests/concurrency_map.rs) keeps the map honest: each
//! site it names exists here, every site here is in the map, and some loom scenario reaches
//! it. A run records the sites it passed in a bit set ([`crate::machine::Machine::sites`]),
//! host-side like the function coverage, so recording adds no scheduling point.

use serde::Serialize;
use std::fmt;

macro_rules! sites {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// One kind of concurrency point.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[repr(u8)]
        pub enum Site {
            $($(#[$doc])* $variant,)*
        }
        impl Site {
            /// Every site, in map order.
            pub const ALL: &'static [Site] = &[$(Site::$variant,)*];
            /// The name the map uses.
            pub fn name(self) -> &'static str {
                match self { $(Site::$variant => $name,)* }
            }
        }
    };
}

sites! {
    /// `local_irq_disable` / `local_irq_save` on the context's CPU (the CPU token).
    IrqDisable => "local_irq_disable",
    /// `local_irq_enable` / `local_irq_restore`.
    IrqEnable => "local_irq_enable",
    /// `spin_lock(&n->list_lock)` (with interrupts already off).
    ListLock => "spin_lock(list_lock)",
    /// `spin_lock(&alien->lock)` (`cache_free_alien`, `drain_alien_cache`).
    AlienLock => "spin_lock(alien)",
    /// `spin_trylock_irq(&alien->lock)` in `reap_alien`.
    AlienTrylock => "spin_trylock(alien)",
    /// `mutex_lock(&cache_chain_mutex)` / `mutex_lock(&slab_mutex)`.
    ChainMutex => "mutex_lock(chain)",
    /// `mutex_trylock` of the chain mutex in `cache_reap`.
    ChainTrylock => "mutex_trylock(chain)",
    /// `zone->lock` in the page allocator (`kmem_getpages`, `kmem_freepages`).
    ZoneLock => "spin_lock(zone)",
    /// `cache_grow` enables interrupts before the page allocation.
    GrowWindowOpen => "grow_window_open",
    /// `cache_grow` disables them again (on the CPU the task now runs on).
    GrowWindowClose => "grow_window_close",
    /// The task slept in the page allocator (inside the window, after `kmem_getpages`)
    /// and may resume on another CPU before `alloc_slabmgmt`.
    SleepAfterGetpages => "sleep_after_getpages",
    /// `on_each_cpu(fn)`: `fn` runs on the target CPU with its interrupts off (era A
    /// `do_ccupdate_local`, `do_drain` of shrink in both eras).
    OnEachCpu => "on_each_cpu",
    /// Era B `do_tune_cpucache`: `cachep->cpu_cache = cpu_cache` (one pointer for all CPUs).
    PublishCpuCache => "publish(cpu_cache)",
    /// Era B `cpu_cache_get`: `this_cpu_ptr(cachep->cpu_cache)`, read with interrupts off
    /// but without any lock against the tuner.
    ReadCpuCache => "read(cpu_cache)",
    /// Era B `kick_all_cpus_sync()`: every CPU passes an irq-enabled point once.
    KickAllCpusSync => "kick_all_cpus_sync",
    /// `drain_array`: `ac->avail` of a CPU array read with interrupts on.
    PeekAcAvail => "peek(ac->avail)",
    /// `drain_array`: `ac->touched` of a CPU array read with interrupts on.
    PeekAcTouched => "peek(ac->touched)",
    /// `drain_array`: `ac->touched = 0` of a CPU array written with interrupts on.
    ClearAcTouched => "clear(ac->touched)",
    /// `n->shared` read without `list_lock` (`drain_cpu_caches`, `cache_reap`).
    PeekSharedPtr => "peek(n->shared)",
    /// `drain_array`: `shared->avail` read without `list_lock`.
    PeekSharedAvail => "peek(shared->avail)",
    /// `drain_array`: `shared->touched` read without `list_lock`.
    PeekSharedTouched => "peek(shared->touched)",
    /// `drain_array`: `shared->touched = 0` written without `list_lock`.
    ClearSharedTouched => "clear(shared->touched)",
    /// `cache_reap`: `n->next_reap` read and written without `list_lock`.
    NextReap => "racy(n->next_reap)",
    /// `cache_reap`: `n->free_touched` read and cleared without `list_lock`.
    FreeTouched => "racy(n->free_touched)",
    /// `cache_reap`: `n->free_limit` read without `list_lock`.
    PeekFreeLimit => "peek(n->free_limit)",
    /// `drain_freelist`: `list_empty(&n->slabs_free)` without `list_lock`.
    PeekSlabsFree => "peek(slabs_free)",
    /// `__cache_shrink`: `n->free_objects` read without `list_lock` (the slab count).
    PeekFreeObjects => "peek(n->free_objects)",
    /// `__cache_shrink`: `list_empty(slabs_full) || list_empty(slabs_partial)` unlocked.
    PeekSlabsInuse => "peek(slabs_full/partial)",
    /// `reap_alien`: `ac->avail` of an alien array read before the trylock.
    PeekAlienAvail => "peek(alien->avail)",
    /// `slab_destroy` running with interrupts on (after `spin_unlock_irq`).
    SlabDestroyIrqOn => "slab_destroy(irq on)",
    /// `slab_destroy` running with interrupts off.
    SlabDestroyIrqOff => "slab_destroy(irq off)",
    /// `mutex_lock(&cpu_add_remove_lock)`: one hot-plug operation at a time.
    CpuAddRemoveLock => "mutex_lock(cpu_add_remove)",
    /// Era B `get_online_cpus` / `cpu_hotplug_begin`: `mutex_lock(&cpu_hotplug.lock)`
    /// (readers bump the refcount and drop it; the writer keeps it until
    /// `cpu_hotplug_done`, waiting for the refcount to drop to zero).
    CpuHotplugLock => "mutex_lock(cpu_hotplug)",
    /// `cancel_delayed_work_sync` / `cancel_rearming_delayed_work` of a CPU's reap work
    /// (waits for a running `cache_reap`), and the work item's own run.
    ReapWork => "reap_work",
    /// `take_cpu_down` under `stop_machine`: every online CPU has interrupts off while
    /// the CPU leaves `cpu_online_mask`.
    StopMachine => "stop_machine",
}

impl Site {
    /// Whether the site is an access the kernel makes without the lock that otherwise
    /// protects the data (a peek, a racy write) rather than a publish, IPI or sleep.
    pub fn is_unlocked_access(self) -> bool {
        matches!(
            self,
            Site::ReadCpuCache
                | Site::PeekAcAvail
                | Site::PeekAcTouched
                | Site::ClearAcTouched
                | Site::PeekSharedPtr
                | Site::PeekSharedAvail
                | Site::PeekSharedTouched
                | Site::ClearSharedTouched
                | Site::NextReap
                | Site::FreeTouched
                | Site::PeekFreeLimit
                | Site::PeekSlabsFree
                | Site::PeekFreeObjects
                | Site::PeekSlabsInuse
                | Site::PeekAlienAvail
        )
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Site;

    /// The map names every unlocked access by what it does to the word — `peek(..)`,
    /// `read(..)`, `clear(..)`, `racy(..)` — and every other site by the lock, IPI or
    /// sleep it is; counterexample pages colour a row by this class, so the two must
    /// agree for every site.
    #[test]
    fn the_unlocked_accesses_are_exactly_the_sites_named_as_accesses() {
        let access = |n: &str| {
            ["peek(", "read(", "clear(", "racy("]
                .iter()
                .any(|p| n.starts_with(p))
        };
        for &s in Site::ALL {
            assert_eq!(s.is_unlocked_access(), access(s.name()), "{}", s.name());
        }
        assert!(Site::ALL.iter().any(|s| s.is_unlocked_access()));
        assert!(Site::ALL.iter().any(|s| !s.is_unlocked_access()));
    }

    /// Traces and counterexample pages print a site by its map name.
    #[test]
    fn a_site_displays_as_its_map_name() {
        for &s in Site::ALL {
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(Site::ListLock.to_string(), "spin_lock(list_lock)");
    }
}
