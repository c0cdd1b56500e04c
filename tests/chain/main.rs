//! The integration tests that need a chain: anvil, the contracts, the market and its earnings,
//! and foundry's cast as a peer. One binary, so the library and llama.cpp are linked once.
//!
//! `cargo test --features test-weak-kdf --test chain MODULE::` runs one former file's tests.
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

mod app_sale;
mod bot_tools;
mod cast_interop;
mod chain_anvil;
mod contracts_artifact;
mod indexer_anvil;
mod intents_anvil;
mod market_anvil;
mod market_cli;
mod market_contract;
mod market_earnings;
mod market_world;
mod mcp_client;
mod no_secrets_market;
