//! The market's ECIES against eciesjs from npm, both ways (MARKET.md "Delivery"): what keybot
//! encrypts, eciesjs decrypts, and what eciesjs encrypts to a wallet's market public key, the
//! wallet decrypts. eciesjs is pinned by version and integrity hash in
//! scripts/eciesjs/package-lock.json; .ci/run installs it and scripts/test.sh points
//! KEYBOT_ECIESJS_DIR at it. scripts/eciesjs/interop.mjs is the node side.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keybot_keystore::{EciesError, Error, Phrase, Wallet, encrypt_to};

const ABOUT: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// A test secret key for the keybot → eciesjs direction (eciesjs holds it, keybot never does).
const SECRET: &str = "e520872701d9ec44dbac2eab85512ad14ad0c42e01de56d7b528abd8524fcb47";

struct Eciesjs {
    node: PathBuf,
    dir: PathBuf,
}

impl Eciesjs {
    /// node and the installed eciesjs; in CI a missing one fails the test.
    fn find() -> Option<Eciesjs> {
        let node = common::tool("node")?;
        let dir = std::env::var_os("KEYBOT_ECIESJS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::var_os("KEYBOT_CACHE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                            .join(".cache/keybot-ci")
                    })
                    .join("tools/eciesjs")
            });
        let installed = dir.join("node_modules/eciesjs/package.json");
        let Ok(installed) = std::fs::read_to_string(&installed) else {
            let how = format!(
                "install it with `npm ci --prefix {d}` after copying scripts/eciesjs/package*.json \
                 there (.ci/run does), or set KEYBOT_ECIESJS_DIR",
                d = dir.display()
            );
            assert!(!common::in_ci(), "eciesjs is required in CI: {how}");
            eprintln!(
                "SKIPPED: eciesjs is not installed in {}: {how}",
                dir.display()
            );
            return None;
        };
        // The installed version is the pinned one (a stale install would test something else).
        let pinned: serde_json::Value =
            serde_json::from_str(include_str!("../../scripts/eciesjs/package.json")).unwrap();
        let installed: serde_json::Value = serde_json::from_str(&installed).unwrap();
        assert_eq!(
            installed["version"],
            pinned["dependencies"]["eciesjs"],
            "the eciesjs in {} is not the pinned version: reinstall it (.ci/run)",
            dir.display()
        );
        Some(Eciesjs { node, dir })
    }

    /// Runs interop.mjs and returns its one line of output.
    fn run(&self, args: &[&str], stdin: &str) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/eciesjs/interop.mjs");
        let mut child = Command::new(&self.node)
            .arg(script)
            .args(args)
            .env("KEYBOT_ECIESJS_DIR", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "interop.mjs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

fn messages() -> Vec<Vec<u8>> {
    vec![
        // A content key K, what the market delivers.
        (0u8..32).collect(),
        Vec::new(),
        "données à vendre 🌍".as_bytes().to_vec(),
        (0..10_000u32).map(|i| (i * 7) as u8).collect(),
    ]
}

fn wallet(phrase: &str, passphrase: &str) -> Wallet {
    Wallet::new(Phrase::parse(phrase).unwrap(), passphrase).unwrap()
}

#[test]
fn keybot_encrypts_eciesjs_decrypts() {
    let Some(js) = Eciesjs::find() else { return };
    for form in ["compressed", "uncompressed"] {
        let public_key = hex::decode(js.run(&["public-key", SECRET, form], "")).unwrap();
        assert_eq!(public_key.len(), if form == "compressed" { 33 } else { 65 });
        for msg in messages() {
            let sealed = encrypt_to(&public_key, &msg).unwrap();
            assert_eq!(sealed.len(), 65 + 16 + 16 + msg.len());
            let opened = js.run(&["decrypt", SECRET, &hex::encode(&sealed)], "");
            assert_eq!(opened, hex::encode(&msg), "{form}, {} bytes", msg.len());
        }
    }
}

#[test]
fn eciesjs_encrypts_to_the_wallet_and_the_wallet_decrypts() {
    let Some(js) = Eciesjs::find() else { return };
    let w = wallet(ABOUT, "");
    let public_key = hex::encode(w.market_public_key().unwrap());
    for msg in messages() {
        let sealed =
            hex::decode(js.run(&["encrypt", &public_key, &hex::encode(&msg)], "")).unwrap();
        // MARKET.md: a 32-byte content key arrives as 129 bytes.
        assert_eq!(sealed.len(), 97 + msg.len());
        assert_eq!(&w.market_decrypt(&sealed).unwrap()[..], &msg[..]);
        // One bit changed anywhere past the ephemeral key: refused, nothing returned.
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        altered[70] ^= 0x10;
        assert!(matches!(
            w.market_decrypt(&altered),
            Err(Error::Ecies(EciesError::Authentication))
        ));
    }
    // Sent to another wallet (the same phrase with a passphrase): not readable here.
    let other = hex::encode(wallet(ABOUT, "TREZOR").market_public_key().unwrap());
    let sealed = hex::decode(js.run(&["encrypt", &other, "00ff"], "")).unwrap();
    assert!(matches!(
        w.market_decrypt(&sealed),
        Err(Error::Ecies(EciesError::Authentication))
    ));
}

#[test]
fn market_public_key_matches_an_independent_derivation() {
    // interop.mjs derives BIP-39 → BIP-32 → BIP-85 HEX index 1 with node's crypto and noble's
    // secp256k1, sharing no code with keybot's derivation.
    let Some(js) = Eciesjs::find() else { return };
    for (phrase, passphrase) in [(ABOUT, ""), (ABOUT, "TREZOR"), (common::ANVIL_PHRASE, "")] {
        let theirs = js.run(&["market-public-key", passphrase], phrase);
        let ours = hex::encode(wallet(phrase, passphrase).market_public_key().unwrap());
        assert_eq!(ours, theirs, "{phrase:?} / {passphrase:?}");
    }
}
