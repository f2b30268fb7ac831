// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPointMath} from "../libraries/FixedPointMath.sol";
import {CollateralMath} from "../libraries/CollateralMath.sol";

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
}
