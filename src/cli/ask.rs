//! `keybot ask "QUESTION"`: the local model answers with the wallet's and the market's tools.
//! It reads through them and may propose a transaction; a proposal opens the same review as
//! `wallet send` and is signed only on the user's `y` there (or `--yes`, per proposal; a loud
//! warning also needs `--accept-warnings`). Off a terminal without `--yes` a proposal is printed
//! as an unsigned intent and nothing is signed.
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Result, bail};
use clap::Args;
use keybot_keystore::{AccountRef, Wallet};
use serde_json::{Value, json};

use crate::bot::format::Support;
use crate::bot::tools::{Decision, Desk, Proposal, Read};
use crate::bot::turn::{self, Setup};
use crate::chain::safety::Warning;
use crate::chain::{self, ChainConfig, Client, activity};
use crate::chat::engine::{ChatEvent, Engine, GenerateRequest, LoadRequest, Prompt};
use crate::chat::sampling::{RANDOM_SEED, SamplingParams};
use crate::chat::template::Message;
use crate::cli::common::{confirm, connect, parse_account, progress, show_review, unlock};
use crate::cli::input;
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::service::bot::{Reader, line};
use crate::service::tx;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question.
    #[arg(required_unless_present = "call")]
    question: Option<String>,
    /// Run one tool as the model would call it, without a model, and print what it returns
    /// (`{"name", "arguments", "result"}`): to see what your model sees. A proposal opens its
    /// review as from a question.
    #[arg(long, value_name = "TOOL", conflicts_with = "question")]
    call: Option<String>,
    /// The tool's arguments for --call, a JSON object (default `{}`).
    #[arg(long, value_name = "JSON", requires = "call")]
    arguments: Option<String>,
    /// A registered model's name or a GGUF path (default: the default model).
    #[arg(long)]
    model: Option<String>,
    /// One JSON object: the answer, the tool calls with their results, the proposals with their
    /// reviews and decisions.
    #[arg(long)]
    json: bool,
    /// Sign each proposal without a prompt (a loud warning also needs --accept-warnings).
    #[arg(long)]
    yes: bool,
    /// With --yes: also accept loud warnings (an address you never typed, a look-alike).
    #[arg(long)]
    accept_warnings: bool,
    /// The account proposals send from.
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    #[arg(long)]
    network: Option<String>,
    /// The most tool rounds in this turn (default: the setting bot.rounds, 4).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=16))]
    rounds: Option<u8>,
    /// Always take the most likely token (reproducible answers).
    #[arg(long)]
    greedy: bool,
    #[arg(long)]
    seed: Option<u32>,
    /// The longest answer per round, in tokens.
    #[arg(long, default_value_t = 512)]
    max_tokens: u32,
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

impl AskArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        if self.accept_warnings && !self.yes {
            bail!("--accept-warnings goes with --yes");
        }
        if let Some(name) = &self.call {
            return self.run_call(paths, name);
        }
        let question = self.question.clone().unwrap_or_default();
        if question.trim().is_empty() {
            bail!("the question is empty");
        }
        let model = super::model::resolve_model(paths, self.model.as_deref())?;
        let opened = Opened::open(&self, paths)?;
        let settings = &opened.settings;

        let engine = Engine::spawn()?;
        let info = engine.load_blocking(
            LoadRequest {
                path: model.path,
                ctx: Some(settings.ctx),
                gpu_layers: settings.gpu_layers,
                expected_sha256: model.sha256,
                ..Default::default()
            },
            |_| {},
        )?;
        let sampling = SamplingParams {
            seed: self.seed.unwrap_or(RANDOM_SEED),
            greedy: self.greedy,
            ..settings.sampling()
        };
        let mut messages = vec![Message::user(question)];
        let json_out = self.json;
        let mut stdout = std::io::stdout();
        let mut show = |piece: &str| {
            if !json_out {
                let _ = write!(stdout, "{}", crate::sanitize::clean(piece));
                let _ = stdout.flush();
            }
        };
        let outcome = match info.tools {
            Support::Format(format) => {
                let symbols: Vec<String> = opened
                    .client
                    .iter()
                    .flat_map(|c| c.network.tokens.iter().map(|t| t.symbol.clone()))
                    .collect();
                let setup = Setup::new(format, &symbols).map_err(anyhow::Error::msg)?;
                let mut desk = opened.desk(&self);
                let out = turn::run(
                    &engine,
                    &setup,
                    &mut messages,
                    &sampling,
                    Some(self.max_tokens),
                    usize::from(self.rounds.unwrap_or(settings.bot_rounds)),
                    &mut desk,
                    &mut show,
                )?;
                (out, desk.reviews)
            }
            other => {
                if let Some(why) = other.why_not() {
                    eprintln!("note: {why}");
                }
                (
                    plain_turn(&engine, messages, sampling, self.max_tokens, &mut show)?,
                    Vec::new(),
                )
            }
        };
        let (outcome, reviews) = outcome;
        if self.json {
            println!("{}", outcome_json(&outcome, &reviews));
        } else if outcome.answer.is_empty() {
            eprintln!("note: the model gave no answer in words");
        } else {
            println!();
        }
        Ok(0)
    }
}

impl AskArgs {
    /// `--call TOOL [--arguments JSON]`: one tool at the command line's desk, no model. The
    /// arguments were typed by the user, so a proposal's address in them counts as typed.
    fn run_call(&self, paths: &Paths, name: &str) -> Result<u8> {
        let text = self.arguments.as_deref().unwrap_or("{}");
        let arguments: Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("--arguments is not JSON: {e}"))?;
        let opened = Opened::open(self, paths)?;
        let mut desk = opened.desk(self);
        let ran = crate::bot::tools::run(&mut desk, name, &arguments, text);
        let failed = ran.result.get("error").is_some();
        println!(
            "{}",
            json!({"name": clean_line(name), "arguments": arguments, "result": ran.result})
        );
        Ok(u8::from(failed))
    }
}

/// A turn without tools (a model whose template has none), streamed as `chat` streams it.
fn plain_turn(
    engine: &Engine,
    messages: Vec<Message>,
    sampling: SamplingParams,
    max_tokens: u32,
    show: &mut impl FnMut(&str),
) -> Result<turn::Outcome> {
    let turn = engine.generate_blocking(
        GenerateRequest {
            prompt: Prompt::Chat(messages),
            sampling,
            max_tokens: Some(max_tokens),
        },
        |ev| {
            if let ChatEvent::Piece(p) = ev {
                show(p);
            }
        },
    )?;
    Ok(turn::Outcome {
        answer: turn.text.trim().to_owned(),
        stats: turn.stats,
        ..Default::default()
    })
}

/// `ask --json`: `{"answer", "tool_calls": [{"name", "arguments", "result"}], "proposals":
/// [{"intent", "review", "decision"}], "stats"}` (the last round's figures); every string
/// cleaned of control characters.
fn outcome_json(outcome: &turn::Outcome, reviews: &[Value]) -> Value {
    let calls: Vec<Value> = outcome
        .calls
        .iter()
        .map(|c| json!({"name": clean_line(&c.name), "arguments": c.arguments, "result": c.result}))
        .collect();
    let proposals: Vec<Value> = outcome
        .proposals
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "intent": p.proposal.describe(),
                "review": reviews.get(i).cloned().unwrap_or(Value::Null),
                "decision": match &p.decision {
                    Decision::Signed(h) => format!("signed: tx {h}"),
                    Decision::Declined => "declined".to_owned(),
                    Decision::Pending => "pending".to_owned(),
                },
            })
        })
        .collect();
    let st = &outcome.stats;
    json!({
        "answer": crate::sanitize::clean(&outcome.answer),
        "tool_calls": calls,
        "proposals": proposals,
        "stats": {
            "prompt_tokens": st.prompt_tokens,
            "generated": st.generated,
            "prefill_ms": st.prefill_ms,
            "generate_ms": st.generate_ms,
            "ttft_ms": st.ttft_ms,
        },
    })
}

/// What a question needs open: the network (None when none is configured: the tools that need
/// one say "offline" and nothing is sent), the wallet, the store and its settings.
struct Opened {
    client: Option<Client>,
    wallet: Wallet,
    store: Store,
    settings: crate::service::settings::Settings,
    account: AccountRef,
    rt: tokio::runtime::Runtime,
    own: Vec<Address>,
}

impl Opened {
    fn open(args: &AskArgs, paths: &Paths) -> Result<Opened> {
        let config = ChainConfig::load(paths)?;
        let client = connect(&config, args.network.as_deref()).ok();
        let wallet = unlock(paths, args.password_file.as_deref())?;
        let store = crate::service::wallet::open_store(paths, &wallet)?;
        let (settings, _) = crate::service::settings::Settings::load(&store)?;
        let account = parse_account(&wallet, &args.account)?;
        let own = activity::own_addresses(&wallet, Some(&store))?;
        Ok(Opened {
            client,
            wallet,
            store,
            settings,
            account,
            rt: chain::runtime()?,
            own,
        })
    }

    fn desk(&self, args: &AskArgs) -> CliDesk<'_> {
        CliDesk {
            rt: &self.rt,
            client: self.client.as_ref(),
            store: &self.store,
            wallet: &self.wallet,
            own: &self.own,
            account: self.account,
            caps: crate::service::settings::transfer_caps(&self.settings.bot_transfer_caps)
                .unwrap_or_default(),
            yes: args.yes,
            accept_warnings: args.accept_warnings,
            reviews: Vec::new(),
        }
    }
}

/// The command line's desk: reads through the services `wallet` and `market` use
/// ([`crate::service::bot::Reader`]), and each proposal through `wallet send`'s review and
/// confirmation.
struct CliDesk<'a> {
    rt: &'a tokio::runtime::Runtime,
    client: Option<&'a Client>,
    store: &'a Store,
    wallet: &'a Wallet,
    own: &'a [Address],
    account: AccountRef,
    /// bot.transfer_caps: the most the model may propose, per asset symbol.
    caps: Vec<(String, String)>,
    yes: bool,
    accept_warnings: bool,
    /// Each reviewed proposal's lines, for `--json`.
    reviews: Vec<Value>,
}

impl Desk for CliDesk<'_> {
    fn read(&mut self, read: &Read) -> Result<Value, String> {
        let reader = Reader {
            client: self.client,
            store: self.store,
            wallet: self.wallet,
            own: self.own,
        };
        self.rt.block_on(reader.read(read))
    }

    fn propose(&mut self, proposal: &Proposal, from_user: bool) -> Result<Decision, String> {
        if !matches!(proposal, Proposal::Transfer { .. }) {
            // The market's proposals are reviewed and signed in the app's Chat screen; here
            // they are printed as the command that does the same through its own review.
            eprintln!();
            eprintln!("The model proposes: {}", proposal.describe());
            if !from_user {
                eprintln!(
                    "DANGER: proposed by the model, from text you did not write (you never typed this listing)"
                );
            }
            eprintln!(
                "not signed: to do it, run `{}` (it shows its own review)",
                proposal.command()
            );
            self.reviews.push(json!({"command": proposal.command()}));
            return Ok(Decision::Pending);
        }
        let client = self
            .client
            .ok_or_else(|| "offline: no network is configured (keybot chain add)".to_owned())?;
        let from = self.wallet.address(self.account).map_err(line)?;
        let request = crate::service::bot::transfer_request(
            proposal,
            &client.network.tokens,
            from,
            &self.caps,
        )?;
        let mut review = self
            .rt
            .block_on(tx::prepare(client, Some(self.store), request, self.own))
            .map_err(line)?;
        // First in the review: who proposed it, and loudly when the address is not the user's.
        review.warnings.insert(0, Warning::ProposedByModel);
        if !from_user {
            review.warnings.insert(0, Warning::NotTypedByUser);
        }
        let mut lines = serde_json::Map::new();
        lines.insert("sentence".into(), Value::String(review.intent.sentence()));
        for (k, v) in review.lines() {
            lines.insert(k, Value::String(clean_line(&v).into_owned()));
        }
        lines.insert(
            "warnings".into(),
            Value::Array(
                review
                    .warnings
                    .iter()
                    .map(|w| Value::String(review.warning(w)))
                    .collect(),
            ),
        );
        self.reviews.push(Value::Object(lines));
        eprintln!();
        eprintln!("The model proposes a transaction:");
        show_review(&review);
        if !self.yes && !input::stdin_is_tty() {
            eprintln!("not signed: pass --yes to sign proposals, or ask on a terminal");
            return Ok(Decision::Pending);
        }
        if let Err(e) = confirm(&review, self.yes, self.accept_warnings, "Sign and send") {
            eprintln!("{}", line(&e));
            return Ok(Decision::Declined);
        }
        let record = tx::sign(self.wallet, self.account, &review).map_err(line)?;
        let outcome = self
            .rt
            .block_on(tx::broadcast(
                client,
                Some(self.store),
                &record,
                Duration::from_secs(120),
                &mut progress,
            ))
            .map_err(line)?;
        // On stderr: stdout is the answer's (or --json's) alone.
        let hash = record.hash;
        match outcome {
            crate::chain::send::Outcome::Confirmed { block } => {
                eprintln!("confirmed {hash} in block {block}")
            }
            crate::chain::send::Outcome::StillPending => eprintln!("pending {hash}: not mined yet"),
            crate::chain::send::Outcome::Reverted { block } => {
                return Err(format!(
                    "transaction {hash} reverted on chain in block {block} (the fee was spent)"
                ));
            }
            crate::chain::send::Outcome::RpcLost { reason } => {
                return Err(format!(
                    "{}; transaction {hash} was handed to the RPC and is recorded",
                    line(reason)
                ));
            }
        }
        Ok(Decision::Signed(hash.to_string()))
    }
}
