//! The log indexer (src/chain/indexer) against a real anvil: a reorg replaces what was stored,
//! an interrupted run resumes at its cursor and ends with the same rows as an uninterrupted one,
//! a provider that refuses wide ranges gets smaller ones and every log is still found, and
//! activity finds a transfer to the eighth account once the user derived eight.
use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use common::proxy::{Call, Proxy, Reply, http_json};
use common::{keybot, spawn_listening, tool};
use keybot::chain::activity::{self, ACCOUNTS_SETTING, INDEXER};
use keybot::chain::indexer::IndexerConfig;
use keybot::chain::{Client, Token, dev};
use keybot::store::{CursorKey, Store};
use keybot_keystore::secret::Secret32;
use keybot_keystore::{Phrase, Wallet};
use serde_json::{Value, json};

const PW: &str = "correct horse battery staple";
const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// anvil's first dev account (public, funded by anvil on every fresh chain).
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// A bare anvil (chain id 31337, anvil's own mnemonic), killed on drop.
struct Anvil {
    child: Child,
    port: u16,
    rpc: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn anvil() -> Option<Anvil> {
    let bin = tool("anvil")?;
    tool("cast")?;
    // Port 0: anvil binds a free port and says which ("Listening on 127.0.0.1:PORT"); no
    // bind-and-release race.
    let (child, port) = spawn_listening(
        StdCommand::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stderr(Stdio::null()),
    );
    Some(Anvil {
        child,
        port,
        rpc: format!("http://127.0.0.1:{port}"),
    })
}

/// One JSON-RPC call, straight to `url` (not through keybot).
async fn rpc(url: &str, method: &str, params: Value) -> Value {
    // reqwest's rustls has no built-in crypto provider (one TLS stack): keybot installs ring.
    keybot::net::tls();
    let v: Value = reqwest::Client::new()
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["error"].is_null(), "{method}: {v}");
    v["result"].clone()
}

async fn head(url: &str) -> u64 {
    hex_u64(&rpc(url, "eth_blockNumber", json!([])).await)
}

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

async fn mine(url: &str, blocks: u32) {
    for _ in 0..blocks {
        rpc(url, "evm_mine", json!([])).await;
    }
}

/// A signed `faucet(to, amount)` call on the test token from anvil's dev account (raw bytes,
/// so the very same transaction can be sent again after a reorg).
fn faucet_tx(url: &str, token: Address, to: Address, amount: u64) -> String {
    let out = StdCommand::new(tool("cast").unwrap())
        .args(["mktx", "--rpc-url", url, "--private-key", DEV_KEY])
        .arg(token.to_string())
        .args([
            "faucet(address,uint256)",
            &to.to_string(),
            &amount.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Sends raw bytes and waits for the receipt; the block they landed in.
async fn land(url: &str, raw: &str) -> (B256, u64) {
    let hash = rpc(url, "eth_sendRawTransaction", json!([raw])).await;
    let t = Instant::now();
    loop {
        let r = rpc(url, "eth_getTransactionReceipt", json!([hash])).await;
        if !r.is_null() {
            return (
                hash.as_str().unwrap().parse().unwrap(),
                hex_u64(&r["blockNumber"]),
            );
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no receipt for {hash}"
        );
        tokio::task::yield_now().await;
    }
}

async fn mint(url: &str, token: Address, to: Address, amount: u64) -> (B256, u64) {
    land(url, &faucet_tx(url, token, to, amount)).await
}

/// The chain's own answer, asked in one wide query straight from anvil: every token Transfer to
/// or from `own`, as (tx hash, log index, block).
async fn truth(url: &str, token: Address, own: &[Address]) -> BTreeSet<(B256, i64, u64)> {
    let logs = rpc(
        url,
        "eth_getLogs",
        json!([{"fromBlock": "0x0", "toBlock": "latest", "address": token}]),
    )
    .await;
    let word = |a: &Address| format!("{:#x}", a.into_word());
    let ours: BTreeSet<String> = own.iter().map(word).collect();
    logs.as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            let t = l["topics"].as_array().unwrap();
            t.len() == 3
                && (ours.contains(t[1].as_str().unwrap()) || ours.contains(t[2].as_str().unwrap()))
        })
        .map(|l| {
            (
                l["transactionHash"].as_str().unwrap().parse().unwrap(),
                hex_u64(&l["logIndex"]) as i64,
                hex_u64(&l["blockNumber"]),
            )
        })
        .collect()
}

/// What the store holds for the token, in the same shape, asserting no row is there twice.
fn stored(store: &Store, token: Address) -> BTreeSet<(B256, i64, u64)> {
    let rows: Vec<_> = store
        .transfers(31337)
        .unwrap()
        .into_iter()
        .filter(|t| t.asset.token == Some(token))
        .map(|t| (t.tx_hash, t.log_index, t.block))
        .collect();
    let set: BTreeSet<_> = rows.iter().copied().collect();
    assert_eq!(set.len(), rows.len(), "a transfer stored twice: {rows:?}");
    set
}

fn hash_and_block(rows: &BTreeSet<(B256, i64, u64)>) -> BTreeSet<(B256, u64)> {
    rows.iter().map(|r| (r.0, r.2)).collect()
}

fn own(n: u32) -> Vec<Address> {
    let w = Wallet::new(Phrase::parse(PHRASE).unwrap(), "").unwrap();
    w.addresses(0, n).unwrap()
}

fn client(rpc: &str, token: &Token) -> Client {
    Client::new("local", &dev::network(rpc, vec![token.clone()])).unwrap()
}

async fn deploy(rpc: &str) -> Token {
    let bare = Client::new("local", &dev::network(rpc, vec![])).unwrap();
    dev::deploy(&bare).await.unwrap()
}

fn open_store(dir: &Path) -> Store {
    Store::open(&dir.join("keybot.db"), &Secret32::new([7; 32])).unwrap()
}

fn config(reorg_depth: u64, chunk: u64) -> IndexerConfig {
    IndexerConfig {
        reorg_depth,
        first_chunk: chunk,
        max_chunk: chunk,
        first_scan_depth: 1_000,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_reorg_replaces_what_was_stored() {
    let Some(chain) = anvil() else { return };
    let url = chain.rpc.clone();
    let token = deploy(&url).await;
    let own = own(2);
    let client = client(&url, &token);
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let cfg = config(6, 4);

    // A chain taller than the re-read depth, so the re-read does not start at genesis.
    mine(&url, 20).await;
    // Before the reorg: T1 to account 0, T2 to account 1, two blocks on top.
    let fork = rpc(&url, "evm_snapshot", json!([])).await;
    let raw1 = faucet_tx(&url, token.address, own[0], 1);
    let (t1, b1) = land(&url, &raw1).await;
    let (t2, b2) = mint(&url, token.address, own[1], 2).await;
    mine(&url, 2).await;
    activity::sync_with(&client, &store, &own, &cfg)
        .await
        .unwrap();
    let before = stored(&store, token.address);
    assert_eq!(before, truth(&url, token.address, &own).await);
    assert_eq!(
        hash_and_block(&before),
        BTreeSet::from([(t1, b1), (t2, b2)])
    );

    // The reorg, as deep as the chain was tall: an empty block where T1 was, T1 one block
    // later, T2 never again; the chain as tall as before.
    assert_eq!(rpc(&url, "evm_revert", json!([fork])).await, json!(true));
    mine(&url, 1).await;
    let (t1_again, b1_again) = land(&url, &raw1).await;
    assert_eq!(t1_again, t1, "the same transaction, moved");
    assert_eq!(b1_again, b1 + 1);
    mine(&url, 2).await;
    activity::sync_with(&client, &store, &own, &cfg)
        .await
        .unwrap();
    let after = stored(&store, token.address);
    assert_eq!(after, truth(&url, token.address, &own).await);
    assert_eq!(
        hash_and_block(&after),
        BTreeSet::from([(t1, b1 + 1)]),
        "T1 moved, T2 gone"
    );

    // A reorg to a shorter chain: T3 is stored, then the chain is cut below it.
    let tall = head(&url).await;
    let cut = rpc(&url, "evm_snapshot", json!([])).await;
    let (t3, _) = mint(&url, token.address, own[0], 3).await;
    mine(&url, 3).await;
    activity::sync_with(&client, &store, &own, &cfg)
        .await
        .unwrap();
    assert!(stored(&store, token.address).iter().any(|r| r.0 == t3));
    assert_eq!(rpc(&url, "evm_revert", json!([cut])).await, json!(true));
    assert_eq!(head(&url).await, tall);
    activity::sync_with(&client, &store, &own, &cfg)
        .await
        .unwrap();
    assert_eq!(
        stored(&store, token.address),
        truth(&url, token.address, &own).await
    );
    assert!(!stored(&store, token.address).iter().any(|r| r.0 == t3));
    let key = CursorKey::new(31337, INDEXER, &[own.clone(), vec![token.address]].concat());
    assert_eq!(store.cursor(&key).unwrap().unwrap().next, tall + 1);
}

/// A JSON-RPC proxy in front of anvil (tests/common/proxy.rs) that records the block range of
/// every `eth_getLogs` and can refuse or fail them like a real provider.
struct LogsProxy {
    url: String,
    asked: Arc<Mutex<Vec<Asked>>>,
    _proxy: Proxy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Asked {
    from: u64,
    to: u64,
    refused: bool,
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    Pass,
    /// Refuse a range wider than this many blocks, in a real provider's words.
    RefuseWiderThan(u64),
    /// Answer this many `eth_getLogs`, then fail every later one (the RPC went away).
    FailAfter(usize),
}

/// Refusals as geth/Infura, Alchemy, QuickNode (HTTP 413 with the JSON-RPC error inside) and
/// BSC word them.
const REFUSALS: &[(u16, &str)] = &[
    (200, "query returned more than 10000 results"),
    (
        200,
        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response.",
    ),
    (413, "eth_getLogs is limited to a 10,000 range"),
    (200, "exceed maximum block range: 5000"),
];

impl LogsProxy {
    fn start(upstream: u16, rule: Rule) -> LogsProxy {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let proxy = Proxy::serve(0, upstream, move |call| {
            Reply::Send(answer(call, rule, &log))
        });
        LogsProxy {
            url: proxy.url.clone(),
            asked,
            _proxy: proxy,
        }
    }

    fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }
}

fn answer(call: &Call, rule: Rule, log: &Mutex<Vec<Asked>>) -> Vec<u8> {
    let body = &call.body;
    if body["method"] == "eth_getLogs" {
        let p = &body["params"][0];
        let (from, to) = (hex_u64(&p["fromBlock"]), hex_u64(&p["toBlock"]));
        let mut log = log.lock().unwrap();
        let n_refused = log.iter().filter(|a| a.refused).count();
        let refusal = match rule {
            Rule::Pass => None,
            Rule::RefuseWiderThan(k) if to - from + 1 > k => {
                Some(REFUSALS[n_refused % REFUSALS.len()])
            }
            Rule::RefuseWiderThan(_) => None,
            Rule::FailAfter(n) if log.len() >= n => {
                log.push(Asked {
                    from,
                    to,
                    refused: false,
                });
                return http_json(
                    200,
                    &json!({"jsonrpc": "2.0", "id": body["id"],
                            "error": {"code": -32603, "message": "upstream connect error"}}),
                );
            }
            Rule::FailAfter(_) => None,
        };
        log.push(Asked {
            from,
            to,
            refused: refusal.is_some(),
        });
        drop(log);
        if let Some((status, message)) = refusal {
            return http_json(
                status,
                &json!({"jsonrpc": "2.0", "id": body["id"],
                        "error": {"code": -32005, "message": message}}),
            );
        }
    }
    call.forward()
}

/// Token transfers to three of the user's accounts spread over about 40 blocks.
async fn spread_transfers(url: &str, token: Address, own: &[Address]) {
    for i in 0..12u64 {
        mint(url, token, own[i as usize % own.len()], i + 1).await;
        mine(url, (i % 4) as u32).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_interrupted_index_resumes_at_its_cursor() {
    let Some(chain) = anvil() else { return };
    let url = chain.rpc.clone();
    let token = deploy(&url).await;
    let own = own(3);
    spread_transfers(&url, token.address, &own).await;
    let tip = head(&url).await;
    let (depth, chunk) = (3, 4);
    let cfg = config(depth, chunk);
    let key = CursorKey::new(31337, INDEXER, &[own.clone(), vec![token.address]].concat());

    // The RPC dies after three ranges (two queries each: to ours, from ours).
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_store(dir.path());
        let dying = LogsProxy::start(chain.port, Rule::FailAfter(6));
        let err = activity::sync_with(&client(&dying.url, &token), &store, &own, &cfg)
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("upstream connect error"),
            "{err:#}"
        );
        let asked = dying.asked();
        assert_eq!(
            asked.iter().map(|a| (a.from, a.to)).collect::<Vec<_>>(),
            [(0, 3), (0, 3), (4, 7), (4, 7), (8, 11), (8, 11), (12, 15)]
        );
        let cursor = store.cursor(&key).unwrap().unwrap();
        assert_eq!((cursor.origin, cursor.next), (0, 12));
        // Everything dropped here: the store, the client, the proxy.
    }

    // Reopened: the first range asked starts at the saved cursor minus the re-read depth.
    let store = open_store(dir.path());
    let next = store.cursor(&key).unwrap().unwrap().next;
    let proxy = LogsProxy::start(chain.port, Rule::Pass);
    let h = activity::sync_with(&client(&proxy.url, &token), &store, &own, &cfg)
        .await
        .unwrap();
    assert_eq!(h, tip);
    let asked = proxy.asked();
    assert_eq!(asked[0].from, next - depth, "{asked:?}");
    assert_eq!(store.cursor(&key).unwrap().unwrap().next, tip + 1);

    // The same rows as one uninterrupted run, and as the chain itself.
    let whole_dir = tempfile::tempdir().unwrap();
    let whole = open_store(whole_dir.path());
    activity::sync_with(&client(&url, &token), &whole, &own, &cfg)
        .await
        .unwrap();
    assert_eq!(
        whole.transfers(31337).unwrap(),
        store.transfers(31337).unwrap()
    );
    let rows = stored(&store, token.address);
    assert_eq!(rows.len(), 12);
    assert_eq!(rows, truth(&url, token.address, &own).await);
}

#[tokio::test(flavor = "current_thread")]
async fn refused_ranges_are_halved_and_every_log_is_found() {
    let Some(chain) = anvil() else { return };
    let url = chain.rpc.clone();
    let token = deploy(&url).await;
    let own = own(3);
    spread_transfers(&url, token.address, &own).await;
    mine(&url, 40).await;
    let tip = head(&url).await;
    let limit = 5;
    let proxy = LogsProxy::start(chain.port, Rule::RefuseWiderThan(limit));
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let cfg = IndexerConfig {
        reorg_depth: 2,
        first_chunk: 64,
        max_chunk: 64,
        first_scan_depth: 1_000,
    };
    activity::sync_with(&client(&proxy.url, &token), &store, &own, &cfg)
        .await
        .unwrap();

    let asked = proxy.asked();
    let refused: Vec<u64> = asked
        .iter()
        .filter(|a| a.refused)
        .map(|a| a.to - a.from + 1)
        .collect();
    // From 64 blocks halved until the provider accepts; every refusal wording was met.
    assert_eq!(refused[..4], [64, 32, 16, 8], "{asked:?}");
    assert!(refused.len() >= REFUSALS.len(), "{asked:?}");
    let accepted: Vec<&Asked> = asked.iter().filter(|a| !a.refused).collect();
    assert!(accepted.iter().all(|a| a.to - a.from < limit), "{asked:?}");
    // The accepted ranges cover the chain from genesis to the head without a gap.
    let mut covered = 0;
    for a in &accepted {
        assert!(a.from <= covered, "gap before {a:?}: {asked:?}");
        covered = covered.max(a.to + 1);
    }
    assert_eq!(covered, tip + 1);

    let rows = stored(&store, token.address);
    assert_eq!(rows.len(), 12);
    assert_eq!(rows, truth(&url, token.address, &own).await);
}

fn kb(home: &Path, args: &[&str]) -> String {
    let out = keybot(home)
        .args(args)
        .env("KEYBOT_PASSWORD", PW)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keybot {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `wallet activity --json` entries arriving at `account`, as "AMOUNT SYMBOL".
fn arrivals(home: &Path, account: Address) -> Vec<String> {
    let v: Value = serde_json::from_str(&kb(home, &["wallet", "activity", "--json"])).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["direction"] == "in" && e["account"] == account.to_checksum(None))
        .map(|e| {
            format!(
                "{} {}",
                e["amount"].as_str().unwrap(),
                e["symbol"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn activity_finds_a_transfer_to_account_7_once_eight_are_derived() {
    let Some(chain) = anvil() else { return };
    let url = chain.rpc.clone();
    let token = deploy(&url).await;
    let home = common::fast_home(PHRASE, PW);
    kb(
        home.path(),
        &["chain", "add", "local", "--rpc", &url, "--yes"],
    );
    kb(home.path(), &["token", "add", &token.address.to_string()]);
    let wallet = Wallet::new(Phrase::parse(PHRASE).unwrap(), "").unwrap();
    let account7 = wallet.addresses(0, 8).unwrap()[7];
    dev::fund(&client(&url, &token), &token, account7)
        .await
        .unwrap();

    // Five accounts watched: the eighth is not the user's yet.
    assert!(arrivals(home.path(), account7).is_empty());

    // The user derives eight accounts (the app stores the count in this setting).
    let paths = keybot::config::Paths::resolve(Some(home.path())).unwrap();
    let store = keybot::service::wallet::open_store(&paths, &wallet).unwrap();
    store.set_setting(ACCOUNTS_SETTING, "8").unwrap();
    drop(store);

    let mut got = arrivals(home.path(), account7);
    got.sort();
    assert_eq!(got, ["100 ETH", "10000 tUSD"]);
}
