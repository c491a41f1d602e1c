//! Golden `/proc/slabinfo` rows (real rows from SLAB kernels, tests/data): a TSV parser and a checker that
//! rebuilds each row's machine, creates the cache the way the kernel did and compares the
//! slabinfo columns.
//!
//! The format is the one of `tests/data/golden-slabinfo.tsv`: a header line naming the
//! columns (any order; unknown extra columns are ignored), then one tab-separated row per
//! cache. Blank lines and lines starting with `#` are skipped, so data files can carry
//! their derivations as comments.

use serde::Serialize;
use slab_model::geometry::{calculate_geometry, CacheGeometry, CreateArgs, CreateContext};
use slab_model::kmalloc_sizes::{
    boot_general_caches, kmalloc_classes, kmalloc_create_context, kmalloc_dma_create_context,
};
use slab_model::{ArchProfile, Era, MutationSet, SlabError, SlabFlags};
use std::fmt;

/// Columns every golden file must have.
pub const COLUMNS: &[&str] = &[
    "dataset",
    "kernel",
    "era",
    "word_size",
    "page_size",
    "cache_line",
    "l1_bytes",
    "slab_desc_size",
    "bufctl_size",
    "cpus",
    "cache",
    "object_size",
    "align",
    "hwcache",
    "ctor",
    "objsize",
    "objperslab",
    "pagesperslab",
    "limit",
    "batchcount",
    "shared",
];

/// The slabinfo columns the model reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SlabinfoColumns {
    /// Padded object stride.
    pub objsize: usize,
    /// Objects per slab.
    pub objperslab: usize,
    /// Pages per slab.
    pub pagesperslab: usize,
    /// Per-CPU array limit.
    pub limit: usize,
    /// Batch count.
    pub batchcount: usize,
    /// Shared factor.
    pub shared: usize,
}

impl SlabinfoColumns {
    /// The columns of a computed geometry.
    pub fn of(g: &CacheGeometry) -> Self {
        SlabinfoColumns {
            objsize: g.size,
            objperslab: g.num,
            pagesperslab: g.pages_per_slab(),
            limit: g.tunables.limit,
            batchcount: g.tunables.batchcount,
            shared: g.tunables.shared,
        }
    }
}

impl fmt::Display for SlabinfoColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "objsize={} objperslab={} pagesperslab={} limit={} batchcount={} shared={}",
            self.objsize,
            self.objperslab,
            self.pagesperslab,
            self.limit,
            self.batchcount,
            self.shared
        )
    }
}

/// One parsed row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldenRow {
    /// 1-based line number in the file.
    pub line: usize,
    /// Dataset tag (`D4`).
    pub dataset: String,
    /// Kernel description (`2.6.30.1 x86_64`).
    pub kernel: String,
    /// Era of the kernel's mm/slab.c.
    pub era: Era,
    /// `BYTES_PER_WORD`.
    pub word_size: usize,
    /// `PAGE_SIZE`.
    pub page_size: usize,
    /// Runtime `cache_line_size()`.
    pub cache_line: usize,
    /// Compile-time `L1_CACHE_BYTES`.
    pub l1_bytes: usize,
    /// Era A `sizeof(struct slab)`.
    pub slab_desc_size: usize,
    /// Era A `sizeof(kmem_bufctl_t)`.
    pub bufctl_size: usize,
    /// `num_possible_cpus()`.
    pub cpus: usize,
    /// Cache name.
    pub cache: String,
    /// Object size passed to `kmem_cache_create`.
    pub object_size: usize,
    /// Caller alignment.
    pub align: usize,
    /// `SLAB_HWCACHE_ALIGN` passed.
    pub hwcache: bool,
    /// Has a constructor.
    pub ctor: bool,
    /// The expected slabinfo columns.
    pub expected: SlabinfoColumns,
}

/// Malformed input: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (tab-separated field).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

fn is_skipped(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Parses a golden TSV file.
pub fn parse(text: &str) -> Result<Vec<GoldenRow>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !is_skipped(l));
    let (hline, header) = lines.next().ok_or(ParseError {
        line: 1,
        column: 1,
        message: "empty file: no header line".into(),
    })?;
    let names: Vec<&str> = header.split('\t').map(str::trim).collect();
    let mut index = Vec::with_capacity(COLUMNS.len());
    for (k, want) in COLUMNS.iter().enumerate() {
        if let Some(dup) = names.iter().enumerate().filter(|(_, n)| *n == want).nth(1) {
            return Err(ParseError {
                line: hline,
                column: dup.0 + 1,
                message: format!("duplicate column `{want}`"),
            });
        }
        match names.iter().position(|n| n == want) {
            Some(p) => index.push(p),
            None => {
                return Err(ParseError {
                    line: hline,
                    column: names.len() + 1,
                    message: format!(
                        "header lacks column `{}` (needs {})",
                        COLUMNS[k],
                        COLUMNS.join(", ")
                    ),
                })
            }
        }
    }
    let mut rows = Vec::new();
    for (line, text) in lines {
        let fields: Vec<&str> = text.split('\t').collect();
        if fields.len() != names.len() {
            return Err(ParseError {
                line,
                column: fields.len().min(names.len()) + 1,
                message: format!("{} fields, header has {}", fields.len(), names.len()),
            });
        }
        let get = |name: &str| {
            let k = COLUMNS
                .iter()
                .position(|c| *c == name)
                .expect("known column");
            (index[k] + 1, fields[index[k]].trim())
        };
        let text_field = |name: &str| -> Result<String, ParseError> {
            let (column, v) = get(name);
            if v.is_empty() {
                return Err(ParseError {
                    line,
                    column,
                    message: format!("`{name}` is empty"),
                });
            }
            Ok(v.to_string())
        };
        let num = |name: &str| -> Result<usize, ParseError> {
            let (column, v) = get(name);
            v.parse::<usize>().map_err(|_| ParseError {
                line,
                column,
                message: format!("`{name}` is `{v}`, not a non-negative integer"),
            })
        };
        let flag = |name: &str| -> Result<bool, ParseError> {
            let (column, v) = get(name);
            match v {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(ParseError {
                    line,
                    column,
                    message: format!("`{name}` is `{v}`, not 0 or 1"),
                }),
            }
        };
        let era = {
            let (column, v) = get("era");
            v.parse::<Era>().map_err(|e| ParseError {
                line,
                column,
                message: e,
            })?
        };
        rows.push(GoldenRow {
            line,
            dataset: text_field("dataset")?,
            kernel: text_field("kernel")?,
            era,
            word_size: num("word_size")?,
            page_size: num("page_size")?,
            cache_line: num("cache_line")?,
            l1_bytes: num("l1_bytes")?,
            slab_desc_size: num("slab_desc_size")?,
            bufctl_size: num("bufctl_size")?,
            cpus: num("cpus")?,
            cache: text_field("cache")?,
            object_size: num("object_size")?,
            align: num("align")?,
            hwcache: flag("hwcache")?,
            ctor: flag("ctor")?,
            expected: SlabinfoColumns {
                objsize: num("objsize")?,
                objperslab: num("objperslab")?,
                pagesperslab: num("pagesperslab")?,
                limit: num("limit")?,
                batchcount: num("batchcount")?,
                shared: num("shared")?,
            },
        });
    }
    Ok(rows)
}

impl GoldenRow {
    /// The machine of the row: its columns, plus what the TSV does not record set to the
    /// values of the datasets (one node, 8 GiB so `slab_max_order` is 1, x86 `MAX_ORDER`
    /// 11, `ARCH_KMALLOC_MINALIGN` 8, `ARCH_SLAB_MINALIGN` 0 in era A and 8 in era B).
    pub fn profile(&self) -> ArchProfile {
        ArchProfile {
            page_size: self.page_size,
            word_size: self.word_size,
            cache_line_size: self.cache_line,
            l1_cache_bytes: self.l1_bytes,
            slab_desc_size: self.slab_desc_size,
            bufctl_size: self.bufctl_size,
            cpus: self.cpus,
            nodes: 1,
            ram_bytes: 8 << 30,
            max_order: 11,
            kmalloc_min_size: 8,
            arch_kmalloc_minalign: 8,
            arch_slab_minalign: if self.era == Era::B { 8 } else { 0 },
            debug: false,
            debug_slab_leak: false,
            page_offset: if self.word_size == 8 {
                0xffff_8800_0000_0000
            } else {
                0xc000_0000
            },
            spinlock_size: 4,
        }
    }

    /// The `kmem_cache_create` arguments and boot context of the row's cache.
    pub fn inputs(&self) -> Result<(CreateArgs, CreateContext), SlabError> {
        let profile = self.profile();
        let mut flags = SlabFlags::default();
        if self.hwcache {
            flags = flags | SlabFlags::HWCACHE_ALIGN;
        }
        let args = CreateArgs {
            name: self.cache.clone(),
            size: self.object_size,
            align: self.align,
            flags,
            ctor: self.ctor,
        };
        let ctx = creation_context(&profile, self.era, &self.cache, MutationSet::NONE)?;
        Ok((args, ctx))
    }

    /// Runs the model on the row.
    pub fn compute(&self) -> Result<CacheGeometry, SlabError> {
        let (args, ctx) = self.inputs()?;
        calculate_geometry(&self.profile(), self.era, &args, &ctx)
    }
}

/// Which kmalloc cache a name denotes in an era: `(class size, dma)`.
/// Era A `size-N` / `size-N(DMA)`; era B `kmalloc-N` / `dma-kmalloc-N` (N may carry a
/// `k` or `M` suffix as 5.x prints it).
pub fn parse_kmalloc_name(era: Era, name: &str) -> Option<(usize, bool)> {
    let number = |s: &str| -> Option<usize> {
        let (digits, mult) = match s.as_bytes().last()? {
            b'k' => (&s[..s.len() - 1], 1 << 10),
            b'M' => (&s[..s.len() - 1], 1 << 20),
            _ => (s, 1),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<usize>().ok()?.checked_mul(mult)
    };
    match era {
        Era::A => {
            let rest = name.strip_prefix("size-")?;
            match rest.strip_suffix("(DMA)") {
                Some(n) => Some((number(n)?, true)),
                None => Some((number(rest)?, false)),
            }
        }
        Era::B => {
            if let Some(n) = name.strip_prefix("dma-kmalloc-") {
                Some((number(n)?, true))
            } else {
                Some((number(name.strip_prefix("kmalloc-")?)?, false))
            }
        }
    }
}

/// The boot context a cache named `name` is created in: kmalloc caches as
/// `kmem_cache_init` creates them (earlier general caches only, `slab_early_init` for the
/// bootstrap ones, never their own descriptor source); any other cache after boot, with
/// every general cache available.
pub fn creation_context(
    profile: &ArchProfile,
    era: Era,
    name: &str,
    mutations: MutationSet,
) -> Result<CreateContext, SlabError> {
    if let Some((size, dma)) = parse_kmalloc_name(era, name) {
        let index = kmalloc_classes(profile, era)
            .iter()
            .position(|c| c.size == size)
            .ok_or_else(|| {
                SlabError::InvalidProfile(format!(
                    "no kmalloc class of {size} bytes in this profile"
                ))
            })?;
        return if dma {
            kmalloc_dma_create_context(profile, era, index, mutations)
        } else {
            kmalloc_create_context(profile, era, index, mutations)
        };
    }
    Ok(CreateContext {
        slab_early_init: false,
        general_caches: boot_general_caches(profile, era, mutations)?,
        self_class: None,
        mutations,
    })
}

/// The outcome of one row.
#[derive(Clone, Debug)]
pub struct RowResult {
    /// The row.
    pub row: GoldenRow,
    /// What the model computed (or why it refused).
    pub computed: Result<SlabinfoColumns, SlabError>,
}

impl RowResult {
    /// Do all compared columns agree?
    pub fn ok(&self) -> bool {
        matches!(&self.computed, Ok(c) if *c == self.row.expected)
    }
}

impl fmt::Display for RowResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.row;
        let what = format!("line {} {} {} {}", r.line, r.dataset, r.kernel, r.cache);
        match &self.computed {
            Ok(_) if self.ok() => write!(f, "ok       {what}"),
            Ok(c) => write!(f, "MISMATCH {what}: expected {} computed {c}", r.expected),
            Err(e) => write!(
                f,
                "MISMATCH {what}: expected {} computed error: {e}",
                r.expected
            ),
        }
    }
}

/// Checks every row of a file's text.
pub fn check_text(text: &str) -> Result<Vec<RowResult>, ParseError> {
    Ok(parse(text)?
        .into_iter()
        .map(|row| {
            let computed = row.compute().map(|g| SlabinfoColumns::of(&g));
            RowResult { row, computed }
        })
        .collect())
}
