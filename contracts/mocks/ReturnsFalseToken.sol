// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockERC20} from "./MockERC20.sol";

/// @title ReturnsFalseToken
/// @notice Returns false from `transfer` and `transferFrom` without moving anything, as some old
///         tokens do instead of reverting.
contract ReturnsFalseToken is MockERC20 {
    constructor() MockERC20("False Token", "FALSE", 18) {}

    function transfer(address, uint256) public pure override returns (bool) {
        return false;
    }

    function transferFrom(address, address, uint256) public pure override returns (bool) {
        return false;
    }
}
