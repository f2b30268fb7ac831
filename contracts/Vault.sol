// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Guarded} from "./access/Guarded.sol";
import {IVault} from "./interfaces/IVault.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IMarginHook} from "./interfaces/IMarginHook.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {CollateralMath} from "./libraries/CollateralMath.sol";
import {WAD, MAX_AMOUNT, MAX_TOKEN_DECIMALS, MAX_COLLATERAL_TOKENS, MAX_HAIRCUT, PAUSE_DEPOSIT, PAUSE_WITHDRAW, MODE_ISOLATED} from "./libraries/Constants.sol";

/// @title Vault
/// @notice Accounts and pooled collateral of Crossmargin. See {IVault}.
contract Vault is IVault, Guarded, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;
    using FixedPointMath for uint256;

    /// @dev Two words per account. The second holds what every trade and valuation needs: the
    ///      quote balance (WAD), the bitmask of markets with positions (kept by the ClearingHouse),
    ///      the bitmask of non-settlement tokens held (a valuation loops only over those), the mode.
    struct Account {
        address owner;
        int128 quoteBalance;
        uint72 marketMask;
        uint16 tokenMask;
        uint8 mode;
    }

    address private immutable _SETTLEMENT;
    uint8 private immutable _SETTLEMENT_DECIMALS;

    // The ClearingHouse and the pool ledger share a word: every settlement reads and writes both.
    address private _clearingHouse;
    int96 private _poolBalance; // WAD
    address private _pool;
    uint256 private _accountCount;

    uint256 private _insuranceFund; // WAD
    uint256 private _feeBalance; // WAD

    address[] private _tokens;
    mapping(address token => CollateralConfig) private _collateral;
    mapping(address token => uint256) private _insuranceTokens;

    mapping(uint256 accountId => Account) private _accounts;
    mapping(uint256 accountId => mapping(address token => uint256)) private _balances;
    mapping(uint256 accountId => mapping(address operator => bool)) private _operators;

    /// @param settlementToken_ The USD stablecoin PnL settles in (at most 18 decimals).
    /// @param owner_ Governance (Ownable2Step).
    /// @param guardian_ May pause deposits and withdrawals.
    constructor(address settlementToken_, address owner_, address guardian_) Guarded(owner_, guardian_) {
        if (settlementToken_ == address(0)) revert ZeroAddress();
        uint8 dec = IERC20Metadata(settlementToken_).decimals();
        if (dec > MAX_TOKEN_DECIMALS) revert InvalidDecimals(settlementToken_, dec);
        _SETTLEMENT = settlementToken_;
        _SETTLEMENT_DECIMALS = dec;
    }

    modifier onlyPool() {
        if (msg.sender != _pool) revert NotLiquidityPool(msg.sender);
        _;
    }

    /* ACCOUNTS */

    /// @inheritdoc IVault
    function createAccount(uint8 mode) external returns (uint256 accountId) {
        if (mode > MODE_ISOLATED) revert InvalidMarginMode(mode);
        accountId = ++_accountCount;
        _accounts[accountId] = Account({owner: msg.sender, quoteBalance: 0, marketMask: 0, tokenMask: 0, mode: mode});
        emit AccountCreated(accountId, msg.sender, mode);
    }

    /// @inheritdoc IVault
    function setOperator(uint256 accountId, address operator, bool approved) external {
        _requireOwner(accountId);
        if (operator == address(0)) revert ZeroAddress();
        _operators[accountId][operator] = approved;
        emit OperatorSet(accountId, operator, approved);
    }

    /* COLLATERAL */

    /// @inheritdoc IVault
    function deposit(
        uint256 accountId,
        address token,
        uint256 amount
    ) external nonReentrant whenNotPaused(PAUSE_DEPOSIT) {
        _checkAmount(amount);
        Account storage account = _existing(accountId);
        if (token == _SETTLEMENT) {
            _addQuote(account, amount.toWad(_SETTLEMENT_DECIMALS).toInt256());
        } else {
            CollateralConfig storage config = _collateral[token];
            if (!config.listed) revert UnsupportedToken(token);
            if (!config.enabled) revert TokenDisabled(token);
            uint256 totalAfter = config.totalDeposits + amount;
            if (totalAfter > config.cap) revert DepositCapExceeded(token, config.cap, totalAfter);
            // cannot truncate: totalAfter <= cap, and caps are stored as uint128
            config.totalDeposits = uint128(totalAfter);
            _credit(account, accountId, token, config.index, amount);
        }
        _pullExact(token, msg.sender, amount);
        emit Deposited(accountId, token, msg.sender, amount);
    }

    /// @inheritdoc IVault
    function withdraw(
        uint256 accountId,
        address token,
        uint256 amount,
        address to
    ) external nonReentrant whenNotPaused(PAUSE_WITHDRAW) {
        _checkAmount(amount);
        if (to == address(0)) revert ZeroAddress();
        Account storage account = _requireOwner(accountId);
        if (token == _SETTLEMENT) {
            _debitQuote(accountId, amount);
        } else {
            CollateralConfig storage config = _collateral[token];
            _debit(account, accountId, token, config, amount);
            // cannot underflow: totalDeposits is the sum of all account balances, which held `amount`
            unchecked {
                config.totalDeposits -= uint128(amount);
            }
        }
        _requireFreeCollateral(accountId);
        IERC20(token).safeTransfer(to, amount);
        emit Withdrawn(accountId, token, to, amount);
    }

    /// @inheritdoc IVault
    function transferCollateral(uint256 fromId, uint256 toId, address token, uint256 amount) external nonReentrant {
        _checkAmount(amount);
        if (fromId == toId) revert SameAccount(fromId);
        Account storage from = _existing(fromId);
        Account storage to = _existing(toId);
        if (!_isAuthorized(from, fromId, msg.sender)) revert NotAccountOwnerOrOperator(fromId, msg.sender);
        if (from.owner != to.owner) revert AccountOwnerMismatch(fromId, toId);
        if (token == _SETTLEMENT) {
            _debitQuote(fromId, amount);
            _addQuote(to, amount.toWad(_SETTLEMENT_DECIMALS).toInt256());
        } else {
            CollateralConfig storage config = _collateral[token];
            _debit(from, fromId, token, config, amount);
            _credit(to, toId, token, config.index, amount);
        }
        _requireFreeCollateral(fromId);
        emit CollateralTransferred(fromId, toId, token, amount);
    }

    /* SETTLEMENT */

    /// @inheritdoc IVault
    function settleTrade(
        uint256 accountId,
        address caller,
        int256 amount,
        uint256 marketId,
        bool positionOpen
    ) external returns (int256 collateral, uint8 mode, uint256 maskBefore) {
        if (msg.sender != _clearingHouse) revert NotClearingHouse(msg.sender);
        Account storage account = _accounts[accountId];
        address owner = account.owner; // read once: existence and authorization
        if (owner == address(0)) revert UnknownAccount(accountId);
        if (caller != owner && !_operators[accountId][caller]) revert NotAccountOwnerOrOperator(accountId, caller);
        // The account's second word read and written once, raw: quoteBalance (bits 0-127),
        // marketMask (128-199), tokenMask (200-215), mode (216-223).
        uint256 word;
        // raw: the packed word above is read once (one sload for all four fields)
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            word := sload(add(account.slot, 1))
        }
        mode = uint8(word >> 216);
        maskBefore = uint72(word >> 128);
        // A pure transfer between two ledgers: Σ quoteBalance + pool is unchanged.
        if (amount != 0) _poolBalance = (_poolBalance - amount).toInt96();
        int256 quote = (int256(int128(uint128(word))) + amount).toInt128();
        uint256 bit = 1 << marketId; // the ClearingHouse numbers markets below 72
        uint256 mask = positionOpen ? maskBefore | bit : maskBefore & ~bit;
        word = (word & ~uint256(type(uint200).max)) | (mask << 128) | uint128(int128(quote));
        // raw: the packed word is written back once (one sstore for all four fields)
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(add(account.slot, 1), word)
        }
        collateral = _valueOf(accountId, quote, uint16(word >> 200), true);
    }

    /// @inheritdoc IVault
    function settleLiquidation(
        uint256 accountId,
        int256 pnl,
        uint256 keeperReward,
        uint256 insuranceFee,
        address keeper,
        uint256 marketId,
        bool positionOpen
    ) external {
        if (msg.sender != _clearingHouse) revert NotClearingHouse(msg.sender);
        Account storage account = _accounts[accountId];
        if (pnl != 0) _poolBalance = (_poolBalance - pnl).toInt96();
        uint256 paid = keeperReward.fromWadDown(_SETTLEMENT_DECIMALS);
        // the sub-unit remainder of the reward stays with the insurance fund
        uint256 toInsurance = insuranceFee + (keeperReward - paid.toWad(_SETTLEMENT_DECIMALS));
        if (toInsurance != 0) _insuranceFund += toInsurance;
        uint256 mask = account.marketMask;
        if (!positionOpen) mask &= ~(1 << marketId);
        (account.quoteBalance, account.marketMask) = (
            (account.quoteBalance + pnl - (keeperReward + insuranceFee).toInt256()).toInt128(),
            uint72(mask) // cannot truncate: the ClearingHouse numbers markets below 72
        );
        if (paid != 0) IERC20(_SETTLEMENT).safeTransfer(keeper, paid);
    }

    /// @inheritdoc IVault
    function liquidateCollateral(
        uint256 accountId,
        address token,
        uint256 repayAmount,
        address liquidator,
        uint256 discount
    ) external nonReentrant returns (uint256 repaid, uint256 seized) {
        if (msg.sender != _clearingHouse) revert NotClearingHouse(msg.sender);
        if (repayAmount == 0) revert ZeroAmount();
        Account storage account = _existing(accountId);
        if (account.marketMask != 0) revert AccountHasPositions(accountId);
        int256 quote = account.quoteBalance;
        if (quote >= 0) revert NoDebt(accountId, quote);
        CollateralConfig storage config = _collateral[token];
        if (!config.listed) revert UnsupportedToken(token);
        uint256 balance = _balances[accountId][token];
        if (balance == 0) revert NoCollateral(accountId, token);

        uint8 dec = config.decimals;
        uint256 price = config.oracle.price();
        // the debt in settlement units, rounded up so a repayment can clear it entirely
        uint256 debt = uint256(-quote).fromWadUp(_SETTLEMENT_DECIMALS);
        repaid = repayAmount < debt ? repayAmount : debt;
        // value received = repaid × (1 + discount) at the un-haircut price, in token units, rounded down
        seized = repaid.toWad(_SETTLEMENT_DECIMALS).wMulDown(WAD + discount).mulDivDown(10 ** dec, price);
        if (seized > balance) {
            // the whole balance, for the repayment that buys exactly it (rounded up)
            seized = balance;
            uint256 cost = balance.mulDivUp(price, 10 ** dec).wDivUp(WAD + discount).fromWadUp(_SETTLEMENT_DECIMALS);
            if (cost < repaid) repaid = cost;
        }
        if (seized == 0) revert NothingToSeize(accountId, token, repayAmount);

        int256 quoteAfter = quote + repaid.toWad(_SETTLEMENT_DECIMALS).toInt256();
        if (quoteAfter > 0) {
            // a repayment rounded up to whole units: the sub-unit excess goes to the insurance fund
            _insuranceFund += uint256(quoteAfter);
            quoteAfter = 0;
        }
        account.quoteBalance = int128(quoteAfter); // cannot truncate: quote < quoteAfter ≤ 0
        _debit(account, accountId, token, config, seized);
        // cannot underflow: totalDeposits is the sum of all account balances, which held `seized`
        unchecked {
            config.totalDeposits -= uint128(seized);
        }
        _pullExact(_SETTLEMENT, liquidator, repaid);
        IERC20(token).safeTransfer(liquidator, seized);
        emit CollateralLiquidated(accountId, token, liquidator, repaid, seized, price);
    }

    /// @inheritdoc IVault
    function settleBadDebt(uint256 accountId) external nonReentrant returns (uint256 covered, uint256 socialized) {
        if (msg.sender != _clearingHouse) revert NotClearingHouse(msg.sender);
        Account storage account = _existing(accountId);
        if (account.marketMask != 0) revert AccountHasPositions(accountId);
        int256 value = _collateralValue(accountId, false);
        if (value >= 0) revert NoBadDebt(accountId, value);
        // value < 0 and token values are ≥ 0, so the quote balance is negative
        uint256 debt = uint256(-int256(account.quoteBalance));
        emit BadDebtSettled(accountId, debt, uint256(-value));

        uint256 fund = _insuranceFund;
        covered = debt < fund ? debt : fund;
        socialized = debt - covered;
        if (covered != 0) {
            _insuranceFund = fund - covered;
            emit BadDebtCovered(accountId, covered);
        }
        if (socialized != 0) {
            _poolBalance = (_poolBalance - socialized.toInt256()).toInt96();
            emit BadDebtSocialized(accountId, socialized);
        }
        account.quoteBalance = 0;
        // leftovers go to the insurance fund
        uint256 mask = account.tokenMask;
        for (uint256 i; mask != 0; ++i) {
            if (mask & 1 != 0) {
                address token = _tokens[i];
                uint256 amount = _balances[accountId][token];
                _balances[accountId][token] = 0;
                _insuranceTokens[token] += amount;
                // cannot underflow: totalDeposits is the sum of all account balances
                unchecked {
                    _collateral[token].totalDeposits -= uint128(amount);
                }
                emit CollateralSeized(accountId, token, amount);
            }
            mask >>= 1;
        }
        account.tokenMask = 0;
    }

    /* LEDGERS */

    /// @inheritdoc IVault
    function depositInsurance(uint256 amount) external nonReentrant {
        _checkAmount(amount);
        _insuranceFund += amount.toWad(_SETTLEMENT_DECIMALS);
        _pullExact(_SETTLEMENT, msg.sender, amount);
        emit InsuranceDeposited(msg.sender, amount);
    }

    /// @inheritdoc IVault
    function withdrawInsurance(address token, uint256 amount, address to) external onlyOwner nonReentrant {
        _checkAmount(amount);
        if (to == address(0)) revert ZeroAddress();
        if (token == _SETTLEMENT) {
            _insuranceFund = _takeLedger("insurance", _insuranceFund, amount.toWad(_SETTLEMENT_DECIMALS));
        } else {
            _insuranceTokens[token] = _takeLedger("insuranceToken", _insuranceTokens[token], amount);
        }
        IERC20(token).safeTransfer(to, amount);
        emit InsuranceWithdrawn(token, to, amount);
    }

    /// @inheritdoc IVault
    function withdrawFees(uint256 amount, address to) external onlyOwner nonReentrant {
        _checkAmount(amount);
        if (to == address(0)) revert ZeroAddress();
        _feeBalance = _takeLedger("fees", _feeBalance, amount.toWad(_SETTLEMENT_DECIMALS));
        IERC20(_SETTLEMENT).safeTransfer(to, amount);
        emit FeesWithdrawn(to, amount);
    }

    /// @inheritdoc IVault
    function poolDeposit(uint256 amount) external onlyPool nonReentrant {
        _checkAmount(amount);
        _poolBalance = (_poolBalance + amount.toWad(_SETTLEMENT_DECIMALS).toInt256()).toInt96();
        _pullExact(_SETTLEMENT, msg.sender, amount);
        emit PoolFundsMoved(msg.sender, amount, true);
    }

    /// @inheritdoc IVault
    function poolWithdraw(address to, uint256 amount) external onlyPool nonReentrant {
        _checkAmount(amount);
        if (to == address(0)) revert ZeroAddress();
        int256 balance = _poolBalance;
        uint256 available = balance > 0 ? uint256(balance) : 0;
        // cannot truncate: the result is below the previous int96 balance
        _poolBalance = int96(int256(_takeLedger("pool", available, amount.toWad(_SETTLEMENT_DECIMALS))));
        IERC20(_SETTLEMENT).safeTransfer(to, amount);
        emit PoolFundsMoved(to, amount, false);
    }

    /* CONFIGURATION */

    /// @inheritdoc IVault
    function listCollateral(address token, address oracle, uint256 haircut, uint256 cap) external onlyOwner {
        if (token == _SETTLEMENT || _collateral[token].listed) revert InvalidCollateralToken(token);
        if (_tokens.length == MAX_COLLATERAL_TOKENS) revert TooManyCollateralTokens(MAX_COLLATERAL_TOKENS);
        uint8 dec = IERC20Metadata(token).decimals();
        if (dec > MAX_TOKEN_DECIMALS) revert InvalidDecimals(token, dec);
        CollateralConfig storage config = _collateral[token];
        config.decimals = dec;
        // cannot truncate: the length is below MAX_COLLATERAL_TOKENS (16)
        config.index = uint8(_tokens.length);
        config.listed = true;
        _tokens.push(token);
        _configure(token, config, oracle, haircut, cap, true);
    }

    /// @inheritdoc IVault
    function setCollateralConfig(
        address token,
        address oracle,
        uint256 haircut,
        uint256 cap,
        bool enabled
    ) external onlyOwner {
        CollateralConfig storage config = _collateral[token];
        if (!config.listed) revert UnsupportedToken(token);
        _configure(token, config, oracle, haircut, cap, enabled);
    }

    /// @inheritdoc IVault
    function setClearingHouse(address clearingHouse_) external onlyOwner {
        if (clearingHouse_ == address(0)) revert ZeroAddress();
        if (_clearingHouse != address(0)) revert AlreadySet(_clearingHouse);
        _clearingHouse = clearingHouse_;
        emit ClearingHouseSet(clearingHouse_);
    }

    /// @inheritdoc IVault
    function setLiquidityPool(address pool) external onlyOwner {
        if (pool == address(0)) revert ZeroAddress();
        if (_pool != address(0)) revert AlreadySet(_pool);
        _pool = pool;
        emit LiquidityPoolSet(pool);
    }

    /* VIEWS */

    /// @inheritdoc IVault
    function ownerOf(uint256 accountId) external view returns (address) {
        return _existing(accountId).owner;
    }

    /// @inheritdoc IVault
    function accountMode(uint256 accountId) external view returns (uint8) {
        return _existing(accountId).mode;
    }

    /// @inheritdoc IVault
    function isOperator(uint256 accountId, address operator) external view returns (bool) {
        return _operators[accountId][operator];
    }

    /// @inheritdoc IVault
    function isAuthorized(uint256 accountId, address caller) external view returns (bool) {
        return _isAuthorized(_accounts[accountId], accountId, caller);
    }

    /// @inheritdoc IVault
    function marginInputs(uint256 accountId) external view returns (int256 collateral, uint256 mask) {
        return (_collateralValue(accountId, true), _accounts[accountId].marketMask);
    }

    /// @inheritdoc IVault
    function accountState(
        uint256 accountId
    ) external view returns (int256 quoteBalance_, uint256 marketMask_, uint256 tokenMask, uint8 mode) {
        Account storage account = _accounts[accountId];
        return (account.quoteBalance, account.marketMask, account.tokenMask, account.mode);
    }

    /// @inheritdoc IVault
    function marketMask(uint256 accountId) external view returns (uint256) {
        return _accounts[accountId].marketMask;
    }

    /// @inheritdoc IVault
    function accountCount() external view returns (uint256) {
        return _accountCount;
    }

    /// @inheritdoc IVault
    function balanceOf(uint256 accountId, address token) external view returns (uint256) {
        return _balances[accountId][token];
    }

    /// @inheritdoc IVault
    function quoteBalance(uint256 accountId) external view returns (int256) {
        return _accounts[accountId].quoteBalance;
    }

    /// @inheritdoc IVault
    function collateralValue(uint256 accountId) external view returns (int256) {
        return _collateralValue(accountId, true);
    }

    /// @inheritdoc IVault
    function rawCollateralValue(uint256 accountId) external view returns (int256) {
        return _collateralValue(accountId, false);
    }

    /// @inheritdoc IVault
    function freeCollateral(uint256 accountId) external view returns (int256) {
        if (_accounts[accountId].marketMask != 0) return IMarginHook(_clearingHouse).freeCollateral(accountId);
        return _collateralValue(accountId, true);
    }

    /// @inheritdoc IVault
    function poolBalance() external view returns (int256) {
        return _poolBalance;
    }

    /// @inheritdoc IVault
    function insuranceFund() external view returns (uint256) {
        return _insuranceFund;
    }

    /// @inheritdoc IVault
    function insuranceTokenBalance(address token) external view returns (uint256) {
        return _insuranceTokens[token];
    }

    /// @inheritdoc IVault
    function feeBalance() external view returns (uint256) {
        return _feeBalance;
    }

    /// @inheritdoc IVault
    function collateralConfig(address token) external view returns (CollateralConfig memory) {
        return _collateral[token];
    }

    /// @inheritdoc IVault
    function collateralTokens() external view returns (address[] memory) {
        return _tokens;
    }

    /// @inheritdoc IVault
    function settlementToken() external view returns (address) {
        return _SETTLEMENT;
    }

    /// @inheritdoc IVault
    function clearingHouse() external view returns (address) {
        return _clearingHouse;
    }

    /// @inheritdoc IVault
    function liquidityPool() external view returns (address) {
        return _pool;
    }

    /* INTERNAL */

    /// @dev A token amount is neither zero nor so large that its WAD scaling could overflow.
    function _checkAmount(uint256 amount) private pure {
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount, MAX_AMOUNT);
    }

    function _existing(uint256 accountId) internal view returns (Account storage account) {
        account = _accounts[accountId];
        if (account.owner == address(0)) revert UnknownAccount(accountId);
    }

    /// @dev The owner, or an operator the owner approved for this account.
    function _isAuthorized(Account storage account, uint256 accountId, address caller) private view returns (bool) {
        return caller == account.owner || _operators[accountId][caller];
    }

    function _requireOwner(uint256 accountId) internal view returns (Account storage account) {
        account = _existing(accountId);
        if (account.owner != msg.sender) revert NotAccountOwner(accountId, msg.sender);
    }

    function _credit(Account storage account, uint256 accountId, address token, uint8 index, uint256 amount) private {
        uint256 balance = _balances[accountId][token];
        if (balance == 0) account.tokenMask |= uint16(1 << index);
        _balances[accountId][token] = balance + amount;
    }

    function _debit(
        Account storage account,
        uint256 accountId,
        address token,
        CollateralConfig storage config,
        uint256 amount
    ) private {
        if (!config.listed) revert UnsupportedToken(token);
        uint256 balance = _balances[accountId][token];
        if (balance < amount) revert InsufficientBalance(accountId, token, balance, amount);
        // cannot underflow: checked above
        unchecked {
            balance -= amount;
        }
        _balances[accountId][token] = balance;
        if (balance == 0) account.tokenMask &= ~uint16(1 << config.index);
    }

    function _addQuote(Account storage account, int256 amount) private {
        account.quoteBalance = (account.quoteBalance + amount).toInt128();
    }

    /// @dev The settlement token never takes a quote balance below zero: the protocol is not a lender.
    function _debitQuote(uint256 accountId, uint256 amount) private {
        Account storage account = _accounts[accountId];
        int256 quote = account.quoteBalance;
        uint256 amountWad = amount.toWad(_SETTLEMENT_DECIMALS);
        if (quote < 0 || uint256(quote) < amountWad) {
            uint256 available = quote > 0 ? uint256(quote).fromWadDown(_SETTLEMENT_DECIMALS) : 0;
            revert InsufficientBalance(accountId, _SETTLEMENT, available, amount);
        }
        // cannot overflow: 0 <= amountWad <= quote
        unchecked {
            account.quoteBalance = int128(quote - int256(amountWad));
        }
    }

    function _takeLedger(bytes32 ledger, uint256 available, uint256 amount) private pure returns (uint256) {
        if (available < amount) revert InsufficientLedger(ledger, available, amount);
        // cannot underflow: checked above
        unchecked {
            return available - amount;
        }
    }

    /// @dev Pulls `amount` and reverts unless exactly `amount` arrived (no fee-on-transfer tokens).
    function _pullExact(address token, address from, uint256 amount) private {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferNotSupported(token, amount, received);
    }

    function _configure(
        address token,
        CollateralConfig storage config,
        address oracle,
        uint256 haircut,
        uint256 cap,
        bool enabled
    ) private {
        if (oracle == address(0)) revert ZeroAddress();
        if (haircut >= MAX_HAIRCUT) revert InvalidHaircut(haircut);
        if (cap < config.totalDeposits || cap > type(uint128).max) {
            revert InvalidCap(token, cap, config.totalDeposits);
        }
        config.oracle = IPriceOracle(oracle);
        // cannot truncate: haircut < MAX_HAIRCUT < 2^64; cap checked above
        config.haircut = uint64(haircut);
        config.cap = uint128(cap);
        config.enabled = enabled;
        emit CollateralConfigured(token, oracle, haircut, cap, enabled);
    }

    /// @dev A withdrawal or transfer must leave `freeCollateral >= 0`. With no positions and no
    ///      debt the answer is known without a price, so collateral stays withdrawable while a
    ///      feed is down.
    function _requireFreeCollateral(uint256 accountId) private view {
        int256 free;
        if (_accounts[accountId].marketMask != 0) {
            free = IMarginHook(_clearingHouse).freeCollateral(accountId);
        } else {
            if (_accounts[accountId].quoteBalance >= 0) return;
            free = _collateralValue(accountId, true);
        }
        if (free < 0) revert InsufficientFreeCollateral(accountId, free);
    }

    /// @dev Σ over held tokens of value (× (1 − haircut) when `haircut`), plus the quote balance.
    ///      Each term rounds down.
    function _collateralValue(uint256 accountId, bool haircut) internal view returns (int256) {
        Account storage account = _accounts[accountId];
        return _valueOf(accountId, account.quoteBalance, account.tokenMask, haircut);
    }

    /// @dev `_collateralValue` from the account's quote balance and token mask, already read.
    function _valueOf(uint256 accountId, int256 quote, uint256 mask, bool haircut) private view returns (int256 total) {
        total = quote;
        for (uint256 i; mask != 0; ++i) {
            if (mask & 1 != 0) {
                address token = _tokens[i];
                CollateralConfig storage config = _collateral[token];
                uint256 price = config.oracle.price();
                uint256 balance = _balances[accountId][token];
                uint256 value = haircut
                    ? CollateralMath.haircutValue(balance, config.decimals, price, config.haircut)
                    : CollateralMath.value(balance, config.decimals, price);
                total += value.toInt256();
            }
            mask >>= 1;
        }
    }
}
