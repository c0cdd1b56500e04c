//! BIP-85 deterministic child secrets, HEX application (`m/83696968'/128169'/{bytes}'/{index}'`).
//!
//! keybot derives its purpose keys this way so that the seed phrase alone brings them back on a
//! new machine, and no purpose key reveals the seed or another purpose key.
use hmac::{Hmac, Mac};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::derive::{HARDENED, Root};
use crate::secret::Secret32;
use crate::{Error, Result};

/// The purpose keys a caller may hold, at their fixed indices (ARCHITECTURE §2). The market
/// encryption key (index 1) is not among them: it is used only inside this crate
/// ([`crate::market`]), so no caller can ever get it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Opens the SQLCipher store.
    Database = 0,
    /// Encrypts exported backups.
    Backup = 2,
    /// Seals secrets kept beside the store rather than in it, so that no backup carries them:
    /// an inference server's API key ([`crate::api_key`]).
    Secrets = 3,
}

/// The index of the market encryption key, the secp256k1 key used for ECIES delivery.
const MARKET_INDEX: u32 = 1;

/// HEX entropy of `num_bytes` (16..=64) at `index`. Crate-private: with it any index, the
/// market key's included, could be read out.
pub(crate) fn hex_entropy(root: &Root, num_bytes: u32, index: u32) -> Result<Zeroizing<Vec<u8>>> {
    if !(16..=64).contains(&num_bytes) {
        return Err(Error::Derivation(format!(
            "BIP-85 HEX takes 16 to 64 bytes, not {num_bytes}"
        )));
    }
    let index = crate::derive::checked_index(u64::from(index))?;
    let path = [
        83696968 | HARDENED,
        128169 | HARDENED,
        num_bytes | HARDENED,
        index | HARDENED,
    ];
    let k = root.private_key(&path)?;
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(b"bip-entropy-from-k")
        .map_err(|e| Error::Derivation(e.to_string()))?;
    mac.update(k.expose());
    let full = Zeroizing::new(mac.finalize().into_bytes());
    Ok(Zeroizing::new(full[..num_bytes as usize].to_vec()))
}

/// The 32-byte key for one of keybot's purposes.
pub fn purpose_key(root: &Root, purpose: Purpose) -> Result<Secret32> {
    hex_key(root, purpose as u32)
}

/// The market encryption key's 32 bytes (read as a secp256k1 secret key by [`crate::market`]).
pub(crate) fn market_key(root: &Root) -> Result<Secret32> {
    hex_key(root, MARKET_INDEX)
}

fn hex_key(root: &Root, index: u32) -> Result<Secret32> {
    let e = hex_entropy(root, 32, index)?;
    Secret32::from_slice(&e).ok_or_else(|| Error::Derivation("BIP-85 length".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The HEX test vector of the BIP-85 specification (bitcoin/bips bip-0085.mediawiki).
    const MASTER: &str = "xprv9s21ZrQH143K2LBWUUQRFXhucrQqBpKdRRxNVq2zBqsx8HVqFk2uYo8kmbaLLHRdqtQpUm98uKfu3vca1LqdGhUtyoFnCNkfmXRyPXLjbKb";

    #[test]
    fn bip85_hex_vector() {
        let root = Root::from_xprv(MASTER).unwrap();
        let e = hex_entropy(&root, 64, 0).unwrap();
        assert_eq!(
            hex::encode(&*e),
            "492db4698cf3b73a5a24998aa3e9d7fa96275d85724a91e71aa2d645442f878555d078fd1f1f67e368976f04137b1f7a0d19232136ca50c44614af72b5582a5c"
        );
    }

    #[test]
    fn bip85_derived_key_vectors() {
        // Test case 1 and 2 of the spec: the derived key and entropy for m/83696968'/0'/0' and
        // m/83696968'/0'/1' (the raw "bip-entropy-from-k" step every application shares).
        let root = Root::from_xprv(MASTER).unwrap();
        for (path, key, entropy) in [
            (
                [83696968 | HARDENED, HARDENED, HARDENED],
                "cca20ccb0e9a90feb0912870c3323b24874b0ca3d8018c4b96d0b97c0e82ded0",
                "efecfbccffea313214232d29e71563d941229afb4338c21f9517c41aaa0d16f00b83d2a09ef747e7a64e8e2bd5a14869e693da66ce94ac2da570ab7ee48618f7",
            ),
            (
                [83696968 | HARDENED, HARDENED, 1 | HARDENED],
                "503776919131758bb7de7beb6c0ae24894f4ec042c26032890c29359216e21ba",
                "70c6e3e8ebee8dc4c0dbba66076819bb8c09672527c4277ca8729532ad711872218f826919f6b67218adde99018a6df9095ab2b58d803b5b93ec9802085a690e",
            ),
        ] {
            let k = root.private_key(&path).unwrap();
            assert_eq!(hex::encode(k.expose()), key);
            let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(b"bip-entropy-from-k").unwrap();
            mac.update(k.expose());
            assert_eq!(hex::encode(mac.finalize().into_bytes()), entropy);
        }
    }

    #[test]
    fn purpose_keys_differ_and_are_stable() {
        let root = Root::from_xprv(MASTER).unwrap();
        let db = purpose_key(&root, Purpose::Database).unwrap();
        let market = market_key(&root).unwrap();
        let backup = purpose_key(&root, Purpose::Backup).unwrap();
        assert_ne!(db.expose(), market.expose());
        assert_ne!(market.expose(), backup.expose());
        assert_eq!(
            db.expose(),
            purpose_key(&root, Purpose::Database).unwrap().expose()
        );
        assert_eq!(&hex_entropy(&root, 32, 0).unwrap()[..], db.expose());
        assert_eq!(&hex_entropy(&root, 32, 1).unwrap()[..], market.expose());
        assert_eq!(&hex_entropy(&root, 32, 2).unwrap()[..], backup.expose());
        assert!(hex_entropy(&root, 15, 0).is_err());
        assert!(hex_entropy(&root, 65, 0).is_err());
    }
}
