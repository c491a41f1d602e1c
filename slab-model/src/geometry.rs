//! `kmem_cache_create` geometry: alignment, off-slab decision, `cache_estimate`,
//! `calculate_slab_order`, colouring and the `enable_cpucache` tunables
//! (kernel-facts §A.3, §A.5), for eras A and B.
//!
//! Pure functions of the architecture profile, the era and the creation arguments: no
//! locks, no state. `cache.rs` calls [`calculate_geometry`] and then builds the cache.

use crate::error::SlabError;
use crate::mutation::MutationSet;
use crate::profile::{ArchProfile, Era};
use crate::slab_flags::SlabFlags;
use serde::{Deserialize, Serialize};

/// What a caller passes to `kmem_cache_create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateArgs {
    /// Cache name (must be non-empty).
    pub name: String,
    /// Object size in bytes.
    pub size: usize,
    /// Caller alignment (0 = none).
    pub align: usize,
    /// `SLAB_*` flags.
    pub flags: SlabFlags,
    /// Whether the cache has a constructor.
    pub ctor: bool,
}

/// A general (kmalloc) cache that already exists when another cache is created: the
/// candidates for an off-slab descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneralCache {
    /// Its object size (the size class, e.g. 64 for `size-64`).
    pub size: usize,
    /// Whether that cache is itself off-slab.
    pub off_slab: bool,
}

/// Boot-time state that changes the geometry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateContext {
    /// `slab_early_init`: set while the first kmalloc caches are created; forbids off-slab.
    pub slab_early_init: bool,
    /// General caches that already exist, ascending by size (the non-DMA ones).
    pub general_caches: Vec<GeneralCache>,
    /// If the cache being created is itself a general cache, its class size: an off-slab
    /// descriptor must never come from the cache being created (B.20).
    pub self_class: Option<usize>,
    /// Active mutations (`offslab-limit-stale`, `offslab-self-descriptor`).
    pub mutations: MutationSet,
}

/// The per-CPU tunables (`/proc/slabinfo` "tunables" columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunables {
    /// `limit`: capacity of each per-CPU array.
    pub limit: usize,
    /// `batchcount`: objects moved per refill / flush.
    pub batchcount: usize,
    /// `shared`: shared array capacity factor (capacity = `shared * batchcount`).
    pub shared: usize,
}

/// Where an off-slab cache's descriptor comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DescriptorSource {
    /// On-slab: the descriptor sits in the slab after the colour area.
    OnSlab,
    /// Off-slab: from the general cache of this class size (`slabp_cache` /
    /// `freelist_cache`).
    General(usize),
    /// Off-slab from the cache being created itself: only reachable with the
    /// `offslab-self-descriptor` mutation (B.20); growing such a cache recurses forever.
    SelfCache,
}

/// Everything `kmem_cache_create` computes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheGeometry {
    /// Era the numbers were computed for.
    pub era: Era,
    /// `obj_size` (A) / `object_size` (B): the word-rounded size the caller may use.
    pub object_size: usize,
    /// `buffer_size` (A) / `size` (B): the padded stride between objects (slabinfo objsize).
    pub size: usize,
    /// Final alignment.
    pub align: usize,
    /// Final flags, including `CFLGS_OFF_SLAB` and with debug flags silently dropped.
    pub flags: SlabFlags,
    /// `num`: objects per slab (slabinfo objperslab).
    pub num: usize,
    /// `gfporder`: the slab is `2^gfporder` pages.
    pub gfporder: u32,
    /// Bytes of the slab left over after objects and (on-slab) management data.
    pub left_over: usize,
    /// `colour_off`: bytes per colour step (`max(cache_line_size(), align)`).
    pub colour_off: usize,
    /// `colour`: number of colours (`left_over / colour_off`).
    pub colour: usize,
    /// Era A `slab_size` (struct slab + bufctls) / era B `freelist_size`: bytes of
    /// management data per slab (aligned when on-slab, unaligned when off-slab).
    pub mgmt_size: usize,
    /// Where the management data lives.
    pub descriptor: DescriptorSource,
    /// Debug: offset of the user object inside its slot (8 with red zones, else 0).
    pub obj_offset: usize,
    /// `reciprocal_value(size)` for `obj_to_index`.
    pub reciprocal_size: u32,
    /// Initial tunables from `enable_cpucache`.
    pub tunables: Tunables,
}

impl CacheGeometry {
    /// `2^gfporder` (slabinfo pagesperslab).
    pub fn pages_per_slab(&self) -> usize {
        1 << self.gfporder
    }
    /// Is the management data off-slab?
    pub fn off_slab(&self) -> bool {
        self.descriptor != DescriptorSource::OnSlab
    }
}

/// Runs `kmem_cache_create`'s computation. Errors name the rule that rejected the input.
pub fn calculate_geometry(
    profile: &ArchProfile,
    era: Era,
    args: &CreateArgs,
    ctx: &CreateContext,
) -> Result<CacheGeometry, SlabError> {
    let _ = (profile, era, args, ctx);
    todo!("geometry: implemented by the geometry work item")
}
