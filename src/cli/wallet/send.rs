//! `keybot wallet balance | send | sign-tx | activity`: the wallet's on-chain commands.
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Result, bail};
use clap::Args;
use keybot_keystore::AccountRef;

use super::Status;
use crate::chain::send::{Asset, SendRequest};
use crate::chain::{self, ChainConfig, Client, activity, amount, balance, safety, txfile};
use crate::cli::common::{
    confirm, connect, parse_account, progress, read_text, report, show_review, unlock,
};
use crate::cli::input;
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::service::tx;

#[derive(Debug, Args)]
pub struct BalanceArgs {
    #[arg(long, value_name = "ACCOUNT")]
    account: Option<String>,
    #[arg(long)]
    network: Option<String>,
    #[arg(long)]
    json: bool,
}

impl BalanceArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let config = ChainConfig::load(paths)?;
        // With nothing configured this is an error that says "offline", before any socket and
        // before the password.
        let client = connect(&config, self.network.as_deref())?;
        let wallet = unlock(paths, pw_file)?;
        let addresses = match &self.account {
            Some(a) => vec![wallet.address(parse_account(&wallet, a)?)?],
            None => vec![wallet.address(AccountRef::Hd(0))?],
        };
        let rows = chain::runtime()?.block_on(balance::balances(&client, &addresses))?;
        if self.json {
            print_balances_json(&client, &rows)?;
        } else {
            print_balances(&client, rows);
        }
        Ok(0)
    }
}

fn print_balances_json(client: &Client, rows: &[balance::AccountBalance]) -> Result<()> {
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
    Ok(())
}

fn print_balances(client: &Client, rows: Vec<balance::AccountBalance>) {
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

#[derive(Debug, Args)]
pub struct SendArgs {
    #[arg(long, value_name = "ADDRESS")]
    to: String,
    /// An exact decimal amount in the asset's units (e.g. 1.5).
    #[arg(long, value_name = "AMOUNT")]
    value: String,
    /// A configured token, by symbol or address (default: ETH).
    #[arg(long, value_name = "SYMBOL|ADDRESS")]
    token: Option<String>,
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    #[arg(long)]
    network: Option<String>,
    /// Confirm without a prompt.
    #[arg(long)]
    yes: bool,
    /// With --yes: also accept loud warnings (a look-alike address, the token contract).
    #[arg(long)]
    accept_warnings: bool,
    /// Seconds to wait for the receipt.
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

impl SendArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        // Everything the user typed is checked before the password is asked for.
        let to = safety::parse_address(&self.to)?;
        let config = ChainConfig::load(paths)?;
        let client = connect(&config, self.network.as_deref())?;
        let asset = self.asset(&client)?;
        let units = amount::parse(&self.value, asset.decimals())?;
        if !self.yes && !input::stdin_is_tty() {
            bail!("refusing to send without confirmation: pass --yes");
        }
        let wallet = unlock(paths, pw_file)?;
        let account = parse_account(&wallet, &self.account)?;
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
        confirm(&review, self.yes, self.accept_warnings, "Sign and send")?;
        let record = tx::sign(&wallet, account, &review)?;
        drop(wallet);
        let outcome = rt.block_on(tx::broadcast(
            &client,
            Some(&store),
            &record,
            Duration::from_secs(self.wait),
            &mut progress,
        ))?;
        report(record.hash, &outcome)
    }

    /// ETH, or the configured token `--token` names.
    fn asset(&self, client: &Client) -> Result<Asset> {
        Ok(match self.token.as_deref() {
            None => Asset::Eth,
            Some(key) if key.eq_ignore_ascii_case("ETH") => Asset::Eth,
            Some(key) => Asset::Token(client.network.token(key).cloned().ok_or_else(|| {
                anyhow::anyhow!(
                    "no token {key:?} on network {} (add it with `keybot token add ADDRESS`)",
                    client.name
                )
            })?),
        })
    }
}

#[derive(Debug, Args)]
pub struct SignTxArgs {
    file: PathBuf,
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    /// Confirm without a prompt.
    #[arg(long)]
    yes: bool,
}

impl SignTxArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let json = read_text(&self.file)?;
        // A token's symbol and decimals come from this machine's config, never from the file.
        let config = ChainConfig::load(paths)?;
        // Check the file before asking for the password (the sender is filled in after unlock).
        txfile::parse(&json, Address::ZERO, &config)?;
        if !self.yes && !input::stdin_is_tty() {
            bail!("refusing to sign without confirmation: pass --yes");
        }
        let wallet = unlock(paths, pw_file)?;
        let account: AccountRef = parse_account(&wallet, &self.account)?;
        let review = txfile::parse(&json, wallet.address(account)?, &config)?;
        show_review(&review);
        confirm(&review, self.yes, true, "Sign")?;
        let signed = wallet.sign_transaction(account, review.unsigned())?;
        eprintln!("hash {}", signed.hash);
        println!("{}", signed.raw);
        Ok(0)
    }
}

#[derive(Debug, Args)]
pub struct ActivityArgs {
    #[arg(long)]
    network: Option<String>,
    #[arg(long)]
    json: bool,
}

impl ActivityArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let config = ChainConfig::load(paths)?;
        let client = connect(&config, self.network.as_deref())?;
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
        if self.json {
            print_activity_json(&list)?;
        } else {
            print_activity(&client, &list);
        }
        Ok(if synced.is_ok() { 0 } else { 1 })
    }
}

fn print_activity_json(list: &[activity::Entry]) -> Result<()> {
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
    Ok(())
}

fn print_activity(client: &Client, list: &[activity::Entry]) {
    if list.is_empty() {
        println!("no activity on {}", client.name);
    }
    for e in list {
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
