import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import * as mm from "../src/math/margin";
import { units } from "./shared/fixtures";
import { TIERS, protocolFixture } from "./shared/protocol";
import { readAccountSnapshot, snapshotMargin } from "../src/protocol/margin";

const SEED = Number(process.env.FC_SEED ?? 20_261_124);
const RUNS = Number(process.env.FC_RUNS ?? 200);
/** Random portfolios compared on-chain vs the mirror (the issue asks for at least 500). */
const PORTFOLIOS = Number(process.env.FC_PORTFOLIOS ?? 500);
const E = (n: number | bigint) => units(n, 18);
const tiers: mm.Tier[] = TIERS.map((t) => ({
  upToNotional: BigInt(t.upToNotional),
  mmRate: BigInt(t.mmRate),
  imRate: BigInt(t.imRate),
}));

const SIZE_STEP = 10n ** 10n;
/** Sizes in whole lots (multiples of 1e-8 of a unit), as the ClearingHouse takes them. */
const lots = (min: bigint, max: bigint) =>
  fc.bigInt({ min: min / SIZE_STEP, max: max / SIZE_STEP }).map((l) => l * SIZE_STEP);
const size = fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n });
const price = fc.bigInt({ min: 10n ** 10n, max: 10n ** 24n });

describe("MarginMath and ClearingHouse: Solidity == TypeScript to the wei", () => {
  const harness = () => ethers.deployContract("MathHarness");

  it("fill price, fee, funding, PnL and trade application over random inputs", async () => {
    const h = await loadFixture(harness);
    await fc.assert(
      fc.asyncProperty(
        price,
        fc.bigInt({ min: -(10n ** 23n), max: 10n ** 23n }),
        size.filter((s) => s !== 0n),
        fc.bigInt({ min: 10n ** 21n, max: 10n ** 25n }),
        fc.bigInt({ min: 0n, max: 10n ** 16n }),
        fc.bigInt({ min: 0n, max: 10n ** 7n }),
        async (p, skew, delta, scale, fee, elapsed) => {
          let fill: bigint;
          try {
            fill = mm.fillPrice(p, skew, delta, scale);
          } catch {
            await expect(h.fillPrice(p, skew, delta, scale)).to.be.revertedWithCustomError(h, "InvalidFillPrice");
            return;
          }
          expect(await h.fillPrice(p, skew, delta, scale)).to.equal(fill);
          expect(await h.takerFee(delta, fill, fee)).to.equal(mm.takerFee(delta, fill, fee));
          const rate = mm.fundingRate(skew, scale, units(1, 17));
          expect(await h.fundingRate(skew, scale, units(1, 17))).to.equal(rate);
          const di = mm.fundingIndexDelta(rate, p, elapsed);
          expect(await h.fundingIndexDelta(rate, p, elapsed)).to.equal(di);
          expect(await h.pendingFunding(delta, di, -di / 3n)).to.equal(mm.pendingFunding(delta, di, -di / 3n));
          expect(await h.unrealizedPnl(delta, -skew * 7n, p)).to.equal(mm.unrealizedPnl(delta, -skew * 7n, p));
          const applied = mm.applyTrade(
            delta,
            -mm.notional(delta, p) * (delta > 0n ? 1n : -1n),
            skew === 0n ? 1n : skew,
            fill,
          );
          expect(
            await h.applyTrade(delta, -mm.notional(delta, p) * (delta > 0n ? 1n : -1n), skew === 0n ? 1n : skew, fill),
          ).to.deep.equal([applied.size, applied.openNotional, applied.realized]);
          const n = mm.notional(delta, p);
          expect(await h.tieredRequirement(n, tiers, false)).to.equal(mm.tieredRequirement(n, tiers, false));
          expect(await h.tieredRequirement(n, tiers, true)).to.equal(mm.tieredRequirement(n, tiers, true));
          const net = n / 3n;
          expect(await h.groupRequirement(n / 40n, n, net, units(8, 17))).to.equal(
            mm.groupRequirement(n / 40n, n, net, units(8, 17)),
          );
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it(`accountMargin of ${PORTFOLIOS} random portfolios (USDC/WETH/WBTC collateral, 3 markets, tiers crossed, hedged and not, funding over time)`, async () => {
    const f = await loadFixture(protocolFixture);
    const ch = f.clearingHouse;
    const feeds = [f.ethFeed, f.btcFeed, f.stethFeed];
    const base = [3_000n, 60_000n, 2_990n];
    for (const token of [f.usdc, f.weth, f.wbtc]) {
      await token.mint(f.alice.address, 10n ** 40n);
      await token.connect(f.alice).approve(f.vault, ethers.MaxUint256);
    }
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(lots(-E(2_000), E(2_000)), lots(-E(60), E(60)), lots(-E(2_000), E(2_000))),
        fc.tuple(
          fc.integer({ min: 80, max: 120 }),
          fc.integer({ min: 80, max: 120 }),
          fc.integer({ min: 80, max: 120 }),
        ),
        fc.integer({ min: 1, max: 3 * 86_400 }),
        fc.tuple(
          fc.bigInt({ min: 0n, max: units(2_000_000, 6) }),
          fc.bigInt({ min: 0n, max: E(300) }),
          fc.bigInt({ min: 0n, max: units(20, 8) }),
        ),
        async (sizes, moves, elapsed, [usdc, weth, wbtc]) => {
          await f.vault.connect(f.alice).createAccount(0);
          const id = await f.vault.accountCount();
          // enough margin for any generated book, in a random mix of 6-, 18- and 8-decimal collateral
          await f.vault.connect(f.alice).deposit(id, f.usdc, usdc + units(2_000_000, 6));
          if (weth > 0n) await f.vault.connect(f.alice).deposit(id, f.weth, weth);
          if (wbtc > 0n) await f.vault.connect(f.alice).deposit(id, f.wbtc, wbtc);
          for (let m = 0; m < 3; m++) {
            if (sizes[m] !== 0n) await ch.connect(f.alice).openPosition(id, m + 1, sizes[m], 0);
          }
          await time.increase(elapsed);
          for (let m = 0; m < 3; m++) await feeds[m].updateAnswer((base[m] * BigInt(moves[m]) * 10n ** 8n) / 100n);

          const snapshot = await readAccountSnapshot(f.vault, ch, id);
          const expected = snapshotMargin(snapshot);
          const onChain = await ch.accountMargin(id);
          expect({
            collateralValue: onChain.collateralValue,
            equity: onChain.equity,
            maintenanceMargin: onChain.maintenanceMargin,
            initialMargin: onChain.initialMargin,
            freeCollateral: onChain.freeCollateral,
            liquidatable: onChain.liquidatable,
            notional: onChain.notional,
          }).to.deep.equal(expected);
          expect(await f.vault.freeCollateral(id)).to.equal(expected.freeCollateral);
          checked++;
          // close everything so open interest stays far from the caps (topping up first: an
          // underwater account may not cut one leg if that lowers its margin ratio), at the base
          // prices, so every trade stays within the circuit breaker's band of the one before
          await f.vault.connect(f.alice).deposit(id, f.usdc, units(2_000_000, 6));
          for (let m = 0; m < 3; m++) await feeds[m].updateAnswer(base[m] * 10n ** 8n);
          for (const marketId of await ch.accountMarkets(id)) await ch.connect(f.alice).closePosition(id, marketId, 0);
        },
      ),
      { seed: SEED, numRuns: PORTFOLIOS },
    );
    expect(checked).to.equal(PORTFOLIOS);
  }).timeout(900_000); // instrumented contracts under `npm run coverage` run several times slower
});
