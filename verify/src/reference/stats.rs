//! The reference's second observation channel: on a `CONFIG_DEBUG_SLAB` profile the
//! kernel keeps STATS (`slab_model::stats`), and each counter follows a rule simple enough
//! to predict from the state the reference observes just before an operation:
//!
//! * `____cache_alloc` counts exactly one of `allochit` (the CPU's array had an object)
//!   and `allocmiss` (it was empty) per allocation of a user cache on the per-CPU path;
//! * `__cache_free` counts `freehit` (the array had room, `avail < limit`) or `freemiss`
//!   (full: `cache_flusharray` first) — unless the object belongs to another node, when
//!   `cache_free_alien` counts a `remotefree` and neither of the others;
//! * `num_active` equals the objects out of their slabs (`/proc/slabinfo`'s
//!   `active_objs`) and `high_mark` (`<maxobjs>`) is the highest it has been — within one
//!   operation `num_active` of a user cache only rises or only falls, so the highest value
//!   after any operation is the highest value ever (`Op::Corrupt`, which allocates and
//!   frees, observes between its steps);
//! * `<error>` stays 0 (`STATS_INC_ERR` has no call site in 2.6.24 or 4.4).
//!
//! And the reaper's rules (`cache_reap`, eras A and B), which decide what each reap drains:
//!
//! * a CPU array's `touched` is set by every allocation through it (the hit in
//!   `____cache_alloc`, the end of `cache_alloc_refill`) and cleared only by the reaper of
//!   that CPU, or by a new array (`do_tune_cpucache`; in era A also a CPU coming back up,
//!   since 2.6.24 frees the dead CPU's array and allocates a new one, where 4.4 keeps
//!   its per-CPU array across hot-plug);
//! * `drain_array`: an empty array is left alone, `touched` included (`if (!ac ||
//!   !ac->avail) return;` comes first in both eras); a touched one is only untouched; an
//!   untouched one gives `(limit + 4) / 5` objects back, or `(avail + 1) / 2` when it
//!   holds fewer;
//! * the node part (`next_reap` passed): a set `free_touched` is cleared and nothing is
//!   destroyed; otherwise `drain_freelist` destroys `(free_limit + 5·num − 1) / (5·num)`
//!   free slabs, fewer only if `slabs_free` runs empty, and `<reaped>` counts them.

use super::{Cache, Check, Harness};
use slab_model::stats::SlabStats;
use slab_model::Era;

/// What the reference knows of one CPU array's `touched` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) enum Touched {
    /// A new or reaped array that nothing allocated from since.
    #[default]
    Clear,
    /// Something allocated through it since the last reap.
    Set,
    /// The reference cannot tell (fault injection: a failed per-CPU allocation may still
    /// succeed on the node path without touching the array).
    Unknown,
}

/// The state observed just before an allocation or free.
pub(super) struct Pre {
    stats: SlabStats,
    avail: usize,
    limit: usize,
}

/// What one reap is predicted to do to one user cache.
pub(super) struct ReapPre {
    cache: Cache,
    stats: SlabStats,
    avail: usize,
    limit: usize,
    touched: bool,
    node: usize,
    node_part: bool,
    free_touched: bool,
    tofree_slabs: usize,
}

fn delta(after: usize, before: usize) -> usize {
    after.wrapping_sub(before)
}

/// `drain_array`'s amount for an untouched array, not forced (2.6.24, 4.4).
fn drain_array_amount(limit: usize, avail: usize) -> usize {
    // The kernel's `(ac->limit + 4) / 5`: a fifth, rounded up.
    let tofree = limit.div_ceil(5);
    if tofree > avail {
        avail.div_ceil(2)
    } else {
        tofree
    }
}

impl Harness {
    /// The counters and the array of `cpu` before an allocation or free of `c`; `None`
    /// without STATS (a plain profile).
    pub(super) fn stats_pre(&self, cpu: usize, c: &Cache) -> Option<Pre> {
        let stats = c.stats()?;
        let ac = self.m.cpu_array_snapshot(c, cpu);
        Some(Pre {
            stats,
            avail: ac.avail(),
            limit: ac.limit,
        })
    }

    /// After an allocation of `c` (`kmem_cache_alloc`, `kmalloc`, `kmem_cache_alloc_node`);
    /// `per_cpu` says whether it went through `____cache_alloc` (the local node), which
    /// touches the array and counts a hit or a miss.
    pub(super) fn check_alloc_stats(
        &mut self,
        pre: Option<Pre>,
        cpu: usize,
        c: &Cache,
        per_cpu: bool,
    ) -> Check {
        if !per_cpu {
            return Ok(());
        }
        let t = if self.faults {
            Touched::Unknown
        } else {
            Touched::Set
        };
        self.touched.insert((cpu, c.id), t);
        let Some(pre) = pre else {
            return Ok(());
        };
        let post = c.stats().expect("STATS stay on");
        let got = (
            delta(post.allochit, pre.stats.allochit),
            delta(post.allocmiss, pre.stats.allocmiss),
        );
        let want = if pre.avail > 0 { (1, 0) } else { (0, 1) };
        if got != want {
            return Err(format!(
                "STATS {}: ____cache_alloc on cpu{cpu} with {} objects in the array counted allochit +{} allocmiss +{} (expected +{} +{})",
                c.name, pre.avail, got.0, got.1, want.0, want.1
            ));
        }
        Ok(())
    }

    /// After a free of `obj` (of `c`) on `cpu`.
    pub(super) fn check_free_stats(
        &self,
        pre: Option<Pre>,
        cpu: usize,
        c: &Cache,
        obj: u64,
    ) -> Check {
        let Some(pre) = pre else {
            return Ok(());
        };
        let post = c.stats().expect("STATS stay on");
        let remote = self.m.numa() && self.m.page_node_of(obj) != Some(self.m.cpus()[cpu].node);
        let got = (
            delta(post.freehit, pre.stats.freehit),
            delta(post.freemiss, pre.stats.freemiss),
            delta(post.remotefrees, pre.stats.remotefrees),
        );
        let want = if remote {
            (0, 0, 1)
        } else if pre.avail < pre.limit {
            (1, 0, 0)
        } else {
            (0, 1, 0)
        };
        if got != want {
            return Err(format!(
                "STATS {}: __cache_free of {obj:#x} on cpu{cpu} ({}, array {}/{}) counted freehit +{} freemiss +{} remotefrees +{} (expected +{} +{} +{})",
                c.name,
                if remote { "remote" } else { "local" },
                pre.avail,
                pre.limit,
                got.0,
                got.1,
                got.2,
                want.0,
                want.1,
                want.2
            ));
        }
        Ok(())
    }

    /// After every operation (and between the steps of `Op::Corrupt`): `num_active` is
    /// `active_objs`, `<maxobjs>` the highest `active_objs` seen, `<error>` 0.
    pub(super) fn check_active_stats(&mut self) -> Check {
        if !self.m.profile().debug {
            return Ok(());
        }
        for (c, destroyed) in &self.caches {
            if *destroyed {
                continue;
            }
            let row = self.m.slabinfo_row(c);
            let (st, _) = row.stats.expect("STATS on a debug profile");
            let high = self.high.entry(c.id).or_default();
            *high = (*high).max(row.active_objs);
            if st.num_active != row.active_objs || st.maxobjs != *high || st.errors != 0 {
                return Err(format!(
                    "STATS {}: num_active {} maxobjs {} error {}, but active_objs is {} and its highest {} (error must stay 0)",
                    c.name, st.num_active, st.maxobjs, st.errors, row.active_objs, high
                ));
            }
        }
        Ok(())
    }

    /// `do_tune_cpucache` gave `c` new arrays: none is touched.
    pub(super) fn arrays_replaced(&mut self, id: u32) {
        self.touched.retain(|&(_, c), _| c != id);
    }

    /// CPU hot-plug: 2.6.24 frees a dead CPU's arrays and allocates new ones when it comes
    /// back (`cpuup_canceled` / `cpuup_prepare`); 4.4's per-CPU arrays live on.
    pub(super) fn cpu_arrays_replaced(&mut self, cpu: usize) {
        if self.m.era() == Era::A {
            self.touched.retain(|&(c, _), _| c != cpu);
        }
    }

    /// Before `cache_reap` on `cpu` (after `jiffies` moved): what the reaper will find.
    pub(super) fn reap_pre(&self, cpu: usize) -> Vec<ReapPre> {
        let node = self.m.cpus()[cpu].node;
        let jiffies = self.m.jiffies();
        self.caches
            .iter()
            .filter(|(_, d)| !d)
            .map(|(c, _)| {
                let ac = self.m.cpu_array_snapshot(c, cpu);
                let n = self.m.node_snapshot(c, node);
                ReapPre {
                    cache: c.clone(),
                    stats: c.stats().unwrap_or_default(),
                    avail: ac.avail(),
                    limit: ac.limit,
                    touched: ac.touched,
                    node,
                    node_part: n.next_reap <= jiffies,
                    free_touched: n.free_touched,
                    tofree_slabs: n.free_limit.div_ceil(5 * c.num()),
                }
            })
            .collect()
    }

    /// After `cache_reap` on `cpu`: the `touched` rule, `drain_array`'s amount,
    /// `free_touched` and `drain_freelist`, and `<reaped>`.
    pub(super) fn check_reap(&mut self, cpu: usize, pre: Vec<ReapPre>) -> Check {
        for p in pre {
            let c = &p.cache;
            let predicted = self.touched.get(&(cpu, c.id)).copied().unwrap_or_default();
            let expected_touched = match predicted {
                Touched::Clear => Some(false),
                Touched::Set => Some(true),
                Touched::Unknown => None,
            };
            if expected_touched.is_some_and(|t| t != p.touched) {
                return Err(format!(
                    "cache_reap on cpu{cpu}: {}'s array has touched = {} but {} allocated through it since the last reap",
                    c.name,
                    p.touched,
                    if p.touched { "nothing" } else { "something" }
                ));
            }
            let ac = self.m.cpu_array_snapshot(c, cpu);
            let (freed, touched_after) = if p.avail == 0 {
                (0, p.touched)
            } else if p.touched {
                (0, false)
            } else {
                (drain_array_amount(p.limit, p.avail), false)
            };
            if ac.avail() != p.avail - freed || ac.touched != touched_after {
                return Err(format!(
                    "cache_reap on cpu{cpu}: {}'s array (avail {}, limit {}, touched {}) should give back {freed} and be left with touched {touched_after}; it holds {} (touched {})",
                    c.name, p.avail, p.limit, p.touched, ac.avail(), ac.touched
                ));
            }
            if !touched_after {
                self.touched.insert((cpu, c.id), Touched::Clear);
            }
            let n = self.m.node_snapshot(c, p.node);
            if p.node_part && n.free_touched {
                return Err(format!(
                    "cache_reap on cpu{cpu}: node{}'s free_touched of {} is still set after the node part ran",
                    p.node, c.name
                ));
            }
            let Some(post) = c.stats() else {
                continue;
            };
            let reaped = delta(post.reaped, p.stats.reaped);
            let expected = if !p.node_part || p.free_touched {
                Some(0)
            } else if n.slabs_free.is_empty() {
                // drain_freelist stopped early only if it ran out of free slabs.
                (reaped > p.tofree_slabs).then_some(p.tofree_slabs)
            } else {
                Some(p.tofree_slabs)
            };
            if let Some(e) = expected.filter(|&e| e != reaped) {
                return Err(format!(
                    "cache_reap on cpu{cpu}: {} <reaped> +{reaped}, expected +{e} (node part {}, free_touched {}, {} free slabs left, tofree {})",
                    c.name,
                    p.node_part,
                    p.free_touched,
                    n.slabs_free.len(),
                    p.tofree_slabs
                ));
            }
        }
        Ok(())
    }
}
