// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title ILiquidityPool
/// @notice ERC-4626 vault over the settlement token whose assets are the Vault's pool ledger: the
///         counterparty of every trade's PnL, paid the fees and funding imbalance, last in line for
///         bad debt. Its share price moves with traders' realized PnL.
/// @dev `totalAssets` is the pool ledger (rounded down to token units; 0 while negative). Tokens sent
///      to this contract or to the Vault directly are not counted (donations cannot move the share
///      price). Withdrawals are limited to the ledger minus what open positions' unrealized profits
///      need (`reserveRequired`); `maxWithdraw` / `maxRedeem` reflect it, and a larger request
///      reverts `ERC4626ExceededMaxWithdraw` / `ERC4626ExceededMaxRedeem`. Virtual shares
///      (`_decimalsOffset` = 6) make the share-inflation attack unprofitable.
interface ILiquidityPool is IERC4626 {
    /// @notice Settlement-token units the pool must keep for open positions' unrealized profit.
    function reserveRequired() external view returns (uint256);

    /// @notice Settlement-token units LPs may take out now: ledger − reserve, at least 0.
    function withdrawable() external view returns (uint256);
}
