//! The seller's on-chain commands: `keybot market sell | reprice | delist | listings |
//! withdraw` (`serve`, which delivers, is serve.rs).
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use anyhow::{Result, anyhow, bail};
use clap::Args;

use super::ChainOpts;
use super::session::{Session, listing_token, meta_title, refuse_unconfirmed};
use crate::chain::{Token, amount};
use crate::config::Paths;
use crate::market::book::{Listing, Purchase, PurchaseState};
use crate::sanitize::clean_line;
use crate::service::market as svc;
use crate::service::vault;
use crate::store::ItemId;

#[derive(Debug, Args)]
pub struct SellArgs {
    item: ItemId,
    /// The price in the token's units (e.g. 5 or 0.01).
    #[arg(long, value_name = "AMOUNT")]
    price: String,
    /// ETH (default) or a configured token by symbol or address.
    #[arg(long, value_name = "SYMBOL|ADDRESS")]
    token: Option<String>,
    /// Where the ciphertext is published (https://, ipfs://, file://); needed over 32 KiB.
    #[arg(long, value_name = "URI")]
    uri: Option<String>,
    /// Also write the ciphertext to FILE (to publish it at --uri).
    #[arg(long, value_name = "FILE")]
    ciphertext_out: Option<PathBuf>,
    /// A tag for the listing's metadata (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    #[command(flatten)]
    chain: ChainOpts,
}

impl SellArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let uri = self.uri.as_deref();
        let ChainOpts { yes, wait, .. } = self.chain;
        if let Some(uri) = uri {
            svc::check_uri(uri)?;
        }
        refuse_unconfirmed(yes)?;
        let s = self.chain.open(paths, pw_file)?;
        let token = listing_token(&s.client, self.token.as_deref())?;
        let price = amount::parse(&self.price, token.decimals)?;
        let item = vault::view(&s.store, self.item)?;
        let sale = svc::plan_sale(&s.client, s.market, &item, &token, price, uri, &self.tags)?;
        if let Some(out) = &self.ciphertext_out {
            keybot_keystore::atomic::create_private(out, &sale.secret.ciphertext)?;
            eprintln!(
                "ciphertext written to {}",
                clean_line(&out.display().to_string())
            );
        }
        if let Some(uri) = uri.and_then(|u| u.strip_prefix("file://")) {
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
        s.sender(yes, false, wait)
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
}

#[derive(Debug, Args)]
pub struct RepriceArgs {
    listing: u64,
    #[arg(long, value_name = "AMOUNT")]
    price: String,
    #[command(flatten)]
    chain: ChainOpts,
}

impl RepriceArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        reprice_or_delist(paths, pw_file, &self.chain, self.listing, Some(&self.price))
    }
}

#[derive(Debug, Args)]
pub struct DelistArgs {
    listing: u64,
    #[command(flatten)]
    chain: ChainOpts,
}

impl DelistArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        reprice_or_delist(paths, pw_file, &self.chain, self.listing, None)
    }
}

/// `market reprice LISTING --price P` and `market delist LISTING`: one of this wallet's active
/// listings, changed by its seller.
fn reprice_or_delist(
    paths: &Paths,
    pw_file: Option<&Path>,
    chain: &ChainOpts,
    listing: u64,
    price: Option<&str>,
) -> Result<u8> {
    let ChainOpts { yes, wait, .. } = chain;
    refuse_unconfirmed(*yes)?;
    let s = chain.open(paths, pw_file)?;
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
            let said = crate::market::receipt::reprice(
                l,
                &s.price(l.token, l.price),
                &s.price(l.token, price),
            );
            (
                svc::reprice_call(l, s.market, price)?
                    .amount_of(1, token)
                    .purpose(said),
                "Reprice",
            )
        }
        None => (svc::delist_call(l, s.market)?, "Delist"),
    };
    s.sender(*yes, false, *wait)
        .send_confirmed(account, call, what)?;
    Ok(0)
}

#[derive(Debug, Args)]
pub struct ListingsArgs {
    #[arg(long)]
    json: bool,
    #[arg(long)]
    network: Option<String>,
}

impl ListingsArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let s = Session::open(paths, pw_file, self.network.as_deref())?;
        let book = s.sync()?;
        let mine: Vec<&Listing> = book
            .listings
            .values()
            .filter(|l| s.own.contains(&l.seller))
            .collect();
        if self.json {
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
}

#[derive(Debug, Args)]
pub struct WithdrawArgs {
    #[arg(long, value_name = "SYMBOL|ADDRESS")]
    token: Option<String>,
    /// Pay to this address instead of the selling account.
    #[arg(long, value_name = "ADDRESS")]
    to: Option<String>,
    #[command(flatten)]
    chain: ChainOpts,
}

impl WithdrawArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let ChainOpts { yes, wait, .. } = self.chain;
        let to = self
            .to
            .as_deref()
            .map(crate::chain::safety::parse_address)
            .transpose()?;
        if to == Some(Address::ZERO) {
            bail!("the zero address burns what it is sent; name another --to");
        }
        refuse_unconfirmed(yes)?;
        let s = self.chain.open(paths, pw_file)?;
        let tokens: Vec<Token> = match self.token.as_deref() {
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
                let call = svc::withdraw_call(*seller, s.market, t.address, dest, settle)?.purpose(
                    crate::market::receipt::withdraw(
                        &s.price(t.address, claimable),
                        s.market.address,
                        dest,
                    ),
                );
                s.sender(yes, false, wait).send_confirmed(
                    s.account_of(*seller)?,
                    call,
                    "Withdraw",
                )?;
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
}
