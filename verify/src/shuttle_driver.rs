//! Runs scenarios under shuttle: random, PCT and DFS schedulers over configurations too
//! large for loom, with every failure captured as a replayable counterexample token.
//!
//! shuttle models every atomic as `SeqCst` and has no data-race detector; the model's
//! racy paths check for overlap explicitly and the audit catches the consequences.
//! Determinism: the workload comes from the scenario parameters, the interleaving from
//! the scheduler's seed; a recorded schedule replays the same execution exactly (shuttle
//! is pinned because schedules do not survive scheduling-point changes across versions).

use crate::scenario::{panic_message, run, Params, ScenarioId};
use serde::Serialize;
use shuttle::scheduler::{
    DfsScheduler, PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
};
use shuttle::{Config, FailurePersistence, Runner};
use shuttle_engine::scheduler::serialization::{deserialize_schedule, serialize_schedule};
use slab_model::sync::ShuttlePlatform;
use slab_model::{Era, Mutation, MutationSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Version tag of counterexample tokens and files.
pub const TOKEN_VERSION: &str = "slab1";

/// A shuttle scheduler choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SchedulerKind {
    /// Uniformly random choice at every scheduling point.
    Random,
    /// Probabilistic concurrency testing with this bug depth.
    Pct(usize),
    /// Depth-first enumeration of schedules (no partial-order reduction).
    Dfs,
}

impl std::fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchedulerKind::Random => f.write_str("random"),
            SchedulerKind::Pct(d) => write!(f, "pct{d}"),
            SchedulerKind::Dfs => f.write_str("dfs"),
        }
    }
}

/// How long a campaign runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Budget {
    /// A number of executions.
    Iterations(usize),
    /// Wall time (checked between executions).
    Seconds(f64),
}

/// A failing execution, replayable.
#[derive(Clone, Debug, Serialize)]
pub struct Counterexample {
    /// `slab1:<scenario>:<era>:<cpus>:<ops>:<seed>:<mutations>:<shuttle schedule>`.
    pub token: String,
    /// The violated invariant and the model trace.
    pub message: String,
}

/// The result of one campaign.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignReport {
    /// Scenario name.
    pub scenario: &'static str,
    /// Parameters.
    pub params: Params,
    /// Scheduler.
    pub scheduler: SchedulerKind,
    /// Executions run (up to and including a failing one).
    pub iterations: usize,
    /// Wall time (reporting only).
    pub seconds: f64,
    /// The failure, if one execution failed.
    pub failure: Option<Counterexample>,
}

impl CampaignReport {
    /// Executions per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.iterations as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Wraps a scheduler and records the current execution's decisions, so a failure's
/// schedule is known without going through shuttle's panic hook.
struct Recording<S> {
    inner: S,
    current: Arc<Mutex<Schedule>>,
}

impl<S: Scheduler> Scheduler for Recording<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        let s = self.inner.new_execution()?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Schedule::new(s.seed);
        Some(s)
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let t = self.inner.next_task(runnable, current, is_yielding)?;
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_task(t);
        Some(t)
    }
    fn next_u64(&mut self) -> u64 {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_random();
        self.inner.next_u64()
    }
}

/// A uniformly random scheduler on a seeded PCG stream (rand_pcg). shuttle's own
/// `RandomScheduler` prints its seed to stderr whenever it is dropped after a failure; the
/// counterexample token already carries everything needed to replay, so this one is quiet.
struct QuietRandom {
    rng: rand_pcg::Pcg64Mcg,
    seed: u64,
    remaining: usize,
}

impl QuietRandom {
    fn new(seed: u64, iterations: usize) -> Self {
        QuietRandom {
            rng: rand_pcg::Pcg64Mcg::new(0xcafe_f00d_d15e_a5e5 ^ seed as u128),
            seed,
            remaining: iterations,
        }
    }
}

impl Scheduler for QuietRandom {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(Schedule::new(self.seed))
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        _current: Option<TaskId>,
        _is_yielding: bool,
    ) -> Option<TaskId> {
        let i = (rand_core::Rng::next_u64(&mut self.rng) % runnable.len() as u64) as usize;
        Some(runnable[i].id())
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::Rng::next_u64(&mut self.rng)
    }
}

/// Installs shuttle's panic hook (it is installed once, on the first run) and then replaces
/// it with `hook`: shuttle's hook only prints the schedule, which the counterexample token
/// already carries. For the CLI, whose reports say everything themselves.
pub fn quiet_panics(hook: Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>) {
    let _ = Runner::new(
        RandomScheduler::new_from_seed(0, 1),
        config(Budget::Iterations(1)),
    )
    .run(|| {});
    std::panic::set_hook(hook);
}

fn config(budget: Budget) -> Config {
    let mut c = Config::new();
    c.failure_persistence = FailurePersistence::None;
    c.silence_warnings = true;
    if let Budget::Seconds(s) = budget {
        c.max_time = Some(Duration::from_secs_f64(s));
    }
    c
}

fn scheduler(kind: SchedulerKind, seed: u64, budget: Budget) -> Box<dyn Scheduler + Send> {
    let iters = match budget {
        Budget::Iterations(n) => n,
        Budget::Seconds(_) => usize::MAX,
    };
    match kind {
        SchedulerKind::Random => Box::new(QuietRandom::new(seed, iters)),
        SchedulerKind::Pct(d) => Box::new(PctScheduler::new_from_seed(seed, d, iters)),
        SchedulerKind::Dfs => Box::new(DfsScheduler::new(Some(iters), false)),
    }
}

/// Encodes a counterexample token.
pub fn token(id: ScenarioId, p: &Params, schedule: &Schedule) -> String {
    let muts: Vec<&str> = p.mutations.iter().map(|m| m.name()).collect();
    format!(
        "{TOKEN_VERSION}:{}:{}:{}:{}:{}:{}:{}",
        id.info().name,
        p.era,
        p.cpus,
        p.ops,
        p.seed,
        if muts.is_empty() {
            "-".to_string()
        } else {
            muts.join("+")
        },
        // shuttle wraps its hex at 76 columns; a token is one word.
        serialize_schedule(schedule)
            .split_whitespace()
            .collect::<String>()
    )
}

/// shuttle's decoder indexes without bounds checks; a truncated or corrupted schedule
/// must be a typed error, not a crash.
fn decode_schedule(hex: &str) -> Option<Schedule> {
    if hex.len() < 4 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(|| deserialize_schedule(hex)).ok().flatten();
    std::panic::set_hook(prev);
    r
}

/// Why a token or replay file is not usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplayError {
    /// Not `slab1:...` with eight fields.
    #[error("malformed schedule token: {0}")]
    Malformed(String),
    /// Written by another version of this tool.
    #[error("schedule token version `{0}` is not {TOKEN_VERSION} (written by a different version of slab-verify)")]
    Version(String),
    /// Names no scenario.
    #[error("unknown scenario `{0}` in schedule token")]
    UnknownScenario(String),
    /// Names no mutation.
    #[error("unknown mutation `{0}` in schedule token")]
    UnknownMutation(String),
}

/// Decodes a token into the scenario, its parameters and the shuttle schedule.
pub fn parse_token(t: &str) -> Result<(ScenarioId, Params, String), ReplayError> {
    let t = t.trim();
    let f: Vec<&str> = t.splitn(8, ':').collect();
    if f.len() != 8 {
        return Err(ReplayError::Malformed(format!(
            "expected 8 ':'-separated fields, found {}",
            f.len()
        )));
    }
    if f[0] != TOKEN_VERSION {
        return Err(ReplayError::Version(f[0].to_string()));
    }
    let id = ScenarioId::from_name(f[1])
        .ok_or_else(|| ReplayError::UnknownScenario(f[1].to_string()))?;
    let era: Era = f[2].parse().map_err(ReplayError::Malformed)?;
    let num = |s: &str, what: &str| {
        s.parse::<u64>()
            .map_err(|_| ReplayError::Malformed(format!("{what} `{s}` is not a number")))
    };
    let cpus = num(f[3], "cpus")? as usize;
    if !(1..=64).contains(&cpus) {
        return Err(ReplayError::Malformed(format!("cpus {cpus} not in 1..=64")));
    }
    let ops = num(f[4], "ops")? as usize;
    let seed = num(f[5], "seed")?;
    let mut mutations = MutationSet::NONE;
    if f[6] != "-" {
        for m in f[6].split('+') {
            let m: Mutation = m
                .parse()
                .map_err(|_| ReplayError::UnknownMutation(m.to_string()))?;
            mutations = mutations.with(m);
        }
    }
    if decode_schedule(f[7]).is_none() {
        return Err(ReplayError::Malformed(
            "the shuttle schedule does not decode".into(),
        ));
    }
    let mut p = Params::small(era);
    p.cpus = cpus;
    p.ops = ops;
    p.seed = seed;
    p.mutations = mutations;
    Ok((id, p, f[7].to_string()))
}

/// Runs a campaign: `id` with `params` under `kind`, scheduler seed `seed`, for `budget`.
/// Stops at the first failing execution.
pub fn campaign(
    id: ScenarioId,
    params: &Params,
    kind: SchedulerKind,
    seed: u64,
    budget: Budget,
) -> CampaignReport {
    let current = Arc::new(Mutex::new(Schedule::new(seed)));
    let sched = Recording {
        inner: scheduler(kind, seed, budget),
        current: current.clone(),
    };
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let p = params.clone();
    let start = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| {
        Runner::new(sched, config(budget)).run(move || {
            c.fetch_add(1, Ordering::Relaxed);
            run::<ShuttlePlatform>(id, &p);
        })
    }));
    let seconds = start.elapsed().as_secs_f64();
    let failure = r.err().map(|e| {
        let schedule = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Counterexample {
            token: token(id, params, &schedule),
            message: panic_message(&e),
        }
    });
    CampaignReport {
        scenario: id.info().name,
        params: params.clone(),
        scheduler: kind,
        iterations: count.load(Ordering::Relaxed),
        seconds,
        failure,
    }
}

/// Replays a counterexample token: runs exactly the recorded execution. Returns the
/// failure message if it fails again (it should), `None` if it passes.
pub fn replay(token: &str) -> Result<Option<String>, ReplayError> {
    let (id, p, schedule) = parse_token(token)?;
    let sched = ReplayScheduler::new_from_encoded(&schedule);
    let r = catch_unwind(AssertUnwindSafe(|| {
        Runner::new(sched, config(Budget::Iterations(1))).run(move || {
            run::<ShuttlePlatform>(id, &p);
        })
    }));
    Ok(r.err().map(|e| panic_message(&e)))
}
