//! `keybot proposals`: the transactions other programs proposed through `keybot mcp`, queued
//! for you. `review ID` opens the proposal's review exactly as `keybot ask` does (a transfer
//! through `wallet send`'s review, "proposed by your model" first and, since you never typed its
//! address, the loud warning that asks for its characters); `decline ID` drops it. Nothing in the
//! queue is ever signed without you.
use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::bot::tools::{self, Decision, Desk};
use crate::cli::desk::Opened;
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::store::{ProposalState, QueuedProposal};

#[derive(Debug, Args)]
pub struct ProposalsArgs {
    #[command(subcommand)]
    command: Option<ProposalsCommand>,
    /// With no subcommand: every proposal, decided ones too.
    #[arg(long)]
    all: bool,
    #[arg(long)]
    json: bool,
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE", global = true)]
    password_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ProposalsCommand {
    /// Review proposal ID: sign it on your `y` (or --yes), or decline it.
    Review {
        id: i64,
        /// Sign without a prompt (a loud warning also needs --accept-warnings).
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        accept_warnings: bool,
        /// The account a transfer is sent from.
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        #[arg(long)]
        network: Option<String>,
    },
    /// Decline proposal ID without reviewing it.
    Decline { id: i64 },
}

impl ProposalsArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        match &self.command {
            None => self.list(paths),
            Some(ProposalsCommand::Decline { id }) => {
                let opened = Opened::open(paths, None, self.password_file.as_deref(), "0")?;
                pending(&opened, *id)?;
                opened
                    .store
                    .decide_proposal(*id, ProposalState::Declined, "declined")?;
                eprintln!("proposal {id} declined");
                Ok(0)
            }
            Some(ProposalsCommand::Review {
                id,
                yes,
                accept_warnings,
                account,
                network,
            }) => {
                if *accept_warnings && !*yes {
                    bail!("--accept-warnings goes with --yes");
                }
                let opened = Opened::open(
                    paths,
                    network.as_deref(),
                    self.password_file.as_deref(),
                    account,
                )?;
                let q = pending(&opened, *id)?;
                let p = match tools::parse_queued(&q.tool, &q.arguments) {
                    Ok(p) => p,
                    Err(why) => {
                        opened.store.decide_proposal(
                            *id,
                            ProposalState::Declined,
                            "not a proposal keybot reads",
                        )?;
                        bail!("proposal {id} is not one keybot reads ({why}); it was declined");
                    }
                };
                // Another program wrote every value in it: never "typed by the user".
                let mut desk = opened.desk(*yes, *accept_warnings);
                let decision = desk.propose(&p, false).map_err(|e| anyhow!(e))?;
                record(&opened, *id, &decision)?;
                println!("{}", decision.for_model());
                Ok(u8::from(
                    decision != Decision::Pending && !is_signed(&decision),
                ))
            }
        }
    }

    fn list(&self, paths: &Paths) -> Result<u8> {
        let opened = Opened::open(paths, None, self.password_file.as_deref(), "0")?;
        let list = opened.store.proposals(!self.all)?;
        if self.json {
            let rows: Vec<Value> = list.iter().map(row_json).collect();
            println!("{}", Value::Array(rows));
            return Ok(0);
        }
        if list.is_empty() {
            eprintln!("no proposals waiting");
        }
        for q in &list {
            println!(
                "{:>4}  {:<8}  {:<9}  {}",
                q.id,
                clean_line(&q.source),
                q.state.as_str(),
                describe(q)
            );
        }
        Ok(0)
    }
}

fn is_signed(d: &Decision) -> bool {
    matches!(d, Decision::Signed(_))
}

/// The proposal, if it is still waiting.
fn pending(opened: &Opened, id: i64) -> Result<QueuedProposal> {
    let q = opened
        .store
        .proposal(id)?
        .ok_or_else(|| anyhow!("no proposal {id} (`keybot proposals` lists them)"))?;
    if q.state != ProposalState::Pending {
        bail!(
            "proposal {id} was decided already: {}",
            clean_line(q.result.as_deref().unwrap_or_default())
        );
    }
    Ok(q)
}

/// The decision goes into the queue; a pending one (the market's, printed as a command) stays.
fn record(opened: &Opened, id: i64, decision: &Decision) -> Result<()> {
    if let Some((state, line)) = crate::service::bot::queue_state(&Ok(decision.clone())) {
        opened.store.decide_proposal(id, state, &line)?;
    }
    Ok(())
}

/// What it proposes, in words (or why it cannot be read).
fn describe(q: &QueuedProposal) -> String {
    match tools::parse_queued(&q.tool, &q.arguments) {
        Ok(p) => p.describe(),
        Err(_) => format!("{} (not readable)", clean_line(&q.tool)),
    }
}

fn row_json(q: &QueuedProposal) -> Value {
    json!({
        "id": q.id,
        "source": clean_line(&q.source),
        "tool": clean_line(&q.tool),
        "intent": describe(q),
        "command": tools::parse_queued(&q.tool, &q.arguments).ok().map(|p| p.command()),
        "state": q.state.as_str(),
        "result": q.result.as_deref().map(|r| clean_line(r).into_owned()),
        "created_at": q.created_at,
    })
}
