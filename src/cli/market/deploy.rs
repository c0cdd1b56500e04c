//! `keybot market deploy | join`: the market a network uses, deployed from the user's account or
//! someone else's checked; either way its address and deployment block go into the network's
//! config.
use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use anyhow::{Result, anyhow, bail};
use clap::Args;

use super::ChainOpts;
use super::session::{listing_token, refuse_unconfirmed};
use crate::chain::market_contract::Deployment;
use crate::chain::{self, ChainConfig, ChainError, ChainResult, Client, Token, activity};
use crate::cli::common::{Sender, connect, parse_account, unlock};
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::service::wallet::open_store;

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[arg(long = "token", value_name = "SYMBOL|ADDRESS")]
    tokens: Vec<String>,
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    #[command(flatten)]
    chain: ChainOpts,
}

impl DeployArgs {
    /// The committed DataMarket, deployed through the review from the user's account, checked
    /// the way `join` checks, and written into the network's config.
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let ChainOpts {
            network, yes, wait, ..
        } = self.chain;
        let mut config = ChainConfig::load(paths)?;
        let client = connect(&config, network.as_deref())?;
        let allowed = allowed_tokens(&client, &self.tokens)?;
        refuse_unconfirmed(yes)?;
        let wallet = unlock(paths, pw_file)?;
        let account = parse_account(&wallet, &self.account)?;
        let from = wallet.address(account)?;
        let store = open_store(paths, &wallet)?;
        let own = activity::own_addresses(&wallet, Some(&store))?;
        let rt = chain::runtime()?;
        let addresses: Vec<Address> = allowed.iter().map(|t| t.address).collect();
        let intent = crate::chain::intent::Deploy {
            from,
            label: "DataMarket".into(),
            code: crate::chain::market_contract::creation_code(&addresses),
            args: vec![("accepts".into(), accepts(&allowed))],
            errors: crate::chain::market_contract::abi_errors(),
        };
        let sender = Sender {
            rt: &rt,
            client: &client,
            store: &store,
            wallet: &wallet,
            own: &own,
            yes,
            accept_warnings: false,
            wait: Duration::from_secs(wait),
            proposed: None,
        };
        let hash = sender.send_confirmed(account, intent, "Deploy")?;
        let found = rt.block_on(deployed_market(&client, hash))?;
        let name = client.name.clone();
        if let Some(net) = config.networks.get_mut(&name) {
            net.market = Some(found.address);
            net.market_block = Some(found.block);
        }
        config.save(paths)?;
        eprintln!(
            "network {name} uses the new market (deployed in block {})",
            found.block
        );
        println!("{}", found.address.to_checksum(None));
        Ok(0)
    }
}

/// The ERC-20 tokens `--token` names; ETH needs no place on the allow-list.
fn allowed_tokens(client: &Client, tokens: &[String]) -> Result<Vec<Token>> {
    let mut allowed = Vec::new();
    for t in tokens {
        let token = listing_token(client, Some(t))?;
        if token.address == Address::ZERO {
            bail!("ETH is always accepted; --token names ERC-20 tokens");
        }
        allowed.push(token);
    }
    Ok(allowed)
}

/// What the review shows the market accepting: ETH, then each allowed token.
fn accepts(allowed: &[Token]) -> String {
    std::iter::once("ETH".to_owned())
        .chain(allowed.iter().map(|t| {
            format!(
                "{} ({})",
                clean_line(&t.symbol),
                t.address.to_checksum(None)
            )
        }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The contract the deployment `hash` created, checked to be exactly DataMarket's.
async fn deployed_market(client: &Client, hash: B256) -> ChainResult<Deployment> {
    use alloy::providers::Provider;
    let receipt = client
        .provider()
        .get_transaction_receipt(hash)
        .await
        .map_err(|e| client.error(e))?
        .ok_or_else(|| ChainError::Node("the deployment has no receipt".into()))?;
    let address = receipt
        .contract_address
        .ok_or_else(|| ChainError::Node("the deployment's receipt names no contract".into()))?;
    crate::chain::market_contract::verify(client, address).await
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    address: String,
    #[arg(long)]
    network: Option<String>,
}

impl JoinArgs {
    /// No password needed, nothing signed; the code is checked before anything is written.
    pub fn run(self, paths: &Paths) -> Result<u8> {
        let address = crate::chain::safety::parse_address(&self.address)?;
        let mut config = ChainConfig::load(paths)?;
        let client = connect(&config, self.network.as_deref())?;
        let rt = chain::runtime()?;
        let found = rt.block_on(async {
            client.check_chain().await?;
            crate::chain::market_contract::verify(&client, address).await
        })?;
        let name = client.name.clone();
        let net = config
            .networks
            .get_mut(&name)
            .ok_or_else(|| anyhow!("network {name} is not configured"))?;
        net.market = Some(found.address);
        net.market_block = Some(found.block);
        config.save(paths)?;
        println!(
            "network {name} uses the market at {} (deployed in block {})",
            found.address.to_checksum(None),
            found.block
        );
        Ok(0)
    }
}
