//! Old files must keep opening. tests/fixtures/compat/ holds a vault, a store database and a
//! backup written by an earlier build (how, and with which phrase and passwords, is in its
//! README.md). Every later build must unlock the vault with the same accounts, open the database
//! (migrating it forward) with the same conversations, and read the backup.
//!
//! SQLCipher's file format and the vault format are otherwise pinned only by Cargo.lock: a
//! dependency update or a change in how the key is passed would lock users out of their data, and
//! only a file written before the change can show it.
use crate::common;

use std::path::{Path, PathBuf};

use common::keybot;
use keybot::store::{self, NewMessage, Role, Store, Timings};

/// A BIP-39 test vector phrase (public; never use it for real funds), with a BIP-39 passphrase so
/// that the passphrase's place in the vault is covered too.
pub(crate) const PHRASE: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";
pub(crate) const PASSPHRASE: &str = "compat passphrase";
pub(crate) const PW: &str = "compat fixture password 7";
pub(crate) const KEYSTORE_PW: &str = "compat keystore";
pub(crate) const LABEL: &str = "cold key";

pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat")
}

/// The conversations as the test compares them: title, system prompt, model, and each message's
/// role, text and token count.
pub(crate) type Convs = Vec<(String, String, String, Vec<(String, String, Option<u32>)>)>;

pub(crate) fn conversations(store: &Store) -> Convs {
    let mut out: Convs = store
        .list_conversations()
        .unwrap()
        .into_iter()
        .map(|c| {
            let msgs = store
                .messages(c.id)
                .unwrap()
                .into_iter()
                .map(|m| (format!("{:?}", m.role), m.text, m.timings.tokens))
                .collect();
            (c.title, c.system_prompt, c.model, msgs)
        })
        .collect();
    out.sort();
    out
}

pub(crate) fn unlock(home: &Path) -> keybot_keystore::Wallet {
    keybot_keystore::vault::open(&home.join("data/vault.kbv"), &PW.into()).unwrap()
}

pub(crate) fn addresses(home: &Path) -> String {
    let out = keybot(home)
        .args(["wallet", "addresses", "--count", "3", "--json"])
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the vault from an earlier build does not open: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A home laid out as keybot lays it out, holding copies of the fixture files.
fn home_from_fixtures() -> tempfile::TempDir {
    home_from(&dir())
}

/// A home holding copies of the vault and store of the set in `set`.
pub(crate) fn home_from(set: &Path) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for (from, to) in [("vault.kbv", "vault.kbv"), ("keybot.db", store::FILE_NAME)] {
        let dest = data.join(to);
        std::fs::copy(set.join(from), &dest).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    home
}

#[test]
fn vault_store_and_backup_from_an_earlier_build_still_open() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir().join("expected.json")).unwrap()).unwrap();
    let home = home_from_fixtures();

    // The vault: the same accounts, the imported key with its label, the phrase and passphrase.
    let listed: serde_json::Value = serde_json::from_str(&addresses(home.path())).unwrap();
    assert_eq!(listed, expected["addresses"]);
    let wallet = unlock(home.path());
    assert_eq!(*wallet.phrase().to_phrase_string(), PHRASE);

    // The store: opens with the key the same phrase derives, migrates to this build's schema,
    // and holds the same conversations.
    let paths = keybot::config::Paths::resolve(Some(home.path())).unwrap();
    let store = keybot::service::wallet::open_store(&paths, &wallet).unwrap();
    assert_eq!(store.schema_version().unwrap(), store::SCHEMA_VERSION);
    let want: Convs = serde_json::from_value(expected["conversations"].clone()).unwrap();
    assert!(!want.is_empty());
    assert_eq!(conversations(&store), want);
    drop(store);

    // The backup: a fresh store made from the same phrase and passphrase takes it in.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fresh.path().join("data")).unwrap();
    std::fs::copy(dir().join("vault.kbv"), fresh.path().join("data/vault.kbv")).unwrap();
    keybot(fresh.path())
        .args(["backup", "import"])
        .arg(dir().join("backup.kbb"))
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success();
    let paths = keybot::config::Paths::resolve(Some(fresh.path())).unwrap();
    let restored = keybot::service::wallet::open_store(&paths, &unlock(fresh.path())).unwrap();
    assert_eq!(conversations(&restored), want);
}

/// The fixture store was written at schema version 2, whose `chain_txs` only knew transfers (its
/// set holds none). Rows are written into a copy exactly as that schema takes them, through
/// SQLCipher with the same key, before this build opens it: the migration that makes room for
/// contract calls must keep them intact, and they must read back as transfer intents.
#[test]
fn transfers_recorded_by_an_earlier_build_migrate_and_read_as_transfer_intents() {
    use alloy::primitives::{Address, B256, U256};
    use keybot::chain::Intent;
    use keybot::chain::send::Asset;

    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir().join("expected.json")).unwrap()).unwrap();
    let home = home_from_fixtures();
    let wallet = unlock(home.path());
    let key = wallet
        .purpose_key(keybot_keystore::bip85::Purpose::Database)
        .unwrap();
    let path = home.path().join("data").join(store::FILE_NAME);
    let me: Address = expected["addresses"][0]["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let them: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        .parse()
        .unwrap();
    let token: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        .parse()
        .unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex().as_str()))
            .unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, expected["schema_version"].as_i64().unwrap());
        let insert =
            |hash: B256, asset: &str, symbol: &str, decimals: i64, amount: &str, nonce: i64| {
                conn.execute(
                    "INSERT INTO chain_txs (hash, chain_id, from_addr, to_addr, asset, symbol,
                   decimals, amount, nonce, raw, status, block, error, created_at, updated_at)
                 VALUES (?1, 31337, ?2, ?3, ?4, ?5, ?6, ?7, ?8, X'02f86c', 'confirmed', 12, NULL,
                   1700000000000, 1700000000001)",
                    rusqlite::params![
                        hash.to_string(),
                        me.to_checksum(None),
                        them.to_checksum(None),
                        asset,
                        symbol,
                        decimals,
                        amount,
                        nonce
                    ],
                )
                .unwrap();
            };
        insert(
            B256::repeat_byte(0xe1),
            "ETH",
            "ETH",
            18,
            "1250000000000000000",
            0,
        );
        insert(
            B256::repeat_byte(0xe2),
            &token.to_checksum(None),
            "tUSD",
            6,
            "2500000",
            1,
        );
    }

    let paths = keybot::config::Paths::resolve(Some(home.path())).unwrap();
    let store = keybot::service::wallet::open_store(&paths, &wallet).unwrap();
    assert_eq!(store.schema_version().unwrap(), store::SCHEMA_VERSION);
    let mut rows = store.sent_txs(31337).unwrap();
    rows.sort_by_key(|r| r.nonce);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!((r.from, r.to, r.block), (me, them, Some(12)));
        assert_eq!(r.status, store::TxStatus::Confirmed);
        assert_eq!(r.raw, vec![0x02, 0xf8, 0x6c]);
        assert_eq!(r.created_at, 1_700_000_000_000);
        assert!(r.call.is_none());
    }
    let intents: Vec<Intent> = rows
        .iter()
        .map(|r| Intent::from_record(r).unwrap())
        .collect();
    let Intent::Transfer(eth) = &intents[0] else {
        panic!("{:?}", intents[0])
    };
    assert_eq!((eth.from, eth.to, &eth.asset), (me, them, &Asset::Eth));
    assert_eq!(eth.amount, U256::from(1_250_000_000_000_000_000u128));
    let Intent::Transfer(tusd) = &intents[1] else {
        panic!("{:?}", intents[1])
    };
    assert_eq!(tusd.asset.token_address(), Some(token));
    assert_eq!(tusd.asset.format(tusd.amount), "2.5 tUSD");
    // The conversations came through the same migration untouched.
    let want: Convs = serde_json::from_value(expected["conversations"].clone()).unwrap();
    assert_eq!(conversations(&store), want);
}

/// Writes the fixture vault into home `h` as a user would: `keybot init --import` of the phrase
/// with the passphrase, then the imported key. The real KDF cost (no KEYBOT_TEST_WEAK_KDF): the
/// vault is what a user has.
pub(crate) fn write_vault(h: &Path) {
    keybot(h)
        .args(["init", "--import", "--passphrase"])
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_PASSPHRASE", PASSPHRASE)
        .write_stdin(PHRASE)
        .assert()
        .success();
    let ks = h.join("cold.json");
    let key = keybot_keystore::secret::Secret32::from_slice(&[0x42; 32]).unwrap();
    std::fs::write(
        &ks,
        keybot_keystore::web3::encrypt(
            &key,
            &KEYSTORE_PW.into(),
            keybot_keystore::web3::WriteParams { log_n: 12 },
        )
        .unwrap(),
    )
    .unwrap();
    keybot(h)
        .args(["wallet", "import-keystore", "--label", LABEL])
        .arg(&ks)
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_KEYSTORE_PASSWORD", KEYSTORE_PW)
        .assert()
        .success();
}

/// Writes the fixtures. Run by hand with the build whose files are to be kept opening:
/// `cargo test --features test-weak-kdf --test fast -- --ignored compat_fixtures::write_compat_fixtures`
/// (see tests/fixtures/compat/README.md). Not part of the suite: it changes committed files.
#[test]
#[ignore = "writes tests/fixtures/compat; run by hand (see its README.md)"]
fn write_compat_fixtures() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    write_vault(h);

    let wallet = unlock(h);
    let paths = keybot::config::Paths::resolve(Some(h)).unwrap();
    let mut store = keybot::service::wallet::open_store(&paths, &wallet).unwrap();
    let a = store
        .create_conversation("Old lighthouse", "You are a keeper.", "tiny-chat")
        .unwrap();
    for (role, text, tokens) in [
        (Role::User, "Which light is ours? ✓ «quotes» 家", None),
        (
            Role::Assistant,
            "The one on the **north** rock.\n\n```\ncode\n```",
            Some(12),
        ),
    ] {
        store
            .add_message(
                a.id,
                &NewMessage {
                    role,
                    text,
                    timings: Timings {
                        tokens,
                        prompt_ms: tokens.map(|_| 30),
                        gen_ms: tokens.map(|_| 400),
                    },
                },
            )
            .unwrap();
    }
    store.create_conversation("Empty one", "", "").unwrap();
    store.set_setting("theme", "high-contrast").unwrap();
    let convs = conversations(&store);
    drop(store);

    let out = dir();
    std::fs::create_dir_all(&out).unwrap();
    let backup = out.join("backup.kbb");
    let _ = std::fs::remove_file(&backup);
    keybot(h)
        .args(["backup", "export"])
        .arg(&backup)
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success();
    std::fs::copy(h.join("data/vault.kbv"), out.join("vault.kbv")).unwrap();
    std::fs::copy(h.join("data").join(store::FILE_NAME), out.join("keybot.db")).unwrap();
    let expected = serde_json::json!({
        "written_by": format!("keybot {}", env!("CARGO_PKG_VERSION")),
        "schema_version": store::SCHEMA_VERSION,
        "addresses": serde_json::from_str::<serde_json::Value>(&addresses(h)).unwrap(),
        "conversations": convs,
    });
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected).unwrap() + "\n",
    )
    .unwrap();
}
