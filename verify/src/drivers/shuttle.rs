//! Runs scenarios under shuttle: random, PCT and DFS schedulers over configurations too
//! large for loom, with every failure captured as a replayable counterexample token.
//!
//! shuttle models every atomic as `SeqCst` and has no data-race detector; the model's
//! racy paths check for overlap explicitly and the audit catches the consequences.
//! Determinism: the workload comes from the scenario parameters, the interleaving from
//! the scheduler's seed; a recorded schedule replays the same execution exactly (shuttle
//! is pinned because schedules do not survive scheduling-point changes across versions).

use crate::scenarios::{last_failure, panic_message, run, FailureTrace, Params, ScenarioId};
use serde::Serialize;
use shuttle::scheduler::{
    DfsScheduler, PctScheduler, RandomScheduler, Schedule, Scheduler, Task, TaskId,
};
use shuttle::{Config, FailurePersistence, Runner};
use shuttle_engine::scheduler::data::{DataSource, RandomDataSource};
use shuttle_engine::scheduler::serialization::{deserialize_schedule, serialize_schedule};
use shuttle_engine::scheduler::ScheduleStep;
use slab_model::sync::ShuttlePlatform;
use slab_model::{Era, Mutation, MutationSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Version tag of counterexample tokens and files. `slab2` added the failure fingerprint
/// (`slab1` tokens are refused with a version error).
pub const TOKEN_VERSION: &str = "slab2";

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

/// Which failure an execution had: the context whose access failed and the violated
/// invariant (the failure's first line). A replay reproduces a counterexample when it
/// fails with the same pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureId {
    /// The failing context's lane name (`audit (after join)` for the final audit, `-`
    /// when the failure left no trace, e.g. a deadlock shuttle reports).
    pub context: String,
    /// The violated invariant.
    pub invariant: String,
}

impl FailureId {
    /// The failure of the execution that just panicked with `message`.
    fn of(message: &str, trace: Option<&FailureTrace>) -> Self {
        FailureId {
            context: trace.map_or_else(|| "-".to_string(), |t| t.context.clone()),
            invariant: message.lines().next().unwrap_or("").to_string(),
        }
    }
    /// 16 hex digits naming the failure in a token.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", fnv1a(&[&self.context, &self.invariant]))
    }
}

/// FNV-1a over the parts, each followed by a NUL: a stable, platform-independent
/// fingerprint (std's hashers promise no stability across releases).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// 8 hex digits over the fields that fix the execution apart from the switches: a
/// token whose scenario, era, CPUs, operations or seed were edited no longer matches.
/// (The switch field is left out on purpose: removing a mutation from a token is how a
/// fix is checked.)
fn config_check(id: ScenarioId, p: &Params) -> String {
    let h = fnv1a(&[
        id.info().name,
        &p.era_label(),
        &p.cpus.to_string(),
        &p.ops.to_string(),
        &p.seed.to_string(),
    ]);
    format!("{:08x}", h as u32)
}

/// A failing execution, replayable.
#[derive(Clone, Debug, Serialize)]
pub struct Counterexample {
    /// `slab2:<scenario>:<era>:<cpus>:<ops>:<seed>:<mutations>:<check>-<failure>:<shuttle
    /// schedule>`.
    pub token: String,
    /// The violated invariant and the model trace.
    pub message: String,
    /// Which failure it is.
    pub failure: FailureId,
    /// The structured trace (lanes, rows, the failing access, state), when the model
    /// recorded one.
    pub trace: Option<FailureTrace>,
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
pub fn token(id: ScenarioId, p: &Params, failure: &FailureId, schedule: &Schedule) -> String {
    let muts: Vec<&str> = p.mutations.iter().map(|m| m.name()).collect();
    format!(
        "{TOKEN_VERSION}:{}:{}:{}:{}:{}:{}:{}-{}:{}",
        id.info().name,
        p.era_label(),
        p.cpus,
        p.ops,
        p.seed,
        if muts.is_empty() {
            "-".to_string()
        } else {
            muts.join("+")
        },
        config_check(id, p),
        failure.fingerprint(),
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
    /// Not `slab2:...` with nine fields.
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

/// A decoded token.
#[derive(Clone, Debug)]
pub struct Token {
    /// The scenario.
    pub id: ScenarioId,
    /// Its parameters (switches included).
    pub params: Params,
    /// Whether the scenario, era, CPUs, operations and seed are the ones recorded.
    pub config_matches: bool,
    /// The recorded failure's fingerprint ([`FailureId::fingerprint`]).
    pub fingerprint: String,
    /// The shuttle schedule, hex.
    pub schedule: String,
}

/// Decodes a token.
pub fn decode_token(t: &str) -> Result<Token, ReplayError> {
    let t = t.trim();
    let f: Vec<&str> = t.splitn(9, ':').collect();
    if f.first() != Some(&TOKEN_VERSION) && f.len() > 1 {
        return Err(ReplayError::Version(f[0].to_string()));
    }
    if f.len() != 9 {
        return Err(ReplayError::Malformed(format!(
            "expected 9 ':'-separated fields, found {}",
            f.len()
        )));
    }
    let id = ScenarioId::from_name(f[1])
        .ok_or_else(|| ReplayError::UnknownScenario(f[1].to_string()))?;
    let (era, debug) = match f[2].split_once('+') {
        Some((e, "debug")) => (e, true),
        Some((_, other)) => {
            return Err(ReplayError::Malformed(format!(
                "era `{}`: `+{other}` is not `+debug`",
                f[2]
            )))
        }
        None => (f[2], false),
    };
    let era: Era = era.parse().map_err(ReplayError::Malformed)?;
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
    let (check, fingerprint) = f[7]
        .split_once('-')
        .filter(|(c, p)| {
            c.len() == 8
                && p.len() == 16
                && c.chars().chain(p.chars()).all(|x| x.is_ascii_hexdigit())
        })
        .ok_or_else(|| {
            ReplayError::Malformed(format!(
                "`{}` is not <8 hex digits>-<16 hex digits> (configuration check and failure fingerprint)",
                f[7]
            ))
        })?;
    if decode_schedule(f[8]).is_none() {
        return Err(ReplayError::Malformed(
            "the shuttle schedule does not decode".into(),
        ));
    }
    let mut p = Params::small(era);
    p.cpus = cpus;
    p.ops = ops;
    p.seed = seed;
    p.mutations = mutations;
    p.debug = debug;
    Ok(Token {
        config_matches: config_check(id, &p) == check,
        id,
        params: p,
        fingerprint: fingerprint.to_string(),
        schedule: f[8].to_string(),
    })
}

/// Decodes a token into the scenario, its parameters and the shuttle schedule.
pub fn parse_token(t: &str) -> Result<(ScenarioId, Params, String), ReplayError> {
    let t = decode_token(t)?;
    Ok((t.id, t.params, t.schedule))
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
    campaign_with_progress(id, params, kind, seed, budget, Arc::new(|_| {}))
}

/// [`campaign`], calling `progress(n)` as the n-th execution (1-based) starts, on the
/// thread that runs the campaign (for progress bars; it must be cheap).
pub fn campaign_with_progress(
    id: ScenarioId,
    params: &Params,
    kind: SchedulerKind,
    seed: u64,
    budget: Budget,
    progress: Arc<dyn Fn(usize) + Send + Sync>,
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
            progress(c.fetch_add(1, Ordering::Relaxed) + 1);
            run::<ShuttlePlatform>(id, &p);
        })
    }));
    let seconds = start.elapsed().as_secs_f64();
    let failure = r.err().map(|e| {
        let schedule = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let message = panic_message(&e);
        let trace = last_failure();
        let failure = FailureId::of(&message, trace.as_ref());
        Counterexample {
            token: token(id, params, &failure, &schedule),
            message,
            failure,
            trace,
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

/// How a replay ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayOutcome {
    /// Every recorded step fitted and the execution failed as recorded: same context,
    /// same invariant.
    Reproduced,
    /// Every recorded step fitted, the execution then ran to its end (without
    /// preemption) and every check held: what a fixed bug looks like.
    Passed,
    /// The schedule no longer fits the code, the execution failed differently, or the
    /// token's parameters were edited: nothing can be concluded from this replay.
    Diverged,
}

impl ReplayOutcome {
    /// The outcome's name.
    pub fn name(self) -> &'static str {
        match self {
            ReplayOutcome::Reproduced => "reproduced",
            ReplayOutcome::Passed => "passed",
            ReplayOutcome::Diverged => "diverged",
        }
    }
}

/// What a replay found.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    /// Scenario name.
    pub scenario: &'static str,
    /// The parameters replayed.
    pub params: Params,
    /// The outcome.
    pub outcome: ReplayOutcome,
    /// One line saying why.
    pub detail: String,
    /// The recorded failure's fingerprint.
    pub expected_fingerprint: String,
    /// The failure the replay had, if any.
    pub observed: Option<FailureId>,
    /// Its message (invariant and trace) and structured trace.
    pub message: Option<String>,
    /// The structured trace of the replay's failure.
    pub trace: Option<FailureTrace>,
    /// Scheduling steps in the token.
    pub recorded_steps: usize,
    /// Recorded steps the execution followed.
    pub replayed_steps: usize,
    /// Steps after the recorded ones (the execution continued without preemption).
    pub continued_steps: usize,
}

/// Where a replay stands, shared between the scheduler and the caller.
#[derive(Default)]
struct Fit {
    replayed: usize,
    continued: usize,
    diverged: Option<String>,
}

/// Follows a recorded schedule and notices, instead of panicking, when it no longer fits:
/// a recorded task that is not runnable, a context switch where the schedule has a
/// random choice (or the reverse). When the recorded steps run out (a fixed model goes
/// on where the faulty one failed) it continues deterministically without preemption:
/// the running task while it can, else the runnable task with the lowest id.
struct FitReplay {
    steps: Vec<ScheduleStep>,
    pos: usize,
    seed: u64,
    data: RandomDataSource,
    started: bool,
    fit: Arc<Mutex<Fit>>,
}

impl FitReplay {
    fn diverge(&mut self, why: String) {
        let mut f = self.fit.lock().unwrap_or_else(|e| e.into_inner());
        if f.diverged.is_none() {
            f.diverged = Some(why);
        }
    }
}

impl Scheduler for FitReplay {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.started {
            return None;
        }
        self.started = true;
        Some(Schedule::new(self.data.reinitialize()))
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        _is_yielding: bool,
    ) -> Option<TaskId> {
        if self
            .fit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .diverged
            .is_some()
        {
            return None;
        }
        match self.steps.get(self.pos).cloned() {
            Some(ScheduleStep::Task(next)) => {
                if runnable.iter().any(|t| t.id() == next) {
                    self.pos += 1;
                    self.fit.lock().unwrap_or_else(|e| e.into_inner()).replayed = self.pos;
                    Some(next)
                } else {
                    let ids: Vec<usize> = runnable.iter().map(|t| usize::from(t.id())).collect();
                    self.diverge(format!(
                        "at step {} of {} the recorded task {} is not runnable (runnable: {ids:?})",
                        self.pos + 1,
                        self.steps.len(),
                        usize::from(next)
                    ));
                    None
                }
            }
            Some(ScheduleStep::Random) => {
                self.diverge(format!(
                    "at step {} of {} the code switches tasks where the schedule has a random choice",
                    self.pos + 1,
                    self.steps.len()
                ));
                None
            }
            None => {
                self.fit.lock().unwrap_or_else(|e| e.into_inner()).continued += 1;
                let keep = current.filter(|c| runnable.iter().any(|t| t.id() == *c));
                keep.or_else(|| {
                    runnable
                        .iter()
                        .map(|t| t.id())
                        .min_by_key(|&t| usize::from(t))
                })
            }
        }
    }
    fn next_u64(&mut self) -> u64 {
        match self.steps.get(self.pos) {
            Some(ScheduleStep::Random) => {
                self.pos += 1;
                self.data.next_u64()
            }
            Some(ScheduleStep::Task(_)) => {
                self.diverge(format!(
                    "at step {} of {} the code asks for a random choice where the schedule switches tasks",
                    self.pos + 1,
                    self.steps.len()
                ));
                0
            }
            None => self.data.next_u64() ^ self.seed,
        }
    }
}

/// Replays a counterexample token: follows exactly the recorded schedule, then compares
/// the failure with the recorded one ([`ReplayOutcome`]).
pub fn replay_token(token: &str) -> Result<ReplayReport, ReplayError> {
    let tok = decode_token(token)?;
    let schedule = decode_schedule(&tok.schedule).expect("decode_token checked it");
    let recorded = schedule.steps.len();
    let fit = Arc::new(Mutex::new(Fit::default()));
    let sched = FitReplay {
        steps: schedule.steps.clone(),
        pos: 0,
        seed: schedule.seed,
        data: RandomDataSource::initialize(schedule.seed),
        started: false,
        fit: fit.clone(),
    };
    let (id, p) = (tok.id, tok.params.clone());
    let r = catch_unwind(AssertUnwindSafe(|| {
        Runner::new(sched, config(Budget::Iterations(1))).run(move || {
            run::<ShuttlePlatform>(id, &p);
        })
    }));
    let fit = std::mem::take(&mut *fit.lock().unwrap_or_else(|e| e.into_inner()));
    let (observed, message, trace) = match &r {
        Err(e) => {
            let message = panic_message(e);
            let trace = last_failure();
            (
                Some(FailureId::of(&message, trace.as_ref())),
                Some(message),
                trace,
            )
        }
        Ok(_) => (None, None, None),
    };
    let (outcome, detail) = if !tok.config_matches {
        (
            ReplayOutcome::Diverged,
            "the token's scenario, era, CPUs, operations or seed are not the ones its schedule was recorded with (edited token)".to_string(),
        )
    } else if let Some(why) = fit.diverged {
        (
            ReplayOutcome::Diverged,
            format!("the schedule no longer fits the code: {why}"),
        )
    } else {
        match &observed {
            Some(o) if o.fingerprint() == tok.fingerprint => (
                ReplayOutcome::Reproduced,
                format!(
                    "the same failure after {} recorded steps: {} in {}",
                    fit.replayed, o.invariant, o.context
                ),
            ),
            Some(o) => (
                ReplayOutcome::Diverged,
                format!(
                    "the execution failed, but not as recorded: {} in {}",
                    o.invariant, o.context
                ),
            ),
            None if fit.replayed < recorded => (
                ReplayOutcome::Diverged,
                format!(
                    "the execution ended after {} of the {recorded} recorded steps",
                    fit.replayed
                ),
            ),
            None => (
                ReplayOutcome::Passed,
                format!(
                    "all {recorded} recorded steps fitted, the execution ran to its end ({} more steps without preemption) and every check held",
                    fit.continued
                ),
            ),
        }
    };
    Ok(ReplayReport {
        scenario: tok.id.info().name,
        params: tok.params,
        outcome,
        detail,
        expected_fingerprint: tok.fingerprint,
        observed,
        message,
        trace,
        recorded_steps: recorded,
        replayed_steps: fit.replayed,
        continued_steps: fit.continued,
    })
}

/// Replays a counterexample token. Returns the failure message if the replay reproduced
/// the recorded failure, `None` if it passed; a diverged replay is an error-free `Some`
/// of its detail prefixed `diverged: ` (callers that need the distinction use
/// [`replay_token`]).
pub fn replay(token: &str) -> Result<Option<String>, ReplayError> {
    let r = replay_token(token)?;
    Ok(match r.outcome {
        ReplayOutcome::Reproduced => r.message,
        ReplayOutcome::Passed => None,
        ReplayOutcome::Diverged => Some(format!("diverged: {}", r.detail)),
    })
}
