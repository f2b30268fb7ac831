import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionReceipt, Interface, LogDescription } from "ethers";
import fc from "fast-check";
import * as mm from "../src/math/margin";
import * as lq from "../src/math/liquidation";
import { WAD } from "../src/math/fixedPoint";
import { readAccountSnapshot, snapshotMargin, type AccountSnapshot } from "../src/protocol/margin";
import { readAccountCollateral, type AccountCollateral } from "../src/protocol/collateral";
import { deployFeed, deployOracle, units } from "./shared/fixtures";
import { expectConservation } from "./shared/ledger";
import { TIERS, protocolFixture, type ProtocolFixture } from "./shared/protocol";

const SEED = Number(process.env.FC_SEED ?? 20_261_124);
/** Random accounts taken through liquidation (each: several liquidations, maybe collateral and bad debt). */
const CASES = Number(process.env.FC_LIQUIDATIONS ?? 60);

const { SIZE_STEP } = lq;
const MAX_UINT = ethers.MaxUint256;
const GAS = { gasLimit: 6_000_000 }; // sent without estimation: a refused call is mined too, at the block time set
/**
 * The test re-points the three markets and the WETH / WBTC collateral at 18-decimal feeds, so that
 * prices have wei precision and every rounding of the engine bites (with 8-decimal feeds a notional
 * of whole lots is always an exact multiple of 100 wei).
 */
const FEED_UNIT = WAD;
const BASE = [3_000n, 60_000n, 2_990n]; // USD: ETH, BTC, STETH (market ids 1, 2, 3)
const GROUP_OFFSETS: Record<number, bigint> = { 1: (WAD * 8n) / 10n };
const GROUPS = [1, 0, 1];
const TIERS_TS: mm.Tier[] = TIERS.map((t) => ({
  upToNotional: BigInt(t.upToNotional),
  mmRate: BigInt(t.mmRate),
  imRate: BigInt(t.imRate),
}));

/* ---------------------------------------------------------------------------------------------
 * Random cases
 * ------------------------------------------------------------------------------------------- */

type Caller = "keeper" | "owner" | "operator";

type MaxSizeSpec =
  | { kind: "max" }
  | { kind: "allowed" }
  | { kind: "fraction"; permille: number; sub: bigint }
  | { kind: "lots"; n: number; sub: bigint }
  | { kind: "dust"; pick: number };

type RepaySpec =
  | { kind: "max" }
  | { kind: "debt" }
  | { kind: "fraction"; permille: number }
  | { kind: "tiny"; n: number }
  | { kind: "zero" };

const subLot = fc.bigInt({ min: 0n, max: SIZE_STEP - 1n });
const maxSizeSpec: fc.Arbitrary<MaxSizeSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "max" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "allowed" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("fraction" as const),
      permille: fc.integer({ min: 0, max: 1_500 }),
      sub: subLot,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("lots" as const),
      n: fc.integer({ min: 0, max: 3 }),
      sub: subLot,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("dust" as const),
      pick: fc.nat(),
    }),
  },
);
const repaySpec: fc.Arbitrary<RepaySpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: "max" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "debt" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("fraction" as const),
      permille: fc.integer({ min: 1, max: 1_200 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("tiny" as const),
      n: fc.integer({ min: 1, max: 50 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "zero" as const }) },
);

/** Position notional at the base price, USD: none, around the $100 dust threshold, medium, across tiers. */
const positionUsd = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 20, max: 400 }) },
  { weight: 4, arbitrary: fc.integer({ min: 400, max: 200_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 200_000, max: 2_000_000 }) },
);
const position = fc.record({
  usd: positionUsd,
  long: fc.boolean(),
  jitter: fc.integer({ min: 0, max: 999 }),
});
/**
 * How far past the least adverse move that makes the account liquidatable the prices go, basis
 * points: just past it (a partial liquidation), past the full-liquidation threshold, underwater.
 */
const overshoot = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 3, arbitrary: fc.integer({ min: 60, max: 400 }) },
  { weight: 3, arbitrary: fc.integer({ min: 400, max: 2_500 }) },
);

/** Rates are whole millionths (1e12 in WAD), the dust threshold whole dollars: the stored granularity. */
const PPM = 10n ** 12n;
const ppm = (min: bigint, max: bigint) => fc.bigInt({ min: min / PPM, max: max / PPM }).map((v) => v * PPM);

/** Random liquidation parameters within the contract's bounds and granularity, extremes included. */
const liquidationParams: fc.Arbitrary<lq.LiquidationParams> = fc.record({
  liquidationFee: fc.oneof(fc.constant(0n), ppm(PPM, WAD / 10n)),
  keeperShare: fc.oneof(fc.constantFrom(0n, WAD), ppm(0n, WAD)),
  closeFactor: fc.oneof(fc.constantFrom(PPM, WAD), ppm(PPM, WAD)),
  fullLiquidationThreshold: fc.oneof(fc.constantFrom(0n, WAD), ppm(0n, WAD)),
  dustThreshold: fc
    .oneof(
      { weight: 1, arbitrary: fc.constant(0n) },
      { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 1_000n }) },
      { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 1_000_000n }) },
    )
    .map((dollars) => dollars * WAD),
  collateralDiscount: ppm(0n, WAD / 5n),
});

const liquidationCase = fc.record({
  /** null: the defaults (DESIGN §13). */
  params: fc.option(liquidationParams, { freq: 2 }),
  /** Sub-dollar noise (wei) on each market price once moved, so that every rounding is exercised. */
  priceNoise: fc.tuple(
    fc.bigInt({ min: 0n, max: WAD - 1n }),
    fc.bigInt({ min: 0n, max: WAD - 1n }),
    fc.bigInt({ min: 0n, max: WAD - 1n }),
  ),
  positions: fc.tuple(position, position, position).filter((ps) => ps.some((q) => q.usd > 0)),
  /** Collateral mix weights USDC / WETH / WBTC. */
  mix: fc.tuple(fc.nat(10), fc.nat(10), fc.nat(10)),
  /** Collateral (haircut value) in thousandths of the largest IM met while opening. */
  cushion: fc.integer({ min: 1_020, max: 2_000 }),
  elapsed: fc.integer({ min: 1, max: 3 * 86_400 }),
  /** Relative weight of each market's adverse move (longs: price down, shorts: up). */
  moveWeights: fc.tuple(
    fc.integer({ min: 1, max: 100 }),
    fc.integer({ min: 1, max: 100 }),
    fc.integer({ min: 1, max: 100 }),
  ),
  overshoot,
  steps: fc.array(
    fc.record({
      market: fc.nat(),
      maxSize: maxSizeSpec,
      caller: fc.constantFrom<Caller>("keeper", "keeper", "owner", "operator"),
      dt: fc.integer({ min: 1, max: 600 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  /** Keep liquidating (keeper, no cap) while liquidatable, then the owner closes what is left. */
  flatten: fc.boolean(),
  /** Insurance fund set before a bad-debt settlement, in thousandths of the debt (none: as it is). */
  insuranceLevel: fc.option(fc.integer({ min: 0, max: 1_500 })),
  collateralSteps: fc.array(fc.record({ token: fc.constantFrom("weth", "wbtc"), repay: repaySpec }), {
    maxLength: 3,
  }),
  badDebt: fc.boolean(),
});
type LiquidationCase = typeof liquidationCase extends fc.Arbitrary<infer T> ? T : never;

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

const eventsOf = (receipt: ContractTransactionReceipt, contract: { interface: Interface }, address: string) =>
  receipt.logs
    .filter((l) => l.address === address)
    .map((l) => contract.interface.parseLog(l))
    .filter((e): e is LogDescription => e !== null);

/** |price − ref| × WAD > maxDeviation × ref: ClearingHouse._deviates. */
const deviates = (price: bigint, ref: bigint, maxDeviation: bigint) =>
  (price > ref ? price - ref : ref - price) * WAD > maxDeviation * ref;

/**
 * The snapshot with every market's funding index carried from the snapshot's block time `from` to
 * `to`: marketState's index is the stored one plus fundingIndexDelta(rate, price, from − last), so
 * the stored one, and the index at `to`, follow exactly.
 */
function snapshotAt(
  snapshot: AccountSnapshot,
  states: Map<bigint, { fundingRate: bigint; lastFundingTime: bigint }>,
  from: bigint,
  to: bigint,
): AccountSnapshot {
  return {
    ...snapshot,
    positions: snapshot.positions.map((p) => {
      const s = states.get(p.marketId)!;
      const stored = p.fundingIndex - mm.fundingIndexDelta(s.fundingRate, p.price, from - s.lastFundingTime);
      return {
        ...p,
        fundingIndex: stored + mm.fundingIndexDelta(s.fundingRate, p.price, to - s.lastFundingTime),
      };
    }),
  };
}

/**
 * The mirror's margin of the account if the three feeds answered `answers` (WAD prices) at time
 * `at` (the snapshot's block): positions revalued, funding accrued at the new prices, WETH and WBTC
 * collateral revalued with the ETH and BTC feeds they share with the markets.
 */
function marginAtPrices(
  snapshot: AccountSnapshot,
  collateral: AccountCollateral,
  states: Map<bigint, { fundingRate: bigint; lastFundingTime: bigint }>,
  at: bigint,
  answers: bigint[],
): mm.AccountMargin {
  const price = (m: number) => answers[m];
  const tokenPrice: Record<string, bigint> = { WETH: price(0), WBTC: price(1) };
  const value = collateral.holdings.reduce(
    (sum, h) => sum + mm.collateralValueHaircut({ ...h, price: tokenPrice[h.symbol] }),
    collateral.quoteBalance,
  );
  const positions = snapshot.positions.map((p) => {
    const s = states.get(p.marketId)!;
    const moved = price(Number(p.marketId) - 1);
    const stored = p.fundingIndex - mm.fundingIndexDelta(s.fundingRate, p.price, at - s.lastFundingTime);
    return {
      ...p,
      price: moved,
      fundingIndex: stored + mm.fundingIndexDelta(s.fundingRate, moved, at - s.lastFundingTime),
    };
  });
  return mm.accountMargin(value, positions, snapshot.groupOffsets);
}

function resolveMaxSize(spec: MaxSizeSpec, absLots: bigint, allowed: bigint, price: bigint, dust: bigint): bigint {
  switch (spec.kind) {
    case "max":
      return MAX_UINT;
    case "allowed":
      return allowed * SIZE_STEP;
    case "fraction":
      return ((absLots * BigInt(spec.permille)) / 1_000n) * SIZE_STEP + spec.sub;
    case "lots":
      return BigInt(spec.n) * SIZE_STEP + spec.sub;
    case "dust": {
      // leave r lots whose notional ceil(r × 1e10 × price / 1e18) is at most the dust threshold
      let rMax = (dust * WAD) / (SIZE_STEP * price);
      if (rMax > absLots - 1n) rMax = absLots - 1n;
      if (rMax < 1n) return (absLots - 1n) * SIZE_STEP;
      return (absLots - (1n + (BigInt(spec.pick) % rMax))) * SIZE_STEP;
    }
  }
}

function resolveRepay(spec: RepaySpec, debtUnits: bigint): bigint {
  switch (spec.kind) {
    case "max":
      return MAX_UINT;
    case "debt":
      return debtUnits === 0n ? 1n : debtUnits;
    case "fraction":
      return (debtUnits * BigInt(spec.permille)) / 1_000n;
    case "tiny":
      return BigInt(spec.n);
    case "zero":
      return 0n;
  }
}

/* ---------------------------------------------------------------------------------------------
 * The test
 * ------------------------------------------------------------------------------------------- */

describe("Liquidation engine: Solidity == TypeScript mirror (src/math/liquidation.ts) to the wei", () => {
  it(`${CASES} random accounts liquidated (partial, whole, dust, self-liquidation, shortfall), then collateral liquidation and bad debt`, async () => {
    const f = await loadFixture(protocolFixture);
    const ch = f.clearingHouse;
    const signers = await ethers.getSigners();
    const operator = signers[5];
    const keeper = signers[6];
    const callers: Record<Caller, HardhatEthersSigner> = {
      keeper,
      owner: f.alice,
      operator,
    };
    // 18-decimal feeds for the three markets and for WETH / WBTC collateral (same prices as ETH / BTC)
    const feeds = await Promise.all(BASE.map((b, m) => deployFeed(18, b * WAD, `M${m + 1} / USD`)));
    const adapters = await Promise.all(feeds.map((feed) => deployOracle(feed)));
    for (let m = 0; m < 3; m++) {
      const cur = await ch.marketParams(m + 1);
      await ch.setMarketParams(m + 1, {
        oracle: await adapters[m].getAddress(),
        group: cur.group,
        skewScale: cur.skewScale,
        takerFee: cur.takerFee,
        maxFundingRatePerDay: cur.maxFundingRatePerDay,
        maxLongOpenInterest: cur.maxLongOpenInterest,
        maxShortOpenInterest: cur.maxShortOpenInterest,
        maxPriceDeviation: cur.maxPriceDeviation,
        tiers: cur.tiers.map((t) => ({
          upToNotional: t.upToNotional,
          mmRate: t.mmRate,
          imRate: t.imRate,
        })),
      });
    }
    const chAddress = await ch.getAddress();
    const vaultAddress = await f.vault.getAddress();
    const tokens = { weth: f.weth, wbtc: f.wbtc };
    const oracles = { weth: adapters[0], wbtc: adapters[1] };
    const ledgerTokens = [f.usdc, f.weth, f.wbtc];

    for (const token of [f.usdc, f.weth, f.wbtc]) {
      await token.mint(f.alice.address, 10n ** 40n);
      await token.connect(f.alice).approve(f.vault, MAX_UINT);
    }
    for (const signer of [keeper, f.owner]) {
      await f.usdc.mint(signer.address, 10n ** 30n);
      await f.usdc.connect(signer).approve(f.vault, MAX_UINT);
    }
    // WETH and WBTC valued with the new ETH and BTC feeds; deposit caps far above what the runs reach
    await f.vault.setCollateralConfig(f.weth, adapters[0], WAD / 10n, 10n ** 36n, true);
    await f.vault.setCollateralConfig(f.wbtc, adapters[1], (WAD * 15n) / 100n, 10n ** 36n, true);

    /** The parameters in force (set per case); the constructor's are the mirror's defaults. */
    const readParams = async (): Promise<lq.LiquidationParams> => {
      return lq.toLiquidationParams(await ch.liquidationParams());
    };
    let lp = await readParams();
    expect(lp).to.deep.equal(lq.DEFAULT_LIQUIDATION_PARAMS);

    const stats: Record<string, number> = {};
    const count = (key: string) => (stats[key] = (stats[key] ?? 0) + 1);

    /** One liquidation of (id, marketId) at `dt` seconds after the latest block, chain vs mirror. */
    async function liquidateOnce(
      id: bigint,
      marketId: bigint,
      spec: MaxSizeSpec,
      who: Caller,
      dt: number,
    ): Promise<void> {
      const caller = callers[who];
      const from = BigInt(await time.latest());
      const to = from + BigInt(dt);
      const snapshot = await readAccountSnapshot(f.vault, ch, id);
      const states = new Map<bigint, { fundingRate: bigint; lastFundingTime: bigint }>();
      for (const p of snapshot.positions) states.set(p.marketId, await ch.marketState(p.marketId));

      // liquidationSize at the snapshot's block == closableLots of the mirror's margin there
      const marginNow = snapshotMargin(snapshot);
      const onChain = await ch.accountMargin(id);
      expect([onChain.equity, onChain.maintenanceMargin, onChain.notional], "accountMargin").to.deep.equal([
        marginNow.equity,
        marginNow.maintenanceMargin,
        marginNow.notional,
      ]);
      const here = snapshot.positions.find((p) => p.marketId === marketId)!;
      const closableNow = lq.closableLots(marginNow, here.size / SIZE_STEP, here.price, lp);
      const [sizeNow, wholeNow] = await ch.liquidationSize(id, marketId);
      expect([sizeNow, wholeNow], "liquidationSize").to.deep.equal(
        lq.isLiquidatable(marginNow) ? [closableNow.allowed * SIZE_STEP, closableNow.whole] : [0n, false],
      );

      // the mirror at the liquidation's block time
      const later = snapshotAt(snapshot, states, from, to);
      const margin = snapshotMargin(later);
      const p = later.positions.find((q) => q.marketId === marketId)!;
      const absLots = (p.size < 0n ? -p.size : p.size) / SIZE_STEP;
      const { allowed } = lq.closableLots(margin, absLots, p.price, lp);
      const maxSize = resolveMaxSize(spec, absLots, allowed, p.price, lp.dustThreshold);
      const plan = lq.planLiquidation({
        margin,
        position: {
          size: p.size,
          openNotional: p.openNotional,
          entryFundingIndex: p.entryFundingIndex,
        },
        fundingIndex: p.fundingIndex,
        price: p.price,
        maxSize,
        callerIsOwnerOrOperator: who !== "keeper",
        params: lp,
      });

      const safety = await ch.marketSafety(marketId);
      const before = {
        quote: await f.vault.quoteBalance(id),
        pool: await f.vault.poolBalance(),
        insurance: await f.vault.insuranceFund(),
        keeper: await f.usdc.balanceOf(caller.address),
      };
      await time.setNextBlockTimestamp(to);
      const call = ch.connect(caller).liquidate(id, marketId, maxSize, GAS);
      const where = `account ${id} market ${marketId} maxSize ${maxSize} caller ${who} at ${to}`;
      if (!plan.ok) {
        count(`liquidate refused: ${plan.error}`);
        switch (plan.error) {
          case "AccountNotLiquidatable":
            await expect(call, where)
              .to.be.revertedWithCustomError(ch, "AccountNotLiquidatable")
              .withArgs(id, plan.equity, plan.maintenanceMargin);
            break;
          case "ZeroSize":
            await expect(call, where).to.be.revertedWithCustomError(ch, "ZeroSize");
            break;
          case "LiquidationLeavesDust":
            await expect(call, where)
              .to.be.revertedWithCustomError(ch, "LiquidationLeavesDust")
              .withArgs(id, marketId, plan.remainingNotional);
            break;
          case "NoPosition":
            throw new Error("the test liquidates open positions only");
        }
        expect(await f.vault.quoteBalance(id)).to.equal(before.quote);
        return;
      }

      const receipt = (await (await call).wait())!;
      expect((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp, "block time").to.equal(Number(to));
      const events = eventsOf(receipt, ch, chAddress);
      const liquidated = events.filter((e) => e.name === "Liquidated");
      expect(liquidated.length, where).to.equal(1);
      expect(
        events.some((e) => e.name === "PositionChanged"),
        "a liquidation emits no PositionChanged",
      ).to.equal(false);
      const a = liquidated[0].args;
      expect(
        {
          accountId: a.accountId,
          marketId: a.marketId,
          liquidator: a.liquidator,
          closedSize: a.closedSize,
          price: a.price,
          realizedPnl: a.realizedPnl,
          fundingPaid: a.fundingPaid,
          penalty: a.penalty,
          keeperReward: a.keeperReward,
          insuranceFee: a.insuranceFee,
          shortfall: a.shortfall,
          equityBefore: a.equityBefore,
          newSize: a.newSize,
        },
        `Liquidated event, ${where}`,
      ).to.deep.equal({
        accountId: id,
        marketId,
        liquidator: caller.address,
        closedSize: plan.closedSize,
        price: p.price,
        realizedPnl: plan.realizedPnl,
        fundingPaid: plan.fundingPaid,
        penalty: plan.penalty,
        keeperReward: plan.keeperReward,
        insuranceFee: plan.insuranceFee,
        shortfall: plan.shortfall,
        equityBefore: plan.equityBefore,
        newSize: plan.newSize,
      });
      expect(
        {
          quote: (await f.vault.quoteBalance(id)) - before.quote,
          pool: (await f.vault.poolBalance()) - before.pool,
          insurance: (await f.vault.insuranceFund()) - before.insurance,
          keeper: (await f.usdc.balanceOf(caller.address)) - before.keeper,
        },
        `ledger moves, ${where}`,
      ).to.deep.equal({
        quote: plan.quoteDelta,
        pool: plan.poolDelta,
        insurance: plan.insuranceDelta,
        keeper: plan.keeperTokens,
      });
      expect(await ch.positionOf(id, marketId), "position after").to.deep.equal([plan.newSize, plan.newOpenNotional]);
      expect(await ch.positionFundingIndex(id, marketId)).to.equal(plan.newEntryFundingIndex);
      expect((await ch.accountMarkets(id)).includes(marketId)).to.equal(!plan.positionClosed);
      // circuit breaker: a liquidation never reverts on it, trips it beyond the band, re-anchors it
      const trips =
        !safety.reduceOnly &&
        safety.referencePrice !== 0n &&
        deviates(p.price, safety.referencePrice, safety.maxPriceDeviation);
      expect(
        events.some((e) => e.name === "CircuitBreakerTripped"),
        "CircuitBreakerTripped",
      ).to.equal(trips);
      expect((await ch.marketSafety(marketId)).referencePrice).to.equal(p.price);

      count("liquidated");
      if (plan.whole) count("liquidated: whole allowed");
      else count("liquidated: partial cap");
      if (plan.positionClosed) count("liquidated: position closed");
      if (plan.shortfall > 0n) count("liquidated: shortfall");
      if (plan.equityBefore < 0n) count("liquidated: negative equity");
      if (
        who !== "keeper" &&
        plan.keeperReward < lq.liquidationPayout(plan.closedNotional, plan.equityBefore, lp, false).keeperReward
      ) {
        count("liquidated: self-liquidation cap bound");
      }
      if (plan.fundingPaid !== 0n) count("liquidated: funding settled");
      if (trips) count("liquidated: breaker tripped");
    }

    /** One Vault.liquidateCollateral through the ClearingHouse, chain vs mirror. */
    async function liquidateCollateralOnce(id: bigint, which: "weth" | "wbtc", spec: RepaySpec): Promise<void> {
      const token = tokens[which];
      const quote = await f.vault.quoteBalance(id);
      const debtUnits = quote < 0n ? (-quote + 10n ** 12n - 1n) / 10n ** 12n : 0n;
      const repayAmount = resolveRepay(spec, debtUnits);
      const balance = await f.vault.balanceOf(id, token);
      const price = await oracles[which].price();
      const decimals = Number(await token.decimals());
      const expected = lq.collateralLiquidation(quote, repayAmount, balance, decimals, price, lp.collateralDiscount);
      const before = {
        insurance: await f.vault.insuranceFund(),
        keeperUsdc: await f.usdc.balanceOf(keeper.address),
        keeperToken: await token.balanceOf(keeper.address),
      };
      const call = ch.connect(keeper).liquidateCollateral(id, token, repayAmount, GAS);
      const where = `collateral liquidation of account ${id}, ${which}, repay ${repayAmount}, quote ${quote}, balance ${balance}, price ${price}`;
      if (!expected.ok) {
        count(`liquidateCollateral refused: ${expected.error}`);
        switch (expected.error) {
          case "ZeroAmount":
            await expect(call, where).to.be.revertedWithCustomError(f.vault, "ZeroAmount");
            break;
          case "NoDebt":
            await expect(call, where)
              .to.be.revertedWithCustomError(f.vault, "NoDebt")
              .withArgs(id, expected.quoteBalance);
            break;
          case "NoCollateral":
            await expect(call, where)
              .to.be.revertedWithCustomError(f.vault, "NoCollateral")
              .withArgs(id, await token.getAddress());
            break;
          case "NothingToSeize":
            await expect(call, where)
              .to.be.revertedWithCustomError(f.vault, "NothingToSeize")
              .withArgs(id, await token.getAddress(), repayAmount);
            break;
        }
        return;
      }
      const receipt = (await (await call).wait())!;
      const events = eventsOf(receipt, f.vault, vaultAddress).filter((e) => e.name === "CollateralLiquidated");
      expect(events.length).to.equal(1);
      const a = events[0].args;
      expect([a.accountId, a.token, a.liquidator, a.repaid, a.seized, a.price], where).to.deep.equal([
        id,
        await token.getAddress(),
        keeper.address,
        expected.repaid,
        expected.seized,
        price,
      ]);
      expect(
        {
          quote: await f.vault.quoteBalance(id),
          balance: await f.vault.balanceOf(id, token),
          insurance: (await f.vault.insuranceFund()) - before.insurance,
          keeperUsdc: before.keeperUsdc - (await f.usdc.balanceOf(keeper.address)),
          keeperToken: (await token.balanceOf(keeper.address)) - before.keeperToken,
        },
        where,
      ).to.deep.equal({
        quote: expected.quoteAfter,
        balance: balance - expected.seized,
        insurance: expected.insuranceExcess,
        keeperUsdc: expected.repaid,
        keeperToken: expected.seized,
      });
      count("collateral liquidated");
      if (expected.seized === balance) count("collateral liquidated: whole balance");
      if (expected.quoteAfter === 0n) count("collateral liquidated: debt cleared");
      if (expected.insuranceExcess > 0n) count("collateral liquidated: sub-unit excess to insurance");
    }

    /** One Vault.settleBadDebt through the ClearingHouse, chain vs mirror. */
    async function settleBadDebtOnce(id: bigint): Promise<void> {
      const collateral = await readAccountCollateral(f.vault, id);
      const insurance = await f.vault.insuranceFund();
      const pool = await f.vault.poolBalance();
      const expected = lq.badDebtWaterfall(
        collateral.quoteBalance,
        collateral.holdings.map((h) => h.value),
        insurance,
      );
      // read before sending: the transaction may be mined while later reads are still in flight
      const insuranceTokens = await Promise.all(collateral.holdings.map((h) => f.vault.insuranceTokenBalance(h.token)));
      const call = ch.connect(keeper).settleBadDebt(id, GAS);
      if (!expected.ok) {
        count("settleBadDebt refused: NoBadDebt");
        await expect(call).to.be.revertedWithCustomError(f.vault, "NoBadDebt").withArgs(id, expected.value);
        return;
      }
      const receipt = (await (await call).wait())!;
      const events = eventsOf(receipt, f.vault, vaultAddress);
      const summary = events.map((e) => [e.name, ...e.args.toArray()]);
      const want: unknown[][] = [["BadDebtSettled", id, expected.debt, expected.deficit]];
      if (expected.covered > 0n) want.push(["BadDebtCovered", id, expected.covered]);
      if (expected.socialized > 0n) want.push(["BadDebtSocialized", id, expected.socialized]);
      for (const h of collateral.holdings) want.push(["CollateralSeized", id, h.token, h.balance]);
      expect(summary, `bad debt of account ${id}`).to.deep.equal(want);
      expect({
        quote: await f.vault.quoteBalance(id),
        insurance: insurance - (await f.vault.insuranceFund()),
        pool: pool - (await f.vault.poolBalance()),
        balances: await Promise.all(collateral.holdings.map((h) => f.vault.balanceOf(id, h.token))),
        insuranceTokens: await Promise.all(collateral.holdings.map((h) => f.vault.insuranceTokenBalance(h.token))),
      }).to.deep.equal({
        quote: 0n,
        insurance: expected.covered,
        pool: expected.socialized,
        balances: collateral.holdings.map(() => 0n),
        insuranceTokens: collateral.holdings.map((h, i) => insuranceTokens[i] + h.balance),
      });
      count("bad debt settled");
      if (expected.covered > 0n) count("bad debt: covered by insurance");
      if (expected.socialized > 0n) count("bad debt: socialized");
      if (collateral.holdings.length > 0) count("bad debt: tokens seized");
    }

    const started = Date.now();
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(liquidationCase, async (c: LiquidationCase) => {
        await ch.setLiquidationParams(c.params ?? lq.DEFAULT_LIQUIDATION_PARAMS);
        lp = await readParams();
        expect(lp).to.deep.equal(c.params ?? lq.DEFAULT_LIQUIDATION_PARAMS);
        if (c.params !== null) count("cases with random liquidation parameters");
        // base prices, breakers re-anchored there (a previous case may have tripped them), so that
        // the positions below open within the band
        for (let m = 0; m < 3; m++) {
          await feeds[m].updateAnswer(BASE[m] * FEED_UNIT);
          await ch.clearCircuitBreaker(m + 1);
        }
        await f.vault.connect(f.alice).createAccount(0);
        const id = await f.vault.accountCount();
        await f.vault.connect(f.alice).setOperator(id, operator.address, true);

        // sizes in whole lots; collateral: cushion × the largest IM met while opening, plus fees
        const sizes = c.positions.map((q, m) => {
          if (q.usd === 0) return 0n;
          const lots = (BigInt(q.usd) * (WAD / SIZE_STEP)) / BASE[m] + BigInt(q.jitter);
          return (q.long ? lots : -lots) * SIZE_STEP;
        });
        const opened: mm.PositionInput[] = [];
        let im = 0n;
        let gross = 0n;
        for (let m = 0; m < 3; m++) {
          if (sizes[m] === 0n) continue;
          const price = BASE[m] * WAD;
          opened.push({
            size: sizes[m],
            openNotional: -mm.notional(sizes[m], price) * (sizes[m] > 0n ? 1n : -1n),
            entryFundingIndex: 0n,
            fundingIndex: 0n,
            price,
            tiers: TIERS_TS,
            group: GROUPS[m],
          });
          const need = mm.accountMargin(0n, opened, GROUP_OFFSETS).initialMargin;
          if (need > im) im = need;
          gross += mm.notional(sizes[m], price);
        }
        const target = (im * BigInt(c.cushion)) / 1_000n + gross / 200n + 10n * WAD;
        const [wU, wE, wB] = c.mix;
        const weights = BigInt(wU + wE + wB);
        let weth = 0n;
        let wbtc = 0n;
        if (weights > 0n) {
          weth = (((target * BigInt(wE)) / weights) * WAD) / ((BASE[0] * WAD * 9n) / 10n);
          wbtc = (((target * BigInt(wB)) / weights) * 10n ** 8n) / ((BASE[1] * WAD * 85n) / 100n);
        }
        const tokenValue =
          mm.collateralValueHaircut({
            balance: weth,
            decimals: 18,
            price: BASE[0] * WAD,
            haircut: WAD / 10n,
          }) +
          mm.collateralValueHaircut({
            balance: wbtc,
            decimals: 8,
            price: BASE[1] * WAD,
            haircut: (WAD * 15n) / 100n,
          });
        const usdc = (target - tokenValue + 10n ** 12n - 1n) / 10n ** 12n;
        if (usdc > 0n) await f.vault.connect(f.alice).deposit(id, f.usdc, usdc);
        if (weth > 0n) await f.vault.connect(f.alice).deposit(id, f.weth, weth);
        if (wbtc > 0n) await f.vault.connect(f.alice).deposit(id, f.wbtc, wbtc);
        for (let m = 0; m < 3; m++) {
          if (sizes[m] !== 0n) await ch.connect(f.alice).openPosition(id, m + 1, sizes[m], 0);
        }
        await time.increase(c.elapsed);

        // Adverse moves: market m moves by scale × weight[m] / (heaviest weight traded) bps. The
        // least scale at which the mirror finds the account liquidatable is found off-chain (by
        // bisection), then overshot; the feeds are set once.
        for (let m = 0; m < 3; m++) await feeds[m].updateAnswer(BASE[m] * FEED_UNIT); // fresh again
        const at = BigInt(await time.latest());
        const snapshot = await readAccountSnapshot(f.vault, ch, id);
        const collateral = await readAccountCollateral(f.vault, id);
        const states = new Map<bigint, { fundingRate: bigint; lastFundingTime: bigint }>();
        for (const p of snapshot.positions) states.set(p.marketId, await ch.marketState(p.marketId));
        const heaviest = Math.max(...c.moveWeights.filter((_, m) => sizes[m] !== 0n));
        const answersAt = (scale: number) =>
          BASE.map((b, m) => {
            const bps = BigInt(Math.floor((scale * c.moveWeights[m]) / heaviest));
            const signed = sizes[m] > 0n ? -bps : sizes[m] < 0n ? bps : 0n;
            return (b * FEED_UNIT * (10_000n + signed)) / 10_000n + c.priceNoise[m];
          });
        const liquidatableAt = (scale: number) =>
          lq.isLiquidatable(marginAtPrices(snapshot, collateral, states, at, answersAt(scale)));
        let low = 0;
        let high = 9_000;
        if (liquidatableAt(low)) high = 0;
        else if (!liquidatableAt(high)) {
          low = high;
          count("no move up to 90 % makes it liquidatable");
        }
        while (high - low > 1) {
          const mid = (low + high) >> 1;
          if (liquidatableAt(mid)) high = mid;
          else low = mid;
        }
        const answers = answersAt(Math.min(high + c.overshoot, 9_000));
        for (let m = 0; m < 3; m++) await feeds[m].updateAnswer(answers[m]);

        // the random liquidations
        for (const step of c.steps) {
          const markets = await ch.accountMarkets(id);
          if (markets.length === 0) break;
          await liquidateOnce(id, markets[step.market % markets.length], step.maxSize, step.caller, step.dt);
        }
        let flat = (await ch.accountMarkets(id)).length === 0;
        if (c.flatten && !flat) {
          for (let i = 0; i < 8; i++) {
            const markets = await ch.accountMarkets(id);
            if (markets.length === 0) break;
            if (!(await ch.accountMargin(id)).liquidatable) break;
            await liquidateOnce(id, markets[0], { kind: "max" }, "keeper", 1 + (i % 7));
          }
          for (const marketId of await ch.accountMarkets(id)) {
            // a reducing trade may be refused (MarginRatioWorsened): then this case stops here
            await ch
              .connect(f.alice)
              .closePosition(id, marketId, 0)
              .then(
                () => count("owner closed the rest"),
                () => count("owner close refused"),
              );
          }
          flat = (await ch.accountMarkets(id)).length === 0;
        }

        if (flat) {
          count("flat");
          if ((await f.vault.quoteBalance(id)) < 0n) count("flat with debt");
          for (const step of c.collateralSteps)
            await liquidateCollateralOnce(id, step.token as "weth" | "wbtc", step.repay);
          if (c.badDebt) {
            const quote = await f.vault.quoteBalance(id);
            if (c.insuranceLevel !== null && quote < 0n) {
              // the owner tops the fund up or withdraws from it: covered in full, in part, or not at all
              const wanted = ((-quote * BigInt(c.insuranceLevel)) / 1_000n / 10n ** 12n) * 10n ** 12n;
              const fund = await f.vault.insuranceFund();
              if (fund > wanted) await f.vault.withdrawInsurance(f.usdc, (fund - wanted) / 10n ** 12n, f.owner.address);
              else if (fund < wanted) await f.vault.depositInsurance((wanted - fund) / 10n ** 12n);
            }
            await settleBadDebtOnce(id);
          }
        } else {
          // close what is left, at the moved prices, with enough fresh collateral
          await f.vault.connect(f.alice).deposit(id, f.usdc, units(10_000_000, 6));
          for (const marketId of await ch.accountMarkets(id)) await ch.connect(f.alice).closePosition(id, marketId, 0);
        }
        await expectConservation(f.vault, ledgerTokens);
        cases++;
      }),
      { seed: SEED, numRuns: CASES, endOnFailure: true },
    );
    expect(cases).to.equal(CASES);
    expect(stats["liquidated"] ?? 0).to.be.greaterThan(0);
    console.log(`      seed ${SEED}, ${CASES} cases in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
    for (const key of Object.keys(stats).sort()) console.log(`        ${key}: ${stats[key]}`);
  }).timeout(900_000);
});
