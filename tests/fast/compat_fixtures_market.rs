//! The compatibility set with the data market: tests/fixtures/compat/schema-8/ holds a vault, a
//! store and a backup written at store schema 8, the first schema with the whole market (sale
//! vault, listing secrets, indexed events, block times, kept ciphertexts). Every later build must
//! open it and read back, exactly, what that build wrote: the vault item with its redactions and
//! a consent that still verifies, the seller's content key byte for byte, the market as the
//! indexed events say it stands, and a buyer's kept ciphertext that the delivered key still
//! opens. The set is written by [`write_market_fixtures`] through keybot's own functions (the
//! vault service, `plan_sale`, the market indexer's write, `prefetch`), not raw SQL, so it holds
//! what the program writes. How and why: tests/fixtures/compat/README.md.
use crate::common::keybot;
use crate::compat_fixtures::{self as base, Convs, PHRASE, PW};

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy::sol_types::SolCall;
use keybot::chain::indexer::{Index, Span};
use keybot::chain::market_contract::DataMarket;
use keybot::market::book::{Book, Listing, Purchase, PurchaseState};
use keybot::market::events::{Located, MarketEvent};
use keybot::market::index::{self, MarketIndex, MarketRange};
use keybot::service::market as svc;
use keybot::service::vault;
use keybot::store::{self, Action, Cursor, CursorKey, ListingSecret, MarketEventRow, Store};
use keybot_keystore::{AccountRef, Phrase, Wallet, content, sign};
use serde_json::{Value, json};

const CHAIN: u64 = 31337;
/// Where the market is: anvil's second deployment from its first account (the token is the
/// first), as `keybot chain dev` lays a dev chain out.
const MARKET: Address = address!("e7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const TUSD: Address = address!("5FbDB2315678afecb367f032d93F642f64180aa3");
const DEPLOYED: u64 = 5;
/// The last block the fixture's index read (the chain's head then).
const HEAD: u64 = 24;
/// The other party, seller of listing 2 and buyer of listing 1: anvil's public test phrase.
const STRANGER_PHRASE: &str = "test test test test test test test test test test test junk";
const CONSENT_TIME: i64 = 1_700_000_000;
const DAY: u64 = 86_400;
/// The stranger's listing: sold at a URI, so the buyer keeps its ciphertext.
const TIDES: &str = "Tide table, north rock, spring 2024\n\
     high 06:12 4.1 m | low 12:30 0.6 m | high 18:41 4.3 m\n";
const TIDES_URI: &str = "https://example.org/keybot/tides.bin";

fn set_dir(version: u32) -> std::path::PathBuf {
    base::dir().join(format!("schema-{version}"))
}

/// The unix time of each block of the fixture's chain: a minute apart, with the waits a refund
/// and a settlement need.
fn block_time(block: u64) -> u64 {
    let t0 = 1_700_000_000;
    match block {
        ..=19 => t0 + (block - 10) * 60,
        // Purchase 2's window (delivered in block 15) is over.
        20 | 21 => t0 + 5 * 60 + 3 * DAY + (block - 19) * 60,
        // Purchase 3's deadline (paid in block 16) has passed.
        _ => t0 + 6 * 60 + 7 * DAY + (block - 21) * 60,
    }
}

fn hexs(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn addr(a: Address) -> String {
    a.to_checksum(None)
}

fn stranger() -> Wallet {
    Wallet::new(Phrase::parse(STRANGER_PHRASE).unwrap(), "").unwrap()
}

fn event_json(r: &MarketEventRow) -> Value {
    json!({
        "chain_id": r.chain_id,
        "market": addr(r.market),
        "block": r.block,
        "tx_hash": format!("{:#x}", r.tx_hash),
        "log_index": r.log_index,
        "event": r.event,
        "listing_id": r.listing_id,
        "purchase_id": r.purchase_id,
        "seller": r.seller.map(addr),
        "buyer": r.buyer.map(addr),
        "token": r.token.map(addr),
        "amount": r.amount.map(|a| a.to_string()),
        "body": r.body,
    })
}

fn listing_json(l: &Listing) -> Value {
    json!({
        "id": l.id,
        "seller": addr(l.seller),
        "token": addr(l.token),
        "price": l.price.to_string(),
        "content_hash": format!("{:#x}", l.content_hash),
        "key_commit": format!("{:#x}", l.key_commit),
        "data": hexs(&l.data),
        "uri": l.uri,
        "meta": l.meta,
        "active": l.active,
        "block": l.block,
        "tx_hash": format!("{:#x}", l.tx_hash),
        "sales": l.sales,
    })
}

fn purchase_json(p: &Purchase) -> Value {
    let state = match p.state {
        PurchaseState::Paid => "paid",
        PurchaseState::Delivered => "delivered",
        PurchaseState::Refunded => "refunded",
    };
    json!({
        "id": p.id,
        "listing": p.listing,
        "buyer": addr(p.buyer),
        "seller": addr(p.seller),
        "token": addr(p.token),
        "price": p.price.to_string(),
        "buyer_key": hexs(&p.buyer_key),
        "deadline": p.deadline,
        "state": state,
        "delivery": p.delivery.as_ref().map(|d| hexs(d)),
        "settles_at": p.settles_at,
        "settled_on_chain": p.settled_on_chain,
        "proven_wrong": p.proven_wrong.map(|s| format!("{s:#x}")),
        "disputed": p.disputed,
        "dispute_reason": p.dispute_reason,
        "dispute_secret": p.dispute_secret.map(|s| format!("{s:#x}")),
        "block": p.block,
        "tx_hash": format!("{:#x}", p.tx_hash),
    })
}

/// The book as expected.json records it: every listing, purchase and withdrawal, every field.
fn book_json(b: &Book) -> Value {
    json!({
        "listings": b.listings.values().map(listing_json).collect::<Vec<_>>(),
        "purchases": b.purchases.values().map(purchase_json).collect::<Vec<_>>(),
        "withdrawals": b.withdrawals.iter().map(|w| json!({
            "seller": addr(w.seller),
            "token": addr(w.token),
            "amount": w.amount.to_string(),
            "block": w.block,
            "tx_hash": format!("{:#x}", w.tx_hash),
        })).collect::<Vec<_>>(),
    })
}

/// A listing secret, every field but the local `created_at`; the content key in hex.
fn secret_json(s: &ListingSecret) -> Value {
    json!({
        "content_hash": format!("{:#x}", s.content_hash),
        "chain_id": s.chain_id,
        "market": addr(s.market),
        "item_id": s.item_id,
        "seller": addr(s.seller),
        "content_key": hexs(s.content_key.expose()),
        "ciphertext": hexs(&s.ciphertext),
        "uri": s.uri,
        "listing_id": s.listing_id,
    })
}

/// The vault's items with their decisions (consents apart: a backup does not carry them).
fn items_json(store: &Store) -> Value {
    let items: Vec<Value> = store
        .vault_items()
        .unwrap()
        .into_iter()
        .map(|i| {
            let decisions: Vec<Value> = store
                .vault_decisions(i.id)
                .unwrap()
                .into_iter()
                .map(|d| {
                    let action = match d.action {
                        Action::Keep => "keep",
                        Action::Redact => "redact",
                    };
                    json!([action, d.start, d.end, d.kind])
                })
                .collect();
            json!({
                "id": i.id,
                "uid": i.uid,
                "title": i.title,
                "source": i.source,
                "text": i.text,
                "decisions": decisions,
            })
        })
        .collect();
    Value::Array(items)
}

fn consent_json(c: &store::Consent) -> Value {
    json!({
        "account": c.account,
        "sha256": c.sha256,
        "time": c.time,
        "signature": c.signature,
    })
}

/// The market's events as the fixture's chain emitted them, in chain order. `sale` is the `list`
/// call keybot built for the vault item (account 0 sells it); the stranger sells the tide table
/// and buys the item; account 1 buys the tide table with this wallet's first one-time key.
fn events(
    wallet: &Wallet,
    sale: &ListingSecret,
    list: &DataMarket::listCall,
    tides_key: &keybot_keystore::secret::Secret32,
    tides_ciphertext: &[u8],
) -> Vec<Located> {
    let me = wallet.address(AccountRef::Hd(0)).unwrap();
    let me1 = wallet.address(AccountRef::Hd(1)).unwrap();
    let other = stranger();
    let them = other.address(AccountRef::Hd(0)).unwrap();
    assert_eq!(sale.seller, me);
    let my_key = svc::BuyerKeys::scan(wallet, &Book::default(), &[me1])
        .unwrap()
        .next(wallet)
        .unwrap();
    assert_eq!(my_key.0, 0);
    let their_key = |j| Bytes::from(other.buyer_key(j).unwrap().unwrap().to_vec());
    let deliver = |buyer_key: &[u8], key: &keybot_keystore::secret::Secret32, purchase: u64| {
        Bytes::from(
            keybot_keystore::delivery::deliver(
                buyer_key,
                key,
                &svc::binding(CHAIN, MARKET, purchase),
            )
            .unwrap()
            .to_vec(),
        )
    };
    let eth = |milli: u64| U256::from(milli) * U256::from(10u64).pow(U256::from(15u64));
    let tides_meta = keybot::market::meta::Meta::new(
        "Tide table, north rock",
        &["tides".to_owned()],
        TIDES.len() as u64,
        BTreeMap::new(),
    );
    let at = |block: u64, log_index: u64, event: MarketEvent| Located {
        block,
        tx_hash: keccak256(format!("compat tx {block}/{log_index}")),
        log_index,
        event,
    };
    vec![
        at(
            10,
            0,
            MarketEvent::Listed {
                listing: 1,
                seller: sale.seller,
                token: list.token,
                price: list.price,
                content_hash: list.contentHash,
                key_commit: list.keyCommit,
                data: list.data.clone(),
                uri: list.uri.clone(),
                meta: list.meta.clone(),
            },
        ),
        at(
            11,
            0,
            MarketEvent::Listed {
                listing: 2,
                seller: them,
                token: TUSD,
                price: U256::from(2_500_000u64),
                content_hash: B256::from(content::content_hash(tides_ciphertext)),
                key_commit: B256::from(content::key_commit(tides_key)),
                data: Bytes::new(),
                uri: TIDES_URI.into(),
                meta: tides_meta.to_json(),
            },
        ),
        at(
            12,
            0,
            MarketEvent::Repriced {
                listing: 1,
                seller: me,
                price: eth(20),
            },
        ),
        at(
            13,
            0,
            MarketEvent::Purchased {
                purchase: 1,
                listing: 2,
                buyer: me1,
                seller: them,
                token: TUSD,
                price: U256::from(2_500_000u64),
                buyer_key: Bytes::from(my_key.1.to_vec()),
                deadline: block_time(13) + 7 * DAY,
            },
        ),
        at(
            14,
            0,
            MarketEvent::Purchased {
                purchase: 2,
                listing: 1,
                buyer: them,
                seller: me,
                token: Address::ZERO,
                price: eth(20),
                buyer_key: their_key(0),
                deadline: block_time(14) + 7 * DAY,
            },
        ),
        at(
            15,
            0,
            MarketEvent::Delivered {
                purchase: 1,
                seller: them,
                delivery: deliver(&my_key.1, tides_key, 1),
                settles_at: block_time(15) + 3 * DAY,
            },
        ),
        at(
            15,
            1,
            MarketEvent::Delivered {
                purchase: 2,
                seller: me,
                delivery: deliver(&their_key(0), &sale.content_key, 2),
                settles_at: block_time(15) + 3 * DAY,
            },
        ),
        at(
            16,
            0,
            MarketEvent::Purchased {
                purchase: 3,
                listing: 1,
                buyer: them,
                seller: me,
                token: Address::ZERO,
                price: eth(20),
                buyer_key: their_key(1),
                deadline: block_time(16) + 7 * DAY,
            },
        ),
        at(
            17,
            0,
            MarketEvent::Purchased {
                purchase: 4,
                listing: 1,
                buyer: them,
                seller: me,
                token: Address::ZERO,
                price: eth(20),
                buyer_key: their_key(2),
                deadline: block_time(17) + 7 * DAY,
            },
        ),
        at(
            18,
            0,
            MarketEvent::Delivered {
                purchase: 4,
                seller: me,
                delivery: deliver(&their_key(2), &sale.content_key, 4),
                settles_at: block_time(18) + 3 * DAY,
            },
        ),
        // A false claim: the secret it publishes opens the right key, which opens the listing.
        at(
            19,
            0,
            MarketEvent::Disputed {
                purchase: 4,
                buyer: them,
                secret: Some(B256::from(*other.dispute_secret(2).unwrap().expose())),
                reason: "not what the title says".into(),
            },
        ),
        at(
            20,
            0,
            MarketEvent::Settled {
                purchase: 2,
                seller: me,
                token: Address::ZERO,
                amount: eth(20),
            },
        ),
        at(
            21,
            0,
            MarketEvent::Withdrawn {
                seller: me,
                token: Address::ZERO,
                amount: eth(20),
            },
        ),
        at(
            22,
            0,
            MarketEvent::Refunded {
                purchase: 3,
                buyer: them,
                token: Address::ZERO,
                amount: eth(20),
            },
        ),
        at(
            23,
            0,
            MarketEvent::Delisted {
                listing: 2,
                seller: them,
            },
        ),
    ]
}

/// Writes tests/fixtures/compat/schema-N/ for this build's schema N. Run by hand with the build
/// before a schema change:
/// `cargo test --features test-weak-kdf --test fast -- --ignored compat_fixtures_market::write_market_fixtures`
/// (see tests/fixtures/compat/README.md). Refuses to overwrite a set: a set is never rewritten.
#[test]
#[ignore = "writes tests/fixtures/compat/schema-N; run by hand (see its README.md)"]
fn write_market_fixtures() {
    let out = set_dir(store::SCHEMA_VERSION);
    assert!(
        !out.exists(),
        "{} exists; a set is never rewritten (tests/fixtures/compat/README.md)",
        out.display()
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    base::write_vault(h);
    let wallet = base::unlock(h);
    let paths = keybot::config::Paths::resolve(Some(h)).unwrap();
    let mut store = keybot::service::wallet::open_store(&paths, &wallet).unwrap();

    // A conversation, copied into the sale vault: the email kept, the phone number removed by
    // the detector, the serial removed by hand; then consent, signed by account 0.
    let c = store
        .create_conversation("Lamp notes", "You are a keeper.", "tiny-chat")
        .unwrap();
    for (role, text, tokens) in [
        (
            store::Role::User,
            "Write to keeper.anna@example.org or call +49 30 1234567 about the lamp on the \
             north rock. Serial LX-4471-B, «handle with care» ✓",
            None,
        ),
        (
            store::Role::Assistant,
            "Noted: the **north** lamp, serial LX-4471-B.",
            Some(11),
        ),
    ] {
        store
            .add_message(
                c.id,
                &store::NewMessage {
                    role,
                    text,
                    timings: store::Timings {
                        tokens,
                        prompt_ms: tokens.map(|_| 25),
                        gen_ms: tokens.map(|_| 310),
                    },
                },
            )
            .unwrap();
    }
    let v = vault::add_chat(&store, c.id, Some("Lamp notes for sale")).unwrap();
    let email = v
        .preview
        .entries
        .iter()
        .find(|e| e.kind == keybot::market::Kind::Email)
        .unwrap()
        .number;
    assert!(
        v.preview
            .entries
            .iter()
            .any(|e| e.kind == keybot::market::Kind::Phone)
    );
    vault::keep(&store, v.item.id, email).unwrap();
    vault::redact_text(&store, v.item.id, "LX-4471-B").unwrap();
    let (v, statement) =
        vault::consent(&store, &wallet, AccountRef::Hd(0), v.item.id, CONSENT_TIME).unwrap();
    assert!(v.consent.is_given());
    assert!(v.preview.text.contains("keeper.anna@example.org"));
    assert!(!v.preview.text.contains("LX-4471-B") && !v.preview.text.contains("1234567"));

    // The listing, as `market sell` makes it: the secret stored before the `list` call.
    let network = keybot::chain::Network {
        chain_id: CHAIN,
        rpc: "http://127.0.0.1:8545".into(),
        dev: true,
        market: Some(MARKET),
        market_block: Some(DEPLOYED),
        tokens: vec![keybot::chain::Token {
            symbol: "tUSD".into(),
            address: TUSD,
            decimals: 6,
        }],
    };
    let client = keybot::chain::Client::new("dev", &network).unwrap();
    let market = svc::Market {
        address: MARKET,
        deployed: DEPLOYED,
    };
    let sale = svc::plan_sale(
        &client,
        market,
        &v,
        &svc::eth(),
        U256::from(10u64).pow(U256::from(16u64)),
        None,
        &["lighthouse".to_owned()],
    )
    .unwrap();
    store.save_listing_secret(&sale.secret).unwrap();
    let list = DataMarket::listCall::abi_decode(&sale.call.data()).unwrap();

    // The chain's events, stored as the market indexer stores a range it read.
    let tides_key = content::new_key().unwrap();
    let tides_ciphertext = content::seal(&tides_key, TIDES.as_bytes()).unwrap();
    let located = events(&wallet, &sale.secret, &list, &tides_key, &tides_ciphertext);
    let idx = MarketIndex {
        chain_id: CHAIN,
        market: MARKET,
        deployed: DEPLOYED,
    };
    let mut times: Vec<(u64, u64)> = located
        .iter()
        .map(|e| (e.block, block_time(e.block)))
        .collect();
    times.dedup();
    let span = Span {
        from: DEPLOYED,
        to: HEAD,
        tip: true,
    };
    store
        .commit_range(
            &CursorKey::new(CHAIN, idx.name(), &idx.addresses()),
            Cursor {
                origin: DEPLOYED,
                next: HEAD + 1,
            },
            |s| {
                idx.write(
                    s,
                    span,
                    MarketRange {
                        events: located.iter().map(|e| e.to_row(CHAIN, MARKET)).collect(),
                        times,
                    },
                )
            },
        )
        .unwrap();
    let book = index::book(&store, CHAIN, MARKET).unwrap();
    store
        .set_listing_id(sale.secret.content_hash, book.listings[&1].id)
        .unwrap();
    // The buyer's copy of the tide table's ciphertext, fetched and checked before paying.
    let file = h.join("tides.bin");
    std::fs::write(&file, &tides_ciphertext).unwrap();
    let tides = &book.listings[&2];
    let kept = svc::prefetch(tides, Some(&file), &svc::Sources::default()).unwrap();
    store
        .save_purchased_ciphertext(CHAIN, MARKET, tides.content_hash, &kept)
        .unwrap();

    let secret = store
        .listing_secret(sale.secret.content_hash)
        .unwrap()
        .unwrap();
    let expected = json!({
        "written_by": format!("keybot {}", env!("CARGO_PKG_VERSION")),
        "schema_version": store::SCHEMA_VERSION,
        "addresses": serde_json::from_str::<Value>(&base::addresses(h)).unwrap(),
        "conversations": base::conversations(&store),
        "chain_id": CHAIN,
        "market": addr(MARKET),
        "vault_items": items_json(&store),
        "consent": consent_json(&store.vault_consent(v.item.id).unwrap().unwrap()),
        "consent_statement": statement,
        "listed_plaintext": v.preview.text,
        "listing_secret": secret_json(&secret),
        "events": store.market_events(CHAIN, MARKET).unwrap().iter().map(event_json).collect::<Vec<_>>(),
        "block_times": store.market_block_times(CHAIN, MARKET).unwrap(),
        "book": book_json(&book),
        "purchased": {
            "purchase": 1,
            "content_hash": format!("{:#x}", tides.content_hash),
            "ciphertext": hexs(&kept),
            "plaintext": TIDES,
        },
    });
    drop(store);

    std::fs::create_dir_all(&out).unwrap();
    keybot(h)
        .args(["backup", "export"])
        .arg(out.join("backup.kbb"))
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success();
    std::fs::copy(h.join("data/vault.kbv"), out.join("vault.kbv")).unwrap();
    std::fs::copy(h.join("data").join(store::FILE_NAME), out.join("keybot.db")).unwrap();
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn the_schema_8_set_with_market_data_still_opens() {
    check_set(8);
}

/// Opens the set written at schema `version` and checks everything expected.json records.
fn check_set(version: u32) {
    let set = set_dir(version);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(set.join("expected.json")).unwrap()).unwrap();
    assert_eq!(expected["schema_version"], version);
    let home = base::home_from(&set);

    // The vault: the same accounts and phrase.
    let listed: Value = serde_json::from_str(&base::addresses(home.path())).unwrap();
    assert_eq!(listed, expected["addresses"]);
    let wallet = base::unlock(home.path());
    assert_eq!(*wallet.phrase().to_phrase_string(), PHRASE);

    // The file is at the schema the set is named for (nobody rewrote it with a later build).
    {
        let key = wallet
            .purpose_key(keybot_keystore::bip85::Purpose::Database)
            .unwrap();
        let conn =
            rusqlite::Connection::open(home.path().join("data").join(store::FILE_NAME)).unwrap();
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex().as_str()))
            .unwrap();
        let found: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(found, version);
    }

    // The store opens (migrating to this build's schema) with the same conversations.
    let paths = keybot::config::Paths::resolve(Some(home.path())).unwrap();
    let store = keybot::service::wallet::open_store(&paths, &wallet).unwrap();
    assert_eq!(store.schema_version().unwrap(), store::SCHEMA_VERSION);
    let convs: Convs = serde_json::from_value(expected["conversations"].clone()).unwrap();
    assert!(!convs.is_empty());
    assert_eq!(base::conversations(&store), convs);

    // The vault item: its text and decisions, and its consent, which still verifies for the
    // account that signed it over the statement of the bytes that were listed.
    assert_eq!(items_json(&store), expected["vault_items"]);
    let item_id = expected["vault_items"][0]["id"].as_i64().unwrap();
    let consent = store.vault_consent(item_id).unwrap().unwrap();
    assert_eq!(consent_json(&consent), expected["consent"]);
    let statement = format!(
        "keybot consent v1\nitem: {item_id}\nsha256: {}\ntime: {}",
        consent.sha256, consent.time
    );
    assert_eq!(statement, expected["consent_statement"]);
    let account0 = wallet.address(AccountRef::Hd(0)).unwrap();
    assert_eq!(consent.account, addr(account0));
    assert!(sign::verify_message(
        account0,
        statement.as_bytes(),
        &sign::parse_signature(&consent.signature).unwrap()
    ));
    let plaintext = expected["listed_plaintext"].as_str().unwrap();
    assert_eq!(hex::encode(sha256(plaintext.as_bytes())), consent.sha256);

    // The seller's secret, byte for byte; it opens the listed ciphertext to the consented bytes,
    // and is the key the listing commits to.
    let want_secret = &expected["listing_secret"];
    let content_hash: B256 = want_secret["content_hash"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let secret = store.listing_secret(content_hash).unwrap().unwrap();
    assert_eq!(secret_json(&secret), *want_secret);
    assert_eq!(
        store
            .listing_secrets(CHAIN, MARKET)
            .unwrap()
            .iter()
            .map(secret_json)
            .collect::<Vec<_>>(),
        vec![want_secret.clone()]
    );
    assert_eq!(
        &content::open(&secret.content_key, &secret.ciphertext).unwrap()[..],
        plaintext.as_bytes()
    );

    // The market as indexed: the rows, the block times, and the book built from them.
    let rows: Vec<Value> = store
        .market_events(CHAIN, MARKET)
        .unwrap()
        .iter()
        .map(event_json)
        .collect();
    assert_eq!(Value::Array(rows), expected["events"]);
    let times: BTreeMap<u64, u64> =
        serde_json::from_value(expected["block_times"].clone()).unwrap();
    assert_eq!(store.market_block_times(CHAIN, MARKET).unwrap(), times);
    let book = index::book(&store, CHAIN, MARKET).unwrap();
    let built = book_json(&book);
    for part in ["listings", "purchases", "withdrawals"] {
        assert_eq!(built[part], expected["book"][part], "the book's {part}");
    }
    assert_eq!(built, expected["book"]);
    let mine = &book.listings[&1];
    assert_eq!(
        (mine.content_hash, secret.listing_id),
        (secret.content_hash, Some(1))
    );
    assert_eq!(
        mine.key_commit,
        B256::from(content::key_commit(&secret.content_key))
    );
    assert_eq!(&mine.data[..], &secret.ciphertext[..]);
    // What the stranger was delivered for purchase 2 is this content key.
    let other = stranger();
    let p2 = &book.purchases[&2];
    assert_eq!(
        other
            .open_delivery(
                0,
                p2.delivery.as_ref().unwrap(),
                &svc::binding(CHAIN, MARKET, 2)
            )
            .unwrap()
            .expose(),
        secret.content_key.expose()
    );
    // The stranger's dispute of purchase 4 is refuted by its own published secret.
    assert_eq!(
        svc::checked_disputes(CHAIN, MARKET, &book).get(&account0),
        Some(&(0, 1))
    );

    // The buyer's side: purchase 1 was paid with this wallet's first one-time key, the kept
    // ciphertext is the listed one, and the delivered key opens it.
    let purchased = &expected["purchased"];
    let p1 = &book.purchases[&purchased["purchase"].as_u64().unwrap()];
    let tides = &book.listings[&p1.listing];
    assert_eq!(
        format!("{:#x}", tides.content_hash),
        purchased["content_hash"]
    );
    let kept = store
        .purchased_ciphertext(CHAIN, MARKET, tides.content_hash)
        .unwrap()
        .unwrap();
    assert_eq!(hexs(&kept), purchased["ciphertext"]);
    let own = wallet.addresses(0, 3).unwrap();
    let keys = svc::BuyerKeys::scan(&wallet, &book, &own).unwrap();
    assert_eq!(keys.index_of(p1), Some(0));
    let buyer = svc::Buyer {
        wallet: &wallet,
        keys: &keys,
        chain_id: CHAIN,
        market: MARKET,
        now: block_time(HEAD),
        own: &own,
        ipfs_gateway: None,
    };
    let key = svc::open_key(&buyer, p1, tides).unwrap();
    assert_eq!(
        &svc::open_content(&key, p1, tides, &kept).unwrap()[..],
        purchased["plaintext"].as_str().unwrap().as_bytes()
    );
    drop(store);

    // The backup: a fresh home with the same vault takes in the conversations, the vault items
    // with their decisions (not the consent: it names the old local id, so the user consents
    // again) and the listing secret byte for byte.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fresh.path().join("data")).unwrap();
    std::fs::copy(set.join("vault.kbv"), fresh.path().join("data/vault.kbv")).unwrap();
    keybot(fresh.path())
        .args(["backup", "import"])
        .arg(set.join("backup.kbb"))
        .env("KEYBOT_PASSWORD", PW)
        .assert()
        .success();
    let paths = keybot::config::Paths::resolve(Some(fresh.path())).unwrap();
    let restored =
        keybot::service::wallet::open_store(&paths, &base::unlock(fresh.path())).unwrap();
    assert_eq!(base::conversations(&restored), convs);
    assert_eq!(items_json(&restored), expected["vault_items"]);
    assert_eq!(restored.vault_consent(item_id).unwrap(), None);
    assert_eq!(
        restored
            .all_listing_secrets()
            .unwrap()
            .iter()
            .map(secret_json)
            .collect::<Vec<_>>(),
        vec![want_secret.clone()]
    );
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
