//! Transaction signing: EIP-1559 (type 2) and EIP-155 legacy transactions, returned as the raw
//! EIP-2718 bytes `eth_sendRawTransaction` takes. No network: the caller fills in the nonce, the
//! fees and the chain id (from an RPC, or from a file on an air-gapped machine).
use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{Address, B256, Bytes};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;

use crate::{Error, Result};

/// A transaction ready to be signed.
#[derive(Debug, Clone, PartialEq)]
pub enum UnsignedTx {
    Eip1559(TxEip1559),
    /// Legacy transactions are signed with EIP-155 replay protection only.
    Legacy(TxLegacy),
}

impl UnsignedTx {
    pub fn chain_id(&self) -> Option<u64> {
        match self {
            UnsignedTx::Eip1559(tx) => Some(tx.chain_id),
            UnsignedTx::Legacy(tx) => tx.chain_id,
        }
    }

    pub fn nonce(&self) -> u64 {
        match self {
            UnsignedTx::Eip1559(tx) => tx.nonce,
            UnsignedTx::Legacy(tx) => tx.nonce,
        }
    }

    /// The hash the signature covers.
    pub fn signature_hash(&self) -> B256 {
        match self {
            UnsignedTx::Eip1559(tx) => tx.signature_hash(),
            UnsignedTx::Legacy(tx) => tx.signature_hash(),
        }
    }
}

/// A signed transaction: the raw bytes to broadcast, its hash and the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    pub raw: Bytes,
    pub hash: B256,
    pub from: Address,
    pub nonce: u64,
    pub chain_id: u64,
}

/// Signs `tx` with `signer`. A transaction without a chain id is refused: without EIP-155 a
/// signature is valid on every chain and can be replayed.
pub fn sign_transaction(signer: &PrivateKeySigner, tx: UnsignedTx) -> Result<SignedTx> {
    let chain_id = tx
        .chain_id()
        .filter(|id| *id != 0)
        .ok_or_else(|| Error::Signature("a transaction needs a chain id (EIP-155)".into()))?;
    let nonce = tx.nonce();
    let hash = tx.signature_hash();
    let sig = signer
        .sign_hash_sync(&hash)
        .map_err(|e| Error::Signature(e.to_string()))?;
    let envelope: TxEnvelope = match tx {
        UnsignedTx::Eip1559(tx) => tx.into_signed(sig).into(),
        UnsignedTx::Legacy(tx) => tx.into_signed(sig).into(),
    };
    Ok(SignedTx {
        raw: envelope.encoded_2718().into(),
        hash: *envelope.tx_hash(),
        from: signer.address(),
        nonce,
        chain_id,
    })
}
