import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { HEARTBEAT, PAUSE_TRADE, WAD, deployFeed, deployOracle, fundAccount, units } from "./shared/fixtures";
import { BTC, ETH, STETH, fundUsdc, marketParams, protocolFixture } from "./shared/protocol";
import { expectConservation, expectUnchanged, snapshotLedger } from "./shared/ledger";
import * as mm from "../src/math/margin";
import { readAccountSnapshot } from "../src/protocol/margin";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";

const E = (n: number | bigint) => units(n, 18);

describe("ClearingHouse: trading", () => {
  describe("openPosition", () => {
    it("fills a 10 ETH buy on zero skew 0.0005 % above the oracle and charges 0.05 % fee", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 10_000);
      // fill = 3,000 × (1 + (0 + 10/2) / 1,000,000) = 3,000.015; fee = 10 × 3,000.015 × 0.0005 = 15.000075
      const fill = E(3_000) + units(15, 15);
      const fee = units(15_000_075, 12);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(10), 0))
        .to.emit(f.clearingHouse, "PositionChanged")
        .withArgs(f.aliceCross, ETH, E(10), fill, fee, 0, 0, E(10), -E(30_000) - units(15, 16));
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([E(10), -(E(30_000) + units(15, 16))]);
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(E(10_000) - fee);
      expect(await f.vault.poolBalance()).to.equal(E(1_000_000) + fee);
      const state = await f.clearingHouse.marketState(ETH);
      expect(state.skew).to.equal(E(10));
      expect(state.longOpenInterest).to.equal(E(10));
      await expectConservation(f.vault, f.tokens);
    });

    it("closing at an unchanged price returns less than went in (premium + two fees)", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 10_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(10), 0);
      const receipt = await (await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0)).wait();
      const closed = f.clearingHouse.interface.parseLog(receipt!.logs.at(-1)!)!.args;
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([0n, 0n]);
      expect(await f.clearingHouse.accountMarkets(f.aliceCross)).to.deep.equal([]);
      // sell 10 on skew 10: fill = 3,000 × (1 + (10 − 5)/1e6) = 3,000.015: the premium comes back,
      // realized PnL is 0; two fees and a second of funding (longs pay on a positive skew) are lost
      const fee = units(15_000_075, 12);
      expect(closed.fillPrice).to.equal(E(3_000) + units(15, 15));
      expect(closed.realizedPnl).to.equal(0n);
      expect(closed.fundingPaid).to.be.gt(0n);
      const quote = await f.vault.quoteBalance(f.aliceCross);
      expect(quote).to.equal(E(10_000) - 2n * fee - closed.fundingPaid);
      expect(await f.vault.poolBalance()).to.equal(E(1_000_000) + 2n * fee + closed.fundingPaid);
      await expectConservation(f.vault, f.tokens);
      // everything is withdrawable again
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, quote / 10n ** 12n, f.alice.address);
    });

    it("realizes PnL on a partial close in proportion, and flips a position through zero", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 100_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(10), 0);
      const [, on0] = await f.clearingHouse.positionOf(f.aliceCross, ETH);
      await f.ethFeed.updateAnswer(units(3_300, 8));
      const skew = E(10);
      const fill = mm.fillPrice(E(3_300), skew, -E(4), E(1_000_000));
      const expected = mm.applyTrade(E(10), on0, -E(4), fill);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(4), 0))
        .to.emit(f.clearingHouse, "PositionChanged")
        .withArgs(
          f.aliceCross,
          ETH,
          -E(4),
          fill,
          mm.takerFee(-E(4), fill, units(5, 14)),
          expected.realized,
          anyValue, // a few seconds of funding on skew 10
          E(6),
          expected.openNotional,
        );
      // 4 of 10 closed: 40 % of the cost basis (12,000.06) against proceeds 4 × fill ≈ 13,200: ≈ +1,200
      expect(expected.realized).to.be.closeTo(E(1_200), E(1));
      // flip: sell 10 more → short 4
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(10), 0);
      const [size] = await f.clearingHouse.positionOf(f.aliceCross, ETH);
      expect(size).to.equal(-E(4));
      const state = await f.clearingHouse.marketState(ETH);
      expect(state.longOpenInterest).to.equal(0n);
      expect(state.shortOpenInterest).to.equal(E(4));
      expect(state.skew).to.equal(-E(4));
      await expectConservation(f.vault, f.tokens);
    });
  });

  describe("margin", () => {
    it("tier boundary: $1.5M notional needs 2.5 % on the first $1M and 5 % on the rest", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 400_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(500), 0);
      const margin = await f.clearingHouse.accountMargin(f.aliceCross);
      // notional 500 × 3,000 = 1,500,000: MM = 25,000 + 25,000 = 50,000; IM = 50,000 + 50,000 = 100,000
      expect(margin.maintenanceMargin).to.equal(E(50_000));
      expect(margin.initialMargin).to.equal(E(100_000));
    });

    it("hedge offset: a perfect ETH/STETH hedge needs 20 % of the stand-alone margin", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 100_000);
      // equal notionals: 299 ETH × 3,000 = 897,000 long, 300 STETH × 2,990 = 897,000 short
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(299), 0);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, STETH, -E(300), 0);
      const margin = await f.clearingHouse.accountMargin(f.aliceCross);
      // stand-alone MM 2 × 897,000 × 2.5 % = 44,850; × (1 − 0.8 × 1) = 8,970
      expect(margin.maintenanceMargin).to.equal(E(8_970));
      expect(margin.initialMargin).to.equal(E(17_940));
    });

    it("hedge offset: a partial hedge (net 1/3 of gross) saves 0.8 × 2/3 of the margin", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 100_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(200), 0); // 600,000 long
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, STETH, -E(100), 0); // 299,000 short
      const margin = await f.clearingHouse.accountMargin(f.aliceCross);
      const gross = E(899_000);
      const net = E(301_000);
      const standAlone = E(22_475); // 899,000 × 2.5 %
      expect(margin.maintenanceMargin).to.equal(mm.groupRequirement(standAlone, gross, net, (WAD * 8n) / 10n));
      // ≈ 22,475 × (1 − 0.8 × 598/899) = 10,515
      expect(margin.maintenanceMargin).to.be.closeTo(E(10_515), E(1));
    });

    it("two correlation groups at once: each group's offset applies to its own legs only (mirror == chain)", async () => {
      const f = await loadFixture(protocolFixture);
      // markets 4 and 5 form group 2 with offset 0.5, next to group 1 (ETH/STETH, offset 0.8)
      for (const answer of [units(100, 8), units(101, 8)]) {
        const feed = await deployFeed(8, answer);
        const oracle = await deployOracle(feed);
        await f.clearingHouse.addMarket(marketParams(await oracle.getAddress(), { group: 2 }));
      }
      await f.clearingHouse.setGroupOffset(2, units(5, 17));
      await fundUsdc(f, f.alice, f.aliceCross, 100_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(100), 0);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, STETH, -E(60), 0);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, 4, E(1_000), 0);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, 5, -E(1_000), 0);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, BTC, E(1), 0);
      const snapshot = await readAccountSnapshot(f.vault, f.clearingHouse, f.aliceCross);
      expect(snapshot.groupOffsets).to.deep.equal({ 1: units(8, 17), 2: units(5, 17) });
      const m = await f.clearingHouse.accountMargin(f.aliceCross);
      const expected = mm.accountMargin(snapshot.collateralValue, snapshot.positions, snapshot.groupOffsets);
      expect([m.equity, m.maintenanceMargin, m.initialMargin, m.freeCollateral]).to.deep.equal([
        expected.equity,
        expected.maintenanceMargin,
        expected.initialMargin,
        expected.freeCollateral,
      ]);
      // group 2 nets 100,000 long against 101,000 short: 99 % hedged, so its MM is about
      // 201,000 × 2.5 % × (1 − 0.5 × 200,000/201,000) ≈ 2,525 instead of 5,025: without the group-2
      // offset the account would need ≈ 2,500 more, and without both offsets more still
      const noGroup2 = mm.accountMargin(snapshot.collateralValue, snapshot.positions, { 1: units(8, 17), 2: 0n });
      expect(noGroup2.maintenanceMargin - m.maintenanceMargin).to.be.closeTo(E(2_500), E(1));
      const noOffsets = mm.accountMargin(snapshot.collateralValue, snapshot.positions, { 1: 0n, 2: 0n });
      expect(noOffsets.maintenanceMargin).to.be.gt(noGroup2.maintenanceMargin);
    });

    it("refuses a trade that would leave free collateral negative (InsufficientMargin) and changes nothing", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 1_000);
      const before = await snapshotLedger(f.vault, f.tokens);
      // 7 ETH = 21,000 notional needs IM 1,050 > 1,000 of collateral
      await expect(
        f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(7), 0),
      ).to.be.revertedWithCustomError(f.clearingHouse, "InsufficientMargin");
      await expectUnchanged(before, f.vault, f.tokens);
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([0n, 0n]);
      // 6 ETH fits: IM 900 + fee 9 < 1,000
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(6), 0);
    });

    it("never lets unrealized profit be withdrawn", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 10_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(10), 0);
      await f.ethFeed.updateAnswer(units(4_000, 8)); // +10,000 unrealized
      const margin = await f.clearingHouse.accountMargin(f.aliceCross);
      expect(margin.equity).to.be.gt(E(19_000));
      // free collateral is capped by collateral value (min(collateral, equity) − IM)
      expect(margin.freeCollateral).to.equal(margin.collateralValue - margin.initialMargin);
      const quote = await f.vault.quoteBalance(f.aliceCross);
      await expect(
        f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, quote / 10n ** 12n, f.alice.address),
      ).to.be.revertedWithCustomError(f.vault, "InsufficientFreeCollateral");
    });

    it("funding over one day: 10 % × skew / skewScale of the price, paid by longs to the pool", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 1_000_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1_000), 0);
      const t0 = BigInt(await time.latest());
      await time.setNextBlockTimestamp(t0 + 86_400n);
      await f.ethFeed.updateAnswer(units(3_000, 8)); // keep the feed fresh at the same price
      // rate = 1,000 / 1,000,000 × 10 % = 0.01 % a day → index += 3,000 × 0.0001 = 0.3 USD per ETH
      const state = await f.clearingHouse.marketState(ETH);
      expect(state.fundingIndex).to.equal(units(3, 17));
      const poolBefore = await f.vault.poolBalance();
      const quoteBefore = await f.vault.quoteBalance(f.aliceCross);
      await time.setNextBlockTimestamp(t0 + 86_400n + 1n);
      const tx = f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0);
      // one more second of funding: 0.3 + 0.3 / 86,400
      const index =
        units(3, 17) + mm.fundingIndexDelta(mm.fundingRate(E(1_000), E(1_000_000), units(1, 17)), E(3_000), 1n);
      await expect(tx).to.emit(f.clearingHouse, "PositionChanged");
      const receipt = await (await tx).wait();
      const event = f.clearingHouse.interface.parseLog(receipt!.logs.at(-1)!)!;
      // 1,000 ETH × 0.3000034… = 300.0034… USD paid to the pool
      expect(event.args.fundingPaid).to.equal(mm.pendingFunding(E(1_000), index, 0n));
      expect(event.args.fundingPaid).to.be.closeTo(E(300), units(1, 16));
      expect((await f.vault.poolBalance()) - poolBefore).to.equal(
        quoteBefore - (await f.vault.quoteBalance(f.aliceCross)),
      );
      await expectConservation(f.vault, f.tokens);
    });
  });

  describe("liquidation price (TypeScript mirror)", () => {
    for (const [label, size] of [
      ["long", E(10)],
      ["short", -E(10)],
    ] as const) {
      it(`is the feed price where an isolated ${label} turns liquidatable, to the feed's last digit`, async () => {
        const f = await loadFixture(protocolFixture);
        await fundUsdc(f, f.alice, f.aliceIsolated, 2_000);
        await f.clearingHouse.connect(f.alice).openPosition(f.aliceIsolated, ETH, size, 0);
        // bob takes the other side so the skew, and with it funding, is zero: the boundary holds in every block
        await fundUsdc(f, f.bob, f.bobCross, 10_000);
        await f.clearingHouse.connect(f.bob).openPosition(f.bobCross, ETH, -size, 0);
        const snapshot = await readAccountSnapshot(f.vault, f.clearingHouse, f.aliceIsolated);
        const at = (price: bigint) => snapshot.positions.map((p) => ({ ...p, price }));
        const liq = mm.liquidationPrice(at, snapshot.collateralValue, snapshot.groupOffsets, size > 0n);
        if (liq === null) throw new Error("expected a liquidation price");
        // equity = 2,000 − 15 fee ± 10 × (p − fill) meets MM = 10 × p × 2.5 %:
        // long: 1,985 + 10p − 30,000.15 = 0.25p → p ≈ 2,873.35; short: 1,985 + 29,999.85 − 10p = 0.25p → p ≈ 3,120.47
        expect(liq).to.be.closeTo(size > 0n ? units(287_335, 16) : units(312_047, 16), E(1) / 100n);
        // the feed has 8 decimals: step to the nearest feed answers on each side of the boundary
        const step = 10n ** 10n;
        const inside = size > 0n ? liq / step : (liq + step - 1n) / step;
        const outside = size > 0n ? inside + 1n : inside - 1n;
        await f.ethFeed.updateAnswer(outside);
        expect((await f.clearingHouse.accountMargin(f.aliceIsolated)).liquidatable).to.equal(false);
        await f.ethFeed.updateAnswer(inside);
        expect((await f.clearingHouse.accountMargin(f.aliceIsolated)).liquidatable).to.equal(true);
      });
    }

    it("is null for a position that no price can liquidate", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceIsolated, 100_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceIsolated, ETH, E(1), 0);
      const snapshot = await readAccountSnapshot(f.vault, f.clearingHouse, f.aliceIsolated);
      const at = (price: bigint) => snapshot.positions.map((p) => ({ ...p, price }));
      expect(mm.liquidationPrice(at, snapshot.collateralValue, snapshot.groupOffsets, true) === null).to.equal(true);
    });
  });

  describe("reducing trades", () => {
    it("an underwater account can close everything, but not cut a position so its margin ratio falls", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 1_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(6), 0);
      await f.ethFeed.updateAnswer(units(2_800, 8)); // −1,200 on 6 ETH: equity < 0
      const before = await f.clearingHouse.accountMargin(f.aliceCross);
      expect(before.liquidatable).to.equal(true);
      expect(before.equity).to.be.lt(0n);
      // halving: MM halves while equity gets more negative → ratio falls
      await expect(
        f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(3), 0),
      ).to.be.revertedWithCustomError(f.clearingHouse, "MarginRatioWorsened");
      // closing everything leaves no requirement: always allowed, the loss lands in the quote balance
      await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0);
      expect(await f.vault.quoteBalance(f.aliceCross)).to.be.lt(0n);
      const after = await f.clearingHouse.accountMargin(f.aliceCross);
      expect(after.maintenanceMargin).to.equal(0n);
      expect(after.liquidatable).to.equal(false);
    });

    it("an account left in debt by a closed loss cannot withdraw the collateral that backs the debt", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 1_000);
      await fundAccount(f, f.weth, f.alice, f.aliceCross, E(1) / 10n); // 0.1 WETH, 270 of collateral value
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(6), 0);
      await f.ethFeed.updateAnswer(units(2_700, 8)); // −1,800 on 6 ETH
      await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0);
      const quote = await f.vault.quoteBalance(f.aliceCross);
      expect(quote).to.be.lt(0n); // ≈ 1,000 − 1,800 − fees
      // no positions, but a debt: the 0.1 WETH (2,700 × 0.1 × 0.9 = 243) does not cover it
      const free = await f.vault.freeCollateral(f.aliceCross);
      expect(free).to.equal(quote + E(243));
      const before = await snapshotLedger(f.vault, f.tokens);
      await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, E(1) / 100n, f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientFreeCollateral")
        .withArgs(f.aliceCross, quote + E(243) - E(243) / 10n);
      await expectUnchanged(before, f.vault, f.tokens);
    });

    it("a liquidatable account with positive equity may de-risk: the ratio rises", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 1_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(6), 0);
      await f.ethFeed.updateAnswer(units(2_870, 8)); // −780: equity ≈ 211 < MM 430.5
      const before = await f.clearingHouse.accountMargin(f.aliceCross);
      expect(before.liquidatable).to.equal(true);
      expect(before.equity).to.be.gt(0n);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(3), 0);
      const after = await f.clearingHouse.accountMargin(f.aliceCross);
      expect(after.equity * BigInt(before.maintenanceMargin)).to.be.gte(
        before.equity * BigInt(after.maintenanceMargin),
      );
    });

    it("closing one leg of a hedge is refused when the unhedged rest would be liquidatable with a lower ratio", async () => {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 16_000);
      // long 100 ETH vs short 100 STETH: hedged IM ≈ 6,030 instead of 29,950
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(100), 0);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, STETH, -E(100), 0);
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, units(9_500, 6), f.alice.address);
      const before = await f.clearingHouse.accountMargin(f.aliceCross);
      expect(before.liquidatable).to.equal(false);
      expect(before.freeCollateral).to.be.gte(0n);
      // without the STETH leg, the ETH leg alone needs MM 7,500 > equity ≈ 6,170
      await expect(
        f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, STETH, 0),
      ).to.be.revertedWithCustomError(f.clearingHouse, "MarginRatioWorsened");
      await expect(f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0)).to.be.revertedWithCustomError(
        f.clearingHouse,
        "MarginRatioWorsened",
      );
      // halving both legs keeps the hedge and is allowed; with more collateral the rest unwinds
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(50), 0);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, STETH, E(50), 0);
      await fundUsdc(f, f.alice, f.aliceCross, 2_000);
      await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0);
      await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, STETH, 0);
      expect(await f.clearingHouse.accountMarkets(f.aliceCross)).to.deep.equal([]);
    });
  });

  describe("bad input changes nothing", () => {
    async function funded() {
      const f = await loadFixture(protocolFixture);
      await fundUsdc(f, f.alice, f.aliceCross, 100_000);
      await fundUsdc(f, f.alice, f.aliceIsolated, 100_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceIsolated, ETH, E(1), 0);
      const before = await snapshotLedger(f.vault, f.tokens);
      const ch = f.clearingHouse.connect(f.alice);
      return { f, ch, unchanged: () => expectUnchanged(before, f.vault, f.tokens) };
    }

    it("positionOf and closePosition reject market ids beyond the last possible market", async () => {
      const { f, ch } = await funded();
      await expect(ch.positionOf(f.aliceCross, 72)).to.be.revertedWithCustomError(ch, "UnknownMarket").withArgs(72);
      await expect(ch.closePosition(f.aliceCross, 256 + 1, 0))
        .to.be.revertedWithCustomError(ch, "UnknownMarket")
        .withArgs(257);
    });

    it("ZeroSize, InvalidSizeStep, UnknownMarket, NoPosition", async () => {
      const { f, ch, unchanged } = await funded();
      await expect(ch.openPosition(f.aliceCross, ETH, 0, 0)).to.be.revertedWithCustomError(ch, "ZeroSize");
      // sizes are whole lots of 1e-8 of a unit (1e10 in WAD)
      await expect(ch.openPosition(f.aliceCross, ETH, E(1) + 1n, 0))
        .to.be.revertedWithCustomError(ch, "InvalidSizeStep")
        .withArgs(E(1) + 1n);
      await expect(ch.openPosition(f.aliceCross, ETH, -(10n ** 10n) + 1n, 0))
        .to.be.revertedWithCustomError(ch, "InvalidSizeStep")
        .withArgs(-(10n ** 10n) + 1n);

      await expect(ch.openPosition(f.aliceCross, 9, E(1), 0))
        .to.be.revertedWithCustomError(ch, "UnknownMarket")
        .withArgs(9);
      await expect(ch.closePosition(f.aliceCross, BTC, 0))
        .to.be.revertedWithCustomError(ch, "NoPosition")
        .withArgs(f.aliceCross, BTC);
      await unchanged();
      await ch.openPosition(f.aliceCross, ETH, 10n ** 10n, 0); // one lot is a valid size
      expect((await f.clearingHouse.positionOf(f.aliceCross, ETH))[0]).to.equal(10n ** 10n);
    });

    it("PriceLimitExceeded for a buy above and a sell below the limit", async () => {
      const { f, ch, unchanged } = await funded();
      const fill = E(3_000) + units(15, 15);
      await expect(ch.openPosition(f.aliceCross, ETH, E(10), fill - 1n))
        .to.be.revertedWithCustomError(ch, "PriceLimitExceeded")
        .withArgs(fill + units(3, 15), fill - 1n); // skew is 1 from the isolated account
      await expect(ch.openPosition(f.aliceCross, ETH, -E(10), E(3_000))).to.be.revertedWithCustomError(
        ch,
        "PriceLimitExceeded",
      );
      await unchanged();
    });

    it("OpenInterestCapExceeded beyond 5,000 BTC long", async () => {
      const { f, unchanged } = await funded();
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, BTC, E(5_001), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "OpenInterestCapExceeded")
        .withArgs(BTC, true, E(5_000), E(5_001));
      await unchanged();
      expect((await f.clearingHouse.marketState(BTC)).longOpenInterest).to.equal(0n);
    });

    it("IsolatedAccountMarketLimit for an isolated account's second market", async () => {
      const { f, ch, unchanged } = await funded();
      await expect(ch.openPosition(f.aliceIsolated, BTC, E(1), 0))
        .to.be.revertedWithCustomError(ch, "IsolatedAccountMarketLimit")
        .withArgs(f.aliceIsolated, ETH);
      await unchanged();
    });

    it("TooManyPositions past the account limit", async () => {
      const { f, ch } = await funded();
      await f.clearingHouse.setMaxPositionsPerAccount(2);
      await ch.openPosition(f.aliceCross, ETH, E(1), 0);
      await ch.openPosition(f.aliceCross, BTC, E(1) / 10n, 0);
      const full = await snapshotLedger(f.vault, f.tokens);
      await expect(ch.openPosition(f.aliceCross, STETH, E(1), 0))
        .to.be.revertedWithCustomError(ch, "TooManyPositions")
        .withArgs(f.aliceCross, 2);
      await expectUnchanged(full, f.vault, f.tokens);
      expect(await f.clearingHouse.accountMarkets(f.aliceCross)).to.deep.equal([ETH, BTC]);
    });

    it("NotAccountOwnerOrOperator for a stranger, UnknownAccount for a missing id", async () => {
      const { f, unchanged } = await funded();
      await expect(f.clearingHouse.connect(f.bob).openPosition(f.aliceCross, ETH, E(1), 0))
        .to.be.revertedWithCustomError(f.vault, "NotAccountOwnerOrOperator")
        .withArgs(f.aliceCross, f.bob.address);
      await expect(f.clearingHouse.connect(f.bob).openPosition(99, ETH, E(1), 0))
        .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
        .withArgs(99);
      await unchanged();
    });

    it("ActionPaused(4) while trading is paused", async () => {
      const { f, ch, unchanged } = await funded();
      await f.clearingHouse.connect(f.guardian).pause(PAUSE_TRADE);
      await expect(ch.openPosition(f.aliceCross, ETH, E(1), 0))
        .to.be.revertedWithCustomError(ch, "ActionPaused")
        .withArgs(PAUSE_TRADE);
      await unchanged();
    });

    it("the trading pause reaches every market, markets added while paused, closes too; unpause lifts it", async () => {
      // The pause flag is copied into each market's breaker word (a trade reads no other word for it).
      const { f, ch } = await funded();
      await ch.openPosition(f.aliceCross, BTC, E(1), 0);
      await f.clearingHouse.connect(f.guardian).pause(PAUSE_TRADE);
      const feed = await deployFeed(8, units(100, 8));
      await f.clearingHouse.addMarket(marketParams(await (await deployOracle(feed)).getAddress()));
      for (const market of [ETH, BTC, STETH, 4n]) {
        await expect(ch.openPosition(f.aliceCross, market, E(1), 0))
          .to.be.revertedWithCustomError(ch, "ActionPaused")
          .withArgs(PAUSE_TRADE);
      }
      await expect(ch.closePosition(f.aliceCross, BTC, 0))
        .to.be.revertedWithCustomError(ch, "ActionPaused")
        .withArgs(PAUSE_TRADE);
      // pausing deposits alone leaves trading alone
      await f.clearingHouse.unpause(PAUSE_TRADE);
      await f.clearingHouse.connect(f.guardian).pause(1);
      for (const market of [ETH, 4n]) await ch.openPosition(f.aliceCross, market, E(1), 0);
      await ch.closePosition(f.aliceCross, BTC, 0);
      expect(await ch.accountMarkets(f.aliceCross)).to.deep.equal([ETH, 4n]);
    });

    it("a stale or zero price blocks trading", async () => {
      const { f, ch, unchanged } = await funded();
      await f.ethFeed.updateAnswer(0);
      await expect(ch.openPosition(f.aliceCross, ETH, E(1), 0)).to.be.revertedWithCustomError(
        f.ethOracle,
        "InvalidPrice",
      );
      await f.ethFeed.updateAnswer(units(3_000, 8));
      await time.increase(HEARTBEAT + 1n);
      await expect(ch.openPosition(f.aliceCross, ETH, E(1), 0)).to.be.revertedWithCustomError(
        f.ethOracle,
        "StalePrice",
      );
      await unchanged();
    });

    it("only the ClearingHouse settles PnL in the Vault", async () => {
      const { f, unchanged } = await funded();
      await expect(f.vault.connect(f.alice).settleTrade(f.aliceCross, f.alice.address, E(1), ETH, true))
        .to.be.revertedWithCustomError(f.vault, "NotClearingHouse")
        .withArgs(f.alice.address);
      // nor liquidations, collateral liquidations or bad debt: their entry points are on the ClearingHouse
      await expect(f.vault.connect(f.alice).settleLiquidation(f.aliceCross, E(1), 0, 0, f.alice.address, ETH, false))
        .to.be.revertedWithCustomError(f.vault, "NotClearingHouse")
        .withArgs(f.alice.address);
      await expect(f.vault.connect(f.alice).liquidateCollateral(f.aliceCross, f.weth, 1, f.alice.address, 0))
        .to.be.revertedWithCustomError(f.vault, "NotClearingHouse")
        .withArgs(f.alice.address);
      await expect(f.vault.connect(f.alice).settleBadDebt(f.aliceCross))
        .to.be.revertedWithCustomError(f.vault, "NotClearingHouse")
        .withArgs(f.alice.address);
      await unchanged();
    });

    it("circuit-breaker and liquidation views reject an unknown market", async () => {
      const { f, ch } = await funded();
      await expect(ch.pokeCircuitBreaker(99)).to.be.revertedWithCustomError(ch, "UnknownMarket").withArgs(99);
      await expect(ch.liquidationSize(f.aliceCross, 99))
        .to.be.revertedWithCustomError(ch, "UnknownMarket")
        .withArgs(99);
      await expect(ch.marketSafety(99)).to.be.revertedWithCustomError(ch, "UnknownMarket").withArgs(99);
      await expect(f.clearingHouse.clearCircuitBreaker(99))
        .to.be.revertedWithCustomError(ch, "UnknownMarket")
        .withArgs(99);
    });
  });

  it("an operator trades for the owner", async () => {
    const f = await loadFixture(protocolFixture);
    await fundUsdc(f, f.alice, f.aliceCross, 10_000);
    await f.vault.connect(f.alice).setOperator(f.aliceCross, f.bob.address, true);
    await f.clearingHouse.connect(f.bob).openPosition(f.aliceCross, ETH, E(1), 0);
    expect((await f.clearingHouse.positionOf(f.aliceCross, ETH))[0]).to.equal(E(1));
  });
});
