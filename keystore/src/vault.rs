//! The vault file: the seed entropy, BIP-39 passphrase and imported keys, encrypted under the
//! user's password.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! magic "KBVAULT\n" | version u8 = 1 | kdf u8 = 1 (scrypt) | log2(N) u8 | r u32 | p u32
//! | salt [32] | nonce [24] | ciphertext length u32 | ciphertext | sha256(everything before) [32]
//! ```
//!
//! The key is scrypt(password, salt); the cipher is XChaCha20-Poly1305 with the whole header
//! (magic through ciphertext length) as associated data, so a changed KDF parameter is caught.
//! The trailing SHA-256 is not a secret check: it tells a damaged file (reported as corrupt) from
//! a wrong password (the AEAD fails on an intact file).
use std::path::Path;

use zeroize::Zeroizing;

use crate::mnemonic::Phrase;
use crate::secret::{Password, Secret32};
use crate::wallet::{ImportedKey, Wallet};
use crate::{Error, Result};
use crate::{atomic, sealed};

const MAGIC: &[u8; 8] = b"KBVAULT\n";
const VERSION: u8 = 1;
const KDF_SCRYPT: u8 = 1;
const HEADER_LEN: usize = 8 + 1 + 1 + 1 + 4 + 4 + 32 + 24 + 4;
const MAX_CIPHERTEXT: usize = 1 << 20;
const PAYLOAD_VERSION: u8 = 1;
/// The longest label a newly imported key may have, in bytes. (The format allows 65,535; a
/// label is a name for a list, and a limit well below the format's keeps every vault small.)
pub const MAX_LABEL_BYTES: usize = 200;
/// The longest BIP-39 passphrase a new wallet may have, in bytes.
pub const MAX_PASSPHRASE_BYTES: usize = 1024;
/// How many imported keys a vault holds at most.
pub const MAX_IMPORTED: usize = 1000;

/// scrypt parameters. Readers take them from the file; writers use [`KdfParams::for_writing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
}

impl KdfParams {
    /// geth's standard scrypt cost: N=2^18, r=8, p=1 (256 MiB, about a second).
    pub const STANDARD: KdfParams = KdfParams {
        log_n: 18,
        r: 8,
        p: 1,
    };

    /// The parameters new vaults are written with. Builds with the `test-weak-kdf` feature (never
    /// a release) drop to N=2^10 when `KEYBOT_TEST_WEAK_KDF` is set, for tests that rewrite a
    /// vault hundreds of times.
    pub fn for_writing() -> KdfParams {
        #[cfg(feature = "test-weak-kdf")]
        if std::env::var_os("KEYBOT_TEST_WEAK_KDF").is_some() {
            return KdfParams {
                log_n: 10,
                r: 8,
                p: 1,
            };
        }
        KdfParams::STANDARD
    }

    /// Refuses parameters that are too weak to be ours or so costly that a crafted file could
    /// exhaust memory (more than 2 GiB).
    fn check(self) -> std::result::Result<(), String> {
        let ok_range = (10..=22).contains(&self.log_n)
            && (1..=32).contains(&self.r)
            && (1..=16).contains(&self.p);
        let mem = 128u64 * u64::from(self.r) * (1u64 << self.log_n.min(40));
        if ok_range && mem <= 2 << 30 {
            Ok(())
        } else {
            Err(format!(
                "unsupported KDF parameters log2(N)={} r={} p={}",
                self.log_n, self.r, self.p
            ))
        }
    }

    fn derive(self, password: &Password, salt: &[u8]) -> Result<Secret32> {
        let params = scrypt::Params::new(self.log_n, self.r, self.p)
            .map_err(|e| Error::Derivation(format!("scrypt parameters: {e}")))?;
        let mut key = Zeroizing::new([0u8; 32]);
        scrypt::scrypt(password.expose().as_bytes(), salt, &params, &mut key[..])
            .map_err(|e| Error::Derivation(format!("scrypt: {e}")))?;
        Ok(Secret32::new(*key))
    }
}

/// Why bytes could not be opened as a vault, before a path is attached.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Corrupt(String),
    WrongPassword,
}

/// The parsed, not yet decrypted, vault header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub kdf: KdfParams,
    pub salt: [u8; 32],
    pub nonce: [u8; 24],
    pub ciphertext_len: usize,
}

/// Parses the structure of a vault file and checks its integrity hash. Never decrypts.
pub fn parse(bytes: &[u8]) -> std::result::Result<Header, DecodeError> {
    let corrupt = |s: &str| DecodeError::Corrupt(s.to_owned());
    if bytes.len() < MAGIC.len() || &bytes[..8] != MAGIC {
        return Err(corrupt("not a keybot vault"));
    }
    if bytes.len() < HEADER_LEN + 32 {
        return Err(corrupt("truncated"));
    }
    let version = bytes[8];
    if version != VERSION {
        return Err(DecodeError::Corrupt(format!(
            "unknown vault version {version}"
        )));
    }
    if bytes[9] != KDF_SCRYPT {
        return Err(corrupt("unknown KDF"));
    }
    let u32_at =
        |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let kdf = KdfParams {
        log_n: bytes[10],
        r: u32_at(11),
        p: u32_at(15),
    };
    let mut salt = [0u8; 32];
    salt.copy_from_slice(&bytes[19..51]);
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(&bytes[51..75]);
    let ciphertext_len = u32_at(75) as usize;
    if ciphertext_len > MAX_CIPHERTEXT || bytes.len() != HEADER_LEN + ciphertext_len + 32 {
        return Err(corrupt(
            "truncated or padded: the length does not match its header",
        ));
    }
    if !sealed::digest_ok(bytes) {
        return Err(corrupt("checksum mismatch: the file was damaged"));
    }
    kdf.check().map_err(DecodeError::Corrupt)?;
    Ok(Header {
        version,
        kdf,
        salt,
        nonce,
        ciphertext_len,
    })
}

/// Encrypts a wallet into vault bytes.
pub fn encode(wallet: &Wallet, password: &Password, kdf: KdfParams) -> Result<Vec<u8>> {
    kdf.check().map_err(Error::Derivation)?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut salt).map_err(|e| Error::Derivation(format!("random source: {e}")))?;
    getrandom::fill(&mut nonce).map_err(|e| Error::Derivation(format!("random source: {e}")))?;
    // Every length is checked before the (slow) KDF, so a wallet that cannot be written is
    // refused at once and nothing reaches the disk.
    let plaintext = encode_payload(wallet)?;
    let ct_len = plaintext.len() + sealed::TAG_LEN;
    if ct_len > MAX_CIPHERTEXT {
        return Err(Error::TooLarge(format!(
            "the wallet would take {ct_len} bytes; a vault holds at most {MAX_CIPHERTEXT}"
        )));
    }
    let ct_len_field = u32::try_from(ct_len).map_err(|_| Error::TooLarge("the wallet".into()))?;
    let key = kdf.derive(password, &salt)?;
    let mut out = Vec::with_capacity(HEADER_LEN + ct_len + sealed::DIGEST_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, KDF_SCRYPT, kdf.log_n]);
    out.extend_from_slice(&kdf.r.to_be_bytes());
    out.extend_from_slice(&kdf.p.to_be_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct_len_field.to_be_bytes());
    sealed::seal_into(&mut out, &nonce, &plaintext, &key)
        .map_err(|_| Error::Derivation("encryption failed".into()))?;
    Ok(out)
}

/// Decrypts vault bytes.
pub fn decode(bytes: &[u8], password: &Password) -> std::result::Result<Wallet, DecodeError> {
    let header = parse(bytes)?;
    let key = header
        .kdf
        .derive(password, &header.salt)
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    let plaintext =
        sealed::open(bytes, HEADER_LEN, &header.nonce, &key).ok_or(DecodeError::WrongPassword)?;
    decode_payload(&plaintext)
}

/// A length as the format's field type, or a clear error: a length that does not fit is never
/// truncated (a truncated length writes a vault that reads back as corrupt).
fn field<T: TryFrom<usize>>(len: usize, what: &str) -> Result<T> {
    T::try_from(len).map_err(|_| Error::TooLarge(format!("{what} ({len} bytes)")))
}

/// Refuses a BIP-39 passphrase longer than a new wallet may have.
pub fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(Error::TooLarge(format!(
            "the BIP-39 passphrase has {} bytes; at most {MAX_PASSPHRASE_BYTES}",
            passphrase.len()
        )));
    }
    Ok(())
}

/// Refuses a label longer than a newly imported key may have.
pub fn check_label(label: &str) -> Result<()> {
    if label.len() > MAX_LABEL_BYTES {
        return Err(Error::TooLarge(format!(
            "the label has {} bytes; at most {MAX_LABEL_BYTES}",
            label.len()
        )));
    }
    Ok(())
}

fn encode_payload(wallet: &Wallet) -> Result<Zeroizing<Vec<u8>>> {
    let entropy = wallet.phrase().entropy();
    let pass = wallet.passphrase().as_bytes();
    let imported = wallet.imported();
    let entropy_len: u8 = field(entropy.len(), "the seed entropy")?;
    let pass_len: u16 = field(pass.len(), "the BIP-39 passphrase")?;
    let count: u16 = field(imported.len(), "the number of imported keys")?;
    let label_lens = imported
        .iter()
        .map(|k| field::<u16>(k.label.len(), "a label"))
        .collect::<Result<Vec<u16>>>()?;
    let len = 1
        + 1
        + entropy.len()
        + 2
        + pass.len()
        + 2
        + imported
            .iter()
            .map(|k| 32 + 2 + k.label.len())
            .sum::<usize>();
    // Sized exactly so the buffer never reallocates and leaves an unwiped copy behind.
    let mut p = Zeroizing::new(Vec::with_capacity(len));
    p.push(PAYLOAD_VERSION);
    p.push(entropy_len);
    p.extend_from_slice(&entropy);
    p.extend_from_slice(&pass_len.to_be_bytes());
    p.extend_from_slice(pass);
    p.extend_from_slice(&count.to_be_bytes());
    for (k, label_len) in imported.iter().zip(label_lens) {
        p.extend_from_slice(k.key().expose());
        p.extend_from_slice(&label_len.to_be_bytes());
        p.extend_from_slice(k.label.as_bytes());
    }
    debug_assert_eq!(p.len(), len);
    Ok(p)
}

/// Checks that `bytes`, as read back from disk, open under `password` to exactly `wallet`
/// (the payloads are compared: same entropy, passphrase, keys and labels).
fn verify_written(bytes: &[u8], wallet: &Wallet, password: &Password) -> Result<()> {
    let back = decode(bytes, password).map_err(|_| {
        Error::Derivation("the new vault did not read back; the old one was kept".into())
    })?;
    if *encode_payload(&back)? != *encode_payload(wallet)? {
        return Err(Error::Derivation(
            "the new vault read back different; the old one was kept".into(),
        ));
    }
    Ok(())
}

/// The payload decoder on its own, for the fuzzer (the full decoder is guarded by a checksum
/// and an AEAD that random input never passes).
#[cfg(feature = "fuzzing")]
pub fn decode_payload_for_fuzzing(p: &[u8]) -> std::result::Result<Wallet, DecodeError> {
    decode_payload(p)
}

fn decode_payload(p: &[u8]) -> std::result::Result<Wallet, DecodeError> {
    let bad = |s: &str| DecodeError::Corrupt(format!("bad contents: {s}"));
    let mut r = Reader { buf: p };
    if r.u8().ok_or_else(|| bad("empty"))? != PAYLOAD_VERSION {
        return Err(bad("unknown payload version"));
    }
    let n = usize::from(r.u8().ok_or_else(|| bad("entropy"))?);
    let entropy = r.take(n).ok_or_else(|| bad("entropy"))?;
    let phrase = Phrase::from_entropy(entropy).map_err(|_| bad("entropy length"))?;
    let n = usize::from(r.u16().ok_or_else(|| bad("passphrase"))?);
    let pass = Zeroizing::new(
        std::str::from_utf8(r.take(n).ok_or_else(|| bad("passphrase"))?)
            .map_err(|_| bad("passphrase"))?
            .to_owned(),
    );
    let mut wallet = Wallet::new(phrase, &pass).map_err(|e| bad(&e.to_string()))?;
    let count = r.u16().ok_or_else(|| bad("imported keys"))?;
    for _ in 0..count {
        let key = Secret32::from_slice(r.take(32).ok_or_else(|| bad("imported key"))?)
            .ok_or_else(|| bad("imported key"))?;
        let n = usize::from(r.u16().ok_or_else(|| bad("label"))?);
        let label = std::str::from_utf8(r.take(n).ok_or_else(|| bad("label"))?)
            .map_err(|_| bad("label"))?
            .to_owned();
        wallet.push_imported(ImportedKey::new(label, key).map_err(|_| bad("imported key"))?);
    }
    if !r.buf.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(wallet)
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

fn map_decode(path: &Path, e: DecodeError) -> Error {
    match e {
        DecodeError::WrongPassword => Error::WrongPassword,
        DecodeError::Corrupt(reason) => Error::CorruptVault {
            path: path.to_owned(),
            reason,
        },
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NoVault(path.to_owned())),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

/// Opens the vault at `path`.
pub fn open(path: &Path, password: &Password) -> Result<Wallet> {
    let bytes = read(path)?;
    decode(&bytes, password).map_err(|e| map_decode(path, e))
}

/// Checks that `path` holds a structurally intact vault, without a password.
pub fn check(path: &Path) -> Result<Header> {
    let bytes = read(path)?;
    parse(&bytes).map_err(|e| map_decode(path, e))
}

/// The advisory lock that serialises every keybot process writing the vault at `path`: held
/// from reading the vault to renaming the new one into place, so that two writers (an import
/// and a password change in two terminals) cannot both start from the same old vault and have
/// the second rename drop the first one's change. Released when dropped (the lock belongs to
/// the open file, so a killed process releases it too).
pub struct VaultLock {
    _file: std::fs::File,
}

/// Takes the vault's lock, waiting for another writer to finish.
pub fn lock(path: &Path) -> Result<VaultLock> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            "bad vault path",
            std::io::Error::other(path.display().to_string()),
        )
    })?;
    let lock_path = path.with_file_name(format!("{}.lock", name.to_string_lossy()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("cannot open {}", lock_path.display()), e))?;
    file.lock()
        .map_err(|e| Error::io(format!("cannot lock {}", lock_path.display()), e))?;
    // Only now, with every other writer excluded, are leftover temp files surely stale.
    atomic::remove_stale_temps(path);
    Ok(VaultLock { _file: file })
}

/// Writes a new vault; refuses to replace an existing one.
pub fn create(path: &Path, wallet: &Wallet, password: &Password) -> Result<()> {
    if path.exists() {
        return Err(Error::VaultExists(path.to_owned()));
    }
    if let Some(dir) = path.parent() {
        atomic::create_private_dir(dir)?;
    }
    let bytes = encode(wallet, password, KdfParams::for_writing())?;
    let _lock = lock(path)?;
    atomic::create_private_verified(path, &bytes, |b| verify_written(b, wallet, password)).map_err(
        |e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Error::VaultExists(path.to_owned())
            }
            e => e,
        },
    )
}

/// Opens the vault, lets `change` modify the wallet, and writes it back under `new_password`
/// (or the same password), all under the vault's lock: the wallet changed is the one on disk
/// at that moment, not an older copy. The existing file must be an intact vault: a corrupt one
/// is never overwritten. Nothing is written when `change` fails.
pub fn modify<T>(
    path: &Path,
    password: &Password,
    new_password: Option<&Password>,
    change: impl FnOnce(&mut Wallet) -> Result<T>,
) -> Result<T> {
    check(path)?;
    let _lock = lock(path)?;
    let mut wallet = open(path, password)?;
    let out = change(&mut wallet)?;
    let pw = new_password.unwrap_or(password);
    let bytes = encode(&wallet, pw, KdfParams::for_writing())?;
    atomic::write_private_verified(path, &bytes, |b| verify_written(b, &wallet, pw))?;
    Ok(out)
}

/// Replaces the vault at `path` with `wallet` under `password`, atomically. The existing file
/// must be an intact vault: a corrupt one is never overwritten. Prefer [`modify`], which reads
/// the vault under the lock: `wallet` here may be older than what is on disk.
pub fn replace(path: &Path, wallet: &Wallet, password: &Password) -> Result<()> {
    check(path)?;
    let bytes = encode(wallet, password, KdfParams::for_writing())?;
    let _lock = lock(path)?;
    check(path)?;
    atomic::write_private_verified(path, &bytes, |b| verify_written(b, wallet, password))
}

/// Re-encrypts the vault under a new password. Until the final rename the old file, valid under
/// the old password, is what is on disk.
pub fn change_password(path: &Path, old: &Password, new: &Password) -> Result<()> {
    modify(path, old, Some(new), |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const WEAK: KdfParams = KdfParams {
        log_n: 10,
        r: 8,
        p: 1,
    };

    fn wallet() -> Wallet {
        let phrase = Phrase::parse(
            "legal winner thank year wave sausage worth useful legal winner thank yellow",
        )
        .unwrap();
        let mut w = Wallet::new(phrase, "TREZOR").unwrap();
        w.import_key(Secret32::new([0x11; 32]), "from geth")
            .unwrap();
        w
    }

    #[test]
    fn round_trip_keeps_everything() {
        let w = wallet();
        let pw = Password::from("correct horse");
        let bytes = encode(&w, &pw, WEAK).unwrap();
        let back = decode(&bytes, &pw).unwrap();
        assert_eq!(
            *back.phrase().to_phrase_string(),
            *w.phrase().to_phrase_string()
        );
        assert!(back.has_passphrase());
        assert_eq!(back.addresses(0, 3).unwrap(), w.addresses(0, 3).unwrap());
        assert_eq!(back.imported().len(), 1);
        assert_eq!(back.imported()[0].label, "from geth");
        assert_eq!(back.imported()[0].address, w.imported()[0].address);
    }

    #[test]
    fn wrong_password_is_not_corruption() {
        let bytes = encode(&wallet(), &Password::from("a"), WEAK).unwrap();
        assert_eq!(
            decode(&bytes, &Password::from("b")).unwrap_err(),
            DecodeError::WrongPassword
        );
    }

    #[test]
    fn every_damaged_byte_and_every_truncation_is_corrupt() {
        let pw = Password::from("a");
        let bytes = encode(&wallet(), &pw, WEAK).unwrap();
        for i in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(
                matches!(decode(&b, &pw), Err(DecodeError::Corrupt(_))),
                "byte {i}"
            );
        }
        for n in [0, 5, 8, 60, HEADER_LEN, bytes.len() - 1] {
            assert!(
                matches!(decode(&bytes[..n], &pw), Err(DecodeError::Corrupt(_))),
                "len {n}"
            );
        }
    }

    #[test]
    fn tampered_kdf_parameters_fail_authentication() {
        // Rewriting a header field and fixing up the checksum must still fail: the header is AAD.
        let pw = Password::from("a");
        let mut b = encode(&wallet(), &pw, WEAK).unwrap();
        b[10] = 11;
        let body = b.len() - 32;
        let d = Sha256::digest(&b[..body]);
        b[body..].copy_from_slice(&d);
        assert_eq!(decode(&b, &pw).unwrap_err(), DecodeError::WrongPassword);
    }

    #[test]
    fn standard_parameters_are_geths() {
        assert_eq!(
            KdfParams::STANDARD,
            KdfParams {
                log_n: 18,
                r: 8,
                p: 1
            }
        );
        #[cfg(not(feature = "test-weak-kdf"))]
        assert_eq!(KdfParams::for_writing(), KdfParams::STANDARD);
    }

    #[test]
    fn absurd_parameters_are_refused() {
        assert!(
            KdfParams {
                log_n: 30,
                r: 8,
                p: 1
            }
            .check()
            .is_err()
        );
        assert!(
            KdfParams {
                log_n: 9,
                r: 8,
                p: 1
            }
            .check()
            .is_err()
        );
        assert!(
            KdfParams {
                log_n: 22,
                r: 32,
                p: 1
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn create_refuses_to_overwrite_and_replace_refuses_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault");
        let pw = Password::from("pw");
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(
            create(&path, &wallet(), &pw),
            Err(Error::VaultExists(_))
        ));
        assert!(matches!(
            replace(&path, &wallet(), &pw),
            Err(Error::CorruptVault { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"garbage");
    }

    #[test]
    fn lengths_that_do_not_fit_the_format_are_refused_not_truncated() {
        let phrase = || {
            Phrase::parse(
                "legal winner thank year wave sausage worth useful legal winner thank yellow",
            )
            .unwrap()
        };
        let pw = Password::from("pw");
        let long_pass = "p".repeat(70_000);
        let w = Wallet::new(phrase(), &long_pass).unwrap();
        assert!(matches!(encode(&w, &pw, WEAK), Err(Error::TooLarge(_))));
        let mut w = Wallet::new(phrase(), "").unwrap();
        w.push_imported(ImportedKey::new("l".repeat(70_000), Secret32::new([0x22; 32])).unwrap());
        assert!(matches!(encode(&w, &pw, WEAK), Err(Error::TooLarge(_))));
        // The limits for new wallets and new keys are far below the format's.
        let mut w = Wallet::new(phrase(), "").unwrap();
        assert!(matches!(
            w.import_key(Secret32::new([0x22; 32]), &"l".repeat(MAX_LABEL_BYTES + 1)),
            Err(Error::TooLarge(_))
        ));
        assert!(check_passphrase(&"p".repeat(MAX_PASSPHRASE_BYTES + 1)).is_err());
        assert!(check_passphrase(&"p".repeat(MAX_PASSPHRASE_BYTES)).is_ok());
    }

    #[test]
    fn modify_reads_the_vault_under_the_lock_and_keeps_both_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault");
        let pw = Password::from("pw");
        let bytes = encode(&wallet(), &pw, WEAK).unwrap();
        atomic::create_private(&path, &bytes).unwrap();
        // A stale temp file from a killed writer goes once a writer holds the lock.
        let stale = dir.path().join(".vault.tmp-00");
        std::fs::write(&stale, b"x").unwrap();
        modify(&path, &pw, None, |w| {
            w.import_key(Secret32::new([0x33; 32]), "b")
        })
        .unwrap();
        modify(&path, &pw, Some(&Password::from("new")), |_| Ok(())).unwrap();
        let back = open(&path, &Password::from("new")).unwrap();
        assert_eq!(back.imported().len(), 2);
        assert!(!stale.exists());
        assert!(dir.path().join("vault.lock").exists());
    }
}
