//! `keybot ask "QUESTION"`: the local model answers with the wallet's and the market's tools.
//! It reads through them and may propose a transaction; a proposal opens the same review as
//! `wallet send` and is signed only on the user's `y` there (or `--yes`, per proposal; a loud
//! warning also needs `--accept-warnings`). Off a terminal without `--yes` a proposal is printed
//! as an unsigned intent and nothing is signed.
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::bot::format::Support;
use crate::bot::tools::Decision;
use crate::bot::turn::{self, Setup};
use crate::chat::engine::{ChatEvent, Engine, GenerateRequest, LoadRequest, Prompt};
use crate::chat::sampling::{RANDOM_SEED, SamplingParams};
use crate::chat::template::Message;
use crate::cli::desk::Opened;
use crate::config::Paths;
use crate::sanitize::clean_line;

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
        let opened = self.open(paths)?;
        // A server's API key opens with the wallet just unlocked: one password, not two.
        let model =
            super::model::resolve_model_with(paths, self.model.as_deref(), Some(&opened.wallet))?;
        let settings = &opened.settings;

        let engine = Engine::spawn()?;
        let info = engine.load_blocking(
            LoadRequest {
                path: model.path,
                ctx: Some(settings.ctx),
                gpu_layers: settings.gpu_layers,
                // model.rpc is for a GGUF's layers; a server model runs on its server.
                rpc: if model.server.is_none() {
                    settings.rpc_endpoints()
                } else {
                    Vec::new()
                },
                // Every question starts with the same tools: their decoded state is kept between
                // runs (a registered model's, keyed by its sha256).
                prompt_cache: Some(paths.cache_dir.join("prompts")),
                expected_sha256: model.sha256,
                server: model.server,
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
        let symbols: Vec<String> = opened
            .client
            .iter()
            .flat_map(|c| c.network.tokens.iter().map(|t| t.symbol.clone()))
            .collect();
        let tools = match info.tools {
            Support::Format(format) => {
                Some(Setup::new(format, &symbols).map_err(anyhow::Error::msg)?)
                    // A question that is not the wallet's or the market's goes without the tools
                    // (`bot.tools = asked`), and costs no more than a plain chat.
                    .filter(|s| s.wanted(&messages, settings.bot_tools_always))
            }
            _ => None,
        };
        let outcome = match (tools, info.tools) {
            (Some(setup), _) => {
                let setup = std::sync::Arc::new(setup);
                let mut desk = opened.desk(self.yes, self.accept_warnings);
                let out = turn::run(
                    &engine,
                    setup,
                    &mut messages,
                    &sampling,
                    Some(self.max_tokens),
                    usize::from(self.rounds.unwrap_or(settings.bot_rounds)),
                    &mut desk,
                    &mut show,
                )?;
                (out, desk.reviews)
            }
            (None, other) => {
                if let Support::Format(_) = other {
                    eprintln!(
                        "note: no tools for this question: it names nothing of the wallet or the market (bot.tools = always gives them to every question)"
                    );
                }
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
    /// The network, the unlocked wallet and its store, as the options name them.
    fn open(&self, paths: &Paths) -> Result<Opened> {
        Opened::open(
            paths,
            self.network.as_deref(),
            self.password_file.as_deref(),
            &self.account,
        )
    }

    /// `--call TOOL [--arguments JSON]`: one tool at the command line's desk, no model. The
    /// arguments were typed by the user, so a proposal's address in them counts as typed.
    fn run_call(&self, paths: &Paths, name: &str) -> Result<u8> {
        let text = self.arguments.as_deref().unwrap_or("{}");
        let arguments: Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("--arguments is not JSON: {e}"))?;
        let opened = self.open(paths)?;
        let mut desk = opened.desk(self.yes, self.accept_warnings);
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
            "reused": st.reused,
            "generated": st.generated,
            "prefill_ms": st.prefill_ms,
            "generate_ms": st.generate_ms,
            "ttft_ms": st.ttft_ms,
        },
    })
}
