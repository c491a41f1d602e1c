//! `CONFIG_DEBUG_SLAB` at run time: red zones, poisoning, the last user, the freelist
//! checks and `kmem_flagcheck` — with the kernel's words.
//!
//! Layout of a slot (`cachep->buffer_size` in era A, `cachep->size` in era B), as both
//! eras place it (2.6.24 and 4.4 `dbg_redzone1`, `dbg_redzone2`, `dbg_userword`):
//!
//! ```text
//! slot + 0                         padding (none on the architectures modelled)
//! slot + obj_offset - 8            red zone 1 (64 bits)
//! slot + obj_offset                the caller's object, obj_size bytes (+ alignment pad)
//! slot + size - 8 [- REDZONE_ALIGN with STORE_USER]   red zone 2 (64 bits)
//! slot + size - BYTES_PER_WORD     the last user's address (STORE_USER)
//! ```
//!
//! The per-CPU, shared and alien arrays and the slabs hold **slot** addresses, as in the
//! kernel: `cache_alloc_debugcheck_after` adds `obj_offset` on the way out and
//! `cache_free_debugcheck` takes it off on the way in. Without DEBUG `obj_offset` is 0 and
//! both are identities.
//!
//! A check that fails does what the kernel does: it prints (here: records a
//! [`SlabReport`] in the machine's log, read with [`Machine::reports`]) and carries on.
//! Where the kernel `BUG()`s (`check_slabp`, the freelist double-free scan of
//! `slab_put_obj`) the model panics with the kernel's message, which the checkers see as
//! a failure. Reports are a debugging aid of the simulated kernel, not model state: the
//! audit does not read them.
//!
//! Not modelled: `CONFIG_DEBUG_PAGEALLOC` (unmapping freed page-sized objects instead of
//! poisoning them) and the stack dump of `slab_error`.

use crate::cache::KmemCache;
use crate::cpu::{Context, IrqOff};
use crate::error::SlabError;
use crate::gfp::Gfp;
use crate::machine::{Machine, Owner};
use crate::mutation::Mutation;
use crate::profile::Era;
use crate::slab::Slab;
use crate::slab_flags::SlabFlags;
use crate::sync::{PeekWord, Platform};
use crate::trace::EventKind;
use serde::Serialize;
use std::fmt;

/// `RED_INACTIVE` (include/linux/poison.h): the red-zone value of a free object.
pub const RED_INACTIVE: u64 = 0x09F9_1102_9D74_E35B;
/// `RED_ACTIVE`: the red-zone value of an allocated object.
pub const RED_ACTIVE: u64 = 0xD841_56C5_6356_88C0;
/// `POISON_INUSE`: written over an object when it is allocated (use before init).
pub const POISON_INUSE: u8 = 0x5a;
/// `POISON_FREE`: written over an object when it is freed (use after free).
pub const POISON_FREE: u8 = 0x6b;
/// `POISON_END`: the last byte of a poisoned object.
pub const POISON_END: u8 = 0xa5;

/// Bytes of one `dump_line` of `check_poison_obj`.
const DUMP_LINE: usize = 16;
/// `check_poison_obj` stops after this many dumped lines ("Limit to 5 lines": it breaks
/// once the count exceeds 5, so six lines at most are printed).
const DUMP_LINES_MAX: usize = 5;

/// One line of a `check_poison_obj` hex dump: the offset into the object and its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DumpLine {
    /// Offset of the first byte from the start of the object (`%03x`).
    pub offset: usize,
    /// Up to 16 bytes.
    pub bytes: Vec<u8>,
}

/// What the simulated kernel printed: one report per failed debug check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum SlabReport {
    /// `slab_error(cachep, msg)`: "slab error in FUNCTION(): cache `NAME': MSG", with
    /// the red-zone words when the check printed them.
    SlabError {
        /// The kernel function that complained (`__func__`).
        function: &'static str,
        /// Cache name.
        cache: String,
        /// The kernel's message.
        message: &'static str,
        /// The slot (`objp` as the kernel prints it after the message), if printed.
        objp: Option<u64>,
        /// Red zone 1 and 2 as read, if printed.
        redzones: Option<(u64, u64)>,
    },
    /// `check_poison_obj`: "Slab corruption: NAME start=ADDR, len=LEN" (era B adds the
    /// taint string) and the dump of the bad lines.
    SlabCorruption {
        /// The kernel function whose check found it (`cache_alloc_debugcheck_after` or
        /// `slab_destroy_objs` / `slab_destroy_debugcheck`).
        function: &'static str,
        /// Cache name.
        cache: String,
        /// Address of the object (`realobj`).
        start: u64,
        /// `obj_size`.
        len: usize,
        /// Offset of the first byte that is not the poison.
        first_bad: usize,
        /// The dumped lines (at most six).
        lines: Vec<DumpLine>,
        /// The last user's address (`STORE_USER`), as `print_objinfo` prints it.
        last_user: Option<u64>,
    },
}

impl SlabReport {
    /// The cache the report names.
    pub fn cache(&self) -> &str {
        match self {
            SlabReport::SlabError { cache, .. } | SlabReport::SlabCorruption { cache, .. } => cache,
        }
    }
    /// The kernel function whose check fired.
    pub fn function(&self) -> &'static str {
        match self {
            SlabReport::SlabError { function, .. }
            | SlabReport::SlabCorruption { function, .. } => function,
        }
    }
    /// The message's core ("double free detected", "Slab corruption", …).
    pub fn message(&self) -> &'static str {
        match self {
            SlabReport::SlabError { message, .. } => message,
            SlabReport::SlabCorruption { .. } => "Slab corruption",
        }
    }
}

impl fmt::Display for SlabReport {
    /// The kernel's lines (without the stack dump).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlabReport::SlabError {
                function,
                cache,
                message,
                objp,
                redzones,
            } => {
                write!(f, "slab error in {function}(): cache `{cache}': {message}")?;
                if let (Some(o), Some((r1, r2))) = (objp, redzones) {
                    write!(f, "\n{o:#x}: redzone 1:{r1:#x}, redzone 2:{r2:#x}.")?;
                }
                Ok(())
            }
            SlabReport::SlabCorruption {
                cache,
                start,
                len,
                lines,
                last_user,
                ..
            } => {
                write!(f, "Slab corruption: {cache} start={start:#x}, len={len}")?;
                if let Some(u) = last_user {
                    write!(f, "\nLast user: [<{u:#x}>]")?;
                }
                for l in lines {
                    write!(f, "\n{:03x}:", l.offset)?;
                    for b in &l.bytes {
                        write!(f, " {b:02x}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Where the debug words of a cache's slots are, from its geometry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DebugLayout {
    red_zone: bool,
    poison: bool,
    store_user: bool,
    obj_offset: u64,
    obj_size: usize,
    size: u64,
    redzone_align: u64,
    word: u64,
}

impl DebugLayout {
    pub(crate) fn of<P: Platform>(m: &Machine<P>, cachep: &KmemCache<P>) -> Option<Self> {
        if !m.profile().debug {
            return None;
        }
        let f = cachep.geo.flags;
        let l = DebugLayout {
            red_zone: f.contains(SlabFlags::RED_ZONE),
            poison: f.contains(SlabFlags::POISON),
            store_user: f.contains(SlabFlags::STORE_USER),
            obj_offset: cachep.geo.obj_offset as u64,
            obj_size: cachep.geo.object_size,
            size: cachep.size() as u64,
            redzone_align: crate::geometry::redzone_align(m.profile()) as u64,
            word: m.profile().word_size as u64,
        };
        (l.red_zone || l.poison || l.store_user).then_some(l)
    }
    /// `dbg_redzone1(cachep, objp)`.
    fn redzone1(&self, slot: u64) -> u64 {
        debug_assert!(self.red_zone);
        slot + self.obj_offset - 8
    }
    /// `dbg_redzone2(cachep, objp)`.
    fn redzone2(&self, slot: u64) -> u64 {
        debug_assert!(self.red_zone);
        let tail = if self.store_user {
            8 + self.redzone_align
        } else {
            8
        };
        slot + self.size - tail
    }
    /// `dbg_userword(cachep, objp)`.
    fn userword(&self, slot: u64) -> u64 {
        debug_assert!(self.store_user);
        slot + self.size - self.word
    }
}

/// Words standing for object memory (see [`object_memory`]).
pub(crate) const OBJECT_MEMORY_WORDS: usize = 16;

/// The debug code's accesses to the memory of slot `slot` conflict with a misbehaving
/// caller's store into it ([`Context::caller_write`]): both touch the slot's word of
/// `Machine::caller_store` first, so that loom (whose partial-order reduction skips
/// orders of independent accesses) and shuttle explore the store before and after each
/// check of that object. Slots map to words by their index (`slot / size`, consecutive
/// within a slab), so two objects of a slab share a word only 16 apart.
fn object_memory<P: Platform>(m: &Machine<P>, size: u64, slot: u64) {
    m.caller_store[(slot / size) as usize % OBJECT_MEMORY_WORDS].read_once();
}

fn read_u64<P: Platform>(m: &Machine<P>, addr: u64) -> u64 {
    let b = m.mem().read(addr, 8);
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

fn write_u64<P: Platform>(m: &Machine<P>, addr: u64, v: u64) {
    m.mem().write(addr, &v.to_le_bytes());
}

fn write_word<P: Platform>(m: &Machine<P>, l: &DebugLayout, addr: u64, v: u64) {
    let bytes = v.to_le_bytes();
    m.mem().write(addr, &bytes[..l.word as usize]);
}

fn read_word<P: Platform>(m: &Machine<P>, l: &DebugLayout, addr: u64) -> u64 {
    let b = m.mem().read(addr, l.word as usize);
    let mut w = [0u8; 8];
    w[..b.len()].copy_from_slice(&b);
    u64::from_le_bytes(w)
}

impl<'m, P: Platform> Context<'m, P> {
    /// `kmem_flagcheck(cachep, flags)` (eras A, B; DEBUG with `CONFIG_ZONE_DMA_FLAG`),
    /// from `cache_alloc_debugcheck_before` and `cache_grow`: a `GFP_DMA` allocation from
    /// a cache without DMA pages, or a plain one from a DMA cache, is a `BUG_ON`. The
    /// model refuses it before anything changes.
    pub(crate) fn kmem_flagcheck(
        &self,
        cachep: &KmemCache<P>,
        flags: Gfp,
    ) -> Result<(), SlabError> {
        if !self.m.profile().debug {
            return Ok(());
        }
        let wants_dma = flags.contains(Gfp::DMA);
        let cache_dma = cachep.gfpflags.contains(Gfp::DMA);
        if wants_dma != cache_dma {
            return Err(SlabError::KmemFlagcheck {
                cache: cachep.name.clone(),
                gfp: flags.0,
                cache_dma,
            });
        }
        Ok(())
    }

    /// The caller address the next operations record as `__builtin_return_address(0)`
    /// (`STORE_USER`'s last-user word); 0 until set.
    pub fn set_caller(&self, ip: u64) {
        self.caller.set(ip);
    }

    fn report(&self, cachep: &KmemCache<P>, r: SlabReport) {
        self.trace(
            cachep.id,
            EventKind::DebugReport {
                function: r.function(),
                message: r.message(),
            },
        );
        self.m.report(r);
    }

    /// `poison_obj(cachep, objp, val)` (eras A, B): fills the object with `val`, its
    /// last byte with `POISON_END`.
    fn poison_obj(&self, l: &DebugLayout, slot: u64, val: u8) {
        object_memory(self.m, l.size, slot);
        let obj = slot + l.obj_offset;
        let mut mem = self.m.mem();
        mem.fill(obj, l.obj_size, val);
        mem.fill(obj + l.obj_size as u64 - 1, 1, POISON_END);
    }

    /// `check_poison_obj(cachep, objp)` (eras A, B): every byte of a free object must
    /// still be `POISON_FREE`, the last `POISON_END`. A mismatch prints "Slab
    /// corruption" and up to six 16-byte lines, starting at the line of each bad byte.
    fn check_poison_obj(
        &self,
        cachep: &KmemCache<P>,
        l: &DebugLayout,
        slot: u64,
        function: &'static str,
    ) {
        let obj = slot + l.obj_offset;
        object_memory(self.m, l.size, slot);
        let bytes = self.m.mem().read(obj, l.obj_size);
        let expect = |i: usize| {
            if i + 1 == l.obj_size {
                POISON_END
            } else {
                POISON_FREE
            }
        };
        // The body first, compared with a poison block by block (memcmp), the byte scan
        // only inside a block that differs: byte by byte, this check was 70% of a DEBUG
        // campaign's time. Then the end marker.
        const FREE_BLOCK: [u8; 256] = [POISON_FREE; 256];
        let body = l.obj_size.saturating_sub(1);
        let first_bad = bytes[..body]
            .chunks(FREE_BLOCK.len())
            .enumerate()
            .find(|(_, c)| *c != &FREE_BLOCK[..c.len()])
            .and_then(|(k, c)| {
                let i = c.iter().position(|&b| b != POISON_FREE)?;
                Some(k * FREE_BLOCK.len() + i)
            })
            .or_else(|| (l.obj_size > 0 && bytes[body] != POISON_END).then_some(body));
        let Some(first_bad) = first_bad else {
            return;
        };
        let mut lines = Vec::new();
        let mut i = first_bad;
        while i < l.obj_size {
            if bytes[i] != expect(i) {
                let start = i / DUMP_LINE * DUMP_LINE;
                let end = (start + DUMP_LINE).min(l.obj_size);
                lines.push(DumpLine {
                    offset: start,
                    bytes: bytes[start..end].to_vec(),
                });
                i = start + DUMP_LINE;
                if lines.len() > DUMP_LINES_MAX {
                    break;
                }
            } else {
                i += 1;
            }
        }
        let last_user = l.store_user.then(|| read_word(self.m, l, l.userword(slot)));
        self.report(
            cachep,
            SlabReport::SlabCorruption {
                function,
                cache: cachep.name.clone(),
                start: obj,
                len: l.obj_size,
                first_bad,
                lines,
                last_user,
            },
        );
    }

    /// `cache_alloc_debugcheck_after(cachep, flags, objp, caller)` (eras A, B), after
    /// `local_irq_restore` in `__cache_alloc` / `__cache_alloc_node` (so interrupts are
    /// on and no lock is held): checks the poison and sets `POISON_INUSE`, records the
    /// caller, checks both red zones are inactive and sets them active, runs a poisoned
    /// cache's constructor, and returns the caller's address, slot + `obj_offset`. Then
    /// the model's own bookkeeping: the shadow owner, `__GFP_ZERO`, the trace.
    pub(crate) fn cache_alloc_debugcheck_after(
        &self,
        cachep: &KmemCache<P>,
        flags: Gfp,
        slot: u64,
        owner: Owner,
    ) -> u64 {
        if let Some(l) = DebugLayout::of(self.m, cachep) {
            if l.poison {
                if !self.m.mutations().has(Mutation::PoisonUncheckedOnAlloc) {
                    self.check_poison_obj(cachep, &l, slot, "cache_alloc_debugcheck_after");
                }
                self.poison_obj(&l, slot, POISON_INUSE);
            }
            if l.store_user {
                write_word(self.m, &l, l.userword(slot), self.caller.get());
            }
            if l.red_zone {
                object_memory(self.m, l.size, slot);
                let (r1, r2) = (
                    read_u64(self.m, l.redzone1(slot)),
                    read_u64(self.m, l.redzone2(slot)),
                );
                if r1 != RED_INACTIVE || r2 != RED_INACTIVE {
                    self.report(
                        cachep,
                        SlabReport::SlabError {
                            function: "cache_alloc_debugcheck_after",
                            cache: cachep.name.clone(),
                            message: "double free, or memory outside object was overwritten",
                            objp: Some(slot),
                            redzones: Some((r1, r2)),
                        },
                    );
                }
                write_u64(self.m, l.redzone1(slot), RED_ACTIVE);
                write_u64(self.m, l.redzone2(slot), RED_ACTIVE);
            }
            if cachep.ctor && l.poison {
                // With POISON the constructor runs here, on every allocation, instead of
                // once in cache_init_objs (the poison would overwrite its work).
                self.m
                    .mem()
                    .fill(slot + l.obj_offset, l.obj_size, crate::grow::CTOR_PATTERN);
            }
        }
        let objp = slot + cachep.geo.obj_offset as u64;
        self.m.shadow().insert(objp, cachep.id, owner);
        if flags.contains(Gfp::ZERO) {
            self.m.mem().fill(objp, cachep.geo.object_size, 0);
        }
        self.trace(
            cachep.id,
            EventKind::Object {
                addr: objp,
                alloc: true,
            },
        );
        objp
    }

    /// `verify_redzone_free(cache, obj)` (eras A, B): both red zones must be active.
    /// Both inactive is "double free detected"; anything else "memory outside object was
    /// overwritten". Returns whether they were both active.
    fn verify_redzone_free(&self, cachep: &KmemCache<P>, l: &DebugLayout, slot: u64) -> bool {
        object_memory(self.m, l.size, slot);
        let (r1, r2) = (
            read_u64(self.m, l.redzone1(slot)),
            read_u64(self.m, l.redzone2(slot)),
        );
        if (r1 == RED_ACTIVE && r2 == RED_ACTIVE)
            || self.m.mutations().has(Mutation::RedzoneUncheckedOnFree)
        {
            return true;
        }
        let message = if r1 == RED_INACTIVE && r2 == RED_INACTIVE {
            "double free detected"
        } else {
            "memory outside object was overwritten"
        };
        self.report(
            cachep,
            SlabReport::SlabError {
                function: "cache_free_debugcheck",
                cache: cachep.name.clone(),
                message,
                objp: Some(slot),
                redzones: Some((r1, r2)),
            },
        );
        false
    }

    /// `cache_free_debugcheck(cachep, objp, caller)` (eras A, B), first thing in
    /// `__cache_free`, interrupts off: takes `obj_offset` off, verifies and resets the
    /// red zones, records the caller, poisons the object. Returns the slot the arrays
    /// hold.
    pub(crate) fn cache_free_debugcheck(
        &self,
        cachep: &KmemCache<P>,
        objp: u64,
        _irq: &IrqOff<'m, P>,
    ) -> u64 {
        let slot = objp - cachep.geo.obj_offset as u64;
        let Some(l) = DebugLayout::of(self.m, cachep) else {
            return slot;
        };
        if l.red_zone {
            self.verify_redzone_free(cachep, &l, slot);
            // The rewrite is a second access: a store between the check and it is lost.
            object_memory(self.m, l.size, slot);
            write_u64(self.m, l.redzone1(slot), RED_INACTIVE);
            write_u64(self.m, l.redzone2(slot), RED_INACTIVE);
        }
        if l.store_user {
            write_word(self.m, &l, l.userword(slot), self.caller.get());
        }
        if l.poison {
            self.poison_obj(&l, slot, POISON_FREE);
        }
        slot
    }

    /// A free of an object that is not allocated, on a red-zoned debug cache (eras A,
    /// B): the kernel's `cache_free_debugcheck` finds both red zones inactive, prints
    /// "double free detected" and carries on. The model records that report and stops
    /// there: in the kernel the object would now sit on the array twice, and a later
    /// `slab_put_obj` would `BUG()`. Returns `false` when the cache has no red zones
    /// (the typed `DoubleFree` stands).
    pub(crate) fn debug_double_free(&self, cachep: &KmemCache<P>, objp: u64) -> bool {
        let Some(l) = DebugLayout::of(self.m, cachep).filter(|l| l.red_zone) else {
            return false;
        };
        let irq = self.local_irq_disable();
        self.verify_redzone_free(cachep, &l, objp - l.obj_offset);
        self.local_irq_enable(irq);
        true
    }

    /// The DEBUG part of `cache_init_objs` (eras A, B), for object `i`: poison it, clear
    /// the last user, set both red zones inactive, run the constructor unless the cache
    /// is poisoned (then it runs at allocation), and check that the constructor left the
    /// red zones alone. Returns whether the constructor ran here.
    pub(crate) fn cache_init_obj_debug(
        &self,
        cachep: &KmemCache<P>,
        slot: u64,
        ctor: impl FnOnce(),
    ) -> bool {
        let Some(l) = DebugLayout::of(self.m, cachep) else {
            ctor();
            return true;
        };
        if l.poison {
            self.poison_obj(&l, slot, POISON_FREE);
        }
        if l.store_user {
            write_word(self.m, &l, l.userword(slot), 0);
        }
        if l.red_zone {
            write_u64(self.m, l.redzone1(slot), RED_INACTIVE);
            write_u64(self.m, l.redzone2(slot), RED_INACTIVE);
        }
        let ran = !l.poison;
        if ran {
            ctor();
        }
        if l.red_zone {
            for (addr, message) in [
                (
                    l.redzone2(slot),
                    "constructor overwrote the end of an object",
                ),
                (
                    l.redzone1(slot),
                    "constructor overwrote the start of an object",
                ),
            ] {
                if read_u64(self.m, addr) != RED_INACTIVE {
                    self.report(
                        cachep,
                        SlabReport::SlabError {
                            function: "cache_init_objs",
                            cache: cachep.name.clone(),
                            message,
                            objp: None,
                            redzones: None,
                        },
                    );
                }
            }
        }
        ran
    }

    /// `slab_destroy_objs` (era A) / `slab_destroy_debugcheck` (era B), first in
    /// `slab_destroy`: every object of the dying slab is free, so its poison must be
    /// intact and both red zones inactive.
    pub(crate) fn slab_destroy_debugcheck(&self, cachep: &KmemCache<P>, slab: &Slab) {
        let Some(l) = DebugLayout::of(self.m, cachep) else {
            return;
        };
        let function = match self.m.era() {
            Era::A => "slab_destroy_objs",
            Era::B => "slab_destroy_debugcheck",
        };
        for i in 0..cachep.num() {
            let slot = slab.index_to_obj(cachep.size(), i);
            if l.poison {
                self.check_poison_obj(cachep, &l, slot, function);
            }
            if l.red_zone {
                object_memory(self.m, l.size, slot);
                if read_u64(self.m, l.redzone1(slot)) != RED_INACTIVE {
                    self.report(
                        cachep,
                        SlabReport::SlabError {
                            function,
                            cache: cachep.name.clone(),
                            message: "start of a freed object was overwritten",
                            objp: None,
                            redzones: None,
                        },
                    );
                }
                if read_u64(self.m, l.redzone2(slot)) != RED_INACTIVE {
                    self.report(
                        cachep,
                        SlabReport::SlabError {
                            function,
                            cache: cachep.name.clone(),
                            message: "end of a freed object was overwritten",
                            objp: None,
                            redzones: None,
                        },
                    );
                }
            }
        }
    }
}

/// `check_slabp(cachep, slabp)` (era A, DEBUG; called around every `slab_get_obj` batch
/// in `cache_alloc_refill` and `____cache_alloc_node`, and around `slab_put_obj` in
/// `free_block`): the bufctl chain from `free` must reach `BUFCTL_END` in exactly `num -
/// inuse` steps through valid indices. The kernel prints "slab: Internal list corruption
/// detected in cache ..." and `BUG()`s; so does the model (a panic the checkers report).
/// Era B has no such walk; its counterpart is the double-free scan of `slab_put_obj`.
pub(crate) fn check_slabp<P: Platform>(m: &Machine<P>, cachep: &KmemCache<P>, slab: &Slab) {
    if !m.profile().debug || m.era() != Era::A {
        return;
    }
    if let Err(why) = slab.free_indices(cachep.num()) {
        panic!(
            "slab: Internal list corruption detected in cache '{}'({}), slabp {:#x}({}): {why}",
            cachep.name,
            cachep.num(),
            slab.mgmt_addr,
            slab.inuse
        );
    }
}

/// The DEBUG double-free check of `slab_put_obj` (eras A, B), `list_lock` held: the
/// object must not already be free in its slab. Era A looks at the object's bufctl (a
/// free object's holds a link, an allocated one's `BUFCTL_FREE`); era B scans the free
/// part of the index array. The model asks the freelist whether the index is on it,
/// which is what both tests decide. The kernel prints "slab: double free detected in
/// cache" and `BUG()`s; so does the model.
pub(crate) fn slab_put_obj_debugcheck<P: Platform>(
    m: &Machine<P>,
    cachep: &KmemCache<P>,
    slab: &Slab,
    objnr: usize,
    objp: u64,
) {
    if !m.profile().debug {
        return;
    }
    if slab
        .free_indices(cachep.num())
        .is_ok_and(|free| free.contains(&objnr))
    {
        panic!(
            "slab: double free detected in cache '{}', objp {objp:#x}",
            cachep.name
        );
    }
}

impl<'m, P: Platform> Context<'m, P> {
    /// A misbehaving caller — not kernel code: writes `data` at `objp + offset`, where
    /// `objp` is any address inside a slab's objects (allocated or not) and `offset` may
    /// be negative. It is how a test or a fuzz run gives the DEBUG checks something to
    /// find: past an object's end, before its start, into a freed object. The write must
    /// stay among the objects of one live slab (a wild write anywhere else would corrupt
    /// what the model keeps outside memory); otherwise [`SlabError::WildWrite`], before
    /// anything is written. Takes no lock: a caller's store is not synchronised.
    pub fn caller_write(&self, objp: u64, offset: i64, data: &[u8]) -> Result<(), SlabError> {
        self.check_running()?;
        let wild = || SlabError::WildWrite {
            addr: objp.wrapping_add_signed(offset),
            len: data.len(),
        };
        let start = objp.checked_add_signed(offset).ok_or_else(wild)?;
        let end = start.checked_add(data.len() as u64).ok_or_else(wild)?;
        if data.is_empty() {
            return Err(wild());
        }
        // Where the store lands: the objects of one live slab, else a wild write.
        let locate = |mem: &crate::memory::PhysMem| -> Option<(u32, u64)> {
            let slab_of = |addr: u64| {
                let pfn = mem.virt_to_pfn(addr).filter(|&p| mem.pfn_valid(p))?;
                let rec = mem.page(pfn).filter(|r| r.is_slab())?;
                Some((rec.slab?, rec.slab_cache?, rec.s_mem))
            };
            let (a, b) = (slab_of(start)?, slab_of(end - 1)?);
            if a != b {
                return None;
            }
            let cachep = self.m.cache_by_id(a.1);
            let size = cachep.size() as u64;
            let objects_end = a.2 + cachep.num() as u64 * size;
            if start < a.2 || end > objects_end {
                return None;
            }
            Some((a.1, a.2 + (start - a.2) / size * size))
        };
        let (cache, slot) = locate(&self.m.mem()).ok_or_else(wild)?;
        // The store synchronises with nothing: a relaxed write to the slot's word of
        // object memory, which the checkers may place between any two steps of the other
        // contexts (the simulated memory itself is not a scheduling point) — so the slab
        // may be gone once it lands.
        let size = self.m.cache_by_id(cache).size() as u64;
        self.m.caller_store[(slot / size) as usize % OBJECT_MEMORY_WORDS]
            .write_once(start as usize);
        let mut mem = self.m.mem();
        let (cache, _) = locate(&mem).ok_or_else(wild)?;
        mem.write(start, data);
        // Still holding memory: a check that reads these bytes after this event reads the
        // store, one whose reads began before it may or may not.
        self.trace(
            cache,
            EventKind::CallerWrite {
                addr: start,
                len: data.len() as u32,
            },
        );
        Ok(())
    }
}
