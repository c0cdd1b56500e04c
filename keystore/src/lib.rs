//! Every secret keybot holds, and nothing else.
//!
//! The mnemonic, the BIP-32 tree under it, the BIP-85 child secrets (database, market and backup
//! keys), the encrypted vault file, Web3 Secret Storage (v3) files, the signing keys and the
//! market's ECIES (whose key never leaves this crate) all live here. The crate has no network, no async runtime and no UI: the binary holds an unlocked
//! [`Wallet`] as a handle and asks it for signatures, addresses and derived keys.
//!
//! Secrets are kept in zeroizing buffers, wiped on drop, and print as `<redacted>` in `Debug`.
#![forbid(unsafe_code)]

pub mod api_key;
pub mod atomic;
pub mod bip85;
pub mod content;
pub mod delivery;
pub mod derive;
mod error;
pub mod market;
pub mod mnemonic;
pub mod sealed;
pub mod secret;
pub mod sign;
pub mod tx;
pub mod vault;
pub mod wallet;
pub mod web3;

pub use alloy::primitives::Address;
pub use error::{Error, Result};
pub use market::{EciesError, encrypt_to};
pub use mnemonic::{Phrase, WordCheck};
pub use wallet::{AccountRef, Wallet};

/// The highest account index a user may ask for: BIP-32 indices at or above 2^31 are hardened,
/// and coins-bip32 would silently wrap them into a different key.
pub const MAX_INDEX: u32 = (1 << 31) - 1;
