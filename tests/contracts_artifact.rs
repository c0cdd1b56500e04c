//! The committed contract artifacts in assets/contracts are what the pinned compiler builds from
//! the committed sources, and alloy's `sol!` binds them.
mod common;

use std::path::Path;
use std::process::Command;

use alloy::sol_types::{SolCall, SolError};
use common::in_ci;

alloy::sol!(
    #[sol(rpc)]
    TestToken,
    "assets/contracts/TestToken.json"
);

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
}

/// Recompiles every contract with the solc-js version and settings the repository pins
/// (scripts/compile-contracts.sh --check) and fails if a committed artifact differs.
#[test]
fn committed_artifacts_match_the_pinned_compiler() {
    let missing: Vec<&str> = ["node", "npm"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if !missing.is_empty() {
        assert!(
            !in_ci(),
            "{} not on PATH: CI needs node and npm to recompile the contracts (scripts/compile-contracts.sh)",
            missing.join(" and ")
        );
        eprintln!(
            "SKIPPED: {} not on PATH; the contract artifacts are not checked (this test fails in CI)",
            missing.join(" and ")
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/compile-contracts.sh"))
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("run bash scripts/compile-contracts.sh --check");
    assert!(
        out.status.success(),
        "scripts/compile-contracts.sh --check failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `sol!` reads the ABI and both bytecodes from the artifact.
#[test]
fn sol_macro_binds_the_test_token_artifact() {
    assert!(!TestToken::BYTECODE.is_empty());
    assert!(!TestToken::DEPLOYED_BYTECODE.is_empty());
    // The creation code carries the runtime code it deploys.
    assert!(
        TestToken::BYTECODE
            .windows(TestToken::DEPLOYED_BYTECODE.len())
            .any(|w| w == &TestToken::DEPLOYED_BYTECODE[..])
    );
    assert_eq!(TestToken::faucetCall::SIGNATURE, "faucet(address,uint256)");
    assert_eq!(
        TestToken::transferCall::SIGNATURE,
        "transfer(address,uint256)"
    );
    assert_eq!(TestToken::decimalsCall::SIGNATURE, "decimals()");
    assert_eq!(
        TestToken::FaucetCapExceeded::SIGNATURE,
        "FaucetCapExceeded(uint256,uint256)"
    );
}
