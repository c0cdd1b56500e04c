//! ERC-20 tokens: reading what a token calls itself, balances, and transfer call data.
use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;

use super::client::{ChainError, ChainResult, Client, Refusal};
use super::intent::Call;
use super::network::Token;

alloy::sol! {
    /// The part of ERC-20 a wallet needs, with the standard errors of ERC-6093 (OpenZeppelin
    /// 5's tokens revert with these) so a revert reads as words.
    #[sol(rpc, abi)]
    interface IERC20 {
        event Transfer(address indexed from, address indexed to, uint256 value);
        function balanceOf(address owner) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
        function approve(address spender, uint256 value) external returns (bool);
        function allowance(address owner, address spender) external view returns (uint256);
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
        error ERC20InvalidSender(address sender);
        error ERC20InvalidReceiver(address receiver);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
        error ERC20InvalidApprover(address approver);
        error ERC20InvalidSpender(address spender);
    }
}

/// The ERC-20 errors, to decode a token's revert.
pub fn errors() -> Vec<alloy::json_abi::Error> {
    IERC20::abi::contract().errors().cloned().collect()
}

/// The intent of `approve(spender, amount)` on `token`: lets `spender` move up to `amount`
/// (base units) of the signer's tokens. The review shows the amount in the token's units.
#[expect(
    clippy::expect_used,
    reason = "the call is built from the same interface it is looked up in"
)]
pub fn approve(from: Address, token: &Token, spender: Address, amount: U256) -> Call {
    Call::from_sol(
        from,
        token.address,
        &IERC20::abi::contract(),
        &IERC20::approveCall {
            spender,
            value: amount,
        },
        U256::ZERO,
    )
    // The call is built from the same interface it is looked up in.
    .expect("approve is in IERC20")
    .labelled(&token.symbol)
    .amount_of(1, token.clone())
}

fn contract_error(client: &Client, token: Address, e: alloy::contract::Error) -> ChainError {
    match e {
        alloy::contract::Error::TransportError(t) => client.error(t),
        alloy::contract::Error::ZeroData(..) | alloy::contract::Error::AbiError(_) => {
            Refusal::NotAToken(token).into()
        }
        other => ChainError::Node(crate::sanitize::clean_line(&other.to_string()).into_owned()),
    }
}

/// A symbol from a contract is untrusted text: it is shown on screen and typed back as
/// `--token SYMBOL`, so only short printable ASCII is accepted.
fn check_symbol(token: Address, symbol: &str) -> ChainResult<String> {
    let ok = !symbol.is_empty()
        && symbol.len() <= 16
        && symbol
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-$".contains(c));
    if !ok || symbol.eq_ignore_ascii_case("ETH") {
        return Err(Refusal::BadSymbol {
            token,
            symbol: crate::sanitize::clean_line(symbol).into_owned(),
        }
        .into());
    }
    Ok(symbol.to_owned())
}

/// Reads a token's symbol and decimals from the chain.
pub async fn read_token(client: &Client, address: Address) -> ChainResult<Token> {
    let c = IERC20::new(address, client.provider());
    let symbol = c
        .symbol()
        .call()
        .await
        .map_err(|e| contract_error(client, address, e))?;
    let decimals = c
        .decimals()
        .call()
        .await
        .map_err(|e| contract_error(client, address, e))?;
    if decimals > 77 {
        // 10^78 overflows U256: no amount of such a token could be written down.
        return Err(Refusal::BadDecimals {
            token: address,
            decimals,
        }
        .into());
    }
    Ok(Token {
        symbol: check_symbol(address, &symbol)?,
        address,
        decimals,
    })
}

pub async fn balance_of(client: &Client, token: Address, owner: Address) -> ChainResult<U256> {
    IERC20::new(token, client.provider())
        .balanceOf(owner)
        .call()
        .await
        .map_err(|e| contract_error(client, token, e))
}

/// The call data of `transfer(to, amount)`.
pub fn transfer_data(to: Address, amount: U256) -> Bytes {
    IERC20::transferCall { to, value: amount }
        .abi_encode()
        .into()
}

/// Decodes `transfer(to, amount)` call data, for showing what a raw transaction does.
pub fn decode_transfer(data: &[u8]) -> Option<(Address, U256)> {
    IERC20::transferCall::abi_decode(data)
        .ok()
        .map(|c| (c.to, c.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_data_round_trips() {
        let to = Address::repeat_byte(0xab);
        let data = transfer_data(to, U256::from(1_500_000u64));
        assert_eq!(
            &data[..4],
            &[0xa9, 0x05, 0x9c, 0xbb],
            "transfer(address,uint256)"
        );
        assert_eq!(decode_transfer(&data), Some((to, U256::from(1_500_000u64))));
        assert_eq!(decode_transfer(&data[..10]), None);
    }

    #[test]
    fn hostile_symbols_are_refused() {
        let a = Address::ZERO;
        assert_eq!(check_symbol(a, "tUSD").unwrap(), "tUSD");
        for bad in [
            "",
            "ETH",
            "\u{1b}[31mX",
            "USDC\u{202e}",
            "AVERYLONGSYMBOLNAME",
        ] {
            assert!(check_symbol(a, bad).is_err(), "{bad:?}");
        }
    }
}
