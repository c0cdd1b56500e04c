//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest, Sha256};

/// The anvil / hardhat default phrase (public; never use it for real funds).
pub const ANVIL_PHRASE: &str = "test test test test test test test test test test test junk";

/// `keybot` with its home in `home` and no secret-bearing variables from the outer environment.
pub fn keybot(home: &Path) -> Command {
    let mut c = Command::cargo_bin("keybot").unwrap();
    c.env("KEYBOT_HOME", home)
        .env_remove("KEYBOT_PASSWORD")
        .env_remove("KEYBOT_NEW_PASSWORD")
        .env_remove("KEYBOT_PASSPHRASE")
        .env_remove("KEYBOT_KEYSTORE_PASSWORD")
        .env_remove("KEYBOT_TEST_WEAK_KDF");
    c
}

pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

/// An external tool (cast, anvil, …) from `KEYBOT_<NAME>` or PATH. Missing in CI is a failure;
/// elsewhere the caller skips and says so.
pub fn tool(name: &str) -> Option<PathBuf> {
    let var = format!("KEYBOT_{}", name.to_uppercase());
    let found = std::env::var_os(&var).map(PathBuf::from).filter(|p| p.is_file()).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file())
        })
    });
    if found.is_none() {
        assert!(!in_ci(), "{name} is required in CI (set {var} or put it on PATH)");
        eprintln!("SKIPPED: {name} not found (set {var}); this test fails in CI");
    }
    found
}

/// sha256 of every file under `dir`, for "changes nothing" checks.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    fn walk(d: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_none_or(|x| x != "log") {
                out.insert(p.clone(), hex::encode(Sha256::digest(std::fs::read(&p).unwrap())));
            }
        }
    }
    walk(dir, &mut out);
    out
}

/// A home with a wallet restored from `phrase`, vault password `pw`.
pub fn home_with(phrase: &str, pw: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    keybot(home.path())
        .args(["init", "--import"])
        .env("KEYBOT_PASSWORD", pw)
        .write_stdin(phrase)
        .assert()
        .success();
    home
}

pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

pub fn vault(home: &Path) -> PathBuf {
    home.join("data/vault.kbv")
}

/// A real GGUF test model from `var` (`KEYBOT_TEST_MODEL`, `KEYBOT_TEST_MODEL_BASE`; set them with
/// `eval "$(bash scripts/fetch-test-models.sh)"`). Missing in CI is a failure.
pub fn test_model(var: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "{var} must point at the test model in CI (scripts/fetch-test-models.sh)"
        );
        eprintln!(
            "SKIPPED: {var} not set (eval \"$(bash scripts/fetch-test-models.sh)\"); this test fails in CI"
        );
    }
    found
}

/// A llama.cpp reference tool built by scripts/build-llama-tools.sh, found through
/// `KEYBOT_LLAMA_COMPLETION`-style variables. Missing in CI is a failure.
pub fn llama_tool(bin: &str) -> Option<PathBuf> {
    let var = format!("KEYBOT_{}", bin.to_uppercase().replace('-', "_"));
    let found = std::env::var_os(&var)
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "{bin} is required in CI (eval \"$(bash scripts/build-llama-tools.sh)\")"
        );
        eprintln!(
            "SKIPPED: {bin} not found (set {var}: eval \"$(bash scripts/build-llama-tools.sh)\")"
        );
    }
    found
}

/// Tests that run a model hold this: llama.cpp uses every core, and parallel models make each
/// other's timings (and CI) crawl.
pub fn model_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
