//! The market's rows: the indexed events of a market contract, and the seller's listing secrets
//! (content key and ciphertext). The meaning of the events is `market::events`'s business;
//! here they are rows with the columns the queries filter on and the rest as JSON.
use alloy::primitives::{Address, B256, U256};
use keybot_keystore::secret::Secret32;
use rusqlite::{OptionalExtension, Row, params};

use super::{Error, Result, Store, now_ms};

/// One event of a market contract, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketEventRow {
    pub chain_id: u64,
    pub market: Address,
    pub block: u64,
    pub tx_hash: B256,
    pub log_index: u64,
    /// "listed", "purchased", … (market::events).
    pub event: String,
    pub listing_id: Option<u64>,
    pub purchase_id: Option<u64>,
    pub seller: Option<Address>,
    pub buyer: Option<Address>,
    pub token: Option<Address>,
    pub amount: Option<U256>,
    /// The event's other fields, JSON.
    pub body: String,
}

/// What only the seller has of a listing: the content key and the ciphertext.
#[derive(Debug, Clone)]
pub struct ListingSecret {
    pub content_hash: B256,
    pub chain_id: u64,
    pub market: Address,
    /// The vault item it was made from (the item may since have been removed).
    pub item_id: i64,
    pub seller: Address,
    /// `Debug` prints `<redacted>`.
    pub content_key: Secret32,
    pub ciphertext: Vec<u8>,
    /// Where the ciphertext is published, or empty when it is inline in the listing.
    pub uri: String,
    /// Set once the `Listed` event is seen.
    pub listing_id: Option<u64>,
    pub created_at: i64,
}

fn bad(column: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, what.into())
}

fn parse_address(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Address>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| s.parse().map_err(|_| bad(i, format!("bad address {s:?}"))))
        .transpose()
}

fn parse_u64(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<u64>> {
    let v: Option<i64> = r.get(i)?;
    v.map(|v| u64::try_from(v).map_err(|_| bad(i, format!("negative {v}"))))
        .transpose()
}

const EVENT_COLUMNS: &str = "chain_id, market, block, tx_hash, log_index, event, listing_id, \
     purchase_id, seller, buyer, token, amount, body";

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<MarketEventRow> {
    let market: String = r.get(1)?;
    let tx: String = r.get(3)?;
    let amount: Option<String> = r.get(11)?;
    Ok(MarketEventRow {
        chain_id: parse_u64(r, 0)?.unwrap_or_default(),
        market: market
            .parse()
            .map_err(|_| bad(1, format!("bad market {market:?}")))?,
        block: parse_u64(r, 2)?.unwrap_or_default(),
        tx_hash: tx.parse().map_err(|_| bad(3, format!("bad hash {tx:?}")))?,
        log_index: parse_u64(r, 4)?.unwrap_or_default(),
        event: r.get(5)?,
        listing_id: parse_u64(r, 6)?,
        purchase_id: parse_u64(r, 7)?,
        seller: parse_address(r, 8)?,
        buyer: parse_address(r, 9)?,
        token: parse_address(r, 10)?,
        amount: amount
            .map(|a| a.parse().map_err(|_| bad(11, format!("bad amount {a:?}"))))
            .transpose()?,
        body: r.get(12)?,
    })
}

fn id(v: Option<u64>) -> Result<Option<i64>> {
    v.map(|v| {
        i64::try_from(v)
            .map_err(|_| Error::Sqlite(rusqlite::Error::IntegralValueOutOfRange(0, v as i64)))
    })
    .transpose()
}

/// Inserts a listing secret on `conn` (the store's connection or a backup import's
/// transaction).
pub(super) fn insert_listing_secret(conn: &rusqlite::Connection, s: &ListingSecret) -> Result<()> {
    conn.execute(
        "INSERT INTO market_listings (content_hash, chain_id, market, item_id, seller,
            content_key, ciphertext, uri, listing_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            format!("{:#x}", s.content_hash),
            s.chain_id as i64,
            s.market.to_checksum(None),
            s.item_id,
            s.seller.to_checksum(None),
            s.content_key.expose().as_slice(),
            s.ciphertext,
            s.uri,
            id(s.listing_id)?,
            now_ms(),
        ],
    )?;
    Ok(())
}

impl Store {
    /// Replaces the events of `market` in blocks `from..=to` (`to` None: from `from` up) with
    /// `rows`: what the indexer does with each range it reads.
    pub fn replace_market_events(
        &self,
        chain_id: u64,
        market: Address,
        from: u64,
        to: Option<u64>,
        rows: &[MarketEventRow],
    ) -> Result<()> {
        let market_s = market.to_checksum(None);
        self.conn.execute(
            "DELETE FROM market_events WHERE chain_id = ?1 AND market = ?2 AND block >= ?3
               AND (?4 IS NULL OR block <= ?4)",
            params![chain_id as i64, market_s, from as i64, to.map(|t| t as i64)],
        )?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "INSERT OR REPLACE INTO market_events ({EVENT_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ))?;
        let addr = |a: Option<Address>| a.map(|a| a.to_checksum(None));
        for e in rows {
            stmt.execute(params![
                e.chain_id as i64,
                market_s,
                e.block as i64,
                format!("{:#x}", e.tx_hash),
                e.log_index as i64,
                e.event,
                id(e.listing_id)?,
                id(e.purchase_id)?,
                addr(e.seller),
                addr(e.buyer),
                addr(e.token),
                e.amount.map(|a| a.to_string()),
                e.body,
            ])?;
        }
        Ok(())
    }

    /// Every stored event of `market`, in chain order.
    pub fn market_events(&self, chain_id: u64, market: Address) -> Result<Vec<MarketEventRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM market_events WHERE chain_id = ?1 AND market = ?2
             ORDER BY block, log_index"
        ))?;
        let rows = stmt.query_map(
            params![chain_id as i64, market.to_checksum(None)],
            event_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces the block times of `market`'s events in blocks `from..=to` (`to` None: from
    /// `from` up) with `times` (block, unix seconds): done with the events of the same range.
    pub fn replace_block_times(
        &self,
        chain_id: u64,
        market: Address,
        from: u64,
        to: Option<u64>,
        times: &[(u64, u64)],
    ) -> Result<()> {
        let market_s = market.to_checksum(None);
        self.conn.execute(
            "DELETE FROM market_block_times WHERE chain_id = ?1 AND market = ?2 AND block >= ?3
               AND (?4 IS NULL OR block <= ?4)",
            params![chain_id as i64, market_s, from as i64, to.map(|t| t as i64)],
        )?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO market_block_times (chain_id, market, block, time)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (block, time) in times {
            let time = i64::try_from(*time).unwrap_or(i64::MAX);
            stmt.execute(params![chain_id as i64, market_s, *block as i64, time])?;
        }
        Ok(())
    }

    /// The stored times of the blocks with `market`'s events: block → unix seconds.
    pub fn market_block_times(
        &self,
        chain_id: u64,
        market: Address,
    ) -> Result<std::collections::BTreeMap<u64, u64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT block, time FROM market_block_times WHERE chain_id = ?1 AND market = ?2
             ORDER BY block",
        )?;
        let rows = stmt.query_map(params![chain_id as i64, market.to_checksum(None)], |r| {
            Ok((
                parse_u64(r, 0)?.unwrap_or_default(),
                parse_u64(r, 1)?.unwrap_or_default(),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores a listing's secret; runs before the `list` transaction is signed.
    pub fn save_listing_secret(&self, s: &ListingSecret) -> Result<()> {
        insert_listing_secret(&self.conn, s)
    }

    /// Every listing secret, on every chain and market (for backups).
    pub fn all_listing_secrets(&self) -> Result<Vec<ListingSecret>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT chain_id, market FROM market_listings")?;
        let pairs: Vec<(i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (chain_id, market) in pairs {
            let market: Address = market
                .parse()
                .map_err(|_| Error::Sqlite(bad(2, "bad market".into())))?;
            out.extend(self.listing_secrets(chain_id as u64, market)?);
        }
        Ok(out)
    }

    /// Records the listing id the chain gave a listing.
    pub fn set_listing_id(&self, content_hash: B256, listing_id: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE market_listings SET listing_id = ?1 WHERE content_hash = ?2",
            params![id(Some(listing_id))?, format!("{content_hash:#x}")],
        )?;
        Ok(())
    }

    /// The seller's listing secrets on `market`, oldest first.
    pub fn listing_secrets(&self, chain_id: u64, market: Address) -> Result<Vec<ListingSecret>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT content_hash, chain_id, market, item_id, seller, content_key, ciphertext, uri,
                    listing_id, created_at
             FROM market_listings WHERE chain_id = ?1 AND market = ?2 ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map(params![chain_id as i64, market.to_checksum(None)], |r| {
            let hash: String = r.get(0)?;
            let market: String = r.get(2)?;
            let key = zeroize::Zeroizing::new(r.get::<_, Vec<u8>>(5)?);
            Ok(ListingSecret {
                content_hash: hash
                    .parse()
                    .map_err(|_| bad(0, "bad content hash".into()))?,
                chain_id: parse_u64(r, 1)?.unwrap_or_default(),
                market: market.parse().map_err(|_| bad(2, "bad market".into()))?,
                item_id: r.get(3)?,
                seller: parse_address(r, 4)?.ok_or_else(|| bad(4, "no seller".into()))?,
                content_key: Secret32::from_slice(&key)
                    .ok_or_else(|| bad(5, "a content key is 32 bytes".into()))?,
                ciphertext: r.get(6)?,
                uri: r.get(7)?,
                listing_id: parse_u64(r, 8)?,
                created_at: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The secret of the listing with this content hash.
    pub fn listing_secret(&self, content_hash: B256) -> Result<Option<ListingSecret>> {
        let found: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT chain_id, market FROM market_listings WHERE content_hash = ?1",
                [format!("{content_hash:#x}")],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((chain_id, market)) = found else {
            return Ok(None);
        };
        let market: Address = market
            .parse()
            .map_err(|_| Error::Sqlite(bad(2, "bad market".into())))?;
        Ok(self
            .listing_secrets(chain_id as u64, market)?
            .into_iter()
            .find(|s| s.content_hash == content_hash))
    }

    /// Keeps a listing's ciphertext that the buyer checked against `content_hash` before paying.
    pub fn save_purchased_ciphertext(
        &self,
        chain_id: u64,
        market: Address,
        content_hash: B256,
        bytes: &[u8],
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO market_ciphertexts (chain_id, market, content_hash, bytes)
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                chain_id as i64,
                market.to_checksum(None),
                format!("{content_hash:#x}"),
                bytes
            ],
        )?;
        Ok(())
    }

    /// The ciphertext kept by [`Store::save_purchased_ciphertext`], if any.
    pub fn purchased_ciphertext(
        &self,
        chain_id: u64,
        market: Address,
        content_hash: B256,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT bytes FROM market_ciphertexts
                 WHERE chain_id = ?1 AND market = ?2 AND content_hash = ?3",
                rusqlite::params![
                    chain_id as i64,
                    market.to_checksum(None),
                    format!("{content_hash:#x}")
                ],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    fn event(block: u64, log_index: u64, name: &str) -> MarketEventRow {
        MarketEventRow {
            chain_id: 31337,
            market: Address::repeat_byte(0x11),
            block,
            tx_hash: B256::repeat_byte(block as u8),
            log_index,
            event: name.into(),
            listing_id: Some(1),
            purchase_id: None,
            seller: Some(Address::repeat_byte(0x22)),
            buyer: None,
            token: Some(Address::ZERO),
            amount: Some(U256::from(5u64) * U256::from(10u64).pow(U256::from(18u64))),
            body: "{}".into(),
        }
    }

    #[test]
    fn a_range_is_replaced_so_a_reorg_does_not_duplicate() {
        let (_dir, store) = temp_store();
        let m = Address::repeat_byte(0x11);
        store
            .replace_market_events(
                31337,
                m,
                0,
                Some(10),
                &[event(3, 0, "listed"), event(7, 1, "purchased")],
            )
            .unwrap();
        assert_eq!(store.market_events(31337, m).unwrap().len(), 2);
        // The same range read again after a reorg: block 7's event is gone, block 8 has one.
        store
            .replace_market_events(31337, m, 5, None, &[event(8, 0, "purchased")])
            .unwrap();
        let all = store.market_events(31337, m).unwrap();
        assert_eq!(all.iter().map(|e| e.block).collect::<Vec<_>>(), vec![3, 8]);
        assert_eq!(all[0], event(3, 0, "listed"));
        // Another market's events are its own.
        assert!(
            store
                .market_events(31337, Address::repeat_byte(0x12))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_listing_secret_round_trips_and_learns_its_id() {
        let (_dir, store) = temp_store();
        let s = ListingSecret {
            content_hash: B256::repeat_byte(9),
            chain_id: 31337,
            market: Address::repeat_byte(0x11),
            item_id: 4,
            seller: Address::repeat_byte(0x22),
            content_key: Secret32::new([5; 32]),
            ciphertext: b"KBM1...".to_vec(),
            uri: String::new(),
            listing_id: None,
            created_at: 0,
        };
        store.save_listing_secret(&s).unwrap();
        store.set_listing_id(s.content_hash, 3).unwrap();
        let back = store.listing_secret(s.content_hash).unwrap().unwrap();
        assert_eq!(back.listing_id, Some(3));
        assert_eq!(back.content_key.expose(), &[5; 32]);
        assert_eq!(back.ciphertext, s.ciphertext);
        assert!(
            !format!("{back:?}").contains("5, 5"),
            "the key in Debug: {back:?}"
        );
        // A second listing of the same content hash is refused (it cannot happen by chance).
        assert!(store.save_listing_secret(&s).is_err());
    }
}
