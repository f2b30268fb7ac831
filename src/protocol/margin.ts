import type { ClearingHouse, Vault } from "../../typechain-types";
import { ChainlinkOracle__factory } from "../../typechain-types";
import { accountMargin, type AccountMargin, type PositionInput } from "../math/margin";

/** A position read from the chain, with what the TypeScript mirror needs to value it. */
export interface PositionView extends PositionInput {
  marketId: bigint;
}

/** Everything the margin mirror needs about one account, read from the chain. */
export interface AccountSnapshot {
  accountId: bigint;
  collateralValue: bigint;
  positions: PositionView[];
  groupOffsets: Record<number, bigint>;
}

/**
 * Reads an account's collateral value, positions, market parameters, funding indexes (accrued to
 * the latest block) and oracle prices: the inputs of {@link accountMargin}.
 */
export async function readAccountSnapshot(
  vault: Vault,
  clearingHouse: ClearingHouse,
  accountId: bigint,
): Promise<AccountSnapshot> {
  const runner = clearingHouse.runner;
  const positions: PositionView[] = [];
  const groupOffsets: Record<number, bigint> = {};
  for (const marketId of await clearingHouse.accountMarkets(accountId)) {
    const [[size, openNotional], entryFundingIndex, params, state] = await Promise.all([
      clearingHouse.positionOf(accountId, marketId),
      clearingHouse.positionFundingIndex(accountId, marketId),
      clearingHouse.marketParams(marketId),
      clearingHouse.marketState(marketId),
    ]);
    const group = Number(params.group);
    if (group !== 0 && groupOffsets[group] === undefined) groupOffsets[group] = await clearingHouse.groupOffset(group);
    positions.push({
      marketId,
      size,
      openNotional,
      entryFundingIndex,
      fundingIndex: state.fundingIndex,
      price: await ChainlinkOracle__factory.connect(params.oracle, runner).price(),
      tiers: params.tiers.map((t) => ({ upToNotional: t.upToNotional, mmRate: t.mmRate, imRate: t.imRate })),
      group,
    });
  }
  return { accountId, collateralValue: await vault.collateralValue(accountId), positions, groupOffsets };
}

/** The mirror's margin figures for a snapshot (equal to ClearingHouse.accountMargin at that block). */
export function snapshotMargin(snapshot: AccountSnapshot): AccountMargin {
  return accountMargin(snapshot.collateralValue, snapshot.positions, snapshot.groupOffsets);
}
