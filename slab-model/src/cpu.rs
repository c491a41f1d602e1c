//! CPUs, the irq-off token, and execution contexts.
//!
//! Disabling interrupts on CPU k is modelled as holding CPU k's irq lock: the
//! [`IrqOff`] token. Only its holder may touch CPU k's `array_cache`s, exactly the
//! kernel's `check_irq_off()` rule. An interrupt handler bound to CPU k must take the same
//! token, so it runs only while CPU k has interrupts enabled — for example inside a task's
//! `cache_grow` irq-enable window. Two process contexts bound to one CPU (a task and the
//! reaper) run as separate model threads: where neither has interrupts off the model lets
//! them interleave at every scheduling point, as a preemptible kernel may.
//!
//! The token is held exactly where the kernel has interrupts off, never longer: the
//! kernel's unlocked peeks (docs/concurrency.md) happen without it, and functions that the
//! kernel calls either way take an [`IrqState`].
//!
//! A [`Context`] is one kernel execution context: a task (which may migrate to another CPU
//! across the irq window when its gfp mask allows blocking), an interrupt handler (bound
//! to its CPU, never sleeps), the per-CPU reaper, or the tuner.

use crate::machine::Machine;
use crate::site::Site;
use crate::sync::{Lock, Platform};
use crate::trace::{EventKind, KFn, LockName, Trace};
use std::cell::Cell;
use std::collections::VecDeque;

/// One CPU of the simulated machine.
pub struct Cpu<P: Platform> {
    /// CPU number.
    pub id: usize,
    /// Its node (`cpu_to_node`).
    pub node: usize,
    irq: P::Mutex<()>,
}

impl<P: Platform> Cpu<P> {
    /// A CPU with interrupts enabled.
    pub fn new(id: usize, node: usize) -> Self {
        Cpu {
            id,
            node,
            irq: P::Mutex::new(()),
        }
    }
}

/// Proof that local interrupts are disabled on one CPU (`local_irq_save` /
/// `local_irq_disable` held). Dropping it enables them again.
pub struct IrqOff<'m, P: Platform> {
    cpu: usize,
    /// The machine, so that the locks taken under the token can record their
    /// concurrency points and trace events where they are taken.
    m: &'m Machine<P>,
    /// The trace lane of the context holding the token.
    ctx: u16,
    /// What the token's release is in the trace (`local_irq_enable`, or the opening of
    /// `cache_grow`'s window) and the cache it concerns.
    release: (EventKind, u32),
    _guard: <P::Mutex<()> as Lock<()>>::Guard<'m>,
}

impl<'m, P: Platform> IrqOff<'m, P> {
    /// The CPU whose interrupts are off.
    #[inline]
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    /// Records a concurrency point reached with interrupts off (a lock taken under them).
    #[inline]
    pub(crate) fn cover_site(&self, s: Site) {
        self.m.cover_site(s);
    }

    /// Records an event of the token holder's lane on the token's CPU.
    #[inline]
    pub(crate) fn trace(&self, cache: u32, kind: EventKind) {
        let trace = &self.m.trace;
        if trace.enabled() {
            trace.record_from(P::thread_tag(), self.ctx, self.cpu, cache, kind);
        }
    }

    /// Wraps a spinlock guard just taken under the token (`list_lock`, an alien lock):
    /// its acquire and release are events of the holder's lane on the token's CPU.
    pub(crate) fn traced<'a, G>(&self, guard: G, cache: u32, lock: LockName) -> Traced<'a, G>
    where
        'm: 'a,
    {
        self.m.traced(guard, (self.ctx, self.cpu), cache, lock)
    }
}

impl<P: Platform> Drop for IrqOff<'_, P> {
    fn drop(&mut self) {
        // Recorded while the token is still held: no other context's irq-off event of
        // this CPU can come first. Not while a failure unwinds: the failing access is the
        // lane's last event, not the releases of the unwinding.
        if std::thread::panicking() {
            return;
        }
        let (kind, cache) = self.release;
        self.trace(cache, kind);
    }
}

/// A lock guard that records its acquire and release in the trace: `LockTaken` once the
/// lock is held, `LockReleased` just before it unlocks. Every lock the trace names is
/// taken through one, so no call site can leave a critical section out of the trace.
pub struct Traced<'a, G> {
    guard: G,
    trace: &'a Trace,
    thread: u64,
    ctx: u16,
    cpu: usize,
    cache: u32,
    lock: LockName,
}

impl<'a, G> Traced<'a, G> {
    /// Wraps a guard just taken (records the acquire).
    pub(crate) fn taken(
        guard: G,
        trace: &'a Trace,
        thread: u64,
        ctx: u16,
        cpu: usize,
        cache: u32,
        lock: LockName,
    ) -> Self {
        trace.record_from(thread, ctx, cpu, cache, EventKind::LockTaken(lock));
        Traced {
            guard,
            trace,
            thread,
            ctx,
            cpu,
            cache,
            lock,
        }
    }
}

impl<G> Drop for Traced<'_, G> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        self.trace.record_from(
            self.thread,
            self.ctx,
            self.cpu,
            self.cache,
            EventKind::LockReleased(self.lock),
        );
    }
}

impl<G: std::ops::Deref> std::ops::Deref for Traced<'_, G> {
    type Target = G::Target;
    fn deref(&self) -> &G::Target {
        &self.guard
    }
}

impl<G: std::ops::DerefMut> std::ops::DerefMut for Traced<'_, G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        &mut self.guard
    }
}

/// The irq state a function that the kernel calls both ways runs in (`slab_destroy`,
/// `slabs_destroy`): with interrupts off on the context's CPU (the token proves it), or on.
pub enum IrqState<'a, 'm, P: Platform> {
    /// Interrupts off: nested work runs inside the caller's section.
    Off(&'a IrqOff<'m, P>),
    /// Interrupts on: nested work that needs them off (`kmem_cache_free` of an off-slab
    /// descriptor) takes its own `local_irq_save` section.
    On,
}

// Manual impls: a derive would require `P: Copy`.
impl<P: Platform> Clone for IrqState<'_, '_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P: Platform> Copy for IrqState<'_, '_, P> {}

/// Where inside `cache_grow`'s irq-enable window a task may be moved to another CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationPoint {
    /// It slept in the page allocator: after `kmem_getpages`, before `alloc_slabmgmt`, so
    /// the off-slab descriptor is allocated on the new CPU.
    AfterGetpages,
    /// At `local_irq_disable` closing the window (it was preempted just before).
    WindowClose,
}

/// What kind of kernel execution context a [`Context`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextKind {
    /// Process context: may sleep (if its gfp mask allows) and migrate across the
    /// `cache_grow` irq window.
    Task,
    /// Hard-interrupt handler bound to its CPU: runs only while that CPU has interrupts
    /// enabled; may not sleep.
    Interrupt,
    /// The per-CPU `cache_reap` work item (process context, bound to its CPU).
    Reaper,
    /// The `/proc/slabinfo` writer (`do_tune_cpucache`), process context.
    Tuner,
}

/// A kernel execution context running on the machine.
pub struct Context<'m, P: Platform> {
    pub(crate) m: &'m Machine<P>,
    kind: ContextKind,
    /// The CPU it runs on: a task (or a rerouted interrupt) moves when its CPU goes down,
    /// at its next `local_irq_save`, so the field changes behind `&self`.
    cpu: Cell<usize>,
    /// Its CPU was online when the context was created (it ran there): if the CPU goes
    /// down, the context is moved, not refused.
    created_online: bool,
    migrations: VecDeque<(MigrationPoint, usize)>,
    pub(crate) trace_id: u16,
    /// Nesting depth of `cache_grow` (off-slab descriptors allocate recursively).
    pub(crate) grow_depth: u32,
    /// The task's memory policy and cpuset (process contexts only).
    pub(crate) policy: crate::mempolicy::TaskPolicy,
    /// What `__builtin_return_address(0)` gives the next operations (`STORE_USER`).
    pub(crate) caller: Cell<u64>,
}

impl<'m, P: Platform> Context<'m, P> {
    pub(crate) fn new(m: &'m Machine<P>, kind: ContextKind, cpu: usize, name: &str) -> Self {
        assert!(
            cpu < m.cpus().len(),
            "context {name} on cpu{cpu}: no such CPU"
        );
        let trace_id = m.trace.register_context(name);
        Context {
            m,
            kind,
            cpu: Cell::new(cpu),
            created_online: m.cpu_online(cpu),
            migrations: VecDeque::new(),
            trace_id,
            grow_depth: 0,
            policy: crate::mempolicy::TaskPolicy::default(),
            caller: Cell::new(0),
        }
    }

    /// Declares that the context has existed since before any hot-plug of the run (a
    /// scenario's thread may start late, after its CPU went down): if its CPU is down, it
    /// is moved to another CPU, as the kernel moved it, instead of being refused.
    pub fn running_since_boot(mut self) -> Self {
        self.created_online = true;
        self
    }

    /// `set_mempolicy(2)`: the task's memory policy (`None`: the default, local node).
    /// Errors: a node that does not exist; a context that is not a task.
    pub fn set_mempolicy(
        &mut self,
        policy: Option<crate::mempolicy::MemPolicy>,
    ) -> Result<(), crate::error::SlabError> {
        if let Some(crate::mempolicy::MemPolicy::Preferred(n)) = policy {
            self.m.check_node(n)?;
        }
        self.check_task("set_mempolicy")?;
        self.policy.mempolicy = policy;
        Ok(())
    }

    /// Moves the task into a cpuset with `mems_allowed = mems` (a bit per node) and
    /// `memory_spread_slab = spread_slab`; `None` is the root cpuset (every node).
    /// Errors: a node bit outside the machine or an empty set; a context that is not a task.
    pub fn set_cpuset(
        &mut self,
        cpuset: Option<crate::mempolicy::Cpuset>,
    ) -> Result<(), crate::error::SlabError> {
        if let Some(c) = cpuset {
            let all = (1u64 << self.m.nodes()) - 1;
            if c.mems == 0 || c.mems & !all != 0 {
                return Err(crate::error::SlabError::InvalidCpuset {
                    mems: c.mems,
                    nodes: self.m.nodes(),
                });
            }
        }
        self.check_task("cpuset")?;
        self.policy.cpuset = cpuset;
        Ok(())
    }

    fn check_task(&self, what: &'static str) -> Result<(), crate::error::SlabError> {
        if self.kind == ContextKind::Task {
            Ok(())
        } else {
            Err(crate::error::SlabError::NotATask { what })
        }
    }

    /// The machine.
    pub fn machine(&self) -> &'m Machine<P> {
        self.m
    }

    /// The CPU the context runs on now (`smp_processor_id()`).
    #[inline]
    pub fn cpu(&self) -> usize {
        self.cpu.get()
    }

    /// The node of the current CPU (`numa_node_id()` / `numa_mem_id()`).
    #[inline]
    pub fn node(&self) -> usize {
        self.m.cpus()[self.cpu.get()].node
    }

    /// The context's kind.
    pub fn kind(&self) -> ContextKind {
        self.kind
    }

    /// Plans migrations: at each irq-enable window the task resumes on the next CPU of
    /// this list when the window closes (the scheduler moved it while it slept). Only
    /// tasks migrate.
    pub fn plan_migrations(&mut self, cpus: impl IntoIterator<Item = usize>) {
        for c in cpus {
            self.plan_migration_at(MigrationPoint::WindowClose, c);
        }
    }

    /// Plans one migration at a given point of the next window that reaches it.
    pub fn plan_migration_at(&mut self, at: MigrationPoint, cpu: usize) {
        assert_eq!(self.kind, ContextKind::Task, "only tasks migrate");
        assert!(
            cpu < self.m.cpus().len(),
            "migration to cpu{cpu}: no such CPU"
        );
        self.migrations.push_back((at, cpu));
    }

    /// A point inside the irq-enable window where the kernel may sleep: a planned
    /// migration for this point moves the task now. Interrupts are on (no token).
    pub(crate) fn may_sleep(&mut self, cache: u32, at: MigrationPoint) {
        if at == MigrationPoint::AfterGetpages {
            self.site(cache, Site::SleepAfterGetpages);
        }
        if self.kind == ContextKind::Task {
            if let Some(&(p, next)) = self.migrations.front() {
                if p == at {
                    self.migrations.pop_front();
                    let from = self.cpu.get();
                    if from != next {
                        self.trace(
                            cache,
                            EventKind::Migrated {
                                from: from as u16,
                                to: next as u16,
                            },
                        );
                    }
                    self.cpu.set(next);
                }
            }
        }
    }

    /// Records a concurrency point (coverage, and the trace for points that are not irq or
    /// lock transitions).
    #[inline]
    pub(crate) fn site(&self, cache: u32, s: Site) {
        self.m.cover_site(s);
        self.trace(cache, EventKind::Site(s));
    }

    #[inline]
    pub(crate) fn trace(&self, cache: u32, kind: EventKind) {
        // The thread tag costs a thread-local lookup: only a recording trace needs it.
        let trace = &self.m.trace;
        if trace.enabled() {
            trace.record_from(P::thread_tag(), self.trace_id, self.cpu.get(), cache, kind);
        }
    }

    /// Takes a sleeping lock or a spinlock that needs no irq token (the chain mutex, the
    /// hot-plug locks, `zone->lock` inside the irq window), traced.
    pub(crate) fn lock<'a, T: Send + 'static>(
        &self,
        l: &'a P::Mutex<T>,
        cache: u32,
        name: LockName,
    ) -> Traced<'a, <P::Mutex<T> as Lock<T>>::Guard<'a>>
    where
        'm: 'a,
    {
        self.m.traced_lock(l, self.lane(), cache, name)
    }

    /// The trylock of [`Context::lock`]: a failed attempt is traced too.
    pub(crate) fn try_lock<'a, T: Send + 'static>(
        &self,
        l: &'a P::Mutex<T>,
        cache: u32,
        name: LockName,
    ) -> Option<Traced<'a, <P::Mutex<T> as Lock<T>>::Guard<'a>>>
    where
        'm: 'a,
    {
        match l.try_lock() {
            Some(g) => Some(self.m.traced(g, self.lane(), cache, name)),
            None => {
                self.trace(cache, EventKind::TryLockFailed(name));
                None
            }
        }
    }

    /// The context's trace lane and CPU, for machine-level locks taken on its behalf.
    pub(crate) fn lane(&self) -> (u16, usize) {
        (self.trace_id, self.cpu.get())
    }

    /// The era's chain mutex: `cache_chain_mutex` (A) or `slab_mutex` (B).
    pub(crate) fn chain_lock_name(&self) -> LockName {
        match self.m.era() {
            crate::profile::Era::A => LockName::CacheChainMutex,
            crate::profile::Era::B => LockName::SlabMutex,
        }
    }

    /// Records entry into a kernel function: trace event and coverage.
    #[inline]
    pub(crate) fn enter(&self, cache: u32, f: KFn) {
        self.m.cover(f);
        self.trace(cache, EventKind::Enter(f));
    }

    /// `local_irq_disable()` on the current CPU: blocks while another context of this CPU
    /// has interrupts off.
    pub fn local_irq_disable(&self) -> IrqOff<'m, P> {
        self.m.cover_site(Site::IrqDisable);
        let g = self.irq_lock_online();
        self.trace(u32::MAX, EventKind::IrqOff);
        IrqOff {
            cpu: self.cpu.get(),
            m: self.m,
            ctx: self.trace_id,
            release: (EventKind::IrqOn, u32::MAX),
            _guard: g,
        }
    }

    /// Takes the current CPU's irq token — on a CPU that is online. A context whose CPU
    /// went down while it had interrupts on (a task preempted in a window, a process
    /// context between two sections) was moved by the kernel: tasks by `migrate_tasks`
    /// at `take_cpu_down`, interrupts by rerouting the IRQ (`fixup_irqs`). The model
    /// moves it here, to the lowest online CPU, before it touches any per-CPU data. The
    /// reaper never gets here on a dead CPU: `cpu_down` cancels its work first.
    fn irq_lock_online(&self) -> <P::Mutex<()> as Lock<()>>::Guard<'m> {
        loop {
            let cpu = self.cpu.get();
            let g = self.m.cpus()[cpu].irq.lock();
            if self.m.cpu_online(cpu) {
                return g;
            }
            drop(g);
            assert!(
                self.kind != ContextKind::Reaper,
                "cache_reap of cpu{cpu} runs after cpu_down cancelled its work"
            );
            self.move_off_dead_cpu(cpu);
        }
    }

    /// `migrate_tasks` / `fixup_irqs` for this context: it continues on the lowest online
    /// CPU (traced).
    fn move_off_dead_cpu(&self, dead: usize) {
        let to = self.m.first_online_cpu();
        self.cpu.set(to);
        self.trace(
            u32::MAX,
            EventKind::MovedOffDeadCpu {
                from: dead as u16,
                to: to as u16,
            },
        );
    }

    /// Entry check of every public operation: nothing runs on a CPU that is down. A
    /// context created on a CPU that was already down is the caller's mistake
    /// ([`SlabError::CpuOffline`], before anything changes); one that was running there
    /// when the CPU went down was moved by the kernel and continues on another CPU.
    pub(crate) fn check_running(&self) -> Result<(), crate::error::SlabError> {
        let cpu = self.cpu.get();
        if self.m.cpu_online(cpu) {
            return Ok(());
        }
        if !self.created_online || self.kind == ContextKind::Reaper {
            return Err(crate::error::SlabError::CpuOffline { cpu });
        }
        self.move_off_dead_cpu(cpu);
        Ok(())
    }

    /// `local_irq_enable()`.
    pub fn local_irq_enable(&self, irq: IrqOff<'m, P>) {
        assert_eq!(
            irq.cpu,
            self.cpu.get(),
            "local_irq_enable on cpu{} with cpu{}'s token",
            self.cpu.get(),
            irq.cpu
        );
        // The token's drop records `local_irq_enable`.
        drop(irq);
        self.m.cover_site(Site::IrqEnable);
    }

    /// Opens `cache_grow`'s irq-enable window: interrupts on, the task may sleep.
    pub(crate) fn irq_window_open(&self, cache: u32, mut irq: IrqOff<'m, P>) {
        assert_eq!(irq.cpu, self.cpu.get());
        irq.release = (EventKind::IrqWindowOpen, cache);
        drop(irq);
        self.m.cover_site(Site::GrowWindowOpen);
    }

    /// `if (local_flags & __GFP_WAIT) local_irq_enable();` of `cache_grow` and
    /// `fallback_alloc` (`who`): opens the window when the mask may block (or under
    /// `irq-window-in-atomic`), returning `None`; else hands the token back. An interrupt
    /// handler that would open it has slept in atomic context: the kernel's BUG.
    pub(crate) fn irq_window_open_if(
        &self,
        cache: u32,
        who: &str,
        local_flags: crate::gfp::Gfp,
        irq: IrqOff<'m, P>,
    ) -> Option<IrqOff<'m, P>> {
        let window = local_flags.allows_blocking()
            || self
                .m
                .mutations()
                .has(crate::mutation::Mutation::IrqWindowInAtomic);
        if !window {
            return Some(irq);
        }
        assert!(
            self.kind != ContextKind::Interrupt,
            "BUG: scheduling while atomic: {who} enabled interrupts inside an interrupt handler of cpu{} (gfp {:#x} does not allow blocking)",
            self.cpu.get(),
            local_flags.0
        );
        self.irq_window_open(cache, irq);
        None
    }

    /// Closes the window: interrupts off again — on whatever CPU the task now runs on.
    pub(crate) fn irq_window_close(&mut self, cache: u32) -> IrqOff<'m, P> {
        self.may_sleep(cache, MigrationPoint::WindowClose);
        self.m.cover_site(Site::GrowWindowClose);
        let g = self.irq_lock_online();
        self.trace(
            cache,
            EventKind::IrqWindowClose {
                cpu: self.cpu.get() as u16,
            },
        );
        IrqOff {
            cpu: self.cpu.get(),
            m: self.m,
            ctx: self.trace_id,
            release: (EventKind::IrqOn, u32::MAX),
            _guard: g,
        }
    }

    /// Takes another CPU's irq token: `on_each_cpu` running a function on CPU `cpu` with
    /// interrupts off (the tuner's IPI, the drain of `kmem_cache_shrink`), or the audit.
    pub(crate) fn irq_off_on(&self, cpu: usize) -> IrqOff<'m, P> {
        self.site(u32::MAX, Site::OnEachCpu);
        let g = self.m.cpus()[cpu].irq.lock();
        let irq = IrqOff {
            cpu,
            m: self.m,
            ctx: self.trace_id,
            release: (EventKind::IrqOn, u32::MAX),
            _guard: g,
        };
        irq.trace(u32::MAX, EventKind::IrqOff);
        irq
    }

    /// `stop_machine(fn)`: runs `f` while every online CPU has interrupts off (the model
    /// takes their tokens in CPU order; no context holds one token while waiting for
    /// another, so the order cannot deadlock).
    pub(crate) fn stop_machine<R>(&self, f: impl FnOnce() -> R) -> R {
        let held: Vec<_> = self
            .m
            .cpus()
            .iter()
            .enumerate()
            .filter(|(c, _)| self.m.cpu_online(*c))
            .map(|(_, cpu)| cpu.irq.lock())
            .collect();
        let r = f();
        drop(held);
        r
    }

    /// `kick_all_cpus_sync()` (era B): an empty IPI to every CPU, waiting for each to run
    /// it. A CPU runs it at its next irq-enabled point, so when this returns no CPU is
    /// still inside an irq-off section that began before the call. The model takes and
    /// drops each CPU's token once. Process context, interrupts on.
    pub(crate) fn kick_all_cpus_sync(&self, cache: u32) {
        self.site(cache, Site::KickAllCpusSync);
        for cpu in self.m.cpus() {
            drop(cpu.irq.lock());
        }
    }

    /// Whether CPU `cpu` has interrupts off right now (someone holds its token). Used by
    /// racy mutation paths on backends without causality tracking.
    pub(crate) fn cpu_irq_held(&self, cpu: usize) -> bool {
        match self.m.cpus()[cpu].irq.try_lock() {
            Some(g) => {
                drop(g);
                false
            }
            None => true,
        }
    }
}
