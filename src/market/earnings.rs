//! What the wallet's accounts earned on a market, from the stored events alone (MARKET.md,
//! "Earnings, from events"). Pure: the events (in chain order), the times of their blocks and
//! the seller addresses in, the figures out; the CLI's `market earnings` and the app's Earnings
//! screen show the same [`Earnings`].
//!
//! Per token (MARKET.md "Earnings (v2)"): settling = Σ price of Delivered still in its challenge
//! window at `now`; earned = Σ price of Delivered whose window is over, not refunded; pending =
//! Σ price of Purchased with no Delivered or Refunded yet; refunded = Σ Refunded (a refund
//! forced by a challenge included); withdrawn = Σ Withdrawn; claimable = earned − withdrawn.
//! Only events at or below the confirmed block count: an event nearer the head may still leave
//! the chain, and the indexer's re-read replaces it when it does.
use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, B256, U256};

use super::events::{Located, MarketEvent};
use super::meta::Meta;

/// Seconds in a day: earnings per day are grouped by UTC day.
pub const DAY: u64 = 86_400;

/// One token's figures across the seller addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFigures {
    /// `Address::ZERO` for ETH.
    pub token: Address,
    pub earned: U256,
    /// Delivered, still in the challenge window: the seller's once it closes.
    pub settling: U256,
    pub pending: U256,
    pub claimable: U256,
    pub withdrawn: U256,
    pub refunded: U256,
}

/// One of the seller's listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingFigures {
    pub listing: u64,
    /// From the listing's metadata, unsanitized (a display cleans it); empty when unreadable.
    pub title: String,
    pub seller: Address,
    pub token: Address,
    pub sales: u32,
    /// Σ price of its settled purchases.
    pub revenue: U256,
    pub refunds: u32,
    pub disputes: u32,
    /// The block and time (if known) of its last purchase.
    pub last_sale: Option<(u64, Option<u64>)>,
}

/// What an entry of the record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A purchase of one of the seller's listings (paid into escrow).
    Sale,
    /// A purchase paid back to its buyer.
    Refund,
    /// Earnings moved out of the market to a seller address.
    Withdrawal,
}

impl EntryKind {
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Sale => "sale",
            EntryKind::Refund => "refund",
            EntryKind::Withdrawal => "withdrawal",
        }
    }
}

/// One sale, refund or withdrawal, where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub block: u64,
    pub time: Option<u64>,
    pub tx_hash: B256,
    pub log_index: u64,
    /// The listing (not for a withdrawal).
    pub listing: Option<u64>,
    /// The buyer (not for a withdrawal).
    pub buyer: Option<Address>,
    pub seller: Address,
    pub token: Address,
    pub amount: U256,
}

/// The earnings of a set of seller addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Earnings {
    /// The confirmed block the figures stand at.
    pub block: u64,
    /// Per token with any activity: ETH first, then by address.
    pub tokens: Vec<TokenFigures>,
    /// Per listing of the seller addresses, by id.
    pub listings: Vec<ListingFigures>,
    /// Per token: (UTC day number, earned that day) for the days of deliveries, oldest first.
    /// A delivery whose block time is unknown is not in it (it is in the totals).
    pub daily: BTreeMap<Address, Vec<(u64, U256)>>,
    /// Every sale, refund and withdrawal, in chain order.
    pub entries: Vec<Entry>,
    /// What each seller address can withdraw of each token (non-zero only): a withdrawal is one
    /// transaction per address and token.
    pub claimable: Vec<(Address, Address, U256)>,
}

impl Earnings {
    /// The first of the seller addresses with something to withdraw in `token`.
    pub fn claimant(&self, token: Address) -> Option<Address> {
        self.claimable
            .iter()
            .find(|(_, t, _)| *t == token)
            .map(|(seller, ..)| *seller)
    }
}

/// A purchase of one of the seller addresses' listings, as far as the events have taken it.
struct Sale {
    listing: u64,
    seller: Address,
    token: Address,
    price: U256,
    state: SaleState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SaleState {
    Paid,
    /// When the window closes (0 on a v1 market: at once) and the delivery's block time.
    Delivered {
        settles_at: u64,
        time: Option<u64>,
    },
    Refunded,
}

impl Sale {
    /// Delivered and not refunded, its challenge window still open at `now`.
    fn is_settling(&self, now: u64) -> bool {
        matches!(self.state, SaleState::Delivered { settles_at, .. } if settles_at > now)
    }

    /// Delivered and not refunded, its window over at `now`: the seller's.
    fn is_earned(&self, now: u64) -> bool {
        matches!(self.state, SaleState::Delivered { settles_at, .. } if settles_at <= now)
    }

    /// The time a delivered sale became (or becomes) the seller's: when its window closes (v2),
    /// or the delivery's block time (v1, paid at once), which may be unknown.
    fn earned_at(&self) -> Option<u64> {
        match self.state {
            SaleState::Delivered { settles_at, .. } if settles_at > 0 => Some(settles_at),
            SaleState::Delivered { time, .. } => time,
            SaleState::Paid | SaleState::Refunded => None,
        }
    }
}

/// Where an event happened, for the entries of the record.
#[derive(Clone, Copy)]
struct Place {
    block: u64,
    time: Option<u64>,
    tx_hash: B256,
    log_index: u64,
}

impl Place {
    fn entry(
        self,
        kind: EntryKind,
        listing: Option<u64>,
        buyer: Option<Address>,
        seller: Address,
        token: Address,
        amount: U256,
    ) -> Entry {
        Entry {
            kind,
            block: self.block,
            time: self.time,
            tx_hash: self.tx_hash,
            log_index: self.log_index,
            listing,
            buyer,
            seller,
            token,
            amount,
        }
    }
}

/// The token's figures, created empty at its first activity.
fn figures(tokens: &mut BTreeMap<Address, TokenFigures>, token: Address) -> &mut TokenFigures {
    tokens.entry(token).or_insert_with(|| TokenFigures {
        token,
        ..TokenFigures::default()
    })
}

/// The first step: the seller addresses' listings and sales as the confirmed events leave
/// them, with what the events alone decide (pending, refunded, withdrawn, the counts and the
/// record). What a delivery is worth depends on `now`, and is decided after.
#[derive(Default)]
struct Gathered {
    /// Per token: pending, refunded and withdrawn.
    tokens: BTreeMap<Address, TokenFigures>,
    /// Per listing: sales, refunds, disputes and the last sale.
    listings: BTreeMap<u64, ListingFigures>,
    /// By purchase id.
    sales: HashMap<u64, Sale>,
    entries: Vec<Entry>,
    /// (seller, token) → withdrawn.
    withdrawn: BTreeMap<(Address, Address), U256>,
}

impl Gathered {
    fn from_events(
        events: &[Located],
        times: &BTreeMap<u64, u64>,
        sellers: &[Address],
        confirmed: u64,
    ) -> Gathered {
        let mine = |a: &Address| sellers.contains(a);
        let mut g = Gathered::default();
        for at in events.iter().filter(|e| e.block <= confirmed) {
            let place = Place {
                block: at.block,
                time: times.get(&at.block).copied(),
                tx_hash: at.tx_hash,
                log_index: at.log_index,
            };
            match &at.event {
                MarketEvent::Listed {
                    listing,
                    seller,
                    token,
                    meta,
                    ..
                } if mine(seller) => g.listed(*listing, *seller, *token, meta),
                MarketEvent::Purchased {
                    purchase,
                    listing,
                    buyer,
                    seller,
                    token,
                    price,
                    ..
                } if mine(seller) => {
                    let sale = Sale {
                        listing: *listing,
                        seller: *seller,
                        token: *token,
                        price: *price,
                        state: SaleState::Paid,
                    };
                    g.purchased(place, *purchase, sale, *buyer);
                }
                MarketEvent::Delivered {
                    purchase,
                    settles_at,
                    ..
                } => g.delivered(place, *purchase, *settles_at),
                MarketEvent::Refunded {
                    purchase, buyer, ..
                } => g.refunded(place, *purchase, *buyer),
                MarketEvent::Disputed { purchase, .. } => g.disputed(*purchase),
                MarketEvent::Withdrawn {
                    seller,
                    token,
                    amount,
                } if mine(seller) => g.withdrew(place, *seller, *token, *amount),
                _ => {}
            }
        }
        g
    }

    fn listed(&mut self, listing: u64, seller: Address, token: Address, meta: &str) {
        self.listings.insert(
            listing,
            ListingFigures {
                listing,
                title: Meta::parse(meta).map(|m| m.title).unwrap_or_default(),
                seller,
                token,
                sales: 0,
                revenue: U256::ZERO,
                refunds: 0,
                disputes: 0,
                last_sale: None,
            },
        );
    }

    fn purchased(&mut self, place: Place, purchase: u64, sale: Sale, buyer: Address) {
        figures(&mut self.tokens, sale.token).pending += sale.price;
        if let Some(l) = self.listings.get_mut(&sale.listing) {
            l.sales += 1;
            l.last_sale = Some((place.block, place.time));
        }
        self.entries.push(place.entry(
            EntryKind::Sale,
            Some(sale.listing),
            Some(buyer),
            sale.seller,
            sale.token,
            sale.price,
        ));
        self.sales.insert(purchase, sale);
    }

    fn delivered(&mut self, place: Place, purchase: u64, settles_at: u64) {
        let Some(s) = self
            .sales
            .get_mut(&purchase)
            .filter(|s| s.state == SaleState::Paid)
        else {
            return;
        };
        s.state = SaleState::Delivered {
            settles_at,
            time: place.time,
        };
        figures(&mut self.tokens, s.token).pending -= s.price;
    }

    /// A paid purchase after its deadline, or a delivered one whose key a challenge proved
    /// wrong.
    fn refunded(&mut self, place: Place, purchase: u64, buyer: Address) {
        let Some(s) = self
            .sales
            .get_mut(&purchase)
            .filter(|s| s.state != SaleState::Refunded)
        else {
            return;
        };
        let f = figures(&mut self.tokens, s.token);
        if s.state == SaleState::Paid {
            f.pending -= s.price;
        }
        s.state = SaleState::Refunded;
        f.refunded += s.price;
        if let Some(l) = self.listings.get_mut(&s.listing) {
            l.refunds += 1;
        }
        self.entries.push(place.entry(
            EntryKind::Refund,
            Some(s.listing),
            Some(buyer),
            s.seller,
            s.token,
            s.price,
        ));
    }

    fn disputed(&mut self, purchase: u64) {
        if let Some(l) = self
            .sales
            .get(&purchase)
            .and_then(|s| self.listings.get_mut(&s.listing))
        {
            l.disputes += 1;
        }
    }

    fn withdrew(&mut self, place: Place, seller: Address, token: Address, amount: U256) {
        figures(&mut self.tokens, token).withdrawn += amount;
        *self.withdrawn.entry((seller, token)).or_default() += amount;
        self.entries
            .push(place.entry(EntryKind::Withdrawal, None, None, seller, token, amount));
    }
}

/// Per token: what was delivered and not refunded is settling while its window is open at
/// `now` and earned once it closed; claimable is what was earned and not withdrawn.
fn token_totals(
    mut tokens: BTreeMap<Address, TokenFigures>,
    sales: &HashMap<u64, Sale>,
    now: u64,
) -> Vec<TokenFigures> {
    for s in sales.values() {
        if s.is_settling(now) {
            figures(&mut tokens, s.token).settling += s.price;
        } else if s.is_earned(now) {
            figures(&mut tokens, s.token).earned += s.price;
        }
    }
    tokens
        .into_values()
        .map(|mut f| {
            f.claimable = f.earned.saturating_sub(f.withdrawn);
            f
        })
        .collect()
}

/// Per listing: its revenue is the prices of its earned sales.
fn listing_totals(
    mut listings: BTreeMap<u64, ListingFigures>,
    sales: &HashMap<u64, Sale>,
    now: u64,
) -> Vec<ListingFigures> {
    for s in sales.values().filter(|s| s.is_earned(now)) {
        if let Some(l) = listings.get_mut(&s.listing) {
            l.revenue += s.price;
        }
    }
    listings.into_values().collect()
}

/// Per token, what was earned each UTC day, oldest first: a sale counts on the day it became
/// the seller's, and not at all when that time is unknown (a v1 delivery whose block time is
/// not known).
fn daily_series(sales: &HashMap<u64, Sale>, now: u64) -> BTreeMap<Address, Vec<(u64, U256)>> {
    let mut daily: BTreeMap<Address, BTreeMap<u64, U256>> = BTreeMap::new();
    for s in sales.values().filter(|s| s.is_earned(now)) {
        if let Some(t) = s.earned_at() {
            *daily
                .entry(s.token)
                .or_default()
                .entry(t / DAY)
                .or_default() += s.price;
        }
    }
    daily
        .into_iter()
        .map(|(t, days)| (t, days.into_iter().collect()))
        .collect()
}

/// What each seller address can withdraw of each token, non-zero only, by (seller, token): a
/// withdrawal is one transaction per address and token.
fn claimable_per_seller(
    sales: &HashMap<u64, Sale>,
    withdrawn: &BTreeMap<(Address, Address), U256>,
    now: u64,
) -> Vec<(Address, Address, U256)> {
    let mut earned: BTreeMap<(Address, Address), U256> = BTreeMap::new();
    for s in sales.values().filter(|s| s.is_earned(now)) {
        *earned.entry((s.seller, s.token)).or_default() += s.price;
    }
    earned
        .into_iter()
        .map(|((seller, token), earned)| {
            let withdrawn = withdrawn.get(&(seller, token)).copied().unwrap_or_default();
            (seller, token, earned.saturating_sub(withdrawn))
        })
        .filter(|(_, _, c)| !c.is_zero())
        .collect()
}

impl Earnings {
    /// The figures of `sellers` from `events` (chain order) up to block `confirmed`; `times`
    /// maps blocks to unix seconds; `now` (the chain's time) decides which deliveries settled.
    pub fn compute(
        events: &[Located],
        times: &BTreeMap<u64, u64>,
        sellers: &[Address],
        confirmed: u64,
        now: u64,
    ) -> Earnings {
        let Gathered {
            tokens,
            listings,
            sales,
            entries,
            withdrawn,
        } = Gathered::from_events(events, times, sellers, confirmed);
        Earnings {
            block: confirmed,
            tokens: token_totals(tokens, &sales, now),
            listings: listing_totals(listings, &sales, now),
            daily: daily_series(&sales, now),
            entries,
            claimable: claimable_per_seller(&sales, &withdrawn, now),
        }
    }

    /// The figures of one token, if it had any activity.
    pub fn token(&self, token: Address) -> Option<&TokenFigures> {
        self.tokens.iter().find(|t| t.token == token)
    }

    /// No sale, refund or withdrawal yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The block up to which events count: `confirmations` below `head` (0: the head itself).
pub fn confirmed_block(head: u64, confirmations: u64) -> u64 {
    head.saturating_sub(confirmations)
}

/// The UTC date of a day number (days since 1970-01-01) as "YYYY-MM-DD" (the civil calendar,
/// after Howard Hinnant's days_from_civil inverse).
pub fn utc_date(day: u64) -> String {
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix seconds as "YYYY-MM-DDTHH:MM:SSZ".
pub fn utc_time(secs: u64) -> String {
    let s = secs % DAY;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        utc_date(secs / DAY),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Bytes;

    const ME: Address = Address::repeat_byte(0x5e);
    const ME2: Address = Address::repeat_byte(0x5f);
    const OTHER: Address = Address::repeat_byte(0x77);
    const BUYER: Address = Address::repeat_byte(0xb0);
    const TUSD: Address = Address::repeat_byte(0x70);

    fn listed(id: u64, seller: Address, token: Address) -> MarketEvent {
        MarketEvent::Listed {
            listing: id,
            seller,
            token,
            price: U256::from(5),
            content_hash: B256::ZERO,
            key_commit: B256::ZERO,
            data: Bytes::new(),
            uri: String::new(),
            meta:
                r#"{"v":1,"title":"Note","tags":[],"bytes":3,"redactions":{},"type":"text/plain"}"#
                    .into(),
        }
    }

    fn bought(id: u64, listing: u64, seller: Address, token: Address, price: u64) -> MarketEvent {
        MarketEvent::Purchased {
            purchase: id,
            listing,
            buyer: BUYER,
            seller,
            token,
            price: U256::from(price),
            buyer_key: Bytes::new(),
            deadline: 0,
        }
    }

    /// A v1 delivery: the seller's at once.
    fn delivered(id: u64) -> MarketEvent {
        delivered_v2(id, 0)
    }

    fn delivered_v2(id: u64, settles_at: u64) -> MarketEvent {
        MarketEvent::Delivered {
            purchase: id,
            seller: ME,
            delivery: Bytes::new(),
            settles_at,
        }
    }

    #[test]
    fn figures_follow_the_definitions_per_token_listing_and_day() {
        let events = vec![
            Located::at(1, listed(1, ME, Address::ZERO)),
            Located::at(1, listed(2, ME2, TUSD)),
            Located::at(1, listed(3, OTHER, Address::ZERO)),
            Located::at(2, bought(1, 1, ME, Address::ZERO, 5)),
            Located::at(2, bought(2, 1, ME, Address::ZERO, 5)),
            Located::at(3, bought(3, 2, ME2, TUSD, 7)),
            Located::at(3, bought(4, 3, OTHER, Address::ZERO, 100)),
            Located::at(4, delivered(1)),
            Located::at(5, delivered(3)),
            Located::at(5, delivered(4)),
            Located::at(
                6,
                MarketEvent::Disputed {
                    purchase: 3,
                    buyer: BUYER,
                    secret: None,
                    reason: "x".into(),
                },
            ),
            Located::at(
                7,
                MarketEvent::Withdrawn {
                    seller: ME2,
                    token: TUSD,
                    amount: U256::from(7),
                },
            ),
            Located::at(8, bought(5, 2, ME2, TUSD, 7)),
            Located::at(
                9,
                MarketEvent::Refunded {
                    purchase: 5,
                    buyer: BUYER,
                    token: TUSD,
                    amount: U256::from(7),
                },
            ),
            // A second settlement of the same purchase is not from a real market.
            Located::at(10, delivered(5)),
            // Beyond the confirmed block: not counted.
            Located::at(12, delivered(2)),
        ];
        let times: BTreeMap<u64, u64> = [(4, DAY * 3 + 5), (5, DAY * 4)].into();
        let e = Earnings::compute(&events, &times, &[ME, ME2], 11, 0);
        assert_eq!(e.block, 11);
        let eth = e.token(Address::ZERO).unwrap();
        assert_eq!(
            (
                eth.earned,
                eth.pending,
                eth.claimable,
                eth.withdrawn,
                eth.refunded
            ),
            (
                U256::from(5),
                U256::from(5),
                U256::from(5),
                U256::ZERO,
                U256::ZERO
            )
        );
        let t = e.token(TUSD).unwrap();
        assert_eq!(
            (t.earned, t.pending, t.claimable, t.withdrawn, t.refunded),
            (
                U256::from(7),
                U256::ZERO,
                U256::ZERO,
                U256::from(7),
                U256::from(7)
            )
        );
        assert_eq!(e.tokens[0].token, Address::ZERO, "ETH first");
        assert_eq!(e.listings.len(), 2, "another seller's listing is not ours");
        let l1 = &e.listings[0];
        assert_eq!(
            (
                l1.title.as_str(),
                l1.sales,
                l1.revenue,
                l1.refunds,
                l1.disputes
            ),
            ("Note", 2, U256::from(5), 0, 0)
        );
        assert_eq!(l1.last_sale, Some((2, None)));
        let l2 = &e.listings[1];
        assert_eq!(
            (l2.sales, l2.revenue, l2.refunds, l2.disputes),
            (2, U256::from(7), 1, 1)
        );
        assert_eq!(e.daily[&Address::ZERO], vec![(3, U256::from(5))]);
        assert_eq!(e.daily[&TUSD], vec![(4, U256::from(7))]);
        assert_eq!(e.claimable, vec![(ME, Address::ZERO, U256::from(5))]);
        let kinds: Vec<_> = e.entries.iter().map(|x| x.kind).collect();
        use EntryKind::*;
        assert_eq!(kinds, [Sale, Sale, Sale, Withdrawal, Sale, Refund]);
        // Everything counted up to block 12.
        let all = Earnings::compute(&events, &times, &[ME, ME2], 12, 0);
        assert_eq!(all.token(Address::ZERO).unwrap().earned, U256::from(10));
        assert_eq!(all.token(Address::ZERO).unwrap().pending, U256::ZERO);
    }

    #[test]
    fn a_v2_delivery_settles_after_its_window_and_a_proven_wrong_key_never_counts() {
        let window_end = DAY * 10;
        let events = vec![
            Located::at(1, listed(1, ME, Address::ZERO)),
            Located::at(2, bought(1, 1, ME, Address::ZERO, 5)),
            Located::at(2, bought(2, 1, ME, Address::ZERO, 5)),
            Located::at(3, delivered_v2(1, window_end)),
            Located::at(3, delivered_v2(2, window_end)),
            // Purchase 2's key was proven wrong: refunded after delivery.
            Located::at(
                4,
                MarketEvent::KeyProvenWrong {
                    purchase: 2,
                    buyer: BUYER,
                    seller: ME,
                    secret: B256::repeat_byte(9),
                },
            ),
            Located::at(
                4,
                MarketEvent::Refunded {
                    purchase: 2,
                    buyer: BUYER,
                    token: Address::ZERO,
                    amount: U256::from(5),
                },
            ),
        ];
        let times: BTreeMap<u64, u64> = [(3, DAY * 7)].into();
        let before = Earnings::compute(&events, &times, &[ME], 4, window_end - 1);
        let f = before.token(Address::ZERO).unwrap();
        assert_eq!(
            (f.settling, f.earned, f.claimable, f.pending, f.refunded),
            (
                U256::from(5),
                U256::ZERO,
                U256::ZERO,
                U256::ZERO,
                U256::from(5)
            )
        );
        assert!(before.claimable.is_empty());
        assert!(before.daily.is_empty());
        let after = Earnings::compute(&events, &times, &[ME], 4, window_end);
        let f = after.token(Address::ZERO).unwrap();
        assert_eq!(
            (f.settling, f.earned, f.claimable, f.refunded),
            (U256::ZERO, U256::from(5), U256::from(5), U256::from(5))
        );
        assert_eq!(after.claimable, vec![(ME, Address::ZERO, U256::from(5))]);
        assert_eq!(after.daily[&Address::ZERO], vec![(10, U256::from(5))]);
        assert_eq!(after.listings[0].revenue, U256::from(5));
        assert_eq!(after.listings[0].refunds, 1);
    }

    fn sale(seller: Address, price: u64, state: SaleState) -> Sale {
        Sale {
            listing: 1,
            seller,
            token: Address::ZERO,
            price: U256::from(price),
            state,
        }
    }

    #[test]
    fn a_sale_is_earned_on_the_day_its_window_closes_or_a_v1_delivery_lands() {
        let delivered = |settles_at, time| SaleState::Delivered { settles_at, time };
        let sales: HashMap<u64, Sale> = [
            // v2, window closed on day 2.
            (1, sale(ME, 1, delivered(DAY * 2 + 1, Some(DAY)))),
            // v1 on day 5; another v1 whose block time is unknown: in no day.
            (2, sale(ME, 2, delivered(0, Some(DAY * 5)))),
            (3, sale(ME, 4, delivered(0, None))),
            // Still settling at `now`, paid, refunded: not earned.
            (4, sale(ME, 8, delivered(DAY * 9, Some(DAY)))),
            (5, sale(ME, 16, SaleState::Paid)),
            (6, sale(ME, 32, SaleState::Refunded)),
        ]
        .into();
        let now = DAY * 3;
        assert_eq!(
            daily_series(&sales, now)[&Address::ZERO],
            vec![(2, U256::from(1)), (5, U256::from(2))]
        );
        let tokens = token_totals(BTreeMap::new(), &sales, now);
        assert_eq!(
            (tokens[0].earned, tokens[0].settling, tokens[0].claimable),
            (U256::from(7), U256::from(8), U256::from(7))
        );
    }

    #[test]
    fn claimable_is_per_seller_and_token_and_never_below_zero() {
        let done = SaleState::Delivered {
            settles_at: 0,
            time: None,
        };
        let sales: HashMap<u64, Sale> = [(1, sale(ME, 5, done)), (2, sale(ME2, 3, done))].into();
        // ME2 withdrew more than this view of the events earned; OTHER only withdrew.
        let withdrawn: BTreeMap<(Address, Address), U256> = [
            ((ME, Address::ZERO), U256::from(2)),
            ((ME2, Address::ZERO), U256::from(4)),
            ((OTHER, Address::ZERO), U256::from(1)),
        ]
        .into();
        assert_eq!(
            claimable_per_seller(&sales, &withdrawn, 0),
            vec![(ME, Address::ZERO, U256::from(3))]
        );
    }

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(utc_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_time(1_798_761_599), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn no_events_no_figures() {
        let e = Earnings::compute(&[], &BTreeMap::new(), &[ME], 5, 0);
        assert!(e.is_empty() && e.tokens.is_empty() && e.daily.is_empty());
        assert_eq!(confirmed_block(1, 2), 0);
        assert_eq!(confirmed_block(10, 2), 8);
    }
}
