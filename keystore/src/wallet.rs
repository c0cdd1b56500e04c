//! The unlocked wallet: the handle the app holds while it is unlocked.
use std::fmt;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use zeroize::Zeroizing;

use crate::bip85::{self, Purpose};
use crate::derive::{self, Root};
use crate::mnemonic::Phrase;
use crate::secret::Secret32;
use crate::{Error, Result};

/// Which account: the HD account `m/44'/60'/0'/0/i`, or the i-th key imported from a keystore file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRef {
    Hd(u32),
    Imported(usize),
}

/// A key imported from a Web3 Secret Storage file, kept in the vault beside the seed.
pub struct ImportedKey {
    pub label: String,
    pub address: Address,
    key: Secret32,
}

impl ImportedKey {
    pub(crate) fn new(label: String, key: Secret32) -> Result<ImportedKey> {
        let address = derive::signer_from_key(&key)?.address();
        Ok(ImportedKey {
            label,
            address,
            key,
        })
    }
    pub(crate) fn key(&self) -> &Secret32 {
        &self.key
    }
}

impl fmt::Debug for ImportedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedKey")
            .field("label", &self.label)
            .field("address", &self.address)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Everything the vault holds, decrypted. Dropping it wipes the secrets.
pub struct Wallet {
    phrase: Phrase,
    passphrase: Zeroizing<String>,
    root: Root,
    imported: Vec<ImportedKey>,
}

impl Wallet {
    /// A wallet for `phrase` and its optional BIP-39 passphrase ("" for none).
    pub fn new(phrase: Phrase, passphrase: &str) -> Result<Wallet> {
        let seed = phrase.to_seed(passphrase);
        let root = Root::from_seed(&seed[..])?;
        Ok(Wallet {
            phrase,
            passphrase: Zeroizing::new(passphrase.to_owned()),
            root,
            imported: Vec::new(),
        })
    }

    pub fn phrase(&self) -> &Phrase {
        &self.phrase
    }

    pub(crate) fn passphrase(&self) -> &str {
        &self.passphrase
    }

    pub fn has_passphrase(&self) -> bool {
        !self.passphrase.is_empty()
    }

    pub fn imported(&self) -> &[ImportedKey] {
        &self.imported
    }

    pub fn address(&self, account: AccountRef) -> Result<Address> {
        match account {
            AccountRef::Hd(i) => Ok(self.root.eth_addresses(i, 1)?[0]),
            AccountRef::Imported(i) => self
                .imported
                .get(i)
                .map(|k| k.address)
                .ok_or_else(|| Error::NoSuchImported(i.to_string())),
        }
    }

    /// HD addresses `start .. start+count`.
    pub fn addresses(&self, start: u32, count: u32) -> Result<Vec<Address>> {
        self.root.eth_addresses(start, count)
    }

    /// Finds the account for an address among the imported keys and the first `hd_scan` HD
    /// accounts.
    pub fn find(&self, address: Address, hd_scan: u32) -> Result<Option<AccountRef>> {
        if let Some(i) = self.imported.iter().position(|k| k.address == address) {
            return Ok(Some(AccountRef::Imported(i)));
        }
        let hd = self.root.eth_addresses(0, hd_scan)?;
        Ok(hd
            .iter()
            .position(|a| *a == address)
            .map(|i| AccountRef::Hd(i as u32)))
    }

    /// The signer for an account. alloy's signer prints only its address in `Debug`.
    pub fn signer(&self, account: AccountRef) -> Result<PrivateKeySigner> {
        match account {
            AccountRef::Hd(i) => self.root.eth_signer(i),
            AccountRef::Imported(i) => {
                let k = self
                    .imported
                    .get(i)
                    .ok_or_else(|| Error::NoSuchImported(i.to_string()))?;
                derive::signer_from_key(k.key())
            }
        }
    }

    /// Signs a transaction with an account's key (see [`crate::tx::sign_transaction`]).
    pub fn sign_transaction(
        &self,
        account: AccountRef,
        tx: crate::tx::UnsignedTx,
    ) -> Result<crate::tx::SignedTx> {
        crate::tx::sign_transaction(&self.signer(account)?, tx)
    }

    /// The raw private key of an account, for writing a keystore file.
    pub fn private_key(&self, account: AccountRef) -> Result<Secret32> {
        match account {
            AccountRef::Hd(i) => self
                .root
                .private_key(&derive::eth_path(derive::checked_index(u64::from(i))?)),
            AccountRef::Imported(i) => self
                .imported
                .get(i)
                .map(|k| k.key().clone())
                .ok_or_else(|| Error::NoSuchImported(i.to_string())),
        }
    }

    /// Adds a key (from a keystore file) as an imported account; refuses a key already present as
    /// an imported account or among the first 100 HD accounts.
    pub fn import_key(&mut self, key: Secret32, label: &str) -> Result<Address> {
        crate::vault::check_label(label)?;
        if self.imported.len() >= crate::vault::MAX_IMPORTED {
            return Err(Error::TooLarge(format!(
                "the wallet already holds {} imported keys",
                crate::vault::MAX_IMPORTED
            )));
        }
        let imported = ImportedKey::new(label.to_owned(), key)?;
        if self.find(imported.address, 100)?.is_some() {
            return Err(Error::DuplicateKey(imported.address));
        }
        let address = imported.address;
        self.imported.push(imported);
        Ok(address)
    }

    pub(crate) fn push_imported(&mut self, key: ImportedKey) {
        self.imported.push(key);
    }

    /// The database or backup key. The market key is not a [`Purpose`]: it is used only through
    /// [`Wallet::market_public_key`] and [`Wallet::market_decrypt`].
    pub fn purpose_key(&self, purpose: Purpose) -> Result<Secret32> {
        bip85::purpose_key(&self.root, purpose)
    }

    /// This wallet's market public key (compressed), what a buyer passes to `buy`
    /// (MARKET.md "Keys"). The same for the same phrase and passphrase on any machine.
    pub fn market_public_key(&self) -> Result<[u8; crate::market::PUBLIC_KEY_LEN]> {
        crate::market::public_key(&self.root)
    }

    /// Decrypts a message encrypted to [`Wallet::market_public_key`] (by
    /// [`crate::encrypt_to`], eciesjs or eciespy). Truncated, altered or foreign messages are an
    /// [`Error::Ecies`].
    pub fn market_decrypt(&self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        crate::market::decrypt(&self.root, message)
    }

    /// One-time buyer key j's public key (x ‖ y), what a v2 `buy` passes (MARKET.md v2), or
    /// None for the rare j that is skipped (its x is not below the group order).
    pub fn buyer_key(&self, j: u32) -> Result<Option<[u8; crate::delivery::POINT_LEN]>> {
        crate::delivery::buyer_public_key(&self.root, j)
    }

    /// The content key a v2 delivery `R ‖ c` carries for buyer key j and that purchase.
    pub fn open_delivery(
        &self,
        j: u32,
        delivery: &[u8],
        binding: &crate::delivery::Binding,
    ) -> Result<Secret32> {
        crate::delivery::open(&self.root, j, delivery, binding)
    }

    /// What `challenge` publishes for buyer key j and a delivery: its secret among them.
    pub fn challenge_proof(
        &self,
        j: u32,
        delivery: &[u8],
    ) -> Result<crate::delivery::ChallengeProof> {
        crate::delivery::proof(&self.root, j, delivery)
    }

    /// Buyer key j's one-time secret, which a proven dispute publishes.
    pub fn dispute_secret(&self, j: u32) -> Result<Secret32> {
        crate::delivery::dispute_secret(&self.root, j)
    }
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("phrase", &self.phrase)
            .field("passphrase", &"<redacted>")
            .field("imported", &self.imported)
            .finish()
    }
}
