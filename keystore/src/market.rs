//! ECIES for the market (MARKET.md, "Delivery"): a seller encrypts a listing's content key to the
//! buyer's market public key, and the buyer's wallet decrypts it with its market key.
//!
//! The scheme is the `ecies` crate's default, which is eciesjs's and eciespy's: secp256k1,
//! HKDF-SHA256 over the uncompressed ephemeral key ‖ the uncompressed shared point, AES-256-GCM
//! with a 16-byte nonce. The bytes are
//! `ephemeral public key (65, uncompressed) ‖ nonce (16) ‖ tag (16) ‖ ciphertext`.
//!
//! The market key is the seed's BIP-85 HEX child at index 1. It is derived here when needed and
//! dropped (wiped) after use; only its public key leaves this crate.
use crate::derive::Root;
use crate::secret::Secret32;
use crate::{Error, Result, bip85};

/// A compressed secp256k1 public key, what a buyer passes to `buy`.
pub const PUBLIC_KEY_LEN: usize = 33;
/// An uncompressed one (0x04 ‖ x ‖ y), also accepted by [`encrypt_to`].
pub const UNCOMPRESSED_PUBLIC_KEY_LEN: usize = 65;
/// Bytes a message grows by: ephemeral key, nonce and tag.
pub const OVERHEAD: usize = UNCOMPRESSED_PUBLIC_KEY_LEN + NONCE_LEN + TAG_LEN;
const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;

/// Why an ECIES operation was refused. Never carries key or message bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EciesError {
    #[error("a public key is 33 bytes (compressed) or 65 (uncompressed); this one is {0} bytes")]
    PublicKeyLength(usize),
    #[error(
        "the public key is not a secp256k1 point in SEC1 form (0x02 or 0x03 and x, or 0x04, x and y)"
    )]
    PublicKeyNotOnCurve,
    #[error(
        "the encrypted message is {0} bytes, shorter than the {OVERHEAD} bytes of key, nonce and tag"
    )]
    Truncated(usize),
    #[error("the encrypted message's ephemeral key is not a point on secp256k1")]
    EphemeralKey,
    #[error(
        "the encrypted message does not open with this key: it was altered or encrypted to another key"
    )]
    Authentication,
}

/// Encrypts `plaintext` to a secp256k1 public key (33 bytes compressed or 65 uncompressed).
/// Randomised: a fresh ephemeral key and nonce every time.
pub fn encrypt_to(public_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    check_public_key(public_key)?;
    // The key was checked just above; what ecies could still refuse is that key.
    ecies::encrypt(public_key, plaintext).map_err(|_| Error::Ecies(EciesError::PublicKeyNotOnCurve))
}

/// The compressed public key of the market key under `root`.
pub(crate) fn public_key(root: &Root) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let key = market_key(root)?;
    let secret = ecies::SecretKey::parse_slice(key.expose()).map_err(|_| invalid_market_key())?;
    Ok(ecies::PublicKey::from_secret_key(&secret).serialize_compressed())
}

/// Decrypts a message encrypted to the market key under `root`. The plaintext goes straight into
/// a zeroizing buffer.
pub(crate) fn decrypt(root: &Root, message: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    if message.len() < OVERHEAD {
        return Err(Error::Ecies(EciesError::Truncated(message.len())));
    }
    // Checked here because the ecies crate's error type is private: after this and the key's
    // own check, the only failure left is a tag that does not match.
    let ephemeral = &message[..UNCOMPRESSED_PUBLIC_KEY_LEN];
    if ephemeral[0] != 4 || ecies::PublicKey::parse_slice(ephemeral, None).is_err() {
        return Err(Error::Ecies(EciesError::EphemeralKey));
    }
    let key = market_key(root)?;
    ecies::decrypt(key.expose(), message)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| Error::Ecies(EciesError::Authentication))
}

/// The market key, checked to be a secp256k1 secret key (k256's copy wipes itself on drop).
fn market_key(root: &Root) -> Result<Secret32> {
    let key = bip85::market_key(root)?;
    ecies::SecretKey::parse_slice(key.expose()).map_err(|_| invalid_market_key())?;
    Ok(key)
}

/// A BIP-85 output of zero or at least the group order (odds about 2^-128) is no key.
fn invalid_market_key() -> Error {
    Error::Derivation("the market key is not a valid secp256k1 key".into())
}

/// The ecies crate takes 64-byte raw keys too, and k256 SEC1's "compact" 0x05 form: keybot
/// passes on only the two forms eciesjs and every wallet know, 0x02/0x03 ‖ x and 0x04 ‖ x ‖ y.
fn check_public_key(key: &[u8]) -> Result<()> {
    match (key.len(), key.first()) {
        (PUBLIC_KEY_LEN, Some(2 | 3)) | (UNCOMPRESSED_PUBLIC_KEY_LEN, Some(4)) => {}
        (PUBLIC_KEY_LEN | UNCOMPRESSED_PUBLIC_KEY_LEN, _) => {
            return Err(Error::Ecies(EciesError::PublicKeyNotOnCurve));
        }
        (len, _) => return Err(Error::Ecies(EciesError::PublicKeyLength(len))),
    }
    ecies::PublicKey::parse_slice(key, None)
        .map(|_| ())
        .map_err(|_| Error::Ecies(EciesError::PublicKeyNotOnCurve))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mnemonic::Phrase;
    use hmac::{Hmac, Mac};
    use sha2::Sha512;

    const ABOUT: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    /// The market public key of ABOUT (no passphrase), computed outside keybot by
    /// scripts/eciesjs/interop.mjs (node's crypto for BIP-39/32/85, noble-curves for the point);
    /// tests/fast/ecies_interop.rs checks the same against a live run of that script.
    const ABOUT_MARKET_KEY: &str =
        "03c56940e5cc38d3508c614bb8f0bb5a880580e0556e612287fd6139b0c8ec7396";

    fn root(phrase: &str) -> Root {
        let phrase = Phrase::parse(phrase).unwrap();
        Root::from_seed(&phrase.to_seed("")[..]).unwrap()
    }

    fn ecies_err(r: Result<impl Sized>) -> EciesError {
        match r {
            Err(Error::Ecies(e)) => e,
            Err(other) => panic!("expected an ECIES error, got {other}"),
            Ok(_) => panic!("expected an ECIES error, got success"),
        }
    }

    #[test]
    fn market_public_key_is_stable_for_a_known_phrase() {
        let root = root(ABOUT);
        assert_eq!(hex::encode(public_key(&root).unwrap()), ABOUT_MARKET_KEY);
        // The same by hand: BIP-85 HEX is HMAC-SHA512("bip-entropy-from-k", the key at
        // m/83696968'/128169'/32'/1'), first 32 bytes; the public key from k256 directly.
        let h = crate::derive::HARDENED;
        let k = root
            .private_key(&[83696968 | h, 128169 | h, 32 | h, 1 | h])
            .unwrap();
        let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(b"bip-entropy-from-k").unwrap();
        mac.update(k.expose());
        let secret = mac.finalize().into_bytes();
        let sk = k256::SecretKey::from_slice(&secret[..32]).unwrap();
        let point =
            k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&sk.public_key(), true);
        assert_eq!(hex::encode(point.as_bytes()), ABOUT_MARKET_KEY);
        // Another phrase, another key.
        let other = root_pk("test test test test test test test test test test test junk");
        assert_ne!(hex::encode(other), ABOUT_MARKET_KEY);
    }

    fn root_pk(phrase: &str) -> [u8; 33] {
        public_key(&root(phrase)).unwrap()
    }

    #[test]
    fn round_trip_to_compressed_and_uncompressed_keys() {
        let root = root(ABOUT);
        let compressed = public_key(&root).unwrap();
        let uncompressed = ecies::PublicKey::parse_slice(&compressed, None)
            .unwrap()
            .serialize();
        let content_key = [0x5a; 32];
        for pk in [&compressed[..], &uncompressed[..]] {
            let sealed = encrypt_to(pk, &content_key).unwrap();
            // MARKET.md: a 32-byte content key is delivered in 129 bytes, key first.
            assert_eq!(sealed.len(), 129);
            assert_eq!(sealed[0], 0x04);
            assert_eq!(&decrypt(&root, &sealed).unwrap()[..], &content_key);
        }
        // Randomised: two encryptions of the same bytes differ.
        assert_ne!(
            encrypt_to(&compressed, b"x").unwrap(),
            encrypt_to(&compressed, b"x").unwrap()
        );
        // The empty message and a large one.
        for msg in [&b""[..], &[7u8; 100_000][..]] {
            let sealed = encrypt_to(&compressed, msg).unwrap();
            assert_eq!(sealed.len(), OVERHEAD + msg.len());
            assert_eq!(&decrypt(&root, &sealed).unwrap()[..], msg);
        }
    }

    #[test]
    fn bad_public_keys_are_refused() {
        let good = root_pk(ABOUT);
        for len in [0, 1, 32, 34, 64, 66] {
            assert_eq!(
                ecies_err(encrypt_to(&vec![2u8; len], b"m")),
                EciesError::PublicKeyLength(len),
                "{len} bytes"
            );
        }
        // The raw 64-byte form the ecies crate would take is not one of keybot's.
        let full = ecies::PublicKey::parse_slice(&good, None)
            .unwrap()
            .serialize();
        assert_eq!(
            ecies_err(encrypt_to(&full[1..], b"m")),
            EciesError::PublicKeyLength(64)
        );
        let mut not_on_curve = [0u8; 65];
        not_on_curve[0] = 4;
        let mut bad_prefix = good;
        bad_prefix[0] = 0x05;
        let mut x_too_big = [0xffu8; 33];
        x_too_big[0] = 0x02;
        let mut hybrid = full;
        hybrid[0] = 0x06 | (full[64] & 1);
        let mut off_curve = full;
        off_curve[64] ^= 1;
        for pk in [
            &not_on_curve[..],
            &bad_prefix[..],
            &x_too_big[..],
            &hybrid[..],
            &off_curve[..],
            &[0u8; 33][..],
        ] {
            assert_eq!(
                ecies_err(encrypt_to(pk, b"m")),
                EciesError::PublicKeyNotOnCurve,
                "{}",
                hex::encode(pk)
            );
        }
        let e = Error::Ecies(EciesError::PublicKeyLength(32)).to_string();
        assert!(e.contains("33 bytes") && e.contains("32"), "{e}");
    }

    #[test]
    fn truncated_messages_are_refused() {
        let root = root(ABOUT);
        let sealed = encrypt_to(&public_key(&root).unwrap(), &[1u8; 32]).unwrap();
        for len in [0, 1, 64, 65, 80, OVERHEAD - 1] {
            assert_eq!(
                ecies_err(decrypt(&root, &sealed[..len])),
                EciesError::Truncated(len)
            );
        }
        // Cut inside the ciphertext: long enough to parse, but the tag no longer matches.
        for len in [OVERHEAD, OVERHEAD + 1, sealed.len() - 1] {
            assert_eq!(
                ecies_err(decrypt(&root, &sealed[..len])),
                EciesError::Authentication
            );
        }
    }

    #[test]
    fn tampered_messages_and_other_keys_are_refused() {
        let root = root(ABOUT);
        let sealed = encrypt_to(&public_key(&root).unwrap(), &[1u8; 32]).unwrap();
        // Every single bit flipped anywhere: never the plaintext, never a panic. A flip in
        // the ephemeral key gives a point off the curve or another point (then a failed tag).
        for i in 0..sealed.len() {
            for bit in [0x01, 0x80] {
                let mut t = sealed.clone();
                t[i] ^= bit;
                let e = ecies_err(decrypt(&root, &t));
                if i < UNCOMPRESSED_PUBLIC_KEY_LEN {
                    assert!(
                        matches!(e, EciesError::EphemeralKey | EciesError::Authentication),
                        "byte {i}: {e:?}"
                    );
                } else {
                    assert_eq!(e, EciesError::Authentication, "byte {i}");
                }
            }
        }
        // The ephemeral key replaced by a point that is not on the curve, or the same point in
        // SEC1's hybrid form (0x06/0x07), which eciesjs would refuse.
        let mut t = sealed.clone();
        t[1..UNCOMPRESSED_PUBLIC_KEY_LEN].fill(0);
        assert_eq!(ecies_err(decrypt(&root, &t)), EciesError::EphemeralKey);
        let mut t = sealed.clone();
        t[0] = 0x06 | (t[64] & 1);
        assert_eq!(ecies_err(decrypt(&root, &t)), EciesError::EphemeralKey);
        // An extra byte at the end is ciphertext the tag does not cover.
        let mut t = sealed.clone();
        t.push(0);
        assert_eq!(ecies_err(decrypt(&root, &t)), EciesError::Authentication);
        // Encrypted to another wallet's market key.
        let other = encrypt_to(
            &root_pk("test test test test test test test test test test test junk"),
            &[1u8; 32],
        )
        .unwrap();
        assert_eq!(
            ecies_err(decrypt(&root, &other)),
            EciesError::Authentication
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let root = root(ABOUT);
        // A fixed pseudo-random walk over lengths and contents (xorshift; no extra crate).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 200) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (x >> (i % 56)) as u8).collect();
            assert!(decrypt(&root, &bytes).is_err());
            if encrypt_to(&bytes, b"m").is_ok() {
                assert!(bytes.len() == 33 || bytes.len() == 65);
            }
        }
    }
}
