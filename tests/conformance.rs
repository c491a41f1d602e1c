//! Conformance suite: tests that the model behaves as SLAB (mm/slab.c), not merely as an
//! allocator. Each test pins one rule of mm/slab.c (tunables, allocation, free, reap, tune, shrink, array discipline) to the exact
//! numbers the kernel would produce, in both eras where the rule applies. Machines are
//! `ArchProfile::tiny()` (x86_64, 4 KiB pages, 64-byte lines, 2 CPUs, 1 node) with the
//! audit after every operation; caches are tuned to tiny arrays so the slow paths run.

mod common;

use common::*;
use slab_model::array_cache::{ArrayCache, BAADF00D};
use slab_model::grow::CTOR_PATTERN;
use slab_model::kmalloc::ZERO_SIZE_PTR;
use slab_model::kmalloc_sizes::kmalloc_max_size;
use slab_model::machine::{HZ, REAPTIMEOUT_NODE};
use slab_model::site::Site;
use slab_model::trace::{EventKind, ListKind, Place};
use slab_model::*;

/// The conformance machine (`ArchProfile::tiny()`, kmalloc caches up to 4096 bytes) with
/// `mutations` on, and the audit after every operation when `audit` (off where a test
/// audits a known-bad model itself).
fn mutated(era: Era, mutations: MutationSet, audit: bool) -> M {
    let mut cfg = MachineConfig::new(ArchProfile::tiny(), era);
    cfg.audit_every_op = audit;
    cfg.kmalloc = KmallocSetup::UpTo(4096);
    cfg.mutations = mutations;
    Machine::new(cfg).expect("boot")
}

/// A 1000-byte cache has 4 objects per order-0 slab in both eras: era A, 1000 >=
/// PAGE_SIZE>>3 makes it an off-slab candidate, 4·1000 = 4000 leaves 96 >=
/// ALIGN(48 + 4·4, 8) = 64, so it goes back on-slab; era B, 96 >= ALIGN(4·1, 8) = 8,
/// same. enable_cpucache: 256 < 1000 <= 1024 → limit 54, batchcount 27, shared 8.
const C1000: usize = 1000;

fn c1000(m: &M, name: &str) -> Cache {
    let c = create(m, name, C1000);
    assert_eq!(c.num(), 4);
    assert!(!c.geo.off_slab());
    assert_eq!(
        c.tunables(),
        Tunables {
            limit: 54,
            batchcount: 27,
            shared: 8
        }
    );
    c
}

fn reap(m: &M, cpu: usize) -> slab_model::reap::ReapOutcome {
    let out = m.reaper(cpu, "reaper").cache_reap();
    assert!(!out.skipped);
    out
}

// ---------------------------------------------------------------------------------------
// A.6 cache_alloc_refill
// ---------------------------------------------------------------------------------------

/// A.6 step 2, A.5 BATCHREFILL_LIMIT: an untouched array refills min(batchcount, 16);
/// once touched (by an allocation hit) the next refill takes the full batchcount.
/// Refill takes the head of slabs_partial, else the head of slabs_free (setting
/// free_touched), and `free_objects` drops by exactly the objects taken.
#[test]
fn refill_takes_16_untouched_then_batchcount_touched() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "r64", 64);
        // size 64 <= 256 → limit 120, batchcount 60; 2 CPUs → shared 8.
        assert_eq!(
            c.tunables(),
            Tunables {
                limit: 120,
                batchcount: 60,
                shared: 8
            }
        );
        // A: 64n + ALIGN(48 + 4n, 8) <= 4096 → n = 59 (3776 + 288 = 4064).
        // B: 64n + ALIGN(n, 8) <= 4096 → n = 63 (4032 + 64 = 4096).
        let num = c.num();
        assert_eq!(num, if era == Era::A { 59 } else { 63 }, "era {era}");
        // Stock node 0 with two free slabs from CPU 1 only: CPU 0's array stays
        // untouched. (Draining before the frees keeps CPU 1's array under its limit.)
        let objs = alloc_n(&m, 1, &c, num + 30);
        force_drain(&m, 1, &c);
        free(&m, 1, &c, &objs);
        force_drain(&m, 1, &c);
        let n = node(&m, &c);
        assert!(n.slabs_partial.is_empty() && n.slabs_full.is_empty());
        assert_eq!(n.slabs_free.len(), 2);
        assert_eq!(n.free_objects, 2 * num);
        let (f0, f1) = (n.slabs_free[0].id, n.slabs_free[1].id);
        let a = ac(&m, &c, 0);
        assert!(!a.touched && a.avail() == 0);

        // First allocation on CPU 0: untouched → min(60, 16) = 16 from the head of
        // slabs_free; one is handed out, 15 stay.
        let first = alloc(&m, 0, &c);
        let a = ac(&m, &c, 0);
        assert_eq!(a.avail(), 15, "era {era}: untouched refill takes 16");
        assert!(a.touched);
        let n = node(&m, &c);
        assert_eq!(n.free_objects, 2 * num - 16);
        assert_eq!(
            n.ids(ListKind::Partial),
            vec![f0],
            "slab taken from the head of slabs_free lands on slabs_partial"
        );
        assert_eq!(n.slabs_partial[0].inuse, 16);
        assert_eq!(n.ids(ListKind::Free), vec![f1]);
        assert!(n.free_touched, "dipping into slabs_free sets free_touched");
        assert_eq!(slab_of(&m, &c, first), f0);

        // 15 hits empty the array; it stays touched.
        alloc_n(&m, 0, &c, 15);
        let a = ac(&m, &c, 0);
        assert_eq!((a.avail(), a.touched), (0, true));
        assert_eq!(node(&m, &c).free_objects, 2 * num - 16);

        // Touched → batchcount 60: the rest of f0 (num − 16) from the head of
        // slabs_partial, then 60 − (num − 16) from f1 (head of slabs_free).
        alloc(&m, 0, &c);
        let a = ac(&m, &c, 0);
        assert_eq!(
            a.avail(),
            59,
            "era {era}: touched refill takes batchcount 60"
        );
        let n = node(&m, &c);
        assert_eq!(n.free_objects, 2 * num - 76);
        assert_eq!(
            n.ids(ListKind::Full),
            vec![f0],
            "a slab emptied by refill goes to slabs_full"
        );
        assert_eq!(n.ids(ListKind::Partial), vec![f1]);
        assert_eq!(n.slabs_partial[0].inuse, 76 - num);
        assert!(n.slabs_free.is_empty());
    }
}

/// A.6 step 5 and A.13 list discipline: refill takes the FIRST slab of slabs_partial
/// (setting nothing), moves a slab that became full to the HEAD of slabs_full; only with
/// slabs_partial empty does it set free_touched and take the FIRST slab of slabs_free.
#[test]
fn refill_takes_head_of_partial_then_head_of_free() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "rp");
        // limit 16, batchcount 2, no shared array: refills move 2 objects.
        tune(&m, &c, 16, 2, 0);
        // 12 allocations, 2 per refill: slabs S1, S2, S3 grown in turn, all full.
        let objs = alloc_n(&m, 0, &c, 12);
        let s: Vec<_> = [0, 4, 8]
            .iter()
            .map(|&i| slab_of(&m, &c, objs[i]))
            .collect();
        assert_eq!(
            node(&m, &c).ids(ListKind::Full),
            vec![s[2], s[1], s[0]],
            "full slabs are added at the head"
        );
        // Give back 1 object of S1 and 2 of S2: slabs_partial = [S1 (inuse 3), S2 (inuse 2)].
        free(&m, 0, &c, &[objs[0], objs[4], objs[5]]);
        force_drain(&m, 0, &c);
        assert_eq!(node(&m, &c).ids(ListKind::Partial), vec![s[0], s[1]]);
        // Clear free_touched with a reap whose node part is due (nothing else to do:
        // CPU 0's array is empty, no shared array, free_touched set → just cleared).
        let due = node(&m, &c).next_reap;
        m.advance_jiffies(due - m.jiffies());
        assert_eq!(reap(&m, 0).slabs_freed, 0);
        assert!(!node(&m, &c).free_touched);
        // The node part is next due REAPTIMEOUT_NODE after this reap
        // (`n->next_reap = jiffies + REAPTIMEOUT_NODE`; 2.6.24's REAPTIMEOUT_LIST3).
        assert!(due > 0);
        assert_eq!(node(&m, &c).next_reap, due + REAPTIMEOUT_NODE);

        // Refill of 2: S1's last free object (S1 → head of slabs_full), then one of S2.
        let got = alloc(&m, 0, &c);
        let n = node(&m, &c);
        assert_eq!(
            n.ids(ListKind::Full),
            vec![s[0], s[2]],
            "era {era}: S1 became full → head of slabs_full"
        );
        assert_eq!(n.ids(ListKind::Partial), vec![s[1]]);
        assert_eq!(n.slabs_partial[0].inuse, 3);
        assert_eq!(n.free_objects, 1);
        assert!(
            !n.free_touched,
            "slabs_partial was not empty: free_touched stays clear"
        );
        assert_eq!(
            slab_of(&m, &c, got),
            s[1],
            "the last object taken is handed out first"
        );
        assert_eq!(slab_of(&m, &c, ac(&m, &c, 0).entry[0]), s[0]);

        // Now empty S2 and S3 completely (S2 first), so slabs_free = [S3, S2] (head
        // insertion), S1 stays full. A refill with slabs_partial empty takes from S3.
        let hit = alloc(&m, 0, &c); // the S1 object still in the array
        let mut back: Vec<u64> = vec![got, objs[6], objs[7]];
        back.extend(&objs[8..12]);
        free(&m, 0, &c, &back);
        force_drain(&m, 0, &c);
        let n = node(&m, &c);
        assert_eq!(n.ids(ListKind::Free), vec![s[2], s[1]]);
        assert!(n.slabs_partial.is_empty());
        assert_eq!(n.ids(ListKind::Full), vec![s[0]]);
        let got2 = alloc(&m, 0, &c);
        let n = node(&m, &c);
        assert!(n.free_touched, "slabs_partial empty → free_touched");
        assert_eq!(slab_of(&m, &c, got2), s[2], "head of slabs_free");
        assert_eq!(n.ids(ListKind::Partial), vec![s[2]]);
        assert_eq!(n.slabs_partial[0].inuse, 2);
        assert_eq!(n.ids(ListKind::Free), vec![s[1]]);
        let _ = hit;
    }
}

/// A.6 step 4 / `transfer_objects`: refill first moves min(shared.avail, batchcount,
/// ac.limit − ac.avail) entries from the TOP of the shared array, order preserved, without
/// touching the slabs or free_objects. Era B marks shared.touched (2.6.34+), era A does
/// not — so an era-A reap drains the shared array right away, era B only un-touches it.
#[test]
fn refill_from_shared_takes_the_top_entries() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "sh");
        tune(&m, &c, 4, 2, 3); // shared capacity 3 × 2 = 6
        let objs = alloc_n(&m, 0, &c, 12);
        assert_eq!(ac(&m, &c, 0).avail(), 0, "12 allocations = 6 refills of 2");
        // Frees on CPU 1 (limit 4, batch 2): flushes move the bottom 2 to the shared array
        // until it holds 6, the next flush goes to the slabs.
        free(&m, 1, &c, &objs);
        let n = node(&m, &c);
        assert_eq!(n.shared.as_ref().unwrap().entry, objs[0..6].to_vec());
        assert_eq!(ac(&m, &c, 1).entry, objs[8..12].to_vec());
        let fo = n.free_objects;
        assert_eq!(fo, 2, "objs[6], objs[7] went to free_block");
        let (partial, full, freel) = (
            n.ids(ListKind::Partial),
            n.ids(ListKind::Full),
            n.ids(ListKind::Free),
        );

        // CPU 0 refill: min(6, 2, 4 − 0) = 2 from the top: objs[4], objs[5].
        let got = alloc(&m, 0, &c);
        assert_eq!(got, objs[5]);
        let a = ac(&m, &c, 0);
        assert_eq!(a.entry, vec![objs[4]]);
        assert!(a.touched);
        let n = node(&m, &c);
        let sh = n.shared.as_ref().unwrap();
        assert_eq!(sh.entry, objs[0..4].to_vec());
        assert_eq!(
            sh.touched,
            era == Era::B,
            "era {era}: shared.touched after a shared refill"
        );
        assert_eq!(
            n.free_objects, fo,
            "a shared refill does not touch free_objects"
        );
        assert_eq!(
            (
                n.ids(ListKind::Partial),
                n.ids(ListKind::Full),
                n.ids(ListKind::Free)
            ),
            (partial, full, freel)
        );

        // drain_array on the shared array: (limit 6 + 4) / 5 = 2 from the bottom, unless touched.
        let drained = m.task(0, "reap").drain_shared_array(&c, 0, false);
        let sh = node(&m, &c).shared.unwrap();
        match era {
            Era::A => {
                assert_eq!(drained, 2);
                assert_eq!(sh.entry, objs[2..4].to_vec());
            }
            Era::B => {
                assert_eq!(drained, 0);
                assert!(!sh.touched);
                assert_eq!(sh.entry, objs[0..4].to_vec());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// A.7 free path
// ---------------------------------------------------------------------------------------

/// A.7 `cache_flusharray`: a full array moves batchcount objects from its BOTTOM to the
/// TOP of the shared array (at most the room left), else `free_block`s them; survivors
/// shift down. Then, a refill takes fewer than batchcount when the shared array holds
/// fewer (`transfer_objects`' min).
#[test]
fn flusharray_moves_the_bottom_batch_to_shared_or_slabs() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "fl");
        tune(&m, &c, 6, 3, 3); // shared capacity 9
        let o = alloc_n(&m, 0, &c, 19);
        force_drain(&m, 0, &c);
        let mut t1 = m.task(1, "t1");
        let sh = |m: &M| node(m, &c).shared.unwrap().entry;
        for &x in &o[0..7] {
            t1.kmem_cache_free(&c, x).unwrap();
        }
        // o[0..6] filled the array; freeing o[6] flushed o[0..3] to shared.
        assert_eq!(sh(&m), o[0..3].to_vec());
        assert_eq!(ac(&m, &c, 1).entry, o[3..7].to_vec());
        for &x in &o[7..15] {
            t1.kmem_cache_free(&c, x).unwrap();
        }
        assert_eq!(sh(&m), o[0..9].to_vec(), "shared is full (9)");
        assert_eq!(ac(&m, &c, 1).entry, o[9..15].to_vec());
        let fo = node(&m, &c).free_objects;
        t1.kmem_cache_free(&c, o[15]).unwrap();
        assert_eq!(sh(&m), o[0..9].to_vec(), "no room: shared untouched");
        assert_eq!(ac(&m, &c, 1).entry, o[12..16].to_vec());
        assert_eq!(
            node(&m, &c).free_objects,
            fo + 3,
            "the bottom batch went to free_block"
        );

        // Make room for 2: drain_array frees (9 + 4) / 5 = 2 from the bottom of shared.
        assert_eq!(t1.drain_shared_array(&c, 0, false), 2);
        assert_eq!(sh(&m), o[2..9].to_vec());
        t1.kmem_cache_free(&c, o[16]).unwrap();
        t1.kmem_cache_free(&c, o[17]).unwrap();
        assert_eq!(ac(&m, &c, 1).entry, o[12..18].to_vec());
        // Full again: flush min(batchcount 3, room 2) = 2.
        t1.kmem_cache_free(&c, o[18]).unwrap();
        let mut want = o[2..9].to_vec();
        want.extend(&o[12..14]);
        assert_eq!(sh(&m), want, "era {era}");
        assert_eq!(
            ac(&m, &c, 1).entry,
            o[14..19].to_vec(),
            "only 2 were removed; the rest shifted down"
        );

        // Drain shared to one entry: 9 → 7 → 5 → 3 → 1 (2 each time).
        for left in [7, 5, 3, 1] {
            t1.drain_shared_array(&c, 0, false);
            assert_eq!(sh(&m).len(), left);
        }
        assert_eq!(sh(&m), vec![o[13]]);
        // Refill on CPU 0 (empty array, batchcount 3): min(1, 3, 6) = 1.
        let fo = node(&m, &c).free_objects;
        assert_eq!(alloc(&m, 0, &c), o[13]);
        assert_eq!(ac(&m, &c, 0).avail(), 0);
        assert!(sh(&m).is_empty());
        assert_eq!(node(&m, &c).free_objects, fo);
    }
}

/// A.7 `free_block`: an object freed into a full slab moves it to the TAIL of
/// slabs_partial; a slab that becomes empty goes to the HEAD of slabs_free while
/// free_objects <= free_limit, and is destroyed (free_objects −= num) once
/// free_objects > free_limit, with free_limit = (1 + nr_cpus_node) × batchcount + num.
#[test]
fn free_block_list_moves_and_free_limit() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "fb");
        tune(&m, &c, 16, 2, 0);
        // free_limit = (1 + 2 CPUs) × 2 + 4 = 10.
        assert_eq!(node(&m, &c).free_limit, 10);
        let o = alloc_n(&m, 0, &c, 12);
        let s: Vec<_> = [0, 4, 8].iter().map(|&i| slab_of(&m, &c, o[i])).collect();
        assert_eq!(node(&m, &c).ids(ListKind::Full), vec![s[2], s[1], s[0]]);

        // One object of each full slab, in the order S1, S2, S3 (one free_block call).
        free(&m, 0, &c, &[o[0], o[4], o[8]]);
        force_drain(&m, 0, &c);
        let n = node(&m, &c);
        assert_eq!(
            n.ids(ListKind::Partial),
            vec![s[0], s[1], s[2]],
            "era {era}: list_add_tail"
        );
        assert!(n.slabs_full.is_empty());
        assert_eq!(n.free_objects, 3);

        // c2 (fo 4), then S1 empties at fo 7, S2 at fo 10 — both kept (10 is not > 10).
        free(&m, 0, &c, &[o[9], o[1], o[2], o[3], o[5], o[6], o[7]]);
        force_drain(&m, 0, &c);
        let n = node(&m, &c);
        assert_eq!(
            n.ids(ListKind::Free),
            vec![s[1], s[0]],
            "empty slabs go to the head of slabs_free"
        );
        assert_eq!(n.ids(ListKind::Partial), vec![s[2]]);
        assert_eq!(n.slabs_partial[0].inuse, 2);
        assert_eq!(n.free_objects, 10);

        // S3 empties at fo 12 > 10: destroyed, fo 12 − 4 = 8, its page returned.
        let (pages, slab_pages) = (m.nr_free_pages(), m.nr_slab_pages());
        free(&m, 0, &c, &[o[10], o[11]]);
        force_drain(&m, 0, &c);
        let n = node(&m, &c);
        assert_eq!(n.ids(ListKind::Free), vec![s[1], s[0]]);
        assert!(n.slabs_partial.is_empty() && n.slabs_full.is_empty());
        assert_eq!(n.free_objects, 8);
        assert_eq!(m.nr_free_pages(), pages + 1);
        assert_eq!(m.nr_slab_pages(), slab_pages - 1);
    }
}

// ---------------------------------------------------------------------------------------
// A.6 cache_grow: colour
// ---------------------------------------------------------------------------------------

/// A.6 `cache_grow` step 2, A.3.7: successive slabs of a node get colour offsets
/// 0, colour_off, 2·colour_off, … wrapping at `colour` (colour = left_over / colour_off,
/// colour_off = max(cache_line_size, align) = 64).
#[test]
fn colour_offsets_cycle_through_the_colours() {
    for era in ERAS {
        let m = machine(era);
        // Era A, 344 bytes (on-slab, 344 < 512): 11·344 = 3784, slab_size =
        //   ALIGN(48 + 11·4, 8) = 96, 3784 + 96 = 3880 <= 4096 (12 objects would not fit),
        //   left_over 216 → colour 216 / 64 = 3.
        // Era B, 296 bytes (off-slab candidate, >= 128): 13·296 = 3848, left 248 >=
        //   freelist ALIGN(13, 8) = 16 → back on-slab, left_over 232 → colour 3.
        let (size, num, mgmt, left) = match era {
            Era::A => (344, 11, 96, 216),
            Era::B => (296, 13, 16, 232),
        };
        let c = create(&m, "col", size);
        assert_eq!(
            (c.num(), c.geo.mgmt_size, c.geo.left_over),
            (num, mgmt, left),
            "era {era}"
        );
        assert_eq!(c.geo.colour_off, 64);
        assert_eq!(c.geo.colour, 3);
        assert!(!c.geo.off_slab());
        tune(&m, &c, 1, 1, 0);
        let mut next = Vec::new();
        let mut objs = Vec::new();
        for _ in 0..5 {
            objs.extend(alloc_n(&m, 0, &c, num));
            next.push(node(&m, &c).colour_next);
        }
        assert_eq!(next, vec![1, 2, 0, 1, 2], "colour_next after each grow");
        for (k, chunk) in objs.chunks(num).enumerate() {
            let id = slab_of(&m, &c, chunk[0]);
            let s = node(&m, &c)
                .all_slabs()
                .find(|s| s.id == id)
                .unwrap()
                .clone();
            let colour = (k % 3) * 64;
            assert_eq!(s.colouroff, colour + mgmt, "era {era} slab {k}");
            assert_eq!(s.s_mem, s.base + (colour + mgmt) as u64);
            assert!(chunk.iter().all(|&o| slab_of(&m, &c, o) == id));
        }
    }
}

// ---------------------------------------------------------------------------------------
// A.8 cache_reap
// ---------------------------------------------------------------------------------------

/// A.8 `drain_array`: an untouched CPU array loses (limit + 4) / 5 objects from the
/// BOTTOM, or (avail + 1) / 2 when that is more than it holds; survivors shift down.
#[test]
fn reap_drains_untouched_cpu_array_from_the_bottom() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "d64", 64); // limit 120 → (120 + 4) / 5 = 24
        let objs = alloc_n(&m, 1, &c, 50);
        free(&m, 0, &c, &objs); // frees never set touched
        let before = ac(&m, &c, 0);
        assert_eq!((before.avail(), before.touched), (50, false));
        let mut fo = node(&m, &c).free_objects;
        // 50 → 26 → 2 (24 each), → 1 ((2+1)/2), → 0 ((1+1)/2).
        for (freed, left) in [(24, 26), (24, 2), (1, 1), (1, 0)] {
            let out = reap(&m, 0);
            assert_eq!(out.objects_drained, freed, "era {era}");
            assert_eq!(ac(&m, &c, 0).entry, before.entry[50 - left..].to_vec());
            fo += freed;
            assert_eq!(node(&m, &c).free_objects, fo);
        }
    }
}

/// A.8 touched rule: a touched array is not drained, only un-touched; an EMPTY touched
/// array is left alone (drain_array returns early) and stays touched, so the next refill
/// still takes the full batchcount.
#[test]
fn reap_untouches_instead_of_draining() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "t64", 64);
        let num = c.num();
        alloc(&m, 0, &c);
        assert_eq!((ac(&m, &c, 0).avail(), ac(&m, &c, 0).touched), (15, true));
        assert_eq!(reap(&m, 0).objects_drained, 0);
        assert_eq!((ac(&m, &c, 0).avail(), ac(&m, &c, 0).touched), (15, false));
        // Untouched now: (120 + 4) / 5 = 24 > 15 → (15 + 1) / 2 = 8.
        assert_eq!(reap(&m, 0).objects_drained, 8);
        assert_eq!(ac(&m, &c, 0).avail(), 7);

        let c2 = create(&m, "t64b", 64);
        alloc_n(&m, 0, &c2, 16); // one untouched refill of 16, all handed out
        assert_eq!((ac(&m, &c2, 0).avail(), ac(&m, &c2, 0).touched), (0, true));
        reap(&m, 0);
        assert!(
            ac(&m, &c2, 0).touched,
            "era {era}: an empty array keeps touched"
        );
        // Touched → batchcount 60, limited by the slab's remaining num − 16 objects.
        alloc(&m, 0, &c2);
        assert_eq!(ac(&m, &c2, 0).avail(), num - 16 - 1);
    }
}

/// A.8: the node part of cache_reap runs only when jiffies >= next_reap and then sets
/// next_reap = jiffies + 4·HZ; it drains the shared array with the touched rule.
#[test]
fn reap_node_part_only_when_due() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "nr");
        tune(&m, &c, 4, 2, 3);
        let objs = alloc_n(&m, 0, &c, 12);
        free(&m, 1, &c, &objs);
        let sh = |m: &M| node(m, &c).shared.unwrap().entry;
        assert_eq!(sh(&m), objs[0..6].to_vec());
        let due = node(&m, &c).next_reap;
        assert!(due > m.jiffies());
        m.advance_jiffies(due - 1 - m.jiffies());
        reap(&m, 0);
        assert_eq!(sh(&m), objs[0..6].to_vec(), "not due: shared untouched");
        assert_eq!(node(&m, &c).next_reap, due);
        m.advance_jiffies(1);
        reap(&m, 0);
        assert_eq!(REAPTIMEOUT_NODE, 4 * HZ);
        assert_eq!(node(&m, &c).next_reap, due + 4 * HZ, "era {era}");
        // (6 + 4) / 5 = 2 from the bottom of the (untouched) shared array.
        assert_eq!(sh(&m), objs[2..6].to_vec());
        m.advance_jiffies(4 * HZ - 1);
        reap(&m, 0);
        assert_eq!(sh(&m), objs[2..6].to_vec());
        m.advance_jiffies(1);
        reap(&m, 0);
        assert_eq!(sh(&m), objs[4..6].to_vec());
    }
}

/// A.8 `drain_freelist`: when the node part runs and free_touched is clear, it destroys
/// ceil(free_limit / (5·num)) slabs from the TAIL of slabs_free; if free_touched is set
/// it only clears it.
#[test]
fn reap_frees_slabs_from_the_tail_of_slabs_free() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "df");
        // free_limit = 3 × 27 + 4 = 85; tofree = ceil(85 / 20) = 5 slabs.
        assert_eq!(node(&m, &c).free_limit, 85);
        let objs = alloc_n(&m, 0, &c, 28); // 7 refills of one 4-object slab each
        assert_eq!(ac(&m, &c, 0).avail(), 0);
        free(&m, 0, &c, &objs);
        force_drain(&m, 0, &c); // slabs empty in allocation order → head insertion
        let n = node(&m, &c);
        let order: Vec<_> = objs
            .chunks(4)
            .rev()
            .map(|ch| slab_of(&m, &c, ch[0]))
            .collect();
        assert_eq!(n.ids(ListKind::Free), order);
        assert_eq!(n.free_objects, 28);
        assert!(n.free_touched);
        let pages = m.nr_free_pages();

        m.advance_jiffies(n.next_reap - m.jiffies());
        assert_eq!(reap(&m, 0).slabs_freed, 0, "free_touched: only cleared");
        let n = node(&m, &c);
        assert!(!n.free_touched);
        assert_eq!(n.slabs_free.len(), 7);

        m.advance_jiffies(4 * HZ);
        assert_eq!(reap(&m, 0).slabs_freed, 5, "era {era}");
        let n = node(&m, &c);
        assert_eq!(
            n.ids(ListKind::Free),
            order[0..2].to_vec(),
            "the tail went first"
        );
        assert_eq!(n.free_objects, 8);
        assert_eq!(m.nr_free_pages(), pages + 5);
    }
}

// ---------------------------------------------------------------------------------------
// A.10 shrink and destroy
// ---------------------------------------------------------------------------------------

/// A.10 `kmem_cache_shrink`: drains every CPU and shared array, frees every free slab,
/// and returns true iff full or partial slabs remain.
#[test]
fn shrink_drains_everything_and_reports_slabs_in_use() {
    for era in ERAS {
        let m = machine(era);
        let boot_pages = m.nr_free_pages();
        let c = c1000(&m, "sk");
        tune(&m, &c, 4, 2, 3);
        let objs = alloc_n(&m, 0, &c, 20);
        free(&m, 1, &c, &objs[0..12]);
        free(&m, 0, &c, &objs[12..19]);
        assert!(ac(&m, &c, 0).avail() > 0 && ac(&m, &c, 1).avail() > 0);
        assert!(!node(&m, &c).shared.unwrap().entry.is_empty());
        let mut t = m.task(0, "t");
        assert!(
            t.kmem_cache_shrink(&c).unwrap(),
            "era {era}: one object still live"
        );
        let n = node(&m, &c);
        assert_eq!((ac(&m, &c, 0).avail(), ac(&m, &c, 1).avail()), (0, 0));
        assert!(n.shared.as_ref().unwrap().entry.is_empty());
        assert!(n.slabs_free.is_empty() && n.slabs_full.is_empty());
        assert_eq!(n.ids(ListKind::Partial), vec![slab_of(&m, &c, objs[19])]);
        assert_eq!(n.slabs_partial[0].inuse, 1);
        assert_eq!(n.free_objects, 3);
        assert_eq!(m.nr_free_pages(), boot_pages - 1);
        t.kmem_cache_free(&c, objs[19]).unwrap();
        assert!(!t.kmem_cache_shrink(&c).unwrap());
        let n = node(&m, &c);
        assert_eq!(n.all_slabs().count(), 0);
        assert_eq!(n.free_objects, 0);
        assert_eq!(m.nr_free_pages(), boot_pages);
    }
}

/// A.10 `kmem_cache_destroy`: with a live object it fails with CacheHasObjects and
/// changes nothing (audit ok, slabinfo identical, the cache still works); after
/// everything is freed it succeeds and every page is back in the page allocator.
#[test]
fn destroy_with_live_objects_fails_cleanly_then_succeeds() {
    for era in ERAS {
        let m = machine(era);
        let boot_pages = m.nr_free_pages();
        let boot_slab_pages = m.nr_slab_pages();
        let c = c1000(&m, "ds");
        let objs = alloc_n(&m, 0, &c, 9);
        free(&m, 1, &c, &objs[1..9]);
        let before = fingerprint(&m, &c);
        let mut t = m.task(0, "t");
        assert_eq!(
            t.kmem_cache_destroy(&c),
            Err(SlabError::CacheHasObjects {
                cache: "ds".into(),
                live: 1
            }),
            "era {era}"
        );
        assert_eq!(fingerprint(&m, &c), before);
        assert!(m.find_cache("ds").is_some() && !c.is_destroyed());
        // Still usable.
        let x = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&c, x).unwrap();
        t.kmem_cache_free(&c, objs[0]).unwrap();
        t.kmem_cache_destroy(&c).unwrap();
        assert!(c.is_destroyed());
        assert!(m.find_cache("ds").is_none());
        assert!(!m.slabinfo().contains("ds "));
        assert_eq!(m.nr_free_pages(), boot_pages, "every page is back");
        assert_eq!(m.nr_slab_pages(), boot_slab_pages);
        m.audit().assert_ok();
    }
}

// ---------------------------------------------------------------------------------------
// A.9 tuning
// ---------------------------------------------------------------------------------------

/// A.5 / A.9: invalid tunables (limit < 1, batchcount outside 1..=limit, shared < 0)
/// are rejected with InvalidTunables and change nothing; a valid write installs new empty
/// arrays (old contents back into the slabs, under the old free_limit), a shared array of
/// shared × batchcount, and recomputes free_limit.
#[test]
fn tuning_validates_then_swaps_arrays() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "tn");
        tune(&m, &c, 4, 2, 3);
        let objs = alloc_n(&m, 0, &c, 12);
        free(&m, 1, &c, &objs);
        let n = node(&m, &c);
        assert_eq!(n.shared.as_ref().unwrap().entry.len(), 6);
        assert_eq!(ac(&m, &c, 1).avail(), 4);
        assert_eq!((n.free_objects, n.free_limit), (2, 10));

        let before = fingerprint(&m, &c);
        let mut w = m.tuner(0, "echo");
        for (l, b, s) in [(0, 1, 0), (4, 0, 0), (4, 5, 0), (4, 2, -1), (-1, 1, 0)] {
            let e = w.slabinfo_write(&format!("tn {l} {b} {s}")).unwrap_err();
            assert_eq!(
                e,
                SlabError::InvalidTunables {
                    cache: "tn".into(),
                    limit: l,
                    batchcount: b,
                    shared: s
                }
            );
            assert_eq!(
                fingerprint(&m, &c),
                before,
                "era {era}: rejected write changed state"
            );
        }

        w.slabinfo_write("tn 10 5 2").unwrap();
        assert_eq!(
            c.tunables(),
            Tunables {
                limit: 10,
                batchcount: 5,
                shared: 2
            }
        );
        for cpu in 0..2 {
            assert_eq!(
                ac(&m, &c, cpu),
                ArrayCache::new(10, 5),
                "era {era} cpu{cpu}: fresh array"
            );
        }
        let n = node(&m, &c);
        let sh = n.shared.as_ref().unwrap();
        assert_eq!(
            (sh.limit, sh.batchcount, sh.avail()),
            (10, BAADF00D, 0),
            "shared = 2 × 5"
        );
        // The old contents go back with the OLD free_limit (10): the kernel free_blocks the
        // old shared array before it recomputes free_limit (v2.6.24 alloc_kmemlist, v4.4
        // alloc_kmem_cache_node). The 11th free object empties a slab while fo 11 > 10, so
        // that slab is destroyed (fo 7) and the 12th brings fo to 8: two free slabs stay.
        // Recomputing the limit first (19) would keep all three.
        assert_eq!(n.free_limit, 19, "free_limit = (1 + 2) × 5 + 4 afterwards");
        assert_eq!(n.free_objects, 8);
        assert_eq!(n.slabs_free.len(), 2);
        assert!(n.slabs_partial.is_empty() && n.slabs_full.is_empty());
        let row = m.slabinfo_row(&c);
        assert_eq!((row.limit, row.batchcount, row.sharedfactor), (10, 5, 2));

        w.slabinfo_write("tn 10 5 0").unwrap();
        assert!(
            node(&m, &c).shared.is_none(),
            "shared factor 0: no shared array"
        );
    }
}

// ---------------------------------------------------------------------------------------
// A.4 kmalloc
// ---------------------------------------------------------------------------------------

/// A.4: kmalloc(0) is ZERO_SIZE_PTR (16); kfree(NULL) and kfree(ZERO_SIZE_PTR) are
/// no-ops; sizes map to the first class that fits (era A linear scan over size-N, no 96
/// class with 64-byte L1, 192 present; era B size_index table with kmalloc-96/192);
/// GFP_DMA takes the DMA twin; ksize is the class size.
#[test]
fn kmalloc_size_classes_and_zero_size() {
    let cases_a: &[(usize, &str)] = &[
        (1, "size-32"),
        (32, "size-32"),
        (33, "size-64"),
        (65, "size-128"),
        (96, "size-128"),
        (129, "size-192"),
        (193, "size-256"),
        (4096, "size-4096"),
    ];
    let cases_b: &[(usize, &str)] = &[
        (1, "kmalloc-32"),
        (24, "kmalloc-32"),
        (33, "kmalloc-64"),
        (65, "kmalloc-96"),
        (96, "kmalloc-96"),
        (97, "kmalloc-128"),
        (129, "kmalloc-192"),
        (193, "kmalloc-256"),
        (4096, "kmalloc-4096"),
    ];
    for era in ERAS {
        let m = machine(era);
        let mut t = m.task(0, "t");
        assert_eq!(t.kmalloc(0, Gfp::KERNEL), Ok(Some(ZERO_SIZE_PTR)));
        assert_eq!(ZERO_SIZE_PTR, 16);
        let probe = m.caches()[0].clone();
        let before = fingerprint(&m, &probe);
        t.kfree(0).unwrap();
        t.kfree(ZERO_SIZE_PTR).unwrap();
        assert_eq!(fingerprint(&m, &probe), before);
        let cases = if era == Era::A { cases_a } else { cases_b };
        for &(size, name) in cases {
            let p = t.kmalloc(size, Gfp::KERNEL).unwrap().unwrap();
            assert_eq!(
                m.virt_to_cache(p).unwrap().name,
                name,
                "era {era}: kmalloc({size})"
            );
            let class: usize = name.rsplit('-').next().unwrap().parse().unwrap();
            assert_eq!(m.ksize(p), Some(class));
            assert!(m.ksize(p).unwrap() >= size);
            t.kfree(p).unwrap();
        }
        let p = t.kmalloc(100, Gfp::KERNEL | Gfp::DMA).unwrap().unwrap();
        let dma = if era == Era::A {
            "size-128(DMA)"
        } else {
            "dma-kmalloc-128"
        };
        assert_eq!(m.virt_to_cache(p).unwrap().name, dma);
        t.kfree(p).unwrap();
    }
}

/// A.4: KMALLOC_MAX_SIZE = 2^(MAX_ORDER + PAGE_SHIFT − 1) = 4 MiB on x86 is served;
/// one byte more returns NULL.
#[test]
fn kmalloc_too_large_returns_null() {
    for era in ERAS {
        let m = machine_with(era, KmallocSetup::All);
        let max = kmalloc_max_size(m.profile(), era);
        assert_eq!(max, 4 << 20);
        let mut t = m.task(0, "t");
        assert_eq!(t.kmalloc(max + 1, Gfp::KERNEL), Ok(None));
        let p = t.kmalloc(max, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(m.ksize(p), Some(max));
        t.kfree(p).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// grow failure, __GFP_ZERO, constructors, off-slab descriptors
// ---------------------------------------------------------------------------------------

/// A.6 `cache_grow` failure: with the page allocator failing, allocation returns NULL,
/// no page leaks, and allocation works again once the faults stop.
#[test]
fn grow_failure_returns_null_and_leaks_nothing() {
    for era in ERAS {
        let m = machine(era);
        let c = c1000(&m, "gf");
        let (pages, slab_pages) = (m.nr_free_pages(), m.nr_slab_pages());
        let mut t = m.task(0, "t");
        m.set_fault_injection(FaultInjection {
            fail_nth: Some(m.page_alloc_requests() + 1),
            ..Default::default()
        });
        assert_eq!(t.kmem_cache_alloc(&c, Gfp::KERNEL), Ok(None), "era {era}");
        assert_eq!((m.nr_free_pages(), m.nr_slab_pages()), (pages, slab_pages));
        assert_eq!(ac(&m, &c, 0).avail(), 0);
        assert!(
            !ac(&m, &c, 0).touched,
            "a failed refill does not mark the array"
        );
        m.audit().assert_ok();
        let x = t
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .unwrap()
            .expect("the next request succeeds");
        t.kmem_cache_free(&c, x).unwrap();

        // Out of memory for good, then back.
        let fresh = c1000(&m, "gf2");
        m.set_fault_injection(FaultInjection {
            fail_always: true,
            ..Default::default()
        });
        let pages = m.nr_free_pages();
        for _ in 0..3 {
            assert_eq!(t.kmem_cache_alloc(&fresh, Gfp::ATOMIC), Ok(None));
        }
        assert_eq!(m.nr_free_pages(), pages);
        assert_eq!(m.slabinfo_row(&fresh).num_slabs, 0);
        m.set_fault_injection(FaultInjection::default());
        assert!(t.kmem_cache_alloc(&fresh, Gfp::ATOMIC).unwrap().is_some());
    }
}

/// A.6 `cache_grow` failure in `alloc_slabmgmt`: the slab's pages were allocated but the
/// off-slab descriptor could not be (its kmalloc cache failed to grow): the pages go back
/// (`opps1`), the allocation returns NULL.
#[test]
fn offslab_descriptor_failure_returns_the_pages() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "od", 512);
        assert!(c.geo.off_slab(), "era {era}");
        let pages = m.nr_free_pages();
        // Request n+1: the cache's page (succeeds); n+2: the descriptor cache's slab.
        m.set_fault_injection(FaultInjection {
            fail_nth: Some(m.page_alloc_requests() + 2),
            ..Default::default()
        });
        let mut t = m.task(0, "t");
        assert_eq!(t.kmem_cache_alloc(&c, Gfp::KERNEL), Ok(None));
        assert_eq!(
            m.nr_free_pages(),
            pages,
            "era {era}: the slab's page was freed again"
        );
        assert_eq!(m.live_objects(c.desc_cache.as_ref().unwrap()), 0);
        m.audit().assert_ok();
        assert!(t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().is_some());
    }
}

/// A.3.4 / A.6: an off-slab cache takes each slab's descriptor from its kmalloc cache
/// (era A: 512-byte objects, 8 per page, left_over 0 < slab_size ALIGN(48 + 8·4, 8) = 80,
/// so off-slab with an unaligned 80-byte descriptor → size-128; era B: freelist 8·1 = 8
/// bytes → kmalloc-32), and gives it back when the slab is destroyed.
#[test]
fn offslab_descriptor_comes_from_kmalloc() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "off", 512);
        let desc_name = if era == Era::A {
            "size-128"
        } else {
            "kmalloc-32"
        };
        assert_eq!(c.num(), 8);
        assert_eq!(c.geo.mgmt_size, if era == Era::A { 80 } else { 8 });
        let desc = c.desc_cache.clone().expect("off-slab");
        assert_eq!(desc.name, desc_name, "era {era}");
        tune(&m, &c, 1, 1, 0);
        assert_eq!(m.slabinfo_row(&desc).active_objs, 0);
        let objs = alloc_n(&m, 0, &c, 24); // 3 slabs
        assert_eq!(m.live_objects(&desc), 3, "one descriptor per slab");
        for s in node(&m, &c).all_slabs() {
            assert!(s.off_slab);
            assert_eq!(m.virt_to_cache(s.mgmt_addr).unwrap().name, desc_name);
            assert_eq!(
                s.s_mem, s.base,
                "off-slab with colour 0: objects start at the page"
            );
        }
        // The first descriptor allocation refilled min(batchcount 60, 16) = 16 into CPU 0's
        // array of the descriptor cache; the objects parked there count as active.
        assert_eq!(m.slabinfo_row(&desc).active_objs, 16);
        free(&m, 0, &c, &objs);
        assert!(!m.task(0, "t").kmem_cache_shrink(&c).unwrap());
        assert_eq!(
            m.live_objects(&desc),
            0,
            "slab_destroy freed the descriptors"
        );
    }
}

/// A.6 `alloc_slabmgmt`: the off-slab descriptor is a real `kmem_cache_alloc_node` with
/// the grow's gfp mask, less only its node constraints (`local_flags & ~GFP_THISNODE`
/// in 2.6.24, `& ~GFP_CONSTRAINT_MASK` in 4.4): a GFP_KERNEL grow of an off-slab cache
/// whose descriptor cache is empty grows the descriptor cache with interrupts enabled
/// too — its own window, nested in the outer one, and the same mask for its pages.
#[test]
fn an_offslab_descriptor_is_allocated_with_the_grows_gfp_mask() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "off", 512);
        let desc = c.desc_cache.clone().expect("off-slab");
        // Nothing cached or free in the descriptor cache: its allocation must grow.
        let mut t = m.task(0, "t");
        force_drain(&m, 0, &desc);
        force_drain(&m, 1, &desc);
        assert!(!t.kmem_cache_shrink(&desc).unwrap());
        assert_eq!(node(&m, &desc).all_slabs().count(), 0, "era {era}");
        let from = m.trace.events().len();
        let o = t
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .unwrap()
            .expect("memory");
        let windows: Vec<u32> = m.trace.events()[from..]
            .iter()
            .filter(|e| e.kind == EventKind::IrqWindowOpen)
            .map(|e| e.cache)
            .collect();
        assert_eq!(
            windows,
            vec![c.id, desc.id],
            "era {era}: the cache's window, then the descriptor cache's inside it"
        );
        assert_eq!(node(&m, &desc).all_slabs().count(), 1, "era {era}");
        t.kmem_cache_free(&c, o).unwrap();
        m.audit().assert_ok();
    }
}

/// A.6 post-alloc: __GFP_ZERO clears obj_size bytes; without it the object keeps what
/// its last user wrote (SLAB does not clear or re-construct on allocation).
#[test]
fn gfp_zero_clears_the_object() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "z", 100);
        let size = c.geo.object_size;
        assert_eq!(size, 104);
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        m.write_memory(o, &vec![0xaa; size]);
        t.kmem_cache_free(&c, o).unwrap();
        let o2 = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(o2, o, "LIFO: the hottest object comes back");
        assert_eq!(m.read_memory(o2, size), vec![0xaa; size]);
        t.kmem_cache_free(&c, o2).unwrap();
        let o3 = t
            .kmem_cache_alloc(&c, Gfp::KERNEL | Gfp::ZERO)
            .unwrap()
            .unwrap();
        assert_eq!(o3, o);
        assert_eq!(m.read_memory(o3, size), vec![0; size], "era {era}");
    }
}

/// A.6 `cache_init_objs`: the constructor runs once per object when its slab is built,
/// so an allocated object reads back constructed; it does not run again on reuse.
#[test]
fn constructor_runs_at_slab_creation_only() {
    for era in ERAS {
        let m = machine(era);
        let c = m
            .kmem_cache_create(CreateArgs {
                name: "ct".into(),
                size: 200,
                align: 0,
                flags: SlabFlags::default(),
                ctor: true,
            })
            .unwrap();
        let size = c.geo.object_size;
        let mut t = m.task(0, "t");
        let objs: Vec<u64> = (0..c.num() + 1)
            .map(|_| t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap())
            .collect();
        for &o in &objs {
            assert_eq!(
                m.read_memory(o, size),
                vec![CTOR_PATTERN; size],
                "era {era}"
            );
        }
        m.write_memory(objs[0], &vec![0x11; size]);
        t.kmem_cache_free(&c, objs[0]).unwrap();
        let again = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(again, objs[0]);
        assert_eq!(
            m.read_memory(again, size),
            vec![0x11; size],
            "the constructor does not run on reuse"
        );
    }
}

/// The `ctor-skipped` mutation is exactly what its catalogue entry says — the last object
/// of each new slab is left unconstructed, every other object is constructed — so that
/// what the checkers report for it (the audit's `ctor-once`, a reference mismatch on the
/// last object) is that one slip and not a different bug.
#[test]
fn ctor_skipped_leaves_only_the_last_object_of_a_new_slab_unconstructed() {
    for era in ERAS {
        let m = mutated(era, MutationSet::only(Mutation::CtorSkipped), false);
        let c = m
            .kmem_cache_create(CreateArgs {
                name: "cs".into(),
                size: 200,
                align: 0,
                flags: SlabFlags::default(),
                ctor: true,
            })
            .unwrap();
        let size = c.geo.object_size;
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let slab = node(&m, &c).all_slabs().next().expect("one slab").clone();
        let num = c.num();
        for i in 0..num {
            let obj = slab.s_mem + (i * c.geo.size) as u64;
            let want = if i == num - 1 { 0 } else { CTOR_PATTERN };
            assert_eq!(
                m.read_memory(obj, size),
                vec![want; size],
                "era {era}: object {i}"
            );
        }
        let report = m.audit();
        let v: Vec<_> = report
            .violations
            .iter()
            .filter(|v| v.invariant == "ctor-once")
            .collect();
        assert_eq!(v.len(), 1, "era {era}: {report}");
        assert_eq!(
            v[0].object,
            Some(slab.s_mem + ((num - 1) * c.geo.size) as u64),
            "era {era}: the last object"
        );
        t.kmem_cache_free(&c, o).unwrap();
    }
}

/// A.6 `cache_grow`: the task may sleep in the page allocator, inside the irq-enable
/// window, and resume on another CPU before `alloc_slabmgmt`. The off-slab descriptor's
/// nested `kmem_cache_alloc_node` then runs on the new CPU: the descriptor cache's refill
/// lands in CPU 1's array and CPU 0's stays empty. Migrating only when the window closes
/// would refill CPU 0's (this test fails with `MigrationPoint::WindowClose`).
#[test]
fn migration_after_kmem_getpages_allocates_the_descriptor_on_the_new_cpu() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "mig", 512);
        assert!(c.geo.off_slab(), "era {era}");
        let desc = c.desc_cache.clone().expect("off-slab");
        // Give the descriptor cache a slab of free objects, so its refill does not grow
        // (a nested grow would open a window of its own).
        let d = alloc_n(&m, 1, &desc, 1);
        free(&m, 1, &desc, &d);
        force_drain(&m, 1, &desc);
        assert_eq!(ac(&m, &desc, 1).avail(), 0);
        let mut t = m.task(0, "t");
        t.plan_migration_at(MigrationPoint::AfterGetpages, 1);
        let o = t
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .unwrap()
            .expect("allocation");
        assert_eq!(t.cpu(), 1, "era {era}: the task resumed on CPU 1");
        assert_eq!(
            ac(&m, &desc, 0).avail(),
            0,
            "era {era}: nothing refilled on CPU 0"
        );
        assert!(
            ac(&m, &desc, 1).avail() > 0,
            "era {era}: the descriptor cache refilled on CPU 1"
        );
        t.kmem_cache_free(&c, o).unwrap();
        m.audit().assert_ok();
    }
}

/// A.6: after `cache_grow`'s window, 2.6.24's `cache_alloc_refill` retries on whatever
/// CPU the task resumed on but keeps the node it read before the window — so a task that
/// went to sleep on node 0 and woke on node 1's CPU fills that CPU's array from node 0's
/// new slab (the slip `fix-refill-reread-node` repairs; 4.4 re-reads `numa_mem_id()`).
/// In 4.4 on NUMA the question does not arise: the refill grows with
/// `gfp_exact_node(flags)`, which clears `__GFP_WAIT`, so there is no window to sleep in
/// and the planned migration never happens.
#[test]
fn after_a_cross_node_migration_in_the_window_2_6_24_refills_from_the_old_node() {
    for era in ERAS {
        let m = numa(
            era,
            2,
            2,
            FaultInjection::default(),
            MutationSet::NONE,
            true,
        );
        let c = create(&m, "rr", 100);
        let mut t = m.task(0, "t");
        t.plan_migration_at(MigrationPoint::WindowClose, 1);
        let from = m.trace.events().len();
        let o = t
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .unwrap()
            .expect("memory");
        let windows = m.trace.events()[from..]
            .iter()
            .filter(|e| e.kind == EventKind::IrqWindowOpen)
            .count();
        let (cpu, windows_want, slabs) = match era {
            Era::A => (1, 1, [1, 0]),
            Era::B => (0, 0, [1, 0]),
        };
        assert_eq!(windows, windows_want, "era {era}: irq-enable windows");
        assert_eq!(t.cpu(), cpu, "era {era}: the CPU the task ends on");
        assert_eq!(m.page_node_of(o), Some(0), "era {era}: the object's node");
        let per_node = [0, 1].map(|n| m.node_snapshot(&c, n).all_slabs().count());
        assert_eq!(per_node, slabs, "era {era}: slabs per node");
        if era == Era::A {
            assert_eq!(ac(&m, &c, 0).avail(), 0, "cpu0's array untouched");
            assert!(
                ac(&m, &c, 1).avail() > 0,
                "cpu1's array refilled from node 0"
            );
        }
        t.kmem_cache_free(&c, o).unwrap();
    }
}

/// `stale-ac-after-grow` only changes which array a refill touches after a migration in
/// the window; a refill that stays on its CPU is the faithful model's, step for step
/// (so what the checkers find for the mutation is the stale pointer, nothing else).
#[test]
fn stale_ac_after_grow_without_a_migration_is_the_faithful_refill() {
    for era in ERAS {
        let run = |muts: MutationSet| {
            let m = mutated(era, muts, true);
            let c = create(&m, "sa", 500);
            tune(&m, &c, 4, 2, 0);
            let mut prints = Vec::new();
            let objs = alloc_n(&m, 0, &c, 20);
            prints.push(fingerprint(&m, &c));
            free(&m, 0, &c, &objs);
            prints.push(fingerprint(&m, &c));
            prints
        };
        assert_eq!(
            run(MutationSet::NONE),
            run(MutationSet::only(Mutation::StaleAcAfterGrow)),
            "era {era}"
        );
    }
}

/// `stale-ac-after-grow` after a migration in the window: the refill keeps using the
/// array of the CPU the task left, so the new slab's objects land in cpu0's array while
/// the task runs on cpu1. Alone on the machine that is no race — nobody has cpu0's
/// interrupts off — and the model reports none; the race needs a second context on
/// cpu0, which is what shuttle's schedules supply.
#[test]
fn stale_ac_after_grow_alone_fills_the_array_of_the_cpu_the_task_left() {
    for era in ERAS {
        let m = mutated(era, MutationSet::only(Mutation::StaleAcAfterGrow), false);
        let c = create(&m, "sl", 500);
        tune(&m, &c, 4, 2, 0);
        let mut t = m.task(0, "t");
        t.plan_migration_at(MigrationPoint::WindowClose, 1);
        let _o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap();
        assert_eq!(t.cpu(), 1, "era {era}");
        assert!(
            ac(&m, &c, 0).avail() > 0,
            "era {era}: cpu0's array was refilled"
        );
        assert_eq!(ac(&m, &c, 1).avail(), 0, "era {era}: cpu1's was not");
    }
}

/// 2.6.24's `tune-frees-array-early` swaps each CPU's array without waiting for that
/// CPU to leave its irq-off section. With nobody in such a section the swap is the
/// faithful one — same arrays, same tunables, no race reported — so what shuttle finds
/// for the mutation is the overlap with a running `____cache_alloc`, nothing else.
#[test]
fn tune_frees_array_early_alone_swaps_the_arrays_like_the_faithful_tune() {
    let run = |muts: MutationSet| {
        let m = mutated(Era::A, muts, true);
        let c = create(&m, "te", 500);
        let objs = alloc_n(&m, 0, &c, 6);
        free(&m, 1, &c, &objs[..3]);
        tune(&m, &c, 8, 4, 0);
        let arrays = [0, 1].map(|cpu| {
            let a = ac(&m, &c, cpu);
            (a.limit, a.batchcount, a.avail())
        });
        (arrays, fingerprint(&m, &c))
    };
    let faithful = run(MutationSet::NONE);
    assert_eq!(faithful.0, [(8, 4, 0), (8, 4, 0)]);
    assert_eq!(
        run(MutationSet::only(Mutation::TuneFreesArrayEarly)),
        faithful
    );
}

/// `cache_alloc_refill` from the shared array records the move in the trace: from the
/// node's shared array to this CPU's array, as many objects as `transfer_objects` took
/// (the trace is what a counterexample replays, so a missing move is a wrong replay).
#[test]
fn a_refill_from_the_shared_array_is_traced_with_its_count() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "rs", 500);
        tune(&m, &c, 4, 2, 2);
        // cpu1 frees into its array and flushes a batch of 2 into the shared array.
        let objs = alloc_n(&m, 1, &c, 5);
        free(&m, 1, &c, &objs);
        let shared = node(&m, &c).shared.expect("a shared array").avail();
        assert!(shared >= 2, "era {era}: {shared} in the shared array");
        let from = m.trace.events().len();
        let o = alloc(&m, 0, &c);
        let moves: Vec<u32> = m.trace.events()[from..]
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::ObjectsMoved {
                    from: Place::Shared(0),
                    to: Place::CpuArray(0),
                    count,
                } => Some(count),
                _ => None,
            })
            .collect();
        assert_eq!(
            moves,
            vec![2],
            "era {era}: one batch of 2 from the shared array"
        );
        free(&m, 0, &c, &[o]);
    }
}

// ---------------------------------------------------------------------------------------
// The trace: list moves replay to the lists
// ---------------------------------------------------------------------------------------

/// Every change of a slab's list is in the trace: replaying `SlabCreated`, `ListMove`
/// and `SlabDestroyed` of one cache from an empty map — each `ListMove`'s `from` must be
/// the list the replay has the slab on, a destroyed slab must be on no list — ends with
/// exactly the node lists the machine holds. The failure pages and the `trace` command
/// draw the lists from these events; a move missing from the trace (or recorded with a
/// wrong side) draws a slab on a list it left. Runs refill, flush to the shared array and
/// to the slabs, free_limit destruction, reap (arrays and `slabs_free`), tune and shrink,
/// on one node and, with `kmem_cache_alloc_node` and alien frees, on two.
#[test]
fn trace_list_moves_replay_to_the_lists() {
    use slab_model::trace::EventKind;
    use std::collections::BTreeMap;
    for era in ERAS {
        for nodes in [1, 2] {
            let profile = ArchProfile {
                cpus: 2 * nodes,
                nodes,
                ..ArchProfile::tiny()
            };
            let mut cfg = MachineConfig::new(profile, era);
            cfg.audit_every_op = true;
            cfg.kmalloc = KmallocSetup::UpTo(4096);
            cfg.trace_capacity = 1 << 20;
            let m = Machine::new(cfg).expect("boot");
            let c = c1000(&m, "tr");
            tune(&m, &c, 8, 2, 2);
            let cpus = 2 * nodes;
            let mut live: Vec<u64> = Vec::new();
            for round in 0..6usize {
                for cpu in 0..cpus {
                    let mut t = m.task(cpu, "t");
                    for i in 0..(5 + 3 * round + cpu) {
                        let o = if nodes > 1 && i % 3 == 0 {
                            t.kmem_cache_alloc_node(&c, Gfp::KERNEL, (cpu + 1) % nodes)
                        } else {
                            t.kmem_cache_alloc(&c, Gfp::KERNEL)
                        };
                        live.push(o.expect("valid args").expect("memory"));
                    }
                }
                // Free on other CPUs than the allocating one (alien frees on two nodes),
                // leaving a third of the objects live.
                let keep = live.len() / 3;
                for (i, o) in live.drain(keep..).enumerate() {
                    m.task((i + round) % cpus, "f")
                        .kmem_cache_free(&c, o)
                        .expect("valid free");
                }
                if round % 2 == 1 {
                    m.advance_jiffies(3 * HZ);
                    for cpu in 0..cpus {
                        m.reaper(cpu, "reaper").cache_reap();
                    }
                }
                if round == 3 {
                    tune(&m, &c, 16, 4, 0);
                }
            }
            m.task(0, "t").kmem_cache_shrink(&c).expect("shrink");
            for (i, o) in live.drain(..).enumerate() {
                m.task(i % cpus, "f").kmem_cache_free(&c, o).expect("free");
            }
            for cpu in 0..cpus {
                force_drain(&m, cpu, &c);
            }
            assert_eq!(
                m.trace.recorded(),
                m.trace.events().len() as u64,
                "the buffer kept every event"
            );

            let mut on: BTreeMap<u64, ListKind> = BTreeMap::new();
            let (mut created, mut moved, mut destroyed) = (0, 0, 0);
            for e in m.trace.events().iter().filter(|e| e.cache == c.id) {
                match e.kind {
                    EventKind::SlabCreated { slab, .. } => {
                        assert!(on.insert(slab, ListKind::None).is_none(), "{slab:#x} twice");
                        created += 1;
                    }
                    EventKind::ListMove { slab, from, to } => {
                        assert_ne!(from, to, "event {}: a move to the same list", e.seq);
                        let cur = on.get_mut(&slab).expect("a move of a slab never created");
                        assert_eq!(
                            *cur, from,
                            "era {era}, {nodes} node(s), event {}: slab@{slab:#x} moves from {from} but was on {cur}",
                            e.seq
                        );
                        *cur = to;
                        moved += 1;
                    }
                    EventKind::SlabDestroyed { slab } => {
                        let was = on.remove(&slab).expect("destroying a slab never created");
                        assert_eq!(
                            was,
                            ListKind::None,
                            "era {era}, event {}: slab@{slab:#x} destroyed while on {was}",
                            e.seq
                        );
                        destroyed += 1;
                    }
                    _ => {}
                }
            }
            // The run must have exercised what it replays.
            assert!(
                created > 8 && destroyed > 2 && moved > 3 * created,
                "{created} {moved} {destroyed}"
            );
            // The machine's lists of every node, as one map slab -> list.
            let mut held: BTreeMap<u64, ListKind> = BTreeMap::new();
            for node in 0..nodes {
                let snap = m.node_snapshot(&c, node);
                for kind in [ListKind::Partial, ListKind::Full, ListKind::Free] {
                    for id in snap.ids(kind) {
                        assert!(held.insert(id, kind).is_none(), "slab@{id:#x} on two lists");
                    }
                }
            }
            assert_eq!(
                on, held,
                "era {era}, {nodes} node(s): the lists replayed from the trace vs the machine's"
            );
        }
    }
}

/// The lock-omission fire drills (`free-block-unlocked`, `shared-transfer-unlocked`,
/// `colour-next-unlocked`) only drop a lock: run on one CPU at a time, with nothing to
/// race, each must leave exactly the state the faithful model leaves — the same
/// slabinfo, arrays, lists, live objects and free pages after every step — so that what
/// the model checkers catch in them is the race and nothing else. The script flushes to
/// the shared array and past it into `free_block` (with slabs destroyed at `free_limit`),
/// refills from the shared array, and grows through the colours.
#[test]
fn lock_omission_mutations_are_the_faithful_model_without_a_race() {
    for mutation in [
        Mutation::FreeBlockUnlocked,
        Mutation::SharedTransferUnlocked,
        Mutation::ColourNextUnlocked,
    ] {
        for era in ERAS {
            let run = |muts: MutationSet| {
                let m = mutated(era, muts, true);
                // 900-byte objects: 4 to a slab, on-slab, six colours (A) or seven (B),
                // so successive slabs differ in colour offset.
                let c = create(&m, "lo", 900);
                assert!(c.geo.colour >= 2, "era {era}: colour {}", c.geo.colour);
                tune(&m, &c, 4, 2, 3);
                let mut prints = Vec::new();
                let mut live = Vec::new();
                for round in 0..5usize {
                    live.extend(alloc_n(&m, round % 2, &c, 9 + 4 * round));
                    prints.push(fingerprint(&m, &c));
                    let keep = live.len() / 4;
                    let freed: Vec<u64> = live.drain(keep..).collect();
                    free(&m, (round + 1) % 2, &c, &freed);
                    prints.push(fingerprint(&m, &c));
                }
                free(&m, 0, &c, &live);
                force_drain(&m, 0, &c);
                force_drain(&m, 1, &c);
                prints.push(fingerprint(&m, &c));
                prints
            };
            let faithful = run(MutationSet::NONE);
            let mutated = run(MutationSet::only(mutation));
            assert_eq!(faithful.len(), mutated.len());
            for (step, (f, g)) in faithful.iter().zip(&mutated).enumerate() {
                assert_eq!(
                    f, g,
                    "era {era}, {mutation}: step {step} differs from the faithful model"
                );
            }
        }
    }
}

/// `cache_reap` reports what `drain_array` took from the CPU's array and from the node's
/// shared array together: a reap whose own array is empty but whose node part is due
/// and whose shared array is untouched drains `(limit + 4) / 5` of the shared array
/// (mm/slab.c v2.6.24 and v4.4.11 `drain_array`: `tofree = (ac->limit + 4) / 5` when not
/// forced, and `(ac->avail + 1) / 2` when that is more than `avail`).
#[test]
fn a_reap_counts_what_it_drains_from_the_shared_array() {
    for era in [Era::A, Era::B] {
        let m = machine(era);
        let c = create(&m, "rs", 256);
        let t = c.tunables();
        assert!(t.shared > 0, "era {era}: a shared array on a 2-CPU machine");
        // CPU0 allocates 3 batches and frees them: each overflow flushes a batch into the
        // (untouched) shared array.
        let objs = alloc_n(&m, 0, &c, t.limit + 2 * t.batchcount);
        free(&m, 0, &c, &objs);
        let shared_before = node(&m, &c).shared.unwrap();
        assert!(
            shared_before.avail() > 0 && !shared_before.touched,
            "era {era}"
        );
        assert_eq!(ac(&m, &c, 1).avail(), 0);
        let due = node(&m, &c).next_reap;
        m.advance_jiffies(due.saturating_sub(m.jiffies()));
        let out = reap(&m, 1);
        let shared_after = node(&m, &c).shared.unwrap();
        let avail = shared_before.avail();
        let fifth = shared_before.limit.div_ceil(5); // (limit + 4) / 5
        let expect = if fifth > avail {
            avail.div_ceil(2)
        } else {
            fifth
        };
        assert!(expect > 0);
        assert_eq!(avail - shared_after.avail(), expect, "era {era}");
        assert_eq!(out.objects_drained, expect, "era {era}: cache_reap's count");
        m.audit().assert_ok();
    }
}

/// Every lock the trace shows taken under an irq-off token (`list_lock`, an alien lock)
/// it also shows released, by the same context, innermost first: a counterexample's
/// replay reads who holds what from these pairs, so a missing release would show a lock
/// held forever. Refills, grows, flushes, a remote free and a reap cover both kinds.
#[test]
fn every_lock_the_trace_shows_taken_it_shows_released_innermost_first() {
    use slab_model::trace::LockName;
    for era in ERAS {
        let m = numa(
            era,
            2,
            2,
            FaultInjection::default(),
            MutationSet::NONE,
            true,
        );
        let c = create(&m, "lk", 500);
        tune(&m, &c, 4, 2, 2);
        let objs = alloc_n(&m, 0, &c, 9);
        free(&m, 1, &c, &objs);
        m.advance_jiffies(4 * HZ);
        m.reaper(1, "reap1").cache_reap();
        let mut held: std::collections::BTreeMap<u16, Vec<LockName>> = Default::default();
        let (mut taken, mut alien) = (0, 0);
        for e in m.trace.events() {
            match e.kind {
                EventKind::LockTaken(l @ (LockName::ListLock { .. } | LockName::Alien { .. })) => {
                    taken += 1;
                    alien += usize::from(matches!(l, LockName::Alien { .. }));
                    held.entry(e.ctx).or_default().push(l);
                }
                EventKind::LockReleased(
                    l @ (LockName::ListLock { .. } | LockName::Alien { .. }),
                ) => {
                    let top = held.entry(e.ctx).or_default().pop();
                    assert_eq!(top, Some(l), "era {era}: event {} releases {l}", e.seq);
                }
                _ => {}
            }
        }
        assert!(
            taken > 0 && alien > 0,
            "era {era}: {taken} locks, {alien} alien"
        );
        for (ctx, locks) in held {
            assert!(
                locks.is_empty(),
                "era {era}: ctx {ctx} still holds {locks:?}"
            );
        }
    }
}

/// The concurrency points passed with interrupts off are recorded like every other one:
/// `list_lock` in a refill, an alien lock in a remote free, the reaper's trylock of a
/// non-empty alien array. The site map checks that loom reaches each of them; it can
/// only do so if a pass records it.
#[test]
fn the_sites_passed_under_an_irq_off_token_are_recorded() {
    for era in ERAS {
        let m = numa(
            era,
            2,
            2,
            FaultInjection::default(),
            MutationSet::NONE,
            false,
        );
        let c = create(&m, "st", 1300);
        let o = alloc(&m, 0, &c);
        assert!(m.sites().contains(&Site::ListLock), "era {era}: list_lock");
        assert!(!m.sites().contains(&Site::AlienLock), "era {era}");
        free(&m, 1, &c, &[o]);
        assert!(
            m.sites().contains(&Site::AlienLock),
            "era {era}: alien lock"
        );
        m.reaper(1, "reap1").cache_reap();
        assert!(
            m.sites().contains(&Site::AlienTrylock),
            "era {era}: reap_alien's trylock"
        );
    }
}

/// `plan_migrations` moves a task to the next CPU of its list each time an irq-enable
/// window closes: the first grow moves it to cpu1, the second back to cpu0, and the
/// third, with the list used up, leaves it where it is.
#[test]
fn plan_migrations_moves_the_task_once_per_window_in_list_order() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "pm", 1300);
        tune(&m, &c, 1, 1, 0);
        let mut t = m.task(0, "t");
        t.plan_migrations([1, 0]);
        let mut objs = Vec::new();
        let mut cpus = Vec::new();
        for _ in 0..9 {
            objs.push(
                t.kmem_cache_alloc(&c, Gfp::KERNEL)
                    .unwrap()
                    .expect("memory"),
            );
            cpus.push(t.cpu());
        }
        let grows = m.node_snapshot(&c, 0).all_slabs().count();
        assert!(grows >= 3, "era {era}: {grows} grows");
        assert_eq!(cpus.first(), Some(&1), "era {era}: after the first window");
        assert!(
            cpus.contains(&0) && cpus.last() == Some(&0),
            "era {era}: {cpus:?}"
        );
        let moves = cpus.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(
            moves, 1,
            "era {era}: one move after the first window: {cpus:?}"
        );
        for o in objs {
            t.kmem_cache_free(&c, o).unwrap();
        }
    }
}

/// B.20 (4.4, "mm: slab: Only move management objects off-slab for sizes larger than
/// KMALLOC_MIN_SIZE", Message-ID `1446724235-31400-1-git-send-email-catalin.marinas@arm.com`):
/// on arm64 (`KMALLOC_MIN_SIZE` 128) a lock-debugging build has a 152-byte
/// `kmem_cache_node`, so kmalloc-256 is the bootstrap class and kmalloc-128 is created
/// after `slab_early_init`. The fixed threshold (129) keeps it on-slab; the pre-4.4 one
/// (`PAGE_SIZE >> 5`, the mutation) sends it off-slab with a 32-byte freelist whose class
/// is kmalloc-128 itself, and its first grow recurses into itself (4.3 hit the `BUG_ON`
/// of a NULL `freelist_cache` at boot instead).
#[test]
fn b20_an_arm64_lockdep_boot_makes_kmalloc_128_its_own_freelist_cache() {
    use slab_model::geometry::DescriptorSource;
    let profile = ArchProfile {
        kmalloc_min_size: 128,
        arch_kmalloc_minalign: 128,
        arch_slab_minalign: 8,
        cache_line_size: 128,
        spinlock_size: 56,
        ..ArchProfile::tiny()
    };
    let boot = |mutations| {
        let mut cfg = MachineConfig::new(profile.clone(), Era::B);
        cfg.kmalloc = KmallocSetup::UpTo(512);
        cfg.mutations = mutations;
        Machine::new(cfg).expect("boot")
    };
    let kmalloc_128 = |m: &M| {
        m.kmalloc_slots()
            .iter()
            .flatten()
            .find(|s| s.size == 128)
            .map(|s| s.cache.clone())
            .expect("kmalloc-128")
    };
    let m: M = boot(MutationSet::NONE);
    assert_eq!(kmalloc_128(&m).geo.descriptor, DescriptorSource::OnSlab);
    let o = alloc(&m, 0, &kmalloc_128(&m));
    free(&m, 0, &kmalloc_128(&m), &[o]);
    m.audit().assert_ok();

    let m: M = boot(MutationSet::only(Mutation::OffslabSelfDescriptor));
    let c = kmalloc_128(&m);
    assert_eq!(
        (c.geo.descriptor, c.num(), c.geo.mgmt_size),
        (DescriptorSource::SelfCache, 32, 32)
    );
    let msg = panic_of(|| {
        let _ = m.task(0, "t").kmem_cache_alloc(&c, Gfp::KERNEL);
    });
    assert!(msg.contains("cache_grow recursion"), "{msg}");
}

/// With `tune-frees-array-early` the 2.6.24 tuner swaps a CPU's array without waiting for
/// that CPU: if the CPU has interrupts off at that moment (it is inside
/// `____cache_alloc` or `__cache_free`, using the array), the std backend reports the
/// race at the swap instead of letting the tuner free an array in use. The counterpart of
/// `tune_frees_array_early_alone_swaps_the_arrays_like_the_faithful_tune`.
#[test]
fn tune_frees_array_early_reports_a_swap_under_a_cpu_with_interrupts_off() {
    let m = mutated(
        Era::A,
        MutationSet::only(Mutation::TuneFreesArrayEarly),
        false,
    );
    let c = create(&m, "tr", 500);
    let msg = with_irqs_off_on(&m, 1, || {
        panic_of(|| {
            m.tuner(0, "tuner")
                .do_tune_cpucache_checked(&c, 8, 4, 0)
                .expect("valid tunables");
        })
    });
    assert!(
        msg.contains("data race") && msg.contains("cpu1's array_cache"),
        "{msg}"
    );
}

/// `drain_array` of another CPU's array (the reap work running on the wrong CPU, B.27)
/// touches that array without its owner's protection: if the owner has interrupts off
/// at that moment, the std backend reports the race instead of draining an array in use.
#[test]
fn draining_another_cpus_array_while_it_has_interrupts_off_is_a_reported_race() {
    for era in ERAS {
        let m = mutated(era, MutationSet::NONE, false);
        let c = create(&m, "dr", 500);
        let objs = alloc_n(&m, 1, &c, 3);
        free(&m, 1, &c, &objs);
        assert!(
            ac(&m, &c, 1).avail() > 0,
            "era {era}: cpu1's array holds objects"
        );
        let msg = with_irqs_off_on(&m, 1, || {
            panic_of(|| {
                m.reaper(0, "reap0").drain_cpu_array(&c, 1, true);
            })
        });
        assert!(
            msg.contains("data race") && msg.contains("cpu1's array_cache"),
            "era {era}: {msg}"
        );
    }
}

/// `cpu_cache_get` is a concurrency point only in 4.4, where `cachep->cpu_cache` is a
/// per-CPU pointer the tuner republishes (`__do_tune_cpucache`); 2.6.24's
/// `cachep->array[cpu]` is read under the irq-off section that also protects its swap,
/// so neither the allocation path nor the reaper passes a `read(cpu_cache)` site there.
#[test]
fn read_cpu_cache_is_a_site_of_4_4_only() {
    for era in ERAS {
        let m = mutated(era, MutationSet::NONE, false);
        let c = create(&m, "rc", 500);
        let want = era == Era::B;
        let reaped = {
            m.advance_jiffies(4 * HZ);
            m.reaper(0, "reap0").cache_reap();
            m.sites().contains(&Site::ReadCpuCache)
        };
        if era == Era::A {
            assert!(!reaped, "era A: cache_reap");
        }
        let o = alloc(&m, 0, &c);
        assert_eq!(
            m.sites().contains(&Site::ReadCpuCache),
            want,
            "era {era}: after an allocation"
        );
        free(&m, 0, &c, &[o]);
        assert_eq!(
            m.sites().contains(&Site::ReadCpuCache),
            want,
            "era {era}: after a free"
        );
    }
}

/// The page allocator may sleep only inside `cache_grow`'s irq-enable window: a
/// `GFP_ATOMIC` grow has no window (`local_flags & __GFP_WAIT` is clear), so a migration
/// planned for "after the page allocation" waits for the next grow that sleeps.
#[test]
fn an_atomic_grow_never_sleeps_after_its_page_allocation() {
    for era in ERAS {
        let m = mutated(era, MutationSet::NONE, true);
        let c = create(&m, "as", 1300);
        tune(&m, &c, 1, 1, 0);
        let mut t = m.task(0, "t");
        t.plan_migration_at(MigrationPoint::AfterGetpages, 1);
        let a = t
            .kmem_cache_alloc(&c, Gfp::ATOMIC)
            .unwrap()
            .expect("memory");
        assert_eq!(
            m.node_snapshot(&c, 0).all_slabs().count(),
            1,
            "era {era}: grew"
        );
        assert_eq!(t.cpu(), 0, "era {era}: no sleep without the window");
        // Two more objects use up the slab; the fourth allocation grows with a window.
        let mut objs = vec![a];
        for _ in 0..3 {
            objs.push(
                t.kmem_cache_alloc(&c, Gfp::KERNEL)
                    .unwrap()
                    .expect("memory"),
            );
        }
        assert_eq!(
            m.node_snapshot(&c, 0).all_slabs().count(),
            2,
            "era {era}: grew again"
        );
        assert_eq!(t.cpu(), 1, "era {era}: slept in the window and moved");
        for o in objs {
            t.kmem_cache_free(&c, o).unwrap();
        }
    }
}

/// After the window `cache_alloc_refill` re-reads its CPU's array (`ac =
/// cpu_cache_get(cachep)`) and retries only if that array is still empty (`if
/// (!ac->avail) goto retry`): a task the scheduler moved to a CPU whose array holds
/// objects takes one of those, and the slab it just grew stays free on the node.
#[test]
fn after_a_migration_into_a_stocked_array_the_refill_does_not_retry() {
    for era in ERAS {
        let m = mutated(era, MutationSet::NONE, true);
        let c = create(&m, "ms", 1300);
        tune(&m, &c, 4, 2, 0);
        // cpu1's array holds objects; node 0 has no free object left.
        let stock = alloc_n(&m, 1, &c, 3);
        free(&m, 1, &c, &stock[..2]);
        assert_eq!(ac(&m, &c, 1).avail(), 2, "era {era}");
        assert_eq!(node(&m, &c).free_objects, 0, "era {era}");
        let mut t = m.task(0, "t");
        t.plan_migration_at(MigrationPoint::WindowClose, 1);
        let o = t
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .unwrap()
            .expect("memory");
        assert_eq!(t.cpu(), 1, "era {era}: moved in the window");
        assert!(stock[..2].contains(&o), "era {era}: one of cpu1's objects");
        assert_eq!(ac(&m, &c, 1).avail(), 1, "era {era}");
        assert_eq!(ac(&m, &c, 0).avail(), 0, "era {era}");
        assert_eq!(
            node(&m, &c).free_objects,
            c.num(),
            "era {era}: the new slab stays free"
        );
        t.kmem_cache_free(&c, o).unwrap();
    }
}

/// `no-recheck-after-grow` is the slip of retrying after every successful grow without
/// looking at the array (the `BUG_ON(ac->avail > 0)` of the retry path is exactly the
/// check the slip skips): after a migration into a stocked array it refills on top of the
/// objects already there, sizing the batch from the stale count, and takes more objects
/// than the node's lists account for — the `free_objects` failure the catalogue
/// describes, not the `BUG_ON`.
#[test]
fn no_recheck_after_grow_refills_on_top_of_a_stocked_array() {
    for era in ERAS {
        let m = mutated(era, MutationSet::only(Mutation::NoRecheckAfterGrow), false);
        let c = create(&m, "mr", 1300);
        tune(&m, &c, 4, 2, 0);
        let stock = alloc_n(&m, 1, &c, 3);
        free(&m, 1, &c, &stock[..2]);
        let mut t = m.task(0, "t");
        t.plan_migration_at(MigrationPoint::WindowClose, 1);
        let msg = panic_of(|| {
            let _ = t.kmem_cache_alloc(&c, Gfp::KERNEL);
        });
        assert!(
            msg.contains("free_objects") && !msg.contains("BUG_ON"),
            "era {era}: {msg}"
        );
    }
}
