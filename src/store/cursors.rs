//! Where each log indexer stopped, per chain and per set of watched addresses.
//!
//! A cursor is keyed by (chain id, indexer name, address-set key). The address-set key is a
//! hash of the sorted addresses an indexer watches, so a changed set (the user derived account
//! 7, imported a key, added a token) is a new key: that set has never been read, and its
//! first pass starts from the earliest block any set of the same indexer on the same chain
//! started from ([`Store::indexer_origin`]), so the new account's history is found as far back
//! as the others'. When the new set commits its first range the old set's cursor is removed:
//! the new set's reads replace what the old one stored, range by range.
use alloy::primitives::{Address, keccak256};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store};

/// Which indexer, on which chain, over which addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CursorKey {
    pub chain_id: u64,
    /// A stable name for the consumer ("activity", later "market", "earnings").
    pub indexer: String,
    /// [`address_set_key`] of the addresses it watches.
    pub addresses: String,
}

impl CursorKey {
    pub fn new(chain_id: u64, indexer: &str, addresses: &[Address]) -> CursorKey {
        CursorKey {
            chain_id,
            indexer: indexer.to_owned(),
            addresses: address_set_key(addresses),
        }
    }
}

/// A short stable name for a set of addresses: the same for any order or repetition, different
/// for any other set. 128 bits of keccak over the sorted, de-duplicated addresses; the set
/// itself is private (which accounts are the user's) and the store is encrypted anyway, but a
/// hash keeps the key short however many accounts there are.
pub fn address_set_key(addresses: &[Address]) -> String {
    let mut sorted = addresses.to_vec();
    sorted.sort();
    sorted.dedup();
    let bytes: Vec<u8> = sorted.iter().flat_map(|a| a.0).collect();
    hex::encode(&keccak256(bytes)[..16])
}

/// Where a cursor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The first block this indexer has read on this chain (inherited by a new address set).
    pub origin: u64,
    /// The first block not yet read.
    pub next: u64,
}

impl Store {
    /// The cursor of `key`, if that indexer has read anything for that address set.
    pub fn cursor(&self, key: &CursorKey) -> Result<Option<Cursor>> {
        Ok(self
            .conn
            .query_row(
                "SELECT origin, next_block FROM index_cursors
                 WHERE chain_id = ?1 AND indexer = ?2 AND addresses = ?3",
                params![key.chain_id as i64, key.indexer, key.addresses],
                |r| {
                    Ok(Cursor {
                        origin: r.get::<_, i64>(0)? as u64,
                        next: r.get::<_, i64>(1)? as u64,
                    })
                },
            )
            .optional()?)
    }

    /// The earliest origin of any address set of `indexer` on `chain_id`: where a new set starts
    /// so that it covers the same history.
    pub fn indexer_origin(&self, chain_id: u64, indexer: &str) -> Result<Option<u64>> {
        let min: Option<i64> = self.conn.query_row(
            "SELECT MIN(origin) FROM index_cursors WHERE chain_id = ?1 AND indexer = ?2",
            params![chain_id as i64, indexer],
            |r| r.get(0),
        )?;
        Ok(min.map(|b| b as u64))
    }

    /// Runs `write` (the consumer replacing its rows for one block range) and moves the cursor
    /// to `cursor`, in one transaction: after a crash either both happened or neither did, so
    /// the next pass resumes at a range boundary. Other address sets of the same indexer on the
    /// same chain are forgotten (this set's reads supersede theirs). `write` gets this store
    /// and must not start a transaction of its own.
    pub fn commit_range<T>(
        &self,
        key: &CursorKey,
        cursor: Cursor,
        write: impl FnOnce(&Store) -> Result<T>,
    ) -> Result<T> {
        // `unchecked_transaction` because the store is shared by reference (the app's chain
        // worker holds it in an `Rc`); nothing else runs on this connection meanwhile, and a
        // nested transaction would fail loudly rather than silently.
        let tx = self.conn.unchecked_transaction()?;
        let out = write(self)?;
        tx.execute(
            "INSERT INTO index_cursors (chain_id, indexer, addresses, origin, next_block)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (chain_id, indexer, addresses)
             DO UPDATE SET origin = excluded.origin, next_block = excluded.next_block",
            params![
                key.chain_id as i64,
                key.indexer,
                key.addresses,
                cursor.origin as i64,
                cursor.next as i64
            ],
        )?;
        tx.execute(
            "DELETE FROM index_cursors WHERE chain_id = ?1 AND indexer = ?2 AND addresses != ?3",
            params![key.chain_id as i64, key.indexer, key.addresses],
        )?;
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    #[test]
    fn the_address_set_key_ignores_order_and_repeats_only() {
        let (a, b, c) = (
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            Address::repeat_byte(3),
        );
        assert_eq!(address_set_key(&[a, b]), address_set_key(&[b, a, b]));
        assert_ne!(address_set_key(&[a, b]), address_set_key(&[a, b, c]));
        assert_ne!(address_set_key(&[a]), address_set_key(&[]));
        assert_eq!(address_set_key(&[a]).len(), 32);
        let k = CursorKey::new(5, "activity", &[a]);
        assert_ne!(k, CursorKey::new(6, "activity", &[a]));
        assert_ne!(k, CursorKey::new(5, "earnings", &[a]));
    }

    #[test]
    fn a_range_commits_with_its_cursor_or_not_at_all() {
        let (_d, store) = temp_store();
        let old = CursorKey::new(5, "activity", &[Address::repeat_byte(1)]);
        let new = CursorKey::new(
            5,
            "activity",
            &[Address::repeat_byte(1), Address::repeat_byte(2)],
        );
        let other = CursorKey::new(5, "earnings", &[Address::repeat_byte(1)]);
        assert_eq!(store.cursor(&old).unwrap(), None);
        assert_eq!(store.indexer_origin(5, "activity").unwrap(), None);
        let at = |origin, next| Cursor { origin, next };
        store.commit_range(&old, at(40, 50), |_| Ok(())).unwrap();
        store.commit_range(&old, at(40, 61), |_| Ok(())).unwrap();
        store.commit_range(&other, at(7, 9), |_| Ok(())).unwrap();
        assert_eq!(store.cursor(&old).unwrap(), Some(at(40, 61)));
        assert_eq!(store.indexer_origin(5, "activity").unwrap(), Some(40));
        assert_eq!(store.indexer_origin(6, "activity").unwrap(), None);

        // A failing write leaves neither its rows nor the cursor behind.
        let err = store
            .commit_range(&old, at(40, 99), |s| {
                s.set_setting("written.inside", "yes")?;
                Err::<(), _>(crate::store::Error::NoAssistantMessage)
            })
            .unwrap_err();
        assert!(matches!(err, crate::store::Error::NoAssistantMessage));
        assert_eq!(store.cursor(&old).unwrap(), Some(at(40, 61)));
        assert_eq!(store.setting("written.inside").unwrap(), None);

        // A new address set supersedes the old one of the same indexer, not other indexers.
        store
            .commit_range(&new, at(40, 45), |s| s.set_setting("written.inside", "yes"))
            .unwrap();
        assert_eq!(
            store.setting("written.inside").unwrap().as_deref(),
            Some("yes")
        );
        assert_eq!(store.cursor(&old).unwrap(), None);
        assert_eq!(store.cursor(&new).unwrap(), Some(at(40, 45)));
        assert_eq!(store.cursor(&other).unwrap(), Some(at(7, 9)));
    }
}
