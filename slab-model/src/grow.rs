//! Growing a cache by one slab: `cache_grow` and the functions it calls —
//! `kmem_getpages`, `alloc_slabmgmt`, `slab_map_pages`, `cache_init_objs` — plus
//! `kmem_freepages` for the failure path and `slab_destroy`.

use crate::cache::KmemCache;
use crate::cpu::{Context, IrqOff, IrqState, MigrationPoint};
use crate::geometry::DescriptorSource;
use crate::gfp::Gfp;
use crate::machine::Owner;
use crate::memory::PG_SLAB;
use crate::mutation::Mutation;
use crate::page_alloc::{Pfn, SlabPageKind};
use crate::profile::Era;
use crate::site::Site;
use crate::slab::{bufctl_end, Freelist, Slab};
use crate::slab_flags::SlabFlags;
use crate::sync::Platform;
use crate::trace::{EventKind, KFn, ListKind, LockName};

/// Byte the model's constructor writes into every object (so a test can see that an
/// object it gets back is constructed).
pub const CTOR_PATTERN: u8 = 0xc7;

/// How deep off-slab descriptor allocations may nest before the model calls it a loop: a
/// descriptor cache is on-slab, so one level is all the kernel ever needs.
const MAX_GROW_DEPTH: u32 = 4;

impl<'m, P: Platform> Context<'m, P> {
    /// `cache_grow(cachep, flags, nodeid, page)` (eras A, B; `page` is `Some` only from
    /// `fallback_alloc`, which allocated the pages itself). Interrupts off on entry
    /// (`check_irq_off`). Takes `list_lock` of `nodeid` to pick the colour
    /// (`colour_next`, wrapping at `colour`), then — if the gfp mask allows blocking —
    /// **enables interrupts** for the page allocation: the token is given up, interrupts
    /// on this CPU may run, and a task may come back on another CPU. The returned token is
    /// for the CPU the context runs on afterwards. The new slab goes to the tail of
    /// `slabs_free` of the node chosen *before* the window, `free_objects += num`.
    /// Returns whether a slab was added; on failure every page is returned (`opps1`).
    pub(crate) fn cache_grow(
        &mut self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        nodeid: usize,
        page: Option<Pfn>,
        irq: IrqOff<'m, P>,
    ) -> (bool, IrqOff<'m, P>) {
        let muts = self.m.mutations();
        assert!(
            !flags.intersects(Gfp::SLAB_BUG_MASK),
            "cache_grow: BUG_ON(flags & GFP_SLAB_BUG_MASK) for {:#x} (callers check first)",
            flags.0
        );
        self.grow_depth += 1;
        assert!(
            self.grow_depth <= MAX_GROW_DEPTH,
            "cache_grow recursion: cache {} grows while growing (is it its own off-slab descriptor source? B.20)",
            cachep.name
        );
        self.enter(cachep.id, KFn::CacheGrow);
        let local_flags = flags & (Gfp(Gfp::CONSTRAINT_MASK.0 | Gfp::RECLAIM_MASK.0));
        let colour = cachep.geo.colour;
        let n = &cachep.nodes[nodeid];

        // Get colour for the slab, and compute the next value (under list_lock, B.4).
        let offset = if muts.has(Mutation::ColourNextUnlocked) {
            let off = n.lists_racy("cache_grow colour_next", |l| l.colour_next);
            P::yield_now();
            n.lists_racy("cache_grow colour_next", |l| {
                l.colour_next = off + 1;
                if l.colour_next >= colour {
                    l.colour_next = 0;
                }
            });
            off
        } else {
            let lock = n.spin_lock(&irq);
            n.lists(&lock, |l| {
                let off = l.colour_next;
                l.colour_next += 1;
                if l.colour_next >= colour {
                    l.colour_next = 0;
                }
                off
            })
        };
        let offset = offset * cachep.geo.colour_off;

        let mut irq = self.irq_window_open_if(cachep.id, "cache_grow", local_flags, irq);

        let ok = 'grow: {
            // fallback_alloc hands in the pages it already got (2.6.24's `objp`, 4.4's
            // `page` argument).
            let Some(pfn) = page.or_else(|| self.kmem_getpages(cachep, local_flags, nodeid)) else {
                break 'grow false;
            };
            if irq.is_none() && page.is_none() {
                // The page allocator may have slept: the task can resume on another CPU,
                // where alloc_slabmgmt's nested allocation then runs.
                self.may_sleep(cachep.id, MigrationPoint::AfterGetpages);
            }
            let mgmt_flags = Gfp(local_flags.0 & !Gfp::CONSTRAINT_MASK.0);
            let (slab, irq_back) =
                self.alloc_slabmgmt(cachep, pfn, offset, mgmt_flags, nodeid, irq.take());
            irq = irq_back;
            let Some(mut slab) = slab else {
                // opps1:
                if !muts.has(Mutation::GrowFailLeaksPages) {
                    self.kmem_freepages(cachep, pfn);
                }
                break 'grow false;
            };
            self.slab_map_pages(cachep, &slab);
            self.cache_init_objs(cachep, &mut slab);
            let irq_now = match irq.take() {
                Some(i) => i,
                None => self.irq_window_close(cachep.id),
            };
            let lock = n.spin_lock(&irq_now);
            let id = slab.pfn;
            self.trace(
                cachep.id,
                EventKind::SlabCreated {
                    slab: id,
                    colour_offset: offset as u32,
                },
            );
            n.lists(&lock, |l| {
                l.slabs.insert(slab);
                l.slabs.list_add_tail(id, ListKind::Free);
                l.free_objects += cachep.num();
            });
            if let Some(st) = &cachep.stats {
                st.inc_grown(&lock);
            }
            drop(lock);
            self.trace(
                cachep.id,
                EventKind::ListMove {
                    slab: id,
                    from: ListKind::None,
                    to: ListKind::Free,
                },
            );
            irq = Some(irq_now);
            true
        };
        // failed: re-disable interrupts if the window is still open.
        let irq = match irq {
            Some(i) => i,
            None => self.irq_window_close(cachep.id),
        };
        self.grow_depth -= 1;
        (ok, irq)
    }

    /// `kmem_getpages(cachep, flags, nodeid)` (eras A, B): `2^gfporder` pages on
    /// `nodeid` with the cache's own gfp bits, accounted as (un)reclaimable slab pages,
    /// each marked `PG_slab`. Takes `zone->lock`. `None` when the page allocator refuses.
    pub(crate) fn kmem_getpages(
        &self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        nodeid: usize,
    ) -> Option<Pfn> {
        self.enter(cachep.id, KFn::KmemGetpages);
        let flags = flags | cachep.gfpflags;
        let kind = if cachep.geo.flags.contains(SlabFlags::RECLAIM_ACCOUNT) {
            SlabPageKind::Reclaimable
        } else {
            SlabPageKind::Unreclaimable
        };
        let order = cachep.geo.gfporder;
        // One zone->lock section: the page's node (page_to_nid) is read from the page
        // itself in the kernel, not under a second lock.
        self.m.cover_site(Site::ZoneLock);
        let got = {
            let mut zone = self.lock(&self.m.zone, cachep.id, LockName::Zone);
            zone.alloc_pages_node(nodeid, order, flags, Some(kind))
                .unwrap_or_else(|e| {
                    panic!("kmem_getpages: page allocator rejected a valid request: {e}")
                })
                .map(|pfn| {
                    (
                        pfn,
                        zone.node_of_pfn(pfn).expect("allocated pfn has a node"),
                    )
                })
        };
        let Some((pfn, node)) = got else {
            self.trace(cachep.id, EventKind::PageAllocFailed { order: order as u8 });
            return None;
        };
        let mut mem = self.m.mem();
        for i in 0..(1u64 << order) {
            let mut rec = crate::memory::PageRecord::new(pfn + i, pfn, order as u8, node as u16);
            rec.set_slab_flag();
            mem.set_page(pfn + i, rec);
        }
        Some(pfn)
    }

    /// `kmem_freepages(cachep, addr)` (eras A, B): clears `PG_slab` on every page,
    /// drops the page records' slab back-pointers and returns the block to the buddy
    /// allocator (`free_pages`), which undoes the slab-page accounting.
    pub(crate) fn kmem_freepages(&self, cachep: &KmemCache<P>, pfn: Pfn) {
        self.enter(cachep.id, KFn::KmemFreepages);
        let order = cachep.geo.gfporder;
        {
            let mut mem = self.m.mem();
            for i in 0..(1u64 << order) {
                let rec = mem.page(pfn + i).copied().unwrap_or_else(|| {
                    panic!("kmem_freepages: no struct page for pfn {:#x}", pfn + i)
                });
                assert!(
                    rec.flags & PG_SLAB != 0,
                    "kmem_freepages: pfn {:#x} is not PG_slab",
                    pfn + i
                );
                mem.clear_page(pfn + i);
            }
            mem.release_frames(pfn, 1 << order);
        }
        self.m.cover_site(Site::ZoneLock);
        let mut zone = self.lock(&self.m.zone, cachep.id, LockName::Zone);
        zone.free_pages(pfn, order).unwrap_or_else(|e| {
            panic!(
                "kmem_freepages: cache {}: {e} (page leaked or freed twice)",
                cachep.name
            )
        });
    }

    /// `alloc_slabmgmt(cachep, objp, colour_off, flags, nodeid)` (eras A, B): places the
    /// management data — on-slab after the colour area (so `s_mem` moves past it), or
    /// off-slab as an object of the descriptor cache, allocated with
    /// `kmem_cache_alloc_node` (a real recursive allocation: it may itself refill and
    /// grow). Interrupts are on if `irq` is `None` (inside the window).
    fn alloc_slabmgmt(
        &mut self,
        cachep: &KmemCache<P>,
        pfn: Pfn,
        colour_off: usize,
        flags: Gfp,
        nodeid: usize,
        irq: Option<IrqOff<'m, P>>,
    ) -> (Option<Slab>, Option<IrqOff<'m, P>>) {
        self.enter(cachep.id, KFn::AllocSlabmgmt);
        let geo = &cachep.geo;
        let base = self.m.mem().pfn_to_virt(pfn);
        let (mgmt_addr, off_slab, colouroff, irq) = match geo.descriptor {
            DescriptorSource::OnSlab => (
                base + colour_off as u64,
                false,
                colour_off + geo.mgmt_size,
                irq,
            ),
            DescriptorSource::General(_) | DescriptorSource::SelfCache => {
                let desc: &KmemCache<P> = match geo.descriptor {
                    DescriptorSource::SelfCache => cachep,
                    _ => cachep
                        .desc_cache
                        .as_deref()
                        .expect("off-slab cache has a descriptor cache"),
                };
                // kmem_cache_alloc_node(slabp_cache, flags & ~GFP_THISNODE, nodeid): the
                // descriptor allocation must not be node-constrained beyond nodeid.
                self.m.cover(KFn::KmemCacheAllocNode);
                let dflags = Gfp(flags.0 & !Gfp::GFP_THISNODE.0);
                let (obj, irq) = match irq {
                    Some(i) => {
                        let (o, i) = self.__cache_alloc_node(desc, dflags, nodeid, i);
                        (o, Some(i))
                    }
                    None => {
                        let i = self.local_irq_disable();
                        let (o, i) = self.__cache_alloc_node(desc, dflags, nodeid, i);
                        self.local_irq_enable(i);
                        (o, None)
                    }
                };
                let Some(slot) = obj else { return (None, irq) };
                // kmem_cache_alloc_node ends with cache_alloc_debugcheck_after, after
                // its local_irq_restore (here the caller's irq state stands in for it).
                let obj =
                    self.cache_alloc_debugcheck_after(desc, dflags, slot, Owner::SlabDescriptor);
                (obj, true, colour_off, irq)
            }
        };
        let s_mem = base + colouroff as u64;
        let freelist = match self.m.era() {
            Era::A => {
                let end = bufctl_end(self.m.profile().bufctl_size);
                Freelist::Bufctl {
                    free: end,
                    bufctl: vec![end; geo.num],
                    end,
                }
            }
            Era::B => Freelist::Stack {
                idx: vec![0; geo.num],
            },
        };
        let slab = Slab::new(
            pfn, nodeid, base, colouroff, s_mem, geo.num, mgmt_addr, off_slab, freelist,
        );
        (Some(slab), irq)
    }

    /// `slab_map_pages(cachep, slabp, addr)` (eras A, B): points every page of the slab
    /// at its cache and slab (`page_set_cache` / `page_set_slab`; era B `page->slab_cache`
    /// and the page itself), so `virt_to_cache` and `virt_to_slab` work by address.
    fn slab_map_pages(&self, cachep: &KmemCache<P>, slab: &Slab) {
        self.m.cover(KFn::SlabMapPages);
        let mut mem = self.m.mem();
        for i in 0..(1u64 << cachep.geo.gfporder) {
            let rec = mem
                .page_mut(slab.pfn + i)
                .expect("slab page has a struct page");
            rec.slab_cache = Some(cachep.id);
            rec.slab = Some(slab.pfn);
            rec.s_mem = slab.s_mem;
        }
    }

    /// `cache_init_objs(cachep, slabp)` (eras A, B): runs the constructor once on every
    /// object and links the free objects: era A `bufctl[i] = i + 1`, the last
    /// `BUFCTL_END`, `free = 0`; era B `freelist[i] = i`.
    fn cache_init_objs(&self, cachep: &KmemCache<P>, slab: &mut Slab) {
        self.m.cover(KFn::CacheInitObjs);
        let muts = self.m.mutations();
        let num = cachep.num();
        for i in 0..num {
            let slot = slab.index_to_obj(cachep.size(), i);
            let objp = slot + cachep.geo.obj_offset as u64;
            let run = cachep.ctor && !(muts.has(Mutation::CtorSkipped) && i == num - 1);
            let ran = self.cache_init_obj_debug(cachep, slot, || {
                if run {
                    self.m
                        .mem()
                        .fill(objp, cachep.geo.object_size, CTOR_PATTERN);
                }
            });
            if run && ran {
                slab.ctor_runs[i] += 1;
            }
        }
        let dup = muts.has(Mutation::FreelistDuplicate) && num >= 2;
        match &mut slab.freelist {
            Freelist::Bufctl { free, bufctl, end } => {
                for (i, b) in bufctl.iter_mut().enumerate() {
                    *b = (i + 1) as u32;
                }
                if !muts.has(Mutation::BufctlNoEnd) {
                    bufctl[num - 1] = *end;
                }
                if dup {
                    // The chain comes back to object 0: it is handed out twice.
                    bufctl[num - 2] = 0;
                }
                *free = 0;
            }
            Freelist::Stack { idx } => {
                for (i, x) in idx.iter_mut().enumerate() {
                    *x = i as u16;
                }
                if dup {
                    idx[num - 1] = 0;
                }
            }
        }
    }

    /// `slab_destroy(cachep, slabp)` (eras A, B): frees the slab's pages and, for an
    /// off-slab cache, its descriptor back to the descriptor cache with `kmem_cache_free`
    /// (which saves and restores interrupts itself). The kernel calls it both ways: with
    /// interrupts off inside 2.6.x `free_block` and from era B `slabs_destroy` after a
    /// plain `spin_unlock`; with them on from `drain_freelist` (both eras) and from era B
    /// `slabs_destroy` after `spin_unlock_irq`. The slab is already off every list, so no
    /// lock is needed.
    pub(crate) fn slab_destroy(&self, cachep: &KmemCache<P>, slab: Slab, irq: IrqState<'_, 'm, P>) {
        self.m.cover(KFn::SlabDestroy);
        self.m.cover_site(match irq {
            IrqState::Off(_) => Site::SlabDestroyIrqOff,
            IrqState::On => Site::SlabDestroyIrqOn,
        });
        self.trace(cachep.id, EventKind::SlabDestroyed { slab: slab.pfn });
        self.slab_destroy_debugcheck(cachep, &slab);
        self.kmem_freepages(cachep, slab.pfn);
        if slab.mgmt_off_slab {
            let desc: &KmemCache<P> = match cachep.geo.descriptor {
                DescriptorSource::SelfCache => cachep,
                _ => cachep
                    .desc_cache
                    .as_deref()
                    .expect("off-slab cache has a descriptor cache"),
            };
            self.m.shadow().remove(slab.mgmt_addr);
            match irq {
                IrqState::Off(i) => self.__cache_free(desc, slab.mgmt_addr, i),
                IrqState::On => {
                    // kmem_cache_free: local_irq_save / local_irq_restore of its own.
                    let i = self.local_irq_disable();
                    self.__cache_free(desc, slab.mgmt_addr, &i);
                    self.local_irq_enable(i);
                }
            }
        }
    }
}
