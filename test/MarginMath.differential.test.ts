import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import * as fp from "../src/math/fixedPoint";
import { collateralValueHaircut, collateralValueRaw, accountCollateralValue } from "../src/math/margin";
import { fundAccount, units, vaultFixture } from "./shared/fixtures";

// Fixed seed: the suite is reproducible; `FC_SEED` / `FC_RUNS` widen it by hand.
const SEED = Number(process.env.FC_SEED ?? 20_261_124);
const RUNS = Number(process.env.FC_RUNS ?? 200);

const uint = (max: bigint) => fc.bigInt({ min: 0n, max });
const wadPrice = fc.bigInt({ min: 1n, max: 10n ** 30n });
const haircut = fc.bigInt({ min: 0n, max: 99n * 10n ** 16n - 1n });
const decimals = fc.integer({ min: 0, max: 18 });

describe("Margin math: Solidity == TypeScript to the wei", () => {
  async function harness() {
    return ethers.deployContract("MathHarness");
  }

  it("FixedPointMath: mulDiv in both directions, WAD conversions", async () => {
    const h = await loadFixture(harness);
    await fc.assert(
      fc.asyncProperty(uint(10n ** 40n), fc.bigInt({ min: 1n, max: 10n ** 36n }), decimals, async (x, y, d) => {
        expect(await h.wMulDown(x, y)).to.equal(fp.wMulDown(x, y));
        expect(await h.wMulUp(x, y)).to.equal(fp.wMulUp(x, y));
        expect(await h.wDivDown(x, y)).to.equal(fp.wDivDown(x, y));
        expect(await h.wDivUp(x, y)).to.equal(fp.wDivUp(x, y));
        expect(await h.mulDivDown(x, y, y + 7n)).to.equal(fp.mulDivDown(x, y, y + 7n));
        expect(await h.mulDivUp(x, y, y + 7n)).to.equal(fp.mulDivUp(x, y, y + 7n));
        expect(await h.toWad(x, d)).to.equal(fp.toWad(x, d));
        expect(await h.fromWadDown(x, d)).to.equal(fp.fromWadDown(x, d));
        expect(await h.fromWadUp(x, d)).to.equal(fp.fromWadUp(x, d));
        // up never below down, and at most one above
        expect(fp.wMulUp(x, y) - fp.wMulDown(x, y)).to.be.oneOf([0n, 1n]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("CollateralMath: value and haircut value of any balance, 0..18 decimals, any price", async () => {
    const h = await loadFixture(harness);
    await fc.assert(
      fc.asyncProperty(
        decimals.chain((d) => fc.tuple(fc.constant(d), uint(10n ** BigInt(d + 12)))),
        wadPrice,
        haircut,
        async ([d, balance], price, cut) => {
          const holding = { balance, decimals: d, price, haircut: cut };
          expect(await h.collateralValue(balance, d, price)).to.equal(collateralValueRaw(holding));
          const valued = await h.haircutValue(balance, d, price, cut);
          expect(valued).to.equal(collateralValueHaircut(holding));
          expect(valued <= collateralValueRaw(holding), "haircut value never exceeds raw value").to.equal(true);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("Vault.collateralValue of random portfolios equals the mirror (6/8/18/0-decimal tokens, random prices)", async () => {
    const f = await loadFixture(vaultFixture);
    const tokens = [
      { token: f.weth, feed: f.ethFeed, feedDecimals: 8, haircut: 10n ** 17n, decimals: 18, cap: units(100_000, 18) },
      { token: f.wbtc, feed: f.btcFeed, feedDecimals: 8, haircut: 15n * 10n ** 16n, decimals: 8, cap: units(5_000, 8) },
      { token: f.zdec, feed: f.zdecFeed, feedDecimals: 18, haircut: 2n * 10n ** 17n, decimals: 0, cap: 1_000n },
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(...tokens.map((t) => fc.bigInt({ min: 0n, max: t.cap / 8n }))),
        fc.tuple(...tokens.map((t) => fc.bigInt({ min: 1n, max: 10n ** BigInt(t.feedDecimals + 6) }))),
        fc.bigInt({ min: 0n, max: units(1_000_000, 6) }),
        async (amounts, answers, usdcAmount) => {
          await f.vault.connect(f.alice).createAccount(0);
          const id = await f.vault.accountCount();
          if (usdcAmount > 0n) await fundAccount(f, f.usdc, f.alice, id, usdcAmount);
          for (let i = 0; i < tokens.length; i++) {
            if (amounts[i] > 0n) await fundAccount(f, tokens[i].token, f.alice, id, amounts[i]);
            await tokens[i].feed.updateAnswer(answers[i]);
          }
          const holdings = tokens.map((t, i) => ({
            balance: amounts[i],
            decimals: t.decimals,
            price: answers[i] * 10n ** BigInt(18 - t.feedDecimals),
            haircut: t.haircut,
          }));
          const quote = usdcAmount * 10n ** 12n;
          expect(await f.vault.collateralValue(id)).to.equal(accountCollateralValue(holdings, quote));
          expect(await f.vault.rawCollateralValue(id)).to.equal(accountCollateralValue(holdings, quote, false));
          // return the tokens so caps never bind
          for (let i = 0; i < tokens.length; i++) {
            if (amounts[i] > 0n)
              await f.vault.connect(f.alice).withdraw(id, tokens[i].token, amounts[i], f.alice.address);
          }
        },
      ),
      { seed: SEED, numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    );
  });
});
