//! An executable model of the Linux SLAB allocator (mm/slab.c).
//!
//! One Rust function per kernel function, same name; each doc comment says which kernel
//! era it models (A: 2.6.x, B: 3.13–4.5) and which locks / irq state it needs. The model is
//! generic over [`sync::Platform`] so the same code runs on std threads, loom and shuttle.

pub mod error;
pub mod geometry;
pub mod gfp;
pub mod kmalloc_sizes;
pub mod mutation;
pub mod page_alloc;
pub mod profile;
pub mod slab_flags;
pub mod sync;

pub use error::SlabError;
pub use gfp::Gfp;
pub use mutation::{Mutation, MutationSet};
pub use profile::{ArchProfile, Era};
pub use slab_flags::SlabFlags;
