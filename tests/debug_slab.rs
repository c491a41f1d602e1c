//! CONFIG_DEBUG_SLAB at run time (issue: a debug cache crashed the model). With red zones
//! `obj_offset` is a word: the caller must get slot + `obj_offset` (2.6.24
//! `cache_alloc_debugcheck_after`, 4.4 likewise) and free, the audit and `check_free` take
//! that address back. Before the fix the first free failed `NotObjectStart` and the audit
//! reported objects in a cpu array as free in their slab.

mod common;
use common::*;
use slab_model::*;

#[test]
fn a_red_zoned_cache_allocates_and_frees_through_every_path() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = create_flags(&m, "dbg", 200, SlabFlags::RED_ZONE | SlabFlags::STORE_USER);
        let off = c.geo.obj_offset as u64;
        assert!(off > 0, "era {era}: red zones put the object behind a word");
        let mut t = m.task(0, "t");
        // Enough to refill, grow, flush and free whole slabs.
        let objs: Vec<u64> = (0..3 * c.geo.num + 5)
            .map(|_| {
                t.kmem_cache_alloc(&c, Gfp::KERNEL)
                    .expect("valid")
                    .expect("memory")
            })
            .collect();
        for &o in &objs {
            let page_start = o & !(m.profile().page_size as u64 - 1);
            assert_ne!(
                o, page_start,
                "era {era}: {o:#x} is a slot start, not the object"
            );
        }
        for o in objs {
            t.kmem_cache_free(&c, o)
                .expect("the address handed out frees");
        }
        assert!(m.audit().is_ok(), "era {era}: {}", m.audit());
        // kmalloc classes of a debug boot profile, and kfree.
        let p = t.kmalloc(100, Gfp::KERNEL).expect("valid").expect("memory");
        t.kfree(p).expect("kfree of a kmalloc'd object");
        assert!(m.audit().is_ok(), "era {era}: {}", m.audit());
    }
}

#[test]
fn a_debug_cache_on_two_nodes_allocates_node_local_and_remote() {
    for era in ERAS {
        let m = debug_machine(era, 2);
        let c = create_flags(&m, "dbg2", 300, SlabFlags::RED_ZONE);
        let mut t = m.task(0, "t");
        // ____cache_alloc_node (kmem_cache_alloc_node of the other node) and the alien
        // free path back.
        let remote = t
            .kmem_cache_alloc_node(&c, Gfp::KERNEL, 1)
            .expect("valid")
            .expect("memory");
        let local = t
            .kmem_cache_alloc(&c, Gfp::KERNEL)
            .expect("valid")
            .expect("memory");
        t.kmem_cache_free(&c, remote).expect("remote free");
        t.kmem_cache_free(&c, local).expect("local free");
        assert!(m.audit().is_ok(), "era {era}: {}", m.audit());
    }
}

// ---------------------------------------------------------------------------------------
// The checks, at the kernel's points, with the kernel's words. The layout and constants
// are the kernel's (include/linux/poison.h; mm/slab.c `dbg_redzone1`, `dbg_redzone2`,
// `dbg_userword` in 2.6.24 and 4.4), not read back from the model.

use slab_model::debug::{
    SlabReport, POISON_END, POISON_FREE, POISON_INUSE, RED_ACTIVE, RED_INACTIVE,
};

const CALLER_ALLOC: u64 = 0xffff_ffff_8100_1234;
const CALLER_FREE: u64 = 0xffff_ffff_8100_5678;

fn u64_at(m: &M, addr: u64) -> u64 {
    u64::from_le_bytes(m.read_memory(addr, 8).try_into().unwrap())
}

/// A 200-byte debug cache on x86-64: FORCED_DEBUG adds RED_ZONE, STORE_USER and POISON
/// (size < 4096). obj_offset 8; size 200 + 16 (red zones) + 8 (REDZONE_ALIGN for the
/// user word) = 224; red zone 2 at 224 - 8 - 8 = 208 = obj_offset + 200, the user word at
/// 224 - 8 = 216.
fn dbg_cache(m: &M, name: &str) -> Cache {
    let c = create(m, name, 200);
    assert_eq!(
        (c.geo.obj_offset, c.geo.size, c.geo.object_size),
        (8, 224, 200)
    );
    assert!(c
        .geo
        .flags
        .contains(SlabFlags::RED_ZONE | SlabFlags::STORE_USER | SlabFlags::POISON));
    c
}

fn slot(objp: u64) -> u64 {
    objp - 8
}

fn assert_quiet(m: &M, era: Era) {
    assert!(m.reports().is_empty(), "era {era}: {:?}", m.reports());
    assert!(m.audit().is_ok(), "era {era}: {}", m.audit());
}

/// Exactly one report, returned; the audit stays clean (the corruption was in object
/// bytes only, which the model's bookkeeping never trusts).
fn one_report(m: &M, era: Era) -> SlabReport {
    let mut r = m.take_reports();
    assert_eq!(r.len(), 1, "era {era}: {r:?}");
    assert!(m.audit().is_ok(), "era {era}: {}", m.audit());
    r.pop().unwrap()
}

#[test]
fn allocation_and_free_write_the_kernels_red_zones_poison_and_last_user() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "layout");
        let mut t = m.task(0, "t");
        t.set_caller(CALLER_ALLOC);
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let s = slot(o);
        // cache_alloc_debugcheck_after: red zones active, POISON_INUSE with the end
        // marker, the caller in the last word.
        assert_eq!(u64_at(&m, s), RED_ACTIVE, "era {era}: red zone 1");
        assert_eq!(u64_at(&m, s + 208), RED_ACTIVE, "era {era}: red zone 2");
        assert_eq!(u64_at(&m, s + 216), CALLER_ALLOC, "era {era}: last user");
        let mut inuse = vec![POISON_INUSE; 200];
        inuse[199] = POISON_END;
        assert_eq!(m.read_memory(o, 200), inuse, "era {era}");
        t.set_caller(CALLER_FREE);
        t.kmem_cache_free(&c, o).unwrap();
        // cache_free_debugcheck: inactive again, POISON_FREE, the freeing caller.
        assert_eq!(u64_at(&m, s), RED_INACTIVE, "era {era}");
        assert_eq!(u64_at(&m, s + 208), RED_INACTIVE, "era {era}");
        assert_eq!(u64_at(&m, s + 216), CALLER_FREE, "era {era}");
        let mut free = vec![POISON_FREE; 200];
        free[199] = POISON_END;
        assert_eq!(m.read_memory(o, 200), free, "era {era}");
        // The arrays hold the slot, as the kernel's do.
        assert_eq!(ac(&m, &c, 0).entry.last(), Some(&s), "era {era}");
        // A never-allocated object of the slab is poisoned by cache_init_objs with a
        // null last user.
        let other = s + 224;
        assert_eq!(u64_at(&m, other), RED_INACTIVE);
        assert_eq!(u64_at(&m, other + 216), 0);
        assert_eq!(m.read_memory(other + 8, 200), free);
        assert_quiet(&m, era);
    }
}

#[test]
fn writing_past_the_end_is_found_by_verify_redzone_free_at_kmem_cache_free() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "pastend");
        let mut t = m.task(0, "t");
        let keep = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let keep_bytes = m.read_memory(slot(keep), 224);
        // One byte past the 200-byte object is the first byte of red zone 2.
        t.caller_write(o, 200, &[0x00]).unwrap();
        assert_quiet(&m, era);
        t.kmem_cache_free(&c, o).unwrap();
        match one_report(&m, era) {
            SlabReport::SlabError {
                function,
                cache,
                message,
                objp,
                redzones,
            } => {
                assert_eq!(function, "cache_free_debugcheck");
                assert_eq!(cache, "pastend");
                assert_eq!(message, "memory outside object was overwritten");
                assert_eq!(objp, Some(slot(o)));
                assert_eq!(redzones, Some((RED_ACTIVE, RED_ACTIVE & !0xff)));
            }
            r => panic!("era {era}: {r:?}"),
        }
        // Nothing else changed: the neighbour is intact and frees silently.
        assert_eq!(m.read_memory(slot(keep), 224), keep_bytes, "era {era}");
        t.kmem_cache_free(&c, keep).unwrap();
        assert_quiet(&m, era);
    }
}

#[test]
fn writing_before_the_start_is_found_in_red_zone_one() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "before");
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.caller_write(o, -2, &[0xde, 0xad]).unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        let r = one_report(&m, era);
        assert_eq!(
            r.message(),
            "memory outside object was overwritten",
            "era {era}"
        );
        assert!(
            r.to_string().starts_with(
                "slab error in cache_free_debugcheck(): cache `before': memory outside object was overwritten"
            ),
            "era {era}: {r}"
        );
    }
}

#[test]
fn writing_inside_a_live_object_is_not_a_finding() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "inside");
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.caller_write(o, 0, &[0x11; 200]).unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        let again = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(again, o, "era {era}: LIFO per-CPU array");
        assert_quiet(&m, era);
    }
}

#[test]
fn a_write_after_free_is_found_by_check_poison_obj_when_the_object_is_reallocated() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "uaf");
        let mut t = m.task(0, "t");
        t.set_caller(CALLER_FREE);
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        t.caller_write(o, 37, &[0x00, 0x01]).unwrap();
        assert_quiet(&m, era);
        let again = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(again, o);
        match one_report(&m, era) {
            SlabReport::SlabCorruption {
                function,
                cache,
                start,
                len,
                first_bad,
                lines,
                last_user,
            } => {
                assert_eq!(function, "cache_alloc_debugcheck_after");
                assert_eq!((cache.as_str(), start, len, first_bad), ("uaf", o, 200, 37));
                // One dump line: the 16 bytes at 0x20 holding both bad bytes.
                let mut want = vec![POISON_FREE; 16];
                want[5] = 0x00;
                want[6] = 0x01;
                assert_eq!(lines.len(), 1);
                assert_eq!((lines[0].offset, &lines[0].bytes), (0x20, &want));
                assert_eq!(last_user, Some(CALLER_FREE), "print_objinfo's last user");
            }
            r => panic!("era {era}: {r:?}"),
        }
        // The allocation went on: the object is POISON_INUSE again.
        assert_eq!(m.read_memory(o, 1), vec![POISON_INUSE]);
    }
}

#[test]
fn a_write_after_free_in_a_dying_slab_is_found_by_slab_destroy() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "dying");
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        t.caller_write(o, 199, &[0x6b]).unwrap(); // the end marker overwritten
                                                  // kmem_cache_shrink: drain_cpu_caches frees the array into the slab, the empty
                                                  // slab is destroyed, slab_destroy checks every object.
        t.kmem_cache_shrink(&c).unwrap();
        let r = one_report(&m, era);
        let want = match era {
            Era::A => "slab_destroy_objs",
            Era::B => "slab_destroy_debugcheck",
        };
        assert_eq!(
            (r.function(), r.message()),
            (want, "Slab corruption"),
            "era {era}"
        );
        assert!(r
            .to_string()
            .starts_with(&format!("Slab corruption: dying start={o:#x}, len=200")));
    }
}

#[test]
fn a_double_free_is_reported_the_kernels_way_on_a_debug_cache_and_typed_without_debug() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "twice");
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        // The kernel prints and carries on; nothing changes in the model.
        let before = fingerprint(&m, &c);
        t.kmem_cache_free(&c, o).expect("reported, not refused");
        assert_eq!(fingerprint(&m, &c), before, "era {era}");
        let r = one_report(&m, era);
        assert_eq!(
            r.to_string().lines().next().unwrap(),
            "slab error in cache_free_debugcheck(): cache `twice': double free detected",
            "era {era}"
        );
        // kfree finds it the same way where the kmalloc cache has red zones. Era A's
        // size-128 keeps them (STORE_USER overrides SLAB_HWCACHE_ALIGN, 2.6.24
        // kmem_cache_create); era B's kmalloc-128 is cache-line aligned, 64 > 8, so 4.4's
        // __kmem_cache_create drops RED_ZONE and STORE_USER and only the typed error is
        // left.
        let p = t.kmalloc(100, Gfp::KERNEL).unwrap().unwrap();
        t.kfree(p).unwrap();
        match era {
            Era::A => {
                t.kfree(p).expect("reported");
                assert_eq!(one_report(&m, era).message(), "double free detected");
            }
            Era::B => {
                assert!(matches!(t.kfree(p), Err(SlabError::DoubleFree { .. })));
                assert_quiet(&m, era);
            }
        }

        let plain = machine(era);
        let c = create(&plain, "twice", 200);
        let mut t = plain.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        assert!(matches!(
            t.kmem_cache_free(&c, o),
            Err(SlabError::DoubleFree { .. })
        ));
        assert!(plain.reports().is_empty());
    }
}

#[test]
fn kmem_flagcheck_refuses_a_dma_mismatch_on_a_debug_kernel_only() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let dma = create_flags(&m, "dma", 64, SlabFlags::CACHE_DMA);
        let plain = create(&m, "plain", 64);
        let mut t = m.task(0, "t");
        let before = fingerprint(&m, &dma);
        assert!(matches!(
            t.kmem_cache_alloc(&dma, Gfp::KERNEL),
            Err(SlabError::KmemFlagcheck {
                cache_dma: true,
                ..
            })
        ));
        assert!(matches!(
            t.kmem_cache_alloc(&plain, Gfp::KERNEL | Gfp::DMA),
            Err(SlabError::KmemFlagcheck {
                cache_dma: false,
                ..
            })
        ));
        assert_eq!(fingerprint(&m, &dma), before);
        let o = t
            .kmem_cache_alloc(&dma, Gfp::KERNEL | Gfp::DMA)
            .unwrap()
            .unwrap();
        t.kmem_cache_free(&dma, o).unwrap();
        assert_quiet(&m, era);

        let nd = machine(era);
        let dma = create_flags(&nd, "dma", 64, SlabFlags::CACHE_DMA);
        let mut t = nd.task(0, "t");
        let o = t.kmem_cache_alloc(&dma, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&dma, o).unwrap();
    }
}

#[test]
fn a_wild_write_is_refused_before_anything_is_written() {
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = dbg_cache(&m, "wild");
        let t = m.task(0, "t");
        let mut t2 = m.task(0, "t2");
        let o = t2.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let page = m.profile().page_size as u64;
        let s_mem_far = (o & !(page - 1)) + page * 64;
        for (addr, off) in [(o, -(1 << 20)), (s_mem_far, 0), (0, 0)] {
            assert!(matches!(
                t.caller_write(addr, off, &[1]),
                Err(SlabError::WildWrite { .. })
            ));
        }
        assert!(matches!(
            t.caller_write(o, 0, &[]),
            Err(SlabError::WildWrite { .. })
        ));
        assert_quiet(&m, era);
    }
}

/// check_slabp (era A) walks the bufctl chain around every refill: a chain that comes
/// back to object 0 is "Internal list corruption", a BUG. Era B has no walk.
#[test]
fn check_slabp_finds_a_corrupt_bufctl_chain_in_era_a() {
    let profile = ArchProfile {
        debug: true,
        ..ArchProfile::tiny()
    };
    let mut cfg = MachineConfig::new(profile, Era::A);
    cfg.kmalloc = KmallocSetup::UpTo(4096);
    cfg.mutations = MutationSet::only(Mutation::FreelistDuplicate);
    let m = Machine::new(cfg).unwrap();
    let c = create(&m, "chain", 200);
    let msg = panic_of(|| {
        let mut t = m.task(0, "t");
        let _ = t.kmem_cache_alloc(&c, Gfp::KERNEL);
    });
    assert!(
        msg.starts_with("slab: Internal list corruption detected in cache 'chain'"),
        "{msg}"
    );
}

/// A debug cache with a constructor and `SLAB_DESTROY_BY_RCU`: FORCED_DEBUG adds red
/// zones and the last-user word but not POISON (an RCU cache's freed objects must stay
/// readable), so the constructor runs in `cache_init_objs` when the slab is built — on
/// the object itself, `obj_offset` past the slot's first red zone — and not in
/// `cache_alloc_debugcheck_after`. Every object of the new slab reads constructed and
/// its red zones stay intact: active on the allocated object, inactive on the others.
#[test]
fn a_debug_cache_with_a_constructor_constructs_each_object_inside_its_red_zones() {
    use slab_model::grow::CTOR_PATTERN;
    for era in ERAS {
        let m = debug_machine(era, 1);
        let c = m
            .kmem_cache_create(CreateArgs {
                name: "dctor".into(),
                size: 200,
                align: 0,
                flags: SlabFlags::DESTROY_BY_RCU,
                ctor: true,
            })
            .unwrap();
        assert!(
            c.geo
                .flags
                .contains(SlabFlags::RED_ZONE | SlabFlags::STORE_USER),
            "era {era}"
        );
        assert!(!c.geo.flags.contains(SlabFlags::POISON), "era {era}");
        assert_eq!((c.geo.obj_offset, c.geo.size), (8, 224), "era {era}");
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let first = node(&m, &c).all_slabs().next().expect("one slab").s_mem;
        for i in 0..c.num() as u64 {
            let s = first + i * 224;
            assert_eq!(
                m.read_memory(s + 8, 200),
                vec![CTOR_PATTERN; 200],
                "era {era}: object {i} constructed"
            );
            let rz1 = if s + 8 == o { RED_ACTIVE } else { RED_INACTIVE };
            assert_eq!(u64_at(&m, s), rz1, "era {era}: object {i}'s red zone 1");
            assert_eq!(
                u64_at(&m, s + 208),
                rz1,
                "era {era}: object {i}'s red zone 2"
            );
        }
        t.kmem_cache_free(&c, o).unwrap();
        assert_quiet(&m, era);
    }
}
