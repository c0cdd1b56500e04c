//! Message signing: EIP-191 personal_sign and EIP-712 typed data, and verification.
use alloy::dyn_abi::TypedData;
use alloy::primitives::{Address, B256, Signature};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;

use crate::{Error, Result};

/// The bytes a message stands for, as `cast wallet sign` reads it: `0x…` hex is raw bytes,
/// anything else is UTF-8 text.
pub fn message_bytes(message: &str) -> Vec<u8> {
    if let Some(Ok(b)) = message.strip_prefix("0x").map(hex::decode) {
        return b;
    }
    message.as_bytes().to_vec()
}

/// EIP-191 personal_sign.
pub fn sign_message(signer: &PrivateKeySigner, message: &[u8]) -> Result<Signature> {
    signer
        .sign_message_sync(message)
        .map_err(|e| Error::Signature(e.to_string()))
}

/// True when `signature` over `message` (EIP-191) was made by `address`.
pub fn verify_message(address: Address, message: &[u8], signature: &Signature) -> bool {
    signature
        .recover_address_from_msg(message)
        .map(|a| a == address)
        .unwrap_or(false)
}

/// Parses a 65-byte `0x…` signature (v as 27/28 or 0/1).
pub fn parse_signature(s: &str) -> Result<Signature> {
    let bytes = hex::decode(s.trim().trim_start_matches("0x"))
        .map_err(|_| Error::Signature("not hex".into()))?;
    Signature::try_from(bytes.as_slice())
        .map_err(|_| Error::Signature(format!("expected 65 bytes, got {}", bytes.len())))
}

/// `0x` + r + s + v (v as 27/28), as cast and MetaMask print it.
pub fn signature_hex(sig: &Signature) -> String {
    format!("0x{}", hex::encode(sig.as_bytes()))
}

/// The EIP-712 signing hash of a typed-data JSON document (`eth_signTypedData_v4` shape).
pub fn typed_data_hash(json: &str) -> Result<B256> {
    let typed: TypedData =
        serde_json::from_str(json).map_err(|e| Error::TypedData(e.to_string()))?;
    typed
        .eip712_signing_hash()
        .map_err(|e| Error::TypedData(e.to_string()))
}

/// Signs EIP-712 typed data.
pub fn sign_typed_data(signer: &PrivateKeySigner, json: &str) -> Result<Signature> {
    let hash = typed_data_hash(json)?;
    signer
        .sign_hash_sync(&hash)
        .map_err(|e| Error::Signature(e.to_string()))
}
