//! `keybot bench chat`: the chat engine's speed, in llama-bench's terms.
//!
//! pp (prompt processing) and tg (text generation) tokens per second through the engine's own
//! prefill and decode code, and the time to first token over a multi-turn chat (which KV-cache
//! reuse should keep flat), and how long a stop request takes to end a generation (the chat
//! tests check it in tokens; the time is a figure, so it lives here). scripts/bench-chat.sh runs this next to llama-bench built from the
//! same llama.cpp source and prints the ratio.
use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use crate::chat::{
    BenchRequest, ChatEvent, Engine, GenerateRequest, GpuLayers, LoadRequest, Message, Prompt,
    SamplingParams,
};
use crate::config::Paths;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// pp/tg tokens per second and time to first token per chat turn.
    Chat(ChatBenchArgs),
}

#[derive(Debug, Args)]
struct ChatBenchArgs {
    /// A GGUF file or a registered model name (default: the default model).
    #[arg(long, short = 'm')]
    model: Option<String>,
    /// Prompt tokens per prompt-processing run (llama-bench -p).
    #[arg(short = 'p', long, default_value_t = 512)]
    prompt_tokens: u32,
    /// Tokens per generation run (llama-bench -n).
    #[arg(short = 'n', long, default_value_t = 128)]
    gen_tokens: u32,
    /// Runs of each, after one warm-up (llama-bench -r).
    #[arg(short = 'r', long, default_value_t = 5)]
    repetitions: u32,
    #[arg(short = 't', long)]
    threads: Option<u32>,
    #[arg(long, default_value_t = 4096)]
    ctx: u32,
    #[arg(long, value_name = "N|all", value_parser = str::parse::<GpuLayers>)]
    gpu_layers: Option<GpuLayers>,
    /// Offload the layers to llama.cpp rpc-servers (HOST:PORT, comma separated), as `chat --rpc`.
    #[arg(long, value_name = "HOST:PORT,…", value_parser = super::chat::parse_rpc)]
    rpc: Option<super::chat::RpcList>,
    /// Chat turns for the time-to-first-token figure (0: skip).
    #[arg(long, default_value_t = 10)]
    turns: u32,
    #[arg(long)]
    json: bool,
}

impl BenchArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        match self.command {
            BenchCommand::Chat(a) => a.run(paths),
        }
    }
}

impl ChatBenchArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let gpu_layers = self.gpu_layers.unwrap_or_default();
        let model = super::model::resolve_model(paths, self.model.as_deref())?;
        if model.server.is_some() {
            if self.rpc.is_some() {
                bail!(
                    "--rpc spreads a GGUF's layers over rpc-servers; this model runs on its own server"
                );
            }
            return server_bench(model, self.gen_tokens, self.repetitions.max(1), self.json);
        }
        let engine = Engine::spawn()?;
        let info = engine.load_blocking(
            LoadRequest {
                path: model.path,
                ctx: Some(self.ctx),
                threads: self.threads,
                gpu_layers,
                template: None,
                expected_sha256: model.sha256,
                server: model.server,
                rpc: self.rpc.clone().map(|r| r.0).unwrap_or_default(),
                prompt_cache: None,
            },
            |_| {},
        )?;
        let r = engine.bench_blocking(BenchRequest {
            prompt_tokens: self.prompt_tokens,
            gen_tokens: self.gen_tokens,
            repetitions: self.repetitions.max(1),
        })?;
        let (pp_avg, pp_sd) = mean_sd(&r.prompt_tps);
        let (tg_avg, tg_sd) = mean_sd(&r.gen_tps);

        let ttft = first_token_times(&engine, self.turns)?;
        let stop_ms = stop_latency_ms(&engine)?;

        if self.json {
            let v = serde_json::json!({
                "stop_ms": stop_ms,
                "model": info.path.display().to_string(),
                "threads": info.threads,
                "device": info.device,
                "gpu_layers": info.gpu_layers,
                "pp": self.prompt_tokens, "pp_tps": pp_avg, "pp_sd": pp_sd, "pp_runs": r.prompt_tps,
                "tg": self.gen_tokens, "tg_tps": tg_avg, "tg_sd": tg_sd, "tg_runs": r.gen_tps,
                "ttft_ms": ttft.iter().map(|t| t.0).collect::<Vec<_>>(),
                "turn_prompt_tokens": ttft.iter().map(|t| t.1).collect::<Vec<_>>(),
                "turn_prefilled": ttft.iter().map(|t| t.2).collect::<Vec<_>>(),
            });
            println!("{v}");
        } else {
            println!(
                "model: {} ({} threads, {}, {} GPU layers)",
                info.path.display(),
                info.threads,
                info.device,
                info.gpu_layers
            );
            println!("pp{}: {pp_avg:.2} ± {pp_sd:.2} t/s", self.prompt_tokens);
            println!("tg{}: {tg_avg:.2} ± {tg_sd:.2} t/s", self.gen_tokens);
            println!("stop: {stop_ms:.1} ms from the request to the end of the generation");
            for (i, (ms, prompt, prefilled)) in ttft.iter().enumerate() {
                println!(
                    "turn {:>2}: first token {ms:7.1} ms (prompt {prompt} tokens, {prefilled} decoded)",
                    i + 1
                );
            }
        }
        Ok(0)
    }
}

/// A server model: the same request `runs` times (greedy, `gen` tokens), what keybot measured
/// next to what the server reports for the same request — the time to the first token against
/// the server's prompt time, and tokens per second as the stream arrived against the server's
/// generation figure. What keybot adds is the difference: the HTTP stream and its parsing.
fn server_bench(model: super::model::ModelFile, n_gen: u32, runs: u32, json: bool) -> Result<u8> {
    let engine = Engine::spawn()?;
    let info = engine.load_blocking(
        LoadRequest {
            path: model.path,
            server: model.server,
            ..LoadRequest::default()
        },
        |_| {},
    )?;
    let sampling = SamplingParams {
        greedy: true,
        ..SamplingParams::default()
    };
    let mut rows = Vec::new();
    // One warm-up, as llama-bench does; the server's prompt cache is then warm for every run
    // alike.
    for run in 0..=runs {
        let t = engine.generate_blocking(
            GenerateRequest {
                prompt: Prompt::Chat(vec![Message::user(
                    "Write a long story about a lighthouse keeper and the sea.",
                )]),
                sampling: sampling.clone(),
                max_tokens: Some(n_gen),
            },
            |_| {},
        )?;
        let s = t.stats;
        if s.generate_ms <= 0.0 || s.stream_ms <= 0.0 || s.generated < 2 {
            bail!(
                "the server gave no timings for the answer (llama-server does): nothing to compare"
            );
        }
        if run > 0 {
            // The stream's rate counts the tokens after the first, over the time between the
            // first and the last; the server's, all of them over its generation time.
            let ours = (s.generated - 1) as f64 * 1000.0 / s.stream_ms;
            let theirs = s.generated as f64 * 1000.0 / s.generate_ms;
            rows.push((s.ttft_ms, s.prefill_ms, ours, theirs, s.generated));
        }
    }
    let mean = |f: fn(&(f64, f64, f64, f64, usize)) -> f64| {
        rows.iter().map(f).sum::<f64>() / rows.len() as f64
    };
    let (ttft, prompt, ours, theirs) = (mean(|r| r.0), mean(|r| r.1), mean(|r| r.2), mean(|r| r.3));
    if json {
        let v = serde_json::json!({
            "device": info.device, "runs": rows.len(), "gen": n_gen,
            "ttft_ms": ttft, "server_prompt_ms": prompt, "added_ttft_ms": ttft - prompt,
            "stream_tps": ours, "server_tps": theirs, "tps_ratio": ours / theirs,
        });
        println!("{v}");
    } else {
        println!(
            "model: {} ({}), {} runs of {n_gen} tokens",
            info.architecture,
            info.device,
            rows.len()
        );
        println!(
            "first token: {ttft:.1} ms here, {prompt:.1} ms of prompt on the server: keybot adds {:.1} ms",
            ttft - prompt
        );
        println!(
            "generation: {ours:.2} t/s as streamed, {theirs:.2} t/s by the server: ratio {:.3}",
            ours / theirs
        );
    }
    Ok(0)
}

/// Time to first token over `turns` turns of a real chat, each as (milliseconds, prompt tokens,
/// tokens decoded): each turn's first token waits only for the new turn's tokens, as long as
/// the KV cache is reused.
fn first_token_times(engine: &Engine, turns: u32) -> Result<Vec<(f64, usize, usize)>> {
    let mut ttft = Vec::new();
    let mut history = vec![Message::system(
        "You are a helpful assistant. Answer briefly.",
    )];
    for i in 0..turns {
        history.push(Message::user(format!(
            "Question {}: name a fruit that starts with the letter {}, and say one thing about it.",
            i + 1,
            char::from(b'a' + u8::try_from(i % 26).unwrap_or(0))
        )));
        let req = GenerateRequest {
            prompt: Prompt::Chat(history.clone()),
            sampling: SamplingParams {
                greedy: true,
                ..Default::default()
            },
            max_tokens: Some(32),
        };
        let turn = engine.generate_blocking(req, |_: &ChatEvent| {})?;
        ttft.push((
            turn.stats.ttft_ms,
            turn.stats.prompt_tokens,
            turn.stats.prefilled,
        ));
        if turn.dropped > 0 {
            history.drain(1..1 + turn.dropped);
        }
        history.push(Message::assistant(turn.text));
    }
    Ok(ttft)
}

/// Milliseconds from `stop()`, sent once ten pieces of a long answer have arrived, to `Done`.
fn stop_latency_ms(engine: &Engine) -> Result<f64> {
    use std::time::{Duration, Instant};
    engine.generate(GenerateRequest {
        prompt: Prompt::Raw("Count from 1 to 1000, separated by commas: 1, 2, 3,".into()),
        sampling: SamplingParams {
            greedy: true,
            ..Default::default()
        },
        max_tokens: Some(900),
    })?;
    let mut pieces = 0;
    let mut asked: Option<Instant> = None;
    loop {
        match engine.events().recv_timeout(Duration::from_secs(120)) {
            Ok(ChatEvent::Piece(_)) if asked.is_none() => {
                pieces += 1;
                if pieces == 10 {
                    asked = Some(Instant::now());
                    engine.stop();
                }
            }
            Ok(ChatEvent::Done(_)) => {
                return Ok(asked.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0));
            }
            Ok(ChatEvent::Error(e)) => bail!("stop benchmark: {e}"),
            Ok(_) => {}
            Err(_) => bail!("stop benchmark: the engine stopped answering"),
        }
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}
