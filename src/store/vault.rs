//! The sale vault's rows: items (copies of a conversation or a file), the user's decisions on
//! their spans, and their consents. What the detectors find is not stored: it is computed from
//! `text` (market::vault), so a better detector applies to old items too.
use rusqlite::{OptionalExtension, Row, params};

use super::conversations::new_uid;
use super::{Error, Result, Store, now_ms};

/// The local id of a vault item; also the id in its consent statement.
pub type ItemId = i64;

/// An item in the sale vault.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultItem {
    pub id: ItemId,
    /// Random and stable across machines, as a conversation's.
    pub uid: String,
    pub title: String,
    /// Where it came from, for the user: `chat 12` or `file notes.txt`.
    pub source: String,
    /// The copy, unredacted: private data, never logged.
    pub text: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last decision.
    pub updated_at: i64,
}

impl std::fmt::Debug for VaultItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text is what the vault protects: its size only.
        f.debug_struct("VaultItem")
            .field("id", &self.id)
            .field("title", &self.title)
            .field("source", &self.source)
            .field("bytes", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// What the user decided about a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// A detected span that is not sensitive: shown to the buyer.
    Keep,
    /// A span the detectors missed: removed.
    Redact,
}

impl Action {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Redact => "redact",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        match s {
            "keep" => Some(Action::Keep),
            "redact" => Some(Action::Redact),
            _ => None,
        }
    }
}

/// One decision: a byte range of the item's text, and the kind (a `keybot_redact::Kind` key)
/// it was shown as.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decision {
    pub action: Action,
    pub start: usize,
    pub end: usize,
    pub kind: String,
}

/// A signed consent to offer the exact bytes whose SHA-256 is `sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The signing account's address (0x…, checksummed).
    pub account: String,
    /// Hex SHA-256 of the plaintext consented to.
    pub sha256: String,
    /// Unix seconds, as in the statement.
    pub time: i64,
    /// The EIP-191 signature, 0x-hex (65 bytes).
    pub signature: String,
}

const ITEM_COLUMNS: &str = "id, uid, title, source, text, created_at, updated_at";

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<VaultItem> {
    Ok(VaultItem {
        id: r.get(0)?,
        uid: r.get(1)?,
        title: r.get(2)?,
        source: r.get(3)?,
        text: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn offset(v: i64, column: usize) -> rusqlite::Result<usize> {
    usize::try_from(v).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Integer,
            format!("negative offset {v}").into(),
        )
    })
}

impl Store {
    /// Adds an item holding a copy of `text`.
    pub fn add_vault_item(&self, title: &str, source: &str, text: &str) -> Result<VaultItem> {
        let now = now_ms();
        self.conn.execute(
            "INSERT INTO vault_items (uid, title, source, text, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![new_uid()?, title, source, text, now],
        )?;
        self.vault_item(self.conn.last_insert_rowid())
    }

    /// One item; [`Error::NoVaultItem`] if there is none with this id.
    pub fn vault_item(&self, id: ItemId) -> Result<VaultItem> {
        self.conn
            .query_row(
                &format!("SELECT {ITEM_COLUMNS} FROM vault_items WHERE id = ?1"),
                [id],
                item_from_row,
            )
            .optional()?
            .ok_or(Error::NoVaultItem(id))
    }

    /// Every item, oldest first (ids in the order they were added).
    pub fn vault_items(&self) -> Result<Vec<VaultItem>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM vault_items ORDER BY id"
        ))?;
        let rows = stmt.query_map([], item_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The item's decisions, by position in the text.
    pub fn vault_decisions(&self, id: ItemId) -> Result<Vec<Decision>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT action, start, end, kind FROM vault_decisions WHERE item_id = ?1
             ORDER BY start, end, action",
        )?;
        let rows = stmt.query_map([id], |r| {
            let action: String = r.get(0)?;
            Ok(Decision {
                action: Action::parse(&action).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        format!("unknown action {action:?}").into(),
                    )
                })?,
                start: offset(r.get(1)?, 1)?,
                end: offset(r.get(2)?, 2)?,
                kind: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records decisions and withdraws the item's consent, in one transaction: the bytes the
    /// consent named are no longer the bytes on offer. `undo` are decisions taken back (a
    /// span kept, then removed again) and are deleted first.
    pub fn decide_vault_spans(
        &self,
        id: ItemId,
        undo: &[Decision],
        add: &[Decision],
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        let touched = tx.execute(
            "UPDATE vault_items SET updated_at = ?1 WHERE id = ?2",
            params![now_ms(), id],
        )?;
        if touched == 0 {
            return Err(Error::NoVaultItem(id));
        }
        for d in undo {
            tx.execute(
                "DELETE FROM vault_decisions
                 WHERE item_id = ?1 AND action = ?2 AND start = ?3 AND end = ?4",
                params![id, d.action.as_str(), d.start as i64, d.end as i64],
            )?;
        }
        for d in add {
            tx.execute(
                "INSERT OR REPLACE INTO vault_decisions (item_id, action, start, end, kind, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, d.action.as_str(), d.start as i64, d.end as i64, d.kind, now_ms()],
            )?;
        }
        tx.execute("DELETE FROM vault_consents WHERE item_id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Stores (replacing) the item's consent.
    pub fn set_vault_consent(&self, id: ItemId, consent: &Consent) -> Result<()> {
        self.vault_item(id)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO vault_consents (item_id, account, sha256, time, signature)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                consent.account,
                consent.sha256,
                consent.time,
                consent.signature
            ],
        )?;
        Ok(())
    }

    /// The item's consent, if it has one.
    pub fn vault_consent(&self, id: ItemId) -> Result<Option<Consent>> {
        Ok(self
            .conn
            .query_row(
                "SELECT account, sha256, time, signature FROM vault_consents WHERE item_id = ?1",
                [id],
                |r| {
                    Ok(Consent {
                        account: r.get(0)?,
                        sha256: r.get(1)?,
                        time: r.get(2)?,
                        signature: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Deletes the item with its decisions and consent. The store runs with `secure_delete`,
    /// so the text is overwritten in the file, not just unlinked.
    pub fn delete_vault_item(&self, id: ItemId) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM vault_items WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::NoVaultItem(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    fn decision(action: Action, start: usize, end: usize) -> Decision {
        Decision {
            action,
            start,
            end,
            kind: "email".into(),
        }
    }

    fn consent() -> Consent {
        Consent {
            account: "0x0000000000000000000000000000000000000001".into(),
            sha256: "00".repeat(32),
            time: 1,
            signature: "0x00".into(),
        }
    }

    #[test]
    fn an_item_is_a_copy_with_its_decisions_and_consent() {
        let (_dir, store) = temp_store();
        let item = store
            .add_vault_item("notes", "file notes.txt", "mail me at a@b.c")
            .unwrap();
        assert_eq!(store.vault_items().unwrap(), vec![item.clone()]);
        assert_eq!(store.vault_item(item.id).unwrap().text, "mail me at a@b.c");
        store
            .decide_vault_spans(item.id, &[], &[decision(Action::Keep, 11, 16)])
            .unwrap();
        store.set_vault_consent(item.id, &consent()).unwrap();
        assert_eq!(store.vault_consent(item.id).unwrap(), Some(consent()));
        assert_eq!(
            store.vault_decisions(item.id).unwrap(),
            vec![decision(Action::Keep, 11, 16)]
        );
    }

    #[test]
    fn a_new_decision_withdraws_the_consent() {
        let (_dir, store) = temp_store();
        let item = store.add_vault_item("t", "s", "text").unwrap();
        store.set_vault_consent(item.id, &consent()).unwrap();
        store
            .decide_vault_spans(item.id, &[], &[decision(Action::Redact, 0, 2)])
            .unwrap();
        assert_eq!(store.vault_consent(item.id).unwrap(), None);
        store
            .decide_vault_spans(item.id, &[decision(Action::Redact, 0, 2)], &[])
            .unwrap();
        assert!(store.vault_decisions(item.id).unwrap().is_empty());
    }

    #[test]
    fn removing_an_item_removes_its_rows_and_an_unknown_id_is_an_error() {
        let (_dir, store) = temp_store();
        let item = store.add_vault_item("t", "s", "text").unwrap();
        store
            .decide_vault_spans(item.id, &[], &[decision(Action::Keep, 0, 1)])
            .unwrap();
        store.set_vault_consent(item.id, &consent()).unwrap();
        store.delete_vault_item(item.id).unwrap();
        assert!(matches!(
            store.vault_item(item.id),
            Err(Error::NoVaultItem(_))
        ));
        assert!(store.vault_decisions(item.id).unwrap().is_empty());
        assert_eq!(store.vault_consent(item.id).unwrap(), None);
        assert!(matches!(
            store.delete_vault_item(item.id),
            Err(Error::NoVaultItem(_))
        ));
        assert!(matches!(
            store.decide_vault_spans(99, &[], &[]),
            Err(Error::NoVaultItem(99))
        ));
        // Ids are not reused: a consent names an item id, and a new item must not inherit it.
        let next = store.add_vault_item("t2", "s", "x").unwrap();
        assert!(next.id > item.id);
    }
}
