//! The app's background market sync against a real anvil: a seller's listing (made through the
//! same services as `market sell`), bought by another wallet; the seller's app, unlocked with
//! `market.delivery = auto`, sees the purchase on its periodic sync and delivers it. Checked on
//! chain from the buyer's own index: the purchase is delivered and its key opens for the buyer.
// A test tells one story start to end; its length is not a step to name (Cargo.toml).
#![allow(clippy::too_many_lines)]
use super::*;
use crate::chain::dev;
use crate::chain::send::{Outcome, Review};
use crate::market::book::PurchaseState;
use crate::service::{market as svc, tx, vault};
use alloy::primitives::{Address, U256};
use keybot_keystore::AccountRef;

pub(super) const PW: &str = "correct horse battery staple";
pub(super) const SELLER: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
pub(super) const BUYER: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

/// anvil from PATH; missing in CI (CI=true or 1) is a failure, elsewhere a skip.
pub(super) fn anvil() -> bool {
    match dev::find_anvil() {
        Ok(_) => true,
        Err(e) if crate::test_support::in_ci() => {
            panic!("CI=true and anvil is missing: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            false
        }
    }
}

/// anvil with tUSD and a DataMarket accepting it, as `keybot chain dev` sets them up: the node,
/// its network (market included), a client of it, the market and tUSD. Port 0: anvil binds a
/// free port and says which (no bind-and-release race).
pub(super) async fn local_market() -> (
    dev::DevChain,
    crate::chain::Network,
    Client,
    svc::Market,
    crate::chain::Token,
) {
    let node = dev::start(0).await.unwrap();
    let mut network = dev::network(&node.rpc, vec![]);
    let client = Client::new("local", &network).unwrap();
    let tusd = dev::deploy(&client).await.unwrap();
    let deployment = dev::deploy_market(&client, &[tusd.address]).await.unwrap();
    network.market = Some(deployment.address);
    network.market_block = Some(deployment.block);
    let client = Client::new("local", &network).unwrap();
    let market = svc::market_of(&client).unwrap();
    (node, network, client, market, tusd)
}

/// Prepares, signs, records and broadcasts `intent` as the transaction service does for the
/// command line; it must be confirmed.
async fn send(
    client: &Client,
    store: &Store,
    wallet: &Wallet,
    intent: crate::chain::Intent,
    own: &[Address],
) {
    let review = tx::prepare(client, Some(store), intent, own).await.unwrap();
    confirm(client, store, wallet, &review).await;
}

/// Signs the reviewed transaction with account 0 and broadcasts it; it must be confirmed.
pub(super) async fn confirm(client: &Client, store: &Store, wallet: &Wallet, review: &Review) {
    let record = tx::sign(wallet, AccountRef::Hd(0), review).unwrap();
    let out = tx::broadcast(
        client,
        Some(store),
        &record,
        Duration::from_secs(60),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(matches!(out, Outcome::Confirmed { .. }), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_sync_delivers_a_purchase_of_the_users_listing_with_delivery_auto() {
    if !anvil() {
        return;
    }
    let (mut node, network, client, market, tusd) = local_market().await;

    // The seller: a wallet and store in a home of its own, a consented item listed for ETH.
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::resolve(Some(home.path())).unwrap();
    let password = Password::new(PW.into());
    let seller = wallet_service::create(&paths, SELLER, "", &password).unwrap();
    let seller_0 = seller.wallet.address(AccountRef::Hd(0)).unwrap();
    dev::fund(&client, &tusd, seller_0).await.unwrap();
    let note = home.path().join("note.txt");
    std::fs::write(&note, "Notes on sourdough: feed the starter twice a day.\n").unwrap();
    let id = vault::add_file(&seller.store, &note, Some("Sourdough"))
        .unwrap()
        .item
        .id;
    vault::consent(
        &seller.store,
        &seller.wallet,
        AccountRef::Hd(0),
        id,
        vault::now_secs(),
    )
    .unwrap();
    let view = vault::view(&seller.store, id).unwrap();
    let eth = svc::token_of(&client, Address::ZERO).unwrap();
    let price = U256::from(10u64).pow(U256::from(15u64));
    let sale = svc::plan_sale(&client, market, &view, &eth, price, None, &[]).unwrap();
    seller.store.save_listing_secret(&sale.secret).unwrap();
    send(
        &client,
        &seller.store,
        &seller.wallet,
        sale.call.into(),
        &[seller_0],
    )
    .await;
    seller
        .store
        .set_setting(settings::MARKET_DELIVERY, "auto")
        .unwrap();
    let mut config = ChainConfig::default();
    config.networks.insert("local".into(), network.clone());
    config.network = Some("local".into());
    config.save(&paths).unwrap();
    drop(seller);

    // The buyer, elsewhere: buys the listing with its market key.
    let buyer_dir = tempfile::tempdir().unwrap();
    let buyer = Wallet::new(Phrase::parse(BUYER).unwrap(), "").unwrap();
    let buyer_0 = buyer.address(AccountRef::Hd(0)).unwrap();
    dev::fund(&client, &tusd, buyer_0).await.unwrap();
    let buyer_store = Store::open(
        &buyer_dir.path().join(crate::store::FILE_NAME),
        &Secret32::new([5; 32]),
    )
    .unwrap();
    let book = svc::sync(&client, &buyer_store, market).await.unwrap();
    let listing = book.listings.values().next().unwrap().clone();
    assert_eq!(listing.seller, seller_0);
    let keys = svc::BuyerKeys::scan(&buyer, &book, &[buyer_0]).unwrap();
    let (_, key) = keys.next(&buyer).unwrap();
    let call = svc::buy_call(buyer_0, market, &listing, &key, listing.price).unwrap();
    send(&client, &buyer_store, &buyer, call.into(), &[buyer_0]).await;
    let book = svc::sync(&client, &buyer_store, market).await.unwrap();
    let purchase = book.purchases.values().next().unwrap().clone();
    assert_eq!(purchase.state, PurchaseState::Paid);

    // The seller's app, unlocked: its ticks sync the market and deliver.
    let (queue, mut rx) = unbounded_channel();
    spawn_ticks(queue.clone());
    let mut runtime = Runtime::new(paths.clone(), queue, theme::load("dark", None).0, None);
    let mut state = State::new(true);
    let start = Instant::now();
    runtime.open_session(Open::Existing(password));
    let delivered = async {
        let mut notice = None;
        loop {
            let ev = rx.recv().await.expect("the queue is open");
            match &ev {
                Event::Action(Action::Error(e)) if e.to_string().contains("deliver") => {
                    panic!("{e}")
                }
                Event::Action(Action::Notice(n)) if n.contains("delivered purchase") => {
                    notice = Some(n.clone())
                }
                _ => {}
            }
            runtime.handle(&mut state, ev, start);
            // The sync after the delivery shows it on the Market screen's book.
            let shown = state.market.chain.market.as_ref().and_then(|m| {
                m.book
                    .purchases
                    .get(&purchase.id)
                    .map(|p| p.state == PurchaseState::Delivered)
            });
            if let (Some(n), Some(true)) = (&notice, shown) {
                return n.clone();
            }
        }
    };
    let notice = tokio::time::timeout(Duration::from_secs(90), delivered)
        .await
        .expect("the app delivered the purchase within 90 s");
    assert!(
        notice.contains(&format!("purchase {}", purchase.id)),
        "{notice}"
    );
    // On chain, as the buyer reads it: delivered, and the key opens with the buyer's wallet
    // and matches the listing's commitment.
    let book = svc::sync(&client, &buyer_store, market).await.unwrap();
    let p = &book.purchases[&purchase.id];
    assert_eq!(p.state, PurchaseState::Delivered);
    let out = buyer_dir.path().join("bought.txt");
    let keys = svc::BuyerKeys::scan(&buyer, &book, &[buyer_0]).unwrap();
    let now = svc::chain_time(&client).await.unwrap();
    let own = [buyer_0];
    let ctx = svc::Buyer::new(&buyer, &keys, &client, market, now, &own);
    svc::save_delivery(&ctx, p, &book.listings[&p.listing], &out, None).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        view.preview.text,
        "the buyer gets exactly the seller's preview"
    );
    // The buyer disputes the delivery as the app's Market screen does: the chain thread's
    // prepare builds the call (its dry run passes), the wallet's review signs it, and the
    // market's events then carry the reason.
    let reason = "the key opens something else";
    let crate::tui::chain_market::Prepared { review, note, .. } =
        crate::tui::chain_market::prepare(
            &client,
            Some(&buyer_store),
            crate::tui::screens::market_onchain::MarketTx::Dispute {
                purchase: Box::new(p.clone()),
                reason: reason.into(),
            },
            None,
            &buyer,
            &[buyer_0],
        )
        .await
        .unwrap();
    assert!(
        note.is_some_and(|n| n.contains("publishes purchase")),
        "the review warns that a dispute publishes the one-time key"
    );
    confirm(&client, &buyer_store, &buyer, &review).await;
    let book = svc::sync(&client, &buyer_store, market).await.unwrap();
    let p = &book.purchases[&purchase.id];
    assert!(p.disputed);
    assert_eq!(p.dispute_reason.as_deref(), Some(reason));
    // The dispute carries the one-time secret, and every client finds the claim refuted: the
    // content opens under the committed key.
    assert!(p.dispute_secret.is_some());
    let l = &book.listings[&p.listing];
    assert_eq!(
        svc::check_dispute(client.network.chain_id, market.address, p, l, Some(&l.data)),
        svc::Verdict::Refuted
    );
    drop(runtime);
    let _ = node.child.kill().await;
}

/// A store of its own in `dir`.
pub(super) fn store_in(dir: &std::path::Path, key: u8) -> Store {
    std::fs::create_dir_all(dir).unwrap();
    Store::open(
        &dir.join(crate::store::FILE_NAME),
        &Secret32::new([key; 32]),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_with_challenge_auto_takes_back_a_wrong_key_and_never_challenges_a_right_one() {
    if !anvil() {
        return;
    }
    let (mut node, _, client, market, tusd) = local_market().await;

    // The seller lists a note for ETH.
    let dir = tempfile::tempdir().unwrap();
    let seller = Wallet::new(Phrase::parse(SELLER).unwrap(), "").unwrap();
    let seller_0 = seller.address(AccountRef::Hd(0)).unwrap();
    let seller_store = store_in(&dir.path().join("s"), 3);
    dev::fund(&client, &tusd, seller_0).await.unwrap();
    let note = dir.path().join("note.txt");
    std::fs::write(&note, "Notes on sourdough: feed the starter twice a day.\n").unwrap();
    let id = vault::add_file(&seller_store, &note, Some("Sourdough"))
        .unwrap()
        .item
        .id;
    vault::consent(
        &seller_store,
        &seller,
        AccountRef::Hd(0),
        id,
        vault::now_secs(),
    )
    .unwrap();
    let view = vault::view(&seller_store, id).unwrap();
    let eth = svc::token_of(&client, Address::ZERO).unwrap();
    let price = U256::from(10u64).pow(U256::from(15u64));
    let sale = svc::plan_sale(&client, market, &view, &eth, price, None, &[]).unwrap();
    seller_store.save_listing_secret(&sale.secret).unwrap();
    send(
        &client,
        &seller_store,
        &seller,
        sale.call.into(),
        &[seller_0],
    )
    .await;

    // The buyer buys it twice, each with a one-time key of its own.
    let buyer = Wallet::new(Phrase::parse(BUYER).unwrap(), "").unwrap();
    let buyer_0 = buyer.address(AccountRef::Hd(0)).unwrap();
    dev::fund(&client, &tusd, buyer_0).await.unwrap();
    let buyer_store = store_in(&dir.path().join("b"), 5);
    for _ in 0..2 {
        let book = svc::sync(&client, &buyer_store, market).await.unwrap();
        let listing = book.listings.values().next().unwrap().clone();
        let keys = svc::BuyerKeys::scan(&buyer, &book, &[buyer_0]).unwrap();
        let (_, key) = keys.next(&buyer).unwrap();
        let call = svc::buy_call(buyer_0, market, &listing, &key, listing.price).unwrap();
        send(&client, &buyer_store, &buyer, call.into(), &[buyer_0]).await;
    }

    // The seller delivers purchase 1 right and purchase 2 with a key that opens nothing.
    let book = svc::sync(&client, &seller_store, market).await.unwrap();
    let (right, wrong) = (book.purchases[&1].clone(), book.purchases[&2].clone());
    assert_ne!(right.buyer_key, wrong.buyer_key, "one key per purchase");
    send(
        &client,
        &seller_store,
        &seller,
        svc::deliver_call(&right, &sale.secret).unwrap().into(),
        &[seller_0],
    )
    .await;
    let mut bad = sale.secret.clone();
    bad.content_key = keybot_keystore::content::new_key().unwrap();
    send(
        &client,
        &seller_store,
        &seller,
        svc::deliver_call(&wrong, &bad).unwrap().into(),
        &[seller_0],
    )
    .await;

    // The buyer's app syncs with market.challenge = auto.
    use alloy::providers::Provider;
    let before = client.provider().get_balance(buyer_0).await.unwrap();
    let said = std::sync::Mutex::new(Vec::new());
    let book = crate::tui::chain_market::sync(
        &client,
        &buyer_store,
        vec![buyer_0],
        None,
        Some(Arc::new(buyer)),
        &|a| said.lock().unwrap().push(a),
    )
    .await
    .unwrap();
    let said = said.into_inner().unwrap();
    let notices: Vec<&String> = said
        .iter()
        .filter_map(|a| match a {
            Action::Notice(n) => Some(n),
            Action::Error(e) => panic!("{e}"),
            _ => None,
        })
        .collect();
    assert_eq!(notices.len(), 1, "one challenge: {notices:?}");
    assert!(
        notices[0].contains("purchase 2") && notices[0].contains("refunded"),
        "{}",
        notices[0]
    );
    let p2 = &book.book.purchases[&2];
    assert_eq!(p2.state, PurchaseState::Refunded);
    assert!(p2.proven_wrong.is_some());
    // The right key is left alone: still delivered, settling for the seller.
    let p1 = &book.book.purchases[&1];
    assert_eq!(p1.state, PurchaseState::Delivered);
    assert!(p1.proven_wrong.is_none() && p1.is_settling(book.now));
    // The price came back, less the challenge's fee.
    let after = client.provider().get_balance(buyer_0).await.unwrap();
    assert!(
        after > before && after <= before + price,
        "{before} -> {after}"
    );
    let _ = node.child.kill().await;
}
