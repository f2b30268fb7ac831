// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IMarginHook
/// @notice What the Vault asks the ClearingHouse before collateral leaves an account that holds
///         positions (the Vault knows which accounts do: it keeps their market bitmask).
interface IMarginHook {
    /// @notice `min(collateralValue, equity) - initialMargin` of the account, WAD, with funding
    ///         accrued to `block.timestamp` at the current oracle prices.
    /// @dev Rounds down (in the protocol's favour). Reverts when a price it needs is not trusted.
    /// @param accountId The account.
    function freeCollateral(uint256 accountId) external view returns (int256);
}
