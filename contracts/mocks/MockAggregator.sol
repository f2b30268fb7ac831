// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @title MockAggregator
/// @notice Settable Chainlink-style feed for local chains, tests and the simulator. Mirrors
///         Chainlink's `MockV3Aggregator`: `updateAnswer` starts a new round stamped with
///         `block.timestamp`. Anyone may call the setters: never deploy it on a public network.
/// @dev The latest round is packed into one storage word, so reading it costs what a production
///      feed's cheapest read costs (one cold slot); answers are limited to int128.
contract MockAggregator is AggregatorV3Interface {
    struct Round {
        int128 answer;
        uint40 startedAt;
        uint40 updatedAt;
        uint40 roundId;
        uint8 answerLag; // roundId − answeredInRound
    }

    // Chainlink names these getters; the ABI must match, so the naming rules cannot apply.
    // solhint-disable-next-line immutable-vars-naming
    uint8 public immutable override decimals;
    string public override description;
    // Chainlink's name for the getter, as above
    // solhint-disable-next-line const-name-snakecase
    uint256 public constant override version = 4;

    Round private _latest;
    mapping(uint80 roundId => Round) private _history;

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
        uint40 roundId = _latest.roundId + 1;
        uint40 now_ = uint40(block.timestamp);
        _store(Round(SafeCast.toInt128(answer), now_, now_, roundId, 0));
        emit AnswerUpdated(answer, roundId, block.timestamp);
    }

    /// @notice Rewrites the latest round's `updatedAt` (0 makes the round incomplete).
    /// @param timestamp The new `updatedAt`.
    function setUpdatedAt(uint256 timestamp) external {
        Round memory r = _latest;
        r.updatedAt = SafeCast.toUint40(timestamp);
        _store(r);
    }

    /// @notice Rewrites the latest round whole, to reproduce any feed state (stale, incomplete, carried over).
    /// @param answer The answer.
    /// @param startedAt When the round started.
    /// @param updatedAt When it was answered (0 = incomplete).
    /// @param answeredInRound The round the answer was computed in (at most 255 below the round id).
    function setRoundData(int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) external {
        uint40 roundId = _latest.roundId;
        _store(
            Round(
                SafeCast.toInt128(answer),
                SafeCast.toUint40(startedAt),
                SafeCast.toUint40(updatedAt),
                roundId,
                SafeCast.toUint8(roundId - answeredInRound)
            )
        );
    }

    /// @notice The latest round's id.
    function latestRound() external view returns (uint80) {
        return _latest.roundId;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(
        uint80 roundId
    ) external view returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) {
        return _unpack(_history[roundId], roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory r = _latest;
        return _unpack(r, r.roundId);
    }

    function _store(Round memory r) private {
        _latest = r;
        _history[r.roundId] = r;
    }

    function _unpack(Round memory r, uint80 roundId) private pure returns (uint80, int256, uint256, uint256, uint80) {
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId - r.answerLag);
    }
}
