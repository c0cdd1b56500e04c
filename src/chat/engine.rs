//! The chat engine: one OS thread that owns the llama.cpp model and context.
//!
//! llama.cpp's context is not thread-safe and a model load or a prefill can take seconds, so
//! neither may run on a UI thread. The engine thread takes [`ChatCommand`]s and answers with
//! [`ChatEvent`]s; a shared flag stops a generation between two tokens or two prefill chunks.
//!
//! One context lives as long as the model is loaded. Its KV cache holds the tokens of the last
//! prompt and answer ([`Session::cache`] mirrors them), so the next turn only decodes what comes
//! after the longest common prefix: the cost of a turn is the new text, not the conversation.
//!
//! Every `Load` ends in `Loaded` or `Error`; every `Generate` in `Stats` + `Done`, or `Error`.
//! An error never ends the thread: the next command is served.
use std::num::NonZeroU32;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use super::backend;
use super::gguf::{self, GgufError};
use super::history;
use super::sampling::{SamplingError, SamplingParams};
use super::template::{ChatTemplate, Message, TemplateError, TemplateOverride};
use super::utf8::Utf8Stream;

/// llama.cpp's defaults (`common_params`): logical batch 2048, physical batch 512.
const N_BATCH: u32 = 2048;
const N_UBATCH: u32 = 512;
/// The context size when neither the user nor a small training context says otherwise.
const DEFAULT_CTX: u32 = 4096;

/// How many layers to put on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuLayers {
    /// All layers when a GPU backend is compiled in and a device is found, else none.
    #[default]
    Auto,
    All,
    Count(u32),
}

#[derive(Debug, Clone, Default)]
pub struct LoadRequest {
    pub path: PathBuf,
    /// Context window in tokens; `None`: the model's training context, at most 4096.
    pub ctx: Option<u32>,
    /// CPU threads; `None`: one per available core.
    pub threads: Option<u32>,
    pub gpu_layers: GpuLayers,
    pub template: Option<TemplateOverride>,
    /// The sha256 recorded when the model was registered. When set, the file is hashed before
    /// it is loaded and refused if it differs: a registered model is trusted because it was
    /// checked once, and a file replaced on disk since then must not inherit that trust. Not
    /// cached: a cache keyed by size and times can be fooled by whoever can write the file, and
    /// hashing costs about a second per 500 MB, small next to loading the model.
    pub expected_sha256: Option<String>,
    /// A model on an inference server instead of a file: the engine thread then speaks to the
    /// server (`remote::serve`) and `path` is only its name.
    pub server: Option<super::remote::ServerModel>,
    /// `rpc-server`s that take the offloaded layers (`gpu_layers`), as a GPU would.
    pub rpc: Vec<super::rpc::Endpoint>,
    /// Where the KV state of a tools prompt's public head is kept between runs
    /// ([`super::prompt_cache`]; `keybot ask`). Used only with `expected_sha256`, which keys it.
    pub prompt_cache: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum Prompt {
    /// A conversation, rendered with the chat template. The last message is the user's turn.
    Chat(Vec<Message>),
    /// Plain text to continue, no template (`--raw`).
    Raw(String),
    /// A conversation rendered with the tools the model may call (`tools`: a JSON list in the
    /// OpenAI shape); the last message is the user's turn or a tool's result.
    Tools {
        messages: Vec<Message>,
        tools: serde_json::Value,
    },
}

#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub prompt: Prompt,
    pub sampling: SamplingParams,
    /// Stop after this many tokens; `None`: until the model ends its turn or the context is full.
    pub max_tokens: Option<u32>,
}

#[derive(Debug)]
pub enum ChatCommand {
    Load(Box<LoadRequest>),
    Generate(Box<GenerateRequest>),
    /// Render a conversation with the chat template, without generating (`--print-prompt`).
    /// With tools (a JSON list in the OpenAI shape) the template renders them too.
    Render(Vec<Message>, Option<serde_json::Value>),
    /// Measure prompt processing and generation speed the way llama-bench does.
    Bench(BenchRequest),
    /// Free the model (the terminal app's model switcher; the CLI just exits).
    #[allow(dead_code)]
    Unload,
    Shutdown,
}

/// llama-bench's pp/tg tests through the engine's own prefill and generation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchRequest {
    /// Prompt tokens per prompt-processing run (llama-bench `-p`).
    pub prompt_tokens: u32,
    /// Tokens per generation run (llama-bench `-n`).
    pub gen_tokens: u32,
    /// Runs of each (llama-bench `-r`), after one warm-up run.
    pub repetitions: u32,
}

/// Tokens per second of each run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BenchResult {
    pub prompt_tps: Vec<f64>,
    pub gen_tps: Vec<f64>,
}

/// What a loaded model runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub architecture: String,
    pub n_layer: u32,
    pub n_ctx: u32,
    pub n_ctx_train: u32,
    pub threads: u32,
    /// "CPU" or the GPU's description.
    pub device: String,
    /// Layers offloaded to the GPU, out of `n_layer + 1` (the output layer counts, as in llama.cpp).
    pub gpu_layers: u32,
    /// Which template renders conversations, or why none does.
    pub template: String,
    /// Whether its template calls tools, and how (the bot).
    pub tools: crate::bot::format::Support,
}

/// Figures for one generation. Times are wall-clock milliseconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Tokens in the whole prompt.
    pub prompt_tokens: usize,
    /// Of those, tokens decoded this turn (the rest came from the KV cache).
    pub prefilled: usize,
    pub reused: usize,
    pub generated: usize,
    pub prefill_ms: f64,
    pub generate_ms: f64,
    /// From the request to the first generated token.
    pub ttft_ms: f64,
    pub ctx_used: usize,
    pub ctx_size: usize,
    pub device: String,
    pub gpu_layers: u32,
    pub total_layers: u32,
    /// A server model: from the first piece of the answer to the last, on this end's clock
    /// (`prefill_ms` and `generate_ms` are then the server's own figures, when it gives them).
    pub stream_ms: f64,
}

impl Stats {
    pub fn prompt_tps(&self) -> f64 {
        per_second(self.prefilled, self.prefill_ms)
    }
    pub fn generate_tps(&self) -> f64 {
        per_second(self.generated, self.generate_ms)
    }
}

fn per_second(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    MaxTokens,
    /// A stop request.
    Stopped,
    /// The context window filled up mid-answer.
    ContextFull,
    /// A server broke the answer off (a notice said why); what came is kept.
    Cut,
}

#[derive(Debug, Clone)]
pub enum ChatEvent {
    /// Model loading, 0.0 to 1.0.
    LoadProgress(f32),
    Loaded(Box<ModelInfo>),
    Unloaded,
    /// Something the user should be told that is not an error.
    Notice(String),
    /// This many messages were dropped from the front of the conversation (after any system
    /// prompt) to make it fit; the client should drop them from its history too.
    TurnsDropped(usize),
    Piece(String),
    /// The answer to `Render`: the prompt text and its token count.
    Prompt {
        text: String,
        tokens: usize,
    },
    Bench(Box<BenchResult>),
    Stats(Box<Stats>),
    Done(StopReason),
    Error(ChatError),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ChatError {
    #[error("no model is loaded")]
    NoModel,
    #[error("{0}")]
    Gguf(String),
    #[error(
        "{path} has changed since it was registered (sha256 {actual}, registered {expected}); refusing to load it. If you replaced it on purpose, register it again: keybot model add FILE --name NEW"
    )]
    Changed {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("llama.cpp could not load {0} (see the log file for its reason)")]
    Load(String),
    #[error(
        "--gpu-layers {0}: this keybot was built without a GPU backend (rebuild with --features vulkan or --features cuda); only --gpu-layers 0 works"
    )]
    NoGpuBuild(String),
    #[error("--gpu-layers {0}: no GPU device was found (llama.cpp lists none); use --gpu-layers 0")]
    NoGpuDevice(String),
    #[error("cannot create a {0}-token context (out of memory?)")]
    Context(u32),
    // transparent, not "{0}": with #[from] that would print the error twice in a chain.
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("the prompt is {tokens} tokens, too long for the {ctx}-token context (raise --ctx)")]
    PromptTooLong { tokens: usize, ctx: u32 },
    #[error("llama.cpp failed to decode: {0}")]
    Decode(String),
    /// A server model's request failed: the server and why, one line.
    #[error("{0}")]
    Server(String),
    #[error("the chat engine stopped")]
    EngineGone,
    #[error("internal error in the chat engine: {0}")]
    Internal(String),
}

impl From<GgufError> for ChatError {
    fn from(e: GgufError) -> Self {
        ChatError::Gguf(e.to_string())
    }
}

/// The result of a finished generation, for clients that wait for it.
#[derive(Debug, Clone)]
pub struct Turn {
    pub text: String,
    pub stats: Stats,
    pub reason: StopReason,
    pub dropped: usize,
}

/// A handle to the engine thread. Dropping it shuts the thread down.
pub struct Engine {
    commands: Sender<ChatCommand>,
    events: Receiver<ChatEvent>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    pub fn spawn() -> Result<Engine, ChatError> {
        let (commands, command_rx) = channel();
        let (event_tx, events) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("chat-engine".into())
            .spawn(move || run(&command_rx, &event_tx, &flag))
            .map_err(|e| ChatError::Internal(format!("cannot start the engine thread: {e}")))?;
        Ok(Engine {
            commands,
            events,
            stop,
            thread: Some(thread),
        })
    }

    pub fn send(&self, cmd: ChatCommand) -> Result<(), ChatError> {
        self.commands.send(cmd).map_err(|_| ChatError::EngineGone)
    }

    /// Starts a generation. The stop flag is cleared here, on the client's side, so a stop
    /// request made after this call can never be lost to a race with the engine.
    pub fn generate(&self, req: GenerateRequest) -> Result<(), ChatError> {
        self.stop.store(false, Ordering::SeqCst);
        self.send(ChatCommand::Generate(Box::new(req)))
    }

    /// The flag that stops the current generation; cheap to clone into a signal handler.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Every event, for clients that interleave them with other work (the terminal app).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn events(&self) -> &Receiver<ChatEvent> {
        &self.events
    }

    /// Takes the event stream for a client with its own event loop (the terminal app forwards it
    /// into its queue from a thread). The blocking helpers below need the stream, so a client
    /// that takes it must not call them.
    pub fn take_events(&mut self) -> Receiver<ChatEvent> {
        std::mem::replace(&mut self.events, channel().1)
    }

    /// Loads a model and waits for the outcome; `on_event` sees progress and notices.
    pub fn load_blocking(
        &self,
        req: LoadRequest,
        mut on_event: impl FnMut(&ChatEvent),
    ) -> Result<ModelInfo, ChatError> {
        self.send(ChatCommand::Load(Box::new(req)))?;
        loop {
            let ev = self.events.recv().map_err(|_| ChatError::EngineGone)?;
            on_event(&ev);
            match ev {
                ChatEvent::Loaded(info) => return Ok(*info),
                ChatEvent::Error(e) => return Err(e),
                _ => {}
            }
        }
    }

    /// The prompt text a conversation renders to, and its token count.
    pub fn render_blocking(&self, messages: Vec<Message>) -> Result<(String, usize), ChatError> {
        self.render_tools_blocking(messages, None)
    }

    /// [`Engine::render_blocking`] with the tools the model may call (the bot's parity test).
    pub fn render_tools_blocking(
        &self,
        messages: Vec<Message>,
        tools: Option<serde_json::Value>,
    ) -> Result<(String, usize), ChatError> {
        self.send(ChatCommand::Render(messages, tools))?;
        loop {
            match self.events.recv().map_err(|_| ChatError::EngineGone)? {
                ChatEvent::Prompt { text, tokens } => return Ok((text, tokens)),
                ChatEvent::Error(e) => return Err(e),
                _ => {}
            }
        }
    }

    pub fn bench_blocking(&self, req: BenchRequest) -> Result<BenchResult, ChatError> {
        self.stop.store(false, Ordering::SeqCst);
        self.send(ChatCommand::Bench(req))?;
        loop {
            match self.events.recv().map_err(|_| ChatError::EngineGone)? {
                ChatEvent::Bench(r) => return Ok(*r),
                ChatEvent::Error(e) => return Err(e),
                _ => {}
            }
        }
    }

    /// Runs one generation to its end; `on_event` sees every event (pieces as they come).
    pub fn generate_blocking(
        &self,
        req: GenerateRequest,
        mut on_event: impl FnMut(&ChatEvent),
    ) -> Result<Turn, ChatError> {
        self.generate(req)?;
        let mut text = String::new();
        let mut stats = None;
        let mut dropped = 0;
        loop {
            let ev = self.events.recv().map_err(|_| ChatError::EngineGone)?;
            on_event(&ev);
            match ev {
                ChatEvent::Piece(p) => text.push_str(&p),
                ChatEvent::TurnsDropped(n) => dropped += n,
                ChatEvent::Stats(s) => stats = Some(*s),
                ChatEvent::Done(reason) => {
                    return Ok(Turn {
                        text,
                        stats: stats.unwrap_or_default(),
                        reason,
                        dropped,
                    });
                }
                ChatEvent::Error(e) => return Err(e),
                _ => {}
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.commands.send(ChatCommand::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread body: wait for a model, serve it until told to change, repeat.
fn run(commands: &Receiver<ChatCommand>, events: &Sender<ChatEvent>, stop: &AtomicBool) {
    let mut next: Option<ChatCommand> = None;
    loop {
        let cmd = match next.take() {
            Some(c) => c,
            None => match commands.recv() {
                Ok(c) => c,
                Err(_) => return,
            },
        };
        match cmd {
            ChatCommand::Shutdown => return,
            ChatCommand::Unload => {
                let _ = events.send(ChatEvent::Unloaded);
            }
            ChatCommand::Generate(_) | ChatCommand::Render(..) | ChatCommand::Bench(_) => {
                let _ = events.send(ChatEvent::Error(ChatError::NoModel));
            }
            ChatCommand::Load(req) => {
                // A panic inside a load or a session must not take the thread (and every
                // later request) with it; the model is dropped and the engine waits again.
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    if let Some(server) = &req.server {
                        return super::remote::serve(server, commands, events, stop);
                    }
                    match load_model(&req, events) {
                        Ok(model) => serve(model, &req, commands, events, stop),
                        Err(e) => {
                            let _ = events.send(ChatEvent::Error(e));
                            None
                        }
                    }
                }));
                match outcome {
                    Ok(n) => next = n,
                    Err(p) => {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_else(|| "panic".to_owned());
                        tracing::error!("chat engine panicked: {msg}");
                        let _ = events.send(ChatEvent::Error(ChatError::Internal(msg)));
                    }
                }
            }
        }
    }
}

fn gpu_layers_label(g: GpuLayers) -> String {
    match g {
        GpuLayers::Auto | GpuLayers::All => "all".to_owned(),
        GpuLayers::Count(n) => n.to_string(),
    }
}

/// The number of layers to ask llama.cpp to offload, refusing what cannot be done. With
/// rpc-servers (`rpc`) there is somewhere to offload to without a GPU here.
fn resolve_gpu_layers(
    want: GpuLayers,
    rpc: bool,
) -> Result<(u32, Option<backend::GpuDevice>), ChatError> {
    let gpu = backend::first_gpu();
    if rpc {
        let n = match want {
            GpuLayers::Count(n) => n,
            GpuLayers::Auto | GpuLayers::All => u32::MAX,
        };
        return Ok((n, gpu));
    }
    let needs_gpu = match want {
        GpuLayers::Auto => {
            return Ok(if gpu.is_some() {
                (u32::MAX, gpu)
            } else {
                (0, None)
            });
        }
        GpuLayers::Count(0) => return Ok((0, None)),
        GpuLayers::All | GpuLayers::Count(_) => want,
    };
    if !backend::GPU_COMPILED_IN {
        return Err(ChatError::NoGpuBuild(gpu_layers_label(needs_gpu)));
    }
    let Some(gpu) = gpu else {
        return Err(ChatError::NoGpuDevice(gpu_layers_label(needs_gpu)));
    };
    let n = match needs_gpu {
        GpuLayers::Count(n) => n,
        _ => u32::MAX,
    };
    Ok((n, Some(gpu)))
}

/// Flash attention only where layers run on a GPU. On the CPU, llama.cpp's flash-attention path
/// generates far slower once the context holds a few hundred tokens (`llama-bench -fa on,off`,
/// qwen2.5 0.5B, 2 cores: 14.8 against 19.7 tok/s at 1,024 tokens of context, 12.3 against 17.7
/// at 2,048; equal at 0), and a chat's every answer is generated behind its whole history and,
/// with the bot, behind the tools. It prefills about 10% faster, which a cached prefix makes
/// rare. With a GPU, llama.cpp decides (AUTO).
fn flash_attention(offloaded_layers: u32) -> llama_cpp_sys_2::llama_flash_attn_type {
    if offloaded_layers == 0 {
        llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED
    } else {
        llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_AUTO
    }
}

/// The device line for layers on rpc-servers (and this machine's GPU, if any).
fn rpc_device(rpc: &[super::rpc::Endpoint], gpu: Option<&backend::GpuDevice>) -> String {
    let servers: Vec<String> = rpc.iter().map(ToString::to_string).collect();
    let mut out = format!("rpc-server {}", servers.join(", "));
    if let Some(g) = gpu {
        out.push_str(&format!(" + {}", g.description));
    }
    out
}

struct LoadedModel {
    model: LlamaModel,
    gpu_layers: u32,
    gpu: Option<backend::GpuDevice>,
    /// The rpc-servers holding offloaded layers.
    rpc: Vec<super::rpc::Endpoint>,
    architecture: String,
}

fn load_model(req: &LoadRequest, events: &Sender<ChatEvent>) -> Result<LoadedModel, ChatError> {
    if let Some(expected) = &req.expected_sha256 {
        let actual = super::registry::sha256_file(&req.path, |_| {})
            .map_err(|e| ChatError::Gguf(e.to_string()))?;
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(ChatError::Changed {
                path: req.path.display().to_string(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    // Named errors for files llama.cpp would only call "failed to load".
    let header = gguf::read_header(&req.path)?;
    let backend = backend::get().map_err(ChatError::Internal)?;
    attach_rpc(&req.rpc, events)?;
    let (gpu_layers, gpu) = resolve_gpu_layers(req.gpu_layers, !req.rpc.is_empty())?;
    let progress = events.clone();
    let mut last = -1.0f32;
    let mut params = LlamaModelParams::default();
    if let Some(devices) = super::rpc::devices_for(&req.rpc) {
        params = params
            .with_devices(&devices)
            .map_err(|e| ChatError::Internal(e.to_string()))?;
    }
    let params = params
        .with_n_gpu_layers(gpu_layers)
        .with_progress_callback(move |p| {
            if p >= 1.0 || p - last >= 0.05 {
                last = p;
                let _ = progress.send(ChatEvent::LoadProgress(p));
            }
            true
        });
    let model = LlamaModel::load_from_file(backend, &req.path, &params)
        .map_err(|_| ChatError::Load(req.path.display().to_string()))?;
    let architecture = header.architecture().unwrap_or("unknown").to_owned();
    Ok(LoadedModel {
        model,
        gpu_layers,
        gpu,
        rpc: req.rpc.clone(),
        architecture,
    })
}

/// Adds `endpoints` to llama.cpp's devices. Offline is offline: with no network at all, not a
/// socket is opened for them.
fn attach_rpc(
    endpoints: &[super::rpc::Endpoint],
    events: &Sender<ChatEvent>,
) -> Result<(), ChatError> {
    if endpoints.is_empty() {
        return Ok(());
    }
    if crate::net::no_network() == Some(true) {
        return Err(ChatError::Server(format!(
            "offline: the model's layers go to rpc-server {}, and this machine has no network, not even loopback; nothing was sent",
            endpoints[0]
        )));
    }
    super::rpc::attach(endpoints).map_err(ChatError::Server)?;
    // The RPC protocol has neither encryption nor authentication: what crosses the network is
    // the model's weights and the conversation's activations.
    if let Some(far) = endpoints.iter().find(|e| !e.is_loopback()) {
        let _ = events.send(ChatEvent::Notice(format!(
            "layers on rpc-server {far}: the RPC protocol is not encrypted; use it only on a network you trust"
        )));
    }
    Ok(())
}

/// Serves one loaded model until a command asks for something else; returns that command
/// (a new `Load`, or `Shutdown`) for the outer loop, or `None` after `Unload`.
fn serve(
    loaded: LoadedModel,
    req: &LoadRequest,
    commands: &Receiver<ChatCommand>,
    events: &Sender<ChatEvent>,
    stop: &AtomicBool,
) -> Option<ChatCommand> {
    let mut session = match Session::new(&loaded, req, events) {
        Ok(s) => s,
        Err(e) => {
            let _ = events.send(ChatEvent::Error(e));
            return None;
        }
    };
    let _ = events.send(ChatEvent::Loaded(Box::new(session.info.clone())));
    loop {
        match commands.recv() {
            Err(_) => return Some(ChatCommand::Shutdown),
            Ok(ChatCommand::Generate(g)) => {
                if let Err(e) = session.generate(&g, events, stop) {
                    let _ = events.send(ChatEvent::Error(e));
                }
            }
            Ok(ChatCommand::Render(messages, tools)) => {
                let ev = match session.render(&messages, tools.as_ref()) {
                    Ok((text, tokens)) => ChatEvent::Prompt { text, tokens },
                    Err(e) => ChatEvent::Error(e),
                };
                let _ = events.send(ev);
            }
            Ok(ChatCommand::Bench(b)) => {
                let ev = match session.bench(b, stop) {
                    Ok(r) => ChatEvent::Bench(Box::new(r)),
                    Err(e) => ChatEvent::Error(e),
                };
                let _ = events.send(ev);
            }
            Ok(ChatCommand::Unload) => {
                drop(session);
                let _ = events.send(ChatEvent::Unloaded);
                return None;
            }
            Ok(other) => return Some(other),
        }
    }
}

/// A loaded model's context and what its KV cache holds.
struct Session<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    /// Exactly the tokens in the KV cache, at positions 0..len.
    cache: Vec<LlamaToken>,
    template: Result<ChatTemplate, TemplateError>,
    info: ModelInfo,
    /// Where a tools prompt's head is saved and loaded from, when asked for.
    prompt_cache: Option<super::prompt_cache::PromptCache>,
}

impl<'m> Session<'m> {
    fn new(
        loaded: &'m LoadedModel,
        req: &LoadRequest,
        events: &Sender<ChatEvent>,
    ) -> Result<Session<'m>, ChatError> {
        let model = &loaded.model;
        let backend = backend::get().map_err(ChatError::Internal)?;
        let n_ctx_train = model.n_ctx_train();
        let n_ctx = req.ctx.unwrap_or_else(|| n_ctx_train.clamp(1, DEFAULT_CTX));
        let threads = req.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(4, |n| u32::try_from(n.get()).unwrap_or(4))
        });
        let threads_i32 = i32::try_from(threads).unwrap_or(i32::MAX);
        let n_layer = model.n_layer();
        let offloaded = if loaded.gpu.is_some() || !loaded.rpc.is_empty() {
            loaded.gpu_layers.min(n_layer + 1)
        } else {
            0
        };
        // Flash attention by what this machine's own device does best (an rpc-server's
        // compute is decided there).
        let on_gpu = if loaded.gpu.is_some() { offloaded } else { 0 };
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(N_BATCH)
            .with_n_ubatch(N_UBATCH)
            .with_n_threads(threads_i32)
            .with_n_threads_batch(threads_i32)
            .with_flash_attention_policy(flash_attention(on_gpu));
        let ctx = model
            .new_context(backend, params)
            .map_err(|_| ChatError::Context(n_ctx))?;
        let n_batch = usize::try_from(ctx.n_batch()).unwrap_or(512).max(1);
        let batch = LlamaBatch::new(n_batch, 1);

        let (template, template_label) = match ChatTemplate::resolve(model, req.template.as_ref()) {
            Ok((t, notice)) => {
                if let Some(n) = notice {
                    let _ = events.send(ChatEvent::Notice(n));
                }
                let label = t.description.clone();
                (Ok(t), label)
            }
            Err(e) => {
                let label = format!("none usable ({e})");
                (Err(e), label)
            }
        };
        let device = match (&loaded.gpu, offloaded, loaded.rpc.as_slice()) {
            (_, 1.., [_, ..]) => rpc_device(&loaded.rpc, loaded.gpu.as_ref()),
            (Some(g), 1.., []) => format!("{} ({})", g.description, g.name),
            _ => "CPU".to_owned(),
        };
        let info = ModelInfo {
            path: req.path.clone(),
            architecture: loaded.architecture.clone(),
            n_layer,
            n_ctx: ctx.n_ctx(),
            n_ctx_train,
            threads,
            device,
            gpu_layers: offloaded,
            template: template_label,
            tools: crate::bot::format::Support::of_template(
                template.as_ref().ok().and_then(ChatTemplate::source),
            ),
        };
        tracing::info!(?info, "model loaded");
        let prompt_cache = match (&req.prompt_cache, &req.expected_sha256) {
            (Some(dir), Some(sha)) => Some(super::prompt_cache::PromptCache {
                dir: dir.clone(),
                model_sha256: sha.clone(),
                n_ctx: ctx.n_ctx(),
                flash_attention: on_gpu > 0,
            }),
            _ => None,
        };
        Ok(Session {
            model,
            ctx,
            batch,
            cache: Vec::new(),
            template,
            info,
            prompt_cache,
        })
    }

    fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        // As llama.cpp's tools do: BOS when the vocabulary wants one, special tokens parsed
        // (the chat template writes them as text).
        self.model.vocab().tokenize(text.as_bytes(), true, true)
    }

    /// The prompt's tokens, with the oldest exchanges dropped until `reserve` tokens are left
    /// for the answer.
    fn prompt_tokens(
        &self,
        prompt: &Prompt,
        reserve: usize,
        events: &Sender<ChatEvent>,
    ) -> Result<(Vec<LlamaToken>, usize), ChatError> {
        let n_ctx = self.ctx.n_ctx();
        let limit = usize::try_from(n_ctx).unwrap_or(usize::MAX);
        match prompt {
            Prompt::Raw(text) => {
                if text.is_empty() {
                    return Err(ChatError::EmptyPrompt);
                }
                let tokens = self.tokenize(text);
                if tokens.is_empty() {
                    return Err(ChatError::EmptyPrompt);
                }
                // A raw prompt has no turns to drop; it must fit with room for one token.
                if tokens.len() >= limit {
                    return Err(ChatError::PromptTooLong {
                        tokens: tokens.len(),
                        ctx: n_ctx,
                    });
                }
                Ok((tokens, 0))
            }
            Prompt::Chat(messages) | Prompt::Tools { messages, .. } => {
                let tools = match prompt {
                    Prompt::Tools { tools, .. } => Some(tools),
                    _ => None,
                };
                match messages.last() {
                    Some(m) if !m.content.trim().is_empty() => {}
                    _ => return Err(ChatError::EmptyPrompt),
                }
                let template = self
                    .template
                    .as_ref()
                    .map_err(|e| ChatError::Template(e.clone()))?;
                let mut msgs = messages.clone();
                let mut dropped = 0;
                loop {
                    let text = template.render_with_tools(self.model, &msgs, tools)?;
                    let tokens = self.tokenize(&text);
                    if tokens.len() + reserve <= limit {
                        if dropped > 0 {
                            let _ = events.send(ChatEvent::TurnsDropped(dropped));
                            let _ = events.send(ChatEvent::Notice(format!(
                                "the conversation outgrew the {n_ctx}-token context: dropped the oldest {dropped} message(s)"
                            )));
                        }
                        return Ok((tokens, dropped));
                    }
                    match history::oldest_exchange(&msgs) {
                        Some(range) => {
                            dropped += range.len();
                            msgs.drain(range);
                        }
                        None => {
                            return Err(ChatError::PromptTooLong {
                                tokens: tokens.len() + reserve,
                                ctx: n_ctx,
                            });
                        }
                    }
                }
            }
        }
    }

    fn generate(
        &mut self,
        req: &GenerateRequest,
        events: &Sender<ChatEvent>,
        stop: &AtomicBool,
    ) -> Result<(), ChatError> {
        let t0 = Instant::now();
        req.sampling.validate()?;
        let n_ctx = usize::try_from(self.ctx.n_ctx()).unwrap_or(usize::MAX);
        // Room kept for the answer when fitting a conversation: what was asked for, but never
        // more than a quarter of the window (the answer stops at a full context anyway).
        let reserve = req.max_tokens.map_or(n_ctx / 4, |m| {
            usize::try_from(m).unwrap_or(usize::MAX).min(n_ctx / 4)
        });
        let (tokens, _dropped) = self.prompt_tokens(&req.prompt, reserve, events)?;
        // A tools prompt's public head from its file, or (None) where to save it once decoded.
        let save_head = self.restore_head(&req.prompt, &tokens);

        // Reuse the cached prefix; at least one token must be decoded to get fresh logits.
        let mut keep = common_prefix(&self.cache, &tokens).min(tokens.len().saturating_sub(1));
        if keep < self.cache.len() {
            let pos = u32::try_from(keep).unwrap_or(u32::MAX);
            let removed = self.ctx.kv_cache_seq_rm(0, Some(pos), None).is_ok();
            if !removed {
                // Some caches (sliding-window, recurrent) cannot cut a sequence in the middle.
                self.ctx.clear_kv_cache();
                keep = 0;
            }
            self.cache.truncate(keep);
        }

        let mut stats = Stats {
            prompt_tokens: tokens.len(),
            reused: keep,
            ctx_size: n_ctx,
            device: self.info.device.clone(),
            gpu_layers: self.info.gpu_layers,
            total_layers: self.info.n_layer + 1,
            ..Stats::default()
        };

        let t_prefill = Instant::now();
        let prefilled = match save_head {
            // The head first, saved before a token of the question is in the cache.
            Some((n, file)) if n > keep && n < tokens.len() => {
                match self.prefill(&tokens[keep..n], stop)? {
                    Some(_) => {
                        self.save_head(n, &file);
                        self.prefill(&tokens[n..], stop)?
                    }
                    None => None,
                }
            }
            _ => self.prefill(&tokens[keep..], stop)?,
        };
        stats.prefill_ms = ms(t_prefill.elapsed());
        let Some(mut logits_at) = prefilled else {
            stats.prefilled = self.cache.len() - keep;
            return self.finish(stats, StopReason::Stopped, events);
        };
        stats.prefilled = tokens.len() - keep;

        let model = self.model;
        let vocab = model.vocab();
        // A grammar decides which tokens may come: the sampler chain applies it (also for a
        // greedy answer), so the logits' own argmax is not taken then.
        let greedy = req.sampling.is_greedy() && req.sampling.grammar.is_none();
        let (mut sampler, preserved) = sampler_for(model, &req.sampling)?;
        let mut utf8 = Utf8Stream::default();
        let max = req
            .max_tokens
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        let t_gen = Instant::now();
        let reason = loop {
            if stop.load(Ordering::SeqCst) {
                break StopReason::Stopped;
            }
            if max.is_some_and(|m| stats.generated >= m) {
                break StopReason::MaxTokens;
            }
            let tok = if greedy {
                self.greedy_token(logits_at)
            } else {
                sampler.sample(&self.ctx, logits_at)
            };
            if stats.generated == 0 {
                stats.ttft_ms = ms(t0.elapsed());
            }
            if vocab.is_eog(tok) {
                break StopReason::EndOfTurn;
            }
            stats.generated += 1;
            let text = utf8.push(&vocab.token_to_piece(tok, preserved.contains(&tok), None));
            if !text.is_empty() {
                let _ = events.send(ChatEvent::Piece(text));
            }
            if max.is_some_and(|m| stats.generated >= m) {
                // The answer is complete; decoding this last token would only fill the cache.
                break StopReason::MaxTokens;
            }
            if self.cache.len() >= n_ctx {
                let _ = events.send(ChatEvent::Notice(format!(
                    "the {n_ctx}-token context is full; the answer was cut"
                )));
                break StopReason::ContextFull;
            }
            logits_at = self.decode_one(tok)?;
        };
        let rest = utf8.finish();
        if !rest.is_empty() {
            let _ = events.send(ChatEvent::Piece(rest));
        }
        stats.generate_ms = ms(t_gen.elapsed());
        if stats.generated == 0 && stats.ttft_ms == 0.0 {
            stats.ttft_ms = ms(t0.elapsed());
        }
        self.finish(stats, reason, events)
    }

    /// With a prompt cache and a tools prompt: loads its public head's saved state into an
    /// empty KV cache. Returns the head's length and file when that file is still to be
    /// written (none yet, or one that did not load as this head).
    fn restore_head(&mut self, prompt: &Prompt, tokens: &[LlamaToken]) -> Option<(usize, PathBuf)> {
        // Only a fresh KV cache is filled from a file (and only its head saved to one); what a
        // cache already holds is reused as it is.
        if !self.cache.is_empty() {
            return None;
        }
        let cache = self.prompt_cache.as_ref()?;
        let (probe, tools) = super::prompt_cache::head_probe(prompt)?;
        let (text, _) = self.render(&probe, Some(tools)).ok()?;
        let n = common_prefix(&self.tokenize(&text), tokens);
        if n < super::prompt_cache::MIN_HEAD {
            return None;
        }
        let file = cache.file_for(&tokens[..n]);
        if !file.exists() {
            return Some((n, file));
        }
        match self.ctx.state_seq_load_file(&file, 0, n) {
            Ok((loaded, _)) if loaded == tokens[..n] => {
                tracing::debug!(tokens = n, "prompt head loaded from the prompt cache");
                self.cache = loaded;
                None
            }
            other => {
                // Another head, another llama.cpp, a damaged file: decoded again and rewritten.
                tracing::debug!(ok = other.is_ok(), "prompt cache file not used");
                self.ctx.clear_kv_cache();
                self.cache.clear();
                Some((n, file))
            }
        }
    }

    /// Saves the KV state of the first `n` tokens, which is all the cache holds now.
    fn save_head(&self, n: usize, file: &Path) {
        let tokens = &self.cache[..n];
        let saved = super::prompt_cache::save_atomically(file, |tmp| {
            self.ctx
                .state_seq_save_file(tmp, 0, tokens)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        match saved {
            Ok(()) => {
                if let Some(dir) = file.parent() {
                    super::prompt_cache::prune(dir, super::prompt_cache::KEEP_FILES);
                }
            }
            Err(e) => tracing::debug!(error = %e, "prompt head not saved"),
        }
    }

    /// Decodes `new` after what the cache holds, in physical-batch chunks so a stop request
    /// waits for one chunk at most. Returns the batch index of the last token's logits, or
    /// `None` when stopped (the cache then holds what was decoded).
    fn prefill(&mut self, new: &[LlamaToken], stop: &AtomicBool) -> Result<Option<i32>, ChatError> {
        let chunk = usize::try_from(self.ctx.n_ubatch())
            .unwrap_or(512)
            .clamp(1, self.batch_capacity());
        let mut logits_at = None;
        for (i, part) in new.chunks(chunk).enumerate() {
            if stop.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let last_chunk = (i + 1) * chunk >= new.len();
            self.batch.clear();
            for (j, &tok) in part.iter().enumerate() {
                let pos = i32::try_from(self.cache.len() + j).unwrap_or(i32::MAX);
                // Logits only for the very last prompt token: that is all sampling needs.
                let want_logits = last_chunk && j + 1 == part.len();
                self.batch
                    .add(tok, pos, &[0], want_logits)
                    .map_err(|e| ChatError::Internal(e.to_string()))?;
            }
            self.decode()?;
            self.cache.extend_from_slice(part);
            logits_at = Some(self.batch.n_tokens() - 1);
        }
        Ok(logits_at)
    }

    /// Decodes one generated token; returns where its logits are.
    fn decode_one(&mut self, tok: LlamaToken) -> Result<i32, ChatError> {
        self.batch.clear();
        let pos = i32::try_from(self.cache.len()).unwrap_or(i32::MAX);
        self.batch
            .add(tok, pos, &[0], true)
            .map_err(|e| ChatError::Internal(e.to_string()))?;
        self.decode()?;
        self.cache.push(tok);
        Ok(0)
    }

    fn render(
        &self,
        messages: &[Message],
        tools: Option<&serde_json::Value>,
    ) -> Result<(String, usize), ChatError> {
        let template = self
            .template
            .as_ref()
            .map_err(|e| ChatError::Template(e.clone()))?;
        let text = template.render_with_tools(self.model, messages, tools)?;
        let tokens = self.tokenize(&text).len();
        Ok((text, tokens))
    }

    /// llama-bench's method (tools/llama-bench): pp = one prompt of random tokens decoded from an
    /// empty cache; tg = tokens generated one at a time from an empty cache. Both go through
    /// the same prefill and decode code as a chat turn; tg also samples (greedy) each token, as
    /// a real answer does, where llama-bench feeds random tokens.
    fn bench(&mut self, b: BenchRequest, stop: &AtomicBool) -> Result<BenchResult, ChatError> {
        let n_vocab = self.model.n_vocab().max(1);
        let n_ctx = usize::try_from(self.ctx.n_ctx()).unwrap_or(usize::MAX);
        let (pp, tg) = (b.prompt_tokens as usize, b.gen_tokens as usize);
        if pp + 1 > n_ctx || tg + 1 > n_ctx {
            return Err(ChatError::PromptTooLong {
                tokens: pp.max(tg) + 1,
                ctx: self.ctx.n_ctx(),
            });
        }
        // A fixed pseudo-random sequence (llama-bench uses std::rand): any tokens do for timing.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            LlamaToken::new(i32::try_from(x % u64::from(n_vocab.unsigned_abs())).unwrap_or(0))
        };
        let model = self.model;
        let vocab = model.vocab();
        let bos = if vocab.should_add_bos() {
            Some(vocab.bos())
        } else {
            None
        };
        let mut result = BenchResult::default();
        for run in 0..=b.repetitions {
            if pp > 0 {
                self.ctx.clear_kv_cache();
                self.cache.clear();
                let mut tokens: Vec<LlamaToken> = (0..pp).map(|_| next()).collect();
                if let (Some(bos), Some(first)) = (bos, tokens.first_mut()) {
                    *first = bos;
                }
                let t = Instant::now();
                if self.prefill(&tokens, stop)?.is_none() {
                    break;
                }
                self.ctx.synchronize();
                if run > 0 {
                    result.prompt_tps.push(per_second(pp, ms(t.elapsed())));
                }
            }
            if tg > 0 {
                self.ctx.clear_kv_cache();
                self.cache.clear();
                let first = bos.unwrap_or_else(&mut next);
                let t = Instant::now();
                let mut at = self.decode_one(first)?;
                for _ in 1..tg {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let tok = self.greedy_token(at);
                    at = self.decode_one(tok)?;
                }
                self.ctx.synchronize();
                if run > 0 {
                    result.gen_tps.push(per_second(tg, ms(t.elapsed())));
                }
            }
        }
        self.ctx.clear_kv_cache();
        self.cache.clear();
        Ok(result)
    }

    fn greedy_token(&self, logits_at: i32) -> LlamaToken {
        let best = super::sampling::argmax(self.ctx.get_logits_ith(logits_at));
        LlamaToken::new(i32::try_from(best).unwrap_or(0))
    }

    fn batch_capacity(&self) -> usize {
        usize::try_from(self.ctx.n_batch()).unwrap_or(512).max(1)
    }

    fn decode(&mut self) -> Result<(), ChatError> {
        if let Err(e) = self.ctx.decode(&mut self.batch) {
            // The cache may hold part of the batch; start clean next turn rather than guess.
            self.ctx.clear_kv_cache();
            self.cache.clear();
            return Err(ChatError::Decode(e.to_string()));
        }
        Ok(())
    }

    fn finish(
        &self,
        mut stats: Stats,
        reason: StopReason,
        events: &Sender<ChatEvent>,
    ) -> Result<(), ChatError> {
        stats.ctx_used = self.cache.len();
        tracing::info!(?stats, ?reason, "generation finished");
        let _ = events.send(ChatEvent::Stats(Box::new(stats)));
        let _ = events.send(ChatEvent::Done(reason));
        Ok(())
    }
}

/// The sampler for `sampling` on `model` (a grammar, lazy when it has trigger patterns, chained
/// before the rest), and the preserved words that are one token each: those are shown as text,
/// and a trigger word among them also triggers by its token (as llama-server does with a
/// format's tags).
fn sampler_for(
    model: &LlamaModel,
    sampling: &SamplingParams,
) -> Result<(LlamaSampler, Vec<LlamaToken>), ChatError> {
    let vocab = model.vocab();
    let single = |word: &String| match vocab.tokenize(word.as_bytes(), false, true).as_slice() {
        [t] => Some(*t),
        _ => None,
    };
    let preserved: Vec<LlamaToken> = sampling.preserved.iter().filter_map(single).collect();
    let Some(g) = &sampling.grammar else {
        return Ok((sampling.build(), preserved));
    };
    let patterns = &sampling.grammar_patterns;
    let grammar = if patterns.is_empty() {
        LlamaSampler::grammar(model, g, "root")
    } else {
        let trigger_tokens: Vec<LlamaToken> =
            sampling.trigger_words.iter().filter_map(single).collect();
        LlamaSampler::grammar_lazy_patterns(model, g, "root", patterns, &trigger_tokens)
    }
    .map_err(|e| ChatError::Internal(format!("the grammar is refused: {e}")))?;
    let rest = if sampling.is_greedy() {
        LlamaSampler::greedy()
    } else {
        sampling.build()
    };
    Ok((LlamaSampler::chain_simple([grammar, rest]), preserved))
}

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
