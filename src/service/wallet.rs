//! Opening and creating the wallet, and the one place that derives the key which opens the
//! store (BIP-85 database key, ARCHITECTURE §2).
use anyhow::Result;
use keybot_keystore::bip85::Purpose;
use keybot_keystore::secret::{Password, Secret32};
use keybot_keystore::{Phrase, Wallet, vault};

use crate::config::Paths;
use crate::store::Store;

/// An unlocked session: the wallet and its store.
pub struct Unlocked {
    pub wallet: Wallet,
    pub store: Store,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unlocked(<redacted>)")
    }
}

/// The key that opens this wallet's store. Everything that opens the store (the app, its
/// chain thread, `keybot backup`, `keybot wallet send`) gets the key here.
pub fn database_key(wallet: &Wallet) -> Result<Secret32> {
    Ok(wallet.purpose_key(Purpose::Database)?)
}

/// Opens (creating if missing) this machine's store with the wallet's database key.
pub fn open_store(paths: &Paths, wallet: &Wallet) -> Result<Store> {
    let key = database_key(wallet)?;
    Ok(Store::open(&paths.store(), &key)?)
}

/// A wallet from its phrase and BIP-39 passphrase ("" for none). The passphrase is checked as
/// the vault will store it, so a wallet that could not be written is never made.
pub fn from_phrase(phrase: Phrase, passphrase: &str) -> Result<Wallet> {
    vault::check_passphrase(passphrase)?;
    Ok(Wallet::new(phrase, passphrase)?)
}

/// Writes the vault of a new wallet under `password`; an existing vault is never overwritten.
pub fn write_new_vault(paths: &Paths, wallet: &Wallet, password: &Password) -> Result<()> {
    let path = paths.vault();
    if path.exists() {
        return Err(keybot_keystore::Error::VaultExists(path).into());
    }
    vault::create(&path, wallet, password)?;
    tracing::info!(vault = %path.display(), words = wallet.phrase().word_count(), "wallet created");
    Ok(())
}

/// Creates (or restores) the wallet from `phrase` and `passphrase`, writes its vault and opens
/// its store: what the app's onboarding does in one step.
pub fn create(
    paths: &Paths,
    phrase: &str,
    passphrase: &str,
    password: &Password,
) -> Result<Unlocked> {
    let wallet = from_phrase(Phrase::parse(phrase)?, passphrase)?;
    write_new_vault(paths, &wallet, password)?;
    let store = open_store(paths, &wallet)?;
    Ok(Unlocked { wallet, store })
}

/// Opens the vault with `password` and its store.
pub fn open(paths: &Paths, password: &Password) -> Result<Unlocked> {
    let wallet = vault::open(&paths.vault(), password)?;
    let store = open_store(paths, &wallet)?;
    Ok(Unlocked { wallet, store })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHRASE: &str = "test test test test test test test test test test test junk";

    #[test]
    fn the_passphrase_is_part_of_the_wallet_and_reopens_with_it() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(home.path())).unwrap();
        let password = Password::new("correct horse battery staple".into());
        let plain = from_phrase(Phrase::parse(PHRASE).unwrap(), "").unwrap();
        let created = create(&paths, PHRASE, "TREZOR", &password).unwrap();
        let a = created.wallet.addresses(0, 2).unwrap();
        assert_ne!(a, plain.addresses(0, 2).unwrap());
        drop(created);
        // A second create refuses to overwrite; the reopened vault keeps the passphrase.
        assert!(create(&paths, PHRASE, "", &password).is_err());
        let reopened = open(&paths, &password).unwrap();
        assert_eq!(reopened.wallet.addresses(0, 2).unwrap(), a);
    }
}
