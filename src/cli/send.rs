//! `keybot wallet balance | send | sign-tx | activity`: the wallet's on-chain commands.
use std::path::Path;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Result, bail};
use keybot_keystore::AccountRef;

use super::common::{
    confirm, connect, parse_account, progress, read_text, report, show_review, unlock,
};
use super::input;
use crate::chain::send::{Asset, SendRequest};
use crate::chain::{self, ChainConfig, activity, amount, balance, safety, txfile};
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::service::tx;

pub fn balance(
    paths: &Paths,
    pw_file: Option<&Path>,
    account: Option<&str>,
    network: Option<&str>,
    json: bool,
) -> Result<u8> {
    let config = ChainConfig::load(paths)?;
    // With nothing configured this is an error that says "offline", before any socket and
    // before the password.
    let client = connect(&config, network)?;
    let wallet = unlock(paths, pw_file)?;
    let addresses = match account {
        Some(a) => vec![wallet.address(parse_account(&wallet, a)?)?],
        None => vec![wallet.address(AccountRef::Hd(0))?],
    };
    let rows = chain::runtime()?.block_on(balance::balances(&client, &addresses))?;
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                let mut tokens = serde_json::Map::new();
                for (t, units) in &r.tokens {
                    tokens.insert(
                        clean_line(&t.symbol).into_owned(),
                        serde_json::json!({"address": t.address.to_checksum(None), "decimals": t.decimals, "units": units.to_string(), "amount": amount::format(*units, t.decimals)}),
                    );
                }
                serde_json::json!({
                    "network": client.name, "chain_id": client.network.chain_id,
                    "address": r.address.to_checksum(None),
                    "eth": amount::format(r.eth, 18), "wei": r.eth.to_string(),
                    "tokens": tokens,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{} (chain id {})", client.name, client.network.chain_id);
        for r in rows {
            println!("{}", r.address.to_checksum(None));
            println!("  {:>28} ETH", amount::format(r.eth, 18));
            for (t, units) in r.tokens {
                println!(
                    "  {:>28} {}",
                    amount::format(units, t.decimals),
                    clean_line(&t.symbol)
                );
            }
        }
    }
    Ok(0)
}

pub struct SendArgs<'a> {
    pub to: &'a str,
    pub value: &'a str,
    pub token: Option<&'a str>,
    pub account: &'a str,
    pub network: Option<&'a str>,
    pub yes: bool,
    pub accept_warnings: bool,
    pub wait: u64,
}

pub fn send(paths: &Paths, pw_file: Option<&Path>, a: SendArgs<'_>) -> Result<u8> {
    // Everything the user typed is checked before the password is asked for.
    let to = safety::parse_address(a.to)?;
    let config = ChainConfig::load(paths)?;
    let client = connect(&config, a.network)?;
    let asset = match a.token {
        None => Asset::Eth,
        Some(key) if key.eq_ignore_ascii_case("ETH") => Asset::Eth,
        Some(key) => Asset::Token(client.network.token(key).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "no token {key:?} on network {} (add it with `keybot token add ADDRESS`)",
                client.name
            )
        })?),
    };
    let units = amount::parse(a.value, asset.decimals())?;
    if !a.yes && !input::stdin_is_tty() {
        bail!("refusing to send without confirmation: pass --yes");
    }
    let wallet = unlock(paths, pw_file)?;
    let account = parse_account(&wallet, a.account)?;
    let from = wallet.address(account)?;
    let store = crate::service::wallet::open_store(paths, &wallet)?;
    let own = activity::own_addresses(&wallet, Some(&store))?;
    let rt = chain::runtime()?;
    let request = SendRequest {
        from,
        to,
        asset,
        amount: units,
    };
    let review = rt.block_on(tx::prepare(&client, Some(&store), request, &own))?;
    show_review(&review);
    confirm(&review, a.yes, a.accept_warnings, "Sign and send")?;
    let record = tx::sign(&wallet, account, &review)?;
    drop(wallet);
    let outcome = rt.block_on(tx::broadcast(
        &client,
        Some(&store),
        &record,
        Duration::from_secs(a.wait),
        &mut progress,
    ))?;
    report(record.hash, &outcome)
}

pub fn sign_tx(
    paths: &Paths,
    pw_file: Option<&Path>,
    file: &Path,
    account: &str,
    yes: bool,
) -> Result<u8> {
    let json = read_text(file)?;
    // A token's symbol and decimals come from this machine's config, never from the file.
    let config = ChainConfig::load(paths)?;
    // Check the file before asking for the password (the sender is filled in after unlock).
    txfile::parse(&json, Address::ZERO, &config)?;
    if !yes && !input::stdin_is_tty() {
        bail!("refusing to sign without confirmation: pass --yes");
    }
    let wallet = unlock(paths, pw_file)?;
    let account: AccountRef = parse_account(&wallet, account)?;
    let review = txfile::parse(&json, wallet.address(account)?, &config)?;
    show_review(&review);
    confirm(&review, yes, true, "Sign")?;
    let signed = wallet.sign_transaction(account, review.unsigned())?;
    eprintln!("hash {}", signed.hash);
    println!("{}", signed.raw);
    Ok(0)
}

pub fn activity(
    paths: &Paths,
    pw_file: Option<&Path>,
    network: Option<&str>,
    json: bool,
) -> Result<u8> {
    let config = ChainConfig::load(paths)?;
    let client = connect(&config, network)?;
    let wallet = unlock(paths, pw_file)?;
    let store = crate::service::wallet::open_store(paths, &wallet)?;
    let own = activity::own_addresses(&wallet, Some(&store))?;
    drop(wallet);
    let chain_id = client.network.chain_id;
    let synced = chain::runtime()?.block_on(activity::sync(&client, &store, &own));
    if let Err(e) = &synced {
        // Offline: show what is known, say so.
        eprintln!("{e:#}; showing what was recorded before");
    }
    let list = activity::entries(
        &store.sent_txs(chain_id)?,
        &store.transfers(chain_id)?,
        &own,
    );
    if json {
        let v: Vec<_> = list
            .iter()
            .map(|e| {
                serde_json::json!({
                    "hash": e.hash.to_string(), "direction": if e.outgoing {"out"} else {"in"},
                    "account": e.account.to_checksum(None),
                    "counterparty": e.counterparty.to_checksum(None),
                    "symbol": clean_line(&e.asset.symbol), "amount": amount::format(e.amount, e.asset.decimals),
                    "status": e.status.as_str(), "block": e.block,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if list.is_empty() {
            println!("no activity on {}", client.name);
        }
        for e in &list {
            println!(
                "{:<9} {:>4} {:>22} {:<6} {} {}  {}",
                e.status.as_str(),
                if e.outgoing { "sent" } else { "recv" },
                amount::format(e.amount, e.asset.decimals),
                clean_line(&e.asset.symbol),
                if e.outgoing { "to  " } else { "from" },
                e.counterparty.to_checksum(None),
                e.block.map_or("-".into(), |b| format!("block {b}")),
            );
        }
    }
    Ok(if synced.is_ok() { 0 } else { 1 })
}
