//! An executable model of the Linux SLAB allocator (mm/slab.c).
//!
//! One Rust function per kernel function, same name; each doc comment says which kernel
//! era it models (A: 2.6.x, B: 3.13–4.5) and which locks / irq state it needs. The model is
//! generic over [`sync::Platform`] so the same code runs on std threads, loom and shuttle.
//!
//! Map of the crate (one file per kernel concept):
//! * [`sync`] — the platform abstraction (locks, checked cells, threads);
//! * [`profile`], [`gfp`], [`slab_flags`] — configuration and flag words;
//! * [`page_alloc`], [`memory`] — the simulated hardware: buddy allocator, `struct page`,
//!   bytes;
//! * [`machine`], [`cpu`] — CPUs, irq-off tokens, execution contexts, `kmem_cache_init`;
//! * [`geometry`], [`kmalloc_sizes`] — `kmem_cache_create`'s arithmetic;
//! * [`cache`], [`node`], [`array_cache`], [`slab`] — the data structures;
//! * [`alloc`], [`grow`], [`free`], [`kmalloc`], [`tune`], [`reap`], [`shrink`] — the
//!   algorithms;
//! * [`audit`], [`slabinfo`], [`trace`], [`site`], [`mutation`] — checking and reporting;
//! * [`inspect`] — read-only snapshots of node lists and CPU arrays for tests.

pub mod alien;
pub mod alloc;
pub mod array_cache;
pub mod audit;
pub mod cache;
pub mod cpu;
pub mod debug;
pub mod error;
pub mod free;
pub mod geometry;
pub mod gfp;
pub mod grow;
pub mod hotplug;
pub mod inspect;
pub mod kmalloc;
pub mod kmalloc_sizes;
pub mod machine;
pub mod memory;
pub mod mempolicy;
pub mod mutation;
pub mod node;
pub mod page_alloc;
pub mod profile;
pub mod reap;
pub mod shrink;
pub mod site;
pub mod slab;
pub mod slab_flags;
pub mod slabinfo;
pub mod stats;
pub mod sync;
#[cfg(test)]
mod testing;
pub mod trace;
pub mod tune;

pub use audit::{AuditReport, Violation};
pub use cache::KmemCache;
pub use cpu::{Context, ContextKind, IrqOff, IrqState, MigrationPoint};
pub use debug::SlabReport;
pub use error::SlabError;
pub use geometry::{CacheGeometry, CreateArgs, Tunables};
pub use gfp::Gfp;
pub use inspect::{NodeSnapshot, SlabSnapshot};
pub use machine::{KmallocSetup, Machine, MachineConfig};
pub use mutation::{Mutation, MutationSet};
pub use page_alloc::FaultInjection;
pub use profile::{ArchProfile, Era};
pub use slab_flags::SlabFlags;
