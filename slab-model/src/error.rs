//! Typed errors for caller misuse, named in kernel terms.
//!
//! Every error is detected *before* the model changes any state, so after an `Err` the
//! audit still passes and nothing is lost. (Internal invariant violations are not errors:
//! they panic with the invariant's name, which is what loom and shuttle report.)

use thiserror::Error;

/// Misuse of the allocator's API.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SlabError {
    /// `kmem_cache_create` without a name (2.6.24 BUG).
    #[error("kmem_cache_create: cache name missing")]
    NameMissing,
    /// `kmem_flagcheck` (DEBUG): a `GFP_DMA` allocation from a cache without DMA pages,
    /// or a plain one from a DMA cache (the kernel's `BUG_ON`).
    #[error("kernel BUG at kmem_flagcheck: cache {cache} (DMA cache: {cache_dma}) allocated with gfp {gfp:#x}")]
    KmemFlagcheck {
        cache: String,
        gfp: u32,
        cache_dma: bool,
    },
    /// A caller's write (`caller_write`) that leaves the objects of a slab.
    #[error("wild write of {len} bytes at {addr:#x}: outside the objects of any slab")]
    WildWrite { addr: u64, len: usize },
    /// `kmem_cache_create: duplicate cache <name>`.
    #[error("kmem_cache_create: duplicate cache {0}")]
    DuplicateCache(String),
    /// Object size below `BYTES_PER_WORD` (2.6.24 BUG).
    #[error("kmem_cache_create: object size {size} is smaller than a word ({min} bytes)")]
    SizeTooSmall { size: usize, min: usize },
    /// Object size above `KMALLOC_MAX_SIZE` (2.6.24 BUG).
    #[error("kmem_cache_create: object size {size} exceeds KMALLOC_MAX_SIZE ({max})")]
    SizeTooLarge { size: usize, max: usize },
    /// Flags outside `CREATE_MASK`.
    #[error("kmem_cache_create: unknown flags {bits:#x} outside CREATE_MASK")]
    UnknownFlags { bits: u32 },
    /// Alignment that is not zero or a power of two.
    #[error("kmem_cache_create: alignment {align} is not a power of two")]
    InvalidAlign { align: usize },
    /// `calculate_slab_order` accepted no order ("couldn't create cache" / -E2BIG).
    #[error(
        "kmem_cache_create: couldn't create cache {name}: no slab order fits {size}-byte objects"
    )]
    NoOrderFits { name: String, size: usize },
    /// An off-slab cache needs a general (kmalloc) cache for its descriptor and none fits.
    #[error("kmem_cache_create: no general cache for a {size}-byte off-slab descriptor of {name}")]
    NoDescriptorCache { name: String, size: usize },
    /// The architecture profile is impossible.
    #[error("invalid architecture profile: {0}")]
    InvalidProfile(String),
    /// gfp bits in `GFP_SLAB_BUG_MASK` (`cache_grow` BUG).
    #[error("gfp: {bits:#x} in GFP_SLAB_BUG_MASK")]
    GfpBugMask { bits: u32 },
    /// A gfp mask that may sleep, used from interrupt context (`might_sleep_if`).
    #[error("BUG: sleeping function called from invalid context (gfp {gfp:#x} allows blocking in an interrupt handler)")]
    SleepInAtomic { gfp: u32 },
    /// Freeing an object that is already free.
    #[error("slab: double free detected in cache '{cache}', objp {addr:#x}")]
    DoubleFree { cache: String, addr: u64 },
    /// A pointer that is not in any slab page.
    #[error("kfree: {addr:#x} is not a slab object (page is not PG_slab)")]
    NotSlabObject { addr: u64 },
    /// A pointer inside an object but not at its start, or in a slab's padding.
    #[error("slab: {addr:#x} is not the start of an object of cache '{cache}'")]
    NotObjectStart { cache: String, addr: u64 },
    /// A pointer to an object the allocator itself owns (an off-slab descriptor).
    #[error("kfree: {addr:#x} in cache '{cache}' is the off-slab descriptor of a live slab, not a caller's object")]
    NotOwned { cache: String, addr: u64 },
    /// An object of another cache passed to `kmem_cache_free`.
    #[error("kmem_cache_free: {addr:#x} belongs to cache '{actual}', not '{expected}'")]
    WrongCache {
        addr: u64,
        expected: String,
        actual: String,
    },
    /// `kmem_cache_destroy` while objects are still allocated ("Can't free all objects").
    #[error("kmem_cache_destroy {cache}: Slab cache still has objects ({live} live)")]
    CacheHasObjects { cache: String, live: usize },
    /// An operation on a cache that has been destroyed.
    #[error("cache '{0}' has been destroyed")]
    CacheDestroyed(String),
    /// A `/proc/slabinfo` write the kernel would ignore.
    #[error("slabinfo: invalid tunables for {cache}: limit {limit} batchcount {batchcount} shared {shared} (need limit >= 1, 1 <= batchcount <= limit, shared >= 0)")]
    InvalidTunables {
        cache: String,
        limit: i64,
        batchcount: i64,
        shared: i64,
    },
    /// A `/proc/slabinfo` write that does not parse.
    #[error("slabinfo: {0}")]
    SlabinfoSyntax(String),
    /// A `/proc/slabinfo` write naming no cache.
    #[error("slabinfo: no cache named {0}")]
    NoSuchCache(String),
    /// A CPU number outside `0..num_possible_cpus()`.
    #[error("cpu {cpu} does not exist (the machine has {cpus})")]
    NoSuchCpu { cpu: usize, cpus: usize },
    /// An operation on a CPU that is down: no task or interrupt handler runs there.
    #[error("cpu {cpu} is offline: nothing runs on a CPU that is down")]
    CpuOffline { cpu: usize },
    /// `cpu_up` of a CPU that is already online (`_cpu_up`: -EINVAL).
    #[error("cpu_up: cpu {cpu} is already online (-EINVAL)")]
    CpuAlreadyOnline { cpu: usize },
    /// `cpu_down` of a CPU that is already offline (`_cpu_down`: -EINVAL).
    #[error("cpu_down: cpu {cpu} is already offline (-EINVAL)")]
    CpuAlreadyOffline { cpu: usize },
    /// `cpu_down` of the last online CPU (`_cpu_down`: `num_online_cpus() == 1`, -EBUSY).
    #[error("cpu_down: cpu {cpu} is the last online CPU (-EBUSY)")]
    LastCpuOnline { cpu: usize },
    /// A cpuset with no node, or with a node the machine does not have.
    #[error("cpuset: mems {mems:#x} is empty or names a node outside 0..{nodes}")]
    InvalidCpuset { mems: u64, nodes: usize },
    /// A task setting (`set_mempolicy`, cpusets) on an interrupt handler, reaper or tuner.
    #[error("{what}: only a task has a memory policy and a cpuset")]
    NotATask { what: &'static str },
    /// A node number outside the machine.
    #[error("node {node} does not exist (the machine has {nodes})")]
    NoSuchNode { node: usize, nodes: usize },
    /// Page allocator misuse.
    #[error(transparent)]
    Page(#[from] crate::page_alloc::PageError),
}
