// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {FixedPointMath} from "./FixedPointMath.sol";
import {WAD, SECONDS_PER_DAY} from "./Constants.sol";

/// @title MarginMath
/// @notice Pure margin, pricing and funding math of DESIGN §5–6. Mirrored to the wei by
///         `src/math/margin.ts`; every rounding favours the protocol and says so.
/// @dev Sizes are signed WAD base units (positive = long); prices, notionals and money are WAD.
library MarginMath {
    using FixedPointMath for uint256;
    using FixedPointMath for int256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice One bracket of a progressive margin schedule: notional up to `upToNotional` pays
    ///         `mmRate` / `imRate` (WAD) on its slice. The last bracket's bound is ignored (no cap).
    struct Tier {
        uint128 upToNotional;
        uint64 mmRate;
        uint64 imRate;
    }

    /// @notice The fill price could not be formed: the skew premium drove it to zero or below.
    error InvalidFillPrice(int256 skew, int256 sizeDelta);

    /* PRICE AND FEES */

    /// @notice fill = oracle × (1 + (skew + sizeDelta/2) / skewScale).
    /// @dev Rounded against the trader: up for a buy, down for a sell.
    function fillPrice(
        uint256 oraclePrice,
        int256 skew,
        int256 sizeDelta,
        uint256 skewScale
    ) internal pure returns (uint256) {
        int256 numerator = 2 * skew + sizeDelta; // (skew + sizeDelta / 2) × 2, exact
        uint256 denominator = 2 * skewScale;
        bool buy = sizeDelta > 0;
        uint256 magnitude = numerator.abs();
        if (numerator >= 0) {
            uint256 premium = buy
                ? oraclePrice.mulDivUp(magnitude, denominator)
                : oraclePrice.mulDivDown(magnitude, denominator);
            return oraclePrice + premium;
        }
        uint256 discount = buy
            ? oraclePrice.mulDivDown(magnitude, denominator)
            : oraclePrice.mulDivUp(magnitude, denominator);
        if (discount >= oraclePrice) revert InvalidFillPrice(skew, sizeDelta);
        return oraclePrice - discount;
    }

    /// @notice |size| × price, rounded up: the notional margin is charged on.
    function notional(int256 size, uint256 price) internal pure returns (uint256) {
        return size.abs().wMulUp(price);
    }

    /// @notice fee = |sizeDelta| × fill × takerFee, rounded up.
    function takerFee(int256 sizeDelta, uint256 fill, uint256 feeRate) internal pure returns (uint256) {
        return notional(sizeDelta, fill).wMulUp(feeRate);
    }

    /* FUNDING */

    /// @notice Funding rate per day (WAD, signed like the skew): clamp(skew / skewScale, −1, 1) × maxRatePerDay.
    /// @dev Magnitude rounded toward zero. It changes only with the skew or the parameters, so the
    ///      ClearingHouse stores it and recomputes it after each trade.
    function fundingRate(int256 skew, uint256 skewScale, uint256 maxRatePerDay) internal pure returns (int256) {
        if (skew == 0) return 0;
        uint256 ratio = skew.abs().wDivDown(skewScale);
        if (ratio > WAD) ratio = WAD;
        int256 rate = ratio.wMulDown(maxRatePerDay).toInt256();
        return skew > 0 ? rate : -rate;
    }

    /// @notice Change of the cumulative funding index (USD per unit of size, WAD) over `elapsed`
    ///         seconds at `ratePerDay`: rate × price × elapsed / 1 day.
    /// @dev Magnitude rounded toward zero; the sign follows the rate (longs pay when it is > 0).
    function fundingIndexDelta(int256 ratePerDay, uint256 price, uint256 elapsed) internal pure returns (int256) {
        if (ratePerDay == 0 || elapsed == 0) return 0;
        int256 delta = ratePerDay.abs().wMulDown(price).mulDivDown(elapsed, SECONDS_PER_DAY).toInt256();
        return ratePerDay > 0 ? delta : -delta;
    }

    /// @notice Funding the position owes since it last settled: size × (index − entryIndex).
    /// @dev Rounded up (toward +∞): an account pays at least, and receives at most, its share.
    function pendingFunding(int256 size, int256 index, int256 entryIndex) internal pure returns (int256) {
        int256 diff = index - entryIndex;
        // sign of size × diff, magnitude |size| × |diff| / WAD
        uint256 magnitude = size.abs();
        return
            (size >= 0) == (diff >= 0)
                ? diff.abs().wMulUp(magnitude).toInt256()
                : -diff.abs().wMulDown(magnitude).toInt256();
    }

    /// @notice Unrealized PnL of a position: size × price + openNotional.
    /// @dev Rounded down (toward −∞): equity is never overstated.
    function unrealizedPnl(int256 size, int256 openNotional, uint256 price) internal pure returns (int256) {
        return size.wMulFloor(price) + openNotional;
    }

    /* REQUIREMENTS */

    /// @notice Progressive requirement on `notional_`: each bracket's slice pays its own rate.
    /// @dev Each slice rounds up. `initial` picks the IM rates, otherwise MM.
    function tieredRequirement(
        uint256 notional_,
        Tier[] memory tiers,
        bool initial
    ) internal pure returns (uint256 requirement) {
        uint256 lower;
        uint256 last = tiers.length - 1;
        for (uint256 i; i <= last && notional_ > lower; ++i) {
            Tier memory t = tiers[i];
            uint256 upper = i == last || notional_ < t.upToNotional ? notional_ : t.upToNotional;
            requirement += (upper - lower).wMulUp(initial ? t.imRate : t.mmRate);
            lower = upper;
        }
    }

    /// @notice Σ stand-alone requirement of a correlation group × (1 − offset × (gross − net) / gross).
    /// @dev The reduction rounds down, the result up: a hedge never saves more than the formula says.
    function groupRequirement(
        uint256 standAlone,
        uint256 gross,
        uint256 net,
        uint256 offset
    ) internal pure returns (uint256) {
        if (gross == 0 || offset == 0) return standAlone;
        uint256 reduction = offset.mulDivDown(gross - net, gross);
        return standAlone.wMulUp(WAD - reduction);
    }

    /* POSITION CHANGES */

    /// @notice Applies a trade of `sizeDelta` at `fill` to a position.
    /// @dev Reducing closes a fraction f = |closed| / |size| and realizes f × openNotional + closed × fill;
    ///      a flip closes everything and opens the rest at `fill`. Opening: openNotional −= sizeDelta × fill,
    ///      rounded so the account pays at least the exact amount (toward −∞). The closed share of
    ///      openNotional rounds toward −∞ (realized PnL rounds down); the kept share is the exact
    ///      complement, so over a position's life the shares add up to what was paid.
    /// @return newSize The position's size after the trade.
    /// @return newOpenNotional Its open notional after the trade.
    /// @return realized PnL realized into the quote balance.
    function applyTrade(
        int256 size,
        int256 openNotional,
        int256 sizeDelta,
        uint256 fill
    ) internal pure returns (int256 newSize, int256 newOpenNotional, int256 realized) {
        newSize = size + sizeDelta;
        if (size == 0 || (size > 0) == (sizeDelta > 0)) {
            // opening or increasing
            return (newSize, openNotional - sizeDelta.wMulCeil(fill), 0);
        }
        uint256 absSize = size.abs();
        uint256 absDelta = sizeDelta.abs();
        if (absDelta <= absSize) {
            // reducing (or closing exactly): closed size = −sizeDelta, same sign as size
            int256 closedNotional = _shareFloor(openNotional, absDelta, absSize);
            realized = (-sizeDelta).wMulFloor(fill) + closedNotional;
            return (newSize, openNotional - closedNotional, realized);
        }
        // flip: close all, open the remainder (newSize, opposite sign) at fill
        realized = size.wMulFloor(fill) + openNotional;
        newOpenNotional = -newSize.wMulCeil(fill);
    }

    /// @dev x × num / den for signed x, rounded toward −∞.
    function _shareFloor(int256 x, uint256 num, uint256 den) private pure returns (int256) {
        if (x >= 0) return x.abs().mulDivDown(num, den).toInt256();
        return -x.abs().mulDivUp(num, den).toInt256();
    }
}
