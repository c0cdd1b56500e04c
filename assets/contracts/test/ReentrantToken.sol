// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev What this token needs of DataMarket (an interface, so DataMarket's own build does not
/// depend on test code).
interface IMarketForAttack {
    function list(
        uint256 price,
        address token,
        bytes32 contentHash,
        bytes32 keyCommit,
        bytes calldata data,
        string calldata uri,
        string calldata meta
    ) external returns (uint256);
    function deliver(uint256 purchaseId, bytes calldata delivery) external;
    function withdraw(address token, address to, uint256[] calldata settleFirst) external;
}

/// @title TEST ONLY: a malicious ERC-20 that re-enters DataMarket.withdraw
/// @notice Never deploy outside tests. The token is also the seller: it lists itself, delivers,
/// and once the purchase has settled, when the market pays it out (`transfer` inside
/// `withdraw`) it calls `withdraw` again to be paid twice. The inner call's revert is caught and
/// kept in `reentryError`, so a test can see that the outer withdraw paid once and why the inner
/// one was refused.
contract ReentrantToken is ERC20 {
    IMarketForAttack public market;
    bool public armed;
    bool public reentered;
    bytes public reentryError;

    constructor() ERC20("Reentrant", "REENT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function sellerList(IMarketForAttack m, uint256 price) external returns (uint256) {
        market = m;
        return m.list(price, address(this), keccak256("c"), keccak256("k"), hex"01", "", "");
    }

    function sellerDeliver(uint256 purchaseId, bytes calldata delivery) external {
        market.deliver(purchaseId, delivery);
    }

    function attack() external {
        armed = true;
        market.withdraw(address(this), address(this), new uint256[](0));
        armed = false;
    }

    function transfer(address to, uint256 amount) public override returns (bool) {
        if (armed && msg.sender == address(market)) {
            armed = false;
            reentered = true;
            try market.withdraw(address(this), address(this), new uint256[](0)) {} catch (bytes memory err) {
                reentryError = err;
            }
        }
        return super.transfer(to, amount);
    }
}
