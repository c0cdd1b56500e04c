//! E-mail addresses: a local part, `@`, and a domain of at least two labels whose last is letters
//! only (`user@example.com`, `first.last+tag@mail.example.co.uk`). `@scope/pkg`, `pkg@1.2.3`,
//! `user@localhost` and a bare `@handle` are kept.

use crate::{Kind, Span};

/// RFC 5321's limits: the scans back and forward are bounded, so the pass stays linear.
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;

fn local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b)
}

fn domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut floor = 0; // the local part never reaches back into the previous address
    let mut at = 0;
    while let Some(off) = memchr::memchr(b'@', &t[at..]) {
        let a = at + off;
        at = a + 1;
        // Local part: back over allowed bytes, then trim the punctuation a sentence puts there.
        let mut s = a;
        while s > floor && a - s < MAX_LOCAL && local_byte(t[s - 1]) {
            s -= 1;
        }
        while s < a && !t[s].is_ascii_alphanumeric() {
            s += 1;
        }
        if s == a || t[a - 1] == b'.' {
            continue;
        }
        let Some(e) = domain_end(t, a + 1) else {
            continue;
        };
        out.push(Span {
            start: s,
            end: e,
            kind: Kind::Email,
        });
        floor = e;
        at = e;
    }
}

/// Where the domain that starts at `d` ends, if it is one: labels of letters, digits and inner
/// dashes, at least two, the last at least two letters. A trailing full stop is the sentence's.
fn domain_end(t: &[u8], d: usize) -> Option<usize> {
    let mut e = d;
    while e < t.len() && e - d < MAX_DOMAIN && domain_byte(t[e]) {
        e += 1;
    }
    // Back off trailing dots and dashes.
    while e > d && matches!(t[e - 1], b'.' | b'-') {
        e -= 1;
    }
    let domain = &t[d..e];
    let last_dot = domain.iter().rposition(|&b| b == b'.')?;
    let tld = &domain[last_dot + 1..];
    let labels_ok = domain
        .split(|&b| b == b'.')
        .all(|l| !l.is_empty() && l[0] != b'-' && l[l.len() - 1] != b'-');
    (labels_ok && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic)).then_some(e)
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
    fn addresses_in_text() {
        assert_eq!(
            found("Mail alice@example.com or Bob.Smith+news@mail.example.co.uk."),
            ["alice@example.com", "Bob.Smith+news@mail.example.co.uk"]
        );
        assert_eq!(
            found("<j_doe-42@uni-bonn.de>, (x@y.io)"),
            ["j_doe-42@uni-bonn.de", "x@y.io"]
        );
        assert_eq!(found("mailto:me@host.org"), ["me@host.org"]);
        assert_eq!(found("git@github.com:user/repo.git"), ["git@github.com"]);
    }

    #[test]
    fn other_at_signs_are_kept() {
        for t in [
            "npm i @scope/pkg and lodash@4.17.21",
            "ping @alice on chat",
            "user@localhost",
            "a@b.c",
            "meet @ 5pm",
            "x@.com",
            "price: 3 @ 2.50",
            "decorator @app.route('/')",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
