//! The typed errors the runtime's results carry back to `update`. Each keeps its cause; its
//! `Display` is the one line the screen shows (the chain's errors already word themselves that
//! way, see [`ChainError`]).
use crate::chain::ChainError;
use crate::service::market::NoMarket;

/// Why the market could not be read: its index for the Market screen (`MarketAction::Synced`)
/// or the earnings computed from it (`EarningsAction::Loaded`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketReadError {
    /// The network has no market contract to read.
    #[error(transparent)]
    NoMarket(#[from] NoMarket),
    /// The chain, the store or the chain thread failed (offline, stopped, the store not open…).
    #[error(transparent)]
    Chain(#[from] ChainError),
}
