//! The market's two-home fixture and the helpers its CLI tests share (tests/chain/market_anvil.rs
//! and tests/chain/market_cli.rs): `keybot chain dev` in the seller's home, a buyer's home
//! configured the way a second machine is, keybot run in either, and the chain read back with
//! foundry's `cast` (not through keybot) for balances, nonces and counters.
use crate::common;

use std::path::Path;

use alloy::primitives::{Address, U256};
// Every market test calls cast through this module's glob import.
pub(crate) use common::cast;

pub(crate) const PW: &str = "correct horse battery staple";
pub(crate) const SELLER: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
pub(crate) const BUYER: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

/// A third party who only reads the market (BIP-39 test vector).
pub(crate) const STRANGER: &str =
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage above";

/// Account 0 of each phrase (m/44'/60'/0'/0/0).
pub(crate) const SELLER_0: &str = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
pub(crate) const BUYER_0: &str = "0x58A57ed9d8d624cBD12e2C467D34787555bB1b25";

/// DataMarket's DELIVERY_WINDOW and CHALLENGE_WINDOW: 3 days.
pub(crate) const THREE_DAYS: u64 = 3 * 24 * 3600;

pub(crate) fn kb(home: &Path, args: &[&str]) -> std::process::Output {
    common::kb_with(home, PW, args)
}

pub(crate) fn ok(home: &Path, args: &[&str]) -> String {
    common::ok_with(home, PW, args)
}

pub(crate) fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails with exit status 1 and one line of error containing `needle`.
pub(crate) fn fails(home: &Path, args: &[&str], needle: &str) -> String {
    let out = kb(home, args);
    let err = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "keybot {args:?} should fail: {err}"
    );
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains(needle),
        "keybot {args:?}: {err:?} lacks {needle:?}"
    );
    err
}

pub(crate) fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("").trim()
}

/// The first number of a `cast call` answer ("5000000 [5e6]").
pub(crate) fn number(out: &str) -> U256 {
    out.split_whitespace().next().unwrap().parse().unwrap()
}

/// A token balance read with cast (not through keybot), in base units.
pub(crate) fn tusd_of(rpc: &str, tusd: Address, who: &str) -> U256 {
    number(&cast(&[
        "call",
        "--rpc-url",
        rpc,
        &tusd.to_string(),
        "balanceOf(address)(uint256)",
        who,
    ]))
}

pub(crate) fn tusd(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000u64)
}

/// `owner`'s tUSD allowance to the market, read with cast.
pub(crate) fn allowance(w: &World, owner: &str) -> U256 {
    number(&cast(&[
        "call",
        "--rpc-url",
        &w.dev.rpc,
        &w.dev.tusd.to_string(),
        "allowance(address,address)(uint256)",
        owner,
        &w.dev.market.to_string(),
    ]))
}

pub(crate) fn eth_of(rpc: &str, who: &str) -> U256 {
    cast(&["balance", "--rpc-url", rpc, who]).parse().unwrap()
}

/// How many transactions `who` has sent: "nothing was sent" is this staying put.
pub(crate) fn nonce(rpc: &str, who: &str) -> u64 {
    cast(&["nonce", "--rpc-url", rpc, who]).parse().unwrap()
}

/// anvil's clock moves `secs` on, and a block is mined at the new time.
pub(crate) fn pass_time(rpc: &str, secs: u64) {
    cast(&[
        "rpc",
        "--rpc-url",
        rpc,
        "evm_increaseTime",
        &secs.to_string(),
    ]);
    cast(&["rpc", "--rpc-url", rpc, "evm_mine"]);
}

/// Account 0's private key of `phrase`, as a user with cast gets it: how a dishonest seller
/// (or a buyer's own script) sends by hand.
pub(crate) fn private_key(phrase: &str) -> String {
    cast(&[
        "wallet",
        "private-key",
        "--mnemonic",
        phrase,
        "--mnemonic-index",
        "0",
    ])
}

/// `cast send` to the market from `phrase`'s account 0.
pub(crate) fn send_as(w: &World, phrase: &str, to: Address, args: &[&str]) {
    let key = private_key(phrase);
    let to = to.to_string();
    let mut all = vec!["send", "--rpc-url", &w.dev.rpc, "--private-key", &key, &to];
    all.extend(args);
    cast(&all);
}

/// `market fetch PURCHASE --out OUT` with `extra` arguments.
pub(crate) fn fetch(
    home: &Path,
    purchase: &str,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["market", "fetch", purchase, "--out", out.to_str().unwrap()];
    args.extend(extra);
    kb(home, &args)
}

/// The tUSD figures of `home`'s `market earnings --json`.
pub(crate) fn tusd_earnings(home: &Path) -> serde_json::Value {
    let e: serde_json::Value =
        serde_json::from_str(&ok(home, &["market", "earnings", "--json"])).unwrap();
    e["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["symbol"] == "tUSD")
        .cloned()
        .unwrap_or_else(|| panic!("no tUSD figures: {e:#}"))
}

/// The seller's home with the dev chain running, and the buyer's home configured for it the way
/// a second machine is: `chain add`, `token add`, `market join`.
pub(crate) struct World {
    pub(crate) seller: tempfile::TempDir,
    pub(crate) buyer: tempfile::TempDir,
    pub(crate) dev: common::DevChain,
}

pub(crate) fn world() -> Option<World> {
    let seller = common::fast_home(SELLER, PW);
    let buyer = common::fast_home(BUYER, PW);
    let dev = common::dev_chain(seller.path(), PW, &[BUYER_0.parse().unwrap()])?;
    let b = buyer.path();
    ok(b, &["chain", "add", "local", "--rpc", &dev.rpc, "--yes"]);
    ok(b, &["token", "add", &dev.tusd.to_string()]);
    // A market address from a chat or a config is never trusted: tUSD's code is not a market.
    fails(
        b,
        &["market", "join", &dev.tusd.to_string()],
        "is not keybot's DataMarket",
    );
    fails(b, &["market", "browse"], "has no market");
    let joined = ok(b, &["market", "join", &dev.market.to_string()]);
    assert!(joined.contains("deployed in block"), "{joined}");
    Some(World { seller, buyer, dev })
}

/// Adds `text` as a file item in `home`'s vault and consents; the item id.
pub(crate) fn consented_item(home: &Path, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    std::fs::write(&file, text).unwrap();
    let id = ok(home, &["market", "add", "--file", file.to_str().unwrap()]);
    let id = last_line(&id).to_owned();
    ok(home, &["market", "consent", &id, "--yes"]);
    id
}

/// Lists `item` for `price` tUSD (inline); the listing id.
pub(crate) fn sell(home: &Path, item: &str, price: &str) -> String {
    sell_with(home, item, price, &[])
}

/// `market sell ITEM --price PRICE --token tUSD` with `extra` flags (`--uri`,
/// `--ciphertext-out`…), confirmed with `--yes`; the listing id it prints last.
pub(crate) fn sell_with(home: &Path, item: &str, price: &str, extra: &[&str]) -> String {
    let mut args = vec!["market", "sell", item, "--price", price, "--token", "tUSD"];
    args.extend_from_slice(extra);
    args.push("--yes");
    last_line(&ok(home, &args)).to_owned()
}

/// A consented note listed for `price` tUSD; (item, listing).
pub(crate) fn listed(home: &Path, text: &str, price: &str) -> (String, String) {
    let item = consented_item(home, text);
    let listing = sell(home, &item, price);
    (item, listing)
}

/// One of DataMarket's counters (`listingCount`, `purchaseCount`) at `market`, read with cast:
/// "nothing was listed / bought" is this staying put.
pub(crate) fn counter(rpc: &str, market: &str, name: &str) -> u64 {
    number(&cast(&[
        "call",
        "--rpc-url",
        rpc,
        market,
        &format!("{name}()(uint256)"),
    ]))
    .to::<u64>()
}
