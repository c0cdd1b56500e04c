//! On chain, against a real anvil started by `keybot chain dev`: funding, balances (read by
//! keybot, by alloy and by `cast`), sends between two homes, offline signing + broadcast, and
//! every failure a user must understand (insufficient funds, revert, wrong chain, dead RPC).
use crate::common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use common::proxy::{DIE_AFTER_SEND, DIE_BEFORE_SEND, HOSTILE_FEES, HOSTILE_REVERT, PASS, Proxy};
use common::{DevChain as Dev, cast, spawn_listening, tool};
use serde_json::Value;

const PW: &str = "correct horse battery staple";
const PHRASE_A: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const PHRASE_B: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";
const PHRASE_COLD: &str =
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage above";

fn home(phrase: &str) -> tempfile::TempDir {
    common::fast_home(phrase, PW)
}

fn kb(home: &Path, args: &[&str]) -> std::process::Output {
    common::kb_with(home, PW, args)
}

fn ok(home: &Path, args: &[&str]) -> String {
    common::ok_with(home, PW, args)
}

fn fails(home: &Path, args: &[&str], needle: &str) -> String {
    let out = kb(home, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "keybot {args:?} should fail");
    assert!(
        err.contains(needle),
        "keybot {args:?}: {err:?} lacks {needle:?}"
    );
    err
}

/// The wallet's sent transactions as `wallet activity --json` lists them (after a sync).
fn sent_rows(home: &Path) -> Vec<Value> {
    let act: Value = serde_json::from_str(&ok(home, &["wallet", "activity", "--json"])).unwrap();
    act.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["direction"] == "out")
        .cloned()
        .collect()
}

fn address(home: &Path, account: u32) -> Address {
    let out = ok(home, &["wallet", "addresses", "--json", "--count", "3"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[account as usize]["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A port to listen on, and to listen on again later (the proxy and anvil are restarted on
/// theirs). Taken below the kernel's ephemeral range: a port from there could meanwhile become
/// the source port of some outgoing connection and make the second bind fail.
/// Polls `done` until it holds or `limit` passes; true when it held. Each look is itself a
/// round trip to the chain (a keybot run), so the short pause between looks only keeps the loop
/// from spinning; the deadline is generous because the condition, not the pause, decides.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let t = std::time::Instant::now();
    loop {
        if done() {
            return true;
        }
        if t.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A loopback port nothing listens on, for "the RPC is down" cases: bound and released, so a
/// connection to it is refused (were another process to take it meanwhile, the case would fail,
/// not pass). Everything that must listen binds port 0 itself and says which port it got.
fn closed_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `keybot chain dev` in `home` (see tests/common), with this file's password.
fn dev_chain(home: &Path, fund: &[Address]) -> Option<Dev> {
    common::dev_chain(home, PW, fund)
}

fn eth(n: &str) -> U256 {
    keybot::chain::amount::parse(n, 18).unwrap()
}

fn balance_json(home: &Path) -> Value {
    let v: Value = serde_json::from_str(&ok(home, &["wallet", "balance", "--json"])).unwrap();
    v[0].clone()
}

/// Reads a balance with alloy directly, not through keybot's commands.
fn alloy_balance(rpc: &str, who: Address) -> U256 {
    use alloy::providers::{Provider, ProviderBuilder};
    // alloy's HTTP client is reqwest on rustls without a built-in crypto provider (one TLS
    // stack): keybot installs ring first, and so must anyone else in the process.
    keybot::net::tls();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        ProviderBuilder::new()
            .connect_http(rpc.parse().unwrap())
            .get_balance(who)
            .await
            .unwrap()
    })
}

fn nonce(rpc: &str, who: Address) -> u64 {
    cast(&["nonce", "--rpc-url", rpc, &who.to_string()])
        .parse()
        .unwrap()
}

/// Configures `home` for the dev chain the way a second machine would: `chain add`, `token add`.
fn join(home: &Path, dev: &Dev) {
    ok(home, &["chain", "add", "local", "--rpc", &dev.rpc, "--yes"]);
    ok(home, &["token", "add", &dev.tusd.to_string()]);
}

#[test]
fn dev_chain_funds_and_two_homes_send_eth_and_tusd() {
    let a = home(PHRASE_A);
    let b = home(PHRASE_B);
    let (addr_a, addr_b) = (address(a.path(), 0), address(b.path(), 0));
    let Some(dev) = dev_chain(a.path(), &[addr_b]) else {
        return;
    };
    join(b.path(), &dev);

    // Funded: read back by keybot, by alloy and by cast.
    let bal = balance_json(a.path());
    assert_eq!(bal["address"], addr_a.to_checksum(None));
    assert_eq!(bal["eth"], "100");
    assert_eq!(bal["tokens"]["tUSD"]["amount"], "10000");
    assert_eq!(alloy_balance(&dev.rpc, addr_b), eth("100"));
    assert_eq!(
        cast(&["balance", "--rpc-url", &dev.rpc, &addr_b.to_string()]),
        eth("100").to_string()
    );

    // ETH from A to B.
    let out = kb(
        a.path(),
        &[
            "wallet",
            "send",
            "--to",
            &addr_b.to_string(),
            "--value",
            "1.5",
            "--yes",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("first send"),
        "a first send is warned about: {err}"
    );
    assert!(
        err.contains("chain id 31337") && err.contains("nonce") && err.contains("fee cap"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("confirmed"));
    assert_eq!(alloy_balance(&dev.rpc, addr_b), eth("101.5"));
    assert_eq!(
        cast(&["balance", "--rpc-url", &dev.rpc, &addr_b.to_string()]),
        eth("101.5").to_string()
    );
    let a_eth = alloy_balance(&dev.rpc, addr_a);
    assert!(
        a_eth < eth("98.5") && a_eth > eth("98.49"),
        "A paid 1.5 ETH and a fee: {a_eth}"
    );

    // tUSD from A to B, exact decimals.
    let out = ok(
        a.path(),
        &[
            "wallet",
            "send",
            "--to",
            &addr_b.to_string(),
            "--value",
            "250.000001",
            "--token",
            "tUSD",
            "--yes",
        ],
    );
    assert!(out.contains("confirmed"));
    let bal_b = balance_json(b.path());
    assert_eq!(bal_b["tokens"]["tUSD"]["amount"], "10250.000001");
    let raw = cast(&[
        "call",
        "--rpc-url",
        &dev.rpc,
        &dev.tusd.to_string(),
        "balanceOf(address)(uint256)",
        &addr_b.to_string(),
    ]);
    assert!(raw.starts_with("10250000001"), "cast reads {raw}");

    // Activity: A's two sends are confirmed; B sees both arrivals.
    let sent = sent_rows(a.path());
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert!(sent.iter().all(|e| e["status"] == "confirmed"));
    let act_b: Value =
        serde_json::from_str(&ok(b.path(), &["wallet", "activity", "--json"])).unwrap();
    let got: Vec<_> = act_b
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["direction"] == "in" && e["counterparty"] == addr_a.to_checksum(None))
        .map(|e| {
            format!(
                "{} {}",
                e["amount"].as_str().unwrap(),
                e["symbol"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        got.contains(&"1.5 ETH".to_string()) && got.contains(&"250.000001 tUSD".to_string()),
        "{act_b:#}"
    );

    // A second send to B is no longer a "first send".
    let out = kb(
        a.path(),
        &[
            "wallet",
            "send",
            "--to",
            &addr_b.to_string(),
            "--value",
            "0.1",
            "--yes",
        ],
    );
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("first send"));

    // A look-alike of B (same first and last 4 hex digits) is refused without explicit consent.
    let mut fake = addr_b.0.0;
    fake[5] ^= 0xff;
    let fake = Address::from(fake);
    let err = fails(
        a.path(),
        &[
            "wallet",
            "send",
            "--to",
            &fake.to_string(),
            "--value",
            "0.1",
            "--yes",
        ],
        "accept-warnings",
    );
    assert!(err.contains("poisoning"), "{err}");
    assert_eq!(
        nonce(&dev.rpc, addr_a),
        3,
        "nothing sent for the look-alike"
    );
}

/// `chain dev` deploys the data market next to tUSD, with tUSD on its allow-list, and writes its
/// address and deployment block into the network's config; the code there passes the check
/// `market join` makes.
#[test]
fn dev_chain_deploys_the_market_and_writes_its_address_and_block() {
    use keybot::chain::market_contract::{self, DataMarket};
    let a = home(PHRASE_A);
    let Some(dev) = dev_chain(a.path(), &[]) else {
        return;
    };
    let text = std::fs::read_to_string(a.path().join("config/config.toml")).unwrap();
    let config = keybot::chain::network::parse(&text).unwrap();
    let net = &config.networks["local"];
    let (Some(address), Some(block)) = (net.market, net.market_block) else {
        panic!("no market in the config:\n{text}");
    };
    assert_ne!(address, dev.tusd);
    let client = keybot::chain::Client::new("local", net).unwrap();
    keybot::chain::runtime().unwrap().block_on(async {
        let found = market_contract::verify(&client, address).await.unwrap();
        assert_eq!((found.address, found.block), (address, block));
        let m = DataMarket::new(address, client.provider());
        assert!(m.isAllowedToken(dev.tusd).call().await.unwrap());
        assert!(m.isAllowedToken(Address::ZERO).call().await.unwrap());
        assert!(
            !m.isAllowedToken(Address::repeat_byte(7))
                .call()
                .await
                .unwrap()
        );
    });
}

#[test]
fn offline_signing_then_broadcast_from_another_home() {
    let cold = home(PHRASE_COLD);
    let online = home(PHRASE_B);
    let addr_cold = address(cold.path(), 0);
    let addr_b = address(online.path(), 0);
    let Some(dev) = dev_chain(online.path(), &[addr_cold]) else {
        return;
    };
    assert!(
        !cold.path().join("config/config.toml").exists(),
        "the cold home has no network"
    );

    let file = cold.path().join("tx.json");
    let write = |chain: u64, nonce: u64| {
        std::fs::write(
            &file,
            format!(
                r#"{{"chain_id": {chain}, "nonce": {nonce}, "to": "{}", "value": "2",
                    "gas_limit": 21000, "max_fee_per_gas": "10", "max_priority_fee_per_gas": "1"}}"#,
                addr_b.to_checksum(None)
            ),
        )
        .unwrap();
    };
    write(31337, 0);
    let raw = ok(
        cold.path(),
        &["wallet", "sign-tx", file.to_str().unwrap(), "--yes"],
    );
    let raw = raw.trim();
    assert!(raw.starts_with("0x02"), "an EIP-1559 transaction: {raw}");
    // cast decodes the same transaction.
    let decoded = cast(&["decode-transaction", raw]);
    assert!(
        decoded
            .to_lowercase()
            .contains(&addr_b.to_string().to_lowercase()),
        "{decoded}"
    );

    let before = alloy_balance(&dev.rpc, addr_b);
    let out = ok(online.path(), &["chain", "broadcast", raw]);
    assert!(out.contains("confirmed"), "{out}");
    assert_eq!(alloy_balance(&dev.rpc, addr_b), before + eth("2"));
    // The same bytes again: one transaction, already on chain; nothing new happens.
    let out = ok(online.path(), &["chain", "broadcast", raw]);
    assert!(out.contains("already on chain"), "{out}");
    assert_eq!(alloy_balance(&dev.rpc, addr_b), before + eth("2"));
    assert_eq!(nonce(&dev.rpc, addr_cold), 1);

    // Signed for another chain: refused before anything is sent.
    write(1, 1);
    let raw1 = ok(
        cold.path(),
        &["wallet", "sign-tx", file.to_str().unwrap(), "--yes"],
    );
    fails(
        online.path(),
        &["chain", "broadcast", raw1.trim()],
        "chain id 1",
    );
    assert_eq!(nonce(&dev.rpc, addr_cold), 1);

    // A nonce ahead of the account's next one: sent, said to wait, left pending. Sending the
    // same bytes while they wait in the pool is not an error either (anvil: "already imported").
    write(31337, 3);
    let gap = ok(
        cold.path(),
        &["wallet", "sign-tx", file.to_str().unwrap(), "--yes"],
    );
    for _ in 0..2 {
        let out = kb(
            online.path(),
            &["chain", "broadcast", gap.trim(), "--wait", "1"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("ahead of this account's next nonce 1"),
            "{err}"
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("pending"));
    }
    assert_eq!(nonce(&dev.rpc, addr_cold), 1);
}

#[test]
fn failures_are_clear_and_nothing_is_signed_or_sent() {
    let a = home(PHRASE_A);
    let addr_a = address(a.path(), 0);
    let other = address(a.path(), 2);
    let Some(dev) = dev_chain(a.path(), &[]) else {
        return;
    };
    let to = other.to_string();
    // Insufficient funds: ETH, and a token.
    fails(
        a.path(),
        &["wallet", "send", "--to", &to, "--value", "1000", "--yes"],
        "insufficient ETH",
    );
    fails(
        a.path(),
        &[
            "wallet", "send", "--to", &to, "--value", "10000.5", "--token", "tUSD", "--yes",
        ],
        "insufficient tUSD",
    );
    // More decimals than the token has.
    fails(
        a.path(),
        &[
            "wallet",
            "send",
            "--to",
            &to,
            "--value",
            "1.0000001",
            "--token",
            "tUSD",
            "--yes",
        ],
        "decimal places",
    );
    // A call that would revert: ETH to the token contract (it has no receive function).
    fails(
        a.path(),
        &[
            "wallet",
            "send",
            "--to",
            &dev.tusd.to_string(),
            "--value",
            "1",
            "--yes",
            "--accept-warnings",
        ],
        "revert",
    );
    // A bad checksum: the case of one letter flipped.
    let mut flipped: String = addr_a.to_checksum(None);
    let i = 2 + flipped[2..]
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap();
    let c = flipped.as_bytes()[i] as char;
    let swapped = if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c.to_ascii_uppercase()
    };
    flipped.replace_range(i..i + 1, &swapped.to_string());
    fails(
        a.path(),
        &["wallet", "send", "--to", &flipped, "--value", "1", "--yes"],
        "checksum",
    );
    assert_eq!(nonce(&dev.rpc, addr_a), 0);
    assert!(sent_rows(a.path()).is_empty());

    // The configured chain id does not match what the RPC says.
    let config = a.path().join("config/config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("chain_id = 31337", "chain_id = 1")).unwrap();
    fails(
        a.path(),
        &["wallet", "send", "--to", &to, "--value", "1", "--yes"],
        "wrong chain",
    );
    fails(a.path(), &["wallet", "balance"], "wrong chain");
    // An RPC nobody answers: offline, quickly.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    std::fs::write(&config, good.replace(&dev.rpc, &dead)).unwrap();
    let t = Instant::now();
    fails(a.path(), &["wallet", "balance"], "offline");
    fails(
        a.path(),
        &["wallet", "send", "--to", &to, "--value", "1", "--yes"],
        "offline",
    );
    assert!(t.elapsed() < Duration::from_secs(30));
    std::fs::write(&config, &good).unwrap();
    assert_eq!(nonce(&dev.rpc, addr_a), 0);
    assert!(sent_rows(a.path()).is_empty());
    // And with the right config everything works again.
    assert!(
        ok(
            a.path(),
            &["wallet", "send", "--to", &to, "--value", "1", "--yes"]
        )
        .contains("confirmed")
    );
    assert_eq!(nonce(&dev.rpc, addr_a), 1);
}

/// `home`'s network pointed at a proxy in `mode` in front of the dev chain.
fn behind_proxy(home: &Path, dev: &Dev, mode: u8) -> Proxy {
    let config = home.join("config/config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let (proxy, proxy_port) = Proxy::bind(dev.port, mode);
    std::fs::write(
        &config,
        good.replace(&format!(":{}", dev.port), &format!(":{proxy_port}")),
    )
    .unwrap();
    proxy
}

#[test]
fn hostile_rpc_fees_need_accept_warnings() {
    let a = home(PHRASE_A);
    let addr_a = address(a.path(), 0);
    let to = address(a.path(), 1).to_string();
    let Some(dev) = dev_chain(a.path(), &[]) else {
        return;
    };
    let _proxy = behind_proxy(a.path(), &dev, HOSTILE_FEES);
    let send = ["wallet", "send", "--to", &to, "--value", "0.1", "--yes"];
    let err = fails(a.path(), &send, "accept-warnings");
    assert!(err.contains("DANGER") && err.contains("base fee"), "{err}");
    assert!(err.contains("more than 1%"), "{err}");
    assert_eq!(nonce(&dev.rpc, addr_a), 0, "nothing sent");
    // A warning, not a wall: with --accept-warnings the user's decision stands.
    let mut accepted = send.to_vec();
    accepted.push("--accept-warnings");
    assert!(ok(a.path(), &accepted).contains("confirmed"));
    assert_eq!(nonce(&dev.rpc, addr_a), 1);
}

#[test]
fn node_words_and_config_symbols_print_without_control_chars() {
    let a = home(PHRASE_A);
    let to = address(a.path(), 1).to_string();
    let Some(dev) = dev_chain(a.path(), &[]) else {
        return;
    };
    // A token symbol in config.toml that moves the cursor and recolours the screen.
    let config = a.path().join("config/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\"tUSD\"", "\"tU\\u001b[1A\\u001b[31mSD\""),
    )
    .unwrap();
    let control = |s: &str| s.chars().any(|c| c.is_control() && c != '\n');
    for args in [
        &["wallet", "balance"][..],
        &["wallet", "balance", "--json"],
        &["chain", "list"],
        &["chain", "list", "--json"],
    ] {
        let out = kb(a.path(), args);
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{args:?}: {e}");
        assert!(
            o.contains("tU") && !control(&o) && !control(&e),
            "{args:?}: {o:?}"
        );
    }
    // A node whose revert reason redraws the review: printed clean, nothing signed.
    let _proxy = behind_proxy(a.path(), &dev, HOSTILE_REVERT);
    let err = fails(
        a.path(),
        &["wallet", "send", "--to", &to, "--value", "0.1", "--yes"],
        "would revert",
    );
    assert!(!control(&err), "{err:?}");
    assert!(
        err.contains("amount  0.0001 ETH"),
        "the words stay, the escapes go: {err}"
    );
}

#[test]
fn rpc_dying_mid_send_never_sends_twice() {
    let a = home(PHRASE_A);
    let addr_a = address(a.path(), 0);
    let to = address(a.path(), 1);
    let Some(dev) = dev_chain(a.path(), &[]) else {
        return;
    };
    let config = a.path().join("config/config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    // The proxy dies with each send and comes back on the same port.
    let (first, proxy_port) = Proxy::bind(dev.port, DIE_AFTER_SEND);
    let mut first = Some(first);
    std::fs::write(
        &config,
        good.replace(&format!(":{}", dev.port), &format!(":{proxy_port}")),
    )
    .unwrap();

    for (round, mode) in [(1u64, DIE_AFTER_SEND), (2, DIE_BEFORE_SEND)] {
        let proxy = first
            .take()
            .unwrap_or_else(|| Proxy::start(proxy_port, dev.port, mode));
        let err = fails(
            a.path(),
            &[
                "wallet",
                "send",
                "--to",
                &to.to_string(),
                "--value",
                "1",
                "--yes",
            ],
            "will not be signed again",
        );
        proxy.wait_dead();
        let hash = err
            .split_whitespace()
            .find(|w| w.starts_with("0x") && w.len() == 66)
            .unwrap_or_else(|| panic!("no hash in {err}"))
            .to_owned();
        // After DIE_AFTER_SEND anvil has the transaction; after DIE_BEFORE_SEND it does not.
        let expect_now = if mode == DIE_AFTER_SEND {
            round
        } else {
            round - 1
        };
        assert_eq!(nonce(&dev.rpc, addr_a), expect_now, "round {round}");

        if round == 1 {
            // Meanwhile the network's RPC is a node of another chain (a config mistake). On it
            // every hash is unknown: the open transaction must not be re-sent there or marked
            // failed, and nothing is signed.
            let anvil = tool("anvil").unwrap();
            let (mut other, other_port) =
                spawn_listening(StdCommand::new(anvil).args(["--port", "0", "--chain-id", "1"]));
            let proxied = std::fs::read_to_string(&config).unwrap();
            std::fs::write(
                &config,
                proxied.replace(&format!(":{proxy_port}"), &format!(":{other_port}")),
            )
            .unwrap();
            fails(
                a.path(),
                &[
                    "wallet",
                    "send",
                    "--to",
                    &to.to_string(),
                    "--value",
                    "1",
                    "--yes",
                ],
                "wrong chain",
            );
            std::fs::write(&config, proxied).unwrap();
            common::signal(&other, rustix::process::Signal::TERM);
            let _ = other.wait();
        }

        // The RPC is back: activity finds (or re-sends the same bytes of) that transaction.
        let _back = Proxy::start(proxy_port, dev.port, PASS);
        let sent = sent_rows(a.path());
        assert_eq!(sent.len() as u64, round, "one row per send: {sent:#?}");
        let row = sent
            .iter()
            .find(|e| e["hash"] == hash.as_str())
            .expect("the recorded hash");
        // Mined by now (anvil mines at once), or re-sent and mined on a later look.
        if row["status"] != "confirmed" {
            let confirmed = wait_until(Duration::from_secs(60), || {
                sent_rows(a.path())
                    .iter()
                    .any(|e| e["hash"] == hash.as_str() && e["status"] == "confirmed")
            });
            assert!(confirmed, "{:#?}", sent_rows(a.path()));
        }
        assert_eq!(
            nonce(&dev.rpc, addr_a),
            round,
            "exactly one transaction per send"
        );
        let receipt = cast(&["receipt", "--rpc-url", &dev.rpc, &hash, "status"]);
        assert!(
            ["1", "true", "1 (success)"].contains(&receipt.as_str()),
            "{receipt}"
        );
    }
    let _ = dev.anvil.clone();
}

#[test]
fn network_and_token_commands_check_before_they_write() {
    let a = home(PHRASE_A);
    let b = home(PHRASE_B);
    let Some(dev) = dev_chain(a.path(), &[]) else {
        return;
    };
    let h = b.path();
    let config = h.join("config/config.toml");
    assert!(ok(h, &["chain", "list"]).contains("no networks configured (offline)"));

    fails(
        h,
        &["chain", "add", "x", "--rpc", "ftp://example.org", "--yes"],
        "http",
    );
    fails(
        h,
        &["chain", "add", "bad name", "--rpc", &dev.rpc, "--yes"],
        "network name",
    );
    fails(
        h,
        &[
            "chain",
            "add",
            "local",
            "--rpc",
            &dev.rpc,
            "--chain-id",
            "1",
            "--yes",
        ],
        "not 1",
    );
    // Not a terminal and no --yes: nothing is added without a confirmation.
    fails(h, &["chain", "add", "local", "--rpc", &dev.rpc], "--yes");
    let dead = format!("http://127.0.0.1:{}", closed_port());
    fails(
        h,
        &["chain", "add", "dead", "--rpc", &dead, "--yes"],
        "offline",
    );
    assert!(!config.exists(), "no failed command wrote the config");

    ok(h, &["chain", "add", "local", "--rpc", &dev.rpc, "--yes"]);
    let list = ok(h, &["chain", "list"]);
    assert!(list.contains("* local") && list.contains("31337"), "{list}");
    let before = std::fs::read(&config).unwrap();
    fails(
        h,
        &["chain", "add", "local", "--rpc", &dev.rpc, "--yes"],
        "exists already",
    );
    fails(h, &["chain", "use", "nope"], "local");
    let eoa = address(h, 1).to_string();
    fails(h, &["token", "add", &eoa], "ERC-20");
    fails(h, &["token", "add", "0x1234"], "not an address");
    fails(
        h,
        &[
            "wallet", "send", "--to", &eoa, "--value", "1", "--token", "NOPE", "--yes",
        ],
        "no token",
    );
    assert_eq!(
        std::fs::read(&config).unwrap(),
        before,
        "bad input changed the config"
    );
    assert_eq!(common::mode(&config), 0o600);

    // A second dev chain on a port that is taken is refused before anything is written.
    let port = dev.port.to_string();
    fails(
        h,
        &["chain", "dev", "--port", &port, "--accounts", "0"],
        "in use",
    );
    assert_eq!(std::fs::read(&config).unwrap(), before);

    let added = ok(h, &["token", "add", &dev.tusd.to_string()]);
    assert!(added.contains("tUSD (6 decimals)"), "{added}");
    assert!(ok(h, &["chain", "list"]).contains("tUSD"));
}

/// The app in a real terminal (tmux) against the dev chain: balances on the wallet screen, a send
/// through the review screen, the activity list, and the status bar going offline when the
/// chain stops.
#[test]
fn the_app_shows_balances_and_sends_in_a_real_terminal() {
    let a = home(PHRASE_A);
    let to = address(a.path(), 1);
    let Some(mut dev) = dev_chain(a.path(), &[]) else {
        return;
    };
    let h = a.path().display().to_string();
    let bin = assert_cmd::cargo::cargo_bin("keybot").display().to_string();
    let Some(t) = common::Tmux::start(&bin, &[("KEYBOT_HOME", h.as_str())], 120, 36) else {
        return;
    };
    t.wait_for("Your wallet is locked", 20);
    t.line(PW);
    t.wait_for("● local #", 20);
    t.keys(&["Escape"]);
    t.keys(&["1"]);
    let screen = t.wait_for("10000 tUSD", 20);
    assert!(screen.contains("100 ETH"), "{screen}");

    t.keys(&["s"]);
    t.wait_for("Enter review", 10);
    t.type_text(&to.to_checksum(None));
    t.keys(&["Tab"]);
    t.type_text("1.25");
    t.keys(&["Enter"]);
    let review = t.wait_for("exactly what will be signed", 20);
    for needle in ["chain id 31337", "1.25 ETH", "nonce  0", "fee cap"] {
        assert!(
            review.contains(needle),
            "{needle:?} missing from the review:\n{review}"
        );
    }
    assert_eq!(
        nonce(&dev.rpc, address(a.path(), 0)),
        0,
        "nothing is sent before `y`"
    );
    t.keys(&["y"]);
    t.wait_for("confirmed in block", 30);
    assert_eq!(
        alloy_balance(&dev.rpc, to),
        eth("1.25"),
        "account 1 was not funded by chain dev"
    );

    t.keys(&["Enter"]);
    t.keys(&["a"]);
    // The screen opens before its rows arrive: wait for the row itself.
    t.wait_until(30, |s| {
        (s.contains("Activity on local") && s.contains("sent") && s.contains("1.25 ETH"))
            .then_some(())
    });

    // The chain goes away: the status bar says offline and retries.
    common::signal(&dev.child, rustix::process::Signal::TERM);
    let _ = dev.child.wait();
    t.keys(&["Escape"]);
    t.keys(&["r"]);
    t.wait_for("offline (retry in", 20);
    t.keys(&["q"]);
}

/// anvil with `--state`: keeps its chain across a restart (it dumps on SIGTERM), not its pool.
/// `port` 0 the first time; the restart uses the port it got.
fn anvil_with_state(anvil: &Path, port: u16, state: &Path, mining: bool) -> (Child, u16) {
    let mut c = StdCommand::new(anvil);
    c.args([
        "--port",
        &port.to_string(),
        "--state",
        state.to_str().unwrap(),
    ])
    .args(["--mnemonic", PHRASE_A])
    .stderr(Stdio::null());
    if !mining {
        c.arg("--no-mining");
    }
    spawn_listening(&mut c)
}

/// The real RPC is killed while keybot waits for the receipt, then restarted: keybot stops
/// without signing again, and the next run finds the transaction gone from the restarted node's
/// pool and re-sends the very same bytes, which land once.
#[test]
fn anvil_killed_while_waiting_then_restarted() {
    let Some(anvil) = tool("anvil") else { return };
    let a = home(PHRASE_A);
    let from = address(a.path(), 0);
    let to = Address::repeat_byte(0x42);
    let state = a.path().join("anvil-state.json");
    // --mnemonic: anvil's dev accounts are this wallet's, 10,000 ETH each.
    let (mut node, port) = anvil_with_state(&anvil, 0, &state, false);
    let rpc = format!("http://127.0.0.1:{port}");
    std::fs::create_dir_all(a.path().join("config")).unwrap();
    std::fs::write(
        a.path().join("config/config.toml"),
        format!("network = \"local\"\n\n[networks.local]\nchain_id = 31337\nrpc = \"{rpc}\"\ndev = true\n"),
    )
    .unwrap();

    let send = StdCommand::new(assert_cmd::cargo::cargo_bin("keybot"))
        .env("KEYBOT_HOME", a.path())
        .env("KEYBOT_PASSWORD", PW)
        .args([
            "wallet",
            "send",
            "--to",
            &to.to_string(),
            "--value",
            "1",
            "--yes",
            "--wait",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The transaction is in anvil's pool (not mined: --no-mining); keybot is waiting.
    let t = Instant::now();
    while cast(&[
        "nonce",
        "--block",
        "pending",
        "--rpc-url",
        &rpc,
        &from.to_string(),
    ]) != "1"
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the transaction never reached anvil"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    common::signal(&node, rustix::process::Signal::TERM);
    node.wait().unwrap();
    let out = send.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("will not be signed again"), "{err}");
    let hash = err
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 66)
        .unwrap_or_else(|| panic!("no hash in {err}"))
        .to_owned();

    // Back, mining again, with its chain but without the pooled transaction.
    let (mut node, _) = anvil_with_state(&anvil, port, &state, true);
    assert_eq!(nonce(&rpc, from), 0, "the restarted node lost its pool");
    let mut status = String::new();
    wait_until(Duration::from_secs(60), || {
        let sent = sent_rows(a.path());
        assert_eq!(sent.len(), 1, "{sent:#?}");
        assert_eq!(
            sent[0]["hash"],
            hash.as_str(),
            "the same transaction, not a new one"
        );
        status = sent[0]["status"].as_str().unwrap().to_owned();
        status == "confirmed"
    });
    assert_eq!(status, "confirmed");
    assert_eq!(nonce(&rpc, from), 1);
    assert_eq!(alloy_balance(&rpc, to), eth("1"));
    common::signal(&node, rustix::process::Signal::TERM);
    let _ = node.wait();
}
