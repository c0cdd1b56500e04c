//! What a market proposal of the model's is in the app: the transaction the Market screen's own
//! keys would start, checked as those keys check it (the listing active and someone else's, the
//! purchase the user's and in the state the action needs, the item consented), and the account it
//! goes from. Pure: the book is the one the Market screen shows.
use alloy::primitives::{Address, U256};

use super::market_onchain::{MarketBook, MarketTx};
use crate::bot::tools::Proposal;
use crate::chain::{Token, amount};
use crate::market::book::{Listing, Purchase};
use crate::service::vault::ConsentState;
use crate::tui::state::*;

/// Where a proposal stands before its review can open.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Review `tx`, sent from `from`.
    Review { from: Address, tx: MarketTx },
    /// The market's book is not read yet: read it, then plan again.
    NeedBook,
}

/// The market transaction of `p` (not a transfer or a withdrawal), or why there is none.
pub fn plan(s: &State, p: &Proposal) -> Result<Plan, String> {
    if let Proposal::Sell { item, price, token } = p {
        return sell(s, *item, price, token.as_deref());
    }
    let Some(m) = s.market.chain.market.as_deref() else {
        return Ok(Plan::NeedBook);
    };
    let review = |from: Address, tx: MarketTx| Ok(Plan::Review { from, tx });
    match p {
        Proposal::Buy { listing, max_price } => buy(s, m, *listing, max_price),
        Proposal::Deliver { purchase } => {
            let p = purchase_of(m, *purchase)?;
            if !m.pending().iter().any(|x| x.id == p.id) {
                return Err(format!(
                    "purchase {purchase} is not waiting for your key (not of your listing, delivered, or past its deadline)"
                ));
            }
            review(
                p.seller,
                MarketTx::Deliver {
                    purchase: Box::new(p.clone()),
                },
            )
        }
        Proposal::Challenge { purchase } => {
            let p = own_purchase(m, *purchase)?;
            if let Some(why) = m.challenge_refusal(p) {
                return Err(why);
            }
            review(
                p.buyer,
                MarketTx::Challenge {
                    purchase: Box::new(p.clone()),
                },
            )
        }
        Proposal::Refund { purchase } => {
            let p = own_purchase(m, *purchase)?;
            if let Some(why) = m.refund_refusal(p) {
                return Err(why);
            }
            review(
                p.buyer,
                MarketTx::Refund {
                    purchase: Box::new(p.clone()),
                },
            )
        }
        Proposal::Reprice {
            listing,
            price: text,
        } => {
            let l = own_listing(m, *listing)?;
            let token = token_of(s, l.token)?;
            let units = price(text, &token)?;
            if units == l.price {
                return Err(format!("listing {listing} already costs that"));
            }
            review(
                l.seller,
                MarketTx::Reprice {
                    listing: Box::new(l.clone()),
                    price: units,
                },
            )
        }
        Proposal::Delist { listing } => {
            let l = own_listing(m, *listing)?;
            review(
                l.seller,
                MarketTx::Delist {
                    listing: Box::new(l.clone()),
                },
            )
        }
        Proposal::Transfer { .. } | Proposal::Withdraw { .. } | Proposal::Sell { .. } => {
            Err("not a market transaction".into())
        }
    }
}

/// A purchase of someone else's listing, at its price if that is at most `max_price`, from the
/// account selected on the wallet screen.
fn buy(s: &State, m: &MarketBook, listing: u64, max_price: &str) -> Result<Plan, String> {
    let l = listing_of(m, listing)?;
    if m.own.contains(&l.seller) {
        return Err(format!("listing {listing} is your own"));
    }
    if m.book
        .purchases
        .values()
        .any(|x| x.listing == listing && m.own.contains(&x.buyer))
    {
        // A second copy only where the user asks for it themselves.
        return Err(format!(
            "you already bought listing {listing}; a second copy is bought on the Market screen"
        ));
    }
    let token = token_of(s, l.token)?;
    let max = price(max_price, &token)?;
    if l.price > max {
        return Err(format!(
            "listing {listing} costs {} {}, above the most proposed ({max_price})",
            amount::format(l.price, token.decimals),
            token.symbol
        ));
    }
    let buyer = s
        .wallet
        .accounts
        .get(s.wallet.selected)
        .map(|a| a.address)
        .ok_or("no account to pay from")?;
    Ok(Plan::Review {
        from: buyer,
        tx: MarketTx::Buy {
            listing: Box::new(l.clone()),
            buyer,
            again: false,
        },
    })
}

/// A consented vault item listed at `price`, from the account that signed its consent.
fn sell(s: &State, item: i64, text: &str, token: Option<&str>) -> Result<Plan, String> {
    let items = s.market.items.as_deref().unwrap_or_default();
    let it = items
        .iter()
        .find(|i| i.item.id == item)
        .ok_or_else(|| format!("no vault item {item}"))?;
    let ConsentState::Given(c) = &it.consent else {
        return Err(format!(
            "vault item {item} has no consent over its current preview: the user gives it on the Market screen first"
        ));
    };
    let seller: Address = c
        .account
        .parse()
        .map_err(|_| "the item's consent names no account".to_owned())?;
    let token = match token {
        None => s.net.sell_token(0),
        Some(key) => s
            .net
            .info
            .as_ref()
            .and_then(|n| crate::chain::network::find_token(&n.tokens, key))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no token {:?} on this network",
                    crate::sanitize::clean_line(key)
                )
            })?,
    };
    let units = price(text, &token)?;
    Ok(Plan::Review {
        from: seller,
        tx: MarketTx::Sell {
            item,
            token,
            price: units,
        },
    })
}

/// A positive price in `token`'s units.
fn price(text: &str, token: &Token) -> Result<U256, String> {
    match amount::parse(text, token.decimals) {
        Ok(u) if u.is_zero() => Err("the price is zero".into()),
        Ok(u) => Ok(u),
        Err(e) => Err(format!("price: {e}")),
    }
}

/// The token a listing is priced in, as the Market screen finds it.
fn token_of(s: &State, address: Address) -> Result<Token, String> {
    super::market_onchain::token_of(s, address)
        .ok_or_else(|| "the listing's token is not configured on this network".to_owned())
}

fn listing_of(m: &MarketBook, id: u64) -> Result<&Listing, String> {
    let l = m
        .book
        .listings
        .get(&id)
        .ok_or_else(|| format!("no listing {id} on this market"))?;
    if !l.active {
        return Err(format!("listing {id} is delisted"));
    }
    Ok(l)
}

fn own_listing(m: &MarketBook, id: u64) -> Result<&Listing, String> {
    let l = listing_of(m, id)?;
    if !m.own.contains(&l.seller) {
        return Err(format!("listing {id} is not yours"));
    }
    Ok(l)
}

fn purchase_of(m: &MarketBook, id: u64) -> Result<&Purchase, String> {
    m.book
        .purchases
        .get(&id)
        .ok_or_else(|| format!("no purchase {id} on this market"))
}

fn own_purchase(m: &MarketBook, id: u64) -> Result<&Purchase, String> {
    let p = purchase_of(m, id)?;
    if !m.own.contains(&p.buyer) {
        return Err(format!("purchase {id} is not yours"));
    }
    Ok(p)
}
