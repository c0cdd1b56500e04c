//! What the command line and the terminal app both do, written once: opening and creating the
//! wallet (with its BIP-39 passphrase), keying the store, a chat turn with its persistence, typed
//! settings and what they turn into (load and sampling requests), account labels, the
//! transaction pipeline (prepare → sign → record → broadcast, reconcile first), and the sale vault.
//!
//! Services return typed results and know nothing about a terminal: `cli` calls them directly,
//! the app's runtime hands them its effects and turns their results into actions. Where a
//! service needs a thread of its own (the store), it owns it.
pub mod accounts;
pub mod bot;
pub mod chat;
pub mod market;
pub mod settings;
pub mod store_worker;
pub mod tx;
pub mod vault;
pub mod wallet;
