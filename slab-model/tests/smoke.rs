use slab_model::sync::StdPlatform;
use slab_model::*;

fn machine(era: Era) -> Machine<StdPlatform> {
    let mut cfg = MachineConfig::new(ArchProfile::tiny(), era);
    cfg.audit_every_op = true;
    Machine::new(cfg).expect("boot")
}

#[test]
fn alloc_free_roundtrip_both_eras() {
    for era in [Era::A, Era::B] {
        let m = machine(era);
        let c = m
            .kmem_cache_create(CreateArgs {
                name: "t".into(),
                size: 1000,
                align: 0,
                flags: SlabFlags::default(),
                ctor: true,
            })
            .unwrap();
        let mut t = m.task(0, "task0");
        let mut objs = Vec::new();
        for _ in 0..50 {
            objs.push(t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap());
        }
        let mut t1 = m.task(1, "task1");
        for o in objs.drain(..) {
            t1.kmem_cache_free(&c, o).unwrap();
        }
        let k = t.kmalloc(100, Gfp::KERNEL).unwrap().unwrap();
        t.kfree(k).unwrap();
        assert!(matches!(t.kfree(k), Err(SlabError::DoubleFree { .. })));
        m.audit().assert_ok();
        println!("{}", m.slabinfo());
        assert!(!t.kmem_cache_shrink(&c).unwrap());
        t.kmem_cache_destroy(&c).unwrap();
        m.audit().assert_ok();
    }
}
