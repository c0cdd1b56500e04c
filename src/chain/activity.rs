//! Activity: what this wallet sent (recorded when sent) and what moved to or from its accounts
//! on chain (ERC-20 Transfer logs; on a dev chain also a scan of every block for ETH).
//!
//! The chain side is one consumer of the log indexer ([`super::indexer`]): it resumes where the
//! last pass stopped, reads the last blocks again, and replaces its rows range by range, so a
//! reorg replaces rather than duplicates. It watches every account the user derived (the store
//! setting [`ACCOUNTS_SETTING`], at least [`OWN_HD_ACCOUNTS`]) and every imported key.
use alloy::consensus::Transaction as _;
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{BlockNumberOrTag, Filter, Log};
use alloy::sol_types::SolEvent;

use super::client::{ChainError, ChainResult, Client};
use super::indexer::{self, Index, IndexerConfig, Span};
use super::network::Network;
use super::send;
use super::token::IERC20;
use crate::store::{self, AssetRef, SentTx, Store, Transfer, TxStatus};

/// How many HD accounts (from 0) activity watches and the send checks treat as the user's own,
/// at least: more when the user derived more.
pub const OWN_HD_ACCOUNTS: u32 = 5;

/// The store setting holding how many HD accounts the user derived (written by the app).
pub const ACCOUNTS_SETTING: &str = "wallet.accounts";

/// The most accounts read from [`ACCOUNTS_SETTING`] (the app's own bound).
const MAX_ACCOUNTS: u32 = 1000;

/// The user's own addresses: the HD accounts the user derived (the store's
/// [`ACCOUNTS_SETTING`], at least [`OWN_HD_ACCOUNTS`]) and every imported one. Without a store,
/// or with a setting that does not parse, the first [`OWN_HD_ACCOUNTS`].
pub fn own_addresses(
    wallet: &keybot_keystore::Wallet,
    store: Option<&Store>,
) -> keybot_keystore::Result<Vec<Address>> {
    let derived = store
        .and_then(|s| s.setting_as::<u32>(ACCOUNTS_SETTING).ok().flatten())
        .unwrap_or(0)
        .clamp(OWN_HD_ACCOUNTS, MAX_ACCOUNTS);
    let mut own = wallet.addresses(0, derived)?;
    own.extend(wallet.imported().iter().map(|k| k.address));
    Ok(own)
}

/// Blocks read again on every pass.
pub const REORG_DEPTH: u64 = 12;

/// Brings the store up to date with the chain for `own` addresses: open transactions first,
/// then new transfers. Returns the head block it read up to.
pub async fn sync(client: &Client, store: &Store, own: &[Address]) -> ChainResult<u64> {
    let config = IndexerConfig {
        reorg_depth: REORG_DEPTH,
        ..IndexerConfig::default()
    };
    sync_with(client, store, own, &config).await
}

/// [`sync`] with the indexer's range sizes and depths given.
pub async fn sync_with(
    client: &Client,
    store: &Store,
    own: &[Address],
    config: &IndexerConfig,
) -> ChainResult<u64> {
    client.check_chain().await?;
    send::reconcile(client, store).await?;
    let pass = indexer::run(client, store, &Transfers::new(&client.network, own), config).await?;
    Ok(pass.head)
}

/// Activity as an indexer: Transfer logs of the configured tokens to or from `own`, and on a dev
/// chain plain ETH transfers found by reading every block.
pub struct Transfers<'a> {
    network: &'a Network,
    own: &'a [Address],
}

impl<'a> Transfers<'a> {
    pub fn new(network: &'a Network, own: &'a [Address]) -> Self {
        Transfers { network, own }
    }
}

/// The indexer name of activity, part of its cursor key.
pub const INDEXER: &str = "activity";

impl Index for Transfers<'_> {
    type Rows = Vec<Transfer>;

    fn name(&self) -> &str {
        INDEXER
    }

    /// The accounts and the token contracts: a token added later is read from the start too.
    fn addresses(&self) -> Vec<Address> {
        let mut a = self.own.to_vec();
        a.extend(self.network.tokens.iter().map(|t| t.address));
        a
    }

    fn filters(&self) -> Vec<Filter> {
        if self.network.tokens.is_empty() || self.own.is_empty() {
            return vec![];
        }
        let topics: Vec<B256> = self.own.iter().map(|a| a.into_word()).collect();
        let tokens: Vec<Address> = self.network.tokens.iter().map(|t| t.address).collect();
        let base = Filter::new()
            .address(tokens)
            .event_signature(IERC20::Transfer::SIGNATURE_HASH);
        // Two queries: to one of ours (topic 2), from one of ours (topic 1).
        vec![base.clone().topic2(topics.clone()), base.topic1(topics)]
    }

    async fn read(
        &self,
        client: &Client,
        span: Span,
        logs: Vec<Log>,
    ) -> Result<Vec<Transfer>, ChainError> {
        let mut out: Vec<Transfer> = logs.iter().filter_map(|l| self.transfer(l)).collect();
        if self.network.dev {
            out.extend(eth_transfers(client, self.own, span.from, span.to).await?);
        }
        Ok(out)
    }

    fn write(&self, store: &Store, span: Span, rows: Vec<Transfer>) -> store::Result<()> {
        store.forget_transfers_in(self.network.chain_id, span.from, span.replace_to())?;
        for t in &rows {
            store.upsert_transfer(t)?;
        }
        Ok(())
    }
}

impl Transfers<'_> {
    /// A Transfer log of a configured token, decoded; `None` for anything else.
    fn transfer(&self, log: &Log) -> Option<Transfer> {
        let token = self
            .network
            .tokens
            .iter()
            .find(|t| t.address == log.inner.address)?;
        let (tx_hash, block, index) = (log.transaction_hash?, log.block_number?, log.log_index?);
        let ev = IERC20::Transfer::decode_log(&log.inner).ok()?;
        Some(Transfer {
            chain_id: self.network.chain_id,
            tx_hash,
            log_index: index as i64,
            block,
            from: ev.from,
            to: ev.to,
            asset: AssetRef {
                token: Some(token.address),
                symbol: token.symbol.clone(),
                decimals: token.decimals,
            },
            amount: ev.value,
        })
    }
}

/// Plain ETH transfers to or from `own`, by reading every block (dev chains only).
async fn eth_transfers(
    client: &Client,
    own: &[Address],
    from: u64,
    to: u64,
) -> Result<Vec<Transfer>, ChainError> {
    let mut out = Vec::new();
    for n in from..=to {
        let Some(block) = client
            .provider()
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .full()
            .await
            .map_err(|e| client.error(e))?
        else {
            continue;
        };
        for tx in block.transactions.txns() {
            let (sender, value) = (tx.from(), tx.value());
            let Some(recipient) = tx.to() else { continue };
            if value == U256::ZERO || !(own.contains(&recipient) || own.contains(&sender)) {
                continue;
            }
            out.push(Transfer {
                chain_id: client.network.chain_id,
                tx_hash: tx.tx_hash(),
                log_index: -1,
                block: n,
                from: sender,
                to: recipient,
                asset: AssetRef::eth(),
                amount: value,
            });
        }
    }
    Ok(out)
}

/// One line of the activity list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub hash: B256,
    /// True when value left one of the user's accounts.
    pub outgoing: bool,
    pub account: Address,
    pub counterparty: Address,
    pub asset: AssetRef,
    pub amount: U256,
    pub status: TxStatus,
    pub block: Option<u64>,
}

/// Merges sent transactions and transfers found on chain into one list, newest first. A
/// transfer that is one of the wallet's own sent transactions is shown once, as the send.
pub fn entries(sent: &[SentTx], transfers: &[Transfer], own: &[Address]) -> Vec<Entry> {
    let mut out: Vec<Entry> = sent
        .iter()
        .map(|s| Entry {
            hash: s.hash,
            outgoing: true,
            account: s.from,
            counterparty: s.to,
            asset: s.asset.clone(),
            amount: s.amount,
            status: s.status,
            block: s.block,
        })
        .collect();
    for t in transfers {
        if sent.iter().any(|s| s.hash == t.tx_hash) {
            continue;
        }
        let outgoing = own.contains(&t.from);
        out.push(Entry {
            hash: t.tx_hash,
            outgoing,
            account: if outgoing { t.from } else { t.to },
            counterparty: if outgoing { t.to } else { t.from },
            asset: t.asset.clone(),
            amount: t.amount,
            status: TxStatus::Confirmed,
            block: Some(t.block),
        });
    }
    // Unmined sends first (they are the newest), then by block.
    out.sort_by_key(|e| std::cmp::Reverse(e.block.unwrap_or(u64::MAX)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_addresses_cover_every_derived_account() {
        let phrase = keybot_keystore::Phrase::parse(
            "test test test test test test test test test test test junk",
        )
        .unwrap();
        let wallet = keybot_keystore::Wallet::new(phrase, "").unwrap();
        let (_d, store) = crate::store::tests::temp_store();
        let own = |s: Option<&Store>| own_addresses(&wallet, s).unwrap();
        assert_eq!(own(None), wallet.addresses(0, 5).unwrap());
        assert_eq!(own(Some(&store)), wallet.addresses(0, 5).unwrap());
        store.set_setting(ACCOUNTS_SETTING, "8").unwrap();
        assert_eq!(own(Some(&store)), wallet.addresses(0, 8).unwrap());
        // Fewer than the default never shrinks what is watched; a bad value is the default.
        store.set_setting(ACCOUNTS_SETTING, "2").unwrap();
        assert_eq!(own(Some(&store)).len(), 5);
        store.set_setting(ACCOUNTS_SETTING, "many").unwrap();
        assert_eq!(own(Some(&store)).len(), 5);
    }

    #[test]
    fn a_send_seen_on_chain_is_listed_once() {
        let me = Address::repeat_byte(1);
        let them = Address::repeat_byte(2);
        let sent = SentTx {
            hash: B256::repeat_byte(5),
            chain_id: 1,
            from: me,
            to: them,
            asset: AssetRef::eth(),
            amount: U256::from(3u64),
            call: None,
            nonce: 0,
            raw: vec![],
            status: TxStatus::Confirmed,
            block: Some(4),
            error: None,
            created_at: 0,
        };
        let echo = Transfer {
            chain_id: 1,
            tx_hash: sent.hash,
            log_index: -1,
            block: 4,
            from: me,
            to: them,
            asset: AssetRef::eth(),
            amount: U256::from(3u64),
        };
        let incoming = Transfer {
            tx_hash: B256::repeat_byte(6),
            block: 9,
            from: them,
            to: me,
            ..echo.clone()
        };
        let pending = SentTx {
            hash: B256::repeat_byte(7),
            status: TxStatus::Pending,
            block: None,
            ..sent.clone()
        };
        let list = entries(&[sent, pending], &[echo, incoming], &[me]);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].status, TxStatus::Pending);
        assert!(!list[1].outgoing && list[1].counterparty == them && list[1].block == Some(9));
        assert!(list[2].outgoing && list[2].block == Some(4));
    }
}
