//! No secret reaches stdout, stderr or a log file, except where the user asked for the phrase.
use crate::common;

use common::*;

#[test]
fn a_full_session_leaks_no_phrase_and_no_key() {
    use keybot_keystore::{AccountRef, Phrase, Wallet};
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let pw = "a vault password";
    let phrase_file = h.join("phrase");
    let outputs = std::cell::RefCell::new(Vec::<u8>::new());
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = keybot(h);
        c.args(args)
            .env("KEYBOT_PASSWORD", pw)
            .env("KEYBOT_KEYSTORE_PASSWORD", "kspw");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        outputs.borrow_mut().extend_from_slice(&out.stdout);
        outputs.borrow_mut().extend_from_slice(&out.stderr);
        out
    };
    assert!(
        run(
            &[
                "init",
                "--words",
                "24",
                "--mnemonic-out",
                phrase_file.to_str().unwrap()
            ],
            &[]
        )
        .status
        .success()
    );
    assert!(
        run(&["wallet", "addresses", "--count", "5", "--json"], &[])
            .status
            .success()
    );
    assert!(
        run(
            &["wallet", "sign-message", "--yes", "--account", "3", "hello"],
            &[]
        )
        .status
        .success()
    );
    let ks = h.join("ks.json");
    assert!(
        run(
            &[
                "wallet",
                "export-keystore",
                "--account",
                "1",
                "--out",
                ks.to_str().unwrap()
            ],
            &[]
        )
        .status
        .success()
    );
    assert!(
        run(&["wallet", "addresses"], &[("KEYBOT_PASSWORD", "wrong")])
            .status
            .code()
            == Some(1)
    );
    assert!(
        run(
            &["wallet", "change-password"],
            &[("KEYBOT_NEW_PASSWORD", pw)]
        )
        .status
        .success()
    );
    assert!(run(&["wallet", "show-mnemonic"], &[]).status.code() == Some(1));
    // Transaction signing (offline) and a chain command that fails offline.
    let tx = h.join("tx.json");
    std::fs::write(
        &tx,
        r#"{"chain_id": 1, "nonce": 0, "to": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "value": "1", "gas_limit": 21000, "max_fee_per_gas": "20",
            "max_priority_fee_per_gas": "1"}"#,
    )
    .unwrap();
    assert!(
        run(
            &[
                "wallet",
                "sign-tx",
                tx.to_str().unwrap(),
                "--account",
                "2",
                "--yes"
            ],
            &[]
        )
        .status
        .success()
    );
    assert!(run(&["wallet", "balance"], &[]).status.code() == Some(1));

    let phrase_text = std::fs::read_to_string(&phrase_file).unwrap();
    let wallet = Wallet::new(Phrase::parse(&phrase_text).unwrap(), "").unwrap();
    let mut secrets = vec![phrase_text.trim().to_owned()];
    // Any 4 consecutive words of the phrase would already be too much.
    let words: Vec<&str> = phrase_text.split_whitespace().collect();
    secrets.extend(words.windows(4).map(|w| w.join(" ")));
    for i in 0..5 {
        secrets.push(hex::encode(
            wallet.private_key(AccountRef::Hd(i)).unwrap().expose(),
        ));
    }
    secrets.push(pw.to_owned());

    let logs = std::fs::read(h.join("data/logs/keybot.log")).unwrap();
    assert!(!logs.is_empty(), "the log file is written");
    let haystacks = [
        String::from_utf8_lossy(&outputs.borrow()).to_lowercase(),
        String::from_utf8_lossy(&logs).to_lowercase(),
    ];
    for s in &secrets {
        for hay in &haystacks {
            assert!(
                !hay.contains(&s.to_lowercase()),
                "a secret leaked: {}…",
                &s[..6]
            );
        }
    }
    assert_eq!(mode(&h.join("data/logs/keybot.log")), 0o600);
    assert_eq!(mode(&phrase_file), 0o600);
    assert_eq!(mode(&ks), 0o600);
    assert_eq!(mode(&vault(h)), 0o600);

    // The one place the phrase may appear: show-mnemonic, asked for explicitly.
    let out = run(&["wallet", "show-mnemonic", "--yes"], &[]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        phrase_text.trim()
    );
}
