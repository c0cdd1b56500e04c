//! A listing's content encryption (MARKET.md "Bytes"): a fresh 32-byte content key `K` per
//! listing, and the ciphertext `"KBM1" ‖ nonce (24) ‖ XChaCha20-Poly1305(K, nonce, plaintext,
//! aad = "KBM1")`. The buyer gets `K` by ECIES (crate::market) only after paying; the contract
//! holds `keccak256(ciphertext)` and `keccak256(K)`, so the buyer can check both before
//! decrypting.
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use crate::secret::Secret32;

/// The format's magic, also its associated data. A new format gets a new magic.
pub const MAGIC: &[u8; 4] = b"KBM1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes the ciphertext adds to the plaintext.
pub const OVERHEAD: usize = MAGIC.len() + NONCE_LEN + TAG_LEN;

/// Why a ciphertext does not open. Never carries key or content bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("the content is not keybot market content (no KBM1 header)")]
    NotContent,
    #[error("the content is {0} bytes, shorter than its header and tag")]
    Truncated(usize),
    #[error("the content does not open with the delivered key: altered, or another key")]
    Authentication,
    #[error("cannot get random bytes for a key or nonce")]
    Random,
}

/// A fresh random content key.
pub fn new_key() -> Result<Secret32, ContentError> {
    let mut k = Zeroizing::new([0u8; 32]);
    getrandom::fill(k.as_mut()).map_err(|_| ContentError::Random)?;
    Ok(Secret32::new(*k))
}

/// `keccak256(K)`: the listing's commitment to its key.
pub fn key_commit(key: &Secret32) -> [u8; 32] {
    Keccak256::digest(key.expose()).into()
}

/// `keccak256(ciphertext)`: the listing's content hash.
pub fn content_hash(ciphertext: &[u8]) -> [u8; 32] {
    Keccak256::digest(ciphertext).into()
}

/// Encrypts `plaintext` under `key` with a fresh nonce.
pub fn seal(key: &Secret32, plaintext: &[u8]) -> Result<Vec<u8>, ContentError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| ContentError::Random)?;
    seal_with_nonce(key, &nonce, plaintext)
}

fn seal_with_nonce(
    key: &Secret32,
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, ContentError> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: MAGIC,
            },
        )
        // Only a plaintext beyond the AEAD's limit (256 GiB) fails.
        .map_err(|_| ContentError::Authentication)?;
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts a ciphertext; the plaintext in a zeroizing buffer.
pub fn open(key: &Secret32, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, ContentError> {
    if ciphertext.len() >= MAGIC.len() && &ciphertext[..MAGIC.len()] != MAGIC {
        return Err(ContentError::NotContent);
    }
    if ciphertext.len() < OVERHEAD {
        return Err(ContentError::Truncated(ciphertext.len()));
    }
    let (nonce, ct) = ciphertext[MAGIC.len()..].split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: MAGIC,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| ContentError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips_and_has_the_documented_layout() {
        let key = Secret32::new([7; 32]);
        let nonce = [9u8; NONCE_LEN];
        let ct = seal_with_nonce(&key, &nonce, b"hello").unwrap();
        assert_eq!(&ct[..4], b"KBM1");
        assert_eq!(&ct[4..28], &nonce);
        assert_eq!(ct.len(), OVERHEAD + 5);
        assert_eq!(open(&key, &ct).unwrap().as_slice(), b"hello");
        // Two seals of the same text differ (fresh nonce).
        assert_ne!(seal(&key, b"hello").unwrap(), seal(&key, b"hello").unwrap());
    }

    #[test]
    fn a_wrong_key_altered_bytes_or_another_format_are_refused() {
        let key = Secret32::new([7; 32]);
        let ct = seal(&key, b"the plaintext").unwrap();
        assert_eq!(
            open(&Secret32::new([8; 32]), &ct),
            Err(ContentError::Authentication)
        );
        for i in [4, 27, 28, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[i] ^= 1;
            assert_eq!(
                open(&key, &bad),
                Err(ContentError::Authentication),
                "byte {i}"
            );
        }
        let mut other = ct.clone();
        other[3] = b'2';
        assert_eq!(open(&key, &other), Err(ContentError::NotContent));
        assert_eq!(open(&key, &ct[..20]), Err(ContentError::Truncated(20)));
        assert_eq!(open(&key, b""), Err(ContentError::Truncated(0)));
    }

    #[test]
    fn hashes_are_keccak256() {
        // keccak256("") as every Ethereum tool prints it.
        assert_eq!(
            hex::encode(content_hash(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(key_commit(&Secret32::new([0; 32])), content_hash(&[0; 32]));
    }
}
