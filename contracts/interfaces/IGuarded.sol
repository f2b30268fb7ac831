// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IGuarded
/// @notice Owner (two-step transfer) plus a guardian who may pause deposits, withdrawals and trading.
/// @dev Liquidations are never paused by the guardian. Pause flags: 1 = deposit, 2 = withdraw, 4 = trade.
interface IGuarded {
    /// @notice The guardian changed.
    event GuardianSet(address indexed guardian);
    /// @notice The set of paused actions changed; `flags` is the whole new set.
    event PauseFlagsSet(uint8 flags);

    /// @notice The caller is neither the guardian nor the owner.
    error NotGuardian(address caller);
    /// @notice The action (one pause flag) is paused.
    error ActionPaused(uint8 action);
    /// @notice A pause flag outside the known set.
    error InvalidPauseFlags(uint8 flags);
    /// @notice An address parameter was zero.
    error ZeroAddress();

    /// @notice Pauses the actions in `flags` (adds to those already paused). Guardian or owner.
    /// @param flags Bitmask of PAUSE_DEPOSIT (1), PAUSE_WITHDRAW (2), PAUSE_TRADE (4).
    function pause(uint8 flags) external;

    /// @notice Resumes the actions in `flags`. Owner only: the guardian can stop, not restart.
    /// @param flags Bitmask of actions to resume.
    function unpause(uint8 flags) external;

    /// @notice Sets the guardian. Owner only; zero disables the guardian role.
    /// @param guardian_ The new guardian.
    function setGuardian(address guardian_) external;

    /// @notice The current guardian.
    function guardian() external view returns (address);

    /// @notice Bitmask of paused actions.
    function pausedFlags() external view returns (uint8);
}
