//! The typed errors the runtime's results carry back to `update`. Each keeps its cause; its
//! `Display` is the one line the screen shows (the chain's errors already word themselves that
//! way, see [`ChainError`]).
use std::sync::Arc;

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

/// Why the vault did not open (`UnlockAction::UnlockFailed`). The typed password is never kept
/// here: the screen only needs to say that it was wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UnlockError {
    /// The vault refused the password. Worded by the keystore, as the command line words it.
    #[error("{}", keybot_keystore::Error::WrongPassword)]
    WrongPassword,
    /// The vault, the store or what unlocking reads from them failed: the whole chain, one line.
    #[error("{0:#}")]
    Open(Arc<anyhow::Error>),
    /// The store opened but its thread could not start.
    #[error("cannot start the store thread: {0}")]
    StoreThread(Arc<std::io::Error>),
}

impl UnlockError {
    /// Tells a wrong password from any other failure to open. Only a bare keystore error is one
    /// (with context its line would be longer, so it stays `Open` and reads the same).
    pub fn of(e: anyhow::Error) -> UnlockError {
        let bare = e.chain().count() == 1;
        match e.downcast_ref::<keybot_keystore::Error>() {
            Some(keybot_keystore::Error::WrongPassword) if bare => UnlockError::WrongPassword,
            _ => UnlockError::Open(Arc::new(e)),
        }
    }
}

/// Why a model could not be installed (`ChatAction::ModelFailed`): the install service's whole
/// chain, kept, printed as one line.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// `p`: downloading the suggested model failed.
    #[error("download failed: {0:#}")]
    Pull(Arc<anyhow::Error>),
    /// `a`: the file given could not be registered.
    #[error("{0:#}")]
    Add(Arc<anyhow::Error>),
}

/// A screen asked for a transaction's review while the send flow still waits for another one
/// (`screens::wallet::await_review`): its answer must find that flow, so the new one waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a transaction is on its way; wait for it to finish")]
pub struct SendBusy;

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare wrong password is told apart; with context (or any other failure) the whole chain
    /// is kept, and either way the line is the one `{:#}` printed before.
    #[test]
    fn a_wrong_password_is_told_from_other_failures_with_the_same_line() {
        let bare = anyhow::Error::from(keybot_keystore::Error::WrongPassword);
        let line = format!("{bare:#}");
        let e = UnlockError::of(bare);
        assert!(matches!(e, UnlockError::WrongPassword));
        assert_eq!(e.to_string(), line);

        let wrapped =
            anyhow::Error::from(keybot_keystore::Error::WrongPassword).context("opening the vault");
        let line = format!("{wrapped:#}");
        let e = UnlockError::of(wrapped);
        assert!(matches!(e, UnlockError::Open(_)));
        assert_eq!(e.to_string(), line);
        assert_eq!(line, "opening the vault: wrong password");
    }
}
