//! The terminal app (ARCHITECTURE §3): one queue, a pure `update`, `ui` that only draws.
pub mod action;
pub mod app;
mod chain_market;
#[cfg(test)]
mod chain_update_tests;
mod chain_worker;
#[cfg(test)]
mod chat_bot_tests;
pub mod clipboard;
pub mod effect;
pub mod error;
pub mod keymap;
pub mod markdown;
#[cfg(test)]
mod market_chain_tests;
#[cfg(test)]
mod market_update_tests;
pub mod qr;
pub mod screens;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod update;
#[cfg(test)]
mod update_tests;

pub use app::run;
