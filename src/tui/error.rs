//! The typed errors the runtime's results carry back to `update`. Each keeps its cause; its
//! `Display` is the one line the screen shows (the chain's errors already word themselves that
//! way, see [`ChainError`]).
use std::sync::Arc;

use crate::chain::ChainError;
use crate::service::chat::EngineError;
use crate::service::market::NoMarket;
use crate::store::Error as StoreError;

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

/// A failure the runtime reports on the app's error line (`Action::Error`). Each variant names
/// the area that failed and keeps its cause (behind an `Arc` where the cause is not `Clone`, as
/// actions are); its `Display` is the line shown, so where that line already names the cause, no
/// variant also gives it as `source` (a chain would print it twice).
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Creating the wallet from the onboarding failed (the onboarding starts over).
    #[error("{0:#}")]
    CreateWallet(Arc<anyhow::Error>),
    /// A new recovery phrase could not be generated.
    #[error(transparent)]
    Phrase(Arc<keybot_keystore::Error>),
    /// The wallet opened, but some of what unlocking read was worked around: a theme or settings
    /// replaced, a default model moved (`notes`, lines the services word), a chain configuration
    /// that could not be read, so no chain thread starts (`network`). Shown once, as one line.
    #[error("{}", opened_line(.notes, .network.as_deref()))]
    Opened {
        notes: Vec<String>,
        network: Option<Arc<anyhow::Error>>,
    },
    /// The theme could not be used as it is; the theme loader's line says what is used instead.
    #[error("{0}")]
    Theme(String),
    /// A store read or write failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The store's thread has stopped, so no store job runs until the next unlock.
    #[error("the store thread has stopped; lock and unlock to reopen the store")]
    StoreStopped,
    /// Deriving the accounts the wallet screen asked for.
    #[error("{0:#}")]
    Accounts(Arc<anyhow::Error>),
    /// A job on the sale vault (the Market screen's items, consents, removals).
    #[error("{0:#}")]
    Vault(Arc<anyhow::Error>),
    /// The settings refused a value; the settings service words why in one line.
    #[error("{0}")]
    Setting(String),
    /// The model registry would not make the model the default; its line says why.
    #[error("{0}")]
    DefaultModel(String),
    /// The chat engine took no request (to load a model or to answer).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The configured network's client could not be made.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The chain thread could not be started.
    #[error("cannot start the chain thread: {0}")]
    ChainThread(Arc<std::io::Error>),
    /// The chain thread started without its async runtime, so it runs no job.
    #[error("chain: {0:#}")]
    ChainRuntime(Arc<anyhow::Error>),
    /// The chain thread could not open its own connection to the store.
    #[error("chain: cannot open the store: {0}")]
    ChainStore(Arc<StoreError>),
    /// A due delivery (`market.delivery = auto`) failed; the other purchases go on.
    #[error("skipped purchase {purchase}: {cause}")]
    Delivery { purchase: u64, cause: ChainError },
    /// The buyer keys of this wallet could not be found, so no challenge is sent.
    #[error("finding this wallet's buyer keys: {0:#}")]
    BuyerKeys(Arc<anyhow::Error>),
    /// A due challenge (`market.challenge = auto`) failed.
    #[error("challenging purchase {purchase}: {cause}")]
    Challenge { purchase: u64, cause: ChainError },
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        AppError::Store(Arc::new(e))
    }
}

/// `AppError::Opened`'s line: the notes, then the network's whole chain, joined by "; ".
fn opened_line(notes: &[String], network: Option<&anyhow::Error>) -> String {
    let network = network.map(|e| format!("{e:#}"));
    notes
        .iter()
        .map(String::as_str)
        .chain(network.as_deref())
        .collect::<Vec<_>>()
        .join("; ")
}

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

    /// The lines the runtime used to build with `format!` read the same from the typed errors.
    #[test]
    fn app_errors_read_as_the_lines_they_replace() {
        let cause = || anyhow::anyhow!("no such file").context("reading the vault item");
        let opened = AppError::Opened {
            notes: vec![
                "theme x: no theme named \"x\"; using dark".into(),
                "a note".into(),
            ],
            network: Some(Arc::new(cause())),
        };
        assert_eq!(
            opened.to_string(),
            format!(
                "theme x: no theme named \"x\"; using dark; a note; {:#}",
                cause()
            )
        );
        let only_network = AppError::Opened {
            notes: vec![],
            network: Some(Arc::new(cause())),
        };
        assert_eq!(only_network.to_string(), format!("{:#}", cause()));
        assert_eq!(
            AppError::Vault(Arc::new(cause())).to_string(),
            format!("{:#}", cause())
        );
        assert_eq!(
            AppError::ChainRuntime(Arc::new(cause())).to_string(),
            format!("chain: {:#}", cause())
        );
        assert_eq!(
            AppError::Delivery {
                purchase: 7,
                cause: ChainError::NoNetwork
            }
            .to_string(),
            format!("skipped purchase 7: {}", ChainError::NoNetwork)
        );
        assert_eq!(
            AppError::from(StoreError::NoConversation(3)).to_string(),
            "no conversation 3"
        );
    }
}
