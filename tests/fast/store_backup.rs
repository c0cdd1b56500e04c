//! The encrypted store and `keybot backup`: the database file is unreadable without the seed,
//! and a backup restores the conversations on a fresh machine from the phrase alone.
use crate::common;

use std::path::Path;

use common::{ANVIL_PHRASE, keybot, mode, snapshot, tool};
use keybot::store::{self, NewMessage, Role, Store, Timings};
use keybot_keystore::bip85::Purpose;
use keybot_keystore::secret::Secret32;
use keybot_keystore::{Phrase, Wallet};

/// The BIP-39 all-"abandon" test phrase: a valid phrase that is not ANVIL_PHRASE.
const OTHER_PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const PW: &str = "correct horse battery staple";
const MARKER: &str = "the lighthouse keeper's password is ZEBRA-4417";

/// A home restored from `phrase` (weak test KDF: these tests unlock many times).
fn home(phrase: &str) -> tempfile::TempDir {
    common::fast_home(phrase, PW)
}

fn key(phrase: &str, purpose: Purpose) -> Secret32 {
    let wallet = Wallet::new(Phrase::parse(phrase).unwrap(), "").unwrap();
    wallet.purpose_key(purpose).unwrap()
}

fn db(home: &Path) -> std::path::PathBuf {
    home.join("data").join(store::FILE_NAME)
}

fn open(home: &Path, phrase: &str) -> Store {
    Store::open(&db(home), &key(phrase, Purpose::Database)).unwrap()
}

/// Two conversations with messages, timings and a setting.
fn fill(store: &mut Store) {
    let a = store
        .create_conversation("Lighthouse", "You are a keeper.", "tiny-chat")
        .unwrap();
    store
        .add_message(
            a.id,
            &NewMessage {
                role: Role::User,
                text: MARKER,
                timings: Timings::default(),
            },
        )
        .unwrap();
    store
        .add_message(
            a.id,
            &NewMessage {
                role: Role::Assistant,
                text: "Noted. I will not repeat it.",
                timings: Timings {
                    tokens: Some(9),
                    prompt_ms: Some(31),
                    gen_ms: Some(402),
                },
            },
        )
        .unwrap();
    store.create_conversation("Empty one", "", "").unwrap();
    store.set_setting("theme", "high-contrast").unwrap();
}

type Dump = (
    Vec<(String, String, String, String, i64, i64)>,
    Vec<Vec<(Role, String, Timings, i64)>>,
);

/// Everything a user sees of the store, without local ids.
fn dump(store: &Store) -> Dump {
    let convs = store.list_conversations().unwrap();
    let heads = convs
        .iter()
        .map(|c| {
            (
                c.uid.clone(),
                c.title.clone(),
                c.system_prompt.clone(),
                c.model.clone(),
                c.created_at,
                c.updated_at,
            )
        })
        .collect();
    let msgs = convs
        .iter()
        .map(|c| {
            store
                .messages(c.id)
                .unwrap()
                .into_iter()
                .map(|m| (m.role, m.text, m.timings, m.created_at))
                .collect()
        })
        .collect();
    (heads, msgs)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn one_line_error(out: &std::process::Output) -> String {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    err
}

#[test]
fn database_is_unreadable_without_the_key() {
    let h = home(ANVIL_PHRASE);
    let mut s = open(h.path(), ANVIL_PHRASE);
    fill(&mut s);
    drop(s);
    let path = db(h.path());
    assert_eq!(mode(&path), 0o600);

    // No plaintext anywhere in the file: not the message, not the title, not the schema.
    let bytes = std::fs::read(&path).unwrap();
    for needle in [
        MARKER.as_bytes(),
        b"ZEBRA-4417",
        b"Lighthouse",
        b"CREATE TABLE",
        b"SQLite format 3",
    ] {
        assert!(
            !contains(&bytes, needle),
            "{:?} found in the database file",
            String::from_utf8_lossy(needle)
        );
    }

    // Plain SQLite cannot read it.
    if let Some(sqlite3) = tool("sqlite3") {
        let out = std::process::Command::new(sqlite3)
            .arg(&path)
            .arg("SELECT count(*) FROM sqlite_master;")
            .output()
            .unwrap();
        assert!(!out.status.success(), "sqlite3 read the store: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not a database"),
            "{out:?}"
        );
    }

    // SQLCipher with another phrase's key cannot either, and says so in one line.
    let err = Store::open(&path, &key(OTHER_PHRASE, Purpose::Database)).unwrap_err();
    assert!(
        matches!(err, store::Error::WrongKeyOrNotADatabase(_)),
        "{err}"
    );
    // The backup key is a different key too.
    let err = Store::open(&path, &key(ANVIL_PHRASE, Purpose::Backup)).unwrap_err();
    assert!(
        matches!(&err, store::Error::WrongKeyOrNotADatabase(p) if *p == path),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn restore_on_a_fresh_home_from_the_phrase_alone() {
    let old = home(ANVIL_PHRASE);
    let mut s = open(old.path(), ANVIL_PHRASE);
    fill(&mut s);
    let before = dump(&s);
    drop(s);

    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("chats.kbb");
    let out = keybot(old.path())
        .args(["backup", "export"])
        .arg(&file)
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 conversations, 2 messages, 1 settings"),
        "{out:?}"
    );
    assert_eq!(mode(&file), 0o600);
    assert!(!contains(&std::fs::read(&file).unwrap(), b"ZEBRA-4417"));

    // A new machine: same phrase, a different vault password, nothing else carried over.
    let new = tempfile::tempdir().unwrap();
    let pw_file = out_dir.path().join("pw");
    std::fs::write(&pw_file, "another password entirely").unwrap();
    keybot(new.path())
        .args(["init", "--import", "--password-file"])
        .arg(&pw_file)
        .env("KEYBOT_TEST_WEAK_KDF", "1")
        .write_stdin(ANVIL_PHRASE)
        .assert()
        .success();
    let out = keybot(new.path())
        .args(["backup", "import", "--password-file"])
        .arg(&pw_file)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 conversations added (2 messages)"),
        "{out:?}"
    );

    let s = open(new.path(), ANVIL_PHRASE);
    assert_eq!(dump(&s), before);
    assert_eq!(
        s.setting("theme").unwrap().as_deref(),
        Some("high-contrast")
    );
    drop(s);
    assert_eq!(mode(&db(new.path())), 0o600);

    // Importing the same backup again adds nothing.
    let snap = snapshot(new.path());
    let out = keybot(new.path())
        .args(["backup", "import", "--password-file"])
        .arg(&pw_file)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("0 conversations added (0 messages), 2 already here"),
        "{out:?}"
    );
    assert_eq!(
        snapshot(new.path()),
        snap,
        "a second import of the same backup changed files"
    );
    assert_eq!(dump(&open(new.path(), ANVIL_PHRASE)), before);
}

#[test]
fn bad_backups_and_existing_files_change_nothing() {
    let a = home(ANVIL_PHRASE);
    let mut s = open(a.path(), ANVIL_PHRASE);
    fill(&mut s);
    drop(s);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chats.kbb");
    keybot(a.path())
        .args(["backup", "export"])
        .arg(&file)
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success();

    // Export never overwrites, and says so before asking for a password.
    let snap_a = snapshot(a.path());
    let snap_dir = snapshot(dir.path());
    let out = keybot(a.path())
        .args(["backup", "export"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(one_line_error(&out).contains("already exists; not overwritten"));
    assert_eq!(snapshot(dir.path()), snap_dir);
    assert_eq!(snapshot(a.path()), snap_a);

    // A machine restored from a different phrase, with a conversation of its own.
    let b = home(OTHER_PHRASE);
    let s = open(b.path(), OTHER_PHRASE);
    s.create_conversation("mine", "", "").unwrap();
    drop(s);
    let snap_b = snapshot(b.path());
    let import = |f: &Path| {
        keybot(b.path())
            .args(["backup", "import"])
            .arg(f)
            .env("KEYBOT_PASSWORD", PW)
            .output()
            .unwrap()
    };

    let err = one_line_error(&import(&file));
    assert!(err.contains("different recovery phrase"), "{err}");
    assert_eq!(snapshot(b.path()), snap_b);

    let bytes = std::fs::read(&file).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            bytes[..bytes.len() - 7].to_vec(),
            "truncated or damaged",
        ),
        (
            "flipped",
            {
                let mut v = bytes.clone();
                let mid = v.len() / 2;
                v[mid] ^= 0x01;
                v
            },
            "truncated or damaged",
        ),
        ("header only", bytes[..20].to_vec(), "truncated or damaged"),
        (
            "not a backup",
            b"hello, I am a text file\n".to_vec(),
            "is not a keybot backup",
        ),
        ("empty", Vec::new(), "is not a keybot backup"),
    ];
    for (what, content, expect) in cases {
        let f = dir.path().join(what);
        std::fs::write(&f, &content).unwrap();
        let err = one_line_error(&import(&f));
        assert!(err.contains(expect), "{what}: {err}");
        assert_eq!(snapshot(b.path()), snap_b, "{what} changed the home");
    }

    // The right phrase still imports the intact file.
    let out = keybot(a.path())
        .args(["backup", "import"])
        .arg(&file)
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // A missing file is reported before any password is asked for.
    let err = one_line_error(
        &keybot(b.path())
            .args(["backup", "import"])
            .arg(dir.path().join("nope"))
            .output()
            .unwrap(),
    );
    assert!(err.contains("cannot read"), "{err}");
}
