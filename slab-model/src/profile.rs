//! The simulated machine's architecture profile and the kernel era being modelled.
//!
//! Everything that the kernel fixes at compile time or reads from the boot CPU and that
//! changes SLAB's numbers is a field here, so that one model reproduces slabinfo rows from
//! different kernels and architectures (page size, cache line, CPUs, nodes, RAM). Presets name real machines;
//! every field stays overridable.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which generation of mm/slab.c is modelled (A: 2.6.x, `struct slab` + `kmem_bufctl_t`; B: 3.13–4.5, freelist index stack in `struct page`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Era {
    /// 2.6.14 – ~3.12: `struct slab` + `kmem_bufctl_t` chain, node struct `kmem_list3`,
    /// `slab_destroy` inside `free_block`'s locked section, `GFP_THISNODE` grows.
    A,
    /// ~3.13 – 4.5: freelist index stack in `struct page`, `kmem_cache_node`,
    /// `gfp_exact_node`, slab destruction deferred until the node lock is dropped,
    /// `node` re-read after `cache_grow`.
    B,
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Era::A => "A",
            Era::B => "B",
        })
    }
}

impl FromStr for Era {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "A" | "a" => Ok(Era::A),
            "B" | "b" => Ok(Era::B),
            _ => Err(format!("unknown era `{s}` (expected A or B)")),
        }
    }
}

/// Architecture and build profile of the simulated machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchProfile {
    /// `PAGE_SIZE` in bytes (a power of two).
    pub page_size: usize,
    /// `BYTES_PER_WORD` = `sizeof(void *)`: 4 or 8.
    pub word_size: usize,
    /// Runtime `cache_line_size()` (x86: `boot_cpu_data.x86_cache_alignment`): drives
    /// `SLAB_HWCACHE_ALIGN` and `colour_off`.
    pub cache_line_size: usize,
    /// Compile-time `L1_CACHE_BYTES`: decides whether the 96 and 192 kmalloc classes exist.
    pub l1_cache_bytes: usize,
    /// Era A `sizeof(struct slab)`: 48 on 64-bit, 28 on 32-bit, 24 on 32-bit before 2.6.14.
    pub slab_desc_size: usize,
    /// Era A `sizeof(kmem_bufctl_t)`: 4, or 2 on i386 before 2.6.14.
    pub bufctl_size: usize,
    /// `num_possible_cpus()`.
    pub cpus: usize,
    /// Number of NUMA nodes (CPUs are spread round-robin... in blocks: CPU k is on node
    /// `k * nodes / cpus`).
    pub nodes: usize,
    /// Total RAM in bytes: decides `slab_max_order` (1 above 32 MiB) and how many page
    /// frames the simulated buddy allocator manages.
    pub ram_bytes: u64,
    /// `MAX_ORDER` of the buddy allocator (11 on x86).
    pub max_order: u32,
    /// `KMALLOC_MIN_SIZE` / `ARCH_DMA_MINALIGN` (era B; 8 on x86, 128 on arm64 4.4).
    pub kmalloc_min_size: usize,
    /// `ARCH_KMALLOC_MINALIGN` (default `alignof(unsigned long long)` = 8).
    pub arch_kmalloc_minalign: usize,
    /// `ARCH_SLAB_MINALIGN` (0 in 2.6.24 unless the arch sets it; 8 in era B/C common code).
    pub arch_slab_minalign: usize,
    /// `CONFIG_DEBUG_SLAB`: forced red zones / store-user / poison, limit capped at 32.
    pub debug: bool,
    /// `CONFIG_DEBUG_SLAB_LEAK` (era B): one extra status byte per object.
    pub debug_slab_leak: bool,
    /// Start of the kernel direct map (`PAGE_OFFSET`): virtual = physical + this.
    pub page_offset: u64,
    /// `sizeof(spinlock_t)`: 4 for the x86 and arm64 ticket locks; lock debugging makes it
    /// larger (include/linux/spinlock_types.h, v2.6.24 and v4.4.11): 24 on 64-bit with
    /// `CONFIG_DEBUG_SPINLOCK` (`magic`, `owner_cpu`, `owner`), 56 with
    /// `CONFIG_DEBUG_LOCK_ALLOC` as well (a 32-byte `struct lockdep_map`). It sizes the
    /// bootstrap structures (2.6.24 `struct array_cache` and `struct kmem_list3`, 4.4
    /// `struct kmem_cache_node`) and so decides which kmalloc classes are created with
    /// `slab_early_init` — the condition of B.20, where a 152-byte `kmem_cache_node` made
    /// kmalloc-256 the bootstrap class and left kmalloc-128 to choose off-slab.
    #[serde(default = "default_spinlock_size")]
    pub spinlock_size: usize,
}

fn default_spinlock_size() -> usize {
    4
}

/// A named machine: a profile and the era of its kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preset {
    /// Name used on the command line (`x86_64-2.6.30`).
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// The era of its mm/slab.c.
    pub era: Era,
    /// The profile.
    pub profile: ArchProfile,
}

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

impl ArchProfile {
    /// x86_64 SMP as in the golden slabinfo dataset D4 (2.6.30.1, 4 CPUs, 8 GiB).
    pub fn x86_64() -> Self {
        ArchProfile {
            page_size: 4096,
            word_size: 8,
            cache_line_size: 64,
            l1_cache_bytes: 64,
            slab_desc_size: 48,
            bufctl_size: 4,
            cpus: 4,
            nodes: 1,
            ram_bytes: 8 * GIB,
            max_order: 11,
            kmalloc_min_size: 8,
            arch_kmalloc_minalign: 8,
            arch_slab_minalign: 0,
            debug: false,
            debug_slab_leak: false,
            page_offset: 0xffff_8800_0000_0000,
            spinlock_size: 4,
        }
    }

    /// i386 (2.6.14 or later): 4-byte words, 28-byte `struct slab`, 4-byte bufctl.
    pub fn i386() -> Self {
        ArchProfile {
            word_size: 4,
            slab_desc_size: 28,
            bufctl_size: 4,
            cpus: 2,
            ram_bytes: GIB,
            page_offset: 0xc000_0000,
            ..Self::x86_64()
        }
    }

    /// A small machine for model checking: 2 CPUs, one node, 64 MiB.
    pub fn tiny() -> Self {
        ArchProfile {
            cpus: 2,
            ram_bytes: 64 * MIB,
            ..Self::x86_64()
        }
    }

    /// `slab_max_order` (2.6.24 `slab_break_gfp_order`): 1 when RAM exceeds 32 MiB.
    pub fn slab_max_order(&self) -> u32 {
        if self.ram_bytes > 32 * MIB {
            1
        } else {
            0
        }
    }

    /// `PAGE_SHIFT`.
    pub fn page_shift(&self) -> u32 {
        self.page_size.trailing_zeros()
    }

    /// Node of a CPU: CPUs are split into `nodes` equal blocks.
    pub fn cpu_to_node(&self, cpu: usize) -> usize {
        debug_assert!(cpu < self.cpus);
        cpu * self.nodes / self.cpus
    }

    /// `nr_cpus_node(node)`.
    pub fn nr_cpus_node(&self, node: usize) -> usize {
        (0..self.cpus)
            .filter(|&c| self.cpu_to_node(c) == node)
            .count()
    }

    /// Checks the profile for values no kernel could have; returns a message naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let pow2 = |v: usize| v != 0 && v.is_power_of_two();
        if !pow2(self.page_size) || self.page_size < 1024 {
            return Err(format!(
                "page_size {} is not a power of two >= 1024",
                self.page_size
            ));
        }
        if self.word_size != 4 && self.word_size != 8 {
            return Err(format!("word_size {} is not 4 or 8", self.word_size));
        }
        if !pow2(self.cache_line_size) || !pow2(self.l1_cache_bytes) {
            return Err("cache_line_size and l1_cache_bytes must be powers of two".into());
        }
        if self.bufctl_size != 2 && self.bufctl_size != 4 {
            return Err(format!("bufctl_size {} is not 2 or 4", self.bufctl_size));
        }
        if self.slab_desc_size == 0 || self.slab_desc_size >= self.page_size {
            return Err(format!(
                "slab_desc_size {} is out of range",
                self.slab_desc_size
            ));
        }
        if self.cpus == 0 || self.cpus > 64 {
            return Err(format!("cpus {} is not in 1..=64", self.cpus));
        }
        if self.nodes == 0 || self.nodes > self.cpus {
            return Err(format!("nodes {} is not in 1..=cpus", self.nodes));
        }
        if self.max_order == 0 || self.max_order > 20 {
            return Err(format!("max_order {} is not in 1..=20", self.max_order));
        }
        let min_ram = (self.page_size as u64) << (self.max_order - 1);
        if self.ram_bytes < min_ram * self.nodes as u64 {
            return Err(format!(
                "ram_bytes {} is smaller than one max-order block per node",
                self.ram_bytes
            ));
        }
        if !pow2(self.kmalloc_min_size) || !pow2(self.arch_kmalloc_minalign) {
            return Err("kmalloc_min_size and arch_kmalloc_minalign must be powers of two".into());
        }
        if self.arch_slab_minalign != 0 && !pow2(self.arch_slab_minalign) {
            return Err("arch_slab_minalign must be 0 or a power of two".into());
        }
        if self.spinlock_size < 4
            || !self.spinlock_size.is_multiple_of(4)
            || self.spinlock_size > 256
        {
            return Err(format!(
                "spinlock_size {} is not a multiple of 4 in 4..=256",
                self.spinlock_size
            ));
        }
        Ok(())
    }
}

/// The named presets (`slab-verify list` prints them).
pub fn presets() -> Vec<Preset> {
    vec![
        Preset {
            name: "x86_64-2.6.30",
            description: "x86_64 SMP, 2.6.30.1, 4 CPUs, 8 GiB (golden dataset D4)",
            era: Era::A,
            profile: ArchProfile::x86_64(),
        },
        Preset {
            name: "i386-2.6.13",
            description: "i386 before 2.6.14: 2-byte kmem_bufctl_t, 24-byte struct slab",
            era: Era::A,
            profile: ArchProfile {
                slab_desc_size: 24,
                bufctl_size: 2,
                ..ArchProfile::i386()
            },
        },
        Preset {
            name: "i386-2.6.16",
            description: "i386 2.6.16 built for 32-byte L1 lines, running on a 64-byte-line CPU",
            era: Era::A,
            profile: ArchProfile {
                l1_cache_bytes: 32,
                ..ArchProfile::i386()
            },
        },
        Preset {
            name: "x86_64-4.4",
            description: "x86_64 SMP, 4.4: freelist index stack in struct page",
            era: Era::B,
            profile: ArchProfile {
                arch_slab_minalign: 8,
                ..ArchProfile::x86_64()
            },
        },
        Preset {
            name: "tiny-A",
            description: "2 CPUs, 1 node, 64 MiB, era A: small enough for loom",
            era: Era::A,
            profile: ArchProfile::tiny(),
        },
        Preset {
            name: "tiny-B",
            description: "2 CPUs, 1 node, 64 MiB, era B: small enough for loom",
            era: Era::B,
            profile: ArchProfile {
                arch_slab_minalign: 8,
                ..ArchProfile::tiny()
            },
        },
    ]
}

/// Looks a preset up by name.
pub fn preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.name == name)
}
