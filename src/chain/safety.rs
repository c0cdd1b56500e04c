//! Checks on a recipient before anything is signed.
//!
//! Address poisoning: an attacker sends a dust transfer from an address whose first and last
//! hex digits match one the user really uses, hoping the user copies it from their history.
//! Wallets show addresses shortened (`0x1234…abcd`), which is exactly what the fake matches.
//! Generating a match on 3+3 hex digits takes seconds, on 4+4 minutes, so any address sharing
//! at least 3 leading and 3 trailing hex digits with a known one is treated as a look-alike.
//!
//! The typed confirmation of a loud warning asks for characters the look-alike does *not*
//! share (the first ones after the common prefix); asking for the last four, which the fake
//! was made to match, would confirm nothing.
use alloy::primitives::{Address, U256};

use super::amount;
use crate::store::Counterparties;

/// Why typed or pasted text is not an address. Quoted with `{:?}`: control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0:?}: names such as ENS are not resolved; paste the 0x address")]
    Name(String),
    #[error("{0:?} is not an address (expected 0x and 40 hex digits)")]
    NotHex(String),
    #[error("{0:?}: the EIP-55 checksum (the mix of capitals) is wrong; check for a typo")]
    Checksum(String),
}

/// Parses an address typed or pasted by the user. All-lowercase or all-uppercase hex carries no
/// checksum and is accepted; mixed case must be a valid EIP-55 checksum, since a mixed-case
/// address with a wrong checksum is almost certainly mistyped. Names (ENS) are not resolved.
pub fn parse_address(text: &str) -> Result<Address, AddressError> {
    let t = text.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        if t.contains('.') {
            return Err(AddressError::Name(t.to_owned()));
        }
        return Err(AddressError::NotHex(t.to_owned()));
    }
    let addr: Address = format!("0x{hex}")
        .parse()
        .map_err(|_| AddressError::NotHex(t.to_owned()))?;
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && addr.to_checksum(None)[2..] != *hex {
        return Err(AddressError::Checksum(t.to_owned()));
    }
    Ok(addr)
}

/// Something the user must see before confirming a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Never sent to before (having received from it does not count: poisoners send first).
    NewAddress,
    /// Shares at least the first and last three hex digits with an address the user knows, but
    /// is not it: the mark of address poisoning.
    LooksLike(Address),
    /// The recipient is the token contract itself; tokens sent there are usually lost.
    TokenContract,
    /// Sending to one of the user's own accounts.
    OwnAccount,
    /// The fee cap per gas is far above what the node says a block costs now (wei per gas).
    FeeAboveBaseFee {
        max_fee_per_gas: u128,
        base_fee: u128,
    },
    /// The most the fee can cost is over 1% of the ETH sent (both in wei).
    FeeLargeVsAmount { fee_cap: U256, amount: U256 },
    /// An address argument of a contract call (a spender, a recipient) looks like one the user
    /// knows but is not it.
    ArgumentLooksLike {
        name: String,
        address: Address,
        known: Address,
    },
    /// The bot's model proposed this transaction: it signs nothing, the user does.
    ProposedByModel,
    /// The model proposed sending to an address the user never typed in the conversation (it
    /// came from a tool result, a stranger's text, or nowhere).
    NotTypedByUser,
}

impl Warning {
    /// Loud warnings ask for an explicit, typed confirmation.
    pub fn is_loud(&self) -> bool {
        matches!(
            self,
            Warning::LooksLike(_)
                | Warning::NotTypedByUser
                | Warning::ArgumentLooksLike { .. }
                | Warning::TokenContract
                | Warning::FeeAboveBaseFee { .. }
                | Warning::FeeLargeVsAmount { .. }
        )
    }

    pub fn message(&self, to: Address) -> String {
        match self {
            Warning::NewAddress => format!(
                "first send to {}: you have never sent to this address before",
                to.to_checksum(None)
            ),
            Warning::LooksLike(known) => format!(
                "DANGER: {} looks like {} (same first and last hex digits) but is a different \
                 address. This is how address poisoning works: compare every character.",
                to.to_checksum(None),
                known.to_checksum(None)
            ),
            Warning::TokenContract => {
                "DANGER: the recipient is the token contract itself; tokens sent there are lost"
                    .to_owned()
            }
            Warning::OwnAccount => "the recipient is one of your own accounts".to_owned(),
            Warning::ProposedByModel => {
                "proposed by your model: it signs nothing; check every line before you do"
                    .to_owned()
            }
            Warning::NotTypedByUser => format!(
                "DANGER: proposed by the model, from text you did not write: you never typed {} \
                 in this conversation. Compare every character with where you got it.",
                to.to_checksum(None)
            ),
            Warning::FeeAboveBaseFee {
                max_fee_per_gas,
                base_fee,
            } => format!(
                "DANGER: the fee cap of {} gwei/gas is more than {FEE_BASE_MULTIPLE}× the node's \
                 current base fee ({} gwei/gas); the RPC may be lying about fees",
                amount::format_gwei(*max_fee_per_gas),
                amount::format_gwei(*base_fee)
            ),
            Warning::ArgumentLooksLike {
                name,
                address,
                known,
            } => format!(
                "DANGER: the call's {name} {} looks like {} (same first and last hex digits) but \
                 is a different address. This is how address poisoning works: compare every \
                 character.",
                address.to_checksum(None),
                known.to_checksum(None)
            ),
            Warning::FeeLargeVsAmount { fee_cap, amount } => format!(
                "DANGER: the fee could cost up to {} ETH, more than 1% of the {} ETH sent",
                amount::format(*fee_cap, 18),
                amount::format(*amount, 18)
            ),
        }
    }
}

/// A fee cap per gas above this multiple of the node's base fee is a loud warning.
pub const FEE_BASE_MULTIPLE: u128 = 5;
/// Base fees below this (1 gwei) are judged as if they were this: on a quiet chain the base fee
/// falls to a few wei, and an ordinary tip alone would then look like many times the base fee.
pub const FEE_BASE_FLOOR: u128 = 1_000_000_000;

/// Loud warnings about the fee a node proposed: `base_fee` is the latest block's base fee as the
/// node reports it (None when it reports none), `eth_amount` the ETH sent (zero for a token).
pub fn check_fee(
    max_fee_per_gas: u128,
    base_fee: Option<u128>,
    fee_cap: U256,
    eth_amount: U256,
) -> Vec<Warning> {
    let mut w = Vec::new();
    let base = base_fee.unwrap_or(0);
    if max_fee_per_gas > base.max(FEE_BASE_FLOOR).saturating_mul(FEE_BASE_MULTIPLE) {
        w.push(Warning::FeeAboveBaseFee {
            max_fee_per_gas,
            base_fee: base,
        });
    }
    // fee_cap > 1% of amount, without dividing: fee_cap * 100 > amount (saturating: a fee cap
    // that large is over 1% of anything).
    if !eth_amount.is_zero() && fee_cap.saturating_mul(U256::from(100)) > eth_amount {
        w.push(Warning::FeeLargeVsAmount {
            fee_cap,
            amount: eth_amount,
        });
    }
    w
}

/// What the user types to confirm a loud warning: `answer`, the characters of the recipient
/// that come right after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub after: String,
    pub answer: String,
}

impl Challenge {
    /// The question, ending in what typing the answer does ("sign and send").
    pub fn prompt(&self, what: &str) -> String {
        format!(
            "Type the {} characters that come after {} in the recipient's address to {what}: ",
            self.answer.len(),
            self.after
        )
    }

    pub fn accepts(&self, typed: &str) -> bool {
        typed.trim().eq_ignore_ascii_case(&self.answer)
    }
}

/// Four characters of `to` to type back. With a look-alike, the first four after the prefix
/// the two share, so the answer is exactly where they differ; otherwise the middle four.
pub fn challenge(to: Address, warnings: &[Warning]) -> Challenge {
    let s = to.to_checksum(None);
    let hex = &s[2..];
    let start = match warnings.iter().find_map(|w| match w {
        Warning::LooksLike(known) => Some(*known),
        _ => None,
    }) {
        Some(known) => {
            let k = known.to_checksum(None);
            let common = hex
                .bytes()
                .zip(k[2..].bytes())
                .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                .count();
            common.min(hex.len() - 4)
        }
        None => hex.len() / 2 - 2,
    };
    Challenge {
        after: s[..2 + start].to_owned(),
        answer: hex[start..start + 4].to_owned(),
    }
}

/// `0x1234…abcd`: the part of an address people actually compare.
pub fn short(a: Address) -> String {
    let s = a.to_checksum(None);
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

/// Hex digits at each end that make two addresses look alike.
const LOOKALIKE_DIGITS: usize = 3;

/// Whether two different addresses share the first and last [`LOOKALIKE_DIGITS`] hex digits.
fn looks_alike(a: &Address, b: &Address) -> bool {
    let (a, b) = (hex::encode(a), hex::encode(b));
    let n = LOOKALIKE_DIGITS;
    a != b && a[..n] == b[..n] && a[a.len() - n..] == b[b.len() - n..]
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
        .find(|k| looks_alike(k, &to))
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

/// Warnings for a contract call: the contract, and every address among its arguments, must not
/// be a look-alike of an address the user knows. (A first call to a contract is not flagged:
/// the market's calls go to the configured contract.)
pub fn check_call(
    contract: Address,
    address_args: &[(String, Address)],
    known: &Counterparties,
    own: &[Address],
) -> Vec<Warning> {
    let look = |a: &Address| {
        known
            .sent_to
            .iter()
            .chain(&known.received_from)
            .chain(own)
            .find(|k| looks_alike(k, a))
            .copied()
    };
    let mut w: Vec<Warning> = look(&contract)
        .map(Warning::LooksLike)
        .into_iter()
        .collect();
    for (name, address) in address_args {
        if let Some(known) = look(address) {
            w.push(Warning::ArgumentLooksLike {
                name: crate::sanitize::clean_line(name).into_owned(),
                address: *address,
                known,
            });
        }
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
    fn three_and_three_digit_lookalikes_are_caught() {
        let real: Address = "0x1230000000000000000000000000000000000bcd"
            .parse()
            .unwrap();
        // Shares 3 leading and 3 trailing hex digits only: cheap to generate, still a poisoner.
        let fake: Address = "0x123fffffffffffffffffffffffffffffffff0bcd"
            .parse()
            .unwrap();
        assert_eq!(
            check_recipient(fake, &sent(&[real]), &[], None)[0],
            Warning::LooksLike(real)
        );
        // Two shared at one end is not enough.
        let other: Address = "0x12ffffffffffffffffffffffffffffffffff0bcd"
            .parse()
            .unwrap();
        assert_eq!(
            check_recipient(other, &sent(&[real]), &[], None),
            vec![Warning::NewAddress]
        );
    }

    #[test]
    fn the_confirmation_asks_for_characters_the_lookalike_does_not_share() {
        let real: Address = "0x123400000000000000000000000000000000abcd"
            .parse()
            .unwrap();
        let fake: Address = "0x1234ffffffffffffffffffffffffffffffffabcd"
            .parse()
            .unwrap();
        let w = check_recipient(fake, &sent(&[real]), &[], None);
        let c = challenge(fake, &w);
        assert_eq!(c.after, "0x1234");
        assert!(c.accepts("ffff") && c.accepts(" FFFF "));
        // What the look-alike shares with the real address is never the answer.
        assert!(!c.accepts("abcd") && !c.accepts("0000"));
        let real_hex = hex::encode(real);
        assert!(!real_hex[4..8].eq_ignore_ascii_case(&c.answer));
        assert!(c.prompt("sign").contains("after 0x1234"));
        // With no look-alike (the token contract): the middle four.
        let t = Address::repeat_byte(0xab);
        let c = challenge(t, &[Warning::TokenContract]);
        assert_eq!(c.after.len(), 2 + 18);
        assert!(c.accepts("abab"));
    }

    #[test]
    fn fees_far_above_the_base_fee_or_the_amount_are_loud() {
        let gwei = 1_000_000_000u128;
        // An ordinary fee: quiet.
        assert!(
            check_fee(
                3 * gwei,
                Some(gwei),
                U256::from(63_000 * gwei),
                U256::from(10u128.pow(18))
            )
            .is_empty()
        );
        // A tip over a tiny base fee is judged against the 1 gwei floor.
        assert!(check_fee(2 * gwei, Some(7), U256::ZERO, U256::ZERO).is_empty());
        let w = check_fee(500 * gwei, Some(gwei), U256::ZERO, U256::ZERO);
        assert!(matches!(w[..], [Warning::FeeAboveBaseFee { .. }]) && w[0].is_loud());
        assert!(w[0].message(Address::ZERO).contains("500 gwei"));
        // No base fee reported counts as none at all.
        assert!(!check_fee(50 * gwei, None, U256::ZERO, U256::ZERO).is_empty());
        // A fee cap over 1% of the ETH sent.
        let w = check_fee(gwei, Some(gwei), U256::from(2u64), U256::from(100u64));
        assert!(matches!(w[..], [Warning::FeeLargeVsAmount { .. }]) && w[0].is_loud());
        assert!(check_fee(gwei, Some(gwei), U256::from(1u64), U256::from(100u64)).is_empty());
        // Huge numbers neither overflow nor pass.
        assert!(!check_fee(u128::MAX, Some(u128::MAX), U256::MAX, U256::from(1u64)).is_empty());
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
