//! The JSON-RPC connection to one configured network, and what its failures mean to a user.
//!
//! keybot fills in nonces, fees and the chain id itself (they are all shown on the review screen
//! before signing), so the provider has no fillers: it only carries requests.
use std::time::Duration;

use alloy::dyn_abi::ErrorExt as _;
use alloy::json_abi::Error as JsonAbiError;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::sol_types::decode_revert_reason;
use alloy::transports::http::reqwest;
use alloy::transports::{RpcError, TransportError, TransportErrorKind};

use super::network::{Network, redact_rpc};
use crate::sanitize::clean_line;

/// Failures a user must be told apart: offline is a normal state, a wrong chain id is a
/// configuration mistake, a revert carries the contract's reason, a nonce problem means another
/// transaction from the account went first, a refusal is keybot's own check. Values, not text:
/// the app and the command line each decide what to do with a kind, and both word it with the
/// same [`Display`](std::fmt::Display) (one line, no control characters).
///
/// The node's words and a contract's revert reason are cleaned of control characters when the
/// error is made ([`classify`]), and an RPC URL is redacted to scheme, host and port
/// ([`redact_rpc`]), since its path often holds an API key. `Display` cleans once more, so a
/// value built anywhere else still prints as one clean line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// No network is configured: offline by choice.
    NoNetwork,
    /// The app's chain connection (its worker thread) is not running.
    Stopped,
    /// The RPC cannot be reached (refused, DNS, TLS…).
    Offline { rpc: String, reason: String },
    /// The RPC did not answer in time.
    Timeout { rpc: String },
    /// The node is on another chain than the network is configured for.
    WrongChain {
        network: String,
        expected: u64,
        got: u64,
    },
    /// Not enough of something: `what` ("ETH", "tUSD", "ETH for the fee"), and when known how
    /// much is needed and held (already formatted in the asset's units).
    Insufficient {
        what: String,
        need: Option<String>,
        have: Option<String>,
    },
    /// The call reverts (in the dry run, or the node refused it as reverting), with the
    /// contract's reason decoded where it can be (`Error(string)`, a panic code, a custom error
    /// of the contract's ABI), else its raw data.
    Revert { reason: String },
    /// The node refused the nonce.
    Nonce {
        problem: NonceProblem,
        detail: String,
    },
    /// keybot refused on its own: a check failed before anything was signed.
    Refused(Refusal),
    /// The node refused for another reason, in its own (cleaned) words.
    Node(String),
    /// The local store could not record or read a transaction.
    Store(String),
    /// The keystore could not sign.
    Keystore(String),
    /// The local dev chain (`keybot chain dev`) could not be started or set up.
    DevChain(String),
}

/// What the node said about a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceProblem {
    /// Already used by another transaction from the account.
    TooLow,
    /// Ahead of the account's next nonce (an earlier one is missing).
    TooHigh,
    /// Another transaction with this nonce is pending and this one does not replace it.
    Replaced,
}

/// A check of keybot's that failed; nothing was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    ZeroAmount,
    /// The node proposed a tip above its own fee cap (wei per gas).
    TipAboveCap {
        tip: u128,
        cap: u128,
    },
    /// value + fee does not fit a U256.
    TooLarge,
    /// A contract that does not answer as an ERC-20 token.
    NotAToken(Address),
    /// A token's symbol keybot will not show (cleaned, in quotes).
    BadSymbol {
        token: Address,
        symbol: String,
    },
    BadDecimals {
        token: Address,
        decimals: u8,
    },
    /// A contract call's arguments do not fit its function.
    BadCall {
        function: String,
        reason: String,
    },
    /// The review names another account than the one asked to sign.
    AccountMismatch,
    /// The code at the address is not keybot's DataMarket (`empty`: no code at all).
    NotAMarket {
        address: Address,
        empty: bool,
    },
    /// A loud warning (a look-alike address, a fee far above the norm…) was not accepted.
    Warning(String),
    /// The user did not confirm.
    NotConfirmed,
}

impl std::fmt::Display for NonceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NonceProblem::TooLow => {
                "nonce too low: another transaction from this account used it first"
            }
            NonceProblem::TooHigh => {
                "nonce too high: an earlier transaction from this account is missing"
            }
            NonceProblem::Replaced => {
                "another transaction with this nonce is pending and this one does not replace it"
            }
        })
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::amount::format_gwei;
        match self {
            Refusal::ZeroAmount => write!(f, "the amount is zero; nothing to send"),
            Refusal::TipAboveCap { tip, cap } => write!(
                f,
                "the node proposed a tip ({} gwei/gas) above the fee cap ({} gwei/gas); nothing was signed",
                format_gwei(*tip),
                format_gwei(*cap)
            ),
            Refusal::TooLarge => write!(
                f,
                "the amount plus the fee is too large to compute; nothing was signed"
            ),
            Refusal::NotAToken(a) => write!(
                f,
                "{} does not answer as an ERC-20 token",
                a.to_checksum(None)
            ),
            Refusal::BadSymbol { token, symbol } => write!(
                f,
                "token {} calls itself {symbol:?}, which keybot will not show as a symbol",
                token.to_checksum(None)
            ),
            Refusal::BadDecimals { token, decimals } => write!(
                f,
                "token {} claims {decimals} decimals",
                token.to_checksum(None)
            ),
            Refusal::BadCall { function, reason } => write!(
                f,
                "refused: the arguments do not fit {function} ({reason}); nothing was signed"
            ),
            Refusal::AccountMismatch => write!(
                f,
                "refused: the account does not match the review; nothing was signed"
            ),
            Refusal::NotAMarket {
                address,
                empty: true,
            } => write!(
                f,
                "refused: there is no contract at {} on this network",
                address.to_checksum(None)
            ),
            Refusal::NotAMarket { address, .. } => write!(
                f,
                "refused: the contract at {} is not keybot's DataMarket (its code differs from the committed artifact)",
                address.to_checksum(None)
            ),
            Refusal::Warning(w) => write!(f, "not sent: {w}"),
            Refusal::NotConfirmed => write!(f, "not confirmed; nothing signed"),
        }
    }
}

impl ChainError {
    /// The error in words, before the last cleaning [`Display`](std::fmt::Display) does.
    fn words(&self) -> String {
        match self {
            ChainError::NoNetwork => "offline: no network configured (add one with `keybot chain add NAME --rpc URL`, or run `keybot chain dev`)".into(),
            ChainError::Stopped => "offline: the chain connection is not running".into(),
            ChainError::Offline { rpc, reason } => format!("offline: cannot reach {rpc} ({reason})"),
            ChainError::Timeout { rpc } => format!(
                "offline: {rpc} did not answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
            ChainError::WrongChain { network, expected, got } => format!(
                "wrong chain: the RPC of network {network:?} reports chain id {got}, but the network is configured for {expected}; nothing was signed"
            ),
            ChainError::Insufficient { what, need, have } => match (need, have) {
                (Some(need), Some(have)) => format!(
                    "insufficient {what}: this needs {need}, the account holds {have}; nothing was signed"
                ),
                (Some(need), None) => format!("insufficient {what}: this needs {need}"),
                _ => format!("insufficient {what}"),
            },
            ChainError::Revert { reason } => {
                format!("the transaction would revert: {reason}; nothing was signed")
            }
            ChainError::Nonce { problem, detail } => format!("{problem} (the node: {detail})"),
            ChainError::Refused(r) => r.to_string(),
            ChainError::Node(m) => format!("the node refused: {m}"),
            ChainError::Store(m) => format!("the store: {m}"),
            ChainError::Keystore(m) => format!("the keystore: {m}"),
            ChainError::DevChain(m) => format!("dev chain: {m}"),
        }
    }

    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            ChainError::NoNetwork
                | ChainError::Stopped
                | ChainError::Offline { .. }
                | ChainError::Timeout { .. }
        )
    }
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&clean_line(&self.words()))
    }
}

impl std::error::Error for ChainError {}

impl From<Refusal> for ChainError {
    fn from(r: Refusal) -> ChainError {
        ChainError::Refused(r)
    }
}

impl From<crate::store::Error> for ChainError {
    fn from(e: crate::store::Error) -> ChainError {
        ChainError::Store(e.to_string())
    }
}

impl From<keybot_keystore::Error> for ChainError {
    fn from(e: keybot_keystore::Error) -> ChainError {
        ChainError::Keystore(e.to_string())
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

    /// [`Client::error`] for a call to a contract whose custom errors are `errors`.
    pub fn call_error(&self, e: TransportError, errors: &[JsonAbiError]) -> ChainError {
        classify_with(&self.network.rpc, e, errors)
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
    classify_with(rpc, e, &[])
}

/// [`classify`], decoding a revert with the custom errors of the contract that was called as
/// well as the standard `Error(string)` and `Panic(uint256)`.
pub fn classify_with(rpc: &str, e: TransportError, errors: &[JsonAbiError]) -> ChainError {
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
        RpcError::Transport(kind) => {
            if timed_out(&kind) {
                ChainError::Timeout { rpc }
            } else {
                ChainError::Offline {
                    reason: short(&root_cause(&kind)),
                    rpc,
                }
            }
        }
        RpcError::ErrorResp(payload) => {
            if let Some(data) = payload.as_revert_data() {
                let reason = revert_reason(&data, errors)
                    .unwrap_or_else(|| format!("{} (data {data})", payload.message));
                return ChainError::Revert {
                    reason: short_reason(&scrub(&reason)),
                };
            }
            node_message(scrub(&payload.message))
        }
        other => ChainError::Node(short(&other.to_string())),
    }
}

/// What a node's refusal means, from its words (geth, reth and anvil agree on these phrases).
fn node_message(msg: String) -> ChainError {
    let m = msg.to_ascii_lowercase();
    let nonce = |problem| ChainError::Nonce {
        problem,
        detail: msg.clone(),
    };
    if m.contains("nonce too low") {
        nonce(NonceProblem::TooLow)
    } else if m.contains("nonce too high") {
        nonce(NonceProblem::TooHigh)
    } else if m.contains("replacement transaction underpriced") {
        nonce(NonceProblem::Replaced)
    } else if m.contains("insufficient funds") {
        ChainError::Insufficient {
            what: "ETH".into(),
            need: Some(format!("more than the account holds (the node: {msg})")),
            have: None,
        }
    } else if m.contains("revert") {
        ChainError::Revert { reason: msg }
    } else {
        ChainError::Node(msg)
    }
}

/// Revert data in words: `Error(string)`, `Panic(uint256)`, or one of `errors` with its
/// arguments (`FaucetCapExceeded(requested: 5, cap: 1)`). None when nothing matches.
pub fn revert_reason(data: &[u8], errors: &[JsonAbiError]) -> Option<String> {
    if let Some(r) = decode_revert_reason(data) {
        return Some(r);
    }
    let selector = data.get(..4)?;
    let error = errors
        .iter()
        .find(|e| e.selector().as_slice() == selector)?;
    let decoded = error.decode_error(data).ok()?;
    let args: Vec<String> = error
        .inputs
        .iter()
        .zip(&decoded.body)
        .map(|(p, v)| {
            let value = super::intent::format_value(v);
            if p.name.is_empty() {
                value
            } else {
                format!("{}: {value}", p.name)
            }
        })
        .collect();
    Some(format!("{}({})", error.name, args.join(", ")))
}

/// Whether a transport failure is reqwest's timeout.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<reqwest::Error>()
            && r.is_timeout()
        {
            return true;
        }
        next = e.source();
    }
    false
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

    /// Text with every kind of thing a terminal obeys: CSI, OSC 52, a bell, a carriage return,
    /// a newline, a bidi override.
    const HOSTILE: &str = "a\u{1b}[2K\u{1b}]52;c;AAAA\u{7}b\rc\nd\u{202e}e";

    fn every_variant(s: &str) -> Vec<ChainError> {
        let a = Address::repeat_byte(1);
        vec![
            ChainError::NoNetwork,
            ChainError::Stopped,
            ChainError::Offline {
                rpc: s.into(),
                reason: s.into(),
            },
            ChainError::Timeout { rpc: s.into() },
            ChainError::WrongChain {
                network: s.into(),
                expected: 1,
                got: 2,
            },
            ChainError::Insufficient {
                what: s.into(),
                need: Some(s.into()),
                have: Some(s.into()),
            },
            ChainError::Insufficient {
                what: s.into(),
                need: None,
                have: None,
            },
            ChainError::Revert { reason: s.into() },
            ChainError::Nonce {
                problem: NonceProblem::TooLow,
                detail: s.into(),
            },
            ChainError::Nonce {
                problem: NonceProblem::TooHigh,
                detail: s.into(),
            },
            ChainError::Nonce {
                problem: NonceProblem::Replaced,
                detail: s.into(),
            },
            ChainError::Node(s.into()),
            ChainError::Store(s.into()),
            ChainError::Keystore(s.into()),
            ChainError::DevChain(s.into()),
            Refusal::ZeroAmount.into(),
            Refusal::TipAboveCap { tip: 2, cap: 1 }.into(),
            Refusal::TooLarge.into(),
            Refusal::NotAToken(a).into(),
            Refusal::BadSymbol {
                token: a,
                symbol: s.into(),
            }
            .into(),
            Refusal::BadDecimals {
                token: a,
                decimals: 99,
            }
            .into(),
            Refusal::BadCall {
                function: s.into(),
                reason: s.into(),
            }
            .into(),
            Refusal::AccountMismatch.into(),
            Refusal::Warning(s.into()).into(),
            Refusal::NotConfirmed.into(),
        ]
    }

    #[test]
    fn every_error_is_one_clean_line_even_with_hostile_text_inside() {
        for e in every_variant(HOSTILE) {
            let w = e.to_string();
            assert!(!w.is_empty(), "{e:?}");
            assert!(
                !w.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{e:?} is worded {w:?}"
            );
        }
        // Plain values are worded as themselves, and each kind says what it is.
        let words: Vec<String> = every_variant("x").iter().map(ToString::to_string).collect();
        assert!(words[2].starts_with("offline") && words[3].starts_with("offline"));
        assert!(words[4].contains("wrong chain") && words[4].contains("chain id 2"));
        assert!(words[5].starts_with("insufficient x: this needs x"));
        assert!(words[7].contains("would revert: x"));
        assert!(words[8].contains("nonce too low"));
        assert!(words[16].contains("tip"));
        for (i, e) in every_variant("x").iter().enumerate() {
            assert_eq!(e.is_offline(), i <= 3, "{e}");
        }
    }

    #[test]
    fn rpc_errors_with_escapes_are_cleaned_and_classified() {
        let resp = |msg: &str| -> TransportError {
            RpcError::ErrorResp(
                serde_json::from_value(serde_json::json!({"code": -32000, "message": msg}))
                    .unwrap(),
            )
        };
        let rpc = "http://127.0.0.1:8545";
        for (msg, kind) in [
            ("nonce too low: next nonce 5, tx nonce 4", "nonce"),
            ("replacement transaction underpriced", "replaced"),
            ("insufficient funds for gas * price + value", "insufficient"),
            ("execution reverted", "revert"),
            ("something else", "node"),
        ] {
            let e = classify(rpc, resp(&format!("{HOSTILE} {msg}")));
            let ok = match kind {
                "nonce" => matches!(
                    e,
                    ChainError::Nonce {
                        problem: NonceProblem::TooLow,
                        ..
                    }
                ),
                "replaced" => {
                    matches!(
                        e,
                        ChainError::Nonce {
                            problem: NonceProblem::Replaced,
                            ..
                        }
                    )
                }
                "insufficient" => matches!(e, ChainError::Insufficient { .. }),
                "revert" => matches!(e, ChainError::Revert { .. }),
                _ => matches!(e, ChainError::Node(_)),
            };
            assert!(ok, "{msg}: {e:?}");
            // Cleaned when made, not only when printed.
            assert!(!e.words().chars().any(char::is_control), "{e:?}");
            assert!(!e.to_string().chars().any(char::is_control), "{e}");
        }
        // Revert data with a custom error of the called contract is decoded into its words.
        let abi =
            alloy::json_abi::JsonAbi::parse(["error Nope(uint256 code, string why)"]).unwrap();
        let err = abi.errors().next().unwrap().clone();
        let data = [
            err.selector().to_vec(),
            alloy::dyn_abi::DynSolValue::Tuple(vec![
                alloy::dyn_abi::DynSolValue::Uint(U256::from(7u64), 256),
                alloy::dyn_abi::DynSolValue::String(HOSTILE.into()),
            ])
            .abi_encode_params(),
        ]
        .concat();
        let reverted: TransportError = RpcError::ErrorResp(
            serde_json::from_value(serde_json::json!({
                "code": 3, "message": "execution reverted",
                "data": format!("0x{}", hex::encode(&data))
            }))
            .unwrap(),
        );
        match classify_with(rpc, reverted, &[err]) {
            ChainError::Revert { reason } => {
                assert!(reason.starts_with("Nope(code: 7, why: \"a"), "{reason}");
                assert!(!reason.chars().any(char::is_control), "{reason:?}");
            }
            other => panic!("{other:?}"),
        }
    }

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
            market_block: None,
            tokens: vec![],
        };
        let client = Client::new("main", &net).unwrap();
        assert!(!format!("{client:?}").contains("SECRETKEY"));
    }
}
