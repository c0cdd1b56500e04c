//! `keybot chain …` (networks, the dev chain, broadcasting) and `keybot token …`.
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use super::common::{connect, progress, report, unlock};
use super::input;
use crate::chain::send;
use crate::chain::{self, ChainConfig, Client, Network, dev, network, safety, token, txfile};
use crate::config::Paths;
use crate::sanitize::clean_line;

#[derive(Debug, Args)]
pub struct ChainArgs {
    #[command(subcommand)]
    command: ChainCommand,
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// Start a local dev chain (anvil), deploy the test token tUSD and the data market, fund
    /// your first accounts and configure it as the network `local`. Runs until Ctrl-C.
    Dev(DevArgs),
    /// Add a network: reads its chain id from the RPC and asks to confirm.
    Add(AddNetworkArgs),
    /// List the configured networks and their tokens.
    List(ListNetworksArgs),
    /// Make NAME the network commands use.
    Use(UseNetworkArgs),
    /// Send a raw signed transaction (from `keybot wallet sign-tx`): shows what it does,
    /// checks its chain id, sends it and waits for the receipt. Sending the same bytes twice is
    /// harmless: it is one transaction.
    Broadcast(BroadcastArgs),
}

impl ChainArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        match self.command {
            ChainCommand::Dev(a) => a.run(paths),
            ChainCommand::Add(a) => a.run(paths),
            ChainCommand::List(a) => a.run(paths),
            ChainCommand::Use(a) => a.run(paths),
            ChainCommand::Broadcast(a) => a.run(paths),
        }
    }
}

#[derive(Debug, Args)]
struct DevArgs {
    /// The local port for the chain's RPC (0: a free port; the RPC line says which).
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// How many of the wallet's first accounts to fund (0 to fund none).
    #[arg(long, default_value_t = 2)]
    accounts: u32,
    /// Also fund this address (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    fund: Vec<String>,
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

impl DevArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let fund = self.addresses_to_fund(paths)?;
        let rt = chain::runtime()?;
        rt.block_on(async {
            let mut node = dev::start(self.port).await?;
            let client = Client::new("local", &dev::network(&node.rpc, vec![]))?;
            let tusd = dev::deploy(&client).await?;
            // Right after tUSD, so both addresses stay the same on every fresh dev chain.
            let market = dev::deploy_market(&client, &[tusd.address]).await?;
            for a in &fund {
                dev::fund(&client, &tusd, *a).await?;
            }
            let mut config = ChainConfig::load(paths)?;
            let mut net = dev::network(&node.rpc, vec![tusd.clone()]);
            net.market = Some(market.address);
            net.market_block = Some(market.block);
            if let Some(old) = config.networks.get("local") {
                // Keep tokens the user added; the dev token's address is deterministic.
                for t in &old.tokens {
                    if t.address != tusd.address {
                        net.tokens.push(t.clone());
                    }
                }
            }
            config.networks.insert("local".into(), net);
            if config.network.is_none() {
                config.network = Some("local".into());
            }
            config.save(paths)?;
            println!("RPC       {}", node.rpc);
            println!("chain id  {}", network::DEV_CHAIN_ID);
            println!("tUSD      {}", tusd.address.to_checksum(None));
            println!(
                "market    {} (block {})",
                market.address.to_checksum(None),
                market.block
            );
            for a in &fund {
                println!(
                    "funded    {} with {} ETH and {} tUSD",
                    a.to_checksum(None),
                    dev::FUND_ETH,
                    dev::FUND_TUSD
                );
            }
            if config.network.as_deref() != Some("local") {
                println!(
                    "network `local` written; `keybot chain use local` to make it the default"
                );
            }
            println!("ready: Ctrl-C stops the chain");
            std::io::stdout().flush().ok();
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                status = node.child.wait() => bail!("anvil stopped: {:?}", status?),
            }
            node.child.kill().await.ok();
            eprintln!("dev chain stopped");
            Ok(0)
        })
    }

    /// `--fund` addresses, then the wallet's first `--accounts` (when there is a wallet).
    fn addresses_to_fund(&self, paths: &Paths) -> Result<Vec<Address>> {
        let mut fund = Vec::new();
        for a in &self.fund {
            fund.push(safety::parse_address(a)?);
        }
        if self.accounts > 0 {
            if paths.vault().exists() {
                let wallet = unlock(paths, self.password_file.as_deref())?;
                fund.extend(wallet.addresses(0, self.accounts)?);
            } else {
                eprintln!("no wallet yet (keybot init): funding only the --fund addresses");
            }
        }
        Ok(fund)
    }
}

#[derive(Debug, Args)]
struct AddNetworkArgs {
    name: String,
    #[arg(long, value_name = "URL")]
    rpc: String,
    /// The chain id you expect; the RPC must agree.
    #[arg(long)]
    chain_id: Option<u64>,
    /// Confirm without a prompt.
    #[arg(long)]
    yes: bool,
}

impl AddNetworkArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let (name, rpc) = (self.name.as_str(), self.rpc.as_str());

        network::check_name(name)?;
        network::check_rpc(rpc)?;
        // Printed and logged as scheme://host[:port]/…: the path often holds an API key.
        let shown = network::redact_rpc(rpc);
        if network::is_insecure_rpc(rpc) {
            eprintln!(
                "warning: {shown} is plain http:// to another machine: anyone on the way can read \
                 and rewrite what the node answers (balances, fees). Prefer https://."
            );
        }
        let mut config = ChainConfig::load(paths)?;
        if config.networks.contains_key(name) {
            bail!("a network named {name} exists already");
        }
        let probe = Network {
            chain_id: 0,
            rpc: rpc.to_owned(),
            dev: false,
            market: None,
            market_block: None,
            tokens: vec![],
        };
        let client = Client::new(name, &probe)?;
        let chain_id = chain::runtime()?.block_on(async {
            use alloy::providers::Provider;
            client
                .provider()
                .get_chain_id()
                .await
                .map_err(|e| client.error(e))
        })?;
        if let Some(expect) = self.chain_id
            && expect != chain_id
        {
            bail!("{shown} reports chain id {chain_id}, not {expect}; not added");
        }
        eprintln!("{shown} reports chain id {chain_id}.");
        if !self.yes && !input::ask_yes(&format!("Add it as network {name}? [y/N] "))? {
            bail!("not confirmed; nothing changed");
        }
        config.networks.insert(
            name.to_owned(),
            Network {
                chain_id,
                // anvil's and hardhat's chain ids: a local chain small enough to scan block by
                // block.
                dev: matches!(chain_id, network::DEV_CHAIN_ID | 1337),
                ..probe
            },
        );
        if config.network.is_none() {
            config.network = Some(name.to_owned());
        }
        config.save(paths)?;
        println!("added network {name} (chain id {chain_id})");
        Ok(0)
    }
}

#[derive(Debug, Args)]
struct ListNetworksArgs {
    #[arg(long)]
    json: bool,
}

impl ListNetworksArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let mut config = ChainConfig::load(paths)?;
        // RPC URLs are shown redacted (their path often holds an API key; config.toml has them
        // whole), and token symbols from config.toml cleaned.
        for n in config.networks.values_mut() {
            n.rpc = network::redact_rpc(&n.rpc);
            for t in &mut n.tokens {
                t.symbol = clean_line(&t.symbol).into_owned();
            }
        }
        if self.json {
            println!("{}", serde_json::to_string_pretty(&config)?);
            return Ok(0);
        }
        if config.networks.is_empty() {
            println!("no networks configured (offline)");
        }
        for (name, n) in &config.networks {
            let active = if config.network.as_deref() == Some(name) {
                "*"
            } else {
                " "
            };
            println!("{active} {name:<12} chain {:<8} {}", n.chain_id, n.rpc);
            for t in &n.tokens {
                println!(
                    "    {:<8} {} ({} decimals)",
                    t.symbol, // cleaned above
                    t.address.to_checksum(None),
                    t.decimals
                );
            }
        }
        Ok(0)
    }
}

#[derive(Debug, Args)]
struct UseNetworkArgs {
    name: String,
}

impl UseNetworkArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let name = self.name;
        let mut config = ChainConfig::load(paths)?;
        config.select(Some(&name))?;
        config.network = Some(name.clone());
        config.save(paths)?;
        eprintln!("using network {name}");
        Ok(0)
    }
}

#[derive(Debug, Args)]
struct BroadcastArgs {
    /// 0x… hex, or - to read it from standard input.
    raw: String,
    #[arg(long)]
    network: Option<String>,
    /// Seconds to wait for the receipt.
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

impl BroadcastArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let wait = self.wait;
        let raw = if self.raw == "-" {
            input::read_stdin()?.trim().to_owned()
        } else {
            self.raw
        };
        let decoded = txfile::decode_raw(&raw)?;
        let config = ChainConfig::load(paths)?;
        let client = connect(&config, self.network.as_deref())?;
        // Symbols in these lines come from config.toml: cleaned.
        for (k, v) in decoded.lines(&client.network.tokens) {
            eprintln!("{k:>10}  {}", clean_line(&v));
        }
        match decoded.chain_id {
            Some(id) if id == client.network.chain_id => {}
            Some(id) => bail!(
                "this transaction is for chain id {id}, but network {} is chain {}; not sent",
                client.name,
                client.network.chain_id
            ),
            None => {
                bail!("this transaction has no chain id (pre-EIP-155); keybot does not send it")
            }
        }
        chain::runtime()?.block_on(async {
            client.check_chain().await?;
            use alloy::providers::Provider;
            // The same bytes sent twice are one transaction; say so instead of a node error.
            if let Some(r) = client
                .provider()
                .get_transaction_receipt(decoded.hash)
                .await
                .map_err(|e| client.error(e))?
            {
                println!(
                    "already on chain: {} in block {}",
                    decoded.hash,
                    r.block_number.unwrap_or_default()
                );
                return Ok(0);
            }
            // A nonce ahead of the account's next one is valid but waits in the pool until the
            // nonces before it are used; say so rather than leave the user watching a wait.
            let next = client
                .provider()
                .get_transaction_count(decoded.from)
                .pending()
                .await
                .map_err(|e| client.error(e))?;
            if decoded.nonce > next {
                eprintln!(
                    "note: nonce {} is ahead of this account's next nonce {next}; the transaction \
                     waits until nonces {next}..{} are used",
                    decoded.nonce,
                    decoded.nonce - 1
                );
            }
            send::send_raw(&client, &decoded.raw).await?;
            eprintln!("sent {}", decoded.hash);
            let outcome = send::wait_for_receipt(
                &client,
                decoded.hash,
                Duration::from_secs(wait),
                &mut progress,
            )
            .await;
            report(decoded.hash, &outcome)
        })
    }
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Add an ERC-20 token to the network: reads its symbol and decimals on chain.
    Add(AddTokenArgs),
}

impl TokenArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        match self.command {
            TokenCommand::Add(a) => a.run(paths),
        }
    }
}

#[derive(Debug, Args)]
struct AddTokenArgs {
    address: String,
    #[arg(long)]
    network: Option<String>,
}

impl AddTokenArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let address = safety::parse_address(&self.address)?;
        let mut config = ChainConfig::load(paths)?;
        let client = connect(&config, self.network.as_deref())?;
        let t = chain::runtime()?.block_on(async {
            client.check_chain().await?;
            token::read_token(&client, address).await
        })?;
        let net = config
            .networks
            .get_mut(&client.name)
            .ok_or_else(|| anyhow::anyhow!("network {} is not configured", client.name))?;
        if net
            .tokens
            .iter()
            .any(|o| o.symbol.eq_ignore_ascii_case(&t.symbol) && o.address != t.address)
        {
            bail!(
                "network {} already has a different token called {}; not added",
                client.name,
                clean_line(&t.symbol)
            );
        }
        net.upsert_token(t.clone());
        config.save(paths)?;
        println!(
            "added {} ({} decimals) {} on {}",
            clean_line(&t.symbol),
            t.decimals,
            t.address.to_checksum(None),
            client.name
        );
        Ok(0)
    }
}
