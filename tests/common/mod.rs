//! Helpers shared by the conformance suites (tests/conformance.rs, misuse.rs,
//! slabinfo.rs, alien.rs, hotplug.rs, mempolicy.rs): small machines with the audit after
//! every operation, caches tuned to tiny geometries, and the list/array snapshots the
//! assertions read.
#![allow(dead_code)]

use slab_model::inspect::{NodeSnapshot, SlabSnapshot};
use slab_model::slab::SlabId;
use slab_model::sync::StdPlatform;
use slab_model::*;
use std::sync::Arc;

pub type M = Machine<StdPlatform>;
pub type Cache = Arc<KmemCache<StdPlatform>>;

/// Both eras, for tests that hold in each.
pub const ERAS: [Era; 2] = [Era::A, Era::B];

/// `ArchProfile::tiny()` (x86_64, 4 KiB pages, 64-byte lines, 2 CPUs, 1 node, 64 MiB),
/// kmalloc caches up to 4096 bytes, the audit after every public operation.
pub fn machine(era: Era) -> M {
    machine_with(era, KmallocSetup::UpTo(4096))
}

pub fn machine_with(era: Era, kmalloc: KmallocSetup) -> M {
    let mut cfg = MachineConfig::new(ArchProfile::tiny(), era);
    cfg.audit_every_op = true;
    cfg.kmalloc = kmalloc;
    Machine::new(cfg).expect("boot")
}

/// A NUMA machine: `ArchProfile::tiny()` with `cpus` CPUs in `nodes` equal blocks
/// (`cpu * nodes / cpus`), no kmalloc caches, these faults and mutations, and the audit
/// after every public operation when `audit` (off for tests that audit a known-bad
/// model themselves).
pub fn numa(
    era: Era,
    cpus: usize,
    nodes: usize,
    faults: FaultInjection,
    mutations: MutationSet,
    audit: bool,
) -> M {
    let profile = ArchProfile {
        cpus,
        nodes,
        ..ArchProfile::tiny()
    };
    let mut cfg = MachineConfig::new(profile, era);
    cfg.kmalloc = KmallocSetup::None;
    cfg.audit_every_op = audit;
    cfg.faults = faults;
    cfg.mutations = mutations;
    Machine::new(cfg).expect("boot")
}

/// A `CONFIG_DEBUG_SLAB` machine: `ArchProfile::tiny()` with `debug` on, 2 CPUs in
/// `nodes` nodes, kmalloc caches up to 4096 bytes (off-slab descriptors of debug caches
/// come from them), the audit after every public operation.
pub fn debug_machine(era: Era, nodes: usize) -> M {
    let profile = ArchProfile {
        debug: true,
        cpus: 2,
        nodes,
        ..ArchProfile::tiny()
    };
    let mut cfg = MachineConfig::new(profile, era);
    cfg.audit_every_op = true;
    cfg.kmalloc = KmallocSetup::UpTo(4096);
    Machine::new(cfg).expect("a debug machine boots")
}

pub fn create(m: &M, name: &str, size: usize) -> Cache {
    create_flags(m, name, size, SlabFlags::default())
}

pub fn create_flags(m: &M, name: &str, size: usize, flags: SlabFlags) -> Cache {
    m.kmem_cache_create(CreateArgs {
        name: name.into(),
        size,
        align: 0,
        flags,
        ctor: false,
    })
    .expect("kmem_cache_create")
}

/// `echo "<name> <limit> <batchcount> <shared>" > /proc/slabinfo` from a tuner on CPU 0.
pub fn tune(m: &M, c: &Cache, limit: i64, batch: i64, shared: i64) {
    m.tuner(0, "tuner")
        .do_tune_cpucache_checked(c, limit, batch, shared)
        .expect("valid tunables");
}

pub fn alloc(m: &M, cpu: usize, c: &Cache) -> u64 {
    m.task(cpu, "alloc")
        .kmem_cache_alloc(c, Gfp::KERNEL)
        .expect("valid args")
        .expect("memory")
}

pub fn alloc_n(m: &M, cpu: usize, c: &Cache, n: usize) -> Vec<u64> {
    let mut t = m.task(cpu, "alloc");
    (0..n)
        .map(|_| {
            t.kmem_cache_alloc(c, Gfp::KERNEL)
                .expect("valid args")
                .expect("memory")
        })
        .collect()
}

pub fn free(m: &M, cpu: usize, c: &Cache, objs: &[u64]) {
    let mut t = m.task(cpu, "free");
    for &o in objs {
        t.kmem_cache_free(c, o).expect("valid free");
    }
}

/// Hands a CPU's whole array back to the slabs in one `free_block` call, bottom entry
/// first (the `force` form of `drain_array`, as `kmem_cache_shrink` uses it).
pub fn force_drain(m: &M, cpu: usize, c: &Cache) -> usize {
    m.task(cpu, "drain").drain_cpu_array(c, cpu, true)
}

pub fn node(m: &M, c: &Cache) -> NodeSnapshot {
    m.node_snapshot(c, 0)
}

pub fn ac(m: &M, c: &Cache, cpu: usize) -> slab_model::array_cache::ArrayCache {
    m.cpu_array_snapshot(c, cpu)
}

/// The slab (on node 0) that holds `addr`.
pub fn slab_of(m: &M, c: &Cache, addr: u64) -> SlabId {
    let bytes = (c.geo.pages_per_slab() * m.profile().page_size) as u64;
    node(m, c)
        .all_slabs()
        .find(|s: &&SlabSnapshot| addr >= s.base && addr < s.base + bytes)
        .map(|s| s.id)
        .unwrap_or_else(|| panic!("{addr:#x} is in no slab of {}", c.name))
}

pub fn inuse(m: &M, c: &Cache, id: SlabId) -> usize {
    node(m, c)
        .all_slabs()
        .find(|s| s.id == id)
        .expect("slab exists")
        .inuse
}

/// Everything a misuse must leave untouched: the full /proc/slabinfo text, every CPU
/// array and node of `c`, and the live-object count; plus an audit.
pub fn fingerprint(m: &M, c: &Cache) -> String {
    let r = m.audit();
    assert!(r.is_ok(), "audit: {r}");
    let mut s = m.slabinfo();
    for cpu in 0..m.cpus().len() {
        s.push_str(&format!("{:?}\n", ac(m, c, cpu)));
    }
    s.push_str(&format!(
        "{:?}\nlive {}\nfree pages {}\n",
        node(m, c),
        m.live_objects(c),
        m.nr_free_pages()
    ));
    s
}

/// Runs `f`, which must panic, and returns its panic message (the model's `BUG_ON`s,
/// use-after-free and race reports are panics).
pub fn panic_of(f: impl FnOnce()) -> String {
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("a panic");
    slab_verify::scenarios::panic_message(&e)
}

/// `f` runs while an interrupt context on `cpu` has that CPU's interrupts off (it is
/// inside an irq-off section, using its array): what a race report needs to see.
pub fn with_irqs_off_on<R>(m: &M, cpu: usize, f: impl FnOnce() -> R) -> R {
    let irq = m.interrupt(cpu, "irq");
    let held = irq.local_irq_disable();
    let r = f();
    drop(held);
    r
}
