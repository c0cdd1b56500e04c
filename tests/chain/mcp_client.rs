//! `keybot mcp` driven by the official MCP Python SDK (PyPI's `mcp`, pinned in
//! scripts/mcp/requirements.txt) on a real anvil chain: the client lists the tools, a read
//! answers with the chain's numbers, a bad call is a tool error of one line, and a proposal is
//! only queued: nothing moves until `keybot proposals review` signs it on the user's word, which
//! needs the loud warning accepted (another program wrote the address). Checked with cast.
use serde_json::Value;

use crate::common::{self, kb_with, ok_with};

const PW: &str = "correct horse battery staple";
const PHRASE: &str = "test test test test test test test test test test test junk";
const FRIEND: &str = "0x2546BcD3c84621e976D8185a91A922aE77ECEc30";

/// The SDK's python (scripts/mcp/venv.sh); missing in CI is a failure.
fn python() -> Option<String> {
    match std::env::var("KEYBOT_MCP_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                !common::in_ci(),
                "KEYBOT_MCP_PYTHON is not set: scripts/test.sh installs the MCP Python SDK"
            );
            eprintln!("skipped: KEYBOT_MCP_PYTHON (scripts/mcp/venv.sh) is not set");
            None
        }
    }
}

/// The client's session: the tools it listed and each call's (is_error, text).
fn session(
    python: &str,
    home: &std::path::Path,
    calls: &str,
) -> (Vec<String>, Vec<(bool, String)>) {
    let bin = assert_cmd::cargo::cargo_bin("keybot");
    let client = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let out = std::process::Command::new(python)
        .arg(client)
        .arg(&bin)
        .arg(calls)
        .env("KEYBOT_HOME", home)
        .env("KEYBOT_PASSWORD", PW)
        .env_remove("KEYBOT_NEW_PASSWORD")
        .env_remove("KEYBOT_PASSPHRASE")
        .env_remove("KEYBOT_TEST_WEAK_KDF")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let tools = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    let results = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["is_error"].as_bool().unwrap(),
                c["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (tools, results)
}

#[test]
fn an_mcp_client_reads_and_its_proposal_waits_for_the_users_review() {
    let Some(python) = python() else {
        return;
    };
    let home = common::fast_home(PHRASE, PW);
    let h = home.path();
    // Stdin is the protocol: without a password from the environment or a file, one line.
    let out = common::keybot(h).arg("mcp").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--password-file FILE or KEYBOT_PASSWORD"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing on the protocol's stdout");
    let Some(dev) = common::dev_chain(h, PW, &[]) else {
        return;
    };
    let calls = serde_json::json!([
        ["balances", {}],
        ["transfer", {"to": FRIEND, "amount": "1", "token": "tUSD"}],
        ["send_everything", {}],
        ["activity", {"limit": "ten"}],
    ])
    .to_string();
    let (tools, results) = session(&python, h, &calls);
    for name in [
        "balances",
        "market_listings",
        "earnings",
        "transfer",
        "market_proposal",
    ] {
        assert!(tools.iter().any(|t| t == name), "{name} in {tools:?}");
    }
    let (err, balances) = &results[0];
    assert!(!err, "{balances}");
    let balances: Value = serde_json::from_str(balances).unwrap();
    assert_eq!(balances["accounts"][0]["tokens"]["tUSD"], "10000");
    let (err, proposed) = &results[1];
    assert!(!err, "{proposed}");
    assert!(
        proposed.starts_with("\"proposed: waiting for the user (proposal 1:"),
        "{proposed}"
    );
    for (err, line) in &results[2..] {
        assert!(err, "{line}");
        assert!(!line.contains('\n'), "{line}");
    }
    assert!(
        results[2].1.contains("there is no tool"),
        "{}",
        results[2].1
    );
    assert!(results[3].1.contains("wrong arguments for activity"));
    assert_eq!(dev.tusd_of(FRIEND), "0", "the server signs nothing");

    // The queue: listed for the user; off a terminal without --yes nothing is signed.
    let list: Value = serde_json::from_str(&ok_with(h, PW, &["proposals", "--json"])).unwrap();
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["source"], "mcp");
    assert_eq!(list[0]["intent"], format!("send 1 tUSD to {FRIEND}"));
    assert_eq!(list[0]["state"], "pending");
    let out = kb_with(h, PW, &["proposals", "review", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("DANGER: proposed by the model"), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "proposed: waiting for the user"
    );
    assert_eq!(dev.tusd_of(FRIEND), "0");

    // The user's word, with the loud warning accepted: exactly 1 tUSD arrives, once.
    let out = kb_with(
        h,
        PW,
        &["proposals", "review", "1", "--yes", "--accept-warnings"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("signed: tx 0x"),
        "{err}"
    );
    assert_eq!(dev.tusd_of(FRIEND), "1000000 [1e6]");
    let again = kb_with(
        h,
        PW,
        &["proposals", "review", "1", "--yes", "--accept-warnings"],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("decided already"));
    let list: Value =
        serde_json::from_str(&ok_with(h, PW, &["proposals", "--json", "--all"])).unwrap();
    assert_eq!(list[0]["state"], "signed");
    assert!(ok_with(h, PW, &["proposals", "--json"]).trim() == "[]");
}
