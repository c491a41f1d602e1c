//! The buddy page allocator of the simulated machine (`mm/page_alloc.c`, reduced to what
//! SLAB observes).
//!
//! SLAB gets its pages from `kmem_getpages`, which calls `alloc_pages_node` /
//! `__alloc_pages` and gives them back with `free_pages` / `__free_pages`. What SLAB can see
//! of the page allocator is: which physical frames it gets (their pfn, hence their address
//! and their node), that a request can fail (out of memory or fault injection,
//! `should_fail_alloc_page`), and the `NR_SLAB_RECLAIMABLE` / `NR_SLAB_UNRECLAIMABLE`
//! vmstat counters. This module models exactly that, with the classic binary buddy system
//! (per-node free lists per order, split on allocation, merge with the buddy on free) so
//! that page leaks and double frees in the slab layer show up as broken buddy invariants.
//!
//! This is a pure sequential data structure: the caller wraps it in a lock (the kernel's
//! `zone->lock`).
//!
//! Deliberate differences from the kernel:
//! * one zone per node (no ZONE_DMA / ZONE_NORMAL split), no per-cpu page lists, no
//!   watermarks, reclaim or compaction: a request fails only when no free block is large
//!   enough on the permitted nodes, or when fault injection says so;
//! * free lists are `BTreeSet`s ordered by pfn, so the lowest-addressed block is always
//!   chosen: the kernel takes the list head, whose identity depends on history; the model
//!   wants allocations to be a deterministic function of the operation sequence;
//! * nothing is recorded per free page (only per free *block*), so an 8 GiB machine costs a
//!   few thousand set entries.

use crate::gfp::Gfp;
use crate::profile::ArchProfile;
use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use thiserror::Error;

/// A page frame number: physical address >> `PAGE_SHIFT`.
pub type Pfn = u64;

/// Page allocator misuse. Every variant is detected before any state changes.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PageError {
    /// Freeing a page that is not allocated: a double free, or a pointer that never came
    /// from the page allocator (the kernel's "Bad page state" / `VM_BUG_ON_PAGE`).
    #[error("__free_pages: pfn {pfn:#x} is not the head of an allocated block (double free or bad page)")]
    NotAllocated { pfn: u64 },
    /// Freeing a tail page of a higher-order block instead of its head.
    #[error(
        "__free_pages: pfn {pfn:#x} is a tail page of the order-{order} block at pfn {head:#x}"
    )]
    TailPage { pfn: u64, head: u64, order: u32 },
    /// Freeing a block with an order other than the one it was allocated with.
    #[error("__free_pages: pfn {pfn:#x} freed with order {order}, but it was allocated with order {allocated}")]
    WrongOrder {
        pfn: u64,
        order: u32,
        allocated: u32,
    },
    /// An order at or above `MAX_ORDER` (`__alloc_pages` warns and fails; here it is misuse).
    #[error("page allocator: order {order} >= MAX_ORDER ({max_order})")]
    BadOrder { order: u32, max_order: u32 },
    /// `alloc_pages_node` for a node the machine does not have.
    #[error("alloc_pages_node: node {node} does not exist (the machine has {nodes})")]
    NoSuchNode { node: usize, nodes: usize },
    /// The architecture profile cannot describe a machine.
    #[error("page allocator: invalid architecture profile: {0}")]
    InvalidProfile(String),
}

/// Fault injection for the page allocator, modelled on the kernel's `fail_page_alloc`
/// (`should_fail_alloc_page`): lets tests drive SLAB into its `cache_grow` failure paths.
///
/// Every valid request (bad node / bad order are errors, not requests) is counted; a
/// request fails if any of the rules says so. `__GFP_NOFAIL` requests are never failed by
/// injection, as in the kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultInjection {
    /// Fail the n-th request (1-based, counted over all requests on all nodes).
    pub fail_nth: Option<u64>,
    /// Fail each request with this probability, in parts per million, drawn from a
    /// `Pcg64Mcg` seeded with `seed`. One number is drawn per request whatever its outcome,
    /// so the fault sequence is a function of the seed and the request number only.
    pub fail_probability_ppm: u32,
    /// Seed of the fault stream.
    pub seed: u64,
    /// Fail every request (the machine is out of memory).
    pub fail_always: bool,
    /// This node has no free memory: a request bound to it (`__GFP_THISNODE`) fails, any
    /// other falls back to the next node in zonelist order (the NUMA fallback paths).
    #[serde(default)]
    pub exhausted_node: Option<usize>,
}

/// Which vmstat counter a slab page is charged to (`kmem_getpages`: `__GFP_RECLAIMABLE`
/// / `SLAB_RECLAIM_ACCOUNT` caches count as `NR_SLAB_RECLAIMABLE`, all others as
/// `NR_SLAB_UNRECLAIMABLE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SlabPageKind {
    /// `NR_SLAB_RECLAIMABLE`.
    Reclaimable,
    /// `NR_SLAB_UNRECLAIMABLE`.
    Unreclaimable,
}

/// What the allocator remembers about an allocated block (the kernel keeps this in the
/// head `struct page`: `page_private` order for compound pages, `page_to_nid`, and the
/// zone stat it was charged to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocatedBlock {
    /// Buddy order: the block is `2^order` pages.
    pub order: u32,
    /// Node whose memory it is (may differ from the requested node after fallback).
    pub node: usize,
    /// The gfp mask of the request.
    pub gfp: Gfp,
    /// The slab counter it is charged to, if it is a slab page.
    pub slab: Option<SlabPageKind>,
}

/// One node's memory (`pg_data_t` with a single zone).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    /// Present frames: `start..end`. `start` is aligned to a max-order block.
    range: Range<Pfn>,
    /// `free_area[order].free_list`, lowest pfn first.
    free: Vec<BTreeSet<Pfn>>,
    /// `NR_FREE_PAGES`.
    free_pages: u64,
}

/// The frame layout of a machine: each node's present pfn range.
///
/// RAM is split evenly across nodes; each node starts on a max-order boundary (so buddies
/// never straddle nodes) and the first node starts one max-order block above pfn 0, so the
/// null page and small addresses are never memory. Shared with [`crate::memory::PhysMem`]
/// so both agree on which pfns exist.
pub fn node_layout(profile: &ArchProfile) -> Result<Vec<Range<Pfn>>, PageError> {
    profile.validate().map_err(PageError::InvalidProfile)?;
    let max_block: u64 = 1 << (profile.max_order - 1);
    let total_pages = profile.ram_bytes / profile.page_size as u64;
    let per_node = total_pages / profile.nodes as u64;
    if per_node < max_block {
        return Err(PageError::InvalidProfile(format!(
            "{per_node} pages per node is less than one max-order block ({max_block} pages)"
        )));
    }
    // Round each node's span up to whole max-order blocks: a ragged tail stays a hole.
    let span = per_node.div_ceil(max_block) * max_block;
    let base = max_block;
    Ok((0..profile.nodes as u64)
        .map(|n| {
            let start = base + n * span;
            start..start + per_node
        })
        .collect())
}

/// The buddy allocator for all nodes of the machine (`mm/page_alloc.c` with one zone per
/// node). Equality compares the whole state, including the request counter and the fault
/// stream, so tests can check that a rejected call changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuddyAllocator {
    max_order: u32,
    nodes: Vec<Node>,
    /// Allocated blocks by head pfn (the kernel's head-page state, kept only for pages in use).
    allocated: BTreeMap<Pfn, AllocatedBlock>,
    nr_slab_reclaimable: u64,
    nr_slab_unreclaimable: u64,
    faults: FaultInjection,
    fault_rng: Pcg64Mcg,
    requests: u64,
}

/// The free lists of every node and order (lowest pfn first): `[node][order] -> pfns`.
pub type FreeListsSnapshot = Vec<Vec<Vec<Pfn>>>;

impl BuddyAllocator {
    /// Boots the page allocator: every present frame is put on the free lists in the largest
    /// aligned blocks that fit (`memblock_free_all` → `__free_pages_core`).
    pub fn new(profile: &ArchProfile, faults: FaultInjection) -> Result<Self, PageError> {
        let layout = node_layout(profile)?;
        let max_order = profile.max_order;
        let nodes = layout
            .into_iter()
            .map(|range| {
                let mut free = vec![BTreeSet::new(); max_order as usize];
                let mut pfn = range.start;
                while pfn < range.end {
                    // Largest order that is aligned at `pfn` and fits before the end.
                    let mut order = max_order - 1;
                    while pfn % (1 << order) != 0 || pfn + (1 << order) > range.end {
                        order -= 1;
                    }
                    free[order as usize].insert(pfn);
                    pfn += 1 << order;
                }
                Node {
                    free_pages: range.end - range.start,
                    range,
                    free,
                }
            })
            .collect();
        Ok(BuddyAllocator {
            max_order,
            nodes,
            allocated: BTreeMap::new(),
            nr_slab_reclaimable: 0,
            nr_slab_unreclaimable: 0,
            fault_rng: Pcg64Mcg::seed_from_u64(faults.seed),
            faults,
            requests: 0,
        })
    }

    /// `alloc_pages_node(node, gfp, order)` → `__alloc_pages`: a block of `2^order` pages,
    /// preferably on `node`.
    ///
    /// Without `__GFP_THISNODE` the request falls back to the other nodes in zonelist order
    /// (`node+1, node+2, …` wrapping), as the kernel does; the caller reads the node it got
    /// with [`node_of_pfn`](Self::node_of_pfn) (`page_to_nid`). With `__GFP_THISNODE` only
    /// `node` is tried (SLAB's `GFP_THISNODE` grows on NUMA).
    ///
    /// `slab` charges the pages to `NR_SLAB_RECLAIMABLE` / `NR_SLAB_UNRECLAIMABLE`
    /// (`kmem_getpages`' `add_zone_page_state`).
    ///
    /// Returns `Err` for a node or order that cannot exist (before any state change, and
    /// without counting a request), `Ok(None)` when no memory is free or fault injection
    /// fails the request (an injected fault changes nothing but the request counter).
    pub fn alloc_pages_node(
        &mut self,
        node: usize,
        order: u32,
        gfp: Gfp,
        slab: Option<SlabPageKind>,
    ) -> Result<Option<Pfn>, PageError> {
        if node >= self.nodes.len() {
            return Err(PageError::NoSuchNode {
                node,
                nodes: self.nodes.len(),
            });
        }
        if order >= self.max_order {
            return Err(PageError::BadOrder {
                order,
                max_order: self.max_order,
            });
        }
        if self.should_fail_alloc_page(gfp) {
            return Ok(None);
        }
        let n = self.nodes.len();
        let candidates: Vec<usize> = if gfp.contains(Gfp::THISNODE) {
            vec![node]
        } else {
            (0..n).map(|i| (node + i) % n).collect()
        };
        for nid in candidates {
            if self.faults.exhausted_node == Some(nid) {
                continue;
            }
            if let Some(pfn) = self.rmqueue(nid, order) {
                self.allocated.insert(
                    pfn,
                    AllocatedBlock {
                        order,
                        node: nid,
                        gfp,
                        slab,
                    },
                );
                match slab {
                    Some(SlabPageKind::Reclaimable) => self.nr_slab_reclaimable += 1 << order,
                    Some(SlabPageKind::Unreclaimable) => self.nr_slab_unreclaimable += 1 << order,
                    None => {}
                }
                return Ok(Some(pfn));
            }
        }
        Ok(None)
    }

    /// `should_fail_alloc_page`: counts the request and decides whether to fail it.
    fn should_fail_alloc_page(&mut self, gfp: Gfp) -> bool {
        self.requests += 1;
        // Draw unconditionally (when the rule is on) so that the n-th draw always belongs to
        // the n-th request: the fault sequence depends on the seed alone.
        let by_probability = self.faults.fail_probability_ppm > 0
            && self.fault_rng.next_u64() % 1_000_000 < u64::from(self.faults.fail_probability_ppm);
        if gfp.contains(Gfp::NOFAIL) {
            return false;
        }
        self.faults.fail_always || self.faults.fail_nth == Some(self.requests) || by_probability
    }

    /// `__rmqueue_smallest` + `expand`: takes the lowest-addressed block of the smallest
    /// order >= `order` and splits it, returning the upper halves to the free lists.
    fn rmqueue(&mut self, nid: usize, order: u32) -> Option<Pfn> {
        let node = &mut self.nodes[nid];
        let found = (order..self.max_order).find(|&o| !node.free[o as usize].is_empty())?;
        let pfn = node.free[found as usize]
            .pop_first()
            .expect("free list checked non-empty");
        let mut high = found;
        while high > order {
            high -= 1;
            node.free[high as usize].insert(pfn + (1 << high));
        }
        node.free_pages -= 1 << order;
        Some(pfn)
    }

    /// `__free_pages(page, order)`: returns a block and merges it with its free buddies
    /// (`__free_one_page`).
    ///
    /// `pfn` must be the head of an allocated block of exactly `order`; anything else (a
    /// double free, a tail page, the wrong order, a pfn that is not memory) is an error
    /// detected before any state changes.
    pub fn free_pages(&mut self, pfn: Pfn, order: u32) -> Result<(), PageError> {
        if order >= self.max_order {
            return Err(PageError::BadOrder {
                order,
                max_order: self.max_order,
            });
        }
        let block = match self.allocated.get(&pfn) {
            Some(b) => *b,
            None => {
                return Err(match self.containing_block(pfn) {
                    Some((head, b)) => PageError::TailPage {
                        pfn,
                        head,
                        order: b.order,
                    },
                    None => PageError::NotAllocated { pfn },
                })
            }
        };
        if block.order != order {
            return Err(PageError::WrongOrder {
                pfn,
                order,
                allocated: block.order,
            });
        }
        self.allocated.remove(&pfn);
        match block.slab {
            Some(SlabPageKind::Reclaimable) => self.nr_slab_reclaimable -= 1 << order,
            Some(SlabPageKind::Unreclaimable) => self.nr_slab_unreclaimable -= 1 << order,
            None => {}
        }
        let node = &mut self.nodes[block.node];
        node.free_pages += 1 << order;
        let (mut pfn, mut order) = (pfn, order);
        // Merge while the buddy is free at the same order. Node starts are max-order
        // aligned, so a buddy outside the node is never on this node's free list.
        while order + 1 < self.max_order {
            let buddy = pfn ^ (1 << order);
            if !node.free[order as usize].remove(&buddy) {
                break;
            }
            pfn = pfn.min(buddy);
            order += 1;
        }
        node.free[order as usize].insert(pfn);
        Ok(())
    }

    /// The allocated block containing `pfn` (head or tail), with its head pfn.
    fn containing_block(&self, pfn: Pfn) -> Option<(Pfn, &AllocatedBlock)> {
        let (&head, block) = self.allocated.range(..=pfn).next_back()?;
        (pfn < head + (1 << block.order)).then_some((head, block))
    }

    /// `MAX_ORDER`.
    pub fn max_order(&self) -> u32 {
        self.max_order
    }

    /// Number of nodes.
    pub fn nr_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The present frames of `node` (`node_start_pfn .. node_end_pfn`).
    pub fn node_range(&self, node: usize) -> Range<Pfn> {
        self.nodes[node].range.clone()
    }

    /// `NR_FREE_PAGES` of `node`.
    pub fn free_pages_count(&self, node: usize) -> u64 {
        self.nodes[node].free_pages
    }

    /// `free_area[order].nr_free` of `node`: number of free blocks of that order.
    pub fn nr_free(&self, node: usize, order: u32) -> usize {
        self.nodes[node].free[order as usize].len()
    }

    /// `NR_SLAB_RECLAIMABLE`, in pages.
    pub fn nr_slab_reclaimable(&self) -> u64 {
        self.nr_slab_reclaimable
    }

    /// `NR_SLAB_UNRECLAIMABLE`, in pages.
    pub fn nr_slab_unreclaimable(&self) -> u64 {
        self.nr_slab_unreclaimable
    }

    /// Every allocated block as `(head pfn, order, node)`, lowest pfn first.
    pub fn allocated_blocks(&self) -> impl Iterator<Item = (Pfn, u32, usize)> + '_ {
        self.allocated
            .iter()
            .map(|(&pfn, b)| (pfn, b.order, b.node))
    }

    /// The record of the allocated block whose head is `pfn`.
    pub fn block(&self, pfn: Pfn) -> Option<&AllocatedBlock> {
        self.allocated.get(&pfn)
    }

    /// True if `pfn` is a head or tail page of an allocated block.
    pub fn is_allocated(&self, pfn: Pfn) -> bool {
        self.containing_block(pfn).is_some()
    }

    /// `page_to_nid`: the node whose memory `pfn` is, `None` if `pfn` is not memory.
    pub fn node_of_pfn(&self, pfn: Pfn) -> Option<usize> {
        self.nodes.iter().position(|n| n.range.contains(&pfn))
    }

    /// Number of valid allocation requests so far (what `fail_nth` counts).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The fault-injection settings.
    pub fn faults(&self) -> &FaultInjection {
        &self.faults
    }

    /// Replaces the fault-injection settings (the `fail_page_alloc` debugfs knobs written
    /// at run time). The request counter keeps counting; the random stream is reseeded
    /// from the new `seed`.
    pub fn set_faults(&mut self, faults: FaultInjection) {
        self.fault_rng = Pcg64Mcg::seed_from_u64(faults.seed);
        self.faults = faults;
    }

    /// The free lists, `[node][order] -> pfns` lowest first.
    pub fn free_lists_snapshot(&self) -> FreeListsSnapshot {
        self.nodes
            .iter()
            .map(|n| n.free.iter().map(|l| l.iter().copied().collect()).collect())
            .collect()
    }

    /// True if the free lists, allocations and counters equal those of `fresh` (a newly
    /// booted allocator of the same machine): everything freed was merged back completely.
    /// The request counter and the fault stream are not compared.
    pub fn initial_state_equal(&self, fresh: &BuddyAllocator) -> bool {
        self.nodes == fresh.nodes
            && self.allocated == fresh.allocated
            && self.nr_slab_reclaimable == fresh.nr_slab_reclaimable
            && self.nr_slab_unreclaimable == fresh.nr_slab_unreclaimable
    }

    /// Internal consistency check of the buddy system; `Err` names the broken invariant.
    ///
    /// Checks: free blocks lie inside their node and are aligned to their order; no free
    /// buddy pair is left unmerged; free and allocated blocks do not overlap and together
    /// cover every present frame; `NR_FREE_PAGES` and the slab counters balance.
    pub fn check(&self) -> Result<(), String> {
        // (start, end, allocated?, order) of every block; described only on failure.
        let mut blocks: Vec<(Pfn, Pfn, bool, usize)> = Vec::new();
        for (nid, node) in self.nodes.iter().enumerate() {
            let mut free_pages = 0u64;
            for (order, list) in node.free.iter().enumerate() {
                let size = 1u64 << order;
                for &pfn in list {
                    if pfn % size != 0 {
                        return Err(format!(
                            "buddy: free block {pfn:#x} on node {nid} is not aligned to order {order}"
                        ));
                    }
                    if pfn < node.range.start || pfn + size > node.range.end {
                        return Err(format!(
                            "buddy: free block {pfn:#x} order {order} lies outside node {nid} ({:#x}..{:#x})",
                            node.range.start, node.range.end
                        ));
                    }
                    if order + 1 < self.max_order as usize && list.contains(&(pfn ^ size)) {
                        return Err(format!(
                            "buddy: free buddies {pfn:#x} and {:#x} of order {order} on node {nid} were not merged",
                            pfn ^ size
                        ));
                    }
                    free_pages += size;
                    blocks.push((pfn, pfn + size, false, order));
                }
            }
            if free_pages != node.free_pages {
                return Err(format!(
                    "buddy: node {nid} NR_FREE_PAGES is {} but its free lists hold {free_pages} pages",
                    node.free_pages
                ));
            }
        }
        let (mut reclaimable, mut unreclaimable) = (0u64, 0u64);
        let mut allocated_per_node = vec![0u64; self.nodes.len()];
        for (&pfn, b) in &self.allocated {
            let size = 1u64 << b.order;
            if b.order >= self.max_order || pfn % size != 0 {
                return Err(format!(
                    "buddy: allocated block {pfn:#x} has bad order {}",
                    b.order
                ));
            }
            let range = &self
                .nodes
                .get(b.node)
                .ok_or("buddy: allocated block on no node")?
                .range;
            if pfn < range.start || pfn + size > range.end {
                return Err(format!(
                    "buddy: allocated block {pfn:#x} order {} is not inside node {}",
                    b.order, b.node
                ));
            }
            allocated_per_node[b.node] += size;
            match b.slab {
                Some(SlabPageKind::Reclaimable) => reclaimable += size,
                Some(SlabPageKind::Unreclaimable) => unreclaimable += size,
                None => {}
            }
            blocks.push((pfn, pfn + size, true, b.order as usize));
        }
        if reclaimable != self.nr_slab_reclaimable || unreclaimable != self.nr_slab_unreclaimable {
            return Err(format!(
                "buddy: NR_SLAB_RECLAIMABLE/UNRECLAIMABLE are {}/{} but slab blocks hold {reclaimable}/{unreclaimable} pages",
                self.nr_slab_reclaimable, self.nr_slab_unreclaimable
            ));
        }
        blocks.sort_unstable();
        let what = |&(_, _, allocated, order): &(Pfn, Pfn, bool, usize)| {
            let state = if allocated { "allocated" } else { "free" };
            format!("{state} order-{order} block")
        };
        for w in blocks.windows(2) {
            if w[0].1 > w[1].0 {
                return Err(format!(
                    "buddy: {} at {:#x} overlaps {} at {:#x}",
                    what(&w[0]),
                    w[0].0,
                    what(&w[1]),
                    w[1].0
                ));
            }
        }
        // No overlap + everything inside its node: page counts prove exact coverage.
        for (nid, node) in self.nodes.iter().enumerate() {
            let present = node.range.end - node.range.start;
            if node.free_pages + allocated_per_node[nid] != present {
                return Err(format!(
                    "buddy: node {nid} has {present} pages but {} free + {} allocated (page leaked)",
                    node.free_pages, allocated_per_node[nid]
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tiny() -> ArchProfile {
        ArchProfile::tiny()
    }

    fn two_nodes() -> ArchProfile {
        ArchProfile {
            nodes: 2,
            ram_bytes: 16 << 20,
            ..ArchProfile::tiny()
        }
    }

    fn buddy(p: &ArchProfile) -> BuddyAllocator {
        BuddyAllocator::new(p, FaultInjection::default()).unwrap()
    }

    /// The smallest machine: exactly one max-order block (4 MiB at 4 KiB pages, MAX_ORDER
    /// 11) per node boots, as one free block per node; a page less is refused.
    #[test]
    fn one_max_order_block_per_node_is_the_smallest_layout() {
        for nodes in [1, 2] {
            let p = ArchProfile {
                nodes,
                ram_bytes: nodes as u64 * (4 << 20),
                ..ArchProfile::tiny()
            };
            let layout = node_layout(&p).expect("exactly one block per node");
            assert!(layout.iter().all(|r| r.end - r.start == 1024), "{layout:?}");
            let b = buddy(&p);
            assert!((0..nodes).all(|n| b.nr_free(n, 10) == 1));
            let short = ArchProfile {
                ram_bytes: p.ram_bytes - 4096,
                ..p
            };
            assert!(node_layout(&short).is_err());
        }
    }

    #[test]
    fn boot_layout() {
        let b = buddy(&tiny());
        b.check().unwrap();
        // 64 MiB = 16384 pages = 16 max-order blocks, starting above pfn 0.
        assert_eq!(b.node_range(0), 0x400..0x400 + 16384);
        assert_eq!(b.nr_free(0, 10), 16);
        assert_eq!(b.free_pages_count(0), 16384);
        assert_eq!(b.node_of_pfn(0), None);
        assert_eq!(b.node_of_pfn(0x3ff), None);
        assert_eq!(b.node_of_pfn(0x400), Some(0));
        let b2 = buddy(&two_nodes());
        b2.check().unwrap();
        assert_eq!(b2.node_range(0).end, b2.node_range(1).start);
        assert_eq!(b2.free_pages_count(1), 2048);
    }

    #[test]
    fn ragged_node_size_is_split_into_aligned_blocks() {
        // 2 nodes of 1.5 max-order blocks each: tails are order-9 blocks, with a hole after.
        let p = ArchProfile {
            nodes: 2,
            ram_bytes: 12 << 20,
            ..ArchProfile::tiny()
        };
        let mut b = buddy(&p);
        b.check().unwrap();
        assert_eq!(b.nr_free(0, 10), 1);
        assert_eq!(b.nr_free(0, 9), 1);
        assert_eq!(b.node_range(1).start % 1024, 0);
        let fresh = b.clone();
        let got: Vec<_> = (0..6)
            .map(|_| b.alloc_pages_node(0, 9, Gfp::KERNEL, None).unwrap())
            .collect();
        // Node 0 has 3 order-9 blocks; fallback to node 1 gives 3 more.
        assert!(got.iter().all(Option::is_some));
        assert_eq!(b.alloc_pages_node(0, 0, Gfp::KERNEL, None).unwrap(), None);
        b.check().unwrap();
        for p in got {
            b.free_pages(p.unwrap(), 9).unwrap();
        }
        assert!(b.initial_state_equal(&fresh));
    }

    #[test]
    fn split_is_lowest_address_first() {
        let mut b = buddy(&tiny());
        let a = b
            .alloc_pages_node(0, 0, Gfp::KERNEL, None)
            .unwrap()
            .unwrap();
        let c = b
            .alloc_pages_node(0, 0, Gfp::KERNEL, None)
            .unwrap()
            .unwrap();
        let d = b
            .alloc_pages_node(0, 1, Gfp::KERNEL, None)
            .unwrap()
            .unwrap();
        assert_eq!((a, c, d), (0x400, 0x401, 0x402));
        for o in 2..10 {
            assert_eq!(b.nr_free(0, o), 1, "order {o}");
        }
        b.check().unwrap();
        assert!(b.is_allocated(0x403));
        assert!(!b.is_allocated(0x404));
    }

    #[test]
    fn slab_accounting_balances() {
        let mut b = buddy(&tiny());
        let r = b
            .alloc_pages_node(0, 1, Gfp::KERNEL, Some(SlabPageKind::Reclaimable))
            .unwrap();
        let u = b
            .alloc_pages_node(0, 2, Gfp::KERNEL, Some(SlabPageKind::Unreclaimable))
            .unwrap();
        let n = b.alloc_pages_node(0, 3, Gfp::KERNEL, None).unwrap();
        assert_eq!((b.nr_slab_reclaimable(), b.nr_slab_unreclaimable()), (2, 4));
        assert_eq!(b.free_pages_count(0), 16384 - 2 - 4 - 8);
        b.check().unwrap();
        b.free_pages(u.unwrap(), 2).unwrap();
        assert_eq!((b.nr_slab_reclaimable(), b.nr_slab_unreclaimable()), (2, 0));
        b.free_pages(r.unwrap(), 1).unwrap();
        b.free_pages(n.unwrap(), 3).unwrap();
        assert_eq!((b.nr_slab_reclaimable(), b.nr_slab_unreclaimable()), (0, 0));
        b.check().unwrap();
    }

    #[test]
    fn out_of_memory_and_thisnode() {
        let p = two_nodes();
        let mut b = buddy(&p);
        // Exhaust node 0 with GFP_THISNODE, then it fails while node 1 is free.
        for _ in 0..2 {
            assert!(b
                .alloc_pages_node(0, 10, Gfp::GFP_THISNODE, None)
                .unwrap()
                .is_some());
        }
        assert_eq!(
            b.alloc_pages_node(0, 0, Gfp::GFP_THISNODE, None).unwrap(),
            None
        );
        // Without __GFP_THISNODE it falls back to node 1.
        let pfn = b
            .alloc_pages_node(0, 0, Gfp::KERNEL, None)
            .unwrap()
            .unwrap();
        assert_eq!(b.node_of_pfn(pfn), Some(1));
        assert_eq!(b.block(pfn).unwrap().node, 1);
        b.check().unwrap();
    }

    #[test]
    fn misuse_is_rejected_without_state_change() {
        let mut b = buddy(&two_nodes());
        let a = b
            .alloc_pages_node(0, 2, Gfp::KERNEL, None)
            .unwrap()
            .unwrap();
        let c = b
            .alloc_pages_node(0, 0, Gfp::KERNEL, None)
            .unwrap()
            .unwrap();
        b.free_pages(c, 0).unwrap();
        let before = b.clone();
        let max = b.max_order();
        assert_eq!(
            b.alloc_pages_node(2, 0, Gfp::KERNEL, None),
            Err(PageError::NoSuchNode { node: 2, nodes: 2 })
        );
        assert_eq!(
            b.alloc_pages_node(0, max, Gfp::KERNEL, None),
            Err(PageError::BadOrder {
                order: max,
                max_order: max
            })
        );
        assert_eq!(
            b.free_pages(c, 0),
            Err(PageError::NotAllocated { pfn: c }),
            "double free"
        );
        assert_eq!(
            b.free_pages(a, 1),
            Err(PageError::WrongOrder {
                pfn: a,
                order: 1,
                allocated: 2
            })
        );
        assert_eq!(
            b.free_pages(a + 1, 0),
            Err(PageError::TailPage {
                pfn: a + 1,
                head: a,
                order: 2
            })
        );
        assert_eq!(
            b.free_pages(0, 0),
            Err(PageError::NotAllocated { pfn: 0 }),
            "foreign pfn"
        );
        assert_eq!(
            b.free_pages(u64::MAX, 0),
            Err(PageError::NotAllocated { pfn: u64::MAX })
        );
        assert_eq!(
            b.free_pages(a, max),
            Err(PageError::BadOrder {
                order: max,
                max_order: max
            })
        );
        assert_eq!(b, before, "a rejected call changed the allocator");
        b.check().unwrap();
        // Messages are in kernel terms.
        let msg = PageError::NotAllocated { pfn: 0x42 }.to_string();
        assert!(
            msg.contains("__free_pages") && msg.contains("0x42"),
            "{msg}"
        );
    }

    #[test]
    fn invalid_profile_is_an_error() {
        let p = ArchProfile {
            ram_bytes: 1 << 20,
            ..ArchProfile::tiny()
        };
        assert!(matches!(
            BuddyAllocator::new(&p, FaultInjection::default()),
            Err(PageError::InvalidProfile(_))
        ));
    }

    #[test]
    fn fault_fail_nth() {
        let faults = FaultInjection {
            fail_nth: Some(3),
            ..Default::default()
        };
        let mut b = BuddyAllocator::new(&tiny(), faults).unwrap();
        let fresh = b.clone();
        let x = b.alloc_pages_node(0, 0, Gfp::KERNEL, None).unwrap();
        let y = b.alloc_pages_node(0, 0, Gfp::KERNEL, None).unwrap();
        let before = b.clone();
        assert_eq!(b.alloc_pages_node(0, 0, Gfp::KERNEL, None).unwrap(), None);
        assert_eq!(b.requests(), 3);
        assert!(
            b.initial_state_equal(&before),
            "an injected fault left a trace"
        );
        assert!(b
            .alloc_pages_node(0, 0, Gfp::KERNEL, None)
            .unwrap()
            .is_some());
        // Errors are not requests.
        assert!(b.alloc_pages_node(9, 0, Gfp::KERNEL, None).is_err());
        assert_eq!(b.requests(), 4);
        b.free_pages(x.unwrap(), 0).unwrap();
        b.free_pages(y.unwrap(), 0).unwrap();
        b.free_pages(0x402, 0).unwrap();
        assert!(b.initial_state_equal(&fresh));
    }

    #[test]
    fn fault_fail_always_and_nofail() {
        let faults = FaultInjection {
            fail_always: true,
            ..Default::default()
        };
        let mut b = BuddyAllocator::new(&tiny(), faults).unwrap();
        let fresh = b.clone();
        for order in 0..b.max_order() {
            assert_eq!(
                b.alloc_pages_node(0, order, Gfp::ATOMIC, None).unwrap(),
                None
            );
        }
        assert!(b.initial_state_equal(&fresh));
        assert_eq!(b.requests(), u64::from(b.max_order()));
        // __GFP_NOFAIL is exempt from injection, as in should_fail_alloc_page.
        assert!(b
            .alloc_pages_node(0, 0, Gfp::KERNEL | Gfp::NOFAIL, None)
            .unwrap()
            .is_some());
    }

    fn fault_pattern(seed: u64, ppm: u32, n: usize) -> Vec<bool> {
        let faults = FaultInjection {
            fail_probability_ppm: ppm,
            seed,
            ..Default::default()
        };
        let mut b = BuddyAllocator::new(&tiny(), faults).unwrap();
        (0..n)
            .map(
                |_| match b.alloc_pages_node(0, 0, Gfp::KERNEL, None).unwrap() {
                    Some(pfn) => {
                        b.free_pages(pfn, 0).unwrap();
                        false
                    }
                    None => true,
                },
            )
            .collect()
    }

    #[test]
    fn fault_probability_is_seeded() {
        let a = fault_pattern(7, 300_000, 400);
        assert_eq!(a, fault_pattern(7, 300_000, 400), "same seed, same faults");
        assert_ne!(
            a,
            fault_pattern(8, 300_000, 400),
            "different seed, different faults"
        );
        let fails = a.iter().filter(|&&f| f).count();
        assert!((60..=180).contains(&fails), "{fails} faults of 400 at 30%");
        assert!(fault_pattern(7, 1_000_000, 50).iter().all(|&f| f));
        assert!(fault_pattern(7, 0, 50).iter().all(|&f| !f));
    }

    #[test]
    fn fault_probability_leaves_no_trace() {
        let faults = FaultInjection {
            fail_probability_ppm: 500_000,
            seed: 3,
            ..Default::default()
        };
        let mut b = BuddyAllocator::new(&tiny(), faults).unwrap();
        let mut live = Vec::new();
        let mut failed = 0;
        for i in 0..200u32 {
            let before = b.clone();
            match b.alloc_pages_node(0, i % 4, Gfp::KERNEL, None).unwrap() {
                Some(pfn) => live.push((pfn, i % 4)),
                None => {
                    failed += 1;
                    assert!(b.initial_state_equal(&before));
                    assert_eq!(b.requests(), before.requests() + 1);
                }
            }
        }
        assert!(failed > 0 && !live.is_empty());
        b.check().unwrap();
    }

    #[test]
    fn eight_gib_boots_quickly() {
        // x86_64 preset: 8 GiB = 2M pages, held as 2048 order-10 blocks.
        let p = ArchProfile::x86_64();
        let mut b = buddy(&p);
        assert_eq!(b.free_pages_count(0), 2 << 20);
        assert_eq!(b.nr_free(0, 10), 2048);
        b.check().unwrap();
        let pfn = b
            .alloc_pages_node(0, 0, Gfp::KERNEL, None)
            .unwrap()
            .unwrap();
        b.free_pages(pfn, 0).unwrap();
        b.check().unwrap();
        let numa = ArchProfile {
            nodes: 4,
            ..ArchProfile::x86_64()
        };
        let b = buddy(&numa);
        assert_eq!(b.free_pages_count(3), 512 << 10);
        b.check().unwrap();
    }

    #[derive(Clone, Debug)]
    enum Op {
        Alloc {
            node: usize,
            order: u32,
            slab: u8,
            thisnode: bool,
        },
        Free {
            index: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..2usize, 0..11u32, 0..3u8, any::<bool>())
                .prop_map(|(node, order, slab, thisnode)| Op::Alloc { node, order, slab, thisnode }),
            2 => any::<usize>().prop_map(|index| Op::Free { index }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random alloc/free sequences keep the buddy invariants, never hand out overlapping
        /// blocks, balance the slab counters, and freeing everything restores boot state.
        #[test]
        fn random_alloc_free_restores_initial_free_lists(ops in proptest::collection::vec(op(), 1..120)) {
            let p = two_nodes();
            let fresh = buddy(&p);
            let initial = fresh.free_lists_snapshot();
            let mut b = fresh.clone();
            let mut live: Vec<(Pfn, u32, Option<SlabPageKind>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Alloc { node, order, slab, thisnode } => {
                        let kind = match slab {
                            0 => None,
                            1 => Some(SlabPageKind::Reclaimable),
                            _ => Some(SlabPageKind::Unreclaimable),
                        };
                        let gfp = if thisnode { Gfp::GFP_THISNODE } else { Gfp::KERNEL };
                        if let Some(pfn) = b.alloc_pages_node(node, order, gfp, kind).unwrap() {
                            prop_assert_eq!(pfn % (1 << order), 0);
                            if thisnode {
                                prop_assert_eq!(b.node_of_pfn(pfn), Some(node));
                            }
                            for &(q, qo, _) in &live {
                                prop_assert!(pfn + (1 << order) <= q || q + (1 << qo) <= pfn,
                                    "{:#x}/{} overlaps {:#x}/{}", pfn, order, q, qo);
                            }
                            live.push((pfn, order, kind));
                        }
                    }
                    Op::Free { index } => {
                        if !live.is_empty() {
                            let (pfn, order, _) = live.swap_remove(index % live.len());
                            b.free_pages(pfn, order).unwrap();
                        }
                    }
                }
                prop_assert_eq!(b.check(), Ok(()));
                let pages = |k| live.iter().filter(|l| l.2 == Some(k)).map(|l| 1u64 << l.1).sum::<u64>();
                prop_assert_eq!(b.nr_slab_reclaimable(), pages(SlabPageKind::Reclaimable));
                prop_assert_eq!(b.nr_slab_unreclaimable(), pages(SlabPageKind::Unreclaimable));
                let free: u64 = (0..2).map(|n| b.free_pages_count(n)).sum();
                let used: u64 = live.iter().map(|l| 1u64 << l.1).sum();
                prop_assert_eq!(free + used, 4096);
            }
            for (pfn, order, _) in live.drain(..) {
                b.free_pages(pfn, order).unwrap();
            }
            prop_assert_eq!(b.free_lists_snapshot(), initial);
            prop_assert!(b.initial_state_equal(&fresh));
        }
    }
}
