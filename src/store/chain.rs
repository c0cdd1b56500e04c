//! Chain activity: the transactions this wallet sent and the transfers found on chain.
//!
//! Everything here is private (who paid whom, when) and so lives in the encrypted store.
use alloy::primitives::{Address, B256, U256};
use rusqlite::{OptionalExtension, Row, params};

use super::{Result, Store, now_ms};

/// Where a sent transaction stands. `Signed` is written before the broadcast; a row left in
/// `Signed` or `Pending` is looked up again (never re-signed) when the RPC answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Signed,
    Pending,
    Confirmed,
    Reverted,
    /// The node refused it; it never reached the network.
    Failed,
    /// Its nonce was used by another transaction; it can never land.
    Dropped,
}

impl TxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Signed => "signed",
            TxStatus::Pending => "pending",
            TxStatus::Confirmed => "confirmed",
            TxStatus::Reverted => "reverted",
            TxStatus::Failed => "failed",
            TxStatus::Dropped => "dropped",
        }
    }

    fn parse(s: &str) -> TxStatus {
        match s {
            "signed" => TxStatus::Signed,
            "pending" => TxStatus::Pending,
            "confirmed" => TxStatus::Confirmed,
            "reverted" => TxStatus::Reverted,
            "failed" => TxStatus::Failed,
            _ => TxStatus::Dropped,
        }
    }

    /// Still waiting for the chain to decide.
    pub fn is_open(self) -> bool {
        matches!(self, TxStatus::Signed | TxStatus::Pending)
    }
}

/// What is being moved: ETH, or a token by contract address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    /// None for ETH.
    pub token: Option<Address>,
    pub symbol: String,
    pub decimals: u8,
}

impl AssetRef {
    pub fn eth() -> AssetRef {
        AssetRef {
            token: None,
            symbol: "ETH".into(),
            decimals: 18,
        }
    }

    fn key(&self) -> String {
        self.token
            .map(|a| a.to_checksum(None))
            .unwrap_or_else(|| "ETH".into())
    }

    fn from_key(key: &str, symbol: String, decimals: i64) -> AssetRef {
        AssetRef {
            token: key.parse().ok(),
            symbol,
            decimals: u8::try_from(decimals).unwrap_or(18),
        }
    }
}

/// The addresses this wallet has dealt with, for the checks before a send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counterparties {
    /// Sent to (by a transaction that reached the network or may have).
    pub sent_to: Vec<Address>,
    /// Received from. Not a reason to trust an address: address poisoning works by sending
    /// dust *from* a look-alike, so these only feed the look-alike check.
    pub received_from: Vec<Address>,
}

/// What a contract call did, as recorded beside its signed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCall {
    /// The function's human-readable signature with parameter names
    /// (`function approve(address spender, uint256 value) returns (bool)`): with `data` it
    /// decodes the call again.
    pub function: String,
    /// One line for lists: `approve(spender: 0x…, value: 1500000)`.
    pub summary: String,
    /// The call data (selector and arguments).
    pub data: Vec<u8>,
}

/// A transaction this wallet signed: a transfer (`call` None) or a contract call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTx {
    pub hash: B256,
    pub chain_id: u64,
    pub from: Address,
    /// Who the value went to: for a token transfer the token's recipient, not the contract;
    /// for a contract call the contract.
    pub to: Address,
    /// What moved: the asset sent, or ETH for a call (its `value`).
    pub asset: AssetRef,
    pub amount: U256,
    /// Set for a contract call.
    pub call: Option<SentCall>,
    pub nonce: u64,
    pub raw: Vec<u8>,
    pub status: TxStatus,
    pub block: Option<u64>,
    pub error: Option<String>,
    pub created_at: i64,
}

/// A movement of ETH or a token found on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub chain_id: u64,
    pub tx_hash: B256,
    /// -1 for a plain ETH transfer.
    pub log_index: i64,
    pub block: u64,
    pub from: Address,
    pub to: Address,
    pub asset: AssetRef,
    pub amount: U256,
}

fn addr(s: String) -> rusqlite::Result<Address> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn hash(s: String) -> rusqlite::Result<B256> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn amount(s: String) -> rusqlite::Result<U256> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const SENT_COLUMNS: &str = "hash, chain_id, from_addr, to_addr, asset, symbol, decimals, amount, \
                            nonce, raw, status, block, error, created_at, \
                            kind, contract, value, function, summary, call_data";

/// A row of `chain_txs`: a transfer's columns, or a call's (the schema's CHECKs say which are
/// set for each kind).
fn sent_row(r: &Row<'_>) -> rusqlite::Result<SentTx> {
    let kind: String = r.get(14)?;
    let (to, asset, amount, call) = if kind == "call" {
        (
            addr(r.get(15)?)?,
            AssetRef::eth(),
            amount(r.get(16)?)?,
            Some(SentCall {
                function: r.get(17)?,
                summary: r.get(18)?,
                data: r.get(19)?,
            }),
        )
    } else {
        (
            addr(r.get(3)?)?,
            AssetRef::from_key(&r.get::<_, String>(4)?, r.get(5)?, r.get(6)?),
            amount(r.get(7)?)?,
            None,
        )
    };
    Ok(SentTx {
        hash: hash(r.get(0)?)?,
        chain_id: r.get::<_, i64>(1)? as u64,
        from: addr(r.get(2)?)?,
        to,
        asset,
        amount,
        call,
        nonce: r.get::<_, i64>(8)? as u64,
        raw: r.get(9)?,
        status: TxStatus::parse(&r.get::<_, String>(10)?),
        block: r.get::<_, Option<i64>>(11)?.map(|b| b as u64),
        error: r.get(12)?,
        created_at: r.get(13)?,
    })
}

fn transfer_row(r: &Row<'_>) -> rusqlite::Result<Transfer> {
    Ok(Transfer {
        chain_id: r.get::<_, i64>(0)? as u64,
        tx_hash: hash(r.get(1)?)?,
        log_index: r.get(2)?,
        block: r.get::<_, i64>(3)? as u64,
        from: addr(r.get(4)?)?,
        to: addr(r.get(5)?)?,
        asset: AssetRef::from_key(&r.get::<_, String>(6)?, r.get(7)?, r.get(8)?),
        amount: amount(r.get(9)?)?,
    })
}

impl Store {
    /// Records a signed transaction before it is broadcast. Recording the same hash twice keeps
    /// the first row (the bytes are the same). A transfer fills the transfer columns, a call
    /// the call columns; the others stay NULL.
    pub fn record_sent(&self, tx: &SentTx) -> Result<()> {
        let now = now_ms();
        let is_call = tx.call.is_some();
        let transfer = |v: String| (!is_call).then_some(v);
        let call = |v: String| is_call.then_some(v);
        self.conn.execute(
            &format!(
                "INSERT OR IGNORE INTO chain_txs ({SENT_COLUMNS}, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                         ?15, ?16, ?17, ?18, ?19, ?20, ?14)"
            ),
            params![
                tx.hash.to_string(),
                tx.chain_id as i64,
                tx.from.to_checksum(None),
                transfer(tx.to.to_checksum(None)),
                transfer(tx.asset.key()),
                transfer(tx.asset.symbol.clone()),
                (!is_call).then_some(i64::from(tx.asset.decimals)),
                transfer(tx.amount.to_string()),
                tx.nonce as i64,
                tx.raw,
                tx.status.as_str(),
                tx.block.map(|b| b as i64),
                tx.error,
                if tx.created_at == 0 {
                    now
                } else {
                    tx.created_at
                },
                if is_call { "call" } else { "transfer" },
                call(tx.to.to_checksum(None)),
                call(tx.amount.to_string()),
                tx.call.as_ref().map(|c| c.function.as_str()),
                tx.call.as_ref().map(|c| c.summary.as_str()),
                tx.call.as_ref().map(|c| c.data.as_slice()),
            ],
        )?;
        Ok(())
    }

    /// Moves a sent transaction to `status`.
    pub fn set_sent_status(
        &self,
        hash: B256,
        status: TxStatus,
        block: Option<u64>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE chain_txs SET status = ?2, block = COALESCE(?3, block), error = ?4,
                    updated_at = ?5
             WHERE hash = ?1",
            params![
                hash.to_string(),
                status.as_str(),
                block.map(|b| b as i64),
                error,
                now_ms()
            ],
        )?;
        Ok(())
    }

    pub fn sent_tx(&self, hash: B256) -> Result<Option<SentTx>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {SENT_COLUMNS} FROM chain_txs WHERE hash = ?1"),
                [hash.to_string()],
                sent_row,
            )
            .optional()?)
    }

    /// Sent transactions on a chain, newest first.
    pub fn sent_txs(&self, chain_id: u64) -> Result<Vec<SentTx>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SENT_COLUMNS} FROM chain_txs WHERE chain_id = ?1
             ORDER BY created_at DESC, nonce DESC"
        ))?;
        let rows = stmt.query_map([chain_id as i64], sent_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sent transactions the chain has not decided yet, oldest first.
    pub fn open_sent_txs(&self, chain_id: u64) -> Result<Vec<SentTx>> {
        let mut txs = self.sent_txs(chain_id)?;
        txs.retain(|t| t.status.is_open());
        txs.sort_by_key(|t| (t.from, t.nonce));
        Ok(txs)
    }

    /// Every address this wallet has sent to or received from, on any chain.
    pub fn counterparties(&self) -> Result<Counterparties> {
        let list = |sql: &str| -> Result<Vec<Address>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map([], |r| addr(r.get(0)?))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        Ok(Counterparties {
            sent_to: list(
                "SELECT DISTINCT COALESCE(to_addr, contract) FROM chain_txs
                 WHERE status != 'failed'",
            )?,
            received_from: list("SELECT DISTINCT from_addr FROM chain_transfers")?,
        })
    }

    /// Adds or replaces a transfer (a re-read after a reorg replaces, never duplicates).
    pub fn upsert_transfer(&self, t: &Transfer) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO chain_transfers
             (chain_id, tx_hash, log_index, block, from_addr, to_addr, asset, symbol, decimals,
              amount)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                t.chain_id as i64,
                t.tx_hash.to_string(),
                t.log_index,
                t.block as i64,
                t.from.to_checksum(None),
                t.to.to_checksum(None),
                t.asset.key(),
                t.asset.symbol,
                i64::from(t.asset.decimals),
                t.amount.to_string(),
            ],
        )?;
        Ok(())
    }

    /// Forgets transfers in blocks `from..=to` (all from `from` up when `to` is `None`): they
    /// are about to be re-read.
    pub fn forget_transfers_in(&self, chain_id: u64, from: u64, to: Option<u64>) -> Result<()> {
        self.conn.execute(
            "DELETE FROM chain_transfers
             WHERE chain_id = ?1 AND block >= ?2 AND (?3 IS NULL OR block <= ?3)",
            params![chain_id as i64, from as i64, to.map(|b| b as i64)],
        )?;
        Ok(())
    }

    /// Transfers on a chain, newest first.
    pub fn transfers(&self, chain_id: u64) -> Result<Vec<Transfer>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT chain_id, tx_hash, log_index, block, from_addr, to_addr, asset, symbol,
                    decimals, amount
             FROM chain_transfers WHERE chain_id = ?1 ORDER BY block DESC, log_index DESC",
        )?;
        let rows = stmt.query_map([chain_id as i64], transfer_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    fn sent(nonce: u64, status: TxStatus) -> SentTx {
        SentTx {
            hash: B256::repeat_byte(nonce as u8 + 1),
            chain_id: 31337,
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            asset: AssetRef::eth(),
            amount: U256::from(10u64).pow(U256::from(30u64)),
            call: None,
            nonce,
            raw: vec![2, 0xf8, nonce as u8],
            status,
            block: None,
            error: None,
            created_at: 0,
        }
    }

    #[test]
    fn sent_transactions_round_trip_and_move_through_states() {
        let (_d, store) = temp_store();
        store.record_sent(&sent(0, TxStatus::Signed)).unwrap();
        store.record_sent(&sent(1, TxStatus::Pending)).unwrap();
        // Recording the same hash again does not overwrite what went out.
        let mut again = sent(0, TxStatus::Failed);
        again.raw = vec![9];
        store.record_sent(&again).unwrap();
        let t0 = store
            .sent_tx(sent(0, TxStatus::Signed).hash)
            .unwrap()
            .unwrap();
        assert_eq!(t0, {
            let mut t = sent(0, TxStatus::Signed);
            t.created_at = t0.created_at;
            t
        });
        assert_eq!(store.open_sent_txs(31337).unwrap().len(), 2);
        store
            .set_sent_status(t0.hash, TxStatus::Confirmed, Some(7), None)
            .unwrap();
        let open = store.open_sent_txs(31337).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].nonce, 1);
        assert_eq!(store.sent_tx(t0.hash).unwrap().unwrap().block, Some(7));
        assert!(store.open_sent_txs(1).unwrap().is_empty());
        let known = store.counterparties().unwrap();
        assert_eq!(known.sent_to, vec![Address::repeat_byte(2)]);
        assert!(known.received_from.is_empty());
    }

    #[test]
    fn a_call_is_recorded_with_its_kind_and_call_data() {
        let (_d, store) = temp_store();
        let call = SentTx {
            to: Address::repeat_byte(9),
            asset: AssetRef::eth(),
            amount: U256::from(3u64),
            call: Some(SentCall {
                function: "function approve(address spender, uint256 value) returns (bool)".into(),
                summary: "approve(spender: 0x…, value: 1)".into(),
                data: vec![0x09, 0x5e, 0xa7, 0xb3, 1, 2],
            }),
            ..sent(5, TxStatus::Signed)
        };
        store.record_sent(&call).unwrap();
        let back = store.sent_tx(call.hash).unwrap().unwrap();
        assert_eq!(
            back,
            SentTx {
                created_at: back.created_at,
                ..call.clone()
            }
        );
        // The row is a call: the transfer columns are empty, the call columns are filled.
        let (kind, to, contract, value, data): (String, Option<String>, String, String, Vec<u8>) =
            store
                .conn
                .query_row(
                    "SELECT kind, to_addr, contract, value, call_data FROM chain_txs
                     WHERE hash = ?1",
                    [call.hash.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .unwrap();
        assert_eq!((kind.as_str(), to, value.as_str()), ("call", None, "3"));
        assert_eq!(contract, Address::repeat_byte(9).to_checksum(None));
        assert_eq!(data, vec![0x09, 0x5e, 0xa7, 0xb3, 1, 2]);
        // The contract counts as an address the wallet has dealt with.
        assert_eq!(
            store.counterparties().unwrap().sent_to,
            vec![Address::repeat_byte(9)]
        );
    }

    #[test]
    fn transfers_replace_on_reread_and_forget_by_range() {
        let (_d, store) = temp_store();
        let t = Transfer {
            chain_id: 5,
            tx_hash: B256::repeat_byte(9),
            log_index: 3,
            block: 10,
            from: Address::repeat_byte(3),
            to: Address::repeat_byte(1),
            asset: AssetRef {
                token: Some(Address::repeat_byte(7)),
                symbol: "tUSD".into(),
                decimals: 6,
            },
            amount: U256::from(5u64),
        };
        store.upsert_transfer(&t).unwrap();
        store.upsert_transfer(&t).unwrap();
        assert_eq!(store.transfers(5).unwrap(), vec![t.clone()]);
        // Scan cursors moved to store/cursors.rs (per indexer and address set).
        store.forget_transfers_in(5, 11, None).unwrap();
        store.forget_transfers_in(5, 0, Some(9)).unwrap();
        assert_eq!(store.transfers(5).unwrap(), vec![t.clone()]);
        store.forget_transfers_in(5, 10, Some(10)).unwrap();
        assert!(store.transfers(5).unwrap().is_empty());
    }
}
