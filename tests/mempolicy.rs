//! A task's memory policy and cpuset, as SLAB consults them (mm/slab.c v2.6.24 and
//! v4.4.11 `alternate_node_alloc`, `fallback_alloc`): a preferred or interleaving policy
//! and a slab-spreading cpuset send allocations to other nodes straight from the node
//! lists; interrupts ignore them; `fallback_alloc`'s node scan checks the cpuset hardwall
//! in 2.6.24 and softwall in 4.4 ("slab: fix cpuset check in fallback_alloc", Vladimir
//! Davydov, 2014, Message-ID
//! `8056c9162584fe15df5ad8d5c09db9871d0dc9f8.1413804554.git.vdavydov@parallels.com`).

mod common;

use common::{Cache, M};
use slab_model::mempolicy::{Cpuset, MemPolicy};
use slab_model::{Era, FaultInjection, Gfp, MutationSet, SlabError, SlabFlags};

/// Two CPUs, two nodes (cpu0 on node 0, cpu1 on node 1).
fn two_nodes(era: Era, faults: FaultInjection) -> M {
    common::numa(era, 2, 2, faults, MutationSet::NONE, true)
}

fn cache(m: &M, name: &str, flags: SlabFlags) -> Cache {
    common::create_flags(m, name, 1300, flags)
}

#[test]
fn a_preferred_policy_allocates_from_its_node_and_interrupts_ignore_it() {
    for era in [Era::A, Era::B] {
        let m = two_nodes(era, FaultInjection::default());
        let c = cache(&m, "mp", SlabFlags::default());
        let mut t = m.task(0, "cpu0");
        t.set_mempolicy(Some(MemPolicy::Preferred(1))).unwrap();
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(m.page_node_of(o), Some(1), "era {era}");
        // Straight from node 1's lists: CPU0's array was not refilled.
        assert_eq!(m.cpu_array_snapshot(&c, 0).avail(), 0, "era {era}");
        assert!(m
            .covered()
            .contains(&slab_model::trace::KFn::AlternateNodeAlloc));
        // An interrupt handler has no policy (in_interrupt): local node.
        let mut i = m.interrupt(0, "irq0");
        let a = i.kmem_cache_alloc(&c, Gfp::ATOMIC).unwrap().unwrap();
        assert_eq!(m.page_node_of(a), Some(0), "era {era}");
        // __GFP_THISNODE skips alternate_node_alloc too.
        let b = t
            .kmem_cache_alloc(&c, Gfp::KERNEL | Gfp::THISNODE)
            .unwrap()
            .unwrap();
        assert_eq!(m.page_node_of(b), Some(0), "era {era}");
        for x in [o, a, b] {
            t.kmem_cache_free(&c, x).unwrap();
        }
        m.audit().assert_ok();
    }
}

#[test]
fn an_interleaving_policy_alternates_nodes() {
    for era in [Era::A, Era::B] {
        let m = two_nodes(era, FaultInjection::default());
        let c = cache(&m, "il", SlabFlags::default());
        let mut t = m.task(0, "cpu0");
        t.set_mempolicy(Some(MemPolicy::Interleave)).unwrap();
        // interleave_nodes: 0 (this node: the per-CPU path), 1, 0, 1.
        let objs: Vec<u64> = (0..4)
            .map(|_| t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap())
            .collect();
        let nodes: Vec<_> = objs.iter().map(|&o| m.page_node_of(o).unwrap()).collect();
        assert_eq!(nodes, [0, 1, 0, 1], "era {era}");
        for o in objs {
            t.kmem_cache_free(&c, o).unwrap();
        }
        m.audit().assert_ok();
    }
}

#[test]
fn a_spreading_cpuset_spreads_only_caches_with_slab_mem_spread() {
    for era in [Era::A, Era::B] {
        let m = two_nodes(era, FaultInjection::default());
        let spread = cache(&m, "spread", SlabFlags::MEM_SPREAD);
        let plain = cache(&m, "plain", SlabFlags::default());
        let mut t = m.task(0, "cpu0");
        t.set_cpuset(Some(Cpuset {
            mems: 0b10,
            spread_slab: true,
        }))
        .unwrap();
        let s = t.kmem_cache_alloc(&spread, Gfp::KERNEL).unwrap().unwrap();
        let p = t.kmem_cache_alloc(&plain, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(
            m.page_node_of(s),
            Some(1),
            "era {era}: spread to the cpuset's node"
        );
        assert_eq!(m.page_node_of(p), Some(0), "era {era}: no SLAB_MEM_SPREAD");
        t.kmem_cache_free(&spread, s).unwrap();
        t.kmem_cache_free(&plain, p).unwrap();
        m.audit().assert_ok();
    }
}

#[test]
fn fallback_alloc_checks_the_cpuset_hardwall_in_2_6_24_and_softwall_in_4_4() {
    for era in [Era::A, Era::B] {
        // Node 0 has no memory; node 1 has a slab with free objects on its lists.
        let m = two_nodes(
            era,
            FaultInjection {
                exhausted_node: Some(0),
                ..Default::default()
            },
        );
        let c = cache(&m, "cs", SlabFlags::default());
        let mut cpu1 = m.task(1, "cpu1");
        let a = cpu1.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        // Give back the array's objects: they land on node 1's lists.
        cpu1.kmem_cache_shrink(&c).unwrap();
        let n1 = m.node_snapshot(&c, 1);
        let slabs_before = n1.all_slabs().count();
        assert_eq!(n1.free_objects, c.num() - 1, "era {era}: setup");
        // A task on node 0 whose cpuset holds only node 0 (not hardwalled).
        let mut t = m.task(0, "cpu0");
        t.set_cpuset(Some(Cpuset {
            mems: 0b01,
            spread_slab: false,
        }))
        .unwrap();
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(m.page_node_of(o), Some(1), "era {era}");
        let slabs_after = m.node_snapshot(&c, 1).all_slabs().count();
        match era {
            // 2.6.24: the hardwall check skips node 1's free objects; the page allocator
            // (softwall for GFP_KERNEL) still gives a node-1 page: one more slab.
            Era::A => assert_eq!(slabs_after, slabs_before + 1, "era A grows"),
            // 4.4: the softwall check lets the scan reuse node 1's free object.
            Era::B => assert_eq!(slabs_after, slabs_before, "era B reuses"),
        }
        t.kmem_cache_free(&c, o).unwrap();
        cpu1.kmem_cache_free(&c, a).unwrap();
        m.audit().assert_ok();
    }
}

#[test]
fn bad_policies_are_typed_errors() {
    let m = two_nodes(Era::B, FaultInjection::default());
    let mut t = m.task(0, "cpu0");
    assert_eq!(
        t.set_mempolicy(Some(MemPolicy::Preferred(2))),
        Err(SlabError::NoSuchNode { node: 2, nodes: 2 })
    );
    let empty = Cpuset {
        mems: 0,
        spread_slab: true,
    };
    assert_eq!(
        t.set_cpuset(Some(empty)),
        Err(SlabError::InvalidCpuset { mems: 0, nodes: 2 })
    );
    let mut i = m.interrupt(0, "irq0");
    assert_eq!(
        i.set_mempolicy(Some(MemPolicy::Interleave)),
        Err(SlabError::NotATask {
            what: "set_mempolicy"
        })
    );
    m.audit().assert_ok();
}

/// A task with neither a memory policy nor a spreading cpuset never enters
/// `alternate_node_alloc` (mm/slab.c v2.6.24 and v4.4.11 `__do_cache_alloc`: only
/// `if (current->flags & (PF_SPREAD_SLAB | PF_MEMPOLICY))`), on one node or two.
#[test]
fn without_a_policy_the_alternate_node_path_is_not_entered() {
    use slab_model::trace::KFn;
    for era in [Era::A, Era::B] {
        let m = two_nodes(era, FaultInjection::default());
        let c = cache(&m, "np", SlabFlags::default());
        let objs = common::alloc_n(&m, 0, &c, 3);
        common::free(&m, 0, &c, &objs);
        assert!(
            !m.covered().contains(&KFn::AlternateNodeAlloc),
            "era {era}: alternate_node_alloc without a policy"
        );
        // A policy on a single-node machine has no other node to go to either.
        let m = common::numa(
            era,
            2,
            1,
            FaultInjection::default(),
            MutationSet::NONE,
            true,
        );
        let c = cache(&m, "np", SlabFlags::default());
        let mut t = m.task(0, "cpu0");
        t.set_mempolicy(Some(MemPolicy::Interleave)).unwrap();
        let o = t.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        t.kmem_cache_free(&c, o).unwrap();
        assert!(
            !m.covered().contains(&KFn::AlternateNodeAlloc),
            "era {era}: alternate_node_alloc on one node"
        );
        m.audit().assert_ok();
    }
}
