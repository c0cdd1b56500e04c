//! Payment cards and IBANs.
//!
//! Cards: 13–19 digits, unbroken or in the groups printed on cards (4-4-4-4, 4-4-4-4-3, Amex
//! 4-6-5, Diners 4-6-4) with spaces or dashes, starting with 2–6 (the networks' ranges: an ISBN's
//! 978 and a millisecond timestamp's 1 are not cards), and Luhn-valid.
//!
//! IBANs: a country code (of the countries that use them) and two check digits, then the
//! country's length in letters and digits, unbroken or in groups of four, valid mod 97.

use crate::scan::{number_end, number_start, word_end, word_start};
use crate::{Kind, Span};

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        if b.is_ascii_digit() && number_start(t, i) {
            if let Some(end) = card_at(t, i) {
                out.push(Span {
                    start: i,
                    end,
                    kind: Kind::PaymentCard,
                });
                i = end;
                continue;
            }
            while i < t.len() && t[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        if b.is_ascii_uppercase() && word_start(t, i) {
            if let Some(end) = iban_at(t, i) {
                out.push(Span {
                    start: i,
                    end,
                    kind: Kind::Iban,
                });
                i = end;
                continue;
            }
            while i < t.len() && t[i].is_ascii_alphanumeric() {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
}

/// The end of a card number starting at `s`.
fn card_at(t: &[u8], s: usize) -> Option<usize> {
    if !issuer_prefix(&t[s..]) {
        return None;
    }
    let mut lens = [0usize; 6];
    let mut n = 0;
    let mut sep = 0u8;
    let mut p = s;
    let mut end;
    loop {
        let e = p + t[p..]
            .iter()
            .take(19)
            .take_while(|b| b.is_ascii_digit())
            .count();
        lens[n] = e - p;
        n += 1;
        end = e;
        let next = t.get(e).copied();
        let more = matches!(next, Some(b' ' | b'-'))
            && (sep == 0 || next == Some(sep))
            && t.get(e + 1).is_some_and(u8::is_ascii_digit)
            && n < lens.len();
        if !more {
            break;
        }
        sep = next.unwrap_or(0);
        p = e + 1;
    }
    let lens = &lens[..n];
    let total: usize = lens.iter().sum();
    let grouped = match lens {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
        [] => false,
    };
    if !grouped || !(13..=19).contains(&total) || !number_end(t, end) {
        return None;
    }
    // Grouped digits in a table of numbers ("5740 5775 5810 5846 5882 5917") are not a card.
    if n > 1 && in_table(t, s, end, sep) {
        return None;
    }
    let digits = t[s..end]
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0');
    luhn(digits).then_some(end)
}

/// The networks' ranges (IINs): Mastercard 2221–2720 and 51–55, Amex 34/37, Diners 30/36/38,
/// JCB 35, Visa 4, Discover and UnionPay 60/62/64/65. `2022…` (a timestamp), `978…` (an ISBN)
/// and `1…` (epoch milliseconds) are none of them.
fn issuer_prefix(t: &[u8]) -> bool {
    let d = |i: usize| {
        t.get(i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| (b - b'0') as u32)
    };
    let (Some(a), Some(b)) = (d(0), d(1)) else {
        return false;
    };
    match a {
        2 => {
            // Four digits, unless a separator follows the first group early.
            let four = (|| Some(a * 1000 + b * 100 + d(2)? * 10 + d(3)?))();
            four.is_some_and(|n| (2221..=2720).contains(&n))
        }
        3 => matches!(b, 0 | 4 | 5 | 6 | 7 | 8),
        4 => true,
        5 => (1..=5).contains(&b),
        6 => matches!(b, 0 | 2 | 4 | 5),
        _ => false,
    }
}

/// The number `s..end`, written in groups separated by `sep`, has another group of digits
/// right before or after it.
pub(crate) fn in_table(t: &[u8], s: usize, end: usize, sep: u8) -> bool {
    let digit = |i: usize| t.get(i).is_some_and(u8::is_ascii_digit);
    (s >= 2 && t[s - 1] == sep && digit(s - 2)) || (t.get(end) == Some(&sep) && digit(end + 1))
}

pub(crate) fn luhn(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = d as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Countries with IBANs and their lengths (SWIFT's IBAN registry).
#[rustfmt::skip] // a table: one entry a line reads better than rustfmt's layout
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16),
    (b"BG", 22), (b"BH", 22), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22), (b"CY", 28),
    (b"CZ", 24), (b"DE", 22), (b"DK", 18), (b"DO", 28), (b"EE", 20), (b"EG", 29), (b"ES", 24),
    (b"FI", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22), (b"GE", 22), (b"GI", 23), (b"GL", 18),
    (b"GR", 27), (b"GT", 28), (b"HR", 21), (b"HU", 28), (b"IE", 22), (b"IL", 23), (b"IQ", 23),
    (b"IS", 26), (b"IT", 27), (b"JO", 30), (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32),
    (b"LI", 21), (b"LT", 20), (b"LU", 20), (b"LV", 21), (b"MC", 27), (b"MD", 24), (b"ME", 22),
    (b"MK", 19), (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NL", 18), (b"NO", 15), (b"PK", 24),
    (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22), (b"SA", 24),
    (b"SC", 31), (b"SE", 24), (b"SI", 19), (b"SK", 24), (b"SM", 27), (b"ST", 25), (b"SV", 28),
    (b"TL", 23), (b"TN", 24), (b"TR", 26), (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20),
];

/// The end of an IBAN starting at `s`.
fn iban_at(t: &[u8], s: usize) -> Option<usize> {
    let head = t.get(s..s + 4)?;
    if !head[2].is_ascii_digit() || !head[3].is_ascii_digit() {
        return None;
    }
    let len = IBAN_LENGTHS.iter().find(|(c, _)| c[..] == head[..2])?.1;
    // Read `len` letters and digits; a single space may stand after every fourth.
    let mut chars = [0u8; 34];
    let mut n = 0;
    let mut p = s;
    let mut spaced = None;
    while n < len {
        if n > 0 && n % 4 == 0 {
            // Spaces after every group of four, or none at all.
            let space = t.get(p) == Some(&b' ');
            match spaced {
                None => spaced = Some(space),
                Some(s) if s != space => return None,
                _ => {}
            }
            if space {
                p += 1;
            }
        }
        let b = *t.get(p)?;
        if !(b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return None;
        }
        chars[n] = b;
        n += 1;
        p += 1;
    }
    if !word_end(t, p) {
        return None;
    }
    // Mod 97 of the number made by moving the first four to the end, letters as 10..35.
    let mut rem = 0u32;
    for &c in chars[4..len].iter().chain(&chars[..4]) {
        rem = if c.is_ascii_digit() {
            (rem * 10 + (c - b'0') as u32) % 97
        } else {
            (rem * 100 + (c - b'A' + 10) as u32) % 97
        };
    }
    (rem == 1).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Kind, &str)> {
        crate::found_by(find, text)
    }

    #[test]
    fn cards_grouped_and_unbroken() {
        for c in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5500 0000 0000 0004",
            "3782 822463 10005",
            "6011000990139424",
            "4222222222222",
            "2223 0000 4841 0010",
        ] {
            let t = format!("card: {c}, exp 12/27");
            assert_eq!(found(&t), [(Kind::PaymentCard, c)], "{t}");
        }
    }

    #[test]
    fn numbers_that_are_not_cards_are_kept() {
        for t in [
            "4111 1111 1111 1112",
            "ISBN 978-3-16-148410-0 and 9783161484100",
            "timestamp 1715939200123",
            "order #4111111111111111",
            "amount 4111111111111111.50",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "2024-05-17 and 1.2.3",
            "5635 5670 5705 5740 5775 5810 5846 5882 5917",
            "/CreationDate (D:20221021163447+09'00')",
        ] {
            assert!(
                found(t).iter().all(|(k, _)| *k != Kind::PaymentCard),
                "{t}: {:?}",
                found(t)
            );
        }
    }

    #[test]
    fn ibans_with_and_without_spaces() {
        for i in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "GB82 WEST 1234 5698 7654 32",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91ABNA0417164300",
            "CH93 0076 2011 6238 5295 7",
        ] {
            let t = format!("IBAN: {i}. Thanks");
            assert_eq!(found(&t), [(Kind::Iban, i)], "{t}");
        }
    }

    #[test]
    fn iban_like_words_are_kept() {
        for t in [
            "DE89370400440532013001",
            "DE89 3704 0044 0532 0130 0",
            "DE89370400440532013000X",
            "XX89370400440532013000",
            "DE12 is a code, GB82 too",
            "de89370400440532013000",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
