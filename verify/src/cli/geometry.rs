//! `slab-verify geometry`: one cache's `kmem_cache_create` numbers, or `--check FILE`
//! against a golden slabinfo TSV (format of `tests/data/golden-slabinfo.tsv`).

use clap::Args;
use serde::Serialize;
use slab_model::geometry::{
    calculate_geometry, CacheGeometry, CreateArgs, CreateContext, GeneralCache,
};
use slab_model::kmalloc_sizes::{
    boot_general_caches, kmalloc_boot_args, kmalloc_classes, kmalloc_create_context,
    kmalloc_dma_create_context, kmalloc_index,
};
use slab_model::profile::{preset, presets};
use slab_model::{ArchProfile, Era, Mutation, MutationSet, SlabFlags};
use slab_verify::golden::{check_text, SlabinfoColumns};
use std::process::ExitCode;

/// The `SLAB_*` flags by name (2.6.24 `include/linux/slab.h` values).
const FLAG_NAMES: &[(&str, SlabFlags)] = &[
    ("DEBUG_FREE", SlabFlags::DEBUG_FREE),
    ("RED_ZONE", SlabFlags::RED_ZONE),
    ("POISON", SlabFlags::POISON),
    ("HWCACHE_ALIGN", SlabFlags::HWCACHE_ALIGN),
    ("CACHE_DMA", SlabFlags::CACHE_DMA),
    ("STORE_USER", SlabFlags::STORE_USER),
    ("RECLAIM_ACCOUNT", SlabFlags::RECLAIM_ACCOUNT),
    ("PANIC", SlabFlags::PANIC),
    ("DESTROY_BY_RCU", SlabFlags::DESTROY_BY_RCU),
    ("MEM_SPREAD", SlabFlags::MEM_SPREAD),
    ("NOLEAKTRACE", SlabFlags::NOLEAKTRACE),
];

/// Arguments of `slab-verify geometry`.
#[derive(Args, Debug)]
pub struct GeometryArgs {
    /// Check every row of a golden slabinfo TSV file instead of computing one cache.
    #[arg(long, value_name = "FILE")]
    pub check: Option<std::path::PathBuf>,
    /// Machine preset (see `profile::presets`); the flags below override its fields.
    #[arg(long, value_name = "NAME", default_value = "x86_64-2.6.30")]
    pub preset: String,
    /// Kernel era: A (2.6.14–3.12) or B (3.13–4.5). Default: the preset's.
    #[arg(long)]
    pub era: Option<Era>,
    /// PAGE_SIZE.
    #[arg(long)]
    pub page_size: Option<usize>,
    /// BYTES_PER_WORD (4 or 8).
    #[arg(long)]
    pub word_size: Option<usize>,
    /// Runtime cache_line_size().
    #[arg(long)]
    pub cache_line_size: Option<usize>,
    /// Compile-time L1_CACHE_BYTES.
    #[arg(long)]
    pub l1_cache_bytes: Option<usize>,
    /// Era A sizeof(struct slab).
    #[arg(long)]
    pub slab_desc_size: Option<usize>,
    /// Era A sizeof(kmem_bufctl_t).
    #[arg(long)]
    pub bufctl_size: Option<usize>,
    /// num_possible_cpus().
    #[arg(long)]
    pub cpus: Option<usize>,
    /// NUMA nodes.
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Total RAM in bytes (slab_max_order is 1 above 32 MiB).
    #[arg(long)]
    pub ram_bytes: Option<u64>,
    /// MAX_ORDER of the buddy allocator.
    #[arg(long)]
    pub max_order: Option<u32>,
    /// KMALLOC_MIN_SIZE / ARCH_DMA_MINALIGN.
    #[arg(long)]
    pub kmalloc_min_size: Option<usize>,
    /// ARCH_KMALLOC_MINALIGN.
    #[arg(long)]
    pub arch_kmalloc_minalign: Option<usize>,
    /// ARCH_SLAB_MINALIGN.
    #[arg(long)]
    pub arch_slab_minalign: Option<usize>,
    /// CONFIG_DEBUG_SLAB (`--debug` alone means true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub debug: Option<bool>,
    /// CONFIG_DEBUG_SLAB_LEAK (`--debug-slab-leak` alone means true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub debug_slab_leak: Option<bool>,
    /// PAGE_OFFSET (accepts 0x…).
    #[arg(long, value_parser = parse_u64)]
    pub page_offset: Option<u64>,
    /// sizeof(spinlock_t): 4, or 24 / 56 on 64-bit with CONFIG_DEBUG_SPINLOCK /
    /// CONFIG_DEBUG_LOCK_ALLOC (sizes the bootstrap structures, so which kmalloc
    /// classes are created with slab_early_init).
    #[arg(long)]
    pub spinlock_size: Option<usize>,
    /// Cache name (default: `cache`, or the kmalloc name with --kmalloc).
    #[arg(long)]
    pub name: Option<String>,
    /// Object size (with --kmalloc: the request size whose class is created).
    #[arg(long)]
    pub size: Option<usize>,
    /// Caller alignment (0 = none).
    #[arg(long, default_value_t = 0)]
    pub align: usize,
    /// SLAB_* flags: names (HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT, …) or numbers, joined by `|` or `,`.
    #[arg(long, value_parser = parse_flags)]
    pub flags: Option<SlabFlags>,
    /// Shorthand for adding SLAB_HWCACHE_ALIGN.
    #[arg(long)]
    pub hwcache: bool,
    /// The cache has a constructor.
    #[arg(long)]
    pub ctor: bool,
    /// Create the kmalloc cache serving --size as kmem_cache_init does (boot args and context).
    #[arg(long)]
    pub kmalloc: bool,
    /// With --kmalloc: the DMA twin.
    #[arg(long, requires = "kmalloc")]
    pub dma: bool,
    /// Override slab_early_init (`--early-init` alone means true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub early_init: Option<bool>,
    /// Existing general caches: `boot` (all kmalloc caches), `none`, or sizes `32,64,…`.
    #[arg(long, value_name = "boot|none|LIST")]
    pub general_caches: Option<String>,
    /// Class size of the cache being created if it is itself a general cache.
    #[arg(long)]
    pub self_class: Option<usize>,
    /// Enable a mutation (repeatable).
    #[arg(long = "mutation", value_name = "NAME")]
    pub mutations: Vec<Mutation>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16),
        None => s.replace('_', "").parse(),
    };
    r.map_err(|e| format!("`{s}`: {e}"))
}

/// Parses `HWCACHE_ALIGN|0x20000|slab_reclaim_account`.
pub fn parse_flags(s: &str) -> Result<SlabFlags, String> {
    let mut flags = SlabFlags::default();
    for part in s.split(['|', ',']).map(str::trim).filter(|p| !p.is_empty()) {
        let up = part.to_ascii_uppercase().replace('-', "_");
        let key = up.strip_prefix("SLAB_").unwrap_or(&up);
        if let Some((_, f)) = FLAG_NAMES.iter().find(|(n, _)| *n == key) {
            flags = flags | *f;
        } else {
            let bits = parse_u64(part).map_err(|_| format!("unknown flag `{part}`"))?;
            let bits =
                u32::try_from(bits).map_err(|_| format!("flag value `{part}` exceeds 32 bits"))?;
            flags = flags | SlabFlags(bits);
        }
    }
    Ok(flags)
}

/// `SLAB_*` flags in JSON: the value as hex and the names of its bits.
#[derive(Serialize)]
struct FlagsRow {
    value: String,
    /// `SLAB_HWCACHE_ALIGN`, ..., `CFLGS_OFF_SLAB`; bits without a name are only in `value`.
    names: Vec<String>,
}

impl From<SlabFlags> for FlagsRow {
    fn from(f: SlabFlags) -> Self {
        let mut names: Vec<String> = FLAG_NAMES
            .iter()
            .filter(|(_, b)| f.contains(*b))
            .map(|(n, _)| format!("SLAB_{n}"))
            .collect();
        if f.contains(SlabFlags::CFLGS_OFF_SLAB) {
            names.push("CFLGS_OFF_SLAB".to_string());
        }
        FlagsRow {
            value: format!("{:#x}", f.0),
            names,
        }
    }
}

/// Where the slab management data lives.
#[derive(Serialize)]
struct DescriptorRow {
    /// `on-slab`, `off-slab` (from a general cache) or `off-slab-self` (from the cache
    /// itself: only with the `offslab-self-descriptor` mutation).
    placement: &'static str,
    /// The general cache's object size, for `off-slab`.
    general_cache_size: Option<usize>,
}

/// `CacheGeometry` in the schema's words.
#[derive(Serialize)]
struct GeometryRow {
    object_size: usize,
    size: usize,
    align: usize,
    flags: FlagsRow,
    num: usize,
    gfporder: u32,
    left_over: usize,
    colour_off: usize,
    colour: usize,
    mgmt_size: usize,
    descriptor: DescriptorRow,
    obj_offset: usize,
    reciprocal_size: u32,
    tunables: slab_model::geometry::Tunables,
}

impl From<&CacheGeometry> for GeometryRow {
    fn from(g: &CacheGeometry) -> Self {
        use slab_model::geometry::DescriptorSource;
        // No `..`: a new geometry field must be added here (and to the schema).
        let CacheGeometry {
            era: _,
            object_size,
            size,
            align,
            flags,
            num,
            gfporder,
            left_over,
            colour_off,
            colour,
            mgmt_size,
            descriptor,
            obj_offset,
            reciprocal_size,
            tunables,
        } = *g;
        GeometryRow {
            object_size,
            size,
            align,
            flags: flags.into(),
            num,
            gfporder,
            left_over,
            colour_off,
            colour,
            mgmt_size,
            descriptor: match descriptor {
                DescriptorSource::OnSlab => DescriptorRow {
                    placement: "on-slab",
                    general_cache_size: None,
                },
                DescriptorSource::General(c) => DescriptorRow {
                    placement: "off-slab",
                    general_cache_size: Some(c),
                },
                DescriptorSource::SelfCache => DescriptorRow {
                    placement: "off-slab-self",
                    general_cache_size: None,
                },
            },
            obj_offset,
            reciprocal_size,
            tunables,
        }
    }
}

/// What `kmem_cache_create` was asked for.
#[derive(Serialize)]
struct CreateArgsRow {
    size: usize,
    align: usize,
    flags: FlagsRow,
    ctor: bool,
    /// The kmalloc class's cache as `kmem_cache_init` creates it (`--kmalloc`).
    kmalloc: bool,
    /// Its DMA twin (`--dma`).
    dma: bool,
    /// `slab_early_init` at creation.
    slab_early_init: bool,
    /// Object sizes of the general caches that existed (descriptor candidates).
    general_caches: Vec<usize>,
    self_class: Option<usize>,
}

/// `geometry --json`: one cache.
#[derive(Serialize)]
struct Report<'a> {
    /// `cache`.
    mode: &'static str,
    name: &'a str,
    era: Era,
    preset: &'a str,
    profile: super::json::ProfileRow,
    mutations: Vec<&'static str>,
    args: CreateArgsRow,
    slabinfo: SlabinfoColumns,
    off_slab: bool,
    geometry: GeometryRow,
}

/// `geometry --check FILE --json`: one row of the golden file.
#[derive(Serialize)]
struct GoldenRowOut {
    line: usize,
    dataset: String,
    kernel: String,
    era: Era,
    cache: String,
    ok: bool,
    expected: SlabinfoColumns,
    /// What the model computed; null when it refused (see `error`).
    computed: Option<SlabinfoColumns>,
    error: Option<String>,
}

#[derive(Serialize)]
struct GoldenSummary {
    rows: usize,
    matching: usize,
    passed: bool,
}

/// `geometry --check FILE --json`.
#[derive(Serialize)]
struct GoldenReport {
    /// `golden-check`.
    mode: &'static str,
    file: String,
    rows: Vec<GoldenRowOut>,
    summary: GoldenSummary,
}

/// Runs the subcommand; returns the exit code.
pub fn run(a: &GeometryArgs) -> ExitCode {
    let result = match &a.check {
        Some(path) => check_file(path, a.json),
        None => one_cache(a),
    };
    match result {
        Ok(code) => code,
        Err(msg) => super::exit::usage(&msg),
    }
}

fn check_file(path: &std::path::Path, json: bool) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let results = check_text(&text).map_err(|e| e.to_string())?;
    if results.is_empty() {
        return Err(format!(
            "{} has no data rows: nothing to check",
            path.display()
        ));
    }
    let good = results.iter().filter(|r| r.ok()).count();
    if json {
        let rows: Vec<GoldenRowOut> = results
            .iter()
            .map(|r| GoldenRowOut {
                line: r.row.line,
                dataset: r.row.dataset.clone(),
                kernel: r.row.kernel.clone(),
                era: r.row.era,
                cache: r.row.cache.clone(),
                ok: r.ok(),
                expected: r.row.expected,
                computed: r.computed.as_ref().ok().copied(),
                error: r.computed.as_ref().err().map(|e| e.to_string()),
            })
            .collect();
        super::json::print(
            "geometry",
            &GoldenReport {
                mode: "golden-check",
                file: path.display().to_string(),
                summary: GoldenSummary {
                    rows: rows.len(),
                    matching: good,
                    passed: good == rows.len(),
                },
                rows,
            },
        );
    } else {
        for r in &results {
            println!("{r}");
        }
        println!("{good}/{} rows match", results.len());
    }
    Ok(if good == results.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn build_profile(a: &GeometryArgs) -> Result<(ArchProfile, Era), String> {
    let p = preset(&a.preset).ok_or_else(|| {
        let names: Vec<&str> = presets().iter().map(|p| p.name).collect();
        format!(
            "unknown preset `{}` (known: {})",
            a.preset,
            names.join(", ")
        )
    })?;
    let mut prof = p.profile;
    macro_rules! set {
        ($($f:ident),*) => { $(if let Some(v) = a.$f { prof.$f = v; })* };
    }
    set!(
        page_size,
        word_size,
        cache_line_size,
        l1_cache_bytes,
        slab_desc_size,
        bufctl_size,
        cpus,
        nodes,
        ram_bytes,
        max_order,
        kmalloc_min_size,
        arch_kmalloc_minalign,
        arch_slab_minalign,
        debug,
        debug_slab_leak,
        page_offset,
        spinlock_size
    );
    // Reject impossible machines before any size-class arithmetic runs on them.
    prof.validate()
        .map_err(|e| format!("invalid architecture profile: {e}"))?;
    Ok((prof, a.era.unwrap_or(p.era)))
}

fn one_cache(a: &GeometryArgs) -> Result<ExitCode, String> {
    let (profile, era) = build_profile(a)?;
    let mutations = a
        .mutations
        .iter()
        .fold(MutationSet::NONE, |s, m| s.with(*m));
    let size = a.size.ok_or("--size is required (or --check FILE)")?;
    let err = |e: slab_model::SlabError| e.to_string();
    let (mut args, mut ctx) = if a.kmalloc {
        let index = kmalloc_index(&profile, era, size, MutationSet::NONE)
            .ok_or_else(|| format!("no kmalloc class serves {size} bytes"))?;
        let class = &kmalloc_classes(&profile, era)[index];
        let mut args = kmalloc_boot_args(&profile, era, class);
        let ctx = if a.dma {
            args.name = class.dma_name.clone();
            args.flags = args.flags | SlabFlags::CACHE_DMA;
            kmalloc_dma_create_context(&profile, era, index, mutations).map_err(err)?
        } else {
            kmalloc_create_context(&profile, era, index, mutations).map_err(err)?
        };
        (args, ctx)
    } else {
        let args = CreateArgs {
            name: "cache".into(),
            size,
            align: a.align,
            flags: SlabFlags::default(),
            ctor: a.ctor,
        };
        let ctx = CreateContext {
            slab_early_init: false,
            general_caches: Vec::new(),
            self_class: None,
            mutations,
        };
        (args, ctx)
    };
    if let Some(n) = &a.name {
        args.name = n.clone();
    }
    if let Some(f) = a.flags {
        args.flags = args.flags | f;
    }
    if a.hwcache {
        args.flags = args.flags | SlabFlags::HWCACHE_ALIGN;
    }
    if a.kmalloc && a.align != 0 {
        args.align = a.align;
    }
    if let Some(e) = a.early_init {
        ctx.slab_early_init = e;
    }
    if a.self_class.is_some() {
        ctx.self_class = a.self_class;
    }
    match a.general_caches.as_deref() {
        Some("none") => ctx.general_caches.clear(),
        Some("boot") => {
            ctx.general_caches = boot_general_caches(&profile, era, mutations).map_err(err)?
        }
        Some(list) => {
            let mut v = Vec::new();
            for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let size = s
                    .parse()
                    .map_err(|_| format!("--general-caches: `{s}` is not a size"))?;
                v.push(GeneralCache {
                    size,
                    off_slab: false,
                });
            }
            v.sort_by_key(|g| g.size);
            ctx.general_caches = v;
        }
        None if !a.kmalloc => {
            ctx.general_caches = boot_general_caches(&profile, era, mutations).map_err(err)?
        }
        None => {}
    }
    let g = calculate_geometry(&profile, era, &args, &ctx).map_err(err)?;
    let report = Report {
        mode: "cache",
        name: &args.name,
        era,
        preset: &a.preset,
        profile: (&profile).into(),
        mutations: super::json::switch_names(mutations),
        args: CreateArgsRow {
            size: args.size,
            align: args.align,
            flags: args.flags.into(),
            ctor: args.ctor,
            kmalloc: a.kmalloc,
            dma: a.dma,
            slab_early_init: ctx.slab_early_init,
            general_caches: ctx.general_caches.iter().map(|c| c.size).collect(),
            self_class: ctx.self_class,
        },
        slabinfo: SlabinfoColumns::of(&g),
        off_slab: g.off_slab(),
        geometry: (&g).into(),
    };
    if a.json {
        super::json::print("geometry", &report);
    } else {
        let s = &report.slabinfo;
        println!("cache         {} (era {era})", report.name);
        println!("objsize       {}", s.objsize);
        println!("objperslab    {}", s.objperslab);
        println!("pagesperslab  {}", s.pagesperslab);
        println!("limit         {}", s.limit);
        println!("batchcount    {}", s.batchcount);
        println!("sharedfactor  {}", s.shared);
        println!("gfporder      {}", g.gfporder);
        println!("colour        {}", g.colour);
        println!("colour_off    {}", g.colour_off);
        println!("left_over     {}", g.left_over);
        let place = match g.descriptor {
            slab_model::geometry::DescriptorSource::OnSlab => "on-slab".to_string(),
            slab_model::geometry::DescriptorSource::General(c) => {
                format!("off-slab (descriptor from the {c}-byte general cache)")
            }
            slab_model::geometry::DescriptorSource::SelfCache => {
                "off-slab (descriptor from the cache itself!)".to_string()
            }
        };
        println!("slab mgmt     {place}, {} bytes", g.mgmt_size);
    }
    Ok(ExitCode::SUCCESS)
}
