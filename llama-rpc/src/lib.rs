//! ggml's backend registry, for llama.cpp's RPC backend: adding an `rpc-server` as a device and
//! listing devices by name — the two things keybot needs that llama-cpp-2 does not offer (it has
//! no RPC API, and its device list reads every device's properties, which for an RPC device is a
//! round trip to its server and, with the server gone, ggml-rpc's abort).
//!
//! And, since ggml aborts the process where it cannot go on (ggml-rpc when a server it holds
//! layers on is gone), [`restore_terminal_on_abort`]: the app's terminal put back on SIGABRT,
//! which no Rust hook sees.
//!
//! This crate is the one place keybot's own code calls C; the calls are in [`ffi`]'s few unsafe
//! blocks, each with the reason it is sound. Reaching a server before it is added (ggml-rpc
//! aborts on one it cannot reach) is the caller's part: keybot's `chat::rpc`.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod ffi;

pub use ffi::{add_server, devices, restore_terminal_on_abort};

/// The backend's name in ggml's registry.
pub const RPC: &str = "RPC";

/// Why an rpc-server could not be added.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddError {
    #[error("this keybot is built without llama.cpp's RPC backend")]
    NoBackend,
    #[error("llama.cpp's RPC backend has no ggml_backend_rpc_add_server")]
    NoFunction,
    #[error("the address holds a NUL byte")]
    BadEndpoint,
    #[error("it offers no device")]
    NoDevice,
}

/// What a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cpu,
    Gpu,
    IntegratedGpu,
    Accelerator,
    Other,
}

/// A device in ggml's registry, read without a round trip to any rpc-server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its index, as `LlamaModelParams::with_devices` takes it.
    pub index: usize,
    /// An rpc-server's (its description is then the server's address as it was added).
    pub rpc: bool,
    pub kind: Kind,
    pub name: String,
    pub description: String,
}
