//! The Market screen's chain jobs, run on the chain thread (see `chain_worker`): the periodic
//! sync of the market index, with the automatic deliveries of `market.delivery = auto`, and the
//! building of each market transaction for the wallet's review. Everything goes through the
//! services the command line uses (`service::market`, `service::tx`), in the same order.
use std::sync::Arc;

use alloy::primitives::Address;
use keybot_keystore::Wallet;

use super::action::Action;
use super::chain_worker::SEND_WAIT;
use super::error::{AppError, MarketReadError};
use super::screens::market::MarketAction;
use super::screens::market_onchain::{MarketBook, MarketTx};
use super::screens::wallet::{Plan, Stays};
use crate::chain::send::Review;
use crate::chain::{ChainError, Client, Intent, Refusal};
use crate::market::book::Purchase;
use crate::market::receipt;
use crate::service::market as svc;
use crate::service::tx;
use crate::service::vault::ItemView;
use crate::store::Store;

/// A planning step's refusal (no consent, no market…), in one line; nothing was signed.
fn refused(e: impl std::fmt::Display) -> ChainError {
    ChainError::Refused(Refusal::Warning(
        crate::sanitize::clean_line(&e.to_string()).into_owned(),
    ))
}

/// Reads the market; with `deliver` (the wallet, `market.delivery = auto`) delivers each
/// purchase of the user's listings as `market serve` does, one notice per delivery; with
/// `challenge` (`market.challenge = auto`) challenges each of the user's purchases whose
/// delivered key this client finds wrong, one notice per refund.
pub async fn sync(
    client: &Client,
    store: &Store,
    own: Vec<Address>,
    deliver: Option<Arc<Wallet>>,
    challenge: Option<Arc<Wallet>>,
    send: &dyn Fn(Action),
) -> Result<Box<MarketBook>, MarketReadError> {
    let market = svc::market_of(client)?;
    let mut book = svc::sync(client, store, market).await?;
    let now = svc::chain_time(client).await?;
    // Listings made from this app learn their id once their event is read; the active ones
    // are marked on the vault items they were made from.
    let mut listed: std::collections::BTreeMap<i64, Vec<u64>> = Default::default();
    for l in book.listings.values().filter(|l| own.contains(&l.seller)) {
        if let Ok(Some(secret)) = store.listing_secret(l.content_hash) {
            if secret.listing_id.is_none() {
                let _ = store.set_listing_id(l.content_hash, l.id);
            }
            if l.active {
                listed.entry(secret.item_id).or_default().push(l.id);
            }
        }
    }
    if let Some(wallet) = deliver {
        let mut delivered = 0;
        for seller in &own {
            let due: Vec<_> = book
                .undelivered(*seller)
                .filter(|p| svc::deliverable(p, now))
                .cloned()
                .collect();
            for p in due {
                match deliver_one(client, store, &wallet, &book, &p, &own).await {
                    Ok(Some(line)) => {
                        delivered += 1;
                        send(Action::Notice(line));
                    }
                    Ok(None) => {}
                    // One line, and the other purchases go on.
                    Err(cause) => send(Action::Error(AppError::Delivery {
                        purchase: p.id,
                        cause,
                    })),
                }
            }
        }
        if delivered > 0 {
            book = svc::sync(client, store, market).await?;
        }
    }
    if let Some(wallet) = challenge
        && challenge_wrong_keys(client, store, &wallet, &book, &own, now, send).await > 0
    {
        book = svc::sync(client, store, market).await?;
    }
    let chain_id = client.network.chain_id;
    let disputes = svc::checked_disputes(chain_id, market.address, &book);
    Ok(Box::new(MarketBook {
        book,
        own,
        now,
        chain_id,
        market: market.address,
        disputes,
        listed,
    }))
}

/// One automatic delivery: built, signed with the seller's account, recorded and broadcast by
/// the transaction service. None when this store has no key for the listing (listed from
/// another machine whose backup was not restored).
async fn deliver_one(
    client: &Client,
    store: &Store,
    wallet: &Wallet,
    book: &crate::market::book::Book,
    p: &crate::market::book::Purchase,
    own: &[Address],
) -> Result<Option<String>, ChainError> {
    let Some(listing) = book.listings.get(&p.listing) else {
        return Ok(None);
    };
    let Some(secret) = store.listing_secret(listing.content_hash)? else {
        return Ok(None);
    };
    let call = svc::deliver_call(p, &secret).map_err(refused)?;
    let hash = send_standing(client, store, wallet, p.seller, call.into(), own).await?;
    Ok(Some(match hash {
        Sent::Confirmed(hash) => format!(
            "delivered purchase {} (listing {}) in {hash}",
            p.id, listing.id
        ),
        Sent::Pending(hash) => format!(
            "delivery of purchase {} sent ({hash}); its receipt is not in yet",
            p.id
        ),
    }))
}

/// Each of the user's purchases still in its challenge window whose delivered key this client
/// finds wrong is challenged (the same check and call as `market challenge`); a key it finds
/// right is never challenged (a challenge publishes it). Returns how many were sent.
async fn challenge_wrong_keys(
    client: &Client,
    store: &Store,
    wallet: &Wallet,
    book: &crate::market::book::Book,
    own: &[Address],
    now: u64,
    send: &dyn Fn(Action),
) -> usize {
    let Ok(market) = svc::market_of(client) else {
        return 0;
    };
    let due: Vec<_> = book
        .purchases
        .values()
        .filter(|p| own.contains(&p.buyer) && p.is_settling(now))
        .collect();
    if due.is_empty() {
        return 0;
    }
    let keys = match svc::BuyerKeys::scan(wallet, book, own) {
        Ok(keys) => keys,
        Err(e) => {
            send(Action::Error(AppError::BuyerKeys(Arc::new(e))));
            return 0;
        }
    };
    let buyer = svc::Buyer::new(wallet, &keys, client, market, now, own);
    let mut sent = 0;
    for p in due {
        let Some(listing) = book.listings.get(&p.listing) else {
            continue;
        };
        match svc::open_key(&buyer, p, listing) {
            Err(e) if e.challengeable() => {}
            _ => continue,
        }
        let result = match svc::challenge_call(wallet, &keys, p, market) {
            Ok(call) => send_standing(client, store, wallet, p.buyer, call.into(), own).await,
            Err(e) => Err(refused(format!("{e:#}"))),
        };
        match result {
            Ok(Sent::Confirmed(hash)) => {
                sent += 1;
                send(Action::Notice(format!(
                    "purchase {}: the delivered key was wrong; challenged in {hash}, the contract refunded {}",
                    p.id,
                    svc::format_price(client, p.token, p.price)
                )));
            }
            Ok(Sent::Pending(hash)) => {
                sent += 1;
                send(Action::Notice(format!(
                    "purchase {}: the delivered key was wrong; challenge sent ({hash}), its receipt is not in yet",
                    p.id
                )));
            }
            Err(cause) => send(Action::Error(AppError::Challenge {
                purchase: p.id,
                cause,
            })),
        }
    }
    sent
}

/// A transaction sent by a standing choice in the settings (`market.delivery = auto`,
/// `market.challenge = auto`): built, checked and recorded by the transaction service like any
/// other, signed with `from`'s account.
enum Sent {
    Confirmed(alloy::primitives::B256),
    Pending(alloy::primitives::B256),
}

async fn send_standing(
    client: &Client,
    store: &Store,
    wallet: &Wallet,
    from: Address,
    intent: Intent,
    own: &[Address],
) -> Result<Sent, ChainError> {
    let review = tx::prepare(client, Some(store), intent, own).await?;
    let account = wallet
        .find(from, 1000)?
        .ok_or_else(|| refused("the account is not one of this wallet's"))?;
    let record = tx::sign(wallet, account, &review)?;
    match tx::broadcast(client, Some(store), &record, SEND_WAIT, &mut |_| {}).await? {
        crate::chain::send::Outcome::Confirmed { .. } => Ok(Sent::Confirmed(record.hash)),
        crate::chain::send::Outcome::Reverted { block } => Err(ChainError::Revert {
            reason: format!("{} reverted in block {block}", record.hash),
        }),
        crate::chain::send::Outcome::StillPending | crate::chain::send::Outcome::RpcLost { .. } => {
            Ok(Sent::Pending(record.hash))
        }
    }
}

/// Builds the transaction of `tx` and its review. A sale's listing secret is saved before the
/// review exists: a listing whose key was lost could take money it can never deliver for.
pub async fn prepare(
    client: &Client,
    store: Option<&Store>,
    tx: MarketTx,
    item: Option<ItemView>,
    wallet: &Wallet,
    own: &[Address],
) -> Result<Prepared, ChainError> {
    let c = Ctx {
        client,
        store,
        market: svc::market_of(client).map_err(refused)?,
        wallet,
        own,
    };
    let mut plan = None;
    let (intent, note): (Intent, Option<String>) = match tx {
        MarketTx::Sell {
            item: id,
            token,
            price,
        } => {
            let item = item.ok_or_else(|| refused(format!("item {id} is not in the vault")))?;
            let sale = svc::plan_sale(client, c.market, &item, &token, price, None, &[])
                .map_err(refused)?;
            c.store()?.save_listing_secret(&sale.secret)?;
            (sale.call.into(), None)
        }
        MarketTx::Buy {
            listing,
            buyer,
            again,
        } => {
            let (intent, next) = buy(&c, &listing, buyer, again).await?;
            plan = next;
            (intent, None)
        }
        MarketTx::ResetApproval { owner, token } => (
            svc::approve_call(owner, &token, c.market, alloy::primitives::U256::ZERO).into(),
            None,
        ),
        MarketTx::Deliver { purchase } => (deliver(&c, &purchase).await?, None),
        MarketTx::Refund { purchase } => (
            svc::refund_call(&purchase, c.market, None)
                .map_err(refused)?
                .purpose(receipt::refund(
                    &purchase,
                    &svc::format_price(client, purchase.token, purchase.price),
                    purchase.buyer,
                ))
                .into(),
            None,
        ),
        MarketTx::Dispute { purchase, reason } => {
            let keys = c.buyer_keys().await?;
            let note = format!(
                "a dispute publishes purchase {}'s one-time key: every client checks the claim, and if the content opens it is public",
                purchase.id
            );
            let call =
                svc::dispute_call(wallet, &keys, &purchase, c.market, &reason).map_err(refused)?;
            (call.into(), Some(note))
        }
        MarketTx::Challenge { purchase } => (challenge(&c, &purchase).await?, None),
        MarketTx::Reprice { listing, price } => {
            let token = svc::token_of(client, listing.token).ok_or_else(|| {
                refused(format!("listing {}'s token is not configured", listing.id))
            })?;
            let said = receipt::reprice(
                &listing,
                &svc::format_price(client, listing.token, listing.price),
                &svc::format_price(client, listing.token, price),
            );
            let call = svc::reprice_call(&listing, c.market, price)
                .map_err(refused)?
                .amount_of(1, token)
                .purpose(said);
            (call.into(), None)
        }
        MarketTx::Delist { listing } => (
            svc::delist_call(&listing, c.market)
                .map_err(refused)?
                .into(),
            None,
        ),
    };
    Ok(Prepared {
        review: tx::prepare(client, store, intent, own).await?,
        note,
        plan,
    })
}

/// A market transaction's review, with a note to show beside it and, when it is one step of
/// several (a token purchase's approval), what follows.
#[derive(Debug)]
pub struct Prepared {
    pub review: Review,
    pub note: Option<String>,
    pub plan: Option<Box<Plan>>,
}

/// What every market transaction is built with.
struct Ctx<'a> {
    client: &'a Client,
    store: Option<&'a Store>,
    market: svc::Market,
    wallet: &'a Wallet,
    own: &'a [Address],
}

impl Ctx<'_> {
    fn store(&self) -> Result<&Store, ChainError> {
        self.store
            .ok_or_else(|| ChainError::Store("the store is not open".into()))
    }

    /// The market read up to the head.
    async fn book(&self) -> Result<crate::market::book::Book, ChainError> {
        svc::sync(self.client, self.store()?, self.market).await
    }

    /// This wallet's one-time buyer keys, as the chain shows them used.
    async fn buyer_keys(&self) -> Result<svc::BuyerKeys, ChainError> {
        let book = self.book().await?;
        svc::BuyerKeys::scan(self.wallet, &book, self.own).map_err(refused)
    }
}

/// `market buy`: refused for a listing already bought (unless `again`: the user said yes to a
/// second copy); the ciphertext fetched, checked and kept before anything is paid; for a token
/// whose allowance is not exactly the price, the first approval, with the plan of the steps
/// that follow (the purchase comes once it is confirmed), else the purchase with a one-time
/// key and the price shown as the most the contract may take.
async fn buy(
    c: &Ctx<'_>,
    listing: &crate::market::book::Listing,
    buyer: Address,
    again: bool,
) -> Result<(Intent, Option<Box<Plan>>), ChainError> {
    if !listing.active {
        return Err(refused(format!("listing {} was delisted", listing.id)));
    }
    let store = c.store()?;
    let book = c.book().await?;
    if !again
        && let Some(p) = book
            .purchases
            .values()
            .find(|p| p.listing == listing.id && c.own.contains(&p.buyer))
    {
        return Err(refused(format!(
            "you already bought listing {} (purchase {}); `keybot market buy {} --again` buys another copy",
            listing.id, p.id, listing.id
        )));
    }
    let token = svc::token_of(c.client, listing.token).ok_or_else(|| {
        refused(format!(
            "listing {} is priced in {}, a token this network's config does not list (`keybot token add`)",
            listing.id,
            listing.token.to_checksum(None)
        ))
    })?;
    let ciphertext = prefetch(store, listing, c.own).await?;
    store.save_purchased_ciphertext(
        c.client.network.chain_id,
        c.market.address,
        listing.content_hash,
        &ciphertext,
    )?;
    let price = svc::format_price(c.client, listing.token, listing.price);
    let approvals = if listing.token != Address::ZERO {
        let balance = crate::chain::token::balance_of(c.client, listing.token, buyer).await?;
        if balance < listing.price {
            return Err(ChainError::Insufficient {
                what: crate::sanitize::clean_line(&token.symbol).into_owned(),
                need: Some(price),
                have: Some(svc::format_price(c.client, listing.token, balance)),
            });
        }
        let allowed = svc::allowance(c.client, listing.token, buyer, c.market).await?;
        svc::approvals_for(buyer, &token, c.market, allowed, listing.price)
    } else {
        Vec::new()
    };
    let remaining = approvals.len();
    if let Some(first) = approvals.into_iter().next() {
        // A reset to zero leaves nothing standing; the approval of the price does.
        let leaves = (remaining == 1).then(|| Stays {
            owner: buyer,
            token: token.clone(),
            amount: price.clone(),
        });
        let plan = Plan {
            remaining: u8::try_from(remaining).unwrap_or(u8::MAX),
            next: Box::new(MarketTx::Buy {
                listing: Box::new(listing.clone()),
                buyer,
                again,
            }),
            leaves,
        };
        return Ok((first.into(), Some(Box::new(plan))));
    }
    let keys = svc::BuyerKeys::scan(c.wallet, &book, c.own).map_err(refused)?;
    let (_, key) = keys.next(c.wallet).map_err(refused)?;
    let call = svc::buy_call(buyer, c.market, listing, &key, listing.price)
        .map_err(refused)?
        .amount_of(2, token)
        .purpose(receipt::buy(listing, &price));
    Ok((call.into(), None))
}

/// The listing's ciphertext, checked against its hash. The fetch blocks (a URI, a gateway): it
/// runs off this thread's async tasks.
async fn prefetch(
    store: &Store,
    listing: &crate::market::book::Listing,
    own: &[Address],
) -> Result<Vec<u8>, ChainError> {
    let gateway = crate::service::settings::Settings::load(store)?
        .0
        .ipfs_gateway()
        .map(str::to_owned);
    let listing = listing.clone();
    let own = own.to_vec();
    tokio::task::spawn_blocking(move || {
        let src = svc::Sources {
            own: &own,
            ipfs_gateway: gateway.as_deref(),
        };
        svc::prefetch(&listing, None, &src)
    })
    .await
    .map_err(refused)?
    .map_err(refused)
}

/// The seller's delivery of `purchase`, with the listing's key from this store.
async fn deliver(c: &Ctx<'_>, purchase: &Purchase) -> Result<Intent, ChainError> {
    let store = c.store()?;
    let listing = c
        .book()
        .await?
        .listings
        .get(&purchase.listing)
        .cloned()
        .ok_or_else(|| refused(format!("listing {} is not in the index", purchase.listing)))?;
    let secret = store.listing_secret(listing.content_hash)?.ok_or_else(|| {
        refused(format!(
            "this store has no content key for listing {} (restore its backup)",
            listing.id
        ))
    })?;
    let price = svc::format_price(c.client, purchase.token, purchase.price);
    Ok(svc::deliver_call(purchase, &secret)
        .map_err(refused)?
        .purpose(receipt::deliver(purchase, &price))
        .into())
}

/// A challenge of `purchase`, only after this client found its key wrong: a challenge
/// publishes the one-time key, so a right one is never challenged.
async fn challenge(c: &Ctx<'_>, purchase: &Purchase) -> Result<Intent, ChainError> {
    let book = c.book().await?;
    let keys = svc::BuyerKeys::scan(c.wallet, &book, c.own).map_err(refused)?;
    let listing = book
        .listings
        .get(&purchase.listing)
        .ok_or_else(|| refused(format!("listing {} is not in the index", purchase.listing)))?;
    let now = svc::chain_time(c.client).await?;
    let buyer = svc::Buyer::new(c.wallet, &keys, c.client, c.market, now, c.own);
    match svc::open_key(&buyer, purchase, listing) {
        Ok(_) => {
            return Err(refused(format!(
                "purchase {}'s key is right; a challenge would fail and publish it, so nothing is sent",
                purchase.id
            )));
        }
        Err(e) if e.challengeable() => {}
        Err(e) => return Err(refused(e)),
    }
    let price = svc::format_price(c.client, purchase.token, purchase.price);
    Ok(svc::challenge_call(c.wallet, &keys, purchase, c.market)
        .map_err(refused)?
        .purpose(receipt::challenge(purchase, &price))
        .into())
}

/// The answer of a market prepare job, as the wallet's review expects it.
pub fn answer(id: u64, r: Result<Prepared, ChainError>, send: &dyn Fn(Action)) {
    let (review, plan) = match r {
        Ok(p) => {
            if let Some(n) = p.note {
                send(Action::Notice(n));
            }
            (Ok(Box::new(p.review)), p.plan)
        }
        Err(e) => (Err(e), None),
    };
    send(Action::Wallet(
        super::screens::wallet::WalletAction::ReviewReady { id, review, plan },
    ));
}

/// A sync's answer for the Market screen.
pub fn synced(r: Result<Box<MarketBook>, MarketReadError>) -> Action {
    Action::Market(MarketAction::Synced(r))
}
