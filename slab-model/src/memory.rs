//! Physical memory of the simulated machine: `struct page` records, the bytes of page frames,
//! and the direct-map address arithmetic (`page_address`, `virt_to_page`).
//!
//! SLAB finds an object's cache and slab from its address alone: `virt_to_page(objp)` and
//! then the back-pointers `slab_map_pages` stored in the `struct page` (era A:
//! `page->lru.next/prev` on every page of the slab; era B: `page->slab_cache` on the
//! compound head). The model keeps that: addresses are real direct-map addresses,
//! [`PhysMem::virt_to_pfn`] is the kernel's shift-and-subtract, and the records are looked
//! up by pfn.
//!
//! Storage is sparse so that an 8 GiB machine costs only what is touched: a `PageRecord`
//! exists only for pages whose record was set, and a frame's bytes exist only after the
//! first write (an untouched frame reads as zeros).
//!
//! This is a pure sequential data structure; the caller provides the locking.

use crate::page_alloc::{node_layout, PageError, Pfn};
use crate::profile::ArchProfile;
use std::collections::BTreeMap;
use std::ops::Range;

/// `PG_slab`: the page belongs to a slab (`__SetPageSlab` in `kmem_getpages`).
pub const PG_SLAB: u32 = 1 << 0;
/// `PG_head`: first page of a compound page (era B slab pages are `__GFP_COMP`).
pub const PG_HEAD: u32 = 1 << 1;
/// `PG_tail`: a non-first page of a compound page; `compound_head` names the head.
pub const PG_TAIL: u32 = 1 << 2;

/// The fields of `struct page` that SLAB reads or writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageRecord {
    /// `page->flags`: [`PG_SLAB`], [`PG_HEAD`], [`PG_TAIL`].
    pub flags: u32,
    /// The owning cache's id (era A `page_set_cache` / era B `page->slab_cache`).
    pub slab_cache: Option<u32>,
    /// The slab this page belongs to, named by its first pfn (era A `page_set_slab`; era
    /// B: the head page *is* the slab).
    pub slab: Option<Pfn>,
    /// `s_mem` of that slab: the address of its object 0 (era B keeps it in `struct
    /// page`; era A in `struct slab` — mirrored here so a free can be validated before
    /// any lock is taken).
    pub s_mem: u64,
    /// `page_to_nid(page)`.
    pub node: u16,
    /// Head pfn of the block this page belongs to (itself for a head or a single page).
    pub compound_head: Pfn,
    /// Order of the block (meaningful on the head: `compound_order`).
    pub order: u8,
}

impl PageRecord {
    /// A record for page `pfn` of the `2^order` block whose head is `head`, on `node`, with
    /// `PG_head` / `PG_tail` set when the block is compound (order > 0).
    pub fn new(pfn: Pfn, head: Pfn, order: u8, node: u16) -> Self {
        let flags = match (order, pfn == head) {
            (0, _) => 0,
            (_, true) => PG_HEAD,
            (_, false) => PG_TAIL,
        };
        PageRecord {
            flags,
            slab_cache: None,
            slab: None,
            s_mem: 0,
            node,
            compound_head: head,
            order,
        }
    }
    /// `PageSlab(page)`.
    pub fn is_slab(&self) -> bool {
        self.flags & PG_SLAB != 0
    }
    /// `PageHead(page)`.
    pub fn is_head(&self) -> bool {
        self.flags & PG_HEAD != 0
    }
    /// `PageTail(page)`.
    pub fn is_tail(&self) -> bool {
        self.flags & PG_TAIL != 0
    }
    /// `__SetPageSlab(page)`.
    pub fn set_slab_flag(&mut self) {
        self.flags |= PG_SLAB;
    }
    /// `__ClearPageSlab(page)`.
    pub fn clear_slab_flag(&mut self) {
        self.flags &= !PG_SLAB;
    }
}

/// Physical memory: `mem_map` (sparse) plus frame contents (lazy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhysMem {
    page_size: u64,
    page_shift: u32,
    page_offset: u64,
    /// Present pfns per node (the same layout as the buddy allocator's).
    ranges: Vec<Range<Pfn>>,
    /// `struct page` records that have been set.
    pages: BTreeMap<Pfn, PageRecord>,
    /// Contents of frames written since their last release; absent = all zeros.
    frames: BTreeMap<Pfn, Box<[u8]>>,
}

impl PhysMem {
    /// Memory of the machine described by `profile`, laid out like
    /// [`BuddyAllocator`](crate::page_alloc::BuddyAllocator)'s nodes.
    pub fn new(profile: &ArchProfile) -> Result<Self, PageError> {
        Ok(PhysMem {
            page_size: profile.page_size as u64,
            page_shift: profile.page_shift(),
            page_offset: profile.page_offset,
            ranges: node_layout(profile)?,
            pages: BTreeMap::new(),
            frames: BTreeMap::new(),
        })
    }

    /// `PAGE_SIZE`.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// `pfn_valid(pfn)`: the frame is RAM on some node.
    pub fn pfn_valid(&self, pfn: Pfn) -> bool {
        self.ranges.iter().any(|r| r.contains(&pfn))
    }

    /// `page_address(pfn_to_page(pfn))`: the direct-map virtual address of frame `pfn`.
    ///
    /// Panics if the address does not fit in 64 bits (a model bug: no such frame exists).
    pub fn pfn_to_virt(&self, pfn: Pfn) -> u64 {
        pfn.checked_mul(self.page_size)
            .and_then(|phys| phys.checked_add(self.page_offset))
            .unwrap_or_else(|| panic!("pfn_to_virt: pfn {pfn:#x} is outside the direct map"))
    }

    /// `virt_to_pfn(addr)` (`__pa(addr) >> PAGE_SHIFT`): `None` below `PAGE_OFFSET`, where
    /// the direct map does not reach. The pfn need not be RAM: check [`pfn_valid`](Self::pfn_valid).
    pub fn virt_to_pfn(&self, addr: u64) -> Option<Pfn> {
        addr.checked_sub(self.page_offset)
            .map(|phys| phys >> self.page_shift)
    }

    /// `virt_to_page(addr)`: the record of the page containing `addr`, if one was set.
    pub fn virt_to_page(&self, addr: u64) -> Option<&PageRecord> {
        self.page(self.virt_to_pfn(addr)?)
    }

    /// `virt_to_head_page(addr)`'s pfn: the compound head for a tail page, else the page
    /// itself. `None` below `PAGE_OFFSET`.
    pub fn virt_to_head_pfn(&self, addr: u64) -> Option<Pfn> {
        let pfn = self.virt_to_pfn(addr)?;
        Some(match self.page(pfn) {
            Some(rec) if rec.is_tail() => rec.compound_head,
            _ => pfn,
        })
    }

    /// The `struct page` record of `pfn`, if set.
    pub fn page(&self, pfn: Pfn) -> Option<&PageRecord> {
        self.pages.get(&pfn)
    }

    /// Mutable access to the record of `pfn`, if set.
    pub fn page_mut(&mut self, pfn: Pfn) -> Option<&mut PageRecord> {
        self.pages.get_mut(&pfn)
    }

    /// Sets the record of `pfn` (`slab_map_pages`, `__SetPageSlab`). Panics if `pfn` is not
    /// RAM: only the model can produce such a pfn.
    pub fn set_page(&mut self, pfn: Pfn, rec: PageRecord) {
        assert!(self.pfn_valid(pfn), "set_page: pfn {pfn:#x} is not RAM");
        self.pages.insert(pfn, rec);
    }

    /// Forgets the record of `pfn` (the page went back to the page allocator), returning it.
    pub fn clear_page(&mut self, pfn: Pfn) -> Option<PageRecord> {
        self.pages.remove(&pfn)
    }

    /// Every set record, lowest pfn first (for the audit: `PG_slab` exactly on slab pages).
    pub fn pages(&self) -> impl Iterator<Item = (Pfn, &PageRecord)> + '_ {
        self.pages.iter().map(|(&pfn, rec)| (pfn, rec))
    }

    /// Splits `addr..addr+len` into per-frame pieces `(pfn, offset in frame, length)`.
    /// Panics with the address if any byte is not RAM (a model bug: a wild pointer).
    fn pieces(&self, op: &str, addr: u64, len: usize) -> Vec<(Pfn, usize, usize)> {
        let end = addr
            .checked_add(len as u64)
            .unwrap_or_else(|| panic!("{op}: {addr:#x}+{len:#x} wraps the address space"));
        let mut out = Vec::new();
        let mut at = addr;
        while at < end {
            let pfn = match self.virt_to_pfn(at) {
                Some(pfn) if self.pfn_valid(pfn) => pfn,
                _ => panic!("{op}: address {at:#x} (access {addr:#x}+{len:#x}) is not RAM"),
            };
            let offset = ((at - self.page_offset) & (self.page_size - 1)) as usize;
            let n = (self.page_size as usize - offset).min((end - at) as usize);
            out.push((pfn, offset, n));
            at += n as u64;
        }
        out
    }

    /// The frame of `pfn`, zero-filled on first touch.
    fn frame_mut(&mut self, pfn: Pfn) -> &mut [u8] {
        let size = self.page_size as usize;
        self.frames
            .entry(pfn)
            .or_insert_with(|| vec![0u8; size].into_boxed_slice())
    }

    /// Reads `len` bytes at virtual address `addr` (may span pages). Untouched frames read
    /// as zeros without being materialised.
    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        for (pfn, offset, n) in self.pieces("read", addr, len) {
            match self.frames.get(&pfn) {
                Some(frame) => out.extend_from_slice(&frame[offset..offset + n]),
                None => out.resize(out.len() + n, 0),
            }
        }
        out
    }

    /// Writes `data` at virtual address `addr` (may span pages).
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        let mut done = 0;
        for (pfn, offset, n) in self.pieces("write", addr, data.len()) {
            self.frame_mut(pfn)[offset..offset + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
    }

    /// `memset(addr, byte, len)` (poisoning, red zones, `__GFP_ZERO`).
    pub fn fill(&mut self, addr: u64, len: usize, byte: u8) {
        for (pfn, offset, n) in self.pieces("fill", addr, len) {
            self.frame_mut(pfn)[offset..offset + n].fill(byte);
        }
    }

    /// Drops the contents of `count` frames from `pfn` (they went back to the page
    /// allocator; the next user sees zeros). Page records are deliberately kept: clearing
    /// `PG_slab` is the slab layer's job (`kmem_freepages`), and the audit must catch a
    /// slab layer that forgets it.
    pub fn release_frames(&mut self, pfn: Pfn, count: u64) {
        let end = pfn.saturating_add(count);
        let keys: Vec<Pfn> = self.frames.range(pfn..end).map(|(&k, _)| k).collect();
        for k in keys {
            self.frames.remove(&k);
        }
    }

    /// The frames whose bytes are materialised, ascending.
    pub fn touched_pfns(&self) -> impl Iterator<Item = Pfn> + '_ {
        self.frames.keys().copied()
    }

    /// Number of frames whose bytes are materialised (memory cost of the model).
    pub fn touched_frames(&self) -> usize {
        self.frames.len()
    }
}

/// `reciprocal_value(k)` (lib/reciprocal_div.c before 3.19, used by SLAB since 2.6.22 to
/// cache `1/size` in `cachep->reciprocal_buffer_size`): `ceil(2^32 / k)`, truncated to 32
/// bits as the kernel's `(u32)val` does (so `k == 1` gives 0; object sizes are >= 8).
pub fn reciprocal_value(k: u32) -> u32 {
    assert!(k != 0, "reciprocal_value: division by zero");
    // Kernel: `val = (1LL << 32) + (k - 1); do_div(val, k); return (u32)val;`
    (1u64 << 32).div_ceil(u64::from(k)) as u32
}

/// `reciprocal_divide(a, r)`: `a / k` for `r = reciprocal_value(k)`, exact when `a` is a
/// multiple of `k` below `2^32` — which is why `obj_to_index` may use it on `objp - s_mem`.
pub fn reciprocal_divide(a: u32, r: u32) -> u32 {
    ((u64::from(a) * u64::from(r)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mem() -> PhysMem {
        PhysMem::new(&ArchProfile::tiny()).unwrap()
    }

    #[test]
    fn direct_map_arithmetic() {
        let m = mem();
        let base = ArchProfile::tiny().page_offset;
        assert_eq!(m.pfn_to_virt(0x400), base + 0x400 * 4096);
        assert_eq!(m.virt_to_pfn(base + 0x400 * 4096 + 4095), Some(0x400));
        assert_eq!(m.virt_to_pfn(base - 1), None);
        assert_eq!(m.virt_to_pfn(0), None);
        assert!(!m.pfn_valid(0) && m.pfn_valid(0x400) && !m.pfn_valid(0x400 + 16384));
        let i386 = PhysMem::new(&ArchProfile::i386()).unwrap();
        assert_eq!(i386.pfn_to_virt(0x400), 0xc040_0000);
        assert_eq!(i386.virt_to_pfn(0xc040_0123), Some(0x400));
    }

    #[test]
    fn bytes_are_lazy_and_span_pages() {
        let mut m = mem();
        let a = m.pfn_to_virt(0x500) + 4090;
        assert_eq!(m.read(a, 12), vec![0; 12]);
        assert_eq!(m.touched_frames(), 0, "reads do not materialise frames");
        m.write(a, b"hello, world");
        assert_eq!(m.touched_frames(), 2);
        assert_eq!(m.read(a, 12), b"hello, world");
        assert_eq!(m.read(m.pfn_to_virt(0x501), 7), b" world\0");
        m.fill(a + 2, 3 * 4096, 0x6b);
        assert_eq!(m.touched_frames(), 4);
        assert_eq!(m.read(a, 3), vec![b'h', b'e', 0x6b]);
        assert_eq!(m.read(a + 2 + 3 * 4096 - 1, 2), vec![0x6b, 0]);
        m.release_frames(0x500, 2);
        assert_eq!(m.touched_frames(), 2);
        assert_eq!(m.read(a, 8), vec![0; 8]);
        assert_eq!(m.read(a, 0), Vec::<u8>::new());
    }

    #[test]
    fn page_records() {
        let mut m = mem();
        let mut head = PageRecord::new(0x600, 0x600, 1, 0);
        head.set_slab_flag();
        head.slab_cache = Some(3);
        let mut tail = PageRecord::new(0x601, 0x600, 1, 0);
        tail.set_slab_flag();
        assert!(head.is_head() && !head.is_tail() && head.is_slab());
        assert!(tail.is_tail() && !PageRecord::new(5, 5, 0, 0).is_head());
        m.set_page(0x600, head);
        m.set_page(0x601, tail);
        let addr = m.pfn_to_virt(0x601) + 100;
        assert_eq!(m.virt_to_page(addr), Some(&tail));
        assert_eq!(m.virt_to_head_pfn(addr), Some(0x600));
        assert_eq!(m.virt_to_head_pfn(m.pfn_to_virt(0x700)), Some(0x700));
        m.page_mut(0x600).unwrap().clear_slab_flag();
        assert!(!m.page(0x600).unwrap().is_slab());
        assert_eq!(
            m.pages().map(|(p, _)| p).collect::<Vec<_>>(),
            vec![0x600, 0x601]
        );
        assert_eq!(m.clear_page(0x601), Some(tail));
        assert_eq!(m.page(0x601), None);
    }

    #[test]
    #[should_panic(expected = "is not RAM")]
    fn wild_read_panics_naming_the_address() {
        let m = mem();
        m.read(0x1000, 4);
    }

    #[test]
    #[should_panic(expected = "is not RAM")]
    fn write_past_ram_panics() {
        let mut m = mem();
        let end = m.pfn_to_virt(0x400 + 16384) - 2;
        m.write(end, &[1, 2, 3, 4]);
    }

    #[test]
    fn eight_gib_is_sparse() {
        let mut m = PhysMem::new(&ArchProfile::x86_64()).unwrap();
        let last = m.pfn_to_virt(0x400 + (2 << 20) - 1);
        m.write(last, &[9]);
        assert_eq!(m.read(last, 1), vec![9]);
        assert_eq!(m.touched_frames(), 1);
    }

    #[test]
    fn reciprocal_known_values() {
        assert_eq!(
            reciprocal_value(1),
            0,
            "2^32 truncated, as the kernel's (u32) cast"
        );
        assert_eq!(reciprocal_value(2), 1 << 31);
        assert_eq!(reciprocal_value(3), 0x5555_5556);
        assert_eq!(reciprocal_divide(3 * 1000, reciprocal_value(3)), 1000);
        // Exhaustively for small sizes over one order-0 slab.
        for size in 8..=4096u32 {
            let r = reciprocal_value(size);
            for i in 0..4096 / size {
                assert_eq!(reciprocal_divide(i * size, r), i, "size {size} index {i}");
            }
        }
    }

    proptest! {
        /// `obj_to_index` by reciprocal division is exact for every object of every slab up
        /// to 2^10 pages of 4 KiB, for object sizes 8 bytes .. 4 MiB.
        #[test]
        fn reciprocal_divide_is_exact_for_object_offsets(
            (size, i) in (0..=10u32).prop_flat_map(|order| {
                let slab = 4096u32 << order;
                (8..=slab.min(4 << 20)).prop_flat_map(move |size| (Just(size), 0..slab / size))
            })
        ) {
            prop_assert_eq!(reciprocal_divide(i * size, reciprocal_value(size)), i);
            // The last object of a slab exactly filled with objects, too.
            let last = (4u32 << 20) / size - 1;
            prop_assert_eq!(reciprocal_divide(last * size, reciprocal_value(size)), last);
        }
    }
}
