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

use super::network::{Network, redact_rpc};
use crate::sanitize::clean_line;

/// Failures a user must be told apart: offline is a normal state, a wrong chain id is a
/// configuration mistake, a node error carries the node's own words.
///
/// Every string in here is fit to print and to log: the node's words and a contract's revert
/// reason are cleaned of control characters when the error is made ([`classify`]), and an RPC
/// URL is redacted to scheme, host and port ([`redact_rpc`]), since its path often holds an API
/// key.
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
            .field("rpc", &redact_rpc(&self.network.rpc))
            .finish()
    }
}

impl Client {
    pub fn new(name: &str, network: &Network) -> ChainResult<Client> {
        let offline = |reason: String| ChainError::Offline {
            rpc: redact_rpc(&network.rpc),
            reason: clean_line(&reason).into_owned(),
        };
        let url: reqwest::Url = network.rpc.parse().map_err(|e| offline(format!("{e}")))?;
        crate::net::tls();
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
/// message, and revert data is decoded into the contract's reason. The node and the contract
/// are untrusted: their text is cleaned here, once, so every printer and the log get it clean;
/// `rpc` is redacted.
pub fn classify(rpc: &str, e: TransportError) -> ChainError {
    let full = rpc;
    let rpc = redact_rpc(full);
    // reqwest quotes the URL it failed on; a message must not carry the key back out.
    let normal = full
        .parse::<reqwest::Url>()
        .map(|u| u.to_string())
        .unwrap_or_default();
    let scrub = |s: &str| {
        let mut s = clean_line(s).into_owned();
        for u in [full, normal.as_str()] {
            if !u.is_empty() {
                s = s.replace(u, &rpc);
            }
        }
        s
    };
    let short = |s: &str| short_reason(&scrub(s));
    match e {
        RpcError::Transport(TransportErrorKind::HttpError(h)) => {
            ChainError::Node(format!("HTTP {} from {rpc}", h.status))
        }
        RpcError::Transport(kind) => ChainError::Offline {
            reason: short(&root_cause(&kind)),
            rpc,
        },
        RpcError::ErrorResp(payload) => {
            if let Some(data) = payload.as_revert_data() {
                let reason = decode_revert_reason(&data)
                    .unwrap_or_else(|| format!("{} (data {data})", payload.message));
                return ChainError::Revert(scrub(&reason));
            }
            let msg = scrub(&payload.message);
            if msg.contains("revert") {
                ChainError::Revert(msg)
            } else {
                ChainError::Node(msg)
            }
        }
        other => ChainError::Node(short(&other.to_string())),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_words_are_cleaned_and_the_rpc_key_never_shown() {
        let rpc = "https://eth.example.org/v3/SECRETKEY";
        let resp = |msg: &str| -> TransportError {
            // The payload a node answers with (its type is not re-exported; built from JSON).
            RpcError::ErrorResp(
                serde_json::from_value(serde_json::json!({"code": -32000, "message": msg}))
                    .unwrap(),
            )
        };
        let e = classify(rpc, resp("bad\u{1b}[2K\u{1b}]52;c;AAAA\u{7} thing")).to_string();
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert!(e.contains("bad") && e.contains("thing"), "{e}");
        let e = classify(rpc, resp("execution reverted: \u{1b}[1Aok")).to_string();
        assert!(e.contains("would revert") && !e.contains('\u{1b}'), "{e:?}");
        // A message quoting the URL gets the redacted form.
        let e = classify(rpc, resp(&format!("rate limited at {rpc}"))).to_string();
        assert!(
            !e.contains("SECRETKEY") && e.contains("https://eth.example.org/…"),
            "{e}"
        );
        let net = Network {
            chain_id: 1,
            rpc: rpc.into(),
            dev: false,
            market: None,
            tokens: vec![],
        };
        let client = Client::new("main", &net).unwrap();
        assert!(!format!("{client:?}").contains("SECRETKEY"));
    }
}
