//! DataMarket (assets/contracts/DataMarket.sol) against a real anvil, through alloy: who may do
//! what and when, the escrow's money moving exactly once, the attacks the contract must refuse
//! (a re-entering token, a fee-on-transfer token, a token off the allow-list), the earnings of
//! MARKET.md computed from the events alone agreeing with `claimable`, the code check that
//! `market join` relies on, and the gas each call takes.
//!
//! The markets here are deployed by `keybot::chain::dev::deploy_market`, the code path of
//! `keybot chain dev`. Transactions go from anvil's unlocked accounts 1..4 (account 0 is the
//! dev deployer keybot signs for itself); reverts are checked with `eth_call` and decoded into
//! DataMarket's custom errors, and the state is read back after each step.
mod common;

use std::collections::BTreeMap;

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::{SolError, SolEventInterface};
use keybot::chain::market_contract::{self, DataMarket, Deployment};
use keybot::chain::{ChainError, Client, Refusal, dev};

use DataMarket::DataMarketErrors as E;

alloy::sol!(
    #[sol(rpc)]
    TestToken,
    "assets/contracts/TestToken.json"
);
alloy::sol!(
    #[sol(rpc)]
    ReentrantToken,
    "assets/contracts/test/ReentrantToken.json"
);
alloy::sol!(
    #[sol(rpc)]
    FeeOnTransferToken,
    "assets/contracts/test/FeeOnTransferToken.json"
);

const ETH: Address = Address::ZERO;
const WINDOW: u64 = 3 * 24 * 3600;

/// A fresh anvil with tUSD and a DataMarket accepting it, as `keybot chain dev` sets them up.
struct Chain {
    _anvil: dev::DevChain,
    client: Client,
    p: DynProvider,
    tusd: Address,
    market: Deployment,
    seller: Address,
    buyer: Address,
    other: Address,
    attacker: Address,
}

/// None (skipped) without anvil outside CI; in CI a missing anvil fails in `common::tool`.
async fn chain() -> Option<Chain> {
    common::tool("anvil")?;
    keybot::net::tls();
    let anvil = dev::start(0).await.unwrap();
    let client = Client::new("local", &dev::network(&anvil.rpc, vec![])).unwrap();
    let tusd = dev::deploy(&client).await.unwrap().address;
    let market = dev::deploy_market(&client, &[tusd]).await.unwrap();
    let p = ProviderBuilder::new()
        .connect_http(anvil.rpc.parse().unwrap())
        .erased();
    let accounts = p.get_accounts().await.unwrap();
    Some(Chain {
        _anvil: anvil,
        client,
        p,
        tusd,
        market,
        seller: accounts[1],
        buyer: accounts[2],
        other: accounts[3],
        attacker: accounts[4],
    })
}

/// Sends the call from `$from`, waits for its receipt and asserts it succeeded.
macro_rules! send {
    ($call:expr, $from:expr) => {{
        let r: TransactionReceipt = $call
            .from($from)
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("receipt");
        assert!(r.status(), "the transaction reverted: {r:?}");
        r
    }};
}

/// The DataMarket error the call from `$from` reverts with (a dry run at the latest block).
macro_rules! reverts {
    ($call:expr, $from:expr) => {{
        let e = $call
            .from($from)
            .call()
            .await
            .expect_err("expected a revert");
        e.as_decoded_interface_error::<E>()
            .unwrap_or_else(|| panic!("not a DataMarket error: {e}"))
    }};
}

/// A compressed public key as a buyer passes it (the value does not matter to the contract).
fn buyer_key() -> Bytes {
    let mut k = vec![0x02];
    k.extend_from_slice(&[0x5a; 32]);
    k.into()
}

/// What a seller posts: an ECIES envelope is 129 bytes.
fn encrypted_key() -> Bytes {
    vec![0xe1; 129].into()
}

fn hashes() -> ([u8; 32], [u8; 32]) {
    (keccak256(b"ciphertext").0, keccak256(b"content key").0)
}

impl Chain {
    fn market(&self) -> DataMarket::DataMarketInstance<DynProvider> {
        DataMarket::new(self.market.address, self.p.clone())
    }

    fn tusd(&self) -> TestToken::TestTokenInstance<DynProvider> {
        TestToken::new(self.tusd, self.p.clone())
    }

    /// A listing by the seller of inline `data` for `price` of `token`; its id and receipt.
    async fn list(&self, token: Address, price: u64, data: &[u8]) -> (U256, TransactionReceipt) {
        let (content, key) = hashes();
        let m = self.market();
        let call = m.list(
            U256::from(price),
            token,
            content.into(),
            key.into(),
            data.to_vec().into(),
            String::new(),
            r#"{"v":1,"title":"notes","tags":[],"bytes":1,"redactions":{},"type":"text/plain"}"#
                .into(),
        );
        let id = call.clone().from(self.seller).call().await.unwrap();
        let r = send!(call, self.seller);
        (id, r)
    }

    /// The buyer buys `listing` (paying ETH, or tUSD it gets from the faucet and approves).
    async fn buy(&self, listing: U256) -> (U256, TransactionReceipt) {
        let l = self.market().listings(listing).call().await.unwrap();
        let value = if l.token == ETH {
            l.price
        } else {
            let t = TestToken::new(l.token, self.p.clone());
            send!(t.faucet(self.buyer, l.price), self.buyer);
            send!(t.approve(self.market.address, l.price), self.buyer);
            U256::ZERO
        };
        let m = self.market();
        let call = m.buy(listing, buyer_key()).value(value);
        let id = call.clone().from(self.buyer).call().await.unwrap();
        let r = send!(call, self.buyer);
        (id, r)
    }

    async fn deliver(&self, purchase: U256) -> TransactionReceipt {
        send!(
            self.market().deliver(purchase, encrypted_key()),
            self.seller
        )
    }

    async fn claimable(&self, seller: Address, token: Address) -> U256 {
        self.market().claimable(seller, token).call().await.unwrap()
    }

    async fn eth(&self, who: Address) -> U256 {
        self.p.get_balance(who).await.unwrap()
    }

    async fn tusd_of(&self, who: Address) -> U256 {
        self.tusd().balanceOf(who).call().await.unwrap()
    }

    /// Moves anvil's clock `secs` forward and mines a block at the new time.
    async fn pass(&self, secs: u64) {
        let _: serde_json::Value = self
            .p
            .raw_request("evm_increaseTime".into(), (secs,))
            .await
            .unwrap();
        let _: serde_json::Value = self.p.raw_request("evm_mine".into(), ()).await.unwrap();
    }

    async fn state(&self, purchase: U256) -> u8 {
        self.market()
            .purchases(purchase)
            .call()
            .await
            .unwrap()
            .state
    }

    /// Every event of the market since its deployment block, decoded.
    async fn events(&self) -> Vec<DataMarket::DataMarketEvents> {
        let filter = Filter::new()
            .address(self.market.address)
            .from_block(self.market.block);
        self.p
            .get_logs(&filter)
            .await
            .unwrap()
            .iter()
            .map(|l| {
                DataMarket::DataMarketEvents::decode_log(&l.inner)
                    .unwrap()
                    .data
            })
            .collect()
    }
}

/// What a transaction cost its sender in ETH.
fn fee(r: &TransactionReceipt) -> U256 {
    U256::from(r.gas_used) * U256::from(r.effective_gas_price)
}

/// The single event of type `T` in the receipt.
fn event<T: alloy::sol_types::SolEvent>(r: &TransactionReceipt) -> T {
    let mut found = r
        .inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<T>().ok());
    let e = found.next().expect("the event").inner.data;
    assert!(found.next().is_none(), "one event of its kind");
    e
}

const PAID: u8 = 1;
const DELIVERED: u8 = 2;
const REFUNDED: u8 = 3;

#[tokio::test]
async fn an_eth_listing_works_end_to_end() {
    let Some(c) = chain().await else { return };
    let price = 10u64.pow(16); // 0.01 ETH
    let data = vec![0xab; 4096];
    let (listing, r) = c.list(ETH, price, &data).await;
    assert_eq!(listing, U256::from(1));
    let listed: DataMarket::Listed = event(&r);
    let (content, key) = hashes();
    assert_eq!(
        (listed.listingId, listed.seller, listed.token, listed.price),
        (listing, c.seller, ETH, U256::from(price))
    );
    assert_eq!((listed.contentHash.0, listed.keyCommit.0), (content, key));
    assert_eq!(
        &listed.data[..],
        &data[..],
        "the ciphertext is inline in the event"
    );
    assert!(listed.uri.is_empty() && listed.meta.starts_with(r#"{"v":1"#));

    let buyer_before = c.eth(c.buyer).await;
    let (purchase, r) = c.buy(listing).await;
    let bought: DataMarket::Purchased = event(&r);
    let block =
        c.p.get_block_by_number(r.block_number.unwrap().into())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (
            bought.purchaseId,
            bought.listingId,
            bought.buyer,
            bought.seller
        ),
        (purchase, listing, c.buyer, c.seller)
    );
    assert_eq!((bought.token, bought.price), (ETH, U256::from(price)));
    assert_eq!(bought.buyerKey, buyer_key());
    assert_eq!(bought.deadline, block.header.timestamp + WINDOW);
    assert_eq!(
        c.eth(c.buyer).await,
        buyer_before - U256::from(price) - fee(&r)
    );
    assert_eq!(
        c.eth(c.market.address).await,
        U256::from(price),
        "in escrow"
    );
    assert_eq!(
        c.claimable(c.seller, ETH).await,
        U256::ZERO,
        "not before delivery"
    );

    let r = c.deliver(purchase).await;
    let delivered: DataMarket::Delivered = event(&r);
    assert_eq!(
        (
            delivered.purchaseId,
            delivered.seller,
            delivered.encryptedKey
        ),
        (purchase, c.seller, encrypted_key())
    );
    assert_eq!(c.state(purchase).await, DELIVERED);
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(price));

    let seller_before = c.eth(c.seller).await;
    let r = send!(c.market().withdraw(ETH), c.seller);
    let w: DataMarket::Withdrawn = event(&r);
    assert_eq!(
        (w.seller, w.token, w.amount),
        (c.seller, ETH, U256::from(price))
    );
    assert_eq!(
        c.eth(c.seller).await,
        seller_before + U256::from(price) - fee(&r)
    );
    assert_eq!(c.eth(c.market.address).await, U256::ZERO);
    assert_eq!(c.claimable(c.seller, ETH).await, U256::ZERO);
    assert_eq!(
        reverts!(c.market().withdraw(ETH), c.seller),
        E::NothingToWithdraw(DataMarket::NothingToWithdraw { token: ETH })
    );
}

#[tokio::test]
async fn a_tusd_listing_works_end_to_end() {
    let Some(c) = chain().await else { return };
    let price = 5_000_000u64; // 5 tUSD
    let (listing, _) = c.list(c.tusd, price, b"ciphertext").await;
    let (purchase, _) = c.buy(listing).await;
    assert_eq!(c.tusd_of(c.buyer).await, U256::ZERO, "the price moved");
    assert_eq!(c.tusd_of(c.market.address).await, U256::from(price));
    c.deliver(purchase).await;
    assert_eq!(c.claimable(c.seller, c.tusd).await, U256::from(price));
    assert_eq!(c.claimable(c.seller, ETH).await, U256::ZERO, "per token");
    let r = send!(c.market().withdraw(c.tusd), c.seller);
    let w: DataMarket::Withdrawn = event(&r);
    assert_eq!(w.amount, U256::from(price));
    assert_eq!(c.tusd_of(c.seller).await, U256::from(price));
    assert_eq!(c.tusd_of(c.market.address).await, U256::ZERO);

    // A token listing takes no ETH, and an ETH listing exactly its price.
    let (again, _) = c.list(c.tusd, price, b"ciphertext").await;
    assert_eq!(
        reverts!(
            c.market().buy(again, buyer_key()).value(U256::from(1)),
            c.buyer
        ),
        E::WrongPayment(DataMarket::WrongPayment {
            sent: U256::from(1),
            expected: U256::ZERO
        })
    );
    let (by_eth, _) = c.list(ETH, 1000, b"ciphertext").await;
    for sent in [999u64, 1001, 0] {
        assert_eq!(
            reverts!(
                c.market().buy(by_eth, buyer_key()).value(U256::from(sent)),
                c.buyer
            ),
            E::WrongPayment(DataMarket::WrongPayment {
                sent: U256::from(sent),
                expected: U256::from(1000)
            })
        );
    }
    // Without an approval, the token refuses the transfer and nothing is bought.
    send!(c.tusd().faucet(c.other, U256::from(price)), c.other);
    assert!(
        c.market()
            .buy(again, buyer_key())
            .from(c.other)
            .call()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn only_the_seller_delivers_and_only_once() {
    let Some(c) = chain().await else { return };
    let (listing, _) = c.list(ETH, 1000, b"ciphertext").await;
    let (purchase, _) = c.buy(listing).await;
    let m = c.market();
    for who in [c.buyer, c.other] {
        assert_eq!(
            reverts!(m.deliver(purchase, encrypted_key()), who),
            E::NotSeller(DataMarket::NotSeller { caller: who })
        );
    }
    for len in [0usize, 128, 130] {
        assert_eq!(
            reverts!(m.deliver(purchase, vec![1; len].into()), c.seller),
            E::BadEncryptedKeyLength(DataMarket::BadEncryptedKeyLength {
                length: U256::from(len),
                expected: U256::from(129)
            })
        );
    }
    assert_eq!(
        reverts!(m.deliver(U256::from(9), encrypted_key()), c.seller),
        E::UnknownPurchase(DataMarket::UnknownPurchase {
            purchaseId: U256::from(9)
        })
    );
    assert_eq!(c.state(purchase).await, PAID);
    c.deliver(purchase).await;
    assert_eq!(
        reverts!(m.deliver(purchase, encrypted_key()), c.seller),
        E::AlreadyDelivered(DataMarket::AlreadyDelivered {
            purchaseId: purchase
        })
    );
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(1000), "once");
}

#[tokio::test]
async fn only_the_buyer_refunds_only_after_the_deadline_only_undelivered() {
    let Some(c) = chain().await else { return };
    let (listing, _) = c.list(ETH, 1000, b"ciphertext").await;
    let (refunded, _) = c.buy(listing).await;
    let (delivered_late, _) = c.buy(listing).await;
    let (delivered, _) = c.buy(listing).await;
    c.deliver(delivered).await;
    let m = c.market();
    let deadline = c
        .market()
        .purchases(refunded)
        .call()
        .await
        .unwrap()
        .deadline;
    assert_eq!(
        reverts!(m.refund(refunded), c.buyer),
        E::DeadlineNotPassed(DataMarket::DeadlineNotPassed {
            purchaseId: refunded,
            deadline
        })
    );

    c.pass(WINDOW + 1).await;
    for who in [c.seller, c.other] {
        assert_eq!(
            reverts!(m.refund(refunded), who),
            E::NotBuyer(DataMarket::NotBuyer { caller: who })
        );
    }
    assert_eq!(
        reverts!(m.refund(delivered), c.buyer),
        E::AlreadyDelivered(DataMarket::AlreadyDelivered {
            purchaseId: delivered
        })
    );
    // Past the deadline but not yet refunded, a delivery still counts: the seller was late,
    // the buyer still gets the key.
    c.deliver(delivered_late).await;
    assert_eq!(
        reverts!(m.refund(delivered_late), c.buyer),
        E::AlreadyDelivered(DataMarket::AlreadyDelivered {
            purchaseId: delivered_late
        })
    );

    let before = c.eth(c.buyer).await;
    let escrow = c.eth(c.market.address).await;
    let r = send!(m.refund(refunded), c.buyer);
    let e: DataMarket::Refunded = event(&r);
    assert_eq!(
        (e.purchaseId, e.buyer, e.token, e.amount),
        (refunded, c.buyer, ETH, U256::from(1000))
    );
    assert_eq!(c.eth(c.buyer).await, before + U256::from(1000) - fee(&r));
    assert_eq!(c.eth(c.market.address).await, escrow - U256::from(1000));
    assert_eq!(c.state(refunded).await, REFUNDED);
    assert_eq!(
        reverts!(m.refund(refunded), c.buyer),
        E::AlreadyRefunded(DataMarket::AlreadyRefunded {
            purchaseId: refunded
        })
    );
    // A late delivery after the refund fails: the money is gone back to the buyer.
    assert_eq!(
        reverts!(m.deliver(refunded, encrypted_key()), c.seller),
        E::AlreadyRefunded(DataMarket::AlreadyRefunded {
            purchaseId: refunded
        })
    );
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(2000));
}

#[tokio::test]
async fn a_delisted_listing_cannot_be_bought_and_only_its_seller_reprices_or_delists() {
    let Some(c) = chain().await else { return };
    let (listing, _) = c.list(ETH, 1000, b"ciphertext").await;
    let (paid_before, _) = c.buy(listing).await;
    let m = c.market();
    assert_eq!(
        reverts!(m.reprice(listing, U256::from(5)), c.other),
        E::NotSeller(DataMarket::NotSeller { caller: c.other })
    );
    assert_eq!(
        reverts!(m.delist(listing), c.buyer),
        E::NotSeller(DataMarket::NotSeller { caller: c.buyer })
    );
    assert_eq!(
        reverts!(m.reprice(listing, U256::ZERO), c.seller),
        E::ZeroPrice(DataMarket::ZeroPrice {})
    );
    assert_eq!(
        reverts!(m.delist(U256::from(7)), c.seller),
        E::UnknownListing(DataMarket::UnknownListing {
            listingId: U256::from(7)
        })
    );

    let r = send!(m.reprice(listing, U256::from(2000)), c.seller);
    let e: DataMarket::Repriced = event(&r);
    assert_eq!(
        (e.listingId, e.seller, e.price),
        (listing, c.seller, U256::from(2000))
    );
    assert_eq!(
        reverts!(m.buy(listing, buyer_key()).value(U256::from(1000)), c.buyer),
        E::WrongPayment(DataMarket::WrongPayment {
            sent: U256::from(1000),
            expected: U256::from(2000)
        }),
        "the old price no longer buys"
    );
    let (paid_after, _) = c.buy(listing).await;
    assert_eq!(
        c.market()
            .purchases(paid_before)
            .call()
            .await
            .unwrap()
            .price,
        U256::from(1000),
        "a reprice leaves what is in escrow alone"
    );

    let r = send!(m.delist(listing), c.seller);
    let e: DataMarket::Delisted = event(&r);
    assert_eq!((e.listingId, e.seller), (listing, c.seller));
    assert_eq!(
        reverts!(m.buy(listing, buyer_key()).value(U256::from(2000)), c.buyer),
        E::ListingNotActive(DataMarket::ListingNotActive { listingId: listing })
    );
    assert_eq!(
        reverts!(m.buy(U256::from(99), buyer_key()), c.buyer),
        E::ListingNotActive(DataMarket::ListingNotActive {
            listingId: U256::from(99)
        })
    );
    assert_eq!(
        reverts!(m.reprice(listing, U256::from(3)), c.seller),
        E::ListingNotActive(DataMarket::ListingNotActive { listingId: listing })
    );
    assert_eq!(
        reverts!(m.delist(listing), c.seller),
        E::ListingNotActive(DataMarket::ListingNotActive { listingId: listing })
    );
    // Purchases paid before the delisting are still delivered and paid out.
    c.deliver(paid_before).await;
    c.deliver(paid_after).await;
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(3000));
}

#[tokio::test]
async fn listings_and_purchases_with_bad_arguments_are_refused() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let (content, key) = hashes();
    let list =
        |price: u64, token: Address, content: [u8; 32], data: Vec<u8>, uri: &str, meta: String| {
            m.list(
                U256::from(price),
                token,
                content.into(),
                key.into(),
                data.into(),
                uri.to_owned(),
                meta,
            )
        };
    // A token that is not on the allow-list (a second TestToken, deployed by someone else).
    let r = send!(TestToken::deploy_builder(c.p.clone()), c.other);
    let stranger = r.contract_address.unwrap();
    assert!(!m.isAllowedToken(stranger).call().await.unwrap());
    assert!(m.isAllowedToken(ETH).call().await.unwrap());
    assert!(m.isAllowedToken(c.tusd).call().await.unwrap());
    assert_eq!(
        reverts!(
            list(5, stranger, content, vec![1], "", String::new()),
            c.seller
        ),
        E::TokenNotAllowed(DataMarket::TokenNotAllowed { token: stranger })
    );
    assert_eq!(
        reverts!(list(0, ETH, content, vec![1], "", String::new()), c.seller),
        E::ZeroPrice(DataMarket::ZeroPrice {})
    );
    assert_eq!(
        reverts!(list(5, ETH, [0; 32], vec![1], "", String::new()), c.seller),
        E::MissingHash(DataMarket::MissingHash {})
    );
    for (data, uri) in [(vec![], ""), (vec![1], "ipfs://x")] {
        assert_eq!(
            reverts!(list(5, ETH, content, data, uri, String::new()), c.seller),
            E::NeedDataOrUri(DataMarket::NeedDataOrUri {})
        );
    }
    assert_eq!(
        reverts!(
            list(5, ETH, content, vec![1; 32 * 1024 + 1], "", String::new()),
            c.seller
        ),
        E::DataTooLong(DataMarket::DataTooLong {
            length: U256::from(32 * 1024 + 1),
            max: U256::from(32 * 1024)
        })
    );
    assert_eq!(
        reverts!(
            list(5, ETH, content, vec![1], "", "m".repeat(2049)),
            c.seller
        ),
        E::MetaTooLong(DataMarket::MetaTooLong {
            length: U256::from(2049),
            max: U256::from(2048)
        })
    );
    // The limits themselves are accepted: 32 KiB inline, 2 KiB of metadata, a URI instead.
    send!(
        list(5, ETH, content, vec![1; 32 * 1024], "", "m".repeat(2048)),
        c.seller
    );
    send!(
        list(
            5,
            ETH,
            content,
            vec![],
            "https://example.org/c",
            String::new()
        ),
        c.seller
    );

    let (listing, _) = c.list(ETH, 1000, b"c").await;
    let mut wrong_prefix = buyer_key().to_vec();
    wrong_prefix[0] = 0x04;
    for key in [
        Bytes::from(wrong_prefix),
        Bytes::from(vec![0x02; 32]),
        Bytes::from(vec![0x03; 34]),
    ] {
        assert_eq!(
            reverts!(m.buy(listing, key).value(U256::from(1000)), c.buyer),
            E::BadBuyerKey(DataMarket::BadBuyerKey {})
        );
    }
    // The allow-list holds contracts only: an account address is refused at deployment.
    let e = dev::deploy_market(&c.client, &[c.other]).await.unwrap_err();
    assert!(e.to_string().contains("NotAContract"), "{e}");
}

#[tokio::test]
async fn dispute_only_by_the_buyer_after_delivery_and_once() {
    let Some(c) = chain().await else { return };
    let (listing, _) = c.list(ETH, 1000, b"c").await;
    let (purchase, _) = c.buy(listing).await;
    let m = c.market();
    assert_eq!(
        reverts!(m.dispute(purchase, "hash mismatch".into()), c.buyer),
        E::NotDelivered(DataMarket::NotDelivered {
            purchaseId: purchase
        })
    );
    c.deliver(purchase).await;
    assert_eq!(
        reverts!(m.dispute(purchase, "x".into()), c.seller),
        E::NotBuyer(DataMarket::NotBuyer { caller: c.seller })
    );
    assert_eq!(
        reverts!(
            m.dispute(purchase, "r".repeat(market_contract::MAX_REASON + 1)),
            c.buyer
        ),
        E::ReasonTooLong(DataMarket::ReasonTooLong {
            length: U256::from(1025),
            // keybot's constant (the app refuses longer reasons before the review) is the
            // contract's.
            max: U256::from(market_contract::MAX_REASON)
        })
    );
    let r = send!(m.dispute(purchase, "hash mismatch".into()), c.buyer);
    let e: DataMarket::Disputed = event(&r);
    assert_eq!(
        (e.purchaseId, e.buyer, e.reason.as_str()),
        (purchase, c.buyer, "hash mismatch")
    );
    assert!(
        c.market()
            .purchases(purchase)
            .call()
            .await
            .unwrap()
            .disputed
    );
    assert_eq!(
        reverts!(m.dispute(purchase, "again".into()), c.buyer),
        E::AlreadyDisputed(DataMarket::AlreadyDisputed {
            purchaseId: purchase
        })
    );
    // A dispute is a record only: the seller's earnings stand.
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(1000));
}

#[tokio::test]
async fn withdraw_cannot_be_reentered_by_a_malicious_token() {
    let Some(c) = chain().await else { return };
    // The attacker's token is its own seller; a careless deployer allowed it.
    let r = send!(ReentrantToken::deploy_builder(c.p.clone()), c.attacker);
    let evil = ReentrantToken::new(r.contract_address.unwrap(), c.p.clone());
    let market = dev::deploy_market(&c.client, &[c.tusd, *evil.address()])
        .await
        .unwrap();
    let m = DataMarket::new(market.address, c.p.clone());
    let price = U256::from(1000);
    send!(evil.sellerList(market.address, price), c.attacker);
    send!(evil.mint(c.buyer, price), c.buyer);
    send!(evil.approve(market.address, price), c.buyer);
    send!(m.buy(U256::from(1), buyer_key()), c.buyer);
    send!(
        evil.sellerDeliver(U256::from(1), encrypted_key()),
        c.attacker
    );
    let seller = *evil.address();
    assert_eq!(m.claimable(seller, seller).call().await.unwrap(), price);

    // The market's transfer calls withdraw again from inside; the token catches that inner
    // revert so the outer withdraw completes and the test can see both.
    let r = send!(evil.attack(), c.attacker);
    assert!(
        evil.reentered().call().await.unwrap(),
        "the token did re-enter"
    );
    let inner = evil.reentryError().call().await.unwrap();
    assert_eq!(
        &inner[..],
        &DataMarket::ReentrancyGuardReentrantCall::SELECTOR[..],
        "the guard refused the inner withdraw"
    );
    assert_eq!(
        evil.balanceOf(seller).call().await.unwrap(),
        price,
        "paid once"
    );
    assert_eq!(
        evil.balanceOf(market.address).call().await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        m.claimable(seller, seller).call().await.unwrap(),
        U256::ZERO
    );
    let withdrawn: Vec<_> = r
        .inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<DataMarket::Withdrawn>().ok())
        .collect();
    assert_eq!(withdrawn.len(), 1, "one Withdrawn");
}

#[tokio::test]
async fn a_fee_on_transfer_token_is_refused_by_the_balance_check() {
    let Some(c) = chain().await else { return };
    let r = send!(FeeOnTransferToken::deploy_builder(c.p.clone()), c.other);
    let fee_token = FeeOnTransferToken::new(r.contract_address.unwrap(), c.p.clone());
    // Even on the allow-list (a deployer's mistake), the escrow never takes less than the price.
    let market = dev::deploy_market(&c.client, &[*fee_token.address()])
        .await
        .unwrap();
    let m = DataMarket::new(market.address, c.p.clone());
    let (content, key) = hashes();
    send!(
        m.list(
            U256::from(1000),
            *fee_token.address(),
            content.into(),
            key.into(),
            vec![1].into(),
            String::new(),
            String::new()
        ),
        c.seller
    );
    send!(fee_token.mint(c.buyer, U256::from(1000)), c.buyer);
    send!(fee_token.approve(market.address, U256::from(1000)), c.buyer);
    assert_eq!(
        reverts!(m.buy(U256::from(1), buyer_key()), c.buyer),
        E::TransferAmountMismatch(DataMarket::TransferAmountMismatch {
            received: U256::from(990),
            expected: U256::from(1000)
        })
    );
    assert_eq!(m.purchaseCount().call().await.unwrap(), U256::ZERO);
}

/// MARKET.md "Earnings, from events": per seller and token, earned = Σ price of Delivered,
/// pending = Σ price of Purchased with neither Delivered nor Refunded, refunded = Σ Refunded,
/// withdrawn = Σ Withdrawn, claimable = earned − withdrawn.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Earnings {
    earned: U256,
    pending: U256,
    refunded: U256,
    withdrawn: U256,
}

fn earnings(events: &[DataMarket::DataMarketEvents]) -> BTreeMap<(Address, Address), Earnings> {
    use DataMarket::DataMarketEvents as Ev;
    // purchase id → (seller, token, price), from Purchased alone.
    let mut purchases = BTreeMap::new();
    let mut open = BTreeMap::new();
    let mut out: BTreeMap<(Address, Address), Earnings> = BTreeMap::new();
    for e in events {
        match e {
            Ev::Purchased(p) => {
                purchases.insert(p.purchaseId, (p.seller, p.token, p.price));
                open.insert(p.purchaseId, ());
            }
            Ev::Delivered(d) => {
                let (seller, token, price) = purchases[&d.purchaseId];
                assert_eq!(seller, d.seller);
                open.remove(&d.purchaseId);
                out.entry((seller, token)).or_default().earned += price;
            }
            Ev::Refunded(r) => {
                let (seller, token, _) = purchases[&r.purchaseId];
                open.remove(&r.purchaseId);
                out.entry((seller, token)).or_default().refunded += r.amount;
            }
            Ev::Withdrawn(w) => out.entry((w.seller, w.token)).or_default().withdrawn += w.amount,
            _ => {}
        }
    }
    for id in open.keys() {
        let (seller, token, price) = purchases[id];
        out.entry((seller, token)).or_default().pending += price;
    }
    out
}

#[tokio::test]
async fn claimable_equals_earned_minus_withdrawn_from_the_events_alone() {
    let Some(c) = chain().await else { return };
    let (eth, _) = c.list(ETH, 1000, b"c").await;
    let (tusd, _) = c.list(c.tusd, 7_000_000, b"c").await;
    let mut p = vec![];
    for listing in [eth, eth, eth, eth, tusd, tusd, tusd] {
        p.push(c.buy(listing).await.0);
    }
    // ETH: two delivered, withdrawn, then a third delivered; one refunded.
    c.deliver(p[0]).await;
    c.deliver(p[1]).await;
    send!(c.market().withdraw(ETH), c.seller);
    c.deliver(p[2]).await;
    // tUSD: one delivered and withdrawn, one delivered, one left pending; then the ETH refund.
    c.deliver(p[4]).await;
    send!(c.market().withdraw(c.tusd), c.seller);
    c.deliver(p[5]).await;
    c.pass(WINDOW + 1).await;
    send!(c.market().refund(p[3]), c.buyer);
    // The other seller sells too, so the sums are per seller.
    let (theirs, _) = {
        let m = c.market();
        let (content, key) = hashes();
        let call = m.list(
            U256::from(50),
            ETH,
            content.into(),
            key.into(),
            vec![1].into(),
            String::new(),
            String::new(),
        );
        let id = call.clone().from(c.other).call().await.unwrap();
        (id, send!(call, c.other))
    };
    let (their_purchase, _) = c.buy(theirs).await;
    send!(c.market().deliver(their_purchase, encrypted_key()), c.other);

    let ledger = earnings(&c.events().await);
    assert_eq!(
        ledger[&(c.seller, ETH)],
        Earnings {
            earned: U256::from(3000),
            pending: U256::ZERO,
            refunded: U256::from(1000),
            withdrawn: U256::from(2000)
        }
    );
    assert_eq!(
        ledger[&(c.seller, c.tusd)],
        Earnings {
            earned: U256::from(14_000_000),
            pending: U256::from(7_000_000),
            refunded: U256::ZERO,
            withdrawn: U256::from(7_000_000)
        }
    );
    assert_eq!(ledger[&(c.other, ETH)].earned, U256::from(50));
    for ((seller, token), e) in &ledger {
        assert_eq!(
            c.claimable(*seller, *token).await,
            e.earned - e.withdrawn,
            "claimable of {seller} in {token}"
        );
    }
    // And the escrow holds exactly what is pending plus what is claimable.
    assert_eq!(c.eth(c.market.address).await, U256::from(1000 + 50));
    assert_eq!(c.tusd_of(c.market.address).await, U256::from(14_000_000));
}

#[tokio::test]
async fn the_code_check_accepts_a_deployed_market_and_refuses_anything_else() {
    let Some(c) = chain().await else { return };
    let found = market_contract::verify(&c.client, c.market.address)
        .await
        .unwrap();
    assert_eq!(found, c.market);
    assert!(found.block > 0);
    let events = c.events().await;
    assert!(
        matches!(&events[..], [DataMarket::DataMarketEvents::TokenAllowed(t)] if t.token == c.tusd),
        "the deployment block holds the market's first event: {events:?}"
    );
    // tUSD is a contract, but not the market.
    let e = market_contract::verify(&c.client, c.tusd)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ChainError::Refused(Refusal::NotAMarket {
            address: c.tusd,
            empty: false
        })
    );
    assert!(e.to_string().contains("not keybot's DataMarket"), "{e}");
    let e = market_contract::verify(&c.client, c.other)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no contract"), "{e}");
}

/// Gas used per call, for the closing note (printed; run with --nocapture to see it), with
/// bounds well above today's figures so that a change that makes a call far dearer fails here.
#[tokio::test]
async fn gas_used_per_call() {
    let Some(c) = chain().await else { return };
    let deploy =
        c.p.get_transaction_receipt(
            c.p.get_block_by_number(c.market.block.into())
                .await
                .unwrap()
                .unwrap()
                .transactions
                .hashes()
                .next()
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .gas_used;
    let (eth, list_4k) = c.list(ETH, 1000, &[0xab; 4096]).await;
    let (tusd, _) = c.list(c.tusd, 1000, b"c").await;
    let (p_eth, buy_eth) = c.buy(eth).await;
    let (p_tusd, buy_tusd) = c.buy(tusd).await;
    let (p_refund, _) = c.buy(eth).await;
    let deliver = c.deliver(p_eth).await;
    c.deliver(p_tusd).await;
    c.pass(WINDOW + 1).await;
    let refund = send!(c.market().refund(p_refund), c.buyer);
    let withdraw_eth = send!(c.market().withdraw(ETH), c.seller);
    let withdraw_tusd = send!(c.market().withdraw(c.tusd), c.seller);
    let figures = [
        ("deploy (tUSD allowed)", deploy, 2_000_000),
        ("list, 4 KiB inline", list_4k.gas_used, 300_000),
        ("buy, ETH", buy_eth.gas_used, 200_000),
        ("buy, tUSD", buy_tusd.gas_used, 250_000),
        ("deliver", deliver.gas_used, 100_000),
        ("refund, ETH", refund.gas_used, 100_000),
        ("withdraw, ETH", withdraw_eth.gas_used, 100_000),
        ("withdraw, tUSD", withdraw_tusd.gas_used, 100_000),
    ];
    println!("DataMarket gas used (anvil):");
    for (call, gas, bound) in figures {
        println!("  {call:<22} {gas:>9}");
        assert!(gas < bound, "{call}: {gas} gas, expected under {bound}");
    }
}
