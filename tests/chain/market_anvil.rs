//! The data market (v2, MARKET.md "Version 2") end to end on `keybot chain dev`, with two homes
//! (three where a stranger reads the record): a seller who puts a note into the sale vault,
//! consents and lists it for tUSD; a buyer who browses, buys and fetches; the seller's `market
//! serve` delivering; the payment settling after the 3-day challenge window and the seller
//! withdrawing it. Then what goes wrong: a seller who never delivers (refund after the
//! deadline), or too late (nothing delivered in the deadline's last hour or after it); a changed
//! ciphertext and a wrong delivered key (fetch writes nothing); a wrong key challenged on chain
//! (the buyer gets exactly the price back) and a right one that cannot be; a reprice racing a
//! buy; disputes that a third home checks itself (proven, refuted); a buyer without enough tUSD;
//! a buyer restored from the phrase alone. Hand-made deliveries and listings are sent with
//! `cast`, their bytes computed with the keystore crate, as a dishonest seller would.
use crate::common;
use crate::market_world::*;

use std::time::Instant;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use keybot_keystore::content;
use keybot_keystore::delivery::{self, Binding};
use keybot_keystore::secret::Secret32;

/// Where a test has a refund or a withdrawal paid: an address no home owns.
const ELSEWHERE: &str = "0x1111111111111111111111111111111111111111";
const CHAIN_ID: u64 = 31337;

const EMAIL: &str = "jonas.weber@example.net";
const PHONE: &str = "+44 20 7946 0958";
const PHRASE: &str = "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong";

/// The market's `Purchased` event as this test reads it: its own declaration, from the
/// contract source, not keybot's binding.
mod ev {
    alloy::sol! {
        event Purchased(uint256 indexed purchaseId, address indexed buyer, address indexed seller,
            uint256 listingId, address token, uint256 price, bytes buyerKey, uint64 deadline);
    }
}

/// The next block is mined at `time` exactly.
fn mine_at(rpc: &str, time: u64) {
    cast(&[
        "rpc",
        "--rpc-url",
        rpc,
        "evm_setNextBlockTimestamp",
        &time.to_string(),
    ]);
    cast(&["rpc", "--rpc-url", rpc, "evm_mine"]);
}

fn chain_time(rpc: &str) -> u64 {
    cast(&["block", "latest", "--field", "timestamp", "--rpc-url", rpc])
        .parse()
        .unwrap()
}

/// The `Purchased` event of `purchase`, read from the node's logs with alloy.
fn purchased(w: &World, purchase: &str) -> ev::Purchased {
    let id = B256::from(purchase.parse::<U256>().unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        keybot::net::tls();
        let provider = ProviderBuilder::new().connect_http(w.dev.rpc.parse().unwrap());
        let filter = Filter::new()
            .address(w.dev.market)
            .event_signature(ev::Purchased::SIGNATURE_HASH)
            .topic1(id)
            .from_block(0u64);
        let logs = provider.get_logs(&filter).await.unwrap();
        assert_eq!(logs.len(), 1, "purchase {purchase}: {logs:?}");
        ev::Purchased::decode_log(&logs[0].inner).unwrap().data
    })
}

/// What binds a delivery to `purchase` on the dev chain's market.
fn binding(w: &World, purchase: &str) -> Binding {
    Binding {
        chain_id: CHAIN_ID,
        market: w.dev.market,
        purchase_id: purchase.parse().unwrap(),
    }
}

/// The seller delivers `key` for `purchase` by hand: `R ‖ c` (v2, 96 bytes) computed with the
/// keystore for the buyer key in the `Purchased` event, sent with cast from the seller's
/// account. Whether `key` is the listing's is the caller's choice.
fn deliver_by_hand(w: &World, purchase: &str, key: &Secret32) {
    let bought = purchased(w, purchase);
    assert_eq!(bought.buyerKey.len(), delivery::POINT_LEN);
    let d = delivery::deliver(&bought.buyerKey, key, &binding(w, purchase)).unwrap();
    assert_eq!(d.len(), 96);
    send_as(
        w,
        SELLER,
        w.dev.market,
        &[
            "deliver(uint256,bytes)",
            purchase,
            &format!("0x{}", hex::encode(d)),
        ],
    );
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

    let listing = sell(s, &item, "5");
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
    assert_eq!(row["seller_disputes_proven"], 0);
    assert_eq!(row["seller_disputes_refuted"], 0);
    assert_eq!(row["seller_keys_proven_wrong"], 0);

    let seller_before = tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0);
    let buyer_before = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    let started = Instant::now();
    let purchase = ok(b, &["market", "buy", &listing, "--yes"]);
    let bought_in = started.elapsed();
    let purchase = last_line(&purchase).to_owned();
    assert_eq!(
        tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0),
        buyer_before - tusd(5)
    );
    // Exactly the price was approved, and the purchase used it up.
    assert_eq!(allowance(&w, BUYER_0), U256::ZERO);
    // A one-time key: 64 bytes x ‖ y, not the buyer's market key.
    assert_eq!(purchased(&w, &purchase).buyerKey.len(), 64);

    // Not delivered yet: --no-wait says so with exit status 3 and writes nothing.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("bought.txt");
    let early = fetch(b, &purchase, &out, &["--no-wait"]);
    assert_eq!(early.status.code(), Some(3), "{}", stderr_of(&early));
    assert!(!out.exists());

    ok(s, &["market", "serve", "--once"]);
    ok(
        b,
        &["market", "fetch", &purchase, "--out", out.to_str().unwrap()],
    );
    let fetched = std::fs::read_to_string(&out).unwrap();
    let checked_in = started.elapsed();
    assert_eq!(
        fetched, preview,
        "the buyer got other bytes than the seller's preview"
    );
    eprintln!(
        "TIMING purchase to checked plaintext: {:.2?} (buy {:.2?}, then serve --once and fetch)",
        checked_in, bought_in
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

    // Delivered, not settled: the buyer can still challenge for 3 days, so the seller's money
    // is settling, not claimable, and a withdrawal says so and sends nothing.
    let f = tusd_earnings(s);
    assert_eq!(f["settling"], "5", "{f:#}");
    assert_eq!(f["earned"], "0", "{f:#}");
    assert_eq!(f["claimable"], "0", "{f:#}");
    let seller_nonce = nonce(&w.dev.rpc, SELLER_0);
    let early = kb(s, &["market", "withdraw", "--token", "tUSD", "--yes"]);
    let err = stderr_of(&early);
    assert!(early.status.success(), "{err}");
    assert!(
        err.contains("nothing to withdraw yet")
            && err.contains("still in the buyers' challenge window"),
        "{err}"
    );
    assert_eq!(
        nonce(&w.dev.rpc, SELLER_0),
        seller_nonce,
        "something was sent"
    );
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0), seller_before);

    // Three days and a second later on anvil's clock: settled by time, claimable, and the
    // withdrawal settles it on chain and pays it.
    pass_time(&w.dev.rpc, THREE_DAYS + 1);
    let f = tusd_earnings(s);
    assert_eq!(f["settling"], "0", "{f:#}");
    assert_eq!(f["earned"], "5", "{f:#}");
    assert_eq!(f["claimable"], "5", "{f:#}");
    ok(s, &["market", "withdraw", "--token", "tUSD", "--yes"]);
    assert_eq!(
        tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0),
        seller_before + tusd(5)
    );
    let f = tusd_earnings(s);
    assert_eq!(f["withdrawn"], "5", "{f:#}");
    assert_eq!(f["claimable"], "0", "{f:#}");
    let again = kb(s, &["market", "withdraw", "--yes"]);
    let err = stderr_of(&again);
    assert!(err.contains("nothing to withdraw"), "{err}");
    assert!(!err.contains("challenge window"), "{err}");
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
    pass_time(&w.dev.rpc, THREE_DAYS + 1);
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
    let files = tempfile::tempdir().unwrap();

    // A listing whose ciphertext is at a file:// URI on the seller's machine: a stranger's
    // keybot never opens a local path for it, and v2 checks the bytes before paying, so the
    // buyer is refused before anything is sent.
    let item = consented_item(s, "Published at a URI rather than inline.\n");
    let ct = files.path().join("item.kbm");
    let uri = format!("file://{}", ct.display());
    let at_uri = last_line(&ok(
        s,
        &[
            "market", "sell", &item, "--price", "1", "--token", "tUSD", "--uri", &uri, "--yes",
        ],
    ))
    .to_owned();
    assert!(ct.exists(), "sell did not write the file:// ciphertext");
    let buyer_nonce = nonce(&w.dev.rpc, BUYER_0);
    fails(
        b,
        &["market", "buy", &at_uri, "--yes"],
        "file:// only for your own listings",
    );
    assert_eq!(
        nonce(&w.dev.rpc, BUYER_0),
        buyer_nonce,
        "something was sent"
    );

    // An inline listing; the copy of the ciphertext the buyer passes by hand is changed.
    let item = consented_item(s, "Published inline; a copy passed by hand is changed.\n");
    let ct = files.path().join("inline.kbm");
    let listing = sell_with(s, &item, "1", &["--ciphertext-out", ct.to_str().unwrap()]);
    let purchase = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
    ok(s, &["market", "serve", "--once"]);
    let mut bytes = std::fs::read(&ct).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let changed = files.path().join("changed.kbm");
    std::fs::write(&changed, &bytes).unwrap();
    let out = files.path().join("got.txt");
    let err = fails(
        b,
        &[
            "market",
            "fetch",
            &purchase,
            "--out",
            out.to_str().unwrap(),
            "--ciphertext",
            changed.to_str().unwrap(),
        ],
        "not the listed one",
    );
    assert!(err.contains("market dispute"), "{err}");
    assert!(!out.exists());

    // A wrong key: the seller (by hand, with cast) delivers R ‖ c of a key that is not the
    // listing's. Exit status 4 and one line naming the challenge and its last date.
    let (_, listing2) = listed(s, "Second note.\n", "1");
    let purchase2 = last_line(&ok(b, &["market", "buy", &listing2, "--yes"])).to_owned();
    deliver_by_hand(&w, &purchase2, &Secret32::new([7u8; 32]));
    let wrong = fetch(b, &purchase2, &out, &[]);
    let err = stderr_of(&wrong);
    assert_eq!(wrong.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&format!("keybot market challenge {purchase2}")),
        "{err}"
    );
    assert!(!out.exists());
    ok(b, &["market", "dispute", &purchase2, "--yes"]);
    // Every client checks the published secret itself: the key is not the committed one, so
    // the dispute is proven, not a claim.
    let browse: serde_json::Value =
        serde_json::from_str(&ok(b, &["market", "browse", "--json"])).unwrap();
    let rows = browse.as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|l| l["seller_disputes"] == 1 && l["seller_disputes_proven"] == 1),
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

#[test]
fn a_wrong_key_is_challenged_and_the_buyer_gets_exactly_the_price_back() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (_, listing) = listed(s, "A note whose seller sends the wrong key.\n", "3");
    let before = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    let purchase = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before - tusd(3));

    deliver_by_hand(&w, &purchase, &Secret32::new([7u8; 32]));
    let files = tempfile::tempdir().unwrap();
    let out = files.path().join("got.txt");
    let wrong = fetch(b, &purchase, &out, &[]);
    let err = stderr_of(&wrong);
    assert_eq!(wrong.status.code(), Some(4), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err:?}");
    assert!(
        err.contains(&format!("keybot market challenge {purchase}")) && err.contains("until"),
        "{err}"
    );
    assert!(!out.exists());
    // Settling while the buyer can challenge.
    assert_eq!(tusd_earnings(s)["settling"], "3");

    ok(b, &["market", "challenge", &purchase, "--yes"]);
    assert_eq!(
        tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0),
        before,
        "the challenge did not refund exactly the price"
    );
    // The seller never counts it: refunded, neither settling nor earned, and nothing to
    // withdraw, now or after the window.
    let f = tusd_earnings(s);
    assert_eq!(f["refunded"], "3", "{f:#}");
    assert_eq!(f["settling"], "0", "{f:#}");
    assert_eq!(f["earned"], "0", "{f:#}");
    assert_eq!(f["claimable"], "0", "{f:#}");
    let browse: serde_json::Value =
        serde_json::from_str(&ok(b, &["market", "browse", "--json"])).unwrap();
    assert_eq!(browse[0]["seller_keys_proven_wrong"], 1, "{browse}");

    // A second challenge is refused and sends nothing.
    let sent = nonce(&w.dev.rpc, BUYER_0);
    let again = kb(b, &["market", "challenge", &purchase, "--yes"]);
    assert_ne!(again.status.code(), Some(0), "{}", stderr_of(&again));
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent, "something was sent");
    fails(
        b,
        &["market", "fetch", &purchase, "--out", out.to_str().unwrap()],
        "refunded",
    );

    pass_time(&w.dev.rpc, THREE_DAYS + 1);
    let f = tusd_earnings(s);
    assert_eq!(f["earned"], "0", "{f:#}");
    assert_eq!(f["claimable"], "0", "{f:#}");
    let seller_before = tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0);
    let err = stderr_of(&kb(s, &["market", "withdraw", "--yes"]));
    assert!(err.contains("nothing to withdraw"), "{err}");
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0), seller_before);
}

#[test]
fn a_right_key_cannot_be_challenged_and_settles_to_another_address() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (item, listing) = listed(s, "A note delivered with the right key.\n", "4");
    let purchase = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
    ok(s, &["market", "serve", "--once"]);
    let files = tempfile::tempdir().unwrap();
    let out = files.path().join("got.txt");
    ok(
        b,
        &["market", "fetch", &purchase, "--out", out.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        ok(s, &["market", "preview", &item])
    );

    // The key opens the listing: a challenge would revert and publish the key, so keybot
    // refuses it with one line and sends nothing.
    let (sent, eth) = (nonce(&w.dev.rpc, BUYER_0), eth_of(&w.dev.rpc, BUYER_0));
    let refused = kb(b, &["market", "challenge", &purchase, "--yes"]);
    let err = stderr_of(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("key is right"), "{err}");
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent, "something was sent");
    assert_eq!(eth_of(&w.dev.rpc, BUYER_0), eth, "gas was spent");

    // After the window the payment settles; the withdrawal goes where the seller says.
    pass_time(&w.dev.rpc, THREE_DAYS + 1);
    fails(
        b,
        &["market", "challenge", &purchase, "--yes"],
        "challenge window closed",
    );
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent, "something was sent");
    let f = tusd_earnings(s);
    assert_eq!(f["earned"], "4", "{f:#}");
    assert_eq!(f["claimable"], "4", "{f:#}");
    let seller_before = tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0);
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, ELSEWHERE), U256::ZERO);
    ok(
        s,
        &[
            "market", "withdraw", "--token", "tUSD", "--to", ELSEWHERE, "--yes",
        ],
    );
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, ELSEWHERE), tusd(4));
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0), seller_before);
    let f = tusd_earnings(s);
    assert_eq!(f["withdrawn"], "4", "{f:#}");
    assert_eq!(f["claimable"], "0", "{f:#}");
}

#[test]
fn no_delivery_in_the_deadlines_last_hour_or_after_it_and_the_refund_goes_where_asked() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (_, listing) = listed(s, "A note the seller serves late.\n", "2");
    let first = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
    let deadline = purchased(&w, &first).deadline;
    assert!(deadline > chain_time(&w.dev.rpc) + THREE_DAYS - 60);

    // Half an hour before the first purchase's deadline a second one is bought: the seller's
    // serve delivers the second (days left) and not the first (within the last hour).
    mine_at(&w.dev.rpc, deadline - 1800);
    let second = last_line(&ok(b, &["market", "buy", &listing, "--again", "--yes"])).to_owned();
    let served = kb(s, &["market", "serve", "--once"]);
    let err = stderr_of(&served);
    assert!(served.status.success(), "{err}");
    assert!(
        err.contains(&format!("delivered purchase {second} ")),
        "{err}"
    );
    assert!(
        !err.contains(&format!("delivered purchase {first} ")),
        "{err}"
    );
    let files = tempfile::tempdir().unwrap();
    let out = files.path().join("first.txt");
    let waiting = fetch(b, &first, &out, &["--no-wait"]);
    assert_eq!(waiting.status.code(), Some(3), "{}", stderr_of(&waiting));
    ok(
        b,
        &[
            "market",
            "fetch",
            &second,
            "--out",
            files.path().join("second.txt").to_str().unwrap(),
        ],
    );

    // Past the deadline: nothing is delivered, and the buyer's refund goes to --to.
    pass_time(&w.dev.rpc, 1801);
    assert!(chain_time(&w.dev.rpc) > deadline);
    let sent = nonce(&w.dev.rpc, SELLER_0);
    let served = kb(s, &["market", "serve", "--once"]);
    let err = stderr_of(&served);
    assert!(served.status.success(), "{err}");
    assert!(!err.contains("delivered purchase"), "{err}");
    assert_eq!(
        nonce(&w.dev.rpc, SELLER_0),
        sent,
        "the seller sent something"
    );
    let waiting = fetch(b, &first, &out, &["--no-wait"]);
    assert_eq!(waiting.status.code(), Some(3), "{}", stderr_of(&waiting));
    let buyer_before = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    ok(b, &["market", "refund", &first, "--to", ELSEWHERE, "--yes"]);
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, ELSEWHERE), tusd(2));
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), buyer_before);
    fails(
        b,
        &["market", "refund", &first, "--yes"],
        "already refunded",
    );
    let f = tusd_earnings(s);
    assert_eq!(f["refunded"], "2", "{f:#}");
    assert_eq!(f["settling"], "2", "{f:#}");
    assert_eq!(f["pending"], "0", "{f:#}");
}

#[test]
fn a_reprice_above_the_max_price_is_refused_and_no_allowance_is_left() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (_, listing) = listed(s, "A note whose price goes up.\n", "1");
    let browse: serde_json::Value =
        serde_json::from_str(&ok(b, &["market", "browse", "--json"])).unwrap();
    assert_eq!(browse[0]["price"], tusd(1).to_string());

    // The seller reprices between the buyer's browse and buy.
    ok(s, &["market", "reprice", &listing, "--price", "3", "--yes"]);
    let before = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    let sent = nonce(&w.dev.rpc, BUYER_0);
    let err = fails(
        b,
        &["market", "buy", &listing, "--max-price", "1", "--yes"],
        "nothing was paid",
    );
    assert!(err.contains("above your maximum"), "{err}");
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before);
    assert_eq!(allowance(&w, BUYER_0), U256::ZERO);
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent, "something was sent");

    // A leftover allowance from before (100 tUSD, approved by hand) is not left standing: after
    // a purchase at the new price it is zero.
    send_as(
        &w,
        BUYER,
        w.dev.tusd,
        &[
            "approve(address,uint256)",
            &w.dev.market.to_string(),
            &tusd(100).to_string(),
        ],
    );
    assert_eq!(allowance(&w, BUYER_0), tusd(100));
    let purchase = last_line(&ok(
        b,
        &["market", "buy", &listing, "--max-price", "3", "--yes"],
    ))
    .to_owned();
    assert_eq!(purchased(&w, &purchase).price, tusd(3));
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before - tusd(3));
    assert_eq!(allowance(&w, BUYER_0), U256::ZERO);
}

#[test]
fn proven_and_refuted_disputes_show_in_a_third_homes_browse() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let stranger = common::fast_home(STRANGER, PW);
    let t = stranger.path();
    ok(t, &["chain", "add", "local", "--rpc", &w.dev.rpc, "--yes"]);
    ok(t, &["market", "join", &w.dev.market.to_string()]);
    let files = tempfile::tempdir().unwrap();

    // Refuted: a normal delivery that opens, disputed all the same; the content is now public.
    let (_, honest) = listed(s, "An honest note.\n", "1");
    let p1 = last_line(&ok(b, &["market", "buy", &honest, "--yes"])).to_owned();
    ok(s, &["market", "serve", "--once"]);
    ok(
        b,
        &[
            "market",
            "fetch",
            &p1,
            "--out",
            files.path().join("honest.txt").to_str().unwrap(),
        ],
    );
    ok(b, &["market", "dispute", &p1, "--yes"]);

    // Proven: a listing (made by hand with cast) whose ciphertext is sealed under another key
    // than the one it commits to; the seller delivers the committed key correctly, and it
    // does not open the ciphertext.
    let k = content::new_key().unwrap();
    let other = content::new_key().unwrap();
    let plaintext = b"Sealed under another key than the listing commits to.\n";
    let data = content::seal(&other, plaintext).unwrap();
    assert_eq!(&data[..4], b"KBM1");
    let meta = format!(
        r#"{{"v":1,"title":"A hand-made listing","tags":[],"bytes":{},"redactions":{{}},"type":"text/plain"}}"#,
        plaintext.len()
    );
    send_as(
        &w,
        SELLER,
        w.dev.market,
        &[
            "list(uint256,address,bytes32,bytes32,bytes,string,string)",
            "100000000000000000",
            &Address::ZERO.to_string(),
            &keccak256(&data).to_string(),
            &B256::from(content::key_commit(&k)).to_string(),
            &format!("0x{}", hex::encode(&data)),
            "",
            &meta,
        ],
    );
    let hand_made = number(&cast(&[
        "call",
        "--rpc-url",
        &w.dev.rpc,
        &w.dev.market.to_string(),
        "listingCount()(uint256)",
    ]))
    .to_string();
    let p2 = last_line(&ok(b, &["market", "buy", &hand_made, "--yes"])).to_owned();
    deliver_by_hand(&w, &p2, &k);
    let out = files.path().join("hand.txt");
    let err = fails(
        b,
        &["market", "fetch", &p2, "--out", out.to_str().unwrap()],
        "does not decrypt",
    );
    assert!(err.contains(&format!("market dispute {p2}")), "{err}");
    assert!(!out.exists());
    ok(b, &["market", "dispute", &p2, "--yes"]);

    // A home that took part in neither checks both disputes from the chain alone.
    let browse: serde_json::Value =
        serde_json::from_str(&ok(t, &["market", "browse", "--json"])).unwrap();
    let rows: Vec<&serde_json::Value> = browse
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["seller"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(SELLER_0))
        })
        .collect();
    assert_eq!(rows.len(), 2, "{browse:#}");
    for row in rows {
        assert_eq!(row["seller_disputes"], 2, "{row:#}");
        assert_eq!(row["seller_disputes_proven"], 1, "{row:#}");
        assert_eq!(row["seller_disputes_refuted"], 1, "{row:#}");
        assert_eq!(row["seller_keys_proven_wrong"], 0, "{row:#}");
    }
}

#[test]
fn a_buyer_restored_from_the_phrase_alone_finds_and_fetches_its_purchases() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    // Three purchases, so the restored wallet must scan past the first one-time keys.
    let mut bought = Vec::new();
    for i in 0..3 {
        let (item, listing) = listed(s, &format!("Note {i} bought before the restore.\n"), "1");
        let purchase = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();
        bought.push((item, listing, purchase));
    }
    ok(s, &["market", "serve", "--once"]);
    let keys: Vec<_> = bought
        .iter()
        .map(|(.., p)| purchased(&w, p).buyerKey)
        .collect();
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);

    // A new machine with the phrase only: no store, no copy of the ciphertexts.
    let restored = common::fast_home(BUYER, PW);
    let r = restored.path();
    ok(r, &["chain", "add", "local", "--rpc", &w.dev.rpc, "--yes"]);
    ok(r, &["token", "add", &w.dev.tusd.to_string()]);
    ok(r, &["market", "join", &w.dev.market.to_string()]);
    let files = tempfile::tempdir().unwrap();
    for (item, _, purchase) in bought.iter().rev() {
        let out = files.path().join(format!("{purchase}.txt"));
        ok(
            r,
            &["market", "fetch", purchase, "--out", out.to_str().unwrap()],
        );
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            ok(s, &["market", "preview", item])
        );
    }
    // It knows what it bought, and its next purchase takes a fresh one-time key.
    let (_, first, _) = &bought[0];
    fails(
        r,
        &["market", "buy", first, "--yes"],
        "already bought listing",
    );
    let again = last_line(&ok(r, &["market", "buy", first, "--again", "--yes"])).to_owned();
    let fresh = purchased(&w, &again).buyerKey;
    assert!(!keys.contains(&fresh), "a one-time key was used twice");
}
