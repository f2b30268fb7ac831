// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Guarded} from "./access/Guarded.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IMarginHook} from "./interfaces/IMarginHook.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IVault} from "./interfaces/IVault.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {MarginMath} from "./libraries/MarginMath.sol";
import {MAX_TIERS, MAX_GROUPS, MAX_MARKETS, MAX_POSITIONS_PER_ACCOUNT, MAX_TAKER_FEE, MAX_FUNDING_RATE_PER_DAY, MAX_MARGIN_RATE, MAX_OFFSET, MAX_PRICE_DEVIATION, MODE_ISOLATED, PAUSE_TRADE} from "./libraries/Constants.sol";

/// @title ClearingHouse
/// @notice Markets, positions and the cross-margin engine of Crossmargin. See {IClearingHouse}.
contract ClearingHouse is IClearingHouse, IMarginHook, Guarded, ReentrancyGuardTransient {
    using SafeCast for uint256;
    using SafeCast for int256;
    using FixedPointMath for uint256;
    using FixedPointMath for int256;

    /// @dev Slot 0 is all a margin check needs besides the funding slot and the tiers.
    struct Market {
        IPriceOracle oracle;
        uint40 lastFundingTime;
        uint8 group;
        uint8 tierCount;
        int128 fundingIndex;
        int128 skew;
        uint128 skewScale;
        uint64 maxFundingRatePerDay;
        uint64 takerFee;
        uint128 longOpenInterest;
        uint128 shortOpenInterest;
        uint128 maxLongOpenInterest;
        uint128 maxShortOpenInterest;
        uint64 maxPriceDeviation;
        int128 openNotionalSum;
    }

    struct Position {
        int128 size;
        int128 openNotional;
        int128 fundingIndex;
    }

    /// @dev A hypothetical trade applied inside a margin computation (previews and checks).
    struct Override {
        uint256 marketId;
        int256 size;
        int256 openNotional;
        int256 realized;
        int256 funding;
        int256 quoteDelta;
        uint256 fill;
        uint256 fee;
    }

    IVault private immutable _VAULT;

    uint256 private _marketCount;
    uint256 private _maxPositions = MAX_POSITIONS_PER_ACCOUNT;
    mapping(uint256 marketId => Market) private _markets;
    mapping(uint256 marketId => MarginMath.Tier[MAX_TIERS]) private _tiers;
    mapping(uint8 group => uint256) private _groupOffsets;
    mapping(uint256 accountId => mapping(uint256 marketId => Position)) private _positions;
    /// @dev Packed list of the account's market ids: byte 0 = count, bytes 1..16 = ids.
    mapping(uint256 accountId => uint256) private _accountMarkets;

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
        int256 size = _positions[accountId][marketId].size;
        if (size == 0) revert NoPosition(accountId, marketId);
        _trade(accountId, marketId, -size, priceLimit);
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
        _accrue(m, m.oracle.price());
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
        _maxPositions = maxPositions;
        emit MaxPositionsPerAccountSet(maxPositions);
    }

    /* MARGIN HOOK */

    /// @inheritdoc IMarginHook
    function hasPositions(uint256 accountId) external view returns (bool) {
        return _accountMarkets[accountId] & 0xff != 0;
    }

    /// @inheritdoc IMarginHook
    function freeCollateral(uint256 accountId) external view returns (int256) {
        return _margin(accountId, _noOverride()).freeCollateral;
    }

    /* VIEWS */

    /// @inheritdoc IClearingHouse
    function positionOf(uint256 accountId, uint256 marketId) external view returns (int256 size, int256 openNotional) {
        Position storage p = _positions[accountId][marketId];
        return (p.size, p.openNotional);
    }

    /// @inheritdoc IClearingHouse
    function positionFundingIndex(uint256 accountId, uint256 marketId) external view returns (int256) {
        return _positions[accountId][marketId].fundingIndex;
    }

    /// @inheritdoc IClearingHouse
    function accountMarkets(uint256 accountId) external view returns (uint256[] memory ids) {
        uint256 packed = _accountMarkets[accountId];
        ids = new uint256[](packed & 0xff);
        for (uint256 i; i < ids.length; ++i) ids[i] = (packed >> (8 * (i + 1))) & 0xff;
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
        if (sizeDelta == 0) revert ZeroSize();
        Market storage m = _market(marketId);
        uint256 price = m.oracle.price();
        (int256 index, ) = _indexNow(m, price);
        Override memory o = _applied(_positions[accountId][marketId], m, marketId, sizeDelta, price, index);
        margin = _margin(accountId, o);
        (fillPrice, fee) = (o.fill, o.fee);
    }

    /// @inheritdoc IClearingHouse
    function marketParams(uint256 marketId) external view returns (MarketParams memory params) {
        Market storage m = _market(marketId);
        params.oracle = address(m.oracle);
        params.group = m.group;
        params.skewScale = m.skewScale;
        params.takerFee = m.takerFee;
        params.maxFundingRatePerDay = m.maxFundingRatePerDay;
        params.maxLongOpenInterest = m.maxLongOpenInterest;
        params.maxShortOpenInterest = m.maxShortOpenInterest;
        params.maxPriceDeviation = m.maxPriceDeviation;
        params.tiers = new MarginMath.Tier[](m.tierCount);
        for (uint256 i; i < m.tierCount; ++i) params.tiers[i] = _tiers[marketId][i];
    }

    /// @inheritdoc IClearingHouse
    function marketState(uint256 marketId) external view returns (MarketState memory state) {
        Market storage m = _market(marketId);
        (state.fundingIndex, ) = _indexNow(m, m.oracle.price());
        state.skew = m.skew;
        state.openNotionalSum = m.openNotionalSum;
        state.longOpenInterest = m.longOpenInterest;
        state.shortOpenInterest = m.shortOpenInterest;
        state.lastFundingTime = m.lastFundingTime;
    }

    /// @inheritdoc IClearingHouse
    function tradersUnrealizedPnl() external view returns (int256 total) {
        uint256 count = _marketCount;
        for (uint256 id = 1; id <= count; ++id) {
            Market storage m = _markets[id];
            if (m.longOpenInterest == 0 && m.shortOpenInterest == 0 && m.openNotionalSum == 0) continue;
            // rounded up: the reserve kept for traders is never understated
            total += int256(m.skew).wMulCeil(m.oracle.price()) + m.openNotionalSum;
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
        if (sizeDelta == 0) revert ZeroSize();
        uint8 mode = _VAULT.requireAuthorized(accountId, msg.sender);
        Market storage m = _market(marketId);
        uint256 price = m.oracle.price();
        int256 index = _accrue(m, price);
        Position storage pos = _positions[accountId][marketId];
        int256 oldSize = pos.size;

        Override memory o = _applied(pos, m, marketId, sizeDelta, price, index);
        if (priceLimit != 0 && (sizeDelta > 0 ? o.fill > priceLimit : o.fill < priceLimit)) {
            revert PriceLimitExceeded(o.fill, priceLimit);
        }
        // A trade increases exposure when |size| grows or the side flips; a reducing trade is
        // judged against the account's health before it.
        bool increases = o.size.abs() > oldSize.abs() || (o.size != 0 && (oldSize > 0) != (o.size > 0));
        AccountMargin memory before;
        if (!increases) before = _margin(accountId, _noOverride());

        _updateOpenInterest(m, marketId, oldSize, o.size);
        _updateMarketList(accountId, marketId, oldSize, o.size, mode);
        m.openNotionalSum = (m.openNotionalSum + o.openNotional - pos.openNotional).toInt128();
        pos.size = o.size.toInt128();
        pos.openNotional = o.openNotional.toInt128();
        pos.fundingIndex = index.toInt128();
        _VAULT.settlePnl(accountId, o.quoteDelta);

        _checkMargin(accountId, increases, before);
        emit PositionChanged(
            accountId,
            marketId,
            sizeDelta,
            o.fill,
            o.fee,
            o.realized,
            o.funding,
            o.size,
            o.openNotional,
            index
        );
    }

    /// @dev Increasing exposure needs free collateral ≥ 0. Reducing is allowed unless the account
    ///      ends liquidatable with a lower margin ratio (equity / MM) than `before`.
    function _checkMargin(uint256 accountId, bool increases, AccountMargin memory before) private view {
        AccountMargin memory after_ = _margin(accountId, _noOverride());
        if (increases) {
            if (after_.freeCollateral < 0) revert InsufficientMargin(accountId, after_.freeCollateral);
        } else if (after_.liquidatable) {
            // ratioAfter < ratioBefore ⇔ equityAfter × mmBefore < equityBefore × mmAfter (MM > 0)
            if (
                after_.equity * before.maintenanceMargin.toInt256() <
                before.equity * after_.maintenanceMargin.toInt256()
            ) revert MarginRatioWorsened(accountId, after_.equity, after_.maintenanceMargin);
        }
    }

    /// @dev The position after a trade of `sizeDelta` at the current fill, as an override: the
    ///      position's pending funding is settled by the trade, so the override owes none.
    function _applied(
        Position storage pos,
        Market storage m,
        uint256 marketId,
        int256 sizeDelta,
        uint256 price,
        int256 index
    ) private view returns (Override memory o) {
        o.fill = MarginMath.fillPrice(price, m.skew, sizeDelta, m.skewScale);
        o.fee = MarginMath.takerFee(sizeDelta, o.fill, m.takerFee);
        int256 oldSize = pos.size;
        o.funding = MarginMath.pendingFunding(oldSize, index, pos.fundingIndex);
        (o.size, o.openNotional, o.realized) = MarginMath.applyTrade(oldSize, pos.openNotional, sizeDelta, o.fill);
        o.marketId = marketId;
        o.quoteDelta = o.realized - o.funding - o.fee.toInt256();
    }

    function _updateOpenInterest(Market storage m, uint256 marketId, int256 oldSize, int256 newSize) private {
        uint256 longOi = m.longOpenInterest;
        uint256 shortOi = m.shortOpenInterest;
        if (oldSize > 0) longOi -= uint256(oldSize);
        else shortOi -= uint256(-oldSize);
        if (newSize > 0) {
            longOi += uint256(newSize);
            if (longOi > m.maxLongOpenInterest && longOi > m.longOpenInterest) {
                revert OpenInterestCapExceeded(marketId, true, m.maxLongOpenInterest, longOi);
            }
        } else {
            shortOi += uint256(-newSize);
            if (shortOi > m.maxShortOpenInterest && shortOi > m.shortOpenInterest) {
                revert OpenInterestCapExceeded(marketId, false, m.maxShortOpenInterest, shortOi);
            }
        }
        // cannot truncate: each side is below its uint128 cap or did not grow
        m.longOpenInterest = uint128(longOi);
        m.shortOpenInterest = uint128(shortOi);
        m.skew = (longOi.toInt256() - shortOi.toInt256()).toInt128();
    }

    function _updateMarketList(
        uint256 accountId,
        uint256 marketId,
        int256 oldSize,
        int256 newSize,
        uint8 mode
    ) private {
        if ((oldSize == 0) == (newSize == 0)) return;
        uint256 packed = _accountMarkets[accountId];
        uint256 count = packed & 0xff;
        if (oldSize == 0) {
            if (mode == MODE_ISOLATED && count != 0) {
                revert IsolatedAccountMarketLimit(accountId, (packed >> 8) & 0xff);
            }
            if (count >= _maxPositions) revert TooManyPositions(accountId, _maxPositions);
            packed |= marketId << (8 * (count + 1));
            _accountMarkets[accountId] = packed + 1;
            return;
        }
        // remove: move the last id into the removed slot
        for (uint256 i = 1; i <= count; ++i) {
            if ((packed >> (8 * i)) & 0xff == marketId) {
                uint256 lastId = (packed >> (8 * count)) & 0xff;
                packed &= ~(uint256(0xff) << (8 * count));
                packed = (packed & ~(uint256(0xff) << (8 * i))) | (lastId << (8 * i));
                _accountMarkets[accountId] = packed - 1;
                return;
            }
        }
    }

    /* INTERNAL: FUNDING */

    /// @dev Accrues the market's funding index to now at `price`; returns the new index.
    function _accrue(Market storage m, uint256 price) private returns (int256 index) {
        bool changed;
        (index, changed) = _indexNow(m, price);
        if (changed) m.fundingIndex = index.toInt128();
        m.lastFundingTime = uint40(block.timestamp);
    }

    function _indexNow(Market storage m, uint256 price) private view returns (int256 index, bool changed) {
        index = m.fundingIndex;
        int256 delta = MarginMath.fundingIndexDelta(
            m.skew,
            m.skewScale,
            m.maxFundingRatePerDay,
            price,
            block.timestamp - m.lastFundingTime
        );
        if (delta != 0) {
            index += delta;
            changed = true;
        }
    }

    /* INTERNAL: MARGIN */

    function _noOverride() private pure returns (Override memory o) {
        return o; // marketId 0 never exists
    }

    /// @dev Running sums of a margin computation; group sums are indexed by group id (1..8).
    struct Sums {
        int256 equity;
        uint256 mm;
        uint256 im;
        uint256[MAX_GROUPS + 1] groupMm;
        uint256[MAX_GROUPS + 1] groupIm;
        uint256[MAX_GROUPS + 1] gross;
        int256[MAX_GROUPS + 1] net;
    }

    /// @dev Equity, MM and IM of an account (with `o` applied), funding accrued to now.
    function _margin(uint256 accountId, Override memory o) private view returns (AccountMargin memory r) {
        int256 collateral = _VAULT.collateralValue(accountId) + o.quoteDelta;
        Sums memory s;
        s.equity = collateral;
        uint256 packed = _accountMarkets[accountId];
        uint256 count = packed & 0xff;
        bool overrideSeen = o.marketId == 0;
        for (uint256 i = 1; i <= count; ++i) {
            uint256 marketId = (packed >> (8 * i)) & 0xff;
            if (marketId == o.marketId) {
                overrideSeen = true;
                _addPosition(s, marketId, o.size, o.openNotional, 0, true);
            } else {
                Position storage p = _positions[accountId][marketId];
                _addPosition(s, marketId, p.size, p.openNotional, p.fundingIndex, false);
            }
        }
        if (!overrideSeen) _addPosition(s, o.marketId, o.size, o.openNotional, 0, true);

        for (uint8 g = 1; g <= MAX_GROUPS; ++g) {
            uint256 gross = s.gross[g];
            if (gross == 0) continue;
            uint256 offset = _groupOffsets[g];
            uint256 netAbs = s.net[g].abs();
            s.mm += MarginMath.groupRequirement(s.groupMm[g], gross, netAbs, offset);
            s.im += MarginMath.groupRequirement(s.groupIm[g], gross, netAbs, offset);
        }
        r.collateralValue = collateral;
        r.equity = s.equity;
        r.maintenanceMargin = s.mm;
        r.initialMargin = s.im;
        r.freeCollateral = (collateral < s.equity ? collateral : s.equity) - s.im.toInt256();
        r.liquidatable = s.mm > 0 && s.equity < s.mm.toInt256();
    }

    /// @dev Adds one position's PnL, funding and requirements to the sums. `settled`: its funding
    ///      was settled to now by the hypothetical trade, so nothing is pending.
    function _addPosition(
        Sums memory s,
        uint256 marketId,
        int256 size,
        int256 openNotional,
        int256 entryIndex,
        bool settled
    ) private view {
        if (size == 0) return;
        Market storage m = _markets[marketId];
        uint256 price = m.oracle.price();
        s.equity += MarginMath.unrealizedPnl(size, openNotional, price);
        if (!settled) {
            (int256 index, ) = _indexNow(m, price);
            s.equity -= MarginMath.pendingFunding(size, index, entryIndex);
        }
        uint256 n = MarginMath.notional(size, price);
        (uint256 mmPart, uint256 imPart) = _tiered(marketId, m.tierCount, n);
        uint8 g = m.group;
        if (g == 0) {
            s.mm += mmPart;
            s.im += imPart;
        } else {
            s.groupMm[g] += mmPart;
            s.groupIm[g] += imPart;
            s.gross[g] += n;
            s.net[g] += size > 0 ? n.toInt256() : -n.toInt256();
        }
    }

    function _tiered(uint256 marketId, uint256 tierCount, uint256 n) private view returns (uint256 mm, uint256 im) {
        uint256 lower;
        for (uint256 i; i < tierCount && n > lower; ++i) {
            MarginMath.Tier storage t = _tiers[marketId][i];
            uint256 upper = i == tierCount - 1 || n < t.upToNotional ? n : t.upToNotional;
            mm += (upper - lower).wMulUp(t.mmRate);
            im += (upper - lower).wMulUp(t.imRate);
            lower = upper;
        }
    }

    /* INTERNAL: CONFIGURATION */

    function _market(uint256 marketId) private view returns (Market storage m) {
        m = _markets[marketId];
        if (address(m.oracle) == address(0)) revert UnknownMarket(marketId);
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
        uint256 n = p.tiers.length;
        if (n == 0 || n > MAX_TIERS) revert InvalidMarketParam("tiers");
        for (uint256 i; i < n; ++i) {
            MarginMath.Tier calldata t = p.tiers[i];
            if (t.mmRate == 0 || t.mmRate >= t.imRate || t.imRate > MAX_MARGIN_RATE)
                revert InvalidMarketParam("tierRates");
            if (i > 0) {
                MarginMath.Tier calldata prev = p.tiers[i - 1];
                if (t.mmRate < prev.mmRate || t.imRate < prev.imRate) revert InvalidMarketParam("tierRates");
                if (i < n - 1 && t.upToNotional <= prev.upToNotional) revert InvalidMarketParam("tierBounds");
            } else if (n > 1 && t.upToNotional == 0) revert InvalidMarketParam("tierBounds");
            _tiers[marketId][i] = t;
        }
        Market storage m = _markets[marketId];
        m.oracle = IPriceOracle(p.oracle);
        m.group = p.group;
        m.tierCount = uint8(n);
        m.skewScale = p.skewScale;
        m.takerFee = p.takerFee;
        m.maxFundingRatePerDay = p.maxFundingRatePerDay;
        m.maxLongOpenInterest = p.maxLongOpenInterest;
        m.maxShortOpenInterest = p.maxShortOpenInterest;
        m.maxPriceDeviation = p.maxPriceDeviation;
        emit MarketConfigured(marketId, p);
    }
}
