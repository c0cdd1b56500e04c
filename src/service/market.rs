//! The market on chain for the command line and the app: which market a network uses, the
//! transactions of each step built as intents (list, approve, buy, deliver, refund, dispute,
//! withdraw), and the buyer's checks of what was delivered. Sending goes through the
//! transaction service like every other transaction; this module only decides what to send.
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use anyhow::{Result, anyhow, bail};
use keybot_keystore::content::{self, ContentError};
use keybot_keystore::secret::Secret32;
use keybot_keystore::{Wallet, sign};

use crate::chain::indexer::IndexerConfig;
use crate::chain::market_contract::DataMarket;
use crate::chain::{Call, ChainResult, Client, Token};
use crate::market::book::{Book, Listing, Purchase};
use crate::market::earnings::{self, Earnings};
use crate::market::events::Located;
use crate::market::meta::Meta;
use crate::market::{consent, index, receipt};
use crate::service::vault::{ConsentState, ItemView};
use crate::store::{ListingSecret, Store};

/// The most ciphertext a listing carries inline (the contract's MAX_INLINE_DATA).
pub const MAX_INLINE: usize = 32 * 1024;

/// A market contract on a network, as the config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Market {
    pub address: Address,
    /// Its deployment block: where its events start.
    pub deployed: u64,
}

/// The network names no market contract. Typed so the app can carry it in its actions (and tell
/// it from a chain failure); its `Display` is the one line that says how to get one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "network {network} has no market: `keybot market join ADDRESS` (or `keybot chain dev`, which deploys one)"
)]
pub struct NoMarket {
    pub network: String,
}

/// The market the client's network uses; one line saying how to get one when there is none.
pub fn market_of(client: &Client) -> Result<Market, NoMarket> {
    match (client.network.market, client.network.market_block) {
        (Some(address), Some(deployed)) => Ok(Market { address, deployed }),
        (Some(address), None) => Ok(Market {
            address,
            deployed: 0,
        }),
        _ => Err(NoMarket {
            network: client.name.clone(),
        }),
    }
}

/// How the market's events are read: the last 12 blocks re-read on every pass, on a dev chain
/// too (anvil's `evm_revert` rewinds it, and the earnings must follow; 12 blocks of logs cost
/// nothing there).
pub fn index_config(_client: &Client) -> IndexerConfig {
    IndexerConfig {
        reorg_depth: 12,
        ..IndexerConfig::default()
    }
}

/// How many blocks below the head an event must be for the earnings to count it: 2 on a public
/// chain, 0 on a dev chain (nothing there reorgs by itself). Within the indexer's re-read depth,
/// so an event that leaves the chain before it is confirmed is replaced, never counted.
pub fn default_confirmations(client: &Client) -> u64 {
    if client.network.dev { 0 } else { 2 }
}

/// Reads the market's new events, then the earnings of `sellers` from the stored events up to
/// `confirmations` below the head.
pub async fn sync_earnings(
    client: &Client,
    store: &Store,
    market: Market,
    sellers: &[Address],
    confirmations: u64,
) -> ChainResult<Earnings> {
    let config = IndexerConfig {
        reorg_depth: index_config(client).reorg_depth.max(confirmations),
        ..index_config(client)
    };
    let pass = index::sync(client, store, market.address, market.deployed, &config).await?;
    let confirmed = earnings::confirmed_block(pass.head, confirmations);
    let now = chain_time(client).await?;
    Ok(stored_earnings(
        store,
        client.network.chain_id,
        market,
        sellers,
        confirmed,
        now,
    )?)
}

/// The chain's clock (the latest block's time): deadlines and challenge windows are the
/// contract's, not this machine's (a dev chain may be days ahead after `evm_increaseTime`).
pub async fn chain_time(client: &Client) -> ChainResult<u64> {
    let block = client
        .provider()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|e| client.error(e))?
        .ok_or_else(|| crate::chain::ChainError::Node("the node has no latest block".into()))?;
    Ok(block.header.timestamp)
}

/// The earnings of `sellers` from what the store holds, without reading the chain (the app's
/// screen opens with these at once); `now` is the chain's time when known (else this
/// machine's, never earlier than the last block the store has seen).
pub fn stored_earnings(
    store: &Store,
    chain_id: u64,
    market: Market,
    sellers: &[Address],
    confirmed: u64,
    now: u64,
) -> crate::store::Result<Earnings> {
    let rows = store.market_events(chain_id, market.address)?;
    let events: Vec<Located> = rows.iter().filter_map(Located::from_row).collect();
    let times = store.market_block_times(chain_id, market.address)?;
    let now = now.max(times.values().copied().max().unwrap_or(0));
    Ok(Earnings::compute(&events, &times, sellers, confirmed, now))
}

/// An amount as an exact decimal string in the token's units ("5", "0.25"); raw base units for
/// a token this machine does not know the decimals of.
pub fn token_amount(client: &Client, token: Address, amount: U256) -> String {
    match token_of(client, token) {
        Some(t) => crate::chain::amount::format(amount, t.decimals),
        None => amount.to_string(),
    }
}

/// "ETH" or the token's checksummed address, as the earnings JSON and CSV name tokens.
pub fn token_key(token: Address) -> String {
    if token == Address::ZERO {
        "ETH".into()
    } else {
        token.to_checksum(None)
    }
}

/// `market earnings --json`: the shape issue 13 fixes for scripts.
pub fn earnings_json(client: &Client, e: &Earnings) -> serde_json::Value {
    use crate::sanitize::clean_line;
    let tokens: Vec<_> = e
        .tokens
        .iter()
        .map(|f| {
            let t = token_of(client, f.token);
            let a = |v: U256| token_amount(client, f.token, v);
            serde_json::json!({
                "token": token_key(f.token),
                "symbol": t.as_ref().map(|t| clean_line(&t.symbol)),
                "decimals": t.as_ref().map(|t| t.decimals),
                "earned": a(f.earned),
                "settling": a(f.settling),
                "pending": a(f.pending),
                "claimable": a(f.claimable),
                "withdrawn": a(f.withdrawn),
                "refunded": a(f.refunded),
                // The days with deliveries, the most recent 30 (UTC dates).
                "per_day": e.daily.get(&f.token).map(|days| {
                    days.iter()
                        .skip(days.len().saturating_sub(30))
                        .map(|(day, v)| serde_json::json!({
                            "date": crate::market::earnings::utc_date(*day),
                            "earned": a(*v),
                        }))
                        .collect::<Vec<_>>()
                }).unwrap_or_default(),
            })
        })
        .collect();
    let listings: Vec<_> = e
        .listings
        .iter()
        .map(|l| {
            serde_json::json!({
                "listing": l.listing,
                "title": clean_line(&l.title),
                "sales": l.sales,
                "revenue": token_amount(client, l.token, l.revenue),
                "refunds": l.refunds,
                "disputes": l.disputes,
            })
        })
        .collect();
    serde_json::json!({
        "network": client.name,
        "chain_id": client.network.chain_id,
        "block": e.block,
        "tokens": tokens,
        "listings": listings,
    })
}

/// Reads the market's new events and returns the book.
pub async fn sync(client: &Client, store: &Store, market: Market) -> ChainResult<Book> {
    index::sync(
        client,
        store,
        market.address,
        market.deployed,
        &index_config(client),
    )
    .await?;
    Ok(index::book(store, client.network.chain_id, market.address)?)
}

fn abi() -> alloy::json_abi::JsonAbi {
    DataMarket::abi::contract()
}

/// The asset a listing is priced in: ETH, or one of the network's configured tokens. A token
/// this machine does not know is shown by address with no decimals assumed.
pub fn token_of(client: &Client, token: Address) -> Option<Token> {
    if token == Address::ZERO {
        return Some(eth());
    }
    client
        .network
        .tokens
        .iter()
        .find(|t| t.address == token)
        .cloned()
}

/// ETH as the market names it: `Address::ZERO`, 18 decimals.
pub fn eth() -> Token {
    Token {
        symbol: "ETH".into(),
        address: Address::ZERO,
        decimals: 18,
    }
}

/// `price` in the listing token's units ("5 tUSD"), or raw units with the token's address.
pub fn format_price(client: &Client, token: Address, price: U256) -> String {
    match token_of(client, token) {
        Some(t) => format!(
            "{} {}",
            crate::chain::amount::format(price, t.decimals),
            crate::sanitize::clean_line(&t.symbol)
        ),
        None => format!("{price} units of {}", token.to_checksum(None)),
    }
}

/// What `market sell` will list: the secret to keep and the call to send.
#[derive(Debug)]
pub struct Sale {
    pub secret: ListingSecret,
    pub call: Call,
    pub meta: Meta,
}

/// Plans a listing of a consented vault item: encrypts its exact preview bytes under a fresh
/// key and builds the `list` call. Refused unless the consent is current and its signature
/// verifies for the listing account (MARKET.md: a listing is only made from an item whose
/// current plaintext hash equals the consented one).
pub fn plan_sale(
    client: &Client,
    market: Market,
    item: &ItemView,
    token: &Token,
    price: U256,
    uri: Option<&str>,
    tags: &[String],
) -> Result<Sale> {
    let consent_given = match &item.consent {
        ConsentState::Given(c) => c,
        ConsentState::None => bail!(
            "item {} has no consent: review `keybot market preview {0}`, then `keybot market consent {0}`",
            item.item.id
        ),
        ConsentState::Stale(_) => bail!(
            "item {}'s consent was for other bytes than its preview now: consent again (`keybot market consent {0}`)",
            item.item.id
        ),
    };
    let seller: Address = consent_given
        .account
        .parse()
        .map_err(|_| anyhow!("the stored consent names no account"))?;
    let statement = consent::statement(item.item.id, &consent_given.sha256, consent_given.time);
    let signature = sign::parse_signature(&consent_given.signature)?;
    if !sign::verify_message(seller, statement.as_bytes(), &signature) {
        bail!(
            "item {}'s consent signature does not verify; consent again",
            item.item.id
        );
    }
    if price.is_zero() {
        bail!("the price is zero; a listing needs a price");
    }
    let key = content::new_key()?;
    let ciphertext = content::seal(&key, item.preview.text.as_bytes())?;
    let content_hash = B256::from(content::content_hash(&ciphertext));
    let key_commit = B256::from(content::key_commit(&key));
    let (data, uri) = match uri {
        Some(u) => (Bytes::new(), check_uri(u)?.to_owned()),
        None if ciphertext.len() <= MAX_INLINE => (Bytes::from(ciphertext.clone()), String::new()),
        None => bail!(
            "the item's ciphertext is {} bytes, over the {MAX_INLINE} a listing carries inline: \
             publish it and pass --uri (--ciphertext-out FILE writes it)",
            ciphertext.len()
        ),
    };
    let meta = Meta::new(
        &item.item.title,
        tags,
        item.preview.text.len() as u64,
        item.preview
            .counts_by_key()
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n as u64))
            .collect(),
    );
    let list = DataMarket::listCall {
        price,
        token: token.address,
        contentHash: content_hash,
        keyCommit: key_commit,
        data,
        uri: uri.clone(),
        meta: meta.to_json(),
    };
    let shown_price = format!(
        "{} {}",
        crate::chain::amount::format(price, token.decimals),
        crate::sanitize::clean_line(&token.symbol)
    );
    let call = Call::from_sol(seller, market.address, &abi(), &list, U256::ZERO)?
        .labelled("DataMarket")
        .amount_of(0, token.clone())
        .purpose(receipt::list(item.item.id, &item.item.title, &shown_price));
    Ok(Sale {
        secret: ListingSecret {
            content_hash,
            chain_id: client.network.chain_id,
            market: market.address,
            item_id: item.item.id,
            seller,
            content_key: key,
            ciphertext,
            uri,
            listing_id: None,
            created_at: 0,
        },
        call,
        meta,
    })
}

/// A URI a buyer's keybot can fetch the ciphertext from.
pub fn check_uri(uri: &str) -> Result<&str> {
    if uri.len() > 2048 || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        bail!("the URI is too long or holds spaces or control characters");
    }
    if !(uri.starts_with("https://") || uri.starts_with("ipfs://") || uri.starts_with("file://")) {
        bail!("the URI must start with https://, ipfs:// or file://");
    }
    Ok(uri)
}

/// The one-time buyer keys of this wallet's purchases (MARKET.md v2 "One-time buyer keys"):
/// key j → its index, found by scanning j upward from 0 until 20 in a row match none of the
/// purchases made from `own` addresses, so a wallet restored from the phrase finds them again
/// from the chain alone.
#[derive(Debug, Default)]
pub struct BuyerKeys {
    found: std::collections::HashMap<Bytes, u32>,
    /// The first j no purchase used: the next purchase's key.
    next: u32,
}

/// How many unused buyer keys in a row end the scan.
pub const BUYER_KEY_GAP: u32 = 20;

impl BuyerKeys {
    pub fn scan(wallet: &Wallet, book: &Book, own: &[Address]) -> Result<BuyerKeys> {
        let used: std::collections::HashSet<&Bytes> = book
            .purchases
            .values()
            .filter(|p| own.contains(&p.buyer))
            .map(|p| &p.buyer_key)
            .collect();
        let mut keys = BuyerKeys::default();
        let mut next = None;
        let mut misses = 0;
        let mut j = 0u32;
        while misses < BUYER_KEY_GAP && j <= keybot_keystore::delivery::MAX_BUYER_KEY {
            if let Some(key) = wallet.buyer_key(j)? {
                let key = Bytes::from(key.to_vec());
                if used.contains(&key) {
                    keys.found.insert(key, j);
                    misses = 0;
                } else {
                    next.get_or_insert(j);
                    misses += 1;
                }
            }
            j += 1;
        }
        keys.next = next.unwrap_or(j);
        Ok(keys)
    }

    /// The index of the key a purchase was paid with, if it is one of this wallet's.
    pub fn index_of(&self, purchase: &Purchase) -> Option<u32> {
        self.found.get(&purchase.buyer_key).copied()
    }

    /// The next purchase's key: its index and the 64 bytes `buy` takes.
    pub fn next(&self, wallet: &Wallet) -> Result<(u32, [u8; 64])> {
        let mut j = self.next;
        loop {
            if let Some(key) = wallet.buyer_key(j)? {
                return Ok((j, key));
            }
            j += 1;
        }
    }
}

/// The `buy` call for `listing` (ETH is sent with it; a token is approved first, separately),
/// paying into escrow with a one-time buyer key and refused by the contract if the price is
/// above `max_price` (what the user saw).
pub fn buy_call(
    buyer: Address,
    market: Market,
    listing: &Listing,
    buyer_key: &[u8; 64],
    max_price: U256,
) -> Result<Call> {
    let value = if listing.token == Address::ZERO {
        listing.price
    } else {
        U256::ZERO
    };
    let call = DataMarket::buyCall {
        listingId: U256::from(listing.id),
        buyerKey: Bytes::from(buyer_key.to_vec()),
        maxPrice: max_price,
    };
    Ok(Call::from_sol(buyer, market.address, &abi(), &call, value)?.labelled("DataMarket"))
}

/// The approvals a token purchase needs so that the market may take exactly `price` and no
/// more: none when the allowance is already exactly the price; otherwise a reset to zero first
/// when some allowance is left (a token like USDT refuses to change a non-zero allowance, and a
/// leftover allowance is what a reprice could take), then the price.
pub fn approvals_for(
    owner: Address,
    token: &Token,
    market: Market,
    allowance: U256,
    price: U256,
) -> Vec<Call> {
    if allowance == price {
        return Vec::new();
    }
    let mut calls = Vec::new();
    if !allowance.is_zero() {
        calls.push(approve_call(owner, token, market, U256::ZERO));
    }
    calls.push(approve_call(owner, token, market, price));
    calls
}

/// Before paying (MARKET.md v2): the listing's ciphertext, fetched and checked against its
/// content hash. The caller keeps it (a seller who takes a URI down after the sale cannot
/// withhold the bytes).
/// `from_file`: a copy the buyer got by hand (an ipfs:// listing, or a stranger's file://).
pub fn prefetch(
    listing: &Listing,
    from_file: Option<&std::path::Path>,
    src: &Sources<'_>,
) -> Result<Vec<u8>> {
    let ciphertext = ciphertext_of(listing, from_file, src)?;
    if B256::from(content::content_hash(&ciphertext)) != listing.content_hash {
        bail!(
            "listing {}'s ciphertext is not the listed one (keccak256 differs from its content hash); nothing was paid",
            listing.id
        );
    }
    Ok(ciphertext)
}

/// The token's allowance from `owner` to the market.
pub async fn allowance(
    client: &Client,
    token: Address,
    owner: Address,
    market: Market,
) -> ChainResult<U256> {
    crate::chain::token::IERC20::new(token, client.provider())
        .allowance(owner, market.address)
        .call()
        .await
        .map_err(|e| match e {
            alloy::contract::Error::TransportError(t) => client.error(t),
            other => crate::chain::ChainError::Node(
                crate::sanitize::clean_line(&other.to_string()).into_owned(),
            ),
        })
}

/// The `approve` of exactly `amount` for the market: no standing allowance beyond the price.
pub fn approve_call(owner: Address, token: &Token, market: Market, amount: U256) -> Call {
    let call = crate::chain::token::approve(owner, token, market.address, amount);
    if amount.is_zero() {
        return call.purpose(receipt::reset_approval(&token.symbol, market.address));
    }
    let shown = format!(
        "{} {}",
        crate::chain::amount::format(amount, token.decimals),
        crate::sanitize::clean_line(&token.symbol)
    );
    call.purpose(receipt::approve(&shown, owner, market.address))
}

/// A seller never delivers within this many seconds of the deadline: a transaction that lands
/// after it reverts, and a reverted or pending delivery shows the key to anyone watching.
pub const DELIVERY_MARGIN: u64 = 3600;

/// Whether a paid purchase may still be delivered at `now` (the chain's time) with the margin.
pub fn deliverable(purchase: &Purchase, now: u64) -> bool {
    purchase.state == crate::market::book::PurchaseState::Paid
        && now.saturating_add(DELIVERY_MARGIN) < purchase.deadline
}

/// What binds a delivery to one purchase on one market and chain.
pub fn binding(
    chain_id: u64,
    market: Address,
    purchase: u64,
) -> keybot_keystore::delivery::Binding {
    keybot_keystore::delivery::Binding {
        chain_id,
        market,
        purchase_id: purchase,
    }
}

/// The `deliver` call for `purchase`: the listing's content key as `R ‖ c` for the buyer's
/// one-time key. A buyer key that is no point the contract would have accepted is refused
/// here with one line (the caller skips that purchase and goes on).
pub fn deliver_call(purchase: &Purchase, secret: &ListingSecret) -> Result<Call> {
    let delivery = keybot_keystore::delivery::deliver(
        &purchase.buyer_key,
        &secret.content_key,
        &binding(secret.chain_id, secret.market, purchase.id),
    )
    .map_err(|e| {
        anyhow!(
            "purchase {} cannot be delivered: its buyer key: {e}",
            purchase.id
        )
    })?;
    let call = DataMarket::deliverCall {
        purchaseId: U256::from(purchase.id),
        delivery: Bytes::from(delivery.to_vec()),
    };
    Ok(
        Call::from_sol(purchase.seller, secret.market, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket"),
    )
}

/// `refund`: the payment of an undelivered purchase back, to the buyer or to `to`.
pub fn refund_call(purchase: &Purchase, market: Market, to: Option<Address>) -> Result<Call> {
    let call = DataMarket::refundCall {
        purchaseId: U256::from(purchase.id),
        to: to.unwrap_or(purchase.buyer),
    };
    Ok(
        Call::from_sol(purchase.buyer, market.address, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket"),
    )
}

/// The index of the one-time key `purchase` was paid with; refused for another wallet's.
fn own_key(keys: &BuyerKeys, purchase: &Purchase) -> Result<u32> {
    keys.index_of(purchase).ok_or_else(|| {
        anyhow!(
            "purchase {} was not paid with one of this wallet's buyer keys",
            purchase.id
        )
    })
}

/// `challenge`: publishes the purchase's one-time secret so the contract can check the key
/// itself; only ever sent after this client found the key wrong ([`open_key`]).
pub fn challenge_call(
    wallet: &Wallet,
    keys: &BuyerKeys,
    purchase: &Purchase,
    market: Market,
) -> Result<Call> {
    let j = own_key(keys, purchase)?;
    let delivery = purchase
        .delivery
        .as_ref()
        .ok_or_else(|| anyhow!("purchase {} is not delivered", purchase.id))?;
    let proof = wallet.challenge_proof(j, delivery)?;
    let call = DataMarket::challengeCall {
        purchaseId: U256::from(purchase.id),
        b: U256::from_be_bytes(*proof.secret()),
        bInv: U256::from_be_bytes(*proof.inverse()),
        buyerKey: Bytes::from(proof.buyer_key.to_vec()),
        s: Bytes::from(proof.shared.to_vec()),
        delivery: delivery.clone(),
    };
    Ok(
        Call::from_sol(purchase.buyer, market.address, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket"),
    )
}

/// `dispute`: a claim about a delivery, carrying the purchase's one-time secret so that every
/// client can check it (and the content becomes public if the claim is false).
pub fn dispute_call(
    wallet: &Wallet,
    keys: &BuyerKeys,
    purchase: &Purchase,
    market: Market,
    reason: &str,
) -> Result<Call> {
    let j = own_key(keys, purchase)?;
    let secret = wallet.dispute_secret(j)?;
    let call = DataMarket::disputeCall {
        purchaseId: U256::from(purchase.id),
        secret: U256::from_be_bytes(*secret.expose()),
        reason: reason.to_owned(),
    };
    Ok(
        Call::from_sol(purchase.buyer, market.address, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket")
            .purpose(receipt::dispute(purchase)),
    )
}

pub fn reprice_call(listing: &Listing, market: Market, price: U256) -> Result<Call> {
    let call = DataMarket::repriceCall {
        listingId: U256::from(listing.id),
        price,
    };
    Ok(
        Call::from_sol(listing.seller, market.address, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket"),
    )
}

pub fn delist_call(listing: &Listing, market: Market) -> Result<Call> {
    let call = DataMarket::delistCall {
        listingId: U256::from(listing.id),
    };
    Ok(
        Call::from_sol(listing.seller, market.address, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket")
            .purpose(receipt::delist(listing)),
    )
}

/// `withdraw`: settles `settle_first` (purchases whose window is over but whose settlement is
/// not on chain yet, [`Book::to_settle`]) and moves all of `seller`'s claimable `token` to `to`.
pub fn withdraw_call(
    seller: Address,
    market: Market,
    token: Address,
    to: Address,
    settle_first: Vec<u64>,
) -> Result<Call> {
    let call = DataMarket::withdrawCall {
        token,
        to,
        settleFirst: settle_first.into_iter().map(U256::from).collect(),
    };
    Ok(Call::from_sol(seller, market.address, &abi(), &call, U256::ZERO)?.labelled("DataMarket"))
}

/// The contract's own `claimable(seller, token)`.
pub async fn claimable_on_chain(
    client: &Client,
    market: Market,
    seller: Address,
    token: Address,
) -> Result<U256> {
    let data = DataMarket::claimableCall { seller, token }.abi_encode();
    let tx = alloy::rpc::types::TransactionRequest::default()
        .to(market.address)
        .input(data.into());
    let out = client
        .provider()
        .call(tx)
        .await
        .map_err(|e| client.error(e))?;
    Ok(DataMarket::claimableCall::abi_decode_returns(&out)?)
}

/// The buyer's side of a market: the wallet with its one-time keys, where the market is, the
/// chain's time and the wallet's own addresses.
#[derive(Clone, Copy)]
pub struct Buyer<'a> {
    pub wallet: &'a Wallet,
    pub keys: &'a BuyerKeys,
    pub chain_id: u64,
    pub market: Address,
    pub now: u64,
    pub own: &'a [Address],
    /// `market.ipfs_gateway`, for an ipfs:// listing's ciphertext.
    pub ipfs_gateway: Option<&'a str>,
}

impl<'a> Buyer<'a> {
    /// The buyer on `client`'s network and `market` at the chain's time `now`, with no IPFS
    /// gateway (set `ipfs_gateway` for one).
    pub fn new(
        wallet: &'a Wallet,
        keys: &'a BuyerKeys,
        client: &Client,
        market: Market,
        now: u64,
        own: &'a [Address],
    ) -> Buyer<'a> {
        Buyer {
            wallet,
            keys,
            chain_id: client.network.chain_id,
            market: market.address,
            now,
            own,
            ipfs_gateway: None,
        }
    }

    pub fn sources(&self) -> Sources<'_> {
        Sources {
            own: self.own,
            ipfs_gateway: self.ipfs_gateway,
        }
    }
}

/// Why a delivery cannot be opened; each names what was wrong, that nothing was written, and
/// what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error(
        "purchase {0} was not paid with one of this wallet's buyer keys (another wallet's purchase?); nothing was written"
    )]
    KeyNotForUs(u64),
    #[error(
        "the delivered key is wrong: keccak256 of the key differs from the listing's key commitment; nothing was written. `keybot market challenge {purchase}` takes the money back (until {until})"
    )]
    WrongKey { purchase: u64, until: String },
    #[error(
        "the delivered key is wrong (keccak256 differs from the listing's key commitment) and the challenge window closed at {until}; nothing was written (`keybot market dispute {purchase}` records it)"
    )]
    WrongKeyTooLate { purchase: u64, until: String },
    #[error(
        "the ciphertext is not the listed one (keccak256 differs from the listing's content hash): it was changed; nothing was written (`keybot market dispute {0}`)"
    )]
    Tampered(u64),
    #[error(
        "the ciphertext does not decrypt with the delivered key; nothing was written (`keybot market dispute {0}`)"
    )]
    Undecryptable(u64),
}

impl FetchError {
    /// A wrong key that a challenge can still take the money back for.
    pub fn challengeable(&self) -> bool {
        matches!(self, FetchError::WrongKey { .. })
    }
}

/// The buyer's side of a delivery: the content key out of `R ‖ c` with the purchase's one-time
/// key (inside the keystore), checked against the listing's commitment. `now` is the chain's
/// time, for saying until when a wrong key can be challenged.
pub fn open_key(
    b: &Buyer<'_>,
    purchase: &Purchase,
    listing: &Listing,
) -> Result<Secret32, FetchError> {
    let Buyer {
        wallet,
        keys,
        chain_id,
        market,
        now,
        ..
    } = *b;
    let delivery = purchase
        .delivery
        .as_ref()
        .ok_or(FetchError::KeyNotForUs(purchase.id))?;
    let j = keys
        .index_of(purchase)
        .ok_or(FetchError::KeyNotForUs(purchase.id))?;
    let until = earnings::utc_time(purchase.settles_at);
    let wrong = || {
        if now < purchase.settles_at && !purchase.settled_on_chain {
            FetchError::WrongKey {
                purchase: purchase.id,
                until: until.clone(),
            }
        } else {
            FetchError::WrongKeyTooLate {
                purchase: purchase.id,
                until: until.clone(),
            }
        }
    };
    // A delivery the contract would not have taken (not R ‖ c) cannot carry the key either.
    let key = wallet
        .open_delivery(j, delivery, &binding(chain_id, market, purchase.id))
        .map_err(|_| wrong())?;
    if B256::from(content::key_commit(&key)) != listing.key_commit {
        return Err(wrong());
    }
    Ok(key)
}

/// What this client found of a published dispute: every client checks it itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The published secret opens the delivered key, and the listed ciphertext does not open
    /// under it (or the key is not the committed one): the buyer was right.
    Proven,
    /// The ciphertext opens under the committed key: a false claim, and the content is public.
    Refuted,
    /// Not checkable here: a v1 dispute (no secret), a secret that is not the buyer key's, or
    /// a ciphertext this machine cannot fetch.
    Unchecked,
}

/// Checks a dispute from the events alone and the listing's ciphertext (`None`: not at hand).
pub fn check_dispute(
    chain_id: u64,
    market: Address,
    purchase: &Purchase,
    listing: &Listing,
    ciphertext: Option<&[u8]>,
) -> Verdict {
    use keybot_keystore::delivery::{open_with_secret, secret_opens};
    let (Some(secret), Some(delivery)) = (purchase.dispute_secret, purchase.delivery.as_ref())
    else {
        return Verdict::Unchecked;
    };
    if !secret_opens(&secret.0, &purchase.buyer_key) {
        return Verdict::Unchecked;
    }
    let Some(key) = open_with_secret(&secret.0, delivery, &binding(chain_id, market, purchase.id))
    else {
        return Verdict::Proven;
    };
    if B256::from(content::key_commit(&key)) != listing.key_commit {
        // A wrong key: the challenge was the remedy, but the claim holds all the same.
        return Verdict::Proven;
    }
    let Some(ciphertext) = ciphertext else {
        return Verdict::Unchecked;
    };
    if B256::from(content::content_hash(ciphertext)) != listing.content_hash {
        // Not the listed bytes: says nothing about the listing.
        return Verdict::Unchecked;
    }
    match content::open(&key, ciphertext) {
        Ok(_) => Verdict::Refuted,
        Err(_) => Verdict::Proven,
    }
}

/// Every seller's disputes as this client checked them, (proven, refuted) by seller: one pass
/// over the disputed purchases, whatever the number of listings shown.
pub fn checked_disputes(
    chain_id: u64,
    market: Address,
    book: &Book,
) -> std::collections::BTreeMap<Address, (u32, u32)> {
    let mut out = std::collections::BTreeMap::new();
    for p in book.purchases.values().filter(|p| p.disputed) {
        let Some(l) = book.listings.get(&p.listing) else {
            continue;
        };
        // Inline ciphertext only: browse never fetches a stranger's URI just to count.
        let ciphertext = l.uri.is_empty().then_some(&l.data[..]);
        let counts: &mut (u32, u32) = out.entry(p.seller).or_default();
        match check_dispute(chain_id, market, p, l, ciphertext) {
            Verdict::Proven => counts.0 += 1,
            Verdict::Refuted => counts.1 += 1,
            Verdict::Unchecked => {}
        }
    }
    out
}

/// The plaintext of `ciphertext`, after checking it is the listed one.
pub fn open_content(
    key: &Secret32,
    purchase: &Purchase,
    listing: &Listing,
    ciphertext: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, FetchError> {
    if B256::from(content::content_hash(ciphertext)) != listing.content_hash {
        return Err(FetchError::Tampered(purchase.id));
    }
    content::open(key, ciphertext).map_err(|e| match e {
        ContentError::Authentication | ContentError::NotContent | ContentError::Truncated(_) => {
            FetchError::Undecryptable(purchase.id)
        }
        ContentError::Random => FetchError::Undecryptable(purchase.id),
    })
}

/// The most ciphertext fetched from a URI: a 1 MiB item and its overhead, with room.
pub const MAX_FETCH: u64 = 2 << 20;

/// Where this machine may read a listing's ciphertext from, besides the listing itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sources<'a> {
    /// The user's own addresses: a `file://` URI is read only for their listings.
    pub own: &'a [Address],
    /// The IPFS gateway the user configured (`market.ipfs_gateway`), for `ipfs://` URIs.
    pub ipfs_gateway: Option<&'a str>,
}

/// The listing's ciphertext: a file the buyer fetched by hand, inline, or read from its URI.
/// A stranger's listing may point only to `https://`, or `ipfs://` through the gateway the user
/// configured; `file://` is read only for a listing of one of the user's own addresses (the
/// seller's own machine), so a stranger's listing cannot make this machine open a local path.
/// Whatever the source, the caller checks the bytes against the content hash first.
pub fn ciphertext_of(
    listing: &Listing,
    from_file: Option<&std::path::Path>,
    src: &Sources<'_>,
) -> Result<Vec<u8>> {
    if let Some(path) = from_file {
        return Ok(keybot_keystore::atomic::read_limited(path, MAX_FETCH)?);
    }
    if listing.uri.is_empty() {
        return Ok(listing.data.to_vec());
    }
    let uri = listing.uri.as_str();
    let shown = || crate::sanitize::clean_line(uri).into_owned();
    if let Some(path) = uri.strip_prefix("file://") {
        if !src.own.contains(&listing.seller) {
            bail!(
                "listing {} points to a file on its seller's machine ({}); keybot reads file:// only for your own listings: get the ciphertext from the seller and pass --ciphertext FILE",
                listing.id,
                shown()
            );
        }
        return keybot_keystore::atomic::read_limited(std::path::Path::new(path), MAX_FETCH)
            .map_err(|e| anyhow!("cannot read the ciphertext at {}: {e}", shown()));
    }
    if uri.starts_with("https://") {
        return fetch_url(uri);
    }
    if let Some(cid) = uri.strip_prefix("ipfs://") {
        let Some(gateway) = src.ipfs_gateway else {
            bail!(
                "the ciphertext is at {}: set an IPFS gateway (`keybot settings market.ipfs_gateway https://…`), or fetch it yourself and pass --ciphertext FILE",
                shown()
            );
        };
        return fetch_url(&ipfs_url(gateway, cid)?);
    }
    bail!(
        "the ciphertext is at {}, which keybot does not fetch: get it yourself and pass --ciphertext FILE",
        shown()
    )
}

/// `GATEWAY/ipfs/CID[/path]` for an `ipfs://CID[/path]` URI; a CID or path with anything but
/// letters, digits and `/._-` is refused (it is a stranger's text going into a URL).
pub fn ipfs_url(gateway: &str, cid: &str) -> Result<String> {
    if cid.is_empty()
        || cid.starts_with('/')
        || cid.contains("..")
        || !cid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
    {
        bail!(
            "the listing's ipfs:// address is not a plain CID and path: {}",
            crate::sanitize::clean_line(cid)
        );
    }
    Ok(format!("{}/ipfs/{cid}", gateway.trim_end_matches('/')))
}

/// The bytes at `url` (an https:// listing, or an IPFS gateway), at most [`MAX_FETCH`]. Blocking:
/// the app calls it off its async threads.
fn fetch_url(url: &str) -> Result<Vec<u8>> {
    crate::net::tls();
    let resp = reqwest::blocking::Client::builder()
        .build()?
        .get(url)
        .send()
        .and_then(|r| r.error_for_status())
        .map_err(|e| {
            anyhow!(
                "cannot fetch the ciphertext: {}",
                crate::sanitize::clean_line(&e.to_string())
            )
        })?;
    let mut out = Vec::new();
    use std::io::Read;
    resp.take(MAX_FETCH + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_FETCH {
        bail!(
            "the ciphertext at the listing's URI is larger than any listing's (over {MAX_FETCH} bytes)"
        );
    }
    Ok(out)
}

/// Why [`save_delivery`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0} exists; keybot never overwrites a file")]
    Exists(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Other(String),
}

/// The buyer's "save to file" (the app's `market fetch`): both hashes checked before anything
/// is written, the plaintext written once to a new 0600 file; an existing file is never
/// replaced. `ciphertext` is a file the buyer fetched by hand (an ipfs:// listing); otherwise
/// the ciphertext is inline or read from the listing's URI. Returns the bytes written.
pub fn save_delivery(
    b: &Buyer<'_>,
    purchase: &Purchase,
    listing: &Listing,
    out: &std::path::Path,
    ciphertext: Option<&[u8]>,
) -> Result<usize, SaveError> {
    let shown = || crate::sanitize::clean_line(&out.display().to_string()).into_owned();
    if out.exists() {
        return Err(SaveError::Exists(shown()));
    }
    let key = open_key(b, purchase, listing)?;
    let ciphertext = match ciphertext {
        Some(bytes) => bytes.to_vec(),
        None => ciphertext_of(listing, None, &b.sources())
            .map_err(|e| SaveError::Other(format!("{e:#}")))?,
    };
    let plaintext = open_content(&key, purchase, listing, &ciphertext)?;
    keybot_keystore::atomic::create_private(out, &plaintext)
        .map_err(|e| SaveError::Other(format!("cannot write {}: {e}", shown())))?;
    Ok(plaintext.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::book::PurchaseState;

    fn wallet(words: &str) -> Wallet {
        Wallet::new(keybot_keystore::Phrase::parse(words).unwrap(), "").unwrap()
    }

    const CHAIN: u64 = 31337;
    const MARKET: Address = Address::repeat_byte(0x4d);
    const BUYER: Address = Address::repeat_byte(2);
    const NOW: u64 = 1_000;

    /// A listing of `plaintext` and purchase 3 of it, delivered with `key` to `buyer`'s first
    /// one-time key, settling at NOW + 100.
    fn delivered_with(
        buyer: &Wallet,
        plaintext: &[u8],
        deliver: Option<&Secret32>,
    ) -> (Purchase, Listing, Secret32) {
        let key = content::new_key().unwrap();
        let ciphertext = content::seal(&key, plaintext).unwrap();
        let listing = Listing {
            id: 1,
            seller: Address::repeat_byte(1),
            token: Address::ZERO,
            price: U256::from(1u64),
            content_hash: B256::from(content::content_hash(&ciphertext)),
            key_commit: B256::from(content::key_commit(&key)),
            data: Bytes::from(ciphertext),
            uri: String::new(),
            meta: String::new(),
            active: true,
            block: 1,
            tx_hash: B256::ZERO,
            sales: 1,
        };
        let buyer_key = buyer.buyer_key(0).unwrap().unwrap();
        let delivery = keybot_keystore::delivery::deliver(
            &buyer_key,
            deliver.unwrap_or(&key),
            &binding(CHAIN, MARKET, 3),
        )
        .unwrap();
        let purchase = Purchase {
            id: 3,
            listing: 1,
            buyer: BUYER,
            seller: listing.seller,
            token: Address::ZERO,
            price: listing.price,
            buyer_key: Bytes::from(buyer_key.to_vec()),
            deadline: 10,
            state: PurchaseState::Delivered,
            delivery: Some(Bytes::from(delivery.to_vec())),
            settles_at: NOW + 100,
            settled_on_chain: false,
            proven_wrong: None,
            disputed: false,
            dispute_reason: None,
            dispute_secret: None,
            block: 2,
            tx_hash: B256::ZERO,
        };
        (purchase, listing, key)
    }

    fn delivered(buyer: &Wallet, plaintext: &[u8]) -> (Purchase, Listing) {
        let (p, l, _) = delivered_with(buyer, plaintext, None);
        (p, l)
    }

    fn keys_of(wallet: &Wallet, p: &Purchase) -> BuyerKeys {
        let mut book = Book::default();
        book.purchases.insert(p.id, p.clone());
        BuyerKeys::scan(wallet, &book, &[BUYER]).unwrap()
    }

    fn buyer<'a>(wallet: &'a Wallet, keys: &'a BuyerKeys) -> Buyer<'a> {
        Buyer {
            wallet,
            keys,
            chain_id: CHAIN,
            market: MARKET,
            now: NOW,
            own: &[BUYER],
            ipfs_gateway: None,
        }
    }

    const ALICE: &str = "test test test test test test test test test test test junk";
    const BOB: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn save_delivery_writes_a_new_private_file_only_after_both_checks() {
        let dir = tempfile::tempdir().unwrap();
        let w = wallet(ALICE);
        let (p, l) = delivered(&w, b"the redacted notes");
        let keys = keys_of(&w, &p);
        let out = dir.path().join("notes.txt");
        assert_eq!(
            save_delivery(&buyer(&w, &keys), &p, &l, &out, None).unwrap(),
            18
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"the redacted notes");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Never over an existing file.
        std::fs::write(&out, b"mine").unwrap();
        let e = save_delivery(&buyer(&w, &keys), &p, &l, &out, None).unwrap_err();
        assert!(matches!(e, SaveError::Exists(_)), "{e}");
        assert_eq!(std::fs::read(&out).unwrap(), b"mine");
    }

    #[test]
    fn a_tampered_ciphertext_or_a_key_for_someone_else_writes_nothing_and_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let w = wallet(ALICE);
        let out = dir.path().join("out.txt");
        // The content changed after listing: the content hash fails.
        let (p, mut l) = delivered(&w, b"the redacted notes");
        let keys = keys_of(&w, &p);
        let mut data = l.data.to_vec();
        let last = data.len() - 1;
        data[last] ^= 1;
        l.data = Bytes::from(data);
        let e = save_delivery(&buyer(&w, &keys), &p, &l, &out, None).unwrap_err();
        assert!(
            matches!(e, SaveError::Fetch(FetchError::Tampered(3))),
            "{e}"
        );
        assert!(e.to_string().contains("ciphertext is not the listed one"));
        assert!(!out.exists());
        // Paid with another wallet's key.
        let (p, l) = delivered(&wallet(BOB), b"the redacted notes");
        let keys = keys_of(&w, &p);
        let e = save_delivery(&buyer(&w, &keys), &p, &l, &out, None).unwrap_err();
        assert!(
            matches!(e, SaveError::Fetch(FetchError::KeyNotForUs(3))),
            "{e}"
        );
        assert!(!out.exists());
    }

    #[test]
    fn a_wrong_key_names_the_challenge_and_its_last_date_until_the_window_closes() {
        let dir = tempfile::tempdir().unwrap();
        let w = wallet(ALICE);
        let out = dir.path().join("out.txt");
        let other = content::new_key().unwrap();
        let (p, l, _) = delivered_with(&w, b"notes", Some(&other));
        let keys = keys_of(&w, &p);
        let e = save_delivery(&buyer(&w, &keys), &p, &l, &out, None).unwrap_err();
        let SaveError::Fetch(f) = &e else {
            panic!("{e}")
        };
        assert!(f.challengeable(), "{e}");
        assert!(e.to_string().contains("keybot market challenge 3"), "{e}");
        assert!(
            e.to_string().contains(&earnings::utc_time(NOW + 100)),
            "{e}"
        );
        assert!(!out.exists());
        // After the window: no challenge to offer.
        let mut late = buyer(&w, &keys);
        late.now = NOW + 100;
        let e = open_key(&late, &p, &l).unwrap_err();
        assert!(!e.challengeable());
        assert!(matches!(e, FetchError::WrongKeyTooLate { purchase: 3, .. }));
    }

    #[test]
    fn buyer_keys_are_found_again_and_the_next_one_is_unused() {
        let w = wallet(ALICE);
        let (p, _) = delivered(&w, b"x");
        let keys = keys_of(&w, &p);
        assert_eq!(keys.index_of(&p), Some(0));
        let (j, key) = keys.next(&w).unwrap();
        assert_eq!(j, 1);
        assert_eq!(Some(key), w.buyer_key(1).unwrap());
        // A purchase at key 25 is beyond a gap of 20 unused keys: not scanned.
        let mut far = p.clone();
        far.id = 4;
        far.buyer_key = Bytes::from(w.buyer_key(25).unwrap().unwrap().to_vec());
        let mut book = Book::default();
        book.purchases.insert(3, p.clone());
        book.purchases.insert(4, far.clone());
        let keys = BuyerKeys::scan(&w, &book, &[BUYER]).unwrap();
        assert_eq!(keys.index_of(&far), None);
        // Key 15 is within it, and the scan goes on from there.
        far.buyer_key = Bytes::from(w.buyer_key(15).unwrap().unwrap().to_vec());
        book.purchases.insert(4, far.clone());
        let keys = BuyerKeys::scan(&w, &book, &[BUYER]).unwrap();
        assert_eq!(keys.index_of(&far), Some(15));
        assert_eq!(keys.next(&w).unwrap().0, 1);
    }

    #[test]
    fn a_dispute_is_proven_or_refuted_by_what_its_secret_opens() {
        let w = wallet(ALICE);
        let secret = B256::from(*w.dispute_secret(0).unwrap().expose());
        // The content opens under the committed key: a false claim.
        let (mut p, l) = delivered(&w, b"fine content");
        p.disputed = true;
        p.dispute_secret = Some(secret);
        let data = l.data.to_vec();
        assert_eq!(
            check_dispute(CHAIN, MARKET, &p, &l, Some(&data)),
            Verdict::Refuted
        );
        // A ciphertext listed under a commitment to a key that does not open it.
        let (mut p2, mut l2) = delivered(&w, b"other");
        let bad = content::seal(&content::new_key().unwrap(), b"other").unwrap();
        l2.content_hash = B256::from(content::content_hash(&bad));
        l2.data = Bytes::from(bad.clone());
        p2.disputed = true;
        p2.dispute_secret = Some(secret);
        assert_eq!(
            check_dispute(CHAIN, MARKET, &p2, &l2, Some(&bad)),
            Verdict::Proven
        );
        // A secret that is not the purchase's key proves nothing.
        p2.dispute_secret = Some(B256::from(*w.dispute_secret(1).unwrap().expose()));
        assert_eq!(
            check_dispute(CHAIN, MARKET, &p2, &l2, Some(&bad)),
            Verdict::Unchecked
        );
        p.dispute_secret = None;
        assert_eq!(
            check_dispute(CHAIN, MARKET, &p, &l, Some(&data)),
            Verdict::Unchecked
        );
    }

    #[test]
    fn a_strangers_file_uri_is_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.txt");
        std::fs::write(&path, b"local file").unwrap();
        let w = wallet(ALICE);
        let (_, mut l) = delivered(&w, b"x");
        l.uri = format!("file://{}", path.display());
        l.data = Bytes::new();
        let stranger = Sources {
            own: &[BUYER],
            ipfs_gateway: None,
        };
        let e = ciphertext_of(&l, None, &stranger).unwrap_err();
        assert!(e.to_string().contains("only for your own listings"), "{e}");
        let seller = [l.seller];
        let own = Sources {
            own: &seller,
            ipfs_gateway: None,
        };
        assert_eq!(ciphertext_of(&l, None, &own).unwrap(), b"local file");
        // Any other scheme is never fetched.
        l.uri = "ftp://example.org/x".into();
        assert!(ciphertext_of(&l, None, &own).is_err());
    }

    #[test]
    fn an_ipfs_listing_is_read_through_the_configured_gateway_only() {
        let w = wallet(ALICE);
        let (_, mut l) = delivered(&w, b"x");
        let bytes = l.data.to_vec();
        l.data = Bytes::new();
        l.uri = "ipfs://bafyTEST/item.kbm".into();
        // No gateway: one line saying how to set one.
        let none = Sources {
            own: &[BUYER],
            ipfs_gateway: None,
        };
        let e = ciphertext_of(&l, None, &none).unwrap_err();
        assert!(e.to_string().contains("market.ipfs_gateway"), "{e}");
        // A gateway on this machine serves it at /ipfs/CID/path.
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let served = bytes.clone();
        let handle = std::thread::spawn(move || {
            use std::io::{BufRead, BufReader, Write};
            let (mut conn, _) = server.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            let header = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                served.len()
            );
            conn.write_all(header.as_bytes()).unwrap();
            conn.write_all(&served).unwrap();
            line
        });
        let gateway = format!("http://127.0.0.1:{port}/");
        let with = Sources {
            own: &[BUYER],
            ipfs_gateway: Some(&gateway),
        };
        assert_eq!(prefetch(&l, None, &with).unwrap(), bytes);
        let request = handle.join().unwrap();
        assert!(
            request.starts_with("GET /ipfs/bafyTEST/item.kbm "),
            "{request}"
        );
        // A stranger's CID cannot walk out of the gateway's /ipfs/ path.
        for bad in [
            "ipfs://../secret",
            "ipfs:///etc/passwd",
            "ipfs://a?b=c",
            "ipfs://",
        ] {
            l.uri = bad.into();
            assert!(ciphertext_of(&l, None, &with).is_err(), "{bad}");
        }
    }

    #[test]
    fn approvals_leave_no_more_than_the_price() {
        let t = Token {
            symbol: "tUSD".into(),
            address: Address::repeat_byte(7),
            decimals: 6,
        };
        let m = Market {
            address: MARKET,
            deployed: 0,
        };
        let five = U256::from(5);
        assert!(approvals_for(BUYER, &t, m, five, five).is_empty());
        assert_eq!(approvals_for(BUYER, &t, m, U256::ZERO, five).len(), 1);
        let reset = approvals_for(BUYER, &t, m, U256::from(100), five);
        assert_eq!(
            reset.len(),
            2,
            "a leftover allowance is reset to zero first"
        );
        let calls: Vec<String> = reset.iter().map(|c| format!("{c:?}")).collect();
        assert!(calls[0].contains("approve"), "{}", calls[0]);
    }

    #[test]
    fn deliveries_stop_an_hour_before_the_deadline() {
        let w = wallet(ALICE);
        let (mut p, _) = delivered(&w, b"x");
        p.state = PurchaseState::Paid;
        p.deadline = 10_000;
        assert!(deliverable(&p, 10_000 - DELIVERY_MARGIN - 1));
        assert!(!deliverable(&p, 10_000 - DELIVERY_MARGIN));
        assert!(!deliverable(&p, 10_001));
    }
}
