//! The process-wide llama.cpp backend and what it can offload to.
//!
//! llama.cpp's backend is a global: llama-cpp-2 refuses a second `LlamaBackend::init` in the
//! same process. Engines (one per conversation window, or several in a test binary) share the
//! one made here, which also routes llama.cpp's log output into `tracing` — that is, the log
//! file — before anything can print to the terminal.
use std::sync::OnceLock;

use llama_cpp_2::LogOptions;
use llama_cpp_2::llama_backend::LlamaBackend;

static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

/// The shared backend, initialised on first use.
pub fn get() -> Result<&'static LlamaBackend, String> {
    BACKEND
        .get_or_init(|| {
            // Logs first: backend init itself reports the devices it finds.
            llama_cpp_2::send_logs_to_tracing(LogOptions::default());
            LlamaBackend::init().map_err(|e| format!("cannot start llama.cpp: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether this binary was compiled with a GPU backend at all.
pub const GPU_COMPILED_IN: bool =
    cfg!(any(feature = "cuda", feature = "vulkan", feature = "metal"));

/// A device llama.cpp can offload layers to.
#[derive(Debug, Clone)]
pub struct GpuDevice {
    pub name: String,
    pub description: String,
}

/// The first GPU-type device llama.cpp found on this machine, if any. Call after [`get`].
/// (Read by name: a device's full properties would ask every rpc-server for its memory.)
pub fn first_gpu() -> Option<GpuDevice> {
    super::rpc::first_local_gpu().map(|(name, description)| GpuDevice { name, description })
}
