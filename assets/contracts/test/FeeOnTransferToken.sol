// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TEST ONLY: an ERC-20 that burns 1% of every transfer
/// @notice Never deploy outside tests. The receiver gets less than the amount asked for, which
/// DataMarket's balance-change check must refuse.
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee on transfer", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
