// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Protocol-wide constants, with their unit in the name or the comment.

/// @dev 18-decimal fixed point one (1.0 in WAD).
uint256 constant WAD = 1e18;

/// @dev One millionth in WAD: margin rates are whole millionths.
uint256 constant PPM = 1e12;

/// @dev One billionth in WAD: taker fees and funding rates are whole billionths.
uint256 constant PPB = 1e9;

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

/// @dev Seconds per day, the unit of funding rates.
uint256 constant SECONDS_PER_DAY = 86_400;

/// @dev Lot size of positions, WAD base units: sizes are multiples of 1e-8 of a unit.
uint256 constant SIZE_STEP = 1e10;

/// @dev Largest trade, WAD base units: a position's lots are stored as int64.
uint256 constant MAX_TRADE_SIZE = uint256(uint64(type(int64).max)) * SIZE_STEP;

/// @dev Largest token amount one call moves (token units): WAD scaling of it cannot overflow.
uint256 constant MAX_AMOUNT = type(uint128).max;

/// @dev Market limits.
uint256 constant MAX_TIERS = 4;
uint256 constant MAX_GROUPS = 8; // correlation groups are numbered 1..MAX_GROUPS; 0 = none
uint256 constant MAX_MARKETS = 71; // market ids are bits 1..71 of the account's uint72 market mask
uint256 constant MAX_POSITIONS_PER_ACCOUNT = 16;

/// @dev Parameter bounds, WAD unless named otherwise.
uint256 constant MAX_TAKER_FEE = 0.01e18; // 1 %
uint256 constant MAX_FUNDING_RATE_PER_DAY = 1e18; // 100 % a day
uint256 constant MAX_MARGIN_RATE = 1e18; // 100 %
uint256 constant MAX_OFFSET = 0.99e18; // a hedge never needs less than 1 % of its stand-alone margin
uint256 constant MAX_PRICE_DEVIATION = 1e18;

/// @dev Liquidation parameter bounds, WAD unless named otherwise.
uint256 constant MAX_LIQUIDATION_FEE = 0.1e18; // 10 % of closed notional
uint256 constant MAX_COLLATERAL_DISCOUNT = 0.2e18; // 20 %
uint256 constant MAX_DUST_THRESHOLD = 1_000_000e18; // USD
uint256 constant MAX_RATE_LIMIT_WINDOW = 7 days;
uint256 constant MIN_CIRCUIT_BREAKER_TIMEOUT = 1 minutes;
uint256 constant MAX_CIRCUIT_BREAKER_TIMEOUT = 7 days;
