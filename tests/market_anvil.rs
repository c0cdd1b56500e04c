//! The data market end to end on `keybot chain dev`, with two homes: a seller who puts a note
//! into the sale vault, consents and lists it for tUSD; a buyer who browses, buys and fetches;
//! the seller's `market serve` delivering; the seller withdrawing. Then what goes wrong: a
//! seller who never delivers (refund after the deadline), a tampered ciphertext and a wrong
//! delivered key (fetch writes nothing), a buyer without enough tUSD.
mod common;

use std::path::Path;

use alloy::primitives::{Address, U256};
use common::tool;

const PW: &str = "correct horse battery staple";
const SELLER: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const BUYER: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
/// Account 0 of each phrase (m/44'/60'/0'/0/0).
const SELLER_0: &str = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
const BUYER_0: &str = "0x58A57ed9d8d624cBD12e2C467D34787555bB1b25";

const EMAIL: &str = "jonas.weber@example.net";
const PHONE: &str = "+44 20 7946 0958";
const PHRASE: &str = "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong";

fn kb(home: &Path, args: &[&str]) -> std::process::Output {
    common::kb_with(home, PW, args)
}

fn ok(home: &Path, args: &[&str]) -> String {
    common::ok_with(home, PW, args)
}

/// Fails with exit status 1 and one line of error containing `needle`.
fn fails(home: &Path, args: &[&str], needle: &str) -> String {
    let out = kb(home, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
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

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("").trim()
}

fn cast(args: &[&str]) -> String {
    let cast = tool("cast").expect("cast");
    let out = std::process::Command::new(cast)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cast {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A token balance read with cast (not through keybot), in base units.
fn tusd_of(rpc: &str, tusd: Address, who: &str) -> U256 {
    let out = cast(&[
        "call",
        "--rpc-url",
        rpc,
        &tusd.to_string(),
        "balanceOf(address)(uint256)",
        who,
    ]);
    out.split_whitespace().next().unwrap().parse().unwrap()
}

fn tusd(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000u64)
}

/// The seller's home with the dev chain running, and the buyer's home configured for it the way
/// a second machine is: `chain add`, `token add`, `market join`.
struct World {
    seller: tempfile::TempDir,
    buyer: tempfile::TempDir,
    dev: common::DevChain,
}

fn world() -> Option<World> {
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
fn consented_item(home: &Path, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    std::fs::write(&file, text).unwrap();
    let id = ok(home, &["market", "add", "--file", file.to_str().unwrap()]);
    let id = last_line(&id).to_owned();
    ok(home, &["market", "consent", &id, "--yes"]);
    id
}

fn note() -> String {
    format!(
        "Notes from the flat viewing on 2025-06-14.\n\
         The landlord is reachable at {EMAIL} or {PHONE}.\n\
         Rent 1,450 GBP, deposit five weeks. Old wallet words: {PHRASE}\n"
    )
}

#[test]
fn a_note_is_listed_bought_delivered_fetched_and_withdrawn() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let item = consented_item(s, &note());
    let preview = ok(s, &["market", "preview", &item]);
    for secret in [EMAIL, PHONE, "zoo zoo"] {
        assert!(
            !preview.contains(secret),
            "{secret} in the preview: {preview}"
        );
    }

    let listing = ok(
        s,
        &[
            "market", "sell", &item, "--price", "5", "--token", "tUSD", "--yes",
        ],
    );
    let listing = last_line(&listing).to_owned();
    assert_eq!(listing, "1");

    let browse: serde_json::Value =
        serde_json::from_str(&ok(b, &["market", "browse", "--json"])).unwrap();
    let row = &browse[0];
    assert_eq!(row["listing"], 1);
    assert_eq!(row["price"], tusd(5).to_string());
    assert_eq!(row["symbol"], "tUSD");
    assert_eq!(row["bytes"], preview.len());
    assert_eq!(row["redactions"]["email"], 1);
    assert_eq!(row["seller_deliveries"], 0);

    let seller_before = tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0);
    let buyer_before = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    let purchase = ok(b, &["market", "buy", &listing, "--yes"]);
    let purchase = last_line(&purchase).to_owned();
    assert_eq!(
        tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0),
        buyer_before - tusd(5)
    );

    // Not delivered yet: --no-wait says so with exit status 3 and writes nothing.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("bought.txt");
    let early = kb(
        b,
        &[
            "market",
            "fetch",
            &purchase,
            "--out",
            out.to_str().unwrap(),
            "--no-wait",
        ],
    );
    assert_eq!(
        early.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    assert!(!out.exists());

    ok(s, &["market", "serve", "--once"]);
    ok(
        b,
        &["market", "fetch", &purchase, "--out", out.to_str().unwrap()],
    );
    let fetched = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        fetched, preview,
        "the buyer got other bytes than the seller's preview"
    );
    assert_eq!(common::mode(&out), 0o600);
    // A second fetch never overwrites.
    fails(
        b,
        &["market", "fetch", &purchase, "--out", out.to_str().unwrap()],
        "never overwrites",
    );

    let listings: serde_json::Value =
        serde_json::from_str(&ok(s, &["market", "listings", "--json"])).unwrap();
    assert_eq!(listings[0]["sales"], 1);
    assert_eq!(listings[0]["delivered"], 1);

    ok(s, &["market", "withdraw", "--token", "tUSD", "--yes"]);
    assert_eq!(
        tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0),
        seller_before + tusd(5)
    );
    let again = kb(s, &["market", "withdraw", "--yes"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to withdraw"));
}

#[test]
fn an_undelivered_purchase_is_refunded_after_the_deadline_and_never_delivered() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let item = consented_item(s, "A plain note worth 2 tUSD.\n");
    let listing = last_line(&ok(
        s,
        &[
            "market", "sell", &item, "--price", "2", "--token", "tUSD", "--yes",
        ],
    ))
    .to_owned();
    let before = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    let purchase = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
    fails(
        b,
        &["market", "refund", &purchase, "--yes"],
        "DeadlineNotPassed",
    );
    // Three days and a second later on anvil's clock.
    cast(&["rpc", "--rpc-url", &w.dev.rpc, "evm_increaseTime", "259201"]);
    cast(&["rpc", "--rpc-url", &w.dev.rpc, "evm_mine"]);
    ok(b, &["market", "refund", &purchase, "--yes"]);
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before);
    // The seller's serve no longer delivers it; the buyer has nothing to fetch.
    ok(s, &["market", "serve", "--once"]);
    let out = tempfile::tempdir().unwrap();
    fails(
        b,
        &[
            "market",
            "fetch",
            &purchase,
            "--out",
            out.path().join("x").to_str().unwrap(),
        ],
        "refunded",
    );
}

#[test]
fn a_tampered_ciphertext_or_a_wrong_key_writes_nothing() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let item = consented_item(s, "Published at a URI rather than inline.\n");
    let files = tempfile::tempdir().unwrap();
    let ct = files.path().join("item.kbm");
    let uri = format!("file://{}", ct.display());
    let listing = last_line(&ok(
        s,
        &[
            "market", "sell", &item, "--price", "1", "--token", "tUSD", "--uri", &uri, "--yes",
        ],
    ))
    .to_owned();
    assert!(ct.exists(), "sell did not write the file:// ciphertext");
    let purchase = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
    ok(s, &["market", "serve", "--once"]);

    let mut bytes = std::fs::read(&ct).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&ct, &bytes).unwrap();
    let out = files.path().join("got.txt");
    let err = fails(
        b,
        &["market", "fetch", &purchase, "--out", out.to_str().unwrap()],
        "not the listed one",
    );
    assert!(err.contains("market dispute"), "{err}");
    assert!(!out.exists());

    // A wrong key: the seller (by hand, with cast) delivers a key that is not the listing's.
    let item2 = consented_item(s, "Second note.\n");
    let listing2 = last_line(&ok(
        s,
        &[
            "market", "sell", &item2, "--price", "1", "--token", "tUSD", "--yes",
        ],
    ))
    .to_owned();
    let purchase2 = last_line(&ok(b, &["market", "buy", &listing2, "--yes"])).to_owned();
    let wallet =
        keybot_keystore::Wallet::new(keybot_keystore::Phrase::parse(BUYER).unwrap(), "").unwrap();
    let wrong =
        keybot_keystore::encrypt_to(&wallet.market_public_key().unwrap(), &[7u8; 32]).unwrap();
    let key = cast(&[
        "wallet",
        "private-key",
        "--mnemonic",
        SELLER,
        "--mnemonic-index",
        "0",
    ]);
    cast(&[
        "send",
        "--rpc-url",
        &w.dev.rpc,
        "--private-key",
        &key,
        &w.dev.market.to_string(),
        "deliver(uint256,bytes)",
        &purchase2,
        &format!("0x{}", hex::encode(&wrong)),
    ]);
    let err = fails(
        b,
        &[
            "market",
            "fetch",
            &purchase2,
            "--out",
            out.to_str().unwrap(),
        ],
        "not the listing's key",
    );
    assert!(err.contains("market dispute"), "{err}");
    assert!(!out.exists());
    ok(b, &["market", "dispute", &purchase2, "--yes"]);
    let browse: serde_json::Value =
        serde_json::from_str(&ok(b, &["market", "browse", "--json"])).unwrap();
    assert!(
        browse
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["seller_disputes"] == 1),
        "{browse}"
    );
}

#[test]
fn a_buyer_without_enough_tusd_pays_nothing_and_a_consentless_item_is_not_listed() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    // Not consented: refused before anything is signed.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("n.txt");
    std::fs::write(&f, "unconsented\n").unwrap();
    let raw = last_line(&ok(s, &["market", "add", "--file", f.to_str().unwrap()])).to_owned();
    fails(
        s,
        &["market", "sell", &raw, "--price", "1", "--yes"],
        "has no consent",
    );

    let item = consented_item(s, "Expensive.\n");
    let listing = last_line(&ok(
        s,
        &[
            "market", "sell", &item, "--price", "20000", "--token", "tUSD", "--yes",
        ],
    ))
    .to_owned();
    let before = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    fails(
        b,
        &["market", "buy", &listing, "--yes"],
        "less than the price",
    );
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before);
    let allowance = cast(&[
        "call",
        "--rpc-url",
        &w.dev.rpc,
        &w.dev.tusd.to_string(),
        "allowance(address,address)(uint256)",
        BUYER_0,
        &w.dev.market.to_string(),
    ]);
    assert!(
        allowance.starts_with('0'),
        "an approval was sent: {allowance}"
    );
}

#[test]
fn a_market_is_deployed_through_the_review_and_another_home_joins_it() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let out = kb(s, &["market", "deploy", "--token", "tUSD", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let review = String::from_utf8_lossy(&out.stderr);
    assert!(
        review.contains("deploys") && review.contains("DataMarket"),
        "{review}"
    );
    assert!(
        review.contains("tUSD"),
        "the allow-list is not in the review: {review}"
    );
    let address = last_line(&String::from_utf8(out.stdout).unwrap()).to_owned();
    assert_ne!(address, w.dev.market.to_string());
    // The new market is empty and is what the seller's network now uses; its code is exactly
    // the artifact's, so another home can join it.
    assert_eq!(ok(s, &["market", "browse", "--json"]).trim(), "[]");
    ok(b, &["market", "join", &address]);
    let item = consented_item(s, "Sold on the second market.\n");
    let listing = last_line(&ok(
        s,
        &["market", "sell", &item, "--price", "0.01", "--yes"],
    ))
    .to_owned();
    assert_eq!(listing, "1");
    let browse: serde_json::Value =
        serde_json::from_str(&ok(b, &["market", "browse", "--json"])).unwrap();
    assert_eq!(browse[0]["symbol"], "ETH");
    assert_eq!(browse[0]["price"], "10000000000000000");
    // ETH is always accepted and cannot be named.
    fails(
        s,
        &["market", "deploy", "--token", "ETH", "--yes"],
        "always accepted",
    );
}

#[test]
fn a_seller_restored_from_the_phrase_and_the_backup_keeps_delivering() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let item = consented_item(s, "Listed on the old machine.\n");
    let listing = last_line(&ok(
        s,
        &[
            "market", "sell", &item, "--price", "1", "--token", "tUSD", "--yes",
        ],
    ))
    .to_owned();
    let files = tempfile::tempdir().unwrap();
    let backup = files.path().join("seller.kbb");
    ok(s, &["backup", "export", backup.to_str().unwrap()]);

    // A new machine with the phrase only: it cannot deliver (the content key is not there).
    let bare = common::fast_home(SELLER, PW);
    ok(
        bare.path(),
        &["chain", "add", "local", "--rpc", &w.dev.rpc, "--yes"],
    );
    ok(bare.path(), &["market", "join", &w.dev.market.to_string()]);
    let purchase = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
    ok(bare.path(), &["market", "serve", "--once"]);
    let out = files.path().join("got.txt");
    let not_yet = kb(
        b,
        &[
            "market",
            "fetch",
            &purchase,
            "--out",
            out.to_str().unwrap(),
            "--no-wait",
        ],
    );
    assert_eq!(not_yet.status.code(), Some(3));

    // With the backup imported it delivers, and the buyer gets the seller's exact preview.
    let restored = common::fast_home(SELLER, PW);
    let r = restored.path();
    ok(r, &["backup", "import", backup.to_str().unwrap()]);
    ok(r, &["chain", "add", "local", "--rpc", &w.dev.rpc, "--yes"]);
    ok(r, &["market", "join", &w.dev.market.to_string()]);
    ok(r, &["market", "serve", "--once"]);
    ok(
        b,
        &["market", "fetch", &purchase, "--out", out.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        ok(s, &["market", "preview", &item])
    );
}

#[test]
fn a_buy_whose_rpc_dies_after_sending_is_paid_once() {
    use common::proxy::{DIE_AFTER_SEND, Proxy};
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let item = consented_item(s, "Bought while the RPC fell over.\n");
    let listing = last_line(&ok(
        s,
        &["market", "sell", &item, "--price", "0.5", "--yes"],
    ))
    .to_owned();
    let config = b.join("config/config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let (proxy, port) = Proxy::bind(w.dev.port, DIE_AFTER_SEND);
    std::fs::write(
        &config,
        good.replace(&format!(":{}", w.dev.port), &format!(":{port}")),
    )
    .unwrap();
    let before = cast(&["balance", "--rpc-url", &w.dev.rpc, BUYER_0]);
    // The node took the transaction and the proxy died before answering: one line, recorded.
    fails(
        b,
        &["market", "buy", &listing, "--yes"],
        "will not be signed again",
    );
    proxy.wait_dead();
    std::fs::write(&config, &good).unwrap();
    // Back online: the recorded purchase is found, and buying again is refused, not paid twice.
    fails(
        b,
        &["market", "buy", &listing, "--yes"],
        "already bought listing",
    );
    let after = cast(&["balance", "--rpc-url", &w.dev.rpc, BUYER_0]);
    let paid = before.parse::<U256>().unwrap() - after.parse::<U256>().unwrap();
    let half = U256::from(5u64) * U256::from(10u64).pow(U256::from(17u64));
    assert!(
        paid >= half && paid < half * U256::from(2u64),
        "paid {paid}"
    );
    let purchases = cast(&[
        "call",
        "--rpc-url",
        &w.dev.rpc,
        &w.dev.market.to_string(),
        "purchaseCount()(uint256)",
    ]);
    assert_eq!(purchases, "1");
}
