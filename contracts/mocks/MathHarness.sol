// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPointMath} from "../libraries/FixedPointMath.sol";
import {CollateralMath} from "../libraries/CollateralMath.sol";
import {MarginMath} from "../libraries/MarginMath.sol";

/// @title MathHarness
/// @notice Exposes the math libraries to tests, which hold them equal to the TypeScript mirror.
contract MathHarness {
    function wMulDown(uint256 x, uint256 y) external pure returns (uint256) {
        return FixedPointMath.wMulDown(x, y);
    }

    function wMulUp(uint256 x, uint256 y) external pure returns (uint256) {
        return FixedPointMath.wMulUp(x, y);
    }

    function wDivDown(uint256 x, uint256 y) external pure returns (uint256) {
        return FixedPointMath.wDivDown(x, y);
    }

    function wDivUp(uint256 x, uint256 y) external pure returns (uint256) {
        return FixedPointMath.wDivUp(x, y);
    }

    function mulDivDown(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return FixedPointMath.mulDivDown(x, y, d);
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return FixedPointMath.mulDivUp(x, y, d);
    }

    function toWad(uint256 amount, uint8 decimals) external pure returns (uint256) {
        return FixedPointMath.toWad(amount, decimals);
    }

    function fromWadDown(uint256 wad, uint8 decimals) external pure returns (uint256) {
        return FixedPointMath.fromWadDown(wad, decimals);
    }

    function fromWadUp(uint256 wad, uint8 decimals) external pure returns (uint256) {
        return FixedPointMath.fromWadUp(wad, decimals);
    }

    function collateralValue(uint256 balance, uint8 decimals, uint256 price) external pure returns (uint256) {
        return CollateralMath.value(balance, decimals, price);
    }

    function haircutValue(
        uint256 balance,
        uint8 decimals,
        uint256 price,
        uint256 haircut
    ) external pure returns (uint256) {
        return CollateralMath.haircutValue(balance, decimals, price, haircut);
    }

    function fillPrice(
        uint256 price,
        int256 skew,
        int256 sizeDelta,
        uint256 skewScale
    ) external pure returns (uint256) {
        return MarginMath.fillPrice(price, skew, sizeDelta, skewScale);
    }

    function takerFee(int256 sizeDelta, uint256 fill, uint256 feeRate) external pure returns (uint256) {
        return MarginMath.takerFee(sizeDelta, fill, feeRate);
    }

    function fundingRate(int256 skew, uint256 skewScale, uint256 maxRate) external pure returns (int256) {
        return MarginMath.fundingRate(skew, skewScale, maxRate);
    }

    function fundingIndexDelta(int256 rate, uint256 price, uint256 elapsed) external pure returns (int256) {
        return MarginMath.fundingIndexDelta(rate, price, elapsed);
    }

    function pendingFunding(int256 size, int256 index, int256 entryIndex) external pure returns (int256) {
        return MarginMath.pendingFunding(size, index, entryIndex);
    }

    function unrealizedPnl(int256 size, int256 openNotional, uint256 price) external pure returns (int256) {
        return MarginMath.unrealizedPnl(size, openNotional, price);
    }

    function tieredRequirement(
        uint256 notional,
        MarginMath.Tier[] memory tiers,
        bool initial
    ) external pure returns (uint256) {
        return MarginMath.tieredRequirement(notional, tiers, initial);
    }

    function groupRequirement(
        uint256 standAlone,
        uint256 gross,
        uint256 net,
        uint256 offset
    ) external pure returns (uint256) {
        return MarginMath.groupRequirement(standAlone, gross, net, offset);
    }

    function applyTrade(
        int256 size,
        int256 openNotional,
        int256 sizeDelta,
        uint256 fill
    ) external pure returns (int256, int256, int256) {
        return MarginMath.applyTrade(size, openNotional, sizeDelta, fill);
    }
}
