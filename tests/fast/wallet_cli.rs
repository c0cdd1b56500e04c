//! The wallet from the command line, as a script uses it: real vaults with the release KDF.
use crate::common;

use common::*;
use predicates::prelude::*;

const PW: &str = "correct horse battery staple";

#[test]
fn init_without_a_terminal_writes_the_phrase_file_and_vault_0600() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("phrase.txt");
    keybot(home.path())
        .args(["init", "--words", "12", "--mnemonic-out"])
        .arg(&out)
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("account 0 is 0x"));
    let phrase = std::fs::read_to_string(&out).unwrap();
    assert_eq!(phrase.split_whitespace().count(), 12);
    assert_eq!(mode(&out), 0o600);
    assert_eq!(mode(&vault(home.path())), 0o600);
    // The phrase it wrote restores the same account 0.
    assert_phrase_restores(home.path(), PW, &phrase);
}

#[test]
fn init_defaults_to_24_words_and_stdout_only_when_asked() {
    let home = tempfile::tempdir().unwrap();
    let out = keybot(home.path())
        .args(["init", "--mnemonic-out", "-"])
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .count(),
        24
    );
}

#[test]
fn init_without_terminal_or_mnemonic_out_refuses_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    keybot(home.path())
        .arg("init")
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--mnemonic-out"));
    assert!(!vault(home.path()).exists());
}

#[test]
fn init_never_overwrites_a_vault() {
    let home = home_with(ANVIL_PHRASE, PW);
    let before = snapshot(home.path());
    keybot(home.path())
        .args(["init", "--import"])
        .env("KEYBOT_PASSWORD", "other")
        .write_stdin("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about")
        .assert()
        .failure()
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(before, snapshot(home.path()));
}

#[test]
fn import_gives_the_anvil_accounts_as_json() {
    let home = home_with(ANVIL_PHRASE, PW);
    let out = keybot(home.path())
        .args([
            "wallet",
            "addresses",
            "--count",
            "3",
            "--start",
            "1",
            "--json",
        ])
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows[0]["address"],
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    );
    assert_eq!(rows[0]["path"], "m/44'/60'/0'/0/1");
    assert_eq!(
        rows[2]["address"],
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    );
    assert_eq!(rows.as_array().unwrap().len(), 3);
}

#[test]
fn a_bip39_passphrase_changes_the_accounts() {
    let home = tempfile::tempdir().unwrap();
    keybot(home.path())
        .args(["init", "--import", "--passphrase"])
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_PASSPHRASE", "TREZOR123")
        .write_stdin(
            "work man father plunge mystery proud hollow address reunion sauce theory bonus",
        )
        .assert()
        .success();
    keybot(home.path())
        .args(["wallet", "addresses", "--count", "1"])
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "0x431a00DA1D54c281AeF638A73121B3D153e0b0F6",
        ));
}

#[test]
fn sign_and_verify_personal_messages() {
    let home = home_with(ANVIL_PHRASE, PW);
    let sig = keybot(home.path())
        .args(["wallet", "sign-message", "--yes", "hello world"])
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    let sig = String::from_utf8(sig.stdout).unwrap().trim().to_owned();
    // The same signature alloy computes for anvil account 0 (fixtures/eip191_personal_sign_vectors).
    assert_eq!(
        sig,
        "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf15fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b"
    );
    keybot(home.path())
        .args([
            "wallet",
            "verify",
            "--address",
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "--signature",
            &sig,
            "hello world",
        ])
        .assert()
        .success();
    keybot(home.path())
        .args([
            "wallet",
            "verify",
            "--address",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "--signature",
            &sig,
            "hello world",
        ])
        .assert()
        .code(1);
    keybot(home.path())
        .args([
            "wallet",
            "verify",
            "--address",
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "--signature",
            &sig,
            "hello world!",
        ])
        .assert()
        .code(1);
    // A mixed-case address with a broken checksum is an error, not "invalid".
    keybot(home.path())
        .args([
            "wallet",
            "verify",
            "--address",
            "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "--signature",
            &sig,
            "hello world",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("checksum"));
}

#[test]
fn typed_data_and_keystore_import_reproduce_the_eip712_example() {
    use keybot_keystore::secret::{Password, Secret32};
    use keybot_keystore::web3;
    let home = home_with(ANVIL_PHRASE, PW);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read("tests/fixtures/eip712_mail_vector.json").unwrap())
            .unwrap();
    let key = Secret32::from_slice(
        &hex::decode(v["private_key"].as_str().unwrap().trim_start_matches("0x")).unwrap(),
    )
    .unwrap();
    let ks = home.path().join("cow.json");
    std::fs::write(
        &ks,
        web3::encrypt(&key, &Password::from("ks"), web3::WriteParams { log_n: 12 }).unwrap(),
    )
    .unwrap();
    keybot(home.path())
        .args(["wallet", "import-keystore", "--label", "cow"])
        .arg(&ks)
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_KEYSTORE_PASSWORD", "ks")
        .assert()
        .success()
        .stderr(predicate::str::contains("imported:0"));
    let typed = home.path().join("mail.json");
    std::fs::write(&typed, serde_json::to_vec(&v["typed_data"]).unwrap()).unwrap();
    let out = keybot(home.path())
        .args([
            "wallet",
            "sign-typed-data",
            "--yes",
            "--account",
            "imported:0",
        ])
        .arg(&typed)
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        v["signature_65"].as_str().unwrap()
    );
    // The same account by address, and the imported key is listed.
    keybot(home.path())
        .args(["wallet", "addresses", "--count", "0"])
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "imported:0  0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826  cow",
        ));
    // Importing it twice is refused and changes nothing.
    let before = snapshot(home.path());
    keybot(home.path())
        .args(["wallet", "import-keystore"])
        .arg(&ks)
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_KEYSTORE_PASSWORD", "ks")
        .assert()
        .failure()
        .stderr(predicate::str::contains("already in the wallet"));
    assert_eq!(before, snapshot(home.path()));
}

#[test]
fn show_mnemonic_needs_confirmation_and_change_password_swaps_passwords() {
    let home = home_with(ANVIL_PHRASE, PW);
    keybot(home.path())
        .args(["wallet", "show-mnemonic"])
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("--yes"));
    keybot(home.path())
        .args(["wallet", "change-password"])
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_NEW_PASSWORD", "new password")
        .assert()
        .success();
    keybot(home.path())
        .args(["wallet", "show-mnemonic", "--yes"])
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .failure()
        .stderr("error: wrong password\n");
    keybot(home.path())
        .args(["wallet", "show-mnemonic", "--yes"])
        .env("KEYBOT_PASSWORD", "new password")
        .assert()
        .success()
        .stdout(format!("{ANVIL_PHRASE}\n"));
    assert_eq!(mode(&vault(home.path())), 0o600);
}

#[test]
fn export_keystore_round_trips_through_import() {
    let home = home_with(ANVIL_PHRASE, PW);
    let out = home.path().join("acct2.json");
    keybot(home.path())
        .args(["wallet", "export-keystore", "--account", "2", "--out"])
        .arg(&out)
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_KEYSTORE_PASSWORD", "kspw")
        .assert()
        .success();
    assert_eq!(mode(&out), 0o600);
    let d = keybot_keystore::web3::decrypt(&std::fs::read(&out).unwrap(), &"kspw".into()).unwrap();
    assert_eq!(
        d.address.to_checksum(None),
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
    );
    // An existing --out is never overwritten.
    let before = snapshot(home.path());
    keybot(home.path())
        .args(["wallet", "export-keystore", "--account", "1", "--out"])
        .arg(&out)
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_KEYSTORE_PASSWORD", "kspw")
        .assert()
        .failure();
    assert_eq!(before, snapshot(home.path()));
}

/// Whether `s` holds a control character other than a line break.
fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n')
}

/// This machine's config: network `local` (chain 31337, nothing listening) listing USDC with 6
/// decimals at `USDC`.
const USDC: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

fn write_config(home: &std::path::Path, rpc: &str, symbol: &str) {
    std::fs::create_dir_all(home.join("config")).unwrap();
    std::fs::write(
        home.join("config/config.toml"),
        format!(
            "network = \"local\"\n[networks.local]\nchain_id = 31337\nrpc = \"{rpc}\"\n\
             [[networks.local.tokens]]\nsymbol = \"{symbol}\"\naddress = \"{USDC}\"\ndecimals = 6\n"
        ),
    )
    .unwrap();
}

fn tx_file(home: &std::path::Path, amount: &str, token: &str) -> std::path::PathBuf {
    let f = home.join("tx.json");
    std::fs::write(
        &f,
        format!(
            r#"{{"chain_id": 31337, "nonce": 0, "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                {amount}, "gas_limit": 60000, "max_fee_per_gas": "2", "max_priority_fee_per_gas": "1",
                "token": {{"address": "{USDC}"{token}}}}}"#
        ),
    )
    .unwrap();
    f
}

#[test]
fn sign_tx_ignores_token_metadata_from_the_file() {
    let home = fast_home(ANVIL_PHRASE, PW);
    let h = home.path();
    write_config(h, "http://127.0.0.1:1", "USDC");
    let sign = |f: &std::path::Path| {
        keybot(h)
            .args(["wallet", "sign-tx", "--yes"])
            .arg(f)
            .env("KEYBOT_PASSWORD", PW)
            .output()
            .unwrap()
    };
    // The attack: USDC's address, 12 decimals, a symbol that redraws the amount line.
    let evil = r#", "symbol": "USDC\u001b[1A\u001b[2K    amount  1 USDC", "decimals": 12"#;
    let out = sign(&tx_file(h, r#""value": "100""#, evil));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(
        err.contains("REFUSED") && err.contains("12 decimals"),
        "{err}"
    );
    assert!(!has_control(&err), "{err:?}");
    // Without the file's claims, the config's decimals: 100 USDC is 100_000_000 base units.
    let out = sign(&tx_file(h, r#""value": "100""#, ""));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("amount  100 USDC"), "{err}");
    let raw = String::from_utf8(out.stdout).unwrap();
    assert!(
        raw.trim().contains(&format!("{:064x}", 100_000_000u64)),
        "{raw}"
    );

    // A machine that does not know the token: no decimal amount, base units and call data.
    write_config(h, "http://127.0.0.1:1", "OTHER");
    std::fs::write(
        h.join("config/config.toml"),
        std::fs::read_to_string(h.join("config/config.toml"))
            .unwrap()
            .replace(USDC, "0x0000000000000000000000000000000000000007"),
    )
    .unwrap();
    let out = sign(&tx_file(h, r#""value": "100""#, evil));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("units"), "{err}");
    let out = sign(&tx_file(h, r#""units": "100000000""#, evil));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("100000000 base units"), "{err}");
    assert!(err.contains("data  0xa9059cbb"), "{err}");
    assert!(!err.contains("1 USDC") && !has_control(&err), "{err:?}");
}

const PERMIT: &str = r#"{"types": {
  "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                   {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
  "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
             {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
             {"name": "deadline", "type": "uint256"}]},
  "primaryType": "Permit",
  "domain": {"name": "USD Coin\u001b[2K", "version": "2", "chainId": 1,
             "verifyingContract": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
  "message": {"owner": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
              "spender": "0x2222222222222222222222222222222222222222",
              "value": "1000000", "nonce": 0, "deadline": 99999999999}}"#;

#[test]
fn sign_typed_data_shows_a_permit_and_needs_accept_warnings() {
    let home = fast_home(ANVIL_PHRASE, PW);
    let h = home.path();
    let file = h.join("permit.json");
    std::fs::write(&file, PERMIT).unwrap();
    let run = |extra: &[&str]| {
        keybot(h)
            .args(["wallet", "sign-typed-data"])
            .arg(&file)
            .args(extra)
            .env("KEYBOT_PASSWORD", PW)
            .output()
            .unwrap()
    };
    // No terminal, no --yes: one line, nothing signed.
    let out = run(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(
        err.contains("pass --yes") && err.lines().count() == 1,
        "{err}"
    );
    // --yes alone does not accept a permit.
    let out = run(&["--yes"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    for shown in [
        "USD Coin",
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        "Permit",
        "message.spender  0x2222222222222222222222222222222222222222",
        "message.value  1000000",
        "DANGER",
        "accept-warnings",
    ] {
        assert!(err.contains(shown), "{shown}: {err}");
    }
    assert!(!has_control(&err), "{err:?}");
    // Another chain than the configured network is loud too.
    write_config(h, "http://127.0.0.1:1", "USDC");
    let err = String::from_utf8_lossy(&run(&["--yes"]).stderr).into_owned();
    assert!(err.contains("chain id 1") && err.contains("31337"), "{err}");
    let out = run(&["--yes", "--accept-warnings"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim().len(), 132);
}

#[test]
fn sign_message_shows_the_message_and_asks() {
    let home = fast_home(ANVIL_PHRASE, PW);
    let h = home.path();
    let run = |args: &[&str]| {
        keybot(h)
            .args(["wallet", "sign-message"])
            .args(args)
            .env("KEYBOT_PASSWORD", PW)
            .output()
            .unwrap()
    };
    let out = run(&["hello world"]);
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    let out = run(&["--yes", "pay \u{1b}]52;c;QUFBQQ==\u{7}\u{1b}[2K me"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("pay") && err.contains(" me") && !has_control(&err),
        "{err:?}"
    );
    assert!(
        err.contains("hex  0x706179201b5d"),
        "the exact bytes, as hex: {err}"
    );
    let out = run(&["--yes", "0xdeadbeef"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("hex  0xdeadbeef"));
}

#[test]
fn rpc_urls_are_never_printed_or_logged_whole() {
    let home = fast_home(ANVIL_PHRASE, PW);
    let h = home.path();
    write_config(
        h,
        "http://127.0.0.1:1/v3/SECRETKEY?apikey=SECRETKEY",
        "USDC",
    );
    let out = keybot(h).args(["chain", "list"]).output().unwrap();
    let o = String::from_utf8_lossy(&out.stdout);
    assert!(
        o.contains("http://127.0.0.1:1/…") && !o.contains("SECRETKEY"),
        "{o}"
    );
    let out = keybot(h)
        .args(["chain", "list", "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SECRETKEY"));
    // Offline: the error names the host, not the key; nor does the log.
    let out = keybot(h)
        .args(["wallet", "balance"])
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("SECRETKEY"), "{err}");
    // chain add: a plain http:// RPC to another machine is a warning; the key is not shown.
    let out = keybot(h)
        .args([
            "chain",
            "add",
            "far",
            "--rpc",
            "http://0.0.0.0:1/v3/SECRETKEY",
            "--yes",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plain http://") && !err.contains("SECRETKEY"),
        "{err}"
    );
    // No file but config.toml holds the key: not the log, not the database.
    for e in walk(h) {
        let text = String::from_utf8_lossy(&std::fs::read(&e).unwrap()).into_owned();
        if e.file_name().is_some_and(|n| n != "config.toml") {
            assert!(!text.contains("SECRETKEY"), "{} holds the key", e.display());
        }
    }
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A label is printed without control characters: a vault can come from another machine.
#[test]
fn imported_labels_print_without_control_characters() {
    use keybot_keystore::secret::{Password, Secret32};
    use keybot_keystore::web3;
    let home = home_with(ANVIL_PHRASE, PW);
    let ks = home.path().join("k.json");
    let key = Secret32::from_slice(&[7u8; 32]).unwrap();
    std::fs::write(
        &ks,
        web3::encrypt(&key, &Password::from("ks"), web3::WriteParams { log_n: 12 }).unwrap(),
    )
    .unwrap();
    keybot(home.path())
        .args([
            "wallet",
            "import-keystore",
            "--label",
            "cold\x1b[2J\x1b]52;c;AAAA\x07 key",
        ])
        .arg(&ks)
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_KEYSTORE_PASSWORD", "ks")
        .assert()
        .success();
    let out = keybot(home.path())
        .args(["wallet", "addresses", "--count", "1"])
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("imported:0"), "{text}");
    assert!(text.contains("cold key"), "{text}");
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
}

#[test]
fn settings_are_checked_as_the_app_checks_them_and_a_bad_value_changes_nothing() {
    let home = fast_home(
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        PW,
    );
    let h = home.path();
    // Every setting but the default model (`keybot model default`), with its value.
    let all = ok_with(h, PW, &["settings"]);
    assert!(all.contains("market.challenge = ask"), "{all}");
    assert!(all.contains("market.ipfs_gateway = "), "{all}");
    assert!(!all.contains("model.default"), "{all}");
    // An unknown key is refused before any password is asked for.
    keybot(h)
        .args(["settings", "market.gateway", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no such setting"));
    // A plain-http gateway to another machine is refused with one line, and nothing changes.
    let out = kb_with(
        h,
        PW,
        &["settings", "market.ipfs_gateway", "http://gateway.example"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("https://"), "{err}");
    assert_eq!(
        ok_with(h, PW, &["settings", "market.ipfs_gateway"]).trim(),
        ""
    );
    let set = ok_with(
        h,
        PW,
        &["settings", "market.ipfs_gateway", "https://ipfs.example/"],
    );
    assert!(
        set.contains("market.ipfs_gateway = https://ipfs.example"),
        "{set}"
    );
    assert_eq!(
        ok_with(h, PW, &["settings", "market.ipfs_gateway"]).trim(),
        "https://ipfs.example"
    );
    ok_with(h, PW, &["settings", "market.challenge", "auto"]);
    assert_eq!(
        ok_with(h, PW, &["settings", "market.challenge"]).trim(),
        "auto"
    );
}
