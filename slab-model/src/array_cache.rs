//! `struct array_cache`: the per-CPU (and per-node shared) LIFO of free objects, and
//! `transfer_objects`.
//!
//! `entry` holds exactly `avail` object addresses; `entry[avail-1]` is the hottest.
//! Pops and pushes happen at the top; flushes and drains take from the bottom
//! (the array discipline of mm/slab.c `__cache_free` / `cache_flusharray` / `drain_array`).

use crate::mutation::{Mutation, MutationSet};

/// `BATCHREFILL_LIMIT`: refill at most this many objects when the array was not touched
/// since the last reap.
pub const BATCHREFILL_LIMIT: usize = 16;

/// The `batchcount` of shared and alien arrays is never used; the kernel marks it.
pub const BAADF00D: usize = 0xbaad_f00d;

/// `struct array_cache`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayCache {
    /// `limit`: capacity.
    pub limit: usize,
    /// `batchcount`: objects moved per refill / flush.
    pub batchcount: usize,
    /// `touched`: set by allocation, cleared by the reaper. For CPU and shared arrays the
    /// flag itself lives in a peek word (the reaper clears it without a lock); inside a
    /// locked or irq-off section this field is only a "set" request that the section's
    /// end publishes to the word. Snapshots fill it in from the word.
    pub touched: bool,
    /// `entry[0..avail]`.
    pub entry: Vec<u64>,
}

impl ArrayCache {
    /// `alloc_arraycache(node, limit, batch)`: an empty array.
    pub fn new(limit: usize, batchcount: usize) -> Self {
        ArrayCache {
            limit,
            batchcount,
            touched: false,
            entry: Vec::with_capacity(limit.min(4096)),
        }
    }

    /// `avail`.
    #[inline]
    pub fn avail(&self) -> usize {
        self.entry.len()
    }

    /// `ac->entry[--ac->avail]`. Panics if empty (the kernel would read garbage).
    #[inline]
    pub fn pop(&mut self) -> u64 {
        self.entry
            .pop()
            .expect("array_cache underflow: pop with avail == 0")
    }

    /// `ac->entry[ac->avail++] = objp`. The caller checked `avail < limit`; a push past
    /// the limit is an overflow of the kmalloc'ed array in the kernel, and an invariant
    /// violation here.
    #[inline]
    pub fn push(&mut self, objp: u64) {
        assert!(
            self.entry.len() < self.limit,
            "array_cache overflow: push with avail {} == limit {}",
            self.entry.len(),
            self.limit
        );
        self.entry.push(objp);
    }

    /// Removes the `n` bottom (coldest) entries, shifting the rest down (`memmove`), and
    /// returns them. With `flusharray-no-shift` the survivors are not shifted: the array
    /// keeps its first `avail - n` entries, i.e. the ones just handed out.
    pub fn take_bottom(&mut self, n: usize, mutations: MutationSet) -> Vec<u64> {
        assert!(
            n <= self.entry.len(),
            "array_cache: taking {n} of {} entries",
            self.entry.len()
        );
        let taken: Vec<u64> = self.entry[..n].to_vec();
        if mutations.has(Mutation::FlusharrayNoShift) {
            let keep = self.entry.len() - n;
            self.entry.truncate(keep);
        } else {
            self.entry.drain(..n);
        }
        taken
    }
}

/// `transfer_objects(to, from, max)`: moves `min(from->avail, max, to->limit - to->avail)`
/// entries from the top of `from` to the top of `to`, preserving their order (memcpy).
/// Returns the number moved. Era A and B; caller holds the node's `list_lock` (the shared
/// array) and has local interrupts off (the per-CPU array).
pub fn transfer_objects(
    to: &mut ArrayCache,
    from: &mut ArrayCache,
    max: usize,
    mutations: MutationSet,
) -> usize {
    let room = if mutations.has(Mutation::TransferIgnoresLimit) {
        usize::MAX
    } else {
        to.limit - to.avail()
    };
    let nr = from.avail().min(max).min(room);
    if nr == 0 {
        return 0;
    }
    let start = from.avail() - nr;
    to.entry.extend(from.entry.drain(start..));
    // The kernel's `to->entry[]` is `limit` slots long: writing past it corrupts the
    // neighbouring kmalloc object. The model stops there.
    assert!(
        to.avail() <= to.limit,
        "array_cache overflow: transfer_objects wrote entry[{}] of a {}-entry array",
        to.avail() - 1,
        to.limit
    );
    nr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_moves_the_top_entries_in_order() {
        let mut from = ArrayCache::new(8, 4);
        from.entry.extend([1, 2, 3, 4, 5]);
        let mut to = ArrayCache::new(4, 2);
        to.entry.push(9);
        assert_eq!(
            transfer_objects(&mut to, &mut from, 10, MutationSet::NONE),
            3
        );
        assert_eq!(to.entry, vec![9, 3, 4, 5]);
        assert_eq!(from.entry, vec![1, 2]);
    }

    #[test]
    fn transfer_is_bounded_by_max_and_room() {
        let mut from = ArrayCache::new(8, 4);
        from.entry.extend([1, 2, 3, 4, 5]);
        let mut to = ArrayCache::new(8, 2);
        assert_eq!(
            transfer_objects(&mut to, &mut from, 2, MutationSet::NONE),
            2
        );
        assert_eq!(to.entry, vec![4, 5]);
    }

    #[test]
    #[should_panic(expected = "array_cache overflow")]
    fn ignoring_the_limit_overflows_the_array() {
        let mut from = ArrayCache::new(8, 4);
        from.entry.extend([1, 2, 3, 4, 5]);
        let mut to = ArrayCache::new(2, 1);
        let m = MutationSet::only(Mutation::TransferIgnoresLimit);
        transfer_objects(&mut to, &mut from, 5, m);
    }

    #[test]
    fn take_bottom_shifts_down() {
        let mut ac = ArrayCache::new(8, 4);
        ac.entry.extend([1, 2, 3, 4, 5]);
        assert_eq!(ac.take_bottom(2, MutationSet::NONE), vec![1, 2]);
        assert_eq!(ac.entry, vec![3, 4, 5]);
        let mut ac = ArrayCache::new(8, 4);
        ac.entry.extend([1, 2, 3, 4, 5]);
        ac.take_bottom(2, MutationSet::only(Mutation::FlusharrayNoShift));
        assert_eq!(
            ac.entry,
            vec![1, 2, 3],
            "no-shift keeps the flushed entries"
        );
    }
}
