//! SIGKILL at random moments while the vault is being rewritten: every time, the vault opens with
//! the old or the new password and holds the same phrase.
//!
//! Needs the `test-weak-kdf` feature (the README's test command enables it) so that a rewrite
//! takes milliseconds; release builds do not contain that switch.
use crate::common;

use std::process::Command as Std;
use std::time::Instant;

use common::*;
use keybot_keystore::vault;

#[test]
#[cfg_attr(
    not(feature = "test-weak-kdf"),
    ignore = "needs --features test-weak-kdf"
)]
fn sigkill_during_change_password_never_loses_the_vault() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    keybot(h)
        .args(["init", "--import"])
        .env("KEYBOT_PASSWORD", "p0")
        .env("KEYBOT_TEST_WEAK_KDF", "1")
        .write_stdin(ANVIL_PHRASE)
        .assert()
        .success();
    let bin = assert_cmd::cargo::cargo_bin("keybot");
    let spawn = |old: &str, new: &str| {
        Std::new(&bin)
            .args(["wallet", "change-password"])
            .env("KEYBOT_HOME", h)
            .env("KEYBOT_PASSWORD", old)
            .env("KEYBOT_NEW_PASSWORD", new)
            .env("KEYBOT_TEST_WEAK_KDF", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long one uninterrupted rewrite takes, to spread the kills over it.
    let t = Instant::now();
    assert!(spawn("p0", "p1").wait().unwrap().success());
    let full = t.elapsed();
    let mut current = "p1".to_owned();
    let mut kills = 0;
    let mut rounds = 0;
    let mut seen_new = 0;
    let mut rng_state = 0x2545F4914F6CDD1Du64 ^ u64::from(std::process::id());
    while kills < 100 {
        rounds += 1;
        assert!(rounds < 2000, "could not land 100 kills");
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let next = format!("p{rounds}");
        let mut child = spawn(&current, &next);
        let delay = full.mul_f64((rng_state % 1000) as f64 / 1000.0 * 1.1);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            kills += 1;
            let _ = child.kill(); // SIGKILL
        }
        let _ = child.wait();
        let path = vault(h);
        let opened = [&current, &next].into_iter().find_map(|pw| {
            vault::open(&path, &pw.as_str().into())
                .ok()
                .map(|w| (pw.clone(), w))
        });
        let (pw, wallet) = opened
            .unwrap_or_else(|| panic!("round {rounds}: the vault opens with neither password"));
        assert_eq!(
            *wallet.phrase().to_phrase_string(),
            ANVIL_PHRASE,
            "round {rounds}"
        );
        if pw == next {
            seen_new += 1;
        }
        current = pw;
    }
    eprintln!(
        "{kills} kills in {rounds} rounds; the new password had landed {seen_new} times; one rewrite takes {full:?}"
    );
    // Leftover temp files from killed writers are cleaned up by the next write; none is a vault.
    assert_eq!(mode(&vault(h)), 0o600);
}
