//! What each market transaction does, in words: the first line of its review, the same on the
//! command line and in the app ("You pay 5 tUSD into escrow for listing #1 'Supplier call
//! notes'"). Amounts arrive formatted in their token's units (the caller knows the network's
//! tokens); a listing's title is a stranger's text, cleaned and cut to [`MAX_TITLE`] characters.
use alloy::primitives::{Address, U256};

use crate::chain::safety::short;
use crate::market::book::{Listing, Purchase};
use crate::market::earnings::utc_time;
use crate::market::events::MarketEvent;
use crate::market::meta::Meta;
use crate::sanitize::clean_line;

/// The longest title quoted in a sentence, in characters; a longer one ends in "…".
pub const MAX_TITLE: usize = 40;

/// `'Title'` of a listing (cleaned, cut), or nothing when its metadata cannot be read.
pub fn quoted_title(meta_json: &str) -> String {
    match Meta::parse(meta_json) {
        Ok(m) if !m.title.trim().is_empty() => format!(" '{}'", cut(&m.title, MAX_TITLE)),
        _ => String::new(),
    }
}

/// `s` cut to `max` characters, ending in "…" when cut.
pub fn cut(s: &str, max: usize) -> String {
    let s = clean_line(s);
    if s.chars().count() <= max {
        return s.into_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub fn list(item: impl std::fmt::Display, title: &str, price: &str) -> String {
    format!(
        "You list vault item {item} '{}' for {price}. Nothing moves now: buyers pay into escrow, and it is yours once you deliver the key.",
        cut(title, MAX_TITLE)
    )
}

/// The approval of exactly the price before a token purchase (or its reset to zero).
pub fn approve(price: &str, owner: Address, market: Address) -> String {
    format!(
        "You allow the market {} to take exactly {price} from {}. Nothing moves yet.",
        short(market),
        short(owner)
    )
}

pub fn reset_approval(symbol: &str, market: Address) -> String {
    format!(
        "You take back the market {}'s permission to take your {}: its allowance becomes 0. Nothing moves.",
        short(market),
        clean_line(symbol)
    )
}

pub fn buy(listing: &Listing, price: &str) -> String {
    format!(
        "You pay {price} into escrow for listing #{}{} from {}. The seller is paid only after delivering a key that opens it.",
        listing.id,
        quoted_title(&listing.meta),
        short(listing.seller)
    )
}

pub fn deliver(purchase: &Purchase, price: &str) -> String {
    format!(
        "You deliver listing #{}'s key to the buyer of purchase #{}. The {price} they paid becomes yours when the challenge window ends.",
        purchase.listing, purchase.id
    )
}

pub fn refund(purchase: &Purchase, price: &str, to: Address) -> String {
    format!(
        "You take back the {price} paid for purchase #{} (never delivered) from escrow to {}.",
        purchase.id,
        short(to)
    )
}

pub fn challenge(purchase: &Purchase, price: &str) -> String {
    format!(
        "You ask the contract to check purchase #{}'s key; it is wrong, so the {price} paid comes back to {}. This publishes the purchase's one-time key.",
        purchase.id,
        short(purchase.buyer)
    )
}

pub fn dispute(purchase: &Purchase) -> String {
    format!(
        "You record on chain that purchase #{}'s delivery did not open. No money moves; this publishes the purchase's one-time key.",
        purchase.id
    )
}

pub fn reprice(listing: &Listing, old: &str, new: &str) -> String {
    format!(
        "You change listing #{}{}'s price from {old} to {new}. No money moves.",
        listing.id,
        quoted_title(&listing.meta)
    )
}

pub fn delist(listing: &Listing) -> String {
    format!(
        "You take listing #{}{} off the market. No money moves; purchases already paid stay as they are.",
        listing.id,
        quoted_title(&listing.meta)
    )
}

pub fn withdraw(amount: &str, from_market: Address, to: Address) -> String {
    format!(
        "You withdraw {amount} from the market {} to {}.",
        short(from_market),
        short(to)
    )
}

/// What a confirmed market transaction did, read from its own events ("Listed #2 for 5 tUSD.",
/// "Bought #3: waiting for the seller's key (deadline …)."): the app's result line. `price`
/// formats an amount of a token; `to` is where a withdrawal went (its event does not say);
/// `token_of` names a listing's token (a reprice's event does not say either).
pub fn done(
    events: &[MarketEvent],
    price: &dyn Fn(Address, U256) -> String,
    to: Option<Address>,
    token_of: &dyn Fn(u64) -> Option<Address>,
) -> Option<String> {
    let refunded_as_wrong = events
        .iter()
        .any(|e| matches!(e, MarketEvent::KeyProvenWrong { .. }));
    let said: Vec<String> = events
        .iter()
        .filter_map(|e| {
            Some(match e {
                MarketEvent::Listed {
                    listing,
                    token,
                    price: p,
                    ..
                } => format!("Listed #{listing} for {}.", price(*token, *p)),
                MarketEvent::Repriced {
                    listing, price: p, ..
                } => match token_of(*listing) {
                    Some(token) => format!("Repriced #{listing} to {}.", price(token, *p)),
                    None => format!("Repriced #{listing}."),
                },
                MarketEvent::Delisted { listing, .. } => format!("Delisted #{listing}."),
                MarketEvent::Purchased {
                    purchase,
                    listing,
                    token,
                    price: p,
                    deadline,
                    ..
                } => format!(
                    "Bought #{listing} for {} (purchase #{purchase}): waiting for the seller's key (deadline {}).",
                    price(*token, *p),
                    utc_time(*deadline)
                ),
                MarketEvent::Delivered {
                    purchase,
                    settles_at,
                    ..
                } if *settles_at > 0 => format!(
                    "Delivered purchase #{purchase}: its payment is yours from {}.",
                    utc_time(*settles_at)
                ),
                MarketEvent::Delivered { purchase, .. } => {
                    format!("Delivered purchase #{purchase}.")
                }
                MarketEvent::Refunded {
                    purchase,
                    token,
                    amount,
                    ..
                } if refunded_as_wrong => format!(
                    "The contract proved purchase #{purchase}'s key wrong and refunded {}.",
                    price(*token, *amount)
                ),
                MarketEvent::Refunded {
                    purchase,
                    token,
                    amount,
                    ..
                } => format!("Refunded {} for purchase #{purchase}.", price(*token, *amount)),
                MarketEvent::Disputed { purchase, .. } => {
                    format!("Disputed purchase #{purchase} on chain.")
                }
                MarketEvent::Withdrawn { token, amount, .. } => match to {
                    Some(to) => format!("Withdrew {} to {}.", price(*token, *amount), short(to)),
                    None => format!("Withdrew {}.", price(*token, *amount)),
                },
                MarketEvent::KeyProvenWrong { .. } | MarketEvent::Settled { .. } => return None,
            })
        })
        .collect();
    (!said.is_empty()).then(|| clean_line(&said.join(" ")).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stranger_title_is_cleaned_and_cut() {
        let meta = Meta::new(
            &format!("Evil\u{1b}[2J{}", "x".repeat(80)),
            &[],
            1,
            Default::default(),
        )
        .to_json();
        let q = quoted_title(&meta);
        assert!(!q.chars().any(char::is_control), "{q:?}");
        assert!(q.ends_with("…'"), "{q}");
        assert_eq!(q.chars().count(), MAX_TITLE + 3, "{q}");
        assert_eq!(quoted_title("not json"), "");
        assert_eq!(cut("short", 10), "short");
    }
}
