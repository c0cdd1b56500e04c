//! Web3 Secret Storage v3 files (geth, cast, MetaMask exports).
//!
//! Reading takes every KDF parameter from the file (scrypt or PBKDF2-HMAC-SHA256) within memory
//! and time bounds, accepts `crypto` and `Crypto`, and left-pads short keys as geth does.
//! Writing uses geth's standard parameters (scrypt N=2^18, r=8, p=1, aes-128-ctr, keccak MAC)
//! and geth's procedure: a 0600 temp file, verified by decrypting it, then renamed into place.
//! alloy's own writer (eth-keystore) is not used for writing: it hard-codes N=8192 and writes
//! without 0600, a temp file or fsync.
use std::path::Path;

use aes::cipher::{KeyIvInit, StreamCipher};
use alloy::primitives::{Address, keccak256};
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::secret::{Password, Secret32};
use crate::{Error, Result, atomic, derive};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

#[derive(Deserialize)]
struct File {
    #[serde(alias = "Crypto")]
    crypto: Crypto,
    address: Option<String>,
    version: u32,
}

#[derive(Deserialize)]
struct Crypto {
    cipher: String,
    cipherparams: CipherParams,
    ciphertext: String,
    kdf: String,
    kdfparams: Value,
    mac: String,
}

#[derive(Deserialize)]
struct CipherParams {
    iv: String,
}

fn bad(s: impl Into<String>) -> Error {
    Error::Keystore(s.into())
}

fn hex_field(name: &str, s: &str) -> Result<Vec<u8>> {
    hex::decode(s.trim_start_matches("0x")).map_err(|_| bad(format!("field {name} is not hex")))
}

fn u64_field(params: &Value, name: &str) -> Result<u64> {
    params
        .get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(format!("kdfparams.{name} is missing or not a number")))
}

/// What a v3 file decrypts to.
pub struct Decrypted {
    pub key: Secret32,
    pub address: Address,
}

/// Decrypts a v3 keystore. A MAC mismatch is reported as a wrong password, which it almost always
/// is; malformed files get a message naming what is wrong.
pub fn decrypt(json: &[u8], password: &Password) -> Result<Decrypted> {
    let text = std::str::from_utf8(json).map_err(|_| bad("the file is not UTF-8 text"))?;
    let file: File =
        serde_json::from_str(text).map_err(|e| bad(format!("not a v3 keystore ({e})")))?;
    if file.version != 3 {
        return Err(bad(format!(
            "version {} is not supported (only 3)",
            file.version
        )));
    }
    let c = &file.crypto;
    if c.cipher != "aes-128-ctr" {
        return Err(bad(format!(
            "cipher {:?} is not supported (only aes-128-ctr)",
            c.cipher
        )));
    }
    let iv = hex_field("iv", &c.cipherparams.iv)?;
    let ciphertext = hex_field("ciphertext", &c.ciphertext)?;
    let mac = hex_field("mac", &c.mac)?;
    if iv.len() != 16 || mac.len() != 32 || ciphertext.is_empty() || ciphertext.len() > 32 {
        return Err(bad("iv, mac or ciphertext has the wrong length"));
    }
    let dk = derive_key(&c.kdf, &c.kdfparams, password.expose().as_bytes())?;
    let mut mac_input = Vec::with_capacity(16 + ciphertext.len());
    mac_input.extend_from_slice(&dk[16..32]);
    mac_input.extend_from_slice(&ciphertext);
    if !bool::from(keccak256(&mac_input).as_slice().ct_eq(&mac)) {
        return Err(Error::WrongPassword);
    }
    let mut plain = Zeroizing::new([0u8; 32]);
    let off = 32 - ciphertext.len();
    plain[off..].copy_from_slice(&ciphertext);
    let mut cipher = Aes128Ctr::new(dk[..16].into(), iv.as_slice().into());
    cipher.apply_keystream(&mut plain[off..]);
    let key = Secret32::new(*plain);
    let address = derive::signer_from_key(&key)
        .map_err(|_| bad("the decrypted key is not a valid secp256k1 key"))?
        .address();
    if let Some(a) = file.address.as_deref().filter(|a| !a.is_empty()) {
        let stated: Address = format!("0x{}", a.trim_start_matches("0x"))
            .parse()
            .map_err(|_| bad("the address field is not an address"))?;
        if stated != address {
            return Err(bad(format!(
                "the key belongs to {address}, not to the file's address {stated}"
            )));
        }
    }
    Ok(Decrypted { key, address })
}

fn derive_key(kdf: &str, p: &Value, password: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let dklen = u64_field(p, "dklen")?;
    if dklen != 32 {
        return Err(bad(format!(
            "kdfparams.dklen {dklen} is not supported (only 32)"
        )));
    }
    let salt = hex_field(
        "salt",
        p.get("salt")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("kdfparams.salt is missing"))?,
    )?;
    let mut dk = Zeroizing::new([0u8; 32]);
    match kdf {
        "scrypt" => {
            let n = u64_field(p, "n")?;
            let r = u64_field(p, "r")?;
            let pp = u64_field(p, "p")?;
            if !n.is_power_of_two() || n < 2 {
                return Err(bad("kdfparams.n must be a power of two"));
            }
            // Bounded so a crafted file cannot take more than 1 GiB or minutes of CPU. Checked
            // arithmetic: n comes from the file and may be as large as 2^63.
            let mem = 128u64.checked_mul(r).and_then(|x| x.checked_mul(n));
            let work = n.checked_mul(r).and_then(|x| x.checked_mul(pp));
            if r == 0
                || pp == 0
                || r > 64
                || pp > 64
                || mem.is_none_or(|m| m > 1 << 30)
                || work.is_none_or(|w| w > 1 << 26)
            {
                return Err(bad(format!(
                    "scrypt parameters n={n} r={r} p={pp} are out of bounds"
                )));
            }
            let params = scrypt::Params::new(n.trailing_zeros() as u8, r as u32, pp as u32)
                .map_err(|e| bad(format!("scrypt parameters: {e}")))?;
            scrypt::scrypt(password, &salt, &params, &mut dk[..])
                .map_err(|e| bad(format!("scrypt: {e}")))?;
        }
        "pbkdf2" => {
            let prf = p.get("prf").and_then(Value::as_str).unwrap_or("");
            if prf != "hmac-sha256" {
                return Err(bad(format!(
                    "pbkdf2 prf {prf:?} is not supported (only hmac-sha256)"
                )));
            }
            let c = u64_field(p, "c")?;
            if c == 0 || c > 10_000_000 {
                return Err(bad(format!("pbkdf2 iteration count {c} is out of bounds")));
            }
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &salt, c as u32, &mut dk[..]);
        }
        other => {
            return Err(bad(format!(
                "KDF {other:?} is not supported (scrypt or pbkdf2)"
            )));
        }
    }
    Ok(dk)
}

/// scrypt cost for writing: geth's standard unless a test lowers it.
#[derive(Debug, Clone, Copy)]
pub struct WriteParams {
    pub log_n: u8,
}

impl WriteParams {
    pub const GETH_STANDARD: WriteParams = WriteParams { log_n: 18 };
}

/// Encrypts `key` into v3 JSON text.
pub fn encrypt(key: &Secret32, password: &Password, params: WriteParams) -> Result<String> {
    let address = derive::signer_from_key(key)?.address();
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| bad(format!("random source: {e}")))?;
    getrandom::fill(&mut iv).map_err(|e| bad(format!("random source: {e}")))?;
    let sp = scrypt::Params::new(params.log_n, 8, 1).map_err(|e| bad(e.to_string()))?;
    let mut dk = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password.expose().as_bytes(), &salt, &sp, &mut dk[..])
        .map_err(|e| bad(e.to_string()))?;
    let mut ct = *key.expose();
    let mut cipher = Aes128Ctr::new(dk[..16].into(), (&iv).into());
    cipher.apply_keystream(&mut ct);
    let mut mac_input = [0u8; 48];
    mac_input[..16].copy_from_slice(&dk[16..32]);
    mac_input[16..].copy_from_slice(&ct);
    let mac = keccak256(mac_input);
    let json = serde_json::json!({
        "address": hex::encode(address.as_slice()),
        "crypto": {
            "cipher": "aes-128-ctr",
            "ciphertext": hex::encode(ct),
            "cipherparams": { "iv": hex::encode(iv) },
            "kdf": "scrypt",
            "kdfparams": { "dklen": 32, "n": 1u64 << params.log_n, "p": 1, "r": 8, "salt": hex::encode(salt) },
            "mac": hex::encode(mac),
        },
        "id": uuid::Uuid::new_v4().to_string(),
        "version": 3,
    });
    serde_json::to_string_pretty(&json).map_err(|e| bad(e.to_string()))
}

/// Writes `key` as a v3 file at `out` (which must not exist): 0600, verified by decrypting what
/// was written before it takes the final name.
pub fn export(
    out: &Path,
    key: &Secret32,
    password: &Password,
    params: WriteParams,
) -> Result<Address> {
    if out.exists() {
        return Err(Error::io(
            format!("{} already exists; not overwritten", out.display()),
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    let json = encrypt(key, password, params)?;
    let check = decrypt(json.as_bytes(), password)?;
    if check.key.expose() != key.expose() {
        return Err(bad("the written keystore did not decrypt to the same key"));
    }
    atomic::create_private(out, json.as_bytes())?;
    let reread = std::fs::read(out)
        .map_err(|e| Error::io(format!("cannot read back {}", out.display()), e))?;
    if reread != json.as_bytes() {
        return Err(bad("the keystore on disk differs from what was written"));
    }
    Ok(check.address)
}
