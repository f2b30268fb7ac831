// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IMarginLens} from "./interfaces/IMarginLens.sol";
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
}
