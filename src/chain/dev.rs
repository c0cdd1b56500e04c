//! `keybot chain dev`: a real local chain (foundry's anvil) with keybot's contracts deployed and
//! the user's accounts funded. Tests use the same path.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::consensus::TxEip1559;
use alloy::json_abi::Error as JsonAbiError;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolCall;
use keybot_keystore::tx::{UnsignedTx, sign_transaction};
use keybot_keystore::{AccountRef, Phrase, Wallet};
use tokio::process::{Child, Command};

use super::client::{ChainError, ChainResult, Client};
use super::market_contract::{self, Deployment};
use super::network::{DEV_CHAIN_ID, Network, Token};
use super::send::{Outcome, send_raw, wait_for_receipt};
use crate::process::ScrubSecrets;

alloy::sol!(
    #[sol(rpc)]
    TestToken,
    "assets/contracts/TestToken.json"
);

/// anvil's well-known development mnemonic; its accounts hold 10,000 ETH each on a fresh chain.
const ANVIL_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// What `chain dev` gives each funded account.
pub const FUND_ETH: u64 = 100;
pub const FUND_TUSD: u64 = 10_000;

/// A problem starting or setting up the dev chain.
fn dev_error(what: String) -> ChainError {
    ChainError::DevChain(what)
}

/// `KEYBOT_ANVIL=/path`, else `anvil` on PATH (the tests read the same variable).
pub fn find_anvil() -> ChainResult<PathBuf> {
    if let Some(p) = std::env::var_os("KEYBOT_ANVIL") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        return Err(dev_error(format!(
            "KEYBOT_ANVIL={} is not a file",
            p.display()
        )));
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|d| d.join("anvil"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            dev_error(
                "anvil not found: install foundry's anvil (npm i @foundry-rs/anvil-linux-amd64) \
                 and put it on PATH or set KEYBOT_ANVIL=/path/to/anvil"
                    .into(),
            )
        })
}

/// A running anvil, stopped when dropped.
pub struct DevChain {
    pub rpc: String,
    pub child: Child,
}

/// Starts anvil on 127.0.0.1:`port` (0: a free port the system picks) and waits until it
/// answers.
pub async fn start(port: u16) -> ChainResult<DevChain> {
    // A node already answering on the port would pass for ours below, and keybot would deploy
    // and write the config for a chain it does not run.
    if port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        return Err(dev_error(format!(
            "port {port} is in use (another chain?); choose another with --port"
        )));
    }
    let anvil = find_anvil()?;
    let mut child = Command::new(&anvil)
        .scrub_secrets()
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--chain-id", &DEV_CHAIN_ID.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| dev_error(format!("cannot start {}: {e}", anvil.display())))?;
    // anvil says where it listens once it has bound the socket; with port 0 that line is the
    // only way to learn the port without a bind-and-release race.
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| dev_error("anvil's output is not readable".to_owned()))?;
    let listening = tokio::spawn(listening_address(stdout));
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = tokio::select! {
        addr = listening => addr.ok().flatten(),
        _ = tokio::time::sleep_until(deadline.into()) => None,
    };
    let Some(addr) = addr else {
        // No address: anvil exited (its output closed) or never said where it listens.
        let status = match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
            Ok(Ok(status)) => format!("exited ({status})"),
            Ok(Err(e)) => format!("failed ({e})"),
            Err(_) => {
                child.start_kill().ok();
                "did not say where it listens".to_owned()
            }
        };
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use tokio::io::AsyncReadExt;
            e.read_to_string(&mut err).await.ok();
        }
        return Err(dev_error(format!(
            "anvil {status} before answering: {}",
            crate::sanitize::clean_line(err.lines().last().unwrap_or("no message"))
        )));
    };
    let rpc = format!("http://{addr}");
    let client = Client::new("local", &network(&rpc, vec![]))?;
    loop {
        let exited = child
            .try_wait()
            .map_err(|e| dev_error(format!("anvil: {e}")))?;
        if let Some(status) = exited {
            return Err(dev_error(format!(
                "anvil exited ({status}) before answering"
            )));
        }
        if client.provider().get_chain_id().await.is_ok() && matches!(child.try_wait(), Ok(None)) {
            return Ok(DevChain { rpc, child });
        }
        if Instant::now() > deadline {
            return Err(dev_error(format!(
                "anvil did not answer on {rpc} within 30 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads anvil's standard output up to its "Listening on HOST:PORT" line and returns that
/// loopback address, then keeps draining the output (a full pipe would stall the node).
async fn listening_address(stdout: tokio::process::ChildStdout) -> Option<std::net::SocketAddr> {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(addr) = line.trim().strip_prefix("Listening on ") {
            let addr: std::net::SocketAddr = addr.trim().parse().ok()?;
            if !addr.ip().is_loopback() {
                return None;
            }
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Some(addr);
        }
    }
    None
}

/// The network entry `chain dev` writes.
pub fn network(rpc: &str, tokens: Vec<Token>) -> Network {
    Network {
        chain_id: DEV_CHAIN_ID,
        rpc: rpc.to_owned(),
        dev: true,
        market: None,
        market_block: None,
        tokens,
    }
}

/// anvil's first dev account, derived from its mnemonic by the keystore like any other wallet.
fn dev_wallet() -> ChainResult<Wallet> {
    Ok(Wallet::new(Phrase::parse(ANVIL_MNEMONIC)?, "")?)
}

/// Signs with the dev account and waits for the receipt. A revert in the dry run is decoded
/// with the contract's custom `errors`.
async fn dev_call(
    client: &Client,
    wallet: &Wallet,
    to: TxKind,
    value: U256,
    input: Bytes,
    errors: &[JsonAbiError],
) -> ChainResult<TransactionReceipt> {
    let p = client.provider();
    let err = |e| client.error(e);
    let from = wallet.address(AccountRef::Hd(0))?;
    let mut req = TransactionRequest::default()
        .from(from)
        .value(value)
        .input(input.clone().into());
    req.to = Some(to);
    let gas = p
        .estimate_gas(req)
        .await
        .map_err(|e| client.call_error(e, errors))?;
    let fees = p.estimate_eip1559_fees().await.map_err(err)?;
    let nonce = p.get_transaction_count(from).pending().await.map_err(err)?;
    let tx = TxEip1559 {
        chain_id: DEV_CHAIN_ID,
        nonce,
        gas_limit: gas + gas / 5,
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        to,
        value,
        access_list: Default::default(),
        input,
    };
    let signed = sign_transaction(&wallet.signer(AccountRef::Hd(0))?, UnsignedTx::Eip1559(tx))?;
    send_raw(client, &signed.raw).await?;
    match wait_for_receipt(client, signed.hash, Duration::from_secs(30), &mut |_| {}).await {
        Outcome::Confirmed { .. } => {}
        other => {
            return Err(dev_error(format!(
                "dev chain transaction {}: {other:?}",
                signed.hash
            )));
        }
    }
    p.get_transaction_receipt(signed.hash)
        .await
        .map_err(err)?
        .ok_or_else(|| dev_error("the receipt vanished".into()))
}

/// The new contract's address and block from a deployment's receipt.
fn deployed(receipt: &TransactionReceipt) -> ChainResult<(Address, u64)> {
    let address = receipt
        .contract_address
        .ok_or_else(|| dev_error("the deployment receipt has no contract address".into()))?;
    let block = receipt
        .block_number
        .ok_or_else(|| dev_error("the deployment receipt has no block number".into()))?;
    Ok((address, block))
}

/// Deploys the test token ("tUSD").
pub async fn deploy(client: &Client) -> ChainResult<Token> {
    let wallet = dev_wallet()?;
    let receipt = dev_call(
        client,
        &wallet,
        TxKind::Create,
        U256::ZERO,
        TestToken::BYTECODE.clone(),
        &[],
    )
    .await?;
    let (address, _) = deployed(&receipt)?;
    super::token::read_token(client, address).await
}

/// Deploys the data market from the dev account, accepting ETH and `tokens` (`chain dev` passes
/// tUSD), and checks the deployed code the way `market join` will.
pub async fn deploy_market(client: &Client, tokens: &[Address]) -> ChainResult<Deployment> {
    let wallet = dev_wallet()?;
    let receipt = dev_call(
        client,
        &wallet,
        TxKind::Create,
        U256::ZERO,
        market_contract::creation_code(tokens),
        &market_contract::abi_errors(),
    )
    .await?;
    let (address, block) = deployed(&receipt)?;
    let found = market_contract::verify(client, address).await?;
    if found.block != block {
        return Err(dev_error(format!(
            "the market reports deployment block {}, its receipt says {block}",
            found.block
        )));
    }
    Ok(found)
}

/// Gives `to` [`FUND_ETH`] ETH and [`FUND_TUSD`] tUSD from the dev account.
pub async fn fund(client: &Client, token: &Token, to: Address) -> ChainResult<()> {
    let wallet = dev_wallet()?;
    let eth = U256::from(FUND_ETH) * U256::from(10u64).pow(U256::from(18u64));
    dev_call(client, &wallet, TxKind::Call(to), eth, Bytes::new(), &[]).await?;
    let units = U256::from(FUND_TUSD) * U256::from(10u64).pow(U256::from(token.decimals));
    let data = TestToken::faucetCall { to, amount: units }.abi_encode();
    dev_call(
        client,
        &wallet,
        TxKind::Call(token.address),
        U256::ZERO,
        data.into(),
        &super::token::errors(),
    )
    .await?;
    Ok(())
}
