// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPriceOracle
/// @notice A USD price source for one asset, as the Vault and the ClearingHouse consume it.
/// @dev Prices are 18-decimal fixed point (WAD): 3,000 USD is `3000e18`. An implementation never
///      returns a price it does not trust: it reverts with a named error instead (no silent fallback).
interface IPriceOracle {
    /// @notice The feed answered zero or a negative number.
    error InvalidPrice(address feed, int256 answer);
    /// @notice The feed's last update is older than its heartbeat allows.
    error StalePrice(address feed, uint256 updatedAt, uint256 heartbeat);
    /// @notice The feed's latest round is not complete (no timestamp, or answered in an older round).
    error IncompleteRound(address feed, uint80 roundId);
    /// @notice A constructor argument is out of bounds.
    error InvalidOracleConfig(address feed, uint256 heartbeat, uint8 decimals);

    /// @notice The current price in WAD (USD per whole unit of the asset).
    /// @dev Reverts `InvalidPrice`, `StalePrice` or `IncompleteRound` when the feed cannot be trusted.
    function price() external view returns (uint256);

    /// @notice The underlying feed this oracle reads.
    function feed() external view returns (address);

    /// @notice Largest accepted age of the feed's answer, in seconds.
    function heartbeat() external view returns (uint256);

    /// @notice Decimals of the feed's answers.
    function feedDecimals() external view returns (uint8);
}
