// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IMarginLens} from "./interfaces/IMarginLens.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IVault} from "./interfaces/IVault.sol";

/// @title MarginLens
/// @notice Read-only health of many accounts in one call, and trade previews. See {IMarginLens}.
contract MarginLens is IMarginLens {
    IClearingHouse private immutable _CLEARING_HOUSE;
    IVault private immutable _VAULT;

    /// @param clearingHouse_ The ClearingHouse to read.
    constructor(IClearingHouse clearingHouse_) {
        _CLEARING_HOUSE = clearingHouse_;
        _VAULT = IVault(clearingHouse_.vault());
    }

    /// @inheritdoc IMarginLens
    function health(uint256 accountId) public view returns (Health memory) {
        _VAULT.ownerOf(accountId); // reverts UnknownAccount
        IClearingHouse.AccountMargin memory m = _CLEARING_HOUSE.accountMargin(accountId);
        return Health(m.equity, m.maintenanceMargin, m.initialMargin, m.freeCollateral, m.liquidatable);
    }

    /// @inheritdoc IMarginLens
    function healthMany(uint256[] calldata accountIds) external view returns (Health[] memory result) {
        result = new Health[](accountIds.length);
        for (uint256 i; i < accountIds.length; ++i) result[i] = health(accountIds[i]);
    }

    /// @inheritdoc IMarginLens
    function healthRange(uint256 fromId, uint256 count) external view returns (Health[] memory result) {
        uint256 last = _VAULT.accountCount();
        if (fromId == 0 || fromId > last) return new Health[](0);
        if (count > last - fromId + 1) count = last - fromId + 1;
        result = new Health[](count);
        for (uint256 i; i < count; ++i) {
            IClearingHouse.AccountMargin memory m = _CLEARING_HOUSE.accountMargin(fromId + i);
            result[i] = Health(m.equity, m.maintenanceMargin, m.initialMargin, m.freeCollateral, m.liquidatable);
        }
    }

    /// @inheritdoc IMarginLens
    function candidates(uint256 fromId, uint256 count) external view returns (Candidate[] memory result) {
        uint256 last = _VAULT.accountCount();
        if (fromId == 0 || fromId > last) return new Candidate[](0);
        if (count > last - fromId + 1) count = last - fromId + 1;
        result = new Candidate[](count);
        uint256 n;
        for (uint256 i; i < count; ++i) {
            Candidate memory c = _candidate(fromId + i);
            if (c.action != 0) result[n++] = c;
        }
        _truncate(result, n);
    }

    /// @inheritdoc IMarginLens
    function candidatesMany(uint256[] calldata accountIds) external view returns (Candidate[] memory result) {
        result = new Candidate[](accountIds.length);
        uint256 n;
        for (uint256 i; i < accountIds.length; ++i) {
            _VAULT.ownerOf(accountIds[i]); // reverts UnknownAccount
            Candidate memory c = _candidate(accountIds[i]);
            if (c.action != 0) result[n++] = c;
        }
        _truncate(result, n);
    }

    /// @inheritdoc IMarginLens
    function liquidationPlan(uint256 accountId) external view returns (LiquidationStep[] memory steps) {
        uint256[] memory markets = _CLEARING_HOUSE.accountMarkets(accountId);
        steps = new LiquidationStep[](markets.length);
        for (uint256 i; i < markets.length; ++i) {
            LiquidationStep memory s = steps[i];
            s.marketId = markets[i];
            (s.size, ) = _CLEARING_HOUSE.positionOf(accountId, s.marketId);
            (s.maxCloseSize, s.whole) = _CLEARING_HOUSE.liquidationSize(accountId, s.marketId);
            s.notional = _notional(s.marketId, s.size);
        }
    }

    /// @inheritdoc IMarginLens
    function previewTrade(
        uint256 accountId,
        uint256 marketId,
        int256 sizeDelta
    )
        external
        view
        returns (
            uint256 fillPrice,
            uint256 fee,
            int256 equityAfter,
            uint256 initialMarginAfter,
            uint256 maintenanceMarginAfter,
            int256 freeCollateralAfter
        )
    {
        _VAULT.ownerOf(accountId); // reverts UnknownAccount
        IClearingHouse.AccountMargin memory m;
        (m, fillPrice, fee) = _CLEARING_HOUSE.previewTrade(accountId, marketId, sizeDelta);
        return (fillPrice, fee, m.equity, m.initialMargin, m.maintenanceMargin, m.freeCollateral);
    }

    /// @inheritdoc IMarginLens
    function clearingHouse() external view returns (address) {
        return address(_CLEARING_HOUSE);
    }

    /// @dev The keeper action an account calls for (see `Candidate`).
    function _candidate(uint256 accountId) private view returns (Candidate memory c) {
        c.accountId = accountId;
        (int256 quote, uint256 markets, uint256 tokens, ) = _VAULT.accountState(accountId);
        c.quoteBalance = quote;
        if (markets != 0) {
            IClearingHouse.AccountMargin memory m = _CLEARING_HOUSE.accountMargin(accountId);
            (c.equity, c.maintenanceMargin) = (m.equity, m.maintenanceMargin);
            if (m.liquidatable) c.action = 1;
        } else if (quote < 0) {
            c.equity = _VAULT.rawCollateralValue(accountId);
            if (tokens == 0) {
                c.action = 3;
            } else {
                c.action = 2;
                uint256 index;
                while ((tokens >> index) & 1 == 0) ++index;
                c.token = _VAULT.collateralTokens()[index];
            }
        }
    }

    /// @dev |size| × the market's oracle price, rounded up, as the ClearingHouse counts it.
    function _notional(uint256 marketId, int256 size) private view returns (uint256) {
        IClearingHouse.MarketParams memory p = _CLEARING_HOUSE.marketParams(marketId);
        uint256 price = IPriceOracle(p.oracle).price();
        uint256 absSize = size >= 0 ? uint256(size) : uint256(-size);
        return (absSize * price + 1e18 - 1) / 1e18;
    }

    /// @dev Shortens a memory array in place to its first `n` entries.
    function _truncate(Candidate[] memory list, uint256 n) private pure {
        // Solidity cannot shorten a memory array: its length word is set directly
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(list, n)
        }
    }
}
