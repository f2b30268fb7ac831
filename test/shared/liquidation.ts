import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ClearingHouse, IClearingHouse, MockERC20, Vault } from "../../typechain-types";
import { units } from "./fixtures";
import { snapshotLedger, type LedgerSnapshot, type LedgerToken } from "./ledger";
import { protocolFixture, type ProtocolFixture } from "./protocol";

/** A decimal number written out, in WAD: W("1553.649325") = 1553.649325e18 (negative allowed). */
export const W = (decimal: string): bigint => ethers.parseUnits(decimal, 18);
/** A decimal number of USDC, in its 6-decimal units: U("204.009259") = 204_009_259. */
export const U = (decimal: string): bigint => ethers.parseUnits(decimal, 6);
/** A feed answer (8 decimals) written out: P("2720.12345678"). */
export const P = (decimal: string): bigint => ethers.parseUnits(decimal, 8);
/** bytes32 field name of InvalidLiquidationParam. */
export const field = (name: string): string => ethers.encodeBytes32String(name);

export interface LiquidationFixture extends ProtocolFixture {
  keeper: HardhatEthersSigner;
  keeper2: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  dave: HardhatEthersSigner;
  operator: HardhatEthersSigner;
}

/**
 * protocolFixture with funding switched off in all three markets (maxFundingRatePerDay = 0, every
 * other parameter as configured), so that every figure of a liquidation can be written out to the
 * wei: no second of funding moves between two blocks. Fill premium and taker fee stay as in
 * DESIGN §13. Tests about funding use protocolFixture itself.
 */
export async function liquidationFixture(): Promise<LiquidationFixture> {
  const f = await protocolFixture();
  for (let id = 1n; id <= (await f.clearingHouse.marketCount()); id++) await fundingOff(f.clearingHouse, id);
  const signers = await ethers.getSigners();
  return {
    ...f,
    keeper: signers[5],
    keeper2: signers[6],
    carol: signers[7],
    dave: signers[8],
    operator: signers[9],
  };
}

/** Re-configures a market with its own parameters except maxFundingRatePerDay = 0 (owner-connected contract). */
export async function fundingOff(clearingHouse: ClearingHouse, marketId: bigint) {
  const p = await clearingHouse.marketParams(marketId);
  await clearingHouse.setMarketParams(marketId, {
    oracle: p.oracle,
    group: p.group,
    skewScale: p.skewScale,
    takerFee: p.takerFee,
    maxFundingRatePerDay: 0n,
    maxLongOpenInterest: p.maxLongOpenInterest,
    maxShortOpenInterest: p.maxShortOpenInterest,
    maxPriceDeviation: p.maxPriceDeviation,
    tiers: p.tiers.map((t) => ({
      upToNotional: t.upToNotional,
      mmRate: t.mmRate,
      imRate: t.imRate,
    })),
  });
}

/** Mints `usdc` (6-decimal units) to `from` and deposits it into the insurance fund. */
export async function fundInsurance(f: Pick<ProtocolFixture, "vault" | "usdc" | "owner">, usdc: bigint) {
  await f.usdc.mint(f.owner.address, usdc);
  await f.usdc.connect(f.owner).approve(f.vault, usdc);
  await f.vault.connect(f.owner).depositInsurance(usdc);
}

/** Mints `usdc` (6-decimal units) to a liquidator and approves the Vault (collateral liquidation pulls from it). */
export async function armLiquidator(usdcToken: MockERC20, vault: Vault, liquidator: HardhatEthersSigner, usdc: bigint) {
  await usdcToken.mint(liquidator.address, usdc);
  await usdcToken.connect(liquidator).approve(vault, ethers.MaxUint256);
}

/** A new Cross account of `signer`; returns its id. */
export async function newAccount(vault: Vault, signer: HardhatEthersSigner): Promise<bigint> {
  await vault.connect(signer).createAccount(0);
  return vault.accountCount();
}

/**
 * Everything a rejected liquidation-engine call could have moved: the Vault ledger (snapshotLedger),
 * every position with its funding index, each market's open interest, skew, funding state, circuit
 * breaker and rate-limit counters, and the liquidation parameters. (marketSafety's windowStart is
 * left out: with no window running it reads as the current block time.)
 */
export interface StateSnapshot {
  ledger: LedgerSnapshot;
  positions: Record<string, bigint[]>;
  markets: Record<string, unknown[]>;
  params: unknown[];
}

export interface Engine {
  vault: Vault;
  clearingHouse: ClearingHouse;
  tokens: LedgerToken[];
}

export async function snapshotState(e: Engine, holders: string[] = []): Promise<StateSnapshot> {
  const ledger = await snapshotLedger(e.vault, e.tokens, holders);
  const accounts = await e.vault.accountCount();
  const marketCount = await e.clearingHouse.marketCount();
  const positions: StateSnapshot["positions"] = {};
  const markets: StateSnapshot["markets"] = {};
  for (let m = 1n; m <= marketCount; m++) {
    for (let id = 1n; id <= accounts; id++) {
      const [size, openNotional] = await e.clearingHouse.positionOf(id, m);
      positions[`${id}/${m}`] = [size, openNotional, await e.clearingHouse.positionFundingIndex(id, m)];
    }
    const s = await e.clearingHouse.marketState(m);
    const safety = await e.clearingHouse.marketSafety(m);
    markets[m.toString()] = [
      s.skew,
      s.longOpenInterest,
      s.shortOpenInterest,
      s.openNotionalSum,
      s.fundingRate,
      s.lastFundingTime,
      safety.referencePrice,
      safety.reduceOnly,
      safety.reduceOnlyUntil,
      safety.rateLimitCap,
      safety.rateLimitWindow,
      safety.windowLiquidated,
    ];
  }
  for (let id = 1n; id <= accounts; id++) markets[`mask/${id}`] = [await e.vault.marketMask(id)];
  const lp = await e.clearingHouse.liquidationParams();
  const params = [
    lp.liquidationFee,
    lp.keeperShare,
    lp.closeFactor,
    lp.fullLiquidationThreshold,
    lp.dustThreshold,
    lp.collateralDiscount,
    await e.clearingHouse.circuitBreakerTimeout(),
  ];
  return { ledger, positions, markets, params };
}

/** Asserts that nothing in the snapshot moved (a rejected call). */
export async function expectStateUnchanged(e: Engine, before: StateSnapshot, holders: string[] = []) {
  const after = await snapshotState(e, holders);
  expect(after.ledger, "a rejected call changed the ledger").to.deep.equal(before.ledger);
  expect(after.positions, "a rejected call changed a position").to.deep.equal(before.positions);
  expect(after.markets, "a rejected call changed a market").to.deep.equal(before.markets);
  expect(after.params, "a rejected call changed the parameters").to.deep.equal(before.params);
}

/** The default liquidation parameters (DESIGN §13), in the struct's field order. */
export const DEFAULT_LIQUIDATION_PARAMS: IClearingHouse.LiquidationParamsStruct = {
  liquidationFee: units(1, 16),
  keeperShare: units(5, 17),
  closeFactor: units(5, 17),
  fullLiquidationThreshold: units(5, 17),
  dustThreshold: units(100, 18),
  collateralDiscount: units(5, 16),
};
