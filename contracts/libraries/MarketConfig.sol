// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginMath} from "./MarginMath.sol";
import {WAD, PPM, PPB, SIZE_STEP, MAX_TIERS, MAX_GROUPS, MAX_TAKER_FEE, MAX_FUNDING_RATE_PER_DAY, MAX_MARGIN_RATE, MAX_PRICE_DEVIATION, MAX_LIQUIDATION_FEE, MAX_COLLATERAL_DISCOUNT, MAX_DUST_THRESHOLD, MAX_RATE_LIMIT_WINDOW} from "./Constants.sol";

/// @title MarketConfig
/// @notice A market's storage layout and its governance-time configuration: checking parameters
///         against their bounds, packing them, and reading them back.
/// @dev Linked as an external library (its functions run by DELEGATECALL in the ClearingHouse's
///      storage): configuration is rare, and keeping it out of the ClearingHouse keeps that
///      contract under the 24,576-byte code-size limit. The hot paths never call it.
library MarketConfig {
    using SafeCast for int256;

    /// @dev A market, laid out for the margin check (words A and B are read per position).
    struct Market {
        // word A: read by every margin check, written only by governance
        AggregatorV3Interface feed;
        uint24 heartbeat;
        uint8 feedDecimals;
        uint8 group;
        uint8 tierCount;
        uint24 tier0MmPpm; // the first bracket's rates in millionths (all brackets live in _tiers)
        uint24 tier0ImPpm;
        // word B: funding (written by every trade of the market) and the first bracket's bound
        int96 fundingIndex;
        int64 fundingRate; // WAD per day, signed like the skew
        uint40 lastFundingTime;
        uint56 tier0BoundUsd; // whole USD; unused when tierCount == 1
        // word C: open interest (lots) and Σ open notional (WAD)
        uint64 longLots;
        uint64 shortLots;
        int128 openNotionalSum;
        // word D: trading parameters and open-interest caps, read by every trade
        uint64 skewScaleLots;
        uint32 takerFeePpb; // billionths
        uint32 maxFundingRatePpb; // billionths per day
        uint64 maxLongLots;
        uint64 maxShortLots;
        // word E: circuit breaker, read and written by every trade and liquidation
        uint64 maxPriceDeviation;
        uint128 referencePrice; // oracle price at the last trade or liquidation, WAD; 0 = none yet
        uint40 reduceOnlySince; // 0 = trading normally
        bool tradingPaused; // the guardian's PAUSE_TRADE, copied here: a trade reads no other word for it
        bool rateLimited; // rateLimitCapUsd != 0
        // word F: liquidation rate limit, read by liquidations only
        uint64 rateLimitCapUsd; // whole USD per window; 0 = off
        uint32 rateLimitWindow; // seconds
        uint40 windowStart;
        uint120 windowLiquidated; // WAD
    }

    /// @dev The liquidation parameters (whole millionths and whole dollars) and the circuit
    ///      breaker's timeout in one word: a liquidation reads it once.
    struct LiquidationConfig {
        uint32 feePpm;
        uint32 keeperSharePpm;
        uint32 closeFactorPpm;
        uint32 thresholdPpm;
        uint64 dustUsd;
        uint32 discountPpm;
        uint32 breakerTimeout; // seconds
    }

    /// @notice Checks liquidation parameters against their bounds and packs them with `timeout`.
    ///         Reverts `IClearingHouse.InvalidLiquidationParam(field)`.
    /// @param p The parameters (WAD): rates in whole millionths, the dust threshold in whole dollars.
    /// @param timeout The circuit breaker's timeout to keep, seconds.
    function liquidationConfig(
        IClearingHouse.LiquidationParams calldata p,
        uint32 timeout
    ) external pure returns (LiquidationConfig memory) {
        if (p.liquidationFee > MAX_LIQUIDATION_FEE) revert IClearingHouse.InvalidLiquidationParam("liquidationFee");
        if (p.keeperShare > WAD) revert IClearingHouse.InvalidLiquidationParam("keeperShare");
        if (p.closeFactor == 0 || p.closeFactor > WAD) revert IClearingHouse.InvalidLiquidationParam("closeFactor");
        if (p.fullLiquidationThreshold > WAD) {
            revert IClearingHouse.InvalidLiquidationParam("fullLiquidationThreshold");
        }
        if (p.dustThreshold > MAX_DUST_THRESHOLD || p.dustThreshold % WAD != 0) {
            revert IClearingHouse.InvalidLiquidationParam("dustThreshold");
        }
        if (p.collateralDiscount > MAX_COLLATERAL_DISCOUNT) {
            revert IClearingHouse.InvalidLiquidationParam("collateralDiscount");
        }
        return
            LiquidationConfig({
                feePpm: _ppm(p.liquidationFee, "liquidationFee"),
                keeperSharePpm: _ppm(p.keeperShare, "keeperShare"),
                closeFactorPpm: _ppm(p.closeFactor, "closeFactor"),
                thresholdPpm: _ppm(p.fullLiquidationThreshold, "fullLiquidationThreshold"),
                dustUsd: uint64(p.dustThreshold / WAD), // cannot truncate: at most MAX_DUST_THRESHOLD
                discountPpm: _ppm(p.collateralDiscount, "collateralDiscount"),
                breakerTimeout: timeout
            });
    }

    /// @notice Sets a market's liquidation rate limit and starts a fresh window. Reverts
    ///         `IClearingHouse.InvalidLiquidationParam("rateLimitCap" | "rateLimitWindow")`.
    /// @param m The market's storage.
    /// @param cap WAD USD in whole dollars per window; 0 = off.
    /// @param window Seconds, 1 .. MAX_RATE_LIMIT_WINDOW when `cap` is not 0.
    function setRateLimit(Market storage m, uint256 cap, uint256 window) external {
        if (cap % WAD != 0 || cap / WAD > type(uint64).max)
            revert IClearingHouse.InvalidLiquidationParam("rateLimitCap");
        if (cap != 0 && (window == 0 || window > MAX_RATE_LIMIT_WINDOW)) {
            revert IClearingHouse.InvalidLiquidationParam("rateLimitWindow");
        }
        m.rateLimited = cap != 0;
        // cannot truncate: checked above
        (m.rateLimitCapUsd, m.rateLimitWindow, m.windowStart, m.windowLiquidated) = (
            uint64(cap / WAD),
            uint32(window),
            uint40(block.timestamp),
            0
        );
    }

    /// @notice Checks `p` and writes it into the market's words and its brackets. The caller emits
    ///         MarketConfigured. Reverts `IClearingHouse.InvalidMarketParam(field)`.
    /// @param m The market's storage.
    /// @param tiers The market's bracket storage.
    /// @param p The parameters.
    function configure(
        Market storage m,
        MarginMath.Tier[MAX_TIERS] storage tiers,
        IClearingHouse.MarketParams calldata p
    ) external {
        if (p.oracle == address(0)) revert IClearingHouse.InvalidMarketParam("oracle");
        if (p.group > MAX_GROUPS) revert IClearingHouse.InvalidMarketParam("group");
        if (p.skewScale == 0) revert IClearingHouse.InvalidMarketParam("skewScale");
        if (p.takerFee > MAX_TAKER_FEE) revert IClearingHouse.InvalidMarketParam("takerFee");
        if (p.maxFundingRatePerDay > MAX_FUNDING_RATE_PER_DAY) {
            revert IClearingHouse.InvalidMarketParam("maxFundingRatePerDay");
        }
        if (p.maxPriceDeviation == 0 || p.maxPriceDeviation > MAX_PRICE_DEVIATION) {
            revert IClearingHouse.InvalidMarketParam("maxPriceDeviation");
        }
        _configureTiers(tiers, p.tiers);
        // The market reads the adapter's feed directly, with the adapter's heartbeat and scaling.
        IPriceOracle adapter = IPriceOracle(p.oracle);
        m.feed = AggregatorV3Interface(adapter.feed());
        m.heartbeat = SafeCast.toUint24(adapter.heartbeat());
        m.feedDecimals = adapter.feedDecimals();
        m.group = p.group;
        m.tierCount = uint8(p.tiers.length);
        // cannot truncate: _configureTiers checked rates in whole millionths ≤ 100 % and the bound
        m.tier0MmPpm = uint24(p.tiers[0].mmRate / PPM);
        m.tier0ImPpm = uint24(p.tiers[0].imRate / PPM);
        m.tier0BoundUsd = uint56(p.tiers[0].upToNotional / WAD);
        m.skewScaleLots = _lots(p.skewScale, "skewScale");
        m.takerFeePpb = _ppb(p.takerFee, "takerFee");
        m.maxFundingRatePpb = _ppb(p.maxFundingRatePerDay, "maxFundingRatePerDay");
        m.maxPriceDeviation = p.maxPriceDeviation;
        m.maxLongLots = _lots(p.maxLongOpenInterest, "maxLongOpenInterest");
        m.maxShortLots = _lots(p.maxShortOpenInterest, "maxShortOpenInterest");
        int256 skew = (int256(uint256(m.longLots)) - int256(uint256(m.shortLots))) * int256(SIZE_STEP);
        m.fundingRate = MarginMath
            .fundingRate(skew, uint256(m.skewScaleLots) * SIZE_STEP, uint256(m.maxFundingRatePpb) * PPB)
            .toInt64();
    }

    /// @notice The market's parameters as `configure` received them.
    /// @param m The market's storage.
    /// @param tiers The market's bracket storage.
    /// @param oracle The adapter the market was configured with.
    function params(
        Market storage m,
        MarginMath.Tier[MAX_TIERS] storage tiers,
        address oracle
    ) external view returns (IClearingHouse.MarketParams memory p) {
        p.oracle = oracle;
        p.group = m.group;
        p.skewScale = uint128(m.skewScaleLots) * uint128(SIZE_STEP);
        p.takerFee = uint64(m.takerFeePpb) * uint64(PPB);
        p.maxFundingRatePerDay = uint64(m.maxFundingRatePpb) * uint64(PPB);
        p.maxLongOpenInterest = uint128(m.maxLongLots) * uint128(SIZE_STEP);
        p.maxShortOpenInterest = uint128(m.maxShortLots) * uint128(SIZE_STEP);
        p.maxPriceDeviation = m.maxPriceDeviation;
        p.tiers = new MarginMath.Tier[](m.tierCount);
        for (uint256 i; i < m.tierCount; ++i) p.tiers[i] = tiers[i];
    }

    function _configureTiers(MarginMath.Tier[MAX_TIERS] storage stored, MarginMath.Tier[] calldata tiers) private {
        uint256 n = tiers.length;
        if (n == 0 || n > MAX_TIERS) revert IClearingHouse.InvalidMarketParam("tiers");
        for (uint256 i; i < n; ++i) {
            MarginMath.Tier calldata t = tiers[i];
            if (t.mmRate == 0 || t.mmRate >= t.imRate || t.imRate > MAX_MARGIN_RATE) {
                revert IClearingHouse.InvalidMarketParam("tierRates");
            }
            // rates in whole millionths, bounds in whole dollars: the first bracket is packed
            if (t.mmRate % PPM != 0 || t.imRate % PPM != 0) revert IClearingHouse.InvalidMarketParam("tierRates");
            if (t.upToNotional % WAD != 0 || t.upToNotional / WAD > type(uint56).max) {
                revert IClearingHouse.InvalidMarketParam("tierBounds");
            }
            if (i > 0) {
                MarginMath.Tier calldata prev = tiers[i - 1];
                if (t.mmRate < prev.mmRate || t.imRate < prev.imRate) {
                    revert IClearingHouse.InvalidMarketParam("tierRates");
                }
                if (i < n - 1 && t.upToNotional <= prev.upToNotional) {
                    revert IClearingHouse.InvalidMarketParam("tierBounds");
                }
            } else if (n > 1 && t.upToNotional == 0) revert IClearingHouse.InvalidMarketParam("tierBounds");
            stored[i] = t;
        }
    }

    function _ppb(uint256 wad, bytes32 field) private pure returns (uint32) {
        // cannot truncate: callers bound wad to at most 1e18 = 1e9 billionths < 2^32
        if (wad % PPB != 0) revert IClearingHouse.InvalidMarketParam(field);
        return uint32(wad / PPB);
    }

    function _lots(uint256 wad, bytes32 field) private pure returns (uint64) {
        if (wad % SIZE_STEP != 0 || wad / SIZE_STEP > type(uint64).max) revert IClearingHouse.InvalidMarketParam(field);
        return uint64(wad / SIZE_STEP);
    }

    /// @dev A WAD rate at most 100 % in whole millionths.
    function _ppm(uint256 wad, bytes32 field) private pure returns (uint32) {
        if (wad % PPM != 0) revert IClearingHouse.InvalidLiquidationParam(field);
        return uint32(wad / PPM); // cannot truncate: callers bound wad to at most 1e18
    }
}
