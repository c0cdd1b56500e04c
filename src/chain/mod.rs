//! On chain: configured networks, the JSON-RPC client, balances, sending, offline signing,
//! activity and the local dev chain. Domain code shared by the CLI and the app; secrets stay in
//! the keystore, which signs what [`send::Review`] describes.
pub mod activity;
pub mod amount;
pub mod balance;
pub mod client;
pub mod dev;
pub mod indexer;
pub mod intent;
pub mod market_contract;
pub mod network;
pub mod safety;
pub mod send;
pub mod sign_review;
pub mod token;
pub mod txfile;

pub use client::{ChainError, ChainResult, Client, NonceProblem, Refusal};
pub use intent::{Call, Intent};
pub use network::{ChainConfig, Network, Token};

/// A single-threaded runtime for one CLI command: chain calls are async (alloy), the CLI is not.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
