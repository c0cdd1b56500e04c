//! Every market transaction the app builds, taken to a real anvil: the chain thread's
//! `chain_market::prepare` for a sale, a token purchase (its approval first), a delivery and a
//! refund, and the Earnings screen's withdraw job, each signed through the wallet's review as the
//! app signs it. Checked on chain (balances, allowance, the market's own state) and in the store
//! (the listing secret saved before the sale's review exists), not only as the action produced.
// A test tells one story start to end; its length is not a step to name (Cargo.toml).
#![allow(clippy::too_many_lines)]
use super::market_runtime_tests::{BUYER, PW, SELLER, anvil, confirm, local_market, store_in};
use super::*;
use crate::chain::dev;
use crate::chain::send::Review;
use crate::chain::token::balance_of;
use crate::market::book::PurchaseState;
use crate::service::{market as svc, vault};
use crate::tui::chain_market::{Prepared, prepare};
use crate::tui::screens::market_onchain::MarketTx;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use keybot_keystore::AccountRef;

/// Moves the chain's clock `secs` forward and mines a block at the new time.
async fn pass_time(client: &Client, secs: u64) {
    let p = client.provider();
    let _: serde_json::Value = p
        .raw_request("evm_increaseTime".into(), [secs])
        .await
        .unwrap();
    let _: serde_json::Value = p
        .raw_request("evm_mine".into(), Vec::<u64>::new())
        .await
        .unwrap();
}

/// One side of the sale as the app's chain thread holds it: its store, its wallet, its account.
struct Side<'a> {
    store: &'a Store,
    wallet: &'a Wallet,
    own: [Address; 1],
}

impl Side<'_> {
    /// `chain_market::prepare` for this side: the review (and its note) or the refusal.
    async fn prepare(
        &self,
        client: &Client,
        tx: MarketTx,
        item: Option<vault::ItemView>,
    ) -> Result<Prepared, crate::chain::ChainError> {
        prepare(client, Some(self.store), tx, item, self.wallet, &self.own).await
    }

    /// Prepared and signed through the review, as `y` there signs it; it must be confirmed.
    /// The review, for what it said (the fee cap).
    async fn sign(&self, client: &Client, tx: MarketTx) -> Review {
        let review = self.prepare(client, tx, None).await.unwrap().review;
        confirm(client, self.store, self.wallet, &review).await;
        review
    }

    /// As [`Side::sign`], with the line the app shows once it is confirmed (the chain thread's
    /// wording of the receipt's events).
    async fn sign_saying(&self, client: &Client, tx: MarketTx) -> (Review, Option<String>) {
        let review = self.prepare(client, tx, None).await.unwrap().review;
        let record = crate::service::tx::sign(self.wallet, AccountRef::Hd(0), &review).unwrap();
        let (out, logs) = crate::service::tx::broadcast_with_logs(
            client,
            Some(self.store),
            &record,
            std::time::Duration::from_secs(60),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert!(
            matches!(out, crate::chain::send::Outcome::Confirmed { .. }),
            "{out:?}"
        );
        let said = crate::tui::chain_worker::market_result(client, &record, &logs).await;
        (review, said)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_sale_token_purchase_delivery_refund_and_withdraw_each_reach_the_chain() {
    if !anvil() {
        return;
    }
    let (mut node, mut network, _, market, tusd) = local_market().await;
    // This machine knows tUSD, as `chain dev` writes it into the config.
    network.tokens.push(tusd.clone());
    let client = Client::new("local", &network).unwrap();
    let tusd_token = svc::token_of(&client, tusd.address).unwrap();
    let eth_token = svc::token_of(&client, Address::ZERO).unwrap();

    // The seller: a wallet and store of its own, two consented items.
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::resolve(Some(home.path())).unwrap();
    let seller = wallet_service::create(&paths, SELLER, "", &Password::new(PW.into())).unwrap();
    let (s_store, s_wallet) = (&seller.store, &seller.wallet);
    let seller_0 = s_wallet.address(AccountRef::Hd(0)).unwrap();
    dev::fund(&client, &tusd, seller_0).await.unwrap();
    let mut items = Vec::new();
    for (name, text) in [
        (
            "Sourdough",
            "Notes on sourdough: feed the starter twice a day.\n",
        ),
        (
            "Tomatoes",
            "Tomatoes: water at the root, never the leaves.\n",
        ),
    ] {
        let file = home.path().join(format!("{name}.txt"));
        std::fs::write(&file, text).unwrap();
        let id = vault::add_file(s_store, &file, Some(name)).unwrap().item.id;
        vault::consent(s_store, s_wallet, AccountRef::Hd(0), id, vault::now_secs()).unwrap();
        items.push(vault::view(s_store, id).unwrap());
    }
    let seller_side = Side {
        store: s_store,
        wallet: s_wallet,
        own: [seller_0],
    };
    let tusd_price = U256::from(5_000_000u64); // 5 tUSD
    let eth_price = U256::from(10u64).pow(U256::from(15u64));

    // Sell: the listing secret is in the store as soon as the review exists, before any `y`.
    let sell = |item: usize, token: &crate::chain::Token, price: U256| MarketTx::Sell {
        item: items[item].item.id,
        token: token.clone(),
        price,
    };
    let mut listing_ids = Vec::new();
    for (i, token, price) in [(0, &tusd_token, tusd_price), (1, &eth_token, eth_price)] {
        let before = s_store.all_listing_secrets().unwrap().len();
        let review = seller_side
            .prepare(&client, sell(i, token, price), Some(items[i].clone()))
            .await
            .unwrap()
            .review;
        let said = review.intent.sentence();
        assert!(
            said.starts_with(&format!("You list vault item {}", items[i].item.id)),
            "{said}"
        );
        let secrets = s_store.all_listing_secrets().unwrap();
        assert_eq!(
            secrets.len(),
            before + 1,
            "the secret is saved with the review"
        );
        let secret = secrets
            .iter()
            .find(|s| s.item_id == items[i].item.id)
            .unwrap();
        assert_eq!(secret.seller, seller_0);
        confirm(&client, s_store, s_wallet, &review).await;
        let book = svc::sync(&client, s_store, market).await.unwrap();
        let l = book
            .listings
            .values()
            .find(|l| l.content_hash == secret.content_hash)
            .expect("the listing is on chain under the saved secret's content hash");
        assert_eq!(
            (l.seller, l.token, l.price),
            (seller_0, token.address, price)
        );
        listing_ids.push(l.id);
    }

    // The buyer, in another store: a tUSD listing takes an approval of exactly the price first.
    let buyer_dir = tempfile::tempdir().unwrap();
    let b_store = store_in(buyer_dir.path(), 7);
    let b_wallet = Wallet::new(Phrase::parse(BUYER).unwrap(), "").unwrap();
    let buyer_0 = b_wallet.address(AccountRef::Hd(0)).unwrap();
    dev::fund(&client, &tusd, buyer_0).await.unwrap();
    let own_b = [buyer_0];
    let buyer_side = Side {
        store: &b_store,
        wallet: &b_wallet,
        own: own_b,
    };
    let book = svc::sync(&client, &b_store, market).await.unwrap();
    let buy = |id: u64| MarketTx::Buy {
        listing: Box::new(book.listings[&id].clone()),
        buyer: buyer_0,
        again: false,
    };
    assert_eq!(
        svc::allowance(&client, tusd.address, buyer_0, market)
            .await
            .unwrap(),
        U256::ZERO
    );
    // Step 1 of 2: the approval of exactly the price, with the purchase planned after it.
    let Prepared {
        review: approve,
        plan,
        ..
    } = buyer_side
        .prepare(&client, buy(listing_ids[0]), None)
        .await
        .unwrap();
    let plan = plan.expect("the purchase follows the approval");
    assert_eq!(plan.remaining, 1);
    assert_eq!(*plan.next, buy(listing_ids[0]));
    let left = plan.leaves.expect("the approval stays if the user stops");
    assert_eq!(left.owner, buyer_0);
    let said = approve.intent.sentence();
    assert!(
        said.contains(&format!("to take exactly {}", left.amount)),
        "{said}"
    );
    confirm(&client, &b_store, &b_wallet, &approve).await;
    assert_eq!(
        svc::allowance(&client, tusd.address, buyer_0, market)
            .await
            .unwrap(),
        tusd_price,
        "exactly the price is approved"
    );
    let tusd_before = balance_of(&client, tusd.address, buyer_0).await.unwrap();
    // Step 2 of 2: the review says what is paid, into what, for which listing.
    let paid = buyer_side.sign(&client, buy(listing_ids[0])).await;
    let said = paid.intent.sentence();
    assert!(
        said.starts_with(&format!(
            "You pay {} into escrow for listing #{}",
            left.amount, listing_ids[0]
        )),
        "{said}"
    );
    assert_eq!(
        balance_of(&client, tusd.address, buyer_0).await.unwrap(),
        tusd_before - tusd_price,
        "the buyer paid the price into escrow"
    );
    assert_eq!(
        svc::allowance(&client, tusd.address, buyer_0, market)
            .await
            .unwrap(),
        U256::ZERO,
        "no allowance is left standing"
    );
    // A second purchase of the same listing is refused, as the command line refuses it.
    let again = buyer_side.prepare(&client, buy(listing_ids[0]), None).await;
    assert!(
        again
            .as_ref()
            .is_err_and(|e| e.to_string().contains("already")),
        "{again:?}"
    );
    // The ETH listing: bought and never delivered.
    buyer_side.sign(&client, buy(listing_ids[1])).await;

    // Deliver: the seller's review, signed; the buyer's key opens the delivery.
    let book = svc::sync(&client, s_store, market).await.unwrap();
    let paid = |listing: u64| {
        book.purchases
            .values()
            .find(|p| p.listing == listing)
            .unwrap()
            .clone()
    };
    let tusd_purchase = paid(listing_ids[0]);
    let eth_purchase = paid(listing_ids[1]);
    assert_eq!(tusd_purchase.state, PurchaseState::Paid);
    seller_side
        .sign(
            &client,
            MarketTx::Deliver {
                purchase: Box::new(tusd_purchase.clone()),
            },
        )
        .await;
    let book = svc::sync(&client, &b_store, market).await.unwrap();
    let delivered = &book.purchases[&tusd_purchase.id];
    assert_eq!(delivered.state, PurchaseState::Delivered);
    let keys = svc::BuyerKeys::scan(&b_wallet, &book, &own_b).unwrap();
    let now = svc::chain_time(&client).await.unwrap();
    let ctx = svc::Buyer::new(&b_wallet, &keys, &client, market, now, &own_b);
    let out = buyer_dir.path().join("bought.txt");
    svc::save_delivery(
        &ctx,
        delivered,
        &book.listings[&delivered.listing],
        &out,
        None,
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        items[0].preview.text
    );

    // Refund: past the ETH purchase's deadline the buyer's review takes the price back.
    let now = svc::chain_time(&client).await.unwrap();
    pass_time(&client, eth_purchase.deadline.saturating_sub(now) + 1).await;
    let eth_before = client.eth_balance(buyer_0).await.unwrap();
    let refund = buyer_side
        .sign(
            &client,
            MarketTx::Refund {
                purchase: Box::new(eth_purchase.clone()),
            },
        )
        .await;
    let book = svc::sync(&client, &b_store, market).await.unwrap();
    assert_eq!(
        book.purchases[&eth_purchase.id].state,
        PurchaseState::Refunded
    );
    let eth_after = client.eth_balance(buyer_0).await.unwrap();
    let fee_cap = U256::from(refund.gas_limit) * U256::from(refund.max_fee_per_gas);
    assert!(
        eth_after + fee_cap >= eth_before + eth_price && eth_after <= eth_before + eth_price,
        "the price came back, less at most the refund's fee: {eth_before} -> {eth_after}"
    );

    // Withdraw (the Earnings screen's job): after the challenge window the delivered sale
    // settles in the same call and the seller receives exactly the price.
    let now = svc::chain_time(&client).await.unwrap();
    pass_time(&client, delivered.settles_at.saturating_sub(now) + 1).await;
    let seller_before = balance_of(&client, tusd.address, seller_0).await.unwrap();
    let review = crate::tui::chain_worker::prepare_withdraw(
        &client,
        Some(s_store),
        seller_0,
        tusd.address,
        &seller_side.own,
    )
    .await
    .unwrap();
    confirm(&client, s_store, s_wallet, &review).await;
    assert_eq!(
        balance_of(&client, tusd.address, seller_0).await.unwrap(),
        seller_before + tusd_price
    );
    let book = svc::sync(&client, s_store, market).await.unwrap();
    assert!(book.purchases[&tusd_purchase.id].settled_on_chain);
    let said = review.intent.sentence();
    assert!(
        said.starts_with("You withdraw 5 tUSD from the market"),
        "the review says the amount: {said}"
    );

    // Reprice, then delist, the ETH listing (My listings' p and x), each through its review.
    let eth_listing = book.listings[&listing_ids[1]].clone();
    let new_price = eth_price * U256::from(2u64);
    let (reprice, result) = seller_side
        .sign_saying(
            &client,
            MarketTx::Reprice {
                listing: Box::new(eth_listing.clone()),
                price: new_price,
            },
        )
        .await;
    let said = reprice.intent.sentence();
    assert!(
        said.contains(&format!("listing #{}", eth_listing.id)) && said.contains("0.002 ETH"),
        "{said}"
    );
    // Once confirmed, the app says the new price too (its event names no token: the market's
    // own listing does).
    assert_eq!(
        result.as_deref(),
        Some(format!("Repriced #{} to 0.002 ETH.", eth_listing.id).as_str())
    );
    let book = svc::sync(&client, s_store, market).await.unwrap();
    assert_eq!(book.listings[&eth_listing.id].price, new_price);
    let delist = seller_side
        .sign(
            &client,
            MarketTx::Delist {
                listing: Box::new(book.listings[&eth_listing.id].clone()),
            },
        )
        .await;
    assert!(
        delist.intent.sentence().contains("off the market"),
        "{}",
        delist.intent.sentence()
    );
    let book = svc::sync(&client, s_store, market).await.unwrap();
    assert!(!book.listings[&eth_listing.id].active);
    let _ = node.child.kill().await;
}
