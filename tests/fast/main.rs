//! The fast integration tests: the command line, the terminal app and files, with no chain and no
//! model. One binary (each module a former tests/*.rs file), so the library and llama.cpp are
//! linked once for all of them.
//!
//! `cargo test --features test-weak-kdf --test fast MODULE::` runs one former file's tests.
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

mod bad_input;
mod cli_docs;
mod compat_fixtures;
mod compat_fixtures_market;
mod crash_safety;
mod ecies_interop;
mod fuzz_seeds;
mod init_terminal;
mod lints;
mod market_vault;
mod no_secrets;
mod secrets_at_rest;
mod server_model;
mod store_backup;
mod tui_earnings;
mod tui_reviews;
mod tui_snapshots;
mod wallet_cli;
