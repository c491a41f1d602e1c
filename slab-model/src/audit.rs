//! The invariant audit (conservation, freelists, list placement, arrays, memory, constructors).
//!
//! [`Machine::audit`] checks every invariant at a quiescent point and returns a structured
//! report naming the invariant and the cache / node / slab / object it failed at. It takes
//! every CPU's irq token (in CPU order) and every node lock, so it must not run while a
//! context is inside an operation (a slab being built in `cache_grow` is "in flight" and
//! would be reported as leaked pages).

use crate::cache::KmemCache;
use crate::cpu::{Context, ContextKind};
use crate::geometry::DescriptorSource;
use crate::machine::{Machine, Owner};
use crate::memory::{PG_HEAD, PG_SLAB, PG_TAIL};
use crate::sync::{Lock, PeekWord, Platform};
use crate::trace::ListKind;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One failed invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The invariant's name (stable; the mutation matrix and tests match on it).
    pub invariant: &'static str,
    /// Cache name, if the invariant is about one cache.
    pub cache: Option<String>,
    /// Node, if any.
    pub node: Option<usize>,
    /// Slab (first pfn), if any.
    pub slab: Option<u64>,
    /// Object address, if any.
    pub object: Option<u64>,
    /// What was found.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invariant `{}` violated", self.invariant)?;
        if let Some(c) = &self.cache {
            write!(f, " in cache {c}")?;
        }
        if let Some(n) = self.node {
            write!(f, " node{n}")?;
        }
        if let Some(s) = self.slab {
            write!(f, " slab@pfn {s:#x}")?;
        }
        if let Some(o) = self.object {
            write!(f, " object {o:#x}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// The result of one audit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Every violation found (empty = all invariants hold).
    pub violations: Vec<Violation>,
    /// Objects examined.
    pub objects: usize,
    /// Slabs examined.
    pub slabs: usize,
}

impl AuditReport {
    /// No violation.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
    /// Panics with the first violation (what loom and shuttle then report).
    pub fn assert_ok(&self) {
        if let Some(v) = self.violations.first() {
            panic!(
                "audit: {v} ({} violation(s) in total)",
                self.violations.len()
            );
        }
    }
    /// Whether some violation has this invariant name.
    pub fn has(&self, invariant: &str) -> bool {
        self.violations.iter().any(|v| v.invariant == invariant)
    }
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(
                f,
                "audit ok: {} slabs, {} objects",
                self.slabs, self.objects
            );
        }
        for v in &self.violations {
            writeln!(f, "{v}")?;
        }
        Ok(())
    }
}

/// The shadow ownership map, copied once per audit (the map's lock is not held while the
/// audit takes model locks).
struct ShadowIndex {
    /// (address, owner), ascending by address.
    by_addr: Vec<(u64, Owner)>,
    /// (cache id, address, owner), ascending by (cache, address).
    by_cache: Vec<(u32, u64, Owner)>,
}

impl ShadowIndex {
    fn new(objects: &rustc_hash::FxHashMap<u64, (u32, Owner)>) -> Self {
        let mut by_addr: Vec<(u64, Owner)> = objects.iter().map(|(&a, &(_, o))| (a, o)).collect();
        by_addr.sort_unstable_by_key(|&(a, _)| a);
        let mut by_cache: Vec<(u32, u64, Owner)> =
            objects.iter().map(|(&a, &(c, o))| (c, a, o)).collect();
        by_cache.sort_unstable_by_key(|&(c, a, _)| (c, a));
        ShadowIndex { by_addr, by_cache }
    }

    fn owner(&self, addr: u64) -> Option<Owner> {
        let i = self.by_addr.binary_search_by_key(&addr, |e| e.0).ok()?;
        Some(self.by_addr[i].1)
    }

    /// The (address, owner) pairs of cache `id`, ascending by address.
    fn of_cache(&self, id: u32) -> impl Iterator<Item = (u64, Owner)> + '_ {
        let lo = self.by_cache.partition_point(|e| e.0 < id);
        let hi = self.by_cache.partition_point(|e| e.0 <= id);
        self.by_cache[lo..hi].iter().map(|&(_, a, o)| (a, o))
    }
}

struct Out<'a> {
    v: &'a mut Vec<Violation>,
}

impl Out<'_> {
    fn push(
        &mut self,
        invariant: &'static str,
        cache: &str,
        node: Option<usize>,
        slab: Option<u64>,
        object: Option<u64>,
        detail: String,
    ) {
        // Bounded: one broken structure can produce thousands of identical findings.
        if self.v.len() < 64 {
            self.v.push(Violation {
                invariant,
                cache: Some(cache.to_string()),
                node,
                slab,
                object,
                detail,
            });
        }
    }
}

impl<P: Platform> Machine<P> {
    /// Runs the full audit after a public operation when `audit_every_op` is set.
    pub(crate) fn audit_after_op(&self) {
        if self.config().audit_every_op {
            self.audit().assert_ok();
        }
    }

    /// Checks every invariant; see the module documentation for when it may run.
    pub fn audit(&self) -> AuditReport {
        let ctx = Context::new(self, ContextKind::Task, 0, "audit");
        let tokens: Vec<_> = (0..self.cpus().len()).map(|c| ctx.irq_off_on(c)).collect();
        let mut report = AuditReport::default();
        let mut v = Vec::new();
        let mut out = Out { v: &mut v };
        // One copy of the shadow map, in two orders: by address (off-slab descriptor
        // lookups) and by (cache, address) (each cache's conservation check reads its own
        // range instead of scanning every object of the machine).
        let shadow = ShadowIndex::new(&self.shadow().objects);
        let mut slab_blocks: BTreeMap<u64, u32> = BTreeMap::new(); // head pfn -> order
        for cachep in self.all_caches() {
            self.audit_cache(
                &cachep,
                &tokens,
                &shadow,
                &mut slab_blocks,
                &mut out,
                &mut report,
            );
        }
        drop(tokens);
        self.audit_memory(&slab_blocks, &mut out);
        report.violations = v;
        report
    }

    #[allow(clippy::too_many_arguments)]
    fn audit_cache(
        &self,
        cachep: &KmemCache<P>,
        tokens: &[crate::cpu::IrqOff<'_, P>],
        shadow: &ShadowIndex,
        slab_blocks: &mut BTreeMap<u64, u32>,
        out: &mut Out<'_>,
        report: &mut AuditReport,
    ) {
        let name = cachep.name.as_str();
        let geo = &cachep.geo;
        let num = geo.num;
        let size = geo.size;
        let t = cachep.tunables();
        if t.batchcount == 0 || t.batchcount > t.limit {
            out.push(
                "tunables",
                name,
                None,
                None,
                None,
                format!("batchcount {} not in 1..=limit {}", t.batchcount, t.limit),
            );
        }
        // Where every object is: handed out (slab view) vs the places that may hold it.
        // Collected unsorted and compared sorted at the end (cheaper than ordered sets;
        // the audit runs after every operation in sequential tests).
        let mut allocated_from_slab: Vec<u64> = Vec::new();
        let mut placed: Vec<(u64, &'static str, Option<usize>)> = Vec::new();
        let mut place = |obj: u64, what: &'static str, node: Option<usize>| {
            placed.push((obj, what, node));
        };
        for (cpu, tok) in tokens.iter().enumerate() {
            if cachep.is_destroyed() {
                // Off the chain: a CPU that came up since has no array for it (era A).
                for o in cachep.cpu_array_entries(cpu) {
                    place(o, "a cpu array", None);
                }
                continue;
            }
            if !self.cpu_online(cpu) {
                // A CPU that is down owns no objects (era A: its array is gone; era B:
                // its per-CPU area stays, empty).
                let entries = cachep.cpu_array_entries(cpu);
                if !entries.is_empty() {
                    out.push(
                        "offline-cpu-owns-objects",
                        name,
                        None,
                        None,
                        None,
                        format!(
                            "cpu{cpu} is down but its array holds {} objects",
                            entries.len()
                        ),
                    );
                }
                for o in entries {
                    place(o, "a dead cpu's array", None);
                }
                continue;
            }
            let ac = cachep.cpu_cache_get(tok);
            let avail_word = cachep.ac_words(ac).avail.read_once();
            let entries = cachep.ac(tok, ac, |a| {
                // Read before this access republishes it: the reaper's unlocked peek.
                if avail_word != a.avail() {
                    out.push(
                        "peek-words",
                        name,
                        None,
                        None,
                        None,
                        format!(
                            "the unlocked copy of cpu{cpu}'s ac->avail reads {avail_word} but the array holds {}",
                            a.avail()
                        ),
                    );
                }
                if a.avail() > a.limit {
                    out.push(
                        "array-bounds",
                        name,
                        None,
                        None,
                        None,
                        format!("cpu{cpu} array avail {} > limit {}", a.avail(), a.limit),
                    );
                }
                if a.limit != t.limit || a.batchcount != t.batchcount {
                    out.push(
                        "array-tunables",
                        name,
                        None,
                        None,
                        None,
                        format!(
                            "cpu{cpu} array limit/batch {}/{} but cache tunables {}/{}",
                            a.limit, a.batchcount, t.limit, t.batchcount
                        ),
                    );
                }
                a.entry.clone()
            });
            for o in entries {
                place(o, "a cpu array", None);
            }
        }
        let mut total_slabs = 0;
        for (node, n) in cachep.nodes.iter().enumerate() {
            let lock = n.spin_lock(&tokens[0]);
            n.lists(&lock, |l| {
                // Before this section's own publish refreshes them.
                for (what, word, lists) in n.stale_peeks(l) {
                    out.push(
                        "peek-words",
                        name,
                        Some(node),
                        None,
                        None,
                        format!("the unlocked copy of {what} reads {word} but the lists say {lists}"),
                    );
                }
                let mut walked = 0;
                let mut free_sum = 0;
                for kind in [ListKind::Full, ListKind::Partial, ListKind::Free] {
                    let ids = match l.slabs.walk(kind) {
                        Ok(ids) => ids,
                        Err(e) => {
                            out.push("slab-list-links", name, Some(node), None, None, e);
                            continue;
                        }
                    };
                    walked += ids.len();
                    for id in ids {
                        let s = l.slabs.get(id).expect("walked");
                        let ok = match kind {
                            ListKind::Full => s.inuse == num,
                            ListKind::Partial => s.inuse > 0 && s.inuse < num,
                            ListKind::Free => s.inuse == 0,
                            ListKind::None => true,
                        };
                        if !ok {
                            out.push(
                                "slab-list-placement",
                                name,
                                Some(node),
                                Some(id),
                                None,
                                format!("slab with inuse {} of {num} is on {kind}", s.inuse),
                            );
                        }
                    }
                }
                if walked != l.slabs.len() {
                    out.push(
                        "slab-on-no-list",
                        name,
                        Some(node),
                        None,
                        None,
                        format!(
                            "{} slabs belong to the node but {walked} are on its lists",
                            l.slabs.len()
                        ),
                    );
                }
                for s in l.slabs.iter() {
                    total_slabs += 1;
                    slab_blocks.insert(s.pfn, geo.gfporder);
                    let free = match s.free_indices(num) {
                        Ok(f) => f,
                        Err(e) => {
                            out.push("freelist", name, Some(node), Some(s.pfn), None, e);
                            continue;
                        }
                    };
                    free_sum += free.len();
                    if s.node != node {
                        out.push(
                            "slab-node",
                            name,
                            Some(node),
                            Some(s.pfn),
                            None,
                            format!("slab records node{} but is on node{node}'s lists", s.node),
                        );
                    }
                    // Layout: objects inside the slab, aligned, after the management data.
                    let slab_end = s.base + ((self.profile().page_size as u64) << geo.gfporder);
                    if s.s_mem != s.base + s.colouroff as u64 {
                        out.push(
                            "slab-layout",
                            name,
                            Some(node),
                            Some(s.pfn),
                            None,
                            "s_mem != base + colouroff".into(),
                        );
                    }
                    let mgmt = if geo.off_slab() { 0 } else { geo.mgmt_size };
                    let colour_area = s.colouroff - mgmt;
                    if colour_area % geo.colour_off.max(1) != 0
                        || colour_area / geo.colour_off.max(1) >= geo.colour.max(1)
                    {
                        out.push(
                            "slab-layout",
                            name,
                            Some(node),
                            Some(s.pfn),
                            None,
                            format!(
                                "colour area {colour_area} is not a colour below {} times {}",
                                geo.colour.max(1),
                                geo.colour_off
                            ),
                        );
                    }
                    if s.s_mem + (num * size) as u64 > slab_end {
                        out.push(
                            "slab-layout",
                            name,
                            Some(node),
                            Some(s.pfn),
                            None,
                            "objects extend past the slab's pages".into(),
                        );
                    }
                    // On-slab, the management data is exactly the bytes between the colour
                    // area and object 0 (`slabp = objp + colour_off`, `s_mem = slabp +
                    // slab_size` / `freelist_size`): anywhere else it overlaps an object,
                    // the colour area or memory outside the slab.
                    if !geo.off_slab()
                        && (s.mgmt_addr < s.base || s.mgmt_addr + geo.mgmt_size as u64 != s.s_mem)
                    {
                        out.push(
                            "slab-layout",
                            name,
                            Some(node),
                            Some(s.pfn),
                            Some(s.mgmt_addr),
                            format!(
                                "on-slab management at {:#x} ({} bytes) is not between the colour area and object 0 at {:#x}",
                                s.mgmt_addr, geo.mgmt_size, s.s_mem
                            ),
                        );
                    }
                    if !(s.s_mem + geo.obj_offset as u64).is_multiple_of(geo.align.max(1) as u64) {
                        out.push(
                            "object-alignment",
                            name,
                            Some(node),
                            Some(s.pfn),
                            None,
                            format!("s_mem {:#x} is not {}-aligned", s.s_mem, geo.align),
                        );
                    }
                    // DEBUG with POISON runs the constructor at every allocation instead
                    // (cache_alloc_debugcheck_after), never in cache_init_objs.
                    let poisoned = self.profile().debug && geo.flags.contains(crate::slab_flags::SlabFlags::POISON);
                    let want_ctor = u8::from(cachep.ctor && !poisoned);
                    if let Some(i) = s.ctor_runs.iter().position(|&c| c != want_ctor) {
                        out.push(
                            "ctor-once",
                            name,
                            Some(node),
                            Some(s.pfn),
                            Some(s.index_to_obj(size, i)),
                            format!(
                                "constructor ran {} times on object {i} (expected {want_ctor})",
                                s.ctor_runs[i]
                            ),
                        );
                    }
                    if s.mgmt_off_slab {
                        let ok = matches!(shadow.owner(s.mgmt_addr), Some(Owner::SlabDescriptor));
                        let ok = ok
                            && (geo.descriptor == DescriptorSource::SelfCache
                                || cachep.desc_cache.is_some());
                        if !ok {
                            out.push(
                                "offslab-descriptor",
                                name,
                                Some(node),
                                Some(s.pfn),
                                Some(s.mgmt_addr),
                                "off-slab descriptor is not a live object of the descriptor cache"
                                    .into(),
                            );
                        }
                    }
                    // Page back-pointers.
                    {
                        let mem = self.mem();
                        for p in 0..(1u64 << geo.gfporder) {
                            // A slab of order > 0 is one compound page: PG_head on its
                            // first page, PG_tail and the head's pfn on the others, which
                            // is how `virt_to_head_page` finds the slab from any object.
                            let compound = match (geo.gfporder, p) {
                                (0, _) => 0,
                                (_, 0) => PG_HEAD,
                                _ => PG_TAIL,
                            };
                            let ok = mem.page(s.pfn + p).is_some_and(|r| {
                                r.flags & PG_SLAB != 0
                                    && r.slab_cache == Some(cachep.id)
                                    && r.slab == Some(s.pfn)
                                    && r.s_mem == s.s_mem
                                    && r.flags & (PG_HEAD | PG_TAIL) == compound
                                    && r.compound_head == s.pfn
                            });
                            if !ok {
                                out.push(
                                    "page-backpointers",
                                    name,
                                    Some(node),
                                    Some(s.pfn),
                                    None,
                                    format!(
                                        "struct page of pfn {:#x} does not point back to this slab as a page of its compound block",
                                        s.pfn + p
                                    ),
                                );
                            }
                            if mem.page(s.pfn + p).is_some_and(|r| r.node as usize != node) {
                                out.push(
                                    "slab-node",
                                    name,
                                    Some(node),
                                    Some(s.pfn),
                                    None,
                                    "slab pages belong to another node".into(),
                                );
                            }
                        }
                    }
                    let mut is_free = vec![false; num];
                    for i in free {
                        is_free[i] = true;
                    }
                    for (i, _) in is_free.iter().enumerate().filter(|(_, &f)| !f) {
                        allocated_from_slab.push(s.index_to_obj(size, i));
                    }
                }
                if free_sum != l.free_objects {
                    out.push(
                        "free_objects",
                        name,
                        Some(node),
                        None,
                        None,
                        format!(
                            "free_objects {} but the slabs hold {free_sum} free objects",
                            l.free_objects
                        ),
                    );
                }
                if l.colour_next != 0 && l.colour_next >= geo.colour {
                    out.push(
                        "colour_next",
                        name,
                        Some(node),
                        None,
                        None,
                        format!("colour_next {} >= colour {}", l.colour_next, geo.colour),
                    );
                }
                let deficit = n.limit_deficit.load(std::sync::atomic::Ordering::SeqCst);
                let want_limit =
                    crate::geometry::free_limit(self.nr_cpus_node(node), &t, num) - deficit * t.batchcount;
                // Era B: a /proc/slabinfo write takes only slab_mutex, so its
                // alloc_kmem_cache_node can compute the limit after take_cpu_down and
                // before CPU_DEAD lowers it again — the limit then stays a batch (or
                // more) below the formula until the next tune. 4.4 behaves so; it only
                // frees slabs earlier.
                let drifted = self.era() == crate::profile::Era::B
                    && l.free_limit < want_limit
                    && (want_limit - l.free_limit).is_multiple_of(t.batchcount);
                // A destroyed cache left the chain: hot-plug no longer updates it.
                if l.free_limit != want_limit && !drifted && !cachep.is_destroyed() {
                    out.push(
                        "free_limit",
                        name,
                        Some(node),
                        None,
                        None,
                        format!(
                            "free_limit {} but the formula gives {want_limit} ((1 + nr_cpus_node) x batchcount + num, less a batch after cpuup_prepare)",
                            l.free_limit
                        ),
                    );
                }
                match (&l.shared, t.shared) {
                    (Some(sh), s) => {
                        if sh.limit != s * t.batchcount {
                            out.push(
                                "shared-array-bounds",
                                name,
                                Some(node),
                                None,
                                None,
                                format!(
                                    "shared limit {} != shared {s} x batchcount {}",
                                    sh.limit, t.batchcount
                                ),
                            );
                        }
                        if sh.avail() > sh.limit {
                            out.push(
                                "shared-array-bounds",
                                name,
                                Some(node),
                                None,
                                None,
                                format!("shared avail {} > limit {}", sh.avail(), sh.limit),
                            );
                        }
                        for &o in &sh.entry {
                            place(o, "a shared array", Some(node));
                        }
                    }
                    // cpuup_canceled detached it: the node has no online CPU.
                    (None, _) if self.nr_cpus_node(node) == 0 || cachep.is_destroyed() => {}
                    (None, s) if s > 0 => {
                        out.push(
                            "shared-array-bounds",
                            name,
                            Some(node),
                            None,
                            None,
                            format!("shared factor {s} but no shared array"),
                        );
                    }
                    _ => {}
                }
            });
        }
        // Alien arrays: bounded, and holding only objects of the node they are for.
        for (node, n) in cachep.nodes.iter().enumerate() {
            for (r, a) in n.alien.iter().enumerate() {
                let Some(alien) = a else { continue };
                let entries = alien.with(&tokens[0], cachep.id, |ac| {
                    if ac.avail() > ac.limit {
                        out.push(
                            "alien-array-bounds",
                            name,
                            Some(node),
                            None,
                            None,
                            format!("alien[node{r}] avail {} > limit {}", ac.avail(), ac.limit),
                        );
                    }
                    ac.entry.clone()
                });
                for o in entries {
                    let obj_node = {
                        let mem = self.mem();
                        mem.virt_to_pfn(o)
                            .and_then(|p| mem.page(p))
                            .map(|rec| rec.node as usize)
                    };
                    if obj_node != Some(r) {
                        out.push("alien-array-node", name, Some(node), None, Some(o), format!("object of node {obj_node:?} in node{node}'s alien array for node{r}"));
                    }
                    place(o, "an alien array", Some(node));
                }
            }
        }
        // Arrays and slabs hold slots; callers hold slot + obj_offset (DEBUG red zones).
        let obj_offset = cachep.geo.obj_offset as u64;
        for (o, owner) in shadow.of_cache(cachep.id) {
            place(
                o - obj_offset,
                if owner == Owner::Caller {
                    "a caller's hands"
                } else {
                    "an off-slab descriptor"
                },
                None,
            );
        }
        // Conservation: the objects the slabs consider allocated are exactly the ones
        // that are somewhere, each in one place only.
        placed.sort_by_key(|&(o, _, _)| o);
        for w in placed.windows(2) {
            if w[0].0 == w[1].0 {
                out.push(
                    "conservation",
                    name,
                    w[1].2,
                    None,
                    Some(w[1].0),
                    format!("object is both in {} and in {}", w[0].1, w[1].1),
                );
            }
        }
        placed.dedup_by_key(|p| p.0);
        allocated_from_slab.sort_unstable();
        for &(o, what, _) in &placed {
            if allocated_from_slab.binary_search(&o).is_err() {
                out.push(
                    "conservation",
                    name,
                    None,
                    None,
                    Some(o),
                    format!("object in {what} is free in its slab (or not an object)"),
                );
            }
        }
        for &o in &allocated_from_slab {
            if placed.binary_search_by_key(&o, |p| p.0).is_err() {
                out.push(
                    "conservation",
                    name,
                    None,
                    None,
                    Some(o),
                    "object allocated from its slab is nowhere (lost)".into(),
                );
            }
        }
        if cachep.is_destroyed() && total_slabs > 0 {
            out.push(
                "destroyed-cache-owns-pages",
                name,
                None,
                None,
                None,
                format!("destroyed cache still has {total_slabs} slabs"),
            );
        }
        report.objects += allocated_from_slab.len();
        report.slabs += total_slabs;
    }

    fn audit_memory(&self, slab_blocks: &BTreeMap<u64, u32>, out: &mut Out<'_>) {
        let mem = self.mem();
        for (pfn, rec) in mem.pages() {
            if rec.flags & PG_SLAB != 0 {
                let head = rec.slab.unwrap_or(rec.compound_head);
                if !slab_blocks.contains_key(&head) {
                    out.push(
                        "pg-slab",
                        "(memory)",
                        Some(rec.node as usize),
                        Some(head),
                        None,
                        format!("pfn {pfn:#x} is PG_slab but belongs to no live slab"),
                    );
                }
            }
        }
        // Bytes are kept only for pages that have a `struct page` record: a frame that
        // outlived its page's return to the buddy allocator is the model's memory leaking
        // (`kmem_freepages` releases every frame of the block, whatever its order).
        for pfn in mem.touched_pfns() {
            if mem.page(pfn).is_none() {
                out.push(
                    "frame-leak",
                    "(memory)",
                    None,
                    Some(pfn),
                    None,
                    format!("pfn {pfn:#x} keeps its bytes after going back to the page allocator"),
                );
            }
        }
        drop(mem);
        let zone = self.zone.lock();
        if let Err(e) = zone.check() {
            out.push("buddy", "(memory)", None, None, None, e);
        }
        let mut seen = BTreeSet::new();
        for (pfn, order, node) in zone.allocated_blocks() {
            match slab_blocks.get(&pfn) {
                Some(&o) if o == order => {
                    seen.insert(pfn);
                }
                _ => out.push("page-leak", "(memory)", Some(node), Some(pfn), None,
                    format!("order-{order} block at pfn {pfn:#x} is allocated but belongs to no live slab")),
            }
        }
        for &pfn in slab_blocks.keys() {
            if !seen.contains(&pfn) {
                out.push(
                    "page-double-free",
                    "(memory)",
                    None,
                    Some(pfn),
                    None,
                    "slab pages are not allocated in the page allocator".into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::memory::PageRecord;
    use crate::sync::TrackedCell;
    use crate::testing::{create, tiny, Cache, M};
    use crate::{Era, Gfp, Mutation, MutationSet};

    /// A tiny machine with one 1300-byte cache and one object in the caller's hands.
    fn one_object() -> (M, Cache, u64) {
        let m = tiny(Era::A, MutationSet::NONE, false);
        let c = create(&m, "t", 1300);
        let o = m
            .task(0, "t")
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .expect("no misuse")
            .expect("no fault injection");
        let r = m.audit();
        assert!(r.is_ok(), "{r}");
        (m, c, o)
    }

    /// Pushes `obj` on CPU 0's array of `c` behind the allocator's back.
    fn park_on_cpu0(m: &M, c: &Cache, obj: u64) {
        let ctx = m.task(0, "corrupt");
        let tok = ctx.irq_off_on(0);
        let ac = c.cpu_cache_get(&tok);
        c.ac(&tok, ac, |a| a.entry.push(obj));
    }

    fn conservation(m: &M, obj: u64, detail: &str) {
        let r = m.audit();
        assert!(
            r.violations.iter().any(|v| v.invariant == "conservation"
                && v.object == Some(obj)
                && v.detail.contains(detail)),
            "expected a conservation finding on {obj:#x} ({detail}), got:\n{r}"
        );
    }

    #[test]
    fn object_in_two_places() {
        let (m, c, o) = one_object();
        park_on_cpu0(&m, &c, o);
        conservation(&m, o, "both in a cpu array and in a caller's hands");
    }

    #[test]
    fn allocated_object_that_is_nowhere() {
        let (m, _c, o) = one_object();
        m.shadow().objects.remove(&o);
        conservation(&m, o, "is nowhere (lost)");
    }

    /// Every report names `invariant` at least once.
    fn finds(m: &M, invariant: &str) -> crate::audit::AuditReport {
        let r = m.audit();
        assert!(
            r.violations.iter().any(|v| v.invariant == invariant),
            "expected a `{invariant}` finding, got:\n{r}"
        );
        r
    }

    /// A pfn far above anything the tiny machine's slabs use, with no record.
    fn spare_pfn(m: &M, c: &Cache) -> u64 {
        let top = m
            .node_snapshot(c, 0)
            .all_slabs()
            .map(|s| s.base)
            .max()
            .unwrap();
        let pfn = m.mem().virt_to_pfn(top).unwrap() + 64;
        assert!(m.mem().page(pfn).is_none());
        pfn
    }

    #[test]
    fn pg_slab_on_a_page_of_no_slab() {
        let (m, c, _o) = one_object();
        let pfn = spare_pfn(&m, &c);
        let mut rec = PageRecord::new(pfn, pfn, 0, 0);
        rec.set_slab_flag();
        m.mem().set_page(pfn, rec);
        let r = finds(&m, "pg-slab");
        assert!(r.violations.iter().any(|v| v.slab == Some(pfn)), "{r}");
    }

    /// A slab's block in the page allocator must have the cache's order: an order-1 block
    /// at an order-0 slab's pfn holds a page no slab accounts for (the guard of
    /// `page-leak` compares orders, not only head pfns).
    #[test]
    fn a_slab_block_of_another_order_is_a_page_leak() {
        let (m, c, _o) = one_object();
        assert_eq!(c.geo.gfporder, 0);
        let pfns: Vec<u64> = m
            .node_snapshot(&c, 0)
            .all_slabs()
            .map(|s| m.mem().virt_to_pfn(s.base).unwrap())
            .collect();
        let pfn = *pfns
            .iter()
            .find(|&&p| p % 2 == 0)
            .expect("an even slab pfn");
        {
            let mut zone = m.zone.lock();
            zone.free_pages(pfn, 0).expect("the slab's block");
            let again = zone
                .alloc_pages_node(0, 1, Gfp::KERNEL, None)
                .expect("node 0");
            assert_eq!(
                again,
                Some(pfn),
                "the freed page merged and came back as order 1"
            );
        }
        let r = finds(&m, "page-leak");
        assert!(r.violations.iter().any(|v| v.slab == Some(pfn)), "{r}");
        // And the slab's own order-0 block is no longer allocated as such.
        assert!(
            r.violations
                .iter()
                .any(|v| v.invariant == "page-double-free" && v.slab == Some(pfn)),
            "{r}"
        );
    }

    /// A peek word that disagrees with the locked data (here: `free_objects` changed
    /// behind the lists' back) is a finding.
    #[test]
    fn a_stale_peek_word_is_a_finding() {
        use crate::sync::PeekWord;
        let (m, c, _o) = one_object();
        let n = &c.nodes[0];
        let word = n.peek_free_objects();
        n.peek.free_objects.write_once(word + 5);
        let r = finds(&m, "peek-words");
        assert!(
            r.violations
                .iter()
                .any(|v| v.detail.contains("free_objects")),
            "{r}"
        );
    }

    /// Only PG_slab pages must belong to a slab: any other page may have a `struct page`.
    #[test]
    fn a_page_without_pg_slab_outside_every_slab_is_no_finding() {
        let (m, c, _o) = one_object();
        let pfn = spare_pfn(&m, &c);
        m.mem().set_page(pfn, PageRecord::new(pfn, pfn, 0, 0));
        let r = m.audit();
        assert!(r.is_ok(), "{r}");
    }

    /// B.32 shipped: a destroyed cache whose shutdown failed still holds its slab.
    #[test]
    fn a_destroyed_cache_that_still_has_slabs() {
        let m = tiny(
            Era::B,
            MutationSet::only(Mutation::DestroyDespiteLiveObjects),
            false,
        );
        let c = create(&m, "d", 1300);
        let mut t = m.task(0, "t");
        let _live = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let _ = t.kmem_cache_destroy(&c);
        assert!(c.is_destroyed());
        finds(&m, "destroyed-cache-owns-pages");
    }

    /// The report's totals are the allocated objects and the slabs of every cache, as
    /// /proc/slabinfo's `active_objs` and `num_slabs` count them independently.
    #[test]
    fn the_report_counts_what_slabinfo_counts() {
        let (m, c, o) = one_object();
        let mut t = m.task(1, "t");
        let more: Vec<u64> = (0..7)
            .map(|_| t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap())
            .collect();
        t.kmem_cache_free(&c, more[3]).unwrap();
        let rows = m.slabinfo_rows();
        let r = m.audit();
        assert!(r.is_ok(), "{r}");
        assert_eq!(r.objects, rows.iter().map(|w| w.active_objs).sum::<usize>());
        assert_eq!(r.slabs, rows.iter().map(|w| w.num_slabs).sum::<usize>());
        assert!(
            r.slabs >= 2 && r.objects >= 8,
            "{} slabs, {} objects",
            r.slabs,
            r.objects
        );
        let _ = o;
    }

    /// A `free_limit` one batch below the formula: the drift a tune racing `cpu_down`
    /// leaves in 4.4, tolerated there; 2.6.24 has no such race, so there it is a finding.
    #[test]
    fn a_free_limit_a_batch_low_is_a_finding_only_in_2_6_24() {
        for era in [Era::A, Era::B] {
            let m = tiny(era, MutationSet::NONE, false);
            let c = create(&m, "fl", 1300);
            let batch = c.tunables.with(|t| t.batchcount);
            {
                let ctx = m.task(0, "corrupt");
                let irq = ctx.irq_off_on(0);
                let lock = c.nodes[0].spin_lock(&irq);
                c.nodes[0].lists(&lock, |l| l.free_limit -= batch);
            }
            let r = m.audit();
            let flagged = r.violations.iter().any(|v| v.invariant == "free_limit");
            assert_eq!(flagged, era == Era::A, "era {era}: {r}");
        }
    }

    /// A node of a cache with a shared factor but no shared array, while the node has
    /// online CPUs (only `cpuup_canceled` may detach it, when the node has none).
    #[test]
    fn a_shared_factor_without_a_shared_array() {
        let (m, c, _o) = one_object();
        assert!(c.tunables.with(|t| t.shared) > 0);
        {
            let ctx = m.task(0, "corrupt");
            let irq = ctx.irq_off_on(0);
            let lock = c.nodes[0].spin_lock(&irq);
            let sh = c.nodes[0]
                .lists(&lock, |l| l.shared.take())
                .expect("a shared array");
            assert_eq!(sh.avail(), 0, "nothing lost with it");
        }
        finds(&m, "shared-array-bounds");
    }

    #[test]
    fn array_entry_that_is_no_allocated_object() {
        let (m, c, o) = one_object();
        park_on_cpu0(&m, &c, o + 8);
        conservation(&m, o + 8, "free in its slab (or not an object)");
    }
}
