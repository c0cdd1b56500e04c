//! `keybot chat`: talk to a local model from a script or a shell.
//!
//! The answer streams to standard output as it is generated; a stats line (or, with
//! `--stats-json`, a JSON object) goes to standard error after each answer, so a script can keep
//! the two apart. With no prompt argument, each line of standard input is one user turn of the
//! same conversation. Ctrl-C stops the answer cleanly and still prints its stats.
//!
//! The model's text is untrusted: it is printed through the streaming sanitizer, which removes
//! control characters and escape sequences even when one is split across two tokens. The one
//! exception is a script that asked for the model's exact bytes: `--raw` with standard output
//! not a terminal (and `--print-prompt` into a pipe, whose whole purpose is comparing the
//! rendered prompt byte for byte). A terminal always gets cleaned text.
use std::borrow::Cow;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::model::ModelFile;
use crate::chat::engine::{ModelInfo, Turn};
use crate::chat::sampling::RANDOM_SEED;
use crate::chat::{
    ChatEvent, Engine, GenerateRequest, GpuLayers, LoadRequest, Message, Prompt, SamplingParams,
    Stats, StopReason, TemplateOverride,
};
use crate::config::Paths;
use crate::sanitize::{Stream, clean, clean_line};

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The question. Without it, each line of standard input is one user turn.
    pub prompt: Option<String>,
    /// A GGUF file or the name of a registered model (default: `keybot model default`).
    #[arg(long, short = 'm', value_name = "FILE|NAME")]
    pub model: Option<String>,
    /// A system prompt for the conversation.
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Context window in tokens (default: the model's, at most 4096).
    #[arg(long, value_name = "N")]
    pub ctx: Option<u32>,
    /// CPU threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Layers to offload to the GPU: a number or `all` (default: all when a GPU is found).
    #[arg(long, value_name = "N|all", value_parser = str::parse::<GpuLayers>)]
    pub gpu_layers: Option<GpuLayers>,
    /// Offload the layers to llama.cpp `rpc-server`s on other machines (HOST:PORT, comma
    /// separated) instead of, or beside, a GPU; `--gpu-layers N` puts N layers there.
    #[arg(long, value_name = "HOST:PORT,…", value_parser = parse_rpc)]
    pub rpc: Option<RpcList>,
    // The sampling defaults are `SamplingParams::default()` (llama.cpp's), the one place they
    // are written down.
    #[arg(long, default_value_t = SamplingParams::default().temp)]
    pub temp: f32,
    #[arg(long, default_value_t = SamplingParams::default().top_k)]
    pub top_k: i32,
    #[arg(long, default_value_t = SamplingParams::default().top_p)]
    pub top_p: f32,
    #[arg(long, default_value_t = SamplingParams::default().min_p)]
    pub min_p: f32,
    /// Seed for sampling, for reproducible answers (default: random).
    #[arg(long, value_name = "N")]
    pub seed: Option<u32>,
    /// Always pick the most likely token.
    #[arg(long)]
    pub greedy: bool,
    /// Stop an answer after N tokens.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// No chat template: continue the prompt as plain text. Into a pipe, the text is printed
    /// exactly as generated; on a terminal, control characters are removed.
    #[arg(long)]
    pub raw: bool,
    /// Render conversations with this Jinja template instead of the model's.
    #[arg(long, value_name = "FILE", conflicts_with = "chat_template")]
    pub chat_template_file: Option<PathBuf>,
    /// Use a llama.cpp built-in template by name (chatml, gemma, llama3, …).
    #[arg(long, value_name = "NAME")]
    pub chat_template: Option<String>,
    /// Print each answer's stats as one JSON object on standard error.
    #[arg(long)]
    pub stats_json: bool,
    /// Start from this conversation: a JSON array of {"role", "content"} objects.
    #[arg(long, value_name = "FILE")]
    pub messages_json: Option<PathBuf>,
    /// Print the prompt the chat template renders for the conversation, and generate nothing.
    /// Into a pipe it is printed exactly; on a terminal, control characters are removed. For a
    /// model on a server: the conversation as its request carries it (JSON).
    #[arg(long, conflicts_with = "raw")]
    pub print_prompt: bool,
}

impl ChatArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        let model = super::model::resolve_model(paths, self.model.as_deref())?;
        let stdout_tty = std::io::stdout().is_terminal();
        let sampling = self.sampling()?;
        self.check_prompt()?;
        let template = self.template()?;

        let engine = Engine::spawn()?;
        let interrupted = stop_on_ctrl_c(&engine)?;
        let info = self.load(&engine, model, template)?;
        tracing::info!(model = %info.path.display(), device = %info.device, "chat model ready");

        let history = self.first_messages()?;
        if self.print_prompt {
            return self.print_rendered_prompt(&engine, history, &info, stdout_tty);
        }
        let mut chat = Conversation {
            engine: &engine,
            sampling,
            max_tokens: self.max_tokens,
            raw: self.raw,
            stats_json: self.stats_json,
            stdout_tty,
            history,
        };
        if let Some(p) = self.prompt {
            chat.turn(p)?;
            return Ok(if interrupted.load(Ordering::SeqCst) {
                130
            } else {
                0
            });
        }
        chat.turns_from_stdin(&interrupted)
    }

    /// The sampling flags, checked before anything is loaded.
    fn sampling(&self) -> Result<SamplingParams> {
        let sampling = SamplingParams {
            temp: self.temp,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            seed: self.seed.unwrap_or(RANDOM_SEED),
            greedy: self.greedy,
            ..SamplingParams::default()
        };
        sampling.validate()?;
        Ok(sampling)
    }

    /// Refuses a prompt that would be ignored or meaningless, before the model is loaded.
    fn check_prompt(&self) -> Result<()> {
        if self.prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
            bail!("the prompt is empty");
        }
        if self.raw && self.system.is_some() {
            bail!("--system has no effect with --raw (there is no chat template to put it in)");
        }
        Ok(())
    }

    /// `--chat-template-file` or `--chat-template`, instead of the model's own template.
    fn template(&self) -> Result<Option<TemplateOverride>> {
        Ok(match (&self.chat_template_file, &self.chat_template) {
            (Some(f), _) => Some(TemplateOverride::Source(super::input::read_text_limited(
                f,
                1 << 20,
                "a chat template",
            )?)),
            (None, Some(name)) => Some(TemplateOverride::Name(name.clone())),
            (None, None) => None,
        })
    }

    /// Loads the model: load-time notices on standard error, and progress there too on a
    /// terminal.
    fn load(
        &self,
        engine: &Engine,
        model: ModelFile,
        template: Option<TemplateOverride>,
    ) -> Result<ModelInfo> {
        let progress = std::io::stderr().is_terminal();
        if self.rpc.is_some() && model.server.is_some() {
            bail!(
                "--rpc spreads a GGUF's layers over rpc-servers; this model runs on its own server"
            );
        }
        let info = engine.load_blocking(
            LoadRequest {
                path: model.path,
                ctx: self.ctx,
                threads: self.threads,
                gpu_layers: self.gpu_layers.unwrap_or_default(),
                template,
                expected_sha256: model.sha256,
                server: model.server,
                rpc: self.rpc.clone().map(|r| r.0).unwrap_or_default(),
                prompt_cache: None,
            },
            |ev| match ev {
                // Load-time notices are about the chat template, which --raw does not use.
                ChatEvent::Notice(n) if !self.raw => eprintln!("note: {}", clean_line(n)),
                // Progress only on a terminal: scripts get exactly one stats line per answer.
                ChatEvent::LoadProgress(p) if progress => {
                    eprint!("\r\x1b[2Kloading model {:>3.0}%", p * 100.0);
                    if *p >= 1.0 {
                        eprint!("\r\x1b[2K");
                    }
                }
                _ => {}
            },
        )?;
        Ok(info)
    }

    /// The conversation before the first new turn: `--system`, then `--messages-json`.
    fn first_messages(&self) -> Result<Vec<Message>> {
        let mut history: Vec<Message> = self.system.iter().map(Message::system).collect();
        if let Some(f) = &self.messages_json {
            let text = super::input::read_text_limited(f, 16 << 20, "--messages-json")?;
            let msgs: Vec<Message> = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a JSON array of {{\"role\", \"content\"}} objects",
                    f.display()
                )
            })?;
            history.extend(msgs);
        }
        Ok(history)
    }

    /// `--print-prompt`: the conversation as the template renders it, and nothing generated.
    fn print_rendered_prompt(
        &self,
        engine: &Engine,
        mut history: Vec<Message>,
        info: &ModelInfo,
        stdout_tty: bool,
    ) -> Result<u8> {
        if let Some(p) = &self.prompt {
            history.push(Message::user(p.clone()));
        }
        if history.is_empty() {
            bail!("--print-prompt needs a conversation: a prompt, --system or --messages-json");
        }
        let (text, tokens) = engine.render_blocking(history)?;
        // The template comes from the model file and can put anything in the prompt.
        if stdout_tty {
            print!("{}", clean(&text));
        } else {
            print!("{text}");
        }
        std::io::stdout().flush()?;
        if crate::chat::remote::runs_on_server(&info.device) {
            eprintln!(
                "[the conversation as the request carries it; the server renders the prompt]"
            );
        } else {
            eprintln!("[{tokens} tokens; template: {}]", info.template);
        }
        Ok(0)
    }
}

/// Ctrl-C stops the answer being generated (the engine's stop flag) and, through the returned
/// flag, the turns after it: the command then exits 130.
fn stop_on_ctrl_c(engine: &Engine) -> Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let stop = engine.stop_flag();
    let flag = Arc::clone(&interrupted);
    on_ctrl_c(move || {
        flag.store(true, Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
    })?;
    Ok(interrupted)
}

/// A conversation with the loaded model: its history and how each answer is asked for and
/// printed.
struct Conversation<'a> {
    engine: &'a Engine,
    sampling: SamplingParams,
    max_tokens: Option<u32>,
    raw: bool,
    stats_json: bool,
    stdout_tty: bool,
    history: Vec<Message>,
}

impl Conversation<'_> {
    /// Each non-blank line of standard input is one user turn, until its end or Ctrl-C.
    fn turns_from_stdin(&mut self, interrupted: &AtomicBool) -> Result<u8> {
        let stdin = std::io::stdin();
        let tty = stdin.is_terminal();
        let mut lines = stdin.lock().lines();
        loop {
            if tty {
                eprint!("> ");
            }
            let Some(line) = lines.next() else { break };
            let line = line.context("cannot read standard input")?;
            if line.trim().is_empty() {
                continue;
            }
            self.turn(line)?;
            if interrupted.load(Ordering::SeqCst) {
                return Ok(130);
            }
        }
        Ok(0)
    }

    /// One user turn: the answer streamed to standard output, then its stats on standard error.
    fn turn(&mut self, text: String) -> Result<StopReason> {
        let prompt = if self.raw {
            Prompt::Raw(text.clone())
        } else {
            self.history.push(Message::user(text));
            Prompt::Chat(self.history.clone())
        };
        let req = GenerateRequest {
            prompt,
            sampling: self.sampling.clone(),
            max_tokens: self.max_tokens,
        };
        let engine = self.engine;
        let mut out = std::io::stdout().lock();
        let mut answer = AnswerText::new(self.raw && !self.stdout_tty);
        let result = engine.generate_blocking(req, |ev| match ev {
            ChatEvent::Piece(p) => {
                let p = answer.piece(p);
                let written = out.write_all(p.as_bytes()).and_then(|()| out.flush());
                // A closed pipe (`| head`) ends the answer; the stop flag makes the engine quit.
                if written.is_err() {
                    engine.stop();
                }
            }
            ChatEvent::Notice(n) => eprintln!("\nnote: {}", clean_line(n)),
            _ => {}
        });
        let turn = match result {
            Ok(t) => t,
            Err(e) => {
                if !self.raw {
                    self.history.pop();
                }
                return Err(e.into());
            }
        };
        if !self.raw {
            // Chat answers end with a line break so each turn is one block of lines; a raw
            // completion is printed exactly as generated.
            let _ = writeln!(out);
            self.remember(&turn);
        }
        let _ = out.flush();
        print_stats(&turn.stats, turn.reason, self.stats_json);
        Ok(turn.reason)
    }

    /// The answer joins the history, less the oldest turns the engine dropped to make room
    /// (the system prompt stays).
    fn remember(&mut self, turn: &Turn) {
        let history = &mut self.history;
        if turn.dropped > 0 {
            let first = history.iter().position(|m| m.role != "system").unwrap_or(0);
            let end = (first + turn.dropped).min(history.len().saturating_sub(1));
            history.drain(first..end);
        }
        history.push(Message::assistant(turn.text.clone()));
    }
}

/// The answer as it is printed: exactly as generated, or through the streaming sanitizer (one per
/// answer, so an escape sequence split between two tokens is removed whole).
struct AnswerText {
    clean: Option<Stream>,
}

impl AnswerText {
    fn new(exact: bool) -> AnswerText {
        AnswerText {
            clean: (!exact).then(Stream::new),
        }
    }

    fn piece<'a>(&mut self, piece: &'a str) -> Cow<'a, str> {
        match &mut self.clean {
            Some(st) => Cow::Owned(st.push(piece)),
            None => Cow::Borrowed(piece),
        }
    }
}

fn print_stats(s: &Stats, reason: StopReason, json: bool) {
    let stop = match reason {
        StopReason::EndOfTurn => "end",
        StopReason::MaxTokens => "max-tokens",
        StopReason::Stopped => "stopped",
        StopReason::ContextFull => "context-full",
        StopReason::Cut => "cut",
    };
    if json {
        let v = serde_json::json!({
            "prompt_tokens": s.prompt_tokens,
            "prefilled": s.prefilled,
            "reused": s.reused,
            "generated": s.generated,
            "prompt_tps": s.prompt_tps(),
            "gen_tps": s.generate_tps(),
            "ttft_ms": s.ttft_ms,
            "ctx_used": s.ctx_used,
            "ctx_size": s.ctx_size,
            "device": s.device,
            "gpu_layers": s.gpu_layers,
            "total_layers": s.total_layers,
            "stop": stop,
        });
        eprintln!("{v}");
    } else {
        // A server's context and layers are its own business: it is named instead.
        let place = if crate::chat::remote::runs_on_server(&s.device) {
            s.device.clone()
        } else {
            format!(
                "ctx {}/{} | {} {}/{} layers",
                s.ctx_used, s.ctx_size, s.device, s.gpu_layers, s.total_layers
            )
        };
        eprintln!(
            "[prompt {} tok ({} cached) {:.1} t/s | gen {} tok {:.1} t/s | first token {:.0} ms | {place}{}]",
            s.prompt_tokens,
            s.reused,
            s.prompt_tps(),
            s.generated,
            s.generate_tps(),
            s.ttft_ms,
            if reason == StopReason::EndOfTurn {
                String::new()
            } else {
                format!(" | {stop}")
            },
        );
    }
}

/// Runs `f` on each Ctrl-C (SIGINT) instead of ending the process: the answer stops and its
/// stats still print. tokio's signal handling, as in the app, on a small thread of its own: the
/// command line runs no async runtime while the engine answers. The handler is in place when
/// this returns.
pub(crate) fn on_ctrl_c(f: impl Fn() + Send + 'static) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot watch for Ctrl-C")?;
    let mut sigint = rt
        .block_on(async { signal(SignalKind::interrupt()) })
        .context("cannot watch for Ctrl-C")?;
    std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            rt.block_on(async move {
                while sigint.recv().await.is_some() {
                    f();
                }
            })
        })
        .context("cannot watch for Ctrl-C")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(exact: bool, pieces: &[&str]) -> String {
        let mut a = AnswerText::new(exact);
        pieces.iter().map(|p| a.piece(p).into_owned()).collect()
    }

    #[test]
    fn an_escape_split_across_tokens_is_not_printed() {
        // How a model could emit "move the cursor up and erase the line" and an OSC 52
        // clipboard write one token at a time.
        let pieces = [
            "The answer is 4",
            "\x1b",
            "[1A\x1b[",
            "2K",
            " and\x1b]5",
            "2;c;cm0gLXJmIH4=",
            "\x07 done\r",
        ];
        let out = printed(false, &pieces);
        assert_eq!(out, "The answer is 4 and done");
        assert!(!out.chars().any(char::is_control), "{out:?}");
    }

    #[test]
    fn raw_output_into_a_pipe_is_exact() {
        let pieces = ["a\x1b", "[31mb\tc\r\n"];
        assert_eq!(printed(true, &pieces), "a\x1b[31mb\tc\r\n");
    }
}

/// `--rpc`'s endpoints (one clap value holding the list).
#[derive(Debug, Clone)]
pub struct RpcList(pub Vec<crate::chat::rpc::Endpoint>);

pub fn parse_rpc(text: &str) -> Result<RpcList, String> {
    crate::chat::rpc::parse_list(text).map(RpcList)
}
