//! Numbers that only their words reveal: "Call me on 0285601815", "My number is +49(0) 852808414",
//! "I paid with 501818263300". A bare run of digits is ambiguous (an id, an order number), so the
//! generic detectors leave it; right after a word that says what it is (call, phone, number,
//! mobile…; card, visa, paid with…) it is a phone number, or a card when it is also Luhn-valid.
use crate::finance::luhn;
use crate::scan::{number_end, number_start, word_start};
use crate::{Kind, Span};

const PHONE_WORDS: &[&str] = &[
    "call",
    "phone",
    "number",
    "tel",
    "telephone",
    "mobile",
    "cell",
    "text",
    "whatsapp",
    "ring",
    "fax",
    "reach",
    "landline",
    "handy",
];
const CARD_WORDS: &[&str] = &[
    "card",
    "visa",
    "mastercard",
    "amex",
    "credit",
    "debit",
    "maestro",
];
/// How far after its word a number may start (a few small words: "me on", "is", ": ").
const REACH: usize = 24;

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    // Driven by the numbers (far fewer than the words): each one that may start here is checked
    // against the words just before it.
    while i < t.len() {
        let b = t[i];
        // A word and the digits glued to it never start a number: passed over in one go.
        if b.is_ascii_alphabetic() {
            i = crate::scan::run_end(t, i, |b| b.is_ascii_alphanumeric());
            continue;
        }
        let candidate = (b.is_ascii_digit() || b == b'+' || b == b'(') && number_start(t, i);
        if !candidate {
            i += 1;
            continue;
        }
        if let Some(kind) = announced(t, i)
            && let Some((start, end)) = number_after(t, i, kind)
        {
            out.push(Span { start, end, kind });
            i = end;
            continue;
        }
        i += 1;
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
    }
}

/// The kind the words within [`REACH`] bytes before `at` announce (the nearest first), on the
/// same line.
fn announced(t: &[u8], at: usize) -> Option<Kind> {
    let from = at.saturating_sub(REACH);
    let mut e = at;
    let mut found = None;
    while e > from {
        // The word that ends at or before `e`.
        while e > from && !t[e - 1].is_ascii_alphabetic() {
            if t[e - 1] == b'\n' || t[e - 1].is_ascii_digit() {
                return found;
            }
            e -= 1;
        }
        let mut s = e;
        while s > 0 && t[s - 1].is_ascii_alphabetic() {
            s -= 1;
        }
        if s == e || !word_start(t, s) {
            return found;
        }
        // The word before it ("paid" before "with").
        let before = {
            let mut k = s;
            while k > 0 && !t[k - 1].is_ascii_alphabetic() && t[k - 1] != b'\n' {
                k -= 1;
            }
            let mut ps = k;
            while ps > 0 && t[ps - 1].is_ascii_alphabetic() {
                ps -= 1;
            }
            &t[ps..k]
        };
        match word_kind(&t[s..e], before) {
            // A card's word is the more telling: "Card number 4111…" is a card.
            Some(Kind::PaymentCard) => return Some(Kind::PaymentCard),
            Some(kind) => found = found.or(Some(kind)),
            None => {}
        }
        e = s;
    }
    found
}

/// What a word announces: a card, a phone number, or nothing. Most words are too long or too
/// short to be any of them, which is checked first (this runs on every word of the text).
fn word_kind(word: &[u8], prev: &[u8]) -> Option<Kind> {
    if !(3..=10).contains(&word.len()) {
        return None;
    }
    let mut buf = [0u8; 10];
    for (b, w) in buf.iter_mut().zip(word) {
        *b = w.to_ascii_lowercase();
    }
    let lower = &buf[..word.len()];
    let is = |list: &[&str]| list.iter().any(|w| w.as_bytes() == lower);
    if is(CARD_WORDS) || (lower == b"with" && prev.eq_ignore_ascii_case(b"paid")) {
        Some(Kind::PaymentCard)
    } else if is(PHONE_WORDS) {
        Some(Kind::Phone)
    } else {
        None
    }
}

/// The number that starts at `p`, if it has the shape of `kind`.
fn number_after(t: &[u8], p: usize, kind: Kind) -> Option<(usize, usize)> {
    let mut q = p;
    let mut digits = 0;
    let mut groups: Vec<usize> = vec![0];
    while q < t.len() {
        let b = t[q];
        let next_digit = t.get(q + 1).is_some_and(u8::is_ascii_digit);
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if let Some(g) = groups.last_mut() {
                    *g += 1;
                }
            }
            b'+' if q == p => {}
            b'(' | b')' => groups.push(0),
            b' ' | b'-' | b'.' | b'/' if next_digit || t.get(q + 1) == Some(&b'(') => {
                groups.push(0)
            }
            // An extension: "559.689.8347x887".
            b'x' if kind == Kind::Phone && digits > 0 && next_digit => {
                let ext = t[q + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                q += 1 + ext;
                break;
            }
            _ => break,
        }
        q += 1;
    }
    if !number_end(t, q) {
        return None;
    }
    let groups: Vec<usize> = groups.into_iter().filter(|&g| g > 0).collect();
    // A date or a time is not a number to call.
    let dated = matches!(
        groups.as_slice(),
        [4, 2, 2] | [2, 2, 4] | [1 | 2, 1 | 2, 4] | [2, 2]
    );
    let ok = match kind {
        Kind::Phone => (7..=15).contains(&digits) && !dated,
        _ => {
            (12..=19).contains(&digits)
                && luhn(
                    t[p..q]
                        .iter()
                        .filter(|b| b.is_ascii_digit())
                        .map(|b| b - b'0'),
                )
        }
    };
    ok.then_some((p, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Kind, &str)> {
        crate::found_by(find, text)
    }

    #[test]
    fn numbers_their_words_reveal() {
        assert_eq!(
            found("Call me on 0285601815."),
            [(Kind::Phone, "0285601815")]
        );
        assert_eq!(
            found("My number is +49(0) 852808414"),
            [(Kind::Phone, "+49(0) 852808414")]
        );
        assert_eq!(
            found("Text 559.689.8347x887 when"),
            [(Kind::Phone, "559.689.8347x887")]
        );
        assert_eq!(
            found("I paid with 501818263300."),
            [(Kind::PaymentCard, "501818263300")]
        );
        assert_eq!(
            found("Card number 180057975432313, it"),
            [(Kind::PaymentCard, "180057975432313")]
        );
    }

    #[test]
    fn without_their_words_or_their_shape_numbers_stay() {
        for text in [
            "Order 0285601815 shipped.",
            "Call me on 2024-05-17 please.",
            "Call me at 12:30.",
            "the number 42 is small",
            "card 1234567890123 is not Luhn-valid",
            "text me\n0285601815",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }
}
