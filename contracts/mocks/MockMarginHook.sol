// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginHook} from "../interfaces/IMarginHook.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @title MockMarginHook
/// @notice Stands in for the ClearingHouse in Vault tests: an account may be marked as holding
///         positions that need `initialMargin` (WAD) on top of its collateral value.
contract MockMarginHook is IMarginHook {
    // `vault()` is the getter tests call: keep the name.
    // solhint-disable-next-line immutable-vars-naming
    IVault public immutable vault;
    mapping(uint256 accountId => uint256) public initialMargin;

    constructor(IVault vault_) {
        vault = vault_;
    }

    /// @notice Marks the account as holding a position in market 1 (or none) needing `initialMargin_`.
    function setPosition(uint256 accountId, bool open, uint256 initialMargin_) external {
        initialMargin[accountId] = initialMargin_;
        vault.settleTrade(accountId, vault.ownerOf(accountId), 0, 1, open);
    }

    function freeCollateral(uint256 accountId) external view returns (int256) {
        return vault.collateralValue(accountId) - int256(initialMargin[accountId]);
    }
}
