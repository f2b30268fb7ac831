// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MIN_HEARTBEAT, MAX_HEARTBEAT, MAX_FEED_DECIMALS} from "../libraries/Constants.sol";
import {OracleLib} from "../libraries/OracleLib.sol";

/// @title ChainlinkOracle
/// @notice Adapter over one Chainlink-compatible feed: checks the answer and scales it to WAD.
/// @dev Everything it needs is immutable, so a read costs the feed call and nothing from storage.
///      The rules live in {OracleLib}, shared with the ClearingHouse's direct feed reads.
contract ChainlinkOracle is IPriceOracle {
    AggregatorV3Interface private immutable _FEED;
    uint256 private immutable _HEARTBEAT;
    uint8 private immutable _DECIMALS;

    /// @param feed_ The Chainlink-compatible aggregator.
    /// @param heartbeat_ Largest accepted age of an answer, seconds (MIN_HEARTBEAT..MAX_HEARTBEAT).
    constructor(AggregatorV3Interface feed_, uint256 heartbeat_) {
        uint8 dec = feed_.decimals();
        if (heartbeat_ < MIN_HEARTBEAT || heartbeat_ > MAX_HEARTBEAT || dec > MAX_FEED_DECIMALS) {
            revert InvalidOracleConfig(address(feed_), heartbeat_, dec);
        }
        _FEED = feed_;
        _HEARTBEAT = heartbeat_;
        _DECIMALS = dec;
    }

    /// @inheritdoc IPriceOracle
    function price() external view returns (uint256) {
        return OracleLib.read(_FEED, _HEARTBEAT, _DECIMALS);
    }

    /// @inheritdoc IPriceOracle
    function feed() external view returns (address) {
        return address(_FEED);
    }

    /// @inheritdoc IPriceOracle
    function heartbeat() external view returns (uint256) {
        return _HEARTBEAT;
    }

    /// @inheritdoc IPriceOracle
    function feedDecimals() external view returns (uint8) {
        return _DECIMALS;
    }
}
