//! The process-wide llama.cpp backend and what it can offload to.
//!
//! llama.cpp's backend is a global: llama-cpp-2 refuses a second `LlamaBackend::init` in the
//! same process. Engines (one per conversation window, or several in a test binary) share the
//! one made here, which also routes llama.cpp's log output into `tracing` — that is, the log
//! file — before anything can print to the terminal.
use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::{LlamaBackendDeviceType, LogOptions};

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

/// The first GPU-type device llama.cpp found, if any. Call after [`get`].
pub fn first_gpu() -> Option<GpuDevice> {
    llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .find(|d| {
            matches!(
                d.device_type,
                LlamaBackendDeviceType::Gpu | LlamaBackendDeviceType::IntegratedGpu
            )
        })
        .map(|d| GpuDevice {
            name: d.name,
            description: d.description,
        })
}
