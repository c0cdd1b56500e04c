//! What a transaction is for, as the user asked for it: a transfer (ETH or a token) or a call
//! to a contract with its decoded function and arguments. Every intent goes through the same
//! pipeline ([`super::send`]): it describes itself for the review (the same lines on the command
//! line and in the app), is checked (chain id, balances, a dry run, fee bounds), recorded
//! before broadcast and reconciled. The market adds intents (approve, list, buy, deliver,
//! withdraw), not a second pipeline: build a [`Call`] from a `sol!` call struct with
//! [`Call::from_sol`], or from a JSON ABI function and its values with [`Call::new`].
use alloy::dyn_abi::{DynSolValue, JsonAbiExt as _};
use alloy::json_abi::{Error as JsonAbiError, Function, JsonAbi};
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::sol_types::SolCall;

use super::amount;
use super::client::{ChainResult, Refusal};
use super::network::Token;
use super::send::{Asset, SendRequest};
use crate::sanitize::clean_line;
use crate::store::{AssetRef, SentCall, SentTx};

/// The longest argument value shown on one line, in characters.
const MAX_VALUE: usize = 120;
/// Array items shown before "… N more".
const MAX_ITEMS: usize = 8;

/// A transfer, a contract call or a contract's deployment: what the user confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Transfer(SendRequest),
    Call(Call),
    Deploy(Deploy),
}

/// A contract's deployment: a transaction with no recipient whose input is the creation code
/// and the constructor's encoded arguments. Only keybot's own contracts are deployed (the code
/// comes from a committed artifact, never from a file or the network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    pub from: Address,
    /// What is deployed ("DataMarket").
    pub label: String,
    /// Creation code followed by the encoded constructor arguments.
    pub code: Bytes,
    /// The constructor's arguments as the review shows them.
    pub args: Vec<(String, String)>,
    /// The contract's custom errors, to decode a constructor's revert.
    pub errors: Vec<JsonAbiError>,
}

impl From<Deploy> for Intent {
    fn from(d: Deploy) -> Intent {
        Intent::Deploy(d)
    }
}

impl From<SendRequest> for Intent {
    fn from(r: SendRequest) -> Intent {
        Intent::Transfer(r)
    }
}

impl From<Call> for Intent {
    fn from(c: Call) -> Intent {
        Intent::Call(c)
    }
}

impl Intent {
    /// The signing account.
    pub fn from(&self) -> Address {
        match self {
            Intent::Transfer(r) => r.from,
            Intent::Call(c) => c.from,
            Intent::Deploy(d) => d.from,
        }
    }

    /// The transaction's `to` (none for a deployment), `value` and `input`.
    pub fn call(&self) -> (TxKind, U256, Bytes) {
        match self {
            Intent::Transfer(r) => {
                let (to, value, input) = r.call();
                (TxKind::Call(to), value, input)
            }
            Intent::Call(c) => (TxKind::Call(c.contract), c.value, c.data()),
            Intent::Deploy(d) => (TxKind::Create, U256::ZERO, d.code.clone()),
        }
    }

    /// Who the user is dealing with: a transfer's recipient, a call's contract. The look-alike
    /// checks and the typed confirmation are about this address.
    pub fn counterparty(&self) -> Address {
        match self {
            Intent::Transfer(r) => r.to,
            Intent::Call(c) => c.contract,
            // Nobody yet: the contract does not exist before the transaction.
            Intent::Deploy(_) => Address::ZERO,
        }
    }

    /// The ETH the transaction moves (its `value`).
    pub fn eth_value(&self) -> U256 {
        self.call().1
    }

    /// One line: "1.5 ETH to 0x…", "approve(spender: 0x…, value: 1500000) on 0x…".
    pub fn headline(&self) -> String {
        match self {
            Intent::Transfer(r) => {
                format!("{} to {}", r.asset.format(r.amount), r.to.to_checksum(None))
            }
            Intent::Call(c) => format!("{} on {}", c.summary(), c.contract.to_checksum(None)),
            Intent::Deploy(d) => format!("deploy {}", clean_line(&d.label)),
        }
    }

    /// The review's first line: what moves, from whom to whom, and what for, in words (a call
    /// built without a sentence is named by its function and contract). Cleaned: a listing's
    /// title in it is a stranger's text.
    pub fn sentence(&self) -> String {
        let s = match self {
            Intent::Transfer(r) => format!(
                "You send {} from {} to {}.",
                r.asset.format(r.amount),
                super::safety::short(r.from),
                super::safety::short(r.to)
            ),
            Intent::Call(c) => match &c.purpose {
                Some(p) => p.clone(),
                None => {
                    let on = match &c.label {
                        Some(l) => format!("{l} ({})", super::safety::short(c.contract)),
                        None => super::safety::short(c.contract),
                    };
                    let pays = if c.value.is_zero() {
                        String::new()
                    } else {
                        format!(", paying {}", Asset::Eth.format(c.value))
                    };
                    format!("You call {} on {on}{pays}.", c.function.name)
                }
            },
            Intent::Deploy(d) => format!(
                "You deploy a new {} contract from {}; no tokens move.",
                d.label,
                super::safety::short(d.from)
            ),
        };
        clean_line(&s).into_owned()
    }

    /// The custom errors a revert of this transaction may carry, for decoding it.
    pub fn errors(&self) -> Vec<JsonAbiError> {
        match self {
            Intent::Transfer(r) if r.asset.token_address().is_some() => super::token::errors(),
            Intent::Transfer(_) => vec![],
            Intent::Call(c) => c.errors.clone(),
            Intent::Deploy(d) => d.errors.clone(),
        }
    }

    /// The intent's own review lines (between the sender and the fees).
    pub fn lines(&self) -> Vec<(String, String)> {
        match self {
            Intent::Transfer(r) => {
                let mut lines = vec![
                    ("to".into(), r.to.to_checksum(None)),
                    ("amount".into(), r.asset.format(r.amount)),
                ];
                if let Some(t) = r.asset.token_address() {
                    lines.push(("token".into(), t.to_checksum(None)));
                }
                if let Asset::Unlisted(_) = r.asset {
                    // Nothing decoded can be vouched for: show the call exactly as it will be
                    // signed.
                    let (_, _, data) = r.call();
                    lines.push(("data".into(), data.to_string()));
                }
                lines
            }
            Intent::Call(c) => c.lines(),
            Intent::Deploy(d) => {
                let hash = alloy::primitives::keccak256(&d.code);
                let mut lines = vec![
                    ("deploys".into(), clean_line(&d.label).into_owned()),
                    (
                        "code".into(),
                        format!("{} bytes, keccak256 {hash}", d.code.len()),
                    ),
                ];
                lines.extend(
                    d.args
                        .iter()
                        .map(|(k, v)| (clean_line(k).into_owned(), clean_line(v).into_owned())),
                );
                lines
            }
        }
    }

    /// A recorded transaction read back as the intent it was signed for. A call comes back
    /// from its recorded function signature and call data (the names and values decoded
    /// again); a token's symbol and decimals are the ones recorded with it.
    pub fn from_record(tx: &SentTx) -> ChainResult<Intent> {
        match &tx.call {
            None => Ok(Intent::Transfer(SendRequest {
                from: tx.from,
                to: tx.to,
                asset: match tx.asset.token {
                    None => Asset::Eth,
                    Some(address) => Asset::Token(Token {
                        symbol: tx.asset.symbol.clone(),
                        address,
                        decimals: tx.asset.decimals,
                    }),
                },
                amount: tx.amount,
            })),
            Some(call) => {
                let bad = |reason: String| Refusal::BadCall {
                    function: clean_line(&call.function).into_owned(),
                    reason,
                };
                let function = Function::parse(&call.function).map_err(|e| bad(e.to_string()))?;
                let args = match call.data.get(..4) {
                    Some(sel) if sel == function.selector().as_slice() => function
                        .abi_decode_input(&call.data[4..])
                        .map_err(|e| bad(e.to_string()))?,
                    _ => return Err(bad("the call data is for another function".into()).into()),
                };
                Ok(Intent::Call(Call::new(
                    tx.from, tx.to, function, args, tx.amount,
                )?))
            }
        }
    }

    /// What the store keeps of the intent beside the signed bytes. A deployment is kept as a
    /// call to the address it creates (`from` and `nonce` decide it), its input as the data.
    pub fn record(&self, nonce: u64) -> (Address, AssetRef, U256, Option<SentCall>) {
        match self {
            Intent::Transfer(r) => (r.to, r.asset.asset_ref(), r.amount, None),
            Intent::Call(c) => (
                c.contract,
                AssetRef::eth(),
                c.value,
                Some(SentCall {
                    function: c.function.full_signature(),
                    summary: c.summary(),
                    data: c.data().to_vec(),
                }),
            ),
            Intent::Deploy(d) => (
                d.from.create(nonce),
                AssetRef::eth(),
                U256::ZERO,
                Some(SentCall {
                    function: "constructor()".into(),
                    summary: format!("deploy {}", clean_line(&d.label)),
                    data: d.code.to_vec(),
                }),
            ),
        }
    }
}

/// A call to a contract: the function (from its ABI) and its argument values, checked against
/// each other when made, so the call data always encodes exactly what the review shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub from: Address,
    pub contract: Address,
    /// What this machine calls the contract ("tUSD"), from its config; None when unknown.
    pub label: Option<String>,
    pub function: Function,
    pub args: Vec<DynSolValue>,
    /// ETH sent with the call, in wei.
    pub value: U256,
    /// The contract's custom errors, to decode a revert into words.
    pub errors: Vec<JsonAbiError>,
    /// Arguments that are amounts of a token (by index): shown in the token's units too.
    pub amounts: Vec<(usize, Token)>,
    /// What the call does, in words, for the review's first line ("You pay 5 tUSD into escrow
    /// for listing #1 …"): set by whoever built the call from what it knows (the listing, the
    /// token); None for a call with no such sentence (a bare call is described by its function).
    pub purpose: Option<String>,
}

// DynSolValue has no floating point: its equality is an equivalence.
impl Eq for Call {}

impl Call {
    /// A call of `function` with `args`; refused when the values do not fit its inputs.
    pub fn new(
        from: Address,
        contract: Address,
        function: Function,
        args: Vec<DynSolValue>,
        value: U256,
    ) -> ChainResult<Call> {
        if let Err(e) = function.abi_encode_input(&args) {
            return Err(Refusal::BadCall {
                function: function.signature(),
                reason: clean_line(&e.to_string()).into_owned(),
            }
            .into());
        }
        Ok(Call {
            from,
            contract,
            label: None,
            function,
            args,
            value,
            errors: vec![],
            amounts: vec![],
            purpose: None,
        })
    }

    /// A call from a `sol!` call struct, named and typed by the contract's ABI (`abi` must hold
    /// the function; its custom errors decode a revert).
    pub fn from_sol<C: SolCall>(
        from: Address,
        contract: Address,
        abi: &JsonAbi,
        call: &C,
        value: U256,
    ) -> ChainResult<Call> {
        let bad = |reason: &str| Refusal::BadCall {
            function: C::SIGNATURE.to_owned(),
            reason: reason.to_owned(),
        };
        let function = abi
            .functions()
            .find(|f| f.selector() == C::SELECTOR)
            .ok_or_else(|| bad("the ABI has no such function"))?
            .clone();
        let data = call.abi_encode();
        let args = function
            .abi_decode_input(&data[4..])
            .map_err(|e| bad(&e.to_string()))?;
        let mut c = Call::new(from, contract, function, args, value)?;
        c.errors = abi.errors().cloned().collect();
        Ok(c)
    }

    /// Names the contract for the review.
    pub fn labelled(mut self, label: &str) -> Call {
        self.label = Some(label.to_owned());
        self
    }

    /// Says in words what the call moves, for the review's first line.
    pub fn purpose(mut self, sentence: impl Into<String>) -> Call {
        self.purpose = Some(sentence.into());
        self
    }

    /// Shows argument `index` as an amount of `token`.
    pub fn amount_of(mut self, index: usize, token: Token) -> Call {
        self.amounts.push((index, token));
        self
    }

    /// The call data: selector and encoded arguments.
    pub fn data(&self) -> Bytes {
        // Checked in `new`; encoding the same values again cannot fail.
        self.function
            .abi_encode_input(&self.args)
            .unwrap_or_default()
            .into()
    }

    /// `approve(address spender, uint256 value)`: names and types, cleaned (an ABI can come
    /// from anywhere).
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .function
            .inputs
            .iter()
            .map(|p| {
                let ty = p.selector_type();
                if p.name.is_empty() {
                    ty.into_owned()
                } else {
                    format!("{ty} {}", p.name)
                }
            })
            .collect();
        clean_line(&format!("{}({})", self.function.name, params.join(", "))).into_owned()
    }

    fn arg_name(&self, i: usize) -> String {
        match self.function.inputs.get(i).map(|p| p.name.as_str()) {
            Some(n) if !n.is_empty() => clean_line(n).into_owned(),
            _ => format!("arg{i}"),
        }
    }

    /// One argument's value, in a token's units where it is an amount of one.
    fn arg_value(&self, i: usize, v: &DynSolValue) -> String {
        match (self.amounts.iter().find(|(j, _)| *j == i), v.as_uint()) {
            (Some((_, t)), Some((units, _))) => format!(
                "{} {} ({units} base units)",
                amount::format(units, t.decimals),
                clean_line(&t.symbol)
            ),
            _ => format_value(v),
        }
    }

    /// `approve(spender: 0x…, value: 1500000)`: one line, for the activity list and the store.
    pub fn summary(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{}: {}", self.arg_name(i), format_value(v)))
            .collect();
        clean_line(&format!("{}({})", self.function.name, args.join(", "))).into_owned()
    }

    /// The review lines: the contract, the function, each argument decoded, the ETH value and
    /// the exact call data.
    pub fn lines(&self) -> Vec<(String, String)> {
        let contract = match &self.label {
            Some(l) => format!("{} ({})", self.contract.to_checksum(None), clean_line(l)),
            None => self.contract.to_checksum(None),
        };
        let mut lines = vec![
            ("contract".into(), contract),
            ("function".into(), self.signature()),
        ];
        for (i, v) in self.args.iter().enumerate() {
            lines.push((format!("· {}", self.arg_name(i)), self.arg_value(i, v)));
        }
        lines.push(("value".into(), Asset::Eth.format(self.value)));
        let data = self.data();
        let hex = data.to_string();
        let shown = if hex.len() > 2 + 2 * 100 {
            format!("{}… ({} bytes)", &hex[..2 + 2 * 100], data.len())
        } else {
            format!("{hex} ({} bytes)", data.len())
        };
        lines.push(("data".into(), shown));
        lines
    }

    /// The address arguments, by name: the look-alike check looks at each.
    pub fn address_args(&self) -> Vec<(String, Address)> {
        self.args
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_address().map(|a| (self.arg_name(i), a)))
            .collect()
    }
}

/// An ABI value on one line, bounded and without control characters: addresses checksummed,
/// numbers in decimal, bytes in hex, strings quoted and cleaned.
pub fn format_value(v: &DynSolValue) -> String {
    let s = match v {
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::FixedBytes(w, n) => format!("0x{}", hex::encode(&w[..(*n).min(32)])),
        DynSolValue::Bytes(b) => format!("0x{}", hex::encode(b)),
        DynSolValue::String(s) => format!("{:?}", clean_line(s)),
        DynSolValue::Function(f) => format!("0x{}", hex::encode(f.as_slice())),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            format!("[{}]", list(items))
        }
        DynSolValue::Tuple(items) => format!("({})", list(items)),
        DynSolValue::CustomStruct { name, tuple, .. } => {
            format!("{}({})", clean_line(name), list(tuple))
        }
    };
    let s = clean_line(&s).into_owned();
    if s.chars().count() > MAX_VALUE {
        format!("{}…", s.chars().take(MAX_VALUE).collect::<String>())
    } else {
        s
    }
}

fn list(items: &[DynSolValue]) -> String {
    let mut shown: Vec<String> = items.iter().take(MAX_ITEMS).map(format_value).collect();
    if items.len() > MAX_ITEMS {
        shown.push(format!("… {} more", items.len() - MAX_ITEMS));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approve() -> Function {
        Function::parse("function approve(address spender, uint256 value) returns (bool)").unwrap()
    }

    #[test]
    fn a_call_describes_its_function_and_arguments() {
        let spender = Address::repeat_byte(0x22);
        let token = Token {
            symbol: "tUSD".into(),
            address: Address::repeat_byte(0x11),
            decimals: 6,
        };
        let c = Call::new(
            Address::repeat_byte(1),
            token.address,
            approve(),
            vec![
                DynSolValue::Address(spender),
                DynSolValue::Uint(U256::from(1_500_000u64), 256),
            ],
            U256::ZERO,
        )
        .unwrap()
        .labelled("tUSD")
        .amount_of(1, token);
        let lines = c.lines();
        let get = |k: &str| lines.iter().find(|(l, _)| l == k).unwrap().1.clone();
        assert_eq!(get("function"), "approve(address spender, uint256 value)");
        assert_eq!(get("· spender"), spender.to_checksum(None));
        assert_eq!(get("· value"), "1.5 tUSD (1500000 base units)");
        assert_eq!(get("value"), "0 ETH");
        assert!(get("data").starts_with("0x095ea7b3"), "{lines:?}");
        assert!(get("contract").ends_with("(tUSD)"));
        assert_eq!(
            c.summary(),
            format!(
                "approve(spender: {}, value: 1500000)",
                spender.to_checksum(None)
            )
        );
        // Values that do not fit the function are refused, not encoded.
        let e = Call::new(
            Address::ZERO,
            Address::ZERO,
            approve(),
            vec![DynSolValue::Bool(true)],
            U256::ZERO,
        )
        .unwrap_err();
        assert!(e.to_string().contains("approve(address,uint256)"), "{e}");
    }

    #[test]
    fn hostile_strings_in_arguments_and_abi_names_are_cleaned() {
        let f = Function::parse("function note(string text, bytes blob)").unwrap();
        let c = Call::new(
            Address::ZERO,
            Address::ZERO,
            f,
            vec![
                DynSolValue::String("hi\u{1b}]52;c;AAAA\u{7}\u{202e}x".repeat(40)),
                DynSolValue::Bytes(vec![0x1b; 300]),
            ],
            U256::ZERO,
        )
        .unwrap()
        .labelled("evil\u{1b}[2J");
        for (k, v) in c.lines().iter().chain([("s".into(), c.summary())].iter()) {
            assert!(
                !k.chars().chain(v.chars()).any(char::is_control),
                "{k} {v:?}"
            );
            assert!(!v.contains('\u{202e}'), "{v:?}");
            assert!(v.chars().count() <= MAX_VALUE + 300, "{v}");
        }
    }

    #[test]
    fn a_recorded_call_reads_back_as_the_same_call() {
        let c = Call::new(
            Address::repeat_byte(1),
            Address::repeat_byte(3),
            approve(),
            vec![
                DynSolValue::Address(Address::repeat_byte(2)),
                DynSolValue::Uint(U256::from(7u64), 256),
            ],
            U256::from(5u64),
        )
        .unwrap();
        let intent = Intent::Call(c.clone());
        let (to, asset, amount, call) = intent.record(0);
        let tx = SentTx {
            hash: Default::default(),
            chain_id: 1,
            from: c.from,
            to,
            asset,
            amount,
            nonce: 0,
            raw: vec![],
            status: crate::store::TxStatus::Signed,
            block: None,
            error: None,
            created_at: 0,
            call,
        };
        let Intent::Call(back) = Intent::from_record(&tx).unwrap() else {
            panic!()
        };
        assert_eq!((back.contract, back.value), (c.contract, c.value));
        assert_eq!(back.function, c.function);
        assert_eq!(back.args, c.args);
    }
}
