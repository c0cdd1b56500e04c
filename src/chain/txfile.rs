//! Transactions described in a file, for signing on a machine with no network, and raw
//! transactions decoded back into what they do, for broadcasting from another.
//!
//! The file is JSON. Amounts are exact decimals in the asset's units, fees in gwei:
//!
//! ```json
//! { "chain_id": 31337, "nonce": 0, "to": "0x…", "value": "1.5",
//!   "gas_limit": 21000, "max_fee_per_gas": "30", "max_priority_fee_per_gas": "1",
//!   "token": { "address": "0x…", "symbol": "tUSD", "decimals": 6 } }
//! ```
//! With `token`, `value` is in token units and the transaction calls `transfer` on the token.
use alloy::consensus::transaction::SignerRecoverable as _;
use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::amount;
use super::network::Token;
use super::safety::parse_address;
use super::send::{Asset, Review, SendRequest};
use super::token;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TxFile {
    chain_id: u64,
    nonce: u64,
    to: String,
    value: String,
    gas_limit: u64,
    max_fee_per_gas: String,
    max_priority_fee_per_gas: String,
    #[serde(default)]
    token: Option<TokenSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSpec {
    address: String,
    symbol: String,
    decimals: u8,
}

fn gwei(field: &str, text: &str) -> Result<u128> {
    let wei = amount::parse(text, 9).with_context(|| format!("{field} (gwei)"))?;
    u128::try_from(wei).map_err(|_| anyhow::anyhow!("{field} is too large"))
}

/// Reads a transaction file into the same review the online send shows. `from` is the signing
/// account (the file does not name it: the machine that signs decides).
pub fn parse(json: &str, from: Address) -> Result<Review> {
    let f: TxFile = serde_json::from_str(json).context("not a keybot transaction file")?;
    if f.chain_id == 0 {
        bail!("chain_id 0 is not a chain; a transaction needs its chain id (EIP-155)");
    }
    let to = parse_address(&f.to).context("to")?;
    let asset = match f.token {
        None => Asset::Eth,
        Some(t) => Asset::Token(Token {
            address: parse_address(&t.address).context("token.address")?,
            symbol: t.symbol,
            decimals: t.decimals,
        }),
    };
    let value = amount::parse(&f.value, asset.decimals()).context("value")?;
    let max_fee_per_gas = gwei("max_fee_per_gas", &f.max_fee_per_gas)?;
    let max_priority_fee_per_gas = gwei("max_priority_fee_per_gas", &f.max_priority_fee_per_gas)?;
    if max_priority_fee_per_gas > max_fee_per_gas {
        bail!("max_priority_fee_per_gas is above max_fee_per_gas");
    }
    if f.gas_limit < 21_000 {
        bail!(
            "gas_limit {} is below 21000, the cost of any transaction",
            f.gas_limit
        );
    }
    Ok(Review {
        network: "offline".into(),
        chain_id: f.chain_id,
        request: SendRequest {
            from,
            to,
            asset,
            amount: value,
        },
        nonce: f.nonce,
        gas_limit: f.gas_limit,
        max_fee_per_gas,
        max_priority_fee_per_gas,
        eth_balance: U256::ZERO,
        warnings: Vec::new(),
    })
}

/// A raw signed transaction, decoded: what a user checks before broadcasting it.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub hash: B256,
    pub from: Address,
    pub chain_id: Option<u64>,
    pub nonce: u64,
    pub to: Option<Address>,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub raw: Bytes,
}

impl Decoded {
    /// Label/value lines; a token transfer is shown as what it moves.
    pub fn lines(&self, tokens: &[Token]) -> Vec<(&'static str, String)> {
        let mut lines = vec![
            ("hash", self.hash.to_string()),
            ("from", self.from.to_checksum(None)),
            (
                "chain id",
                self.chain_id
                    .map_or("none (replayable on any chain)".into(), |c| c.to_string()),
            ),
            ("nonce", self.nonce.to_string()),
        ];
        let to = self
            .to
            .map_or("contract creation".into(), |a| a.to_checksum(None));
        match (self.to, token::decode_transfer(&self.input)) {
            (Some(contract), Some((recipient, units))) => {
                let amount = match tokens.iter().find(|t| t.address == contract) {
                    Some(t) => format!("{} {}", amount::format(units, t.decimals), t.symbol),
                    None => format!("{units} units of token {}", contract.to_checksum(None)),
                };
                lines.push(("to", recipient.to_checksum(None)));
                lines.push(("amount", amount));
                lines.push(("token", to));
            }
            _ => {
                lines.push(("to", to));
                lines.push(("amount", format!("{} ETH", amount::format(self.value, 18))));
                if !self.input.is_empty() {
                    lines.push(("data", format!("{} bytes", self.input.len())));
                }
            }
        }
        let cap = U256::from(self.gas_limit) * U256::from(self.max_fee_per_gas);
        lines.push(("fee cap", format!("{} ETH", amount::format(cap, 18))));
        lines
    }
}

/// Decodes `0x…` raw transaction hex (EIP-2718 typed or legacy) and recovers its sender.
pub fn decode_raw(text: &str) -> Result<Decoded> {
    let t = text.trim();
    let bytes = hex::decode(t.strip_prefix("0x").unwrap_or(t))
        .context("a raw transaction is 0x-prefixed hex")?;
    let env = TxEnvelope::decode_2718(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("not a signed transaction: {e}"))?;
    let from = env
        .recover_signer()
        .map_err(|_| anyhow::anyhow!("the signature does not recover to an address"))?;
    Ok(Decoded {
        hash: *env.tx_hash(),
        from,
        chain_id: env.chain_id(),
        nonce: env.nonce(),
        to: match env.kind() {
            TxKind::Call(a) => Some(a),
            TxKind::Create => None,
        },
        value: env.value(),
        input: env.input().clone(),
        gas_limit: env.gas_limit(),
        max_fee_per_gas: env.max_fee_per_gas(),
        raw: bytes.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    fn file(extra: &str) -> String {
        format!(
            r#"{{"chain_id": 31337, "nonce": 3, "to": "{TO}", "value": "1.5", "gas_limit": 21000,
                "max_fee_per_gas": "2.5", "max_priority_fee_per_gas": "1"{extra}}}"#
        )
    }

    #[test]
    fn reads_a_file_exactly() {
        let r = parse(&file(""), Address::repeat_byte(1)).unwrap();
        assert_eq!(r.request.amount.to_string(), "1500000000000000000");
        assert_eq!(r.max_fee_per_gas, 2_500_000_000);
        assert_eq!(r.nonce, 3);
        let tok = parse(
            &file(r#", "token": {"address": "0x0000000000000000000000000000000000000007", "symbol": "tUSD", "decimals": 6}"#),
            Address::repeat_byte(1),
        )
        .unwrap();
        assert_eq!(tok.request.amount, U256::from(1_500_000u64));
    }

    #[test]
    fn refuses_bad_files() {
        let from = Address::repeat_byte(1);
        for (bad, why) in [
            (file(r#", "extra": 1"#), "transaction file"),
            (file("").replace("31337", "0"), "chain id"),
            (file("").replace("1.5", "1.5.1"), "value"),
            (file("").replace("21000", "20000"), "gas_limit"),
            (file("").replace(TO, &TO.replace("aA", "Aa")), "checksum"),
            (file("").replace("\"2.5\"", "\"0.5\""), "priority"),
        ] {
            let e = format!("{:#}", parse(&bad, from).unwrap_err());
            assert!(e.contains(why), "{e}");
        }
        assert!(decode_raw("0x1234").is_err());
        assert!(decode_raw("zz").is_err());
    }
}
