//! The integration tests that need a model: chat, the model registry, llama.cpp's reference
//! tools, the terminal end to end and the offline checks that load one. One binary, so the
//! library and llama.cpp are linked once.
//!
//! `cargo test --features test-weak-kdf --test model MODULE::` runs one former file's tests.
// Test code: unwrap, expect and panic are how a test fails, and a test may print and tell one
// story at length (Cargo.toml's [workspace.lints] deny these in the program).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::too_many_lines
)]
// tests/common is shared by the three binaries; each takes it in as its own module.
#[path = "../common/mod.rs"]
mod common;

mod app_bot;
mod bot_ask;
mod bot_bench;
mod bot_parity;
mod chat_cli;
mod chat_reference;
mod model_cli;
mod offline_netns;
mod rpc_model;
mod server_model;
mod tui_terminal;
mod vault_model;
