//! Encrypted backup archives of the store: every conversation with its messages, the sale
//! vault's items with the user's decisions on them, and the settings, under the BIP-85 backup
//! key.
//!
//! The key comes from the seed phrase alone, so on a new machine `keybot init --import` of the
//! same phrase and `keybot backup import FILE` bring the history back; no password or file from
//! the old machine is needed.
//!
//! File layout (all integers big-endian):
//!
//! ```text
//! magic "KBBACKUP" (8) | version 1 (1) | nonce (24) | ciphertext length (8)   <- header
//! XChaCha20-Poly1305(key, nonce, JSON archive, aad = header)                 <- body + tag
//! SHA-256 of everything above (32)                                          <- trailer
//! ```
//!
//! The AEAD authenticates the header and the body under the key. The unkeyed SHA-256 trailer
//! only tells damage from a wrong key: a file that hashes correctly but does not decrypt was
//! sealed under a different key, that is, made from a different recovery phrase.
use std::collections::BTreeMap;
use std::path::Path;

use keybot_keystore::sealed;
use keybot_keystore::secret::Secret32;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::conversations::Role;
use super::{Result, Store, now_ms};

const MAGIC: &[u8; 8] = b"KBBACKUP";
const VERSION: u8 = 1;
const NONCE_LEN: usize = sealed::NONCE_LEN;
const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_LEN + 8;
const TAG_LEN: usize = sealed::TAG_LEN;
const TRAILER_LEN: usize = sealed::DIGEST_LEN;
/// Far above any real chat history; refuses to read a multi-gigabyte file into memory.
const MAX_FILE_LEN: u64 = 1 << 30;

/// Why a backup could not be written or read. One line each.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} is not a keybot backup")]
    NotABackup(String),
    #[error(
        "{file} is a keybot backup of format {found}; this keybot reads format {VERSION}: upgrade keybot"
    )]
    UnsupportedVersion { file: String, found: u8 },
    #[error("{0} is truncated or damaged; nothing was imported")]
    Damaged(String),
    #[error(
        "{0} was made from a different recovery phrase (the backup key does not open it); nothing was imported"
    )]
    WrongKey(String),
    #[error("{0} is larger than any keybot backup (over 1 GiB); refusing to read it")]
    TooLarge(String),
    #[error("{0}")]
    Io(String),
}

/// What an archive holds: the store's content, with cross-machine conversation ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archive {
    /// Unix milliseconds when the archive was made.
    pub created_at: i64,
    pub conversations: Vec<ArchivedConversation>,
    pub settings: BTreeMap<String, String>,
    /// The sale vault (absent in archives from before it: an empty vault). Consents are not
    /// carried: a consent names the item's local id, which the importing store hands out anew,
    /// so the user consents again there.
    #[serde(default)]
    pub vault: Vec<ArchivedVaultItem>,
    /// The seller's listing secrets (content key and ciphertext), so a restored seller keeps
    /// delivering (MARKET.md "restore on a new machine"). Absent in older archives.
    #[serde(default)]
    pub listings: Vec<ArchivedListing>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedListing {
    pub content_hash: String,
    pub chain_id: u64,
    pub market: String,
    pub item_id: i64,
    pub seller: String,
    pub content_key: ArchivedKey,
    /// Base64.
    pub ciphertext: String,
    pub uri: String,
    pub listing_id: Option<u64>,
}

/// A content key in an archive: hex, wiped with the archive. Read without an intermediate
/// copy (the decrypted archive itself is a zeroizing buffer).
#[derive(Clone)]
pub struct ArchivedKey(pub Secret32);

impl std::fmt::Debug for ArchivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArchivedKey(<redacted>)")
    }
}

impl PartialEq for ArchivedKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle_free_eq::eq;
        eq(self.0.expose(), other.0.expose())
    }
}
impl Eq for ArchivedKey {}

/// Constant-time enough for tests' equality of archives: no early exit on the first byte.
mod subtle_free_eq {
    pub fn eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Serialize for ArchivedKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.0.to_hex().as_str())
    }
}

impl<'de> Deserialize<'de> for ArchivedKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ArchivedKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a 32-byte key in hex")
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<ArchivedKey, E> {
                let mut key = Zeroizing::new([0u8; 32]);
                hex::decode_to_slice(v, key.as_mut())
                    .map_err(|_| E::custom("a content key is 64 hex digits"))?;
                Ok(ArchivedKey(Secret32::new(*key)))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedVaultItem {
    pub uid: String,
    pub title: String,
    pub source: String,
    pub text: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub decisions: Vec<ArchivedDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedDecision {
    /// "keep" or "redact".
    pub action: String,
    pub start: usize,
    pub end: usize,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedConversation {
    pub uid: String,
    pub title: String,
    pub system_prompt: String,
    pub model: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub messages: Vec<ArchivedMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedMessage {
    pub role: Role,
    pub text: String,
    pub tokens: Option<u32>,
    pub prompt_ms: Option<u32>,
    pub gen_ms: Option<u32>,
    pub created_at: i64,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub conversations_added: usize,
    pub messages_added: usize,
    /// Conversations the store already had (same uid); left as they are.
    pub conversations_present: usize,
    pub settings_added: usize,
    /// Settings the store already had; the local value is kept.
    pub settings_present: usize,
    pub vault_items_added: usize,
    /// Vault items the store already had (same uid); left as they are.
    pub vault_items_present: usize,
    pub listings_added: usize,
    /// Listing secrets the store already had (same content hash).
    pub listings_present: usize,
}

impl Store {
    /// Everything the store holds, as an archive.
    pub fn to_archive(&self) -> Result<Archive> {
        let mut conversations = Vec::new();
        for c in self.list_conversations()? {
            let messages = self
                .messages(c.id)?
                .into_iter()
                .map(|m| ArchivedMessage {
                    role: m.role,
                    text: m.text,
                    tokens: m.timings.tokens,
                    prompt_ms: m.timings.prompt_ms,
                    gen_ms: m.timings.gen_ms,
                    created_at: m.created_at,
                })
                .collect();
            conversations.push(ArchivedConversation {
                uid: c.uid,
                title: c.title,
                system_prompt: c.system_prompt,
                model: c.model,
                created_at: c.created_at,
                updated_at: c.updated_at,
                messages,
            });
        }
        // Oldest first, so an import gives local ids in the original order.
        conversations.reverse();
        let mut vault = Vec::new();
        for item in self.vault_items()? {
            let decisions = self
                .vault_decisions(item.id)?
                .into_iter()
                .map(|d| ArchivedDecision {
                    action: d.action.as_str().into(),
                    start: d.start,
                    end: d.end,
                    kind: d.kind,
                })
                .collect();
            vault.push(ArchivedVaultItem {
                uid: item.uid,
                title: item.title,
                source: item.source,
                text: item.text,
                created_at: item.created_at,
                updated_at: item.updated_at,
                decisions,
            });
        }
        let listings = self
            .all_listing_secrets()?
            .into_iter()
            .map(|l| ArchivedListing {
                content_hash: format!("{:#x}", l.content_hash),
                chain_id: l.chain_id,
                market: l.market.to_checksum(None),
                item_id: l.item_id,
                seller: l.seller.to_checksum(None),
                content_key: ArchivedKey(l.content_key),
                ciphertext: base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    &l.ciphertext,
                ),
                uri: l.uri,
                listing_id: l.listing_id,
            })
            .collect();
        Ok(Archive {
            created_at: now_ms(),
            conversations,
            settings: self.settings()?,
            vault,
            listings,
        })
    }

    /// Merges an archive into the store, in one transaction (all of it or nothing).
    ///
    /// A conversation is the same conversation when its `uid` is the same (uids are random and
    /// travel with backups, unlike local ids, which two machines hand out independently; a
    /// title and a creation time can collide or be renamed). One already present is left as it
    /// is, so importing the same backup twice adds nothing. A setting already present keeps its
    /// local value: settings such as GPU layers belong to the machine.
    pub fn import_archive(&mut self, archive: &Archive) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        let tx = self.conn.transaction()?;
        import_conversations(&tx, &archive.conversations, &mut report)?;
        import_vault(&tx, &archive.vault, &mut report)?;
        import_listings(&tx, &archive.listings, &mut report)?;
        import_settings(&tx, &archive.settings, &mut report)?;
        tx.commit()?;
        Ok(report)
    }
}

/// Whether `sql` (a query of one `?1` parameter) finds a row for `key`.
fn tx_has_row(tx: &rusqlite::Transaction<'_>, sql: &str, key: &str) -> Result<bool> {
    Ok(tx.query_row(sql, [key], |_| Ok(())).optional()?.is_some())
}

fn tx_has_listing(tx: &rusqlite::Transaction<'_>, content_hash: &str) -> Result<bool> {
    tx_has_row(
        tx,
        "SELECT 1 FROM market_listings WHERE content_hash = ?1",
        content_hash,
    )
}

/// The archive's conversations the store does not have yet (by uid), each with its messages.
fn import_conversations(
    tx: &rusqlite::Transaction<'_>,
    conversations: &[ArchivedConversation],
    report: &mut ImportReport,
) -> Result<()> {
    for c in conversations {
        if tx_has_row(tx, "SELECT id FROM conversations WHERE uid = ?1", &c.uid)? {
            report.conversations_present += 1;
            continue;
        }
        report.messages_added += insert_conversation(tx, c)?;
        report.conversations_added += 1;
    }
    Ok(())
}

/// Inserts a conversation with its messages; returns how many messages.
fn insert_conversation(tx: &rusqlite::Transaction<'_>, c: &ArchivedConversation) -> Result<usize> {
    tx.execute(
        "INSERT INTO conversations (uid, title, system_prompt, model, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            c.uid,
            c.title,
            c.system_prompt,
            c.model,
            c.created_at,
            c.updated_at
        ],
    )?;
    let id = tx.last_insert_rowid();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO messages
           (conversation_id, role, text, tokens, prompt_ms, gen_ms, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for m in &c.messages {
        stmt.execute(params![
            id,
            m.role.as_str(),
            m.text,
            m.tokens,
            m.prompt_ms,
            m.gen_ms,
            m.created_at
        ])?;
    }
    Ok(c.messages.len())
}

/// The archive's sale-vault items the store does not have yet (by uid), each with the decisions
/// this build knows.
fn import_vault(
    tx: &rusqlite::Transaction<'_>,
    items: &[ArchivedVaultItem],
    report: &mut ImportReport,
) -> Result<()> {
    for item in items {
        if tx_has_row(tx, "SELECT id FROM vault_items WHERE uid = ?1", &item.uid)? {
            report.vault_items_present += 1;
            continue;
        }
        // The vault's invariant (its text prints as it is, with no control character) is
        // checked, not assumed, for text from another machine.
        if crate::sanitize::clean(&item.text) != item.text.as_str() {
            continue;
        }
        insert_vault_item(tx, item)?;
        report.vault_items_added += 1;
    }
    Ok(())
}

fn insert_vault_item(tx: &rusqlite::Transaction<'_>, item: &ArchivedVaultItem) -> Result<()> {
    tx.execute(
        "INSERT INTO vault_items (uid, title, source, text, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            item.uid,
            item.title,
            item.source,
            item.text,
            item.created_at,
            item.updated_at
        ],
    )?;
    let id = tx.last_insert_rowid();
    for d in item.decisions.iter().filter(|d| decision_known(d)) {
        tx.execute(
            "INSERT OR IGNORE INTO vault_decisions (item_id, action, start, end, kind, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, d.action, d.start as i64, d.end as i64, d.kind, now_ms()],
        )?;
    }
    Ok(())
}

/// An archive is from another machine: a decision this build does not know (another action, an
/// empty or reversed span) is dropped, and the span is then removed, the safe side; it is not
/// trusted.
fn decision_known(d: &ArchivedDecision) -> bool {
    matches!(d.action.as_str(), "keep" | "redact") && d.start < d.end
}

/// The archive's listing secrets the store does not have yet (by content hash).
fn import_listings(
    tx: &rusqlite::Transaction<'_>,
    listings: &[ArchivedListing],
    report: &mut ImportReport,
) -> Result<()> {
    for l in listings {
        // A row that does not parse is skipped: it came authenticated under the user's key,
        // but is still checked, not assumed.
        let Some(secret) = listing_secret(l) else {
            continue;
        };
        if tx_has_listing(tx, &l.content_hash)? {
            report.listings_present += 1;
            continue;
        }
        super::market::insert_listing_secret(tx, &secret)?;
        report.listings_added += 1;
    }
    Ok(())
}

/// An archived listing secret parsed as this machine would write it; `None` when a part does not
/// parse.
fn listing_secret(l: &ArchivedListing) -> Option<super::ListingSecret> {
    Some(super::ListingSecret {
        content_hash: l.content_hash.parse().ok()?,
        chain_id: l.chain_id,
        market: l.market.parse().ok()?,
        item_id: l.item_id,
        seller: l.seller.parse().ok()?,
        content_key: l.content_key.0.clone(),
        ciphertext: base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &l.ciphertext,
        )
        .ok()?,
        uri: l.uri.clone(),
        listing_id: l.listing_id,
        created_at: 0,
    })
}

/// The archive's settings the store does not have yet; one it has keeps its local value.
fn import_settings(
    tx: &rusqlite::Transaction<'_>,
    settings: &BTreeMap<String, String>,
    report: &mut ImportReport,
) -> Result<()> {
    for (k, v) in settings {
        let n = tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            params![k, v],
        )?;
        if n > 0 {
            report.settings_added += 1;
        } else {
            report.settings_present += 1;
        }
    }
    Ok(())
}

/// Encrypts an archive under the backup key.
pub fn seal(archive: &Archive, key: &Secret32) -> Result<Vec<u8>, BackupError> {
    let plaintext = Zeroizing::new(
        serde_json::to_vec(archive)
            .map_err(|e| BackupError::Io(format!("cannot encode the backup: {e}")))?,
    );
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| BackupError::Io(format!("cannot get random bytes: {e}")))?;
    let ct_len = plaintext.len() + sealed::TAG_LEN;
    let mut out = Vec::with_capacity(HEADER_LEN + ct_len + sealed::DIGEST_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&(ct_len as u64).to_be_bytes());
    sealed::seal_into(&mut out, &nonce, &plaintext, key)
        .map_err(|_| BackupError::Io("cannot encrypt the backup".into()))?;
    Ok(out)
}

/// Decrypts and decodes backup bytes; `name` is how errors refer to the file.
pub fn unseal(bytes: &[u8], key: &Secret32, name: &str) -> Result<Archive, BackupError> {
    let nonce = check_frame(bytes, name)?;
    // The unkeyed checksum before the key: a file that fails it is damaged, and only one that
    // passes and still does not open was sealed under another key.
    if !sealed::digest_ok(bytes) {
        return Err(BackupError::Damaged(name.to_owned()));
    }
    let plaintext = sealed::open(bytes, HEADER_LEN, nonce, key)
        .ok_or_else(|| BackupError::WrongKey(name.to_owned()))?;
    // Authentic but undecodable means a bug on the writing side, not an attacker; still one line.
    serde_json::from_slice(&plaintext)
        .map_err(|e| BackupError::Io(format!("{name}: the backup's content cannot be read: {e}")))
}

/// The nonce of `bytes` whose frame holds together: the magic, a format this keybot reads, and
/// a ciphertext length that accounts for every byte between the header and the trailer.
fn check_frame<'a>(bytes: &'a [u8], name: &str) -> Result<&'a [u8], BackupError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(BackupError::NotABackup(name.to_owned()));
    }
    if bytes.len() < HEADER_LEN {
        return Err(BackupError::Damaged(name.to_owned()));
    }
    let version = bytes[MAGIC.len()];
    if version != VERSION {
        return Err(BackupError::UnsupportedVersion {
            file: name.to_owned(),
            found: version,
        });
    }
    let nonce = &bytes[MAGIC.len() + 1..MAGIC.len() + 1 + NONCE_LEN];
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&bytes[HEADER_LEN - 8..HEADER_LEN]);
    let ct_len = u64::from_be_bytes(len_bytes);
    let expected = (HEADER_LEN as u64)
        .checked_add(ct_len)
        .and_then(|n| n.checked_add(TRAILER_LEN as u64));
    if expected != Some(bytes.len() as u64) || (ct_len as usize) < TAG_LEN {
        return Err(BackupError::Damaged(name.to_owned()));
    }
    Ok(nonce)
}

/// Writes the whole store to `file`, encrypted under `key`. The file is created 0600,
/// atomically, and never replaces an existing file.
pub fn export_to_file(store: &Store, key: &Secret32, file: &Path) -> Result<Archive> {
    let archive = store.to_archive()?;
    let bytes = seal(&archive, key)?;
    keybot_keystore::atomic::create_private(file, &bytes)
        .map_err(|e| BackupError::Io(e.to_string()))?;
    Ok(archive)
}

/// Reads and decrypts `file` without touching any store (check it before opening one).
pub fn read_file(key: &Secret32, file: &Path) -> Result<Archive, BackupError> {
    let name = file.display().to_string();
    let meta =
        std::fs::metadata(file).map_err(|e| BackupError::Io(format!("cannot read {name}: {e}")))?;
    if meta.len() > MAX_FILE_LEN {
        return Err(BackupError::TooLarge(name));
    }
    // The size was checked above, but a FIFO or a character device reports 0: the read itself
    // is bounded too.
    let bytes = keybot_keystore::atomic::read_limited(file, MAX_FILE_LEN).map_err(|e| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            BackupError::TooLarge(name.clone())
        } else {
            BackupError::Io(format!("cannot read {name}: {e}"))
        }
    })?;
    unseal(&bytes, key, &name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{key, temp_store};
    use crate::store::{NewMessage, Timings};
    use sha2::{Digest, Sha256};

    fn sample() -> Archive {
        let (_dir, mut store) = temp_store();
        let c = store.create_conversation("t", "sys", "m").unwrap();
        store
            .add_message(
                c.id,
                &NewMessage {
                    role: Role::User,
                    text: "hi",
                    timings: Timings::default(),
                },
            )
            .unwrap();
        // A bot's tool call travels with its conversation (encrypted like the rest).
        store
            .add_message(
                c.id,
                &NewMessage {
                    role: Role::Tool,
                    text: r#"{"name":"balances","arguments":{},"result":{}}"#,
                    timings: Timings::default(),
                },
            )
            .unwrap();
        store.set_setting("theme", "dark").unwrap();
        store.to_archive().unwrap()
    }

    #[test]
    fn seal_unseal_round_trip() {
        let a = sample();
        let bytes = seal(&a, &key(9)).unwrap();
        assert_eq!(unseal(&bytes, &key(9), "f").unwrap(), a);
        // Fresh nonce per seal: two exports of the same data differ.
        assert_ne!(seal(&a, &key(9)).unwrap(), bytes);
    }

    #[test]
    fn wrong_key_and_damage_are_told_apart() {
        let bytes = seal(&sample(), &key(9)).unwrap();
        assert!(matches!(
            unseal(&bytes, &key(8), "f"),
            Err(BackupError::WrongKey(_))
        ));
        for i in [
            MAGIC.len() + 1,
            HEADER_LEN - 1,
            HEADER_LEN + 3,
            bytes.len() - 1,
        ] {
            let mut b = bytes.clone();
            b[i] ^= 0x80;
            assert!(
                matches!(unseal(&b, &key(9), "f"), Err(BackupError::Damaged(_))),
                "byte {i}"
            );
        }
        for n in [0, 3, HEADER_LEN, bytes.len() - 1] {
            assert!(unseal(&bytes[..n], &key(9), "f").is_err(), "length {n}");
        }
        let mut v = bytes.clone();
        v[MAGIC.len()] = 2;
        assert!(matches!(
            unseal(&v, &key(9), "f"),
            Err(BackupError::UnsupportedVersion { found: 2, .. })
        ));
        // A header rewritten to match a forged checksum still fails the AEAD (the header is
        // authenticated data), which reads as a wrong key rather than being accepted.
        let mut v = bytes.clone();
        v[MAGIC.len() + 1] ^= 1;
        let end = v.len() - TRAILER_LEN;
        let digest = Sha256::digest(&v[..end]);
        v[end..].copy_from_slice(&digest);
        assert!(matches!(
            unseal(&v, &key(9), "f"),
            Err(BackupError::WrongKey(_))
        ));
    }

    #[test]
    fn import_merges_by_uid_and_keeps_local_settings() {
        let archive = sample();
        let (_dir, mut store) = temp_store();
        let mine = store.create_conversation("mine", "", "").unwrap();
        store.set_setting("theme", "light").unwrap();

        let r = store.import_archive(&archive).unwrap();
        assert_eq!(
            r,
            ImportReport {
                conversations_added: 1,
                messages_added: 2,
                conversations_present: 0,
                settings_added: 0,
                settings_present: 1,
                ..ImportReport::default()
            }
        );
        assert_eq!(store.setting("theme").unwrap().as_deref(), Some("light"));
        let list = store.list_conversations().unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().any(|c| c.id == mine.id));
        let imported = store
            .conversation_by_uid(&archive.conversations[0].uid)
            .unwrap()
            .unwrap();
        assert_eq!(
            (imported.title.as_str(), imported.system_prompt.as_str()),
            ("t", "sys")
        );
        let roles: Vec<Role> = store
            .messages(imported.id)
            .unwrap()
            .iter()
            .map(|m| m.role)
            .collect();
        assert_eq!(roles, [Role::User, Role::Tool]);

        // The same archive again: nothing new, even after a local rename.
        store
            .rename_conversation(imported.id, "renamed here")
            .unwrap();
        let r = store.import_archive(&archive).unwrap();
        assert_eq!((r.conversations_added, r.conversations_present), (0, 1));
        assert_eq!(store.list_conversations().unwrap().len(), 2);
        assert_eq!(
            store.conversation(imported.id).unwrap().title,
            "renamed here"
        );
    }

    #[test]
    fn the_sale_vault_travels_with_its_decisions_but_not_its_consents() {
        use crate::store::{Action, Consent, Decision};
        let (_dir, store) = temp_store();
        let item = store
            .add_vault_item("note", "file n.txt", "mail a@b.example")
            .unwrap();
        let keep = Decision {
            action: Action::Keep,
            start: 5,
            end: 16,
            kind: "email".into(),
        };
        store
            .decide_vault_spans(item.id, &[], std::slice::from_ref(&keep))
            .unwrap();
        let consent = Consent {
            account: "0x0000000000000000000000000000000000000001".into(),
            sha256: "00".repeat(32),
            time: 1,
            signature: "0x00".into(),
        };
        store.set_vault_consent(item.id, &consent).unwrap();
        let mut archive = store.to_archive().unwrap();
        // An item whose text would print a control character is not imported.
        let mut hostile = archive.vault[0].clone();
        hostile.uid = "other".into();
        hostile.text = "\x1b]52;c;AAAA\x07".into();
        archive.vault.push(hostile);

        let (_dir2, mut other) = temp_store();
        other.add_vault_item("first", "file x", "x").unwrap();
        let r = other.import_archive(&archive).unwrap();
        assert_eq!((r.vault_items_added, r.vault_items_present), (1, 0));
        let items = other.vault_items().unwrap();
        assert_eq!(items.len(), 2);
        let imported = &items[1];
        assert_eq!(
            (imported.uid.as_str(), imported.text.as_str()),
            (item.uid.as_str(), item.text.as_str())
        );
        assert_eq!(other.vault_decisions(imported.id).unwrap(), vec![keep]);
        assert_eq!(other.vault_consent(imported.id).unwrap(), None);
        let again = other.import_archive(&archive).unwrap();
        assert_eq!((again.vault_items_added, again.vault_items_present), (0, 1));
        // An archive from before the vault has no `vault` field and still reads.
        let mut old = serde_json::to_value(&archive).unwrap();
        old.as_object_mut().unwrap().remove("vault");
        let old: Archive = serde_json::from_value(old).unwrap();
        assert!(old.vault.is_empty());
    }

    #[test]
    fn listing_secrets_travel_once_and_a_row_that_does_not_parse_stays_behind() {
        use crate::store::ListingSecret;
        use alloy::primitives::{Address, B256};
        let (_dir, store) = temp_store();
        let secret = |n: u8| ListingSecret {
            content_hash: B256::repeat_byte(n),
            chain_id: 31337,
            market: Address::repeat_byte(0x11),
            item_id: 4,
            seller: Address::repeat_byte(0x22),
            content_key: Secret32::new([n; 32]),
            ciphertext: b"KBM1...".to_vec(),
            uri: String::new(),
            listing_id: Some(u64::from(n)),
            created_at: 0,
        };
        store.save_listing_secret(&secret(1)).unwrap();
        store.save_listing_secret(&secret(2)).unwrap();
        let mut archive = store.to_archive().unwrap();
        assert_eq!(archive.listings.len(), 2);
        // Damaged rows (authentic, but not what this machine writes) are skipped, not counted.
        for (i, field) in ["content_hash", "market", "seller", "ciphertext"]
            .into_iter()
            .enumerate()
        {
            let mut bad = archive.listings[0].clone();
            bad.content_hash = format!("{:#x}", B256::repeat_byte(0x30 + i as u8));
            match field {
                "content_hash" => bad.content_hash = "0xnothex".into(),
                "market" => bad.market = "nowhere".into(),
                "seller" => bad.seller = "0x12".into(),
                _ => bad.ciphertext = "not base64!".into(),
            }
            archive.listings.push(bad);
        }

        let (_dir2, mut other) = temp_store();
        other.save_listing_secret(&secret(2)).unwrap();
        let r = other.import_archive(&archive).unwrap();
        assert_eq!((r.listings_added, r.listings_present), (1, 1));
        let back = other.listing_secret(B256::repeat_byte(1)).unwrap().unwrap();
        assert_eq!(
            (back.item_id, back.listing_id, back.ciphertext.as_slice()),
            (4, Some(1), &b"KBM1..."[..])
        );
        assert_eq!(back.content_key.expose(), &[1; 32]);
        assert_eq!(other.all_listing_secrets().unwrap().len(), 2);
        let again = other.import_archive(&archive).unwrap();
        assert_eq!((again.listings_added, again.listings_present), (0, 2));
    }
}
