//! The Market screen's on-chain sections, beside the sale vault: my listings (with the purchases
//! waiting for a delivery), browse and buy, my purchases (save to file, refund) and the sell form
//! opened from a consented vault item. The book comes from the chain thread's periodic sync; every
//! transaction is built there from the same services as the command line and shown in the
//! wallet's review-and-confirm screen, where nothing is signed before it is confirmed.
use alloy::primitives::{Address, U256};

use super::market::{MarketEffect, MarketMode};
use crate::chain::market_contract::MAX_REASON;
use crate::chain::{Token, amount};
use crate::market::book::{Book, Listing, Purchase, PurchaseState};
use crate::service::vault::ConsentState;
use crate::store::ItemId;
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::error::MarketReadError;
use crate::tui::state::*;

/// The tabs of the Market screen, switched with `[` and `]` (Tab and the digits are the app's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Section {
    #[default]
    Vault,
    Listings,
    Browse,
    Purchases,
}

impl Section {
    pub const ALL: [Section; 4] = [
        Section::Vault,
        Section::Listings,
        Section::Browse,
        Section::Purchases,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Vault => "Sale vault",
            Section::Listings => "My listings",
            Section::Browse => "Browse",
            Section::Purchases => "My purchases",
        }
    }

    fn step(self, forward: bool) -> Section {
        let i = Section::ALL.iter().position(|s| *s == self).unwrap_or(0);
        let n = Section::ALL.len();
        Section::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// The market as the last sync read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketBook {
    pub book: Book,
    /// The user's own addresses (derived and imported).
    pub own: Vec<Address>,
    /// The chain's clock at the sync (unix seconds): deadlines are the contract's.
    pub now: u64,
    /// Where the book is from: what a delivery is bound to (service::market::binding).
    pub chain_id: u64,
    pub market: Address,
    /// Each seller's disputes as this client checked them at the sync: (proven, refuted)
    /// (service::market::checked_disputes; never a claim taken on trust).
    pub disputes: std::collections::BTreeMap<Address, (u32, u32)>,
    /// The user's active listings by the vault item they were made from (this store's listing
    /// secrets say which): the vault marks an item *listed #N* and warns before deleting it.
    pub listed: std::collections::BTreeMap<ItemId, Vec<u64>>,
}

impl MarketBook {
    /// The user's listings, newest first.
    pub fn mine(&self) -> Vec<&Listing> {
        let mut v: Vec<&Listing> = self
            .book
            .listings
            .values()
            .filter(|l| self.own.contains(&l.seller))
            .collect();
        v.reverse();
        v
    }

    /// Purchases of the user's listings waiting for their key, still deliverable: the contract
    /// refuses a delivery after the deadline, and keybot delivers no later than an hour before
    /// it (a late transaction would show the key and revert).
    pub fn pending(&self) -> Vec<&Purchase> {
        self.book
            .purchases
            .values()
            .filter(|p| {
                self.own.contains(&p.seller) && crate::service::market::deliverable(p, self.now)
            })
            .collect()
    }

    /// Active listings anyone may buy, newest first.
    pub fn offers(&self) -> Vec<&Listing> {
        let mut v: Vec<&Listing> = self.book.listings.values().filter(|l| l.active).collect();
        v.reverse();
        v
    }

    /// The user's purchases, newest first.
    pub fn purchases(&self) -> Vec<&Purchase> {
        let mut v: Vec<&Purchase> = self
            .book
            .purchases
            .values()
            .filter(|p| self.own.contains(&p.buyer))
            .collect();
        v.reverse();
        v
    }

    /// An undelivered purchase can be refunded once the chain's clock is past its deadline.
    pub fn refundable(&self, p: &Purchase) -> bool {
        p.state == PurchaseState::Paid && self.now > p.deadline
    }

    pub fn proven_disputes(&self, seller: Address) -> u32 {
        self.disputes.get(&seller).map_or(0, |d| d.0)
    }

    pub fn refuted_disputes(&self, seller: Address) -> u32 {
        self.disputes.get(&seller).map_or(0, |d| d.1)
    }

    /// A delivered purchase can be challenged until its window closes.
    pub fn challengeable(&self, p: &Purchase) -> bool {
        p.is_settling(self.now)
    }

    /// Why purchase `p` cannot be refunded now; None when it can.
    pub fn refund_refusal(&self, p: &Purchase) -> Option<String> {
        if self.refundable(p) {
            return None;
        }
        Some(match p.state {
            PurchaseState::Paid => format!(
                "purchase {} can be refunded only after its deadline; the seller may still deliver",
                p.id
            ),
            PurchaseState::Delivered => format!("purchase {} was delivered", p.id),
            PurchaseState::Refunded => format!("purchase {} is already refunded", p.id),
        })
    }

    /// Why purchase `p`'s key cannot be challenged now; None when it can.
    pub fn challenge_refusal(&self, p: &Purchase) -> Option<String> {
        if self.challengeable(p) {
            return None;
        }
        Some(match p.state {
            PurchaseState::Delivered => format!(
                "purchase {}'s challenge window is over; its payment is the seller's",
                p.id
            ),
            _ => format!(
                "purchase {} is not delivered; a challenge is about a delivered key",
                p.id
            ),
        })
    }
}

/// The on-chain part of the Market screen's view state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainView {
    pub section: Section,
    /// None until the first sync answered.
    pub market: Option<Box<MarketBook>>,
    /// Why the book may be out of date (no market on the network, offline).
    pub problem: Option<String>,
    pub syncing: bool,
    pub next_sync_ms: u64,
    /// The selected row of my listings' pending deliveries, browse, and my purchases.
    pub pending_sel: usize,
    /// In My listings: the selection is on a listing (this row of them), not on a delivery.
    pub listing_sel: Option<usize>,
    pub browse_sel: usize,
    pub purchase_sel: usize,
}

/// A market transaction to be built on the chain thread and reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketTx {
    /// `market sell`: the listing secret is saved before the review is shown.
    Sell {
        item: ItemId,
        token: Token,
        price: U256,
    },
    /// `market buy`: with a token, the approval first when the allowance is short. `again`:
    /// the user said yes to buying a listing they already bought.
    Buy {
        listing: Box<Listing>,
        buyer: Address,
        again: bool,
    },
    /// Takes back an approval a stopped purchase left: the market's allowance becomes 0.
    ResetApproval {
        owner: Address,
        token: crate::chain::Token,
    },
    Deliver {
        purchase: Box<Purchase>,
    },
    Refund {
        purchase: Box<Purchase>,
    },
    Dispute {
        purchase: Box<Purchase>,
        reason: String,
    },
    /// Checked on the chain thread before the review opens: a key this client finds right is
    /// never challenged (a challenge publishes it).
    Challenge {
        purchase: Box<Purchase>,
    },
    /// A new price for one of the user's listings (in the listing's token).
    Reprice {
        listing: Box<Listing>,
        price: U256,
    },
    Delist {
        listing: Box<Listing>,
    },
}

/// How often the market is synced while unlocked with a network.
pub const SYNC_MS: u64 = 15_000;

/// Whether a mode of the Market screen is one of this module's forms.
pub(crate) fn typing(mode: &MarketMode) -> bool {
    matches!(
        mode,
        MarketMode::Sell { .. }
            | MarketMode::SaveTo { .. }
            | MarketMode::Dispute { .. }
            | MarketMode::Reprice { .. }
    )
}

/// A sync is due every [`SYNC_MS`] while unlocked with a network, when it is of use: on the
/// Market screen; anywhere with `market.delivery = auto` (then it delivers in the background)
/// or `market.challenge = auto`; and anywhere while the user has listings of their own (a new
/// purchase waiting for their key is announced on whatever screen is shown). The first read
/// after unlocking is what finds out whether they have any.
pub(crate) fn tick(s: &mut State) -> Vec<Effect> {
    let c = &s.market.chain;
    let first_read = c.market.is_none() && c.problem.is_none();
    let selling = c.market.as_deref().is_some_and(|m| !m.mine().is_empty());
    let wanted = s.screen == Screen::Market
        || first_read
        || selling
        || delivers_automatically(s)
        || challenges_automatically(s);
    if wanted && s.unlocked() && s.net.info.is_some() && s.now_ms >= s.market.chain.next_sync_ms {
        return sync_now(s);
    }
    vec![]
}

/// The `market.delivery` setting as the settings screen holds it (read at unlock).
pub fn delivers_automatically(s: &State) -> bool {
    delivers_automatically_with(&s.settings)
}

fn delivers_automatically_with(settings: &SettingsView) -> bool {
    settings
        .items
        .iter()
        .any(|i| i.key == crate::service::settings::MARKET_DELIVERY && i.value.trim() == "auto")
}

/// How many purchases wait for the user's key (approve mode): the Market tab shows it.
pub fn waiting_for_you(s: &State) -> usize {
    if delivers_automatically(s) {
        return 0;
    }
    s.market
        .chain
        .market
        .as_deref()
        .map_or(0, |m| m.pending().len())
}

/// The `market.challenge` setting as the settings screen holds it (read at unlock).
pub fn challenges_automatically(s: &State) -> bool {
    s.settings
        .items
        .iter()
        .any(|i| i.key == crate::service::settings::MARKET_CHALLENGE && i.value.trim() == "auto")
}

pub(crate) fn sync_now(s: &mut State) -> Vec<Effect> {
    let c = &mut s.market.chain;
    if s.net.info.is_none() || c.syncing {
        return vec![];
    }
    c.syncing = true;
    c.next_sync_ms = s.now_ms + SYNC_MS;
    vec![Effect::Market(MarketEffect::Sync)]
}

/// The sync's answer.
pub(crate) fn synced(s: &mut State, r: Result<Box<MarketBook>, MarketReadError>) {
    let c = &mut s.market.chain;
    c.syncing = false;
    c.next_sync_ms = s.now_ms + SYNC_MS;
    match r {
        Ok(m) => {
            // A purchase waiting for the user's key, new since the last read: said on whatever
            // screen is shown (the Market tab counts them too), unless deliveries are automatic.
            if let Some(old) = c.market.as_deref()
                && !delivers_automatically_with(&s.settings)
            {
                let new: Vec<&Purchase> = m
                    .pending()
                    .into_iter()
                    .filter(|p| !old.book.purchases.contains_key(&p.id))
                    .collect();
                if let Some(p) = new.first() {
                    let more = match new.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    };
                    s.message = Some((
                        Level::Info,
                        format!(
                            "new purchase #{} of your listing #{}{more}: its buyer waits for the key (Market → My listings → a)",
                            p.id, p.listing
                        ),
                    ));
                }
            }
            let c = &mut s.market.chain;
            c.pending_sel = c.pending_sel.min(m.pending().len().saturating_sub(1));
            c.listing_sel = c
                .listing_sel
                .filter(|_| !m.mine().is_empty())
                .map(|i| i.min(m.mine().len() - 1));
            c.browse_sel = c.browse_sel.min(m.offers().len().saturating_sub(1));
            c.purchase_sel = c.purchase_sel.min(m.purchases().len().saturating_sub(1));
            c.market = Some(m);
            c.problem = None;
        }
        Err(why) => s.market.chain.problem = Some(why.to_string()),
    }
}

fn error(s: &mut State, why: impl Into<String>) -> Vec<Effect> {
    s.message = Some((Level::Error, why.into()));
    vec![]
}

/// Keys outside the vault's own that every section shares: the section switch and a sync.
pub(crate) fn common_key(s: &mut State, action: &Action) -> Option<Vec<Effect>> {
    match action {
        Action::Command(c @ ('[' | ']')) => {
            let c = *c;
            let m = &mut s.market.chain;
            m.section = m.section.step(c == ']');
            Some(vec![])
        }
        Action::Command('g') if s.market.chain.section != Section::Vault => {
            if s.net.info.is_none() {
                return Some(error(s, NO_NETWORK));
            }
            Some(sync_now(s))
        }
        _ => None,
    }
}

const NO_NETWORK: &str =
    "no network configured: `keybot chain dev`, or `keybot chain add NAME --rpc URL`";

/// The keys of the three on-chain sections.
pub(crate) fn section_key(s: &mut State, action: Action) -> Vec<Effect> {
    let section = s.market.chain.section;
    let Some(m) = s.market.chain.market.as_deref() else {
        return vec![];
    };
    if section == Section::Listings {
        let (mine, pending) = (m.mine().len(), m.pending().len());
        return listings_key(s, action, mine, pending);
    }
    let rows = match section {
        Section::Listings => m.pending().len(),
        Section::Browse => m.offers().len(),
        Section::Purchases => m.purchases().len(),
        Section::Vault => 0,
    };
    let c = &mut s.market.chain;
    let sel = match section {
        Section::Listings => &mut c.pending_sel,
        Section::Browse => &mut c.browse_sel,
        _ => &mut c.purchase_sel,
    };
    match action {
        Action::Up => *sel = sel.saturating_sub(1),
        Action::Down => *sel = (*sel + 1).min(rows.saturating_sub(1)),
        Action::Command('a') if section == Section::Listings => return approve(s),
        Action::Command('b') if section == Section::Browse => return buy(s),
        Action::Command('s') if section == Section::Purchases => return save(s),
        Action::Command('r') if section == Section::Purchases => return refund(s),
        Action::Command('d') if section == Section::Purchases => return dispute(s),
        Action::Command('c') if section == Section::Purchases => return challenge(s),
        _ => {}
    }
    vec![]
}

/// Opens the wallet's review for `tx` from `from` (one of the wallet screen's accounts): the
/// review is built on the chain thread and answers as a send's review does.
pub(crate) fn review(s: &mut State, from: Address, tx: MarketTx) -> Vec<Effect> {
    let Some(account) = s.wallet.accounts.iter().position(|a| a.address == from) else {
        return error(
            s,
            format!(
                "{} is not one of the wallet screen's accounts (n derives more)",
                from.to_checksum(None)
            ),
        );
    };
    if s.net.info.is_none() {
        return error(s, NO_NETWORK);
    }
    match super::wallet::await_review(s, account, Screen::Market) {
        Ok(id) => vec![Effect::Market(MarketEffect::Prepare {
            id,
            tx: Box::new(tx),
        })],
        Err(why) => error(s, why.to_string()),
    }
}

fn approve(s: &mut State) -> Vec<Effect> {
    let Some(p) = s.market.chain.market.as_deref().and_then(|m| {
        m.pending()
            .get(s.market.chain.pending_sel)
            .map(|p| (*p).clone())
    }) else {
        return error(s, "no purchase is waiting for a delivery");
    };
    review(
        s,
        p.seller,
        MarketTx::Deliver {
            purchase: Box::new(p),
        },
    )
}

fn buy(s: &mut State) -> Vec<Effect> {
    let Some(m) = s.market.chain.market.as_deref() else {
        return vec![];
    };
    let Some(l) = m
        .offers()
        .get(s.market.chain.browse_sel)
        .map(|l| (*l).clone())
    else {
        return error(s, "no listing selected");
    };
    if m.own.contains(&l.seller) {
        return error(s, format!("listing {} is your own", l.id));
    }
    let Some(buyer) = s.wallet.accounts.get(s.wallet.selected).map(|a| a.address) else {
        return error(s, "no account to pay from");
    };
    // As `market buy` refuses without --again: a second copy is asked for, never a surprise.
    if let Some(p) = m
        .book
        .purchases
        .values()
        .find(|p| p.listing == l.id && m.own.contains(&p.buyer))
    {
        s.overlay = Some(Overlay::BuyAgain {
            purchase: p.id,
            listing: Box::new(l),
            buyer,
        });
        return vec![];
    }
    review(
        s,
        buyer,
        MarketTx::Buy {
            listing: Box::new(l),
            buyer,
            again: false,
        },
    )
}

fn selected_purchase(s: &State) -> Option<Purchase> {
    let m = s.market.chain.market.as_deref()?;
    m.purchases()
        .get(s.market.chain.purchase_sel)
        .map(|p| (*p).clone())
}

fn refund(s: &mut State) -> Vec<Effect> {
    let Some(p) = selected_purchase(s) else {
        return error(s, "no purchase selected");
    };
    if let Some(why) = s
        .market
        .chain
        .market
        .as_deref()
        .and_then(|m| m.refund_refusal(&p))
    {
        return error(s, why);
    }
    review(
        s,
        p.buyer,
        MarketTx::Refund {
            purchase: Box::new(p),
        },
    )
}

/// A challenge takes the money back for a delivered key the contract itself proves wrong; only
/// while the purchase's window is open.
fn challenge(s: &mut State) -> Vec<Effect> {
    let Some(p) = selected_purchase(s) else {
        return error(s, "no purchase selected");
    };
    if let Some(why) = s
        .market
        .chain
        .market
        .as_deref()
        .and_then(|m| m.challenge_refusal(&p))
    {
        return error(s, why);
    }
    review(
        s,
        p.buyer,
        MarketTx::Challenge {
            purchase: Box::new(p),
        },
    )
}

/// A dispute records, on chain and for everyone to read, that the buyer found a delivery wrong;
/// it moves no money. Only a delivered purchase, once.
fn dispute(s: &mut State) -> Vec<Effect> {
    let Some(p) = selected_purchase(s) else {
        return error(s, "no purchase selected");
    };
    if p.state != PurchaseState::Delivered {
        return error(
            s,
            format!(
                "purchase {} is not delivered; a dispute is about a delivery (an undelivered one is refunded after its deadline)",
                p.id
            ),
        );
    }
    if p.disputed {
        return error(s, format!("purchase {} is already disputed", p.id));
    }
    s.market.mode = MarketMode::Dispute {
        purchase: p.id,
        reason: Input::default(),
    };
    vec![]
}

/// The dispute's reason: Enter opens the review of the dispute, Esc drops it.
pub(crate) fn dispute_key(s: &mut State, action: Action) -> Vec<Effect> {
    let MarketMode::Dispute { purchase, reason } = &mut s.market.mode else {
        return vec![];
    };
    match action {
        Action::Edit(e) => reason.apply(&e, false),
        Action::Back => s.market.mode = MarketMode::Browse,
        Action::Submit => {
            let id = *purchase;
            let text = reason.text.trim().to_owned();
            if text.is_empty() {
                return error(s, "say what is wrong with the delivery");
            }
            if text.len() > MAX_REASON {
                return error(
                    s,
                    format!(
                        "the reason is {} bytes; the market takes {MAX_REASON} at most",
                        text.len()
                    ),
                );
            }
            s.market.mode = MarketMode::Browse;
            let Some(p) = s
                .market
                .chain
                .market
                .as_deref()
                .and_then(|m| m.book.purchases.get(&id))
                .cloned()
            else {
                return error(s, format!("purchase {id} is not in the index"));
            };
            return review(
                s,
                p.buyer,
                MarketTx::Dispute {
                    purchase: Box::new(p),
                    reason: text,
                },
            );
        }
        _ => {}
    }
    vec![]
}

fn save(s: &mut State) -> Vec<Effect> {
    let Some(p) = selected_purchase(s) else {
        return error(s, "no purchase selected");
    };
    if p.state != PurchaseState::Delivered {
        return error(s, format!("purchase {} is not delivered yet", p.id));
    }
    s.market.mode = MarketMode::SaveTo {
        purchase: p.id,
        path: super::vault_file::default_save_path(p.id),
        saving: false,
    };
    vec![]
}

/// The save-to-file input: Enter hands the path to the runtime, which refuses an existing file
/// and checks both hashes before it writes anything. The prompt stays open until the file is
/// written (`MarketAction::Saved` closes it), so a refusal leaves the path to be changed. While
/// a save is under way, Enter and edits wait for it.
pub(crate) fn save_key(s: &mut State, action: Action) -> Vec<Effect> {
    let MarketMode::SaveTo {
        purchase,
        path,
        saving,
    } = &mut s.market.mode
    else {
        return vec![];
    };
    match action {
        Action::Back => s.market.mode = MarketMode::Browse,
        Action::Edit(_) | Action::Submit if *saving => {}
        Action::Edit(e) => path.apply(&e, false),
        Action::Submit => {
            let id = *purchase;
            let out = path.text.trim().to_owned();
            if out.is_empty() {
                return error(s, "type the path of a new file");
            }
            let Some(m) = s.market.chain.market.as_deref() else {
                return error(s, "the market is not read yet: g reads it");
            };
            let (Some(p), Some(l)) = (
                m.book.purchases.get(&id),
                m.book
                    .purchases
                    .get(&id)
                    .and_then(|p| m.book.listings.get(&p.listing)),
            ) else {
                return error(s, format!("purchase {id} is not in the index"));
            };
            let save = Effect::Market(MarketEffect::Save {
                purchase: Box::new(p.clone()),
                listing: Box::new(l.clone()),
                path: out.into(),
                book: Box::new(m.clone()),
            });
            if let MarketMode::SaveTo { saving, .. } = &mut s.market.mode {
                *saving = true;
            }
            return vec![save];
        }
        _ => {}
    }
    vec![]
}

/// `s` on a vault item: the sell form, for a consented item only.
pub(crate) fn open_sell(s: &mut State) -> Vec<Effect> {
    let Some(item) = s.market.item() else {
        return vec![];
    };
    let id = item.item.id;
    // Typed while the consent is being signed: the form opens once it is in.
    if !item.consent.is_given()
        && s.market
            .consenting
            .is_some_and(|(waiting, _)| waiting == id)
    {
        s.market.consenting = Some((id, true));
        return vec![];
    }
    let Some(item) = s.market.item() else {
        return vec![];
    };
    match &item.consent {
        ConsentState::Given(_) => {}
        ConsentState::None => return error(s, format!("item {id} has no consent yet: c consents")),
        ConsentState::Stale(_) => {
            return error(
                s,
                format!("item {id} changed since its consent: c consents again"),
            );
        }
    }
    s.market.mode = MarketMode::Sell {
        id,
        price: Input::default(),
        token: 0,
    };
    vec![]
}

/// The sell form: a price, Tab (or ←/→ with an empty price) cycles the token; Enter plans the
/// listing on the chain thread and opens its review.
pub(crate) fn sell_key(s: &mut State, action: Action) -> Vec<Effect> {
    let assets = s.net.asset_count().max(1);
    let MarketMode::Sell { id, price, token } = &mut s.market.mode else {
        return vec![];
    };
    match action {
        Action::Back => s.market.mode = MarketMode::Browse,
        Action::FocusNext => *token = (*token + 1) % assets,
        Action::Edit(e) => price.apply(&e, false),
        Action::Submit => {
            let (id, text, index) = (*id, price.text.clone(), *token);
            let t = s.net.sell_token(index);
            let units = match amount::parse(&text, t.decimals) {
                Ok(u) if u.is_zero() => return error(s, "price: zero; a listing needs a price"),
                Ok(u) => u,
                Err(e) => return error(s, format!("price: {e}")),
            };
            let Some(seller) = s.market.item().and_then(|i| match &i.consent {
                ConsentState::Given(c) => c.account.parse::<Address>().ok(),
                _ => None,
            }) else {
                return error(s, "the item's consent names no account");
            };
            s.market.mode = MarketMode::Browse;
            return review(
                s,
                seller,
                MarketTx::Sell {
                    item: id,
                    token: t,
                    price: units,
                },
            );
        }
        _ => {}
    }
    vec![]
}

/// My listings: one selection walks the user's listings, then the purchases waiting for their
/// key. On a listing `p` reprices it and `x` delists it; on a purchase `a` approves its delivery.
fn listings_key(s: &mut State, action: Action, mine: usize, pending: usize) -> Vec<Effect> {
    let c = &mut s.market.chain;
    // With no purchase waiting the selection can only be on a listing.
    if pending == 0 && mine > 0 && c.listing_sel.is_none() {
        c.listing_sel = Some(0);
    }
    match (action, c.listing_sel) {
        (Action::Up, Some(i)) => c.listing_sel = Some(i.saturating_sub(1)),
        (Action::Up, None) if c.pending_sel == 0 && mine > 0 => c.listing_sel = Some(mine - 1),
        (Action::Up, None) => c.pending_sel = c.pending_sel.saturating_sub(1),
        (Action::Down, Some(i)) if i + 1 >= mine && pending > 0 => {
            c.listing_sel = None;
            c.pending_sel = 0;
        }
        (Action::Down, Some(i)) => c.listing_sel = Some((i + 1).min(mine.saturating_sub(1))),
        (Action::Down, None) => c.pending_sel = (c.pending_sel + 1).min(pending.saturating_sub(1)),
        (Action::Command('a'), _) if pending == 0 => return approve(s),
        (Action::Command('a'), None) => return approve(s),
        (Action::Command('a'), Some(_)) => {
            return error(
                s,
                "a approves a delivery: ↓ to the purchases waiting for their key",
            );
        }
        (Action::Command('p'), Some(i)) => return reprice(s, i),
        (Action::Command('x'), Some(i)) => return delist(s, i),
        (Action::Command('p' | 'x'), None) => {
            return error(s, "p reprices and x delists a listing: ↑ to your listings");
        }
        _ => {}
    }
    vec![]
}

/// The user's listing on row `i` of My listings, if it is active.
fn own_listing(s: &mut State, i: usize) -> Result<Listing, Vec<Effect>> {
    let Some(l) = s
        .market
        .chain
        .market
        .as_deref()
        .and_then(|m| m.mine().get(i).map(|l| (*l).clone()))
    else {
        return Err(error(s, "no listing selected"));
    };
    if !l.active {
        return Err(error(s, format!("listing {} is delisted", l.id)));
    }
    Ok(l)
}

fn reprice(s: &mut State, i: usize) -> Vec<Effect> {
    let l = match own_listing(s, i) {
        Ok(l) => l,
        Err(fx) => return fx,
    };
    s.market.mode = MarketMode::Reprice {
        listing: l.id,
        price: Input::default(),
    };
    vec![]
}

fn delist(s: &mut State, i: usize) -> Vec<Effect> {
    match own_listing(s, i) {
        Ok(l) => review(
            s,
            l.seller,
            MarketTx::Delist {
                listing: Box::new(l),
            },
        ),
        Err(fx) => fx,
    }
}

/// The token a listing is priced in, as this network's config names it (ETH for zero).
pub(crate) fn token_of(s: &State, address: Address) -> Option<Token> {
    if address == Address::ZERO {
        return Some(s.net.sell_token(0));
    }
    s.net
        .info
        .as_ref()?
        .tokens
        .iter()
        .find(|t| t.address == address)
        .cloned()
}

/// The new price: Enter checks it (a number in the listing's token, not zero, not the price it
/// has) and opens the review; Esc drops it.
pub(crate) fn reprice_key(s: &mut State, action: Action) -> Vec<Effect> {
    let MarketMode::Reprice { listing, price } = &mut s.market.mode else {
        return vec![];
    };
    match action {
        Action::Edit(e) => price.apply(&e, false),
        Action::Back => s.market.mode = MarketMode::Browse,
        Action::Submit => {
            let (id, text) = (*listing, price.text.trim().to_owned());
            let Some(l) = s
                .market
                .chain
                .market
                .as_deref()
                .and_then(|m| m.book.listings.get(&id).cloned())
            else {
                return error(s, format!("listing {id} is not in the index"));
            };
            let Some(token) = token_of(s, l.token) else {
                return error(
                    s,
                    format!(
                        "listing {id}'s token is not configured on this network (`keybot token add`)"
                    ),
                );
            };
            let units = match amount::parse(&text, token.decimals) {
                Ok(u) if u.is_zero() => {
                    return error(s, "the price is zero; x delists the listing instead");
                }
                Ok(u) if u == l.price => {
                    return error(s, format!("listing {id} already costs that"));
                }
                Ok(u) => u,
                Err(e) => return error(s, format!("price: {e}")),
            };
            s.market.mode = MarketMode::Browse;
            return review(
                s,
                l.seller,
                MarketTx::Reprice {
                    listing: Box::new(l),
                    price: units,
                },
            );
        }
        _ => {}
    }
    vec![]
}
