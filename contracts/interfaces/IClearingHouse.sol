// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MarginMath} from "../libraries/MarginMath.sol";

/// @title IClearingHouse
/// @notice Markets, positions and the cross-margin engine (DESIGN §5–6). Trades execute against
///         the liquidity pool at the oracle price plus a skew premium; PnL, fees and funding
///         settle into the account's quote balance in the Vault.
/// @dev Units: sizes are signed WAD base units (positive = long), in steps of SIZE_STEP = 1e10
///      (1e-8 of a unit, the lot size); prices, notionals and money are
///      WAD USD; rates are WAD (0.05e18 = 5 %). Every margin figure accrues funding to
///      `block.timestamp` at the current oracle price first. Rounding favours the protocol:
///      requirements and fees round up, equity, PnL credits and payouts round down.
interface IClearingHouse {
    /* TYPES */

    /// @notice Owner-set parameters of a market.
    /// @param oracle IPriceOracle adapter over a Chainlink feed (USD price of the base asset, WAD);
    ///        the market caches the adapter's feed, heartbeat and decimals and reads the feed
    ///        directly with the same rules.
    /// @param group Correlation group 1..8 sharing a hedge offset, 0 = none.
    /// @param skewScale Skew (base units, WAD, whole lots) at which the premium reaches 100 %.
    /// @param takerFee Fee on traded notional, WAD, whole billionths, at most 1 %.
    /// @param maxFundingRatePerDay Funding rate at |skew| ≥ skewScale, WAD per day, whole billionths.
    /// @param maxLongOpenInterest Cap on total long size, WAD base units, whole lots.
    /// @param maxShortOpenInterest Cap on total short size, WAD base units, whole lots.
    /// @param maxPriceDeviation Circuit-breaker band around the last trade's price, WAD.
    /// @param tiers Progressive margin brackets (1..4): bounds increasing whole dollars (the last is
    ///        ignored), rates in whole millionths, mm < im ≤ 100 %, non-decreasing.
    struct MarketParams {
        address oracle;
        uint8 group;
        uint128 skewScale;
        uint64 takerFee;
        uint64 maxFundingRatePerDay;
        uint128 maxLongOpenInterest;
        uint128 maxShortOpenInterest;
        uint64 maxPriceDeviation;
        MarginMath.Tier[] tiers;
    }

    /// @notice A market's live state: funding index (USD per unit, WAD, accrued to now), funding
    ///         rate (WAD per day, signed like the skew), skew and open interest (base units, WAD),
    ///         Σ open notional of all positions (WAD), time of the last accrual.
    struct MarketState {
        int256 fundingIndex;
        int256 fundingRate;
        int256 skew;
        int256 openNotionalSum;
        uint256 longOpenInterest;
        uint256 shortOpenInterest;
        uint256 lastFundingTime;
    }

    /// @notice An account's margin figures (WAD), funding accrued to now.
    struct AccountMargin {
        int256 collateralValue;
        int256 equity;
        uint256 maintenanceMargin;
        uint256 initialMargin;
        int256 freeCollateral;
        bool liquidatable;
    }

    /* EVENTS */

    /// @notice A market was added (ids start at 1) or its parameters changed.
    event MarketConfigured(uint256 indexed marketId, MarketParams params);
    /// @notice A correlation group's hedge offset changed.
    event GroupOffsetSet(uint8 indexed group, uint256 offset);
    /// @notice A trade changed a position. `realizedPnl` excludes the fee and the funding paid; the
    ///         quote balance moved by realizedPnl − fundingPaid − fee. The market's funding index
    ///         after the trade is `marketState(marketId).fundingIndex` in the same block.
    event PositionChanged(
        uint256 indexed accountId,
        uint256 indexed marketId,
        int256 sizeDelta,
        uint256 fillPrice,
        uint256 fee,
        int256 realizedPnl,
        int256 fundingPaid,
        int256 newSize,
        int256 newOpenNotional
    );
    /// @notice The account-wide limit of open positions changed.
    event MaxPositionsPerAccountSet(uint256 maxPositions);

    /* ERRORS */

    /// @notice No market has this id.
    error UnknownMarket(uint256 marketId);
    /// @notice A trade of size zero.
    error ZeroSize();
    /// @notice Sizes are multiples of SIZE_STEP (1e10 in WAD: 1e-8 of a base unit).
    error InvalidSizeStep(int256 sizeDelta);
    /// @notice The fill is worse than the caller's limit.
    error PriceLimitExceeded(uint256 fillPrice, uint256 priceLimit);
    /// @notice The trade would take one side's open interest above its cap.
    error OpenInterestCapExceeded(uint256 marketId, bool long, uint256 cap, uint256 openInterestAfter);
    /// @notice The account already has `max` open positions.
    error TooManyPositions(uint256 accountId, uint256 max);
    /// @notice An isolated account trades one market only.
    error IsolatedAccountMarketLimit(uint256 accountId, uint256 openMarketId);
    /// @notice After an exposure-increasing trade the free collateral (WAD) would be negative.
    error InsufficientMargin(uint256 accountId, int256 freeCollateral);
    /// @notice A reducing trade would leave the account liquidatable with a lower margin ratio.
    error MarginRatioWorsened(uint256 accountId, int256 equityAfter, uint256 maintenanceMarginAfter);
    /// @notice The account has no position in the market.
    error NoPosition(uint256 accountId, uint256 marketId);
    /// @notice A market parameter is out of bounds; `field` names it.
    error InvalidMarketParam(bytes32 field);
    /// @notice Group outside 1..8 or offset at or above MAX_OFFSET.
    error InvalidGroupOffset(uint8 group, uint256 offset);
    /// @notice Limit outside 1..16.
    error InvalidMaxPositions(uint256 maxPositions);

    /* TRADING */

    /// @notice Trades `sizeDelta` (WAD base units; > 0 buys) in a market for an account.
    ///         Owner or operator. Fill = oracle × (1 + (skew + sizeDelta/2) / skewScale); fee =
    ///         |sizeDelta| × fill × takerFee. An exposure-increasing trade needs free collateral
    ///         ≥ 0 after it; a reducing one is refused only if it leaves the account liquidatable
    ///         with a lower margin ratio than before.
    /// @param accountId The account.
    /// @param marketId The market.
    /// @param sizeDelta Size to buy (> 0) or sell (< 0).
    /// @param priceLimit Worst acceptable fill: highest for a buy, lowest for a sell; 0 = none.
    function openPosition(uint256 accountId, uint256 marketId, int256 sizeDelta, uint256 priceLimit) external;

    /// @notice Closes the whole position in a market. Owner or operator.
    /// @param accountId The account.
    /// @param marketId The market.
    /// @param priceLimit Worst acceptable fill, as in `openPosition`; 0 = none.
    function closePosition(uint256 accountId, uint256 marketId, uint256 priceLimit) external;

    /* GOVERNANCE */

    /// @notice Adds a market; ids start at 1 in the order added. Owner only.
    /// @param params The market's parameters, each checked against its bounds.
    /// @return marketId The new market's id.
    function addMarket(MarketParams calldata params) external returns (uint256 marketId);

    /// @notice Changes a market's parameters (funding is accrued first). Owner only.
    /// @param marketId The market.
    /// @param params The new parameters.
    function setMarketParams(uint256 marketId, MarketParams calldata params) external;

    /// @notice Sets the hedge offset of a correlation group. Owner only.
    /// @param group 1..8.
    /// @param offset WAD, below MAX_OFFSET (0.99).
    function setGroupOffset(uint8 group, uint256 offset) external;

    /// @notice Sets the most markets a Cross account may hold at once (1..16). Owner only.
    /// @param maxPositions The limit.
    function setMaxPositionsPerAccount(uint256 maxPositions) external;

    /* VIEWS */

    /// @notice The account's position in a market: signed size and signed open notional (WAD).
    /// @param accountId The account.
    /// @param marketId The market.
    function positionOf(uint256 accountId, uint256 marketId) external view returns (int256 size, int256 openNotional);

    /// @notice The funding index the position last settled at.
    /// @param accountId The account.
    /// @param marketId The market.
    function positionFundingIndex(uint256 accountId, uint256 marketId) external view returns (int256);

    /// @notice Market ids the account holds positions in.
    /// @param accountId The account.
    function accountMarkets(uint256 accountId) external view returns (uint256[] memory);

    /// @notice The account's margin figures, funding accrued to now.
    /// @param accountId The account.
    function accountMargin(uint256 accountId) external view returns (AccountMargin memory);

    /// @notice The account's margin figures after a hypothetical trade, and the trade's fill and fee.
    /// @param accountId The account.
    /// @param marketId The market.
    /// @param sizeDelta The trade.
    function previewTrade(
        uint256 accountId,
        uint256 marketId,
        int256 sizeDelta
    ) external view returns (AccountMargin memory margin, uint256 fillPrice, uint256 fee);

    /// @notice A market's parameters.
    /// @param marketId The market.
    function marketParams(uint256 marketId) external view returns (MarketParams memory);

    /// @notice A market's state, with the funding index accrued to now.
    /// @param marketId The market.
    function marketState(uint256 marketId) external view returns (MarketState memory);

    /// @notice What traders' open positions are worth to them now, WAD: Σ markets (skew × price +
    ///         Σ openNotional). Positive means the pool owes traders; the pool keeps that much back
    ///         from LP withdrawals. Pending funding is not counted.
    function tradersUnrealizedPnl() external view returns (int256);

    /// @notice Number of markets (the highest id).
    function marketCount() external view returns (uint256);

    /// @notice Hedge offset of a correlation group, WAD.
    /// @param group The group.
    function groupOffset(uint8 group) external view returns (uint256);

    /// @notice The most markets a Cross account may hold.
    function maxPositionsPerAccount() external view returns (uint256);

    /// @notice The Vault this ClearingHouse settles into.
    function vault() external view returns (address);
}
