// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Test USD (tUSD)
/// @notice A test token for local development chains only (`keybot chain dev` deploys it until the
/// market contract arrives). Anyone may mint it through `faucet`: it is worth nothing and must
/// never be deployed to a real network.
contract TestToken is ERC20 {
    /// @notice The most one `faucet` call mints: 1,000,000 tUSD (6 decimals).
    uint256 public constant FAUCET_CAP = 1_000_000 * 10 ** 6;

    /// @notice A `faucet` call asked for more than `FAUCET_CAP`.
    error FaucetCapExceeded(uint256 requested, uint256 cap);

    // No constructor arguments, so the deployment transaction is the bytecode alone.
    constructor() ERC20("Test USD", "tUSD") {}

    /// @notice 6 decimals, like USDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` tUSD units to `to`; at most `FAUCET_CAP` per call.
    function faucet(address to, uint256 amount) external {
        if (amount > FAUCET_CAP) revert FaucetCapExceeded(amount, FAUCET_CAP);
        _mint(to, amount);
    }
}
