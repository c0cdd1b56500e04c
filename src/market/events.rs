//! The market contract's events, typed: decoded from logs by the indexer, stored as rows
//! (store::MarketEventRow: the columns queries filter on, and the whole event as JSON), read
//! back for the book (market::book). Everything browse, serve, fetch and earnings show is
//! computed from these alone (MARKET.md).
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEventInterface;
use serde::{Deserialize, Serialize};

use crate::chain::market_contract::DataMarket::DataMarketEvents;
use crate::store::MarketEventRow;

/// One event of a DataMarket. Strings (uri, meta, reason) are a stranger's words, stored as
/// they were emitted and cleaned where they are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MarketEvent {
    Listed {
        listing: u64,
        seller: Address,
        token: Address,
        price: U256,
        content_hash: B256,
        key_commit: B256,
        data: Bytes,
        uri: String,
        meta: String,
    },
    Repriced {
        listing: u64,
        seller: Address,
        price: U256,
    },
    Delisted {
        listing: u64,
        seller: Address,
    },
    Purchased {
        purchase: u64,
        listing: u64,
        buyer: Address,
        seller: Address,
        token: Address,
        price: U256,
        buyer_key: Bytes,
        deadline: u64,
    },
    /// v2: `R ‖ c` (96 bytes) and when the payment settles; a v1 market's rows (ECIES, 129
    /// bytes, no window) still read, with `settles_at` 0: paid at once.
    Delivered {
        purchase: u64,
        seller: Address,
        #[serde(alias = "encrypted_key")]
        delivery: Bytes,
        #[serde(default)]
        settles_at: u64,
    },
    Refunded {
        purchase: u64,
        buyer: Address,
        token: Address,
        amount: U256,
    },
    /// v2 disputes publish the purchase's one-time secret (None on a v1 market), which every
    /// client checks itself: proven or refuted, never a claim taken on trust.
    Disputed {
        purchase: u64,
        buyer: Address,
        #[serde(default)]
        secret: Option<B256>,
        reason: String,
    },
    /// A challenge proved the delivered key wrong; a `Refunded` of the same purchase follows.
    KeyProvenWrong {
        purchase: u64,
        buyer: Address,
        seller: Address,
        secret: B256,
    },
    /// A delivered purchase's challenge window passed and its price became the seller's.
    Settled {
        purchase: u64,
        seller: Address,
        token: Address,
        amount: U256,
    },
    Withdrawn {
        seller: Address,
        token: Address,
        amount: U256,
    },
}

/// An event where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub block: u64,
    pub tx_hash: B256,
    pub log_index: u64,
    pub event: MarketEvent,
}

#[cfg(test)]
impl Located {
    /// A test's event at `block`, first in a transaction whose hash is made of the block number.
    pub(crate) fn at(block: u64, event: MarketEvent) -> Located {
        Located {
            block,
            tx_hash: B256::repeat_byte(block as u8),
            log_index: 0,
            event,
        }
    }
}

/// The event as JSON. Its fields are numbers, addresses, bytes and strings, which serde_json
/// always writes.
#[expect(
    clippy::expect_used,
    reason = "serde_json fails only on maps with non-string keys and failing Serialize impls; MarketEvent has neither"
)]
fn serialize(event: &MarketEvent) -> String {
    serde_json::to_string(event).expect("events always serialize")
}

/// A contract counter as an id; a DataMarket's ids count up from 1, so anything beyond u64 is
/// not from one.
fn id(v: U256) -> Option<u64> {
    u64::try_from(v).ok()
}

impl MarketEvent {
    /// Decodes a log of the market contract; `None` for any other log (TokenAllowed, a log this
    /// build does not know, or one whose ids cannot be a DataMarket's).
    pub fn decode(log: &Log) -> Option<MarketEvent> {
        let decoded = DataMarketEvents::decode_log(&log.inner).ok()?.data;
        Some(match decoded {
            DataMarketEvents::Listed(e) => MarketEvent::Listed {
                listing: id(e.listingId)?,
                seller: e.seller,
                token: e.token,
                price: e.price,
                content_hash: e.contentHash,
                key_commit: e.keyCommit,
                data: e.data,
                uri: e.uri,
                meta: e.meta,
            },
            DataMarketEvents::Repriced(e) => MarketEvent::Repriced {
                listing: id(e.listingId)?,
                seller: e.seller,
                price: e.price,
            },
            DataMarketEvents::Delisted(e) => MarketEvent::Delisted {
                listing: id(e.listingId)?,
                seller: e.seller,
            },
            DataMarketEvents::Purchased(e) => MarketEvent::Purchased {
                purchase: id(e.purchaseId)?,
                listing: id(e.listingId)?,
                buyer: e.buyer,
                seller: e.seller,
                token: e.token,
                price: e.price,
                buyer_key: e.buyerKey,
                deadline: e.deadline,
            },
            DataMarketEvents::Delivered(e) => MarketEvent::Delivered {
                purchase: id(e.purchaseId)?,
                seller: e.seller,
                delivery: e.delivery,
                settles_at: e.settlesAt,
            },
            DataMarketEvents::Refunded(e) => MarketEvent::Refunded {
                purchase: id(e.purchaseId)?,
                buyer: e.buyer,
                token: e.token,
                amount: e.amount,
            },
            DataMarketEvents::Disputed(e) => MarketEvent::Disputed {
                purchase: id(e.purchaseId)?,
                buyer: e.buyer,
                secret: Some(B256::from(e.secret)),
                reason: e.reason,
            },
            DataMarketEvents::KeyProvenWrong(e) => MarketEvent::KeyProvenWrong {
                purchase: id(e.purchaseId)?,
                buyer: e.buyer,
                seller: e.seller,
                secret: B256::from(e.secret),
            },
            DataMarketEvents::Settled(e) => MarketEvent::Settled {
                purchase: id(e.purchaseId)?,
                seller: e.seller,
                token: e.token,
                amount: e.amount,
            },
            DataMarketEvents::Withdrawn(e) => MarketEvent::Withdrawn {
                seller: e.seller,
                token: e.token,
                amount: e.amount,
            },
            _ => return None,
        })
    }

    /// The event's name as stored: "listed", "purchased", ….
    pub fn name(&self) -> &'static str {
        match self {
            MarketEvent::Listed { .. } => "listed",
            MarketEvent::Repriced { .. } => "repriced",
            MarketEvent::Delisted { .. } => "delisted",
            MarketEvent::Purchased { .. } => "purchased",
            MarketEvent::Delivered { .. } => "delivered",
            MarketEvent::Refunded { .. } => "refunded",
            MarketEvent::Disputed { .. } => "disputed",
            MarketEvent::KeyProvenWrong { .. } => "key_proven_wrong",
            MarketEvent::Settled { .. } => "settled",
            MarketEvent::Withdrawn { .. } => "withdrawn",
        }
    }
}

/// The columns of a stored row that queries filter on: each is the event's field of that name
/// where it has one (a price is the amount), and empty where it has none.
impl MarketEvent {
    fn listing_id(&self) -> Option<u64> {
        use MarketEvent as E;
        match self {
            E::Listed { listing, .. }
            | E::Repriced { listing, .. }
            | E::Delisted { listing, .. }
            | E::Purchased { listing, .. } => Some(*listing),
            E::Delivered { .. }
            | E::Refunded { .. }
            | E::Disputed { .. }
            | E::KeyProvenWrong { .. }
            | E::Settled { .. }
            | E::Withdrawn { .. } => None,
        }
    }

    fn purchase_id(&self) -> Option<u64> {
        use MarketEvent as E;
        match self {
            E::Purchased { purchase, .. }
            | E::Delivered { purchase, .. }
            | E::Refunded { purchase, .. }
            | E::Disputed { purchase, .. }
            | E::KeyProvenWrong { purchase, .. }
            | E::Settled { purchase, .. } => Some(*purchase),
            E::Listed { .. } | E::Repriced { .. } | E::Delisted { .. } | E::Withdrawn { .. } => {
                None
            }
        }
    }

    fn seller(&self) -> Option<Address> {
        use MarketEvent as E;
        match self {
            E::Listed { seller, .. }
            | E::Repriced { seller, .. }
            | E::Delisted { seller, .. }
            | E::Purchased { seller, .. }
            | E::Delivered { seller, .. }
            | E::KeyProvenWrong { seller, .. }
            | E::Settled { seller, .. }
            | E::Withdrawn { seller, .. } => Some(*seller),
            E::Refunded { .. } | E::Disputed { .. } => None,
        }
    }

    fn buyer(&self) -> Option<Address> {
        use MarketEvent as E;
        match self {
            E::Purchased { buyer, .. }
            | E::Refunded { buyer, .. }
            | E::Disputed { buyer, .. }
            | E::KeyProvenWrong { buyer, .. } => Some(*buyer),
            E::Listed { .. }
            | E::Repriced { .. }
            | E::Delisted { .. }
            | E::Delivered { .. }
            | E::Settled { .. }
            | E::Withdrawn { .. } => None,
        }
    }

    fn token(&self) -> Option<Address> {
        use MarketEvent as E;
        match self {
            E::Listed { token, .. }
            | E::Purchased { token, .. }
            | E::Refunded { token, .. }
            | E::Settled { token, .. }
            | E::Withdrawn { token, .. } => Some(*token),
            E::Repriced { .. }
            | E::Delisted { .. }
            | E::Delivered { .. }
            | E::Disputed { .. }
            | E::KeyProvenWrong { .. } => None,
        }
    }

    fn amount(&self) -> Option<U256> {
        use MarketEvent as E;
        match self {
            E::Listed { price: amount, .. }
            | E::Repriced { price: amount, .. }
            | E::Purchased { price: amount, .. }
            | E::Refunded { amount, .. }
            | E::Settled { amount, .. }
            | E::Withdrawn { amount, .. } => Some(*amount),
            E::Delisted { .. }
            | E::Delivered { .. }
            | E::Disputed { .. }
            | E::KeyProvenWrong { .. } => None,
        }
    }
}

impl Located {
    /// A decoded log with its position; `None` for a log that is not a market event or lacks
    /// its position (a pending log).
    pub fn from_log(log: &Log) -> Option<Located> {
        Some(Located {
            block: log.block_number?,
            tx_hash: log.transaction_hash?,
            log_index: log.log_index?,
            event: MarketEvent::decode(log)?,
        })
    }

    /// The row the store keeps.
    pub fn to_row(&self, chain_id: u64, market: Address) -> MarketEventRow {
        MarketEventRow {
            chain_id,
            market,
            block: self.block,
            tx_hash: self.tx_hash,
            log_index: self.log_index,
            event: self.event.name().into(),
            listing_id: self.event.listing_id(),
            purchase_id: self.event.purchase_id(),
            seller: self.event.seller(),
            buyer: self.event.buyer(),
            token: self.event.token(),
            amount: self.event.amount(),
            body: serialize(&self.event),
        }
    }

    /// Back from a stored row; `None` for a row this build cannot read (then it is skipped,
    /// and the next index pass over its range rewrites it).
    pub fn from_row(row: &MarketEventRow) -> Option<Located> {
        Some(Located {
            block: row.block,
            tx_hash: row.tx_hash,
            log_index: row.log_index,
            event: serde_json::from_str(&row.body).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_row_and_its_columns_are_filled() {
        let e = Located {
            block: 9,
            tx_hash: B256::repeat_byte(1),
            log_index: 2,
            event: MarketEvent::Purchased {
                purchase: 4,
                listing: 3,
                buyer: Address::repeat_byte(0xb),
                seller: Address::repeat_byte(0x5),
                token: Address::ZERO,
                price: U256::from(10u64).pow(U256::from(20u64)),
                buyer_key: Bytes::from(vec![2u8; 33]),
                deadline: 1_700_000_000,
            },
        };
        let row = e.to_row(31337, Address::repeat_byte(0x11));
        assert_eq!(row.event, "purchased");
        assert_eq!((row.listing_id, row.purchase_id), (Some(3), Some(4)));
        assert_eq!(row.buyer, Some(Address::repeat_byte(0xb)));
        assert_eq!(Located::from_row(&row), Some(e));
        let mut broken = row;
        broken.body = "{\"event\":\"teleported\"}".into();
        assert_eq!(Located::from_row(&broken), None);
    }

    const S: Address = Address::repeat_byte(0x5);
    const B: Address = Address::repeat_byte(0xb);
    const T: Address = Address::repeat_byte(0x7);
    const N: U256 = U256::from_limbs([9, 0, 0, 0]);
    const X: B256 = B256::repeat_byte(3);

    /// One event of each kind, in the order of the enum: listing 1, purchase 2, seller S, buyer
    /// B, token T, and N for every price and amount.
    fn one_of_each() -> Vec<MarketEvent> {
        use MarketEvent as E;
        vec![
            E::Listed {
                listing: 1,
                seller: S,
                token: T,
                price: N,
                content_hash: X,
                key_commit: X,
                data: Bytes::new(),
                uri: String::new(),
                meta: String::new(),
            },
            E::Repriced {
                listing: 1,
                seller: S,
                price: N,
            },
            E::Delisted {
                listing: 1,
                seller: S,
            },
            E::Purchased {
                purchase: 2,
                listing: 1,
                buyer: B,
                seller: S,
                token: T,
                price: N,
                buyer_key: Bytes::new(),
                deadline: 0,
            },
            E::Delivered {
                purchase: 2,
                seller: S,
                delivery: Bytes::new(),
                settles_at: 0,
            },
            E::Refunded {
                purchase: 2,
                buyer: B,
                token: T,
                amount: N,
            },
            E::Disputed {
                purchase: 2,
                buyer: B,
                secret: Some(X),
                reason: String::new(),
            },
            E::KeyProvenWrong {
                purchase: 2,
                buyer: B,
                seller: S,
                secret: X,
            },
            E::Settled {
                purchase: 2,
                seller: S,
                token: T,
                amount: N,
            },
            E::Withdrawn {
                seller: S,
                token: T,
                amount: N,
            },
        ]
    }

    #[test]
    fn each_event_fills_the_columns_of_the_fields_it_has() {
        // (listing_id, purchase_id, seller, buyer, token, amount)
        let expected = [
            ("listed", (Some(1), None, Some(S), None, Some(T), Some(N))),
            ("repriced", (Some(1), None, Some(S), None, None, Some(N))),
            ("delisted", (Some(1), None, Some(S), None, None, None)),
            (
                "purchased",
                (Some(1), Some(2), Some(S), Some(B), Some(T), Some(N)),
            ),
            ("delivered", (None, Some(2), Some(S), None, None, None)),
            ("refunded", (None, Some(2), None, Some(B), Some(T), Some(N))),
            ("disputed", (None, Some(2), None, Some(B), None, None)),
            (
                "key_proven_wrong",
                (None, Some(2), Some(S), Some(B), None, None),
            ),
            ("settled", (None, Some(2), Some(S), None, Some(T), Some(N))),
            ("withdrawn", (None, None, Some(S), None, Some(T), Some(N))),
        ];
        let events = one_of_each();
        assert_eq!(events.len(), expected.len());
        for (event, (name, columns)) in events.into_iter().zip(expected) {
            let r = Located {
                block: 1,
                tx_hash: B256::ZERO,
                log_index: 0,
                event,
            }
            .to_row(1, Address::ZERO);
            assert_eq!(r.event, name);
            let found = (
                r.listing_id,
                r.purchase_id,
                r.seller,
                r.buyer,
                r.token,
                r.amount,
            );
            assert_eq!(found, columns, "{name}");
        }
    }
}
