// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @title MockAggregator
/// @notice Settable Chainlink-style feed for local chains, tests and the simulator. Mirrors
///         Chainlink's `MockV3Aggregator`: `updateAnswer` starts a new round stamped with
///         `block.timestamp`. Anyone may call the setters: never deploy it on a public network.
contract MockAggregator is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    // Chainlink names these getters; the ABI must match, so the naming rules cannot apply.
    // solhint-disable-next-line immutable-vars-naming
    uint8 public immutable override decimals;
    string public override description;
    // solhint-disable-next-line const-name-snakecase
    uint256 public constant override version = 4;

    uint80 public latestRound;
    mapping(uint80 roundId => Round) private _rounds;

    /// @notice Emitted on every new answer, as Chainlink aggregators do.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    /// @param decimals_ Decimals of the answers.
    /// @param description_ E.g. "ETH / USD".
    /// @param initialAnswer First answer, stamped with the deployment block's timestamp.
    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        description = description_;
        updateAnswer(initialAnswer);
    }

    /// @notice Starts a new round with `answer`, `updatedAt = startedAt = block.timestamp`.
    /// @param answer The new answer, in the feed's decimals (zero and negative allowed, to test consumers).
    function updateAnswer(int256 answer) public {
        uint80 roundId = latestRound + 1;
        latestRound = roundId;
        _rounds[roundId] = Round(answer, block.timestamp, block.timestamp, roundId);
        emit AnswerUpdated(answer, roundId, block.timestamp);
    }

    /// @notice Rewrites the latest round's `updatedAt` (0 makes the round incomplete).
    /// @param timestamp The new `updatedAt`.
    function setUpdatedAt(uint256 timestamp) external {
        _rounds[latestRound].updatedAt = timestamp;
    }

    /// @notice Rewrites the latest round whole, to reproduce any feed state (stale, incomplete, carried over).
    /// @param answer The answer.
    /// @param startedAt When the round started.
    /// @param updatedAt When it was answered (0 = incomplete).
    /// @param answeredInRound The round the answer was computed in (below the round id = carried over).
    function setRoundData(int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) external {
        _rounds[latestRound] = Round(answer, startedAt, updatedAt, answeredInRound);
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(
        uint80 roundId
    ) external view returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) {
        Round memory r = _rounds[roundId];
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        roundId = latestRound;
        Round memory r = _rounds[roundId];
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }
}
