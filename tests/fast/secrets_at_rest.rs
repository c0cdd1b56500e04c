//! The vault and the process under hostile conditions: lengths that do not fit, two keybot
//! processes writing at once, endless input files, and what other processes can see.
use crate::common;

use std::io::Read;
use std::path::Path;
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

use common::*;
use keybot_keystore::secret::{Password, Secret32};
use keybot_keystore::{vault, web3};
use predicates::prelude::*;

const PW: &str = "correct horse battery staple";

/// A v3 keystore file for a key made from `n`, password "ks", at a tiny scrypt cost.
fn keystore_file(dir: &Path, n: u8) -> std::path::PathBuf {
    let path = dir.join(format!("key{n}.json"));
    let json = web3::encrypt(
        &Secret32::new([n; 32]),
        &Password::from("ks"),
        web3::WriteParams { log_n: 4 },
    )
    .unwrap();
    std::fs::write(&path, json).unwrap();
    path
}

fn import(home: &Path, file: &Path, pw: &str) -> assert_cmd::Command {
    let mut c = keybot(home);
    c.args(["wallet", "import-keystore"])
        .arg(file)
        .env("KEYBOT_PASSWORD", pw)
        .env("KEYBOT_KEYSTORE_PASSWORD", "ks")
        .env("KEYBOT_TEST_WEAK_KDF", "1");
    c
}

#[test]
#[cfg_attr(
    not(feature = "test-weak-kdf"),
    ignore = "needs --features test-weak-kdf"
)]
fn an_oversized_label_is_refused_and_the_vault_still_opens() {
    let home = fast_home(ANVIL_PHRASE, PW);
    let h = home.path();
    let ks = keystore_file(h, 7);
    // 300 bytes: over the label limit. 70,000: over what the format's u16 length can say, which
    // the old encoder truncated into a vault that no longer opened.
    for len in [300, 70_000] {
        let before = snapshot(h);
        import(h, &ks, PW)
            .args(["--label", &"x".repeat(len)])
            .assert()
            .failure()
            .stderr(predicate::str::contains("too large: the label has"));
        assert_eq!(before, snapshot(h), "label of {len}: the home changed");
        let w = vault::open(&vault(h), &PW.into()).expect("the vault still opens");
        assert!(w.imported().is_empty());
    }
    import(h, &ks, PW)
        .args(["--label", &"x".repeat(200)])
        .assert()
        .success();
    let w = vault::open(&vault(h), &PW.into()).unwrap();
    assert_eq!(w.imported()[0].label.len(), 200);
}

#[test]
#[cfg_attr(
    not(feature = "test-weak-kdf"),
    ignore = "needs --features test-weak-kdf"
)]
fn an_oversized_passphrase_is_refused_and_no_vault_is_written() {
    let home = tempfile::tempdir().unwrap();
    keybot(home.path())
        .args(["init", "--import", "--passphrase"])
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_PASSPHRASE", "p".repeat(70_000))
        .env("KEYBOT_TEST_WEAK_KDF", "1")
        .write_stdin(ANVIL_PHRASE)
        .assert()
        .failure()
        .stderr(predicate::str::contains("too large: the BIP-39 passphrase"));
    assert!(!vault(home.path()).exists());
}

/// Two keybot processes writing the vault at the same moment, 50 times: two imports, or an
/// import and a password change. Without a lock both read the same old vault and the second
/// rename drops the first one's change.
#[test]
#[cfg_attr(
    not(feature = "test-weak-kdf"),
    ignore = "needs --features test-weak-kdf"
)]
fn racing_writers_lose_no_imported_key_and_no_password_change() {
    let home = fast_home(ANVIL_PHRASE, "p0");
    let h = home.path();
    let bin = assert_cmd::cargo::cargo_bin("keybot");
    let spawn = |args: &[&str], pw: &str, new_pw: Option<&str>| {
        let mut c = Std::new(&bin);
        c.args(args)
            .env("KEYBOT_HOME", h)
            .env("KEYBOT_PASSWORD", pw)
            .env("KEYBOT_KEYSTORE_PASSWORD", "ks")
            .env("KEYBOT_TEST_WEAK_KDF", "1")
            .env_remove("KEYBOT_NEW_PASSWORD")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(n) = new_pw {
            c.env("KEYBOT_NEW_PASSWORD", n);
        }
        c.spawn().unwrap()
    };
    let files: Vec<_> = (1..=100u8).map(|n| keystore_file(h, n)).collect();
    let file_arg = |i: usize| files[i].display().to_string();
    let mut password = "p0".to_owned();
    let mut imported = Vec::new();
    for round in 0..50 {
        let a = file_arg(2 * round);
        let mut first = spawn(&["wallet", "import-keystore", &a], &password, None);
        if round % 2 == 0 {
            let b = file_arg(2 * round + 1);
            let mut second = spawn(&["wallet", "import-keystore", &b], &password, None);
            for (child, i) in [(&mut first, 2 * round), (&mut second, 2 * round + 1)] {
                let out = child.wait().unwrap();
                assert!(out.success(), "round {round}: import {i} failed");
                imported.push(i);
            }
        } else {
            let next = format!("p{round}");
            let mut change = spawn(&["wallet", "change-password"], &password, Some(&next));
            let import_ok = first.wait().unwrap().success();
            let mut err = String::new();
            change
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(change.wait().unwrap().success(), "round {round}: {err}");
            password = next;
            // The import either ran first (and its key must have survived the password change)
            // or after it, and was refused for the old password: then it is done again.
            if !import_ok {
                import(h, &files[2 * round], &password).assert().success();
            }
            imported.push(2 * round);
        }
    }
    let w = vault::open(&vault(h), &password.as_str().into())
        .expect("the vault opens with the last password");
    let want: std::collections::BTreeSet<_> = imported
        .iter()
        .map(|&i| web3::decrypt(&std::fs::read(&files[i]).unwrap(), &"ks".into()).unwrap())
        .map(|d| d.address)
        .collect();
    let have: std::collections::BTreeSet<_> = w.imported().iter().map(|k| k.address).collect();
    assert_eq!(want.len(), 75);
    assert_eq!(have, want, "an imported key was lost");
    // No temp file is left behind; the lock file is the only extra.
    let extra: Vec<_> = std::fs::read_dir(vault(h).parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(extra.is_empty(), "{extra:?}");
}

#[test]
fn endless_input_files_are_refused_quickly() {
    let home = home_with(ANVIL_PHRASE, PW);
    let h = home.path();
    for args in [
        vec!["wallet", "addresses", "--password-file", "/dev/zero"],
        vec!["wallet", "import-keystore", "/dev/zero"],
        vec!["wallet", "sign-typed-data", "/dev/zero"],
    ] {
        keybot(h)
            .args(&args)
            .env("KEYBOT_KEYSTORE_PASSWORD", "ks")
            .env("KEYBOT_PASSWORD", PW)
            .timeout(Duration::from_secs(30))
            .assert()
            .failure()
            .stderr(predicate::str::contains("too large"));
    }
    // The phrase from standard input.
    let fresh = tempfile::tempdir().unwrap();
    let out = Std::new(assert_cmd::cargo::cargo_bin("keybot"))
        .args(["init", "--import"])
        .env("KEYBOT_HOME", fresh.path())
        .env("KEYBOT_PASSWORD", PW)
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("too large"), "{err}");
    assert!(!vault(fresh.path()).exists());
}

#[test]
fn a_misspelled_phrase_word_does_not_reach_the_log() {
    let home = tempfile::tempdir().unwrap();
    let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon zooo about";
    keybot(home.path())
        .args(["init", "--import"])
        .env("KEYBOT_PASSWORD", PW)
        .write_stdin(phrase)
        .assert()
        .failure()
        .stderr(predicate::str::contains("did you mean"));
    let log = std::fs::read_to_string(home.path().join("data/logs/keybot.log")).unwrap();
    assert!(log.contains("word 11"), "the failure is logged: {log}");
    for w in ["zooo", "\"zoo\"", "abandon"] {
        assert!(!log.contains(w), "{w} in the log: {log}");
    }
}

/// A running keybot (here blocked reading a phrase from standard input) has no core dumps: its
/// soft and hard core size limits are 0, even when it was started with them raised.
#[test]
fn a_running_keybot_cannot_dump_core() {
    let home = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("keybot");
    let mut child = Std::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -c \"$(ulimit -H -c)\"; exec '{}' init --import",
            bin.display()
        ))
        .env("KEYBOT_HOME", home.path())
        .env("KEYBOT_PASSWORD", PW)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let limits = format!("/proc/{}/limits", child.id());
    let core_line = || {
        std::fs::read_to_string(&limits)
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .map(|l| {
                l.split_whitespace()
                    .skip(4)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    };
    // Wait until the shell has exec'd keybot (the process name changes) and keybot has had a
    // chance to harden itself; it is blocked on stdin, so it stays alive until we close it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let comm = format!("/proc/{}/comm", child.id());
    let mut seen = None;
    while Instant::now() < deadline {
        let name = std::fs::read_to_string(&comm).unwrap_or_default();
        seen = core_line();
        if name.trim() == "keybot" && seen.as_deref() == Some("0 0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(child.stdin.take());
    let _ = child.wait();
    assert_eq!(seen.as_deref(), Some("0 0"), "core limits (soft hard)");
}

/// A child keybot starts (here a stand-in for anvil that records its environment) does not
/// inherit the vault password, the passphrase or the Hugging Face token.
#[test]
fn children_do_not_inherit_secret_variables() {
    let dir = tempfile::tempdir().unwrap();
    let env_out = dir.path().join("env.txt");
    let fake = dir.path().join("fake-anvil");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\nenv > '{}'\nexit 3\n", env_out.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tempfile::tempdir().unwrap();
    // Another test's fork may hold the new script open for a moment (ETXTBSY): try again then.
    let mut err = String::new();
    for _ in 0..50 {
        let out = keybot(home.path())
            .args([
                "chain",
                "dev",
                "--accounts",
                "0",
                "--port",
                &port.to_string(),
            ])
            .env("KEYBOT_ANVIL", &fake)
            .env("KEYBOT_PASSWORD", "secret-vault-password")
            .env("KEYBOT_NEW_PASSWORD", "secret-new-password")
            .env("KEYBOT_KEYSTORE_PASSWORD", "secret-keystore-password")
            .env("KEYBOT_PASSPHRASE", "secret-passphrase")
            .env("HF_TOKEN", "secret-hf-token")
            .env("KEYBOT_LOG", "info")
            .output()
            .unwrap();
        err = String::from_utf8_lossy(&out.stderr).into_owned();
        if !err.contains("os error 26") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(err.contains("anvil exited"), "{err}");
    let env = std::fs::read_to_string(&env_out).expect("the child ran");
    assert!(
        env.contains("KEYBOT_LOG=info"),
        "other variables pass: {env}"
    );
    assert!(
        !env.contains("secret-"),
        "a secret reached the child: {env}"
    );
}
