//! BIP-32 derivation (coins-bip32) and the bridge to alloy's signer.
//!
//! coins-bip32 0.17 uses k256 0.14 while alloy's signer uses k256 0.13, so keys cross between
//! them as 32 raw bytes held in a zeroizing buffer.
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use coins_bip32::primitives::{Hint, XKeyInfo};
use coins_bip32::xkeys::{Parent, XPriv, XPub};
use zeroize::Zeroizing;

use crate::secret::Secret32;
use crate::{Error, MAX_INDEX, Result};

pub const HARDENED: u32 = 0x8000_0000;

/// The path of Ethereum account `i`: BIP-44 `m/44'/60'/0'/0/i`, as MetaMask, Ledger Live and
/// `cast wallet` use.
pub fn eth_path(index: u32) -> [u32; 5] {
    [44 | HARDENED, 60 | HARDENED, HARDENED, 0, index]
}

/// Parses `m/44'/60'/0'/0/0` (`'`, `h` or `H` mark hardened steps). Unlike coins-bip32's own
/// parser it refuses an index of 2^31 or more instead of wrapping it into another key.
pub fn parse_path(path: &str) -> Result<Vec<u32>> {
    let mut parts = path.trim().split('/');
    if parts.next() != Some("m") {
        return Err(Error::Derivation(format!(
            "a path starts with m/: {path:?}"
        )));
    }
    parts
        .map(|p| {
            let (num, hardened) = match p.strip_suffix(['\'', 'h', 'H']) {
                Some(n) => (n, true),
                None => (p, false),
            };
            let value: u64 = num
                .parse()
                .map_err(|_| Error::Derivation(format!("bad path step {p:?} in {path:?}")))?;
            let index = checked_index(value)?;
            Ok(if hardened { index | HARDENED } else { index })
        })
        .collect()
}

/// An index a user typed, checked to be below 2^31.
pub fn checked_index(value: u64) -> Result<u32> {
    if value > u64::from(MAX_INDEX) {
        return Err(Error::IndexOutOfRange(value));
    }
    Ok(value as u32)
}

/// The root of an HD tree. Wiped on drop (coins-bip32 zeroizes its keys).
pub struct Root(XPriv);

impl Root {
    pub fn from_seed(seed: &[u8]) -> Result<Root> {
        // Legacy: serialize as xprv, the BIP-32 form every vector and wallet uses.
        XPriv::root_from_seed(seed, Some(Hint::Legacy))
            .map(Root)
            .map_err(|e| Error::Derivation(e.to_string()))
    }

    /// From a serialized `xprv…` (used by the BIP-32 and BIP-85 test vectors).
    pub fn from_xprv(s: &str) -> Result<Root> {
        let key = XPriv::from_base58(s).map_err(|e| Error::Derivation(e.to_string()))?;
        check_position(key.as_ref())?;
        Ok(Root(key))
    }

    pub fn derive(&self, path: &[u32]) -> Result<XPriv> {
        let mut key = self.0.clone();
        for &step in path {
            key = key
                .derive_child(step)
                .map_err(|e| Error::Derivation(e.to_string()))?;
        }
        Ok(key)
    }

    /// The 32-byte private key at `path`.
    pub fn private_key(&self, path: &[u32]) -> Result<Secret32> {
        let xpriv = self.derive(path)?;
        Ok(raw_key(&xpriv))
    }

    /// The signer for Ethereum account `index`.
    pub fn eth_signer(&self, index: u32) -> Result<PrivateKeySigner> {
        checked_index(u64::from(index))?;
        signer_from_key(&self.private_key(&eth_path(index))?)
    }

    /// Addresses `start .. start+count`, deriving the shared parent `m/44'/60'/0'/0` once.
    pub fn eth_addresses(&self, start: u32, count: u32) -> Result<Vec<Address>> {
        let end = u64::from(start) + u64::from(count);
        if count > 0 {
            checked_index(end - 1)?;
        }
        let parent = self.derive(&eth_path(0)[..4])?;
        (start..start + count)
            .map(|i| {
                let child = parent
                    .derive_child(i)
                    .map_err(|e| Error::Derivation(e.to_string()))?;
                Ok(signer_from_key(&raw_key(&child))?.address())
            })
            .collect()
    }

    pub fn xprv(&self, path: &[u32]) -> Result<Zeroizing<String>> {
        Ok(self.derive(path)?.to_base58())
    }
}

/// Parses an `xpub…`, with the same position checks as [`Root::from_xprv`].
pub fn parse_xpub(s: &str) -> Result<XPub> {
    let key = XPub::from_base58(s).map_err(|e| Error::Derivation(e.to_string()))?;
    check_position(key.as_ref())?;
    Ok(key)
}

/// BIP-32 vector 5: a depth-0 key must have a zero parent fingerprint and index. coins-bip32
/// does not check this itself.
fn check_position(info: &XKeyInfo) -> Result<()> {
    if info.depth == 0 && (info.parent.0 != [0; 4] || info.index != 0) {
        return Err(Error::Derivation(
            "a master key (depth 0) with a parent or an index".into(),
        ));
    }
    Ok(())
}

fn raw_key(xpriv: &XPriv) -> Secret32 {
    let sk: &coins_bip32::ecdsa::SigningKey = xpriv.as_ref();
    let bytes = Zeroizing::new(sk.to_bytes());
    let mut arr = Zeroizing::new([0u8; 32]);
    arr.copy_from_slice(&bytes);
    Secret32::new(*arr)
}

/// An alloy signer for a raw private key.
pub fn signer_from_key(key: &Secret32) -> Result<PrivateKeySigner> {
    PrivateKeySigner::from_slice(key.expose())
        .map_err(|_| Error::Derivation("not a valid secp256k1 private key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_indices_are_refused_not_wrapped() {
        assert!(matches!(
            parse_path("m/2147483648'"),
            Err(Error::IndexOutOfRange(2147483648))
        ));
        assert!(matches!(
            parse_path("m/0/4294967296"),
            Err(Error::IndexOutOfRange(_))
        ));
        assert_eq!(parse_path("m/2147483647'").unwrap(), vec![u32::MAX]);
        assert_eq!(
            parse_path("m/44h/60H/0'/0/7").unwrap(),
            eth_path(7).to_vec()
        );
        assert!(parse_path("44'/60'").is_err());
        assert!(parse_path("m/x").is_err());
        let root = Root::from_seed(&[7u8; 64]).unwrap();
        assert!(root.eth_addresses(MAX_INDEX, 2).is_err());
        assert_eq!(root.eth_addresses(MAX_INDEX, 1).unwrap().len(), 1);
    }
}
