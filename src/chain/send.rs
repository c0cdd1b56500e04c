//! Sending a transaction (an [`Intent`]: ETH, a token, or a contract call): prepare a review of
//! exactly what will be signed, sign it in the keystore, record it, broadcast it once, and
//! follow it to a receipt. The steps in order, for the command line and the app alike, are in
//! `crate::service::tx`.
//!
//! The order matters for safety. Every check (chain id, balances, a dry run of the call) happens
//! before signing. The signed bytes are written to the store before the broadcast, so if the RPC
//! dies at any point keybot knows what went out and later looks it up or re-sends those same
//! bytes: never a second transaction with a new nonce.
use std::time::{Duration, Instant};

use alloy::consensus::TxEip1559;
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Log, TransactionRequest};
use keybot_keystore::tx::{SignedTx, UnsignedTx};

use super::amount;
use super::client::{ChainError, ChainResult, Client, Refusal};
use super::intent::Intent;
use super::network::Token;
use super::safety::{self, Warning};
use super::token;
use crate::store::{AssetRef, Counterparties, SentTx, Store, TxStatus};

/// What is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asset {
    Eth,
    Token(Token),
    /// A token this machine's config does not list (a transaction file for another machine's
    /// token): its decimals and symbol are unknown, so amounts are shown in base units.
    Unlisted(Address),
}

impl Asset {
    pub fn symbol(&self) -> &str {
        match self {
            Asset::Eth => "ETH",
            Asset::Token(t) => &t.symbol,
            Asset::Unlisted(_) => "base units",
        }
    }

    pub fn decimals(&self) -> u8 {
        match self {
            Asset::Eth => 18,
            Asset::Token(t) => t.decimals,
            Asset::Unlisted(_) => 0,
        }
    }

    pub fn token_address(&self) -> Option<Address> {
        match self {
            Asset::Eth => None,
            Asset::Token(t) => Some(t.address),
            Asset::Unlisted(a) => Some(*a),
        }
    }

    pub fn asset_ref(&self) -> AssetRef {
        AssetRef {
            token: self.token_address(),
            symbol: self.symbol().to_owned(),
            decimals: self.decimals(),
        }
    }

    pub fn format(&self, units: U256) -> String {
        if let Asset::Unlisted(_) = self {
            return format!(
                "{units} base units (token not in this machine's config: decimals unknown)"
            );
        }
        format!(
            "{} {}",
            amount::format(units, self.decimals()),
            self.symbol()
        )
    }
}

/// A transfer the user asked for (the [`Intent::Transfer`] of ETH or a token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub from: Address,
    pub to: Address,
    pub asset: Asset,
    /// In the asset's base units.
    pub amount: U256,
}

impl SendRequest {
    /// The transaction's `to`, `value` and `input`: for a token, a call to the token contract.
    pub fn call(&self) -> (Address, U256, Bytes) {
        match &self.asset {
            Asset::Eth => (self.to, self.amount, Bytes::new()),
            Asset::Token(Token { address, .. }) | Asset::Unlisted(address) => (
                *address,
                U256::ZERO,
                token::transfer_data(self.to, self.amount),
            ),
        }
    }
}

/// Everything the user confirms, and exactly what gets signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub network: String,
    pub chain_id: u64,
    pub intent: Intent,
    pub nonce: u64,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub eth_balance: U256,
    pub warnings: Vec<Warning>,
}

impl Review {
    /// Marks the review as the user's model's proposal: that goes first, and before it, loudly,
    /// that the user never typed what it pays (`from_user` false), which asks for the address's
    /// characters as a look-alike does.
    pub fn mark_proposed_by_model(&mut self, from_user: bool) {
        self.warnings
            .insert(0, crate::chain::safety::Warning::ProposedByModel);
        if !from_user {
            self.warnings
                .insert(0, crate::chain::safety::Warning::NotTypedByUser);
        }
    }

    /// The transaction to sign (EIP-1559).
    pub fn unsigned(&self) -> UnsignedTx {
        let (to, value, input) = self.intent.call();
        UnsignedTx::Eip1559(TxEip1559 {
            chain_id: self.chain_id,
            nonce: self.nonce,
            gas_limit: self.gas_limit,
            max_fee_per_gas: self.max_fee_per_gas,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas,
            to,
            value,
            access_list: Default::default(),
            input,
        })
    }

    /// The most the fee can cost: gas limit × max fee per gas. A u64 times a u128 is below
    /// 2^192 and cannot overflow a U256; saturating all the same, never wrapping.
    pub fn max_fee(&self) -> U256 {
        U256::from(self.gas_limit).saturating_mul(U256::from(self.max_fee_per_gas))
    }

    /// What the user types to confirm a loud warning (the same on the command line and in
    /// the app).
    pub fn challenge(&self) -> safety::Challenge {
        // A look-alike among a call's address arguments (a poisoned spender) is where the
        // characters are asked for.
        for w in &self.warnings {
            if let Warning::ArgumentLooksLike { address, known, .. } = w {
                return safety::challenge(*address, &[Warning::LooksLike(*known)]);
            }
        }
        safety::challenge(self.intent.counterparty(), &self.warnings)
    }

    /// A warning in words (the address it is about is the intent's counterparty).
    pub fn warning(&self, w: &Warning) -> String {
        match (w, &self.intent) {
            // A market step the model proposed: what the user never typed is its listing or
            // its price, not the market contract's address.
            (Warning::NotTypedByUser, Intent::Call(_)) => {
                "DANGER: proposed by the model, from text you did not write: you never typed \
                 this listing or this price in this conversation. Compare every value with what \
                 you meant."
                    .to_owned()
            }
            _ => w.message(self.intent.counterparty()),
        }
    }

    /// The review as label/value lines, the same on the command line and in the app: the
    /// network, the sender, what the intent does, then nonce and fees.
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut lines = vec![
            (
                "network".to_owned(),
                format!("{} (chain id {})", self.network, self.chain_id),
            ),
            ("from".into(), self.intent.from().to_checksum(None)),
        ];
        lines.extend(self.intent.lines());
        lines.extend([
            ("nonce".into(), self.nonce.to_string()),
            ("gas limit".into(), self.gas_limit.to_string()),
            (
                "max fee".into(),
                format!(
                    "{} gwei/gas (tip {} gwei)",
                    amount::format_gwei(self.max_fee_per_gas),
                    amount::format_gwei(self.max_priority_fee_per_gas)
                ),
            ),
            (
                "fee cap".into(),
                format!("{} ETH", amount::format(self.max_fee(), 18)),
            ),
        ]);
        lines
    }

    /// The worst the network fee can cost, in words, beside the sentence of what moves.
    pub fn fee_sentence(&self) -> String {
        format!(
            "The network fee is at most {} ETH.",
            amount::format(self.max_fee(), 18)
        )
    }

    pub fn has_loud_warning(&self) -> bool {
        self.warnings.iter().any(Warning::is_loud)
    }
}

fn insufficient(what: &str, need: String, have: String) -> ChainError {
    // A token's symbol comes from config.toml: cleaned before it reaches any terminal.
    let clean = |s: &str| crate::sanitize::clean_line(s).into_owned();
    ChainError::Insufficient {
        what: clean(what),
        need: Some(clean(&need)),
        have: Some(clean(&have)),
    }
}

/// Checks the chain, the balances and a dry run of the call, estimates EIP-1559 fees and picks
/// the nonce. Nothing is signed. A transfer or a contract call alike (`crate::service::tx`
/// reconciles earlier sends first).
pub async fn prepare(
    client: &Client,
    intent: impl Into<Intent>,
    known: &Counterparties,
    own: &[Address],
) -> ChainResult<Review> {
    let intent = intent.into();
    let chain_id = client.check_chain().await?;
    let p = client.provider();
    let err = |e| client.error(e);
    let from = intent.from();
    if let Intent::Transfer(r) = &intent
        && r.amount.is_zero()
    {
        return Err(Refusal::ZeroAmount.into());
    }
    let eth_balance = p.get_balance(from).await.map_err(err)?;
    if let Intent::Transfer(request) = &intent {
        if let Some(t) = request.asset.token_address() {
            let held = token::balance_of(client, t, from).await?;
            if held < request.amount {
                return Err(insufficient(
                    request.asset.symbol(),
                    request.asset.format(request.amount),
                    request.asset.format(held),
                ));
            }
        } else if eth_balance < request.amount {
            return Err(insufficient(
                "ETH",
                Asset::Eth.format(request.amount),
                Asset::Eth.format(eth_balance),
            ));
        }
    }
    let nonce = p.get_transaction_count(from).pending().await.map_err(err)?;
    // Fees come from the node and are not trusted: the tip may not exceed the cap, and a cap far
    // above the latest block's base fee (as the node reports it) is a loud warning below.
    let fees = p.estimate_eip1559_fees().await.map_err(err)?;
    let base_fee = p
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .map_err(err)?
        .and_then(|b| b.header.base_fee_per_gas)
        .map(u128::from);
    let (to, value, input) = intent.call();
    let mut dry_run = TransactionRequest::default()
        .from(from)
        .value(value)
        .input(input.into());
    dry_run.to = Some(to);
    // A revert is decoded with the contract's own errors where the intent knows them.
    let gas = p
        .estimate_gas(dry_run)
        .await
        .map_err(|e| client.call_error(e, &intent.errors()))?;
    // A contract call's cost can change between the estimate and inclusion (a first token
    // transfer to an address writes a new storage slot); leave headroom. A plain transfer to an
    // account costs exactly 21000.
    let gas_limit = if gas <= 21_000 { gas } else { gas + gas / 5 };
    let need = check_fees(
        gas_limit,
        fees.max_fee_per_gas,
        fees.max_priority_fee_per_gas,
        value,
    )?;
    let mut warnings = match &intent {
        Intent::Transfer(r) => safety::check_recipient(r.to, known, own, r.asset.token_address()),
        Intent::Call(c) => safety::check_call(c.contract, &c.address_args(), known, own),
        // keybot's own contract from its committed artifact: no counterparty to check.
        Intent::Deploy(_) => vec![],
    };
    warnings.extend(safety::check_fee(
        fees.max_fee_per_gas,
        base_fee,
        need.fee_cap,
        value,
    ));
    let review = Review {
        network: client.name.clone(),
        chain_id,
        warnings,
        intent,
        nonce,
        gas_limit,
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        eth_balance,
    };
    let need = need.total;
    if eth_balance < need {
        return Err(insufficient(
            "ETH for the fee",
            format!("{} (value + fee cap)", Asset::Eth.format(need)),
            Asset::Eth.format(eth_balance),
        ));
    }
    Ok(review)
}

/// The ETH a transaction can take: its fee cap, and value + fee cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub fee_cap: U256,
    pub total: U256,
}

/// Checks a fee proposal from the node with checked arithmetic: the tip may not exceed the
/// cap, and no sum may overflow (a hostile node's numbers must not wrap into small ones).
pub fn check_fees(
    gas_limit: u64,
    max_fee_per_gas: u128,
    max_priority_fee_per_gas: u128,
    value: U256,
) -> ChainResult<Need> {
    if max_priority_fee_per_gas > max_fee_per_gas {
        return Err(Refusal::TipAboveCap {
            tip: max_priority_fee_per_gas,
            cap: max_fee_per_gas,
        }
        .into());
    }
    let overflow = || ChainError::Refused(Refusal::TooLarge);
    let fee_cap = U256::from(gas_limit)
        .checked_mul(U256::from(max_fee_per_gas))
        .ok_or_else(overflow)?;
    let total = value.checked_add(fee_cap).ok_or_else(overflow)?;
    Ok(Need { fee_cap, total })
}

/// How a broadcast ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Confirmed {
        block: u64,
    },
    Reverted {
        block: u64,
    },
    /// Not included before the wait ran out; still pending.
    StillPending,
    /// The RPC went away after the bytes were handed over (or while waiting). The transaction
    /// is recorded and is looked up, never signed again, when the RPC answers.
    RpcLost {
        reason: String,
    },
}

/// Progress while a transaction is on its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Broadcast(B256),
    Waiting { seconds: u64 },
}

/// The row written before broadcasting: the signed bytes and what they were signed for.
pub fn sent_record(review: &Review, signed: &SignedTx) -> SentTx {
    let (to, asset, amount, call) = review.intent.record(signed.nonce);
    SentTx {
        hash: signed.hash,
        chain_id: signed.chain_id,
        from: signed.from,
        to,
        asset,
        amount,
        call,
        nonce: signed.nonce,
        raw: signed.raw.to_vec(),
        status: TxStatus::Signed,
        block: None,
        error: None,
        created_at: 0,
    }
}

/// Records, broadcasts once and waits up to `wait` for the receipt.
pub async fn broadcast(
    client: &Client,
    store: &Store,
    record: &SentTx,
    wait: Duration,
    progress: &mut dyn FnMut(Progress),
) -> ChainResult<Outcome> {
    Ok(broadcast_with_logs(client, store, record, wait, progress)
        .await?
        .0)
}

/// [`broadcast`], with the confirmed receipt's logs (none otherwise): what the transaction did,
/// read from the receipt it waited for instead of asking the node for it again.
pub async fn broadcast_with_logs(
    client: &Client,
    store: &Store,
    record: &SentTx,
    wait: Duration,
    progress: &mut dyn FnMut(Progress),
) -> ChainResult<(Outcome, Vec<Log>)> {
    if record.chain_id != client.network.chain_id {
        return Err(ChainError::WrongChain {
            network: client.name.clone(),
            expected: client.network.chain_id,
            got: record.chain_id,
        });
    }
    store.record_sent(record)?;
    tracing::info!(hash = %record.hash, chain_id = record.chain_id, nonce = record.nonce, "broadcasting");
    match send_raw(client, &record.raw).await {
        Ok(()) => store.set_sent_status(record.hash, TxStatus::Pending, None, None)?,
        Err(e) if e.is_offline() => {
            let reason = e.to_string();
            return Ok((Outcome::RpcLost { reason }, Vec::new()));
        }
        Err(e) => {
            store.set_sent_status(record.hash, TxStatus::Failed, None, Some(&e.to_string()))?;
            return Err(e);
        }
    }
    progress(Progress::Broadcast(record.hash));
    let (outcome, logs) = wait_with_logs(client, record.hash, wait, progress).await;
    match &outcome {
        Outcome::Confirmed { block } => {
            store.set_sent_status(record.hash, TxStatus::Confirmed, Some(*block), None)?
        }
        Outcome::Reverted { block } => store.set_sent_status(
            record.hash,
            TxStatus::Reverted,
            Some(*block),
            Some("reverted on chain"),
        )?,
        Outcome::StillPending | Outcome::RpcLost { .. } => {}
    }
    Ok((outcome, logs))
}

/// `eth_sendRawTransaction`. A node that already has these bytes says so in its own words;
/// that is success (the same hash, nothing new was sent).
pub async fn send_raw(client: &Client, raw: &[u8]) -> ChainResult<()> {
    match client.provider().send_raw_transaction(raw).await {
        Ok(_) => Ok(()),
        Err(e) => match client.error(e) {
            ChainError::Node(m) if already_has(&m) => Ok(()),
            other => Err(other),
        },
    }
}

/// Whether a node's refusal means it already holds these exact bytes. Nodes word it
/// differently: geth "already known", anvil and reth "transaction already imported".
fn already_has(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already known") || m.contains("already imported")
}

/// Polls for the receipt until `wait` runs out.
pub async fn wait_for_receipt(
    client: &Client,
    hash: B256,
    wait: Duration,
    progress: &mut dyn FnMut(Progress),
) -> Outcome {
    wait_with_logs(client, hash, wait, progress).await.0
}

/// [`wait_for_receipt`], with the logs of a confirmed receipt.
async fn wait_with_logs(
    client: &Client,
    hash: B256,
    wait: Duration,
    progress: &mut dyn FnMut(Progress),
) -> (Outcome, Vec<Log>) {
    let start = Instant::now();
    let mut last_report = 0;
    loop {
        match client.provider().get_transaction_receipt(hash).await {
            Ok(Some(r)) => {
                let block = r.block_number.unwrap_or_default();
                return if r.status() {
                    (Outcome::Confirmed { block }, r.inner.logs().to_vec())
                } else {
                    (Outcome::Reverted { block }, Vec::new())
                };
            }
            Ok(None) => {}
            Err(e) => {
                let e = client.error(e);
                if e.is_offline() {
                    let reason = e.to_string();
                    return (Outcome::RpcLost { reason }, Vec::new());
                }
            }
        }
        let elapsed = start.elapsed();
        if elapsed >= wait {
            return (Outcome::StillPending, Vec::new());
        }
        if elapsed.as_secs() > last_report {
            last_report = elapsed.as_secs();
            progress(Progress::Waiting {
                seconds: last_report,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Looks up every transaction this wallet sent that the chain has not decided yet: confirmed,
/// reverted, still pending, or replaced. One the node has never seen, whose nonce is still
/// free, is re-sent as the same bytes.
///
/// The node's chain id is checked first: on another chain every hash looks unknown, and a
/// re-send there would be refused and the transaction wrongly marked failed or dropped.
pub async fn reconcile(client: &Client, store: &Store) -> ChainResult<()> {
    let open = store.open_sent_txs(client.network.chain_id)?;
    if open.is_empty() {
        return Ok(());
    }
    client.check_chain().await?;
    let p = client.provider();
    let err = |e| client.error(e);
    for tx in open {
        if let Some(r) = p.get_transaction_receipt(tx.hash).await.map_err(err)? {
            let status = if r.status() {
                TxStatus::Confirmed
            } else {
                TxStatus::Reverted
            };
            store.set_sent_status(tx.hash, status, r.block_number, None)?;
        } else if p
            .get_transaction_by_hash(tx.hash)
            .await
            .map_err(err)?
            .is_some()
        {
            store.set_sent_status(tx.hash, TxStatus::Pending, None, None)?;
        } else if p.get_transaction_count(tx.from).await.map_err(err)? > tx.nonce {
            store.set_sent_status(
                tx.hash,
                TxStatus::Dropped,
                None,
                Some("its nonce was used by another transaction"),
            )?;
        } else {
            match send_raw(client, &tx.raw).await {
                Ok(()) => store.set_sent_status(tx.hash, TxStatus::Pending, None, None)?,
                Err(e) if e.is_offline() => return Err(e),
                Err(e) => {
                    store.set_sent_status(tx.hash, TxStatus::Failed, None, Some(&e.to_string()))?
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_spender_is_loud_and_its_characters_are_asked_for() {
        let real: Address = "0x123400000000000000000000000000000000abcd"
            .parse()
            .unwrap();
        let fake: Address = "0x1234ffffffffffffffffffffffffffffffffabcd"
            .parse()
            .unwrap();
        let tusd = Token {
            symbol: "tUSD".into(),
            address: Address::repeat_byte(0x11),
            decimals: 6,
        };
        let call = token::approve(Address::repeat_byte(1), &tusd, fake, U256::from(1u64));
        let known = Counterparties {
            sent_to: vec![real],
            received_from: vec![],
        };
        let warnings = safety::check_call(call.contract, &call.address_args(), &known, &[]);
        assert_eq!(
            warnings,
            vec![Warning::ArgumentLooksLike {
                name: "spender".into(),
                address: fake,
                known: real
            }]
        );
        let review = Review {
            network: "local".into(),
            chain_id: 31337,
            intent: call.into(),
            nonce: 0,
            gas_limit: 50_000,
            max_fee_per_gas: 2,
            max_priority_fee_per_gas: 1,
            eth_balance: U256::ZERO,
            warnings,
        };
        assert!(review.has_loud_warning());
        let c = review.challenge();
        assert_eq!(c.after, "0x1234");
        assert!(c.accepts("ffff") && !c.accepts("0000"));
        let w = review.warning(&review.warnings[0]);
        assert!(w.contains("spender") && w.contains("poisoning"), "{w}");
        // A market call the model proposed with a listing or price the user never typed says
        // that, not that they never typed the contract's address.
        let mut model_made = review.clone();
        model_made.mark_proposed_by_model(false);
        let w = model_made.warning(&model_made.warnings[0]);
        assert!(
            w.contains("this listing or this price") && !w.contains("0x"),
            "{w}"
        );
        assert!(model_made.has_loud_warning());
        // The lines: the call between the sender and the fees.
        let labels: Vec<String> = review.lines().into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels,
            [
                "network",
                "from",
                "contract",
                "function",
                "· spender",
                "· value",
                "value",
                "data",
                "nonce",
                "gas limit",
                "max fee",
                "fee cap"
            ]
        );
    }

    #[test]
    fn fee_arithmetic_is_checked() {
        let need = check_fees(21_000, 10, 1, U256::from(5u64)).unwrap();
        assert_eq!(need.fee_cap, U256::from(210_000u64));
        assert_eq!(need.total, U256::from(210_005u64));
        // A tip above the cap is refused, not signed.
        let e = check_fees(21_000, 1, 2, U256::ZERO)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tip") && e.contains("nothing was signed"), "{e}");
        // value + fee overflowing is a clear error, never a wrapped small number.
        let e = check_fees(21_000, u128::MAX, 0, U256::MAX)
            .unwrap_err()
            .to_string();
        assert!(e.contains("too large"), "{e}");
    }
}
