//! The transaction service: sending an [`Intent`] (a transfer or a contract call) the same way
//! from the command line and from the app.
//!
//! 1. [`prepare`]: earlier sends the chain has not decided yet are reconciled first (their
//!    nonces are taken), then the intent is checked (chain id, balances, a dry run, fee bounds)
//!    into a [`Review`]. Nothing is signed.
//! 2. The face (the CLI's prompt, the app's review screen) shows [`Review::lines`] and asks.
//! 3. [`sign`]: the keystore signs exactly the review, for the account it names.
//! 4. [`broadcast`]: the signed bytes are recorded in the store, then handed to the RPC once,
//!    and followed to a receipt. A lost RPC leaves the row open for reconcile; the bytes are
//!    looked up or re-sent, never signed again.
//!
//! Errors are [`ChainError`] values; both faces word them with its `Display`.
use std::time::Duration;

use alloy::primitives::Address;
use keybot_keystore::{AccountRef, Wallet};

use crate::chain::send::{self, Outcome, Progress, Review};
use crate::chain::{ChainError, ChainResult, Client, Intent, Refusal};
use crate::store::{SentTx, Store};

/// Reconcile, then prepare the review of `intent`. Without a store (it could not be opened)
/// nothing is reconciled and no address counts as known, so every look-alike check still runs
/// and every recipient is new.
pub async fn prepare(
    client: &Client,
    store: Option<&Store>,
    intent: impl Into<Intent>,
    own: &[Address],
) -> ChainResult<Review> {
    let known = match store {
        Some(store) => {
            // A failure here is not the user's send failing: the prepare below says what is
            // wrong with the RPC if anything is.
            if let Err(e) = send::reconcile(client, store).await {
                tracing::warn!("reconcile before send: {e}");
            }
            store.counterparties()?
        }
        None => Default::default(),
    };
    send::prepare(client, intent, &known, own).await
}

/// Signs the confirmed review with `account`, which must be the review's sender, and returns
/// the row to record before broadcasting.
pub fn sign(wallet: &Wallet, account: AccountRef, review: &Review) -> ChainResult<SentTx> {
    if wallet.address(account)? != review.intent.from() {
        return Err(Refusal::AccountMismatch.into());
    }
    let signed = wallet.sign_transaction(account, review.unsigned())?;
    Ok(send::sent_record(review, &signed))
}

/// Records `record`, broadcasts it once and follows it for up to `wait`. Without a store the
/// transaction cannot be recorded first, so it is not sent.
pub async fn broadcast(
    client: &Client,
    store: Option<&Store>,
    record: &SentTx,
    wait: Duration,
    progress: &mut dyn FnMut(Progress),
) -> ChainResult<Outcome> {
    Ok(broadcast_with_logs(client, store, record, wait, progress)
        .await?
        .0)
}

/// [`broadcast`], with the confirmed receipt's logs ([`send::broadcast_with_logs`]).
pub async fn broadcast_with_logs(
    client: &Client,
    store: Option<&Store>,
    record: &SentTx,
    wait: Duration,
    progress: &mut dyn FnMut(Progress),
) -> ChainResult<(Outcome, Vec<alloy::rpc::types::Log>)> {
    let Some(store) = store else {
        return Err(ChainError::Store(
            "the store is not open; the signed transaction was not sent".into(),
        ));
    };
    send::broadcast_with_logs(client, store, record, wait, progress).await
}
