//! `kmem_cache_create` geometry: alignment, off-slab decision, `cache_estimate`,
//! `calculate_slab_order`, colouring and the `enable_cpucache` tunables
//! (mm/slab.c `kmem_cache_create`, `calculate_slab_order`, `cache_estimate`, `enable_cpucache`), for eras A and B.
//!
//! Pure functions of the architecture profile, the era and the creation arguments: no
//! locks, no state. `cache.rs` calls [`calculate_geometry`] and then builds the cache.

use crate::error::SlabError;
use crate::mutation::{Mutation, MutationSet};
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

/// `__alignof__(unsigned long long)`: 8 on every architecture modelled (gcc reports 8
/// for i386 too), the alignment above which debug red zones are silently dropped.
pub const ULL_ALIGN: usize = 8;

/// Bytes each red zone occupies: one `unsigned long long`.
const REDZONE_WORD: usize = 8;

/// `REDZONE_ALIGN` = `max(BYTES_PER_WORD, __alignof__(unsigned long long))` (all eras).
pub fn redzone_align(profile: &ArchProfile) -> usize {
    profile.word_size.max(ULL_ALIGN)
}

/// The kernel's `ALIGN(x, a)` for a power-of-two `a`; `a` of 0 or 1 leaves `x` alone
/// (the kernel never aligns to 0: callers test `if (align)` first).
pub fn align_up(x: usize, a: usize) -> usize {
    if a <= 1 {
        x
    } else {
        (x + a - 1) & !(a - 1)
    }
}

/// `fls(x)`: 1-based index of the most significant set bit, 0 for 0.
fn fls(x: usize) -> u32 {
    usize::BITS - x.leading_zeros()
}

/// `reciprocal_value(size)` (lib/reciprocal_div.c as used by 2.6.24–4.4 `obj_to_index`):
/// `ceil(2^32 / size)` truncated to 32 bits, so `(offset * r) >> 32 == offset / size` for
/// the offsets that occur inside a slab.
pub fn reciprocal_value(size: usize) -> u32 {
    // `((1 << 32) + size - 1) / size`, written as a ceiling division.
    (1u64 << 32).div_ceil(size as u64) as u32
}

/// Era B `sizeof(freelist_idx_t)`: 1 byte when `(PAGE_SIZE >> 8) <= SLAB_OBJ_MIN_SIZE`
/// (every slab then holds at most 255 objects of at least `SLAB_OBJ_MIN_SIZE` bytes),
/// else 2 (4.4 `FREELIST_BYTE_INDEX`).
pub fn freelist_idx_size(profile: &ArchProfile) -> usize {
    if (profile.page_size >> 8) <= slab_obj_min_size(profile) {
        1
    } else {
        2
    }
}

/// Era B `SLAB_OBJ_MIN_SIZE` = `min(KMALLOC_MIN_SIZE, 16)`.
pub fn slab_obj_min_size(profile: &ArchProfile) -> usize {
    crate::kmalloc_sizes::kmalloc_min_size(profile).min(16)
}

/// Era B `SLAB_OBJ_MAX_NUM` = largest value of `freelist_idx_t` (255 or 65535).
pub fn slab_obj_max_num(profile: &ArchProfile) -> usize {
    (1usize << (8 * freelist_idx_size(profile))) - 1
}

/// Era A `SLAB_LIMIT` = `BUFCTL_END - 3` where `BUFCTL_END` is the all-ones
/// `kmem_bufctl_t`: 0xFFFFFFFC with the 4-byte bufctl of 2.6.14+, and (by the same rule)
/// 0xFFFC for the 2-byte bufctl of older i386 kernels.
pub fn slab_limit(profile: &ArchProfile) -> usize {
    ((1u64 << (8 * profile.bufctl_size)) - 1 - 3) as usize
}

/// Era B `OFF_SLAB_MIN_SIZE` = `max(PAGE_SIZE >> 5, KMALLOC_MIN_SIZE + 1)` (4.4, B.20).
/// With `Mutation::OffslabSelfDescriptor` the pre-B.20 threshold `PAGE_SIZE >> 5` of
/// 3.15–4.3 is used instead: that is exactly the bug that let arm64's kmalloc-128 pick
/// itself as its freelist cache.
pub fn off_slab_min_size(profile: &ArchProfile, mutations: MutationSet) -> usize {
    let pre_fix = profile.page_size >> 5;
    if mutations.has(Mutation::OffslabSelfDescriptor) {
        pre_fix
    } else {
        pre_fix.max(crate::kmalloc_sizes::kmalloc_min_size(profile) + 1)
    }
}

/// Bytes of management data for `num` objects, aligned to `align` when on-slab
/// (`align` = 0 gives the unaligned off-slab size).
///
/// Era A: `sizeof(struct slab) + num * sizeof(kmem_bufctl_t)` (2.6.24 `slab_mgmt_size`).
/// Era B: `num * (sizeof(freelist_idx_t) + leak byte)` (4.4 `calculate_freelist_size`).
pub fn slab_mgmt_size(profile: &ArchProfile, era: Era, num: usize, align: usize) -> usize {
    let raw = match era {
        Era::A => profile.slab_desc_size + num * profile.bufctl_size,
        Era::B => num * (freelist_idx_size(profile) + usize::from(profile.debug_slab_leak)),
    };
    align_up(raw, align)
}

/// `cache_estimate(gfporder, size, align, flags)` (2.6.24 era A, 4.4 era B): how many
/// `size`-byte objects fit in a slab of `PAGE_SIZE << order` and how many bytes are left
/// over. Returns `(num, left_over)`; `num` 0 means nothing fits (`left_over` is then the
/// whole slab).
///
/// On-slab the estimate first ignores the alignment padding of the management area and
/// then gives back one object if that padding does not fit: the padding is smaller than
/// `align <= size`, so it can never cost more than one object.
pub fn cache_estimate(
    profile: &ArchProfile,
    era: Era,
    order: u32,
    size: usize,
    align: usize,
    off_slab: bool,
) -> (usize, usize) {
    let slab = profile.page_size << order;
    if off_slab {
        let mut n = slab / size;
        if era == Era::A {
            n = n.min(slab_limit(profile));
        }
        return (n, slab - n * size);
    }
    let mut n = match era {
        // The kernel divides `slab - sizeof(struct slab)`: the descriptor is paid once.
        Era::A => (slab - profile.slab_desc_size) / (size + profile.bufctl_size),
        Era::B => slab / (size + freelist_idx_size(profile) + usize::from(profile.debug_slab_leak)),
    };
    // n == 0 stays 0: the kernel's `nr_objs--` would go negative there, a case no real
    // cache reaches (it needs an on-slab cache aligned beyond the slab size).
    if n > 0 && slab_mgmt_size(profile, era, n, align) + n * size > slab {
        n -= 1;
    }
    if era == Era::A {
        n = n.min(slab_limit(profile));
    }
    if n == 0 {
        return (0, slab);
    }
    (n, slab - n * size - slab_mgmt_size(profile, era, n, align))
}

/// The order `calculate_slab_order` settled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlabOrder {
    /// Objects per slab.
    pub num: usize,
    /// `gfporder`.
    pub gfporder: u32,
    /// Leftover bytes (before a possible move back on-slab).
    pub left_over: usize,
}

/// `calculate_slab_order(cachep, size, align, flags)` (2.6.24 era A, 4.4 era B, in the
/// fixed form of B.5): walk orders `0..=KMALLOC_MAX_ORDER`, remember the last acceptable
/// one and stop at the first of: too many objects for the index type (B), too many
/// objects for an off-slab descriptor, `SLAB_RECLAIM_ACCOUNT` (keep the smallest order),
/// `slab_max_order` reached, or waste at most 1/8 of the slab. `None` = nothing fits.
///
/// `Mutation::OffslabLimitStale` re-introduces the pre-B.5 slip: the off-slab limit is
/// tested against the `num` of the previously accepted order, so an order that exceeds
/// the limit can be accepted.
pub fn calculate_slab_order(
    profile: &ArchProfile,
    era: Era,
    size: usize,
    align: usize,
    flags: SlabFlags,
    mutations: MutationSet,
) -> Option<SlabOrder> {
    let off_slab = flags.contains(SlabFlags::CFLGS_OFF_SLAB);
    let max_order = crate::kmalloc_sizes::kmalloc_max_order(profile);
    let mut best: Option<SlabOrder> = None;
    for order in 0..=max_order {
        let (num, left) = cache_estimate(profile, era, order, size, align, off_slab);
        if num == 0 {
            continue;
        }
        if era == Era::B && num > slab_obj_max_num(profile) {
            break;
        }
        if off_slab {
            // The off-slab descriptor must fit in an object of this very size, or
            // cache_grow could loop allocating descriptors (B.7: computed per cache).
            let offslab_limit = match era {
                // size_t arithmetic: a descriptor larger than the object wraps to a huge
                // limit, as in the kernel.
                Era::A => size.wrapping_sub(profile.slab_desc_size) / profile.bufctl_size,
                Era::B => {
                    size / (freelist_idx_size(profile) + usize::from(profile.debug_slab_leak))
                }
            };
            let tested = if mutations.has(Mutation::OffslabLimitStale) {
                best.map_or(0, |b| b.num)
            } else {
                num
            };
            if tested > offslab_limit {
                break;
            }
        }
        best = Some(SlabOrder {
            num,
            gfporder: order,
            left_over: left,
        });
        if flags.contains(SlabFlags::RECLAIM_ACCOUNT) {
            // Reclaimable caches stay at the smallest order that fits (f78bb8ad).
            break;
        }
        if order >= profile.slab_max_order() {
            break;
        }
        if left * 8 <= profile.page_size << order {
            break;
        }
    }
    best
}

/// `enable_cpucache` (all eras): initial tunables from the padded object size.
/// Large objects get tiny per-CPU arrays (they would pin much memory); the shared array
/// only pays off with several CPUs and page-sized or smaller objects.
pub fn enable_cpucache(profile: &ArchProfile, size: usize) -> Tunables {
    let mut limit = if size > 131072 {
        1
    } else if size > profile.page_size {
        8
    } else if size > 1024 {
        24
    } else if size > 256 {
        54
    } else {
        120
    };
    if profile.debug {
        // DEBUG kernels keep arrays short so that poison checks see objects soon.
        limit = limit.min(32);
    }
    let shared = if size <= profile.page_size && profile.cpus > 1 {
        8
    } else {
        0
    };
    Tunables {
        limit,
        batchcount: limit.div_ceil(2),
        shared,
    }
}

/// Per-node `free_limit` (all eras; `do_tune_cpucache` / `cpuup_prepare`):
/// `(1 + nr_cpus_node(node)) * batchcount + num` free objects are kept on the node's
/// slab lists before free slabs are destroyed.
pub fn free_limit(nr_cpus_node: usize, t: &Tunables, num: usize) -> usize {
    (1 + nr_cpus_node) * t.batchcount + num
}

/// The alignment phase of `kmem_cache_create`. Returns `(align, size, flags)` with `size`
/// word-rounded (and red-zone rounded) and debug flags dropped for over-aligned caches.
fn compute_alignment(
    profile: &ArchProfile,
    era: Era,
    args: &CreateArgs,
    mut flags: SlabFlags,
) -> (usize, usize, SlabFlags) {
    let word = profile.word_size;
    let rz = redzone_align(profile);
    let mut size = align_up(args.size, word);
    let hw = |obj: usize| {
        // Halve the line while the object fits twice: small objects then share a line
        // without straddling one.
        let mut ralign = profile.cache_line_size;
        while obj <= ralign / 2 {
            ralign /= 2;
        }
        ralign
    };
    let align = match era {
        Era::A => {
            // 2.6.24 kmem_cache_create, all on the word-rounded size.
            let mut ralign = if flags.contains(SlabFlags::HWCACHE_ALIGN) {
                hw(size)
            } else {
                word
            };
            if flags.contains(SlabFlags::STORE_USER) {
                ralign = word;
            }
            if flags.contains(SlabFlags::RED_ZONE) {
                ralign = rz;
                size = align_up(size, rz);
            }
            ralign.max(profile.arch_slab_minalign).max(args.align)
        }
        Era::B => {
            // 4.4 calculate_alignment (slab_common.c) on the caller's unrounded size...
            let mut a = args.align;
            if flags.contains(SlabFlags::HWCACHE_ALIGN) {
                a = a.max(hw(args.size));
            }
            a = align_up(a.max(profile.arch_slab_minalign), word);
            // ...then __kmem_cache_create.
            let mut ralign = word;
            if flags.contains(SlabFlags::RED_ZONE) {
                ralign = rz;
                size = align_up(size, rz);
            }
            ralign.max(a)
        }
    };
    if align > ULL_ALIGN {
        // Red zones are 64-bit words placed right after the object: they cannot be kept
        // aligned inside a larger alignment, so debugging is silently dropped.
        flags = SlabFlags(flags.0 & !(SlabFlags::RED_ZONE.0 | SlabFlags::STORE_USER.0));
    }
    (align, size, flags)
}

/// Which general cache serves an off-slab descriptor of `mgmt` bytes:
/// `kmem_find_general_cachep` (A) / `kmalloc_slab` (B) return the smallest class that is
/// large enough; among the classes the context knows, that is the smallest existing one,
/// unless the cache being created is itself that class (B.20).
fn find_descriptor_cache(ctx: &CreateContext, mgmt: usize) -> Option<DescriptorSource> {
    let existing = ctx
        .general_caches
        .iter()
        .map(|g| g.size)
        .filter(|&s| s >= mgmt)
        .min();
    let own = ctx.self_class.filter(|&s| s >= mgmt);
    match (existing, own) {
        (Some(e), Some(o)) if o <= e => Some(DescriptorSource::SelfCache),
        (Some(e), _) => Some(DescriptorSource::General(e)),
        (None, Some(_)) => Some(DescriptorSource::SelfCache),
        (None, None) => None,
    }
}

/// Runs `kmem_cache_create`'s computation (2.6.24 `kmem_cache_create` for era A,
/// 4.4 `kmem_cache_create` + `__kmem_cache_create` for era B). Every input is validated
/// before anything is computed; errors name the rule that rejected the input.
pub fn calculate_geometry(
    profile: &ArchProfile,
    era: Era,
    args: &CreateArgs,
    ctx: &CreateContext,
) -> Result<CacheGeometry, SlabError> {
    profile.validate().map_err(SlabError::InvalidProfile)?;
    let max_size = crate::kmalloc_sizes::kmalloc_max_size(profile, era);
    if max_size < profile.page_size {
        return Err(SlabError::InvalidProfile(format!(
            "KMALLOC_MAX_SIZE {max_size} is smaller than PAGE_SIZE {}",
            profile.page_size
        )));
    }
    if args.name.is_empty() {
        return Err(SlabError::NameMissing);
    }
    let bits = args.flags.unknown_bits();
    if bits != 0 {
        return Err(SlabError::UnknownFlags { bits });
    }
    if args.align != 0 && !args.align.is_power_of_two() {
        return Err(SlabError::InvalidAlign { align: args.align });
    }
    if args.size < profile.word_size {
        return Err(SlabError::SizeTooSmall {
            size: args.size,
            min: profile.word_size,
        });
    }
    if args.size > max_size {
        return Err(SlabError::SizeTooLarge {
            size: args.size,
            max: max_size,
        });
    }
    let no_order = || SlabError::NoOrderFits {
        name: args.name.clone(),
        size: args.size,
    };
    // An alignment beyond the largest slab can never fit one object (checked here so the
    // arithmetic below cannot overflow).
    if args.align > max_size {
        return Err(no_order());
    }

    let mut flags = args.flags;
    if profile.debug {
        // FORCED_DEBUG: red zone + last user unless that pushes a large object over the
        // next power of two (wasteful for caches sized just below one).
        let s = args.size;
        if s < 4096 || fls(s - 1) == fls(s - 1 + redzone_align(profile) + 2 * REDZONE_WORD) {
            flags = flags | SlabFlags::RED_ZONE | SlabFlags::STORE_USER;
        }
        if !flags.contains(SlabFlags::DESTROY_BY_RCU) {
            flags = flags | SlabFlags::POISON;
        }
    }
    let (align, mut size, flags) = compute_alignment(profile, era, args, flags);
    let mut flags = flags;
    let object_size = size;

    let mut obj_offset = 0;
    if profile.debug {
        if flags.contains(SlabFlags::RED_ZONE) {
            obj_offset += REDZONE_WORD;
            size += 2 * REDZONE_WORD;
        }
        if flags.contains(SlabFlags::STORE_USER) {
            // With red zones the second one must stay 64-bit aligned after the user word.
            size += if flags.contains(SlabFlags::RED_ZONE) {
                redzone_align(profile)
            } else {
                profile.word_size
            };
        }
    }

    // Off-slab decision on the grown but not yet aligned size.
    let mut off_slab = !ctx.slab_early_init
        && match era {
            Era::A => size >= profile.page_size >> 3,
            Era::B => {
                size >= off_slab_min_size(profile, ctx.mutations)
                    && !flags.contains(SlabFlags::NOLEAKTRACE)
            }
        };

    size = align_up(size, align);
    if era == Era::B && freelist_idx_size(profile) == 1 && size < slab_obj_min_size(profile) {
        // A byte index caps a slab at 255 objects: keep objects big enough for that.
        size = align_up(slab_obj_min_size(profile), align);
    }
    if size > max_size {
        return Err(no_order());
    }

    let with_off = |off: bool| {
        if off {
            flags | SlabFlags::CFLGS_OFF_SLAB
        } else {
            flags
        }
    };
    let mut order =
        calculate_slab_order(profile, era, size, align, with_off(off_slab), ctx.mutations)
            .ok_or_else(no_order)?;
    let mut left_over = order.left_over;
    let mut mgmt_size = slab_mgmt_size(profile, era, order.num, align);
    if off_slab && left_over >= mgmt_size {
        // The descriptor fits in the waste: on-slab is free, at the cost of colours.
        off_slab = false;
        left_over -= mgmt_size;
    }
    let mut descriptor = DescriptorSource::OnSlab;
    if off_slab {
        // Really off-slab: no manual alignment of the external descriptor.
        mgmt_size = slab_mgmt_size(profile, era, order.num, 0);
        descriptor =
            find_descriptor_cache(ctx, mgmt_size).ok_or_else(|| SlabError::NoDescriptorCache {
                name: args.name.clone(),
                size: mgmt_size,
            })?;
        if descriptor == DescriptorSource::SelfCache
            && !ctx.mutations.has(Mutation::OffslabSelfDescriptor)
        {
            // The kernel would BUG here (NULL cache pointer) or recurse forever; the model
            // keeps such a cache on-slab instead (the guard B.20 asks for).
            off_slab = false;
            descriptor = DescriptorSource::OnSlab;
            order = calculate_slab_order(profile, era, size, align, flags, ctx.mutations)
                .ok_or_else(no_order)?;
            left_over = order.left_over;
            mgmt_size = slab_mgmt_size(profile, era, order.num, align);
        }
    }
    if off_slab {
        flags = flags | SlabFlags::CFLGS_OFF_SLAB;
    }
    let colour_off = profile.cache_line_size.max(align);
    Ok(CacheGeometry {
        era,
        object_size,
        size,
        align,
        flags,
        num: order.num,
        gfporder: order.gfporder,
        left_over,
        colour_off,
        colour: left_over / colour_off,
        mgmt_size,
        descriptor,
        obj_offset,
        reciprocal_size: reciprocal_value(size),
        tunables: enable_cpucache(profile, size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(size: usize, flags: SlabFlags) -> CreateArgs {
        CreateArgs {
            name: "t".into(),
            size,
            align: 0,
            flags,
            ctor: false,
        }
    }

    fn ctx(general: &[usize], self_class: Option<usize>, mutations: MutationSet) -> CreateContext {
        CreateContext {
            slab_early_init: false,
            general_caches: general
                .iter()
                .map(|&size| GeneralCache {
                    size,
                    off_slab: false,
                })
                .collect(),
            self_class,
            mutations,
        }
    }

    const GENERAL: &[usize] = &[32, 64, 128, 192, 256, 512, 1024, 2048, 4096];

    #[test]
    fn reclaim_account_keeps_the_first_order_that_fits() {
        let p = ArchProfile::x86_64();
        let g = calculate_geometry(
            &p,
            Era::A,
            &args(1424, SlabFlags::RECLAIM_ACCOUNT),
            &ctx(GENERAL, None, MutationSet::NONE),
        )
        .unwrap();
        assert_eq!((g.num, g.gfporder), (2, 0));
        let g = calculate_geometry(
            &p,
            Era::A,
            &args(1424, SlabFlags::default()),
            &ctx(GENERAL, None, MutationSet::NONE),
        )
        .unwrap();
        assert_eq!((g.num, g.gfporder), (5, 1), "task_struct of dataset D4");
    }

    #[test]
    fn slab_early_init_forbids_off_slab() {
        let p = ArchProfile::x86_64();
        let mut c = ctx(GENERAL, None, MutationSet::NONE);
        assert!(
            calculate_geometry(&p, Era::A, &args(1024, SlabFlags::default()), &c)
                .unwrap()
                .off_slab()
        );
        c.slab_early_init = true;
        let g = calculate_geometry(&p, Era::A, &args(1024, SlabFlags::default()), &c).unwrap();
        assert!(!g.off_slab());
        // Order 0: (4096-48)/1028 = 3 with 960 bytes wasted (> 1/8), so order 1:
        // (8192-48)/1028 = 7.
        assert_eq!((g.num, g.gfporder), (7, 1));
    }

    #[test]
    fn offslab_without_descriptor_cache_is_an_error() {
        let p = ArchProfile::x86_64();
        let e = calculate_geometry(
            &p,
            Era::A,
            &args(1024, SlabFlags::default()),
            &ctx(&[32], None, MutationSet::NONE),
        );
        // 4 objects, no waste: the 64-byte descriptor stays off-slab and no cache holds it.
        assert_eq!(
            e.unwrap_err(),
            SlabError::NoDescriptorCache {
                name: "t".into(),
                size: 4 * 4 + 48
            }
        );
    }

    #[test]
    fn self_descriptor_is_refused_unless_mutated() {
        // A size-512 cache created when no smaller general cache can hold its 80-byte
        // descriptor: the only candidate is the cache itself.
        let p = ArchProfile::x86_64();
        let a = args(512, SlabFlags::HWCACHE_ALIGN);
        let g = calculate_geometry(
            &p,
            Era::A,
            &a,
            &ctx(&[32, 64], Some(512), MutationSet::NONE),
        )
        .unwrap();
        assert_eq!(g.descriptor, DescriptorSource::OnSlab);
        assert_eq!(g.num, 7, "on-slab: (4096-48)/516 = 7");
        let m = MutationSet::only(Mutation::OffslabSelfDescriptor);
        let g = calculate_geometry(&p, Era::A, &a, &ctx(&[32, 64], Some(512), m)).unwrap();
        assert_eq!(g.descriptor, DescriptorSource::SelfCache);
    }

    #[test]
    fn b20_arm64_kmalloc_128() {
        // arm64 4.4: KMALLOC_MIN_SIZE 128. Fixed: OFF_SLAB_MIN_SIZE 129 keeps kmalloc-128
        // on-slab. Reverted (mutation): threshold 128, 32 objects need a 32-byte freelist
        // whose class is kmalloc-128 itself.
        let p = ArchProfile {
            kmalloc_min_size: 128,
            arch_kmalloc_minalign: 128,
            arch_slab_minalign: 8,
            ..ArchProfile::x86_64()
        };
        let a = CreateArgs {
            align: 128,
            ..args(128, SlabFlags::HWCACHE_ALIGN)
        };
        let g =
            calculate_geometry(&p, Era::B, &a, &ctx(&[], Some(128), MutationSet::NONE)).unwrap();
        assert!(!g.off_slab());
        let m = MutationSet::only(Mutation::OffslabSelfDescriptor);
        let g = calculate_geometry(&p, Era::B, &a, &ctx(&[], Some(128), m)).unwrap();
        assert_eq!(
            (g.descriptor, g.num, g.mgmt_size),
            (DescriptorSource::SelfCache, 32, 32)
        );
    }

    #[test]
    fn offslab_limit_stale_accepts_an_order_over_the_limit() {
        // An oversized descriptor makes offslab_limit = (1100-1080)/4 = 5. Order 0 holds 3
        // (waste 796 > 1/8, so order 1 is tried), order 1 holds 7 > 5: the faithful loop
        // stops at order 0; the B.5 slip tests the previous num (3) and accepts order 1.
        let p = ArchProfile {
            slab_desc_size: 1080,
            ..ArchProfile::x86_64()
        };
        let a = args(1100, SlabFlags::default());
        let g = calculate_geometry(&p, Era::A, &a, &ctx(GENERAL, None, MutationSet::NONE)).unwrap();
        assert_eq!((g.num, g.gfporder), (3, 0));
        let m = MutationSet::only(Mutation::OffslabLimitStale);
        let g = calculate_geometry(&p, Era::A, &a, &ctx(GENERAL, None, m)).unwrap();
        assert_eq!((g.num, g.gfporder), (7, 1));
        assert!(g.off_slab() && g.num > (1100 - 1080) / 4);
    }

    #[test]
    fn debug_growth_and_limit_cap() {
        let p = ArchProfile {
            debug: true,
            ..ArchProfile::x86_64()
        };
        let g = calculate_geometry(
            &p,
            Era::A,
            &args(100, SlabFlags::default()),
            &ctx(GENERAL, None, MutationSet::NONE),
        )
        .unwrap();
        // 100 -> 104 (word), +16 red zones, +8 user word = 128.
        assert_eq!((g.object_size, g.size, g.obj_offset), (104, 128, 8));
        assert!(g.flags.contains(SlabFlags::RED_ZONE) && g.flags.contains(SlabFlags::POISON));
        assert_eq!(g.tunables.limit, 32);
        // Era B keeps the cache-line alignment and drops the red zones instead.
        let g = calculate_geometry(
            &p,
            Era::B,
            &args(100, SlabFlags::HWCACHE_ALIGN),
            &ctx(GENERAL, None, MutationSet::NONE),
        )
        .unwrap();
        assert_eq!((g.align, g.size, g.obj_offset), (64, 128, 0));
        assert!(!g.flags.contains(SlabFlags::RED_ZONE));
        // Era A: STORE_USER overrides the hardware alignment, debugging stays on.
        let g = calculate_geometry(
            &p,
            Era::A,
            &args(100, SlabFlags::HWCACHE_ALIGN),
            &ctx(GENERAL, None, MutationSet::NONE),
        )
        .unwrap();
        assert_eq!((g.align, g.size), (8, 128));
    }

    #[test]
    fn reciprocal_and_free_limit() {
        assert_eq!(reciprocal_value(1424), 3016129);
        let p = ArchProfile::x86_64();
        let t = enable_cpucache(&p, 256);
        assert_eq!((t.limit, t.batchcount, t.shared), (120, 60, 8));
        assert_eq!(free_limit(p.nr_cpus_node(0), &t, 15), 5 * 60 + 15);
    }
}
