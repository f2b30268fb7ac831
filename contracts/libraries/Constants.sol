// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Protocol-wide constants, with their unit in the name or the comment.

/// @dev 18-decimal fixed point one (1.0 in WAD).
uint256 constant WAD = 1e18;

/// @dev Largest token decimals the Vault accepts; balances are scaled up to WAD by 10^(18 - decimals).
uint8 constant MAX_TOKEN_DECIMALS = 18;

/// @dev Largest number of non-settlement collateral tokens (each has one bit in an account's token mask).
uint256 constant MAX_COLLATERAL_TOKENS = 16;

/// @dev Largest collateral haircut, WAD: a token must keep at least 1 % of its value.
uint256 constant MAX_HAIRCUT = 0.99e18;

/// @dev Bounds of an oracle heartbeat, seconds.
uint256 constant MIN_HEARTBEAT = 1;
uint256 constant MAX_HEARTBEAT = 7 days;

/// @dev Largest feed decimals the oracle adapter scales (answers are scaled to 18 decimals).
uint8 constant MAX_FEED_DECIMALS = 36;

/// @dev Pause flags, one bit per guarded action.
uint8 constant PAUSE_DEPOSIT = 1;
uint8 constant PAUSE_WITHDRAW = 2;
uint8 constant PAUSE_TRADE = 4;
uint8 constant PAUSE_ALL = PAUSE_DEPOSIT | PAUSE_WITHDRAW | PAUSE_TRADE;

/// @dev Margin modes of an account.
uint8 constant MODE_CROSS = 0;
uint8 constant MODE_ISOLATED = 1;
