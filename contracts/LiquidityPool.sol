// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {ILiquidityPool} from "./interfaces/ILiquidityPool.sol";
import {IVault} from "./interfaces/IVault.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";

/// @title LiquidityPool
/// @notice The protocol's liquidity pool as an ERC-4626 vault. See {ILiquidityPool}.
contract LiquidityPool is ILiquidityPool, ERC4626 {
    using FixedPointMath for uint256;

    IVault private immutable _VAULT;
    IClearingHouse private immutable _CLEARING_HOUSE;
    uint8 private immutable _ASSET_DECIMALS;

    /// @param vault_ The Vault holding the pool ledger; its settlement token is the asset.
    /// @param clearingHouse_ The ClearingHouse whose open positions the reserve covers.
    constructor(
        IVault vault_,
        IClearingHouse clearingHouse_
    ) ERC20("Crossmargin LP", "cmLP") ERC4626(IERC20(vault_.settlementToken())) {
        _VAULT = vault_;
        _CLEARING_HOUSE = clearingHouse_;
        _ASSET_DECIMALS = IERC20Metadata(vault_.settlementToken()).decimals();
        // The Vault pulls deposits from this contract.
        SafeERC20.forceApprove(IERC20(vault_.settlementToken()), address(vault_), type(uint256).max);
    }

    /// @inheritdoc ERC4626
    function totalAssets() public view override(ERC4626, IERC4626) returns (uint256) {
        int256 ledger = _VAULT.poolBalance();
        return ledger > 0 ? uint256(ledger).fromWadDown(_ASSET_DECIMALS) : 0;
    }

    /// @inheritdoc ILiquidityPool
    function reserveRequired() public view returns (uint256) {
        int256 owed = _CLEARING_HOUSE.tradersUnrealizedPnl();
        return owed > 0 ? uint256(owed).fromWadUp(_ASSET_DECIMALS) : 0;
    }

    /// @inheritdoc ILiquidityPool
    function withdrawable() public view returns (uint256) {
        uint256 assets = totalAssets();
        uint256 reserve = reserveRequired();
        return assets > reserve ? assets - reserve : 0;
    }

    /// @inheritdoc ERC4626
    /// @dev What the Vault's pool ledger (int96, WAD) can still take: a larger deposit reverts
    ///      `ERC4626ExceededMaxDeposit` instead of overflowing.
    function maxDeposit(address) public view override(ERC4626, IERC4626) returns (uint256) {
        int256 room = int256(type(int96).max) - _VAULT.poolBalance();
        return uint256(room).fromWadDown(_ASSET_DECIMALS);
    }

    /// @inheritdoc ERC4626
    function maxMint(address receiver) public view override(ERC4626, IERC4626) returns (uint256) {
        return _convertToShares(maxDeposit(receiver), Math.Rounding.Floor);
    }

    /// @inheritdoc ERC4626
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        return Math.min(_convertToAssets(balanceOf(owner), Math.Rounding.Floor), withdrawable());
    }

    /// @inheritdoc ERC4626
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        return Math.min(balanceOf(owner), convertToShares(withdrawable()));
    }

    /// @dev Deposits go through this contract into the Vault's pool ledger.
    function _transferIn(address from, uint256 assets) internal override {
        super._transferIn(from, assets);
        _VAULT.poolDeposit(assets);
    }

    /// @dev Withdrawals are paid by the Vault straight to the receiver.
    function _transferOut(address to, uint256 assets) internal override {
        _VAULT.poolWithdraw(to, assets);
    }

    /// @dev 10^6 virtual shares per unit of asset: a first depositor cannot inflate the share price
    ///      to round a later deposit down to nothing without losing far more than it steals.
    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }
}
