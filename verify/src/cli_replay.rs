//! `slab-verify replay`: re-runs a counterexample's recorded schedule.

use crate::exit;
use clap::Args;
use slab_verify::scenario::ScenarioId;
use slab_verify::shuttle_driver::{parse_token, replay, TOKEN_VERSION};
use std::path::PathBuf;
use std::process::ExitCode;

/// `replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The counterexample token printed by `run` / `check` (`slab1:...`).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub token: Option<String>,
    /// A replay file written by `run --save`.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Refuse a token for another scenario.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `replay`.
pub fn replay_cmd(a: &ReplayArgs) -> ExitCode {
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
    let (id, _, _) = match parse_token(&token) {
        Ok(x) => x,
        Err(e) => return exit::usage(&e.to_string()),
    };
    if let Some(s) = &a.scenario {
        if ScenarioId::from_name(s) != Some(id) {
            return exit::usage(&format!(
                "the counterexample is for scenario `{}`, not `{s}`",
                id.info().name
            ));
        }
    }
    match replay(&token) {
        Err(e) => exit::usage(&e.to_string()),
        Ok(None) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"scenario": id.info().name, "reproduced": false})
                );
            } else {
                println!(
                    "replay of {} passed: the recorded execution no longer fails",
                    id.info().name
                );
            }
            ExitCode::SUCCESS
        }
        Ok(Some(msg)) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"scenario": id.info().name, "reproduced": true, "message": msg})
                );
            } else {
                println!("reproduced: {}", msg.lines().next().unwrap_or(""));
                if let Some(i) = msg.find("--- model trace") {
                    println!("\n{}", &msg[i..]);
                }
            }
            ExitCode::from(1)
        }
    }
}
