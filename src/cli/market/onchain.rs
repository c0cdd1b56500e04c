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
/// Exit status of `fetch` when the delivered key is wrong (`market challenge` takes the money
/// back while the window is open).
pub const WRONG_KEY: u8 = 4;

/// An unlocked wallet connected to a network's market.
pub struct Session {
    pub rt: tokio::runtime::Runtime,
    pub client: Client,
    pub market: Market,
    pub wallet: Wallet,
    pub store: Store,
    pub own: Vec<Address>,
    /// `market.ipfs_gateway`, for an ipfs:// listing's ciphertext.
    pub ipfs_gateway: Option<String>,
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
        let ipfs_gateway = crate::service::settings::Settings::load(&store)?
            .0
            .ipfs_gateway()
            .map(str::to_owned);
        Ok(Session {
            rt: chain::runtime()?,
            client,
            market,
            wallet,
            store,
            own,
            ipfs_gateway,
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

    /// The chain's time: deadlines and challenge windows are the contract's, not this
    /// machine's.
    pub fn now(&self) -> Result<u64> {
        Ok(self.rt.block_on(svc::chain_time(&self.client))?)
    }

    /// The buyer's side: this wallet's one-time keys as the book shows them used.
    pub fn buyer<'a>(&'a self, keys: &'a svc::BuyerKeys, now: u64) -> svc::Buyer<'a> {
        svc::Buyer {
            ipfs_gateway: self.ipfs_gateway.as_deref(),
            ..svc::Buyer::new(
                &self.wallet,
                keys,
                &self.client,
                self.market,
                now,
                &self.own,
            )
        }
    }

    /// Where listings' ciphertexts may be read from.
    pub fn sources(&self) -> svc::Sources<'_> {
        svc::Sources {
            own: &self.own,
            ipfs_gateway: self.ipfs_gateway.as_deref(),
        }
    }
}

/// What every sending command takes besides its own arguments.
pub struct Sending {
    pub network: Option<String>,
    pub yes: bool,
    pub wait: u64,
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
        None => Ok(svc::eth()),
        Some(t) if t.eq_ignore_ascii_case("ETH") => Ok(svc::eth()),
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

/// `market purchases [--json]`: this wallet's purchases on the network's market.
pub fn purchases(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    json: bool,
) -> Result<u8> {
    let s = Session::open(paths, pw_file, network)?;
    let book = s.sync()?;
    let now = s.now()?;
    let mine: Vec<&Purchase> = book
        .purchases
        .values()
        .filter(|p| s.own.contains(&p.buyer))
        .collect();
    let state = |p: &Purchase| -> String {
        use crate::market::earnings::utc_time;
        match p.state {
            PurchaseState::Paid if now > p.deadline => "not delivered: refundable".into(),
            PurchaseState::Paid => format!("waiting for the key until {}", utc_time(p.deadline)),
            PurchaseState::Delivered if p.is_settling(now) => {
                format!("delivered, challengeable until {}", utc_time(p.settles_at))
            }
            PurchaseState::Delivered => "delivered".into(),
            PurchaseState::Refunded if p.proven_wrong.is_some() => {
                "refunded: the key was proven wrong".into()
            }
            PurchaseState::Refunded => "refunded".into(),
        }
    };
    if json {
        let all: Vec<_> = mine
            .iter()
            .map(|p| {
                serde_json::json!({
                    "purchase": p.id,
                    "listing": p.listing,
                    "title": book.listings.get(&p.listing).map(meta_title).map(|t| clean_line(&t).into_owned()),
                    "buyer": p.buyer,
                    "seller": p.seller,
                    "token": p.token,
                    "price": p.price.to_string(),
                    "deadline": p.deadline,
                    "state": state(p),
                    "challengeable_until": p.is_settling(now).then_some(p.settles_at),
                    "disputed": p.disputed,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(0);
    }
    if mine.is_empty() {
        eprintln!("no purchases yet: `keybot market browse`, then `keybot market buy LISTING`");
    }
    for p in mine {
        println!(
            "{:>5}  listing {:>4}  {:<30}  {:>18}  {}",
            p.id,
            p.listing,
            clean_line(
                &book
                    .listings
                    .get(&p.listing)
                    .map(meta_title)
                    .unwrap_or_default()
            ),
            s.price(p.token, p.price),
            state(p)
        );
    }
    Ok(0)
}

/// One pass of the seller's delivery: every paid purchase of a listing whose key this store
/// holds, until an hour before its deadline (svc::DELIVERY_MARGIN). A purchase that cannot be
/// delivered (a buyer key that is no usable point, a delivery the node refuses) is skipped
/// with one line, and the others go on. Returns how many were delivered.
fn deliver_pending(
    s: &Session,
    book: &Book,
    now: u64,
    wait: u64,
    told: &mut std::collections::HashSet<u64>,
) -> Result<usize> {
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
            if !svc::deliverable(p, now) {
                // Said once per purchase, not on every pass.
                if told.insert(p.id) {
                    eprintln!(
                        "skipped purchase {} (listing {}): its deadline {} is less than an hour away or past; the buyer is refunded after it",
                        p.id,
                        listing.id,
                        crate::market::earnings::utc_time(p.deadline)
                    );
                }
                continue;
            }
            let sent = svc::deliver_call(p, &secret).and_then(|call| {
                let account = s.account_of(p.seller)?;
                s.sender(true, false, wait)
                    .send_confirmed(account, call, "Deliver")
            });
            match sent {
                Ok(_) => {
                    eprintln!("delivered purchase {} (listing {})", p.id, listing.id);
                    delivered += 1;
                }
                Err(e) => eprintln!(
                    "skipped purchase {} (listing {}): {}",
                    p.id,
                    listing.id,
                    clean_line(&format!("{e:#}"))
                ),
            }
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
    let mut told = std::collections::HashSet::new();
    loop {
        let book = s.sync()?;
        // The chain's clock, not this machine's: the deadline is the contract's.
        let now = s.now().unwrap_or_else(|_| now_secs());
        deliver_pending(&s, &book, now, 120, &mut told)?;
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

/// `market withdraw [--token T] [--to ADDRESS]`.
pub fn withdraw(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    token: Option<&str>,
    to: Option<&str>,
    yes: bool,
    wait: u64,
) -> Result<u8> {
    let to = to.map(crate::chain::safety::parse_address).transpose()?;
    if to == Some(Address::ZERO) {
        bail!("the zero address burns what it is sent; name another --to");
    }
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
    let now = s.now()?;
    let mut any = false;
    for seller in &s.own {
        for t in &tokens {
            let claimable = book.claimable(*seller, t.address, now);
            if claimable.is_zero() {
                continue;
            }
            any = true;
            let dest = to.unwrap_or(*seller);
            eprintln!(
                "{} can withdraw {} (to {})",
                seller.to_checksum(None),
                s.price(t.address, claimable),
                dest.to_checksum(None)
            );
            let settle = book.to_settle(*seller, t.address, now);
            let call = svc::withdraw_call(*seller, s.market, t.address, dest, settle)?;
            s.sender(yes, false, wait)
                .send_confirmed(s.account_of(*seller)?, call, "Withdraw")?;
        }
    }
    if !any {
        let settling: Vec<String> = tokens
            .iter()
            .filter_map(|t| {
                let sum: U256 = book
                    .purchases
                    .values()
                    .filter(|p| {
                        s.own.contains(&p.seller) && p.token == t.address && p.is_settling(now)
                    })
                    .map(|p| p.price)
                    .sum();
                (!sum.is_zero()).then(|| s.price(t.address, sum))
            })
            .collect();
        if settling.is_empty() {
            eprintln!("nothing to withdraw");
        } else {
            eprintln!(
                "nothing to withdraw yet: {} still in the buyers' challenge window",
                settling.join(", ")
            );
        }
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
    let disputes = svc::checked_disputes(s.client.network.chain_id, s.market.address, &book);
    if json {
        let all: Vec<_> = rows
            .iter()
            .map(|l| {
                let meta = Meta::parse(&l.meta).ok();
                let record = book.seller_record(l.seller);
                let (proven, refuted) = disputes.get(&l.seller).copied().unwrap_or_default();
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
                    "seller_disputes_proven": proven,
                    "seller_disputes_refuted": refuted,
                    "seller_refunds": record.refunds,
                    "seller_keys_proven_wrong": record.proven_wrong,
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
        let (proven, refuted) = disputes.get(&l.seller).copied().unwrap_or_default();
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
            "{:>5}  {:<30}  {:>18}  {:>8} B  seller {}: {} delivered, {} wrong keys refunded, disputes {} proven {} refuted  removed: {}",
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
            record.proven_wrong,
            proven,
            refuted,
            if removed.is_empty() {
                "nothing".into()
            } else {
                removed
            }
        );
    }
    Ok(0)
}

/// `market buy LISTING [--max-price P] [--account A] [--again]`.
pub struct BuyArgs<'a> {
    pub listing: u64,
    pub max_price: Option<&'a str>,
    /// The ciphertext, fetched by hand (an ipfs:// listing, or a file the seller sent).
    pub ciphertext: Option<&'a Path>,
    pub account: &'a str,
    pub again: bool,
    pub network: Option<&'a str>,
    pub yes: bool,
    pub wait: u64,
}

pub fn buy(paths: &Paths, pw_file: Option<&Path>, a: BuyArgs<'_>) -> Result<u8> {
    let BuyArgs {
        listing,
        max_price,
        ciphertext,
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
    if !again {
        refuse_second_purchase(&s, &book, listing)?;
    }
    let token = svc::token_of(&s.client, l.token).ok_or_else(|| {
        anyhow!(
            "listing {listing} is priced in {}, a token this network's config does not list (`keybot token add`)",
            l.token.to_checksum(None)
        )
    })?;
    // What the user saw, or agreed to: the contract refuses the purchase above it.
    let max = match max_price {
        Some(p) => amount::parse(p, token.decimals)?,
        None => l.price,
    };
    if l.price > max {
        bail!(
            "listing {listing} now costs {}, above your maximum {}; nothing was paid",
            s.price(l.token, l.price),
            s.price(l.token, max)
        );
    }
    // The bytes first: a listing whose ciphertext is gone or changed is not worth paying for,
    // and the copy fetched now is the one a later fetch opens.
    let ciphertext = svc::prefetch(l, ciphertext, &s.sources())?;
    s.store.save_purchased_ciphertext(
        s.client.network.chain_id,
        s.market.address,
        l.content_hash,
        &ciphertext,
    )?;
    eprintln!(
        "Buying listing {listing} ({}) for {}: its {} bytes of ciphertext are checked against the listing",
        clean_line(&meta_title(l)),
        s.price(l.token, l.price),
        ciphertext.len()
    );
    let sender = s.sender(yes, false, wait);
    let mut approved = false;
    if l.token != Address::ZERO {
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
        for call in svc::approvals_for(buyer, &token, s.market, allowed, l.price) {
            sender.send_confirmed(account, call, "Approve")?;
            approved = true;
        }
    }
    let keys = svc::BuyerKeys::scan(&s.wallet, &book, &s.own)?;
    let (_, buyer_key) = keys.next(&s.wallet)?;
    let call = svc::buy_call(buyer, s.market, l, &buyer_key, max)?.amount_of(2, token.clone());
    let hash = match sender.send_confirmed(account, call, "Buy") {
        Ok(hash) => hash,
        Err(e) => {
            // No allowance is left behind for a reprice or a later purchase to use.
            if approved {
                let reset = svc::approve_call(buyer, &token, s.market, U256::ZERO);
                if let Err(r) = sender.send_confirmed(account, reset, "Approve") {
                    eprintln!(
                        "the approval of {} could not be taken back: {}",
                        s.price(l.token, l.price),
                        clean_line(&format!("{r:#}"))
                    );
                }
            }
            return Err(e);
        }
    };
    let book = s.sync()?;
    let p = book
        .purchases
        .values()
        .find(|p| p.tx_hash == hash)
        .ok_or_else(|| anyhow!("the purchase is confirmed but its event was not found yet; `keybot market purchases` lists it later"))?;
    println!("{}", p.id);
    Ok(0)
}

/// A buy whose RPC died after sending may have gone through: buying again would pay twice. The
/// sync before this reconciled open transactions and read the purchases; a second copy of the
/// same listing is only bought on purpose (`--again`).
fn refuse_second_purchase(s: &Session, book: &Book, listing: u64) -> Result<()> {
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
    Ok(())
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
    let (book, p, l) = loop {
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
                break (book, p, l);
            }
            PurchaseState::Refunded => {
                bail!("purchase {purchase} was refunded; there is nothing to fetch")
            }
            PurchaseState::Paid if no_wait => {
                eprintln!(
                    "purchase {purchase} is not delivered yet (refundable after {})",
                    crate::market::earnings::utc_time(p.deadline)
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
    let keys = svc::BuyerKeys::scan(&s.wallet, &book, &s.own)?;
    let now = s.now()?;
    // A copy the buyer passes, else the one checked before paying, else the listing's own.
    let bytes = match ciphertext {
        Some(path) => Some(keybot_keystore::atomic::read_limited(path, svc::MAX_FETCH)?),
        None => s.store.purchased_ciphertext(
            s.client.network.chain_id,
            s.market.address,
            l.content_hash,
        )?,
    };
    match svc::save_delivery(&s.buyer(&keys, now), &p, &l, out, bytes.as_deref()) {
        Ok(written) => {
            eprintln!(
                "purchase {purchase}: {written} bytes checked and written to {}",
                clean_line(&out.display().to_string())
            );
            Ok(0)
        }
        Err(svc::SaveError::Fetch(e)) if e.challengeable() => {
            eprintln!("{e}");
            Ok(WRONG_KEY)
        }
        Err(e) => Err(e.into()),
    }
}

/// What a buyer can do about a purchase after paying.
pub enum BuyerStep<'a> {
    /// Take back an undelivered purchase after its deadline, to the buyer or `to`.
    Refund { to: Option<&'a str> },
    /// Prove a delivered key wrong on chain and take the money back.
    Challenge,
    /// Publish a checkable claim about a delivery.
    Dispute { reason: &'a str },
}

/// `market refund`, `market challenge` and `market dispute`.
pub fn after_purchase(
    paths: &Paths,
    pw_file: Option<&Path>,
    c: &Sending,
    purchase: u64,
    step: BuyerStep<'_>,
) -> Result<u8> {
    let to = match &step {
        BuyerStep::Refund { to: Some(to) } => {
            let to = crate::chain::safety::parse_address(to)?;
            if to == Address::ZERO {
                bail!("the zero address burns what it is sent; name another --to");
            }
            Some(to)
        }
        _ => None,
    };
    if let BuyerStep::Dispute { reason } = &step {
        let max = crate::chain::market_contract::MAX_REASON;
        if reason.len() > max {
            bail!(
                "the reason is {} bytes; the contract takes at most {max}",
                reason.len()
            );
        }
    }
    refuse_unconfirmed(c.yes)?;
    let s = Session::open(paths, pw_file, c.network.as_deref())?;
    let book = s.sync()?;
    let p = my_purchase(&s, &book, purchase)?;
    let account = s.account_of(p.buyer)?;
    let state = |p: &Purchase| match p.state {
        PurchaseState::Paid => "not delivered yet",
        PurchaseState::Delivered => "delivered",
        PurchaseState::Refunded => "refunded",
    };
    let (call, what) = match step {
        BuyerStep::Refund { .. } => {
            if p.state != PurchaseState::Paid {
                bail!("purchase {purchase} is already {}", state(p));
            }
            (svc::refund_call(p, s.market, to)?, "Refund")
        }
        BuyerStep::Challenge => {
            if p.state != PurchaseState::Delivered {
                bail!(
                    "purchase {purchase} is {}; a challenge is about a delivered key",
                    state(p)
                );
            }
            let now = s.now()?;
            if p.is_settled(now) {
                bail!(
                    "purchase {purchase}'s challenge window closed at {}; nothing was sent",
                    crate::market::earnings::utc_time(p.settles_at)
                );
            }
            let keys = svc::BuyerKeys::scan(&s.wallet, &book, &s.own)?;
            let l = book
                .listings
                .get(&p.listing)
                .ok_or_else(|| anyhow!("the listing of purchase {purchase} is not in the index"))?;
            // This client's own check first: a challenge publishes the one-time key, and with
            // it the content, so it is never sent for a key that opens the listing.
            match svc::open_key(&s.buyer(&keys, now), p, l) {
                Ok(_) => bail!(
                    "purchase {purchase}'s key is right (it matches the listing's commitment); a challenge would fail and publish it, so nothing was sent"
                ),
                Err(e) if e.challengeable() => {}
                Err(e) => bail!("{e}"),
            }
            (
                svc::challenge_call(&s.wallet, &keys, p, s.market)?,
                "Challenge",
            )
        }
        BuyerStep::Dispute { reason } => {
            if p.state != PurchaseState::Delivered {
                bail!(
                    "purchase {purchase} is {}; a dispute is about a delivery (an undelivered one is refunded after its deadline)",
                    state(p)
                );
            }
            if p.disputed {
                bail!("purchase {purchase} is already disputed");
            }
            let keys = svc::BuyerKeys::scan(&s.wallet, &book, &s.own)?;
            eprintln!(
                "A dispute publishes purchase {purchase}'s one-time key: every client checks your claim, and if the content opens, it is public."
            );
            (
                svc::dispute_call(&s.wallet, &keys, p, s.market, reason)?,
                "Dispute",
            )
        }
    };
    s.sender(c.yes, false, c.wait)
        .send_confirmed(account, call, what)?;
    if what == "Challenge" {
        eprintln!("purchase {purchase}: the key was proven wrong and the payment refunded");
    }
    Ok(0)
}
