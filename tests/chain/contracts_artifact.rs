//! The committed contract artifacts in assets/contracts (and the test-only ones in
//! assets/contracts/test) are what the pinned compiler builds from the committed sources, and
//! alloy's `sol!` binds them.
use crate::common;

use std::path::Path;
use std::process::Command;

use alloy::sol_types::{SolCall, SolError};
use common::in_ci;

alloy::sol!(
    #[sol(rpc)]
    TestToken,
    "assets/contracts/TestToken.json"
);

// keybot's own binding; the test-only tokens are bound here, never in keybot.
use keybot::chain::market_contract::DataMarket;

alloy::sol!(
    #[sol(rpc)]
    ReentrantToken,
    "assets/contracts/test/ReentrantToken.json"
);

alloy::sol!(
    #[sol(rpc)]
    FeeOnTransferToken,
    "assets/contracts/test/FeeOnTransferToken.json"
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

/// DataMarket's artifact binds with the surface MARKET.md fixes, and its creation code carries
/// the runtime code `market join` compares deployments with.
#[test]
fn sol_macro_binds_the_data_market_artifact() {
    assert!(!DataMarket::DEPLOYED_BYTECODE.is_empty());
    assert!(
        DataMarket::BYTECODE
            .windows(DataMarket::DEPLOYED_BYTECODE.len())
            .any(|w| w == &DataMarket::DEPLOYED_BYTECODE[..])
    );
    // The runtime code ends with the CBOR metadata (the IPFS hash of the sources and the solc
    // version): two builds from different sources differ there at least.
    let code = &DataMarket::DEPLOYED_BYTECODE[..];
    let cbor = u16::from_be_bytes([code[code.len() - 2], code[code.len() - 1]]) as usize;
    assert!(
        code[code.len() - 2 - cbor..]
            .windows(4)
            .any(|w| w == b"ipfs"),
        "metadata hash appended"
    );
    assert_eq!(
        DataMarket::listCall::SIGNATURE,
        "list(uint256,address,bytes32,bytes32,bytes,string,string)"
    );
    assert_eq!(DataMarket::buyCall::SIGNATURE, "buy(uint256,bytes,uint256)");
    assert_eq!(
        DataMarket::withdrawCall::SIGNATURE,
        "withdraw(address,address,uint256[])"
    );
    assert_eq!(
        DataMarket::challengeCall::SIGNATURE,
        "challenge(uint256,uint256,uint256,bytes,bytes,bytes)"
    );
    assert_eq!(
        DataMarket::ReentrancyGuardReentrantCall::SIGNATURE,
        "ReentrancyGuardReentrantCall()"
    );
    assert_eq!(
        DataMarket::TransferAmountMismatch::SIGNATURE,
        "TransferAmountMismatch(uint256,uint256)"
    );
}

/// The attack contracts are compiled like the others but live in assets/contracts/test, and
/// keybot itself never binds them.
#[test]
fn test_only_contracts_are_built_but_never_bound_by_keybot() {
    assert!(!ReentrantToken::BYTECODE.is_empty());
    assert!(!FeeOnTransferToken::BYTECODE.is_empty());
    assert_eq!(ReentrantToken::attackCall::SIGNATURE, "attack()");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains("assets/contracts/test/"),
                    "{} binds a test-only contract",
                    path.display()
                );
            }
        }
    }
}
