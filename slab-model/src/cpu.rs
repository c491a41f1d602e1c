//! CPUs, the irq-off token, and execution contexts.
//!
//! Disabling interrupts on CPU k is modelled as holding CPU k's irq lock: the
//! [`IrqOff`] token. Only its holder may touch CPU k's `array_cache`s, exactly the
//! kernel's `check_irq_off()` rule. An interrupt handler bound to CPU k must take the same
//! token, so it runs only while CPU k has interrupts enabled — for example inside a task's
//! `cache_grow` irq-enable window. This over-approximates the kernel (any interleaving the
//! kernel allows on that CPU is allowed here), which is what a model checker wants.
//!
//! A [`Context`] is one kernel execution context: a task (which may migrate to another CPU
//! across the irq window when its gfp mask allows blocking), an interrupt handler (bound
//! to its CPU, never sleeps), the per-CPU reaper, or the tuner.

use crate::machine::Machine;
use crate::sync::{Lock, Platform};
use crate::trace::{EventKind, KFn};
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
    _guard: <P::Mutex<()> as Lock<()>>::Guard<'m>,
}

impl<P: Platform> IrqOff<'_, P> {
    /// The CPU whose interrupts are off.
    #[inline]
    pub fn cpu(&self) -> usize {
        self.cpu
    }
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
    cpu: usize,
    migrations: VecDeque<usize>,
    pub(crate) trace_id: u16,
    /// Nesting depth of `cache_grow` (off-slab descriptors allocate recursively).
    pub(crate) grow_depth: u32,
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
            cpu,
            migrations: VecDeque::new(),
            trace_id,
            grow_depth: 0,
        }
    }

    /// The machine.
    pub fn machine(&self) -> &'m Machine<P> {
        self.m
    }

    /// The CPU the context runs on now (`smp_processor_id()`).
    #[inline]
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    /// The node of the current CPU (`numa_node_id()` / `numa_mem_id()`).
    #[inline]
    pub fn node(&self) -> usize {
        self.m.cpus()[self.cpu].node
    }

    /// The context's kind.
    pub fn kind(&self) -> ContextKind {
        self.kind
    }

    /// Plans migrations: at each irq-enable window the task resumes on the next CPU of
    /// this list (the scheduler moved it while it slept). Only tasks migrate.
    pub fn plan_migrations(&mut self, cpus: impl IntoIterator<Item = usize>) {
        assert_eq!(self.kind, ContextKind::Task, "only tasks migrate");
        for c in cpus {
            assert!(c < self.m.cpus().len(), "migration to cpu{c}: no such CPU");
            self.migrations.push_back(c);
        }
    }

    #[inline]
    pub(crate) fn trace(&self, cache: u32, kind: EventKind) {
        self.m.trace.record(self.trace_id, self.cpu, cache, kind);
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
        let g = self.m.cpus()[self.cpu].irq.lock();
        self.trace(u32::MAX, EventKind::IrqOff);
        IrqOff {
            cpu: self.cpu,
            _guard: g,
        }
    }

    /// `local_irq_enable()`.
    pub fn local_irq_enable(&self, irq: IrqOff<'m, P>) {
        assert_eq!(
            irq.cpu, self.cpu,
            "local_irq_enable on cpu{} with cpu{}'s token",
            self.cpu, irq.cpu
        );
        drop(irq);
        self.trace(u32::MAX, EventKind::IrqOn);
    }

    /// Opens `cache_grow`'s irq-enable window: interrupts on, the task may sleep.
    pub(crate) fn irq_window_open(&self, cache: u32, irq: IrqOff<'m, P>) {
        assert_eq!(irq.cpu, self.cpu);
        drop(irq);
        self.trace(cache, EventKind::IrqWindowOpen);
    }

    /// Closes the window: interrupts off again — on whatever CPU the task now runs on.
    pub(crate) fn irq_window_close(&mut self, cache: u32) -> IrqOff<'m, P> {
        if self.kind == ContextKind::Task {
            if let Some(next) = self.migrations.pop_front() {
                self.cpu = next;
            }
        }
        let g = self.m.cpus()[self.cpu].irq.lock();
        self.trace(
            cache,
            EventKind::IrqWindowClose {
                cpu: self.cpu as u16,
            },
        );
        IrqOff {
            cpu: self.cpu,
            _guard: g,
        }
    }

    /// Takes another CPU's irq token: `on_each_cpu` running a function on CPU `cpu` with
    /// interrupts off (the tuner's IPI, the drain of `kmem_cache_shrink`), or the audit.
    pub(crate) fn irq_off_on(&self, cpu: usize) -> IrqOff<'m, P> {
        let g = self.m.cpus()[cpu].irq.lock();
        IrqOff { cpu, _guard: g }
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
