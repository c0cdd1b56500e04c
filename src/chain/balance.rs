//! Balances: ETH and every configured token, per account.
use alloy::primitives::{Address, U256};

use super::client::{ChainResult, Client};
use super::network::Token;
use super::token;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    pub address: Address,
    pub eth: U256,
    pub tokens: Vec<(Token, U256)>,
}

/// Reads the balances of `addresses` at the latest block, after checking the chain id.
pub async fn balances(client: &Client, addresses: &[Address]) -> ChainResult<Vec<AccountBalance>> {
    client.check_chain().await?;
    let mut out = Vec::with_capacity(addresses.len());
    for &address in addresses {
        let eth = client.eth_balance(address).await?;
        let mut tokens = Vec::with_capacity(client.network.tokens.len());
        for t in &client.network.tokens {
            tokens.push((
                t.clone(),
                token::balance_of(client, t.address, address).await?,
            ));
        }
        out.push(AccountBalance {
            address,
            eth,
            tokens,
        });
    }
    Ok(out)
}
