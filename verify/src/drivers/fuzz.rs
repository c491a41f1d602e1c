//! Fuzz target bodies, as library functions over raw bytes.
//!
//! `fuzz/fuzz_targets/*.rs` are one-line `fuzz_target!` wrappers around these, and
//! `tests/fuzz_corpus.rs` runs the same functions over the committed corpus, the crash
//! regressions and deterministically generated inputs, so `cargo test` on stable covers
//! the logic without cargo-fuzz. Every target decodes its input with
//! [`arbitrary::Unstructured`]; nothing inside reads a clock or OS randomness, so an input
//! replays exactly. A target *fails* by panicking with a message that names the broken
//! property; misuse the model must reject is never a failure as long as it is rejected
//! with the right typed error.
//!
//! * [`geometry`] — `calculate_geometry` over arbitrary profiles (sane and not), eras and
//!   create arguments: never panics, every `Ok` satisfies the layout invariants, every
//!   `Err` is a create-time [`SlabError`] consistent with the input.
//! * [`kmalloc`] — `kmalloc_index` against an independent search of `kmalloc_classes`,
//!   then `kmalloc` / `kfree` / `ksize` round trips and garbage frees on a booted machine.
//! * [`ops`] — operation sequences against the sequential reference
//!   ([`crate::reference`]), with fault injection, both eras, tiny and realistic caches.
//! * [`schedule`] (feature `shuttle`) — one shuttle execution of a scenario whose every
//!   scheduling decision is an input byte ([`ByteScheduler`]).
//!
//! Mutation knob: `SLAB_FUZZ_MUTATION=<name>` (read once per process, never inside the
//! model) runs [`ops`], [`kmalloc`] and [`schedule`] with that mutation enabled, and
//! `SLAB_FUZZ_MUTATION=any` lets the input pick one from [`Mutation::ALL`]. That mode
//! measures how fast the fuzzer detects a known bug; the CI fuzz run leaves it unset.

use crate::reference::{Harness, Op};
use arbitrary::Unstructured;
use slab_model::geometry::{
    calculate_geometry, freelist_idx_size, slab_limit, slab_obj_max_num, CreateContext,
    DescriptorSource, GeneralCache,
};
use slab_model::kmalloc::ZERO_SIZE_PTR;
use slab_model::kmalloc_sizes::{kmalloc_classes, kmalloc_index, kmalloc_max_size};
use slab_model::sync::StdPlatform;
use slab_model::{
    ArchProfile, CreateArgs, Era, FaultInjection, Gfp, KmallocSetup, Machine, MachineConfig,
    Mutation, MutationSet, SlabError, SlabFlags,
};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Environment variable of the mutation knob.
pub const MUTATION_ENV: &str = "SLAB_FUZZ_MUTATION";

/// Which mutation a target runs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MutationKnob {
    /// The faithful model (the CI fuzz run).
    #[default]
    Off,
    /// Always this mutation.
    Fixed(Mutation),
    /// The input picks one of [`Mutation::ALL`] (or none).
    Any,
}

impl MutationKnob {
    /// Parses the knob's value: empty / `none` / `off`, `any`, or a mutation name.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "" | "none" | "off" => Ok(MutationKnob::Off),
            "any" => Ok(MutationKnob::Any),
            name => name.parse().map(MutationKnob::Fixed),
        }
    }

    /// The knob from [`MUTATION_ENV`], read once per process. An unknown name panics at
    /// the first input (a misconfigured campaign must not silently fuzz the faithful model).
    pub fn from_env() -> Self {
        static KNOB: OnceLock<MutationKnob> = OnceLock::new();
        *KNOB.get_or_init(|| {
            let v = std::env::var(MUTATION_ENV).unwrap_or_default();
            MutationKnob::parse(&v).unwrap_or_else(|e| panic!("{MUTATION_ENV}: {e}"))
        })
    }

    /// The mutation set for one input (consumes one byte with [`MutationKnob::Any`]).
    fn pick(self, u: &mut Unstructured<'_>) -> MutationSet {
        match self {
            MutationKnob::Off => MutationSet::NONE,
            MutationKnob::Fixed(m) => MutationSet::only(m),
            MutationKnob::Any => {
                let i = u.choose_index(Mutation::ALL.len() + 1).unwrap_or(0);
                Mutation::ALL
                    .get(i)
                    .map_or(MutationSet::NONE, |&m| MutationSet::only(m))
            }
        }
    }
}

/// Environment variable choosing when the `ops` target runs the full audit.
pub const AUDIT_ENV: &str = "SLAB_FUZZ_AUDIT";

/// When the `ops` target runs the full audit: after the sequence (default: about twice
/// the inputs per second) or after every operation (an invariant broken and repaired
/// within one sequence is caught too, and a failure names the operation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuditKnob {
    /// After the sequence and after draining (`SLAB_FUZZ_AUDIT` unset, empty or `end`).
    #[default]
    AtEnd,
    /// After every operation as well (`SLAB_FUZZ_AUDIT=step`).
    EachStep,
}

impl AuditKnob {
    /// Parses the knob's value.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "" | "end" => Ok(AuditKnob::AtEnd),
            "step" => Ok(AuditKnob::EachStep),
            other => Err(format!(
                "unknown value {other:?} (expected `end` or `step`)"
            )),
        }
    }

    /// The knob from [`AUDIT_ENV`], read once per process; an unknown value panics at the
    /// first input.
    pub fn from_env() -> Self {
        static KNOB: OnceLock<AuditKnob> = OnceLock::new();
        *KNOB.get_or_init(|| {
            let v = std::env::var(AUDIT_ENV).unwrap_or_default();
            AuditKnob::parse(&v).unwrap_or_else(|e| panic!("{AUDIT_ENV}: {e}"))
        })
    }
}

// ---- shared decoding ---------------------------------------------------------------

fn era(u: &mut Unstructured<'_>) -> Era {
    if u.arbitrary::<bool>().unwrap_or(false) {
        Era::B
    } else {
        Era::A
    }
}

/// A power of two `1 << k` with `k` in `lo..=hi`.
fn pow2(u: &mut Unstructured<'_>, lo: u32, hi: u32) -> usize {
    1usize << u.int_in_range(lo..=hi).unwrap_or(lo)
}

/// An architecture profile: a real base machine with some fields replaced, each either by
/// a value a kernel could have or (when `wild`) by anything at all.
fn profile(u: &mut Unstructured<'_>, wild: bool) -> ArchProfile {
    let mut p = match u.int_in_range(0u8..=2).unwrap_or(0) {
        0 => ArchProfile::tiny(),
        1 => ArchProfile::x86_64(),
        _ => ArchProfile::i386(),
    };
    // Each field: 0 keep, 1 sane replacement, 2 anything (only when wild).
    let top = if wild { 2 } else { 1 };
    let how = |u: &mut Unstructured<'_>| u.int_in_range(0u8..=top).unwrap_or(0);
    macro_rules! field {
        ($f:ident, $sane:expr, $any:ty) => {
            match how(u) {
                0 => {}
                1 => p.$f = $sane,
                _ => p.$f = u.arbitrary::<$any>().unwrap_or_default() as _,
            }
        };
    }
    field!(page_size, pow2(u, 10, 16), u32);
    field!(
        word_size,
        if u.arbitrary().unwrap_or(false) { 8 } else { 4 },
        u8
    );
    field!(cache_line_size, pow2(u, 4, 8), u16);
    field!(l1_cache_bytes, pow2(u, 4, 8), u16);
    field!(
        slab_desc_size,
        *u.choose(&[24, 28, 32, 48]).unwrap_or(&48),
        u16
    );
    field!(bufctl_size, *u.choose(&[2, 4]).unwrap_or(&4), u8);
    field!(cpus, u.int_in_range(1..=8).unwrap_or(1), u8);
    field!(nodes, u.int_in_range(1..=2).unwrap_or(1).min(p.cpus), u8);
    field!(ram_bytes, (pow2(u, 24, 34)) as u64, u64);
    field!(max_order, u.int_in_range(8..=12).unwrap_or(11), u8);
    field!(kmalloc_min_size, pow2(u, 3, 7), u16);
    field!(arch_kmalloc_minalign, pow2(u, 3, 7), u16);
    field!(
        arch_slab_minalign,
        *u.choose(&[0, 8, 16]).unwrap_or(&0),
        u16
    );
    p.debug = u.ratio(1u8, 8).unwrap_or(false);
    p.debug_slab_leak = u.ratio(1u8, 16).unwrap_or(false);
    p
}

// ---- geometry ----------------------------------------------------------------------

/// `enable_cpucache`'s rules, restated independently of the model.
fn expected_tunables(p: &ArchProfile, size: usize) -> (usize, usize, usize) {
    let mut limit = match size {
        s if s > 131072 => 1,
        s if s > p.page_size => 8,
        s if s > 1024 => 24,
        s if s > 256 => 54,
        _ => 120,
    };
    if p.debug {
        limit = limit.min(32);
    }
    let shared = if size <= p.page_size && p.cpus > 1 {
        8
    } else {
        0
    };
    (limit, limit.div_ceil(2), shared)
}

/// Fuzz target `geometry` (mutation knob from [`MUTATION_ENV`]).
pub fn geometry(data: &[u8]) {
    geometry_with(data, MutationKnob::from_env())
}

/// Fuzz target `geometry` with an explicit mutation knob: `calculate_geometry` never
/// panics; every `Ok` is a layout that fits its slab and follows the kernel's rules; every
/// `Err` is a create-time error that the input actually deserves.
pub fn geometry_with(data: &[u8], knob: MutationKnob) {
    let mut u = Unstructured::new(data);
    let mutations = knob.pick(&mut u);
    let wild = u.ratio(1u8, 4).unwrap_or(false);
    let p = profile(&mut u, wild);
    let era = era(&mut u);
    let size: usize = match u.int_in_range(0u8..=3).unwrap_or(0) {
        0 => u.int_in_range(1..=512).unwrap_or(1),
        1 => u.int_in_range(1..=8192).unwrap_or(1),
        2 => u.int_in_range(0..=1 << 23).unwrap_or(0),
        _ => u.arbitrary::<u64>().unwrap_or(0) as usize,
    };
    let align: usize = match u.int_in_range(0u8..=3).unwrap_or(0) {
        0 => 0,
        1 => pow2(&mut u, 0, 12),
        2 => pow2(&mut u, 0, 63),
        _ => u.arbitrary::<u32>().unwrap_or(0) as usize,
    };
    let flags = if u.ratio(1u8, 16).unwrap_or(false) {
        SlabFlags(u.arbitrary().unwrap_or(0))
    } else {
        let known = [
            SlabFlags::HWCACHE_ALIGN,
            SlabFlags::RECLAIM_ACCOUNT,
            SlabFlags::RED_ZONE,
            SlabFlags::STORE_USER,
            SlabFlags::POISON,
            SlabFlags::DESTROY_BY_RCU,
            SlabFlags::NOLEAKTRACE,
            SlabFlags::CACHE_DMA,
            SlabFlags::PANIC,
        ];
        let bits: u16 = u.arbitrary().unwrap_or(0);
        known
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .fold(SlabFlags::default(), |a, (_, &f)| a | f)
    };
    let name = if u.ratio(1u8, 32).unwrap_or(false) {
        String::new()
    } else {
        "fuzz".to_string()
    };
    let args = CreateArgs {
        name,
        size,
        align,
        flags,
        ctor: u.arbitrary().unwrap_or(false),
    };
    // The general caches that exist when this cache is created: a prefix of the classes
    // (as during kmem_cache_init) or all of them.
    let classes = if p.validate().is_ok() {
        kmalloc_classes(&p, era)
    } else {
        Vec::new()
    };
    let upto = u.int_in_range(0..=classes.len()).unwrap_or(classes.len());
    let general: Vec<GeneralCache> = classes[..upto]
        .iter()
        .map(|c| GeneralCache {
            size: c.size,
            off_slab: false,
        })
        .collect();
    let self_class = if u.ratio(1u8, 4).unwrap_or(false) {
        classes.get(upto).map(|c| c.size)
    } else {
        None
    };
    let ctx = CreateContext {
        slab_early_init: u.ratio(1u8, 8).unwrap_or(false),
        general_caches: general,
        self_class,
        mutations,
    };

    let r = calculate_geometry(&p, era, &args, &ctx);
    let ctx_s = format!("profile {p:?} era {era:?} args {args:?} ctx {ctx:?}");
    match r {
        Ok(g) => check_geometry(&p, era, &args, &ctx, &g, &ctx_s),
        Err(e) => check_create_error(&p, era, &args, &e, &ctx_s),
    }
}

fn check_geometry(
    p: &ArchProfile,
    era: Era,
    args: &CreateArgs,
    ctx: &CreateContext,
    g: &slab_model::CacheGeometry,
    what: &str,
) {
    let fail = |msg: String| -> ! { panic!("geometry invariant: {msg}\n  {what}\n  {g:?}") };
    if p.validate().is_err() {
        fail("an invalid profile produced a geometry".into());
    }
    if g.era != era {
        fail("era".into());
    }
    if g.num < 1 {
        fail("num < 1".into());
    }
    if g.align == 0 || !g.align.is_power_of_two() {
        fail(format!("align {} is not a power of two", g.align));
    }
    if !g.size.is_multiple_of(g.align) {
        fail(format!("size {} % align {} != 0", g.size, g.align));
    }
    if args.align > 0 && g.align < args.align {
        fail("the caller's alignment was lowered".into());
    }
    if g.object_size < args.size || g.size < g.object_size {
        fail("object_size / size shrank below the request".into());
    }
    let slab = p.page_size << g.gfporder;
    let mgmt = if g.off_slab() { 0 } else { g.mgmt_size };
    let used = g.num * g.size + mgmt;
    if used + g.colour * g.colour_off > slab {
        fail(format!(
            "objects {} + management {mgmt} + colour area {} exceed the slab ({slab})",
            g.num * g.size,
            g.colour * g.colour_off
        ));
    }
    if g.left_over != slab - used {
        fail(format!("left_over {} != {slab} - {used}", g.left_over));
    }
    if g.colour_off < p.cache_line_size || g.colour_off < g.align {
        fail("colour_off below the cache line or the alignment".into());
    }
    if g.colour != g.left_over / g.colour_off {
        fail("colour != left_over / colour_off".into());
    }
    if g.gfporder > slab_model::kmalloc_sizes::kmalloc_max_order(p) {
        fail("gfporder above KMALLOC_MAX_ORDER".into());
    }
    match era {
        Era::A if g.num > slab_limit(p) => fail("num above SLAB_LIMIT".into()),
        Era::B if g.num > slab_obj_max_num(p) => fail("num above SLAB_OBJ_MAX_NUM".into()),
        _ => {}
    }
    let raw_mgmt = match era {
        Era::A => p.slab_desc_size + g.num * p.bufctl_size,
        Era::B => g.num * (freelist_idx_size(p) + usize::from(p.debug_slab_leak)),
    };
    if g.mgmt_size < raw_mgmt {
        fail(format!("mgmt_size {} < {raw_mgmt}", g.mgmt_size));
    }
    match g.descriptor {
        DescriptorSource::OnSlab => {
            if g.flags.contains(SlabFlags::CFLGS_OFF_SLAB) {
                fail("CFLGS_OFF_SLAB set on an on-slab cache".into());
            }
        }
        DescriptorSource::General(s) => {
            if ctx.slab_early_init {
                fail("off-slab during slab_early_init".into());
            }
            if s < g.mgmt_size || !ctx.general_caches.iter().any(|c| c.size == s) {
                fail(format!(
                    "descriptor cache {s} does not exist or is too small"
                ));
            }
            if !g.flags.contains(SlabFlags::CFLGS_OFF_SLAB) {
                fail("off-slab without CFLGS_OFF_SLAB".into());
            }
            // calculate_slab_order's offslab_limit (B.5, B.7): the descriptor fits in one
            // object of the cache itself, or cache_grow could loop allocating descriptors.
            // (Era A computes the limit in size_t: a descriptor larger than the object
            // wraps to no limit at all, as in the kernel; only wild profiles get there.)
            let wraps = era == Era::A && g.size < p.slab_desc_size;
            if g.mgmt_size > g.size && !wraps {
                fail(format!(
                    "off-slab descriptor of {} bytes exceeds the {}-byte object (offslab_limit)",
                    g.mgmt_size, g.size
                ));
            }
        }
        // B.20: growing the cache would allocate its own descriptor from itself, forever.
        DescriptorSource::SelfCache => {
            fail("the off-slab descriptor comes from the cache itself".into())
        }
    }
    if g.reciprocal_size != (1u64 << 32).div_ceil(g.size as u64) as u32 {
        fail("reciprocal_size".into());
    }
    let t = g.tunables;
    let want = expected_tunables(p, g.size);
    if (t.limit, t.batchcount, t.shared) != want {
        fail(format!(
            "tunables ({}, {}, {}) != enable_cpucache {want:?}",
            t.limit, t.batchcount, t.shared
        ));
    }
}

fn check_create_error(p: &ArchProfile, era: Era, args: &CreateArgs, e: &SlabError, what: &str) {
    let fail = |msg: &str| -> ! { panic!("geometry error: {msg}: {e:?}\n  {what}") };
    let valid = p.validate().is_ok() && kmalloc_max_size(p, era) >= p.page_size;
    match e {
        SlabError::InvalidProfile(_) if !valid => {}
        SlabError::InvalidProfile(_) => fail("a valid profile was rejected"),
        _ if !valid => fail("an invalid profile was not rejected first"),
        SlabError::NameMissing if args.name.is_empty() => {}
        SlabError::UnknownFlags { bits } if *bits != 0 && args.flags.unknown_bits() == *bits => {}
        SlabError::InvalidAlign { align } if *align == args.align => {
            if args.align.is_power_of_two() {
                fail("a power-of-two alignment was rejected");
            }
        }
        SlabError::SizeTooSmall { size, min } if *size == args.size && *min == p.word_size => {
            if args.size >= p.word_size {
                fail("a word-sized object was rejected as too small");
            }
        }
        SlabError::SizeTooLarge { size, max } if *size == args.size => {
            if args.size <= *max || *max != kmalloc_max_size(p, era) {
                fail("SizeTooLarge for a size within KMALLOC_MAX_SIZE");
            }
        }
        // Depends on the whole computation; it must at least name the request.
        SlabError::NoOrderFits { size, .. } if *size == args.size => {}
        SlabError::NoDescriptorCache { .. } => {}
        _ => fail("not a create-time error matching the input"),
    }
}

// ---- kmalloc -----------------------------------------------------------------------

/// The smallest class of `classes` (ascending) that holds `size`, found by a plain scan.
fn smallest_class(
    classes: &[slab_model::kmalloc_sizes::KmallocClass],
    size: usize,
) -> Option<usize> {
    classes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.size >= size)
        .min_by_key(|(_, c)| c.size)
        .map(|(i, _)| i)
}

/// Fuzz target `kmalloc` (mutation knob from [`MUTATION_ENV`]).
pub fn kmalloc(data: &[u8]) {
    kmalloc_with(data, MutationKnob::from_env())
}

/// Fuzz target `kmalloc` with an explicit mutation knob.
pub fn kmalloc_with(data: &[u8], knob: MutationKnob) {
    let mut u = Unstructured::new(data);
    let mutations = knob.pick(&mut u);

    // Part 1: the size-class lookup over an arbitrary (valid) profile.
    let p = profile(&mut u, false);
    let era = era(&mut u);
    if p.validate().is_ok() {
        let classes = kmalloc_classes(&p, era);
        let max = kmalloc_max_size(&p, era);
        for w in classes.windows(2) {
            assert!(
                w[0].size < w[1].size,
                "kmalloc_classes not ascending: {classes:?}"
            );
        }
        for _ in 0..u.int_in_range(1..=8).unwrap_or(1) {
            let size = match u.int_in_range(0u8..=3).unwrap_or(0) {
                0 => u.int_in_range(0..=256).unwrap_or(0),
                1 => u.int_in_range(0..=8192).unwrap_or(0),
                2 => max.saturating_sub(2) + u.int_in_range(0..=4).unwrap_or(0),
                _ => u.arbitrary::<u32>().unwrap_or(0) as usize,
            };
            let got = kmalloc_index(&p, era, size, mutations);
            let want = if size == 0 || size > max {
                None
            } else {
                let i = smallest_class(&classes, size);
                assert!(
                    i.is_some(),
                    "no class for {size} <= KMALLOC_MAX_SIZE {max}: {p:?} {era:?}"
                );
                i
            };
            assert_eq!(
                got, want,
                "kmalloc_index({size}) era {era:?}: got class {:?}, smallest fitting is {:?} (classes {:?}, profile {p:?})",
                got.map(|i| classes[i].size),
                want.map(|i| classes[i].size),
                classes.iter().map(|c| c.size).collect::<Vec<_>>()
            );
        }
    }

    // Part 2: round trips on a booted machine (small: classes up to 8 KiB, no DMA twins,
    // no trace, audit at the end only).
    let mut mp = ArchProfile::tiny();
    mp.cpus = u.int_in_range(1..=3).unwrap_or(1);
    mp.word_size = if u.ratio(1u8, 4).unwrap_or(false) {
        4
    } else {
        8
    };
    mp.l1_cache_bytes = pow2(&mut u, 5, 7);
    mp.kmalloc_min_size = *u.choose(&[8, 8, 64, 128]).unwrap_or(&8);
    let mut cfg = MachineConfig::new(mp, era);
    cfg.kmalloc = KmallocSetup::UpTo(8192);
    cfg.kmalloc_dma = false;
    cfg.trace_capacity = 0;
    cfg.audit_every_op = false;
    cfg.mutations = mutations;
    let m = Machine::<StdPlatform>::new(cfg).expect("the kmalloc machine boots");
    let cpus = m.cpus().len();
    let largest = m.largest_kmalloc_class();
    let mut live: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops = 0;
    while !u.is_empty() && ops < 64 {
        ops += 1;
        let cpu = u.int_in_range(0..=cpus - 1).unwrap_or(0);
        let irq = u.ratio(1u8, 4).unwrap_or(false);
        let mut ctx = if irq {
            m.interrupt(cpu, "irq")
        } else {
            m.task(cpu, "task")
        };
        match u.int_in_range(0u8..=5).unwrap_or(0) {
            0..=2 => {
                let size = match u.int_in_range(0u8..=3).unwrap_or(0) {
                    0 | 1 => u.int_in_range(0..=largest.min(512)).unwrap_or(0),
                    2 => u.int_in_range(0..=largest).unwrap_or(0),
                    _ => largest + u.int_in_range(0..=4096).unwrap_or(0),
                };
                let gfp = match u.int_in_range(0u8..=4).unwrap_or(0) {
                    0 => Gfp::ATOMIC,
                    1 => Gfp::KERNEL,
                    2 => Gfp::ATOMIC | Gfp::ZERO,
                    3 => Gfp::NOWAIT,
                    _ => Gfp(u.arbitrary().unwrap_or(0)),
                };
                if live.len() >= 48 && size > 0 {
                    continue;
                }
                let bad_mask = gfp.intersects(Gfp::SLAB_BUG_MASK);
                let sleeps_in_irq = irq && gfp.allows_blocking();
                let r = ctx.kmalloc(size, gfp);
                match r {
                    Err(SlabError::GfpBugMask { .. }) if bad_mask => {}
                    Err(SlabError::SleepInAtomic { .. }) if sleeps_in_irq => {}
                    Err(e) => panic!("kmalloc({size}, {gfp}) irq={irq}: unexpected {e:?}"),
                    // With no cache to serve the request, NULL comes before the gfp checks
                    // (`kmalloc_slab` returns NULL first, as in the kernel).
                    Ok(_)
                        if size > 0
                            && size <= largest
                            && !gfp.contains(Gfp::DMA)
                            && (bad_mask || sleeps_in_irq) =>
                    {
                        panic!("kmalloc({size}, {gfp}) irq={irq}: misuse accepted")
                    }
                    Ok(o) if size == 0 => {
                        assert_eq!(o, Some(ZERO_SIZE_PTR), "kmalloc(0) must be ZERO_SIZE_PTR")
                    }
                    Ok(None) if size > largest || gfp.contains(Gfp::DMA) => {}
                    Ok(None) => panic!(
                        "kmalloc({size}, {gfp}) irq={irq} returned NULL on a machine without faults"
                    ),
                    Ok(Some(o)) => {
                        assert!(
                            size <= largest && !gfp.contains(Gfp::DMA),
                            "kmalloc({size}, {gfp}) = {o:#x} but no class exists"
                        );
                        let ks = m.ksize(o).unwrap_or(0);
                        assert!(ks >= size, "ksize({o:#x}) = {ks} < requested {size}");
                        let want = m
                            .kmalloc_slots()
                            .iter()
                            .flatten()
                            .filter(|s| s.size >= size)
                            .min_by_key(|s| s.size)
                            .map(|s| s.cache.id);
                        let got = m.virt_to_cache(o).map(|c| c.id);
                        assert_eq!(got, want, "kmalloc({size}) served from the wrong class");
                        assert_eq!(
                            o % m.profile().arch_kmalloc_minalign as u64,
                            0,
                            "kmalloc({size}) = {o:#x} misaligned"
                        );
                        if gfp.contains(Gfp::ZERO) {
                            assert!(
                                m.read_memory(o, size).iter().all(|&b| b == 0),
                                "__GFP_ZERO object not zeroed"
                            );
                        }
                        m.write_memory(o, &[0xa5; 8][..size.min(8)]);
                        assert!(live.insert(o, size).is_none(), "{o:#x} handed out twice");
                    }
                }
            }
            3 | 4 => {
                if live.is_empty() {
                    continue;
                }
                let i = u.choose_index(live.len()).unwrap_or(0);
                let o = *live.keys().nth(i).expect("index in range");
                ctx.kfree(o)
                    .unwrap_or_else(|e| panic!("kfree of live {o:#x}: {e:?}"));
                live.remove(&o);
            }
            _ => {
                // Garbage: a raw address, a live object plus an offset, or a freed one.
                let base = live.keys().next().copied();
                let ptr = match (u.int_in_range(0u8..=2).unwrap_or(0), base) {
                    (1, Some(b)) => b.wrapping_add(u.int_in_range(1..=63).unwrap_or(1)),
                    (2, Some(b)) => {
                        ctx.kfree(b).expect("kfree of a live object");
                        live.remove(&b);
                        b
                    }
                    _ => u.arbitrary::<u64>().unwrap_or(0),
                };
                if live.contains_key(&ptr) {
                    continue;
                }
                let before = m.audit().is_ok();
                match ctx.kfree(ptr) {
                    Ok(()) if ptr <= ZERO_SIZE_PTR => {}
                    Ok(()) => panic!("kfree of garbage {ptr:#x} succeeded"),
                    Err(
                        SlabError::NotSlabObject { .. }
                        | SlabError::NotObjectStart { .. }
                        | SlabError::DoubleFree { .. }
                        | SlabError::NotOwned { .. },
                    ) => {}
                    Err(e) => panic!("kfree of garbage {ptr:#x}: unexpected {e:?}"),
                }
                let _ = m.ksize(ptr);
                if before && ops % 8 == 0 {
                    let r = m.audit();
                    assert!(r.is_ok(), "audit after a rejected kfree({ptr:#x}): {r}");
                }
            }
        }
    }
    // The model's live count of a class also counts the off-slab descriptors it serves,
    // so per class it is at least what the harness handed out.
    for slot in m.kmalloc_slots().iter().flatten() {
        let mine = live
            .keys()
            .filter(|&&o| m.virt_to_cache(o).map(|c| c.id) == Some(slot.cache.id))
            .count();
        let model = m.live_objects(&slot.cache);
        assert!(
            model >= mine,
            "{}: model counts {model} live objects, harness holds {mine}",
            slot.cache.name
        );
    }
    let mut t = m.task(0, "drain");
    for &o in live.keys() {
        t.kfree(o)
            .unwrap_or_else(|e| panic!("final kfree {o:#x}: {e:?}"));
    }
    // Shrinking largest-first releases the off-slab descriptors before their caches are
    // shrunk: then nothing may remain.
    let mut slots: Vec<_> = m.kmalloc_slots().iter().flatten().collect();
    slots.sort_by_key(|s| std::cmp::Reverse(s.size));
    for s in slots {
        let busy = t
            .kmem_cache_shrink(&s.cache)
            .expect("shrink a kmalloc cache");
        assert!(
            !busy && m.live_objects(&s.cache) == 0,
            "{} keeps objects after every kfree and shrink",
            s.cache.name
        );
    }
    let r = m.audit();
    assert!(r.is_ok(), "audit at the end: {r}");
}

// ---- ops ---------------------------------------------------------------------------

/// Operations per `ops` input (at most). Every mutation of the catalogue that a
/// sequence can expose needs far fewer (the longest, `transfer-ignores-limit`, ~25); the
/// bound keeps the slowest inputs within a few times the average.
pub const MAX_OPS: usize = 64;

/// Fuzz target `ops` (mutation knob from [`MUTATION_ENV`]).
pub fn ops(data: &[u8]) {
    ops_with(data, MutationKnob::from_env())
}

/// Fuzz target `ops` with an explicit mutation knob: a machine and a few user caches
/// decoded from the input, then up to [`MAX_OPS`] [`Op`]s stepped against the reference
/// (every prediction and live count checked at every step), the full audit, and — when
/// the input's header asks for it (one input in four) — everything freed and every cache
/// destroyed, audited again. Any [`Divergence`](crate::reference::Divergence) is a panic.
pub fn ops_with(data: &[u8], knob: MutationKnob) {
    ops_with_audit(data, knob, AuditKnob::from_env())
}

/// [`ops_with`] with an explicit audit knob.
pub fn ops_with_audit(data: &[u8], knob: MutationKnob, audit: AuditKnob) {
    ops_on_profile(data, knob, audit, false)
}

/// [`ops_with`] on a `CONFIG_DEBUG_SLAB` profile (the same input decodes to the same
/// operations): every debug check runs, and any report it prints is a failure, since no
/// operation of the `ops` target writes into object memory.
pub fn ops_debug(data: &[u8], knob: MutationKnob) {
    ops_on_profile(data, knob, AuditKnob::AtEnd, true)
}

fn ops_on_profile(data: &[u8], knob: MutationKnob, audit: AuditKnob, debug: bool) {
    let mut u = Unstructured::new(data);
    let mutations = knob.pick(&mut u);
    let era = era(&mut u);
    let mut p = ArchProfile::tiny();
    p.debug = debug;
    p.cpus = u.int_in_range(1..=4).unwrap_or(1);
    if p.cpus >= 2 && u.ratio(1u8, 8).unwrap_or(false) {
        p.nodes = 2;
    }
    let mut cfg = MachineConfig::new(p, era);
    cfg.kmalloc = if u.ratio(1u8, 4).unwrap_or(false) {
        KmallocSetup::UpTo(8192)
    } else {
        KmallocSetup::UpTo(256)
    };
    cfg.kmalloc_dma = u.ratio(1u8, 8).unwrap_or(false);
    cfg.trace_capacity = 0;
    cfg.mutations = mutations;
    // Freeing everything and destroying every cache at the end checks the teardown paths
    // and that nothing leaks; it also costs as much as a medium sequence, so only the
    // inputs that ask for it pay (the audit after the sequence finds leaked pages anyway).
    let drain = u.ratio(1u8, 4).unwrap_or(true);
    match u.int_in_range(0u8..=7).unwrap_or(0) {
        0 => {
            cfg.faults = FaultInjection {
                fail_probability_ppm: *u.choose(&[50_000, 200_000, 500_000]).unwrap_or(&50_000),
                seed: u.arbitrary().unwrap_or(0),
                ..FaultInjection::default()
            }
        }
        1 => {
            cfg.faults = FaultInjection {
                fail_nth: Some(u.int_in_range(1..=16).unwrap_or(1)),
                ..FaultInjection::default()
            }
        }
        _ => {}
    }
    // Tiny geometries (a few objects per slab: every path within a few ops) and
    // realistic ones.
    let n = u.int_in_range(1..=3).unwrap_or(1);
    let caches: Vec<CreateArgs> = (0..n)
        .map(|i| {
            let size = if u.arbitrary().unwrap_or(true) {
                *u.choose(&[1300, 1250, 2000, 4000]).unwrap_or(&1300)
            } else {
                u.int_in_range(8..=4096).unwrap_or(64)
            };
            CreateArgs {
                name: format!("fuzz-{i}"),
                size,
                align: if u.ratio(1u8, 4).unwrap_or(false) {
                    pow2(&mut u, 3, 7)
                } else {
                    0
                },
                flags: if u.arbitrary().unwrap_or(false) {
                    SlabFlags::HWCACHE_ALIGN
                } else {
                    SlabFlags::default()
                },
                ctor: u.arbitrary().unwrap_or(false),
            }
        })
        .collect();
    let mut h = match Harness::new(cfg, &caches) {
        Ok(h) => h,
        Err(d) => panic!("ops setup: {d}"),
    };
    // Small tunables first, so that refills, flushes and the shared array all happen.
    for i in 0..n {
        if u.arbitrary().unwrap_or(false) {
            let op = Op::Tune {
                cache: i as u8,
                limit: u.int_in_range(0..=7).unwrap_or(0),
                batch: u.arbitrary().unwrap_or(0),
                shared: u.arbitrary().unwrap_or(0),
            };
            h.step(&op).unwrap_or_else(|d| panic!("{d}"));
        }
    }
    // Every prediction is checked at every step; the full audit (most of the cost) runs
    // after the sequence and after draining, or after every step with
    // `SLAB_FUZZ_AUDIT=step`.
    h.set_audit_each_step(audit == AuditKnob::EachStep);
    for op in u.arbitrary_iter::<Op>().into_iter().flatten().take(MAX_OPS) {
        let Ok(op) = op else { break };
        h.step(&op).unwrap_or_else(|d| panic!("{d}"));
    }
    h.audit_now().unwrap_or_else(|d| panic!("{d}"));
    if drain {
        h.drain_all().unwrap_or_else(|d| panic!("{d}"));
        h.audit_now().unwrap_or_else(|d| panic!("{d}"));
    }
    if let Some(r) = h.machine().reports().first() {
        panic!("a debug check fired on a well-behaved caller: {r}");
    }
}

// ---- schedule ----------------------------------------------------------------------

#[cfg(feature = "shuttle")]
pub use schedule_target::{schedule, schedule_with, ByteScheduler};

#[cfg(feature = "shuttle")]
mod schedule_target {
    use super::{era, MutationKnob};
    use crate::scenarios::panic_message;
    use crate::scenarios::{run, Params, ScenarioId, SCENARIOS};
    use arbitrary::Unstructured;
    use corosensei::{Coroutine, CoroutineResult, Yielder};
    use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
    use shuttle::{Config, FailurePersistence, Runner};
    use slab_model::sync::ShuttlePlatform;
    use std::cell::RefCell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::{Arc, Mutex};

    /// A shuttle scheduler whose decisions are the fuzzer's bytes: one byte per scheduling
    /// point picks `runnable[b % len]`; once the bytes run out the current task keeps
    /// running (or, if it cannot, the first runnable one). Exactly one execution.
    pub struct ByteScheduler {
        bytes: Vec<u8>,
        pos: usize,
        started: bool,
    }

    impl ByteScheduler {
        /// A scheduler over `bytes`.
        pub fn new(bytes: &[u8]) -> Self {
            ByteScheduler {
                bytes: bytes.to_vec(),
                pos: 0,
                started: false,
            }
        }
        fn next_byte(&mut self) -> Option<u8> {
            let b = self.bytes.get(self.pos).copied();
            self.pos += 1;
            b
        }
    }

    impl Scheduler for ByteScheduler {
        fn new_execution(&mut self) -> Option<Schedule> {
            if self.started {
                return None;
            }
            self.started = true;
            Some(Schedule::new(0))
        }
        fn next_task(
            &mut self,
            runnable: &[&Task],
            current: Option<TaskId>,
            is_yielding: bool,
        ) -> Option<TaskId> {
            match self.next_byte() {
                Some(b) => Some(runnable[b as usize % runnable.len()].id()),
                // Out of bytes: the current task keeps running — unless it yields (a
                // waiter such as `cpu_hotplug_begin`), which hands over to the first
                // other runnable task so that the schedule stays fair.
                None if is_yielding => Some(
                    runnable
                        .iter()
                        .map(|t| t.id())
                        .find(|&t| Some(t) != current)
                        .unwrap_or_else(|| runnable[0].id()),
                ),
                None => Some(
                    current
                        .filter(|c| runnable.iter().any(|t| t.id() == *c))
                        .unwrap_or_else(|| runnable[0].id()),
                ),
            }
        }
        fn next_u64(&mut self) -> u64 {
            let mut v = [0u8; 8];
            for b in &mut v {
                *b = self.next_byte().unwrap_or(0);
            }
            u64::from_le_bytes(v)
        }
    }

    /// Fuzz target `schedule` (mutation knob from [`super::MUTATION_ENV`]).
    pub fn schedule(data: &[u8]) {
        schedule_with(data, MutationKnob::from_env())
    }

    /// Fuzz target `schedule` with an explicit mutation knob: the first bytes choose the
    /// scenario and its parameters, the rest are the scheduling decisions of one shuttle
    /// execution. A failing execution panics (under libFuzzer: a crash whose input file
    /// replays it exactly).
    pub fn schedule_with(data: &[u8], knob: MutationKnob) {
        let mut u = Unstructured::new(data);
        let info = u.choose(SCENARIOS).unwrap_or(&SCENARIOS[0]);
        let id: ScenarioId = info.id;
        let mut p = Params::small(era(&mut u));
        p.ops = u.int_in_range(1..=4).unwrap_or(1);
        p.seed = u64::from(u.arbitrary::<u16>().unwrap_or(0));
        // Measured against the fixed models: a bug that shipped in the era's kernel is an
        // expected finding of loom and shuttle (scenario `shipped`), not a fuzz crash.
        p.mutations = knob
            .pick(&mut u)
            .union(slab_model::MutationSet::shipped_fixes(p.era));
        if id == ScenarioId::Mixed {
            p.cpus = u.int_in_range(2..=3).unwrap_or(2);
        }
        p.trace_capacity = 0;
        let job = Job {
            id,
            params: p,
            bytes: u.take_rest().to_vec(),
        };
        let reply = RUNNER.with(|r| {
            let mut slot = r.borrow_mut();
            let runner = slot.get_or_insert_with(CoRunner::start);
            let reply = runner.submit(job);
            if !matches!(reply, Reply::Passed) {
                // The runner has returned (a failed execution ends `Runner::run`).
                *slot = None;
            }
            reply
        });
        match reply {
            Reply::Passed => {}
            Reply::Failed(msg) => panic!("{msg}"),
            Reply::Stopped => panic!("the shuttle fuzz runner stopped unexpectedly"),
        }
    }

    /// One execution to run.
    struct Job {
        id: ScenarioId,
        params: Params,
        bytes: Vec<u8>,
    }

    /// What the runner coroutine gets when resumed.
    enum In {
        Run(Job),
        /// End `Runner::run` (the thread is going away).
        Stop,
    }

    /// What the runner coroutine hands back.
    enum Reply {
        /// The execution passed; the runner waits for the next job.
        Passed,
        /// The execution failed (the panic message); the runner has returned.
        Failed(String),
        /// The runner returned after [`In::Stop`].
        Stopped,
    }

    type RunnerCoroutine = Coroutine<In, Reply, Reply>;

    /// One shuttle `Runner` for every input of the thread, living in a coroutine on the
    /// caller's own thread.
    ///
    /// A `Runner` per input would be simplest, but each `Runner::run` builds a fresh pool
    /// of coroutine stacks (an mmap/munmap pair and fresh page faults per task): measured
    /// here, 55–75% of a small scenario's time. So one `Runner::run` serves every input:
    /// its scheduler's `new_execution` suspends the coroutine, the target function returns
    /// to libFuzzer, and the next input resumes it with the next job. Each input is still
    /// exactly one fresh `Execution` driven by its own bytes. (An earlier version ran the
    /// `Runner` on a worker thread; the two OS context switches per input were ~25% of the
    /// target's time. A coroutine switch is a few nanoseconds.)
    struct CoRunner {
        co: RunnerCoroutine,
    }

    thread_local! {
        static RUNNER: RefCell<Option<CoRunner>> = const { RefCell::new(None) };
    }

    impl CoRunner {
        fn start() -> CoRunner {
            let co = Coroutine::new(|yielder: &Yielder<In, Reply>, first: In| {
                let In::Run(first) = first else {
                    return Reply::Stopped;
                };
                let current = Arc::new(Mutex::new(None));
                let sched = CoScheduler {
                    yielder: yielder as *const Yielder<In, Reply>,
                    first: Some(first),
                    current: current.clone(),
                    bytes: ByteScheduler::new(&[]),
                };
                let mut config = Config::new();
                config.failure_persistence = FailurePersistence::None;
                config.silence_warnings = true;
                let r = catch_unwind(AssertUnwindSafe(|| {
                    Runner::new(sched, config).run(move || {
                        let (id, p): (ScenarioId, Params) = current
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .clone()
                            .expect("a job is set before its execution");
                        run::<ShuttlePlatform>(id, &p);
                    })
                }));
                match r {
                    Ok(_) => Reply::Stopped,
                    Err(e) => Reply::Failed(panic_message(&e)),
                }
            });
            CoRunner { co }
        }

        /// Runs `job` as the next execution and returns its outcome.
        fn submit(&mut self, job: Job) -> Reply {
            match self.co.resume(In::Run(job)) {
                CoroutineResult::Yield(r) | CoroutineResult::Return(r) => r,
            }
        }
    }

    impl Drop for CoRunner {
        fn drop(&mut self) {
            // Let `Runner::run` return normally instead of force-unwinding its stack.
            if self.co.started() && !self.co.done() {
                let _ = self.co.resume(In::Stop);
            }
        }
    }

    /// The runner's scheduler: `new_execution` reports the previous execution as passed
    /// (a failed one never returns to the runner) by suspending the coroutine, and takes
    /// the next job from the resume.
    struct CoScheduler {
        /// The coroutine's yielder. Valid for the scheduler's whole life: the scheduler is
        /// created inside the coroutine's body and dropped before that body returns.
        yielder: *const Yielder<In, Reply>,
        first: Option<Job>,
        current: Arc<Mutex<Option<(ScenarioId, Params)>>>,
        bytes: ByteScheduler,
    }

    impl Scheduler for CoScheduler {
        fn new_execution(&mut self) -> Option<Schedule> {
            let job = match self.first.take() {
                Some(job) => job,
                None => {
                    // SAFETY: see the field's comment; `new_execution` runs on the
                    // coroutine's stack, where suspending is allowed.
                    let yielder = unsafe { &*self.yielder };
                    match yielder.suspend(Reply::Passed) {
                        In::Run(job) => job,
                        In::Stop => return None,
                    }
                }
            };
            *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((job.id, job.params));
            self.bytes = ByteScheduler::new(&job.bytes);
            self.bytes.new_execution()
        }
        fn next_task(
            &mut self,
            runnable: &[&Task],
            current: Option<TaskId>,
            is_yielding: bool,
        ) -> Option<TaskId> {
            self.bytes.next_task(runnable, current, is_yielding)
        }
        fn next_u64(&mut self) -> u64 {
            self.bytes.next_u64()
        }
    }
}
