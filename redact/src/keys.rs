//! Private keys written out: 64 hex digits (with or without `0x`), extended keys (`xprv…`,
//! `xpub…`, `tprv…` and the SLIP-132 variants, whole or cut short), any other base58check string
//! that decodes to an extended key, and WIF private keys (base58check, version 0x80 or 0xef).
//!
//! 64 hex digits may also be a transaction hash or a SHA-256: removed all the same (the safe
//! side). 40 hex digits without `0x` (a git commit) are kept; with `0x` they are an Ethereum
//! address (eth.rs).

use crate::scan::run_end;
use crate::{Kind, Span};
use sha2::{Digest, Sha256};

/// The version prefixes of extended keys as they are written (BIP-32, SLIP-132).
const EXTENDED_PREFIXES: [&[u8; 4]; 20] = [
    b"xprv", b"xpub", b"tprv", b"tpub", b"yprv", b"ypub", b"zprv", b"zpub", b"uprv", b"upub",
    b"vprv", b"vpub", b"Yprv", b"Ypub", b"Zprv", b"Zpub", b"Uprv", b"Upub", b"Vprv", b"Vpub",
];
/// A prefixed base58 run this long is (part of) a key, even cut short or with a typo in it.
const EXTENDED_FRAGMENT: usize = 50;
/// The length of a whole extended key in base58 (78 bytes and a 4-byte checksum).
const EXTENDED_LEN: usize = 111;

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    while i < t.len() {
        if !t[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        // `i` starts an alphanumeric word (the loop skips whole words).
        let end = run_end(t, i, |b| b.is_ascii_alphanumeric());
        if let Some(kind) = classify(&t[i..end]) {
            out.push(Span {
                start: i,
                end,
                kind,
            });
        }
        i = end;
    }
}

fn classify(word: &[u8]) -> Option<Kind> {
    let hex = strip_0x(word);
    if hex.len() == 64 && hex.iter().all(u8::is_ascii_hexdigit) {
        return Some(Kind::PrivateKey);
    }
    if word.len() >= EXTENDED_FRAGMENT && word.iter().all(|&b| base58_value(b).is_some()) {
        if EXTENDED_PREFIXES.iter().any(|p| word.starts_with(*p)) {
            return Some(Kind::ExtendedKey);
        }
        if word.len() == EXTENDED_LEN && base58check(word).is_some_and(|p| p.len == 78) {
            return Some(Kind::ExtendedKey);
        }
    }
    if is_wif(word) {
        return Some(Kind::PrivateKey);
    }
    None
}

pub(crate) fn strip_0x(word: &[u8]) -> &[u8] {
    match word {
        [b'0', b'x' | b'X', rest @ ..] => rest,
        _ => word,
    }
}

/// A WIF private key: 51 characters (`5…`, uncompressed) or 52 (`K…`/`L…`, compressed; `c…`
/// on testnet), whose base58check payload is the version byte, 32 key bytes and 0x01 when
/// compressed.
fn is_wif(word: &[u8]) -> bool {
    if !matches!(word.len(), 51 | 52) || !matches!(word[0], b'5' | b'K' | b'L' | b'9' | b'c') {
        return false;
    }
    let Some(p) = base58check(word) else {
        return false;
    };
    let payload = &p.bytes[..p.len];
    matches!(payload.first(), Some(0x80 | 0xef))
        && (payload.len() == 33 || (payload.len() == 34 && payload[33] == 0x01))
}

fn base58_value(b: u8) -> Option<u8> {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    ALPHABET.iter().position(|&a| a == b).map(|v| v as u8)
}

/// A decoded base58check payload (the checksum verified and dropped).
pub(crate) struct Payload {
    bytes: [u8; 96],
    pub(crate) len: usize,
}

/// Decodes `word` (at most ~130 characters: the callers check the length first) and verifies
/// the double-SHA-256 checksum of its last 4 bytes.
pub(crate) fn base58check(word: &[u8]) -> Option<Payload> {
    const CAP: usize = 96;
    // Big-endian number in buf[CAP - len..].
    let mut buf = [0u8; CAP];
    let mut len = 0;
    for &c in word {
        let mut carry = base58_value(c)? as u32;
        for b in buf[CAP - len..].iter_mut().rev() {
            carry += *b as u32 * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            if len == CAP {
                return None;
            }
            len += 1;
            buf[CAP - len] = carry as u8;
            carry >>= 8;
        }
    }
    let zeros = word.iter().take_while(|&&c| c == b'1').count();
    let total = zeros + len;
    if !(5..=CAP).contains(&total) {
        return None;
    }
    let mut bytes = [0u8; CAP];
    bytes[zeros..total].copy_from_slice(&buf[CAP - len..]);
    let (payload, check) = bytes[..total].split_at(total - 4);
    let digest = Sha256::digest(Sha256::digest(payload));
    if digest[..4] != *check {
        return None;
    }
    Some(Payload {
        bytes,
        len: total - 4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter()
            .map(|s| (s.kind, &text[s.start..s.end]))
            .collect()
    }

    // BIP-32 test vector 1, chain m.
    const XPRV: &str = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    const XPUB: &str = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
    const KEY: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    // The WIF of private key 1 (compressed) and of the uncompressed key from the Bitcoin wiki.
    const WIF_C: &str = "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn";
    const WIF_U: &str = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";

    #[test]
    fn hex_keys_with_and_without_0x() {
        assert_eq!(kinds(KEY), [(Kind::PrivateKey, KEY)]);
        let t = format!("key: 0x{KEY}, done");
        assert_eq!(kinds(&t), [(Kind::PrivateKey, &t[5..71])]);
        let t = format!("PRIVATE_KEY={}", KEY.to_uppercase());
        assert_eq!(kinds(&t).len(), 1);
    }

    #[test]
    fn other_hex_lengths_are_kept() {
        // A git commit (40 hex), a 63- and a 65-digit run, a UUID, hex glued to a word.
        for t in [
            "commit 8c062d8a1b2c3d4e5f60718293a4b5c6d7e8f901 fixes it",
            &KEY[1..],
            &format!("{KEY}a"),
            "id 123e4567-e89b-12d3-a456-426614174000",
            &format!("g{KEY}"),
            "sha 0x1234",
        ] {
            assert!(kinds(t).is_empty(), "{t}");
        }
    }

    #[test]
    fn extended_keys_whole_cut_short_and_prefixless() {
        assert_eq!(kinds(XPRV), [(Kind::ExtendedKey, XPRV)]);
        assert_eq!(
            kinds(&format!("(xpub: {XPUB})")),
            [(Kind::ExtendedKey, XPUB)]
        );
        assert!(base58check(XPRV.as_bytes()).is_some_and(|p| p.len == 78));
        // A typo breaks the checksum but not the prefix rule; a fragment is still a key.
        let typo = XPRV.replacen('Q', "R", 1);
        assert!(base58check(typo.as_bytes()).is_none());
        assert_eq!(kinds(&typo).len(), 1);
        assert_eq!(kinds(&XPRV[..60]).len(), 1);
        // The same 78 bytes under another version prefix: found by its checksum.
        let mut ltc = XPRV.as_bytes().to_vec();
        ltc[0] = b'L';
        ltc[1] = b't';
        // (Changing the prefix breaks the checksum; a real foreign one decodes.)
        assert!(base58check(&ltc).is_none());
        assert!(kinds("xpub is the public half, xprv the private one").is_empty());
    }

    #[test]
    fn wif_keys_by_checksum() {
        assert_eq!(kinds(WIF_C), [(Kind::PrivateKey, WIF_C)]);
        assert_eq!(kinds(WIF_U), [(Kind::PrivateKey, WIF_U)]);
        let bad = WIF_C.replacen('Q', "R", 1);
        assert!(kinds(&bad).is_empty());
    }
}
