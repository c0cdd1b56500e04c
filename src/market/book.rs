//! The market as its events say it stands: every listing with its current price and whether
//! it is active, every purchase with its state, and each seller's record. Pure: a fold over
//! the events in chain order (market::events), so browse, serve, fetch, listings and the
//! earnings all read the same figures from the same rows.
use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256};

use super::events::{Located, MarketEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub id: u64,
    pub seller: Address,
    /// `Address::ZERO` for ETH.
    pub token: Address,
    /// The current price (after any reprice).
    pub price: U256,
    pub content_hash: B256,
    pub key_commit: B256,
    /// The ciphertext when inline; empty when it is at `uri`.
    pub data: Bytes,
    pub uri: String,
    /// The stranger's metadata JSON, unparsed (market::meta parses and cleans it).
    pub meta: String,
    pub active: bool,
    pub block: u64,
    pub tx_hash: B256,
    pub sales: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseState {
    /// Paid into escrow, waiting for the key.
    Paid,
    Delivered,
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub id: u64,
    pub listing: u64,
    pub buyer: Address,
    pub seller: Address,
    pub token: Address,
    /// What went into escrow (the price at the time of purchase).
    pub price: U256,
    pub buyer_key: Bytes,
    /// Unix seconds after which an undelivered purchase can be refunded.
    pub deadline: u64,
    pub state: PurchaseState,
    /// The delivery, once delivered: v2's `R ‖ c` (96 bytes; v1's ECIES message on a v1 market).
    pub delivery: Option<Bytes>,
    /// Unix seconds from which a delivered purchase's price is the seller's and can no longer
    /// be challenged (v2); 0 before delivery, and on a v1 market (paid at once).
    pub settles_at: u64,
    /// Its settlement was recorded on chain (`Settled`); a purchase past `settles_at` is the
    /// seller's either way, and a withdrawal settles it in the same call.
    pub settled_on_chain: bool,
    /// A challenge proved the delivered key wrong (the buyer's published one-time secret).
    pub proven_wrong: Option<B256>,
    pub disputed: bool,
    pub dispute_reason: Option<String>,
    /// The one-time secret a v2 dispute published, for every client to check.
    pub dispute_secret: Option<B256>,
    pub block: u64,
    pub tx_hash: B256,
}

/// A withdrawal of earnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub seller: Address,
    pub token: Address,
    pub amount: U256,
    pub block: u64,
    pub tx_hash: B256,
}

/// What every buyer can see of a seller before buying, from the events alone. Disputes are
/// claims here; whether each is proven or refuted is checked by the client that shows them
/// (service::market::check_dispute), never taken on trust.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SellerRecord {
    pub deliveries: u32,
    pub disputes: u32,
    pub refunds: u32,
    /// Refunds forced by a challenge: a delivered key the contract itself proved wrong.
    pub proven_wrong: u32,
}

impl Listing {
    /// The listing a `Listed` event makes (active, no sales yet); `None` for any other event.
    fn listed(at: &Located) -> Option<Listing> {
        let MarketEvent::Listed {
            listing,
            seller,
            token,
            price,
            content_hash,
            key_commit,
            data,
            uri,
            meta,
        } = &at.event
        else {
            return None;
        };
        Some(Listing {
            id: *listing,
            seller: *seller,
            token: *token,
            price: *price,
            content_hash: *content_hash,
            key_commit: *key_commit,
            data: data.clone(),
            uri: uri.clone(),
            meta: meta.clone(),
            active: true,
            block: at.block,
            tx_hash: at.tx_hash,
            sales: 0,
        })
    }
}

impl Purchase {
    /// The purchase a `Purchased` event makes (paid into escrow, nothing else yet); `None` for
    /// any other event.
    fn paid(at: &Located) -> Option<Purchase> {
        let MarketEvent::Purchased {
            purchase,
            listing,
            buyer,
            seller,
            token,
            price,
            buyer_key,
            deadline,
        } = &at.event
        else {
            return None;
        };
        Some(Purchase {
            id: *purchase,
            listing: *listing,
            buyer: *buyer,
            seller: *seller,
            token: *token,
            price: *price,
            buyer_key: buyer_key.clone(),
            deadline: *deadline,
            state: PurchaseState::Paid,
            delivery: None,
            settles_at: 0,
            settled_on_chain: false,
            proven_wrong: None,
            disputed: false,
            dispute_reason: None,
            dispute_secret: None,
            block: at.block,
            tx_hash: at.tx_hash,
        })
    }

    /// What a later event of this purchase changes; the events that do not follow a purchase
    /// change nothing.
    fn follow(&mut self, event: &MarketEvent) {
        use MarketEvent as E;
        match event {
            E::Delivered {
                delivery,
                settles_at,
                ..
            } => {
                self.state = PurchaseState::Delivered;
                self.delivery = Some(delivery.clone());
                self.settles_at = *settles_at;
            }
            E::KeyProvenWrong { secret, .. } => self.proven_wrong = Some(*secret),
            E::Settled { .. } => self.settled_on_chain = true,
            E::Refunded { .. } => self.state = PurchaseState::Refunded,
            E::Disputed { reason, secret, .. } => {
                self.disputed = true;
                self.dispute_reason = Some(reason.clone());
                self.dispute_secret = *secret;
            }
            E::Listed { .. }
            | E::Repriced { .. }
            | E::Delisted { .. }
            | E::Purchased { .. }
            | E::Withdrawn { .. } => {}
        }
    }

    /// Delivered, and its challenge window is over at `now` (a v1 delivery: at once).
    pub fn is_settled(&self, now: u64) -> bool {
        self.state == PurchaseState::Delivered && (self.settled_on_chain || self.settles_at <= now)
    }

    /// Delivered and still challengeable at `now`.
    pub fn is_settling(&self, now: u64) -> bool {
        self.state == PurchaseState::Delivered && !self.is_settled(now)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    pub listings: BTreeMap<u64, Listing>,
    pub purchases: BTreeMap<u64, Purchase>,
    pub withdrawals: Vec<Withdrawal>,
}

impl Book {
    /// The book after `events` (in chain order). An event that does not fit what came before
    /// (a delivery of an unknown purchase) is ignored: the contract would not have emitted it,
    /// so it can only come from a partial index, which the next pass completes.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Located>) -> Book {
        let mut book = Book::default();
        for e in events {
            book.apply(e);
        }
        book
    }

    fn apply(&mut self, at: &Located) {
        use MarketEvent as E;
        match &at.event {
            E::Listed { .. } => {
                if let Some(l) = Listing::listed(at) {
                    self.listings.insert(l.id, l);
                }
            }
            E::Repriced { listing, price, .. } => {
                if let Some(l) = self.listings.get_mut(listing) {
                    l.price = *price;
                }
            }
            E::Delisted { listing, .. } => {
                if let Some(l) = self.listings.get_mut(listing) {
                    l.active = false;
                }
            }
            E::Purchased { listing, .. } => {
                if let Some(l) = self.listings.get_mut(listing) {
                    l.sales += 1;
                }
                if let Some(p) = Purchase::paid(at) {
                    self.purchases.insert(p.id, p);
                }
            }
            E::Delivered { purchase, .. }
            | E::KeyProvenWrong { purchase, .. }
            | E::Settled { purchase, .. }
            | E::Refunded { purchase, .. }
            | E::Disputed { purchase, .. } => {
                if let Some(p) = self.purchases.get_mut(purchase) {
                    p.follow(&at.event);
                }
            }
            E::Withdrawn {
                seller,
                token,
                amount,
            } => self.withdrawals.push(Withdrawal {
                seller: *seller,
                token: *token,
                amount: *amount,
                block: at.block,
                tx_hash: at.tx_hash,
            }),
        }
    }

    /// A seller's deliveries, disputes and refunds, as every buyer sees them.
    pub fn seller_record(&self, seller: Address) -> SellerRecord {
        let mut r = SellerRecord::default();
        for p in self.purchases.values().filter(|p| p.seller == seller) {
            match p.state {
                PurchaseState::Delivered => r.deliveries += 1,
                PurchaseState::Refunded => r.refunds += 1,
                PurchaseState::Paid => {}
            }
            if p.proven_wrong.is_some() {
                r.proven_wrong += 1;
            }
            if p.disputed {
                r.disputes += 1;
            }
        }
        r
    }

    /// Purchases of `seller`'s listings still waiting for the key, oldest first.
    pub fn undelivered(&self, seller: Address) -> impl Iterator<Item = &Purchase> {
        self.purchases
            .values()
            .filter(move |p| p.seller == seller && p.state == PurchaseState::Paid)
    }

    /// What `seller` can withdraw of `token` at `now` (the chain's time): the prices of their
    /// settled purchases minus what they withdrew. The contract's `claimable(seller, token)`
    /// counts only purchases settled on chain; a withdrawal first settles the rest
    /// ([`Book::to_settle`]), after which the two agree (tests/chain/market_contract.rs checks it).
    pub fn claimable(&self, seller: Address, token: Address, now: u64) -> U256 {
        let earned: U256 = self
            .purchases
            .values()
            .filter(|p| p.seller == seller && p.token == token && p.is_settled(now))
            .map(|p| p.price)
            .sum();
        let withdrawn: U256 = self
            .withdrawals
            .iter()
            .filter(|w| w.seller == seller && w.token == token)
            .map(|w| w.amount)
            .sum();
        earned.saturating_sub(withdrawn)
    }

    /// `seller`'s purchases in `token` whose window is over at `now` but whose settlement is not
    /// on chain yet: what a withdrawal settles in the same call.
    pub fn to_settle(&self, seller: Address, token: Address, now: u64) -> Vec<u64> {
        self.purchases
            .values()
            .filter(|p| {
                p.seller == seller
                    && p.token == token
                    && p.state == PurchaseState::Delivered
                    && p.settles_at > 0
                    && !p.settled_on_chain
                    && p.settles_at <= now
            })
            .map(|p| p.id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELLER: Address = Address::repeat_byte(0x5e);
    const BUYER: Address = Address::repeat_byte(0xb0);

    fn listed(id: u64, price: u64) -> MarketEvent {
        MarketEvent::Listed {
            listing: id,
            seller: SELLER,
            token: Address::ZERO,
            price: U256::from(price),
            content_hash: B256::repeat_byte(1),
            key_commit: B256::repeat_byte(2),
            data: Bytes::from_static(b"KBM1"),
            uri: String::new(),
            meta: "{}".into(),
        }
    }

    fn purchased(id: u64, listing: u64, price: u64) -> MarketEvent {
        MarketEvent::Purchased {
            purchase: id,
            listing,
            buyer: BUYER,
            seller: SELLER,
            token: Address::ZERO,
            price: U256::from(price),
            buyer_key: Bytes::from(vec![2u8; 64]),
            deadline: 100,
        }
    }

    #[test]
    fn the_book_follows_a_listing_through_sales_delivery_refund_and_withdrawal() {
        let events = [
            Located::at(1, listed(1, 5)),
            Located::at(
                2,
                MarketEvent::Repriced {
                    listing: 1,
                    seller: SELLER,
                    price: U256::from(7),
                },
            ),
            Located::at(3, purchased(1, 1, 7)),
            Located::at(4, purchased(2, 1, 7)),
            Located::at(
                5,
                MarketEvent::Delivered {
                    purchase: 1,
                    seller: SELLER,
                    delivery: Bytes::from(vec![4u8; 96]),
                    settles_at: 50,
                },
            ),
            Located::at(
                6,
                MarketEvent::Refunded {
                    purchase: 2,
                    buyer: BUYER,
                    token: Address::ZERO,
                    amount: U256::from(7),
                },
            ),
            Located::at(
                7,
                MarketEvent::Disputed {
                    purchase: 1,
                    buyer: BUYER,
                    secret: None,
                    reason: "hash mismatch".into(),
                },
            ),
            Located::at(
                8,
                MarketEvent::Withdrawn {
                    seller: SELLER,
                    token: Address::ZERO,
                    amount: U256::from(3),
                },
            ),
            Located::at(
                9,
                MarketEvent::Delisted {
                    listing: 1,
                    seller: SELLER,
                },
            ),
            // Not from a real market: a delivery of a purchase nobody made.
            Located::at(
                10,
                MarketEvent::Delivered {
                    purchase: 99,
                    seller: SELLER,
                    delivery: Bytes::new(),
                    settles_at: 50,
                },
            ),
        ];
        let book = Book::from_events(&events);
        let l = &book.listings[&1];
        assert_eq!((l.price, l.active, l.sales), (U256::from(7), false, 2));
        assert_eq!(book.purchases[&1].state, PurchaseState::Delivered);
        assert!(book.purchases[&1].disputed);
        assert_eq!(book.purchases[&2].state, PurchaseState::Refunded);
        assert_eq!(
            book.seller_record(SELLER),
            SellerRecord {
                deliveries: 1,
                disputes: 1,
                refunds: 1,
                proven_wrong: 0,
            }
        );
        // Settling until 50, the seller's from then on.
        assert_eq!(book.claimable(SELLER, Address::ZERO, 49), U256::ZERO);
        assert_eq!(book.to_settle(SELLER, Address::ZERO, 49), Vec::<u64>::new());
        assert_eq!(book.claimable(SELLER, Address::ZERO, 50), U256::from(4));
        assert_eq!(book.to_settle(SELLER, Address::ZERO, 50), vec![1]);
        assert_eq!(book.undelivered(SELLER).count(), 0);
        assert!(!book.purchases.contains_key(&99));
    }
}
