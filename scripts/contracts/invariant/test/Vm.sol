// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @dev The few forge cheatcodes the invariant test uses, at the address forge answers them on
/// (keccak256("hevm cheat code")). forge-std is not used: it is fetched with git, which the CI
/// machine cannot, and these lines are all of it that is needed.
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function deal(address account, uint256 balance) external;
    function label(address account, string calldata name) external;
}

Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
