//! What a message or EIP-712 signature would sign, shown before signing.
//!
//! A signature is not harmless because it is not a transaction: an EIP-2612 `Permit` or a
//! Permit2 `PermitSingle`/`PermitBatch` lets whoever holds it move the signer's tokens. So the
//! domain, the primary type and the message are shown, and a permit or a domain for another
//! chain than the configured network is a loud warning. Everything shown comes from a file or
//! a dapp: every value is cleaned to one line and shortened.
use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::sanitize::{clean, clean_line};

/// The longest value shown on one line, in characters.
const MAX_VALUE: usize = 80;
/// Message fields shown before "… N more".
const MAX_FIELDS: usize = 40;
/// How deep nested structs are unfolded into `a.b.c` lines.
const MAX_DEPTH: usize = 3;

/// What the user sees before a signature, and the warnings that need more than a plain yes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignReview {
    pub lines: Vec<(String, String)>,
    /// Loud: `--yes` alone does not accept these.
    pub warnings: Vec<String>,
}

/// One line, at most [`MAX_VALUE`] characters, no control characters.
fn short(s: &str) -> String {
    let s = clean_line(s);
    if s.chars().count() > MAX_VALUE {
        format!("{}…", s.chars().take(MAX_VALUE).collect::<String>())
    } else {
        s.into_owned()
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(short(s)),
        Value::Number(n) => Some(short(&n.to_string())),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        _ => None,
    }
}

/// Flattens `v` into `path  value` lines: structs unfold to [`MAX_DEPTH`], short arrays of
/// scalars show inline, anything bigger is counted.
fn flatten(path: &str, v: &Value, depth: usize, out: &mut Vec<(String, String)>) {
    if let Some(s) = scalar(v) {
        out.push((path.to_owned(), s));
        return;
    }
    match v {
        Value::Array(items) => {
            let inline: Option<Vec<String>> = items.iter().map(scalar).collect();
            match inline {
                Some(xs) if xs.len() <= 3 => {
                    out.push((path.to_owned(), short(&format!("[{}]", xs.join(", ")))))
                }
                _ if depth < MAX_DEPTH && items.len() <= 3 => {
                    for (i, x) in items.iter().enumerate() {
                        flatten(&format!("{path}[{i}]"), x, depth + 1, out);
                    }
                }
                _ => out.push((path.to_owned(), format!("[{} items]", items.len()))),
            }
        }
        Value::Object(fields) if depth < MAX_DEPTH => {
            for (k, x) in fields {
                flatten(&format!("{path}.{}", short(k)), x, depth + 1, out);
            }
        }
        Value::Object(fields) => {
            out.push((path.to_owned(), format!("{{{} fields}}", fields.len())))
        }
        _ => {}
    }
}

/// A domain's chainId: a JSON number, or a decimal or 0x-hex string.
fn chain_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

/// The review of an EIP-712 document (eth_signTypedData_v4 JSON). `network` is the configured
/// network's name and chain id, when there is one.
pub fn typed_data(json: &str, network: Option<(&str, u64)>) -> Result<SignReview> {
    let doc: Value = serde_json::from_str(json).context("not EIP-712 typed data JSON")?;
    let Some(doc) = doc.as_object() else {
        bail!("not EIP-712 typed data: expected a JSON object");
    };
    let primary = doc
        .get("primaryType")
        .and_then(Value::as_str)
        .context("typed data has no primaryType")?;
    let domain = doc.get("domain").and_then(Value::as_object);
    let mut r = SignReview::default();
    let field = |k: &str| domain.and_then(|d| d.get(k));
    for (label, key) in [
        ("domain", "name"),
        ("version", "version"),
        ("chain id", "chainId"),
        ("contract", "verifyingContract"),
        ("salt", "salt"),
    ] {
        if let Some(v) = field(key) {
            let shown = scalar(v).unwrap_or_else(|| "(not a plain value)".into());
            r.lines.push((label.into(), shown));
        }
    }
    r.lines.push(("type".into(), short(primary)));
    let mut fields = Vec::new();
    if let Some(m) = doc.get("message") {
        flatten("message", m, 0, &mut fields);
    }
    let more = fields.len().saturating_sub(MAX_FIELDS);
    fields.truncate(MAX_FIELDS);
    r.lines.extend(fields);
    if more > 0 {
        r.lines
            .push(("…".into(), format!("{more} more fields not shown")));
    }
    if primary.starts_with("Permit") {
        r.warnings.push(format!(
            "DANGER: this is a token permit ({}). Whoever holds this signature can move the \
             tokens it names out of your account without any transaction from you. Check the \
             spender and the amount, and sign only for a site you trust.",
            short(primary)
        ));
    }
    match (field("chainId").map(chain_id), network) {
        (Some(Some(id)), Some((name, configured))) if id != configured => {
            r.warnings.push(format!(
                "DANGER: the domain is for chain id {id}, but the configured network {} is \
                 chain {configured}",
                short(name)
            ));
        }
        (Some(None), _) => r
            .warnings
            .push("DANGER: the domain's chainId is not a number keybot can read".into()),
        _ => {}
    }
    Ok(r)
}

/// The review of a personal_sign message: text as text (cleaned), bytes that are not plain
/// text as hex. `given_as_hex`: the user passed `0x…`.
pub fn message(bytes: &[u8], given_as_hex: bool) -> SignReview {
    let mut r = SignReview::default();
    let text = std::str::from_utf8(bytes).ok();
    let plain = text.is_some_and(|t| clean(t) == t);
    if given_as_hex || !plain {
        let hex = format!("0x{}", hex::encode(bytes));
        let shown = if hex.len() > 2 + 2 * 256 {
            format!("{}… ({} bytes)", &hex[..2 + 2 * 256], bytes.len())
        } else {
            hex
        };
        r.lines.push(("hex".into(), shown));
    }
    if let Some(t) = text {
        for (i, line) in clean(t).lines().enumerate() {
            r.lines
                .push((if i == 0 { "text" } else { "" }.into(), short(line)));
        }
    }
    r.lines
        .push(("length".into(), format!("{} bytes", bytes.len())));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERMIT: &str = r#"{
      "types": {"EIP712Domain": [], "Permit": []},
      "primaryType": "Permit",
      "domain": {"name": "USD Coin\u001b[2K", "version": "2", "chainId": 1,
                 "verifyingContract": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
      "message": {"owner": "0x1111111111111111111111111111111111111111",
                  "spender": "0x2222222222222222222222222222222222222222",
                  "value": "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                  "nonce": 0, "deadline": 99999999999,
                  "deep": {"a": {"b": {"c": {"d": 1}}}}, "list": [1, 2, 3, 4]}
    }"#;

    #[test]
    fn a_permit_is_shown_field_by_field_and_loud() {
        let r = typed_data(PERMIT, Some(("local", 31337))).unwrap();
        let get = |k: &str| r.lines.iter().find(|(l, _)| l == k).map(|(_, v)| v.clone());
        assert_eq!(get("domain").unwrap(), "USD Coin");
        assert_eq!(get("chain id").unwrap(), "1");
        assert_eq!(get("type").unwrap(), "Permit");
        assert!(get("message.spender").unwrap().starts_with("0x2222"));
        assert!(get("message.value").unwrap().starts_with("11579"));
        assert_eq!(get("message.deep.a.b").unwrap(), "{1 fields}");
        assert_eq!(get("message.list").unwrap(), "[4 items]");
        assert!(r.warnings.iter().any(|w| w.contains("permit")));
        assert!(r.warnings.iter().any(|w| w.contains("chain id 1")));
        for (k, v) in &r.lines {
            assert!(
                !k.chars().chain(v.chars()).any(char::is_control),
                "{k} {v:?}"
            );
        }
        // The configured chain, a non-permit type: nothing loud.
        let mail = PERMIT.replace("\"Permit\"", "\"Mail\"");
        assert!(
            typed_data(&mail, Some(("main", 1)))
                .unwrap()
                .warnings
                .is_empty()
        );
        assert!(typed_data(&mail, None).unwrap().warnings.is_empty());
        assert!(typed_data("[]", None).is_err());
    }

    #[test]
    fn messages_show_text_cleaned_and_bytes_as_hex() {
        let r = message(b"hello\nworld", false);
        assert_eq!(r.lines[0], ("text".into(), "hello".into()));
        assert_eq!(r.lines[1], ("".into(), "world".into()));
        let r = message(b"pay \x1b]52;c;AAAA\x07 me", false);
        assert_eq!(r.lines[0].0, "hex");
        assert!(
            r.lines
                .iter()
                .all(|(_, v)| !v.chars().any(char::is_control))
        );
        let r = message(&[0xff, 0x00], true);
        assert_eq!(r.lines[0], ("hex".into(), "0xff00".into()));
        assert_eq!(
            r.lines.len(),
            2,
            "no text line for bytes that are not UTF-8"
        );
    }
}
