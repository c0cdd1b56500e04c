//! Keystore JSON (Web3 Secret Storage, geth's older `Crypto`): the whole object that holds a
//! `"crypto"` (or `"Crypto"`) key with a `"ciphertext"` somewhere inside it, from its `{` to its
//! `}`, or to the end of the text when it is cut off.
//!
//! One forward pass over the braces and the strings inside them. Quotes outside any brace are
//! prose and ignored; a string that meets a line break is not JSON and ends there, so a stray
//! quote cannot hide the rest of the text. Where the braces do not match, the 64-hex
//! ciphertext, salt and mac are still removed as private keys (keys.rs).

use crate::{Kind, Span};
use memchr::{memchr2, memchr3};

/// Deeper objects are counted but not tracked (no keystore nests this deep).
const MAX_DEPTH: usize = 64;

#[derive(Clone, Copy)]
struct Frame {
    open: usize,
    crypto: bool,
    ciphertext: bool,
}

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    if memchr::memmem::find(t, b"iphertext").is_none() {
        return; // the common case: no keystore in the text
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut untracked = 0usize;
    let mut at = 0;
    while let Some(off) = if stack.is_empty() && untracked == 0 {
        memchr::memchr(b'{', &t[at..])
    } else {
        memchr3(b'{', b'}', b'"', &t[at..])
    } {
        let i = at + off;
        at = i + 1;
        match t[i] {
            b'{' => {
                if stack.len() < MAX_DEPTH {
                    stack.push(Frame {
                        open: i,
                        crypto: false,
                        ciphertext: false,
                    });
                } else {
                    untracked += 1;
                }
            }
            b'}' => {
                if untracked > 0 {
                    untracked -= 1;
                    continue;
                }
                let Some(f) = stack.pop() else { continue };
                if f.crypto && f.ciphertext {
                    out.push(Span {
                        start: f.open,
                        end: i + 1,
                        kind: Kind::KeystoreJson,
                    });
                }
                if let Some(parent) = stack.last_mut() {
                    parent.ciphertext |= f.ciphertext;
                }
            }
            _ => {
                // A string: up to the closing quote, past escapes, not past a line break.
                let s = i + 1;
                let mut j = s;
                let close = loop {
                    match memchr3(b'"', b'\\', b'\n', &t[j..]) {
                        Some(o) if t[j + o] == b'\\' => j += o + 2,
                        Some(o) if t[j + o] == b'"' => break Some(j + o),
                        _ => break None,
                    }
                    if j >= t.len() {
                        break None;
                    }
                };
                let Some(close) = close else {
                    // Not JSON: resume after the line break (or give up at the end).
                    at = memchr2(b'\n', b'\r', &t[s..]).map_or(t.len(), |o| s + o + 1);
                    continue;
                };
                at = close + 1;
                let s_str = &t[s..close];
                if let Some(f) = stack.last_mut() {
                    let is_key = t[at..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':');
                    if is_key && (s_str == b"crypto" || s_str == b"Crypto") {
                        f.crypto = true;
                    }
                    if is_key && s_str == b"ciphertext" {
                        f.ciphertext = true;
                    }
                }
            }
        }
    }
    // Objects still open at the end: a keystore cut off mid-way is removed to the end.
    if let Some(f) = stack.iter().find(|f| f.crypto && f.ciphertext) {
        out.push(Span {
            start: f.open,
            end: t.len(),
            kind: Kind::KeystoreJson,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    const V3: &str = r#"{"address":"008aeeda4d805471df9b2a5b0f38a0c3bcba786b","crypto":{"cipher":"aes-128-ctr","ciphertext":"d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c","cipherparams":{"iv":"83dbcc02d8ccb40e466191a123791e0e"},"kdf":"scrypt","kdfparams":{"dklen":32,"n":262144,"r":8,"p":1,"salt":"ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},"mac":"2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}"#;

    #[test]
    fn keystores_whole_pretty_and_cut_off() {
        let t = format!("my wallet file:\n{V3}\nis that ok?");
        assert_eq!(found(&t), [V3]);
        let pretty = V3.replace(",\"", ",\n  \"").replace("{\"", "{\n  \"");
        let t = format!("```json\n{pretty}\n```");
        assert_eq!(found(&t), [pretty.as_str()]);
        let geth = V3.replace("\"crypto\"", "\"Crypto\"");
        assert_eq!(found(&geth), [geth.as_str()]);
        let cut = &V3[..V3.len() - 40];
        assert_eq!(found(cut), [cut]);
        // Wrapped in another object: the keystore itself, not the wrapper.
        let wrapped = format!("{{\"wallet\": {V3}, \"note\": \"x\"}}");
        assert_eq!(found(&wrapped), [V3]);
    }

    #[test]
    fn other_json_and_code_are_kept() {
        for t in [
            r#"{"crypto": "BTC", "price": 65000}"#,
            r#"{"ciphertext": "abc", "iv": "00"}"#,
            "fn main() { let crypto = ciphertext(); }",
            "He said \"crypto\" { and \"ciphertext\": } whatever",
            r#"{"a": {"crypto": {"cipher": "x"}}, "b": {"ciphertext": "y"}}"#,
        ] {
            assert!(found(t).is_empty(), "{t}");
        }
    }

    #[test]
    fn escapes_and_stray_quotes_do_not_derail_it() {
        let t = format!("a \"quote\nthen {{\"note\": \"a \\\" b\", {}", &V3[1..]);
        let got = found(&t);
        assert_eq!(got.len(), 1);
        assert!(got[0].ends_with("\"version\":3}"));
    }
}
