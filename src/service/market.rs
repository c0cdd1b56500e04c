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
use crate::market::{consent, index};
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

/// The market the client's network uses; one line saying how to get one when there is none.
pub fn market_of(client: &Client) -> Result<Market> {
    match (client.network.market, client.network.market_block) {
        (Some(address), Some(deployed)) => Ok(Market { address, deployed }),
        (Some(address), None) => Ok(Market {
            address,
            deployed: 0,
        }),
        _ => bail!(
            "network {} has no market: `keybot market join ADDRESS` (or `keybot chain dev`, which deploys one)",
            client.name
        ),
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
    Ok(stored_earnings(
        store,
        client.network.chain_id,
        market,
        sellers,
        confirmed,
    )?)
}

/// The earnings of `sellers` from what the store holds, without reading the chain (the app's
/// screen opens with these at once).
pub fn stored_earnings(
    store: &Store,
    chain_id: u64,
    market: Market,
    sellers: &[Address],
    confirmed: u64,
) -> crate::store::Result<Earnings> {
    let rows = store.market_events(chain_id, market.address)?;
    let events: Vec<Located> = rows.iter().filter_map(Located::from_row).collect();
    let times = store.market_block_times(chain_id, market.address)?;
    Ok(Earnings::compute(&events, &times, sellers, confirmed))
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
                "pending": a(f.pending),
                "claimable": a(f.claimable),
                "withdrawn": a(f.withdrawn),
                "refunded": a(f.refunded),
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
        return Some(Token {
            symbol: "ETH".into(),
            address: Address::ZERO,
            decimals: 18,
        });
    }
    client
        .network
        .tokens
        .iter()
        .find(|t| t.address == token)
        .cloned()
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
    let call = Call::from_sol(seller, market.address, &abi(), &list, U256::ZERO)?
        .labelled("DataMarket")
        .amount_of(0, token.clone());
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

/// The `buy` call for `listing` (ETH is sent with it; a token is approved first, separately),
/// paying into escrow with this wallet's market public key.
pub fn buy_call(
    wallet: &Wallet,
    buyer: Address,
    market: Market,
    listing: &Listing,
) -> Result<Call> {
    let key = wallet.market_public_key()?;
    let value = if listing.token == Address::ZERO {
        listing.price
    } else {
        U256::ZERO
    };
    let call = DataMarket::buyCall {
        listingId: U256::from(listing.id),
        buyerKey: Bytes::from(key.to_vec()),
    };
    Ok(Call::from_sol(buyer, market.address, &abi(), &call, value)?.labelled("DataMarket"))
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
    crate::chain::token::approve(owner, token, market.address, amount)
}

/// The `deliver` call for `purchase`: the listing's content key encrypted to the buyer's key.
pub fn deliver_call(purchase: &Purchase, secret: &ListingSecret) -> Result<Call> {
    let encrypted = keybot_keystore::encrypt_to(&purchase.buyer_key, secret.content_key.expose())?;
    let call = DataMarket::deliverCall {
        purchaseId: U256::from(purchase.id),
        encryptedKey: Bytes::from(encrypted),
    };
    Ok(
        Call::from_sol(purchase.seller, secret.market, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket"),
    )
}

pub fn refund_call(purchase: &Purchase, market: Market) -> Result<Call> {
    let call = DataMarket::refundCall {
        purchaseId: U256::from(purchase.id),
    };
    Ok(
        Call::from_sol(purchase.buyer, market.address, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket"),
    )
}

pub fn dispute_call(purchase: &Purchase, market: Market, reason: &str) -> Result<Call> {
    let call = DataMarket::disputeCall {
        purchaseId: U256::from(purchase.id),
        reason: reason.to_owned(),
    };
    Ok(
        Call::from_sol(purchase.buyer, market.address, &abi(), &call, U256::ZERO)?
            .labelled("DataMarket"),
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
            .labelled("DataMarket"),
    )
}

pub fn withdraw_call(seller: Address, market: Market, token: Address) -> Result<Call> {
    let call = DataMarket::withdrawCall { token };
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

/// Why a delivery cannot be opened; each names what was wrong and that nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error(
        "the delivered key does not open: it was not encrypted to this wallet's market key; nothing was written (`keybot market dispute {0}`)"
    )]
    KeyNotForUs(u64),
    #[error(
        "the delivered key is not the listing's key (keccak256 differs from its commitment); nothing was written (`keybot market dispute {0}`)"
    )]
    WrongKey(u64),
    #[error(
        "the ciphertext is not the listed one (keccak256 differs from the listing's content hash): it was changed; nothing was written (`keybot market dispute {0}`)"
    )]
    Tampered(u64),
    #[error(
        "the ciphertext does not decrypt with the delivered key; nothing was written (`keybot market dispute {0}`)"
    )]
    Undecryptable(u64),
}

/// The buyer's side of a delivery: the content key out of the ECIES message (inside the
/// keystore, with the market key), checked against the listing's commitment.
pub fn open_key(
    wallet: &Wallet,
    purchase: &Purchase,
    listing: &Listing,
) -> Result<Secret32, FetchError> {
    let encrypted = purchase
        .encrypted_key
        .as_ref()
        .ok_or(FetchError::KeyNotForUs(purchase.id))?;
    let key = wallet
        .market_decrypt(encrypted)
        .map_err(|_| FetchError::KeyNotForUs(purchase.id))?;
    let key = Secret32::from_slice(&key).ok_or(FetchError::WrongKey(purchase.id))?;
    if B256::from(content::key_commit(&key)) != listing.key_commit {
        return Err(FetchError::WrongKey(purchase.id));
    }
    Ok(key)
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

/// The listing's ciphertext: inline, or read from its URI (`file://` and `https://`; an
/// `ipfs://` URI needs a gateway: the buyer fetches it and passes the file).
pub fn ciphertext_of(listing: &Listing, from_file: Option<&std::path::Path>) -> Result<Vec<u8>> {
    if let Some(path) = from_file {
        return Ok(keybot_keystore::atomic::read_limited(path, MAX_FETCH)?);
    }
    if listing.uri.is_empty() {
        return Ok(listing.data.to_vec());
    }
    let uri = listing.uri.as_str();
    if let Some(path) = uri.strip_prefix("file://") {
        return keybot_keystore::atomic::read_limited(std::path::Path::new(path), MAX_FETCH)
            .map_err(|e| {
                anyhow!(
                    "cannot read the ciphertext at {}: {e}",
                    crate::sanitize::clean_line(uri)
                )
            });
    }
    if uri.starts_with("https://") {
        crate::net::tls();
        let resp = reqwest::blocking::Client::builder()
            .build()?
            .get(uri)
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
        return Ok(out);
    }
    bail!(
        "the ciphertext is at {}: fetch it yourself and pass --ciphertext FILE",
        crate::sanitize::clean_line(uri)
    )
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
    wallet: &Wallet,
    purchase: &Purchase,
    listing: &Listing,
    out: &std::path::Path,
    ciphertext: Option<&std::path::Path>,
) -> Result<usize, SaveError> {
    let shown = || crate::sanitize::clean_line(&out.display().to_string()).into_owned();
    if out.exists() {
        return Err(SaveError::Exists(shown()));
    }
    let key = open_key(wallet, purchase, listing)?;
    let ciphertext =
        ciphertext_of(listing, ciphertext).map_err(|e| SaveError::Other(format!("{e:#}")))?;
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

    /// A listing of `plaintext` and a purchase of it delivered to `buyer`'s market key.
    fn delivered(buyer: &Wallet, plaintext: &[u8]) -> (Purchase, Listing) {
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
        let buyer_key = buyer.market_public_key().unwrap();
        let purchase = Purchase {
            id: 3,
            listing: 1,
            buyer: Address::repeat_byte(2),
            seller: listing.seller,
            token: Address::ZERO,
            price: listing.price,
            buyer_key: Bytes::from(buyer_key.to_vec()),
            deadline: 10,
            state: PurchaseState::Delivered,
            encrypted_key: Some(Bytes::from(
                keybot_keystore::encrypt_to(&buyer_key, key.expose()).unwrap(),
            )),
            disputed: false,
            dispute_reason: None,
            block: 2,
            tx_hash: B256::ZERO,
        };
        (purchase, listing)
    }

    const ALICE: &str = "test test test test test test test test test test test junk";
    const BOB: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn save_delivery_writes_a_new_private_file_only_after_both_checks() {
        let dir = tempfile::tempdir().unwrap();
        let buyer = wallet(ALICE);
        let (p, l) = delivered(&buyer, b"the redacted notes");
        let out = dir.path().join("notes.txt");
        assert_eq!(save_delivery(&buyer, &p, &l, &out, None).unwrap(), 18);
        assert_eq!(std::fs::read(&out).unwrap(), b"the redacted notes");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Never over an existing file.
        std::fs::write(&out, b"mine").unwrap();
        let e = save_delivery(&buyer, &p, &l, &out, None).unwrap_err();
        assert!(matches!(e, SaveError::Exists(_)), "{e}");
        assert_eq!(std::fs::read(&out).unwrap(), b"mine");
    }

    #[test]
    fn a_tampered_ciphertext_or_a_key_for_someone_else_writes_nothing_and_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let buyer = wallet(ALICE);
        let out = dir.path().join("out.txt");
        // The content changed after listing: the content hash fails first.
        let (p, mut l) = delivered(&buyer, b"the redacted notes");
        let mut data = l.data.to_vec();
        let last = data.len() - 1;
        data[last] ^= 1;
        l.data = Bytes::from(data);
        let e = save_delivery(&buyer, &p, &l, &out, None).unwrap_err();
        assert!(
            matches!(e, SaveError::Fetch(FetchError::Tampered(3))),
            "{e}"
        );
        assert!(e.to_string().contains("ciphertext is not the listed one"));
        assert!(!out.exists());
        // The key was encrypted to another wallet's market key.
        let (p, l) = delivered(&wallet(BOB), b"the redacted notes");
        let e = save_delivery(&buyer, &p, &l, &out, None).unwrap_err();
        assert!(
            matches!(e, SaveError::Fetch(FetchError::KeyNotForUs(3))),
            "{e}"
        );
        assert!(!out.exists());
        // A delivered key that is not the listing's key.
        let (mut p, l) = delivered(&buyer, b"the redacted notes");
        let other = content::new_key().unwrap();
        p.encrypted_key = Some(Bytes::from(
            keybot_keystore::encrypt_to(&p.buyer_key, other.expose()).unwrap(),
        ));
        let e = save_delivery(&buyer, &p, &l, &out, None).unwrap_err();
        assert!(
            matches!(e, SaveError::Fetch(FetchError::WrongKey(3))),
            "{e}"
        );
        assert!(!out.exists());
    }
}
