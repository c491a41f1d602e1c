//! Caller misuse (typed errors before any state change): every misuse
//! returns its typed `SlabError` and is detected before anything changes — the audit
//! passes and /proc/slabinfo, the CPU arrays and the node lists are identical before and
//! after. Both eras.

mod common;

use common::*;
use slab_model::kmalloc_sizes::kmalloc_max_size;
use slab_model::*;

/// A cache with objects spread over CPU arrays and slabs, plus three live objects.
fn setup(era: Era) -> (M, Cache, Vec<u64>) {
    let m = machine(era);
    let c = create(&m, "mu", 1000);
    let objs = alloc_n(&m, 0, &c, 10);
    free(&m, 1, &c, &objs[3..10]);
    (m, c, objs[0..3].to_vec())
}

#[test]
fn double_free_is_rejected() {
    for era in ERAS {
        let (m, c, live) = setup(era);
        let mut t = m.task(0, "t");
        t.kmem_cache_free(&c, live[0]).unwrap();
        let before = fingerprint(&m, &c);
        let want = SlabError::DoubleFree {
            cache: "mu".into(),
            addr: live[0],
        };
        assert_eq!(
            t.kmem_cache_free(&c, live[0]),
            Err(want.clone()),
            "era {era}"
        );
        assert_eq!(t.kfree(live[0]), Err(want));
        assert_eq!(fingerprint(&m, &c), before);
    }
}

#[test]
fn foreign_pointer_is_rejected() {
    for era in ERAS {
        let (m, c, _live) = setup(era);
        // A slab page that has gone back to the page allocator: no longer PG_slab.
        let gone = create(&m, "gone", 1000);
        let mut t = m.task(0, "t");
        let x = t.kmem_cache_alloc(&gone, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&gone, x).unwrap();
        assert!(!t.kmem_cache_shrink(&gone).unwrap());
        let before = fingerprint(&m, &c);
        let beyond = m.profile().page_offset + m.profile().ram_bytes + 0x1000;
        for p in [0x1000, beyond, x] {
            assert_eq!(
                t.kfree(p),
                Err(SlabError::NotSlabObject { addr: p }),
                "era {era} {p:#x}"
            );
            assert_eq!(
                t.kmem_cache_free(&c, p),
                Err(SlabError::NotSlabObject { addr: p })
            );
        }
        assert_eq!(fingerprint(&m, &c), before);
    }
}

#[test]
fn interior_and_misaligned_pointers_are_rejected() {
    for era in ERAS {
        let (m, c, live) = setup(era);
        let slab = node(&m, &c).all_slabs().next().unwrap().clone();
        // Where object `num` would start: on an object boundary, still inside the slab's
        // page (the slab's unused tail), so only the index bound rejects it.
        let past_last = slab.s_mem + (c.num() * c.size()) as u64;
        assert!(
            past_last < slab.base + 4096,
            "era {era}: the test needs a slab whose unused tail holds {past_last:#x}"
        );
        let before = fingerprint(&m, &c);
        let mut t = m.task(0, "t");
        // Inside an object, not word aligned, the on-slab management area, and one
        // object past the last.
        for p in [
            live[0] + 8,
            live[0] + 1,
            live[1] + c.size() as u64 - 1,
            slab.base,
            past_last,
        ] {
            let want = SlabError::NotObjectStart {
                cache: "mu".into(),
                addr: p,
            };
            assert_eq!(
                t.kmem_cache_free(&c, p),
                Err(want.clone()),
                "era {era} {p:#x}"
            );
            assert_eq!(t.kfree(p), Err(want));
        }
        assert_eq!(fingerprint(&m, &c), before);
    }
}

#[test]
fn freeing_into_the_wrong_cache_is_rejected() {
    for era in ERAS {
        let (m, c, live) = setup(era);
        let other = create(&m, "other", 1000);
        let before = fingerprint(&m, &c);
        let mut t = m.task(0, "t");
        assert_eq!(
            t.kmem_cache_free(&other, live[0]),
            Err(SlabError::WrongCache {
                addr: live[0],
                expected: "other".into(),
                actual: "mu".into()
            }),
            "era {era}"
        );
        assert_eq!(fingerprint(&m, &c), before);
        t.kmem_cache_free(&c, live[0]).unwrap();
    }
}

#[test]
fn freeing_an_offslab_descriptor_is_rejected() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "off", 512);
        let desc = c.desc_cache.clone().expect("512-byte objects are off-slab");
        let mut t = m.task(0, "t");
        let _o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let mgmt = node(&m, &c).all_slabs().next().unwrap().mgmt_addr;
        let before = fingerprint(&m, &desc);
        let want = SlabError::NotOwned {
            cache: desc.name.clone(),
            addr: mgmt,
        };
        assert_eq!(t.kfree(mgmt), Err(want.clone()), "era {era}");
        assert_eq!(t.kmem_cache_free(&desc, mgmt), Err(want));
        assert_eq!(fingerprint(&m, &desc), before);
    }
}

#[test]
fn gfp_bits_in_slab_bug_mask_are_rejected() {
    for era in ERAS {
        let (m, c, _live) = setup(era);
        let before = fingerprint(&m, &c);
        let mut t = m.task(0, "t");
        for (gfp, bits) in [
            (Gfp::KERNEL | Gfp::DMA32, 0x04),
            (Gfp::KERNEL | Gfp::HIGHMEM, 0x02),
            (Gfp(Gfp::KERNEL.0 | 1 << 22), 1 << 22),
        ] {
            assert_eq!(
                t.kmem_cache_alloc(&c, gfp),
                Err(SlabError::GfpBugMask { bits }),
                "era {era}"
            );
            assert_eq!(t.kmalloc(100, gfp), Err(SlabError::GfpBugMask { bits }));
        }
        assert_eq!(fingerprint(&m, &c), before);
    }
}

#[test]
fn blocking_gfp_in_interrupt_is_rejected() {
    for era in ERAS {
        let (m, c, _live) = setup(era);
        let before = fingerprint(&m, &c);
        let mut irq = m.interrupt(0, "irq");
        assert_eq!(
            irq.kmem_cache_alloc(&c, Gfp::KERNEL),
            Err(SlabError::SleepInAtomic { gfp: Gfp::KERNEL.0 }),
            "era {era}"
        );
        assert_eq!(
            irq.kmalloc(64, Gfp::KERNEL),
            Err(SlabError::SleepInAtomic { gfp: Gfp::KERNEL.0 })
        );
        assert_eq!(fingerprint(&m, &c), before);
        // GFP_ATOMIC is fine in an interrupt handler.
        let o = irq.kmem_cache_alloc(&c, Gfp::ATOMIC).unwrap().unwrap();
        irq.kmem_cache_free(&c, o).unwrap();
    }
}

#[test]
fn invalid_create_arguments_are_rejected() {
    for era in ERAS {
        let (m, c, _live) = setup(era);
        let before = fingerprint(&m, &c);
        let max = kmalloc_max_size(m.profile(), era);
        let args = |name: &str, size: usize, align: usize, flags: u32| CreateArgs {
            name: name.into(),
            size,
            align,
            flags: SlabFlags(flags),
            ctor: false,
        };
        let cases = [
            (args("", 64, 0, 0), SlabError::NameMissing),
            (args("mu", 64, 0, 0), SlabError::DuplicateCache("mu".into())),
            (
                args("small", 4, 0, 0),
                SlabError::SizeTooSmall { size: 4, min: 8 },
            ),
            (
                args("huge", max + 1, 0, 0),
                SlabError::SizeTooLarge { size: max + 1, max },
            ),
            (
                args("flags", 64, 0, 0x1),
                SlabError::UnknownFlags { bits: 0x1 },
            ),
            (
                args("offslab", 64, 0, 0x8000_0000),
                SlabError::UnknownFlags { bits: 0x8000_0000 },
            ),
            (
                args("align", 64, 3, 0),
                SlabError::InvalidAlign { align: 3 },
            ),
        ];
        for (a, want) in cases {
            assert_eq!(
                m.kmem_cache_create(a.clone()).err(),
                Some(want),
                "era {era}: {a:?}"
            );
        }
        assert_eq!(fingerprint(&m, &c), before, "no cache was created");
    }
}

#[test]
fn invalid_tuning_is_rejected() {
    for era in ERAS {
        let (m, c, _live) = setup(era);
        let before = fingerprint(&m, &c);
        let mut w = m.tuner(0, "echo");
        assert!(matches!(
            w.slabinfo_write("mu 1 2 0"),
            Err(SlabError::InvalidTunables { .. })
        ));
        assert!(matches!(
            w.slabinfo_write("mu 8 4"),
            Err(SlabError::SlabinfoSyntax(_))
        ));
        assert!(matches!(
            w.slabinfo_write("mu x 4 0"),
            Err(SlabError::SlabinfoSyntax(_))
        ));
        assert!(matches!(
            w.slabinfo_write(&format!("mu 8 4 0 {}", " ".repeat(130))),
            Err(SlabError::SlabinfoSyntax(_))
        ));
        assert_eq!(
            w.slabinfo_write("nosuch 8 4 0"),
            Err(SlabError::NoSuchCache("nosuch".into()))
        );
        assert_eq!(fingerprint(&m, &c), before, "era {era}");
    }
}

#[test]
fn operations_on_a_destroyed_cache_are_rejected() {
    for era in ERAS {
        let m = machine(era);
        let c = create(&m, "dead", 1000);
        let mut t = m.task(0, "t");
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        t.kmem_cache_destroy(&c).unwrap();
        let gone = SlabError::CacheDestroyed("dead".into());
        assert_eq!(
            t.kmem_cache_alloc(&c, Gfp::KERNEL),
            Err(gone.clone()),
            "era {era}"
        );
        assert_eq!(t.kmem_cache_destroy(&c), Err(gone.clone()));
        assert_eq!(t.kmem_cache_shrink(&c), Err(gone.clone()));
        assert_eq!(
            m.tuner(0, "echo").do_tune_cpucache_checked(&c, 8, 4, 0),
            Err(gone)
        );
        m.audit().assert_ok();
    }
}
