//! The market contract's events through the shared log indexer (chain::indexer): all of one
//! market's events from its deployment block, range by range, re-read near the head so a
//! reorg replaces rather than duplicates. Browse, serve, fetch and earnings read the stored
//! events through [`book`].
use alloy::primitives::Address;
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

impl Index for MarketIndex {
    type Rows = Vec<MarketEventRow>;

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
        _client: &Client,
        _span: Span,
        logs: Vec<Log>,
    ) -> Result<Vec<MarketEventRow>, ChainError> {
        Ok(logs
            .iter()
            // The filter names the market, but the node's answer is checked, not trusted.
            .filter(|l| l.inner.address == self.market)
            .filter_map(Located::from_log)
            .map(|e| e.to_row(self.chain_id, self.market))
            .collect())
    }

    fn write(&self, store: &Store, span: Span, rows: Vec<MarketEventRow>) -> store::Result<()> {
        store.replace_market_events(
            self.chain_id,
            self.market,
            span.from,
            span.replace_to(),
            &rows,
        )
    }
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
