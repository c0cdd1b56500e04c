//! IP addresses.
//!
//! IPv4: four decimal octets, each at most 255 and without a leading zero, not part of a longer
//! dotted number (`1.2.3.4.5`, `v1.2.3.4`), a CIDR suffix taken along. `1.2.3` (a version) has
//! three parts. Loopback (`127.…`) and `0.0.0.0` say nothing about anyone and are kept, and so
//! is an address whose first two parts are single digits (`4.3.0.1` is a version far more often
//! than a host; this keeps `8.8.8.8` too, a public resolver).
//!
//! IPv6: eight groups of up to four hex digits, or fewer with one `::`, optionally ending in an
//! IPv4 address. A compressed one needs a digit and a group of three or more (`fe80::1`, `fe80::`,
//! `2001:db8::8a2e:370:7334`), so that `a::b` and `dead::beef` in code, times (`12:30:45`) and MAC
//! addresses (six groups) are kept; so is `::1`.

use crate::{Kind, Span};

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        let candidate = (b.is_ascii_hexdigit() || (b == b':' && t.get(i + 1) == Some(&b':')))
            && (i == 0
                || !(t[i - 1].is_ascii_alphanumeric()
                    || matches!(t[i - 1], b'.' | b':' | b'-')
                    // `_` glues unless it opens markdown emphasis (`_203.0.113.7_`).
                    || crate::scan::underscore_glues_before(t, i)));
        if !candidate {
            // The rest of a word is glued to its start: never an address's start.
            i = if b.is_ascii_alphanumeric() {
                crate::scan::run_end(t, i, |b| b.is_ascii_alphanumeric())
            } else {
                i + 1
            };
            continue;
        }
        let found = if b.is_ascii_digit() {
            ipv4_at(t, i).filter(|&(_, e)| ends_cleanly(t, e, false))
        } else {
            None
        }
        .or_else(|| ipv6_at(t, i));
        match found {
            Some((keep, end)) => {
                if !keep {
                    out.push(Span {
                        start: i,
                        end,
                        kind: Kind::IpAddress,
                    });
                }
                i = end;
            }
            None => {
                i += 1;
                while i < t.len() && (t[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
        }
    }
}

/// An address ends at `e`: not glued to a word, not followed by `.5` (a longer dotted number);
/// `:8080` after an IPv4 address is its port.
fn ends_cleanly(t: &[u8], e: usize, v6: bool) -> bool {
    let next_alnum = t.get(e + 1).is_some_and(u8::is_ascii_alphanumeric);
    match t.get(e) {
        None => true,
        Some(&b) if b.is_ascii_alphanumeric() => false,
        Some(b'_') => !crate::scan::underscore_glues_after(t, e),
        Some(b'.') => !next_alnum,
        Some(b':') => !(v6 && next_alnum),
        _ => true,
    }
}

/// An IPv4 address at `s`: whether to keep it (loopback, unspecified) and where it ends (after
/// a CIDR suffix).
fn ipv4_at(t: &[u8], s: usize) -> Option<(bool, usize)> {
    let mut p = s;
    let mut octets = [0u16; 4];
    for (k, o) in octets.iter_mut().enumerate() {
        if k > 0 {
            if t.get(p) != Some(&b'.') {
                return None;
            }
            p += 1;
        }
        let d = p;
        while p < t.len() && t[p].is_ascii_digit() && p - d < 4 {
            p += 1;
        }
        let digits = &t[d..p];
        if digits.is_empty() || digits.len() > 3 || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        *o = digits.iter().fold(0u16, |v, &c| v * 10 + (c - b'0') as u16);
        if *o > 255 {
            return None;
        }
    }
    // A CIDR suffix: /0../32.
    if t.get(p) == Some(&b'/') {
        let d = p + 1;
        let mut q = d;
        while q < t.len() && t[q].is_ascii_digit() && q - d < 3 {
            q += 1;
        }
        let bits = &t[d..q];
        let v = bits.iter().fold(0u16, |v, &c| v * 10 + (c - b'0') as u16);
        if (1..=2).contains(&bits.len())
            && v <= 32
            && !t.get(q).is_some_and(u8::is_ascii_alphanumeric)
        {
            p = q;
        }
    }
    // Four small numbers are a version (`4.3.0.1`, `1.7.6.6`, `3.6.23.1`) far more often than a
    // host (and `8.8.8.8`, `1.1.1.1` are public resolvers, nobody's own).
    let version_like = octets[0] < 10 && octets[1] < 10;
    let keep = octets[0] == 127 || octets == [0, 0, 0, 0] || version_like;
    Some((keep, p))
}

fn ipv6_at(t: &[u8], s: usize) -> Option<(bool, usize)> {
    let mut p = s;
    let mut groups = 0;
    let mut double = false;
    let mut long_group = false;
    let mut digit = false;
    if t[s..].starts_with(b"::") {
        double = true;
        p += 2;
    }
    loop {
        let h = t[p..]
            .iter()
            .take(5)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if h == 0 || h > 4 {
            if h > 4 {
                return None;
            }
            break;
        }
        // An embedded IPv4 address ends it; a full stop after the last group ends the sentence.
        if t.get(p + h) == Some(&b'.')
            && groups <= 6
            && let Some((_, e)) = ipv4_at(t, p)
        {
            groups += 2;
            long_group = true;
            digit = true;
            p = e;
            break;
        }
        groups += 1;
        long_group |= h >= 3;
        digit |= t[p..p + h].iter().any(u8::is_ascii_digit);
        p += h;
        if t[p..].starts_with(b"::") {
            if double {
                return None;
            }
            double = true;
            p += 2;
            continue;
        }
        if t.get(p) == Some(&b':') && t.get(p + 1).is_some_and(u8::is_ascii_hexdigit) {
            p += 1;
            continue;
        }
        break;
    }
    let shaped = if double {
        groups <= 7 && long_group && digit
    } else {
        groups == 8
    };
    (shaped && ends_cleanly(t, p, true)).then_some((false, p))
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
    fn ipv4_and_ipv6_addresses() {
        for a in [
            "192.168.1.20",
            "84.12.3.4",
            "10.0.0.0/8",
            "255.255.255.255",
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8::8a2e:370:7334",
            "fe80::1",
            "fe80::",
            "::ffff:192.0.2.128",
            "2001:DB8::1",
        ] {
            for t in [
                a.to_string(),
                format!("host={a}, up"),
                format!("http://{a}/x"),
                format!("({a})."),
            ] {
                assert_eq!(found(&t), [a], "{t}");
            }
        }
        assert_eq!(found("ssh 203.0.113.5:22"), ["203.0.113.5"]);
    }

    #[test]
    fn versions_times_and_code_are_kept() {
        for t in [
            "version 1.2.3 and v1.2.3.4 and 1.2.3.4.5",
            "256.1.1.1 and 1.2.3.04",
            "at 12:30:45 or 12:30",
            "127.0.0.1 and 0.0.0.0 and ::1",
            "libfoo 4.3.0.1, 1.7.6.6 and 3.6.23.1",
            "std::fmt::Display and a::b and dead::beef",
            "mac 00:1a:2b:3c:4d:5e",
            "price 1.234,56 and 3.14159",
            "2024-05-17 and 17.05.2024",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "ISBN 978-3-16-148410-0",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
