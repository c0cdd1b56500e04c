//! The market contract's events through the shared log indexer (chain::indexer): all of one
//! market's events from its deployment block, range by range, re-read near the head so a
//! reorg replaces rather than duplicates. Browse, serve, fetch and earnings read the stored
//! events through [`book`].
use std::collections::BTreeMap;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};

use super::book::Book;
use super::events::Located;
use crate::chain::indexer::{self, Index, IndexerConfig, Pass, Span};
use crate::chain::{ChainError, ChainResult, Client};
use crate::store::{self, MarketEventRow, Store};

/// The indexer name of the market, part of its cursor key.
pub const INDEXER: &str = "market";

/// One market contract as an indexer consumer.
pub struct MarketIndex {
    pub chain_id: u64,
    pub market: Address,
    /// The block the market was deployed in: nothing of it is older.
    pub deployed: u64,
}

/// One range's events and the times of the blocks they are in.
pub struct MarketRange {
    pub events: Vec<MarketEventRow>,
    /// (block, unix seconds) for every block with an event.
    pub times: Vec<(u64, u64)>,
}

/// The most blocks whose time is asked for in one batched request, when the node's logs do not
/// carry `blockTimestamp` (anvil's and most nodes' do since 2024).
const TIME_BATCH: usize = 500;

impl Index for MarketIndex {
    type Rows = MarketRange;

    fn name(&self) -> &str {
        INDEXER
    }

    fn addresses(&self) -> Vec<Address> {
        vec![self.market]
    }

    fn filters(&self) -> Vec<Filter> {
        vec![Filter::new().address(self.market)]
    }

    fn first_block(&self) -> Option<u64> {
        Some(self.deployed)
    }

    async fn read(
        &self,
        client: &Client,
        _span: Span,
        logs: Vec<Log>,
    ) -> Result<MarketRange, ChainError> {
        let mut times = BTreeMap::new();
        let mut events = Vec::new();
        // The filter names the market, but the node's answer is checked, not trusted.
        for log in logs.iter().filter(|l| l.inner.address == self.market) {
            let Some(e) = Located::from_log(log) else {
                continue;
            };
            times.insert(e.block, log.block_timestamp);
            events.push(e.to_row(self.chain_id, self.market));
        }
        let missing: Vec<u64> = times
            .iter()
            .filter(|(_, t)| t.is_none())
            .map(|(b, _)| *b)
            .collect();
        for (block, time) in block_times(client, &missing).await? {
            times.insert(block, Some(time));
        }
        Ok(MarketRange {
            events,
            times: times
                .into_iter()
                .filter_map(|(b, t)| Some((b, t?)))
                .collect(),
        })
    }

    fn write(&self, store: &Store, span: Span, rows: MarketRange) -> store::Result<()> {
        store.replace_market_events(
            self.chain_id,
            self.market,
            span.from,
            span.replace_to(),
            &rows.events,
        )?;
        store.replace_block_times(
            self.chain_id,
            self.market,
            span.from,
            span.replace_to(),
            &rows.times,
        )
    }
}

/// The times of `blocks`, for a node whose logs lack `blockTimestamp`: one batched request per
/// [`TIME_BATCH`] blocks rather than one request per block. A block the node does not return
/// (it was reorged away meanwhile) is left out; the next pass reads its range again.
async fn block_times(client: &Client, blocks: &[u64]) -> Result<Vec<(u64, u64)>, ChainError> {
    let mut out = Vec::new();
    for chunk in blocks.chunks(TIME_BATCH) {
        let rpc = client.provider().client();
        let mut batch = alloy::rpc::client::BatchRequest::new(rpc);
        let mut waiters = Vec::new();
        for b in chunk {
            let waiter = batch
                .add_call::<_, Option<BlockHeaderOnly>>(
                    "eth_getBlockByNumber",
                    &(BlockNumberOrTag::Number(*b), false),
                )
                .map_err(|e| client.error(e))?;
            waiters.push((*b, waiter));
        }
        batch.send().await.map_err(|e| client.error(e))?;
        for (b, waiter) in waiters {
            if let Some(block) = waiter.await.map_err(|e| client.error(e))? {
                out.push((b, block.timestamp.to()));
            }
        }
    }
    Ok(out)
}

/// Of a block, only its time (the rest of the header is not needed, nor trusted).
#[derive(Debug, Clone, serde::Deserialize)]
struct BlockHeaderOnly {
    timestamp: alloy::primitives::U64,
}

/// Reads the market's new events into the store.
pub async fn sync(
    client: &Client,
    store: &Store,
    market: Address,
    deployed: u64,
    config: &IndexerConfig,
) -> ChainResult<Pass> {
    let index = MarketIndex {
        chain_id: client.network.chain_id,
        market,
        deployed,
    };
    Ok(indexer::run(client, store, &index, config).await?)
}

/// The market as the stored events say it stands.
pub fn book(store: &Store, chain_id: u64, market: Address) -> store::Result<Book> {
    let rows = store.market_events(chain_id, market)?;
    let events: Vec<Located> = rows.iter().filter_map(Located::from_row).collect();
    Ok(Book::from_events(&events))
}
