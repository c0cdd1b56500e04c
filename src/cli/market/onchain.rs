//! The market's on-chain commands: the seller's (sell, listings, serve, withdraw) and the
//! buyer's (browse, buy, fetch, refund, dispute). Each unlocks, connects, reads the market's
//! new events into the store, and sends what it sends through the same review and confirm as
//! `wallet send`.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use anyhow::{Result, anyhow, bail};
use keybot_keystore::{AccountRef, Wallet};

use crate::chain::{self, ChainConfig, Client, Token, activity, amount};
use crate::cli::common::{Sender, connect, unlock};
use crate::cli::input;
use crate::config::Paths;
use crate::market::book::{Book, Listing, Purchase, PurchaseState};
use crate::market::meta::Meta;
use crate::sanitize::clean_line;
use crate::service::market::{self as svc, Market};
use crate::service::vault;
use crate::service::wallet::open_store;
use crate::store::Store;

/// Exit status of `fetch --no-wait` when the key is not delivered yet.
pub const NOT_DELIVERED: u8 = 3;

/// An unlocked wallet connected to a network's market.
pub struct Session {
    pub rt: tokio::runtime::Runtime,
    pub client: Client,
    pub market: Market,
    pub wallet: Wallet,
    pub store: Store,
    pub own: Vec<Address>,
}

impl Session {
    /// Everything the user typed is checked by the caller before this asks for the password.
    pub fn open(paths: &Paths, pw_file: Option<&Path>, network: Option<&str>) -> Result<Session> {
        let config = ChainConfig::load(paths)?;
        let client = connect(&config, network)?;
        let market = svc::market_of(&client)?;
        let wallet = unlock(paths, pw_file)?;
        let store = open_store(paths, &wallet)?;
        let own = activity::own_addresses(&wallet, Some(&store))?;
        Ok(Session {
            rt: chain::runtime()?,
            client,
            market,
            wallet,
            store,
            own,
        })
    }

    /// The market's events up to the head, as a book.
    pub fn sync(&self) -> Result<Book> {
        self.rt
            .block_on(async {
                self.client.check_chain().await?;
                svc::sync(&self.client, &self.store, self.market).await
            })
            .map_err(Into::into)
    }

    pub fn sender(&self, yes: bool, accept_warnings: bool, wait: u64) -> Sender<'_> {
        Sender {
            rt: &self.rt,
            client: &self.client,
            store: &self.store,
            wallet: &self.wallet,
            own: &self.own,
            yes,
            accept_warnings,
            wait: Duration::from_secs(wait),
        }
    }

    /// The wallet's account for one of its addresses.
    pub fn account_of(&self, address: Address) -> Result<AccountRef> {
        self.wallet.find(address, 1000)?.ok_or_else(|| {
            anyhow!(
                "{} is not one of this wallet's accounts",
                address.to_checksum(None)
            )
        })
    }

    fn price(&self, token: Address, price: U256) -> String {
        svc::format_price(&self.client, token, price)
    }
}

/// `market deploy`: the committed DataMarket, deployed through the review from the user's
/// account, checked the way `join` checks, and written into the network's config.
pub fn deploy(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    tokens: &[String],
    account: &str,
    yes: bool,
    wait: u64,
) -> Result<u8> {
    let mut config = ChainConfig::load(paths)?;
    let client = connect(&config, network)?;
    let mut allowed = Vec::new();
    for t in tokens {
        let token = listing_token(&client, Some(t))?;
        if token.address == Address::ZERO {
            bail!("ETH is always accepted; --token names ERC-20 tokens");
        }
        allowed.push(token);
    }
    refuse_unconfirmed(yes)?;
    let wallet = unlock(paths, pw_file)?;
    let account = crate::cli::common::parse_account(&wallet, account)?;
    let from = wallet.address(account)?;
    let store = open_store(paths, &wallet)?;
    let own = activity::own_addresses(&wallet, Some(&store))?;
    let rt = chain::runtime()?;
    let addresses: Vec<Address> = allowed.iter().map(|t| t.address).collect();
    let accepts = std::iter::once("ETH".to_owned())
        .chain(allowed.iter().map(|t| {
            format!(
                "{} ({})",
                clean_line(&t.symbol),
                t.address.to_checksum(None)
            )
        }))
        .collect::<Vec<_>>()
        .join(", ");
    let intent = crate::chain::intent::Deploy {
        from,
        label: "DataMarket".into(),
        code: crate::chain::market_contract::creation_code(&addresses),
        args: vec![("accepts".into(), accepts)],
        errors: crate::chain::market_contract::abi_errors(),
    };
    let sender = Sender {
        rt: &rt,
        client: &client,
        store: &store,
        wallet: &wallet,
        own: &own,
        yes,
        accept_warnings: false,
        wait: Duration::from_secs(wait),
    };
    let hash = sender.send_confirmed(account, intent, "Deploy")?;
    let found = rt.block_on(async {
        use alloy::providers::Provider;
        let receipt = client
            .provider()
            .get_transaction_receipt(hash)
            .await
            .map_err(|e| client.error(e))?
            .ok_or_else(|| {
                crate::chain::ChainError::Node("the deployment has no receipt".into())
            })?;
        let address = receipt.contract_address.ok_or_else(|| {
            crate::chain::ChainError::Node("the deployment's receipt names no contract".into())
        })?;
        crate::chain::market_contract::verify(&client, address).await
    })?;
    let name = client.name.clone();
    if let Some(net) = config.networks.get_mut(&name) {
        net.market = Some(found.address);
        net.market_block = Some(found.block);
    }
    config.save(paths)?;
    eprintln!(
        "network {name} uses the new market (deployed in block {})",
        found.block
    );
    println!("{}", found.address.to_checksum(None));
    Ok(0)
}

/// `market join ADDRESS`: no password needed, nothing signed; the code is checked before
/// anything is written.
pub fn join(paths: &Paths, address: &str, network: Option<&str>) -> Result<u8> {
    let address = crate::chain::safety::parse_address(address)?;
    let mut config = ChainConfig::load(paths)?;
    let client = connect(&config, network)?;
    let rt = chain::runtime()?;
    let found = rt.block_on(async {
        client.check_chain().await?;
        crate::chain::market_contract::verify(&client, address).await
    })?;
    let name = client.name.clone();
    let net = config
        .networks
        .get_mut(&name)
        .ok_or_else(|| anyhow!("network {name} is not configured"))?;
    net.market = Some(found.address);
    net.market_block = Some(found.block);
    config.save(paths)?;
    println!(
        "network {name} uses the market at {} (deployed in block {})",
        found.address.to_checksum(None),
        found.block
    );
    Ok(0)
}

fn refuse_unconfirmed(yes: bool) -> Result<()> {
    if !yes && !input::stdin_is_tty() {
        bail!("refusing to send without confirmation: pass --yes");
    }
    Ok(())
}

/// `market sell ITEM --price P [--token T] [--uri U] [--ciphertext-out FILE] [--tag T]…`.
pub struct SellArgs<'a> {
    pub item: i64,
    pub price: &'a str,
    pub token: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub ciphertext_out: Option<&'a Path>,
    pub tags: &'a [String],
    pub network: Option<&'a str>,
    pub yes: bool,
    pub wait: u64,
}

fn listing_token(client: &Client, token: Option<&str>) -> Result<Token> {
    match token {
        None => Ok(svc::token_of(client, Address::ZERO).expect("ETH is always known")),
        Some(t) if t.eq_ignore_ascii_case("ETH") => {
            Ok(svc::token_of(client, Address::ZERO).expect("ETH is always known"))
        }
        Some(t) => client.network.token(t).cloned().ok_or_else(|| {
            anyhow!(
                "no token {:?} on network {} (add it with `keybot token add ADDRESS`)",
                clean_line(t),
                client.name
            )
        }),
    }
}

pub fn sell(paths: &Paths, pw_file: Option<&Path>, a: SellArgs<'_>) -> Result<u8> {
    if let Some(uri) = a.uri {
        svc::check_uri(uri)?;
    }
    refuse_unconfirmed(a.yes)?;
    let s = Session::open(paths, pw_file, a.network)?;
    let token = listing_token(&s.client, a.token)?;
    let price = amount::parse(a.price, token.decimals)?;
    let item = vault::view(&s.store, a.item)?;
    let sale = svc::plan_sale(&s.client, s.market, &item, &token, price, a.uri, a.tags)?;
    if let Some(out) = a.ciphertext_out {
        keybot_keystore::atomic::create_private(out, &sale.secret.ciphertext)?;
        eprintln!(
            "ciphertext written to {}",
            clean_line(&out.display().to_string())
        );
    }
    if let Some(uri) = a.uri.and_then(|u| u.strip_prefix("file://")) {
        // A local URI is this machine's own file: written here, so the listing works as is.
        if !Path::new(uri).exists() {
            keybot_keystore::atomic::create_private(Path::new(uri), &sale.secret.ciphertext)?;
        }
    }
    eprintln!(
        "Listing item {} ({}): {} bytes, {} ciphertext ({}), price {}",
        item.item.id,
        clean_line(&item.item.title),
        item.preview.text.len(),
        sale.secret.ciphertext.len(),
        if sale.secret.uri.is_empty() {
            "inline".to_owned()
        } else {
            clean_line(&sale.secret.uri).into_owned()
        },
        s.price(token.address, price)
    );
    eprintln!("  removed: {}", item.preview.summary());
    eprintln!("  content hash {:#x}", sale.secret.content_hash);
    // The key is stored before anything is signed: a listing whose key was lost could take
    // money it can never deliver for.
    s.store.save_listing_secret(&sale.secret)?;
    let account = s.account_of(sale.secret.seller)?;
    s.sender(a.yes, false, a.wait)
        .send_confirmed(account, sale.call, "List")?;
    let book = s.sync()?;
    let listing = book
        .listings
        .values()
        .find(|l| l.content_hash == sale.secret.content_hash)
        .ok_or_else(|| anyhow!("the listing is confirmed but its Listed event was not found yet; `keybot market listings` shows it later"))?;
    s.store
        .set_listing_id(sale.secret.content_hash, listing.id)?;
    println!("{}", listing.id);
    Ok(0)
}

/// `market reprice LISTING --price P` and `market delist LISTING`.
pub fn reprice_or_delist(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    listing: u64,
    price: Option<&str>,
    yes: bool,
    wait: u64,
) -> Result<u8> {
    refuse_unconfirmed(yes)?;
    let s = Session::open(paths, pw_file, network)?;
    let book = s.sync()?;
    let l = book
        .listings
        .get(&listing)
        .ok_or_else(|| anyhow!("no listing {listing} on this market"))?;
    if !s.own.contains(&l.seller) {
        bail!(
            "listing {listing} is {}'s, not this wallet's",
            l.seller.to_checksum(None)
        );
    }
    if !l.active {
        bail!("listing {listing} is already delisted");
    }
    let account = s.account_of(l.seller)?;
    let (call, what) = match price {
        Some(p) => {
            let token = svc::token_of(&s.client, l.token).ok_or_else(|| {
                anyhow!("listing {listing}'s token is not configured on this network (`keybot token add`)")
            })?;
            let price = amount::parse(p, token.decimals)?;
            if price.is_zero() {
                bail!("the price is zero; delist the listing instead");
            }
            (
                svc::reprice_call(l, s.market, price)?.amount_of(1, token),
                "Reprice",
            )
        }
        None => (svc::delist_call(l, s.market)?, "Delist"),
    };
    s.sender(yes, false, wait)
        .send_confirmed(account, call, what)?;
    Ok(0)
}

fn meta_title(listing: &Listing) -> String {
    match Meta::parse(&listing.meta) {
        Ok(m) => m.title,
        Err(_) => "(unreadable metadata)".into(),
    }
}

pub fn listings(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    json: bool,
) -> Result<u8> {
    let s = Session::open(paths, pw_file, network)?;
    let book = s.sync()?;
    let mine: Vec<&Listing> = book
        .listings
        .values()
        .filter(|l| s.own.contains(&l.seller))
        .collect();
    if json {
        let all: Vec<_> = mine
            .iter()
            .map(|l| {
                let purchases: Vec<&Purchase> = book.purchases.values().filter(|p| p.listing == l.id).collect();
                serde_json::json!({
                    "listing": l.id,
                    "title": meta_title(l),
                    "seller": l.seller,
                    "token": l.token,
                    "price": l.price.to_string(),
                    "active": l.active,
                    "sales": l.sales,
                    "pending": purchases.iter().filter(|p| p.state == PurchaseState::Paid).count(),
                    "delivered": purchases.iter().filter(|p| p.state == PurchaseState::Delivered).count(),
                    "refunded": purchases.iter().filter(|p| p.state == PurchaseState::Refunded).count(),
                    "have_key": s.store.listing_secret(l.content_hash).ok().flatten().is_some(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(0);
    }
    if mine.is_empty() {
        eprintln!("no listings yet: `keybot market sell ITEM --price AMOUNT`");
    }
    for l in mine {
        let pending = book
            .purchases
            .values()
            .filter(|p| p.listing == l.id && p.state == PurchaseState::Paid)
            .count();
        println!(
            "{:>5}  {:<30}  {:>18}  {:>3} sold  {:>3} to deliver  {}",
            l.id,
            clean_line(&meta_title(l)),
            s.price(l.token, l.price),
            l.sales,
            pending,
            if l.active { "active" } else { "delisted" }
        );
    }
    Ok(0)
}

/// One pass of the seller's delivery: every paid purchase of a listing whose key this store
/// holds, before its deadline. Returns how many were delivered.
fn deliver_pending(s: &Session, book: &Book, now: u64, wait: u64) -> Result<usize> {
    let mut delivered = 0;
    for seller in &s.own {
        for p in book.undelivered(*seller) {
            let Some(listing) = book.listings.get(&p.listing) else {
                continue;
            };
            let Some(secret) = s.store.listing_secret(listing.content_hash)? else {
                // Listed from another machine whose store did not come back with a backup.
                tracing::warn!(purchase = p.id, "no content key for listing {}", listing.id);
                continue;
            };
            if p.deadline <= now {
                continue;
            }
            let call = svc::deliver_call(p, &secret)?;
            let account = s.account_of(p.seller)?;
            s.sender(true, false, wait)
                .send_confirmed(account, call, "Deliver")?;
            eprintln!("delivered purchase {} (listing {})", p.id, listing.id);
            delivered += 1;
        }
    }
    Ok(delivered)
}

fn now_secs() -> u64 {
    vault::now_secs().max(0) as u64
}

/// `market serve`: delivers every purchase of the user's listings as it comes, until Ctrl-C
/// (or after one pass with `--once`).
pub fn serve(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    once: bool,
    poll: u64,
) -> Result<u8> {
    let s = Session::open(paths, pw_file, network)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        crate::cli::chat::on_ctrl_c(move || stop.store(true, std::sync::atomic::Ordering::SeqCst))?;
    }
    eprintln!(
        "serving the market at {} on {} (Ctrl-C stops)",
        s.market.address.to_checksum(None),
        s.client.name
    );
    loop {
        let book = s.sync()?;
        // The chain's clock, not this machine's: the deadline is the contract's.
        let now =
            s.rt.block_on(chain_time(&s.client))
                .unwrap_or_else(|_| now_secs());
        deliver_pending(&s, &book, now, 120)?;
        if once || stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(0);
        }
        let until = std::time::Instant::now() + Duration::from_secs(poll.max(1));
        while std::time::Instant::now() < until {
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(0);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

async fn chain_time(client: &Client) -> Result<u64> {
    use alloy::providers::Provider;
    let block = client
        .provider()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|e| client.error(e))?
        .ok_or_else(|| anyhow!("the node has no latest block"))?;
    Ok(block.header.timestamp)
}

pub fn withdraw(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    token: Option<&str>,
    yes: bool,
    wait: u64,
) -> Result<u8> {
    refuse_unconfirmed(yes)?;
    let s = Session::open(paths, pw_file, network)?;
    let tokens: Vec<Token> = match token {
        Some(t) => vec![listing_token(&s.client, Some(t))?],
        None => {
            let mut all = vec![listing_token(&s.client, None)?];
            all.extend(s.client.network.tokens.iter().cloned());
            all
        }
    };
    let book = s.sync()?;
    let mut any = false;
    for seller in &s.own {
        for t in &tokens {
            let claimable = book.claimable(*seller, t.address);
            if claimable.is_zero() {
                continue;
            }
            any = true;
            eprintln!(
                "{} can withdraw {}",
                seller.to_checksum(None),
                s.price(t.address, claimable)
            );
            let call = svc::withdraw_call(*seller, s.market, t.address)?;
            s.sender(yes, false, wait)
                .send_confirmed(s.account_of(*seller)?, call, "Withdraw")?;
        }
    }
    if !any {
        eprintln!("nothing to withdraw");
    }
    Ok(0)
}

/// `market browse`.
pub fn browse(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    seller: Option<&str>,
    max_price: Option<&str>,
    json: bool,
) -> Result<u8> {
    let seller = seller
        .map(crate::chain::safety::parse_address)
        .transpose()?;
    let s = Session::open(paths, pw_file, network)?;
    let book = s.sync()?;
    let mut rows = Vec::new();
    for l in book.listings.values().filter(|l| l.active) {
        if seller.is_some_and(|a| a != l.seller) {
            continue;
        }
        if let Some(max) = max_price {
            let Some(t) = svc::token_of(&s.client, l.token) else {
                continue;
            };
            if l.price > amount::parse(max, t.decimals)? {
                continue;
            }
        }
        rows.push(l);
    }
    if json {
        let all: Vec<_> = rows
            .iter()
            .map(|l| {
                let meta = Meta::parse(&l.meta).ok();
                let record = book.seller_record(l.seller);
                serde_json::json!({
                    "listing": l.id,
                    "seller": l.seller,
                    "token": l.token,
                    "symbol": svc::token_of(&s.client, l.token).map(|t| t.symbol),
                    "price": l.price.to_string(),
                    "price_display": s.price(l.token, l.price),
                    "title": meta.as_ref().map(|m| m.title.clone()),
                    "bytes": meta.as_ref().map(|m| m.bytes),
                    "redactions": meta.as_ref().map(|m| m.redactions.clone()),
                    "inline": l.uri.is_empty(),
                    "sales": l.sales,
                    "seller_deliveries": record.deliveries,
                    "seller_disputes": record.disputes,
                    "seller_refunds": record.refunds,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(0);
    }
    if rows.is_empty() {
        eprintln!("no active listings");
    }
    for l in rows {
        let meta = Meta::parse(&l.meta).ok();
        let record = book.seller_record(l.seller);
        let removed = meta
            .as_ref()
            .map(|m| {
                m.redactions
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        println!(
            "{:>5}  {:<30}  {:>18}  {:>8} B  seller {}: {} delivered, {} disputed  removed: {}",
            l.id,
            clean_line(
                &meta
                    .as_ref()
                    .map(|m| m.title.clone())
                    .unwrap_or_else(|| "(unreadable metadata)".into())
            ),
            s.price(l.token, l.price),
            meta.as_ref().map(|m| m.bytes).unwrap_or(0),
            l.seller.to_checksum(None),
            record.deliveries,
            record.disputes,
            if removed.is_empty() {
                "nothing".into()
            } else {
                removed
            }
        );
    }
    Ok(0)
}

/// `market buy LISTING [--account A] [--again]`.
pub struct BuyArgs<'a> {
    pub listing: u64,
    pub account: &'a str,
    pub again: bool,
    pub network: Option<&'a str>,
    pub yes: bool,
    pub wait: u64,
}

pub fn buy(paths: &Paths, pw_file: Option<&Path>, a: BuyArgs<'_>) -> Result<u8> {
    let BuyArgs {
        listing,
        account,
        again,
        network,
        yes,
        wait,
    } = a;
    refuse_unconfirmed(yes)?;
    let s = Session::open(paths, pw_file, network)?;
    let account = crate::cli::common::parse_account(&s.wallet, account)?;
    let buyer = s.wallet.address(account)?;
    let book = s.sync()?;
    let l = book
        .listings
        .get(&listing)
        .ok_or_else(|| anyhow!("no listing {listing} on this market (`keybot market browse`)"))?;
    if !l.active {
        bail!("listing {listing} was delisted by its seller");
    }
    if s.own.contains(&l.seller) {
        bail!("listing {listing} is your own");
    }
    // A buy whose RPC died after sending may have gone through: buying again would pay twice.
    // The sync above reconciled open transactions and read the purchases; a second copy of the
    // same listing is only bought on purpose.
    if !again {
        if let Some(p) = book
            .purchases
            .values()
            .find(|p| p.listing == listing && s.own.contains(&p.buyer))
        {
            bail!(
                "this wallet already bought listing {listing} (purchase {}); `keybot market fetch {}` gets it, --again buys another copy",
                p.id,
                p.id
            );
        }
        let pending = s
            .store
            .open_sent_txs(s.client.network.chain_id)?
            .into_iter()
            .find(|t| {
                t.to == s.market.address
                    && t.call
                        .as_ref()
                        .is_some_and(|c| c.function.starts_with("buy("))
            });
        if let Some(t) = pending {
            bail!(
                "a purchase from this wallet is still pending ({}); wait for it (`keybot wallet activity`) or pass --again",
                t.hash
            );
        }
    }
    eprintln!(
        "Buying listing {listing} ({}) for {}",
        clean_line(&meta_title(l)),
        s.price(l.token, l.price)
    );
    let sender = s.sender(yes, false, wait);
    if l.token != Address::ZERO {
        let token = svc::token_of(&s.client, l.token).ok_or_else(|| {
            anyhow!(
                "listing {listing} is priced in {}, a token this network's config does not list (`keybot token add`)",
                l.token.to_checksum(None)
            )
        })?;
        let balance =
            s.rt.block_on(crate::chain::token::balance_of(&s.client, l.token, buyer))?;
        if balance < l.price {
            bail!(
                "{} holds {}, less than the price {}; nothing was paid",
                buyer.to_checksum(None),
                s.price(l.token, balance),
                s.price(l.token, l.price)
            );
        }
        let allowed =
            s.rt.block_on(svc::allowance(&s.client, l.token, buyer, s.market))?;
        if allowed < l.price {
            sender.send_confirmed(
                account,
                svc::approve_call(buyer, &token, s.market, l.price),
                "Approve",
            )?;
        }
    }
    let call = svc::buy_call(&s.wallet, buyer, s.market, l)?;
    let hash = sender.send_confirmed(account, call, "Buy")?;
    let book = s.sync()?;
    let p = book
        .purchases
        .values()
        .find(|p| p.tx_hash == hash)
        .ok_or_else(|| anyhow!("the purchase is confirmed but its event was not found yet; `keybot market purchases` shows it later"))?;
    println!("{}", p.id);
    Ok(0)
}

fn my_purchase<'a>(s: &Session, book: &'a Book, purchase: u64) -> Result<&'a Purchase> {
    let p = book
        .purchases
        .get(&purchase)
        .ok_or_else(|| anyhow!("no purchase {purchase} on this market"))?;
    if !s.own.contains(&p.buyer) {
        bail!(
            "purchase {purchase} was made by {}, not by this wallet",
            p.buyer.to_checksum(None)
        );
    }
    Ok(p)
}

/// `market fetch PURCHASE --out FILE [--no-wait] [--ciphertext FILE]`.
pub fn fetch(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    purchase: u64,
    out: &Path,
    no_wait: bool,
    ciphertext: Option<&PathBuf>,
) -> Result<u8> {
    if out.exists() {
        bail!(
            "{} exists; keybot never overwrites a file",
            clean_line(&out.display().to_string())
        );
    }
    let s = Session::open(paths, pw_file, network)?;
    let (p, l) = loop {
        let book = s.sync()?;
        let p = my_purchase(&s, &book, purchase)?.clone();
        match p.state {
            PurchaseState::Delivered => {
                let l = book
                    .listings
                    .get(&p.listing)
                    .ok_or_else(|| {
                        anyhow!("the listing of purchase {purchase} is not in the index")
                    })?
                    .clone();
                break (p, l);
            }
            PurchaseState::Refunded => {
                bail!("purchase {purchase} was refunded; there is nothing to fetch")
            }
            PurchaseState::Paid if no_wait => {
                eprintln!(
                    "purchase {purchase} is not delivered yet (refundable after {})",
                    p.deadline
                );
                return Ok(NOT_DELIVERED);
            }
            PurchaseState::Paid => {
                if std::io::stderr().is_terminal() {
                    eprint!("\rwaiting for the seller to deliver purchase {purchase}…");
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    };
    let written = svc::save_delivery(&s.wallet, &p, &l, out, ciphertext.map(|p| p.as_path()))?;
    eprintln!(
        "purchase {purchase}: {written} bytes checked and written to {}",
        clean_line(&out.display().to_string())
    );
    Ok(0)
}

/// `market refund PURCHASE` and `market dispute PURCHASE`.
pub fn refund_or_dispute(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    purchase: u64,
    dispute: Option<&str>,
    yes: bool,
    wait: u64,
) -> Result<u8> {
    refuse_unconfirmed(yes)?;
    let s = Session::open(paths, pw_file, network)?;
    let book = s.sync()?;
    let p = my_purchase(&s, &book, purchase)?;
    let account = s.account_of(p.buyer)?;
    let call = match dispute {
        None => {
            if p.state != PurchaseState::Paid {
                bail!(
                    "purchase {purchase} is already {}",
                    if p.state == PurchaseState::Delivered {
                        "delivered"
                    } else {
                        "refunded"
                    }
                );
            }
            svc::refund_call(p, s.market)?
        }
        Some(reason) => {
            if p.state != PurchaseState::Delivered {
                bail!(
                    "purchase {purchase} is not delivered; a dispute is about a delivery (an undelivered one is refunded after its deadline)"
                );
            }
            svc::dispute_call(p, s.market, reason)?
        }
    };
    let what = if dispute.is_some() {
        "Dispute"
    } else {
        "Refund"
    };
    s.sender(yes, false, wait)
        .send_confirmed(account, call, what)?;
    Ok(0)
}
