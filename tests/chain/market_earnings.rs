//! `keybot market earnings` on `keybot chain dev` (market v2, MARKET.md "Earnings (v2)"): a
//! scripted run across ETH and tUSD (sales from two seller accounts, a refund, a dispute, two
//! withdrawals, a sale settled by a stranger's `settle`, one still in its 3-day challenge window
//! and one not delivered yet) gives the figures this test computes itself from the contract's
//! logs and the chain's clock (read with alloy, decoded with its own `sol!` events, not
//! keybot's); the contract's `claimable` agrees once the sales are settled on chain; the CSV's
//! sums equal the JSON; a fresh home restored from the phrase shows the same JSON; an
//! interrupted index over a failing RPC whose logs lack `blockTimestamp` ends with the same
//! figures as an uninterrupted one; the CSV's rows are the logs' sales, refunds and withdrawals,
//! row by row (kind, block, block time, transaction, listing, buyer, token, amount). A sale that
//! a reorg takes off the chain leaves the earnings; sales that a reorg moves to other blocks
//! count once, at their new blocks and times. On a network added with `chain add` that is not a
//! dev chain, a sale counts once it is 2 blocks deep (the default), not before.
//! The benchmark (ignored) indexes 2,000 sales from a cold store and prints events/s and the RPC
//! requests.
use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U256, utils::parse_units};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use common::proxy::{Proxy, Reply, body_of, http_json};
use common::{cast, tool};
use keybot::chain::indexer::IndexerConfig;
use keybot::chain::{Client, dev};
use keybot::market::index;
use keybot::service::market::{Market, stored_earnings};
use keybot::store::Store;
use keybot_keystore::secret::Secret32;
use serde_json::Value;

const PW: &str = "correct horse battery staple";
const SELLER: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const BUYER: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const SELLER_0: &str = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
const SELLER_1: &str = "0x6Fac4D18c912343BF86fa7049364Dd4E424Ab9C0";
const BUYER_0: &str = "0x58A57ed9d8d624cBD12e2C467D34787555bB1b25";
/// anvil's first dev account (public, funded on every fresh anvil).
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The market's events as this test reads them: its own declarations, from the contract source.
mod ev {
    alloy::sol! {
        event Listed(uint256 indexed listingId, address indexed seller, address indexed token,
            uint256 price, bytes32 contentHash, bytes32 keyCommit, bytes data, string uri, string meta);
        event Purchased(uint256 indexed purchaseId, address indexed buyer, address indexed seller,
            uint256 listingId, address token, uint256 price, bytes buyerKey, uint64 deadline);
        event Delivered(uint256 indexed purchaseId, address indexed seller, bytes delivery, uint64 settlesAt);
        event Refunded(uint256 indexed purchaseId, address indexed buyer, address indexed token, uint256 amount);
        event Disputed(uint256 indexed purchaseId, address indexed buyer, uint256 secret, string reason);
        event Settled(uint256 indexed purchaseId, address indexed seller, address indexed token, uint256 amount);
        event Withdrawn(address indexed seller, address indexed token, uint256 amount);
        function list(uint256 price, address token, bytes32 contentHash, bytes32 keyCommit,
            bytes data, string uri, string meta) returns (uint256);
        function buy(uint256 listingId, bytes buyerKey, uint256 maxPrice) payable returns (uint256);
    }
}

fn kb(home: &Path, args: &[&str]) -> std::process::Output {
    common::kb_with(home, PW, args)
}

fn ok(home: &Path, args: &[&str]) -> String {
    common::ok_with(home, PW, args)
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or("").trim().to_owned()
}

fn rpc(url: &str, method: &str, params: &[&str]) -> String {
    let mut args = vec!["rpc", "--rpc-url", url, method];
    args.extend(params);
    cast(&args)
}

struct World {
    seller: tempfile::TempDir,
    buyer: tempfile::TempDir,
    dev: common::DevChain,
}

fn world() -> Option<World> {
    tool("cast")?;
    let seller = common::fast_home(SELLER, PW);
    let buyer = common::fast_home(BUYER, PW);
    let dev = common::dev_chain(
        seller.path(),
        PW,
        &[BUYER_0.parse().unwrap(), SELLER_1.parse().unwrap()],
    )?;
    copy_config(seller.path(), buyer.path());
    Some(World { seller, buyer, dev })
}

/// Configures `to` for the same network as `from`, the way a second machine is.
fn copy_config(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("config")).unwrap();
    std::fs::copy(
        from.join("config/config.toml"),
        to.join("config/config.toml"),
    )
    .unwrap();
}

/// Lists `text` from the seller's `account` for `price` `token`; the listing id.
fn listing(home: &Path, text: &str, account: &str, price: &str, token: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    std::fs::write(&file, text).unwrap();
    let id = last_line(&ok(
        home,
        &["market", "add", "--file", file.to_str().unwrap()],
    ));
    ok(
        home,
        &["market", "consent", &id, "--account", account, "--yes"],
    );
    last_line(&ok(
        home,
        &[
            "market", "sell", &id, "--price", price, "--token", token, "--yes",
        ],
    ))
}

/// Buys `listing` (again, if this wallet bought it before: the scenario buys copies on purpose).
fn buy(home: &Path, listing: &str) -> String {
    last_line(&ok(home, &["market", "buy", listing, "--again", "--yes"]))
}

fn earnings(home: &Path) -> Value {
    serde_json::from_str(&ok(home, &["market", "earnings", "--json"])).unwrap()
}

/// The figures' names, in the order [`Truth`] keeps them.
const FIGURES: [&str; 6] = [
    "earned",
    "settling",
    "pending",
    "claimable",
    "withdrawn",
    "refunded",
];
const EARNED: usize = 0;
const SETTLING: usize = 1;
const PENDING: usize = 2;
const CLAIMABLE: usize = 3;
const WITHDRAWN: usize = 4;
const REFUNDED: usize = 5;

/// What the logs say at the chain's time `now`, in base units: per token the [`FIGURES`]; per
/// listing (token, sales, revenue, refunds, disputes), revenue being what settled.
#[derive(Debug, Default, PartialEq, Eq)]
struct Truth {
    tokens: BTreeMap<Address, [U256; 6]>,
    listings: BTreeMap<u64, (Address, u32, U256, u32, u32)>,
}

/// The chain's clock: the latest block's time.
async fn chain_time(url: &str) -> u64 {
    keybot::net::tls();
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp
}

async fn truth(url: &str, market: Address, sellers: &[Address]) -> Truth {
    keybot::net::tls();
    let now = chain_time(url).await;
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let logs = provider
        .get_logs(&Filter::new().address(market).from_block(0u64))
        .await
        .unwrap();
    let mut t = Truth::default();
    // purchase → (listing, token, price)
    let mut sales: BTreeMap<U256, (u64, Address, U256)> = BTreeMap::new();
    // delivered and not refunded: purchase → when it settles
    let mut delivered: BTreeMap<U256, u64> = BTreeMap::new();
    for log in &logs {
        let topic = log.topics()[0];
        if topic == ev::Listed::SIGNATURE_HASH {
            let e = ev::Listed::decode_log(&log.inner).unwrap().data;
            if sellers.contains(&e.seller) {
                t.listings
                    .insert(e.listingId.to(), (e.token, 0, U256::ZERO, 0, 0));
            }
        } else if topic == ev::Purchased::SIGNATURE_HASH {
            let e = ev::Purchased::decode_log(&log.inner).unwrap().data;
            if sellers.contains(&e.seller) {
                t.tokens.entry(e.token).or_default()[PENDING] += e.price;
                t.listings.get_mut(&e.listingId.to()).unwrap().1 += 1;
                sales.insert(e.purchaseId, (e.listingId.to(), e.token, e.price));
            }
        } else if topic == ev::Delivered::SIGNATURE_HASH {
            let e = ev::Delivered::decode_log(&log.inner).unwrap().data;
            assert_eq!(e.delivery.len(), 96, "a v2 delivery is R ‖ c");
            if let Some((_, token, price)) = sales.get(&e.purchaseId).copied() {
                t.tokens.get_mut(&token).unwrap()[PENDING] -= price;
                delivered.insert(e.purchaseId, e.settlesAt);
            }
        } else if topic == ev::Refunded::SIGNATURE_HASH {
            let e = ev::Refunded::decode_log(&log.inner).unwrap().data;
            if let Some((l, token, price)) = sales.get(&e.purchaseId).copied() {
                assert_eq!(e.amount, price);
                let f = t.tokens.get_mut(&token).unwrap();
                // A challenge refunds a delivered purchase; a deadline an undelivered one.
                if delivered.remove(&e.purchaseId).is_none() {
                    f[PENDING] -= price;
                }
                f[REFUNDED] += price;
                t.listings.get_mut(&l).unwrap().3 += 1;
            }
        } else if topic == ev::Disputed::SIGNATURE_HASH {
            let e = ev::Disputed::decode_log(&log.inner).unwrap().data;
            if let Some((l, ..)) = sales.get(&e.purchaseId).copied() {
                t.listings.get_mut(&l).unwrap().4 += 1;
            }
        } else if topic == ev::Settled::SIGNATURE_HASH {
            // Only what was delivered, not refunded, settles (a withdrawal or anyone's settle).
            let e = ev::Settled::decode_log(&log.inner).unwrap().data;
            if let Some((_, token, price)) = sales.get(&e.purchaseId).copied() {
                assert!(
                    delivered.contains_key(&e.purchaseId),
                    "purchase {} settled undelivered or refunded",
                    e.purchaseId
                );
                assert_eq!((e.token, e.amount), (token, price));
            }
        } else if topic == ev::Withdrawn::SIGNATURE_HASH {
            let e = ev::Withdrawn::decode_log(&log.inner).unwrap().data;
            if sellers.contains(&e.seller) {
                t.tokens.entry(e.token).or_default()[WITHDRAWN] += e.amount;
            }
        }
    }
    // What was delivered and not refunded is the seller's once its challenge window closed.
    for (purchase, settles_at) in delivered {
        let (l, token, price) = sales[&purchase];
        let f = t.tokens.get_mut(&token).unwrap();
        if settles_at <= now {
            f[EARNED] += price;
            t.listings.get_mut(&l).unwrap().2 += price;
        } else {
            f[SETTLING] += price;
        }
    }
    for f in t.tokens.values_mut() {
        f[CLAIMABLE] = f[EARNED] - f[WITHDRAWN];
    }
    t
}

fn units(s: &Value, decimals: u8) -> U256 {
    parse_units(s.as_str().unwrap(), decimals).unwrap().into()
}

fn token_of(key: &Value) -> Address {
    match key.as_str().unwrap() {
        "ETH" => Address::ZERO,
        a => a.parse().unwrap(),
    }
}

/// The JSON's figures in base units, in the shape of [`Truth`].
fn from_json(j: &Value, listing_tokens: &BTreeMap<u64, Address>) -> Truth {
    let mut t = Truth::default();
    let mut decimals = BTreeMap::new();
    for f in j["tokens"].as_array().unwrap() {
        let token = token_of(&f["token"]);
        let d = f["decimals"].as_u64().unwrap() as u8;
        decimals.insert(token, d);
        t.tokens.insert(token, FIGURES.map(|k| units(&f[k], d)));
    }
    for l in j["listings"].as_array().unwrap() {
        let id = l["listing"].as_u64().unwrap();
        let token = listing_tokens[&id];
        let d = decimals.get(&token).copied().unwrap_or(18);
        t.listings.insert(
            id,
            (
                token,
                l["sales"].as_u64().unwrap() as u32,
                units(&l["revenue"], d),
                l["refunds"].as_u64().unwrap() as u32,
                l["disputes"].as_u64().unwrap() as u32,
            ),
        );
    }
    t
}

/// One row of the earnings CSV, or what the logs say it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    kind: String,
    block: u64,
    /// Unix seconds.
    time: u64,
    tx: B256,
    listing: Option<u64>,
    buyer: Option<Address>,
    token: Address,
    amount: U256,
}

/// tUSD has 6 decimals, ETH 18: the only tokens here.
fn decimals_of(token: Address) -> u8 {
    if token == Address::ZERO { 18 } else { 6 }
}

/// Unix seconds of a UTC `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's days_from_civil; keybot
/// writes the time with the inverse).
fn unix_of(iso: &str) -> u64 {
    let n = |r: std::ops::Range<usize>| -> i64 { iso[r].parse().unwrap() };
    assert!(
        iso.len() == 20 && &iso[4..5] == "-" && &iso[10..11] == "T" && iso.ends_with('Z'),
        "{iso}"
    );
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)) as u64
}

/// The CSV's rows, each field checked for its form (checksummed addresses, a 32-byte hash).
fn csv_rows(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("kind,block,time,tx_hash,listing,buyer,token,amount")
    );
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 8, "{line}");
            let token = token_of(&Value::String(f[6].into()));
            assert!(f[6] == "ETH" || f[6] == token.to_checksum(None), "{line}");
            let buyer = (!f[5].is_empty()).then(|| {
                let a: Address = f[5].parse().unwrap();
                assert_eq!(f[5], a.to_checksum(None), "{line}");
                a
            });
            assert!(f[3].len() == 66 && f[3] == f[3].to_lowercase(), "{line}");
            Row {
                kind: f[0].to_owned(),
                block: f[1].parse().unwrap(),
                time: unix_of(f[2]),
                tx: f[3].parse().unwrap(),
                listing: (!f[4].is_empty()).then(|| f[4].parse().unwrap()),
                buyer,
                token,
                amount: parse_units(f[7], decimals_of(token)).unwrap().into(),
            }
        })
        .collect()
}

/// What the CSV must hold, from the market's logs (read with alloy, decoded with this test's own
/// events) and the blocks' headers: every purchase of `sellers`' listings, every refund of one,
/// every withdrawal of `sellers`, in chain order.
async fn rows_from_logs(url: &str, market: Address, sellers: &[Address]) -> Vec<Row> {
    keybot::net::tls();
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let logs = provider
        .get_logs(&Filter::new().address(market).from_block(0u64))
        .await
        .unwrap();
    // purchase → listing
    let mut sales: BTreeMap<U256, u64> = BTreeMap::new();
    let mut times: BTreeMap<u64, u64> = BTreeMap::new();
    let mut rows = Vec::new();
    for log in &logs {
        let topic = log.topics()[0];
        let row = if topic == ev::Purchased::SIGNATURE_HASH {
            let e = ev::Purchased::decode_log(&log.inner).unwrap().data;
            if !sellers.contains(&e.seller) {
                continue;
            }
            sales.insert(e.purchaseId, e.listingId.to());
            (
                "sale",
                Some(e.listingId.to()),
                Some(e.buyer),
                e.token,
                e.price,
            )
        } else if topic == ev::Refunded::SIGNATURE_HASH {
            let e = ev::Refunded::decode_log(&log.inner).unwrap().data;
            let Some(listing) = sales.get(&e.purchaseId) else {
                continue;
            };
            ("refund", Some(*listing), Some(e.buyer), e.token, e.amount)
        } else if topic == ev::Withdrawn::SIGNATURE_HASH {
            let e = ev::Withdrawn::decode_log(&log.inner).unwrap().data;
            if !sellers.contains(&e.seller) {
                continue;
            }
            ("withdrawal", None, None, e.token, e.amount)
        } else {
            continue;
        };
        let block = log.block_number.unwrap();
        if let std::collections::btree_map::Entry::Vacant(e) = times.entry(block) {
            let header = provider
                .get_block_by_number(block.into())
                .await
                .unwrap()
                .unwrap()
                .header;
            assert_eq!(header.hash, log.block_hash.unwrap(), "the chain moved");
            e.insert(header.timestamp);
        }
        let (kind, listing, buyer, token, amount) = row;
        rows.push(Row {
            kind: kind.into(),
            block,
            time: times[&block],
            tx: log.transaction_hash.unwrap(),
            listing,
            buyer,
            token,
            amount,
        });
    }
    rows
}

/// The CSV's rows are `want`, one by one.
fn assert_rows(got: &[Row], want: &[Row]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "CSV row {} differs from the logs", i + 1);
    }
    assert_eq!(got.len(), want.len(), "CSV rows: {got:#?}\nlogs: {want:#?}");
}

fn claimable_on_chain(rpc: &str, market: Address, seller: &str, token: Address) -> U256 {
    let out = cast(&[
        "call",
        "--rpc-url",
        rpc,
        &market.to_string(),
        "claimable(address,address)(uint256)",
        seller,
        &token.to_string(),
    ]);
    out.split_whitespace().next().unwrap().parse().unwrap()
}

/// A JSON-RPC proxy in front of anvil (tests/common/proxy.rs) that counts requests (HTTP) and
/// calls (batch elements), can fail every `eth_getLogs` after the first `fail_after`, and can
/// strip `blockTimestamp` from logs (a node that does not send it).
struct CountingProxy {
    url: String,
    requests: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    _proxy: Proxy,
}

impl CountingProxy {
    fn start(upstream: u16, fail_after: Option<usize>, strip_time: bool) -> CountingProxy {
        let requests = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let logs_asked = AtomicUsize::new(0);
        let (rq, cl) = (requests.clone(), calls.clone());
        let proxy = Proxy::serve(0, upstream, move |call| {
            rq.fetch_add(1, Ordering::SeqCst);
            cl.fetch_add(
                call.body.as_array().map_or(1, |a| a.len()),
                Ordering::SeqCst,
            );
            let is_logs = call.method() == "eth_getLogs";
            if is_logs && fail_after.is_some_and(|n| logs_asked.fetch_add(1, Ordering::SeqCst) >= n)
            {
                // The RPC went away mid-index.
                return Reply::Close;
            }
            let resp = call.forward();
            Reply::Send(if is_logs && strip_time {
                strip_times(&resp)
            } else {
                resp
            })
        });
        CountingProxy {
            url: proxy.url.clone(),
            requests,
            calls,
            _proxy: proxy,
        }
    }
}

fn strip_times(resp: &[u8]) -> Vec<u8> {
    let mut v = body_of(resp);
    if let Some(logs) = v["result"].as_array_mut() {
        for l in logs {
            l.as_object_mut().unwrap().remove("blockTimestamp");
        }
    }
    http_json(200, &v)
}

fn dev_client(rpc: &str) -> Client {
    Client::new("dev", &dev::network(rpc, vec![])).unwrap()
}

fn cold_store(dir: &Path) -> Store {
    Store::open(&dir.join("keybot.db"), &Secret32::new([7; 32])).unwrap()
}

#[test]
fn earnings_equal_the_logs_and_survive_restore_csv_restarts_and_outages() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (rpc_url, market) = (w.dev.rpc.clone(), w.dev.market);

    let empty = earnings(s);
    assert_eq!(empty["tokens"], serde_json::json!([]));
    assert_eq!(empty["chain_id"], 31337);

    // 0.1 ETH: v2's buy takes ~180k gas, and at 0.01 ETH the fee would pass the review's 1%
    // warning.
    let l_eth = listing(s, "A note sold for ETH.\n", "0", "0.1", "ETH");
    let l_tusd = listing(s, "A note sold for tUSD by account 1.\n", "1", "5", "tUSD");
    let p1 = buy(b, &l_eth);
    let p2 = buy(b, &l_tusd);
    let _p3 = buy(b, &l_tusd);
    ok(s, &["market", "serve", "--once"]);
    // Bought and never delivered: refunded after the deadline.
    let p4 = buy(b, &l_eth);
    rpc(&rpc_url, "evm_increaseTime", &["259201"]);
    rpc(&rpc_url, "evm_mine", &[]);
    ok(b, &["market", "refund", &p4, "--yes"]);
    ok(b, &["market", "dispute", &p2, "--yes"]);
    // Two withdrawals: account 0's ETH and account 1's tUSD.
    ok(s, &["market", "withdraw", "--yes"]);
    // Then a delivered sale not yet withdrawn: settling for 3 days, then the seller's, and
    // on chain once anyone settles it (here anvil's dev account, a stranger to both homes).
    let p5 = buy(b, &l_eth);
    ok(s, &["market", "serve", "--once"]);
    let eth_now = &earnings(s)["tokens"][0];
    assert_eq!(eth_now["settling"], "0.1", "{eth_now:#}");
    assert_eq!(eth_now["claimable"], "0", "{eth_now:#}");
    rpc(&rpc_url, "evm_increaseTime", &["259201"]);
    rpc(&rpc_url, "evm_mine", &[]);
    let eth_now = &earnings(s)["tokens"][0];
    assert_eq!(eth_now["settling"], "0", "{eth_now:#}");
    assert_eq!(eth_now["claimable"], "0.1", "{eth_now:#}");
    // Settled by time, not yet on chain: the contract's figure waits for a settle.
    assert_eq!(
        claimable_on_chain(&rpc_url, market, SELLER_0, Address::ZERO),
        U256::ZERO
    );
    cast(&[
        "send",
        "--rpc-url",
        &rpc_url,
        "--private-key",
        DEV_KEY,
        &market.to_string(),
        "settle(uint256[])",
        &format!("[{p5}]"),
    ]);
    // A sale still in its challenge window, and one still in escrow.
    let _p6 = buy(b, &l_tusd);
    ok(s, &["market", "serve", "--once"]);
    let _p7 = buy(b, &l_tusd);
    assert_eq!(p1, "1");

    let json = earnings(s);
    let sellers: Vec<Address> = [SELLER_0, SELLER_1]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let expected = rt.block_on(truth(&rpc_url, market, &sellers));
    let listing_tokens = expected.listings.iter().map(|(id, l)| (*id, l.0)).collect();
    assert_eq!(from_json(&json, &listing_tokens), expected, "{json:#}");
    // The scenario has what it promises: both tokens, a refund, a dispute, two withdrawals, a
    // sale settling and one pending.
    let eth = expected.tokens[&Address::ZERO];
    let tusd = expected.tokens[&w.dev.tusd];
    assert!(
        !eth[EARNED].is_zero()
            && !eth[CLAIMABLE].is_zero()
            && !eth[WITHDRAWN].is_zero()
            && !eth[REFUNDED].is_zero()
    );
    assert!(
        !tusd[EARNED].is_zero()
            && !tusd[SETTLING].is_zero()
            && !tusd[PENDING].is_zero()
            && !tusd[WITHDRAWN].is_zero()
    );
    assert_eq!(expected.listings[&l_tusd.parse().unwrap()].4, 1);
    assert_eq!(json["network"], "local");
    assert_eq!(json["tokens"][0]["token"], "ETH");
    assert_eq!(json["tokens"][0]["earned"], "0.2");
    assert_eq!(json["tokens"][0]["claimable"], "0.1");
    assert_eq!(json["tokens"][1]["symbol"], "tUSD");
    assert_eq!(json["tokens"][1]["earned"], "10");
    assert_eq!(json["tokens"][1]["settling"], "5");
    assert_eq!(json["tokens"][1]["pending"], "5");
    // The contract's own claimable agrees, account by account, now that everything settled by
    // time is settled on chain (by the withdrawals and the stranger's settle).
    for (token, f) in &expected.tokens {
        let on_chain = claimable_on_chain(&rpc_url, market, SELLER_0, *token)
            + claimable_on_chain(&rpc_url, market, SELLER_1, *token);
        assert_eq!(on_chain, f[CLAIMABLE], "claimable of {token}");
    }

    // The CSV: every sale, refund and withdrawal; its sums are the JSON's.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("earnings.csv");
    ok(s, &["market", "earnings", "--csv", csv.to_str().unwrap()]);
    assert_eq!(common::mode(&csv), 0o600);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("kind,block,time,tx_hash,listing,buyer,token,amount")
    );
    let mut sums: BTreeMap<(String, Address), U256> = BTreeMap::new();
    let mut n = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 8, "{line}");
        assert!(f[2].ends_with('Z') && f[3].len() == 66, "{line}");
        let token = token_of(&Value::String(f[6].into()));
        let d = if token == Address::ZERO { 18 } else { 6 };
        *sums.entry((f[0].to_owned(), token)).or_default() += units(&Value::String(f[7].into()), d);
        n += 1;
    }
    assert_eq!(n, 7 + 1 + 2, "seven sales, a refund, two withdrawals");
    // Row by row: each sale, refund and withdrawal where the logs have it.
    let want_rows = rt.block_on(rows_from_logs(&rpc_url, market, &sellers));
    assert_rows(&csv_rows(&text), &want_rows);
    let tokens: std::collections::BTreeSet<Address> = want_rows.iter().map(|r| r.token).collect();
    assert_eq!(tokens.len(), 2, "both tokens have rows");
    for (token, f) in &expected.tokens {
        let sum = |k: &str| {
            sums.get(&(k.to_owned(), *token))
                .copied()
                .unwrap_or_default()
        };
        assert_eq!(
            sum("sale"),
            f[EARNED] + f[SETTLING] + f[PENDING] + f[REFUNDED],
            "sales of {token}"
        );
        assert_eq!(sum("refund"), f[REFUNDED]);
        assert_eq!(sum("withdrawal"), f[WITHDRAWN]);
    }
    // Never over an existing file.
    let again = kb(s, &["market", "earnings", "--csv", csv.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), text);

    // A fresh home from the phrase alone: the same figures.
    let restored = common::fast_home(SELLER, PW);
    copy_config(s, restored.path());
    assert_eq!(earnings(restored.path()), json);

    // An outage in the middle of indexing (the RPC goes away after three ranges, over a node
    // that sends no blockTimestamp), then a restart with a working RPC: the same figures as an
    // uninterrupted index, times included.
    let m = Market {
        address: market,
        deployed: 0,
    };
    let cfg = IndexerConfig {
        reorg_depth: 12,
        first_chunk: 3,
        max_chunk: 3,
        first_scan_depth: 1_000,
    };
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = cold_store(clean_dir.path());
    let head = rt.block_on(async {
        let c = dev_client(&rpc_url);
        index::sync(&c, &clean, market, 0, &cfg).await.unwrap().head
    });
    let now = rt.block_on(chain_time(&rpc_url));
    let want = stored_earnings(&clean, 31337, m, &sellers, head, now).unwrap();
    assert!(want.entries.iter().all(|e| e.time.is_some()));
    let broken_dir = tempfile::tempdir().unwrap();
    {
        let store = cold_store(broken_dir.path());
        let dying = CountingProxy::start(w.dev.port, Some(3), true);
        let r = rt.block_on(index::sync(
            &dev_client(&dying.url),
            &store,
            market,
            0,
            &cfg,
        ));
        assert!(r.is_err(), "the outage went unnoticed");
        let partial = stored_earnings(&store, 31337, m, &sellers, head, now).unwrap();
        assert_ne!(partial, want, "the outage came too late to test anything");
    }
    let store = cold_store(broken_dir.path());
    let proxy = CountingProxy::start(w.dev.port, None, true);
    rt.block_on(index::sync(
        &dev_client(&proxy.url),
        &store,
        market,
        0,
        &cfg,
    ))
    .unwrap();
    // And a second pass over the same blocks changes nothing.
    rt.block_on(index::sync(
        &dev_client(&proxy.url),
        &store,
        market,
        0,
        &cfg,
    ))
    .unwrap();
    assert_eq!(
        stored_earnings(&store, 31337, m, &sellers, head, now).unwrap(),
        want
    );
}

#[test]
fn a_sale_that_a_reorg_removes_leaves_the_earnings() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let l = listing(s, "Sold, then reorged away.\n", "0", "0.5", "ETH");
    let snapshot = rpc(&w.dev.rpc, "evm_snapshot", &[]);
    buy(b, &l);
    ok(s, &["market", "serve", "--once"]);
    let before = earnings(s);
    // Delivered: settling (the buyer's challenge window is open), not earned yet.
    assert_eq!(before["tokens"][0]["settling"], "0.5", "{before:#}");
    assert_eq!(before["tokens"][0]["earned"], "0", "{before:#}");
    assert_eq!(before["listings"][0]["sales"], 1);
    // Not yet 3 blocks deep: with 3 confirmations asked for, not counted.
    let unconfirmed: Value = serde_json::from_str(&ok(
        s,
        &["market", "earnings", "--json", "--confirmations", "3"],
    ))
    .unwrap();
    assert_eq!(
        unconfirmed["tokens"],
        serde_json::json!([]),
        "{unconfirmed:#}"
    );
    assert_eq!(
        unconfirmed["block"].as_u64().unwrap() + 3,
        before["block"].as_u64().unwrap()
    );

    rpc(&w.dev.rpc, "evm_revert", &[snapshot.trim_matches('"')]);
    // The other branch grows past where the sale was.
    rpc(&w.dev.rpc, "anvil_mine", &["5"]);
    let after = earnings(s);
    assert_eq!(after["tokens"], serde_json::json!([]), "{after:#}");
    assert_eq!(after["listings"][0]["sales"], 0);
    assert!(after["block"].as_u64() > before["block"].as_u64());
}

/// The seller's earnings CSV, written to a new file each time.
fn csv_now(home: &Path) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("earnings.csv");
    ok(
        home,
        &["market", "earnings", "--csv", csv.to_str().unwrap()],
    );
    csv_rows(&std::fs::read_to_string(&csv).unwrap())
}

#[test]
fn sales_that_a_reorg_moves_to_other_blocks_count_once_at_their_new_blocks() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let url = w.dev.rpc.clone();
    let sellers = [SELLER_0.parse().unwrap()];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l = listing(
        s,
        "Sold twice, then the blocks change.\n",
        "0",
        "0.5",
        "ETH",
    );
    let snapshot = rpc(&url, "evm_snapshot", &[]);
    buy(b, &l);
    buy(b, &l);
    let before = csv_now(s);
    assert_rows(
        &before,
        &rt.block_on(rows_from_logs(&url, w.dev.market, &sellers)),
    );
    assert_eq!(before.len(), 2, "{before:#?}");
    assert_eq!(before[1].block, before[0].block + 1);
    let raw: Vec<String> = before
        .iter()
        .map(|r| {
            rpc(
                &url,
                "eth_getRawTransactionByHash",
                &[&format!("{:#x}", r.tx)],
            )
            .trim_matches('"')
            .to_owned()
        })
        .collect();

    // The branch without them: one empty block where the first sale was, then the same two
    // signed purchases, each a block later than before and at a later time. The first now
    // sits in the block that held the second (whose time keybot had read).
    rpc(&url, "evm_revert", &[snapshot.trim_matches('"')]);
    rpc(&url, "anvil_mine", &["1"]);
    let times = [before[1].time + 1_000, before[1].time + 2_000];
    for (raw, time) in raw.iter().zip(times) {
        rpc(&url, "evm_setNextBlockTimestamp", &[&time.to_string()]);
        cast(&["publish", "--rpc-url", &url, raw]);
    }
    let after = csv_now(s);
    assert_rows(
        &after,
        &rt.block_on(rows_from_logs(&url, w.dev.market, &sellers)),
    );
    assert_eq!(after.len(), 2, "counted once each: {after:#?}");
    for ((old, new), time) in before.iter().zip(&after).zip(times) {
        assert_eq!(new.tx, old.tx, "the same purchase");
        assert_eq!(new.block, old.block + 1, "at its new block");
        assert_eq!(new.time, time, "at its new block's time");
        assert_eq!((new.listing, new.amount), (old.listing, old.amount));
    }
    let e = earnings(s);
    assert_eq!(e["tokens"][0]["pending"], "1", "{e:#}");
    assert_eq!(e["listings"][0]["sales"], 2, "{e:#}");
    assert_eq!(e["block"].as_u64().unwrap(), after[1].block);
}

/// anvil started by this test, killed on drop.
struct Anvil(std::process::Child);

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn on_a_network_that_is_not_dev_a_sale_counts_once_two_blocks_deep() {
    let (Some(anvil), Some(_)) = (tool("anvil"), tool("cast")) else {
        return;
    };
    // A chain id that `chain add` does not take for a dev chain (31337 and 1337 are), and the
    // seller's phrase funded.
    let (child, port) = common::spawn_listening(
        std::process::Command::new(anvil)
            .args(["--port", "0", "--chain-id", "4242", "--mnemonic", SELLER])
            .stderr(std::process::Stdio::null()),
    );
    let _anvil = Anvil(child);
    let url = format!("http://127.0.0.1:{port}");
    rpc(&url, "anvil_setBalance", &[BUYER_0, "0x56bc75e2d63100000"]);
    let seller = common::fast_home(SELLER, PW);
    let buyer = common::fast_home(BUYER, PW);
    let (s, b) = (seller.path(), buyer.path());
    for h in [s, b] {
        ok(h, &["chain", "add", "testnet", "--rpc", &url, "--yes"]);
    }
    let networks: Value = serde_json::from_str(&ok(s, &["chain", "list", "--json"])).unwrap();
    assert_eq!(
        networks["networks"]["testnet"]["dev"], false,
        "{networks:#}"
    );
    let market = last_line(&ok(s, &["market", "deploy", "--yes"]));
    ok(b, &["market", "join", &market]);
    let l = listing(s, "Sold on a chain that is not dev.\n", "0", "0.1", "ETH");
    // The listing two blocks deep before the sale, so that it shows while the sale does not.
    rpc(&url, "anvil_mine", &["2"]);
    buy(b, &l);
    let head = || -> u64 { cast(&["block-number", "--rpc-url", &url]).parse().unwrap() };
    let sold_in = head();

    // keybot knows the sale (with --confirmations 0 it counts), but by default it waits.
    let now: Value = serde_json::from_str(&ok(
        s,
        &["market", "earnings", "--json", "--confirmations", "0"],
    ))
    .unwrap();
    assert_eq!(now["tokens"][0]["pending"], "0.1", "{now:#}");
    for depth in 0..2 {
        let e = earnings(s);
        assert_eq!(e["block"].as_u64().unwrap(), sold_in + depth - 2, "{e:#}");
        assert_eq!(e["tokens"], serde_json::json!([]), "{depth} deep: {e:#}");
        assert_eq!(e["listings"][0]["sales"], 0, "{depth} deep: {e:#}");
        rpc(&url, "anvil_mine", &["1"]);
    }
    assert_eq!(head(), sold_in + 2);
    let e = earnings(s);
    assert_eq!(e["network"], "testnet");
    assert_eq!(e["block"].as_u64().unwrap(), sold_in, "{e:#}");
    assert_eq!(e["tokens"][0]["pending"], "0.1", "{e:#}");
    assert_eq!(e["listings"][0]["sales"], 1, "{e:#}");
}

/// `cargo test --release --features test-weak-kdf --test chain market_earnings::-- --ignored --nocapture`
#[test]
#[ignore = "benchmark: prints figures"]
fn bench_index_2000_sales_from_a_cold_store() {
    let Some(w) = world() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n: u64 = std::env::var("KEYBOT_BENCH_SALES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let rpc_url = w.dev.rpc.clone();
    let market = w.dev.market;
    let started = Instant::now();
    rt.block_on(async {
        use alloy::network::TransactionBuilder;
        use alloy::sol_types::SolCall;
        keybot::net::tls();
        let signer: alloy::signers::local::PrivateKeySigner = DEV_KEY.parse().unwrap();
        let from = signer.address();
        let p = ProviderBuilder::new()
            .wallet(signer)
            .connect_http(rpc_url.parse().unwrap());
        let list = ev::listCall {
            price: U256::from(1),
            token: Address::ZERO,
            contentHash: [1u8; 32].into(),
            keyCommit: [2u8; 32].into(),
            data: vec![1u8].into(),
            uri: String::new(),
            meta: "{}".into(),
        };
        let tx = alloy::rpc::types::TransactionRequest::default()
            .with_to(market)
            .with_input(list.abi_encode());
        p.send_transaction(tx)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        p.raw_request::<_, ()>("evm_setAutomine".into(), (false,))
            .await
            .unwrap();
        let nonce = p.get_transaction_count(from).await.unwrap();
        // The generator G as x ‖ y: a point the contract accepts as a buyer key.
        let key = alloy::hex::decode(concat!(
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
            "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
        ))
        .unwrap();
        let input = ev::buyCall {
            listingId: U256::from(1),
            buyerKey: key.into(),
            maxPrice: U256::from(1),
        }
        .abi_encode();
        for i in 0..n {
            let tx = alloy::rpc::types::TransactionRequest::default()
                .with_to(market)
                .with_input(input.clone())
                .with_value(U256::from(1))
                .with_nonce(nonce + i)
                .with_gas_limit(300_000)
                .with_max_fee_per_gas(100_000_000_000)
                .with_max_priority_fee_per_gas(1)
                .with_chain_id(31337);
            // Not waited for: the blocks are mined below, all at once.
            let _pending = p.send_transaction(tx).await.unwrap();
        }
        while p.get_transaction_count(from).await.unwrap() < nonce + n {
            p.raw_request::<_, String>("evm_mine".into(), ())
                .await
                .unwrap();
        }
        p.raw_request::<_, ()>("evm_setAutomine".into(), (true,))
            .await
            .unwrap();
    });
    eprintln!("{n} sales made in {:.1?}", started.elapsed());

    let dir = tempfile::tempdir().unwrap();
    let store = cold_store(dir.path());
    let proxy = CountingProxy::start(w.dev.port, None, false);
    let client = dev_client(&proxy.url);
    let t = Instant::now();
    let pass = rt
        .block_on(index::sync(
            &client,
            &store,
            market,
            0,
            &IndexerConfig::default(),
        ))
        .unwrap();
    let took = t.elapsed();
    let events = store.market_events(31337, market).unwrap().len();
    let (requests, calls) = (
        proxy.requests.load(Ordering::SeqCst),
        proxy.calls.load(Ordering::SeqCst),
    );
    assert!(events as u64 > n, "{events} events");
    println!(
        "BENCH market index: {events} events, {} blocks, {} ranges in {:.3}s = {:.0} events/s; \
         {requests} HTTP requests ({calls} JSON-RPC calls)",
        pass.head + 1,
        pass.ranges,
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
    // Without blockTimestamp in the logs: the times come in batches, not per block.
    let dir2 = tempfile::tempdir().unwrap();
    let store2 = cold_store(dir2.path());
    let stripped = CountingProxy::start(w.dev.port, None, true);
    let t = Instant::now();
    rt.block_on(index::sync(
        &dev_client(&stripped.url),
        &store2,
        market,
        0,
        &IndexerConfig::default(),
    ))
    .unwrap();
    let took = t.elapsed();
    println!(
        "BENCH market index, node without blockTimestamp: {:.0} events/s; {} HTTP requests ({} JSON-RPC calls)",
        events as f64 / took.as_secs_f64(),
        stripped.requests.load(Ordering::SeqCst),
        stripped.calls.load(Ordering::SeqCst),
    );
    assert!(requests < 20, "requests grew with events: {requests}");
}
