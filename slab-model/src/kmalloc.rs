//! `kmalloc` / `kfree` through the general caches, `ksize`.

use crate::cache::KmemCache;
use crate::cpu::Context;
use crate::error::SlabError;
use crate::gfp::Gfp;
use crate::machine::Machine;
use crate::memory::PG_SLAB;
use crate::sync::Platform;
use crate::trace::KFn;
use std::sync::Arc;

/// `ZERO_SIZE_PTR`: what `kmalloc(0)` returns; dereferencing it faults.
pub const ZERO_SIZE_PTR: u64 = 16;

/// `ZERO_OR_NULL_PTR(p)`: `p <= ZERO_SIZE_PTR`.
pub fn zero_or_null_ptr(p: u64) -> bool {
    p <= ZERO_SIZE_PTR
}

impl<'m, P: Platform> Context<'m, P> {
    /// `kmalloc(size, flags)` (eras A, B): size 0 → `ZERO_SIZE_PTR`; otherwise the first
    /// size class that fits (era B through `kmalloc_index`'s table), its DMA twin for
    /// `GFP_DMA`, then `kmem_cache_alloc`. Too large (or a class this machine did not
    /// create) → NULL, as the kernel's `kmalloc_slab` returns NULL.
    pub fn kmalloc(&mut self, size: usize, flags: Gfp) -> Result<Option<u64>, SlabError> {
        self.check_running()?;
        if size == 0 {
            return Ok(Some(ZERO_SIZE_PTR));
        }
        let m = self.m;
        let Some(idx) = m.kmalloc_index(size) else {
            return Ok(None);
        };
        let Some(slot) = m.kmalloc_slots().get(idx).and_then(|s| s.as_ref()) else {
            return Ok(None);
        };
        let cachep = if flags.contains(Gfp::DMA) {
            slot.dma.clone()
        } else {
            Some(slot.cache.clone())
        };
        let Some(cachep) = cachep else {
            return Ok(None);
        };
        self.enter(cachep.id, KFn::Kmalloc);
        self.kmem_cache_alloc(&cachep, flags)
    }

    /// `kfree(objp)` (eras A, B): NULL and `ZERO_SIZE_PTR` are no-ops; otherwise
    /// `virt_to_cache` and `__cache_free` with interrupts off. Misuse is rejected before
    /// any change.
    pub fn kfree(&mut self, objp: u64) -> Result<(), SlabError> {
        self.check_running()?;
        if zero_or_null_ptr(objp) {
            return Ok(());
        }
        let Some(cachep) = self.check_free(objp)? else {
            return Ok(());
        };
        self.enter(cachep.id, KFn::Kfree);
        self.free_checked(&cachep, objp);
        Ok(())
    }
}

impl<P: Platform> Machine<P> {
    /// `ksize(objp)`: the usable size of an allocated object (its cache's object size),
    /// or `None` for a pointer that is not a slab object.
    pub fn ksize(&self, objp: u64) -> Option<usize> {
        if zero_or_null_ptr(objp) {
            return Some(0);
        }
        Some(self.virt_to_cache(objp)?.geo.object_size)
    }

    /// `virt_to_cache(objp)`: the cache whose slab page holds `objp` (`virt_to_page`, then
    /// `page->slab_cache`), or `None` when the page is not a `PG_slab` page. Says nothing
    /// about whether `objp` is an object start or allocated.
    pub fn virt_to_cache(&self, objp: u64) -> Option<Arc<KmemCache<P>>> {
        let id = {
            let mem = self.mem();
            let pfn = mem.virt_to_pfn(objp).filter(|&p| mem.pfn_valid(p))?;
            let rec = mem.page(pfn)?;
            if rec.flags & PG_SLAB == 0 {
                return None;
            }
            rec.slab_cache?
        };
        Some(self.cache_by_id(id))
    }

    /// `page_to_nid(virt_to_page(addr))`: the node of the page holding `addr`.
    pub fn page_node_of(&self, addr: u64) -> Option<usize> {
        let mem = self.mem();
        let pfn = mem.virt_to_pfn(addr).filter(|&p| mem.pfn_valid(p))?;
        Some(mem.page(pfn)?.node as usize)
    }

    /// Reads `len` bytes of simulated memory (for tests: constructed state, `__GFP_ZERO`).
    pub fn read_memory(&self, addr: u64, len: usize) -> Vec<u8> {
        self.mem().read(addr, len)
    }

    /// Writes simulated memory (a caller using its object).
    pub fn write_memory(&self, addr: u64, data: &[u8]) {
        self.mem().write(addr, data)
    }
}
