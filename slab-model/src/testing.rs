//! Fixtures for slab-model's own unit tests (the root package's suites have
//! tests/common): a tiny machine and a plain cache on it.

use crate::sync::StdPlatform;
use crate::{
    ArchProfile, CreateArgs, Era, KmallocSetup, KmemCache, Machine, MachineConfig, MutationSet,
    SlabFlags,
};
use std::sync::Arc;

pub(crate) type M = Machine<StdPlatform>;
pub(crate) type Cache = Arc<KmemCache<StdPlatform>>;

/// `ArchProfile::tiny()` in `era` (2 CPUs, one node, 64 MiB) with the kmalloc caches up to
/// 256 bytes, `mutations` on, and the audit after every operation when `audit` (off where
/// a test corrupts the state and audits it itself).
pub(crate) fn tiny(era: Era, mutations: MutationSet, audit: bool) -> M {
    let mut cfg = MachineConfig::new(ArchProfile::tiny(), era);
    cfg.kmalloc = KmallocSetup::UpTo(256);
    cfg.mutations = mutations;
    cfg.audit_every_op = audit;
    Machine::new(cfg).expect("boots")
}

/// `kmem_cache_create(name, size, 0, 0, NULL)`.
pub(crate) fn create(m: &M, name: &str, size: usize) -> Cache {
    m.kmem_cache_create(CreateArgs {
        name: name.into(),
        size,
        align: 0,
        flags: SlabFlags::default(),
        ctor: false,
    })
    .expect("creates")
}

/// Runs `f`, which must panic, and returns its panic message (the model's `BUG_ON`s and
/// race reports are panics).
pub(crate) fn panic_of(f: impl FnOnce()) -> String {
    let e =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
