//! keybot's library half: the parts that integration tests and the binary both use.
//!
//! The binary (`src/main.rs`) is glue over these modules; keeping them in a library lets the
//! tests drive them directly (for example, fill a store and check that `keybot backup` brings it
//! back on a fresh machine).
#![forbid(unsafe_code)]
pub mod bot;
pub mod chain;
pub mod chat;
// The command line is keybot's output layer: the one module that writes to stdout (the app draws
// through ratatui; everything else returns values). Cargo.toml's lints deny printing elsewhere.
#[allow(clippy::print_stdout, reason = "the command line's output")]
pub mod cli;
pub mod config;
pub mod logging;
pub mod market;
pub mod net;
pub mod process;
pub mod sanitize;
pub mod service;
pub mod store;
pub mod strength;
pub mod tui;

/// What the unit tests share: whether they run in CI, where a missing tool or model is a failure
/// rather than a skip (tests/common has the same rule for the integration tests).
#[cfg(test)]
pub(crate) mod test_support {
    /// `CI=true` or `CI=1`.
    pub fn in_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
    }

    /// The test model `var` names (`KEYBOT_TEST_MODEL`, `KEYBOT_TEST_MODEL_BASE`); in CI a missing
    /// one fails the test, elsewhere the test says SKIPPED and passes.
    pub fn test_model(var: &str) -> Option<std::path::PathBuf> {
        let p = std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .filter(|p| p.is_file());
        if p.is_none() {
            assert!(
                !in_ci(),
                "{var} must point at the test model in CI (scripts/fetch-test-models.sh)"
            );
            eprintln!("SKIPPED: {var} is not set (eval \"$(bash scripts/fetch-test-models.sh)\")");
        }
        p
    }

    /// llama.cpp already uses every core: the unit tests that load a model take turns.
    pub fn model_serial() -> std::sync::MutexGuard<'static, ()> {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }
}
