//! `SLAB_*` cache-creation flags (2.6.24 `include/linux/slab.h` values) and SLAB's
//! internal `CFLGS_*` layout bits.

use serde::{Deserialize, Serialize};

/// Flags passed to `kmem_cache_create`, plus the internal layout bits SLAB adds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SlabFlags(pub u32);

impl SlabFlags {
    /// `SLAB_DEBUG_FREE`.
    pub const DEBUG_FREE: SlabFlags = SlabFlags(0x0000_0100);
    /// `SLAB_RED_ZONE`: guard words around each object.
    pub const RED_ZONE: SlabFlags = SlabFlags(0x0000_0400);
    /// `SLAB_POISON`: fill free objects with `POISON_FREE`.
    pub const POISON: SlabFlags = SlabFlags(0x0000_0800);
    /// `SLAB_HWCACHE_ALIGN`: align objects to the (runtime) cache line.
    pub const HWCACHE_ALIGN: SlabFlags = SlabFlags(0x0000_2000);
    /// `SLAB_CACHE_DMA`: slab pages from ZONE_DMA.
    pub const CACHE_DMA: SlabFlags = SlabFlags(0x0000_4000);
    /// `SLAB_STORE_USER`: record the last user.
    pub const STORE_USER: SlabFlags = SlabFlags(0x0001_0000);
    /// `SLAB_RECLAIM_ACCOUNT`: reclaimable pages; stop at the first order that fits.
    pub const RECLAIM_ACCOUNT: SlabFlags = SlabFlags(0x0002_0000);
    /// `SLAB_PANIC`.
    pub const PANIC: SlabFlags = SlabFlags(0x0004_0000);
    /// `SLAB_DESTROY_BY_RCU`.
    pub const DESTROY_BY_RCU: SlabFlags = SlabFlags(0x0008_0000);
    /// `SLAB_MEM_SPREAD`.
    pub const MEM_SPREAD: SlabFlags = SlabFlags(0x0010_0000);
    /// `SLAB_NOLEAKTRACE` (era B).
    pub const NOLEAKTRACE: SlabFlags = SlabFlags(0x0080_0000);
    /// `CREATE_MASK`: every flag a caller may pass.
    pub const CREATE_MASK: SlabFlags = SlabFlags(
        0x100
            | 0x400
            | 0x800
            | 0x2000
            | 0x4000
            | 0x1_0000
            | 0x2_0000
            | 0x4_0000
            | 0x8_0000
            | 0x10_0000
            | 0x80_0000,
    );
    /// `CFLGS_OFF_SLAB`: the slab descriptor lives in a kmalloc object, not in the slab.
    pub const CFLGS_OFF_SLAB: SlabFlags = SlabFlags(0x8000_0000);

    /// True if every bit of `other` is set.
    pub fn contains(self, other: SlabFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// The bits outside `CREATE_MASK` (callers may not pass them).
    pub fn unknown_bits(self) -> u32 {
        self.0 & !SlabFlags::CREATE_MASK.0
    }
}

impl std::ops::BitOr for SlabFlags {
    type Output = SlabFlags;
    fn bitor(self, rhs: SlabFlags) -> SlabFlags {
        SlabFlags(self.0 | rhs.0)
    }
}
