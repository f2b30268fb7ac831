// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IMarginLens
/// @notice Read-only views for keepers and dApps: the health of many accounts in one `eth_call`,
///         and the margin after a hypothetical trade.
/// @dev Views never hide a stale price: a call about an account that depends on a feed the oracle
///      rejects reverts with the oracle's error (`StalePrice`, `InvalidPrice`, `IncompleteRound`);
///      a keeper splits the batch to find the rest. Figures are WAD with funding accrued to now.
interface IMarginLens {
    /// @notice An account's margin state. Mind the order: MM before IM here, IM before MM in `previewTrade`.
    struct Health {
        int256 equity;
        uint256 maintenanceMargin;
        uint256 initialMargin;
        int256 freeCollateral;
        bool liquidatable;
    }

    /// @notice Health of one account; reverts `UnknownAccount` for an id never created.
    /// @param accountId The account.
    function health(uint256 accountId) external view returns (Health memory);

    /// @notice Health of each listed account, in order.
    /// @param accountIds The accounts (each must exist).
    function healthMany(uint256[] calldata accountIds) external view returns (Health[] memory);

    /// @notice Health of accounts `fromId .. fromId + count − 1`, cut at the last account (empty past it).
    /// @param fromId First account id (ids start at 1).
    /// @param count How many.
    function healthRange(uint256 fromId, uint256 count) external view returns (Health[] memory);

    /// @notice What a trade would do: its fill and fee, and the account's margin after it.
    /// @param accountId The account.
    /// @param marketId The market.
    /// @param sizeDelta The trade (> 0 buys).
    function previewTrade(
        uint256 accountId,
        uint256 marketId,
        int256 sizeDelta
    )
        external
        view
        returns (
            uint256 fillPrice,
            uint256 fee,
            int256 equityAfter,
            uint256 initialMarginAfter,
            uint256 maintenanceMarginAfter,
            int256 freeCollateralAfter
        );

    /// @notice The ClearingHouse read.
    function clearingHouse() external view returns (address);
}
