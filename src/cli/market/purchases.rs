//! After paying: `keybot market purchases` (what this wallet bought), `fetch` (the delivered
//! content, checked and decrypted), and `refund`, `challenge` and `dispute` (the buyer's ways
//! to get the money back or make a claim).
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Result, anyhow, bail};
use clap::Args;

use super::ChainOpts;
use super::session::{Session, meta_title, refuse_unconfirmed};
use crate::chain::Call;
use crate::config::Paths;
use crate::market::book::{Book, Purchase, PurchaseState};
use crate::market::receipt;
use crate::sanitize::clean_line;
use crate::service::market as svc;

/// Exit status of `fetch --no-wait` when the key is not delivered yet.
pub const NOT_DELIVERED: u8 = 3;
/// Exit status of `fetch` when the delivered key is wrong (`market challenge` takes the money
/// back while the window is open).
pub const WRONG_KEY: u8 = 4;

#[derive(Debug, Args)]
pub struct PurchasesArgs {
    #[arg(long)]
    json: bool,
    #[arg(long)]
    network: Option<String>,
}

impl PurchasesArgs {
    /// This wallet's purchases on the network's market.
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let s = Session::open(paths, pw_file, self.network.as_deref())?;
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
                PurchaseState::Paid => {
                    format!("waiting for the key until {}", utc_time(p.deadline))
                }
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
        if self.json {
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
}

/// Purchase `purchase`, if this wallet made it.
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

#[derive(Debug, Args)]
pub struct FetchArgs {
    purchase: u64,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Exit 3 at once when the key is not delivered yet.
    #[arg(long)]
    no_wait: bool,
    /// The ciphertext, fetched by hand (for an ipfs:// listing).
    #[arg(long, value_name = "FILE")]
    ciphertext: Option<PathBuf>,
    #[arg(long)]
    network: Option<String>,
}

impl FetchArgs {
    /// Waits for the delivery (unless `--no-wait`), then checks, decrypts and writes `--out`.
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let Self {
            purchase,
            out,
            no_wait,
            ciphertext,
            network,
        } = self;
        if out.exists() {
            bail!(
                "{} exists; keybot never overwrites a file",
                clean_line(&out.display().to_string())
            );
        }
        let s = Session::open(paths, pw_file, network.as_deref())?;
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
        let bytes = match &ciphertext {
            Some(path) => Some(keybot_keystore::atomic::read_limited(path, svc::MAX_FETCH)?),
            None => s.store.purchased_ciphertext(
                s.client.network.chain_id,
                s.market.address,
                l.content_hash,
            )?,
        };
        match svc::save_delivery(&s.buyer(&keys, now), &p, &l, &out, bytes.as_deref()) {
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
}

#[derive(Debug, Args)]
pub struct RefundArgs {
    purchase: u64,
    /// Pay to this address instead of the buying account.
    #[arg(long, value_name = "ADDRESS")]
    to: Option<String>,
    #[command(flatten)]
    chain: ChainOpts,
}

impl RefundArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let step = BuyerStep::Refund {
            to: self.to.as_deref(),
        };
        after_purchase(paths, pw_file, &self.chain, self.purchase, step)
    }
}

#[derive(Debug, Args)]
pub struct ChallengeArgs {
    purchase: u64,
    #[command(flatten)]
    chain: ChainOpts,
}

impl ChallengeArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        after_purchase(
            paths,
            pw_file,
            &self.chain,
            self.purchase,
            BuyerStep::Challenge,
        )
    }
}

#[derive(Debug, Args)]
pub struct DisputeArgs {
    purchase: u64,
    #[arg(
        long,
        default_value = "the delivered key or content does not match the listing"
    )]
    reason: String,
    #[command(flatten)]
    chain: ChainOpts,
}

impl DisputeArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let step = BuyerStep::Dispute {
            reason: &self.reason,
        };
        after_purchase(paths, pw_file, &self.chain, self.purchase, step)
    }
}

/// What a buyer can do about a purchase after paying.
enum BuyerStep<'a> {
    /// Take back an undelivered purchase after its deadline, to the buyer or `to`.
    Refund { to: Option<&'a str> },
    /// Prove a delivered key wrong on chain and take the money back.
    Challenge,
    /// Publish a checkable claim about a delivery.
    Dispute { reason: &'a str },
}

/// `market refund`, `market challenge` and `market dispute`: what the user typed is checked
/// first, then the purchase's state, then the call goes through the review.
fn after_purchase(
    paths: &Paths,
    pw_file: Option<&Path>,
    c: &ChainOpts,
    purchase: u64,
    step: BuyerStep<'_>,
) -> Result<u8> {
    let to = step.refund_to()?;
    step.check_reason()?;
    refuse_unconfirmed(c.yes)?;
    let s = c.open(paths, pw_file)?;
    let book = s.sync()?;
    let p = my_purchase(&s, &book, purchase)?;
    let account = s.account_of(p.buyer)?;
    let (call, what) = match step {
        BuyerStep::Refund { .. } => {
            if p.state != PurchaseState::Paid {
                bail!("purchase {purchase} is already {}", state(p));
            }
            let price = s.price(p.token, p.price);
            let call = svc::refund_call(p, s.market, to)?.purpose(receipt::refund(
                p,
                &price,
                to.unwrap_or(p.buyer),
            ));
            (call, "Refund")
        }
        BuyerStep::Challenge => (
            challenge_call(&s, &book, p)?
                .purpose(receipt::challenge(p, &s.price(p.token, p.price))),
            "Challenge",
        ),
        BuyerStep::Dispute { reason } => (dispute_call(&s, &book, p, reason)?, "Dispute"),
    };
    s.sender(c.yes, false, c.wait)
        .send_confirmed(account, call, what)?;
    if what == "Challenge" {
        eprintln!("purchase {purchase}: the key was proven wrong and the payment refunded");
    }
    Ok(0)
}

impl BuyerStep<'_> {
    /// `refund --to`: checked before the password is asked for.
    fn refund_to(&self) -> Result<Option<Address>> {
        let BuyerStep::Refund { to: Some(to) } = self else {
            return Ok(None);
        };
        let to = crate::chain::safety::parse_address(to)?;
        if to == Address::ZERO {
            bail!("the zero address burns what it is sent; name another --to");
        }
        Ok(Some(to))
    }

    /// A dispute's reason goes on chain, where the contract caps its length.
    fn check_reason(&self) -> Result<()> {
        if let BuyerStep::Dispute { reason } = self {
            let max = crate::chain::market_contract::MAX_REASON;
            if reason.len() > max {
                bail!(
                    "the reason is {} bytes; the contract takes at most {max}",
                    reason.len()
                );
            }
        }
        Ok(())
    }
}

/// A purchase's state in the words its refusals use.
fn state(p: &Purchase) -> &'static str {
    match p.state {
        PurchaseState::Paid => "not delivered yet",
        PurchaseState::Delivered => "delivered",
        PurchaseState::Refunded => "refunded",
    }
}

/// `challenge`: only for a delivered key, within its window, that this client itself finds
/// wrong.
fn challenge_call(s: &Session, book: &Book, p: &Purchase) -> Result<Call> {
    let purchase = p.id;
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
    let keys = svc::BuyerKeys::scan(&s.wallet, book, &s.own)?;
    let l = book
        .listings
        .get(&p.listing)
        .ok_or_else(|| anyhow!("the listing of purchase {purchase} is not in the index"))?;
    // This client's own check first: a challenge publishes the one-time key, and with it the
    // content, so it is never sent for a key that opens the listing.
    match svc::open_key(&s.buyer(&keys, now), p, l) {
        Ok(_) => bail!(
            "purchase {purchase}'s key is right (it matches the listing's commitment); a challenge would fail and publish it, so nothing was sent"
        ),
        Err(e) if e.challengeable() => {}
        Err(e) => bail!("{e}"),
    }
    svc::challenge_call(&s.wallet, &keys, p, s.market)
}

/// `dispute`: only for a delivery, once, and said first what it publishes.
fn dispute_call(s: &Session, book: &Book, p: &Purchase, reason: &str) -> Result<Call> {
    let purchase = p.id;
    if p.state != PurchaseState::Delivered {
        bail!(
            "purchase {purchase} is {}; a dispute is about a delivery (an undelivered one is refunded after its deadline)",
            state(p)
        );
    }
    if p.disputed {
        bail!("purchase {purchase} is already disputed");
    }
    let keys = svc::BuyerKeys::scan(&s.wallet, book, &s.own)?;
    eprintln!(
        "A dispute publishes purchase {purchase}'s one-time key: every client checks your claim, and if the content opens, it is public."
    );
    svc::dispute_call(&s.wallet, &keys, p, s.market, reason)
}
