//! A failing execution's counterexample: the structured trace ([`FailureTrace`]: lanes, rows,
//! the state of the arrays and slabs involved) built from the machine's event trace, its
//! text rendering, and the per-thread slot the drivers read it back from
//! ([`take_last_failure`], [`last_failure`]).

use serde::Serialize;
use slab_model::sync::Platform;
use slab_model::Machine;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Events a counterexample shows.
pub const COUNTEREXAMPLE_EVENTS: usize = 60;

/// One row of a counterexample's trace: a model event, or (the last row) the failing
/// access itself.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TraceRow {
    /// Global sequence number of the event (the failure row: one past the last event).
    pub seq: u64,
    /// Index into [`FailureTrace::lanes`].
    pub lane: usize,
    /// The CPU the event ran on (for the failure row: the failing context's CPU).
    pub cpu: u16,
    /// The cache's name (`kmem_cache_create`'s `name`), when the event is cache-specific.
    pub cache: Option<String>,
    /// Event class: `enter`, `irq-off`, `irq-on`, `irq-window-open`, `irq-window-close`,
    /// `migrate`, `lock`, `unlock`, `unlocked-access`, `objects`, `list-move`, `slab`,
    /// `page-alloc`, `object`, `cpu-online`, or `failure` (the failing access).
    pub class: &'static str,
    /// The lock a `lock` / `unlock` row takes or releases (`node0.list_lock`,
    /// `alien[node1]@node0`, `cache_chain_mutex`, `slab_mutex`, `zone->lock`, ...).
    pub lock: Option<String>,
    /// What happened, in kernel vocabulary, never truncated.
    pub text: String,
    /// The failing access (the last row), in text and HTML marked as such.
    pub failing: bool,
}

/// One lane (column) of a counterexample: an execution context.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Lane {
    /// The context's name (`task@cpu0`, `irq@cpu1`, `reaper@cpu0`, `setup`, ...).
    pub name: String,
    /// Whether this lane is the single-threaded setup (before any concurrent context).
    pub setup: bool,
}

/// What the trace last recorded about one array or slab: the state at the failure of the
/// places involved.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StateRow {
    /// The place: `ac[cpu0]`, `shared[node0]`, `alien[node1]`, `slab@0x400`.
    pub place: String,
    /// The cache, when known.
    pub cache: Option<String>,
    /// Its last recorded state (`avail 3`, `on slabs_partial`, `destroyed`).
    pub state: String,
    /// Sequence number of the event that recorded it.
    pub seq: u64,
}

/// A failing execution's trace, structured (the text lanes, the HTML page and the JSON
/// reports are all rendered from it).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct FailureTrace {
    /// The violated invariant (first line of the failure).
    pub invariant: String,
    /// The context whose access failed (`audit` for the final audit on the main thread).
    pub context: String,
    /// Lanes, in column order.
    pub lanes: Vec<Lane>,
    /// Rows, oldest first; the last one is the failing access (`failing: true`).
    pub rows: Vec<TraceRow>,
    /// Events recorded before the first row (dropped from the bounded buffer or cut
    /// from the window): the rows are the last part of the run.
    pub earlier_events: u64,
    /// State of the arrays and slabs the rows involve, as last recorded.
    pub state: Vec<StateRow>,
}

pub(super) type Renderer = Box<dyn Fn(&str) -> String>;

thread_local! {
    /// The running scenario's machine, as a failure renderer: lets `run` attach the trace
    /// to a failed main-thread assertion too.
    pub(super) static CURRENT: std::cell::RefCell<Option<Renderer>> = const { std::cell::RefCell::new(None) };
    /// The trace of the most recent failure on this OS thread (loom and shuttle run every
    /// model thread on the thread that called them).
    pub(super) static LAST_FAILURE: std::cell::RefCell<Option<FailureTrace>> = const { std::cell::RefCell::new(None) };
}

thread_local! {
    /// Whether [`super::run`] keeps the whole trace of every execution ([`keep_run_traces`]).
    pub(super) static KEEP_RUN_TRACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The running scenario's machine, as a snapshot of its whole trace (set only while
    /// traces are kept).
    pub(super) static SNAPSHOT: std::cell::RefCell<Option<Box<dyn Fn() -> RunTrace>>> = const { std::cell::RefCell::new(None) };
    /// The whole trace of the most recent execution on this thread, when kept.
    pub(super) static LAST_RUN_TRACE: std::cell::RefCell<Option<RunTrace>> = const { std::cell::RefCell::new(None) };
}

/// The whole trace of one execution, passing or failing: what the witness search
/// (`crate::witness`) reads and the diagrams draw. Kept only while [`keep_run_traces`]
/// is on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunTrace {
    /// The recorded events, oldest first (all of them if the capacity sufficed).
    pub events: Vec<slab_model::trace::Event>,
    /// Context names, by index.
    pub contexts: Vec<String>,
    /// Cache names, by id, of the caches the events name.
    pub caches: std::collections::BTreeMap<u32, String>,
    /// Events recorded in all (more than `events.len()` when the buffer dropped some).
    pub recorded: u64,
}

impl RunTrace {
    /// The whole trace of `t`, now.
    pub fn of(t: &slab_model::trace::Trace) -> Self {
        let events = t.events();
        let mut caches = std::collections::BTreeMap::new();
        for e in &events {
            if e.cache != u32::MAX {
                caches
                    .entry(e.cache)
                    .or_insert_with(|| t.cache_name(e.cache));
            }
        }
        RunTrace {
            events,
            contexts: t.context_names(),
            caches,
            recorded: t.recorded(),
        }
    }
}

/// Makes [`super::run`] keep (or stop keeping) the whole trace of each execution on this
/// thread, for [`take_run_trace`].
pub fn keep_run_traces(on: bool) {
    KEEP_RUN_TRACE.with(|k| k.set(on));
    if !on {
        LAST_RUN_TRACE.with(|t| *t.borrow_mut() = None);
        SNAPSHOT.with(|s| *s.borrow_mut() = None);
    }
}

/// Takes the whole trace of the most recent execution on this thread (kept only while
/// [`keep_run_traces`] is on): recorded at its end, or at its failure (a deadlock that
/// shuttle reports leaves none).
pub fn take_run_trace() -> Option<RunTrace> {
    LAST_RUN_TRACE.with(|t| t.borrow_mut().take())
}

/// While traces are kept: registers `m` as the running scenario's machine.
pub(super) fn keep_machine<P: Platform>(m: &std::sync::Arc<Machine<P>>) {
    if KEEP_RUN_TRACE.with(|k| k.get()) {
        let m = m.clone();
        SNAPSHOT.with(|s| *s.borrow_mut() = Some(Box::new(move || RunTrace::of(&m.trace))));
    }
}

/// At the start of [`super::run`]: forgets the previous execution's trace and machine.
pub(super) fn run_starts() {
    LAST_RUN_TRACE.with(|t| *t.borrow_mut() = None);
    SNAPSHOT.with(|s| *s.borrow_mut() = None);
}

/// At the end of [`super::run`], still inside the execution: keeps the whole trace of
/// the machine and drops it.
pub(super) fn run_ends() {
    if let Some(snap) = SNAPSHOT.with(|s| s.borrow_mut().take()) {
        let trace = snap();
        LAST_RUN_TRACE.with(|t| *t.borrow_mut() = Some(trace));
    }
}

/// Takes the trace recorded by the most recent failure on this thread.
pub fn take_last_failure() -> Option<FailureTrace> {
    LAST_FAILURE.with(|f| f.borrow_mut().take())
}

/// A copy of the trace recorded by the most recent failure on this thread.
pub fn last_failure() -> Option<FailureTrace> {
    LAST_FAILURE.with(|f| f.borrow().clone())
}

/// Where a failure was caught.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FailedIn {
    /// Inside a model thread (or the scenario's main thread): the context of that
    /// thread's last event made the failing access.
    Thread,
    /// The audit after every context joined.
    Audit,
}

/// The lane name of the final audit.
pub const AUDIT_LANE: &str = "audit (after join)";

/// Builds the structured trace of a failure from the machine's trace: the last
/// [`COUNTEREXAMPLE_EVENTS`] events, then the failing access as the last row, in the lane
/// of the context that made it.
fn failure_trace<P: Platform>(m: &Machine<P>, msg: &str, at: FailedIn) -> FailureTrace {
    let t = &m.trace;
    let (events, mut lane_ids) = t.tail(COUNTEREXAMPLE_EVENTS);
    let invariant = msg.lines().next().unwrap_or("").to_string();
    let cache = |id: u32| Some(t.cache_name(id)).filter(|n| !n.is_empty());
    let mut rows: Vec<TraceRow> = events
        .iter()
        .map(|e| TraceRow {
            seq: e.seq,
            lane: lane_ids.iter().position(|&l| l == e.ctx).unwrap_or(0),
            cpu: e.cpu,
            cache: cache(e.cache),
            class: e.kind.class(),
            lock: e.kind.lock().map(|l| l.to_string()),
            text: t.describe(e),
            failing: false,
        })
        .collect();
    let names: Vec<String> = lane_ids.iter().map(|&l| t.context_name(l)).collect();
    // The single-threaded setup: the `setup*` contexts, and any other lane (the
    // machine-level `kmem_cache_create` of the scenario's caches) whose rows all come
    // before the first row of every lane that is not setup.
    let first = |i: usize| rows.iter().position(|r| r.lane == i).unwrap_or(usize::MAX);
    let last = |i: usize| rows.iter().rposition(|r| r.lane == i).unwrap_or(0);
    let named: Vec<bool> = names.iter().map(|n| n.starts_with("setup")).collect();
    let mut lanes: Vec<Lane> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Lane {
            setup: named[i]
                || (0..names.len())
                    .filter(|&j| j != i && !named[j])
                    .all(|j| last(i) < first(j)),
            name: name.clone(),
        })
        .collect();
    if lanes.iter().all(|l| l.setup) {
        // Nothing ran concurrently in the rows shown: nothing to fold away.
        for (l, &n) in lanes.iter_mut().zip(&named) {
            l.setup = n;
        }
    }
    let failing = match at {
        // After a backend's own failure (loom's deadlock report) the thread may no longer
        // be able to name itself: then the failure has no lane of its own.
        FailedIn::Thread => catch_unwind(P::thread_tag)
            .ok()
            .and_then(|tag| t.last_of_thread(tag)),
        FailedIn::Audit => None,
    };
    let (lane, cpu, context) = match failing {
        Some((ctx, cpu)) => {
            let lane = match lane_ids.iter().position(|&l| l == ctx) {
                Some(i) => i,
                None => {
                    lane_ids.push(ctx);
                    lanes.push(Lane {
                        name: t.context_name(ctx),
                        setup: false,
                    });
                    lanes.len() - 1
                }
            };
            (lane, cpu, t.context_name(ctx))
        }
        None => {
            // The final audit, or a failure the backend itself reported (a deadlock)
            // in a thread that can no longer be named.
            let name = match at {
                FailedIn::Audit => AUDIT_LANE,
                FailedIn::Thread => "model checker",
            };
            lanes.push(Lane {
                name: name.into(),
                setup: false,
            });
            (
                lanes.len() - 1,
                slab_model::trace::NO_CPU as u16,
                name.to_string(),
            )
        }
    };
    let seq = t.recorded();
    let where_ = if cpu as usize == slab_model::trace::NO_CPU {
        String::new()
    } else {
        format!("cpu{cpu} ")
    };
    rows.push(TraceRow {
        seq,
        lane,
        cpu,
        cache: None,
        class: "failure",
        lock: None,
        text: format!("{where_}FAILS HERE: {invariant}"),
        failing: true,
    });
    FailureTrace {
        state: state_rows(&events, t),
        earlier_events: events.first().map_or(seq, |e| e.seq),
        invariant,
        context,
        lanes,
        rows,
    }
}

/// The arrays and slabs the rows involve, as the rows leave them: for each array the
/// objects the rows moved in and out, for each slab the list it was last put on.
fn state_rows(events: &[slab_model::trace::Event], t: &slab_model::trace::Trace) -> Vec<StateRow> {
    use slab_model::trace::{EventKind, ListKind, Place};
    use std::collections::BTreeMap;
    // (place, cache) -> (in, out, last seq); slab -> (state, cache, seq). BTreeMaps keep
    // the order deterministic.
    let mut arrays: BTreeMap<(String, u32), (u32, u32, u64)> = BTreeMap::new();
    let mut slabs: BTreeMap<u64, (String, u32, u64)> = BTreeMap::new();
    for e in events {
        match e.kind {
            EventKind::ObjectsMoved { from, to, count } => {
                for (p, incoming) in [(from, false), (to, true)] {
                    if matches!(p, Place::Slab | Place::Caller) {
                        continue;
                    }
                    let a = arrays.entry((p.to_string(), e.cache)).or_default();
                    if incoming {
                        a.0 += count;
                    } else {
                        a.1 += count;
                    }
                    a.2 = e.seq;
                }
            }
            EventKind::SlabCreated {
                slab,
                colour_offset,
            } => {
                slabs.insert(
                    slab,
                    (
                        format!("created, colour offset {colour_offset}"),
                        e.cache,
                        e.seq,
                    ),
                );
            }
            EventKind::ListMove { slab, to, .. } => {
                let state = match to {
                    ListKind::None => "on no list".to_string(),
                    l => format!("on {l}"),
                };
                slabs.insert(slab, (state, e.cache, e.seq));
            }
            EventKind::SlabDestroyed { slab } => {
                slabs.insert(slab, ("destroyed".into(), e.cache, e.seq));
            }
            _ => {}
        }
    }
    let name = |id: u32| Some(t.cache_name(id)).filter(|n| !n.is_empty());
    let mut out: Vec<StateRow> = arrays
        .into_iter()
        .map(|((place, cache), (i, o, seq))| StateRow {
            place,
            cache: name(cache),
            state: format!("{i} objects in, {o} out in these rows"),
            seq,
        })
        .collect();
    out.extend(
        slabs
            .into_iter()
            .map(|(slab, (state, cache, seq))| StateRow {
                place: format!("slab@{slab:#x}"),
                cache: name(cache),
                state,
                seq,
            }),
    );
    out
}

/// The failure as text: the message, then the lanes of the structured trace.
fn render_failure(msg: &str, ft: &FailureTrace) -> String {
    let names: Vec<String> = ft.lanes.iter().map(|l| l.name.clone()).collect();
    let rows: Vec<(String, usize, String)> = ft
        .rows
        .iter()
        .map(|r| {
            let seq = if r.failing {
                ">>".to_string()
            } else {
                r.seq.to_string()
            };
            (seq, r.lane, r.text.clone())
        })
        .collect();
    format!(
        "{msg}\n--- model trace (last events, one column per context; >> marks the failing access) ---\n{}",
        slab_model::trace::render_table(&names, &rows)
    )
}

pub(super) fn record_failure<P: Platform>(m: &Machine<P>, msg: &str, at: FailedIn) -> String {
    let ft = failure_trace(m, msg, at);
    if KEEP_RUN_TRACE.with(|k| k.get()) {
        let run = RunTrace::of(&m.trace);
        LAST_RUN_TRACE.with(|t| *t.borrow_mut() = Some(run));
    }
    let text = render_failure(msg, &ft);
    LAST_FAILURE.with(|f| *f.borrow_mut() = Some(ft));
    text
}

/// Runs `body` and, if it panics, panics again with the trace lanes appended: the
/// counterexample in kernel terms.
pub(super) fn with_trace<P: Platform, T>(m: &Machine<P>, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(e) => {
            let msg = panic_message(&e);
            if msg.contains("--- model trace") {
                std::panic::resume_unwind(e);
            }
            panic!("{}", record_failure(m, &msg, FailedIn::Thread));
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "panic with a non-string payload".into()
    }
}
