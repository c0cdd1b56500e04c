//! Phone numbers as people write them:
//! - international: `+` and 8–15 digits in groups (`+4915112345678`, `+49 30 1234567`,
//!   `+44 20 7946 0958`, `+33 1 23 45 67 89`, `+1 (555) 123-4567`, `+49 (0)30 1234567`);
//! - North American: `(555) 123-4567`, `555-123-4567`, `555.123.4567`, `1 (555) 123-4567`, with an
//!   optional leading `1`; the area code starts with 2–9, as the numbering plan says (the
//!   exchange too, but `555-123-4567` is how people write an example, so it is not checked);
//! - national with a trunk `0` (DE, UK, FR and most of Europe): 9–12 digits in at least two groups
//!   with one kind of separator (`030 1234567`, `030/1234567`, `0151-12345678`, `020 7946 0958`,
//!   `01 23 45 67 89`); with dots only the French `01.23.45.67.89`.
//!
//! A run of digits without separators is only a phone number after a `+`: a bare `0301234567` may
//! as well be an id. Dates (`05/17/2024`, `17.05.2024`, `2024-05-17`), times, versions, amounts,
//! order numbers and ISBNs do not have these shapes, or have a letter, `#`, `$`, `-` before them.

use crate::scan::{number_end, number_start};
use crate::{Kind, Span};

const MAX_GROUPS: usize = 8;

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Sep {
    #[default]
    None,
    Space,
    Dash,
    Dot,
    Slash,
}

#[derive(Clone, Copy, Default)]
struct Group {
    /// How many digits.
    len: usize,
    /// The first digit's value.
    first: u8,
    /// The second digit's value (10 when there is none): `00` starts an international number.
    second: u8,
    /// Written in brackets: `(555)`, `(0)`.
    paren: bool,
    /// What stands before it (None for the first, and for `(0)30` after the bracket).
    sep: Sep,
    /// Byte end (after the closing bracket when there is one).
    end: usize,
}

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        // A word's letters and the digits glued to them ("a1b2", "v2") never start a number:
        // passed over in one go.
        if b.is_ascii_alphabetic() {
            i = crate::scan::run_end(t, i, |b| b.is_ascii_alphanumeric());
            continue;
        }
        let starts = match b {
            b'+' | b'(' => t.get(i + 1).is_some_and(u8::is_ascii_digit),
            b'0'..=b'9' => true,
            _ => false,
        };
        if !starts || !number_start(t, i) {
            i += 1;
            continue;
        }
        match at(t, i) {
            Some(end) => {
                out.push(Span {
                    start: i,
                    end,
                    kind: Kind::Phone,
                });
                i = end;
            }
            None => {
                // Skip this number: a phone number never starts inside one.
                i += 1;
                while i < t.len() && t[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
    }
}

/// The end of the phone number starting at `s`, if one does.
pub(crate) fn at(t: &[u8], s: usize) -> Option<usize> {
    let plus = t[s] == b'+';
    let mut groups = [Group::default(); MAX_GROUPS];
    let n = read_groups(t, if plus { s + 1 } else { s }, &mut groups);
    // The longest prefix of the groups that has a phone's shape and ends cleanly.
    (1..=n).rev().find_map(|k| {
        let g = &groups[..k];
        let end = g[k - 1].end;
        let shaped = if plus {
            international(g)
        } else {
            north_american(g) || national(g)
        };
        // Spaced digits amid other numbers are a table or a byte dump ("967 979 992 1004 1017",
        // "Buffer 04 03 02 01 08 07"), not a phone number.
        // Only numbers written with spaces alone: `(200) 200-0000 2024-05-17` is a phone number
        // and a date.
        let spaced =
            k > 1 && g[1..].iter().all(|g| g.sep == Sep::Space) && !g.iter().any(|g| g.paren);
        let table = !plus && spaced && crate::finance::in_table(t, s, end, b' ');
        (shaped && !table && number_end(t, end)).then_some(end)
    })
}

/// Groups of digits from `p`: separated by one space, dash, dot or slash, or by brackets.
fn read_groups(t: &[u8], mut p: usize, groups: &mut [Group; MAX_GROUPS]) -> usize {
    let mut n = 0;
    let mut sep = Sep::None;
    while n < MAX_GROUPS {
        let paren = t.get(p) == Some(&b'(');
        let d = if paren { p + 1 } else { p };
        let mut e = d;
        while e < t.len() && t[e].is_ascii_digit() && e - d < 15 {
            e += 1;
        }
        if e == d || (paren && t.get(e) != Some(&b')')) {
            break;
        }
        let end = if paren { e + 1 } else { e };
        groups[n] = Group {
            len: e - d,
            first: t[d] - b'0',
            second: if e - d > 1 { t[d + 1] - b'0' } else { 10 },
            paren,
            sep,
            end,
        };
        n += 1;
        // The separator before the next group.
        let (next_sep, skip) = match t.get(end) {
            Some(b' ') => (Sep::Space, 1),
            Some(b'-') => (Sep::Dash, 1),
            Some(b'.') => (Sep::Dot, 1),
            Some(b'/') => (Sep::Slash, 1),
            // `(0)30`: a bracketed group may be followed directly by the next.
            _ if paren => (Sep::None, 0),
            _ => break,
        };
        p = end + skip;
        let next_is_group = match t.get(p) {
            Some(b'0'..=b'9') => true,
            Some(b'(') => t.get(p + 1).is_some_and(u8::is_ascii_digit),
            _ => false,
        };
        if !next_is_group {
            break;
        }
        sep = next_sep;
    }
    n
}

fn digits(g: &[Group]) -> usize {
    g.iter().map(|g| g.len).sum()
}

/// `+` and a country code: 8–15 digits (E.164), any of the separators, brackets only around a
/// group after the first (`+1 (555)…`, `+49 (0)30…`).
fn international(g: &[Group]) -> bool {
    (8..=15).contains(&digits(g)) && g[0].first != 0 && !g[0].paren
}

/// NANP: [1] NXX NXX XXXX.
fn north_american(g: &[Group]) -> bool {
    let g = match g {
        [one, rest @ ..] if one.len == 1 && one.first == 1 && !one.paren && rest.len() == 3 => rest,
        _ => g,
    };
    let [area, exchange, line] = g else {
        return false;
    };
    if area.len != 3 || exchange.len != 3 || line.len != 4 || area.first < 2 {
        return false;
    }
    if exchange.paren || line.paren {
        return false;
    }
    if area.paren {
        // (555) 123-4567, (555)123-4567, (555) 123.4567
        matches!(exchange.sep, Sep::Space | Sep::None) && line.sep != Sep::Slash
    } else {
        // 555-123-4567, 555.123.4567: one separator throughout. Not `555 123 4567`: three numbers
        // in a row ("failed tests: 571 612 1056") are as often counts.
        exchange.sep == line.sep && matches!(line.sep, Sep::Dash | Sep::Dot)
    }
}

/// A trunk `0`, an area code of 2–5 digits, then the subscriber's number in groups.
fn national(g: &[Group]) -> bool {
    let [first, rest @ ..] = g else {
        return false;
    };
    if rest.is_empty() || first.first != 0 || !(2..=5).contains(&first.len) {
        return false;
    }
    if rest.iter().any(|g| g.paren || !(2..=8).contains(&g.len)) {
        return false;
    }
    let sep = rest[0].sep;
    // `(030) 1234567`: a bracketed area code, then a space.
    if first.paren && sep != Sep::Space {
        return false;
    }
    if rest.iter().any(|g| g.sep != sep) || sep == Sep::None {
        return false;
    }
    // "00" is the international prefix, not an area code: `0049 30 1234567` is `+49 30 1234567`.
    if first.second == 0 {
        return first.len >= 3 && !first.paren && (8..=15).contains(&(digits(g) - 2));
    }
    // A US ZIP+4 (`02110-1301`), not a phone number.
    if sep == Sep::Dash && first.len == 5 && rest.len() == 1 && rest[0].len == 4 {
        return false;
    }
    // Pairs are the French way: five of them (01 23 45 67 89, 01.23.45.67.89).
    if sep == Sep::Dot || g.iter().all(|g| g.len == 2) {
        return g.len() == 5 && g.iter().all(|g| g.len == 2);
    }
    (9..=12).contains(&digits(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn numbers_in_every_format() {
        for n in [
            "+4915112345678",
            "+49 30 1234567",
            "+49 (0)30 1234567",
            "+44 20 7946 0958",
            "+33 1 23 45 67 89",
            "+1 (555) 123-4567",
            "+1-555-123-4567",
            "(555) 123-4567",
            "(555)123-4567",
            "555-123-4567",
            "555.123.4567",
            "1-800-555-1234",
            "030 1234567",
            "030/1234567",
            "(030) 1234567",
            "0151-12345678",
            "0151 123 456 78",
            "020 7946 0958",
            "07700 900123",
            "01 23 45 67 89",
            "01.23.45.67.89",
            "0049 30 1234567",
        ] {
            for t in [
                n.to_string(),
                format!("Call me at {n}."),
                format!("tel: {n}\n"),
            ] {
                assert_eq!(found(&t), [n], "{t}");
            }
        }
        assert_eq!(found("(200) 200-0000 2024-05-17."), ["(200) 200-0000"]);
        assert_eq!(
            found("call 555-123-4567 or 030 1234567, thanks"),
            ["555-123-4567", "030 1234567"]
        );
    }

    #[test]
    fn dates_versions_amounts_and_ids_are_kept() {
        for t in [
            "on 2024-05-17 at 12:30:45",
            "on 17.05.2024 and 05/17/2024 and 05.06.2024",
            "version 1.2.3, v2.10.0, 10.0.19041.1",
            "price $1,234.56 or 1.234,56 €",
            "order #123456 and ORD-2024-000123",
            "ISBN 978-3-16-148410-0",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "the number 1234567890 and 0301234567",
            "we sold 12 345 678 units",
            "call 123-456-7890",
            "0 123 456",
            "from 1990 to 2024 we grew 25%",
            "+15 points",
            "card 4111 1111 1111 1111",
            "IP 192.168.1.20",
            "555-123-4567-89",
            "Boston, MA 02110-1301",
            "10 000 978-3-16-148410-0.",
            "failed tests: 571 612 1056 and 967 979 992 1004 1017",
            "Buffer 04 03 02 01 08 07 06 05",
            "04 03 02 01 08 07",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
