//! The JSON-RPC connection to one configured network, and what its failures mean to a user.
//!
//! keybot fills in nonces, fees and the chain id itself (they are all shown on the review screen
//! before signing), so the provider has no fillers: it only carries requests.
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::sol_types::decode_revert_reason;
use alloy::transports::http::reqwest;
use alloy::transports::{RpcError, TransportError, TransportErrorKind};

use super::network::Network;

/// Failures a user must be told apart: offline is a normal state, a wrong chain id is a
/// configuration mistake, a node error carries the node's own words.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(
        "offline: no network configured (add one with `keybot chain add NAME --rpc URL`, or run `keybot chain dev`)"
    )]
    NoNetwork,
    #[error("offline: cannot reach {rpc} ({reason})")]
    Offline { rpc: String, reason: String },
    #[error(
        "wrong chain: the RPC of network {network:?} reports chain id {got}, but the network is configured for {expected}; nothing was signed"
    )]
    WrongChain {
        network: String,
        expected: u64,
        got: u64,
    },
    #[error("{0}")]
    Insufficient(String),
    #[error("the transaction would revert: {0}; nothing was signed")]
    Revert(String),
    #[error("the node refused: {0}")]
    Node(String),
    /// Something keybot refuses on its own (a zero amount, a contract that is not a token).
    #[error("{0}")]
    Invalid(String),
}

impl ChainError {
    pub fn is_offline(&self) -> bool {
        matches!(self, ChainError::NoNetwork | ChainError::Offline { .. })
    }
}

pub type ChainResult<T> = std::result::Result<T, ChainError>;

/// How long one request may take. A dead RPC must not hang the terminal.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection to a configured network. Creating one does no I/O.
#[derive(Clone)]
pub struct Client {
    pub name: String,
    pub network: Network,
    provider: DynProvider,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name)
            .field("rpc", &self.network.rpc)
            .finish()
    }
}

impl Client {
    pub fn new(name: &str, network: &Network) -> ChainResult<Client> {
        let offline = |reason: String| ChainError::Offline {
            rpc: network.rpc.clone(),
            reason,
        };
        let url: reqwest::Url = network.rpc.parse().map_err(|e| offline(format!("{e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| offline(e.to_string()))?;
        let is_local = url
            .host_str()
            .is_some_and(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]");
        let rpc = ClientBuilder::default().http_with_client(http, url);
        let rpc = if is_local {
            rpc.with_poll_interval(Duration::from_millis(250))
        } else {
            rpc
        };
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_client(rpc)
            .erased();
        Ok(Client {
            name: name.to_owned(),
            network: network.clone(),
            provider,
        })
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Maps an RPC failure to what it means for the user.
    pub fn error(&self, e: TransportError) -> ChainError {
        classify(&self.network.rpc, e)
    }

    /// Asks the node for its chain id and refuses a node on another chain than configured.
    pub async fn check_chain(&self) -> ChainResult<u64> {
        let got = self
            .provider
            .get_chain_id()
            .await
            .map_err(|e| self.error(e))?;
        if got != self.network.chain_id {
            return Err(ChainError::WrongChain {
                network: self.name.clone(),
                expected: self.network.chain_id,
                got,
            });
        }
        Ok(got)
    }

    pub async fn block_number(&self) -> ChainResult<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| self.error(e))
    }

    pub async fn eth_balance(&self, address: Address) -> ChainResult<U256> {
        self.provider
            .get_balance(address)
            .await
            .map_err(|e| self.error(e))
    }
}

/// Maps an RPC failure: transport problems mean offline; an error response carries the node's
/// message, and revert data is decoded into the contract's reason.
pub fn classify(rpc: &str, e: TransportError) -> ChainError {
    match e {
        RpcError::Transport(TransportErrorKind::HttpError(h)) => {
            ChainError::Node(format!("HTTP {} from {rpc}", h.status))
        }
        RpcError::Transport(kind) => ChainError::Offline {
            rpc: rpc.to_owned(),
            reason: short_reason(&root_cause(&kind)),
        },
        RpcError::ErrorResp(payload) => {
            if let Some(data) = payload.as_revert_data() {
                let reason = decode_revert_reason(&data)
                    .unwrap_or_else(|| format!("{} (data {data})", payload.message));
                return ChainError::Revert(reason);
            }
            let msg = payload.message.to_string();
            if msg.contains("revert") {
                ChainError::Revert(msg)
            } else {
                ChainError::Node(msg)
            }
        }
        other => ChainError::Node(short_reason(&other.to_string())),
    }
}

/// The innermost cause ("Connection refused (os error 111)"): reqwest's own message only says
/// that sending failed.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// reqwest errors nest their causes in long chains; the user needs the first line.
fn short_reason(s: &str) -> String {
    let s = s.lines().next().unwrap_or(s);
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s.to_owned()
    }
}
