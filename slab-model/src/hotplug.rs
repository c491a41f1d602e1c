//! CPU hot-plug: `cpu_down` and `cpu_up` with SLAB's notifier (`cpuup_callback`) —
//! `cpuup_prepare`, `start_cpu_timer`, the cancel of the reap work, `take_cpu_down`,
//! `cpuup_canceled` — and era B's `get_online_cpus`.
//!
//! Sources: mm/slab.c v2.6.24 lines 1159–1381 and kernel/cpu.c (`_cpu_down`, `_cpu_up`);
//! mm/slab.c v4.4.11 lines 1052–1285 and kernel/cpu.c (`cpu_hotplug_begin`,
//! `get_online_cpus`). The locks, per era:
//!
//! * **Era A (2.6.24)**: `cpu_add_remove_lock`, then `CPU_LOCK_ACQUIRE` takes
//!   `cache_chain_mutex` and holds it across the whole operation — preparation,
//!   `stop_machine`, `CPU_DEAD` — until `CPU_LOCK_RELEASE`. Every other chain-mutex holder
//!   (tune, shrink, create, destroy, the reaper's trylock) is excluded throughout.
//! * **Era B (4.4)**: `cpu_add_remove_lock`, then `cpu_hotplug_begin` (the writer side of
//!   `get_online_cpus`: `kmem_cache_create`, `kmem_cache_destroy` and `kmem_cache_shrink`
//!   are excluded), and `slab_mutex` only around `cpuup_prepare` and `cpuup_canceled`.
//!   `/proc/slabinfo` writes take only `slab_mutex`, so a tune can run while a CPU leaves
//!   `cpu_online_mask`.
//!
//! Deliberate difference: the kernel's node structs and arrays are `kmalloc`ed from the
//! slab caches themselves; the model's are host memory (as everywhere), so the re-entry
//! of a kmalloc cache's own `list_lock` that the 2.6.16 fix removed (free the detached
//! arrays only after unlocking) cannot happen here. The unlock-then-free order is kept.

use crate::cpu::{Context, IrqState, Traced};
use crate::error::SlabError;
use crate::machine::Machine;
use crate::mutation::Mutation;
use crate::profile::Era;
use crate::site::Site;
use crate::sync::{AtomicCounter, Lock, Platform};
use crate::trace::{EventKind, KFn, LockName};

/// An era-B `get_online_cpus()` section (dropping it is `put_online_cpus()`): while any
/// is open, `cpu_hotplug_begin` waits.
pub(crate) struct OnlineCpusRead<'m, P: Platform> {
    m: &'m Machine<P>,
}

impl<P: Platform> Drop for OnlineCpusRead<'_, P> {
    fn drop(&mut self) {
        // atomic_dec_return(&cpu_hotplug.refcount); the writer re-checks it.
        let was = self.m.hotplug_refcount.fetch_sub(1);
        assert!(was > 0, "put_online_cpus without get_online_cpus");
    }
}

impl<P: Platform> Machine<P> {
    /// `get_online_cpus()` (era B; era A's SLAB paths rely on the chain mutex instead and
    /// get `None`): `mutex_lock(&cpu_hotplug.lock)`, `refcount++`, unlock. Blocks while a
    /// hot-plug operation holds the lock.
    /// `lane` is the caller's trace lane and CPU (the lock section is traced).
    pub(crate) fn get_online_cpus(&self, lane: (u16, usize)) -> Option<OnlineCpusRead<'_, P>> {
        if self.era() == Era::A {
            return None;
        }
        self.cover_site(Site::CpuHotplugLock);
        let g = self.traced_lock(&self.cpu_hotplug, lane, u32::MAX, LockName::CpuHotplug);
        self.hotplug_refcount.fetch_add(1);
        drop(g);
        Some(OnlineCpusRead { m: self })
    }
}

impl<'m, P: Platform> Context<'m, P> {
    /// `cpu_down(cpu)` (eras A, B), process context, interrupts on. Under
    /// `cpu_add_remove_lock` it checks the request (before anything changes: an unknown
    /// CPU, one already offline, the last online CPU), then runs the notifier's steps
    /// under the era's locks (module docs): `CPU_DOWN_PREPARE` cancels the CPU's reap
    /// work, waiting for a running `cache_reap`; `take_cpu_down` takes it out of
    /// `cpu_online_mask` under `stop_machine`; `CPU_DEAD` runs `cpuup_canceled`.
    pub fn cpu_down(&mut self, cpu: usize) -> Result<(), SlabError> {
        let m = self.m;
        m.check_cpu(cpu)?;
        self.check_running()?;
        m.cover_site(Site::CpuAddRemoveLock);
        let _maps = self.lock(&m.cpu_add_remove_lock, u32::MAX, LockName::CpuAddRemove);
        if !m.cpu_online(cpu) {
            return Err(SlabError::CpuAlreadyOffline { cpu });
        }
        if m.num_online_cpus() == 1 {
            return Err(SlabError::LastCpuOnline { cpu });
        }
        match m.era() {
            Era::A => {
                // CPU_LOCK_ACQUIRE .. CPU_LOCK_RELEASE.
                m.cover_site(Site::ChainMutex);
                let chain = self.lock(&m.chain, u32::MAX, self.chain_lock_name());
                self.cancel_reap_work(cpu);
                self.take_cpu_down(cpu);
                let ids = chain.ids.clone();
                self.cpuup_canceled(cpu, &ids);
                drop(chain);
            }
            Era::B => {
                let hotplug = self.cpu_hotplug_begin();
                self.cancel_reap_work(cpu);
                self.take_cpu_down(cpu);
                m.cover_site(Site::ChainMutex);
                let chain = self.lock(&m.chain, u32::MAX, self.chain_lock_name());
                let ids = chain.ids.clone();
                self.cpuup_canceled(cpu, &ids);
                drop(chain);
                drop(hotplug);
            }
        }
        m.audit_after_op();
        Ok(())
    }

    /// `cpu_up(cpu)` (eras A, B), process context, interrupts on. Checks (an unknown
    /// CPU, one already online) under `cpu_add_remove_lock` before anything changes, then
    /// `CPU_UP_PREPARE` (`cpuup_prepare`, era A inside the chain mutex taken by
    /// `CPU_LOCK_ACQUIRE`, era B under `slab_mutex` inside `cpu_hotplug_begin`), `__cpu_up`
    /// (the CPU joins `cpu_online_mask`), `CPU_ONLINE` (`start_cpu_timer`: its reap work is
    /// armed again).
    pub fn cpu_up(&mut self, cpu: usize) -> Result<(), SlabError> {
        let m = self.m;
        m.check_cpu(cpu)?;
        self.check_running()?;
        m.cover_site(Site::CpuAddRemoveLock);
        let _maps = self.lock(&m.cpu_add_remove_lock, u32::MAX, LockName::CpuAddRemove);
        if m.cpu_online(cpu) {
            return Err(SlabError::CpuAlreadyOnline { cpu });
        }
        match m.era() {
            Era::A => {
                m.cover_site(Site::ChainMutex);
                let chain = self.lock(&m.chain, u32::MAX, self.chain_lock_name());
                let ids = chain.ids.clone();
                self.cpuup_prepare(cpu, &ids);
                self.cpu_set_online(cpu);
                self.start_cpu_timer(cpu);
                drop(chain);
            }
            Era::B => {
                let hotplug = self.cpu_hotplug_begin();
                m.cover_site(Site::ChainMutex);
                let chain = self.lock(&m.chain, u32::MAX, self.chain_lock_name());
                let ids = chain.ids.clone();
                self.cpuup_prepare(cpu, &ids);
                drop(chain);
                self.cpu_set_online(cpu);
                self.start_cpu_timer(cpu);
                drop(hotplug);
            }
        }
        m.audit_after_op();
        Ok(())
    }

    /// `cpu_hotplug_begin()` (era B): take `cpu_hotplug.lock` and keep it once no
    /// `get_online_cpus` reader is left; until then drop it and wait.
    fn cpu_hotplug_begin(&self) -> Traced<'m, <P::Mutex<()> as Lock<()>>::Guard<'m>> {
        let m = self.m;
        loop {
            m.cover_site(Site::CpuHotplugLock);
            let g = self.lock(&m.cpu_hotplug, u32::MAX, LockName::CpuHotplug);
            if m.hotplug_refcount.load() == 0 {
                return g;
            }
            drop(g);
            P::yield_now();
        }
    }

    /// `CPU_DOWN_PREPARE`: `cancel_delayed_work_sync(&per_cpu(slab_reap_work, cpu))` (era A
    /// `cancel_rearming_delayed_work`): waits for a `cache_reap` of that CPU that is
    /// running, and disarms the work so it does not run again.
    fn cancel_reap_work(&self, cpu: usize) {
        self.m.cover_site(Site::ReapWork);
        let mut armed = self.lock(
            &self.m.reap_work[cpu],
            u32::MAX,
            LockName::ReapWork { cpu: cpu as u16 },
        );
        *armed = false;
    }

    /// `CPU_ONLINE`: `start_cpu_timer(cpu)` (eras A, B) arms the CPU's reap work, under
    /// its work lock.
    fn start_cpu_timer(&self, cpu: usize) {
        self.m.cover_site(Site::ReapWork);
        *self.lock(
            &self.m.reap_work[cpu],
            u32::MAX,
            LockName::ReapWork { cpu: cpu as u16 },
        ) = true;
    }

    /// `__cpu_up` (eras A, B): the CPU joins `cpu_online_mask`; it has run nothing yet, so
    /// no lock or irq state is needed.
    fn cpu_set_online(&self, cpu: usize) {
        self.m.set_cpu_online(cpu, true);
        self.trace(
            u32::MAX,
            EventKind::CpuOnline {
                cpu: cpu as u16,
                online: true,
            },
        );
    }

    /// `take_cpu_down` under `stop_machine` (eras A, B; era A still holds the chain
    /// mutex): with every online CPU's irq token held, so no CPU is inside an irq-off
    /// section and none is using its array, the CPU leaves `cpu_online_mask`. Contexts
    /// that were on it continue on another CPU from their next `local_irq_save` on.
    fn take_cpu_down(&self, cpu: usize) {
        self.enter(u32::MAX, KFn::TakeCpuDown);
        self.m.cover_site(Site::StopMachine);
        if self.m.mutations().has(Mutation::TakeCpuDownUnstopped) {
            self.m.set_cpu_online(cpu, false);
        } else {
            self.stop_machine(|| self.m.set_cpu_online(cpu, false));
        }
        self.trace(
            u32::MAX,
            EventKind::CpuOnline {
                cpu: cpu as u16,
                online: false,
            },
        );
    }

    /// `cpuup_prepare(cpu)` (eras A, B), under the chain mutex, before the CPU is online.
    /// First, for every cache, the node struct (re-allocated only if a
    /// `hotplug-frees-node` model freed it) and, under `spin_lock_irq`, `free_limit =
    /// (1 + nr_cpus_node(node)) * batchcount + num` — counting the node's online CPUs,
    /// which do not yet include this one. Then, per cache, era A's new per-CPU array, and
    /// under `spin_lock_irq` the shared array and alien set where the node has none
    /// (both were detached when its last CPU went down); the unused new ones are freed
    /// after the unlock.
    fn cpuup_prepare(&self, cpu: usize, ids: &[u32]) {
        let m = self.m;
        self.enter(u32::MAX, KFn::CpuupPrepare);
        let node = m.cpus()[cpu].node;
        for &id in ids {
            let cachep = m.cache_by_id(id);
            let t = cachep.tunables();
            let n = &cachep.nodes[node];
            let free_limit = crate::geometry::free_limit(m.nr_cpus_node(node), &t, cachep.num());
            if n.is_freed() {
                n.reinit_node(free_limit);
            }
            let irq = self.local_irq_disable();
            let lock = n.spin_lock(&irq);
            n.lists(&lock, |l| l.free_limit = free_limit);
            n.limit_deficit
                .store(1, std::sync::atomic::Ordering::SeqCst);
            drop(lock);
            self.local_irq_enable(irq);
        }
        for &id in ids {
            let cachep = m.cache_by_id(id);
            let t = cachep.tunables();
            if m.era() == Era::A {
                cachep.install_cpu_array(cpu);
            }
            let n = &cachep.nodes[node];
            let irq = self.local_irq_disable();
            let lock = n.spin_lock(&irq);
            n.lists(&lock, |l| {
                if l.shared.is_none() && t.shared > 0 {
                    l.replace_shared(Some(crate::array_cache::ArrayCache::new(
                        t.shared * t.batchcount,
                        crate::array_cache::BAADF00D,
                    )));
                }
            });
            if m.numa() && !n.alien_attached() {
                self.reattach_alien(&cachep, node, &lock, &irq, t.limit);
            }
            drop(lock);
            self.local_irq_enable(irq);
        }
    }

    /// `cpuup_canceled(cpu)` (eras A, B; `CPU_DEAD`), under the chain mutex, the CPU
    /// already out of `cpu_online_mask`. For every cache: era A takes the dead CPU's array
    /// (`array[cpu] = NULL`); under `spin_lock_irq(&n->list_lock)`: `free_limit -=
    /// batchcount`, `free_block` of the dead CPU's objects (era B: `nc->avail = 0`); if
    /// the node still has an online CPU, done. Otherwise the shared array's objects are
    /// `free_block`ed too and `n->shared` and `n->alien` detached; after the unlock the
    /// shared array is freed and the alien set drained (`drain_alien_cache`) and freed.
    /// The node struct itself stays (a remote `kmalloc_node` or free still reaches it).
    /// Then, per cache, `drain_freelist` of the node — era A with `free_objects` as the
    /// slab count (the over-estimate "mm/slab: Fix drain freelist excessively" corrected
    /// in 3.11, shipped as is), era B with `slabs_tofree`.
    fn cpuup_canceled(&self, cpu: usize, ids: &[u32]) {
        let m = self.m;
        let muts = m.mutations();
        self.enter(u32::MAX, KFn::CpuupCanceled);
        let era = m.era();
        let node = m.cpus()[cpu].node;
        // cpumask_of_node(node): the dead CPU is no longer in it. Stable: hot-plug
        // operations are serialised by cpu_add_remove_lock.
        let node_has_cpus = m.nr_cpus_node(node) > 0;
        let skip_array = muts.has(Mutation::HotplugSkipsDeadArray);
        for &id in ids {
            let cachep = m.cache_by_id(id);
            let n = &cachep.nodes[node];
            if muts.has(Mutation::TakeCpuDownUnstopped)
                && !P::TRACKS_CAUSALITY
                && self.cpu_irq_held(cpu)
            {
                panic!(
                    "data race: cpuup_canceled drains cpu{cpu}'s array_cache of cache {} while cpu{cpu} still has interrupts off (take_cpu_down without stop_machine)",
                    cachep.name
                );
            }
            let dead_a = if era == Era::A {
                let nc = cachep.take_dead_cpu_array(cpu);
                // The slip: the array is unhooked and freed with its objects.
                if skip_array {
                    None
                } else {
                    nc
                }
            } else {
                None
            };
            if n.is_freed() {
                continue;
            }
            let irq = self.local_irq_disable();
            let lock = n.spin_lock(&irq);
            let batch = cachep.tunables().batchcount;
            if !muts.has(Mutation::HotplugKeepsFreeLimit) {
                n.lists(&lock, |l| l.free_limit -= batch);
            }
            let dead = match era {
                Era::A => dead_a.unwrap_or_default(),
                Era::B if skip_array => Vec::new(),
                Era::B => cachep.drain_dead_cpu_array(cpu),
            };
            let mut doomed = if dead.is_empty() {
                Vec::new()
            } else {
                self.free_block(&cachep, &dead, node, &crate::alloc::Access::Locked(&lock))
            };
            if node_has_cpus {
                self.spin_unlock_irq_slabs_destroy(&cachep, doomed, lock, irq);
                continue;
            }
            let (old_id, shared) = n.lists(&lock, |l| {
                let id = l.shared_id;
                let entries = l
                    .shared
                    .as_ref()
                    .map(|s| s.entry.clone())
                    .unwrap_or_default();
                l.replace_shared(None);
                (id, entries)
            });
            if !shared.is_empty() {
                doomed.extend(self.free_block(
                    &cachep,
                    &shared,
                    node,
                    &crate::alloc::Access::Locked(&lock),
                ));
            }
            let had_alien = n.alien_attached();
            n.set_alien_attached(&lock, false);
            // Era A's free_block destroys inside the lock; era B defers to slabs_destroy
            // after the alien drain.
            let doomed = match era {
                Era::A => {
                    self.slabs_destroy(&cachep, doomed, IrqState::Off(&irq));
                    Vec::new()
                }
                Era::B => doomed,
            };
            drop(lock);
            self.local_irq_enable(irq);
            n.kfree_shared(old_id);
            if had_alien {
                self.drain_alien_set(&cachep, node);
            }
            self.slabs_destroy(&cachep, doomed, IrqState::On);
            if muts.has(Mutation::HotplugFreesNode) {
                // 2.6.15: the node struct went with its last CPU.
                n.kfree_node();
            }
        }
        for &id in ids {
            let cachep = m.cache_by_id(id);
            let n = &cachep.nodes[node];
            if n.is_freed() {
                continue;
            }
            self.site(cachep.id, Site::PeekFreeObjects);
            let free_objects = n.peek_free_objects();
            let tofree = match era {
                Era::A => free_objects,
                Era::B => free_objects.div_ceil(cachep.num()),
            };
            self.drain_freelist(&cachep, node, tofree);
        }
    }
}
