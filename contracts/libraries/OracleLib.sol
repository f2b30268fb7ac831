// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";

/// @title OracleLib
/// @notice The one implementation of the oracle rules: reject answers ≤ 0, incomplete rounds and
///         answers older than the heartbeat, and scale the feed's decimals to WAD. The adapter
///         contract uses it, and so does the ClearingHouse, which reads a market's feed directly
///         (one external call per market instead of two) with the same checks and errors.
library OracleLib {
    /// @dev Largest price accepted, WAD (≈ 3.4e20 USD per unit): keeps every product of a price
    ///      and a size or a rate inside 256 bits.
    uint256 internal constant MAX_PRICE = type(uint128).max;

    /// @notice The feed's answer as a WAD price, or a revert with the reason it is not trusted.
    /// @param feed The Chainlink-compatible aggregator.
    /// @param heartbeat Largest accepted age of the answer, seconds.
    /// @param decimals The feed's decimals (at most 36).
    function read(AggregatorV3Interface feed, uint256 heartbeat, uint8 decimals) internal view returns (uint256 price) {
        uint256 roundId;
        int256 answer;
        uint256 updatedAt;
        uint256 answeredInRound;
        // A hand-rolled latestRoundData(): the margin check calls it once per position, and the
        // high-level call's decoding costs more than the checks below.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, 0xfeaf968c00000000000000000000000000000000000000000000000000000000) // latestRoundData()
            if iszero(staticcall(gas(), feed, ptr, 4, ptr, 160)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            if lt(returndatasize(), 160) {
                revert(0, 0)
            }
            roundId := and(mload(ptr), 0xffffffffffffffffffff)
            answer := mload(add(ptr, 32))
            updatedAt := mload(add(ptr, 96))
            answeredInRound := and(mload(add(ptr, 128)), 0xffffffffffffffffffff)
        }
        if (answer <= 0) revert IPriceOracle.InvalidPrice(address(feed), answer);
        if (updatedAt == 0 || answeredInRound < roundId) {
            revert IPriceOracle.IncompleteRound(address(feed), uint80(roundId));
        }
        // A timestamp ahead of the chain's clock counts as fresh; only age is bounded.
        if (updatedAt < block.timestamp && block.timestamp - updatedAt > heartbeat) {
            revert IPriceOracle.StalePrice(address(feed), updatedAt, heartbeat);
        }
        // answer > 0 was checked above, so the cast is exact; scaling down rounds toward zero
        price = decimals <= 18 ? uint256(answer) * 10 ** (18 - decimals) : uint256(answer) / 10 ** (decimals - 18);
        if (price > MAX_PRICE) revert IPriceOracle.InvalidPrice(address(feed), answer);
    }
}
