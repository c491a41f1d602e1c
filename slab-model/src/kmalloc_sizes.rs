//! kmalloc size classes (2.6.24 include/linux/kmalloc_sizes.h; 4.4 mm/slab_common.c): which general caches exist, in which order
//! `kmem_cache_init` creates them, how a request size maps to a class, and the boot-time
//! context (existing general caches, `slab_early_init`) each of them is created in.
//!
//! Era A follows 2.6.24 `include/linux/kmalloc_sizes.h` + `kmem_cache_init`; era B follows
//! 4.4 `slab_common.c` (`size_index`, `setup_kmalloc_cache_index_table`,
//! `create_kmalloc_caches`) + `kmem_cache_init`.

use crate::error::SlabError;
use crate::geometry::{calculate_geometry, CacheGeometry, CreateArgs, CreateContext, GeneralCache};
use crate::mutation::{Mutation, MutationSet};
use crate::profile::{ArchProfile, Era};
use crate::slab_flags::SlabFlags;
use serde::{Deserialize, Serialize};

/// One kmalloc size class: a normal cache and its DMA twin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmallocClass {
    /// Object size of the class.
    pub size: usize,
    /// Name of the normal cache (`size-64` / `kmalloc-64`).
    pub name: String,
    /// Name of the DMA twin (`size-64(DMA)` / `dma-kmalloc-64`).
    pub dma_name: String,
}

/// `KMALLOC_SHIFT_HIGH` = `min(MAX_ORDER + PAGE_SHIFT - 1, 25)` (2.6.24 `slab.h` and 4.4
/// SLAB branch of `slab.h` agree: 32 MiB is the hard ceiling of the constant-folded
/// kmalloc tables).
pub fn kmalloc_shift_high(profile: &ArchProfile) -> u32 {
    (profile.max_order + profile.page_shift())
        .saturating_sub(1)
        .min(25)
}

/// `KMALLOC_MAX_SIZE` = `2^KMALLOC_SHIFT_HIGH` (both eras; 4 MiB on x86 with MAX_ORDER 11).
pub fn kmalloc_max_size(profile: &ArchProfile, era: Era) -> usize {
    let _ = era; // same rule in both eras
    1usize << kmalloc_shift_high(profile)
}

/// `KMALLOC_MAX_ORDER` = `KMALLOC_SHIFT_HIGH - PAGE_SHIFT`: the bound of the order loop
/// in `calculate_slab_order` (both eras).
pub fn kmalloc_max_order(profile: &ArchProfile) -> u32 {
    kmalloc_shift_high(profile).saturating_sub(profile.page_shift())
}

/// Era B `KMALLOC_MIN_SIZE`. The profile field holds the architecture's DMA minimum
/// alignment: above 8 it becomes `KMALLOC_MIN_SIZE` (arm64: 128); otherwise SLAB's
/// default `1 << KMALLOC_SHIFT_LOW` = 32 applies. (Using 8 here would make
/// `SLAB_OBJ_MIN_SIZE` 8 and the freelist index 2 bytes, contradicting the 124
/// kmalloc-32 objects per page of 4.4 x86_64.)
pub fn kmalloc_min_size(profile: &ArchProfile) -> usize {
    1 << kmalloc_shift_low(profile)
}

/// Era B `KMALLOC_SHIFT_LOW`: 5 for SLAB unless `ARCH_DMA_MINALIGN > 8`, then its log2.
pub fn kmalloc_shift_low(profile: &ArchProfile) -> u32 {
    if profile.kmalloc_min_size > 8 {
        profile.kmalloc_min_size.trailing_zeros()
    } else {
        5
    }
}

/// The class of `size` with its cache names in `era`.
pub fn class(era: Era, size: usize) -> KmallocClass {
    match era {
        Era::A => KmallocClass {
            size,
            name: format!("size-{size}"),
            dma_name: format!("size-{size}(DMA)"),
        },
        Era::B => KmallocClass {
            size,
            name: format!("kmalloc-{size}"),
            dma_name: format!("dma-kmalloc-{size}"),
        },
    }
}

/// The kmalloc size classes, ascending by size (2.6.24 `malloc_sizes[]` without the
/// `ULONG_MAX` sentinel; 4.4 the non-NULL `kmalloc_caches[]` sorted by size). The order in
/// which `kmem_cache_init` creates them is [`kmalloc_creation_order`].
///
/// Era A: 32 only with 4 KiB pages, 96 if `L1_CACHE_BYTES < 64`, 192 if `< 128`, powers
/// of two up to `KMALLOC_MAX_SIZE` (the header lists 256 … 131072 unconditionally; a
/// profile whose `KMALLOC_MAX_SIZE` is smaller cannot create them, so they are left out).
/// Era B: `2^KMALLOC_SHIFT_LOW … 2^KMALLOC_SHIFT_HIGH`, 96 if `KMALLOC_MIN_SIZE <= 32`,
/// 192 if `<= 64`.
pub fn kmalloc_classes(profile: &ArchProfile, era: Era) -> Vec<KmallocClass> {
    kmalloc_class_sizes(profile, era)
        .into_iter()
        .map(|s| class(era, s))
        .collect()
}

/// The sizes of [`kmalloc_classes`] (same order), without building their names.
pub fn kmalloc_class_sizes(profile: &ArchProfile, era: Era) -> Vec<usize> {
    let max = kmalloc_max_size(profile, era);
    let mut sizes = Vec::new();
    match era {
        Era::A => {
            if profile.page_size == 4096 {
                sizes.push(32);
            }
            sizes.push(64);
            if profile.l1_cache_bytes < 64 {
                sizes.push(96);
            }
            sizes.push(128);
            if profile.l1_cache_bytes < 128 {
                sizes.push(192);
            }
            let mut s = 256;
            while s <= max {
                sizes.push(s);
                s *= 2;
            }
        }
        Era::B => {
            let min = kmalloc_min_size(profile);
            for shift in kmalloc_shift_low(profile)..=kmalloc_shift_high(profile) {
                sizes.push(1usize << shift);
                if shift == 6 && min <= 32 {
                    sizes.push(96);
                }
                if shift == 7 && min <= 64 {
                    sizes.push(192);
                }
            }
        }
    }
    sizes.retain(|&s| s <= max);
    sizes
}

/// Sizes of the structures the bootstrap caches must serve before `slab_early_init` is
/// cleared, computed from the word size and `spinlock_t`'s size (4 bytes, 4-byte aligned,
/// without lock debugging; `long` and pointers one word).
///
/// Era A (2.6.24), two structures:
/// * `struct arraycache_init` = `struct array_cache` (4 `unsigned int` + `spinlock_t` =
///   20 bytes, then `void *entry[]` aligned to a word: 24 on 64-bit, 20 on 32-bit) plus
///   `BOOT_CPUCACHE_ENTRIES` = 1 pointer: **32** (64-bit) / **24** (32-bit).
/// * `struct kmem_list3` = 3 `list_head` (6 words), `free_objects` (word), `free_limit`
///   and `colour_next` (2×4), `list_lock` (4), `shared`, `alien` (2 words), `next_reap`
///   (word), `free_touched` (4): 64-bit 48+8+8+4 = 68 → pad 72, +24 = 96, +4 = 100 →
///   **104**; 32-bit 24+4+8+4+12+4 = **56**.
///
/// Era B (4.4), one structure: `struct kmem_cache_node` = `list_lock` first (4, padded to
/// a word), then the same fields as `kmem_list3` without the lock: 64-bit 8+48+8+8+8+8+8+4
/// = 100 → **104**; 32-bit 4+24+4+8+12+4 = **56**.
///
/// With lock debugging (`ArchProfile::spinlock_size` above 4) each `spinlock_t` is that
/// many bytes and word-aligned (it holds the owner pointer): on 64-bit with
/// `CONFIG_DEBUG_SPINLOCK` and `CONFIG_DEBUG_LOCK_ALLOC` (56 bytes) `kmem_cache_node` is
/// 56+48+8+8+8+8+8+4 = 148 → **152**, so on arm64 4.4 (`KMALLOC_MIN_SIZE` 128) the
/// bootstrap class is kmalloc-256 rather than kmalloc-128 — B.20's configuration.
pub fn early_struct_sizes(profile: &ArchProfile, era: Era) -> Vec<usize> {
    let w = profile.word_size;
    // spinlock_t: (size, alignment).
    let lock = if profile.spinlock_size > 4 {
        (profile.spinlock_size, w)
    } else {
        (4, 4)
    };
    // Fields laid out in order: (size, alignment); the struct is padded to a word.
    let lay = |fields: &[(usize, usize)]| {
        let mut off = 0;
        for &(size, align) in fields {
            off = align_up(off, align) + size;
        }
        align_up(off, w)
    };
    match era {
        Era::A => {
            // struct array_cache: four unsigned ints and the lock, then `entry[]` aligned
            // to a word; arraycache_init adds BOOT_CPUCACHE_ENTRIES = 1 entry.
            let array_cache = align_up(lay(&[(4, 4), (4, 4), (4, 4), (4, 4), lock]), w);
            vec![
                array_cache + w,
                lay(&[
                    (6 * w, w),
                    (w, w),
                    (4, 4),
                    (4, 4),
                    lock,
                    (w, w),
                    (w, w),
                    (w, w),
                    (4, 4),
                ]),
            ]
        }
        Era::B => vec![lay(&[
            lock,
            (6 * w, w),
            (w, w),
            (4, 4),
            (4, 4),
            (w, w),
            (w, w),
            (w, w),
            (4, 4),
        ])],
    }
}

fn align_up(x: usize, a: usize) -> usize {
    crate::geometry::align_up(x, a)
}

/// Indices (into [`kmalloc_classes`]) of the bootstrap caches, in creation order and
/// without duplicates: era A `INDEX_AC` then `INDEX_L3` (the second is skipped when both
/// structures fall in the same class), era B `INDEX_NODE`. They are created with
/// `slab_early_init` set, so they are always on-slab.
pub fn early_classes(profile: &ArchProfile, era: Era) -> Vec<usize> {
    let mut out = Vec::new();
    for s in early_struct_sizes(profile, era) {
        if let Some(i) = kmalloc_index(profile, era, s, MutationSet::NONE) {
            if !out.contains(&i) {
                out.push(i);
            }
        }
    }
    out
}

/// Order in which `kmem_cache_init` creates the normal kmalloc caches (indices into
/// [`kmalloc_classes`]): the bootstrap caches first, then the rest ascending (era B's
/// 96 and 192 come right after 64 and 128, which is ascending too).
pub fn kmalloc_creation_order(profile: &ArchProfile, era: Era) -> Vec<usize> {
    let mut order = early_classes(profile, era);
    for i in 0..kmalloc_classes(profile, era).len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

/// 4.4 default `size_index[]` for requests of 1..=192 bytes, one entry per 8 bytes: the
/// `kmalloc_caches[]` index (1 = the 96 cache, 2 = the 192 cache, n = `2^n`).
const SIZE_INDEX: [u32; 24] = [
    3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2,
];

/// 4.4 `size_index` after `setup_kmalloc_cache_index_table`.
fn size_index_table(profile: &ArchProfile) -> [u32; 24] {
    let mut t = SIZE_INDEX;
    let min = kmalloc_min_size(profile);
    let mut i = 8;
    while i < min && (i - 1) / 8 < t.len() {
        t[(i - 1) / 8] = kmalloc_shift_low(profile);
        i += 8;
    }
    if min >= 64 {
        // No 96 cache with 64-byte minimum alignment: use 128.
        for i in (72..=96).step_by(8) {
            t[(i - 1) / 8] = 7;
        }
    }
    if min >= 128 {
        // No 192 cache with 128-byte minimum alignment: use 256.
        for i in (136..=192).step_by(8) {
            t[(i - 1) / 8] = 8;
        }
    }
    t
}

/// The size class for a request of `size >= 1` bytes, as an index into
/// [`kmalloc_classes`]; `None` if larger than `KMALLOC_MAX_SIZE` (or 0: the caller
/// returns `ZERO_SIZE_PTR` before asking).
///
/// Era A models 2.6.24 `__find_general_cachep` (first class with `cs_size >= size`).
/// Era B models 4.4 `kmalloc_slab`: `size_index[(size-1)/8]` up to 192 bytes, else
/// `fls(size-1)`. (A `size_index` entry naming a class the profile lacks, only possible
/// with `KMALLOC_MIN_SIZE > 128`, falls forward to the next existing class.)
///
/// `Mutation::KmallocClassTooSmall` returns the class below the correct one when there
/// is one, so the object is smaller than the request.
pub fn kmalloc_index(
    profile: &ArchProfile,
    era: Era,
    size: usize,
    mutations: MutationSet,
) -> Option<usize> {
    KmallocIndex::new(profile, era).lookup(size, mutations)
}

/// [`kmalloc_index`] with its tables computed once: the machine builds one at boot, as the
/// kernel's tables are fixed after `kmem_cache_init`, so a `kmalloc` does no allocation
/// to find its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmallocIndex {
    era: Era,
    max: usize,
    sizes: Vec<usize>,
    size_index: [u32; 24],
}

impl KmallocIndex {
    /// The tables of `profile` in `era`.
    pub fn new(profile: &ArchProfile, era: Era) -> Self {
        KmallocIndex {
            era,
            max: kmalloc_max_size(profile, era),
            sizes: kmalloc_class_sizes(profile, era),
            size_index: size_index_table(profile),
        }
    }

    /// [`kmalloc_index`] of `size`.
    pub fn lookup(&self, size: usize, mutations: MutationSet) -> Option<usize> {
        if size == 0 || size > self.max {
            return None;
        }
        let target = match self.era {
            Era::A => size,
            Era::B => {
                if size <= 192 {
                    match self.size_index[(size - 1) / 8] {
                        1 => 96,
                        2 => 192,
                        n => 1usize << n,
                    }
                } else {
                    1usize << (usize::BITS - (size - 1).leading_zeros())
                }
            }
        };
        let idx = self.sizes.iter().position(|&c| c >= target.max(size))?;
        if mutations.has(Mutation::KmallocClassTooSmall) && idx > 0 {
            Some(idx - 1)
        } else {
            Some(idx)
        }
    }
}

/// `kmem_cache_create` arguments of a kmalloc cache (2.6.24 `kmem_cache_init`, 4.4
/// `create_kmalloc_cache`): `align = ARCH_KMALLOC_MINALIGN`, flags
/// `ARCH_KMALLOC_FLAGS` = `SLAB_HWCACHE_ALIGN`, no constructor.
pub fn kmalloc_boot_args(profile: &ArchProfile, era: Era, class: &KmallocClass) -> CreateArgs {
    let _ = era;
    CreateArgs {
        name: class.name.clone(),
        size: class.size,
        align: profile.arch_kmalloc_minalign,
        flags: SlabFlags::HWCACHE_ALIGN,
        ctor: false,
    }
}

/// A kmalloc cache created during boot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootCache {
    /// Index into [`kmalloc_classes`].
    pub index: usize,
    /// The context it was created in.
    #[serde(skip)]
    pub context: CreateContext,
    /// Its geometry.
    pub geometry: CacheGeometry,
}

/// Replays the kmalloc part of `kmem_cache_init` (era A) / `kmem_cache_init` +
/// `create_kmalloc_caches` (era B) for the normal caches: each cache is created with the
/// general caches that exist before it, `slab_early_init` for the bootstrap ones.
/// Returned in creation order.
pub fn create_kmalloc_caches(
    profile: &ArchProfile,
    era: Era,
    mutations: MutationSet,
) -> Result<Vec<BootCache>, SlabError> {
    let classes = kmalloc_classes(profile, era);
    let early = early_classes(profile, era);
    let mut existing: Vec<GeneralCache> = Vec::new();
    let mut out = Vec::new();
    for i in kmalloc_creation_order(profile, era) {
        let class = &classes[i];
        let mut general_caches = existing.clone();
        general_caches.sort_by_key(|g| g.size);
        let context = CreateContext {
            slab_early_init: early.contains(&i),
            general_caches,
            self_class: Some(class.size),
            mutations,
        };
        let geometry = calculate_geometry(
            profile,
            era,
            &kmalloc_boot_args(profile, era, class),
            &context,
        )?;
        existing.push(GeneralCache {
            size: class.size,
            off_slab: geometry.off_slab(),
        });
        out.push(BootCache {
            index: i,
            context,
            geometry,
        });
    }
    Ok(out)
}

/// The general caches that exist once boot has created every kmalloc cache, ascending:
/// the context for any later `kmem_cache_create`.
pub fn boot_general_caches(
    profile: &ArchProfile,
    era: Era,
    mutations: MutationSet,
) -> Result<Vec<GeneralCache>, SlabError> {
    let mut v: Vec<GeneralCache> = create_kmalloc_caches(profile, era, mutations)?
        .into_iter()
        .map(|b| GeneralCache {
            size: kmalloc_classes(profile, era)[b.index].size,
            off_slab: b.geometry.off_slab(),
        })
        .collect();
    v.sort_by_key(|g| g.size);
    Ok(v)
}

/// The context `kmem_cache_init` creates kmalloc class `index` in (normal cache).
pub fn kmalloc_create_context(
    profile: &ArchProfile,
    era: Era,
    index: usize,
    mutations: MutationSet,
) -> Result<CreateContext, SlabError> {
    create_kmalloc_caches(profile, era, mutations)?
        .into_iter()
        .find(|b| b.index == index)
        .map(|b| b.context)
        .ok_or_else(|| SlabError::InvalidProfile(format!("no kmalloc class {index}")))
}

/// The context of the DMA twin of class `index`: era A creates it in the ascending loop
/// right after the normal cache of the same class, era B after all normal caches; in both it is created
/// after `slab_early_init` was cleared, and its off-slab descriptor comes from the
/// normal general caches (so it is never its own source).
pub fn kmalloc_dma_create_context(
    profile: &ArchProfile,
    era: Era,
    index: usize,
    mutations: MutationSet,
) -> Result<CreateContext, SlabError> {
    let boot = create_kmalloc_caches(profile, era, mutations)?;
    let classes = kmalloc_classes(profile, era);
    let early = early_classes(profile, era);
    // Era A's loop reaches class `index` after the bootstrap caches and every smaller
    // class exist; era B creates the DMA caches after all normal ones.
    let exists = |j: usize| match era {
        Era::A => j <= index || early.contains(&j),
        Era::B => true,
    };
    let mut general_caches: Vec<GeneralCache> = boot
        .iter()
        .filter(|b| exists(b.index))
        .map(|b| GeneralCache {
            size: classes[b.index].size,
            off_slab: b.geometry.off_slab(),
        })
        .collect();
    general_caches.sort_by_key(|g| g.size);
    Ok(CreateContext {
        slab_early_init: false,
        general_caches,
        self_class: None,
        mutations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(p: &ArchProfile, era: Era) -> Vec<usize> {
        kmalloc_classes(p, era).iter().map(|c| c.size).collect()
    }

    #[test]
    fn era_a_tables() {
        let x = ArchProfile::x86_64();
        let s = sizes(&x, Era::A);
        assert_eq!(&s[..5], &[32, 64, 128, 192, 256]);
        assert_eq!(*s.last().unwrap(), 4 << 20);
        assert_eq!(s.len(), 19, "the 19 size-N rows of dataset D4");
        let l1_32 = ArchProfile {
            l1_cache_bytes: 32,
            ..ArchProfile::i386()
        };
        assert_eq!(&sizes(&l1_32, Era::A)[..5], &[32, 64, 96, 128, 192]);
        let p4 = ArchProfile {
            l1_cache_bytes: 128,
            ..x.clone()
        };
        assert_eq!(&sizes(&p4, Era::A)[..4], &[32, 64, 128, 256]);
        assert_eq!(kmalloc_classes(&x, Era::A)[0].dma_name, "size-32(DMA)");
    }

    #[test]
    fn era_a_bootstrap() {
        let x = ArchProfile::x86_64();
        assert_eq!(early_struct_sizes(&x, Era::A), vec![32, 104]);
        assert_eq!(
            early_struct_sizes(&ArchProfile::i386(), Era::A),
            vec![24, 56]
        );
        // size-32 then size-128, then 64, 192, 256, ...
        assert_eq!(&kmalloc_creation_order(&x, Era::A)[..4], &[0, 2, 1, 3]);
        let boot = create_kmalloc_caches(&x, Era::A, MutationSet::NONE).unwrap();
        assert!(boot[0].context.slab_early_init && boot[1].context.slab_early_init);
        assert!(!boot[2].context.slab_early_init);
        assert_eq!(
            boot[2]
                .context
                .general_caches
                .iter()
                .map(|g| g.size)
                .collect::<Vec<_>>(),
            vec![32, 128]
        );
    }

    #[test]
    fn era_b_tables_and_index() {
        let x = ArchProfile::x86_64();
        let s = sizes(&x, Era::B);
        assert_eq!(&s[..5], &[32, 64, 96, 128, 192]);
        assert_eq!(kmalloc_classes(&x, Era::B)[2].name, "kmalloc-96");
        assert_eq!(kmalloc_classes(&x, Era::B)[2].dma_name, "dma-kmalloc-96");
        let idx = |size| kmalloc_index(&x, Era::B, size, MutationSet::NONE).map(|i| s[i]);
        assert_eq!(idx(1), Some(32));
        assert_eq!(idx(33), Some(64));
        assert_eq!(idx(72), Some(96));
        assert_eq!(idx(100), Some(128));
        assert_eq!(idx(136), Some(192));
        assert_eq!(idx(193), Some(256));
        assert_eq!(idx(4 << 20), Some(4 << 20));
        assert_eq!(idx((4 << 20) + 1), None);
        assert_eq!(early_struct_sizes(&x, Era::B), vec![104]);
        assert_eq!(
            early_classes(&x, Era::B),
            vec![3],
            "kmalloc-128 is INDEX_NODE"
        );
        // arm64 4.4: KMALLOC_MIN_SIZE 128, no 96/192, 72..96 -> 128, 136..192 -> 256.
        let arm = ArchProfile {
            kmalloc_min_size: 128,
            ..x
        };
        let s = sizes(&arm, Era::B);
        assert_eq!(&s[..3], &[128, 256, 512]);
        let idx = |size| kmalloc_index(&arm, Era::B, size, MutationSet::NONE).map(|i| s[i]);
        assert_eq!(
            (idx(8), idx(96), idx(136), idx(192)),
            (Some(128), Some(128), Some(256), Some(256))
        );
    }

    /// Lock debugging grows every `spinlock_t` and with it the bootstrap structures
    /// (include/linux/spinlock_types.h: `magic`, `owner_cpu`, `owner` with
    /// CONFIG_DEBUG_SPINLOCK, a 32-byte `lockdep_map` with CONFIG_DEBUG_LOCK_ALLOC).
    #[test]
    fn lock_debugging_grows_the_bootstrap_structures() {
        let x = ArchProfile::x86_64();
        let with = |spinlock_size| ArchProfile { spinlock_size, ..x };
        // 2.6.24: array_cache 16 + lock, word-aligned, + one entry; kmem_list3 48 + 8 +
        // 4 + 4, the lock word-aligned, + 24 + 4.
        assert_eq!(early_struct_sizes(&x, Era::A), vec![32, 104]);
        assert_eq!(early_struct_sizes(&with(24), Era::A), vec![48, 120]);
        assert_eq!(early_struct_sizes(&with(56), Era::A), vec![80, 152]);
        // 4.4 kmem_cache_node: the lock first.
        assert_eq!(early_struct_sizes(&with(24), Era::B), vec![120]);
        assert_eq!(early_struct_sizes(&with(56), Era::B), vec![152]);
        // arm64 4.4 (KMALLOC_MIN_SIZE 128): INDEX_NODE is kmalloc-128 unless lockdep
        // pushes kmem_cache_node past 128 bytes; then it is kmalloc-256 (B.20).
        let arm = |spinlock_size| ArchProfile {
            kmalloc_min_size: 128,
            spinlock_size,
            ..x
        };
        for (lock, class) in [(4, 128), (24, 128), (56, 256)] {
            let s = sizes(&arm(lock), Era::B);
            let early: Vec<usize> = early_classes(&arm(lock), Era::B)
                .iter()
                .map(|&i| s[i])
                .collect();
            assert_eq!(early, vec![class], "spinlock_t of {lock} bytes");
        }
        assert!(with(2).validate().is_err());
        assert!(with(6).validate().is_err());
        assert!(with(56).validate().is_ok());
    }

    #[test]
    fn too_small_mutation() {
        let x = ArchProfile::x86_64();
        let m = MutationSet::only(Mutation::KmallocClassTooSmall);
        assert_eq!(
            kmalloc_index(&x, Era::A, 100, m),
            Some(1),
            "size-64 for a 100-byte request"
        );
        assert_eq!(
            kmalloc_index(&x, Era::A, 20, m),
            Some(0),
            "no class below the first"
        );
    }
}
