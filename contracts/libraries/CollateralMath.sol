// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPointMath} from "./FixedPointMath.sol";
import {WAD} from "./Constants.sol";

/// @title CollateralMath
/// @notice Valuation of one collateral balance. Mirrored to the wei by `src/math/margin.ts`.
library CollateralMath {
    using FixedPointMath for uint256;

    /// @notice USD value (WAD) of `balance` token units at `price` (WAD), without haircut.
    /// @dev Rounded down: it backs equity.
    function value(uint256 balance, uint8 decimals, uint256 price) internal pure returns (uint256) {
        return balance.toWad(decimals).wMulDown(price);
    }

    /// @notice USD value (WAD) of `balance` after the `haircut` (WAD): value × (1 − haircut).
    /// @dev Both steps round down: collateral value backs equity and is never overstated.
    function haircutValue(
        uint256 balance,
        uint8 decimals,
        uint256 price,
        uint256 haircut
    ) internal pure returns (uint256) {
        return value(balance, decimals, price).wMulDown(WAD - haircut);
    }
}
