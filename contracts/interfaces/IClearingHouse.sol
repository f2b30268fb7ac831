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

    /// @notice An account's margin figures (WAD), funding accrued to now. `notional` is Σ |size| ×
    ///         oracle price over its positions (rounded up), the base of the liquidation close factor.
    struct AccountMargin {
        int256 collateralValue;
        int256 equity;
        uint256 maintenanceMargin;
        uint256 initialMargin;
        int256 freeCollateral;
        bool liquidatable;
        uint256 notional;
    }

    /// @notice Protocol-wide liquidation parameters (DESIGN §8), WAD unless named otherwise; rates
    ///         in whole millionths and the dust threshold in whole dollars (they are stored packed).
    /// @param liquidationFee Penalty on closed notional, at most 10 %.
    /// @param keeperShare Share of the penalty paid to the liquidator, at most 100 %.
    /// @param closeFactor Most of the account's total notional one partial liquidation may close, (0, 100 %].
    /// @param fullLiquidationThreshold Below equity < MM × this, a position may be closed whole; at most 100 %.
    /// @param dustThreshold USD notional at or under which a position may be closed whole, at most $1M.
    /// @param collateralDiscount Bonus value a collateral liquidator receives, at most 20 %.
    struct LiquidationParams {
        uint64 liquidationFee;
        uint64 keeperShare;
        uint64 closeFactor;
        uint64 fullLiquidationThreshold;
        uint128 dustThreshold;
        uint64 collateralDiscount;
    }

    /// @notice A market's circuit breaker and liquidation rate limit.
    /// @param referencePrice Oracle price (WAD) at the market's last trade or liquidation; 0 = none yet.
    /// @param maxPriceDeviation Band around the reference beyond which exposure may not grow, WAD.
    /// @param reduceOnly Whether the market accepts only exposure-reducing trades now.
    /// @param reduceOnlyUntil When the reduce-only state clears itself (0 when not reduce-only).
    /// @param rateLimitCap Most notional (WAD USD) liquidations may close per window; 0 = no limit.
    /// @param rateLimitWindow Window length, seconds.
    /// @param windowStart Start of the current window.
    /// @param windowLiquidated Notional (WAD) liquidated in the current window.
    struct MarketSafety {
        uint256 referencePrice;
        uint256 maxPriceDeviation;
        bool reduceOnly;
        uint256 reduceOnlyUntil;
        uint256 rateLimitCap;
        uint256 rateLimitWindow;
        uint256 windowStart;
        uint256 windowLiquidated;
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
    /// @notice A liquidation closed `closedSize` (signed like the position, WAD) at the oracle
    ///         `price`. The account's quote balance moved by realizedPnl − fundingPaid − keeperReward
    ///         − insuranceFee. `penalty` = liquidationFee × closed notional; of it `keeperReward` went
    ///         to `liquidator` (in settlement tokens, rounded down to whole units; the remainder to the
    ///         insurance fund), `insuranceFee` to the insurance fund, and `shortfall` was not collected
    ///         because the account's equity (`equityBefore`) could not pay it.
    event Liquidated(
        uint256 indexed accountId,
        uint256 indexed marketId,
        address indexed liquidator,
        int256 closedSize,
        uint256 price,
        int256 realizedPnl,
        int256 fundingPaid,
        uint256 penalty,
        uint256 keeperReward,
        uint256 insuranceFee,
        uint256 shortfall,
        int256 equityBefore,
        int256 newSize
    );
    /// @notice The liquidation parameters changed.
    event LiquidationParamsSet(LiquidationParams params);
    /// @notice A market's liquidation rate limit changed (cap in WAD USD per `window` seconds; 0 = off).
    event LiquidationRateLimitSet(uint256 indexed marketId, uint256 cap, uint256 window);
    /// @notice The time after which a tripped circuit breaker clears itself changed.
    event CircuitBreakerTimeoutSet(uint256 timeout);
    /// @notice The market became reduce-only: the oracle `price` moved more than maxPriceDeviation
    ///         from `referencePrice`.
    event CircuitBreakerTripped(uint256 indexed marketId, uint256 referencePrice, uint256 price);
    /// @notice Governance cleared the market's circuit breaker; `referencePrice` is the new reference.
    event CircuitBreakerCleared(uint256 indexed marketId, uint256 referencePrice);

    /* ERRORS */

    /// @notice No market has this id.
    error UnknownMarket(uint256 marketId);
    /// @notice A trade of size zero.
    error ZeroSize();
    /// @notice Sizes are multiples of SIZE_STEP (1e10 in WAD: 1e-8 of a base unit).
    error InvalidSizeStep(int256 sizeDelta);
    /// @notice |sizeDelta| is above `max` (MAX_TRADE_SIZE: int64 lots).
    error SizeTooLarge(int256 sizeDelta, uint256 max);
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
    /// @notice The account is not liquidatable: equity ≥ maintenance margin, or no margin is required.
    error AccountNotLiquidatable(uint256 accountId, int256 equity, uint256 maintenanceMargin);
    /// @notice The liquidation would leave a position of `remainingNotional` (WAD), at or under the
    ///         dust threshold: close it whole (maxSize ≥ the position) instead.
    error LiquidationLeavesDust(uint256 accountId, uint256 marketId, uint256 remainingNotional);
    /// @notice The market's liquidation rate limit is used up until `windowEnd` (accounts with
    ///         negative equity are exempt).
    error LiquidationRateLimited(uint256 marketId, uint256 cap, uint256 liquidatedInWindow, uint256 windowEnd);
    /// @notice A liquidation parameter is out of bounds; `field` names it.
    error InvalidLiquidationParam(bytes32 field);
    /// @notice The market is reduce-only (circuit breaker) until `until` or until governance clears it.
    error MarketReduceOnly(uint256 marketId, uint256 until);
    /// @notice The oracle moved more than maxPriceDeviation from the reference price: exposure may
    ///         not grow. Anyone may `pokeCircuitBreaker` to record the market as reduce-only.
    error PriceDeviationExceeded(uint256 marketId, uint256 referencePrice, uint256 price);
    /// @notice `pokeCircuitBreaker` found the price within the band (or no reference yet).
    error PriceWithinBand(uint256 marketId, uint256 referencePrice, uint256 price);

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

    /* LIQUIDATION */

    /// @notice Liquidates up to `maxSize` of an account's position in a market at the oracle price
    ///         (no skew premium, no taker fee). Anyone, while the account is liquidatable (equity <
    ///         maintenance margin, funding accrued first). Partial first: while equity ≥ MM ×
    ///         fullLiquidationThreshold one call closes at most closeFactor × the account's total
    ///         notional; below it, or for a position at or under the dust threshold, the whole
    ///         position. A close that would leave dust is extended to the whole position when it fits
    ///         in `maxSize`, and refused otherwise. The caller earns keeperShare of the penalty
    ///         (liquidationFee × closed notional), at most the account's equity when the caller is
    ///         its owner or an operator. Never paused; reverts `LiquidationRateLimited` when the
    ///         market's window is used up, unless the account's equity is negative.
    /// @param accountId The account.
    /// @param marketId The market.
    /// @param maxSize Most size to close (WAD base units, positive whatever the side); rounded down
    ///        to whole lots. Pass type(uint256).max to close as much as allowed.
    function liquidate(uint256 accountId, uint256 marketId, uint256 maxSize) external;

    /// @notice Repays part of a flat account's debt and takes collateral at a discount (DESIGN §8).
    ///         Anyone; the caller approves the Vault for the settlement token first. See
    ///         `IVault.liquidateCollateral` for the amounts and `CollateralLiquidated` for the result.
    /// @param accountId An account with no positions and a negative quote balance.
    /// @param token The collateral token to receive.
    /// @param repayAmount Most settlement-token units to repay (capped at the debt).
    function liquidateCollateral(uint256 accountId, address token, uint256 repayAmount) external;

    /// @notice Writes off a flat account's negative value: the insurance fund covers the debt, then
    ///         the liquidity pool (socialized loss); leftover collateral goes to the insurance fund.
    ///         Anyone. Reverts `NoBadDebt` when the account's un-haircut value is not negative.
    /// @param accountId An account with no positions.
    function settleBadDebt(uint256 accountId) external;

    /// @notice Records a market as reduce-only when the oracle moved more than maxPriceDeviation from
    ///         its reference price. Anyone; reverts `PriceWithinBand` otherwise, and
    ///         `MarketReduceOnly` when the market already is.
    /// @param marketId The market.
    function pokeCircuitBreaker(uint256 marketId) external;

    /* GOVERNANCE */

    /// @notice Adds a market; ids start at 1 in the order added. Owner only.
    /// @param params The market's parameters, each checked against its bounds.
    /// @return marketId The new market's id.
    function addMarket(MarketParams calldata params) external returns (uint256 marketId);

    /// @notice Changes a market's parameters (funding is accrued first, at the price of the oracle
    ///         in `params`, so that a market whose feed died can be moved to a new one). Owner only.
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

    /// @notice Sets the liquidation parameters, each checked against its bound and granularity
    ///         (`InvalidLiquidationParam(field)`). Owner only.
    /// @param params The parameters.
    function setLiquidationParams(LiquidationParams calldata params) external;

    /// @notice Sets a market's liquidation rate limit. Owner only.
    /// @param marketId The market.
    /// @param cap Most notional liquidations may close per window, WAD USD in whole dollars; 0 = off.
    /// @param window Window length in seconds, 1 s .. 7 days (ignored when `cap` is 0).
    function setLiquidationRateLimit(uint256 marketId, uint256 cap, uint256 window) external;

    /// @notice Sets how long a tripped circuit breaker lasts before it clears itself (1 minute .. 7 days). Owner only.
    /// @param timeout Seconds.
    function setCircuitBreakerTimeout(uint256 timeout) external;

    /// @notice Clears a market's circuit breaker and takes the current oracle price as the new
    ///         reference. Owner only.
    /// @param marketId The market.
    function clearCircuitBreaker(uint256 marketId) external;

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

    /// @notice The liquidation parameters.
    function liquidationParams() external view returns (LiquidationParams memory);

    /// @notice How long a tripped circuit breaker lasts, seconds.
    function circuitBreakerTimeout() external view returns (uint256);

    /// @notice A market's circuit breaker and liquidation rate limit, as of now.
    /// @param marketId The market.
    function marketSafety(uint256 marketId) external view returns (MarketSafety memory);

    /// @notice The most size (WAD, positive) one `liquidate` call may close now, and whether that is
    ///         the whole position; (0, false) when the account is not liquidatable or holds no
    ///         position there. The market's rate limit is not applied.
    /// @param accountId The account.
    /// @param marketId The market.
    function liquidationSize(uint256 accountId, uint256 marketId) external view returns (uint256 size, bool whole);
}
