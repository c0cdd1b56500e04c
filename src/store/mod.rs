//! The encrypted local database: conversations, messages and settings (and, in later
//! migrations, the chain and market tables).
//!
//! One SQLite file, `<data_dir>/keybot.db`, encrypted page by page with SQLCipher under the
//! BIP-85 database key (ARCHITECTURE §2). Without the seed phrase the file is noise: no table
//! names, no message text. [`backup`] writes and reads encrypted archives of the same data under
//! the BIP-85 backup key, so the phrase alone restores the history on another machine.
//!
//! The API is synchronous and blocking (SQLite is). The terminal app never calls it on its
//! event loop: its store lives on a thread of its own (`service::store_worker`), the chain
//! thread has its own connection, and unlocking opens and reads it in `spawn_blocking`. A
//! [`Store`] is `Send` but not `Sync`: one owner at a time.
mod chain;
mod conversations;
mod cursors;
mod error;
mod market;
mod migrate;
mod open;
mod proposals;
mod settings;
mod vault;

pub mod backup;

use std::path::{Path, PathBuf};

pub use chain::{AssetRef, Counterparties, SentCall, SentTx, Transfer, TxStatus};
pub use conversations::{
    Conversation, ConversationId, Message, MessageId, NewMessage, Role, Timings,
};
pub use cursors::{Cursor, CursorKey, address_set_key};
pub use error::{Error, Result};
pub use market::{ListingSecret, MarketEventRow};
pub use migrate::SCHEMA_VERSION;
pub use proposals::{ProposalState, QueuedProposal};
pub use vault::{Action, Consent, Decision, ItemId, VaultItem};

/// The file name of the store inside the data directory.
pub const FILE_NAME: &str = "keybot.db";

/// An open, unlocked store.
pub struct Store {
    conn: rusqlite::Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection holds the key; show only where the file is.
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file (equal to [`SCHEMA_VERSION`] once opened).
    pub fn schema_version(&self) -> Result<u32> {
        migrate::user_version(&self.conn)
    }
}

/// Milliseconds since the Unix epoch, the unit of every `*_at` column.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use keybot_keystore::secret::Secret32;

    pub fn key(n: u8) -> Secret32 {
        Secret32::new([n; 32])
    }

    /// A new store keyed with `key(1)` in a temporary directory.
    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join(FILE_NAME), &key(1)).unwrap();
        (dir, store)
    }

    fn user(text: &str) -> NewMessage<'_> {
        NewMessage {
            role: Role::User,
            text,
            timings: Timings::default(),
        }
    }

    fn assistant(text: &str) -> NewMessage<'_> {
        NewMessage {
            role: Role::Assistant,
            text,
            timings: Timings {
                tokens: Some(7),
                prompt_ms: Some(12),
                gen_ms: Some(340),
            },
        }
    }

    #[test]
    fn file_is_0600_and_has_no_plaintext() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, mut store) = temp_store();
        let c = store.create_conversation("secret title", "", "").unwrap();
        store
            .add_message(c.id, &user("the plaintext marker QX7"))
            .unwrap();
        drop(store);
        let path = dir.path().join(FILE_NAME);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let bytes = std::fs::read(&path).unwrap();
        for needle in [
            &b"QX7"[..],
            b"secret title",
            b"SQLite format 3",
            b"CREATE TABLE",
        ] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        }
        // At rest there is one file: the WAL was checkpointed and removed on close.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn wrong_key_is_refused_and_changes_nothing() {
        let (dir, store) = temp_store();
        store.create_conversation("a", "", "").unwrap();
        drop(store);
        let path = dir.path().join(FILE_NAME);
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path, &key(2)).unwrap_err();
        assert!(matches!(err, Error::WrongKeyOrNotADatabase(_)), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("wrong key or not a keybot database") && !msg.contains('\n'),
            "{msg}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = Store::open(&path, &key(1)).unwrap_err();
        assert!(matches!(err, Error::WrongKeyOrNotADatabase(_)), "{err}");
    }

    #[test]
    fn conversations_list_most_recent_first_and_rename_delete() {
        let (_dir, mut store) = temp_store();
        let a = store
            .create_conversation("first", "be brief", "qwen")
            .unwrap();
        // Equal timestamps sort by id, newest first: no wait needed for b to come first.
        let b = store.create_conversation("second", "", "").unwrap();
        let ids = |s: &Store| {
            s.list_conversations()
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&store), vec![b.id, a.id]);
        // Timestamps are in milliseconds: a message in the same millisecond as b's creation would
        // tie, and the tie goes to b. Wait for the clock to pass it (a condition, not a guess).
        let b_time = store.conversation(b.id).unwrap().updated_at;
        while now_ms() <= b_time {
            std::thread::yield_now();
        }
        store.add_message(a.id, &user("hello")).unwrap();
        assert_eq!(
            ids(&store),
            vec![a.id, b.id],
            "a new message moves a conversation up"
        );
        store.rename_conversation(b.id, "renamed").unwrap();
        store.set_system_prompt(b.id, "you are terse").unwrap();
        store.set_model(b.id, "tiny.gguf").unwrap();
        let b2 = store.conversation(b.id).unwrap();
        assert_eq!(
            (
                b2.title.as_str(),
                b2.system_prompt.as_str(),
                b2.model.as_str()
            ),
            ("renamed", "you are terse", "tiny.gguf")
        );
        assert_eq!(store.conversation(a.id).unwrap().system_prompt, "be brief");
        store.delete_conversation(a.id).unwrap();
        assert_eq!(ids(&store), vec![b.id]);
        assert!(matches!(
            store.messages(a.id),
            Err(Error::NoConversation(_))
        ));
        assert!(matches!(
            store.delete_conversation(a.id),
            Err(Error::NoConversation(_))
        ));
        assert!(matches!(
            store.rename_conversation(999, "x"),
            Err(Error::NoConversation(999))
        ));
        assert!(matches!(
            store.add_message(999, &user("x")),
            Err(Error::NoConversation(999))
        ));
    }

    #[test]
    fn deleting_a_conversation_deletes_its_messages() {
        let (_dir, mut store) = temp_store();
        let c = store.create_conversation("c", "", "").unwrap();
        store.add_message(c.id, &user("q")).unwrap();
        store.add_message(c.id, &assistant("a")).unwrap();
        store.delete_conversation(c.id).unwrap();
        let n: i64 = store
            .conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn messages_keep_order_roles_and_timings() {
        let (_dir, mut store) = temp_store();
        let c = store.create_conversation("c", "", "").unwrap();
        store.add_message(c.id, &user("2+2?")).unwrap();
        let a = store.add_message(c.id, &assistant("4")).unwrap();
        assert_eq!(
            a.timings,
            Timings {
                tokens: Some(7),
                prompt_ms: Some(12),
                gen_ms: Some(340)
            }
        );
        let ms = store.messages(c.id).unwrap();
        assert_eq!(
            ms.iter()
                .map(|m| (m.role, m.text.as_str()))
                .collect::<Vec<_>>(),
            vec![(Role::User, "2+2?"), (Role::Assistant, "4")]
        );
        assert_eq!(ms[0].timings, Timings::default());
    }

    #[test]
    fn regenerate_replaces_only_a_last_assistant_message() {
        let (_dir, mut store) = temp_store();
        let c = store.create_conversation("c", "", "").unwrap();
        store.add_message(c.id, &user("q")).unwrap();
        assert!(matches!(
            store.update_last_assistant(c.id, "x", Timings::default()),
            Err(Error::NoAssistantMessage)
        ));
        let a = store.add_message(c.id, &assistant("first answer")).unwrap();
        let t = Timings {
            tokens: Some(3),
            prompt_ms: None,
            gen_ms: Some(9),
        };
        let b = store
            .update_last_assistant(c.id, "second answer", t)
            .unwrap();
        assert_eq!(
            (b.id, b.text.as_str(), b.timings),
            (a.id, "second answer", t)
        );
        assert_eq!(store.messages(c.id).unwrap().len(), 2);
        assert!(matches!(
            store.update_last_assistant(999, "x", t),
            Err(Error::NoConversation(999))
        ));
    }

    #[test]
    fn delete_last_message_pops_one_at_a_time() {
        let (_dir, mut store) = temp_store();
        let c = store.create_conversation("c", "", "").unwrap();
        store.add_message(c.id, &user("q")).unwrap();
        store.add_message(c.id, &assistant("a")).unwrap();
        assert_eq!(
            store.delete_last_message(c.id).unwrap().map(|m| m.text),
            Some("a".into())
        );
        assert_eq!(
            store.delete_last_message(c.id).unwrap().map(|m| m.text),
            Some("q".into())
        );
        assert_eq!(store.delete_last_message(c.id).unwrap(), None);
        assert!(matches!(
            store.delete_last_message(999),
            Err(Error::NoConversation(999))
        ));
    }

    #[test]
    fn search_matches_message_text_and_titles_case_insensitively() {
        let (_dir, mut store) = temp_store();
        let a = store.create_conversation("Rust lifetimes", "", "").unwrap();
        let b = store.create_conversation("cooking", "", "").unwrap();
        store
            .add_message(b.id, &user("How long do I boil an EGG?"))
            .unwrap();
        store
            .add_message(a.id, &user("100% sure? snake_case"))
            .unwrap();
        let ids = |q: &str| {
            store
                .search_conversations(q)
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("egg"), vec![b.id]);
        assert_eq!(ids("LIFETIMES"), vec![a.id]);
        assert_eq!(ids("100%"), vec![a.id]);
        assert_eq!(
            ids("e_c"),
            vec![a.id],
            "_ matches literally (snake_case), not any character"
        );
        assert_eq!(ids("%"), vec![a.id]);
        assert!(ids("nothing like this").is_empty());
        assert_eq!(ids("").len(), 2);
    }

    #[test]
    fn settings_round_trip_and_typed_values() {
        let (_dir, store) = temp_store();
        assert_eq!(store.setting("theme").unwrap(), None);
        store.set_setting("theme", "dark").unwrap();
        store.set_setting("theme", "light").unwrap();
        assert_eq!(store.setting("theme").unwrap().as_deref(), Some("light"));
        store.set_setting_to("gpu_layers", 33u32).unwrap();
        assert_eq!(store.setting_as::<u32>("gpu_layers").unwrap(), Some(33));
        assert_eq!(store.setting_as::<u32>("missing").unwrap(), None);
        let err = store.setting_as::<u32>("theme").unwrap_err();
        assert!(matches!(err, Error::BadSetting { .. }), "{err}");
        assert_eq!(store.settings().unwrap().len(), 2);
        assert!(store.remove_setting("theme").unwrap());
        assert!(!store.remove_setting("theme").unwrap());
    }

    #[test]
    fn the_store_opens_with_sqlcipher_memory_security_on() {
        let (_d, store) = temp_store();
        let on: String = store
            .conn
            .query_row("PRAGMA cipher_memory_security", [], |r| r.get(0))
            .unwrap();
        assert_eq!(on, "1");
    }

    #[test]
    fn debug_shows_no_key() {
        let (_dir, store) = temp_store();
        let s = format!("{store:?}");
        assert!(s.contains("keybot.db") && !s.contains("0101"), "{s}");
    }
}
