//! Opening and keying the SQLCipher database.
use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use keybot_keystore::secret::Secret32;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use zeroize::Zeroizing;

use super::{Error, Result, Store, migrate};

impl Store {
    /// Opens (creating if missing) the store at `path` with the BIP-85 database `key`, and
    /// brings its schema up to date. The key is derived in one place,
    /// `service::wallet::database_key` (`service::wallet::open_store` opens this machine's).
    ///
    /// Refuses a file that the key does not decrypt ([`Error::WrongKeyOrNotADatabase`]: wrong
    /// phrase, or not a keybot database at all) and a file whose schema is newer than this build
    /// knows ([`Error::SchemaTooNew`]); neither case writes to the file.
    pub fn open(path: &Path, key: &Secret32) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        create_private_file(path)?;

        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags)?;
        // SQLCipher writes its own log lines (e.g. "hmac check failed for pgno=1" on a wrong
        // key) to stderr, which would land on the terminal app's screen and add lines to the
        // CLI's one-line errors. Every failure also comes back as an error code, handled here.
        conn.execute_batch("PRAGMA cipher_log = off; PRAGMA cipher_log_level = NONE;")?;
        // Before the key, so that the key statement's text (which SQLite copies while it parses
        // it) and every buffer after it are wiped when SQLite frees them. See `configure`.
        conn.execute_batch("PRAGMA cipher_memory_security = ON;")?;
        apply_key(&conn, key)?;
        verify_key(&conn, path)?;
        configure(&conn)?;

        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        migrate::migrate(&mut store.conn, path)?;
        Ok(store)
    }
}

/// The file exists with mode 0600 before SQLCipher opens it: SQLite would create it with
/// 0644 & ~umask, readable by other users for a moment (the content is encrypted, but its size
/// and timing are not theirs to see). SQLite gives the `-wal` and `-shm` files the database
/// file's mode, so they are 0600 too. A file that exists with looser permissions is tightened.
fn create_private_file(path: &Path) -> Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::metadata(path)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| Error::io(format!("cannot restrict {}", path.display()), e))?;
            }
            Ok(())
        }
        Err(e) => Err(Error::io(format!("cannot create {}", path.display()), e)),
    }
}

/// Keys the connection with the raw 256-bit key (`x'<64 hex>'`).
///
/// The raw form skips SQLCipher's PBKDF2 (256,000 iterations by default): a KDF only makes a
/// low-entropy password expensive to guess, and this key is already 32 uniformly random bytes
/// from BIP-85, so stretching it would add ~0.1 s to every open and no security. The statement
/// text is built in a zeroizing buffer so the hex does not linger in our heap.
fn apply_key(conn: &Connection, key: &Secret32) -> Result<()> {
    let hex = key.to_hex();
    let mut sql = Zeroizing::new(String::with_capacity(hex.len() + 24));
    sql.push_str("PRAGMA key = \"x'");
    sql.push_str(&hex);
    sql.push_str("'\";");
    conn.execute_batch(&sql)?;
    Ok(())
}

/// SQLCipher accepts any key silently; the first read of a page tells. Reading sqlite_master
/// decrypts page 1 and checks its HMAC, so a wrong key (or a file that is not an SQLCipher
/// database) fails here, before anything is written.
fn verify_key(conn: &Connection, path: &Path) -> Result<()> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            Err(Error::WrongKeyOrNotADatabase(path.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Connection settings, each for a reason:
///
/// - WAL journal: the terminal app keeps the store open for its whole session while background
///   tasks (and a `keybot backup` run in another terminal) read and write; in WAL mode readers
///   never block the writer, so the screen does not stall. SQLCipher encrypts the WAL file the
///   same way as the database, and the last connection to close checkpoints it back and removes
///   it, so at rest there is one file.
/// - `synchronous` stays at its default (FULL): a chat message that was shown as saved survives
///   a power cut.
/// - `foreign_keys`: deleting a conversation deletes its messages (ON DELETE CASCADE).
/// - `secure_delete`: deleted rows are overwritten, so a deleted conversation is gone from the
///   file and not just unlinked pages that the same key would still decrypt.
/// - `busy_timeout`: another keybot process holding the write lock makes us wait, not fail.
/// - `cipher_memory_security` is on (set in `Store::open`, before the key): SQLCipher wipes
///   every allocation SQLite frees and locks its pages in memory. The statement that keys the
///   connection is SQL text that SQLite copies into its own buffers while parsing it; with
///   memory security off those copies of the key's hex would stay in freed heap memory. It
///   costs a memset per free (SQLCipher reports reads up to about twice as slow); the store's
///   queries are small and few per second, so this does not show. The setting is global to the
///   process and cannot be turned off again.
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "secure_delete", true)?;
    // journal_mode answers with the mode now in effect; it is a query, not just a setting.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("store: journal mode is {mode}, not wal");
    }
    Ok(())
}
