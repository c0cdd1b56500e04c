//! The data market contract (assets/contracts/DataMarket.sol): its `sol!` binding from the
//! committed artifact, the deployment transaction's input, and the check that an address really
//! holds DataMarket before keybot sends money there (`market join`).
//!
//! The contract has no immutables, so every deployment's runtime code is the artifact's
//! `deployedBytecode` byte for byte (the metadata hash at its end included): the check is plain
//! equality, and any other contract, however similar, is refused.
use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::sol_types::SolConstructor;

use super::client::{ChainError, ChainResult, Client, Refusal};

pub use bindings::DataMarket;

// The generated constructors of `list`'s call and the `Listed` event take one argument per field.
#[allow(clippy::too_many_arguments)]
mod bindings {
    alloy::sol!(
        #[sol(rpc, abi)]
        #[derive(Debug, PartialEq, Eq)]
        DataMarket,
        "assets/contracts/DataMarket.json"
    );
}

/// The contract's `MAX_REASON`: the longest dispute reason it takes, in bytes
/// (tests/chain/market_contract.rs checks it against the contract's own refusal).
pub const MAX_REASON: usize = 1024;

/// A DataMarket on some chain: where it is and the block it was deployed in (where reading its
/// events starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    pub address: Address,
    pub block: u64,
}

/// The input of the transaction that deploys a DataMarket accepting ETH and `tokens`: the
/// creation code, then the ABI-encoded constructor argument.
pub fn creation_code(tokens: &[Address]) -> Bytes {
    let args = DataMarket::constructorCall {
        tokens: tokens.to_vec(),
    }
    .abi_encode();
    let mut code = DataMarket::BYTECODE.to_vec();
    code.extend_from_slice(&args);
    code.into()
}

/// Whether `code` (as `eth_getCode` returns it) is DataMarket's runtime code.
pub fn is_market_code(code: &[u8]) -> bool {
    code == &DataMarket::DEPLOYED_BYTECODE[..]
}

/// Checks that the code at `address` is DataMarket's, then reads the block it was deployed in.
/// Anything else (no code, another contract, a DataMarket built from other sources) is
/// [`Refusal::NotAMarket`]: money never goes to an address only because a config or a chat
/// named it.
pub async fn verify(client: &Client, address: Address) -> ChainResult<Deployment> {
    let p = client.provider();
    let code = p.get_code_at(address).await.map_err(|e| client.error(e))?;
    if !is_market_code(&code) {
        return Err(Refusal::NotAMarket {
            address,
            empty: code.is_empty(),
        }
        .into());
    }
    let block = DataMarket::new(address, p)
        .deploymentBlock()
        .call()
        .await
        .map_err(|e| call_error(client, e))?;
    let block = u64::try_from(block).map_err(|_| {
        ChainError::Node(format!(
            "the market at {} reports deployment block {block}, which is not a block number",
            address.to_checksum(None)
        ))
    })?;
    Ok(Deployment { address, block })
}

/// A failed call to the market, with DataMarket's custom errors decoded.
fn call_error(client: &Client, e: alloy::contract::Error) -> ChainError {
    match e {
        alloy::contract::Error::TransportError(e) => client.call_error(e, &abi_errors()),
        other => ChainError::Node(other.to_string()),
    }
}

/// DataMarket's custom errors (its own and those of the OpenZeppelin code it uses), and the
/// ERC-20 ones a token may revert with inside `buy`, for decoding a revert into words.
pub fn abi_errors() -> Vec<alloy::json_abi::Error> {
    let mut errors: Vec<_> = DataMarket::abi::contract().errors().cloned().collect();
    errors.extend(super::token::errors());
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_code_is_the_artifact_then_the_token_list() {
        let t: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
            .parse()
            .unwrap();
        let code = creation_code(&[t]);
        assert!(code.starts_with(&DataMarket::BYTECODE));
        let args = &code[DataMarket::BYTECODE.len()..];
        // offset 0x20, length 1, the address left-padded.
        assert_eq!(args.len(), 96);
        assert_eq!(args[31], 0x20);
        assert_eq!(args[63], 1);
        assert_eq!(&args[76..], t.as_slice());
    }

    #[test]
    fn only_the_exact_runtime_code_passes() {
        let code = DataMarket::DEPLOYED_BYTECODE.to_vec();
        assert!(is_market_code(&code));
        assert!(!is_market_code(&[]));
        assert!(!is_market_code(&code[..code.len() - 1]));
        let mut changed = code.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(!is_market_code(&changed), "a different metadata hash");
        let mut longer = code;
        longer.push(0);
        assert!(!is_market_code(&longer));
    }

    #[test]
    fn the_binding_has_the_surface_market_md_fixes() {
        use DataMarket as M;
        use alloy::sol_types::{SolCall, SolEvent};
        assert_eq!(
            M::listCall::SIGNATURE,
            "list(uint256,address,bytes32,bytes32,bytes,string,string)"
        );
        assert_eq!(M::buyCall::SIGNATURE, "buy(uint256,bytes,uint256)");
        assert_eq!(M::deliverCall::SIGNATURE, "deliver(uint256,bytes)");
        assert_eq!(M::refundCall::SIGNATURE, "refund(uint256,address)");
        assert_eq!(
            M::challengeCall::SIGNATURE,
            "challenge(uint256,uint256,uint256,bytes,bytes,bytes)"
        );
        assert_eq!(M::disputeCall::SIGNATURE, "dispute(uint256,uint256,string)");
        assert_eq!(M::settleCall::SIGNATURE, "settle(uint256[])");
        assert_eq!(
            M::withdrawCall::SIGNATURE,
            "withdraw(address,address,uint256[])"
        );
        assert_eq!(M::claimableCall::SIGNATURE, "claimable(address,address)");
        assert_eq!(
            M::Listed::SIGNATURE,
            "Listed(uint256,address,address,uint256,bytes32,bytes32,bytes,string,string)"
        );
        assert_eq!(
            M::Purchased::SIGNATURE,
            "Purchased(uint256,address,address,uint256,address,uint256,bytes,uint64)"
        );
        assert_eq!(
            M::Delivered::SIGNATURE,
            "Delivered(uint256,address,bytes,uint64)"
        );
        assert_eq!(
            M::KeyProvenWrong::SIGNATURE,
            "KeyProvenWrong(uint256,address,address,uint256)"
        );
        assert_eq!(
            M::Settled::SIGNATURE,
            "Settled(uint256,address,address,uint256)"
        );
        assert_eq!(
            M::Refunded::SIGNATURE,
            "Refunded(uint256,address,address,uint256)"
        );
        assert_eq!(
            M::Disputed::SIGNATURE,
            "Disputed(uint256,address,uint256,string)"
        );
        assert_eq!(
            M::Withdrawn::SIGNATURE,
            "Withdrawn(address,address,uint256)"
        );
        assert!(abi_errors().iter().any(|e| e.name == "AlreadyDelivered"));
    }
}
