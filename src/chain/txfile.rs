//! Transactions described in a file, for signing on a machine with no network, and raw
//! transactions decoded back into what they do, for broadcasting from another.
//!
//! The file comes from another machine and is hostile until checked against this one's own
//! knowledge. The file is JSON. Amounts are exact decimals in the asset's units, fees in gwei:
//!
//! ```json
//! { "chain_id": 31337, "nonce": 0, "to": "0x…", "value": "1.5",
//!   "gas_limit": 21000, "max_fee_per_gas": "30", "max_priority_fee_per_gas": "1",
//!   "token": { "address": "0x…", "symbol": "tUSD", "decimals": 6 } }
//! ```
//!
//! With `token`, the transaction calls `transfer` on the token. A token's symbol and decimals are
//! never taken from the file: they decide what "1.5" means and what the review says, and a file
//! claiming 12 decimals for a 6-decimal token would sign a million times the amount shown.
//!
//! - A token this machine's `config.toml` lists on a network with the file's `chain_id`: the
//!   config's symbol and decimals are used. `token.symbol` and `token.decimals` may be left out;
//!   when given they must agree with the config, or the file is refused.
//! - A token this machine does not list: `value` is refused (its decimals are unknown). Give the
//!   amount in base units instead, as `"units": "1500000"`. The review shows those base units,
//!   the token's address and the exact call data; the file's symbol and decimals, if any, are
//!   ignored.
//!
//! `units` (an integer in base units: wei for ETH) may replace `value` for any asset; a file has
//! exactly one of the two.
use alloy::consensus::transaction::SignerRecoverable as _;
use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::amount;
use super::intent::Intent;
use super::network::{ChainConfig, Token};
use super::safety::parse_address;
use super::send::{Asset, Review, SendRequest};
use super::token;
use crate::sanitize::clean_line;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TxFile {
    chain_id: u64,
    nonce: u64,
    to: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    units: Option<String>,
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
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    decimals: Option<u8>,
}

fn gwei(field: &str, text: &str) -> Result<u128> {
    let wei = amount::parse(text, 9).with_context(|| format!("{field} (gwei)"))?;
    u128::try_from(wei).map_err(|_| anyhow::anyhow!("{field} is too large"))
}

/// Base units: a plain non-negative integer.
fn base_units(text: &str) -> Result<U256> {
    amount::parse(text, 0).context("units (an integer in base units)")
}

/// The token as this machine knows it, from every configured network with `chain_id`.
/// Two networks listing the same address differently is a config to fix, not a guess to make.
fn local_token(config: &ChainConfig, chain_id: u64, address: Address) -> Result<Option<Token>> {
    let mut found: Option<&Token> = None;
    for t in config
        .networks
        .values()
        .filter(|n| n.chain_id == chain_id)
        .flat_map(|n| &n.tokens)
        .filter(|t| t.address == address)
    {
        match found {
            Some(f) if (&f.symbol, f.decimals) != (&t.symbol, t.decimals) => bail!(
                "this machine's config lists token {} twice for chain {chain_id}, differently; \
                 fix config.toml",
                address.to_checksum(None)
            ),
            _ => found = Some(t),
        }
    }
    Ok(found.cloned())
}

/// The asset, with symbol and decimals from this machine's config (see the module doc).
fn asset(config: &ChainConfig, chain_id: u64, spec: Option<TokenSpec>) -> Result<Asset> {
    let Some(spec) = spec else {
        return Ok(Asset::Eth);
    };
    let address = parse_address(&spec.address).context("token.address")?;
    let Some(local) = local_token(config, chain_id, address)? else {
        return Ok(Asset::Unlisted(address));
    };
    if let Some(d) = spec.decimals
        && d != local.decimals
    {
        bail!(
            "REFUSED: the file says token {} has {d} decimals, this machine's config says {}; \
             the file is not signed (a wrong decimals value multiplies the amount)",
            address.to_checksum(None),
            local.decimals
        );
    }
    if let Some(sym) = &spec.symbol
        && *sym != local.symbol
    {
        bail!(
            "REFUSED: the file calls token {} {:?}, this machine's config calls it {}; the file \
             is not signed",
            address.to_checksum(None),
            clean_line(sym),
            clean_line(&local.symbol)
        );
    }
    Ok(Asset::Token(local))
}

/// Reads a transaction file into the same review the online send shows. `from` is the signing
/// account (the file does not name it: the machine that signs decides); `config` is this
/// machine's, the only source of a token's symbol and decimals.
pub fn parse(json: &str, from: Address, config: &ChainConfig) -> Result<Review> {
    // serde's messages quote the file's own text (an unknown field's name): cleaned.
    let f: TxFile = serde_json::from_str(json).map_err(|e| {
        anyhow::anyhow!(
            "not a keybot transaction file: {}",
            clean_line(&e.to_string())
        )
    })?;
    if f.chain_id == 0 {
        bail!("chain_id 0 is not a chain; a transaction needs its chain id (EIP-155)");
    }
    let to = parse_address(&f.to).context("to")?;
    let asset = asset(config, f.chain_id, f.token)?;
    let value = match (&f.value, &f.units) {
        (Some(_), Some(_)) => bail!("the file gives both value and units; give one"),
        (None, None) => bail!("the file gives no amount: add value (or units, in base units)"),
        (None, Some(u)) => base_units(u)?,
        (Some(_), None) if matches!(asset, Asset::Unlisted(_)) => bail!(
            "token {} is not in this machine's config, so its decimals are unknown: give the \
             amount in base units as \"units\", or add the token to this machine's config",
            asset.token_address().unwrap_or_default().to_checksum(None)
        ),
        (Some(v), None) => amount::parse(v, asset.decimals()).context("value")?,
    };
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
        intent: Intent::Transfer(SendRequest {
            from,
            to,
            asset,
            amount: value,
        }),
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
                    Some(t) => format!(
                        "{} {}",
                        amount::format(units, t.decimals),
                        clean_line(&t.symbol)
                    ),
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
        // u64 × u128 < 2^192: no overflow; saturating all the same, never wrapping.
        let cap = U256::from(self.gas_limit).saturating_mul(U256::from(self.max_fee_per_gas));
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
    use crate::chain::network::Network;

    const TO: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    const USDC: &str = "0x0000000000000000000000000000000000000007";

    fn file(extra: &str) -> String {
        format!(
            r#"{{"chain_id": 31337, "nonce": 3, "to": "{TO}", "value": "1.5", "gas_limit": 21000,
                "max_fee_per_gas": "2.5", "max_priority_fee_per_gas": "1"{extra}}}"#
        )
    }

    /// This machine's config: USDC with 6 decimals on chain 31337.
    fn config() -> ChainConfig {
        let mut c = ChainConfig::default();
        c.networks.insert(
            "local".into(),
            Network {
                chain_id: 31337,
                rpc: "http://127.0.0.1:8545".into(),
                dev: true,
                market: None,
                market_block: None,
                tokens: vec![Token {
                    symbol: "USDC".into(),
                    address: USDC.parse().unwrap(),
                    decimals: 6,
                }],
            },
        );
        c
    }

    fn transfer(r: &Review) -> &SendRequest {
        match &r.intent {
            Intent::Transfer(t) => t,
            _ => panic!("a transaction file is a transfer"),
        }
    }

    fn token(spec: &str) -> String {
        file(&format!(r#", "token": {{"address": "{USDC}"{spec}}}"#))
    }

    #[test]
    fn reads_a_file_exactly() {
        let from = Address::repeat_byte(1);
        let r = parse(&file(""), from, &config()).unwrap();
        assert_eq!(transfer(&r).amount.to_string(), "1500000000000000000");
        assert_eq!(r.max_fee_per_gas, 2_500_000_000);
        assert_eq!(r.nonce, 3);
        // A file written before symbol/decimals became optional still reads, where they agree.
        for spec in [r#", "symbol": "USDC", "decimals": 6"#, ""] {
            let tok = parse(&token(spec), from, &config()).unwrap();
            assert_eq!(transfer(&tok).amount, U256::from(1_500_000u64));
            assert_eq!(transfer(&tok).asset.symbol(), "USDC");
        }
        // units: base units, for any asset.
        let wei = file("").replace(r#""value": "1.5""#, r#""units": "7""#);
        assert_eq!(
            transfer(&parse(&wei, from, &config()).unwrap()).amount,
            U256::from(7u64)
        );
    }

    #[test]
    fn sign_tx_ignores_token_metadata_from_the_file() {
        let from = Address::repeat_byte(1);
        // 12 decimals for a 6-decimal token would sign a million times the amount shown.
        let e = format!(
            "{:#}",
            parse(&token(r#", "decimals": 12"#), from, &config()).unwrap_err()
        );
        assert!(
            e.contains("REFUSED") && e.contains("12") && e.contains('6'),
            "{e}"
        );
        // A symbol that redraws the screen is refused, and the refusal carries no escape.
        let e = format!(
            "{:#}",
            parse(
                &token(r#", "symbol": "USDC\u001b[1A\u001b[2K    amount  1 USDC""#),
                from,
                &config()
            )
            .unwrap_err()
        );
        assert!(e.contains("REFUSED") && !e.contains('\u{1b}'), "{e:?}");
        // The same address on another chain is not the token this machine knows.
        let other = token(r#", "symbol": "USDC", "decimals": 12"#).replace("31337", "1");
        let e = format!("{:#}", parse(&other, from, &config()).unwrap_err());
        assert!(e.contains("units"), "{e}");
    }

    #[test]
    fn an_unlisted_token_is_shown_in_base_units_with_its_call_data() {
        let from = Address::repeat_byte(1);
        let bare = ChainConfig::default();
        let e = format!("{:#}", parse(&token(""), from, &bare).unwrap_err());
        assert!(
            e.contains("not in this machine's config") && e.contains("units"),
            "{e}"
        );
        let f = token(r#", "symbol": "EVIL\u001b[2K", "decimals": 12"#)
            .replace(r#""value": "1.5""#, r#""units": "1500000""#);
        let r = parse(&f, from, &bare).unwrap();
        assert_eq!(transfer(&r).amount, U256::from(1_500_000u64));
        let lines = r.lines();
        let get = |k: &str| lines.iter().find(|(l, _)| *l == k).unwrap().1.clone();
        assert!(get("amount").starts_with("1500000 base units"), "{lines:?}");
        assert!(get("data").starts_with("0xa9059cbb"), "{lines:?}");
        assert!(lines.iter().all(|(_, v)| !v.contains("EVIL")));
    }

    #[test]
    fn refuses_bad_files() {
        let from = Address::repeat_byte(1);
        let c = config();
        for (bad, why) in [
            (file(r#", "extra": 1"#), "transaction file"),
            (file(r#", "units": "1""#), "both"),
            (file("").replace(r#""value": "1.5","#, ""), "no amount"),
            (
                file("").replace(r#""value": "1.5""#, r#""units": "1.5""#),
                "units",
            ),
            (file("").replace("31337", "0"), "chain id"),
            (file("").replace("1.5", "1.5.1"), "value"),
            (file("").replace("21000", "20000"), "gas_limit"),
            (file("").replace(TO, &TO.replace("aA", "Aa")), "checksum"),
            (file("").replace("\"2.5\"", "\"0.5\""), "priority"),
        ] {
            let e = format!("{:#}", parse(&bad, from, &c).unwrap_err());
            assert!(e.contains(why), "{e}");
        }
        // serde quotes an unknown field's name: the message comes out clean.
        let e = format!(
            "{:#}",
            parse(&file(r#", "x\u001b]52;c;AAAA\u0007": 1"#), from, &c).unwrap_err()
        );
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert!(decode_raw("0x1234").is_err());
        assert!(decode_raw("zz").is_err());
    }
}
