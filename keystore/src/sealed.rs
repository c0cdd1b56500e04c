//! The envelope the vault and backups share: a header, an XChaCha20-Poly1305 ciphertext with the
//! whole header as associated data (so no header field can be changed unnoticed), and a SHA-256
//! of everything before it. The hash is not a secret check: it tells a damaged file (reported as
//! damaged) from a wrong key or password (the AEAD fails on an intact file).
pub use chacha20poly1305::aead::Error as SealError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::secret::Secret32;

pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;
pub const DIGEST_LEN: usize = 32;

/// `out` holds the finished header; appends the ciphertext of `plaintext` and the digest.
pub fn seal_into(
    out: &mut Vec<u8>,
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
    key: &Secret32,
) -> Result<(), SealError> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let ct = cipher.encrypt(
        XNonce::from_slice(nonce),
        Payload {
            msg: plaintext,
            aad: out.as_slice(),
        },
    )?;
    out.extend_from_slice(&ct);
    let digest = Sha256::digest(out.as_slice());
    out.extend_from_slice(&digest);
    Ok(())
}

/// Whether the trailing digest matches everything before it.
pub fn digest_ok(bytes: &[u8]) -> bool {
    bytes.len() >= DIGEST_LEN && {
        let body = bytes.len() - DIGEST_LEN;
        Sha256::digest(&bytes[..body]).as_slice() == &bytes[body..]
    }
}

/// Decrypts `bytes` (header, ciphertext, digest; the digest already checked); `None` when the
/// key is wrong or the header was altered.
pub fn open(
    bytes: &[u8],
    header_len: usize,
    nonce: &[u8],
    key: &Secret32,
) -> Option<Zeroizing<Vec<u8>>> {
    let body = bytes.len().checked_sub(DIGEST_LEN)?;
    if header_len > body || nonce.len() != NONCE_LEN {
        return None;
    }
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: &bytes[header_len..body],
                aad: &bytes[..header_len],
            },
        )
        .ok()
        .map(Zeroizing::new)
}
