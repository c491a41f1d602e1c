//! The one JSON format of `slab-verify ... --json`, described by
//! `verify/schema/slab-verify.schema.json` (JSON Schema draft 2020-12; docs/cli.md).
//!
//! Every output is one object: the envelope fields
//! `{"schema_version": 1, "tool": "slab-verify", "tool_version": "<crate version>",
//! "command": "<list|check|run|replay|mutations|geometry>"}` followed, in the same object,
//! by the command's payload fields (the schema's `$defs/<command>`). Conventions:
//! names, never bitmasks or Rust variant names (mutations and fix switches by
//! `Mutation::name()`, checkers by `Checker::name()`, schedulers as `random` / `pct3` /
//! `dfs`, eras `A` / `B`); "executions" for shuttle executions everywhere; addresses as
//! hex strings (`"0xffff880000000000"`), so that no number exceeds 2^53.

use serde::Serialize;
use slab_model::mutation::ShippedBug;
use slab_model::{ArchProfile, Era, MutationSet};
use slab_verify::drivers::shuttle::{CampaignReport, SchedulerKind};
use slab_verify::scenarios::FailureTrace;

/// Version of the schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
/// The `tool` field.
pub const TOOL: &str = "slab-verify";

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    schema_version: u32,
    tool: &'static str,
    tool_version: &'static str,
    command: &'a str,
    #[serde(flatten)]
    payload: &'a T,
}

/// The envelope with `payload`'s fields after it, as a value (for commands that build
/// their payload with `serde_json::json!`, e.g. `replay`). `payload` must be an object.
// `replay --json` (replay.rs) is the caller.
#[allow(dead_code)]
pub fn envelope(command: &str, payload: serde_json::Value) -> serde_json::Value {
    serde_json::to_value(Envelope {
        schema_version: SCHEMA_VERSION,
        tool: TOOL,
        tool_version: env!("CARGO_PKG_VERSION"),
        command,
        payload: &payload,
    })
    .expect("a JSON object payload")
}

/// Prints the envelope and `payload` (a struct or map) as pretty JSON on stdout.
pub fn print<T: Serialize>(command: &str, payload: &T) {
    let e = Envelope {
        schema_version: SCHEMA_VERSION,
        tool: TOOL,
        tool_version: env!("CARGO_PKG_VERSION"),
        command,
        payload,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&e).expect("payloads serialise")
    );
}

/// An address as a hex string (`0xffff880000000000`).
pub fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// The catalogue switches on, by name (mutations and fix switches alike).
pub fn switch_names(m: MutationSet) -> Vec<&'static str> {
    m.iter().map(|m| m.name()).collect()
}

/// A scheduler's name (`random`, `pct3`, `dfs`), as in text output and tokens.
pub fn scheduler_name(k: SchedulerKind) -> String {
    k.to_string()
}

/// `ArchProfile` with `page_offset` as a hex string.
#[derive(Serialize)]
pub struct ProfileRow {
    page_size: usize,
    word_size: usize,
    cache_line_size: usize,
    l1_cache_bytes: usize,
    slab_desc_size: usize,
    bufctl_size: usize,
    cpus: usize,
    nodes: usize,
    ram_bytes: u64,
    max_order: u32,
    kmalloc_min_size: usize,
    arch_kmalloc_minalign: usize,
    arch_slab_minalign: usize,
    debug: bool,
    debug_slab_leak: bool,
    page_offset: String,
    spinlock_size: usize,
}

impl From<&ArchProfile> for ProfileRow {
    fn from(p: &ArchProfile) -> Self {
        // No `..`: a new profile field must be added here (and to the schema).
        let ArchProfile {
            page_size,
            word_size,
            cache_line_size,
            l1_cache_bytes,
            slab_desc_size,
            bufctl_size,
            cpus,
            nodes,
            ram_bytes,
            max_order,
            kmalloc_min_size,
            arch_kmalloc_minalign,
            arch_slab_minalign,
            debug,
            debug_slab_leak,
            page_offset,
            spinlock_size,
        } = *p;
        ProfileRow {
            page_size,
            word_size,
            cache_line_size,
            l1_cache_bytes,
            slab_desc_size,
            bufctl_size,
            cpus,
            nodes,
            ram_bytes,
            max_order,
            kmalloc_min_size,
            arch_kmalloc_minalign,
            arch_slab_minalign,
            debug,
            debug_slab_leak,
            page_offset: hex(page_offset),
            spinlock_size,
        }
    }
}

/// A bug that shipped in an era's kernel.
#[derive(Serialize)]
pub struct ShippedBugRow {
    switch: &'static str,
    era: Era,
    shipped_in: &'static str,
    fixed_in: &'static str,
    fix: &'static str,
    symptom: &'static str,
}

impl From<&ShippedBug> for ShippedBugRow {
    fn from(b: &ShippedBug) -> Self {
        ShippedBugRow {
            switch: b.switch.name(),
            era: b.era,
            shipped_in: b.shipped_in,
            fixed_in: b.fixed_in,
            fix: b.fix,
            symptom: b.symptom,
        }
    }
}

/// A failing execution of a campaign.
#[derive(Serialize)]
pub struct FailureRow {
    /// The violated invariant (the message's first line).
    invariant: String,
    /// The whole failure message, with the text trace.
    message: String,
    /// The counterexample token (`slab1:...`).
    token: String,
    /// The structured trace, when the failure recorded one.
    trace: Option<FailureTrace>,
    /// The counterexample page written (`run`), else null.
    html: Option<String>,
    /// The replay file written (`run --save`), else null.
    replay_file: Option<String>,
}

/// One campaign: the model's parameters, the scheduler and what happened.
#[derive(Serialize)]
pub struct CampaignRow {
    scenario: &'static str,
    era: Era,
    /// A CONFIG_DEBUG_SLAB profile (`Params::debug`).
    debug: bool,
    cpus: usize,
    ops: usize,
    /// The workload seed (`Params::seed`).
    workload_seed: u64,
    scheduler: String,
    /// The scheduler seed.
    seed: u64,
    mutations: Vec<&'static str>,
    executions: usize,
    seconds: f64,
    executions_per_second: f64,
    failure: Option<FailureRow>,
}

impl CampaignRow {
    /// The row of `r`, run with scheduler seed `seed`; `trace` is the failure's structured
    /// trace (`scenarios::take_last_failure` on the campaign's thread).
    pub fn new(r: &CampaignReport, seed: u64, trace: Option<FailureTrace>) -> Self {
        CampaignRow {
            scenario: r.scenario,
            era: r.params.era,
            debug: r.params.debug,
            cpus: r.params.cpus,
            ops: r.params.ops,
            workload_seed: r.params.seed,
            scheduler: scheduler_name(r.scheduler),
            seed,
            mutations: switch_names(r.params.mutations),
            executions: r.iterations,
            seconds: r.seconds,
            executions_per_second: r.rate(),
            failure: r.failure.as_ref().map(|f| FailureRow {
                invariant: f.message.lines().next().unwrap_or("").to_string(),
                message: f.message.clone(),
                token: f.token.clone(),
                trace,
                html: None,
                replay_file: None,
            }),
        }
    }

    /// Records the files `run` wrote for the failure.
    pub fn with_files(mut self, html: Option<String>, replay_file: Option<String>) -> Self {
        if let Some(f) = self.failure.as_mut() {
            f.html = html;
            f.replay_file = replay_file;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_fields_come_with_the_payload() {
        let v = envelope(
            "replay",
            serde_json::json!({"scenario": "mixed", "outcome": "passed"}),
        );
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["tool"], "slab-verify");
        assert_eq!(v["tool_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["command"], "replay");
        assert_eq!(v["scenario"], "mixed");
        assert_eq!(v["outcome"], "passed");
    }

    #[test]
    fn addresses_are_hex_strings() {
        assert_eq!(hex(0xffff_8800_0000_0000), "0xffff880000000000");
        assert_eq!(hex(0xc000_0000), "0xc0000000");
        let row = ProfileRow::from(&ArchProfile::x86_64());
        let v = serde_json::to_value(row).unwrap();
        assert!(v["page_offset"].as_str().unwrap().starts_with("0x"));
    }
}
