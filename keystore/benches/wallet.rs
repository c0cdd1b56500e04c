//! Wallet figures: unlock time (dominated by the KDF) and addresses derived per second.
//! `cargo bench -p keybot-keystore` prints them; they are figures, not pass/fail tests.
// Test code: unwrap, expect and panic are how a test fails (Cargo.toml's [workspace.lints] deny
// them in the program).
// A benchmark prints its figures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]
use std::time::Instant;

use keybot_keystore::secret::Password;
use keybot_keystore::vault::{self, KdfParams};
use keybot_keystore::{Phrase, Wallet};

fn main() {
    let phrase =
        Phrase::parse("test test test test test test test test test test test junk").unwrap();
    let wallet = Wallet::new(phrase, "").unwrap();
    let pw = Password::from("bench password");

    let kdf = KdfParams::STANDARD;
    let bytes = vault::encode(&wallet, &pw, kdf).unwrap();
    let runs = 5;
    let t = Instant::now();
    for _ in 0..runs {
        let w = vault::decode(&bytes, &pw).unwrap();
        assert_eq!(w.addresses(0, 1).unwrap(), wallet.addresses(0, 1).unwrap());
    }
    let unlock = t.elapsed() / runs;
    println!(
        "unlock (scrypt N=2^{} r={} p={}, XChaCha20-Poly1305, BIP-39 seed, BIP-32 root): {:.1} ms",
        kdf.log_n,
        kdf.r,
        kdf.p,
        unlock.as_secs_f64() * 1e3
    );

    let n = 2000;
    let t = Instant::now();
    let addrs = wallet.addresses(0, n).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(addrs.len(), n as usize);
    println!(
        "addresses m/44'/60'/0'/0/i: {:.0} per second ({n} in {:.1} ms)",
        f64::from(n) / secs,
        secs * 1e3
    );

    let t = Instant::now();
    for i in 0..200 {
        let _ = wallet.signer(keybot_keystore::AccountRef::Hd(i)).unwrap();
    }
    println!(
        "signer from the full path (5 levels each): {:.0} per second",
        200.0 / t.elapsed().as_secs_f64()
    );
}
