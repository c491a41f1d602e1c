//! `slab-verify replay`: re-runs a counterexample's recorded schedule. Three outcomes,
//! distinct in text, JSON and exit code: reproduced (exit 1), passed (exit 0), diverged
//! (exit 3); a token or file that cannot be used is a usage error (exit 2).

use super::exit;
use super::verify::parse_mutation;
use clap::Args;
use slab_model::Mutation;
use slab_verify::drivers::shuttle::{decode_token, replay_token, ReplayOutcome, TOKEN_VERSION};
use slab_verify::scenarios::ScenarioId;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code of a diverged replay.
pub const EXIT_DIVERGED: u8 = 3;

/// `replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The counterexample token printed by `run` / `check` (`slab2:...`).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub token: Option<String>,
    /// A replay file written by `run --save`.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Refuse a token for another scenario.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Replay without this switch (repeatable): checks whether removing the mutation
    /// (or a fix switch) makes the recorded execution pass.
    #[arg(long = "without", value_parser = parse_mutation)]
    pub without: Vec<Mutation>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `replay`.
pub fn replay_cmd(a: &ReplayArgs) -> ExitCode {
    // The recorded failure, when a replay file names it (a bare token carries only its
    // fingerprint).
    let mut expected = serde_json::Value::Null;
    let token = match (&a.token, &a.file) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) => {
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) => {
                    return exit::usage(&format!("cannot read replay file {}: {e}", f.display()))
                }
            };
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => {
                    if v.get("format").and_then(|x| x.as_str())
                        != Some("slab-verify-counterexample")
                    {
                        return exit::usage(&format!(
                            "{} is not a slab-verify counterexample file",
                            f.display()
                        ));
                    }
                    let ver = v.get("version").and_then(|x| x.as_str()).unwrap_or("?");
                    if ver != TOKEN_VERSION {
                        return exit::usage(&format!(
                            "{} was written by a different version of slab-verify (format {ver}, this is {TOKEN_VERSION})",
                            f.display()
                        ));
                    }
                    if let (Some(c), Some(i)) = (
                        v.get("context").and_then(|x| x.as_str()),
                        v.get("invariant").and_then(|x| x.as_str()),
                    ) {
                        expected = serde_json::json!({"context": c, "invariant": i});
                    }
                    match v.get("token").and_then(|x| x.as_str()) {
                        Some(t) => t.to_string(),
                        None => return exit::usage(&format!("{} has no token", f.display())),
                    }
                }
                Err(_) => text.trim().to_string(),
            }
        }
        (None, None) => return exit::usage("replay needs a token or --file"),
    };
    let mut tok = match decode_token(&token) {
        Ok(x) => x,
        Err(e) => return exit::usage(&e.to_string()),
    };
    let id = tok.id;
    if let Some(s) = &a.scenario {
        if ScenarioId::from_name(s) != Some(id) {
            return exit::usage(&format!(
                "the counterexample is for scenario `{}`, not `{s}`",
                id.info().name
            ));
        }
    }
    if let Some(m) = a.without.iter().find(|m| !tok.params.mutations.has(**m)) {
        return exit::usage(&format!(
            "--without {m}: the token has no such switch (it has: {})",
            names(&tok.params.mutations)
        ));
    }
    let token = if a.without.is_empty() {
        token
    } else {
        let kept = a
            .without
            .iter()
            .fold(tok.params.mutations, |s, m| s.without(*m));
        tok.params.mutations = kept;
        retoken(&token, &kept)
    };
    let r = match replay_token(&token) {
        Ok(r) => r,
        Err(e) => return exit::usage(&e.to_string()),
    };
    let code = match r.outcome {
        ReplayOutcome::Passed => ExitCode::SUCCESS,
        ReplayOutcome::Reproduced => ExitCode::from(1),
        ReplayOutcome::Diverged => ExitCode::from(EXIT_DIVERGED),
    };
    if a.json {
        let payload = serde_json::json!({
            "scenario": r.scenario,
            "era": r.params.era.to_string(),
            "cpus": r.params.cpus,
            "ops": r.params.ops,
            "mutations": r.params.mutations.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "expected": expected,
            "outcome": r.outcome.name(),
            "detail": r.detail,
            "expected_fingerprint": r.expected_fingerprint,
            "observed": r.observed,
            "recorded_steps": r.recorded_steps,
            "replayed_steps": r.replayed_steps,
            "continued_steps": r.continued_steps,
            "trace": r.trace,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&super::json::envelope("replay", payload))
                .expect("serialisable")
        );
        return code;
    }
    println!(
        "{} ({} era {}, switches: {}): {}",
        r.outcome.name(),
        r.scenario,
        r.params.era_label(),
        names(&r.params.mutations),
        r.detail
    );
    if r.outcome == ReplayOutcome::Reproduced {
        if let Some(msg) = &r.message {
            if let Some(i) = msg.find("--- model trace") {
                println!("\n{}", &msg[i..]);
            }
        }
    }
    code
}

fn names(s: &slab_model::MutationSet) -> String {
    let v: Vec<&str> = s.iter().map(|m| m.name()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The token with its switch field replaced by `kept`.
fn retoken(token: &str, kept: &slab_model::MutationSet) -> String {
    let mut f: Vec<&str> = token.trim().splitn(9, ':').collect();
    let field = if kept.is_empty() {
        "-".to_string()
    } else {
        kept.iter().map(|m| m.name()).collect::<Vec<_>>().join("+")
    };
    f[6] = &field;
    f.join(":")
}
