//! `/proc/slabinfo` version 2.1, as 2.6.24's `s_show` prints it (4.4's `cache_show` prints
//! the same columns), with the `globalstat` / `cpustat` columns of `2.1 (statistics)` on a
//! `CONFIG_DEBUG_SLAB` profile ([`crate::stats`]).

use crate::cache::KmemCache;
use crate::cpu::{Context, ContextKind};
use crate::machine::Machine;
use crate::profile::Era;
use crate::stats::SlabStats;
use crate::sync::{Lock, Platform};
use serde::Serialize;

/// One cache's slabinfo numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlabinfoRow {
    /// Cache name.
    pub name: String,
    /// Objects not free in their slabs — objects parked in per-CPU and shared arrays
    /// count as active.
    pub active_objs: usize,
    /// `num_slabs × num`.
    pub num_objs: usize,
    /// The padded stride.
    pub objsize: usize,
    /// `num`.
    pub objperslab: usize,
    /// `2^gfporder`.
    pub pagesperslab: usize,
    /// Tunables.
    pub limit: usize,
    /// Tunables.
    pub batchcount: usize,
    /// Tunables.
    pub sharedfactor: usize,
    /// Full + partial slabs.
    pub active_slabs: usize,
    /// All slabs.
    pub num_slabs: usize,
    /// Σ `shared->avail` over nodes.
    pub sharedavail: usize,
    /// `s_show`'s consistency complaint, if any ("free_objects accounting error", …).
    pub error: Option<&'static str>,
    /// The statistics columns (`STATS`, i.e. a `CONFIG_DEBUG_SLAB` profile), and the era
    /// whose `s_show` prints them (2.6.24's format string carries four tabs).
    pub stats: Option<(SlabStats, Era)>,
}

/// The header lines (`print_slabinfo_header`, non-DEBUG build).
pub const SLABINFO_HEADER: &str = "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

/// The header lines with statistics (`print_slabinfo_header` when `STATS`: 2.6.24 and
/// 4.4 alike).
pub const SLABINFO_HEADER_STATS: &str = "slabinfo - version: 2.1 (statistics)\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail> : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable> <nodeallocs> <remotefrees> <alienoverflow> : cpustat <allochit> <allocmiss> <freehit> <freemiss>\n";

impl SlabinfoRow {
    /// One line, `%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu`,
    /// then, with STATS, the `globalstat` / `cpustat` columns ([`SlabStats::render`]).
    pub fn render(&self) -> String {
        format!(
            "{:<17} {:>6} {:>6} {:>6} {:>4} {:>4} : tunables {:>4} {:>4} {:>4} : slabdata {:>6} {:>6} {:>6}",
            self.name,
            self.active_objs,
            self.num_objs,
            self.objsize,
            self.objperslab,
            self.pagesperslab,
            self.limit,
            self.batchcount,
            self.sharedfactor,
            self.active_slabs,
            self.num_slabs,
            self.sharedavail
        ) + &self
            .stats
            .map(|(st, era)| st.render(era))
            .unwrap_or_default()
    }
}

impl<P: Platform> Machine<P> {
    /// `s_show` for one cache (eras A, B): walks the three lists of every node under
    /// `list_lock`, with 2.6.24's consistency checks.
    pub fn slabinfo_row(&self, cachep: &KmemCache<P>) -> SlabinfoRow {
        let ctx = Context::new(self, ContextKind::Task, 0, "slabinfo");
        let num = cachep.num();
        let (mut active_objs, mut active_slabs, mut num_slabs, mut free_objects, mut sharedavail) =
            (0, 0, 0, 0, 0);
        let mut error = None;
        for n in &cachep.nodes {
            let irq = ctx.local_irq_disable();
            let lock = n.spin_lock(&irq);
            n.lists(&lock, |l| {
                for id in l
                    .slabs
                    .walk(crate::trace::ListKind::Full)
                    .unwrap_or_default()
                {
                    let s = l.slabs.get(id).expect("walked");
                    if s.inuse != num && error.is_none() {
                        error = Some("slabs_full accounting error");
                    }
                    active_objs += num;
                    active_slabs += 1;
                }
                for id in l
                    .slabs
                    .walk(crate::trace::ListKind::Partial)
                    .unwrap_or_default()
                {
                    let s = l.slabs.get(id).expect("walked");
                    if s.inuse == num && error.is_none() {
                        error = Some("slabs_partial inuse accounting error");
                    }
                    if s.inuse == 0 && error.is_none() {
                        error = Some("slabs_partial/inuse accounting error");
                    }
                    active_objs += s.inuse;
                    active_slabs += 1;
                }
                for id in l
                    .slabs
                    .walk(crate::trace::ListKind::Free)
                    .unwrap_or_default()
                {
                    let s = l.slabs.get(id).expect("walked");
                    if s.inuse != 0 && error.is_none() {
                        error = Some("slabs_free/inuse accounting error");
                    }
                    num_slabs += 1;
                }
                free_objects += l.free_objects;
                if let Some(sh) = &l.shared {
                    sharedavail += sh.avail();
                }
            });
        }
        num_slabs += active_slabs;
        let num_objs = num_slabs * num;
        if num_objs.wrapping_sub(active_objs) != free_objects && error.is_none() {
            error = Some("free_objects accounting error");
        }
        let t = cachep.tunables();
        SlabinfoRow {
            name: cachep.name.clone(),
            active_objs,
            num_objs,
            objsize: cachep.size(),
            objperslab: num,
            pagesperslab: cachep.geo.pages_per_slab(),
            limit: t.limit,
            batchcount: t.batchcount,
            sharedfactor: t.shared,
            active_slabs,
            num_slabs,
            sharedavail,
            error,
            stats: cachep.stats().map(|st| (st, cachep.era)),
        }
    }

    /// Every live cache's row, in `cache_chain` order (newest first).
    pub fn slabinfo_rows(&self) -> Vec<SlabinfoRow> {
        let _chain = self.chain.lock();
        drop(_chain);
        self.caches().iter().map(|c| self.slabinfo_row(c)).collect()
    }

    /// The full text of `/proc/slabinfo`.
    pub fn slabinfo(&self) -> String {
        let mut s = String::from(if self.profile().debug {
            SLABINFO_HEADER_STATS
        } else {
            SLABINFO_HEADER
        });
        for r in self.slabinfo_rows() {
            s.push_str(&r.render());
            s.push('\n');
        }
        s
    }
}
