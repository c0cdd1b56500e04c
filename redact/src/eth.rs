//! Ethereum addresses: `0x` and 40 hex digits as one word, any case (checksummed or not), except
//! the seller's own when they chose to keep them. 40 hex digits without `0x` are a git commit.

use crate::scan::run_end;
use crate::{Kind, Span};

pub(crate) fn find(text: &str, own: &[[u8; 20]], out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    // Every address starts with `0x` or `0X`: the text is searched for the `0` of one (memchr),
    // not walked word by word.
    while let Some(off) = memchr::memchr(b'0', &t[i..]) {
        let s = i + off;
        if !matches!(t.get(s + 1), Some(b'x' | b'X')) || (s > 0 && t[s - 1].is_ascii_alphanumeric())
        {
            i = s + 1;
            continue;
        }
        let end = run_end(t, s, |b| b.is_ascii_alphanumeric());
        if let Some(addr) = parse(&t[s..end])
            && !own.contains(&addr)
        {
            out.push(Span {
                start: s,
                end,
                kind: Kind::EthAddress,
            });
        }
        i = end;
    }
}

fn parse(word: &[u8]) -> Option<[u8; 20]> {
    let [b'0', b'x' | b'X', hex @ ..] = word else {
        return None;
    };
    if hex.len() != 40 {
        return None;
    }
    let mut addr = [0u8; 20];
    for (byte, pair) in addr.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(addr)
}

fn nibble(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|v| v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    fn found(text: &str, own: &[[u8; 20]]) -> Vec<String> {
        let mut out = Vec::new();
        find(text, own, &mut out);
        out.iter()
            .map(|s| text[s.start..s.end].to_string())
            .collect()
    }

    #[test]
    fn addresses_are_found_unless_they_are_the_sellers() {
        let t = format!("send to {ADDR}, or to {}.", ADDR.to_lowercase());
        assert_eq!(found(&t, &[]).len(), 2);
        let own = parse(ADDR.as_bytes()).unwrap();
        assert!(found(&t, &[own]).is_empty());
        let other = [0u8; 20];
        assert_eq!(found(&t, &[other]).len(), 2);
    }

    #[test]
    fn other_hex_is_kept() {
        for t in [
            "commit f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb9226",
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb922661",
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb9226g",
            "0x1234 and 0xdeadbeef",
        ] {
            assert!(found(t, &[]).is_empty(), "{t}");
        }
    }
}
