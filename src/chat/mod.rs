//! The local model: one engine thread that owns llama.cpp, and what it needs around it
//! (GGUF headers, chat templates, sampling, the model registry and downloads).
//!
//! Clients — the `keybot chat` command and the terminal app's chat service — talk to the engine
//! only through [`ChatCommand`]s and [`ChatEvent`]s (see [`engine`]); nothing here knows about a
//! terminal.
pub mod backend;
pub mod engine;
pub mod gguf;
mod gpu_layers;
pub mod history;
pub mod install;
pub mod prompt_cache;
pub mod pull;
pub mod registry;
pub mod remote;
pub mod rpc;
pub mod sampling;
pub mod template;
pub mod utf8;

pub use engine::{
    BenchRequest, ChatEvent, Engine, GenerateRequest, GpuLayers, LoadRequest, Prompt, Stats,
    StopReason,
};
pub use sampling::SamplingParams;
pub use template::{Message, TemplateOverride};
