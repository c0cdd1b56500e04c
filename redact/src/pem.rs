//! PEM private key blocks: from `-----BEGIN … PRIVATE KEY-----` to the matching END line, the
//! whole block (RSA, EC, OPENSSH, ENCRYPTED, PGP … PRIVATE KEY BLOCK). A block cut off before its
//! END line is removed to the end of the text. Certificates and public keys are kept.

use crate::{Kind, Span};
use memchr::memmem;

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";
/// The longest label read (`ENCRYPTED PRIVATE KEY`, `PGP PRIVATE KEY BLOCK` and some room).
const MAX_LABEL: usize = 64;

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let begin = memmem::Finder::new(BEGIN);
    let mut at = 0;
    while let Some(found) = begin.find(&t[at..]) {
        let start = at + found;
        let label_start = start + BEGIN.len();
        let window = &t[label_start..t.len().min(label_start + MAX_LABEL)];
        let Some(label_len) = memmem::find(window, DASHES) else {
            at = label_start;
            continue;
        };
        let label = &window[..label_len];
        let header_end = label_start + label_len + DASHES.len();
        if memmem::find(label, b"PRIVATE KEY").is_none() {
            at = header_end;
            continue;
        }
        // "-----END " + label + "-----"
        let mut end_marker = Vec::with_capacity(label.len() + 14);
        end_marker.extend_from_slice(b"-----END ");
        end_marker.extend_from_slice(label);
        end_marker.extend_from_slice(DASHES);
        let end = match memmem::find(&t[header_end..], &end_marker) {
            Some(e) => header_end + e + end_marker.len(),
            None => t.len(),
        };
        out.push(Span {
            start,
            end,
            kind: Kind::PemPrivateKey,
        });
        at = end;
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

    const RSA: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----";

    #[test]
    fn whole_blocks_and_cut_ones() {
        let t = format!("here:\n{RSA}\nthanks");
        assert_eq!(found(&t), [RSA]);
        let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(found(ssh), [ssh]);
        let cut = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
        assert_eq!(found(cut), [cut]);
        let two = format!("{RSA}\nand\n{RSA}");
        assert_eq!(found(&two), [RSA, RSA]);
    }

    #[test]
    fn certificates_and_public_keys_are_kept() {
        for t in [
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
            "-----BEGIN ",
            "-----BEGIN PRIVATE KEY",
        ] {
            assert!(found(t).is_empty(), "{t}");
        }
    }
}
