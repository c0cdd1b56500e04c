//! Checks on a recipient before anything is signed.
//!
//! Address poisoning: an attacker sends a dust transfer from an address whose first and last
//! hex digits match one the user really uses, hoping the user copies it from their history.
//! Wallets show addresses shortened (`0x1234…abcd`), which is exactly what the fake matches.
use alloy::primitives::Address;
use anyhow::{Result, bail};

use crate::store::Counterparties;

/// Parses an address typed or pasted by the user. All-lowercase or all-uppercase hex carries no
/// checksum and is accepted; mixed case must be a valid EIP-55 checksum, since a mixed-case
/// address with a wrong checksum is almost certainly mistyped. Names (ENS) are not resolved.
pub fn parse_address(text: &str) -> Result<Address> {
    let t = text.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        if t.contains('.') {
            bail!("{t:?}: names such as ENS are not resolved; paste the 0x address");
        }
        bail!("{t:?} is not an address (expected 0x and 40 hex digits)");
    }
    let addr: Address = format!("0x{hex}")
        .parse()
        .map_err(|_| anyhow::anyhow!("{t:?} is not an address"))?;
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && addr.to_checksum(None)[2..] != *hex {
        bail!("{t:?}: the EIP-55 checksum (the mix of capitals) is wrong; check for a typo");
    }
    Ok(addr)
}

/// Something the user must see before confirming a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Never sent to before (having received from it does not count: poisoners send first).
    NewAddress,
    /// Shares the first and last four hex digits with an address the user knows, but is not it:
    /// the mark of address poisoning.
    LooksLike(Address),
    /// The recipient is the token contract itself; tokens sent there are usually lost.
    TokenContract,
    /// Sending to one of the user's own accounts.
    OwnAccount,
}

impl Warning {
    /// Loud warnings ask for an explicit, typed confirmation.
    pub fn is_loud(&self) -> bool {
        matches!(self, Warning::LooksLike(_) | Warning::TokenContract)
    }

    pub fn message(&self, to: Address) -> String {
        match self {
            Warning::NewAddress => format!(
                "first send to {}: you have never sent to this address before",
                to.to_checksum(None)
            ),
            Warning::LooksLike(known) => format!(
                "DANGER: {} looks like {} (same first and last 4 hex digits) but is a different \
                 address. This is how address poisoning works: compare every character.",
                to.to_checksum(None),
                known.to_checksum(None)
            ),
            Warning::TokenContract => {
                "DANGER: the recipient is the token contract itself; tokens sent there are lost"
                    .to_owned()
            }
            Warning::OwnAccount => "the recipient is one of your own accounts".to_owned(),
        }
    }
}

/// `0x1234…abcd`: the part of an address people actually compare.
pub fn short(a: Address) -> String {
    let s = a.to_checksum(None);
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

fn ends(a: &Address) -> ([u8; 2], [u8; 2]) {
    let b = a.as_slice();
    ([b[0], b[1]], [b[18], b[19]])
}

/// Warnings for sending to `to`, given the addresses the user has dealt with, their own
/// accounts, and the token contract when sending a token.
pub fn check_recipient(
    to: Address,
    known: &Counterparties,
    own: &[Address],
    token: Option<Address>,
) -> Vec<Warning> {
    let mut w = Vec::new();
    if token == Some(to) {
        w.push(Warning::TokenContract);
    }
    if let Some(look) = known
        .sent_to
        .iter()
        .chain(&known.received_from)
        .chain(own)
        .find(|k| **k != to && ends(k) == ends(&to))
    {
        w.push(Warning::LooksLike(*look));
    }
    if own.contains(&to) {
        w.push(Warning::OwnAccount);
    } else if !known.sent_to.contains(&to) {
        w.push(Warning::NewAddress);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(to: &[Address]) -> Counterparties {
        Counterparties {
            sent_to: to.to_vec(),
            received_from: vec![],
        }
    }

    const A: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    #[test]
    fn eip55_enforced_for_mixed_case_only() {
        let a = parse_address(A).unwrap();
        assert_eq!(parse_address(&A.to_lowercase()).unwrap(), a);
        assert_eq!(
            parse_address(&format!("0x{}", A[2..].to_uppercase())).unwrap(),
            a
        );
        assert_eq!(parse_address(&A[2..]).unwrap(), a);
        let bad = A.replace("aA", "Aa");
        assert!(
            parse_address(&bad)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        assert!(
            parse_address("vitalik.eth")
                .unwrap_err()
                .to_string()
                .contains("ENS")
        );
        assert!(parse_address("0x123").is_err());
        assert!(parse_address("").is_err());
    }

    #[test]
    fn poisoning_lookalike_is_loud() {
        let real: Address = "0x123400000000000000000000000000000000abcd"
            .parse()
            .unwrap();
        let fake: Address = "0x1234ffffffffffffffffffffffffffffffffabcd"
            .parse()
            .unwrap();
        let w = check_recipient(fake, &sent(&[real]), &[], None);
        assert_eq!(w, vec![Warning::LooksLike(real), Warning::NewAddress]);
        assert!(w[0].is_loud());
        assert!(w[0].message(fake).contains("poisoning"));
        // The real one: known, so no warning at all.
        assert!(check_recipient(real, &sent(&[real]), &[], None).is_empty());
        // The poisoner's dust came *from* the fake: that makes it neither trusted nor quiet.
        let dusted = Counterparties {
            sent_to: vec![real],
            received_from: vec![fake],
        };
        assert_eq!(
            check_recipient(fake, &dusted, &[], None),
            vec![Warning::LooksLike(real), Warning::NewAddress]
        );
        // A look-alike of one's own account counts too.
        assert_eq!(
            check_recipient(fake, &sent(&[]), &[real], None)[0],
            Warning::LooksLike(real)
        );
    }

    #[test]
    fn first_send_own_account_and_token_contract() {
        let me = Address::repeat_byte(1);
        let other = Address::repeat_byte(2);
        assert_eq!(
            check_recipient(other, &sent(&[]), &[me], None),
            vec![Warning::NewAddress]
        );
        assert_eq!(
            check_recipient(me, &sent(&[]), &[me], None),
            vec![Warning::OwnAccount]
        );
        let token = Address::repeat_byte(3);
        assert_eq!(
            check_recipient(token, &sent(&[token]), &[me], Some(token)),
            vec![Warning::TokenContract]
        );
        assert_eq!(short(other), "0x0202…0202");
    }
}
