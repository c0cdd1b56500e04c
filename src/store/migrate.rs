//! Schema migrations, from version 1 on.
//!
//! `PRAGMA user_version` holds the number of steps applied. Opening a store applies the missing
//! steps in one transaction, so a crash leaves the old schema or the new one. Steps are never
//! edited once released: a change is a new step at the end.
use std::path::Path;

use rusqlite::Connection;

use super::{Error, Result};

/// Step `i` (0-based) takes the schema from version `i` to `i + 1`.
const STEPS: &[&str] = &[
    // 1: conversations, messages, settings.
    //
    // `uid` is a random 128-bit id made when the conversation is created; unlike the local
    // integer `id` it is the same on every machine the conversation is restored to, so backup
    // import uses it to recognise a conversation it already has. Times are Unix milliseconds.
    // Token counts and timings are NULL when unknown (a user message, an imported answer).
    r#"
    CREATE TABLE conversations (
        id            INTEGER PRIMARY KEY,
        uid           TEXT    NOT NULL UNIQUE,
        title         TEXT    NOT NULL,
        system_prompt TEXT    NOT NULL DEFAULT '',
        model         TEXT    NOT NULL DEFAULT '',
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE INDEX conversations_by_update ON conversations (updated_at DESC, id DESC);

    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        text            TEXT    NOT NULL,
        tokens          INTEGER,
        prompt_ms       INTEGER,
        gen_ms          INTEGER,
        created_at      INTEGER NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: chain activity.
    //
    // `chain_txs`: every transaction this wallet signed and sent, written *before* it is
    // broadcast, with the raw bytes. If the RPC dies mid-send the row says what went out, and
    // keybot re-sends those same bytes (same hash, same nonce) instead of signing a new one.
    // `chain_transfers`: ETH and ERC-20 movements found on chain for the user's addresses
    // (Transfer logs; block scans on a dev chain), keyed so a re-read after a reorg replaces
    // rather than duplicates. `log_index` is -1 for a plain ETH transfer. `chain_scans`: the
    // next block to read per chain. Amounts are decimal strings of base units (U256 does not fit
    // an INTEGER); addresses are EIP-55 text.
    r#"
    CREATE TABLE chain_txs (
        hash       TEXT    PRIMARY KEY,
        chain_id   INTEGER NOT NULL,
        from_addr  TEXT    NOT NULL,
        to_addr    TEXT    NOT NULL,
        asset      TEXT    NOT NULL,
        symbol     TEXT    NOT NULL,
        decimals   INTEGER NOT NULL,
        amount     TEXT    NOT NULL,
        nonce      INTEGER NOT NULL,
        raw        BLOB    NOT NULL,
        status     TEXT    NOT NULL CHECK (status IN ('signed', 'pending', 'confirmed', 'reverted', 'failed', 'dropped')),
        block      INTEGER,
        error      TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX chain_txs_by_time ON chain_txs (chain_id, created_at DESC);

    CREATE TABLE chain_transfers (
        chain_id   INTEGER NOT NULL,
        tx_hash    TEXT    NOT NULL,
        log_index  INTEGER NOT NULL,
        block      INTEGER NOT NULL,
        from_addr  TEXT    NOT NULL,
        to_addr    TEXT    NOT NULL,
        asset      TEXT    NOT NULL,
        symbol     TEXT    NOT NULL,
        decimals   INTEGER NOT NULL,
        amount     TEXT    NOT NULL,
        PRIMARY KEY (chain_id, tx_hash, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX chain_transfers_by_block ON chain_transfers (chain_id, block DESC);

    CREATE TABLE chain_scans (
        chain_id   INTEGER PRIMARY KEY,
        next_block INTEGER NOT NULL
    );
    "#,
    // 3: log indexer cursors, one per (chain, indexer, watched address set) instead of one per
    // chain (store/cursors.rs). `addresses` is a hash of the sorted set; `origin` the first block
    // the indexer read on that chain, which a new set (a newly derived account) starts from so
    // its history is found too.
    //
    // The old `chain_scans` row is not carried over: its address set (the first five accounts
    // and the imported keys) cannot be named in SQL (the key hashes the wallet's addresses), and
    // activity now watches every derived account, whose history that cursor never read. So
    // activity re-reads once, like a new wallet: from genesis on a dev chain, the usual first
    // depth elsewhere. The rows in `chain_transfers` stay; the re-read replaces them range by
    // range.
    r#"
    CREATE TABLE index_cursors (
        chain_id   INTEGER NOT NULL,
        indexer    TEXT    NOT NULL,
        addresses  TEXT    NOT NULL,
        origin     INTEGER NOT NULL,
        next_block INTEGER NOT NULL,
        PRIMARY KEY (chain_id, indexer, addresses)
    ) WITHOUT ROWID;
    DROP TABLE chain_scans;
    "#,
    // 4: transactions as intents. A row of `chain_txs` is a transfer (`kind` 'transfer': the
    // transfer columns as before) or a contract call (`kind` 'call': the `contract` called, the
    // ETH `value` sent with it, the `function`'s human-readable signature with parameter names,
    // a one-line decoded `summary` and the `call_data`), so the transfer columns become
    // nullable. SQLite cannot drop NOT NULL in place: the table is rebuilt (create, copy, drop,
    // rename, index again) inside the migration's transaction; every existing row is a transfer.
    r#"
    CREATE TABLE chain_txs_v3 (
        hash       TEXT    PRIMARY KEY,
        chain_id   INTEGER NOT NULL,
        from_addr  TEXT    NOT NULL,
        kind       TEXT    NOT NULL CHECK (kind IN ('transfer', 'call')),
        to_addr    TEXT,
        asset      TEXT,
        symbol     TEXT,
        decimals   INTEGER,
        amount     TEXT,
        contract   TEXT,
        value      TEXT,
        function   TEXT,
        summary    TEXT,
        call_data  BLOB,
        nonce      INTEGER NOT NULL,
        raw        BLOB    NOT NULL,
        status     TEXT    NOT NULL CHECK (status IN ('signed', 'pending', 'confirmed', 'reverted', 'failed', 'dropped')),
        block      INTEGER,
        error      TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        CHECK (kind != 'transfer' OR (to_addr IS NOT NULL AND asset IS NOT NULL
               AND symbol IS NOT NULL AND decimals IS NOT NULL AND amount IS NOT NULL)),
        CHECK (kind != 'call' OR (contract IS NOT NULL AND value IS NOT NULL
               AND function IS NOT NULL AND summary IS NOT NULL AND call_data IS NOT NULL))
    ) WITHOUT ROWID;
    INSERT INTO chain_txs_v3 (hash, chain_id, from_addr, kind, to_addr, asset, symbol, decimals,
                              amount, nonce, raw, status, block, error, created_at, updated_at)
        SELECT hash, chain_id, from_addr, 'transfer', to_addr, asset, symbol, decimals, amount,
               nonce, raw, status, block, error, created_at, updated_at
        FROM chain_txs;
    DROP TABLE chain_txs;
    ALTER TABLE chain_txs_v3 RENAME TO chain_txs;
    CREATE INDEX chain_txs_by_time ON chain_txs (chain_id, created_at DESC);
    "#,
    // 5: the sale vault (store/vault.rs). An item is a copy of a conversation or a file, taken
    // when it was added: a later change to the source does not change what is offered. The
    // detectors run on `text` each time (they are pure and fast), so the table holds only what
    // the user decided: spans kept (`keep`) and spans removed by hand (`redact`), as byte
    // ranges of `text`, and the consent, whose `sha256` names the exact bytes it agreed to.
    // A kept range that a newer detector no longer reports is simply not applied (removed
    // again: the safe side), and the changed bytes void the consent by their hash.
    r#"
    CREATE TABLE vault_items (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        uid        TEXT    NOT NULL UNIQUE,
        title      TEXT    NOT NULL,
        source     TEXT    NOT NULL,
        text       TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE vault_decisions (
        item_id    INTEGER NOT NULL REFERENCES vault_items (id) ON DELETE CASCADE,
        action     TEXT    NOT NULL CHECK (action IN ('keep', 'redact')),
        start      INTEGER NOT NULL,
        end        INTEGER NOT NULL,
        kind       TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (item_id, action, start, end)
    ) WITHOUT ROWID;
    CREATE TABLE vault_consents (
        item_id    INTEGER PRIMARY KEY REFERENCES vault_items (id) ON DELETE CASCADE,
        account    TEXT    NOT NULL,
        sha256     TEXT    NOT NULL,
        time       INTEGER NOT NULL,
        signature  TEXT    NOT NULL
    );
    "#,
    // 6: the market on chain (store/market.rs). `market_events` is the log indexer's copy of
    // one market contract's events, all of them (browse shows everybody's listings; earnings,
    // serve and fetch filter by the wallet's addresses), replaced range by range so a reorg
    // replaces rather than duplicates. Ids are the contract's counters; amounts decimal text
    // (uint256); `body` the event's other fields as JSON. `market_listings` holds what only the
    // seller has: each listing's content key and ciphertext, written before the `list`
    // transaction is broadcast (a key lost there would make the listing undeliverable), found
    // again by its content hash, which is unique (a fresh key and nonce per listing).
    r#"
    CREATE TABLE market_events (
        chain_id    INTEGER NOT NULL,
        market      TEXT    NOT NULL,
        block       INTEGER NOT NULL,
        tx_hash     TEXT    NOT NULL,
        log_index   INTEGER NOT NULL,
        event       TEXT    NOT NULL,
        listing_id  INTEGER,
        purchase_id INTEGER,
        seller      TEXT,
        buyer       TEXT,
        token       TEXT,
        amount      TEXT,
        body        TEXT    NOT NULL,
        PRIMARY KEY (chain_id, market, tx_hash, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX market_events_by_block ON market_events (chain_id, market, block);
    CREATE TABLE market_listings (
        content_hash TEXT    PRIMARY KEY,
        chain_id     INTEGER NOT NULL,
        market       TEXT    NOT NULL,
        item_id      INTEGER NOT NULL,
        seller       TEXT    NOT NULL,
        content_key  BLOB    NOT NULL,
        ciphertext   BLOB    NOT NULL,
        uri          TEXT    NOT NULL,
        listing_id   INTEGER,
        created_at   INTEGER NOT NULL
    );
    "#,
    // 7: the times of the blocks that hold market events (store/market.rs), for earnings per
    // day. Kept per market beside its events and replaced with them range by range, so a
    // reorg that moves an event to another block also moves its time. The market's cursors
    // are dropped so a store indexed before this step reads its markets again from their
    // deployment blocks, times included (the events are replaced range by range, never doubled).
    r#"
    CREATE TABLE market_block_times (
        chain_id INTEGER NOT NULL,
        market   TEXT    NOT NULL,
        block    INTEGER NOT NULL,
        time     INTEGER NOT NULL,
        PRIMARY KEY (chain_id, market, block)
    ) WITHOUT ROWID;
    DELETE FROM index_cursors WHERE indexer = 'market';
    "#,
    // 8: the ciphertexts a buyer fetched and checked before paying (market v2, "Before
    // paying"): a seller who takes a URI down after the sale cannot withhold the bytes. Keyed by
    // the listing's content hash, which the bytes were checked against.
    r#"
    CREATE TABLE market_ciphertexts (
        chain_id     INTEGER NOT NULL,
        market       TEXT    NOT NULL,
        content_hash TEXT    NOT NULL,
        bytes        BLOB    NOT NULL,
        PRIMARY KEY (chain_id, market, content_hash)
    ) WITHOUT ROWID;
    "#,
    // 9: the bot (issue 23). Messages of its tool calls (role 'tool': the call, its arguments
    // and its result as one JSON object); SQLite cannot change a CHECK in place, so the table is
    // rebuilt with the same columns and ids (nothing refers to a message's id), its index made
    // again. And `bot_proposals`: transactions another program proposed through `keybot mcp`,
    // queued for the user's review (the server never signs); `result` is the decision's line.
    r#"
    CREATE TABLE bot_proposals (
        id         INTEGER PRIMARY KEY,
        tool       TEXT    NOT NULL,
        arguments  TEXT    NOT NULL,
        source     TEXT    NOT NULL,
        state      TEXT    NOT NULL CHECK (state IN ('pending', 'signed', 'declined')),
        result     TEXT,
        created_at INTEGER NOT NULL,
        decided_at INTEGER
    );
    CREATE TABLE messages_v9 (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
        text            TEXT    NOT NULL,
        tokens          INTEGER,
        prompt_ms       INTEGER,
        gen_ms          INTEGER,
        created_at      INTEGER NOT NULL
    );
    INSERT INTO messages_v9 (id, conversation_id, role, text, tokens, prompt_ms, gen_ms, created_at)
        SELECT id, conversation_id, role, text, tokens, prompt_ms, gen_ms, created_at FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v9 RENAME TO messages;
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
    "#,
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = STEPS.len() as u32;

pub(super) fn user_version(conn: &Connection) -> Result<u32> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // user_version is a signed 32-bit field; a negative value is nothing keybot wrote.
    Ok(u32::try_from(v).unwrap_or(u32::MAX))
}

/// Applies the steps the file lacks. A file from a newer keybot is refused untouched: an old
/// build cannot know what its tables mean.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // IMMEDIATE takes the write lock first, so two processes opening a new store at once do
    // not both run step 1: the second waits, then sees the new version.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, step) in STEPS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::tests::{key, temp_store};

    #[test]
    fn opening_twice_is_idempotent() {
        let (dir, store) = temp_store();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let c = store.create_conversation("kept", "", "").unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("keybot.db"), &key(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.list_conversations().unwrap(), vec![c]);
    }

    /// Builds a database at `version` by applying the first `version` steps, as that build did.
    fn store_at(version: usize) -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keybot.db");
        // Keyed as a store is (SQLCipher), the schema as that build left it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\";",
            key(1).to_hex().as_str()
        ))
        .unwrap();
        for step in &STEPS[..version] {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        (dir, path, conn)
    }

    #[test]
    fn chain_txs_of_version_2_become_transfer_intents() {
        let (_dir, path, conn) = store_at(2);
        let row = |hash: &str, to: &str, asset: &str, symbol: &str, decimals: i64, status: &str| {
            conn.execute(
                "INSERT INTO chain_txs (hash, chain_id, from_addr, to_addr, asset, symbol,
                   decimals, amount, nonce, raw, status, block, error, created_at, updated_at)
                 VALUES (?1, 31337, '0x0101010101010101010101010101010101010101', ?2, ?3, ?4, ?5,
                   '1500000', 4, X'02f801', ?6, 9, NULL, 1000, 1001)",
                rusqlite::params![hash, to, asset, symbol, decimals, status],
            )
            .unwrap();
        };
        let h1 = format!("0x{}", "11".repeat(32));
        let h2 = format!("0x{}", "22".repeat(32));
        let them = "0x0202020202020202020202020202020202020202";
        let token = "0x0303030303030303030303030303030303030303";
        row(&h1, them, "ETH", "ETH", 18, "confirmed");
        row(&h2, them, token, "tUSD", 6, "pending");
        drop(conn);

        let store = Store::open(&path, &key(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let mut txs = store.sent_txs(31337).unwrap();
        txs.sort_by_key(|t| t.hash);
        assert_eq!(txs.len(), 2);
        for t in &txs {
            assert!(t.call.is_none(), "an old row is a transfer");
            assert_eq!(t.to, them.parse::<alloy::primitives::Address>().unwrap());
            assert_eq!(t.amount, alloy::primitives::U256::from(1_500_000u64));
            assert_eq!((t.nonce, t.block, t.created_at), (4, Some(9), 1000));
            assert_eq!(t.raw, vec![0x02, 0xf8, 0x01]);
        }
        assert_eq!(txs[0].asset, crate::store::AssetRef::eth());
        assert_eq!(txs[0].status, crate::store::TxStatus::Confirmed);
        assert_eq!(txs[1].asset.token, Some(token.parse().unwrap()));
        assert_eq!(
            (txs[1].asset.symbol.as_str(), txs[1].asset.decimals),
            ("tUSD", 6)
        );
        // Still open, so reconcile finds it; the index was made again.
        assert_eq!(store.open_sent_txs(31337).unwrap().len(), 1);
        let indexes: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index'
                   AND name = 'chain_txs_by_time'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 1);
        // The new kind is enforced: a call without its call data is refused.
        let e = store.conn.execute(
            "INSERT INTO chain_txs (hash, chain_id, from_addr, kind, contract, value, nonce, raw,
               status, created_at, updated_at)
             VALUES ('0x33', 1, '0x01', 'call', '0x02', '0', 0, X'00', 'signed', 0, 0)",
            [],
        );
        assert!(e.is_err());
    }

    #[test]
    fn the_per_chain_scan_cursor_gives_way_to_indexer_cursors() {
        // A store as version 2 left it: a scan cursor per chain and transfers found.
        let (_dir, path, conn) = store_at(2);
        conn.execute_batch(
            "INSERT INTO chain_scans VALUES (31337, 40);
             INSERT INTO chain_transfers VALUES (31337, '0x01', 0, 12, '0xa', '0xb', 'ETH', 'ETH', 18, '5');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path, &key(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let count = |sql: &str| -> i64 { store.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT count(*) FROM sqlite_master WHERE name = 'chain_scans'"),
            0
        );
        // Activity re-reads (no cursor carried over); what it found before is kept until then.
        assert_eq!(count("SELECT count(*) FROM index_cursors"), 0);
        assert_eq!(count("SELECT count(*) FROM chain_transfers"), 1);
    }

    #[test]
    fn messages_keep_their_ids_and_text_and_take_tool_calls() {
        let (_dir, path, conn) = store_at(8);
        conn.execute_batch(
            "INSERT INTO conversations VALUES (1, 'u', 't', '', '', 0, 0);
             INSERT INTO messages VALUES (5, 1, 'user', 'hi', NULL, NULL, NULL, 0),
                                         (9, 1, 'assistant', 'hello', 3, NULL, NULL, 1);",
        )
        .unwrap();
        assert!(
            conn.execute(
                "INSERT INTO messages VALUES (10, 1, 'tool', '{}', NULL, NULL, NULL, 2)",
                []
            )
            .is_err(),
            "version 8 has no tool role"
        );
        drop(conn);
        let mut store = Store::open(&path, &key(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let m = store.messages(1).unwrap();
        assert_eq!(
            m.iter()
                .map(|m| (m.id, m.text.as_str()))
                .collect::<Vec<_>>(),
            [(5, "hi"), (9, "hello")]
        );
        store
            .add_message(
                1,
                &crate::store::NewMessage {
                    role: crate::store::Role::Tool,
                    text: r#"{"name":"balances"}"#,
                    timings: Default::default(),
                },
            )
            .unwrap();
        assert_eq!(store.messages(1).unwrap()[2].role, crate::store::Role::Tool);
        // Deleting the conversation still takes its messages (the foreign key came along).
        store.delete_conversation(1).unwrap();
        let left: i64 = store
            .conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn the_market_is_read_again_for_its_block_times() {
        let (_dir, path, conn) = store_at(6);
        conn.execute_batch(
            "INSERT INTO index_cursors (chain_id, indexer, addresses, origin, next_block)
               VALUES (1, 'market', 'm', 5, 900), (1, 'activity', 'a', 5, 900);",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path, &key(1)).unwrap();
        let indexers: Vec<String> = store
            .conn
            .prepare("SELECT indexer FROM index_cursors")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(indexers, ["activity"]);
        assert!(
            store
                .market_block_times(1, alloy::primitives::Address::ZERO)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn newer_schema_is_refused_and_left_alone() {
        let (dir, store) = temp_store();
        store
            .conn
            .pragma_update(None, "user_version", i64::from(SCHEMA_VERSION) + 1)
            .unwrap();
        drop(store);
        let path = dir.path().join("keybot.db");
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path, &key(1)).unwrap_err();
        assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
        assert!(
            err.to_string().contains("newer than this keybot knows"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
