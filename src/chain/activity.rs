//! Activity: what this wallet sent (recorded when sent) and what moved to or from its accounts
//! on chain (ERC-20 Transfer logs; on a dev chain also a scan of every block for ETH).
//!
//! Scans resume where the last one stopped, minus [`REORG_DEPTH`] blocks that are always read
//! again: a reorg can replace recent blocks, and rows are keyed by (tx, log) so a re-read
//! replaces rather than duplicates.
use alloy::consensus::Transaction as _;
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{BlockNumberOrTag, Filter};
use alloy::sol_types::SolEvent;

use super::client::{ChainError, ChainResult, Client};
use super::send;
use super::token::IERC20;
use crate::store::{AssetRef, SentTx, Store, Transfer, TxStatus};

/// How many HD accounts (from 0) activity scans and the send checks treat as the user's own.
pub const OWN_HD_ACCOUNTS: u32 = 5;

/// The user's own addresses: the first [`OWN_HD_ACCOUNTS`] HD accounts and every imported one.
pub fn own_addresses(wallet: &keybot_keystore::Wallet) -> keybot_keystore::Result<Vec<Address>> {
    let mut own = wallet.addresses(0, OWN_HD_ACCOUNTS)?;
    own.extend(wallet.imported().iter().map(|k| k.address));
    Ok(own)
}

/// Blocks read again on every scan.
pub const REORG_DEPTH: u64 = 12;
/// On a public chain a first scan looks this far back, not to genesis (RPCs limit log ranges
/// and a new wallet has no older history worth a million requests).
pub const FIRST_SCAN_DEPTH: u64 = 10_000;
/// The widest block range asked for in one `eth_getLogs`.
const LOG_CHUNK: u64 = 2_000;

/// Brings the store up to date with the chain for `own` addresses: open transactions first,
/// then new transfers. Returns the head block it read up to.
pub async fn sync(client: &Client, store: &Store, own: &[Address]) -> ChainResult<u64> {
    client.check_chain().await?;
    let chain_id = client.network.chain_id;
    send::reconcile(client, store).await?;
    let head = client.block_number().await?;
    let start = match store.next_scan_block(chain_id)? {
        Some(b) => b,
        None if client.network.dev => 0,
        None => head.saturating_sub(FIRST_SCAN_DEPTH),
    };
    let from = start.saturating_sub(REORG_DEPTH);
    let mut found = Vec::new();
    for t in &client.network.tokens {
        found.extend(token_transfers(client, t, own, from, head).await?);
    }
    if client.network.dev {
        found.extend(eth_transfers(client, own, from, head).await?);
    }
    store.forget_transfers_from(chain_id, from)?;
    for t in &found {
        store.upsert_transfer(t)?;
    }
    store.set_next_scan_block(chain_id, head + 1)?;
    Ok(head)
}

async fn token_transfers(
    client: &Client,
    token: &super::network::Token,
    own: &[Address],
    from: u64,
    to: u64,
) -> Result<Vec<Transfer>, ChainError> {
    let topics: Vec<B256> = own.iter().map(|a| a.into_word()).collect();
    let asset = AssetRef {
        token: Some(token.address),
        symbol: token.symbol.clone(),
        decimals: token.decimals,
    };
    let mut out = Vec::new();
    let mut lo = from;
    while lo <= to {
        let hi = (lo + LOG_CHUNK - 1).min(to);
        let base = Filter::new()
            .address(token.address)
            .event_signature(IERC20::Transfer::SIGNATURE_HASH)
            .from_block(lo)
            .to_block(hi);
        // Two queries: to one of ours (topic 2), from one of ours (topic 1).
        for filter in [
            base.clone().topic2(topics.clone()),
            base.topic1(topics.clone()),
        ] {
            let logs = client
                .provider()
                .get_logs(&filter)
                .await
                .map_err(|e| client.error(e))?;
            for log in logs {
                let (Some(tx_hash), Some(block), Some(index)) =
                    (log.transaction_hash, log.block_number, log.log_index)
                else {
                    continue;
                };
                let Ok(ev) = IERC20::Transfer::decode_log(&log.inner) else {
                    continue;
                };
                out.push(Transfer {
                    chain_id: client.network.chain_id,
                    tx_hash,
                    log_index: index as i64,
                    block,
                    from: ev.from,
                    to: ev.to,
                    asset: asset.clone(),
                    amount: ev.value,
                });
            }
        }
        lo = hi + 1;
    }
    Ok(out)
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
