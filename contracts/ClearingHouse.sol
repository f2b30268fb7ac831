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
import {OracleLib} from "./libraries/OracleLib.sol";
import {WAD, PPM, PPB, SECONDS_PER_DAY, SIZE_STEP, MAX_TIERS, MAX_GROUPS, MAX_MARKETS, MAX_POSITIONS_PER_ACCOUNT, MAX_TAKER_FEE, MAX_FUNDING_RATE_PER_DAY, MAX_MARGIN_RATE, MAX_OFFSET, MAX_PRICE_DEVIATION, MODE_ISOLATED, PAUSE_TRADE} from "./libraries/Constants.sol";

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

    struct Market {
        // word A: read by every margin check, written only by governance
        AggregatorV3Interface feed;
        uint24 heartbeat;
        uint8 feedDecimals;
        uint8 group;
        uint8 tierCount;
        uint24 tier0MmPpm; // the first bracket's rates in millionths (all brackets live in _tiers)
        uint24 tier0ImPpm;
        // word B: funding (written by every trade of the market) and the first bracket's bound
        int96 fundingIndex;
        int64 fundingRate; // WAD per day, signed like the skew
        uint40 lastFundingTime;
        uint56 tier0BoundUsd; // whole USD; unused when tierCount == 1
        // word C: open interest (lots) and Σ open notional (WAD)
        uint64 longLots;
        uint64 shortLots;
        int128 openNotionalSum;
        // word D: trading parameters and open-interest caps, read by every trade
        uint64 skewScaleLots;
        uint32 takerFeePpb; // billionths
        uint32 maxFundingRatePpb; // billionths per day
        uint64 maxLongLots;
        uint64 maxShortLots;
        // word E: circuit breaker
        uint64 maxPriceDeviation;
    }

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
        uint256 othersSeen; // bitmask of group ids in `others`
        GroupSum[] others;
    }

    IVault private immutable _VAULT;

    // First: packs into the guardian's word, which every trade reads for the pause flags.
    uint8 private _maxPositions = uint8(MAX_POSITIONS_PER_ACCOUNT);
    uint256 private _marketCount;
    mapping(uint256 marketId => Market) private _markets;
    mapping(uint256 marketId => address) private _oracles; // the adapter each market was configured with
    mapping(uint256 marketId => MarginMath.Tier[MAX_TIERS]) private _tiers;
    mapping(uint8 group => uint256) private _groupOffsets;
    /// @dev Keyed by `accountId << 8 | marketId` (one hash per lookup in the margin loop).
    mapping(uint256 key => Position) private _positions;

    /// @param vault_ The Vault holding collateral and quote balances.
    /// @param owner_ Governance (Ownable2Step).
    /// @param guardian_ May pause trading.
    constructor(IVault vault_, address owner_, address guardian_) Guarded(owner_, guardian_) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        _VAULT = vault_;
    }

    /* TRADING */

    /// @inheritdoc IClearingHouse
    function openPosition(
        uint256 accountId,
        uint256 marketId,
        int256 sizeDelta,
        uint256 priceLimit
    ) external nonReentrant whenNotPaused(PAUSE_TRADE) {
        _trade(accountId, marketId, sizeDelta, priceLimit);
    }

    /// @inheritdoc IClearingHouse
    function closePosition(
        uint256 accountId,
        uint256 marketId,
        uint256 priceLimit
    ) external nonReentrant whenNotPaused(PAUSE_TRADE) {
        int256 lots = _positions[_key(accountId, marketId)].lots;
        if (lots == 0) revert NoPosition(accountId, marketId);
        _trade(accountId, marketId, -lots * int256(SIZE_STEP), priceLimit);
    }

    /* GOVERNANCE */

    /// @inheritdoc IClearingHouse
    function addMarket(MarketParams calldata params) external onlyOwner returns (uint256 marketId) {
        marketId = ++_marketCount;
        if (marketId > MAX_MARKETS) revert InvalidMarketParam("marketCount");
        _markets[marketId].lastFundingTime = uint40(block.timestamp);
        _configure(marketId, params);
    }

    /// @inheritdoc IClearingHouse
    function setMarketParams(uint256 marketId, MarketParams calldata params) external onlyOwner {
        Market storage m = _market(marketId);
        _accrue(m, _price(m));
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
        Market storage m = _market(marketId);
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
    function marketParams(uint256 marketId) external view returns (MarketParams memory params) {
        Market storage m = _market(marketId);
        params.oracle = _oracles[marketId];
        params.group = m.group;
        params.skewScale = uint128(m.skewScaleLots) * uint128(SIZE_STEP);
        params.takerFee = uint64(m.takerFeePpb) * uint64(PPB);
        params.maxFundingRatePerDay = uint64(m.maxFundingRatePpb) * uint64(PPB);
        params.maxLongOpenInterest = uint128(m.maxLongLots) * uint128(SIZE_STEP);
        params.maxShortOpenInterest = uint128(m.maxShortLots) * uint128(SIZE_STEP);
        params.maxPriceDeviation = m.maxPriceDeviation;
        params.tiers = new MarginMath.Tier[](m.tierCount);
        for (uint256 i; i < m.tierCount; ++i) params.tiers[i] = _tiers[marketId][i];
    }

    /// @inheritdoc IClearingHouse
    function marketState(uint256 marketId) external view returns (MarketState memory state) {
        Market storage m = _market(marketId);
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
            Market storage m = _markets[id];
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

    /* INTERNAL: TRADING */

    function _trade(uint256 accountId, uint256 marketId, int256 sizeDelta, uint256 priceLimit) private {
        _checkSize(sizeDelta);
        Market storage m = _market(marketId);
        uint256 price = _price(m);
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
        Market storage m,
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
        Market storage m,
        uint256 marketId,
        int256 oldSize,
        Override memory o,
        int256 oldOpenNotional,
        int256 index
    ) private {
        uint256 longLots = m.longLots;
        uint256 shortLots = m.shortLots;
        uint256 oldLots = oldSize.abs() / SIZE_STEP;
        uint256 newLots = o.size.abs() / SIZE_STEP;
        if (oldSize > 0) longLots -= oldLots;
        else shortLots -= oldLots;
        if (o.size > 0) {
            longLots += newLots;
            if (longLots > m.maxLongLots && longLots > m.longLots) {
                revert OpenInterestCapExceeded(marketId, true, m.maxLongLots * SIZE_STEP, longLots * SIZE_STEP);
            }
        } else {
            shortLots += newLots;
            if (shortLots > m.maxShortLots && shortLots > m.shortLots) {
                revert OpenInterestCapExceeded(marketId, false, m.maxShortLots * SIZE_STEP, shortLots * SIZE_STEP);
            }
        }
        int256 openNotionalSum = m.openNotionalSum + o.openNotional - oldOpenNotional;
        // cannot truncate: each side is at most its uint64 cap, or did not grow
        (m.longLots, m.shortLots, m.openNotionalSum) = (
            uint64(longLots),
            uint64(shortLots),
            openNotionalSum.toInt128()
        );
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
        if (sizeDelta % int256(SIZE_STEP) != 0) revert InvalidSizeStep(sizeDelta);
    }

    /* INTERNAL: PRICE AND FUNDING */

    function _price(Market storage m) private view returns (uint256) {
        return OracleLib.read(m.feed, m.heartbeat, m.feedDecimals);
    }

    function _skew(Market storage m) private view returns (int256) {
        return (int256(uint256(m.longLots)) - int256(uint256(m.shortLots))) * int256(SIZE_STEP);
    }

    /// @dev The funding rate the market pays at `skew` (its skew after a trade, or now).
    function _rate(Market storage m, int256 skew) private view returns (int256) {
        return MarginMath.fundingRate(skew, uint256(m.skewScaleLots) * SIZE_STEP, uint256(m.maxFundingRatePpb) * PPB);
    }

    /// @dev Accrues the market's funding index to now at `price`; returns the new index.
    function _accrue(Market storage m, uint256 price) private returns (int256 index) {
        index = _indexNow(m, price);
        m.fundingIndex = index.toInt96();
        m.lastFundingTime = uint40(block.timestamp);
    }

    function _indexNow(Market storage m, uint256 price) private view returns (int256) {
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
        Market storage m = _markets[marketId];
        uint256 wordA;
        uint256 wordB;
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

    function _market(uint256 marketId) private view returns (Market storage m) {
        m = _markets[marketId];
        if (address(m.feed) == address(0)) revert UnknownMarket(marketId);
    }

    function _ppb(uint256 wad, bytes32 field) private pure returns (uint32) {
        // cannot truncate: callers bound wad to at most 1e18 = 1e9 billionths < 2^32
        if (wad % PPB != 0) revert InvalidMarketParam(field);
        return uint32(wad / PPB);
    }

    function _lots(uint256 wad, bytes32 field) private pure returns (uint64) {
        if (wad % SIZE_STEP != 0 || wad / SIZE_STEP > type(uint64).max) revert InvalidMarketParam(field);
        return uint64(wad / SIZE_STEP);
    }

    function _configure(uint256 marketId, MarketParams calldata p) private {
        if (p.oracle == address(0)) revert InvalidMarketParam("oracle");
        if (p.group > MAX_GROUPS) revert InvalidMarketParam("group");
        if (p.skewScale == 0) revert InvalidMarketParam("skewScale");
        if (p.takerFee > MAX_TAKER_FEE) revert InvalidMarketParam("takerFee");
        if (p.maxFundingRatePerDay > MAX_FUNDING_RATE_PER_DAY) revert InvalidMarketParam("maxFundingRatePerDay");
        if (p.maxPriceDeviation == 0 || p.maxPriceDeviation > MAX_PRICE_DEVIATION) {
            revert InvalidMarketParam("maxPriceDeviation");
        }
        _configureTiers(marketId, p.tiers);
        // The market reads the adapter's feed directly, with the adapter's heartbeat and scaling.
        IPriceOracle adapter = IPriceOracle(p.oracle);
        Market storage m = _markets[marketId];
        m.feed = AggregatorV3Interface(adapter.feed());
        m.heartbeat = adapter.heartbeat().toUint24();
        m.feedDecimals = adapter.feedDecimals();
        m.group = p.group;
        m.tierCount = uint8(p.tiers.length);
        // cannot truncate: _configureTiers checked rates in whole millionths ≤ 100 % and the bound
        m.tier0MmPpm = uint24(p.tiers[0].mmRate / PPM);
        m.tier0ImPpm = uint24(p.tiers[0].imRate / PPM);
        m.tier0BoundUsd = uint56(p.tiers[0].upToNotional / WAD);
        m.skewScaleLots = _lots(p.skewScale, "skewScale");
        m.takerFeePpb = _ppb(p.takerFee, "takerFee");
        m.maxFundingRatePpb = _ppb(p.maxFundingRatePerDay, "maxFundingRatePerDay");
        m.maxPriceDeviation = p.maxPriceDeviation;
        m.maxLongLots = _lots(p.maxLongOpenInterest, "maxLongOpenInterest");
        m.maxShortLots = _lots(p.maxShortOpenInterest, "maxShortOpenInterest");
        m.fundingRate = _rate(m, _skew(m)).toInt64();
        _oracles[marketId] = p.oracle;
        emit MarketConfigured(marketId, p);
    }

    function _configureTiers(uint256 marketId, MarginMath.Tier[] calldata tiers) private {
        uint256 n = tiers.length;
        if (n == 0 || n > MAX_TIERS) revert InvalidMarketParam("tiers");
        for (uint256 i; i < n; ++i) {
            MarginMath.Tier calldata t = tiers[i];
            if (t.mmRate == 0 || t.mmRate >= t.imRate || t.imRate > MAX_MARGIN_RATE) {
                revert InvalidMarketParam("tierRates");
            }
            // rates in whole millionths, bounds in whole dollars: the first bracket is packed
            if (t.mmRate % PPM != 0 || t.imRate % PPM != 0) revert InvalidMarketParam("tierRates");
            if (t.upToNotional % WAD != 0 || t.upToNotional / WAD > type(uint56).max) {
                revert InvalidMarketParam("tierBounds");
            }
            if (i > 0) {
                MarginMath.Tier calldata prev = tiers[i - 1];
                if (t.mmRate < prev.mmRate || t.imRate < prev.imRate) revert InvalidMarketParam("tierRates");
                if (i < n - 1 && t.upToNotional <= prev.upToNotional) revert InvalidMarketParam("tierBounds");
            } else if (n > 1 && t.upToNotional == 0) revert InvalidMarketParam("tierBounds");
            _tiers[marketId][i] = t;
        }
    }
}
