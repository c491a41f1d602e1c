//! The slab descriptor and its free-object bookkeeping, in both layouts:
//!
//! * era A: `struct slab { list, colouroff, s_mem, inuse, free, nodeid }` followed by a
//!   `kmem_bufctl_t[num]` chain (`bufctl[i]` = index of the next free object, the last
//!   one `BUFCTL_END`, head in `free`);
//! * era B: the fields live in `struct page` (`active`, `s_mem`, `freelist`) and the free
//!   objects are a stack of indices: `freelist[active..num]` are free.
//!
//! The model keeps the fields in a typed [`Slab`] record; its *address and extent* are
//! real (on-slab: inside the slab's first page after the colour area; off-slab: a kmalloc
//! object), so the audit can check that objects never overlap it. Slab lists are intrusive
//! doubly-linked lists through the records, with the kernel's head/tail discipline.

use crate::memory::reciprocal_divide;
use crate::page_alloc::Pfn;
use crate::trace::ListKind;

/// Identity of a slab: the pfn of its first page (what `virt_to_page` finds).
pub type SlabId = Pfn;

/// Free-object bookkeeping of one slab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freelist {
    /// Era A: `slabp->free` and the `kmem_bufctl_t` chain.
    Bufctl {
        /// Index of the first free object, or `end`.
        free: u32,
        /// `slab_bufctl(slabp)[i]`.
        bufctl: Vec<u32>,
        /// `BUFCTL_END` for this bufctl width.
        end: u32,
    },
    /// Era B: `page->freelist` as an index stack; `idx[inuse..]` are free.
    Stack {
        /// `freelist_idx_t` entries.
        idx: Vec<u16>,
    },
}

/// `BUFCTL_END` for a `kmem_bufctl_t` of `bytes` bytes: all ones.
pub fn bufctl_end(bytes: usize) -> u32 {
    if bytes == 2 {
        0xffff
    } else {
        u32::MAX
    }
}

/// One slab (era A `struct slab`, era B the slab fields of `struct page`).
#[derive(Clone, Debug)]
pub struct Slab {
    /// First page frame.
    pub pfn: Pfn,
    /// `nodeid` (era A) / `page_to_nid` (era B).
    pub node: usize,
    /// Address of the first page (`page_address`).
    pub base: u64,
    /// `colouroff`: bytes from `base` to `s_mem` (colour area + on-slab management).
    pub colouroff: usize,
    /// `s_mem`: address of object 0.
    pub s_mem: u64,
    /// `inuse` (era A) / `active` (era B): objects not free in this slab.
    pub inuse: usize,
    /// The free-object bookkeeping.
    pub freelist: Freelist,
    /// Address of the management data (on-slab: after the colour area; off-slab: the
    /// kmalloc object it lives in).
    pub mgmt_addr: u64,
    /// True when `mgmt_addr` is a kmalloc object that `slab_destroy` must free.
    pub mgmt_off_slab: bool,
    /// How many times the constructor ran on each object during this slab's life (the
    /// audit's "constructor ran exactly once" check).
    pub ctor_runs: Vec<u8>,
    /// Which list the slab is on.
    pub on: ListKind,
    prev: Option<SlabId>,
    next: Option<SlabId>,
}

impl Slab {
    /// A new, empty slab record (`alloc_slabmgmt` + `cache_init_objs`' freelist setup is
    /// done by the caller through [`Slab::init_freelist`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pfn: Pfn,
        node: usize,
        base: u64,
        colouroff: usize,
        s_mem: u64,
        num: usize,
        mgmt_addr: u64,
        mgmt_off_slab: bool,
        freelist: Freelist,
    ) -> Self {
        Slab {
            pfn,
            node,
            base,
            colouroff,
            s_mem,
            inuse: 0,
            freelist,
            mgmt_addr,
            mgmt_off_slab,
            ctor_runs: vec![0; num],
            on: ListKind::None,
            prev: None,
            next: None,
        }
    }

    /// `index_to_obj(cache, slab, idx)` = `s_mem + size * idx`.
    #[inline]
    pub fn index_to_obj(&self, size: usize, idx: usize) -> u64 {
        self.s_mem + (size * idx) as u64
    }

    /// `obj_to_index(cache, slab, obj)` with the kernel's reciprocal division:
    /// `reciprocal_divide(obj - s_mem, reciprocal_buffer_size)`.
    #[inline]
    pub fn obj_to_index(&self, reciprocal: u32, objp: u64) -> usize {
        let offset = objp - self.s_mem;
        reciprocal_divide(offset as u32, reciprocal) as usize
    }

    /// Whether the slab has no free object (era A: `free == BUFCTL_END`; era B:
    /// `active == num`).
    pub fn is_full(&self, num: usize) -> bool {
        match &self.freelist {
            Freelist::Bufctl { free, end, .. } => *free == *end,
            Freelist::Stack { .. } => self.inuse == num,
        }
    }

    /// `slab_get_obj`: takes the next free object. Era A: `objp = s_mem + free*size;
    /// inuse++; free = bufctl[free]`. Era B: `objp = s_mem + freelist[active]*size;
    /// active++`. Caller holds the node's `list_lock`.
    pub fn slab_get_obj(&mut self, size: usize, num: usize) -> u64 {
        assert!(
            self.inuse < num,
            "slab_get_obj: slab@{:#x} has inuse {} >= num {num}",
            self.pfn,
            self.inuse
        );
        let idx = match &mut self.freelist {
            Freelist::Bufctl { free, bufctl, end } => {
                let idx = *free;
                assert!(idx != *end && (idx as usize) < num,
                    "slab_get_obj: slab@{:#x} free index {idx:#x} out of range (inuse {}, num {num})", self.pfn, self.inuse);
                *free = bufctl[idx as usize];
                idx as usize
            }
            Freelist::Stack { idx } => {
                let i = idx[self.inuse] as usize;
                assert!(
                    i < num,
                    "slab_get_obj: slab@{:#x} freelist entry {i} >= num {num}",
                    self.pfn
                );
                i
            }
        };
        self.inuse += 1;
        self.index_to_obj(size, idx)
    }

    /// `slab_put_obj`: returns object `objnr` to the slab. Era A: `bufctl[objnr] = free;
    /// free = objnr; inuse--`. Era B: `active--; freelist[active] = objnr`. Caller holds
    /// the node's `list_lock` and has checked (through the shadow state) that the object
    /// was allocated; the DEBUG double-free check is an assertion here.
    pub fn slab_put_obj(&mut self, objnr: usize) {
        assert!(
            self.inuse > 0,
            "slab_put_obj: slab@{:#x} has inuse 0 (double free through the slab)",
            self.pfn
        );
        match &mut self.freelist {
            Freelist::Bufctl { free, bufctl, .. } => {
                bufctl[objnr] = *free;
                *free = objnr as u32;
            }
            Freelist::Stack { idx } => {
                idx[self.inuse - 1] = objnr as u16;
            }
        }
        self.inuse -= 1;
    }

    /// The free object indices as the freelist reaches them, or an error naming the
    /// corruption (cycle, out-of-range index, missing terminator, wrong length). Used by
    /// the audit (`check_slabp`).
    pub fn free_indices(&self, num: usize) -> Result<Vec<usize>, String> {
        let expect = num
            .checked_sub(self.inuse)
            .ok_or_else(|| format!("inuse {} > num {num}", self.inuse))?;
        let mut seen = vec![false; num];
        let mut out = Vec::with_capacity(expect);
        match &self.freelist {
            Freelist::Bufctl { free, bufctl, end } => {
                let mut i = *free;
                while i != *end {
                    let iu = i as usize;
                    if iu >= num {
                        return Err(format!(
                            "bufctl chain reaches index {i:#x} >= num {num} (not BUFCTL_END)"
                        ));
                    }
                    if seen[iu] {
                        return Err(format!("bufctl chain has a cycle at index {iu}"));
                    }
                    seen[iu] = true;
                    out.push(iu);
                    if out.len() > num {
                        return Err("bufctl chain longer than num".into());
                    }
                    i = bufctl[iu];
                }
            }
            Freelist::Stack { idx } => {
                for &i in &idx[self.inuse.min(idx.len())..] {
                    let iu = i as usize;
                    if iu >= num {
                        return Err(format!("freelist index {iu} >= num {num}"));
                    }
                    if seen[iu] {
                        return Err(format!(
                            "freelist index {iu} appears twice (duplicate entry)"
                        ));
                    }
                    seen[iu] = true;
                    out.push(iu);
                }
            }
        }
        if out.len() != expect {
            return Err(format!(
                "freelist reaches {} free objects, but num - inuse = {expect}",
                out.len()
            ));
        }
        Ok(out)
    }
}

/// A `list_head` of slabs: intrusive, through the records' `prev`/`next`.
#[derive(Clone, Debug, Default)]
pub struct SlabList {
    first: Option<SlabId>,
    last: Option<SlabId>,
    len: usize,
}

impl SlabList {
    /// `list_empty`.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }
    /// Number of slabs on the list.
    pub fn len(&self) -> usize {
        self.len
    }
    /// `list_first_entry`.
    pub fn first(&self) -> Option<SlabId> {
        self.first
    }
    /// The tail (`list->prev`), where the reaper takes free slabs from.
    pub fn last(&self) -> Option<SlabId> {
        self.last
    }
}

/// The slabs of one node of one cache, with their three lists.
#[derive(Clone, Debug, Default)]
pub struct SlabSet {
    /// By pfn. A fixed-key hash map: the lists look a slab up three times per move, the
    /// hot part of every refill and flush; the one ordered view ([`Self::iter`]) sorts.
    slabs: rustc_hash::FxHashMap<SlabId, Slab>,
    /// `slabs_partial`.
    pub partial: SlabList,
    /// `slabs_full`.
    pub full: SlabList,
    /// `slabs_free`.
    pub free: SlabList,
}

impl SlabSet {
    /// Looks a slab up.
    pub fn get(&self, id: SlabId) -> Option<&Slab> {
        self.slabs.get(&id)
    }
    /// Looks a slab up for modification.
    pub fn get_mut(&mut self, id: SlabId) -> Option<&mut Slab> {
        self.slabs.get_mut(&id)
    }
    /// Every slab, ascending by pfn.
    pub fn iter(&self) -> impl Iterator<Item = &Slab> {
        let mut v: Vec<&Slab> = self.slabs.values().collect();
        v.sort_unstable_by_key(|s| s.pfn);
        v.into_iter()
    }
    /// Number of slabs.
    pub fn len(&self) -> usize {
        self.slabs.len()
    }
    /// No slabs at all.
    pub fn is_empty(&self) -> bool {
        self.slabs.is_empty()
    }

    fn list_mut(&mut self, kind: ListKind) -> &mut SlabList {
        match kind {
            ListKind::Partial => &mut self.partial,
            ListKind::Full => &mut self.full,
            ListKind::Free => &mut self.free,
            ListKind::None => panic!("slab list: no list named None"),
        }
    }

    /// The list of a kind.
    pub fn list(&self, kind: ListKind) -> &SlabList {
        match kind {
            ListKind::Partial => &self.partial,
            ListKind::Full => &self.full,
            ListKind::Free => &self.free,
            ListKind::None => panic!("slab list: no list named None"),
        }
    }

    /// Adds a slab that is on no list yet (a new slab from `cache_grow`).
    pub fn insert(&mut self, slab: Slab) {
        assert_eq!(slab.on, ListKind::None);
        let id = slab.pfn;
        let prev = self.slabs.insert(id, slab);
        assert!(prev.is_none(), "slab@{id:#x} inserted twice");
    }

    /// Removes a slab that is on no list (for `slab_destroy`).
    pub fn remove(&mut self, id: SlabId) -> Slab {
        let s = self
            .slabs
            .remove(&id)
            .unwrap_or_else(|| panic!("slab@{id:#x} is not in this node"));
        assert_eq!(
            s.on,
            ListKind::None,
            "slab@{id:#x} removed while on {}",
            s.on
        );
        s
    }

    /// `list_del(&slab->list)`; returns the list it was on.
    pub fn list_del(&mut self, id: SlabId) -> ListKind {
        let (on, prev, next) = {
            let s = self
                .slabs
                .get_mut(&id)
                .unwrap_or_else(|| panic!("list_del: no slab@{id:#x}"));
            let r = (s.on, s.prev, s.next);
            s.on = ListKind::None;
            s.prev = None;
            s.next = None;
            r
        };
        if on == ListKind::None {
            return on;
        }
        match prev {
            Some(p) => self.slabs.get_mut(&p).expect("list prev").next = next,
            None => self.list_mut(on).first = next,
        }
        match next {
            Some(n) => self.slabs.get_mut(&n).expect("list next").prev = prev,
            None => self.list_mut(on).last = prev,
        }
        self.list_mut(on).len -= 1;
        on
    }

    /// `list_add(&slab->list, head)`: at the head.
    pub fn list_add(&mut self, id: SlabId, kind: ListKind) {
        let old_first = self.list(kind).first;
        {
            let s = self
                .slabs
                .get_mut(&id)
                .unwrap_or_else(|| panic!("list_add: no slab@{id:#x}"));
            assert_eq!(
                s.on,
                ListKind::None,
                "list_add: slab@{id:#x} already on {}",
                s.on
            );
            s.on = kind;
            s.prev = None;
            s.next = old_first;
        }
        match old_first {
            Some(f) => self.slabs.get_mut(&f).expect("list first").prev = Some(id),
            None => self.list_mut(kind).last = Some(id),
        }
        let l = self.list_mut(kind);
        l.first = Some(id);
        l.len += 1;
    }

    /// `list_add_tail(&slab->list, head)`: at the tail.
    pub fn list_add_tail(&mut self, id: SlabId, kind: ListKind) {
        let old_last = self.list(kind).last;
        {
            let s = self
                .slabs
                .get_mut(&id)
                .unwrap_or_else(|| panic!("list_add_tail: no slab@{id:#x}"));
            assert_eq!(
                s.on,
                ListKind::None,
                "list_add_tail: slab@{id:#x} already on {}",
                s.on
            );
            s.on = kind;
            s.next = None;
            s.prev = old_last;
        }
        match old_last {
            Some(l) => self.slabs.get_mut(&l).expect("list last").next = Some(id),
            None => self.list_mut(kind).first = Some(id),
        }
        let l = self.list_mut(kind);
        l.last = Some(id);
        l.len += 1;
    }

    /// The slabs of one list, head to tail. Errors name a broken link.
    pub fn walk(&self, kind: ListKind) -> Result<Vec<SlabId>, String> {
        let l = self.list(kind);
        let mut out = Vec::with_capacity(l.len);
        let mut cur = l.first;
        let mut prev = None;
        while let Some(id) = cur {
            let s = self
                .slabs
                .get(&id)
                .ok_or_else(|| format!("{kind} links to missing slab@{id:#x}"))?;
            if s.on != kind {
                return Err(format!(
                    "slab@{id:#x} is linked on {kind} but marked {}",
                    s.on
                ));
            }
            if s.prev != prev {
                return Err(format!("slab@{id:#x} on {kind} has a broken prev link"));
            }
            out.push(id);
            if out.len() > self.slabs.len() {
                return Err(format!("{kind} has a cycle"));
            }
            prev = cur;
            cur = s.next;
        }
        if l.last != prev {
            return Err(format!("{kind} tail pointer is stale"));
        }
        if out.len() != l.len {
            return Err(format!(
                "{kind} length {} but {} slabs linked",
                l.len,
                out.len()
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{bufctl_end, Freelist, ListKind, Slab, SlabSet};

    fn slab(pfn: u64) -> Slab {
        Slab::new(
            pfn,
            0,
            pfn << 12,
            0,
            pfn << 12,
            4,
            0,
            false,
            Freelist::Stack {
                idx: vec![0, 1, 2, 3],
            },
        )
    }

    /// A node's slab set counts what it holds: `len` of each list is its number of
    /// slabs (STATS' `<maxfreeable>` and the audit read `slabs_free`'s), and the set is
    /// empty exactly when it holds none.
    #[test]
    fn the_lists_count_their_slabs() {
        let mut set = SlabSet::default();
        assert!(set.is_empty());
        for pfn in [0x400, 0x401, 0x402] {
            set.insert(slab(pfn));
            set.list_add_tail(pfn, ListKind::Free);
        }
        assert!(!set.is_empty());
        assert_eq!((set.len(), set.free.len(), set.partial.len()), (3, 3, 0));
        set.list_del(0x401);
        set.list_add(0x401, ListKind::Partial);
        assert_eq!((set.free.len(), set.partial.len()), (2, 1));
        for pfn in [0x400, 0x401, 0x402] {
            set.list_del(pfn);
            set.remove(pfn);
        }
        assert!(set.is_empty() && set.free.is_empty());
        assert_eq!(set.free.len(), 0);
    }

    /// 2.6.24 `#define BUFCTL_END (((kmem_bufctl_t)(~0U))-0)`: all ones in the bufctl's
    /// width — `unsigned int` since 2.6.14, `unsigned short` on i386 before.
    #[test]
    fn bufctl_end_is_all_ones_of_the_bufctl_width() {
        assert_eq!(bufctl_end(4), 0xffff_ffff);
        assert_eq!(bufctl_end(2), 0xffff);
    }
}
