//! Interop with a real peer, foundry's `cast`: addresses, signatures and keystore files agree.
use crate::common;

use std::path::Path;
use std::process::Command as Std;

use common::*;

fn cast(bin: &Path, args: &[&str]) -> String {
    let out = Std::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "cast {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn new_mnemonic(bin: &Path) -> String {
    let out = cast(bin, &["wallet", "new-mnemonic", "--words", "12"]);
    let mut lines = out.lines();
    lines
        .find(|l| l.trim() == "Phrase:")
        .expect("cast printed a phrase");
    lines.next().unwrap().trim().to_owned()
}

#[test]
fn twenty_cast_mnemonics_give_the_same_first_five_addresses() {
    let Some(bin) = tool("cast") else { return };
    for round in 0..20 {
        let phrase = new_mnemonic(&bin);
        let home = tempfile::tempdir().unwrap();
        keybot(home.path())
            .args(["init", "--import"])
            .env("KEYBOT_PASSWORD", "pw")
            .env("KEYBOT_TEST_WEAK_KDF", "1")
            .write_stdin(phrase.as_str())
            .assert()
            .success();
        let out = keybot(home.path())
            .args(["wallet", "addresses", "--count", "5", "--json"])
            .env("KEYBOT_PASSWORD", "pw")
            .output()
            .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for i in 0..5 {
            let theirs = cast(
                &bin,
                &[
                    "wallet",
                    "address",
                    "--mnemonic",
                    &phrase,
                    "--mnemonic-index",
                    &i.to_string(),
                ],
            );
            assert_eq!(
                rows[i]["address"].as_str().unwrap(),
                theirs.trim(),
                "round {round} index {i}"
            );
        }
    }
}

#[test]
fn signatures_verify_both_ways() {
    let Some(bin) = tool("cast") else { return };
    let phrase = new_mnemonic(&bin);
    let home = home_with(&phrase, "pw");
    let addr = cast(
        &bin,
        &[
            "wallet",
            "address",
            "--mnemonic",
            &phrase,
            "--mnemonic-index",
            "1",
        ],
    )
    .trim()
    .to_owned();
    for message in ["hello from keybot", "0xdeadbeef", "ünïcödé ✓"] {
        let out = keybot(home.path())
            .args(["wallet", "sign-message", "--yes", "--account", "1", message])
            .env("KEYBOT_PASSWORD", "pw")
            .output()
            .unwrap();
        let ours = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        cast(
            &bin,
            &["wallet", "verify", "--address", &addr, message, &ours],
        );
        let theirs = cast(
            &bin,
            &[
                "wallet",
                "sign",
                "--mnemonic",
                &phrase,
                "--mnemonic-index",
                "1",
                message,
            ],
        )
        .trim()
        .to_owned();
        assert_eq!(
            ours, theirs,
            "deterministic ECDSA (RFC 6979) gives one signature"
        );
        keybot(home.path())
            .args([
                "wallet",
                "verify",
                "--address",
                &addr,
                "--signature",
                &theirs,
                message,
            ])
            .assert()
            .success();
    }
    // EIP-712: cast verifies keybot's typed-data signature.
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read("tests/fixtures/eip712_mail_vector.json").unwrap())
            .unwrap();
    let typed = home.path().join("mail.json");
    std::fs::write(&typed, serde_json::to_vec(&v["typed_data"]).unwrap()).unwrap();
    let out = keybot(home.path())
        .args(["wallet", "sign-typed-data", "--yes", "--account", "1"])
        .arg(&typed)
        .env("KEYBOT_PASSWORD", "pw")
        .output()
        .unwrap();
    let sig = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    cast(
        &bin,
        &[
            "wallet",
            "verify",
            "--address",
            &addr,
            "--data",
            "--from-file",
            typed.to_str().unwrap(),
            &sig,
        ],
    );
}

#[test]
fn keystore_files_travel_both_ways() {
    let Some(bin) = tool("cast") else { return };
    let phrase = new_mnemonic(&bin);
    let home = home_with(&phrase, "pw");
    let dir = home.path().join("ks");
    std::fs::create_dir(&dir).unwrap();
    // keybot → cast
    keybot(home.path())
        .args(["wallet", "export-keystore", "--account", "4", "--out"])
        .arg(dir.join("exported.json"))
        .env("KEYBOT_PASSWORD", "pw")
        .env("KEYBOT_KEYSTORE_PASSWORD", "export pw")
        .assert()
        .success();
    let out = cast(
        &bin,
        &[
            "wallet",
            "decrypt-keystore",
            "-k",
            dir.to_str().unwrap(),
            "exported.json",
            "--unsafe-password",
            "export pw",
        ],
    );
    let expected = cast(
        &bin,
        &[
            "wallet",
            "private-key",
            "--mnemonic",
            &phrase,
            "--mnemonic-index",
            "4",
        ],
    );
    assert!(out.trim().ends_with(expected.trim()), "{out} vs {expected}");
    // cast → keybot
    let made = cast(
        &bin,
        &[
            "wallet",
            "new",
            dir.to_str().unwrap(),
            "--unsafe-password",
            "cast pw",
        ],
    );
    let file = made
        .lines()
        .find_map(|l| l.strip_prefix("Created new encrypted keystore file: "))
        .unwrap()
        .trim()
        .to_owned();
    let address = made
        .lines()
        .find_map(|l| l.strip_prefix("Address:"))
        .unwrap()
        .trim()
        .to_owned();
    keybot(home.path())
        .args(["wallet", "import-keystore", &file])
        .env("KEYBOT_PASSWORD", "pw")
        .env("KEYBOT_KEYSTORE_PASSWORD", "cast pw")
        .assert()
        .success();
    keybot(home.path())
        .args(["wallet", "addresses", "--count", "0"])
        .env("KEYBOT_PASSWORD", "pw")
        .assert()
        .success()
        .stdout(predicates::str::contains(format!("imported:0  {address}")));
}
