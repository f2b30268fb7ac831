// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IGuarded} from "../interfaces/IGuarded.sol";
import {PAUSE_ALL} from "../libraries/Constants.sol";

/// @title Guarded
/// @notice Ownable2Step owner plus a guardian with a pause switch per action.
abstract contract Guarded is IGuarded, Ownable2Step {
    // guardian and flags share one slot, so a pause check is one storage read.
    address private _guardian;
    uint8 private _pausedFlags;

    constructor(address owner_, address guardian_) Ownable(owner_) {
        _guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    modifier whenNotPaused(uint8 action) {
        if (_pausedFlags & action != 0) revert ActionPaused(action);
        _;
    }

    /* ADMIN */

    /// @inheritdoc IGuarded
    function pause(uint8 flags) external {
        if (msg.sender != _guardian && msg.sender != owner()) revert NotGuardian(msg.sender);
        _setFlags(_pausedFlags | _checked(flags));
    }

    /// @inheritdoc IGuarded
    function unpause(uint8 flags) external onlyOwner {
        _setFlags(_pausedFlags & ~_checked(flags));
    }

    /// @inheritdoc IGuarded
    function setGuardian(address guardian_) external onlyOwner {
        _guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /* VIEWS */

    /// @inheritdoc IGuarded
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @inheritdoc IGuarded
    function pausedFlags() external view returns (uint8) {
        return _pausedFlags;
    }

    /* INTERNAL */

    function _checked(uint8 flags) private pure returns (uint8) {
        if (flags == 0 || flags & ~PAUSE_ALL != 0) revert InvalidPauseFlags(flags);
        return flags;
    }

    function _setFlags(uint8 flags) private {
        _pausedFlags = flags;
        _pauseFlagsChanged(flags);
        emit PauseFlagsSet(flags);
    }

    /// @dev The current pause flags.
    function _flags() internal view returns (uint8) {
        return _pausedFlags;
    }

    /// @dev Called after the pause flags change; a contract keeping a copy of them updates it here.
    // solhint-disable-next-line no-empty-blocks
    function _pauseFlagsChanged(uint8 flags) internal virtual {}
}
