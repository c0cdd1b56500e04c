//! Bad input gets one clear line on stderr, a non-zero exit, no panic, and changes no file.
use crate::common;

use std::path::Path;

use common::*;

const PW: &str = "pw for bad input";
const ABOUT12: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// Runs keybot in `home`, checks the failure shape and that no file under `home` changed.
fn fails_cleanly(home: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8], expect: &str) {
    let before = snapshot(home);
    let mut cmd = keybot(home);
    cmd.args(args).write_stdin(stdin.to_vec());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(
        err.contains(expect),
        "{args:?}: expected {expect:?} in {err}"
    );
    assert_eq!(before, snapshot(home), "{args:?} changed files");
}

fn import(home: &Path, phrase: &[u8], expect: &str) {
    fails_cleanly(
        home,
        &["init", "--import"],
        &[("KEYBOT_PASSWORD", PW)],
        phrase,
        expect,
    );
    assert!(!vault(home).exists());
}

#[test]
fn bad_phrases_write_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    import(
        h,
        ABOUT12.replacen("abandon", "abandn", 1).as_bytes(),
        "did you mean \"abandon\"",
    );
    import(
        h,
        ABOUT12.replace("about", "abandon").as_bytes(),
        "checksum",
    );
    import(
        h,
        format!("{ABOUT12} abandon").as_bytes(),
        "this one has 13",
    );
    import(h, b"", "empty");
    import(h, b"  \n ", "empty");
    import(h, b"abandon \xff\xfe abandon", "not valid UTF-8");
    let f = h.join("phrase-file");
    std::fs::write(&f, b"\xc3\x28 abandon").unwrap();
    fails_cleanly(
        h,
        &["init", "--import", "--mnemonic-file", f.to_str().unwrap()],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "not valid UTF-8",
    );
    assert!(!vault(h).exists());
}

#[test]
fn vault_errors_change_nothing() {
    let home = home_with(ABOUT12, PW);
    let h = home.path();
    fails_cleanly(
        h,
        &["wallet", "addresses"],
        &[("KEYBOT_PASSWORD", "wrong")],
        b"",
        "wrong password",
    );
    fails_cleanly(
        h,
        &["wallet", "change-password"],
        &[("KEYBOT_PASSWORD", "wrong"), ("KEYBOT_NEW_PASSWORD", "x")],
        b"",
        "wrong password",
    );
    fails_cleanly(h, &["wallet", "addresses"], &[], b"", "no vault password");
    fails_cleanly(
        h,
        &["wallet", "addresses", "--start", "2147483648"],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "out of range",
    );
    fails_cleanly(
        h,
        &[
            "wallet",
            "sign-message",
            "--yes",
            "--account",
            "2147483648",
            "m",
        ],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "out of range",
    );
    fails_cleanly(
        h,
        &[
            "wallet",
            "sign-message",
            "--yes",
            "--account",
            "imported:0",
            "m",
        ],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "no imported account",
    );
    let pwfile = h.join("pw");
    std::fs::write(&pwfile, b"\xff\xfe").unwrap();
    fails_cleanly(
        h,
        &[
            "wallet",
            "addresses",
            "--password-file",
            pwfile.to_str().unwrap(),
        ],
        &[],
        b"",
        "not valid UTF-8",
    );
    let typed = h.join("typed.json");
    std::fs::write(&typed, b"{\"types\": 1}").unwrap();
    fails_cleanly(
        h,
        &["wallet", "sign-typed-data", typed.to_str().unwrap()],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "typed data",
    );
    fails_cleanly(
        h,
        &[
            "wallet",
            "verify",
            "--address",
            "0x12",
            "--signature",
            "0x00",
            "m",
        ],
        &[],
        b"",
        "not an address",
    );

    // A truncated vault is corrupt, is reported as such and is never overwritten.
    let v = vault(h);
    let bytes = std::fs::read(&v).unwrap();
    std::fs::write(&v, &bytes[..bytes.len() - 10]).unwrap();
    fails_cleanly(
        h,
        &["wallet", "addresses"],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "corrupt",
    );
    fails_cleanly(
        h,
        &["wallet", "change-password"],
        &[("KEYBOT_PASSWORD", PW), ("KEYBOT_NEW_PASSWORD", "x")],
        b"",
        "corrupt",
    );
    let mut flipped = bytes.clone();
    flipped[100] ^= 1;
    std::fs::write(&v, &flipped).unwrap();
    fails_cleanly(
        h,
        &["wallet", "show-mnemonic", "--yes"],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "corrupt",
    );
    std::fs::write(&v, &bytes).unwrap();
    keybot(h)
        .args(["wallet", "addresses"])
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success();
}

#[test]
fn no_vault_is_reported() {
    let home = tempfile::tempdir().unwrap();
    fails_cleanly(
        home.path(),
        &["wallet", "addresses"],
        &[("KEYBOT_PASSWORD", PW)],
        b"",
        "keybot init",
    );
}

#[test]
fn bad_keystore_files_change_nothing() {
    use keybot_keystore::secret::{Password, Secret32};
    use keybot_keystore::web3;
    let home = home_with(ABOUT12, PW);
    let h = home.path();
    let good = web3::encrypt(
        &Secret32::new([9; 32]),
        &Password::from("ks"),
        web3::WriteParams { log_n: 10 },
    )
    .unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "mac",
            {
                json["crypto"]["mac"] = "11".repeat(32).into();
                serde_json::to_vec(&json).unwrap()
            },
            "wrong keystore password",
        ),
        (
            "kdf",
            {
                let mut j: serde_json::Value = serde_json::from_str(&good).unwrap();
                j["crypto"]["kdf"] = "bcrypt".into();
                serde_json::to_vec(&j).unwrap()
            },
            "not supported",
        ),
        (
            "truncated",
            good.as_bytes()[..good.len() / 3].to_vec(),
            "not a v3 keystore",
        ),
        ("binary", vec![0xde, 0xad, 0xbe, 0xef, 0xff], "not UTF-8"),
    ];
    for (name, bytes, expect) in cases {
        let f = h.join(format!("{name}.json"));
        std::fs::write(&f, &bytes).unwrap();
        fails_cleanly(
            h,
            &["wallet", "import-keystore", f.to_str().unwrap()],
            &[("KEYBOT_PASSWORD", PW), ("KEYBOT_KEYSTORE_PASSWORD", "ks")],
            b"",
            expect,
        );
    }
    let f = h.join("good.json");
    std::fs::write(&f, good.as_bytes()).unwrap();
    fails_cleanly(
        h,
        &["wallet", "import-keystore", f.to_str().unwrap()],
        &[
            ("KEYBOT_PASSWORD", PW),
            ("KEYBOT_KEYSTORE_PASSWORD", "nope"),
        ],
        b"",
        "wrong keystore password",
    );
    fails_cleanly(
        h,
        &["wallet", "import-keystore", f.to_str().unwrap()],
        &[
            ("KEYBOT_PASSWORD", "nope"),
            ("KEYBOT_KEYSTORE_PASSWORD", "ks"),
        ],
        b"",
        "wrong password",
    );
}
