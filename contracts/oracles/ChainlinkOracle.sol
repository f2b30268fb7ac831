// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MIN_HEARTBEAT, MAX_HEARTBEAT, MAX_FEED_DECIMALS} from "../libraries/Constants.sol";

/// @title ChainlinkOracle
/// @notice Adapter over one Chainlink-compatible feed: checks the answer and scales it to WAD.
/// @dev Everything it needs is immutable, so a read costs the feed call and nothing from storage.
contract ChainlinkOracle is IPriceOracle {
    AggregatorV3Interface private immutable _FEED;
    uint256 private immutable _HEARTBEAT;
    /// @dev 10^(18 - decimals) when the feed has at most 18 decimals, else 10^(decimals - 18).
    uint256 private immutable _SCALE;
    bool private immutable _SCALE_UP;

    /// @param feed_ The Chainlink-compatible aggregator.
    /// @param heartbeat_ Largest accepted age of an answer, seconds (MIN_HEARTBEAT..MAX_HEARTBEAT).
    constructor(AggregatorV3Interface feed_, uint256 heartbeat_) {
        uint8 dec = feed_.decimals();
        if (heartbeat_ < MIN_HEARTBEAT || heartbeat_ > MAX_HEARTBEAT || dec > MAX_FEED_DECIMALS) {
            revert InvalidOracleConfig(address(feed_), heartbeat_, dec);
        }
        _FEED = feed_;
        _HEARTBEAT = heartbeat_;
        _SCALE_UP = dec <= 18;
        _SCALE = _SCALE_UP ? 10 ** (18 - dec) : 10 ** (dec - 18);
    }

    /// @inheritdoc IPriceOracle
    function price() external view returns (uint256) {
        (uint80 roundId, int256 answer, , uint256 updatedAt, uint80 answeredInRound) = _FEED.latestRoundData();
        if (answer <= 0) revert InvalidPrice(address(_FEED), answer);
        if (updatedAt == 0 || answeredInRound < roundId) revert IncompleteRound(address(_FEED), roundId);
        // A timestamp ahead of the chain's clock counts as fresh; only age is bounded.
        if (updatedAt < block.timestamp && block.timestamp - updatedAt > _HEARTBEAT) {
            revert StalePrice(address(_FEED), updatedAt, _HEARTBEAT);
        }
        // answer > 0 was checked above, so the cast is exact.
        // Scaling down (feeds with more than 18 decimals) rounds toward zero.
        return _SCALE_UP ? uint256(answer) * _SCALE : uint256(answer) / _SCALE;
    }

    /// @inheritdoc IPriceOracle
    function feed() external view returns (address) {
        return address(_FEED);
    }

    /// @inheritdoc IPriceOracle
    function heartbeat() external view returns (uint256) {
        return _HEARTBEAT;
    }
}
