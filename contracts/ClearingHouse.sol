// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Guarded} from "./access/Guarded.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IMarginHook} from "./interfaces/IMarginHook.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IVault} from "./interfaces/IVault.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {MarginMath} from "./libraries/MarginMath.sol";
import {MarketConfig} from "./libraries/MarketConfig.sol";
import {OracleLib} from "./libraries/OracleLib.sol";
import {WAD, PPM, PPB, SECONDS_PER_DAY, SIZE_STEP, MAX_TRADE_SIZE, MAX_TIERS, MAX_GROUPS, MAX_MARKETS, MAX_POSITIONS_PER_ACCOUNT, MAX_OFFSET, MODE_ISOLATED, PAUSE_TRADE, MIN_CIRCUIT_BREAKER_TIMEOUT, MAX_CIRCUIT_BREAKER_TIMEOUT} from "./libraries/Constants.sol";

/// @title ClearingHouse
/// @notice Markets, positions and the cross-margin engine of Crossmargin. See {IClearingHouse}.
/// @dev Storage is laid out for the margin check, which visits every open position of an account:
///      per position it reads one position word, the market's config word and funding word (which
///      also hold the first margin bracket), and the feed (called directly, see {OracleLib}). Sizes
///      are stored in lots of SIZE_STEP (1e-8 of a base unit), so a whole position fits in one word.
///      An account's set of markets is a bitmask kept in its Vault record, which every trade reads.
contract ClearingHouse is IClearingHouse, IMarginHook, Guarded, ReentrancyGuardTransient {
    using SafeCast for uint256;
    using SafeCast for int256;
    using FixedPointMath for uint256;
    using FixedPointMath for int256;

    /// @dev One word: size in lots, open notional and the funding index last settled at (both WAD).
    struct Position {
        int64 lots;
        int96 openNotional;
        int96 fundingIndex;
    }

    /// @dev A trade applied to a position (also a hypothetical one, for previews): its results and
    ///      the position after it. The override's funding is settled to now.
    struct Override {
        uint256 marketId;
        int256 size;
        int256 openNotional;
        int256 realized;
        int256 funding;
        int256 quoteDelta;
        uint256 fill;
        uint256 fee;
        uint256 price; // the market's oracle price, already read
    }

    /// @dev Running sums of one correlation group: stand-alone MM and IM, gross and signed net notional.
    struct GroupSum {
        uint256 mm;
        uint256 im;
        uint256 gross;
        int256 net;
    }

    /// @dev Running sums of a margin computation. The first correlation group met is summed in
    ///      the `first*` fields; further groups (rare) in `others`, indexed by group id and allocated
    ///      on demand.
    struct Sums {
        int256 equity;
        uint256 mm;
        uint256 im;
        uint256 firstGroup;
        uint256 firstMm;
        uint256 firstIm;
        uint256 firstGross;
        int256 firstNet;
        uint256 notional;
        uint256 othersSeen; // bitmask of group ids in `others`
        GroupSum[] others;
    }

    IVault private immutable _VAULT;

    // First: packs into the guardian's word, which every trade reads for the pause flags.
    uint8 private _maxPositions = uint8(MAX_POSITIONS_PER_ACCOUNT);
    uint256 private _marketCount;
    mapping(uint256 marketId => MarketConfig.Market) private _markets;
    mapping(uint256 marketId => address) private _oracles; // the adapter each market was configured with
    mapping(uint256 marketId => MarginMath.Tier[MAX_TIERS]) private _tiers;
    mapping(uint8 group => uint256) private _groupOffsets;
    /// @dev Keyed by `accountId << 8 | marketId` (one hash per lookup in the margin loop).
    mapping(uint256 key => Position) private _positions;
    MarketConfig.LiquidationConfig private _config;

    /// @param vault_ The Vault holding collateral and quote balances.
    /// @param owner_ Governance (Ownable2Step).
    /// @param guardian_ May pause trading.
    constructor(IVault vault_, address owner_, address guardian_) Guarded(owner_, guardian_) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        _VAULT = vault_;
        // DESIGN §13 defaults; governance may change them
        _config = MarketConfig.LiquidationConfig({
            feePpm: 10_000, // 1 %
            keeperSharePpm: 500_000, // 50 %
            closeFactorPpm: 500_000, // 50 %
            thresholdPpm: 500_000, // 0.5
            dustUsd: 100,
            discountPpm: 50_000, // 5 %
            breakerTimeout: 1 hours
        });
    }

    /* TRADING */

    /// @inheritdoc IClearingHouse
    function openPosition(
        uint256 accountId,
        uint256 marketId,
        int256 sizeDelta,
        uint256 priceLimit
    ) external nonReentrant {
        _trade(accountId, marketId, sizeDelta, priceLimit);
    }

    /// @inheritdoc IClearingHouse
    function closePosition(uint256 accountId, uint256 marketId, uint256 priceLimit) external nonReentrant {
        int256 lots = _positions[_key(accountId, marketId)].lots;
        if (lots == 0) revert NoPosition(accountId, marketId);
        _trade(accountId, marketId, -lots * int256(SIZE_STEP), priceLimit);
    }

    /* LIQUIDATION */

    /// @inheritdoc IClearingHouse
    function liquidate(uint256 accountId, uint256 marketId, uint256 maxSize) external nonReentrant {
        (MarketConfig.Market storage m, uint256 price) = _marketPrice(marketId);
        uint256 key = (accountId << 8) | marketId; // _key without its check: _market checked the id
        Position memory pos = _positions[key];
        if (pos.lots == 0) revert NoPosition(accountId, marketId);
        LiquidationParams memory lp = _params(_config);
        (AccountMargin memory before, uint256 allowed) = _closable(accountId, pos.lots, price, lp);
        if (!before.liquidatable) {
            revert AccountNotLiquidatable(accountId, before.equity, before.maintenanceMargin);
        }
        uint256 absLots = uint256(int256(pos.lots).abs());
        uint256 lots = maxSize / SIZE_STEP;
        if (lots > allowed) lots = allowed;
        if (lots == 0) revert ZeroSize();
        if (lots < absLots) {
            uint256 rest = _notionalOfLots(absLots - lots, price);
            if (rest <= lp.dustThreshold) revert LiquidationLeavesDust(accountId, marketId, rest);
        }

        Override memory o;
        int256 index = _indexNow(m, price);
        int256 oldSize = int256(pos.lots) * int256(SIZE_STEP);
        int256 sizeDelta = oldSize > 0 ? -int256(lots * SIZE_STEP) : int256(lots * SIZE_STEP);
        o.funding = MarginMath.pendingFunding(oldSize, index, pos.fundingIndex);
        (o.size, o.openNotional, o.realized) = MarginMath.applyTrade(oldSize, pos.openNotional, sizeDelta, price);
        _updateMarket(m, marketId, oldSize, o, pos.openNotional, index);
        _breaker(m, marketId, price, false, false);
        uint256 closed = _notionalOfLots(lots, price);
        _rateLimit(m, marketId, closed, before.equity);

        Payout memory pay = _payout(accountId, closed, before.equity, lp);
        if (o.size == 0) {
            delete _positions[key];
        } else {
            // cannot truncate: |size| shrank
            _positions[key] = Position(int64(o.size / int256(SIZE_STEP)), o.openNotional.toInt96(), index.toInt96());
        }
        _VAULT.settleLiquidation(
            accountId,
            o.realized - o.funding,
            pay.keeperReward,
            pay.insuranceFee,
            msg.sender,
            marketId,
            o.size != 0
        );
        emit Liquidated(
            accountId,
            marketId,
            msg.sender,
            -sizeDelta,
            price,
            o.realized,
            o.funding,
            pay.penalty,
            pay.keeperReward,
            pay.insuranceFee,
            pay.penalty - pay.keeperReward - pay.insuranceFee,
            before.equity,
            o.size
        );
    }

    /// @inheritdoc IClearingHouse
    function liquidateCollateral(uint256 accountId, address token, uint256 repayAmount) external nonReentrant {
        _VAULT.liquidateCollateral(accountId, token, repayAmount, msg.sender, uint256(_config.discountPpm) * PPM);
    }

    /// @inheritdoc IClearingHouse
    function settleBadDebt(uint256 accountId) external nonReentrant {
        _VAULT.settleBadDebt(accountId);
    }

    /// @inheritdoc IClearingHouse
    function pokeCircuitBreaker(uint256 marketId) external {
        MarketConfig.Market storage m = _market(marketId);
        uint256 price = _price(m);
        (uint256 ref, uint256 since) = _breakerState(m);
        if (since != 0) revert MarketReduceOnly(marketId, since + _config.breakerTimeout);
        if (ref == 0 || !_deviates(price, ref, m.maxPriceDeviation)) revert PriceWithinBand(marketId, ref, price);
        m.reduceOnlySince = uint40(block.timestamp);
        emit CircuitBreakerTripped(marketId, ref, price);
    }

    /* GOVERNANCE */

    /// @inheritdoc IClearingHouse
    function addMarket(MarketParams calldata params) external onlyOwner returns (uint256 marketId) {
        marketId = ++_marketCount;
        if (marketId > MAX_MARKETS) revert InvalidMarketParam("marketCount");
        _markets[marketId].lastFundingTime = uint40(block.timestamp);
        _markets[marketId].tradingPaused = _flags() & PAUSE_TRADE != 0;
        _configure(marketId, params);
    }

    /// @inheritdoc IClearingHouse
    function setMarketParams(uint256 marketId, MarketParams calldata params) external onlyOwner {
        MarketConfig.Market storage m = _market(marketId);
        if (params.oracle == address(0)) revert InvalidMarketParam("oracle");
        // at the configured oracle's price: the market's own feed may be the dead one being replaced
        _accrue(m, IPriceOracle(params.oracle).price());
        _configure(marketId, params);
    }

    /// @inheritdoc IClearingHouse
    function setGroupOffset(uint8 group, uint256 offset) external onlyOwner {
        if (group == 0 || group > MAX_GROUPS || offset >= MAX_OFFSET) revert InvalidGroupOffset(group, offset);
        _groupOffsets[group] = offset;
        emit GroupOffsetSet(group, offset);
    }

    /// @inheritdoc IClearingHouse
    function setMaxPositionsPerAccount(uint256 maxPositions) external onlyOwner {
        if (maxPositions == 0 || maxPositions > MAX_POSITIONS_PER_ACCOUNT) revert InvalidMaxPositions(maxPositions);
        // cannot truncate: at most MAX_POSITIONS_PER_ACCOUNT (16)
        _maxPositions = uint8(maxPositions);
        emit MaxPositionsPerAccountSet(maxPositions);
    }

    /// @inheritdoc IClearingHouse
    function setLiquidationParams(LiquidationParams calldata p) external onlyOwner {
        _config = MarketConfig.liquidationConfig(p, _config.breakerTimeout);
        emit LiquidationParamsSet(p);
    }

    /// @inheritdoc IClearingHouse
    function setLiquidationRateLimit(uint256 marketId, uint256 cap, uint256 window) external onlyOwner {
        MarketConfig.setRateLimit(_market(marketId), cap, window);
        emit LiquidationRateLimitSet(marketId, cap, window);
    }

    /// @inheritdoc IClearingHouse
    function setCircuitBreakerTimeout(uint256 timeout) external onlyOwner {
        if (timeout < MIN_CIRCUIT_BREAKER_TIMEOUT || timeout > MAX_CIRCUIT_BREAKER_TIMEOUT) {
            revert InvalidLiquidationParam("circuitBreakerTimeout");
        }
        _config.breakerTimeout = uint32(timeout); // cannot truncate: at most 7 days
        emit CircuitBreakerTimeoutSet(timeout);
    }

    /// @inheritdoc IClearingHouse
    function clearCircuitBreaker(uint256 marketId) external onlyOwner {
        MarketConfig.Market storage m = _market(marketId);
        uint256 price = _price(m);
        // cannot truncate: OracleLib bounds prices to uint128
        (m.referencePrice, m.reduceOnlySince) = (uint128(price), 0);
        emit CircuitBreakerCleared(marketId, price);
    }

    /// @dev Copies the trading pause into every market's breaker word, which each trade reads anyway.
    function _pauseFlagsChanged(uint8 flags) internal override {
        bool paused = flags & PAUSE_TRADE != 0;
        uint256 count = _marketCount;
        for (uint256 id = 1; id <= count; ++id) _markets[id].tradingPaused = paused;
    }

    /* MARGIN HOOK */

    /// @inheritdoc IMarginHook
    function freeCollateral(uint256 accountId) external view returns (int256) {
        return _margin(accountId, _noOverride()).freeCollateral;
    }

    /* VIEWS */

    /// @inheritdoc IClearingHouse
    function positionOf(uint256 accountId, uint256 marketId) external view returns (int256 size, int256 openNotional) {
        Position memory p = _positions[_key(accountId, marketId)];
        return (int256(p.lots) * int256(SIZE_STEP), p.openNotional);
    }

    /// @inheritdoc IClearingHouse
    function positionFundingIndex(uint256 accountId, uint256 marketId) external view returns (int256) {
        return _positions[_key(accountId, marketId)].fundingIndex;
    }

    /// @inheritdoc IClearingHouse
    function accountMarkets(uint256 accountId) external view returns (uint256[] memory ids) {
        uint256 mask = _VAULT.marketMask(accountId);
        ids = new uint256[](_popcount(mask));
        uint256 n;
        for (uint256 id = 1; mask >> id != 0; ++id) {
            if ((mask >> id) & 1 != 0) ids[n++] = id;
        }
    }

    /// @inheritdoc IClearingHouse
    function accountMargin(uint256 accountId) external view returns (AccountMargin memory) {
        return _margin(accountId, _noOverride());
    }

    /// @inheritdoc IClearingHouse
    function previewTrade(
        uint256 accountId,
        uint256 marketId,
        int256 sizeDelta
    ) external view returns (AccountMargin memory margin, uint256 fillPrice, uint256 fee) {
        _checkSize(sizeDelta);
        MarketConfig.Market storage m = _market(marketId);
        uint256 price = _price(m);
        Override memory o = _applied(
            _positions[_key(accountId, marketId)],
            m,
            marketId,
            sizeDelta,
            price,
            _indexNow(m, price)
        );
        margin = _margin(accountId, o);
        (fillPrice, fee) = (o.fill, o.fee);
    }

    /// @inheritdoc IClearingHouse
    function marketParams(uint256 marketId) external view returns (MarketParams memory) {
        return MarketConfig.params(_market(marketId), _tiers[marketId], _oracles[marketId]);
    }

    /// @inheritdoc IClearingHouse
    function marketState(uint256 marketId) external view returns (MarketState memory state) {
        MarketConfig.Market storage m = _market(marketId);
        state.fundingIndex = _indexNow(m, _price(m));
        state.fundingRate = m.fundingRate;
        state.skew = _skew(m);
        state.openNotionalSum = m.openNotionalSum;
        state.longOpenInterest = uint256(m.longLots) * SIZE_STEP;
        state.shortOpenInterest = uint256(m.shortLots) * SIZE_STEP;
        state.lastFundingTime = m.lastFundingTime;
    }

    /// @inheritdoc IClearingHouse
    function tradersUnrealizedPnl() external view returns (int256 total) {
        uint256 count = _marketCount;
        for (uint256 id = 1; id <= count; ++id) {
            MarketConfig.Market storage m = _markets[id];
            if (m.longLots == 0 && m.shortLots == 0 && m.openNotionalSum == 0) continue;
            // rounded up: the reserve kept for traders is never understated
            total += _skew(m).wMulCeil(_price(m)) + m.openNotionalSum;
        }
    }

    /// @inheritdoc IClearingHouse
    function marketCount() external view returns (uint256) {
        return _marketCount;
    }

    /// @inheritdoc IClearingHouse
    function groupOffset(uint8 group) external view returns (uint256) {
        return _groupOffsets[group];
    }

    /// @inheritdoc IClearingHouse
    function maxPositionsPerAccount() external view returns (uint256) {
        return _maxPositions;
    }

    /// @inheritdoc IClearingHouse
    function vault() external view returns (address) {
        return address(_VAULT);
    }

    /// @inheritdoc IClearingHouse
    function liquidationParams() external view returns (LiquidationParams memory) {
        return _params(_config);
    }

    /// @inheritdoc IClearingHouse
    function circuitBreakerTimeout() external view returns (uint256) {
        return _config.breakerTimeout;
    }

    /// @inheritdoc IClearingHouse
    function marketSafety(uint256 marketId) external view returns (MarketSafety memory s) {
        MarketConfig.Market storage m = _market(marketId);
        (uint256 ref, uint256 since) = _breakerState(m);
        s.referencePrice = ref;
        s.maxPriceDeviation = m.maxPriceDeviation;
        s.reduceOnly = since != 0;
        s.reduceOnlyUntil = since != 0 ? since + _config.breakerTimeout : 0;
        s.rateLimitCap = uint256(m.rateLimitCapUsd) * WAD;
        s.rateLimitWindow = m.rateLimitWindow;
        (s.windowStart, s.windowLiquidated) = block.timestamp >= uint256(m.windowStart) + m.rateLimitWindow
            ? (block.timestamp, 0)
            : (uint256(m.windowStart), uint256(m.windowLiquidated));
    }

    /// @inheritdoc IClearingHouse
    function liquidationSize(uint256 accountId, uint256 marketId) external view returns (uint256 size, bool whole) {
        MarketConfig.Market storage m = _market(marketId);
        int256 lots = _positions[(accountId << 8) | marketId].lots;
        if (lots == 0) return (0, false);
        (AccountMargin memory r, uint256 allowed) = _closable(accountId, lots, _price(m), _params(_config));
        if (!r.liquidatable) return (0, false);
        return (allowed * SIZE_STEP, allowed == uint256(int256(lots).abs()));
    }

    /* INTERNAL: TRADING */

    function _trade(uint256 accountId, uint256 marketId, int256 sizeDelta, uint256 priceLimit) private {
        _checkSize(sizeDelta);
        (MarketConfig.Market storage m, uint256 price) = _marketPrice(marketId);
        int256 index = _indexNow(m, price); // written with the new funding rate in _updateMarket
        uint256 key = (accountId << 8) | marketId; // _key without its check: _market checked the id
        Position memory pos = _positions[key];
        int256 oldSize = int256(pos.lots) * int256(SIZE_STEP);

        Override memory o = _applied(pos, m, marketId, sizeDelta, price, index);
        if (priceLimit != 0 && (sizeDelta > 0 ? o.fill > priceLimit : o.fill < priceLimit)) {
            revert PriceLimitExceeded(o.fill, priceLimit);
        }
        // A trade increases exposure when |size| grows or the side flips; a reducing trade is
        // judged against the account's health before it.
        bool increases = o.size.abs() > oldSize.abs() || (o.size != 0 && (oldSize > 0) != (o.size > 0));
        int256 equityBefore;
        uint256 mmBefore;
        if (!increases) {
            AccountMargin memory before = _margin(accountId, _noOverride());
            (equityBefore, mmBefore) = (before.equity, before.maintenanceMargin);
        }

        _updateMarket(m, marketId, oldSize, o, pos.openNotional, index);
        _breaker(m, marketId, price, true, increases);
        // cannot truncate: |size| in lots is bounded by the uint64 open-interest caps
        _positions[key] = Position(
            int64(o.size / int256(SIZE_STEP)),
            SafeCast.toInt96(o.openNotional),
            SafeCast.toInt96(index)
        );
        // The Vault checks the caller (owner or operator) and records the market in the account.
        (int256 collateral, uint8 mode, uint256 maskBefore) = _VAULT.settleTrade(
            accountId,
            msg.sender,
            o.quoteDelta,
            marketId,
            o.size != 0
        );
        if (oldSize == 0) _checkNewMarket(accountId, mode, maskBefore);
        uint256 mask = o.size != 0 ? maskBefore | (1 << marketId) : maskBefore & ~(1 << marketId);

        // After settlement the override is the stored position with its funding settled: the check
        // reuses it and the price already read instead of reading both again.
        o.quoteDelta = 0;
        _checkMargin(accountId, increases, equityBefore, mmBefore, _marginOf(accountId, collateral, mask, o));
        emit PositionChanged(
            accountId,
            marketId,
            sizeDelta,
            o.fill,
            o.fee,
            o.realized,
            o.funding,
            o.size,
            o.openNotional
        );
    }

    /// @dev Increasing exposure needs free collateral ≥ 0. Reducing is allowed unless the account
    ///      ends liquidatable with a lower margin ratio (equity / MM) than before the trade.
    function _checkMargin(
        uint256 accountId,
        bool increases,
        int256 equityBefore,
        uint256 mmBefore,
        AccountMargin memory after_
    ) private pure {
        if (increases) {
            if (after_.freeCollateral < 0) revert InsufficientMargin(accountId, after_.freeCollateral);
        } else if (after_.liquidatable) {
            // ratioAfter < ratioBefore ⇔ equityAfter × mmBefore < equityBefore × mmAfter (MM > 0)
            if (after_.equity * mmBefore.toInt256() < equityBefore * after_.maintenanceMargin.toInt256()) {
                revert MarginRatioWorsened(accountId, after_.equity, after_.maintenanceMargin);
            }
        }
    }

    /// @dev The position after a trade of `sizeDelta` at the current fill, as an override: the
    ///      position's pending funding is settled by the trade, so the override owes none.
    function _applied(
        Position memory p,
        MarketConfig.Market storage m,
        uint256 marketId,
        int256 sizeDelta,
        uint256 price,
        int256 index
    ) private view returns (Override memory o) {
        o.fill = MarginMath.fillPrice(price, _skew(m), sizeDelta, uint256(m.skewScaleLots) * SIZE_STEP);
        o.fee = MarginMath.takerFee(sizeDelta, o.fill, uint256(m.takerFeePpb) * PPB);
        int256 oldSize = int256(p.lots) * int256(SIZE_STEP);
        o.funding = MarginMath.pendingFunding(oldSize, index, p.fundingIndex);
        (o.size, o.openNotional, o.realized) = MarginMath.applyTrade(oldSize, p.openNotional, sizeDelta, o.fill);
        o.marketId = marketId;
        o.price = price;
        o.quoteDelta = o.realized - o.funding - o.fee.toInt256();
    }

    /// @dev Open interest, Σ open notional and the funding rate after a trade; caps apply to a side
    ///      only when it grows.
    function _updateMarket(
        MarketConfig.Market storage m,
        uint256 marketId,
        int256 oldSize,
        Override memory o,
        int256 oldOpenNotional,
        int256 index
    ) private {
        // Word C read and written once, raw: longLots (bits 0-63), shortLots (64-127),
        // openNotionalSum (128-255).
        uint256 wordC;
        // raw: word C is read once (one sload for its three fields)
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            wordC := sload(add(m.slot, 2))
        }
        uint256 longBefore = uint64(wordC);
        uint256 shortBefore = uint64(wordC >> 64);
        (uint256 longLots, uint256 shortLots) = (longBefore, shortBefore);
        uint256 oldLots = oldSize.abs() / SIZE_STEP;
        uint256 newLots = o.size.abs() / SIZE_STEP;
        if (oldSize > 0) longLots -= oldLots;
        else shortLots -= oldLots;
        if (o.size > 0) {
            longLots += newLots;
            if (longLots > longBefore && longLots > m.maxLongLots) {
                revert OpenInterestCapExceeded(marketId, true, m.maxLongLots * SIZE_STEP, longLots * SIZE_STEP);
            }
        } else {
            shortLots += newLots;
            if (shortLots > shortBefore && shortLots > m.maxShortLots) {
                revert OpenInterestCapExceeded(marketId, false, m.maxShortLots * SIZE_STEP, shortLots * SIZE_STEP);
            }
        }
        int256 openNotionalSum = int256(int128(uint128(wordC >> 128))) + o.openNotional - oldOpenNotional;
        // each side is at most its uint64 cap, or did not grow: the fields cannot spill
        wordC = longLots | (shortLots << 64) | (uint256(uint128(openNotionalSum.toInt128())) << 128);
        // raw: word C is written back once (one sstore for its three fields)
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(add(m.slot, 2), wordC)
        }
        int256 skew = (int256(longLots) - int256(shortLots)) * int256(SIZE_STEP);
        (m.fundingIndex, m.fundingRate, m.lastFundingTime) = (
            index.toInt96(),
            _rate(m, skew).toInt64(),
            uint40(block.timestamp)
        );
    }

    /// @dev Opening a market: an Isolated account holds one, a Cross account at most `_maxPositions`.
    function _checkNewMarket(uint256 accountId, uint8 mode, uint256 maskBefore) private view {
        if (maskBefore == 0) return;
        if (mode == MODE_ISOLATED) revert IsolatedAccountMarketLimit(accountId, _lowestId(maskBefore));
        uint256 max = _maxPositions;
        if (_popcount(maskBefore) >= max) revert TooManyPositions(accountId, max);
    }

    function _key(uint256 accountId, uint256 marketId) private pure returns (uint256) {
        // Unique while account ids stay below 2^248 (created one at a time) and market ids below 2^8.
        if (marketId > MAX_MARKETS) revert UnknownMarket(marketId);
        return (accountId << 8) | marketId;
    }

    function _checkSize(int256 sizeDelta) private pure {
        if (sizeDelta == 0) revert ZeroSize();
        if (sizeDelta > int256(MAX_TRADE_SIZE) || sizeDelta < -int256(MAX_TRADE_SIZE)) {
            revert SizeTooLarge(sizeDelta, MAX_TRADE_SIZE);
        }
        if (sizeDelta % int256(SIZE_STEP) != 0) revert InvalidSizeStep(sizeDelta);
    }

    /* INTERNAL: LIQUIDATION */

    /// @dev What a liquidation charges: the penalty on closed notional and how it is split.
    struct Payout {
        uint256 penalty;
        uint256 keeperReward;
        uint256 insuranceFee;
    }

    /// @dev The account's margin and the most lots one liquidation of a position of `lots` may
    ///      close at `price`: all of it below the full-liquidation threshold or at dust size, else
    ///      closeFactor × total notional (at least one lot), extended to all when the rest would be dust.
    function _closable(
        uint256 accountId,
        int256 lots,
        uint256 price,
        LiquidationParams memory lp
    ) private view returns (AccountMargin memory r, uint256 allowed) {
        r = _margin(accountId, _noOverride());
        allowed = uint256(int256(lots).abs());
        if (_notionalOfLots(allowed, price) <= lp.dustThreshold) return (r, allowed);
        // equity < MM × threshold, exactly: both sides scaled by WAD
        if (r.equity * int256(WAD) < (r.maintenanceMargin * lp.fullLiquidationThreshold).toInt256()) {
            return (r, allowed);
        }
        uint256 cap = r.notional.wMulDown(lp.closeFactor).wDivDown(price) / SIZE_STEP;
        if (cap == 0) cap = 1;
        if (cap < allowed && _notionalOfLots(allowed - cap, price) > lp.dustThreshold) allowed = cap;
    }

    /// @dev The penalty and its split (DESIGN §8). The keeper's share is capped at the account's
    ///      equity when the caller owns or operates the account (self-liquidation earns nothing); the
    ///      insurance fund is credited only what equity is left after the keeper.
    function _payout(
        uint256 accountId,
        uint256 closed,
        int256 equityBefore,
        LiquidationParams memory lp
    ) private view returns (Payout memory pay) {
        pay.penalty = closed.wMulUp(lp.liquidationFee);
        pay.keeperReward = pay.penalty.wMulDown(lp.keeperShare);
        uint256 insuranceShare = pay.penalty - pay.keeperReward;
        uint256 equity = equityBefore > 0 ? uint256(equityBefore) : 0;
        // the Vault is asked only when the cap would bind
        if (pay.keeperReward > equity && _VAULT.isAuthorized(accountId, msg.sender)) pay.keeperReward = equity;
        uint256 left = equity > pay.keeperReward ? equity - pay.keeperReward : 0;
        pay.insuranceFee = insuranceShare < left ? insuranceShare : left;
    }

    /// @dev The stored configuration in WAD.
    function _params(MarketConfig.LiquidationConfig memory c) private pure returns (LiquidationParams memory) {
        return
            LiquidationParams({
                liquidationFee: uint64(c.feePpm) * uint64(PPM),
                keeperShare: uint64(c.keeperSharePpm) * uint64(PPM),
                closeFactor: uint64(c.closeFactorPpm) * uint64(PPM),
                fullLiquidationThreshold: uint64(c.thresholdPpm) * uint64(PPM),
                dustThreshold: uint128(c.dustUsd) * uint128(WAD),
                collateralDiscount: uint64(c.discountPpm) * uint64(PPM)
            });
    }

    /// @dev Counts `closed` notional against the market's rate limit; an account with negative
    ///      equity is counted but never refused.
    function _rateLimit(MarketConfig.Market storage m, uint256 marketId, uint256 closed, int256 equity) private {
        if (!m.rateLimited) return; // word E, already read by the breaker: word F stays unread
        uint256 capUsd = m.rateLimitCapUsd;
        uint256 start = m.windowStart;
        uint256 used = m.windowLiquidated;
        uint256 window = m.rateLimitWindow;
        if (block.timestamp >= start + window) (start, used) = (block.timestamp, 0);
        uint256 cap = capUsd * WAD;
        if (equity >= 0 && used + closed > cap) revert LiquidationRateLimited(marketId, cap, used, start + window);
        // cannot truncate: start is a timestamp; used grows by notionals below 2^120 in practice
        (m.windowStart, m.windowLiquidated) = (uint40(start), uint256(used + closed).toUint120());
    }

    /// @dev The breaker's reference price and reduce-only start, with an expired reduce-only state
    ///      (and its reference) read as cleared: the next trade re-anchors the reference.
    function _breakerState(MarketConfig.Market storage m) private view returns (uint256 ref, uint256 since) {
        (ref, since) = (m.referencePrice, m.reduceOnlySince);
        if (since != 0 && block.timestamp >= since + _config.breakerTimeout) (ref, since) = (0, 0);
    }

    /// @dev Circuit breaker (DESIGN §7) at a trade or liquidation: an exposure-increasing trade is
    ///      refused while reduce-only or beyond the band; anything else beyond the band records the
    ///      market as reduce-only. The price becomes the new reference. A trade (not a
    ///      liquidation) is refused while the guardian has paused trading.
    function _breaker(
        MarketConfig.Market storage m,
        uint256 marketId,
        uint256 price,
        bool trade,
        bool increases
    ) private {
        // Word E read and written once, raw: maxPriceDeviation (bits 0-63), referencePrice
        // (64-191), reduceOnlySince (192-231), tradingPaused (232-239), rateLimited (240-247).
        uint256 word;
        // raw: word E is read once (one sload for its five fields)
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            word := sload(add(m.slot, 4))
        }
        if (trade && uint8(word >> 232) != 0) revert ActionPaused(PAUSE_TRADE);
        uint256 ref = uint128(word >> 64);
        uint256 since = uint40(word >> 192);
        if (since != 0 && block.timestamp >= since + _config.breakerTimeout) (ref, since) = (0, 0);
        bool deviates = ref != 0 && _deviates(price, ref, uint64(word));
        if (increases) {
            if (since != 0) revert MarketReduceOnly(marketId, since + _config.breakerTimeout);
            if (deviates) revert PriceDeviationExceeded(marketId, ref, price);
        } else if (deviates && since == 0) {
            since = block.timestamp;
            emit CircuitBreakerTripped(marketId, ref, price);
        }
        // price < 2^128 (OracleLib) and since < 2^40 (a timestamp): the fields cannot spill
        uint256 updated = (word & ~(uint256(type(uint168).max) << 64)) | (price << 64) | (since << 192);
        if (updated != word) {
            // raw: word E is written back once, and only when it changed
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                sstore(add(m.slot, 4), updated)
            }
        }
    }

    /// @dev |price − ref| > maxDeviation × ref, exactly (no product exceeds 2^256: both < 2^128 × 1e18).
    function _deviates(uint256 price, uint256 ref, uint256 maxDeviation) private pure returns (bool) {
        uint256 moved = price > ref ? price - ref : ref - price;
        return moved * WAD > maxDeviation * ref;
    }

    /// @dev Notional of `lots` at `price`, rounded up.
    function _notionalOfLots(uint256 lots, uint256 price) private pure returns (uint256) {
        return (lots * SIZE_STEP).wMulUp(price);
    }

    /* INTERNAL: PRICE AND FUNDING */

    function _price(MarketConfig.Market storage m) private view returns (uint256) {
        return OracleLib.read(m.feed, m.heartbeat, m.feedDecimals);
    }

    function _skew(MarketConfig.Market storage m) private view returns (int256) {
        return (int256(uint256(m.longLots)) - int256(uint256(m.shortLots))) * int256(SIZE_STEP);
    }

    /// @dev The funding rate the market pays at `skew` (its skew after a trade, or now).
    function _rate(MarketConfig.Market storage m, int256 skew) private view returns (int256) {
        return MarginMath.fundingRate(skew, uint256(m.skewScaleLots) * SIZE_STEP, uint256(m.maxFundingRatePpb) * PPB);
    }

    /// @dev Accrues the market's funding index to now at `price`; returns the new index.
    function _accrue(MarketConfig.Market storage m, uint256 price) private returns (int256 index) {
        index = _indexNow(m, price);
        m.fundingIndex = index.toInt96();
        m.lastFundingTime = uint40(block.timestamp);
    }

    function _indexNow(MarketConfig.Market storage m, uint256 price) private view returns (int256) {
        return m.fundingIndex + MarginMath.fundingIndexDelta(m.fundingRate, price, block.timestamp - m.lastFundingTime);
    }

    /* INTERNAL: MARGIN */

    function _noOverride() private pure returns (Override memory o) {
        return o; // marketId 0 never exists
    }

    /// @dev Equity, MM and IM of an account (with `o` applied), funding accrued to now.
    function _margin(uint256 accountId, Override memory o) private view returns (AccountMargin memory) {
        (int256 collateral, uint256 mask) = _VAULT.marginInputs(accountId);
        return _marginOf(accountId, collateral, mask, o);
    }

    /// @dev `_margin` from the Vault's figures: collateral value and market bitmask.
    function _marginOf(
        uint256 accountId,
        int256 collateral,
        uint256 mask,
        Override memory o
    ) private view returns (AccountMargin memory r) {
        collateral += o.quoteDelta;
        if (o.marketId != 0) mask |= 1 << o.marketId;
        Sums memory s;
        s.equity = collateral;
        for (uint256 id = 1; mask >> id != 0; ++id) {
            if ((mask >> id) & 1 == 0) continue;
            if (id == o.marketId) {
                _addPosition(s, id, o.size, o.openNotional, 0, true, o.price);
            } else {
                Position memory p = _positions[(accountId << 8) | id]; // ids from the mask are valid
                _addPosition(s, id, int256(p.lots) * int256(SIZE_STEP), p.openNotional, p.fundingIndex, false, 0);
            }
        }
        if (s.firstGroup != 0) _addGroup(s, s.firstGroup, s.firstMm, s.firstIm, s.firstGross, s.firstNet);
        for (uint256 seen = s.othersSeen; seen != 0; seen &= seen - 1) {
            uint256 g = _lowestId(seen);
            GroupSum memory sum = s.others[g];
            _addGroup(s, g, sum.mm, sum.im, sum.gross, sum.net);
        }
        r.collateralValue = collateral;
        r.equity = s.equity;
        r.maintenanceMargin = s.mm;
        r.initialMargin = s.im;
        r.freeCollateral = (collateral < s.equity ? collateral : s.equity) - s.im.toInt256();
        r.liquidatable = s.mm > 0 && s.equity < s.mm.toInt256();
        r.notional = s.notional;
    }

    /// @dev Adds one position's PnL, funding and requirements to the sums. `settled`: its funding
    ///      was settled to now by the hypothetical trade, so nothing is pending. `price`: the oracle
    ///      price when the caller already read it in this call, else 0.
    ///      This is the hot loop of every margin check, so it reads the market's two words raw and
    ///      inlines MarginMath.unrealizedPnl, pendingFunding, fundingIndexDelta and notional with the
    ///      same rounding (the differential tests hold them equal). No product can overflow: |size|
    ///      < 2^97 (int64 lots), price ≤ 2^128 (OracleLib), |index|, |openNotional| < 2^96, |rate| < 2^63.
    function _addPosition(
        Sums memory s,
        uint256 marketId,
        int256 size,
        int256 openNotional,
        int256 entryIndex,
        bool settled,
        uint256 price
    ) private view {
        if (size == 0) return;
        MarketConfig.Market storage m = _markets[marketId];
        uint256 wordA;
        uint256 wordB;
        // raw: the hot loop reads the market's two words with one sload each
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            wordA := sload(m.slot)
            wordB := sload(add(m.slot, 1))
        }
        if (price == 0) {
            price = OracleLib.read(
                AggregatorV3Interface(address(uint160(wordA))),
                uint24(wordA >> 160),
                uint8(wordA >> 184)
            );
        }
        uint256 n;
        unchecked {
            uint256 absSize = size >= 0 ? uint256(size) : uint256(-size);
            uint256 product = absSize * price;
            uint256 down = product / WAD;
            uint256 up = down * WAD == product ? down : down + 1;
            n = up; // notional, rounded up
            s.notional += n;
            // unrealized PnL, rounded toward −∞
            s.equity += (size >= 0 ? int256(down) : -int256(up)) + openNotional;
            if (!settled) {
                int256 rate = int64(uint64(wordB >> 96));
                int256 index = int96(uint96(wordB));
                uint256 elapsed = block.timestamp - uint40(wordB >> 160);
                if (rate != 0 && elapsed != 0) {
                    uint256 perDay = ((rate >= 0 ? uint256(rate) : uint256(-rate)) * price) / WAD;
                    int256 delta = int256((perDay * elapsed) / SECONDS_PER_DAY);
                    index += rate > 0 ? delta : -delta;
                }
                // pending funding, rounded toward +∞
                int256 diff = index - entryIndex;
                uint256 fundingProduct = (diff >= 0 ? uint256(diff) : uint256(-diff)) * absSize;
                uint256 fundingDown = fundingProduct / WAD;
                s.equity -= (size >= 0) == (diff >= 0)
                    ? int256(fundingDown * WAD == fundingProduct ? fundingDown : fundingDown + 1)
                    : -int256(fundingDown);
            }
        }
        (uint256 mmPart, uint256 imPart) = _tiered(wordA, wordB, marketId, n);
        uint256 g = uint8(wordA >> 192);
        if (g == 0) {
            s.mm += mmPart;
            s.im += imPart;
        } else {
            int256 signed = size > 0 ? int256(n) : -int256(n);
            if (s.firstGroup == 0 || s.firstGroup == g) {
                s.firstGroup = g;
                s.firstMm += mmPart;
                s.firstIm += imPart;
                s.firstGross += n;
                s.firstNet += signed;
            } else {
                if (s.othersSeen == 0) s.others = new GroupSum[](MAX_GROUPS + 1);
                s.othersSeen |= 1 << g;
                GroupSum memory sum = s.others[g];
                sum.mm += mmPart;
                sum.im += imPart;
                sum.gross += n;
                sum.net += signed;
            }
        }
    }

    /// @dev A group's requirement: Σ stand-alone × (1 − offset × (gross − net) / gross). With
    ///      nothing hedged (one leg alone, or all legs on one side) that is the stand-alone sum, and
    ///      the offset is not read.
    function _addGroup(Sums memory s, uint256 g, uint256 mm, uint256 im, uint256 gross, int256 net) private view {
        uint256 netAbs = net.abs();
        if (netAbs == gross) {
            s.mm += mm;
            s.im += im;
            return;
        }
        uint256 offset = _groupOffsets[uint8(g)];
        s.mm += MarginMath.groupRequirement(mm, gross, netAbs, offset);
        s.im += MarginMath.groupRequirement(im, gross, netAbs, offset);
    }

    /// @dev MarginMath.tieredRequirement, MM and IM in one pass. The first bracket comes from the
    ///      market's two words (rates at bits 208 and 232 of word A, bound at bit 200 of word B);
    ///      the others are read only when the notional reaches them.
    function _tiered(
        uint256 wordA,
        uint256 wordB,
        uint256 marketId,
        uint256 n
    ) private view returns (uint256 mm, uint256 im) {
        uint256 count = uint8(wordA >> 200);
        uint256 bound = count == 1 ? n : uint256(uint56(wordB >> 200)) * WAD;
        uint256 upper = n < bound ? n : bound;
        // cannot overflow: upper ≤ notional < 2^166 and a rate is at most 1e18 < 2^60
        unchecked {
            mm = _ceilWad(upper * (uint256(uint24(wordA >> 208)) * PPM));
            im = _ceilWad(upper * (uint256(uint24(wordA >> 232)) * PPM));
        }
        uint256 lower = upper;
        for (uint256 i = 1; i < count && n > lower; ++i) {
            MarginMath.Tier storage t = _tiers[marketId][i];
            upper = i == count - 1 || n < t.upToNotional ? n : t.upToNotional;
            mm += (upper - lower).wMulUp(t.mmRate);
            im += (upper - lower).wMulUp(t.imRate);
            lower = upper;
        }
    }

    /// @dev ⌈x / WAD⌉ (x < 2^255).
    function _ceilWad(uint256 x) private pure returns (uint256 r) {
        unchecked {
            r = x / WAD;
            if (r * WAD != x) ++r;
        }
    }

    /// @dev Index of the lowest set bit (x ≠ 0).
    function _lowestId(uint256 x) private pure returns (uint256 id) {
        while ((x >> id) & 1 == 0) ++id;
    }

    function _popcount(uint256 x) private pure returns (uint256 n) {
        for (; x != 0; x &= x - 1) ++n;
    }

    /* INTERNAL: CONFIGURATION */

    /// @dev `_market` and `_price` from one read of the market's first word.
    function _marketPrice(uint256 marketId) private view returns (MarketConfig.Market storage m, uint256 price) {
        m = _markets[marketId];
        uint256 wordA;
        // raw: the feed, heartbeat and decimals come from one sload of word A
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            wordA := sload(m.slot)
        }
        if (uint160(wordA) == 0) revert UnknownMarket(marketId);
        price = OracleLib.read(
            AggregatorV3Interface(address(uint160(wordA))),
            uint24(wordA >> 160),
            uint8(wordA >> 184)
        );
    }

    function _market(uint256 marketId) private view returns (MarketConfig.Market storage m) {
        m = _markets[marketId];
        if (address(m.feed) == address(0)) revert UnknownMarket(marketId);
    }

    function _configure(uint256 marketId, MarketParams calldata params) private {
        MarketConfig.configure(_markets[marketId], _tiers[marketId], params);
        _oracles[marketId] = params.oracle;
        emit MarketConfigured(marketId, params);
    }
}
