//! An inference server's API key (`keybot model add-server --api-key-file`): read from a file,
//! held zeroizing, never shown in `Debug`, and kept on disk only sealed with the wallet's
//! [`Purpose::Secrets`] key, in a file of its own beside the store — so it is not in the store
//! and no backup carries it. The server's name is sealed with it: a key file copied to another
//! server's name does not open.
use zeroize::Zeroizing;

use crate::bip85::Purpose;
use crate::wallet::Wallet;
use crate::{Error, Result};

/// The longest key accepted (providers' keys are well under 200 characters).
pub const MAX_LEN: usize = 1024;

pub struct ApiKey(Zeroizing<String>);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

impl ApiKey {
    /// A key file's text: one line of visible ASCII (surrounding whitespace and a final newline
    /// are dropped). Anything else is refused without repeating it.
    pub fn parse(text: &[u8]) -> Result<ApiKey> {
        let trimmed = text.trim_ascii();
        if trimmed.is_empty() {
            return Err(Error::ApiKey("the key file is empty"));
        }
        if trimmed.len() > MAX_LEN {
            return Err(Error::ApiKey("the key is over 1024 characters"));
        }
        if !trimmed.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(Error::ApiKey(
                "the key must be one line of visible ASCII characters",
            ));
        }
        let s = String::from_utf8(trimmed.to_vec())
            .map_err(|_| Error::ApiKey("the key must be one line of visible ASCII characters"))?;
        Ok(ApiKey(Zeroizing::new(s)))
    }

    /// The key, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn plaintext(server: &str, key: &ApiKey) -> Zeroizing<Vec<u8>> {
    let mut p = Zeroizing::new(Vec::with_capacity(server.len() + 1 + key.0.len()));
    p.extend_from_slice(server.as_bytes());
    p.push(0);
    p.extend_from_slice(key.0.as_bytes());
    p
}

/// `key` for the server registered as `server`, sealed (the content envelope: XChaCha20-Poly1305
/// under the wallet's secrets key, a fresh nonce).
pub fn seal(wallet: &Wallet, server: &str, key: &ApiKey) -> Result<Vec<u8>> {
    let k = wallet.purpose_key(Purpose::Secrets)?;
    crate::content::seal(&k, &plaintext(server, key))
        .map_err(|_| Error::ApiKey("cannot seal the key"))
}

/// The key sealed for `server`; refused when the file was changed, sealed by another wallet, or
/// sealed for another server.
pub fn open(wallet: &Wallet, server: &str, sealed: &[u8]) -> Result<ApiKey> {
    let k = wallet.purpose_key(Purpose::Secrets)?;
    let p = crate::content::open(&k, sealed)
        .map_err(|_| Error::ApiKey("the sealed key does not open with this wallet"))?;
    let name_end = p
        .iter()
        .position(|&b| b == 0)
        .ok_or(Error::ApiKey("the sealed key is damaged"))?;
    if &p[..name_end] != server.as_bytes() {
        return Err(Error::ApiKey("the sealed key belongs to another server"));
    }
    ApiKey::parse(&p[name_end + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet(phrase: &str) -> Wallet {
        Wallet::new(crate::Phrase::parse(phrase).unwrap(), "").unwrap()
    }

    const A: &str = "test test test test test test test test test test test junk";
    const B: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn a_key_seals_for_one_server_and_one_wallet() {
        let w = wallet(A);
        let key = ApiKey::parse(b"  sk-test-123456\n").unwrap();
        assert_eq!(key.expose(), "sk-test-123456");
        assert_eq!(format!("{key:?}"), "ApiKey(…)");
        let sealed = seal(&w, "box", &key).unwrap();
        assert!(
            !sealed.windows(14).any(|x| x == b"sk-test-123456"),
            "sealed, not stored"
        );
        assert_eq!(open(&w, "box", &sealed).unwrap().expose(), "sk-test-123456");
        assert!(open(&w, "other", &sealed).is_err());
        assert!(open(&wallet(B), "box", &sealed).is_err());
        let mut changed = sealed.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(open(&w, "box", &changed).is_err());
    }

    #[test]
    fn a_key_file_is_one_line_of_visible_ascii() {
        for bad in [
            &b""[..],
            b"  \n",
            b"two\nlines",
            b"tab\tinside",
            b"\x1b[2J",
            "ключ".as_bytes(),
        ] {
            let e = ApiKey::parse(bad).unwrap_err().to_string();
            assert!(!e.contains('\u{1b}') && !e.contains("ключ"), "{e}");
        }
        assert!(ApiKey::parse(&[b'k'; MAX_LEN + 1]).is_err());
        assert!(ApiKey::parse(&[b'k'; MAX_LEN]).is_ok());
    }
}
