#![no_main]
//! Any bytes as a GGUF file: the header parser returns a header or an error, never panics, and
//! never allocates beyond the input's size (every length is checked against it).
//!
//! The parser is compiled in from the app's source rather than through the `keybot` crate,
//! which would bring llama.cpp's C++ build into the fuzz build; it needs only `thiserror`.
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/chat/gguf.rs"]
mod gguf;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = gguf::parse_bytes(data, "fuzz.gguf") {
        // What the registry and `keybot model info` read from a header.
        let _ = (h.architecture(), h.name(), h.chat_template());
        let _ = (h.context_length(), h.quantization());
        assert!(h.data_end <= h.file_size);
    }
});
