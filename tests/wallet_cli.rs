//! The wallet from the command line, as a script uses it: real vaults with the release KDF.
mod common;

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
        .args(["wallet", "sign-message", "hello world"])
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
        .args(["wallet", "sign-typed-data", "--account", "imported:0"])
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
