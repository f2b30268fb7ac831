// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {WAD} from "./Constants.sol";

/// @title FixedPointMath
/// @notice The one place where money is multiplied and divided. Every function names its rounding:
///         `Down` toward zero for equity and payouts, `Up` away from zero for requirements.
/// @dev Mirrored to the wei by `src/math/fixedPoint.ts`.
library FixedPointMath {
    // Products are computed in 256 bits with checked arithmetic: an operand pair whose product does
    // not fit reverts (panic 0x11) instead of returning a wrong number. Protocol magnitudes stay far
    // below that (sizes < 2^100, prices and money < 2^128).

    /// @dev x * y / WAD, rounded down.
    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * y) / WAD;
    }

    /// @dev x * y / WAD, rounded up.
    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, WAD);
    }

    /// @dev x * WAD / y, rounded down.
    function wDivDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * WAD) / y;
    }

    /// @dev x * WAD / y, rounded up.
    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, WAD, y);
    }

    /// @dev x * y / d, rounded down.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return (x * y) / d;
    }

    /// @dev x * y / d, rounded up.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        uint256 product = x * y;
        // cannot underflow: product > 0 in the second branch
        unchecked {
            return product == 0 ? 0 : (product - 1) / d + 1;
        }
    }

    /// @dev Token amount (in its own `decimals`) to WAD. Exact: decimals are at most 18.
    function toWad(uint256 amount, uint8 decimals) internal pure returns (uint256) {
        return amount * 10 ** (18 - decimals);
    }

    /// @dev WAD to a token amount in `decimals`, rounded down (payouts never exceed what is owed).
    function fromWadDown(uint256 wad, uint8 decimals) internal pure returns (uint256) {
        return wad / 10 ** (18 - decimals);
    }

    /// @dev WAD to a token amount in `decimals`, rounded up (what an account must pay in).
    function fromWadUp(uint256 wad, uint8 decimals) internal pure returns (uint256) {
        return mulDivUp(wad, 1, 10 ** (18 - decimals));
    }

    /// @dev a * b / WAD for signed a and unsigned b, rounded toward negative infinity (floor):
    ///      what an account is credited never rounds up.
    function wMulFloor(int256 a, uint256 b) internal pure returns (int256) {
        if (a >= 0) return SafeCast.toInt256(wMulDown(uint256(a), b));
        return -SafeCast.toInt256(wMulUp(uint256(-a), b));
    }

    /// @dev a * b / WAD for signed a and unsigned b, rounded toward positive infinity (ceil):
    ///      what an account owes never rounds down.
    function wMulCeil(int256 a, uint256 b) internal pure returns (int256) {
        if (a >= 0) return SafeCast.toInt256(wMulUp(uint256(a), b));
        return -SafeCast.toInt256(wMulDown(uint256(-a), b));
    }

    /// @dev |a| for a signed value.
    function abs(int256 a) internal pure returns (uint256) {
        return a >= 0 ? uint256(a) : uint256(-a);
    }
}
