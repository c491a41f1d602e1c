//! CPU hot-plug, sequentially, against the kernel's rules (mm/slab.c v2.6.24
//! `cpuup_prepare` / `cpuup_canceled`, v4.4.11 the same functions): a dead CPU's objects
//! go back to their slabs; the node's `free_limit` drops by a batch; when the node's last
//! CPU goes, its shared array and alien set are detached (their objects returned) and its
//! free slabs drained, but the node struct stays; bringing the CPU up again re-installs
//! them, with `free_limit` computed before the new CPU counts. Bad requests are typed
//! errors before anything changes. Each known-bad variant is caught.

mod common;

use common::{panic_of, Cache, M};
use slab_model::{Era, FaultInjection, Gfp, Mutation, MutationSet, SlabError};

/// Three CPUs: cpu0 and cpu1 on node 0, cpu2 alone on node 1 (`cpu * nodes / cpus`).
fn machine(era: Era, muts: MutationSet) -> M {
    let m = common::numa(era, 3, 2, FaultInjection::default(), muts, true);
    assert_eq!(
        (0..3)
            .map(|c| m.profile().cpu_to_node(c))
            .collect::<Vec<_>>(),
        [0, 0, 1]
    );
    m
}

/// The same machine with one mutation, audited only where the test says.
fn unaudited(era: Era, mutation: Mutation) -> M {
    common::numa(
        era,
        3,
        2,
        FaultInjection::default(),
        MutationSet::only(mutation),
        false,
    )
}

fn cache(m: &M) -> Cache {
    common::create(m, "hp", 1300)
}

#[test]
fn the_last_cpu_of_a_node_goes_down_and_comes_back() {
    for era in [Era::A, Era::B] {
        let m = machine(era, MutationSet::NONE);
        let c = cache(&m);
        let t = c.tunables();
        // size > 1024: limit 24, batchcount 12, shared 8 (several CPUs), 3 objects a slab.
        assert_eq!((t.limit, t.batchcount, t.shared), (24, 12, 8));
        let num = c.num();
        let boot_limit = |cpus: usize| (1 + cpus) * t.batchcount + num;
        assert_eq!(m.node_snapshot(&c, 1).free_limit, boot_limit(1));
        // cpu2 (node 1) allocates one object: the refill grows one node-1 slab, takes
        // its three objects and hands one out.
        let mut cpu2 = m.task(2, "cpu2");
        let held = cpu2.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        assert_eq!(m.cpu_array_snapshot(&c, 2).avail(), num - 1);
        // cpu0 allocates on node 0 and cpu2 frees it: node 1's alien array for node 0
        // holds it.
        let mut cpu0 = m.task(0, "cpu0");
        let remote = cpu0.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        cpu2.kmem_cache_free(&c, remote).unwrap();
        assert_eq!(m.alien_snapshot(&c, 1, 0).unwrap().avail(), 1, "era {era}");
        let node0_free_before = m.node_snapshot(&c, 0).free_objects;

        let mut hp = m.task(0, "hotplug");
        hp.cpu_down(2).unwrap();
        assert!(!m.cpu_online(2));
        let n1 = m.node_snapshot(&c, 1);
        // free_limit −= batchcount; no CPU left: shared detached, free slabs drained.
        assert_eq!(n1.free_limit, boot_limit(1) - t.batchcount, "era {era}");
        assert!(
            n1.shared.is_none(),
            "era {era}: node 1's shared array detached"
        );
        assert!(
            n1.slabs_free.is_empty(),
            "era {era}: drain_freelist emptied slabs_free"
        );
        // The dead CPU's two objects went back; only the held object's slab is in use.
        assert_eq!(n1.free_objects, num - 1, "era {era}");
        assert_eq!(m.cpu_array_snapshot(&c, 2).avail(), 0);
        // The alien object went home to node 0 (free_block or node 0's shared array).
        let n0 = m.node_snapshot(&c, 0);
        let home =
            n0.free_objects - node0_free_before + n0.shared.as_ref().map_or(0, |s| s.avail());
        assert_eq!(home, 1, "era {era}: the alien set was drained");
        // The node struct outlives its CPUs: cpu0 can free the node-1 object and
        // allocate from node 1.
        cpu0.kmem_cache_free(&c, held).unwrap();
        let again = cpu0
            .kmem_cache_alloc_node(&c, Gfp::KERNEL, 1)
            .unwrap()
            .unwrap();
        assert_eq!(m.page_node_of(again), Some(1));
        cpu0.kmem_cache_free(&c, again).unwrap();

        hp.cpu_up(2).unwrap();
        let n1 = m.node_snapshot(&c, 1);
        // cpuup_prepare counts node 1's online CPUs before cpu2 is online: (1 + 0) batches.
        assert_eq!(n1.free_limit, boot_limit(0), "era {era}");
        assert_eq!(n1.shared.unwrap().limit, t.shared * t.batchcount);
        assert!(m.alien_snapshot(&c, 1, 0).is_some());
        let mut cpu2 = m.task(2, "cpu2 again");
        let o = cpu2.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        cpu2.kmem_cache_free(&c, o).unwrap();
        // The alien set is attached again (cpuup_prepare hands node 1 a fresh one): a
        // remote free waits in it instead of going straight to node 0's lists.
        let remote = cpu0.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        cpu2.kmem_cache_free(&c, remote).unwrap();
        assert_eq!(
            m.alien_snapshot(&c, 1, 0).unwrap().entry,
            vec![remote],
            "era {era}: the remote free after cpu_up"
        );
        // A tune recomputes the limit with cpu2 counted.
        hp.slabinfo_write("hp 24 12 8").unwrap();
        assert_eq!(m.node_snapshot(&c, 1).free_limit, boot_limit(1));
        m.audit().assert_ok();
    }
}

#[test]
fn a_cpu_that_is_not_the_last_of_its_node_keeps_the_node_arrays() {
    for era in [Era::A, Era::B] {
        let m = machine(era, MutationSet::NONE);
        let c = cache(&m);
        let t = c.tunables();
        let mut cpu1 = m.task(1, "cpu1");
        let o = cpu1.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        let in_array = m.cpu_array_snapshot(&c, 1).avail();
        assert_eq!(in_array, c.num() - 1);
        let before = m.node_snapshot(&c, 0);
        m.task(0, "hotplug").cpu_down(1).unwrap();
        let after = m.node_snapshot(&c, 0);
        assert_eq!(after.free_limit, before.free_limit - t.batchcount);
        assert!(after.shared.is_some(), "era {era}: cpu0 still on node 0");
        // cpu1's objects are back in their slab.
        assert_eq!(after.free_objects, before.free_objects + in_array);
        // The task that ran on cpu1 was moved (migrate_tasks) and frees on cpu0; a task
        // created on cpu1 now is refused.
        cpu1.kmem_cache_free(&c, o).unwrap();
        assert_eq!(cpu1.cpu(), 0);
        assert_eq!(m.cpu_array_snapshot(&c, 0).entry.last(), Some(&o));
        assert_eq!(
            m.task(1, "late").kmem_cache_alloc(&c, Gfp::KERNEL),
            Err(SlabError::CpuOffline { cpu: 1 })
        );
        m.audit().assert_ok();
    }
}

#[test]
fn bad_hotplug_requests_are_typed_errors_before_anything_changes() {
    for era in [Era::A, Era::B] {
        let m = machine(era, MutationSet::NONE);
        let c = cache(&m);
        // Each refused request leaves the machine as it was (slabinfo, every CPU's
        // array, the node, live objects, free pages; the audit passes).
        let refused = |what: &str, got: Result<_, SlabError>, want: SlabError| {
            let before = common::fingerprint(&m, &c);
            assert_eq!(got.map(|_: ()| ()), Err(want), "era {era}: {what}");
            assert_eq!(common::fingerprint(&m, &c), before, "era {era}: {what}");
        };
        let mut hp = m.task(0, "hotplug");
        refused(
            "up of an online CPU",
            hp.cpu_up(1),
            SlabError::CpuAlreadyOnline { cpu: 1 },
        );
        refused(
            "down of cpu 7",
            hp.cpu_down(7),
            SlabError::NoSuchCpu { cpu: 7, cpus: 3 },
        );
        hp.cpu_down(1).unwrap();
        hp.cpu_down(2).unwrap();
        refused(
            "down of an offline CPU",
            hp.cpu_down(1),
            SlabError::CpuAlreadyOffline { cpu: 1 },
        );
        refused(
            "down of the last CPU",
            hp.cpu_down(0),
            SlabError::LastCpuOnline { cpu: 0 },
        );
        let mut cpu2 = m.task(2, "cpu2");
        let offline = SlabError::CpuOffline { cpu: 2 };
        refused(
            "alloc on a dead CPU",
            cpu2.kmem_cache_alloc(&c, Gfp::KERNEL).map(|_| ()),
            offline.clone(),
        );
        refused(
            "kmalloc on a dead CPU",
            cpu2.kmalloc(64, Gfp::KERNEL).map(|_| ()),
            offline.clone(),
        );
        refused(
            "tune on a dead CPU",
            cpu2.slabinfo_write("hp 1 1 0"),
            offline.clone(),
        );
        refused("cpu_up from a dead CPU", cpu2.cpu_up(1), offline);
        // The reaper of a dead CPU does not run.
        let before = common::fingerprint(&m, &c);
        assert!(m.reaper(2, "reap2").cache_reap().cancelled);
        assert_eq!(common::fingerprint(&m, &c), before);
        // Everything still works on the remaining CPU, and both come back.
        let o = hp
            .kmem_cache_alloc_node(&c, Gfp::KERNEL, 1)
            .unwrap()
            .unwrap();
        hp.kmem_cache_free(&c, o).unwrap();
        hp.cpu_up(2).unwrap();
        hp.cpu_up(1).unwrap();
        assert!(!m.reaper(2, "reap2").cache_reap().cancelled);
        m.audit().assert_ok();
    }
}

#[test]
fn known_bad_hotplug_variants_are_caught() {
    for era in [Era::A, Era::B] {
        // The dead CPU's array forgotten: its objects are lost (era A) or stranded in a
        // CPU that never runs (era B). The audit sees it.
        let m = unaudited(era, Mutation::HotplugSkipsDeadArray);
        let c = cache(&m);
        let mut cpu2 = m.task(2, "cpu2");
        let o = cpu2.kmem_cache_alloc(&c, Gfp::KERNEL).unwrap().unwrap();
        cpu2.kmem_cache_free(&c, o).unwrap();
        m.task(0, "hp").cpu_down(2).unwrap();
        let report = m.audit();
        let want = match era {
            Era::A => "conservation",
            Era::B => "offline-cpu-owns-objects",
        };
        assert!(
            report.violations.iter().any(|v| v.invariant == want),
            "era {era}: hotplug-skips-dead-array not caught by `{want}`: {report:?}"
        );

        // free_limit kept: the audit's free_limit rule.
        let m = unaudited(era, Mutation::HotplugKeepsFreeLimit);
        let _c = cache(&m);
        m.task(0, "hp").cpu_down(1).unwrap();
        let report = m.audit();
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.invariant == "free_limit"),
            "era {era}: hotplug-keeps-free-limit not caught: {report:?}"
        );

        // The node struct freed with its last CPU: the next remote use is a
        // use-after-free.
        let m = unaudited(era, Mutation::HotplugFreesNode);
        let c = cache(&m);
        m.task(0, "hp").cpu_down(2).unwrap();
        let msg = panic_of(|| {
            let _ = m.task(0, "cpu0").kmem_cache_alloc_node(&c, Gfp::KERNEL, 1);
        });
        assert!(
            msg.contains("use-after-free") && msg.contains("cpuup_canceled"),
            "era {era}: hotplug-frees-node not caught: {msg}"
        );
    }
}
