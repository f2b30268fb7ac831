// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @title LedgerTotals
/// @notice Read-only sums over Vault accounts and the Vault's ledgers, so that the simulator can
///         check the conservation of every token (DESIGN §4) after every step in two calls instead
///         of one call per account and token. Not part of the protocol: it holds nothing, changes
///         nothing and needs no permission.
contract LedgerTotals {
    /// @notice What conservation compares, read in one call.
    /// @param settlementHeld Settlement tokens held by the Vault (token units).
    /// @param pool Pool ledger (WAD, signed).
    /// @param insurance Insurance fund (WAD).
    /// @param fees Fee ledger (WAD).
    /// @param held Per token: balance held by the Vault (token units).
    /// @param insuranceHoldings Per token: the insurance fund's holdings (token units).
    /// @param totalDeposits Per token: the Vault's stored total of account balances (token units).
    struct Ledgers {
        uint256 settlementHeld;
        int256 pool;
        uint256 insurance;
        uint256 fees;
        uint256[] held;
        uint256[] insuranceHoldings;
        uint256[] totalDeposits;
    }

    /// @notice Σ quoteBalance and, per token, Σ balanceOf over accounts fromId .. fromId + count − 1
    ///         (ids past the last account are skipped; id 0 does not exist).
    /// @param vault The Vault to read.
    /// @param tokens Collateral tokens to sum (the settlement token is covered by `quoteSum`).
    /// @param fromId First account id.
    /// @param count Number of ids to cover.
    /// @return quoteSum Σ quoteBalance (WAD, signed).
    /// @return balanceSums Σ balanceOf per token, in the order of `tokens` (token units).
    function totals(
        IVault vault,
        address[] calldata tokens,
        uint256 fromId,
        uint256 count
    ) external view returns (int256 quoteSum, uint256[] memory balanceSums) {
        balanceSums = new uint256[](tokens.length);
        uint256 last = vault.accountCount();
        uint256 first = fromId == 0 ? 1 : fromId;
        uint256 end = count > last ? last : first + count - 1;
        if (end > last) end = last;
        for (uint256 id = first; id <= end; ++id) {
            quoteSum += vault.quoteBalance(id);
            for (uint256 t = 0; t < tokens.length; ++t) {
                balanceSums[t] += vault.balanceOf(id, tokens[t]);
            }
        }
    }

    /// @notice The Vault's token holdings and ledgers for `tokens` and the settlement token.
    /// @param vault The Vault to read.
    /// @param tokens Collateral tokens (not the settlement token).
    /// @return out The ledgers.
    function ledgers(IVault vault, address[] calldata tokens) external view returns (Ledgers memory out) {
        out.settlementHeld = IERC20(vault.settlementToken()).balanceOf(address(vault));
        out.pool = vault.poolBalance();
        out.insurance = vault.insuranceFund();
        out.fees = vault.feeBalance();
        out.held = new uint256[](tokens.length);
        out.insuranceHoldings = new uint256[](tokens.length);
        out.totalDeposits = new uint256[](tokens.length);
        for (uint256 t = 0; t < tokens.length; ++t) {
            out.held[t] = IERC20(tokens[t]).balanceOf(address(vault));
            out.insuranceHoldings[t] = vault.insuranceTokenBalance(tokens[t]);
            out.totalDeposits[t] = vault.collateralConfig(tokens[t]).totalDeposits;
        }
    }
}
