// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPriceOracle} from "./IPriceOracle.sol";

/// @title IVault
/// @notice One contract holds every token of every account, plus the liquidity pool's, the
///         insurance fund's and the protocol fees' settlement tokens.
/// @dev Units: token balances are kept in each token's own decimals (0..18); USD values, prices and
///      the settlement-token ledgers (`quoteBalance`, pool, insurance, fees) are WAD (18 decimals).
///      The settlement token counts at par (1 token = 1 USD) and lives only in `quoteBalance`:
///      `balanceOf(account, settlementToken)` is always 0.
///
///      Unsupported token behaviours: fee-on-transfer tokens are rejected at deposit (the Vault
///      checks what it received); rebasing tokens, tokens whose balance changes without a transfer,
///      and tokens with more than 18 decimals are not supported and must not be listed.
///      Conservation holds exactly at all times:
///        other tokens:  token.balanceOf(vault) == Σ balanceOf(account, token) + insuranceTokenBalance(token)
///        settlement:    balanceOf(vault) × 10^(18−d) == Σ quoteBalance + poolBalance + insuranceFund + feeBalance
///      Rounding favours the protocol: payouts round down, the sub-unit remainder stays in the Vault.
interface IVault {
    /* TYPES */

    /// @notice Per-token collateral configuration.
    /// @param oracle USD price source (WAD).
    /// @param haircut Share of the value not counted as collateral, WAD (0.1e18 = 10 %).
    /// @param decimals The token's decimals, read once at listing.
    /// @param index The token's bit in an account's token mask.
    /// @param enabled Whether new deposits are accepted (withdrawals always are).
    /// @param listed Whether the token was ever listed.
    /// @param cap Largest total of account balances, in token units.
    /// @param totalDeposits Current total of account balances, in token units.
    struct CollateralConfig {
        IPriceOracle oracle;
        uint64 haircut;
        uint8 decimals;
        uint8 index;
        bool enabled;
        bool listed;
        uint128 cap;
        uint128 totalDeposits;
    }

    /* EVENTS */

    /// @notice A new account; ids start at 1.
    event AccountCreated(uint256 indexed accountId, address indexed owner, uint8 mode);
    /// @notice `operator` may now (or may no longer) trade and move collateral for the account.
    event OperatorSet(uint256 indexed accountId, address indexed operator, bool approved);
    /// @notice `from` deposited `amount` (token units) of `token` into the account.
    event Deposited(uint256 indexed accountId, address indexed token, address indexed from, uint256 amount);
    /// @notice The owner withdrew `amount` (token units) of `token` to `to`.
    event Withdrawn(uint256 indexed accountId, address indexed token, address indexed to, uint256 amount);
    /// @notice `amount` (token units) of `token` moved between two accounts of one owner.
    event CollateralTransferred(uint256 indexed fromId, uint256 indexed toId, address indexed token, uint256 amount);
    /// @notice A token's collateral configuration was set (at listing or later).
    event CollateralConfigured(address indexed token, address oracle, uint256 haircut, uint256 cap, bool enabled);
    /// @notice The insurance fund received `amount` settlement-token units from `from`.
    event InsuranceDeposited(address indexed from, uint256 amount);
    /// @notice The owner took `amount` of `token` (token units) out of the insurance fund.
    event InsuranceWithdrawn(address indexed token, address indexed to, uint256 amount);
    /// @notice The owner took `amount` settlement-token units of protocol fees.
    event FeesWithdrawn(address indexed to, uint256 amount);
    /// @notice The liquidity pool moved `amount` settlement-token units in (`deposit`) or out.
    event PoolFundsMoved(address indexed counterparty, uint256 amount, bool deposit);
    /// @notice A liquidator repaid part of a flat account's debt (`repaid`, settlement-token units)
    ///         and received `seized` of `token`, valued at the oracle `price` (WAD) less the discount.
    event CollateralLiquidated(
        uint256 indexed accountId,
        address indexed token,
        address indexed liquidator,
        uint256 repaid,
        uint256 seized,
        uint256 price
    );
    /// @notice A flat account's bad debt was settled: its negative quote balance `debt` (WAD) was
    ///         written off, `deficit` (WAD) being what its collateral did not cover at oracle value.
    ///         The steps follow as BadDebtCovered, BadDebtSocialized and CollateralSeized.
    event BadDebtSettled(uint256 indexed accountId, uint256 debt, uint256 deficit);
    /// @notice The insurance fund paid `amount` (WAD) of an account's bad debt.
    event BadDebtCovered(uint256 indexed accountId, uint256 amount);
    /// @notice The liquidity pool absorbed `amount` (WAD) of bad debt the insurance fund could not.
    event BadDebtSocialized(uint256 indexed accountId, uint256 amount);
    /// @notice A bankrupt account's leftover `amount` of `token` went to the insurance fund.
    event CollateralSeized(uint256 indexed accountId, address indexed token, uint256 amount);
    /// @notice The ClearingHouse (margin hook and settlement authority) was set, once.
    event ClearingHouseSet(address indexed clearingHouse);
    /// @notice The liquidity pool contract was set, once.
    event LiquidityPoolSet(address indexed pool);

    /* ERRORS */

    /// @notice An amount parameter was zero.
    error ZeroAmount();
    /// @notice An amount parameter was above `max` (2^128 − 1 token units).
    error AmountTooLarge(uint256 amount, uint256 max);
    /// @notice The token is not listed as collateral (nor the settlement token).
    error UnsupportedToken(address token);
    /// @notice The token is listed but deposits of it are disabled.
    error TokenDisabled(address token);
    /// @notice The deposit would take the token's total above its cap.
    error DepositCapExceeded(address token, uint256 cap, uint256 totalAfter);
    /// @notice The Vault received less than `expected` (fee-on-transfer or similar token).
    error FeeOnTransferNotSupported(address token, uint256 expected, uint256 received);
    /// @notice No account has this id.
    error UnknownAccount(uint256 accountId);
    /// @notice Only the account's owner may do this.
    error NotAccountOwner(uint256 accountId, address caller);
    /// @notice Only the account's owner or one of its operators may do this.
    error NotAccountOwnerOrOperator(uint256 accountId, address caller);
    /// @notice Collateral moves only between accounts of one owner.
    error AccountOwnerMismatch(uint256 fromId, uint256 toId);
    /// @notice Source and destination are the same account.
    error SameAccount(uint256 accountId);
    /// @notice The account holds less than requested (token units; settlement token: its quote balance rounded down).
    error InsufficientBalance(uint256 accountId, address token, uint256 available, uint256 requested);
    /// @notice After the action the account's free collateral (WAD) would be negative.
    error InsufficientFreeCollateral(uint256 accountId, int256 freeCollateral);
    /// @notice Margin mode other than 0 (Cross) or 1 (Isolated).
    error InvalidMarginMode(uint8 mode);
    /// @notice Haircut at or above MAX_HAIRCUT.
    error InvalidHaircut(uint256 haircut);
    /// @notice The token has more than 18 decimals.
    error InvalidDecimals(address token, uint8 decimals);
    /// @notice The token is already listed, or is the settlement token.
    error InvalidCollateralToken(address token);
    /// @notice MAX_COLLATERAL_TOKENS are already listed.
    error TooManyCollateralTokens(uint256 max);
    /// @notice The cap is below the token's current total deposits, or above 2^128 - 1.
    error InvalidCap(address token, uint256 cap, uint256 totalDeposits);
    /// @notice The ledger holds less than requested (WAD for settlement ledgers, token units otherwise).
    error InsufficientLedger(bytes32 ledger, uint256 available, uint256 requested);
    /// @notice Only the ClearingHouse may call this.
    error NotClearingHouse(address caller);
    /// @notice Only the liquidity pool may call this.
    error NotLiquidityPool(address caller);
    /// @notice The ClearingHouse or the pool can be set only once.
    error AlreadySet(address current);
    /// @notice Collateral liquidation and bad-debt settlement need an account with no positions.
    error AccountHasPositions(uint256 accountId);
    /// @notice The account's quote balance (WAD) is not negative: there is no debt to repay.
    error NoDebt(uint256 accountId, int256 quoteBalance);
    /// @notice The account holds none of the token.
    error NoCollateral(uint256 accountId, address token);
    /// @notice The repayment is too small to buy one unit of the token.
    error NothingToSeize(uint256 accountId, address token, uint256 repayAmount);
    /// @notice The account's total value (WAD, un-haircut) is not negative.
    error NoBadDebt(uint256 accountId, int256 value);

    /* ACCOUNTS */

    /// @notice Creates an account owned by the caller.
    /// @param mode 0 = Cross (up to `maxPositionsPerAccount` markets), 1 = Isolated (one market).
    /// @return accountId The new account's id (ids start at 1 and increase by one).
    function createAccount(uint8 mode) external returns (uint256 accountId);

    /// @notice Allows or revokes `operator` to trade and move collateral between the owner's
    ///         accounts. Only the owner may withdraw out of the protocol. Owner only.
    /// @param accountId The account.
    /// @param operator The operator (not zero).
    /// @param approved True to allow, false to revoke.
    function setOperator(uint256 accountId, address operator, bool approved) external;

    /// @notice The account's owner; reverts `UnknownAccount` for an id never created.
    /// @param accountId The account.
    function ownerOf(uint256 accountId) external view returns (address);

    /// @notice The account's margin mode (0 Cross, 1 Isolated); reverts `UnknownAccount`.
    /// @param accountId The account.
    function accountMode(uint256 accountId) external view returns (uint8);

    /// @notice Whether `operator` is approved for the account.
    /// @param accountId The account.
    /// @param operator The address asked about.
    function isOperator(uint256 accountId, address operator) external view returns (bool);

    /// @notice Whether `caller` is the account's owner or an approved operator.
    /// @param accountId The account.
    /// @param caller The address asked about.
    function isAuthorized(uint256 accountId, address caller) external view returns (bool);

    /// @notice The account's collateral value (as `collateralValue`) and market bitmask, in one call.
    /// @param accountId The account.
    function marginInputs(uint256 accountId) external view returns (int256 collateral, uint256 mask);

    /// @notice Bitmask of the markets the account holds positions in (bit i = market i).
    /// @param accountId The account.
    function marketMask(uint256 accountId) external view returns (uint256);

    /// @notice Number of accounts created so far (the highest id).
    function accountCount() external view returns (uint256);

    /* COLLATERAL */

    /// @notice Deposits `amount` of `token` (token units) from the caller into an account.
    ///         Anyone may deposit for any existing account. The settlement token credits the
    ///         account's `quoteBalance` (WAD).
    /// @dev Reverts `ZeroAmount`, `UnknownAccount`, `UnsupportedToken`, `TokenDisabled`,
    ///      `DepositCapExceeded`, `FeeOnTransferNotSupported`, `ActionPaused`.
    /// @param accountId The account to credit.
    /// @param token The token (settlement token or a listed collateral).
    /// @param amount Amount in token units.
    function deposit(uint256 accountId, address token, uint256 amount) external;

    /// @notice Withdraws `amount` of `token` (token units) from an account to `to`. Owner only.
    ///         Afterwards the account must keep `freeCollateral >= 0`; the settlement token can
    ///         never take `quoteBalance` below zero (the protocol is not a lender), so unrealized
    ///         profit is never withdrawable.
    /// @param accountId The account to debit.
    /// @param token The token.
    /// @param amount Amount in token units.
    /// @param to Recipient (not zero).
    function withdraw(uint256 accountId, address token, uint256 amount, address to) external;

    /// @notice Moves collateral between two accounts of one owner (e.g. margin into an isolated
    ///         account). Owner or operator of `fromId`. `fromId` must keep `freeCollateral >= 0`.
    /// @param fromId The account to debit.
    /// @param toId The account to credit.
    /// @param token The token.
    /// @param amount Amount in token units.
    function transferCollateral(uint256 fromId, uint256 toId, address token, uint256 amount) external;

    /// @notice The account's balance of a non-settlement token, token units (0 for the settlement token).
    /// @param accountId The account.
    /// @param token The token.
    function balanceOf(uint256 accountId, address token) external view returns (uint256);

    /// @notice The account's signed settlement-token balance, WAD (negative = debt), held as int128.
    /// @param accountId The account.
    function quoteBalance(uint256 accountId) external view returns (int256);

    /// @notice Σ balance × price × (1 − haircut) + quoteBalance, WAD, rounded down.
    /// @dev Reverts with the oracle's error when a price of a token the account holds is not trusted.
    /// @param accountId The account.
    function collateralValue(uint256 accountId) external view returns (int256);

    /// @notice Σ balance × price (no haircut) + quoteBalance, WAD, rounded down: what the account
    ///         is worth to a liquidator or to the bad-debt check.
    /// @param accountId The account.
    function rawCollateralValue(uint256 accountId) external view returns (int256);

    /// @notice `min(collateralValue, equity) − initialMargin`, WAD; with no positions it equals
    ///         `collateralValue`.
    /// @param accountId The account.
    function freeCollateral(uint256 accountId) external view returns (int256);

    /* SETTLEMENT */

    /// @notice Settles a trade: checks that `caller` is the account's owner or operator, moves
    ///         `amount` (WAD, signed) from the liquidity pool's ledger to the account's quote
    ///         balance (negative: from the account to the pool), and sets or clears the account's
    ///         bit for `marketId`. ClearingHouse only.
    /// @dev Reverts `UnknownAccount`, `NotAccountOwnerOrOperator`.
    /// @param accountId The account.
    /// @param caller The address that asked the ClearingHouse to trade.
    /// @param amount Realized PnL net of fees and funding, WAD.
    /// @param marketId The market traded.
    /// @param positionOpen Whether the account holds a position in that market after the trade.
    /// @return collateral The account's collateral value afterwards (as `collateralValue`).
    /// @return mode The account's margin mode.
    /// @return maskBefore The account's market bitmask before the trade.
    function settleTrade(
        uint256 accountId,
        address caller,
        int256 amount,
        uint256 marketId,
        bool positionOpen
    ) external returns (int256 collateral, uint8 mode, uint256 maskBefore);

    /// @notice Settles a liquidation the ClearingHouse executed. ClearingHouse only.
    /// @dev `pnl` (realized PnL minus funding, WAD) moves between the account and the pool; the
    ///      account pays `keeperReward` + `insuranceFee` (WAD) from its quote balance, which may go
    ///      negative. The keeper receives `keeperReward` in settlement tokens rounded down; the
    ///      remainder and `insuranceFee` go to the insurance fund.
    /// @param accountId The liquidated account.
    /// @param pnl Realized PnL minus funding paid, WAD.
    /// @param keeperReward Paid to `keeper`, WAD.
    /// @param insuranceFee Credited to the insurance fund, WAD.
    /// @param keeper Receives the reward.
    /// @param marketId The market the position was in.
    /// @param positionOpen Whether a position remains in that market.
    function settleLiquidation(
        uint256 accountId,
        int256 pnl,
        uint256 keeperReward,
        uint256 insuranceFee,
        address keeper,
        uint256 marketId,
        bool positionOpen
    ) external;

    /// @notice Collateral liquidation (DESIGN §8). ClearingHouse only: call
    ///         `ClearingHouse.liquidateCollateral`. `liquidator` must have approved this Vault for
    ///         the settlement token.
    /// @param accountId An account with no positions and a negative quote balance.
    /// @param token The collateral to take.
    /// @param repayAmount Most settlement-token units to repay; capped at the debt (rounded up).
    /// @param liquidator Pays the repayment, receives the collateral.
    /// @param discount WAD; the liquidator receives repaid × (1 + discount) of value.
    /// @return repaid Settlement-token units taken from the liquidator.
    /// @return seized Token units given to the liquidator.
    function liquidateCollateral(
        uint256 accountId,
        address token,
        uint256 repayAmount,
        address liquidator,
        uint256 discount
    ) external returns (uint256 repaid, uint256 seized);

    /// @notice Bad-debt settlement (DESIGN §8). ClearingHouse only: call `ClearingHouse.settleBadDebt`.
    /// @param accountId An account with no positions whose un-haircut value is negative.
    /// @return covered WAD paid by the insurance fund.
    /// @return socialized WAD absorbed by the liquidity pool.
    function settleBadDebt(uint256 accountId) external returns (uint256 covered, uint256 socialized);

    /// @notice The account's second storage word, for keepers scanning many accounts: quote
    ///         balance (WAD), bitmask of markets with positions (bit = market id), bitmask of
    ///         collateral tokens held (bit = index in `collateralTokens()`), mode.
    /// @param accountId The account (zeros for an id never created).
    function accountState(
        uint256 accountId
    ) external view returns (int256 quoteBalance_, uint256 marketMask_, uint256 tokenMask, uint8 mode);

    /* LEDGERS */

    /// @notice Adds `amount` settlement-token units from the caller to the insurance fund.
    /// @param amount Amount in token units.
    function depositInsurance(uint256 amount) external;

    /// @notice Takes `amount` of `token` (token units) out of the insurance fund. Owner only.
    /// @param token The settlement token or a token the fund received from settled accounts.
    /// @param amount Amount in token units.
    /// @param to Recipient (not zero).
    function withdrawInsurance(address token, uint256 amount, address to) external;

    /// @notice Takes `amount` settlement-token units of protocol fees. Owner only.
    /// @param amount Amount in token units.
    /// @param to Recipient (not zero).
    function withdrawFees(uint256 amount, address to) external;

    /// @notice Pulls `amount` settlement-token units from the pool contract into the pool ledger.
    ///         Liquidity pool only.
    /// @param amount Amount in token units.
    function poolDeposit(uint256 amount) external;

    /// @notice Pays `amount` settlement-token units from the pool ledger to `to`. Liquidity pool only.
    /// @param to Recipient.
    /// @param amount Amount in token units.
    function poolWithdraw(address to, uint256 amount) external;

    /// @notice The liquidity pool's settlement-token ledger, WAD (held as int96: ±3.9e10 USD).
    function poolBalance() external view returns (int256);

    /// @notice The insurance fund's settlement-token ledger, WAD.
    function insuranceFund() external view returns (uint256);

    /// @notice The insurance fund's holdings of a non-settlement token, token units.
    /// @param token The token.
    function insuranceTokenBalance(address token) external view returns (uint256);

    /// @notice Protocol fees not yet withdrawn, WAD.
    function feeBalance() external view returns (uint256);

    /* CONFIGURATION */

    /// @notice Lists `token` as collateral. Owner only.
    /// @param token The token (not the settlement token, at most 18 decimals).
    /// @param oracle Its USD price source.
    /// @param haircut Share of value not counted, WAD, below MAX_HAIRCUT.
    /// @param cap Largest total of account balances, token units.
    function listCollateral(address token, address oracle, uint256 haircut, uint256 cap) external;

    /// @notice Changes a listed token's configuration. Owner only.
    /// @param token The listed token.
    /// @param oracle Its USD price source.
    /// @param haircut WAD, below MAX_HAIRCUT.
    /// @param cap Token units, at least the current total deposits.
    /// @param enabled Whether deposits are accepted.
    function setCollateralConfig(address token, address oracle, uint256 haircut, uint256 cap, bool enabled) external;

    /// @notice Sets the ClearingHouse (margin hook and settlement authority). Owner only, once.
    /// @param clearingHouse_ The ClearingHouse.
    function setClearingHouse(address clearingHouse_) external;

    /// @notice Sets the liquidity pool contract. Owner only, once.
    /// @param pool The pool.
    function setLiquidityPool(address pool) external;

    /// @notice A token's collateral configuration (all zero when never listed).
    /// @param token The token.
    function collateralConfig(address token) external view returns (CollateralConfig memory);

    /// @notice Listed collateral tokens, in listing order (index = bit in the token mask).
    function collateralTokens() external view returns (address[] memory);

    /// @notice The settlement token (a USD stablecoin counted at par).
    function settlementToken() external view returns (address);

    /// @notice The ClearingHouse, or zero before it is set.
    function clearingHouse() external view returns (address);

    /// @notice The liquidity pool, or zero before it is set.
    function liquidityPool() external view returns (address);
}
