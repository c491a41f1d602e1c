//! CONFIG_DEBUG_SLAB at run time (issue: a debug cache crashed the model). With red zones
//! `obj_offset` is a word: the caller must get slot + `obj_offset` (2.6.24
//! `cache_alloc_debugcheck_after`, 4.4 likewise) and free, the audit and `check_free` take
//! that address back. Before the fix the first free failed `NotObjectStart` and the audit
//! reported objects in a cpu array as free in their slab.

mod common;
use common::*;
use slab_model::*;

fn debug_machine(era: Era, nodes: usize) -> M {
    let profile = ArchProfile {
        debug: true,
        cpus: 2,
        nodes,
        ..ArchProfile::tiny()
    };
    let mut cfg = MachineConfig::new(profile, era);
    cfg.audit_every_op = true;
    cfg.kmalloc = KmallocSetup::UpTo(4096);
    Machine::new(cfg).expect("a debug machine boots")
}

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
