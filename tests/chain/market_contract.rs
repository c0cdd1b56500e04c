//! DataMarket v2 (assets/contracts/DataMarket.sol, MARKET.md "Version 2") against a real anvil,
//! through alloy: who may do what and when, the escrow's money moving exactly once, the
//! challenge that proves a delivered key wrong on chain and refunds the buyer (and refuses a
//! right key and every malformed proof), settling after CHALLENGE_WINDOW, payouts to a named
//! recipient, the attacks the contract must refuse (a re-entering token, a fee-on-transfer
//! token, a token off the allow-list, a reprice racing a buy), the earnings of MARKET.md
//! computed from the events alone agreeing with `claimable`, the code check that `market join`
//! relies on, and the gas each call takes (v1's beside it).
//!
//! The markets here are deployed by `keybot::chain::dev::deploy_market`, the code path of
//! `keybot chain dev`. Transactions go from anvil's unlocked accounts 1..4 (account 0 is the
//! dev deployer keybot signs for itself); reverts are checked with `eth_call` and decoded into
//! DataMarket's custom errors, and the state is read back after each step. The cryptography is
//! the keystore's own: the buyer's one-time keys come from a wallet, the seller's `R ‖ c` from
//! `delivery::deliver`, a challenge's proof from `Wallet::challenge_proof`.
use crate::common;

use std::collections::BTreeMap;
use std::sync::Mutex;

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::{SolError, SolEventInterface};
use keybot::chain::market_contract::{self, DataMarket, Deployment};
use keybot::chain::{ChainError, Client, Refusal, dev};
use keybot_keystore::content::{key_commit, new_key};
use keybot_keystore::delivery::{
    self, Binding, DELIVERY_LEN, DeliveryError, POINT_LEN, open_with_secret, parse_point,
    secret_opens,
};
use keybot_keystore::secret::Secret32;
use keybot_keystore::{Phrase, Wallet};

use DataMarket::DataMarketErrors as E;
use DataMarket::DataMarketEvents as Ev;

alloy::sol!(
    #[sol(rpc, all_derives)]
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

/// The v1 market (`git show f0c01e7:assets/contracts/DataMarket.json`), deployed only to print
/// its gas figures beside v2's.
#[allow(clippy::too_many_arguments)]
mod v1 {
    alloy::sol!(
        #[sol(rpc)]
        DataMarketV1,
        "tests/fixtures/DataMarket.v1.json"
    );
}

const ETH: Address = Address::ZERO;
/// DELIVERY_WINDOW: how long the seller has to deliver.
const WINDOW: u64 = 3 * 24 * 3600;
/// CHALLENGE_WINDOW: how long after a delivery the buyer may challenge; then it settles.
const CHALLENGE_WINDOW: u64 = 3 * 24 * 3600;
/// The buyer's wallet: its one-time buyer keys are BIP-85 children of this phrase.
const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// A fresh anvil with tUSD and a DataMarket accepting it, as `keybot chain dev` sets them up.
struct Chain {
    _anvil: dev::DevChain,
    client: Client,
    p: DynProvider,
    tusd: Address,
    market: Deployment,
    chain_id: u64,
    seller: Address,
    buyer: Address,
    other: Address,
    attacker: Address,
    /// The buyer's wallet (one-time buyer keys, challenge proofs, dispute secrets).
    wallet: Wallet,
    /// The content key K of every listing the seller makes here; listings commit to it.
    key: Secret32,
    keys: Mutex<Keys>,
}

/// Which buyer key j each purchase was paid with, and the next j not used yet.
#[derive(Default)]
struct Keys {
    next: u32,
    of: BTreeMap<U256, u32>,
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
    let chain_id = p.get_chain_id().await.unwrap();
    Some(Chain {
        _anvil: anvil,
        client,
        p,
        tusd,
        market,
        chain_id,
        seller: accounts[1],
        buyer: accounts[2],
        other: accounts[3],
        attacker: accounts[4],
        wallet: Wallet::new(Phrase::parse(PHRASE).unwrap(), "").unwrap(),
        key: new_key().unwrap(),
        keys: Mutex::default(),
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

/// Sends the call from `$from` with a fixed gas limit (no estimate, which would refuse it), as a
/// wallet that signed it before the chain changed would, and asserts it was mined and reverted.
macro_rules! send_reverting {
    ($call:expr, $from:expr) => {{
        let r: TransactionReceipt = $call
            .from($from)
            .gas(500_000)
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("receipt");
        assert!(!r.status(), "the transaction succeeded: {r:?}");
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

/// The listing's content hash (the ciphertext's bytes do not matter to the contract).
fn content_hash() -> [u8; 32] {
    keccak256(b"ciphertext").0
}

/// What `challenge` takes besides the purchase id and the delivery, from the buyer's wallet.
#[derive(Clone)]
struct Proof {
    b: U256,
    b_inv: U256,
    key: Bytes,
    s: Bytes,
}

impl Chain {
    fn market(&self) -> DataMarket::DataMarketInstance<DynProvider> {
        DataMarket::new(self.market.address, self.p.clone())
    }

    fn tusd(&self) -> TestToken::TestTokenInstance<DynProvider> {
        TestToken::new(self.tusd, self.p.clone())
    }

    fn commit(&self) -> [u8; 32] {
        key_commit(&self.key)
    }

    /// A listing by the seller of inline `data` for `price` of `token`, committing to
    /// `self.key`; its id and receipt.
    async fn list(&self, token: Address, price: u64, data: &[u8]) -> (U256, TransactionReceipt) {
        self.list_by(self.seller, token, price, data).await
    }

    async fn list_by(
        &self,
        seller: Address,
        token: Address,
        price: u64,
        data: &[u8],
    ) -> (U256, TransactionReceipt) {
        let m = self.market();
        let call = m.list(
            U256::from(price),
            token,
            content_hash().into(),
            self.commit().into(),
            data.to_vec().into(),
            String::new(),
            r#"{"v":1,"title":"notes","tags":[],"bytes":1,"redactions":{},"type":"text/plain"}"#
                .into(),
        );
        let id = call.clone().from(seller).call().await.unwrap();
        let r = send!(call, seller);
        (id, r)
    }

    /// The next buyer key j not used yet (never one the wallet skips); with `odd`, the next
    /// whose B.y has that parity (the keys passed over stay unused).
    fn next_key(&self, odd: Option<bool>) -> u32 {
        let mut keys = self.keys.lock().unwrap();
        loop {
            let j = keys.next;
            keys.next += 1;
            if let Some(b) = self.wallet.buyer_key(j).unwrap()
                && odd.is_none_or(|odd| (b[63] & 1 == 1) == odd)
            {
                return j;
            }
        }
    }

    /// Buyer key j's public key B, x ‖ y, as `buy` takes it.
    fn buyer_key(&self, j: u32) -> Bytes {
        let b = self
            .wallet
            .buyer_key(j)
            .unwrap()
            .expect("a key the wallet uses");
        b.to_vec().into()
    }

    /// The buyer key j a purchase was paid with.
    fn key_of(&self, purchase: U256) -> u32 {
        self.keys.lock().unwrap().of[&purchase]
    }

    fn binding(&self, purchase: U256) -> Binding {
        Binding {
            chain_id: self.chain_id,
            market: self.market.address,
            purchase_id: purchase.to::<u64>(),
        }
    }

    /// The buyer buys `listing` with the next buyer key (paying ETH, or tUSD it gets from the
    /// faucet and approves), with maxPrice = the price.
    async fn buy(&self, listing: U256) -> (U256, TransactionReceipt) {
        let j = self.next_key(None);
        self.buy_with(listing, j).await
    }

    async fn buy_with(&self, listing: U256, j: u32) -> (U256, TransactionReceipt) {
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
        let call = m.buy(listing, self.buyer_key(j), l.price).value(value);
        let id = call.clone().from(self.buyer).call().await.unwrap();
        let r = send!(call, self.buyer);
        self.keys.lock().unwrap().of.insert(id, j);
        (id, r)
    }

    /// R ‖ c delivering `key` for the purchase, as the seller computes it from the buyer key
    /// in `Purchased` (a fresh r each time).
    fn delivery_of(&self, purchase: U256, key: &Secret32) -> Bytes {
        let b = self.buyer_key(self.key_of(purchase));
        delivery::deliver(&b, key, &self.binding(purchase))
            .unwrap()
            .to_vec()
            .into()
    }

    /// The same with R.y of the asked parity (r is random: draw until it has it), so that both
    /// of ecrecover's v for R are exercised whatever the draw.
    fn delivery_with_parity(&self, purchase: U256, key: &Secret32, odd: bool) -> Bytes {
        loop {
            let d = self.delivery_of(purchase, key);
            if (d[POINT_LEN - 1] & 1 == 1) == odd {
                return d;
            }
        }
    }

    /// The seller delivers the listing's key (the right one).
    async fn deliver(&self, purchase: U256) -> TransactionReceipt {
        let d = self.delivery_of(purchase, &self.key);
        self.deliver_bytes(purchase, d).await
    }

    async fn deliver_bytes(&self, purchase: U256, delivery: Bytes) -> TransactionReceipt {
        send!(self.market().deliver(purchase, delivery), self.seller)
    }

    /// What the buyer's wallet publishes to challenge `delivery` of the purchase.
    fn proof(&self, purchase: U256, delivery: &[u8]) -> Proof {
        proof_of(&self.wallet, self.key_of(purchase), delivery)
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

    /// The next block is mined at exactly `time`.
    async fn next_block_at(&self, time: u64) {
        let _: serde_json::Value = self
            .p
            .raw_request("evm_setNextBlockTimestamp".into(), (time,))
            .await
            .unwrap();
    }

    /// The timestamp of the block that holds the receipt's transaction.
    async fn time_of(&self, r: &TransactionReceipt) -> u64 {
        self.p
            .get_block_by_number(r.block_number.unwrap().into())
            .await
            .unwrap()
            .unwrap()
            .header
            .timestamp
    }

    async fn purchase(&self, purchase: U256) -> DataMarket::purchasesReturn {
        self.market().purchases(purchase).call().await.unwrap()
    }

    async fn state(&self, purchase: U256) -> u8 {
        self.purchase(purchase).await.state
    }

    /// Every event of the market since its deployment block, decoded.
    async fn events(&self) -> Vec<Ev> {
        let filter = Filter::new()
            .address(self.market.address)
            .from_block(self.market.block);
        self.p
            .get_logs(&filter)
            .await
            .unwrap()
            .iter()
            .map(|l| Ev::decode_log(&l.inner).unwrap().data)
            .collect()
    }
}

fn proof_of(wallet: &Wallet, j: u32, delivery: &[u8]) -> Proof {
    let p = wallet.challenge_proof(j, delivery).unwrap();
    Proof {
        b: U256::from_be_bytes(*p.secret()),
        b_inv: U256::from_be_bytes(*p.inverse()),
        key: p.buyer_key.to_vec().into(),
        s: p.shared.to_vec().into(),
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

/// All the market's events in the receipt, in order (a token's own events left out).
fn events_of(r: &TransactionReceipt) -> Vec<Ev> {
    r.inner
        .logs()
        .iter()
        .filter_map(|l| Ev::decode_log(&l.inner).ok().map(|e| e.data))
        .collect()
}

/// secp256k1's field prime p.
fn field_p() -> U256 {
    U256::from_str_radix(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F",
        16,
    )
    .unwrap()
}

/// secp256k1's group order n.
fn order_n() -> U256 {
    U256::from_str_radix(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
        16,
    )
    .unwrap()
}

fn point(x: U256, y: U256) -> Bytes {
    [x.to_be_bytes::<32>(), y.to_be_bytes::<32>()]
        .concat()
        .into()
}

fn coordinates(point: &[u8]) -> (U256, U256) {
    (
        U256::from_be_slice(&point[..32]),
        U256::from_be_slice(&point[32..64]),
    )
}

/// −P: the same x, y = p − y (on the curve too).
fn negated(pt: &[u8]) -> Bytes {
    let (x, y) = coordinates(pt);
    point(x, field_p() - y)
}

/// A point of secp256k1 with n ≤ x < p, which the contract must refuse wherever a point is a
/// base of its ecrecover: x = n + i for the first i where x³ + 7 is a square mod p, y its root
/// (p ≡ 3 mod 4, so y = (x³ + 7)^((p+1)/4)).
fn high_x_point() -> Bytes {
    let p = field_p();
    let found = (1u64..1000).find_map(|i| {
        let x = order_n() + U256::from(i);
        let rhs = x.mul_mod(x, p).mul_mod(x, p).add_mod(U256::from(7), p);
        let y = rhs.pow_mod((p + U256::from(1)) >> 2, p);
        (y.mul_mod(y, p) == rhs).then(|| point(x, y))
    });
    let found = found.expect("some x just above n is on the curve");
    // The keystore agrees: on the curve, refused for its x only.
    assert_eq!(
        parse_point(&found).unwrap_err(),
        DeliveryError::XNotBelowOrder
    );
    found
}

/// (1, 1): 1 ≠ 1 + 7, off the curve.
fn off_curve_point() -> Bytes {
    point(U256::from(1), U256::from(1))
}

/// The bytes with the last bit of byte `i` flipped.
fn flipped(bytes: &[u8], i: usize) -> Bytes {
    let mut b = bytes.to_vec();
    b[i] ^= 1;
    b.into()
}

const PAID: u8 = 1;
const DELIVERED: u8 = 2;
const REFUNDED: u8 = 3;
const SETTLED: u8 = 4;

#[tokio::test]
async fn an_eth_listing_works_end_to_end() {
    let Some(c) = chain().await else { return };
    let price = 10u64.pow(16); // 0.01 ETH
    let data = vec![0xab; 4096];
    let (listing, r) = c.list(ETH, price, &data).await;
    assert_eq!(listing, U256::from(1));
    let listed: DataMarket::Listed = event(&r);
    assert_eq!(
        (listed.listingId, listed.seller, listed.token, listed.price),
        (listing, c.seller, ETH, U256::from(price))
    );
    assert_eq!(
        (listed.contentHash.0, listed.keyCommit.0),
        (content_hash(), c.commit())
    );
    assert_eq!(
        &listed.data[..],
        &data[..],
        "the ciphertext is inline in the event"
    );
    assert!(listed.uri.is_empty() && listed.meta.starts_with(r#"{"v":1"#));

    let buyer_before = c.eth(c.buyer).await;
    let j = c.next_key(None);
    let (purchase, r) = c.buy_with(listing, j).await;
    let bought: DataMarket::Purchased = event(&r);
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
    assert_eq!(
        bought.buyerKey,
        c.buyer_key(j),
        "the whole one-time key B, 64 bytes: the seller needs it"
    );
    assert_eq!(bought.buyerKey.len(), POINT_LEN);
    assert_eq!(bought.deadline, c.time_of(&r).await + WINDOW);
    let stored = c.purchase(purchase).await;
    assert_eq!(stored.buyerKeyHash, keccak256(&bought.buyerKey));
    assert_eq!((stored.buyer, stored.state), (c.buyer, PAID));
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
        (delivered.purchaseId, delivered.seller),
        (purchase, c.seller)
    );
    assert_eq!(delivered.delivery.len(), DELIVERY_LEN);
    let settles_at = c.time_of(&r).await + CHALLENGE_WINDOW;
    assert_eq!(delivered.settlesAt, settles_at);
    let stored = c.purchase(purchase).await;
    assert_eq!(
        (stored.state, stored.settlesAt, stored.deliveryHash),
        (DELIVERED, settles_at, keccak256(&delivered.delivery))
    );
    // The buyer opens the delivery with its one-time key to the key the listing committed to.
    let k = c
        .wallet
        .open_delivery(j, &delivered.delivery, &c.binding(purchase))
        .unwrap();
    assert_eq!(key_commit(&k), listed.keyCommit.0);
    assert_eq!(
        c.claimable(c.seller, ETH).await,
        U256::ZERO,
        "not before it settles"
    );
    assert_eq!(
        reverts!(c.market().withdraw(ETH, c.seller, vec![]), c.seller),
        E::NothingToWithdraw(DataMarket::NothingToWithdraw { token: ETH })
    );
    assert_eq!(
        reverts!(c.market().settle(vec![purchase]), c.other),
        E::NotSettled(DataMarket::NotSettled {
            purchaseId: purchase
        })
    );

    c.pass(CHALLENGE_WINDOW + 1).await;
    // Anyone may settle a purchase whose window is over.
    let r = send!(c.market().settle(vec![purchase]), c.other);
    let s: DataMarket::Settled = event(&r);
    assert_eq!(
        (s.purchaseId, s.seller, s.token, s.amount),
        (purchase, c.seller, ETH, U256::from(price))
    );
    assert_eq!(c.state(purchase).await, SETTLED);
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(price));

    let seller_before = c.eth(c.seller).await;
    let r = send!(c.market().withdraw(ETH, c.seller, vec![]), c.seller);
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
        reverts!(c.market().withdraw(ETH, c.seller, vec![]), c.seller),
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
    assert_eq!(c.claimable(c.seller, c.tusd).await, U256::ZERO, "settling");
    c.pass(CHALLENGE_WINDOW + 1).await;
    // The withdrawal settles the purchase in the same call.
    let r = send!(
        c.market().withdraw(c.tusd, c.seller, vec![purchase]),
        c.seller
    );
    let s: DataMarket::Settled = event(&r);
    assert_eq!(
        (s.purchaseId, s.token, s.amount),
        (purchase, c.tusd, U256::from(price))
    );
    let w: DataMarket::Withdrawn = event(&r);
    assert_eq!(w.amount, U256::from(price));
    assert_eq!(c.tusd_of(c.seller).await, U256::from(price));
    assert_eq!(c.tusd_of(c.market.address).await, U256::ZERO);
    assert_eq!(c.claimable(c.seller, c.tusd).await, U256::ZERO);
    assert_eq!(c.claimable(c.seller, ETH).await, U256::ZERO, "per token");

    // A token listing takes no ETH, and an ETH listing exactly its price.
    let key = c.buyer_key(c.next_key(None));
    let (again, _) = c.list(c.tusd, price, b"ciphertext").await;
    assert_eq!(
        reverts!(
            c.market()
                .buy(again, key.clone(), U256::from(price))
                .value(U256::from(1)),
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
                c.market()
                    .buy(by_eth, key.clone(), U256::from(1000))
                    .value(U256::from(sent)),
                c.buyer
            ),
            E::WrongPayment(DataMarket::WrongPayment {
                sent: U256::from(sent),
                expected: U256::from(1000)
            })
        );
    }
    // Without an approval, the token refuses the transfer and nothing is bought: the token's
    // own error, passed up through SafeERC20, naming the market and the missing allowance.
    send!(c.tusd().faucet(c.other, U256::from(price)), c.other);
    let e = c
        .market()
        .buy(again, key, U256::from(price))
        .from(c.other)
        .call()
        .await
        .expect_err("bought without an approval");
    assert_eq!(
        e.as_decoded_interface_error::<TestToken::TestTokenErrors>(),
        Some(TestToken::TestTokenErrors::ERC20InsufficientAllowance(
            TestToken::ERC20InsufficientAllowance {
                spender: c.market.address,
                allowance: U256::ZERO,
                needed: U256::from(price)
            }
        )),
        "{e}"
    );
}

#[tokio::test]
async fn only_the_seller_delivers_and_only_once() {
    let Some(c) = chain().await else { return };
    let (listing, _) = c.list(ETH, 1000, b"ciphertext").await;
    let (purchase, _) = c.buy(listing).await;
    let m = c.market();
    let good = c.delivery_of(purchase, &c.key);
    for who in [c.buyer, c.other] {
        assert_eq!(
            reverts!(m.deliver(purchase, good.clone()), who),
            E::NotSeller(DataMarket::NotSeller { caller: who })
        );
    }
    // 129 is v1's ECIES envelope; 64 is R without c.
    for len in [0usize, 64, 95, 97, 129] {
        let mut d = good.to_vec();
        d.resize(len, 1);
        assert_eq!(
            reverts!(m.deliver(purchase, d.into()), c.seller),
            E::BadDeliveryLength(DataMarket::BadDeliveryLength {
                length: U256::from(len),
                expected: U256::from(DELIVERY_LEN)
            })
        );
    }
    assert_eq!(
        reverts!(m.deliver(U256::from(9), good.clone()), c.seller),
        E::UnknownPurchase(DataMarket::UnknownPurchase {
            purchaseId: U256::from(9)
        })
    );
    assert_eq!(c.state(purchase).await, PAID);
    c.deliver_bytes(purchase, good).await;
    assert_eq!(
        reverts!(
            m.deliver(purchase, c.delivery_of(purchase, &c.key)),
            c.seller
        ),
        E::AlreadyDelivered(DataMarket::AlreadyDelivered {
            purchaseId: purchase
        })
    );
    c.pass(CHALLENGE_WINDOW + 1).await;
    send!(m.settle(vec![purchase]), c.other);
    assert_eq!(
        reverts!(
            m.deliver(purchase, c.delivery_of(purchase, &c.key)),
            c.seller
        ),
        E::AlreadyDelivered(DataMarket::AlreadyDelivered {
            purchaseId: purchase
        }),
        "settled is delivered too"
    );
    // Settling again is skipped (nothing emitted, nothing credited): a stranger who settles
    // first cannot make a seller's withdrawal that settles the same purchase revert.
    let r = send!(m.settle(vec![purchase]), c.other);
    assert!(r.inner.logs().is_empty(), "settles once");
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
    let deadline = c.purchase(refunded).await.deadline;
    assert_eq!(
        reverts!(m.refund(refunded, c.buyer), c.buyer),
        E::DeadlineNotPassed(DataMarket::DeadlineNotPassed {
            purchaseId: refunded,
            deadline
        })
    );

    c.pass(WINDOW + 1).await;
    for who in [c.seller, c.other] {
        assert_eq!(
            reverts!(m.refund(refunded, who), who),
            E::NotBuyer(DataMarket::NotBuyer { caller: who })
        );
    }
    assert_eq!(
        reverts!(m.refund(delivered, c.buyer), c.buyer),
        E::AlreadyDelivered(DataMarket::AlreadyDelivered {
            purchaseId: delivered
        })
    );
    // v2: past the deadline a delivery is refused (v1 took it until the refund), so a buyer
    // who waited can take the money back without racing the seller.
    let late_deadline = c.purchase(delivered_late).await.deadline;
    assert_eq!(
        reverts!(
            m.deliver(delivered_late, c.delivery_of(delivered_late, &c.key)),
            c.seller
        ),
        E::DeliveryTooLate(DataMarket::DeliveryTooLate {
            purchaseId: delivered_late,
            deadline: late_deadline
        })
    );
    assert_eq!(
        reverts!(m.refund(refunded, Address::ZERO), c.buyer),
        E::ZeroRecipient(DataMarket::ZeroRecipient {})
    );

    let before = c.eth(c.buyer).await;
    let escrow = c.eth(c.market.address).await;
    let r = send!(m.refund(refunded, c.buyer), c.buyer);
    let e: DataMarket::Refunded = event(&r);
    assert_eq!(
        (e.purchaseId, e.buyer, e.token, e.amount),
        (refunded, c.buyer, ETH, U256::from(1000))
    );
    assert_eq!(c.eth(c.buyer).await, before + U256::from(1000) - fee(&r));
    assert_eq!(c.eth(c.market.address).await, escrow - U256::from(1000));
    assert_eq!(c.state(refunded).await, REFUNDED);
    assert_eq!(
        reverts!(m.refund(refunded, c.buyer), c.buyer),
        E::AlreadyRefunded(DataMarket::AlreadyRefunded {
            purchaseId: refunded
        })
    );
    // A late delivery after the refund fails: the money is gone back to the buyer.
    assert_eq!(
        reverts!(
            m.deliver(refunded, c.delivery_of(refunded, &c.key)),
            c.seller
        ),
        E::AlreadyRefunded(DataMarket::AlreadyRefunded {
            purchaseId: refunded
        })
    );
    send!(m.refund(delivered_late, c.buyer), c.buyer);
    // The delivered one settled meanwhile (its window is as long as the delivery window).
    send!(m.settle(vec![delivered]), c.other);
    assert_eq!(
        reverts!(m.refund(delivered, c.buyer), c.buyer),
        E::AlreadyDelivered(DataMarket::AlreadyDelivered {
            purchaseId: delivered
        })
    );
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(1000));
    assert_eq!(c.eth(c.market.address).await, U256::from(1000));
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
    let key = c.buyer_key(c.next_key(None));
    assert_eq!(
        reverts!(
            m.buy(listing, key.clone(), U256::from(1000))
                .value(U256::from(1000)),
            c.buyer
        ),
        E::PriceAboveMax(DataMarket::PriceAboveMax {
            price: U256::from(2000),
            maxPrice: U256::from(1000)
        }),
        "the old price no longer buys"
    );
    assert_eq!(
        reverts!(
            m.buy(listing, key.clone(), U256::from(2000))
                .value(U256::from(1000)),
            c.buyer
        ),
        E::WrongPayment(DataMarket::WrongPayment {
            sent: U256::from(1000),
            expected: U256::from(2000)
        })
    );
    let (paid_after, _) = c.buy(listing).await;
    assert_eq!(
        c.purchase(paid_before).await.price,
        U256::from(1000),
        "a reprice leaves what is in escrow alone"
    );

    let r = send!(m.delist(listing), c.seller);
    let e: DataMarket::Delisted = event(&r);
    assert_eq!((e.listingId, e.seller), (listing, c.seller));
    assert_eq!(
        reverts!(
            m.buy(listing, key.clone(), U256::from(2000))
                .value(U256::from(2000)),
            c.buyer
        ),
        E::ListingNotActive(DataMarket::ListingNotActive { listingId: listing })
    );
    assert_eq!(
        reverts!(m.buy(U256::from(99), key, U256::from(1)), c.buyer),
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
    c.pass(CHALLENGE_WINDOW + 1).await;
    send!(m.settle(vec![paid_before, paid_after]), c.seller);
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(3000));
}

#[tokio::test]
async fn listings_and_purchases_with_bad_arguments_are_refused() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let content = content_hash();
    let key = c.commit();
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
    assert_eq!(
        reverts!(
            m.list(
                U256::from(5),
                ETH,
                content.into(),
                [0u8; 32].into(),
                vec![1].into(),
                String::new(),
                String::new()
            ),
            c.seller
        ),
        E::MissingHash(DataMarket::MissingHash {}),
        "a challenge needs a keyCommit to compare with"
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
    let long_uri = format!("https://{}", "u".repeat(2048 - 7));
    assert_eq!(
        reverts!(
            list(5, ETH, content, vec![], &long_uri, String::new()),
            c.seller
        ),
        E::UriTooLong(DataMarket::UriTooLong {
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

    // Buyer keys: 64 bytes x ‖ y, on the curve, x < n; nothing else.
    let (listing, _) = c.list(ETH, 1000, b"c").await;
    let good = c.buyer_key(c.next_key(None));
    let mut compressed = vec![2 + (good[63] & 1)];
    compressed.extend_from_slice(&good[..32]);
    let mut prefixed = vec![4];
    prefixed.extend_from_slice(&good);
    for (key, what) in [
        (Bytes::from(compressed), "v1's 33 bytes, compressed"),
        (Bytes::from(prefixed), "SEC1 uncompressed, 65 bytes"),
        (good.slice(..63), "one byte short"),
        (Bytes::new(), "nothing"),
        (flipped(&good, 63), "y off by one: off the curve"),
        (off_curve_point(), "(1, 1)"),
        (point(U256::ZERO, U256::ZERO), "(0, 0)"),
        (high_x_point(), "on the curve, x >= n"),
    ] {
        assert_eq!(
            reverts!(
                m.buy(listing, key, U256::from(1000))
                    .value(U256::from(1000)),
                c.buyer
            ),
            E::BadBuyerKey(DataMarket::BadBuyerKey {}),
            "{what}"
        );
    }
    // Any point on the curve with x < n is taken, −B as well as B.
    for key in [good.clone(), negated(&good)] {
        m.buy(listing, key, U256::from(1000))
            .value(U256::from(1000))
            .from(c.buyer)
            .call()
            .await
            .unwrap();
    }
    // The allow-list holds contracts only: an account address is refused at deployment.
    let e = dev::deploy_market(&c.client, &[c.other]).await.unwrap_err();
    assert_eq!(
        e,
        ChainError::Revert {
            reason: format!("NotAContract(token: {})", c.other)
        },
        "{e}"
    );
}

#[tokio::test]
async fn dispute_only_by_the_buyer_after_delivery_and_once() {
    let Some(c) = chain().await else { return };
    let (listing, _) = c.list(ETH, 1000, b"c").await;
    let (purchase, _) = c.buy(listing).await;
    let j = c.key_of(purchase);
    let secret = U256::from_be_bytes(*c.wallet.dispute_secret(j).unwrap().expose());
    let m = c.market();
    assert_eq!(
        reverts!(m.dispute(purchase, secret, "hash mismatch".into()), c.buyer),
        E::NotDelivered(DataMarket::NotDelivered {
            purchaseId: purchase
        })
    );
    let r = c.deliver(purchase).await;
    let d = event::<DataMarket::Delivered>(&r).delivery;
    assert_eq!(
        reverts!(m.dispute(purchase, secret, "x".into()), c.seller),
        E::NotBuyer(DataMarket::NotBuyer { caller: c.seller })
    );
    assert_eq!(
        reverts!(
            m.dispute(
                purchase,
                secret,
                "r".repeat(market_contract::MAX_REASON + 1)
            ),
            c.buyer
        ),
        E::ReasonTooLong(DataMarket::ReasonTooLong {
            length: U256::from(1025),
            // keybot's constant (the app refuses longer reasons before the review) is the
            // contract's.
            max: U256::from(market_contract::MAX_REASON)
        })
    );
    // A made-up secret is refused: another key's, zero, and b + n (the same scalar mod n,
    // not the canonical one).
    let another = U256::from_be_bytes(*c.wallet.dispute_secret(c.next_key(None)).unwrap().expose());
    let mut refused = vec![another, U256::ZERO, order_n(), U256::MAX];
    if let Some(alias) = secret.checked_add(order_n()) {
        refused.push(alias);
    }
    for wrong in refused {
        assert_eq!(
            reverts!(m.dispute(purchase, wrong, "x".into()), c.buyer),
            E::WrongSecret(DataMarket::WrongSecret {}),
            "secret {wrong:#x}"
        );
    }
    let r = send!(m.dispute(purchase, secret, "hash mismatch".into()), c.buyer);
    let e: DataMarket::Disputed = event(&r);
    assert_eq!(
        (e.purchaseId, e.buyer, e.secret, e.reason.as_str()),
        (purchase, c.buyer, secret, "hash mismatch")
    );
    // Every client can check the published secret against B as a whole point and derive the
    // key: here it is the committed one, so the dispute shows as refuted.
    let b = c.buyer_key(j);
    assert!(secret_opens(&e.secret.to_be_bytes::<32>(), &b));
    let k = open_with_secret(&e.secret.to_be_bytes::<32>(), &d, &c.binding(purchase)).unwrap();
    assert_eq!(key_commit(&k), c.commit());
    assert!(c.purchase(purchase).await.disputed);
    assert_eq!(
        reverts!(m.dispute(purchase, secret, "again".into()), c.buyer),
        E::AlreadyDisputed(DataMarket::AlreadyDisputed {
            purchaseId: purchase
        })
    );
    // A settled purchase can still be disputed.
    let (later, _) = c.buy(listing).await;
    c.deliver(later).await;
    c.pass(CHALLENGE_WINDOW + 1).await;
    send!(m.settle(vec![purchase, later]), c.other);
    let later_secret =
        U256::from_be_bytes(*c.wallet.dispute_secret(c.key_of(later)).unwrap().expose());
    send!(m.dispute(later, later_secret, "no".into()), c.buyer);
    assert_eq!(c.state(later).await, SETTLED);
    // A dispute is a record only: the seller's earnings stand.
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(2000));
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
    let j = c.next_key(None);
    send!(m.buy(U256::from(1), c.buyer_key(j), price), c.buyer);
    let delivery = delivery::deliver(
        &c.wallet.buyer_key(j).unwrap().unwrap(),
        &c.key,
        &Binding {
            chain_id: c.chain_id,
            market: market.address,
            purchase_id: 1,
        },
    )
    .unwrap();
    send!(
        evil.sellerDeliver(U256::from(1), delivery.to_vec().into()),
        c.attacker
    );
    c.pass(CHALLENGE_WINDOW + 1).await;
    send!(m.settle(vec![U256::from(1)]), c.other);
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
    send!(
        m.list(
            U256::from(1000),
            *fee_token.address(),
            content_hash().into(),
            c.commit().into(),
            vec![1].into(),
            String::new(),
            String::new()
        ),
        c.seller
    );
    send!(fee_token.mint(c.buyer, U256::from(1000)), c.buyer);
    send!(fee_token.approve(market.address, U256::from(1000)), c.buyer);
    assert_eq!(
        reverts!(
            m.buy(
                U256::from(1),
                c.buyer_key(c.next_key(None)),
                U256::from(1000)
            ),
            c.buyer
        ),
        E::TransferAmountMismatch(DataMarket::TransferAmountMismatch {
            received: U256::from(990),
            expected: U256::from(1000)
        })
    );
    assert_eq!(m.purchaseCount().call().await.unwrap(), U256::ZERO);
}

/// MARKET.md "Earnings (v2)", per seller and token from the events alone: settling = Σ price
/// of Delivered neither settled nor refunded; earned = Σ Settled; pending = Σ price of
/// Purchased not yet delivered or refunded; refunded = Σ Refunded (a proven-wrong key's
/// included: `KeyProvenWrong` is followed by its `Refunded`); withdrawn = Σ Withdrawn;
/// claimable = earned − withdrawn.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Earnings {
    settling: U256,
    earned: U256,
    pending: U256,
    refunded: U256,
    withdrawn: U256,
    proven_wrong: u32,
}

/// The ledger, and each purchase's state as the events tell it.
fn earnings(events: &[Ev]) -> (BTreeMap<(Address, Address), Earnings>, BTreeMap<U256, u8>) {
    // purchase id → (seller, token, price), from Purchased alone.
    let mut purchases = BTreeMap::new();
    let mut state = BTreeMap::new();
    let mut out: BTreeMap<(Address, Address), Earnings> = BTreeMap::new();
    for e in events {
        match e {
            Ev::Purchased(p) => {
                purchases.insert(p.purchaseId, (p.seller, p.token, p.price));
                state.insert(p.purchaseId, PAID);
            }
            Ev::Delivered(d) => {
                let (seller, _, _) = purchases[&d.purchaseId];
                assert_eq!(seller, d.seller);
                assert_eq!(state.insert(d.purchaseId, DELIVERED), Some(PAID));
            }
            Ev::Settled(s) => {
                assert_eq!(purchases[&s.purchaseId], (s.seller, s.token, s.amount));
                assert_eq!(state.insert(s.purchaseId, SETTLED), Some(DELIVERED));
                out.entry((s.seller, s.token)).or_default().earned += s.amount;
            }
            Ev::KeyProvenWrong(k) => {
                let (seller, token, _) = purchases[&k.purchaseId];
                assert_eq!(seller, k.seller);
                assert_eq!(state[&k.purchaseId], DELIVERED);
                out.entry((seller, token)).or_default().proven_wrong += 1;
            }
            Ev::Refunded(r) => {
                let (seller, token, price) = purchases[&r.purchaseId];
                assert_eq!((r.token, r.amount), (token, price));
                let before = state.insert(r.purchaseId, REFUNDED);
                assert!(matches!(before, Some(PAID | DELIVERED)), "{before:?}");
                out.entry((seller, token)).or_default().refunded += r.amount;
            }
            Ev::Withdrawn(w) => out.entry((w.seller, w.token)).or_default().withdrawn += w.amount,
            _ => {}
        }
    }
    for (id, s) in &state {
        let (seller, token, price) = purchases[id];
        let e = out.entry((seller, token)).or_default();
        match *s {
            PAID => e.pending += price,
            DELIVERED => e.settling += price,
            _ => {}
        }
    }
    (out, state)
}

#[tokio::test]
async fn claimable_equals_earned_minus_withdrawn_from_the_events_alone() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let (eth, _) = c.list(ETH, 1000, b"c").await;
    let (tusd, _) = c.list(c.tusd, 7_000_000, b"c").await;
    // ETH: e0, e1 delivered, settled by the withdrawal that takes them; e2 delivered, settled
    // and left claimable; e3 refunded after the deadline; e4 a wrong key, challenged.
    let mut e = vec![];
    for _ in 0..5 {
        e.push(c.buy(eth).await.0);
    }
    // tUSD: t0 delivered, settled by anyone, withdrawn; t1 paid and never delivered.
    let (t0, _) = c.buy(tusd).await;
    let (t1, _) = c.buy(tusd).await;
    for p in [e[0], e[1], e[2], t0] {
        c.deliver(p).await;
    }
    let wrong = c.delivery_of(e[4], &new_key().unwrap());
    c.deliver_bytes(e[4], wrong.clone()).await;
    let pr = c.proof(e[4], &wrong);
    send!(
        m.challenge(e[4], pr.b, pr.b_inv, pr.key, pr.s, wrong),
        c.buyer
    );
    // The other seller sells too, so the sums are per seller.
    let (theirs, _) = c.list_by(c.other, ETH, 50, b"c").await;
    let (their_purchase, _) = c.buy(theirs).await;
    let d = c.delivery_of(their_purchase, &c.key);
    send!(m.deliver(their_purchase, d), c.other);

    c.pass(WINDOW.max(CHALLENGE_WINDOW) + 1).await;
    send!(m.withdraw(ETH, c.seller, vec![e[0], e[1]]), c.seller);
    send!(m.settle(vec![e[2], t0, their_purchase]), c.other);
    send!(m.withdraw(c.tusd, c.seller, vec![]), c.seller);
    send!(m.refund(e[3], c.buyer), c.buyer);
    // Bought and delivered after the time passed: still settling at the end.
    let (e5, _) = c.buy(eth).await;
    let (t2, _) = c.buy(tusd).await;
    c.deliver(e5).await;
    c.deliver(t2).await;

    let events = c.events().await;
    let (ledger, states) = earnings(&events);
    assert_eq!(
        ledger[&(c.seller, ETH)],
        Earnings {
            settling: U256::from(1000),
            earned: U256::from(3000),
            pending: U256::ZERO,
            refunded: U256::from(2000),
            withdrawn: U256::from(2000),
            proven_wrong: 1,
        }
    );
    assert_eq!(
        ledger[&(c.seller, c.tusd)],
        Earnings {
            settling: U256::from(7_000_000),
            earned: U256::from(7_000_000),
            pending: U256::from(7_000_000),
            refunded: U256::ZERO,
            withdrawn: U256::from(7_000_000),
            proven_wrong: 0,
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
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(1000));
    // Each purchase's state, from the events, is the contract's; settling ones carry the
    // contract's settlesAt in their Delivered.
    assert_eq!(states.len(), 10);
    for (id, s) in &states {
        assert_eq!(c.state(*id).await, *s, "purchase {id}");
    }
    for ev in &events {
        if let Ev::Delivered(d) = ev {
            assert_eq!(d.settlesAt, c.purchase(d.purchaseId).await.settlesAt);
        }
    }
    assert_eq!(states[&t1], PAID);
    // And the escrow holds exactly what is pending, settling and claimable.
    for token in [ETH, c.tusd] {
        let owed = ledger
            .iter()
            .filter(|((_, t), _)| *t == token)
            .map(|(_, e)| e.pending + e.settling + e.earned - e.withdrawn)
            .fold(U256::ZERO, |a, b| a + b);
        let held = if token == ETH {
            c.eth(c.market.address).await
        } else {
            c.tusd_of(c.market.address).await
        };
        assert_eq!(held, owed, "escrow in {token}");
    }
    assert_eq!(c.eth(c.market.address).await, U256::from(1000 + 1000 + 50));
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
        matches!(&events[..], [Ev::TokenAllowed(t)] if t.token == c.tusd),
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
    assert_eq!(
        e,
        ChainError::Refused(Refusal::NotAMarket {
            address: c.other,
            empty: true
        })
    );
    assert!(e.to_string().contains("no contract"), "{e}");
}

/// The contract's sizes and windows are the ones the keystore and these tests use.
#[tokio::test]
async fn the_contract_constants_are_the_clients() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    assert_eq!(
        m.BUYER_KEY_LENGTH().call().await.unwrap(),
        U256::from(POINT_LEN)
    );
    assert_eq!(
        m.DELIVERY_LENGTH().call().await.unwrap(),
        U256::from(DELIVERY_LEN)
    );
    assert_eq!(
        m.DELIVERY_WINDOW().call().await.unwrap(),
        U256::from(WINDOW)
    );
    assert_eq!(
        m.CHALLENGE_WINDOW().call().await.unwrap(),
        U256::from(CHALLENGE_WINDOW)
    );
    assert_eq!(
        m.MAX_REASON().call().await.unwrap(),
        U256::from(market_contract::MAX_REASON)
    );
}

/// A delivery whose key is not the committed one: the buyer's challenge proves it on chain and
/// gets the exact price back, and the seller never sees it as claimable. Each (B.y, R.y) parity
/// pair is tried, since the contract's ecrecover picks v from each.
#[tokio::test]
async fn a_wrong_key_is_proven_by_a_challenge_and_refunded_to_the_buyer() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let price = 10u64.pow(15);
    let (eth, _) = c.list(ETH, price, b"c").await;
    let (tusd, _) = c.list(c.tusd, 3_000_000, b"c").await;
    let wrong_key = new_key().unwrap();
    let mut challenged = vec![];
    let cases = [
        (eth, false, false),
        (eth, false, true),
        (eth, true, false),
        (eth, true, true),
        (tusd, true, false),
    ];
    for (listing, b_odd, r_odd) in cases {
        let j = c.next_key(Some(b_odd));
        let (purchase, _) = c.buy_with(listing, j).await;
        let token = if listing == eth { ETH } else { c.tusd };
        let price = c.purchase(purchase).await.price;
        let d = c.delivery_with_parity(purchase, &wrong_key, r_odd);
        c.deliver_bytes(purchase, d.clone()).await;
        // What the buyer's client sees before it challenges: the key it opens is not the
        // committed one.
        let k = c.wallet.open_delivery(j, &d, &c.binding(purchase)).unwrap();
        assert_ne!(key_commit(&k), c.commit());
        assert_eq!(k.expose(), wrong_key.expose(), "the seller's (wrong) key");

        let pr = c.proof(purchase, &d);
        let buyer_eth = c.eth(c.buyer).await;
        let buyer_tusd = c.tusd_of(c.buyer).await;
        let escrow_eth = c.eth(c.market.address).await;
        let escrow_tusd = c.tusd_of(c.market.address).await;
        let r = send!(
            m.challenge(
                purchase,
                pr.b,
                pr.b_inv,
                pr.key.clone(),
                pr.s.clone(),
                d.clone()
            ),
            c.buyer
        );
        match &events_of(&r)[..] {
            [Ev::KeyProvenWrong(k), Ev::Refunded(f)] => {
                assert_eq!(
                    (k.purchaseId, k.buyer, k.seller, k.secret),
                    (purchase, c.buyer, c.seller, pr.b)
                );
                assert_eq!(
                    (f.purchaseId, f.buyer, f.token, f.amount),
                    (purchase, c.buyer, token, price)
                );
            }
            other => panic!("expected KeyProvenWrong then Refunded: {other:?}"),
        }
        if token == ETH {
            assert_eq!(c.eth(c.buyer).await, buyer_eth + price - fee(&r));
            assert_eq!(c.eth(c.market.address).await, escrow_eth - price);
        } else {
            assert_eq!(c.eth(c.buyer).await, buyer_eth - fee(&r));
            assert_eq!(c.tusd_of(c.buyer).await, buyer_tusd + price);
            assert_eq!(c.tusd_of(c.market.address).await, escrow_tusd - price);
        }
        assert_eq!(c.state(purchase).await, REFUNDED);
        // Once: a second challenge, a refund, a delivery and a dispute all find it refunded.
        assert_eq!(
            reverts!(
                m.challenge(purchase, pr.b, pr.b_inv, pr.key, pr.s, d),
                c.buyer
            ),
            E::NotDelivered(DataMarket::NotDelivered {
                purchaseId: purchase
            })
        );
        assert_eq!(
            reverts!(
                m.deliver(purchase, c.delivery_of(purchase, &c.key)),
                c.seller
            ),
            E::AlreadyRefunded(DataMarket::AlreadyRefunded {
                purchaseId: purchase
            })
        );
        assert_eq!(
            reverts!(m.dispute(purchase, pr.b, "x".into()), c.buyer),
            E::NotDelivered(DataMarket::NotDelivered {
                purchaseId: purchase
            })
        );
        challenged.push(purchase);
    }
    assert_eq!(c.eth(c.market.address).await, U256::ZERO);
    assert_eq!(c.tusd_of(c.market.address).await, U256::ZERO);
    for token in [ETH, c.tusd] {
        assert_eq!(c.claimable(c.seller, token).await, U256::ZERO);
    }
    // After the window: nothing of it settles, not by settle, not by a withdrawal.
    c.pass(CHALLENGE_WINDOW + 1).await;
    for &purchase in &challenged {
        assert_eq!(
            reverts!(m.settle(vec![purchase]), c.other),
            E::NotSettled(DataMarket::NotSettled {
                purchaseId: purchase
            })
        );
        assert_eq!(
            reverts!(m.withdraw(ETH, c.seller, vec![purchase]), c.seller),
            E::NotSettled(DataMarket::NotSettled {
                purchaseId: purchase
            })
        );
        assert_eq!(
            reverts!(m.refund(purchase, c.buyer), c.buyer),
            E::AlreadyRefunded(DataMarket::AlreadyRefunded {
                purchaseId: purchase
            })
        );
    }
    for token in [ETH, c.tusd] {
        assert_eq!(c.claimable(c.seller, token).await, U256::ZERO);
        assert_eq!(
            reverts!(m.withdraw(token, c.seller, vec![]), c.seller),
            E::NothingToWithdraw(DataMarket::NothingToWithdraw { token })
        );
    }
}

/// A delivery of the committed key: a challenge reverts (KeyIsRight) and changes nothing, even
/// mined; after the window anyone settles it, the seller withdraws to another address, or
/// settles in the withdrawal itself; a challenge then comes too late.
#[tokio::test]
async fn a_right_key_cannot_be_challenged_and_settles_after_the_window() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let price = 10u64.pow(15);
    let (listing, _) = c.list(ETH, price, b"c").await;
    let mut purchases = vec![];
    let mut deliveries = vec![];
    for (b_odd, r_odd) in [(false, false), (false, true), (true, false), (true, true)] {
        let j = c.next_key(Some(b_odd));
        let (purchase, _) = c.buy_with(listing, j).await;
        let d = c.delivery_with_parity(purchase, &c.key, r_odd);
        c.deliver_bytes(purchase, d.clone()).await;
        let k = c.wallet.open_delivery(j, &d, &c.binding(purchase)).unwrap();
        assert_eq!(key_commit(&k), c.commit());
        let pr = c.proof(purchase, &d);
        assert_eq!(
            reverts!(
                m.challenge(purchase, pr.b, pr.b_inv, pr.key, pr.s, d.clone()),
                c.buyer
            ),
            E::KeyIsRight(DataMarket::KeyIsRight {})
        );
        purchases.push(purchase);
        deliveries.push(d);
    }
    // Mined, the reverting challenge costs the buyer its gas and nothing else.
    let (p0, d0) = (purchases[0], deliveries[0].clone());
    let pr = c.proof(p0, &d0);
    let stored = c.purchase(p0).await;
    let buyer_before = c.eth(c.buyer).await;
    let escrow = c.eth(c.market.address).await;
    let r = send_reverting!(
        m.challenge(p0, pr.b, pr.b_inv, pr.key.clone(), pr.s.clone(), d0.clone()),
        c.buyer
    );
    assert!(r.inner.logs().is_empty());
    assert_eq!(c.eth(c.buyer).await, buyer_before - fee(&r));
    assert_eq!(c.eth(c.market.address).await, escrow);
    assert_eq!(c.purchase(p0).await, stored);

    // Not before the window is over, by anyone.
    assert_eq!(
        reverts!(m.settle(vec![p0]), c.seller),
        E::NotSettled(DataMarket::NotSettled { purchaseId: p0 })
    );
    assert_eq!(
        reverts!(m.withdraw(ETH, c.seller, vec![p0]), c.seller),
        E::NotSettled(DataMarket::NotSettled { purchaseId: p0 })
    );
    assert_eq!(c.claimable(c.seller, ETH).await, U256::ZERO);

    c.pass(CHALLENGE_WINDOW + 1).await;
    assert_eq!(
        reverts!(
            m.challenge(p0, pr.b, pr.b_inv, pr.key.clone(), pr.s.clone(), d0.clone()),
            c.buyer
        ),
        E::ChallengeWindowOver(DataMarket::ChallengeWindowOver {
            purchaseId: p0,
            settlesAt: stored.settlesAt
        })
    );
    // Anyone settles (here a stranger), the price becomes claimable once.
    let r = send!(m.settle(vec![purchases[0], purchases[1]]), c.other);
    let settled: Vec<_> = events_of(&r)
        .into_iter()
        .map(|e| match e {
            Ev::Settled(s) => (s.purchaseId, s.seller, s.token, s.amount),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        settled,
        [
            (purchases[0], c.seller, ETH, U256::from(price)),
            (purchases[1], c.seller, ETH, U256::from(price))
        ]
    );
    assert_eq!(c.state(p0).await, SETTLED);
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(2 * price));
    // Settled already: skipped, so the seller's withdrawal naming it still goes through.
    let r = send!(m.settle(vec![p0]), c.other);
    assert!(r.inner.logs().is_empty());
    assert_eq!(c.claimable(c.seller, ETH).await, U256::from(2 * price));
    assert_eq!(
        reverts!(m.challenge(p0, pr.b, pr.b_inv, pr.key, pr.s, d0), c.buyer),
        E::NotDelivered(DataMarket::NotDelivered { purchaseId: p0 })
    );

    // The seller withdraws to another address: it gets the price, the seller pays the fee.
    assert_eq!(
        reverts!(m.withdraw(ETH, Address::ZERO, vec![]), c.seller),
        E::ZeroRecipient(DataMarket::ZeroRecipient {})
    );
    let to_before = c.eth(c.attacker).await;
    let seller_before = c.eth(c.seller).await;
    let r = send!(m.withdraw(ETH, c.attacker, vec![]), c.seller);
    let w: DataMarket::Withdrawn = event(&r);
    assert_eq!(
        (w.seller, w.token, w.amount),
        (c.seller, ETH, U256::from(2 * price))
    );
    assert_eq!(c.eth(c.attacker).await, to_before + U256::from(2 * price));
    assert_eq!(c.eth(c.seller).await, seller_before - fee(&r));
    assert_eq!(c.claimable(c.seller, ETH).await, U256::ZERO);

    // A withdrawal that settles first: both settle and are paid in the same call.
    let seller_before = c.eth(c.seller).await;
    let r = send!(
        m.withdraw(ETH, c.seller, vec![purchases[2], purchases[3]]),
        c.seller
    );
    match &events_of(&r)[..] {
        [Ev::Settled(a), Ev::Settled(b), Ev::Withdrawn(w)] => {
            assert_eq!((a.purchaseId, b.purchaseId), (purchases[2], purchases[3]));
            assert_eq!(w.amount, U256::from(2 * price));
        }
        other => panic!("expected two Settled then Withdrawn: {other:?}"),
    }
    assert_eq!(
        c.eth(c.seller).await,
        seller_before + U256::from(2 * price) - fee(&r)
    );
    assert_eq!(c.eth(c.market.address).await, U256::ZERO);
    for p in purchases {
        assert_eq!(c.state(p).await, SETTLED);
    }
}

/// A delivery after the deadline is refused (at the deadline itself it is still in time), and
/// the buyer's refund goes to the address it names, in ETH and in tUSD.
#[tokio::test]
async fn a_delivery_after_the_deadline_is_refused_and_the_refund_goes_where_the_buyer_says() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let (eth, _) = c.list(ETH, 1000, b"c").await;
    let (tusd, _) = c.list(c.tusd, 2_000_000, b"c").await;
    let (p_eth, _) = c.buy(eth).await;
    let (p_tusd, _) = c.buy(tusd).await;
    let (p_edge, _) = c.buy(eth).await;
    // At the deadline's very second, a delivery is in time (fixed gas: no estimate at some
    // other time).
    let edge = c.purchase(p_edge).await.deadline;
    c.next_block_at(edge).await;
    let r = send!(
        m.deliver(p_edge, c.delivery_of(p_edge, &c.key))
            .gas(200_000),
        c.seller
    );
    assert_eq!(c.time_of(&r).await, edge);
    assert_eq!(c.state(p_edge).await, DELIVERED);
    c.pass(2).await;
    for p in [p_eth, p_tusd] {
        let deadline = c.purchase(p).await.deadline;
        assert!(deadline <= edge);
        assert_eq!(
            reverts!(m.deliver(p, c.delivery_of(p, &c.key)), c.seller),
            E::DeliveryTooLate(DataMarket::DeliveryTooLate {
                purchaseId: p,
                deadline
            })
        );
        assert_eq!(
            reverts!(m.refund(p, Address::ZERO), c.buyer),
            E::ZeroRecipient(DataMarket::ZeroRecipient {})
        );
        assert_eq!(
            reverts!(m.refund(p, c.other), c.other),
            E::NotBuyer(DataMarket::NotBuyer { caller: c.other }),
            "naming oneself does not make one the buyer"
        );
    }
    let other_before = c.eth(c.other).await;
    let buyer_before = c.eth(c.buyer).await;
    let r = send!(m.refund(p_eth, c.other), c.buyer);
    let e: DataMarket::Refunded = event(&r);
    assert_eq!(
        (e.purchaseId, e.buyer, e.token, e.amount),
        (p_eth, c.buyer, ETH, U256::from(1000))
    );
    assert_eq!(c.eth(c.other).await, other_before + U256::from(1000));
    assert_eq!(c.eth(c.buyer).await, buyer_before - fee(&r));
    let r = send!(m.refund(p_tusd, c.other), c.buyer);
    let e: DataMarket::Refunded = event(&r);
    assert_eq!((e.token, e.amount), (c.tusd, U256::from(2_000_000)));
    assert_eq!(c.tusd_of(c.other).await, U256::from(2_000_000));
    assert_eq!(c.tusd_of(c.buyer).await, U256::ZERO);
    assert_eq!(c.tusd_of(c.market.address).await, U256::ZERO);
    for p in [p_eth, p_tusd] {
        assert_eq!(c.state(p).await, REFUNDED);
    }
    // Only the delivered purchase's price is left in escrow.
    assert_eq!(c.eth(c.market.address).await, U256::from(1000));
}

/// `buy` refuses a price above the buyer's maxPrice, in ETH and in a token, and a refused buy
/// (a reprice that raced it, mined) takes nothing from the buyer, whatever its allowance.
#[tokio::test]
async fn a_price_above_the_buyers_max_is_refused_and_the_buyer_pays_nothing() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let key = c.buyer_key(c.next_key(None));
    let (eth, _) = c.list(ETH, 1000, b"c").await;
    assert_eq!(
        reverts!(
            m.buy(eth, key.clone(), U256::from(999))
                .value(U256::from(1000)),
            c.buyer
        ),
        E::PriceAboveMax(DataMarket::PriceAboveMax {
            price: U256::from(1000),
            maxPrice: U256::from(999)
        })
    );
    // The seller reprices just before the buyer's transaction (signed at the old price) lands.
    send!(m.reprice(eth, U256::from(2000)), c.seller);
    let before = c.eth(c.buyer).await;
    let r = send_reverting!(
        m.buy(eth, key.clone(), U256::from(1000))
            .value(U256::from(1000)),
        c.buyer
    );
    assert_eq!(c.eth(c.buyer).await, before - fee(&r), "only the gas");
    assert_eq!(c.eth(c.market.address).await, U256::ZERO);
    assert_eq!(m.purchaseCount().call().await.unwrap(), U256::ZERO);

    // A token buyer with a generous allowance is not charged the higher price either.
    let (tusd, _) = c.list(c.tusd, 1_000_000, b"c").await;
    send!(c.tusd().faucet(c.buyer, U256::from(10_000_000)), c.buyer);
    send!(
        c.tusd().approve(c.market.address, U256::from(10_000_000)),
        c.buyer
    );
    send!(m.reprice(tusd, U256::from(5_000_000)), c.seller);
    assert_eq!(
        reverts!(m.buy(tusd, key.clone(), U256::from(1_000_000)), c.buyer),
        E::PriceAboveMax(DataMarket::PriceAboveMax {
            price: U256::from(5_000_000),
            maxPrice: U256::from(1_000_000)
        })
    );
    send_reverting!(m.buy(tusd, key.clone(), U256::from(1_000_000)), c.buyer);
    assert_eq!(c.tusd_of(c.buyer).await, U256::from(10_000_000));
    assert_eq!(
        c.tusd()
            .allowance(c.buyer, c.market.address)
            .call()
            .await
            .unwrap(),
        U256::from(10_000_000)
    );
    assert_eq!(c.tusd_of(c.market.address).await, U256::ZERO);
    assert_eq!(m.purchaseCount().call().await.unwrap(), U256::ZERO);
    // A maxPrice above the price buys at the price, not at the maximum.
    let r = send!(m.buy(tusd, key, U256::from(6_000_000)), c.buyer);
    let bought: DataMarket::Purchased = event(&r);
    assert_eq!(bought.price, U256::from(5_000_000));
    assert_eq!(c.tusd_of(c.buyer).await, U256::from(5_000_000));
    assert_eq!(c.tusd_of(c.market.address).await, U256::from(5_000_000));
}

/// Every malformed point, proof and caller is refused with its own error: R at deliver, then
/// each part of a challenge of a wrong key (which the untouched proof does refund at the end,
/// so each refusal is the one check that caught it), and a dispute's caller and secret.
#[tokio::test]
async fn malformed_points_and_proofs_are_refused() {
    let Some(c) = chain().await else { return };
    let m = c.market();
    let (listing, _) = c.list(ETH, 1000, b"c").await;
    let (purchase, _) = c.buy(listing).await;
    let (undelivered, _) = c.buy(listing).await;
    let d = c.delivery_of(purchase, &new_key().unwrap());
    let c_part = d.slice(POINT_LEN..);

    // R must be a point of the curve with x < n.
    let with_r = |r: &[u8]| -> Bytes { [r, &c_part[..]].concat().into() };
    for r in [
        off_curve_point(),
        point(U256::ZERO, U256::ZERO),
        flipped(&d[..POINT_LEN], POINT_LEN - 1),
        high_x_point(),
    ] {
        assert_eq!(
            reverts!(m.deliver(purchase, with_r(&r)), c.seller),
            E::BadDeliveryPoint(DataMarket::BadDeliveryPoint {}),
            "R = {r}"
        );
    }
    c.deliver_bytes(purchase, d.clone()).await;

    let pr = c.proof(purchase, &d);
    // Another buyer key's proof for the same R: a valid secret, key and S, not this purchase's.
    let theirs = proof_of(&c.wallet, c.next_key(None), &d);
    let n = order_n();
    let call = |from: Address, p: &Proof, delivery: &Bytes| {
        m.challenge(
            purchase,
            p.b,
            p.b_inv,
            p.key.clone(),
            p.s.clone(),
            delivery.clone(),
        )
        .from(from)
    };

    // Who and what: not the buyer; an unknown or undelivered purchase.
    for who in [c.seller, c.other] {
        assert_eq!(
            reverts!(call(who, &pr, &d), who),
            E::NotBuyer(DataMarket::NotBuyer { caller: who })
        );
    }
    for (id, err) in [
        (
            U256::from(99),
            E::UnknownPurchase(DataMarket::UnknownPurchase {
                purchaseId: U256::from(99),
            }),
        ),
        (
            undelivered,
            E::NotDelivered(DataMarket::NotDelivered {
                purchaseId: undelivered,
            }),
        ),
    ] {
        assert_eq!(
            reverts!(
                m.challenge(id, pr.b, pr.b_inv, pr.key.clone(), pr.s.clone(), d.clone()),
                c.buyer
            ),
            err
        );
    }
    // The delivery must be the bytes delivered.
    let mut negated_r = negated(&d[..POINT_LEN]).to_vec();
    negated_r.extend_from_slice(&c_part);
    for other in [
        flipped(&d, DELIVERY_LEN - 1),
        flipped(&d, 0),
        d.slice(..DELIVERY_LEN - 1),
        Bytes::new(),
        negated_r.into(),
        c.delivery_of(purchase, &c.key),
    ] {
        assert_eq!(
            reverts!(call(c.buyer, &pr, &other), c.buyer),
            E::WrongDelivery(DataMarket::WrongDelivery {}),
            "delivery {other}"
        );
    }
    // B must be the key paid with.
    for key in [
        theirs.key.clone(),
        negated(&pr.key),
        pr.key.slice(..POINT_LEN - 1),
    ] {
        let p = Proof {
            key: key.clone(),
            ..pr.clone()
        };
        assert_eq!(
            reverts!(call(c.buyer, &p, &d), c.buyer),
            E::WrongBuyerKey(DataMarket::WrongBuyerKey {}),
            "B = {key}"
        );
    }
    assert_eq!(
        reverts!(call(c.buyer, &theirs, &d), c.buyer),
        E::WrongBuyerKey(DataMarket::WrongBuyerKey {}),
        "another key's whole proof"
    );
    // b and bInv: b·bInv = 1 mod n, both in (0, n), and bInv·B = G.
    let secrets = [
        (U256::ZERO, pr.b_inv, "b = 0"),
        (n, pr.b_inv, "b = n"),
        (pr.b, U256::ZERO, "bInv = 0"),
        (pr.b, pr.b_inv.add_mod(U256::from(1), n), "bInv + 1"),
        (pr.b, pr.b_inv + n, "bInv + n"),
        (theirs.b, theirs.b_inv, "another key's b and bInv"),
        (n - pr.b, n - pr.b_inv, "−b and −bInv: bInv'·B = −G"),
    ];
    for (b, b_inv, what) in secrets {
        let p = Proof {
            b,
            b_inv,
            ..pr.clone()
        };
        assert_eq!(
            reverts!(call(c.buyer, &p, &d), c.buyer),
            E::WrongSecret(DataMarket::WrongSecret {}),
            "{what}"
        );
    }
    // S: a point on the curve, and b·R.
    for s in [
        pr.s.slice(..POINT_LEN - 1),
        Bytes::new(),
        off_curve_point(),
        flipped(&pr.s, POINT_LEN - 1),
    ] {
        let p = Proof {
            s: s.clone(),
            ..pr.clone()
        };
        assert_eq!(
            reverts!(call(c.buyer, &p, &d), c.buyer),
            E::BadPoint(DataMarket::BadPoint {}),
            "S = {s}"
        );
    }
    for (s, what) in [
        (negated(&pr.s), "−S"),
        (theirs.s.clone(), "another key's S"),
        (pr.key.clone(), "B"),
        (d.slice(..POINT_LEN), "R"),
    ] {
        let p = Proof { s, ..pr.clone() };
        assert_eq!(
            reverts!(call(c.buyer, &p, &d), c.buyer),
            E::WrongSharedPoint(DataMarket::WrongSharedPoint {}),
            "{what}"
        );
    }
    // Disputes: only the buyer, only with the key's own secret.
    for who in [c.seller, c.other] {
        assert_eq!(
            reverts!(m.dispute(purchase, pr.b, "x".into()), who),
            E::NotBuyer(DataMarket::NotBuyer { caller: who })
        );
    }
    for secret in [theirs.b, pr.b_inv, n - pr.b] {
        assert_eq!(
            reverts!(m.dispute(purchase, secret, "x".into()), c.buyer),
            E::WrongSecret(DataMarket::WrongSecret {}),
            "dispute secret {secret:#x}"
        );
    }
    assert_eq!(c.state(purchase).await, DELIVERED);
    // The untouched proof refunds: every refusal above was its own check's.
    let r = send!(call(c.buyer, &pr, &d), c.buyer);
    let k: DataMarket::KeyProvenWrong = event(&r);
    assert_eq!(k.secret, pr.b);
    assert_eq!(c.state(purchase).await, REFUNDED);
}

/// The v1 market's gas for the same calls (v1 has no challenge or settle), on the same anvil.
async fn v1_gas(c: &Chain) -> BTreeMap<&'static str, u64> {
    use v1::DataMarketV1 as V1;
    let r = send!(V1::deploy_builder(c.p.clone(), vec![c.tusd]), c.other);
    let m = V1::new(r.contract_address.unwrap(), c.p.clone());
    let mut g = BTreeMap::new();
    g.insert("deploy (tUSD allowed)", r.gas_used);
    let list = |token: Address, data: Vec<u8>| {
        m.list(
            U256::from(1000),
            token,
            content_hash().into(),
            c.commit().into(),
            data.into(),
            String::new(),
            r#"{"v":1,"title":"notes","tags":[],"bytes":1,"redactions":{},"type":"text/plain"}"#
                .into(),
        )
    };
    let r = send!(list(ETH, vec![0xab; 4096]), c.seller);
    g.insert("list, 4 KiB inline", r.gas_used);
    send!(list(c.tusd, b"c".to_vec()), c.seller);
    let key33: Bytes = [&[0x02u8][..], &[0x5a; 32]].concat().into();
    let r = send!(
        m.buy(U256::from(1), key33.clone()).value(U256::from(1000)),
        c.buyer
    );
    g.insert("buy, ETH", r.gas_used);
    send!(c.tusd().faucet(c.buyer, U256::from(1000)), c.buyer);
    send!(c.tusd().approve(*m.address(), U256::from(1000)), c.buyer);
    let r = send!(m.buy(U256::from(2), key33.clone()), c.buyer);
    g.insert("buy, tUSD", r.gas_used);
    send!(m.buy(U256::from(1), key33).value(U256::from(1000)), c.buyer);
    let envelope: Bytes = vec![0xe1; 129].into();
    let r = send!(m.deliver(U256::from(1), envelope.clone()), c.seller);
    g.insert("deliver", r.gas_used);
    send!(m.deliver(U256::from(2), envelope), c.seller);
    let r = send!(m.dispute(U256::from(1), "hash mismatch".into()), c.buyer);
    g.insert("dispute", r.gas_used);
    c.pass(WINDOW + 1).await;
    let r = send!(m.refund(U256::from(3)), c.buyer);
    g.insert("refund, ETH", r.gas_used);
    let r = send!(m.withdraw(ETH), c.seller);
    g.insert("withdraw, ETH", r.gas_used);
    let r = send!(m.withdraw(c.tusd), c.seller);
    g.insert("withdraw, tUSD", r.gas_used);
    g
}

/// Gas used per call, for the closing note (printed; run with --nocapture to see it), v1's
/// beside v2's, with bounds well above today's figures so that a change that makes a call far
/// dearer fails here, and the issue's bound on a challenge that refunds.
#[tokio::test]
async fn gas_used_per_call() {
    let Some(c) = chain().await else { return };
    let m = c.market();
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
    // The seller holds some tUSD already, as it will when v1's withdrawal runs after this one:
    // a first balance costs ~17k more, which would make the two withdrawals incomparable.
    send!(c.tusd().faucet(c.seller, U256::from(1)), c.seller);
    let (eth, list_4k) = c.list(ETH, 1000, &[0xab; 4096]).await;
    let (tusd, _) = c.list(c.tusd, 1000, b"c").await;
    let (p_eth, buy_eth) = c.buy(eth).await;
    let (p_tusd, buy_tusd) = c.buy(tusd).await;
    let (p_refund, _) = c.buy(eth).await;
    let (p_wrong, _) = c.buy(eth).await;
    let (p_right, _) = c.buy(eth).await;
    let (p_settle_first, _) = c.buy(eth).await;
    let deliver = c.deliver(p_eth).await;
    c.deliver(p_tusd).await;
    c.deliver(p_settle_first).await;
    let wrong = c.delivery_of(p_wrong, &new_key().unwrap());
    c.deliver_bytes(p_wrong, wrong.clone()).await;
    let pr = c.proof(p_wrong, &wrong);
    let challenge_wrong = send!(
        m.challenge(p_wrong, pr.b, pr.b_inv, pr.key, pr.s, wrong),
        c.buyer
    );
    let right = event::<DataMarket::Delivered>(&c.deliver(p_right).await).delivery;
    let pr = c.proof(p_right, &right);
    let challenge_right = send_reverting!(
        m.challenge(p_right, pr.b, pr.b_inv, pr.key, pr.s, right),
        c.buyer
    );
    let dispute = send!(m.dispute(p_right, pr.b, "hash mismatch".into()), c.buyer);
    c.pass(WINDOW.max(CHALLENGE_WINDOW) + 1).await;
    let refund = send!(m.refund(p_refund, c.buyer), c.buyer);
    let settle = send!(m.settle(vec![p_eth]), c.other);
    let withdraw_eth = send!(m.withdraw(ETH, c.seller, vec![]), c.seller);
    send!(m.settle(vec![p_tusd]), c.other);
    let withdraw_tusd = send!(m.withdraw(c.tusd, c.seller, vec![]), c.seller);
    let withdraw_settling = send!(m.withdraw(ETH, c.seller, vec![p_settle_first]), c.seller);

    let v1 = v1_gas(&c).await;
    let figures = [
        ("deploy (tUSD allowed)", deploy, 3_000_000),
        ("list, 4 KiB inline", list_4k.gas_used, 300_000),
        ("buy, ETH", buy_eth.gas_used, 250_000),
        ("buy, tUSD", buy_tusd.gas_used, 300_000),
        ("deliver", deliver.gas_used, 120_000),
        (
            "challenge, wrong key",
            challenge_wrong.gas_used,
            80_000, // the issue's bound
        ),
        ("challenge, right key", challenge_right.gas_used, 80_000),
        ("dispute", dispute.gas_used, 100_000),
        ("refund, ETH", refund.gas_used, 100_000),
        ("settle, one", settle.gas_used, 100_000),
        ("withdraw, ETH", withdraw_eth.gas_used, 100_000),
        ("withdraw, tUSD", withdraw_tusd.gas_used, 100_000),
        (
            "withdraw, ETH, settling one",
            withdraw_settling.gas_used,
            120_000,
        ),
    ];
    println!("DataMarket gas used (anvil):");
    println!("  {:<28} {:>9} {:>9}", "call", "v2", "v1");
    for (call, gas, bound) in figures {
        let old = v1.get(call).map_or("-".to_owned(), |g| g.to_string());
        println!("  {call:<28} {gas:>9} {old:>9}");
        assert!(gas < bound, "{call}: {gas} gas, expected under {bound}");
    }
    println!("  (challenge, right key: reverted with KeyIsRight, mined with a fixed gas limit)");
}
