//! The simulated machine: CPUs, the page allocator, physical memory, the cache chain,
//! the kmalloc caches, `jiffies`, and the event log.
//!
//! [`Machine::new`] is `kmem_cache_init`: it creates the kmalloc caches in the kernel's
//! order (the first ones with `slab_early_init`, so they stay on-slab). Deliberate
//! differences from the kernel, all invisible to SLAB's algorithms: the `kmem_cache`
//! descriptors and the `array_cache`s are host memory, not slab objects (allocating them
//! from the model would only add recursion noise to every scenario), and caches start
//! with their final tunables instead of the boot value 1 followed by `enable_cpucache`.

use crate::cache::KmemCache;
use crate::cpu::{Context, ContextKind, Cpu, Traced};
use crate::error::SlabError;
use crate::geometry::{CreateArgs, CreateContext, GeneralCache};
use crate::kmalloc_sizes;
use crate::memory::PhysMem;
use crate::mutation::MutationSet;
use crate::page_alloc::{BuddyAllocator, FaultInjection};
use crate::profile::{ArchProfile, Era};
use crate::site::Site;
use crate::sync::{AtomicCounter, Lock, PeekWord, Platform};
use crate::trace::{KFn, LockName, Trace, NO_CPU, NO_THREAD};
use std::sync::{Arc, Mutex, RwLock};

/// `HZ` of the simulated kernel.
pub const HZ: u64 = 100;
/// `REAPTIMEOUT_CPUC` / `REAPTIMEOUT_AC`: period of `cache_reap` on each CPU.
pub const REAPTIMEOUT_AC: u64 = 2 * HZ;
/// `REAPTIMEOUT_LIST3` / `REAPTIMEOUT_NODE`: period of the per-node part of `cache_reap`.
pub const REAPTIMEOUT_NODE: u64 = 4 * HZ;

/// Which kmalloc caches `kmem_cache_init` creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KmallocSetup {
    /// Every size class of the era and architecture (the kernel).
    All,
    /// Only the classes up to this size (smaller model states for loom).
    UpTo(usize),
    /// None: `kmalloc` fails and off-slab caches cannot be created.
    None,
}

/// Everything that defines one simulated machine.
#[derive(Clone, Debug)]
pub struct MachineConfig {
    /// Architecture profile.
    pub profile: ArchProfile,
    /// Kernel era.
    pub era: Era,
    /// Page allocator fault injection.
    pub faults: FaultInjection,
    /// Enabled mutations (empty = the faithful model).
    pub mutations: MutationSet,
    /// kmalloc caches to create at boot.
    pub kmalloc: KmallocSetup,
    /// Create the `size-N(DMA)` / `dma-kmalloc-N` twins too.
    pub kmalloc_dma: bool,
    /// Events kept in the trace buffer (0 = no tracing).
    pub trace_capacity: usize,
    /// Run the full audit after every public operation (sequential use only: the audit
    /// needs quiescence). On by default in debug builds.
    pub audit_every_op: bool,
}

impl MachineConfig {
    /// A machine with all kmalloc caches, no faults, no mutations.
    pub fn new(profile: ArchProfile, era: Era) -> Self {
        MachineConfig {
            profile,
            era,
            faults: FaultInjection::default(),
            mutations: MutationSet::NONE,
            kmalloc: KmallocSetup::All,
            kmalloc_dma: true,
            trace_capacity: 4096,
            audit_every_op: cfg!(debug_assertions),
        }
    }

    /// A machine from a named preset.
    pub fn preset(name: &str) -> Option<Self> {
        crate::profile::preset(name).map(|p| MachineConfig::new(p.profile, p.era))
    }
}

/// Who owns an allocated object (the model's shadow state, in the spirit of KASAN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Handed out to a caller of `kmem_cache_alloc` / `kmalloc`.
    Caller,
    /// Holds the off-slab management data of a live slab.
    SlabDescriptor,
}

/// Host-side state behind one plain mutex ([`Machine::host`]).
pub(crate) struct Host {
    pub(crate) mem: PhysMem,
    pub(crate) shadow: Shadow,
}

/// The host lock held. A spinlock on every backend: it is never held across a
/// scheduling point, so a loom or shuttle thread never finds it taken.
pub(crate) type HostGuard<'a> = spin::mutex::SpinMutexGuard<'a, Host>;

/// The host lock held for one part of [`Host`] (std's `MutexGuard::map` is unstable).
pub(crate) struct HostPart<'a, T>(HostGuard<'a>, fn(&Host) -> &T, fn(&mut Host) -> &mut T);

impl<T> std::ops::Deref for HostPart<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        (self.1)(&self.0)
    }
}

impl<T> std::ops::DerefMut for HostPart<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        (self.2)(&mut self.0)
    }
}

/// Sets bit `b` of a coverage word. The bit is almost always set already: a relaxed
/// load first spares the locked read-modify-write (one per kernel function entered, the
/// largest single cost of the fast path once tracing is off). Host-side state, no
/// scheduling point on any backend.
#[inline]
fn set_bit(word: &std::sync::atomic::AtomicU64, b: u8) {
    use std::sync::atomic::Ordering::Relaxed;
    let bit = 1u64 << b;
    if word.load(Relaxed) & bit == 0 {
        word.fetch_or(bit, Relaxed);
    }
}

/// Shadow state: every object currently allocated, with its cache and owner. Not kernel
/// state: it is what lets the model reject a double free *before* changing anything, and
/// what the audit's conservation check counts as "handed out".
#[derive(Default)]
pub(crate) struct Shadow {
    /// Address -> (cache id, owner). Unordered: every ordered view (the audit's) sorts.
    pub(crate) objects: rustc_hash::FxHashMap<u64, (u32, Owner)>,
    pub(crate) live: Vec<usize>,
}

impl Shadow {
    pub(crate) fn insert(&mut self, addr: u64, cache: u32, owner: Owner) {
        let prev = self.objects.insert(addr, (cache, owner));
        assert!(
            prev.is_none(),
            "conservation: object {addr:#x} handed out twice (already owned by cache {:?})",
            prev
        );
        if self.live.len() <= cache as usize {
            self.live.resize(cache as usize + 1, 0);
        }
        self.live[cache as usize] += 1;
    }
    pub(crate) fn remove(&mut self, addr: u64) {
        let (cache, _) = self
            .objects
            .remove(&addr)
            .expect("shadow: freeing an object that is not allocated");
        self.live[cache as usize] -= 1;
    }
    pub(crate) fn live(&self, cache: u32) -> usize {
        self.live.get(cache as usize).copied().unwrap_or(0)
    }
}

/// One general cache size class with its normal and DMA caches.
pub struct KmallocSlot<P: Platform> {
    /// Class size.
    pub size: usize,
    /// `size-N` / `kmalloc-N`.
    pub cache: Arc<KmemCache<P>>,
    /// `size-N(DMA)` / `dma-kmalloc-N`.
    pub dma: Option<Arc<KmemCache<P>>>,
}

/// The cache chain (`cache_chain`, protected by `cache_chain_mutex` / `slab_mutex`):
/// cache ids, most recently created first (the kernel's `list_add`).
pub(crate) struct Chain {
    pub(crate) ids: Vec<u32>,
}

/// The simulated machine.
pub struct Machine<P: Platform> {
    config: MachineConfig,
    cpus: Vec<Cpu<P>>,
    /// `zone->lock` and the buddy allocator behind it.
    pub(crate) zone: P::Mutex<BuddyAllocator>,
    /// Physical memory and `struct page`s, and the shadow map of allocated objects.
    /// Hardware and bookkeeping, not kernel locking: a plain mutex never held across a
    /// model operation, so it adds no scheduling points. One lock for both: a free's
    /// checks read the page and the shadow map in one section.
    host: crate::sync::StdMutex<Host>,
    /// What the DEBUG checks printed, in order (the kernel log). Host state, not a
    /// scheduling point: printk's own lock is of no interest here.
    reports: Mutex<Vec<crate::debug::SlabReport>>,
    /// Stands for the memory a misbehaving caller stores to (`Context::caller_write`):
    /// a store synchronised with nothing is a relaxed write, and the checkers schedule
    /// around it as around any other.
    pub(crate) caller_store: Vec<P::Word>,
    /// Cache id → cache (what `page->slab_cache` points to).
    registry: RwLock<Vec<Arc<KmemCache<P>>>>,
    pub(crate) chain: P::Mutex<Chain>,
    /// Indexed by `kmalloc_sizes::kmalloc_classes` index; `None` for classes this machine
    /// did not create ([`KmallocSetup`]).
    kmalloc: Vec<Option<KmallocSlot<P>>>,
    /// `kmalloc_index`'s tables, fixed at boot like the kernel's `size_index[]`.
    kmalloc_index: kmalloc_sizes::KmallocIndex,
    jiffies: P::Counter,
    /// Which kernel functions ran (a bit per [`KFn`]). Instrumentation, not kernel state:
    /// a host atomic, so it adds no scheduling point.
    coverage: std::sync::atomic::AtomicU64,
    /// Which concurrency points ran (a bit per [`Site`]); host-side like `coverage`.
    sites: std::sync::atomic::AtomicU64,
    /// Each CPU's `reap_node` rotor (`next_reap_node`): which remote node's alien array its
    /// reaper drains next. Touched only by that CPU's reaper.
    reap_node: Vec<std::sync::atomic::AtomicUsize>,
    /// `cpu_online_mask`. Written only by `take_cpu_down` (with every online CPU's
    /// interrupts off, as under `stop_machine`) and by `cpu_up` before the CPU runs
    /// anything; read by the contexts' entry checks and the hot-plug and tune loops.
    /// Host atomics: the writers' irq tokens and locks order every read that matters.
    online: Vec<std::sync::atomic::AtomicBool>,
    /// `cpu_add_remove_lock`: one `cpu_up` / `cpu_down` at a time.
    pub(crate) cpu_add_remove_lock: P::Mutex<()>,
    /// Era B `cpu_hotplug.lock`: `get_online_cpus` takes it to bump `hotplug_refcount`;
    /// `cpu_hotplug_begin` holds it for the whole operation once the refcount is zero.
    pub(crate) cpu_hotplug: P::Mutex<()>,
    /// Era B `cpu_hotplug.refcount`: readers inside `get_online_cpus` sections.
    pub(crate) hotplug_refcount: P::Counter,
    /// Each CPU's `reap_work` (`slab_reap_work`): the mutex is held while `cache_reap`
    /// runs (so `cancel_delayed_work_sync` waits for it); the flag says whether the
    /// work is armed (`start_cpu_timer`) or cancelled (`CPU_DOWN_PREPARE`).
    pub(crate) reap_work: Vec<P::Mutex<bool>>,
    /// The event log.
    pub trace: Trace,
}

/// The general (kmalloc) caches that exist, ascending by size: what
/// `calculate_geometry` may take an off-slab descriptor from.
fn general_caches<P: Platform>(slots: &[Option<KmallocSlot<P>>]) -> Vec<GeneralCache> {
    let mut g: Vec<GeneralCache> = slots
        .iter()
        .flatten()
        .map(|s| GeneralCache {
            size: s.size,
            off_slab: s.cache.geo.off_slab(),
        })
        .collect();
    g.sort_by_key(|g| g.size);
    g
}

impl<P: Platform> Machine<P> {
    /// `kmem_cache_init`: boots the machine and creates the kmalloc caches. Errors name
    /// an impossible profile.
    pub fn new(config: MachineConfig) -> Result<Self, SlabError> {
        config
            .profile
            .validate()
            .map_err(SlabError::InvalidProfile)?;
        let profile = &config.profile;
        let zone = BuddyAllocator::new(profile, config.faults.clone())?;
        let cpus = (0..profile.cpus)
            .map(|c| Cpu::new(c, profile.cpu_to_node(c)))
            .collect();
        let mut m = Machine {
            host: crate::sync::StdMutex::new(Host {
                mem: PhysMem::new(profile)?,
                shadow: Shadow::default(),
            }),
            zone: P::Mutex::new(zone),
            cpus,
            reports: Mutex::new(Vec::new()),
            caller_store: (0..crate::debug::OBJECT_MEMORY_WORDS)
                .map(|_| P::Word::new(0))
                .collect(),
            registry: RwLock::new(Vec::new()),
            chain: P::Mutex::new(Chain { ids: Vec::new() }),
            kmalloc: Vec::new(),
            kmalloc_index: kmalloc_sizes::KmallocIndex::new(profile, config.era),
            jiffies: P::Counter::new(0),
            coverage: std::sync::atomic::AtomicU64::new(0),
            sites: std::sync::atomic::AtomicU64::new(0),
            // init_reap_node: each CPU's rotor starts at the node after its own.
            reap_node: (0..profile.cpus)
                .map(|c| {
                    std::sync::atomic::AtomicUsize::new(
                        (profile.cpu_to_node(c) + 1) % profile.nodes,
                    )
                })
                .collect(),
            online: (0..profile.cpus)
                .map(|_| std::sync::atomic::AtomicBool::new(true))
                .collect(),
            cpu_add_remove_lock: P::Mutex::new(()),
            cpu_hotplug: P::Mutex::new(()),
            hotplug_refcount: P::Counter::new(0),
            reap_work: (0..profile.cpus).map(|_| P::Mutex::new(true)).collect(),
            trace: Trace::new(config.trace_capacity),
            config,
        };
        m.kmem_cache_init()?;
        Ok(m)
    }

    fn kmem_cache_init(&mut self) -> Result<(), SlabError> {
        let profile = self.config.profile.clone();
        let era = self.config.era;
        let muts = self.config.mutations;
        let limit = match self.config.kmalloc {
            KmallocSetup::All => usize::MAX,
            KmallocSetup::UpTo(n) => n,
            KmallocSetup::None => 0,
        };
        // Sizes only: a class's names are built when its cache is created (most machines
        // create a few classes of the table).
        let classes = kmalloc_sizes::kmalloc_class_sizes(&profile, era);
        let early = kmalloc_sizes::early_classes(&profile, era);
        self.kmalloc = (0..classes.len()).map(|_| None).collect();
        // Era A: the bootstrap caches (INDEX_AC, INDEX_L3) with slab_early_init, then one
        // ascending loop creating each remaining normal cache and every DMA twin. Era B:
        // INDEX_NODE first, then the normal caches ascending, then the DMA caches.
        for phase in 0..3 {
            for (i, &size) in classes.iter().enumerate() {
                if size > limit {
                    continue;
                }
                let normal = match phase {
                    0 => early.contains(&i),
                    1 => self.kmalloc[i].is_none(),
                    _ => false,
                };
                if normal {
                    let ctx = CreateContext {
                        slab_early_init: early.contains(&i),
                        general_caches: general_caches(&self.kmalloc),
                        self_class: Some(size),
                        mutations: muts,
                    };
                    let class = kmalloc_sizes::class(era, size);
                    let cache = self.create_cache(
                        kmalloc_sizes::kmalloc_boot_args(&profile, era, &class),
                        &ctx,
                        &mut self.chain.lock(),
                    )?;
                    self.kmalloc[i] = Some(KmallocSlot {
                        size,
                        cache,
                        dma: None,
                    });
                }
                let dma_now = self.config.kmalloc_dma
                    && self.kmalloc[i].as_ref().is_some_and(|s| s.dma.is_none())
                    && ((era == Era::A && phase == 1) || (era == Era::B && phase == 2));
                if dma_now {
                    let ctx = CreateContext {
                        slab_early_init: false,
                        general_caches: general_caches(&self.kmalloc),
                        self_class: None,
                        mutations: muts,
                    };
                    let class = kmalloc_sizes::class(era, size);
                    let mut args = kmalloc_sizes::kmalloc_boot_args(&profile, era, &class);
                    args.name = class.dma_name;
                    args.flags = args.flags | crate::slab_flags::SlabFlags::CACHE_DMA;
                    let dma = self.create_cache(args, &ctx, &mut self.chain.lock())?;
                    self.kmalloc[i].as_mut().expect("normal cache exists").dma = Some(dma);
                }
            }
            if phase == 0 && early.is_empty() {
                continue;
            }
        }
        Ok(())
    }

    /// Computes the geometry and builds, registers and chains a cache. Caller holds the
    /// chain mutex (`chain`) and has checked for duplicates under it.
    fn create_cache(
        &self,
        args: CreateArgs,
        ctx: &CreateContext,
        chain: &mut Chain,
    ) -> Result<Arc<KmemCache<P>>, SlabError> {
        let geo =
            crate::geometry::calculate_geometry(&self.config.profile, self.config.era, &args, ctx)?;
        let desc_cache = match geo.descriptor {
            crate::geometry::DescriptorSource::General(size) => Some(
                self.kmalloc
                    .iter()
                    .flatten()
                    .find(|s| s.size == size)
                    .map(|s| s.cache.clone())
                    .ok_or(SlabError::NoDescriptorCache {
                        name: args.name.clone(),
                        size: geo.mgmt_size,
                    })?,
            ),
            _ => None,
        };
        let mut reg = self.registry.write().unwrap_or_else(|e| e.into_inner());
        let id = reg.len() as u32;
        let cache = Arc::new(KmemCache::new(
            id,
            args.name.clone(),
            geo,
            args.ctor,
            &self.config.profile,
            self.config.era,
            desc_cache,
            self.jiffies.load() as u64,
            &self.online_mask(),
        ));
        reg.push(cache.clone());
        drop(reg);
        self.trace.register_cache(id, &args.name);
        chain.ids.insert(0, id);
        Ok(cache)
    }

    /// Takes `l` for the trace lane `lane` (context index, CPU), recording the acquire
    /// and (through the guard) the release.
    pub(crate) fn traced_lock<'a, T: Send + 'static>(
        &'a self,
        l: &'a P::Mutex<T>,
        lane: (u16, usize),
        cache: u32,
        name: LockName,
    ) -> Traced<'a, <P::Mutex<T> as Lock<T>>::Guard<'a>> {
        self.traced(l.lock(), lane, cache, name)
    }

    /// Wraps a guard just taken for the trace lane `lane` (records the acquire; the
    /// guard records the release).
    pub(crate) fn traced<G>(
        &self,
        guard: G,
        lane: (u16, usize),
        cache: u32,
        name: LockName,
    ) -> Traced<'_, G> {
        Traced::taken(
            guard,
            &self.trace,
            if self.trace.enabled() {
                P::thread_tag()
            } else {
                NO_THREAD
            },
            lane.0,
            lane.1,
            cache,
            name,
        )
    }

    /// `kmem_cache_create(name, size, align, flags, ctor)`. One `cache_chain_mutex` /
    /// `slab_mutex` section from the duplicate check to the chain insert, as in the
    /// kernel. Errors (checked before anything is created): see [`SlabError`].
    pub fn kmem_cache_create(&self, args: CreateArgs) -> Result<Arc<KmemCache<P>>, SlabError> {
        self.cover(KFn::KmemCacheCreate);
        if args.name.is_empty() {
            return Err(SlabError::NameMissing);
        }
        // get_online_cpus, then slab_mutex (era B); `create-lock-order` swaps them, as
        // before 2.6.16. Era A's SLAB takes no hot-plug lock here.
        let swapped = self
            .config
            .mutations
            .has(crate::mutation::Mutation::CreateLockOrder);
        // Process context on no particular CPU: the lane says which call it is.
        let lane = (self.trace.register_context("kmem_cache_create"), NO_CPU);
        let online = if swapped {
            None
        } else {
            self.get_online_cpus(lane)
        };
        self.cover_site(Site::ChainMutex);
        let chain_lock = match self.era() {
            Era::A => LockName::CacheChainMutex,
            Era::B => LockName::SlabMutex,
        };
        let mut chain = self.traced_lock(&self.chain, lane, u32::MAX, chain_lock);
        let _online = if swapped {
            self.get_online_cpus(lane)
        } else {
            online
        };
        {
            let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
            if chain
                .ids
                .iter()
                .any(|&id| reg[id as usize].name == args.name)
            {
                return Err(SlabError::DuplicateCache(args.name));
            }
        }
        let general = general_caches(&self.kmalloc);
        let ctx = CreateContext {
            slab_early_init: false,
            general_caches: general,
            self_class: None,
            mutations: self.config.mutations,
        };
        self.create_cache(args, &ctx, &mut chain)
    }

    /// Marks a kernel function as executed.
    #[inline]
    pub(crate) fn cover(&self, f: KFn) {
        set_bit(&self.coverage, f as u8);
    }

    /// Records that a concurrency point ran.
    #[inline]
    pub(crate) fn cover_site(&self, s: Site) {
        set_bit(&self.sites, s as u8);
    }

    /// The concurrency points this machine's contexts passed so far.
    pub fn sites(&self) -> Vec<Site> {
        let bits = self.sites.load(std::sync::atomic::Ordering::Relaxed);
        Site::ALL
            .iter()
            .copied()
            .filter(|&s| bits & (1 << s as u8) != 0)
            .collect()
    }

    /// `next_reap_node()` for `cpu`: returns the node to reap now and advances the rotor
    /// round-robin over the nodes.
    pub(crate) fn next_reap_node(&self, cpu: usize) -> usize {
        let nodes = self.nodes();
        let r = &self.reap_node[cpu];
        let cur = r.load(std::sync::atomic::Ordering::Relaxed) % nodes;
        r.store((cur + 1) % nodes, std::sync::atomic::Ordering::Relaxed);
        cur
    }

    /// The kernel functions that have run on this machine so far.
    pub fn covered(&self) -> Vec<KFn> {
        let bits = self.coverage.load(std::sync::atomic::Ordering::Relaxed);
        KFn::ALL
            .iter()
            .copied()
            .filter(|&f| bits & (1 << f as u8) != 0)
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &MachineConfig {
        &self.config
    }
    /// The architecture profile.
    pub fn profile(&self) -> &ArchProfile {
        &self.config.profile
    }
    /// The era.
    pub fn era(&self) -> Era {
        self.config.era
    }
    /// Active mutations.
    #[inline]
    pub fn mutations(&self) -> MutationSet {
        self.config.mutations
    }
    /// The CPUs.
    pub fn cpus(&self) -> &[Cpu<P>] {
        &self.cpus
    }
    /// Number of nodes.
    pub fn nodes(&self) -> usize {
        self.config.profile.nodes
    }
    /// `CONFIG_NUMA` with more than one node online.
    pub fn numa(&self) -> bool {
        self.config.profile.nodes > 1
    }
    /// The kmalloc size classes that exist.
    pub fn kmalloc_slots(&self) -> &[Option<KmallocSlot<P>>] {
        &self.kmalloc
    }

    /// Era A `__find_general_cachep` / era B `kmalloc_slab`'s index lookup: the size class
    /// of a `kmalloc(size)` (`kmalloc_sizes::kmalloc_index` from the tables built at boot,
    /// with this machine's mutations). No lock: the tables are fixed after boot.
    pub fn kmalloc_index(&self, size: usize) -> Option<usize> {
        self.kmalloc_index.lookup(size, self.mutations())
    }

    /// Object size of the largest kmalloc class this machine created (0 if none).
    pub fn largest_kmalloc_class(&self) -> usize {
        self.kmalloc
            .iter()
            .flatten()
            .map(|s| s.size)
            .max()
            .unwrap_or(0)
    }

    /// `jiffies`.
    pub fn jiffies(&self) -> u64 {
        self.jiffies.load() as u64
    }
    /// Advances `jiffies` (the scenario is the clock).
    pub fn advance_jiffies(&self, ticks: u64) {
        self.jiffies.fetch_add(ticks as usize);
    }

    /// The host lock: memory and the shadow map together.
    pub(crate) fn host(&self) -> HostGuard<'_> {
        self.host.lock()
    }
    /// Physical memory (the host lock, for as long as the guard lives).
    pub(crate) fn mem(&self) -> HostPart<'_, PhysMem> {
        HostPart(self.host(), |h| &h.mem, |h| &mut h.mem)
    }
    /// The shadow map (the host lock, for as long as the guard lives).
    pub(crate) fn shadow(&self) -> HostPart<'_, Shadow> {
        HostPart(self.host(), |h| &h.shadow, |h| &mut h.shadow)
    }

    pub(crate) fn report(&self, r: crate::debug::SlabReport) {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(r);
    }

    /// What the DEBUG checks reported so far, oldest first (empty without
    /// `CONFIG_DEBUG_SLAB`, or when nothing was wrong).
    pub fn reports(&self) -> Vec<crate::debug::SlabReport> {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Returns and clears the reports (`dmesg -c`).
    pub fn take_reports(&self) -> Vec<crate::debug::SlabReport> {
        std::mem::take(&mut *self.reports.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The cache with this id (`page->slab_cache`).
    pub fn cache_by_id(&self, id: u32) -> Arc<KmemCache<P>> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())[id as usize].clone()
    }

    /// Every cache ever created, by id (destroyed ones included).
    pub fn all_caches(&self) -> Vec<Arc<KmemCache<P>>> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The live caches in `cache_chain` order (newest first), as /proc/slabinfo lists them.
    pub fn caches(&self) -> Vec<Arc<KmemCache<P>>> {
        let ids = self.chain.lock().ids.clone();
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        ids.iter().map(|&i| reg[i as usize].clone()).collect()
    }

    /// Finds a live cache by name.
    pub fn find_cache(&self, name: &str) -> Option<Arc<KmemCache<P>>> {
        self.caches().into_iter().find(|c| c.name == name)
    }

    /// Objects currently handed out to callers from `cache`.
    pub fn live_objects(&self, cache: &KmemCache<P>) -> usize {
        self.shadow().live(cache.id)
    }

    /// A task context on `cpu` (process context: may sleep and migrate).
    pub fn task(&self, cpu: usize, name: &str) -> Context<'_, P> {
        Context::new(self, ContextKind::Task, cpu, name)
    }
    /// An interrupt handler bound to `cpu`.
    pub fn interrupt(&self, cpu: usize, name: &str) -> Context<'_, P> {
        Context::new(self, ContextKind::Interrupt, cpu, name)
    }
    /// The `cache_reap` work item of `cpu`.
    pub fn reaper(&self, cpu: usize, name: &str) -> Context<'_, P> {
        Context::new(self, ContextKind::Reaper, cpu, name)
    }
    /// The `/proc/slabinfo` writer, running on `cpu`.
    pub fn tuner(&self, cpu: usize, name: &str) -> Context<'_, P> {
        Context::new(self, ContextKind::Tuner, cpu, name)
    }

    /// `cpu_online(cpu)`.
    #[inline]
    pub fn cpu_online(&self, cpu: usize) -> bool {
        self.online[cpu].load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn set_cpu_online(&self, cpu: usize, online: bool) {
        self.online[cpu].store(online, std::sync::atomic::Ordering::SeqCst);
    }

    /// `cpu_online_mask` as a vector.
    pub fn online_mask(&self) -> Vec<bool> {
        (0..self.cpus.len()).map(|c| self.cpu_online(c)).collect()
    }

    /// `num_online_cpus()`.
    pub fn num_online_cpus(&self) -> usize {
        (0..self.cpus.len()).filter(|&c| self.cpu_online(c)).count()
    }

    /// `nr_cpus_node(node)`: the node's online CPUs (a CPU being brought up is not counted
    /// until `__cpu_up` sets it online, as on x86 where `numa_add_cpu` runs on the new CPU).
    pub fn nr_cpus_node(&self, node: usize) -> usize {
        (0..self.cpus.len())
            .filter(|&c| self.cpus[c].node == node && self.cpu_online(c))
            .count()
    }

    /// The lowest online CPU (where the model moves contexts off a dead CPU).
    pub(crate) fn first_online_cpu(&self) -> usize {
        (0..self.cpus.len())
            .find(|&c| self.cpu_online(c))
            .expect("cpu_down never takes the last CPU")
    }

    /// Checks a node number from a caller.
    pub fn check_node(&self, node: usize) -> Result<(), SlabError> {
        if node < self.nodes() {
            Ok(())
        } else {
            Err(SlabError::NoSuchNode {
                node,
                nodes: self.nodes(),
            })
        }
    }

    /// Checks a CPU number from a caller.
    pub fn check_cpu(&self, cpu: usize) -> Result<(), SlabError> {
        if cpu < self.cpus.len() {
            Ok(())
        } else {
            Err(SlabError::NoSuchCpu {
                cpu,
                cpus: self.cpus.len(),
            })
        }
    }
}
