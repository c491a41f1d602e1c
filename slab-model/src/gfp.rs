//! GFP flags: the bits of `gfp_t` that SLAB looks at (include/linux/gfp.h of each era).
//!
//! Bit values follow 2.6.24 `include/linux/gfp.h`. Era B's `__GFP_DIRECT_RECLAIM` plays the
//! role of `__GFP_WAIT` (both decide whether `cache_grow` may enable interrupts), so the
//! model uses one bit, [`Gfp::WAIT`], for both and says which era reads it how.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A `gfp_t` mask.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Gfp(pub u32);

impl Gfp {
    /// `__GFP_DMA`: allocate from ZONE_DMA; selects the `size-N(DMA)` kmalloc twin.
    pub const DMA: Gfp = Gfp(0x01);
    /// `__GFP_HIGHMEM`: never valid for slab pages (in `GFP_SLAB_BUG_MASK`).
    pub const HIGHMEM: Gfp = Gfp(0x02);
    /// `__GFP_DMA32`: never valid for slab pages (in `GFP_SLAB_BUG_MASK`).
    pub const DMA32: Gfp = Gfp(0x04);
    /// `__GFP_WAIT` (era A) / `__GFP_DIRECT_RECLAIM` (era B): the caller may sleep, so
    /// `cache_grow` enables local interrupts around the page allocation.
    pub const WAIT: Gfp = Gfp(0x10);
    /// `__GFP_HIGH`: may use emergency pools (GFP_ATOMIC).
    pub const HIGH: Gfp = Gfp(0x20);
    /// `__GFP_IO`.
    pub const IO: Gfp = Gfp(0x40);
    /// `__GFP_FS`.
    pub const FS: Gfp = Gfp(0x80);
    /// `__GFP_NOWARN`.
    pub const NOWARN: Gfp = Gfp(0x200);
    /// `__GFP_NOFAIL`.
    pub const NOFAIL: Gfp = Gfp(0x800);
    /// `__GFP_NORETRY`.
    pub const NORETRY: Gfp = Gfp(0x1000);
    /// `__GFP_COMP`: compound page (era B slab pages).
    pub const COMP: Gfp = Gfp(0x4000);
    /// `__GFP_ZERO`: zero the object after allocation.
    pub const ZERO: Gfp = Gfp(0x8000);
    /// `__GFP_HARDWALL`.
    pub const HARDWALL: Gfp = Gfp(0x20000);
    /// `__GFP_THISNODE`: no fallback to other nodes.
    pub const THISNODE: Gfp = Gfp(0x40000);
    /// `__GFP_RECLAIMABLE`: slab pages of a `SLAB_RECLAIM_ACCOUNT` cache.
    pub const RECLAIMABLE: Gfp = Gfp(0x80000);
    /// `__GFP_BITS_SHIFT` = 21: bits at or above are invalid.
    pub const BITS_MASK: Gfp = Gfp((1 << 21) - 1);

    /// `GFP_KERNEL` = `__GFP_WAIT | __GFP_IO | __GFP_FS`.
    pub const KERNEL: Gfp = Gfp(0x10 | 0x40 | 0x80);
    /// `GFP_ATOMIC` = `__GFP_HIGH`: never sleeps, legal in interrupts.
    pub const ATOMIC: Gfp = Gfp(0x20);
    /// `GFP_NOWAIT` = 0.
    pub const NOWAIT: Gfp = Gfp(0);
    /// `GFP_THISNODE` (NUMA) = `__GFP_THISNODE | __GFP_NOWARN | __GFP_NORETRY`.
    pub const GFP_THISNODE: Gfp = Gfp(0x40000 | 0x200 | 0x1000);
    /// `GFP_SLAB_BUG_MASK`: `__GFP_DMA32 | __GFP_HIGHMEM | ~__GFP_BITS_MASK`.
    pub const SLAB_BUG_MASK: Gfp = Gfp(0x04 | 0x02 | !((1 << 21) - 1));
    /// `GFP_CONSTRAINT_MASK` = `__GFP_HARDWALL | __GFP_THISNODE`.
    pub const CONSTRAINT_MASK: Gfp = Gfp(0x20000 | 0x40000);
    /// `GFP_RECLAIM_MASK`: the bits the page allocator's reclaim logic reads.
    pub const RECLAIM_MASK: Gfp = Gfp(0x10 | 0x40 | 0x80 | 0x200 | 0x800 | 0x1000 | 0x20);

    /// True if every bit of `other` is set.
    pub fn contains(self, other: Gfp) -> bool {
        self.0 & other.0 == other.0
    }
    /// True if any bit of `other` is set.
    pub fn intersects(self, other: Gfp) -> bool {
        self.0 & other.0 != 0
    }
    /// Era A `flags & __GFP_WAIT`, era B `gfpflags_allow_blocking()`.
    pub fn allows_blocking(self) -> bool {
        self.contains(Gfp::WAIT)
    }
    /// Era B `gfp_exact_node()` on a NUMA build: `(f | __GFP_THISNODE | __GFP_NOWARN) &
    /// ~__GFP_DIRECT_RECLAIM`. On a single-node (`!CONFIG_NUMA`) build it is the identity,
    /// which is why the irq-enable window still exists there.
    pub fn exact_node(self, numa: bool) -> Gfp {
        if numa {
            Gfp((self.0 | Gfp::THISNODE.0 | Gfp::NOWARN.0) & !Gfp::WAIT.0)
        } else {
            self
        }
    }
}

impl std::ops::BitOr for Gfp {
    type Output = Gfp;
    fn bitor(self, rhs: Gfp) -> Gfp {
        Gfp(self.0 | rhs.0)
    }
}

impl std::ops::BitAnd for Gfp {
    type Output = Gfp;
    fn bitand(self, rhs: Gfp) -> Gfp {
        Gfp(self.0 & rhs.0)
    }
}

impl fmt::Display for Gfp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}
