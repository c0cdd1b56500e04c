//! The bot's reads over the services the wallet and market commands use, written once for every
//! desk (the command line's, the app's chain thread, the MCP server): each returns the JSON the
//! model gets, or one line saying why not. Text a stranger wrote is cleaned and put under
//! `untrusted`. And what a transfer proposal becomes: the request the wallet's review shows,
//! checked against the network's tokens and the user's caps first.
use alloy::primitives::Address;
use keybot_keystore::Wallet;
use serde_json::{Value, json};

use crate::bot::tools::{Proposal, Read};
use crate::chain::send::{Asset, SendRequest};
use crate::chain::{Client, Token, activity, amount, balance, safety};
use crate::sanitize::clean_line;
use crate::store::Store;

/// What the reads see: the network (None: offline, the reads that need it say so), the store,
/// the wallet (accounts are derived from it; no key leaves it) and the user's own addresses.
pub struct Reader<'a> {
    pub client: Option<&'a Client>,
    pub store: &'a Store,
    pub wallet: &'a Wallet,
    pub own: &'a [Address],
}

/// What a tool that needs the network says when none is configured (nothing is sent).
pub const OFFLINE: &str = "offline: no network is configured (keybot chain add)";

/// How a signed transaction the model proposed ended, as the model is told it: signed is signed
/// (the hash) once it is confirmed or still pending, whatever the chain says next; a revert or a
/// lost RPC is one line that still starts with "signed" (the fee may be spent).
pub fn decision_of(
    hash: alloy::primitives::B256,
    outcome: &crate::chain::send::Outcome,
) -> Result<crate::bot::tools::Decision, String> {
    use crate::chain::send::Outcome;
    match outcome {
        Outcome::Confirmed { .. } | Outcome::StillPending => {
            Ok(crate::bot::tools::Decision::Signed(hash.to_string()))
        }
        Outcome::Reverted { block } => Err(format!(
            "signed, but transaction {hash} reverted on chain in block {block} (the fee was spent)"
        )),
        Outcome::RpcLost { reason } => Err(format!(
            "signed; transaction {hash} was handed to the RPC, which then failed: {}; it is recorded",
            line(reason)
        )),
    }
}

/// Where the user's decision leaves a proposal another program queued: signed or declined, with
/// the line that says how; None while it still waits (the market's, printed as a command). A
/// failure is final too: "signed, but …" was signed, anything else was not.
pub fn queue_state(
    decision: &Result<crate::bot::tools::Decision, String>,
) -> Option<(crate::store::ProposalState, String)> {
    use crate::bot::tools::Decision;
    use crate::store::ProposalState;
    Some(match decision {
        Ok(Decision::Pending) => return None,
        Ok(d @ Decision::Signed(_)) => (ProposalState::Signed, d.for_model()),
        Ok(d) => (ProposalState::Declined, d.for_model()),
        Err(line) if line.starts_with("signed") => (ProposalState::Signed, line.clone()),
        Err(line) => (ProposalState::Declined, line.clone()),
    })
}

/// A listing's title from its metadata ("" when it has none that parses).
fn title_of(meta: &str) -> String {
    crate::market::meta::Meta::parse(meta)
        .map(|m| m.title)
        .unwrap_or_default()
}

/// An error as the one line a tool result carries.
pub fn line(e: impl std::fmt::Display) -> String {
    clean_line(&e.to_string()).into_owned()
}

impl<'a> Reader<'a> {
    /// Answers one read.
    pub async fn read(&self, read: &Read) -> Result<Value, String> {
        match read {
            Read::Balances => self.balances().await,
            Read::Activity { limit } => self.activity(*limit).await,
            Read::VaultItems => self.vault_items(),
            Read::Networks => self.networks().await,
            Read::Earnings => self.earnings().await,
            Read::MyListings => self.my_listings().await,
            Read::MyPurchases => self.my_purchases().await,
            Read::MarketListings { query, max_price } => {
                self.market_listings(query.as_deref(), max_price.as_deref())
                    .await
            }
        }
    }

    fn client(&self) -> Result<&'a Client, String> {
        self.client.ok_or_else(|| OFFLINE.to_owned())
    }

    /// The market's book, read from the chain (its new events) and the store.
    async fn book(&self) -> Result<(&'a Client, crate::market::book::Book), String> {
        use crate::service::market as svc;
        let client = self.client()?;
        let market = svc::market_of(client).map_err(line)?;
        let book = svc::sync(client, self.store, market).await.map_err(line)?;
        Ok((client, book))
    }

    async fn balances(&self) -> Result<Value, String> {
        let client = self.client()?;
        let count = crate::service::accounts::count(self.store).map_err(line)?;
        let accounts =
            crate::service::accounts::list(self.wallet, self.store, count).map_err(line)?;
        let addresses: Vec<Address> = accounts.iter().map(|a| a.address).collect();
        let rows = balance::balances(client, &addresses).await.map_err(line)?;
        let list: Vec<Value> = accounts
            .iter()
            .zip(rows)
            .map(|(a, r)| {
                let tokens: serde_json::Map<String, Value> = r
                    .tokens
                    .iter()
                    .map(|(t, units)| {
                        (
                            clean_line(&t.symbol).into_owned(),
                            Value::String(amount::format(*units, t.decimals)),
                        )
                    })
                    .collect();
                json!({
                    "index": a.index,
                    "label": clean_line(&a.label),
                    "address": a.address.to_checksum(None),
                    "ETH": amount::format(r.eth, 18),
                    "tokens": tokens,
                })
            })
            .collect();
        Ok(json!({"network": client.name, "accounts": list}))
    }

    async fn activity(&self, limit: usize) -> Result<Value, String> {
        let client = self.client()?;
        // What is recorded stands if the node cannot be reached.
        let synced = activity::sync(client, self.store, self.own).await;
        let chain_id = client.network.chain_id;
        let list = activity::entries(
            &self.store.sent_txs(chain_id).map_err(line)?,
            &self.store.transfers(chain_id).map_err(line)?,
            self.own,
        );
        let rows: Vec<Value> = list
            .iter()
            .take(limit)
            .map(|e| {
                json!({
                    "direction": if e.outgoing { "sent" } else { "received" },
                    "account": e.account.to_checksum(None),
                    "counterparty": e.counterparty.to_checksum(None),
                    "asset": clean_line(&e.asset.symbol),
                    "amount": amount::format(e.amount, e.asset.decimals),
                    "status": e.status.as_str(),
                    "hash": e.hash.to_string(),
                })
            })
            .collect();
        let mut v = json!({"network": client.name, "activity": rows});
        if let Err(e) = synced {
            v["note"] = Value::String(format!(
                "not synced ({}); what was recorded before",
                line(e)
            ));
        }
        Ok(v)
    }

    fn vault_items(&self) -> Result<Value, String> {
        let items = crate::service::vault::list(self.store).map_err(line)?;
        Ok(Value::Array(
            items
                .iter()
                .map(|v| {
                    json!({
                        "id": v.item.id,
                        "title": clean_line(&v.item.title),
                        "bytes": v.item.text.len(),
                        "removed": v.preview.counts_by_key(),
                        "consent": v.consent.label(),
                    })
                })
                .collect(),
        ))
    }

    async fn market_listings(
        &self,
        query: Option<&str>,
        max_price: Option<&str>,
    ) -> Result<Value, String> {
        use crate::service::market as svc;
        let (client, book) = self.book().await?;
        let query = query
            .map(str::to_lowercase)
            .filter(|q| !q.trim().is_empty());
        let mut rows = Vec::new();
        for l in book.listings.values().filter(|l| l.active) {
            let meta = crate::market::meta::Meta::parse(&l.meta).ok();
            let (title, tags) = meta
                .as_ref()
                .map(|m| (m.title.clone(), m.tags.clone()))
                .unwrap_or_default();
            if let Some(q) = &query {
                let hay = format!("{title} {}", tags.join(" ")).to_lowercase();
                if !q.split_whitespace().any(|w| hay.contains(w)) {
                    continue;
                }
            }
            if let Some(max) = max_price {
                let Some(t) = svc::token_of(client, l.token) else {
                    continue;
                };
                let max = amount::parse(max, t.decimals).map_err(line)?;
                if l.price > max {
                    continue;
                }
            }
            let record = book.seller_record(l.seller);
            rows.push(json!({
                "listing": l.id,
                "price": svc::format_price(client, l.token, l.price),
                "seller": l.seller.to_checksum(None),
                "bytes": meta.as_ref().map(|m| m.bytes),
                "removed": meta.as_ref().map(|m| m.redactions.clone()),
                "sales": l.sales,
                "seller_deliveries": record.deliveries,
                "seller_keys_proven_wrong": record.proven_wrong,
                "untrusted": {
                    "title": clean_line(&title),
                    "tags": tags.iter().map(|t| clean_line(t).into_owned()).collect::<Vec<_>>(),
                },
            }));
        }
        Ok(json!({"listings": rows, "note": crate::bot::tools::UNTRUSTED_NOTE}))
    }

    async fn earnings(&self) -> Result<Value, String> {
        use crate::service::market as svc;
        let client = self.client()?;
        let market = svc::market_of(client).map_err(line)?;
        let confirmations = svc::default_confirmations(client);
        let e = svc::sync_earnings(client, self.store, market, self.own, confirmations)
            .await
            .map_err(line)?;
        Ok(svc::earnings_json(client, &e))
    }

    async fn my_listings(&self) -> Result<Value, String> {
        use crate::market::book::PurchaseState;
        use crate::service::market as svc;
        let (client, book) = self.book().await?;
        let rows: Vec<Value> = book
            .listings
            .values()
            .filter(|l| self.own.contains(&l.seller))
            .map(|l| {
                let waiting = book
                    .purchases
                    .values()
                    .filter(|p| p.listing == l.id && p.state == PurchaseState::Paid)
                    .count();
                json!({
                    "listing": l.id,
                    "title": clean_line(&title_of(&l.meta)),
                    "price": svc::format_price(client, l.token, l.price),
                    "sales": l.sales,
                    "listed": l.active,
                    "waiting_for_your_key": waiting,
                })
            })
            .collect();
        Ok(json!({"listings": rows}))
    }

    async fn my_purchases(&self) -> Result<Value, String> {
        use crate::market::book::PurchaseState;
        use crate::service::market as svc;
        let (client, book) = self.book().await?;
        let now = svc::chain_time(client).await.map_err(line)?;
        let rows: Vec<Value> = book
            .purchases
            .values()
            .filter(|p| self.own.contains(&p.buyer))
            .map(|p| {
                let state = match p.state {
                    PurchaseState::Paid if now > p.deadline => "not delivered: refundable",
                    PurchaseState::Paid => "waiting for the seller's key",
                    PurchaseState::Delivered => "delivered",
                    PurchaseState::Refunded => "refunded",
                };
                let title = book.listings.get(&p.listing).map(|l| title_of(&l.meta));
                json!({
                    "purchase": p.id,
                    "listing": p.listing,
                    "price": svc::format_price(client, p.token, p.price),
                    "state": state,
                    "untrusted": {"title": title.map(|t| clean_line(&t).into_owned())},
                })
            })
            .collect();
        Ok(json!({"purchases": rows, "note": crate::bot::tools::UNTRUSTED_NOTE}))
    }

    async fn networks(&self) -> Result<Value, String> {
        let Some(client) = self.client else {
            return Ok(json!({"active": null, "note": "no network is configured"}));
        };
        let tokens: Vec<Value> = client
            .network
            .tokens
            .iter()
            .map(|t| json!({"symbol": clean_line(&t.symbol), "address": t.address.to_checksum(None), "decimals": t.decimals}))
            .collect();
        // What the node says a transaction costs now (the node's word: a send's own review
        // checks its fee again).
        let fees = async {
            use alloy::providers::Provider;
            client.provider().estimate_eip1559_fees().await
        }
        .await;
        let fees = match fees {
            Ok(f) => json!({
                "max_fee_gwei": amount::format_gwei(f.max_fee_per_gas),
                "tip_gwei": amount::format_gwei(f.max_priority_fee_per_gas),
                "eth_transfer_at_most_eth": amount::format(
                    alloy::primitives::U256::from(f.max_fee_per_gas)
                        .saturating_mul(alloy::primitives::U256::from(21_000u64)),
                    18
                ),
            }),
            Err(e) => json!({"error": line(client.error(e))}),
        };
        Ok(json!({
            "active": client.name,
            "chain_id": client.network.chain_id,
            "market": client.network.market.map(|m| m.to_checksum(None)),
            "tokens": tokens,
            "fees": fees,
        }))
    }
}

/// The request a transfer proposal becomes, from `from`: its token one of the network's,
/// its amount read in the token's decimals and within the user's caps (`bot.transfer_caps`,
/// per symbol). A proposal over its cap is refused here, before any review: a model in a loop
/// does not open review after review.
pub fn transfer_request(
    proposal: &Proposal,
    tokens: &[Token],
    from: Address,
    caps: &[(String, String)],
) -> Result<SendRequest, String> {
    let Proposal::Transfer {
        to,
        amount: value,
        token,
    } = proposal
    else {
        return Err("not a transfer".into());
    };
    let to = safety::parse_address(to).map_err(line)?;
    let asset = match token {
        None => Asset::Eth,
        Some(key) => Asset::Token(
            crate::chain::network::find_token(tokens, key)
                .cloned()
                .ok_or_else(|| format!("no token {:?} on this network", clean_line(key)))?,
        ),
    };
    let units = amount::parse(value, asset.decimals()).map_err(line)?;
    let symbol = token.as_deref().unwrap_or("ETH");
    if let Some((cap, name)) = caps.iter().find(|(_, s)| s.eq_ignore_ascii_case(symbol))
        && amount::parse(cap, asset.decimals()).is_ok_and(|cap| units > cap)
    {
        return Err(format!(
            "over the cap of {cap} {name} the user set for proposals (bot.transfer_caps): not proposed"
        ));
    }
    Ok(SendRequest {
        from,
        to,
        asset,
        amount: units,
    })
}
