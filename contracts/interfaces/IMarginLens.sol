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

    /// @notice What a keeper should do about an account (0 = nothing).
    /// @param accountId The account.
    /// @param action 1 = `liquidate` (equity below maintenance margin), 2 = `liquidateCollateral`
    ///        (no positions, negative quote balance, collateral tokens left), 3 = `settleBadDebt`
    ///        (no positions, no collateral tokens, negative quote balance).
    /// @param equity Equity (WAD); for actions 2 and 3, the un-haircut value of the account.
    /// @param maintenanceMargin WAD; 0 for actions 2 and 3.
    /// @param quoteBalance The account's quote balance (WAD).
    /// @param token For action 2, the first collateral token the account holds (by index).
    struct Candidate {
        uint256 accountId;
        uint8 action;
        int256 equity;
        uint256 maintenanceMargin;
        int256 quoteBalance;
        address token;
    }

    /// @notice One position of a liquidatable account and what a `liquidate` call may close of it.
    /// @param marketId The market.
    /// @param size The position's signed size (WAD).
    /// @param notional |size| × oracle price (WAD, rounded up).
    /// @param maxCloseSize Most size one call may close now (WAD, positive; 0 when not liquidatable).
    /// @param whole Whether `maxCloseSize` is the whole position.
    struct LiquidationStep {
        uint256 marketId;
        int256 size;
        uint256 notional;
        uint256 maxCloseSize;
        bool whole;
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

    /// @notice Accounts among `fromId .. fromId + count − 1` (cut at the last account) that a keeper
    ///         can act on, in id order; accounts needing nothing are left out.
    /// @param fromId First account id (ids start at 1).
    /// @param count How many ids to look at.
    function candidates(uint256 fromId, uint256 count) external view returns (Candidate[] memory);

    /// @notice The listed accounts that a keeper can act on, in the order given (each must exist).
    /// @param accountIds The accounts.
    function candidatesMany(uint256[] calldata accountIds) external view returns (Candidate[] memory);

    /// @notice The positions of an account with what one `liquidate` call may close of each now.
    /// @param accountId The account.
    function liquidationPlan(uint256 accountId) external view returns (LiquidationStep[] memory);

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
