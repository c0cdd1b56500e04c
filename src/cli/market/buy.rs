//! The buyer's way in: `keybot market browse` (what is for sale) and `keybot market buy` (pay for
//! one listing); after paying, purchases.rs.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use anyhow::{Result, anyhow, bail};
use clap::Args;
use keybot_keystore::AccountRef;

use super::ChainOpts;
use super::session::{Session, meta_title, refuse_unconfirmed};
use crate::chain::{Token, amount};
use crate::cli::common::{Sender, parse_account};
use crate::config::Paths;
use crate::market::book::{Book, Listing};
use crate::market::meta::Meta;
use crate::sanitize::clean_line;
use crate::service::market as svc;

#[derive(Debug, Args)]
pub struct BrowseArgs {
    #[arg(long)]
    json: bool,
    #[arg(long, value_name = "ADDRESS")]
    seller: Option<String>,
    /// In each listing's own token's units.
    #[arg(long, value_name = "AMOUNT")]
    max_price: Option<String>,
    #[arg(long)]
    network: Option<String>,
}

/// Each seller's disputes as every client checks them: (proven, refuted).
type Disputes = BTreeMap<Address, (u32, u32)>;

impl BrowseArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let seller = self
            .seller
            .as_deref()
            .map(crate::chain::safety::parse_address)
            .transpose()?;
        let s = Session::open(paths, pw_file, self.network.as_deref())?;
        let book = s.sync()?;
        let rows = self.shown(&s, &book, seller)?;
        let disputes = svc::checked_disputes(s.client.network.chain_id, s.market.address, &book);
        if self.json {
            print_browse_json(&s, &book, &rows, &disputes);
        } else {
            print_browse(&s, &book, &rows, &disputes);
        }
        Ok(0)
    }

    /// The active listings `--seller` and `--max-price` let through. A listing priced in a
    /// token this network's config does not list is left out under `--max-price`: its price
    /// cannot be read in units.
    fn shown<'b>(
        &self,
        s: &Session,
        book: &'b Book,
        seller: Option<Address>,
    ) -> Result<Vec<&'b Listing>> {
        let mut rows = Vec::new();
        for l in book.listings.values().filter(|l| l.active) {
            if seller.is_some_and(|a| a != l.seller) {
                continue;
            }
            if let Some(max) = &self.max_price {
                let Some(t) = svc::token_of(&s.client, l.token) else {
                    continue;
                };
                if l.price > amount::parse(max, t.decimals)? {
                    continue;
                }
            }
            rows.push(l);
        }
        Ok(rows)
    }
}

fn print_browse_json(s: &Session, book: &Book, rows: &[&Listing], disputes: &Disputes) {
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
}

fn print_browse(s: &Session, book: &Book, rows: &[&Listing], disputes: &Disputes) {
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
}

#[derive(Debug, Args)]
pub struct BuyArgs {
    listing: u64,
    /// The most you pay (in the listing's token's units); default: the price shown now. The
    /// contract refuses the purchase if the seller repriced above it.
    #[arg(long, value_name = "AMOUNT")]
    max_price: Option<String>,
    /// The ciphertext, fetched by hand (an ipfs:// listing, or a file:// one from its
    /// seller): checked against the listing before anything is paid, and kept.
    #[arg(long, value_name = "FILE")]
    ciphertext: Option<PathBuf>,
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    /// Buy although this wallet already bought this listing (or a purchase is pending).
    #[arg(long)]
    again: bool,
    #[command(flatten)]
    chain: ChainOpts,
}

impl BuyArgs {
    /// Checks the listing, its price and its ciphertext, approves a token's price, pays, and
    /// prints the purchase id.
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let listing = self.listing;
        let ChainOpts { yes, wait, .. } = &self.chain;
        refuse_unconfirmed(*yes)?;
        let s = self.chain.open(paths, pw_file)?;
        let account = parse_account(&s.wallet, &self.account)?;
        let buyer = s.wallet.address(account)?;
        let book = s.sync()?;
        let l = buyable(&s, &book, listing)?;
        if !self.again {
            refuse_second_purchase(&s, &book, listing)?;
        }
        let token = svc::token_of(&s.client, l.token).ok_or_else(|| {
            anyhow!(
                "listing {listing} is priced in {}, a token this network's config does not list (`keybot token add`)",
                l.token.to_checksum(None)
            )
        })?;
        let max = self.max_price(&s, l, &token)?;
        keep_ciphertext(&s, l, self.ciphertext.as_deref())?;
        let buy = Payment {
            s: &s,
            sender: s.sender(*yes, false, *wait),
            account,
            buyer,
            listing: l,
            token,
        };
        let approved = buy.approve_price()?;
        let keys = svc::BuyerKeys::scan(&s.wallet, &book, &s.own)?;
        let (_, buyer_key) = keys.next(&s.wallet)?;
        let hash = buy.pay(&buyer_key, max, approved)?;
        let book = s.sync()?;
        let p = book
            .purchases
            .values()
            .find(|p| p.tx_hash == hash)
            .ok_or_else(|| anyhow!("the purchase is confirmed but its event was not found yet; `keybot market purchases` lists it later"))?;
        println!("{}", p.id);
        Ok(0)
    }

    /// What the user saw, or agreed to: the contract refuses the purchase above it.
    fn max_price(&self, s: &Session, l: &Listing, token: &Token) -> Result<U256> {
        let max = match &self.max_price {
            Some(p) => amount::parse(p, token.decimals)?,
            None => l.price,
        };
        if l.price > max {
            bail!(
                "listing {} now costs {}, above your maximum {}; nothing was paid",
                l.id,
                s.price(l.token, l.price),
                s.price(l.token, max)
            );
        }
        Ok(max)
    }
}

/// The listing, if this wallet can buy it: on the market, active, and someone else's.
fn buyable<'b>(s: &Session, book: &'b Book, listing: u64) -> Result<&'b Listing> {
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
    Ok(l)
}

/// The bytes first: a listing whose ciphertext is gone or changed is not worth paying for, and
/// the copy fetched now is the one a later fetch opens.
fn keep_ciphertext(s: &Session, l: &Listing, from_file: Option<&Path>) -> Result<()> {
    let ciphertext = svc::prefetch(l, from_file, &s.sources())?;
    s.store.save_purchased_ciphertext(
        s.client.network.chain_id,
        s.market.address,
        l.content_hash,
        &ciphertext,
    )?;
    eprintln!(
        "Buying listing {} ({}) for {}: its {} bytes of ciphertext are checked against the listing",
        l.id,
        clean_line(&meta_title(l)),
        s.price(l.token, l.price),
        ciphertext.len()
    );
    Ok(())
}

/// One purchase being paid for: the approval a token needs, then the payment into escrow.
struct Payment<'a> {
    s: &'a Session,
    sender: Sender<'a>,
    account: AccountRef,
    buyer: Address,
    listing: &'a Listing,
    token: Token,
}

impl Payment<'_> {
    /// For a token: checks the balance, then approves exactly what the price still needs.
    /// Returns whether an approval was sent.
    fn approve_price(&self) -> Result<bool> {
        let (s, l, buyer) = (self.s, self.listing, self.buyer);
        if l.token == Address::ZERO {
            return Ok(false);
        }
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
        let mut approved = false;
        for call in svc::approvals_for(buyer, &self.token, s.market, allowed, l.price) {
            self.sender.send_confirmed(self.account, call, "Approve")?;
            approved = true;
        }
        Ok(approved)
    }

    /// The `buy` call itself. When it fails after an approval, the approval is taken back: no
    /// allowance is left behind for a reprice or a later purchase to use.
    fn pay(
        &self,
        buyer_key: &[u8; 64],
        max: U256,
        approved: bool,
    ) -> Result<alloy::primitives::B256> {
        let (s, l) = (self.s, self.listing);
        let call = svc::buy_call(self.buyer, s.market, l, buyer_key, max)?
            .amount_of(2, self.token.clone())
            .purpose(crate::market::receipt::buy(l, &s.price(l.token, l.price)));
        match self.sender.send_confirmed(self.account, call, "Buy") {
            Ok(hash) => Ok(hash),
            Err(e) => {
                if approved {
                    let reset = svc::approve_call(self.buyer, &self.token, s.market, U256::ZERO);
                    if let Err(r) = self.sender.send_confirmed(self.account, reset, "Approve") {
                        eprintln!(
                            "the approval of {} could not be taken back: {}",
                            s.price(l.token, l.price),
                            clean_line(&format!("{r:#}"))
                        );
                    }
                }
                Err(e)
            }
        }
    }
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
