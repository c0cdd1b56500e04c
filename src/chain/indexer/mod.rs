//! One log indexer for everything keybot reads from chain history: activity today, the market's
//! listings and the earnings next.
//!
//! A consumer ([`Index`]) names itself, says which addresses it watches and which logs it
//! wants, turns a block range's logs into rows and stores them. [`run`] does the rest, the same
//! way for every consumer:
//! - a cursor per (chain, indexer, address set) in the store ([`crate::store::CursorKey`]);
//! - block ranges sized to the RPC: a refused range is halved down to one block and the span
//!   grows back carefully ([`ranges::Planner`]);
//! - the last [`IndexerConfig::reorg_depth`] blocks are read again on every pass, and the
//!   consumer *replaces* its rows for each range it is handed, so a reorg within that depth
//!   replaces rather than duplicates (a deeper reorg is not detected);
//! - each range's rows and the cursor move are one store transaction, so a pass stopped by a
//!   crash or a lost RPC resumes at the last completed range.
pub mod ranges;

use std::future::Future;

use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::transports::{RpcError, TransportError, TransportErrorKind};

use super::client::{ChainError, Client};
use crate::store::{self, Cursor, CursorKey, Store};
use ranges::{Planner, Refusal, range_refusal, reread_start};

/// How an indexer reads. The defaults suit public RPCs; tests shrink them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexerConfig {
    /// Blocks below the cursor read again on every pass (confirmations / reorg depth).
    pub reorg_depth: u64,
    /// The span of the first `eth_getLogs` of a pass.
    pub first_chunk: u64,
    /// The widest span ever asked for.
    pub max_chunk: u64,
    /// On a public chain, how far below the head a never-read indexer starts (RPCs limit log
    /// ranges, and a new wallet has no older history worth a million requests). A dev chain is
    /// read from genesis.
    pub first_scan_depth: u64,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        IndexerConfig {
            reorg_depth: 12,
            // Alchemy's paid limit, and under every block-span limit but the free tiers'.
            first_chunk: 2_000,
            max_chunk: 10_000,
            first_scan_depth: 10_000,
        }
    }
}

/// A block range handed to a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: u64,
    pub to: u64,
    /// `to` is the chain's head: the consumer also drops its rows above `to` (a reorg may have
    /// made the chain shorter than what was stored).
    pub tip: bool,
}

impl Span {
    /// The upper bound of what the consumer replaces: `to`, or nothing at the tip.
    pub fn replace_to(&self) -> Option<u64> {
        (!self.tip).then_some(self.to)
    }
}

/// A consumer of the indexer.
pub trait Index {
    /// What [`Index::read`] makes of a range and [`Index::write`] stores.
    type Rows;

    /// A stable name, part of the cursor key ("activity"). A name follows one address set at
    /// a time: when the set changes, the new set's first committed range retires the old
    /// set's cursor. A consumer watching independent sets uses one name per set.
    fn name(&self) -> &str;

    /// Every address whose change must start a fresh read (the accounts watched; for activity
    /// also the token contracts). Part of the cursor key.
    fn addresses(&self) -> Vec<Address>;

    /// The logs wanted: address and topics, no block range (the indexer sets it). Logs that
    /// match several filters are handed over once.
    fn filters(&self) -> Vec<Filter>;

    /// Where this consumer's history begins, if it knows (a contract's deployment block).
    fn first_block(&self) -> Option<u64> {
        None
    }

    /// Turns one range's logs into rows; may read more from the chain (activity's ETH scan on
    /// a dev chain).
    fn read(
        &self,
        client: &Client,
        span: Span,
        logs: Vec<Log>,
    ) -> impl Future<Output = Result<Self::Rows, ChainError>>;

    /// Replaces this consumer's rows for `span` (`span.from..=span.to`, and above at the tip)
    /// with `rows`. Runs inside the store transaction that also moves the cursor.
    fn write(&self, store: &Store, span: Span, rows: Self::Rows) -> store::Result<()>;
}

/// What a pass read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// The head block the pass read up to.
    pub head: u64,
    /// The first block it read (the saved cursor minus the reorg depth).
    pub from: u64,
    /// The ranges it committed.
    pub ranges: u32,
}

/// Why a pass stopped. The ranges committed before it stay committed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<IndexError> for ChainError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Chain(e) => e,
            IndexError::Store(e) => e.into(),
        }
    }
}

/// Reads `index`'s logs from its cursor (minus the reorg depth) to the head, committing range
/// by range.
pub async fn run<I: Index>(
    client: &Client,
    store: &Store,
    index: &I,
    config: &IndexerConfig,
) -> Result<Pass, IndexError> {
    let chain_id = client.network.chain_id;
    let key = CursorKey::new(chain_id, index.name(), &index.addresses());
    let head = client.block_number().await?;
    let (origin, from) = match store.cursor(&key)? {
        Some(c) => (c.origin, reread_start(c.next, head, config.reorg_depth)),
        None => {
            let origin = match store.indexer_origin(chain_id, index.name())? {
                // Another address set of this indexer read from here: cover the same history.
                Some(o) => o,
                None => index.first_block().unwrap_or(if client.network.dev {
                    0
                } else {
                    head.saturating_sub(config.first_scan_depth)
                }),
            };
            (origin, origin)
        }
    };
    let filters = index.filters();
    let mut planner = Planner::new(config.first_chunk, config.max_chunk);
    let mut lo = from;
    let mut ranges = 0;
    while lo <= head {
        let hi = planner.end(lo, head);
        let logs = match logs_in(client, &filters, lo, hi).await {
            Ok(logs) => logs,
            Err(e) => match refusal(&e) {
                Some(r) if planner.refused(hi - lo + 1, r.hint) => {
                    tracing::debug!(
                        "{}: the RPC refused blocks {lo}..={hi}; asking for {} at a time",
                        index.name(),
                        planner.chunk()
                    );
                    continue;
                }
                _ => return Err(client.error(e).into()),
            },
        };
        planner.accepted(hi - lo + 1);
        let span = Span {
            from: lo,
            to: hi,
            tip: hi == head,
        };
        let rows = index.read(client, span, logs).await?;
        let cursor = Cursor {
            origin: origin.min(lo),
            next: hi + 1,
        };
        store.commit_range(&key, cursor, |s| index.write(s, span, rows))?;
        ranges += 1;
        lo = hi + 1;
    }
    Ok(Pass { head, from, ranges })
}

/// Every log matching any of `filters` in `from..=to`, each once, in chain order.
async fn logs_in(
    client: &Client,
    filters: &[Filter],
    from: u64,
    to: u64,
) -> Result<Vec<Log>, TransportError> {
    let mut all = Vec::new();
    for f in filters {
        let f = f.clone().from_block(from).to_block(to);
        all.extend(client.provider().get_logs(&f).await?);
    }
    all.sort_by_key(|l| (l.block_number, l.log_index));
    all.dedup_by_key(|l| (l.block_number, l.transaction_hash, l.log_index));
    Ok(all)
}

/// A refusal of the range (rather than any other failure), from the node's error response or
/// the body of an HTTP error (QuickNode answers 413 with a JSON-RPC error inside).
fn refusal(e: &TransportError) -> Option<Refusal> {
    match e {
        RpcError::ErrorResp(p) => {
            let data = p.data.as_ref().map(|d| d.get()).unwrap_or("");
            range_refusal(&format!("{} {data}", p.message))
        }
        RpcError::Transport(TransportErrorKind::HttpError(h)) => range_refusal(&h.body),
        _ => None,
    }
}
