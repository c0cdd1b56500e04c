//! The data market: the sale vault (what may be offered, and exactly which bytes), and in later
//! issues the contract bindings, listings, purchases and deliveries. MARKET.md (in the design
//! folder) fixes the formats.
pub mod book;
pub mod consent;
pub mod earnings;
pub mod events;
pub mod index;
pub mod item_text;
pub mod meta;
pub mod model_reader;
pub mod receipt;
pub mod vault;

pub use keybot_redact::{Kind, Span};
