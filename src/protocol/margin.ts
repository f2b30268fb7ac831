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

/** What a market contributes to every account's snapshot, fixed unless governance changes it. */
export interface MarketInputs {
  oracle: string;
  tiers: PositionInput["tiers"];
  group: number;
  /** The group's hedge offset (0 for group 0). */
  offset: bigint;
}

/**
 * Per-market inputs keyed by market id. Pass one to {@link readAccountSnapshot} to read each
 * market's parameters once instead of once per account (valid while no parameter changes).
 */
export type MarketInputsCache = Map<bigint, Promise<MarketInputs>>;

async function marketInputs(clearingHouse: ClearingHouse, marketId: bigint): Promise<MarketInputs> {
  const params = await clearingHouse.marketParams(marketId);
  const group = Number(params.group);
  return {
    oracle: params.oracle,
    tiers: params.tiers.map((t) => ({ upToNotional: t.upToNotional, mmRate: t.mmRate, imRate: t.imRate })),
    group,
    offset: group === 0 ? 0n : await clearingHouse.groupOffset(group),
  };
}

/**
 * Reads an account's collateral value, positions, market parameters, funding indexes (accrued to
 * the latest block) and oracle prices: the inputs of {@link accountMargin}. With `cache`, market
 * parameters and group offsets come from it (and fill it).
 */
export async function readAccountSnapshot(
  vault: Vault,
  clearingHouse: ClearingHouse,
  accountId: bigint,
  cache?: MarketInputsCache,
): Promise<AccountSnapshot> {
  const runner = clearingHouse.runner;
  const positions: PositionView[] = [];
  const groupOffsets: Record<number, bigint> = {};
  for (const marketId of await clearingHouse.accountMarkets(accountId)) {
    let inputs = cache?.get(marketId);
    if (!inputs) {
      inputs = marketInputs(clearingHouse, marketId);
      cache?.set(marketId, inputs);
    }
    const market = await inputs;
    const [[size, openNotional], entryFundingIndex, state, price] = await Promise.all([
      clearingHouse.positionOf(accountId, marketId),
      clearingHouse.positionFundingIndex(accountId, marketId),
      clearingHouse.marketState(marketId),
      ChainlinkOracle__factory.connect(market.oracle, runner).price(),
    ]);
    if (market.group !== 0) groupOffsets[market.group] = market.offset;
    positions.push({
      marketId,
      size,
      openNotional,
      entryFundingIndex,
      fundingIndex: state.fundingIndex,
      price,
      tiers: market.tiers,
      group: market.group,
    });
  }
  return { accountId, collateralValue: await vault.collateralValue(accountId), positions, groupOffsets };
}

/** The mirror's margin figures for a snapshot (equal to ClearingHouse.accountMargin at that block). */
export function snapshotMargin(snapshot: AccountSnapshot): AccountMargin {
  return accountMargin(snapshot.collateralValue, snapshot.positions, snapshot.groupOffsets);
}
