import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployLocal } from "../src/deploy/local";
import { PAUSE_TRADE, WAD, fundAccount, units } from "./shared/fixtures";
import { BTC, ETH, fundUsdc, protocolFixture } from "./shared/protocol";
import { expectConservation } from "./shared/ledger";
import {
  DEFAULT_LIQUIDATION_PARAMS,
  P,
  U,
  W,
  armLiquidator,
  expectStateUnchanged,
  field,
  fundInsurance,
  fundingOff,
  liquidationFixture,
  newAccount,
  snapshotState,
  type LiquidationFixture,
} from "./shared/liquidation";

const E = (n: number | bigint) => units(n, 18);
const MAX = ethers.MaxUint256;
const HOUR = 3_600n;
const DAY = 86_400n;

/*
 * The reference trade of most tests (funding is off in liquidationFixture, see test/shared/liquidation.ts):
 * alice deposits 10,000 USDC and buys 30 ETH on zero skew at oracle 3,000.
 *   fill         = 3,000 × (1 + (0 + 30/2) / 1,000,000)      = 3,000.045
 *   openNotional = −30 × 3,000.045                           = −90,001.35
 *   fee          = 90,001.35 × 0.05 %                        = 45.000675
 *   quote        = 10,000 − 45.000675                        = 9,954.999325
 *   pool ledger  = 1,000,000 + 45.000675                     = 1,000,045.000675
 * At an oracle price p (ETH alone in its group, so no hedge offset; notional < $1M, tier 1):
 *   equity = 9,954.999325 + 30p − 90,001.35 = 30p − 80,046.350675;  MM = 2.5 % × 30p = 0.75p
 */
const QUOTE0 = W("9954.999325");

async function long30(f: LiquidationFixture) {
  await fundUsdc(f, f.alice, f.aliceCross, 10_000);
  await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(30), 0);
}

/** The reference trade, ETH moved to `price`. */
async function long30At(price: string) {
  const f = await loadFixture(liquidationFixture);
  await long30(f);
  await f.ethFeed.updateAnswer(P(price));
  return f;
}

async function marginOf(f: LiquidationFixture, accountId: bigint) {
  const m = await f.clearingHouse.accountMargin(accountId);
  return {
    equity: m.equity,
    mm: m.maintenanceMargin,
    notional: m.notional,
    liquidatable: m.liquidatable,
  };
}

/*
 * A flat account in debt (collateral liquidation and bad debt): alice deposits 1,000 USDC (and `weth`),
 * buys 6 ETH at 3,000, ETH falls to 2,700 and she closes.
 *   open:  fill = 3,000 × (1 + 3/1,000,000) = 3,000.009; openNotional −18,000.054; fee 9.000027
 *          quote = 1,000 − 9.000027 = 990.999973
 *   close: sell 6 on skew 6: fill = 2,700 × (1 + (6 − 3)/1,000,000) = 2,700.0081
 *          realized = 6 × 2,700.0081 − 18,000.054 = 16,200.0486 − 18,000.054 = −1,800.0054
 *          fee = 16,200.0486 × 0.05 % = 8.1000243
 *   quote = 990.999973 − 1,800.0054 − 8.1000243 = −817.1054513
 */
const DEBT_QUOTE = W("-817.1054513");

async function flatDebtor(f: LiquidationFixture, weth: bigint) {
  await fundUsdc(f, f.alice, f.aliceCross, 1_000);
  if (weth !== 0n) await fundAccount(f, f.weth, f.alice, f.aliceCross, weth);
  await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(6), 0);
  await f.ethFeed.updateAnswer(P("2700"));
  await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0);
  expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(DEBT_QUOTE);
  expect(await f.clearingHouse.accountMarkets(f.aliceCross)).to.deep.equal([]);
}

async function debtorWith1Weth() {
  const f = await loadFixture(liquidationFixture);
  await flatDebtor(f, E(1));
  return f;
}

async function debtorWithTenthWeth() {
  const f = await loadFixture(liquidationFixture);
  await flatDebtor(f, E(1) / 10n);
  return f;
}

/**
 * The local deployment (real ERC-4626 LiquidityPool, insurance seeded with 100,000 USDC) with the
 * insurance fund drawn down to 500 USDC by the owner, funding off in ETH, and the reference trade
 * (10,000 USDC, 30 ETH at 3,000.045) in a new account of `trader`.
 */
async function localPool() {
  const p = await deployLocal(hre);
  const [deployer, , trader, keeper] = await ethers.getSigners();
  await p.vault.withdrawInsurance(p.usdc, U("99500"), deployer.address);
  await fundingOff(p.clearingHouse, ETH);
  await p.vault.connect(trader).createAccount(0);
  const id = await p.vault.accountCount();
  await p.usdc.mint(trader.address, U("10000"));
  await p.usdc.connect(trader).approve(p.vault, U("10000"));
  await p.vault.connect(trader).deposit(id, p.usdc, U("10000"));
  await p.clearingHouse.connect(trader).openPosition(id, ETH, E(30), 0);
  return { p, deployer, trader, keeper };
}

describe("Liquidation", () => {
  describe("liquidate: partial first, then whole", () => {
    it("closes closeFactor × total notional while equity ≥ MM / 2, then the rest whole once below", async () => {
      const f = await long30At("2720");
      // at 2,720: notional 30 × 2,720 = 81,600; MM 2.5 % = 2,040; equity = 81,600 − 80,046.350675 = 1,553.649325
      // liquidatable (1,553.65 < 2,040) but not below the full-liquidation line (MM × 0.5 = 1,020): partial
      expect(await marginOf(f, f.aliceCross)).to.deep.equal({
        equity: W("1553.649325"),
        mm: E(2_040),
        notional: E(81_600),
        liquidatable: true,
      });
      // close factor: 50 % × 81,600 = 40,800 of notional = 40,800 / 2,720 = 15 ETH; 15 ETH left ($40,800) is no dust
      expect(await f.clearingHouse.liquidationSize(f.aliceCross, ETH)).to.deep.equal([E(15), false]);
      // closing 15 ETH at the oracle: closed cost basis 90,001.35 × 15/30 = 45,000.675
      //   realized = 15 × 2,720 − 45,000.675 = −4,200.675; funding 0
      //   penalty = 1 % × 40,800 = 408: keeper 50 % = 204, insurance 204 (≤ equity 1,553.649325 − 204); shortfall 0
      const first = f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX);
      await expect(first)
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(15),
          E(2_720),
          W("-4200.675"),
          0n,
          E(408),
          E(204),
          E(204),
          0n,
          W("1553.649325"),
          E(15),
        );
      await expect(first).not.to.emit(f.clearingHouse, "PositionChanged");
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("204"));
      expect(await f.vault.insuranceFund()).to.equal(E(204));
      // quote = 9,954.999325 − 4,200.675 − 204 − 204 = 5,346.324325; the pool takes the loss: + 4,200.675
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("5346.324325"));
      expect(await f.vault.poolBalance()).to.equal(W("1004245.675675"));
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([E(15), W("-45000.675")]);
      const state = await f.clearingHouse.marketState(ETH);
      expect([state.longOpenInterest, state.skew, state.openNotionalSum]).to.deep.equal([
        E(15),
        E(15),
        W("-45000.675"),
      ]);
      await expectConservation(f.vault, f.tokens);
      // the partial restored health: equity 5,346.324325 + 40,800 − 45,000.675 = 1,145.649325 ≥ MM 1,020
      expect(await marginOf(f, f.aliceCross)).to.deep.equal({
        equity: W("1145.649325"),
        mm: E(1_020),
        notional: E(40_800),
        liquidatable: false,
      });

      // ETH falls to 2,660: equity = 5,346.324325 + 39,900 − 45,000.675 = 245.649325 < MM 997.5 × 0.5 = 498.75
      await f.ethFeed.updateAnswer(P("2660"));
      expect(await f.clearingHouse.liquidationSize(f.aliceCross, ETH)).to.deep.equal([E(15), true]);
      // realized = 39,900 − 45,000.675 = −5,100.675; penalty 399: keeper 199.5; insurance gets only what equity
      // is left after the keeper: 245.649325 − 199.5 = 46.149325; shortfall 399 − 199.5 − 46.149325 = 153.350675
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(15),
          E(2_660),
          W("-5100.675"),
          0n,
          E(399),
          W("199.5"),
          W("46.149325"),
          W("153.350675"),
          W("245.649325"),
          0n,
        );
      // keeper: 204 + 199.5; insurance 204 + 46.149325; quote 5,346.324325 − 5,100.675 − 199.5 − 46.149325 = 0
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("403.5"));
      expect(await f.vault.insuranceFund()).to.equal(W("250.149325"));
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(0n);
      expect(await f.vault.poolBalance()).to.equal(W("1009346.350675"));
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([0n, 0n]);
      expect(await f.clearingHouse.accountMarkets(f.aliceCross)).to.deep.equal([]);
      expect(await f.vault.marketMask(f.aliceCross)).to.equal(0n);
      expect((await f.clearingHouse.marketState(ETH)).longOpenInterest).to.equal(0n);
      // Vault holds 1,010,000 − 403.5 = 1,009,596.5 USDC = 0 + 1,009,346.350675 + 250.149325
      await expectConservation(f.vault, f.tokens);
    });
  });

  describe("penalty split", () => {
    it("1 % fee, 50 % to the keeper in whole micro-USDC; the sub-unit remainder goes to insurance", async () => {
      const f = await long30At("2720.12345678");
      // notional = 30 × 2,720.12345678 = 81,603.7037034; MM = 2,040.092592585
      // equity = 81,603.7037034 − 80,046.350675 = 1,557.3530284 (≥ MM / 2): partial
      // cap = 81,603.7037034 × 50 % / 2,720.12345678 = 15 ETH exactly
      expect(await marginOf(f, f.aliceCross)).to.deep.equal({
        equity: W("1557.3530284"),
        mm: W("2040.092592585"),
        notional: W("81603.7037034"),
        liquidatable: true,
      });
      // closed = 15 × 2,720.12345678 = 40,801.8518517; realized = 40,801.8518517 − 45,000.675 = −4,198.8231483
      // penalty = 1 % = 408.018518517 → keeper 204.0092592585, insurance 204.0092592585
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(15),
          W("2720.12345678"),
          W("-4198.8231483"),
          0n,
          W("408.018518517"),
          W("204.0092592585"),
          W("204.0092592585"),
          0n,
          W("1557.3530284"),
          E(15),
        );
      // keeper: 204.0092592585 rounded down to 6 decimals = 204.009259 USDC; the 0.0000002585 left over
      // goes to insurance with its share: 204.0092592585 + 0.0000002585 = 204.009259517
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("204.009259"));
      expect(await f.vault.insuranceFund()).to.equal(W("204.009259517"));
      // quote = 9,954.999325 − 4,198.8231483 − 408.018518517 = 5,348.157658183 (the whole penalty is charged)
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("5348.157658183"));
      expect(await f.vault.poolBalance()).to.equal(W("1004243.8238233"));
      await expectConservation(f.vault, f.tokens);
    });

    it("follows governance's fee and keeper share (2.5 %, 30 %)", async () => {
      const f = await long30At("2720");
      await f.clearingHouse.setLiquidationParams({
        ...DEFAULT_LIQUIDATION_PARAMS,
        liquidationFee: units(25, 15),
        keeperShare: units(3, 17),
      });
      // closed 40,800: penalty 2.5 % = 1,020 → keeper 30 % = 306, insurance 714 (≤ 1,553.649325 − 306)
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(15),
          E(2_720),
          W("-4200.675"),
          0n,
          E(1_020),
          E(306),
          E(714),
          0n,
          W("1553.649325"),
          E(15),
        );
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("306"));
      expect(await f.vault.insuranceFund()).to.equal(E(714));
      // 9,954.999325 − 4,200.675 − 1,020 = 4,734.324325
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("4734.324325"));
      await expectConservation(f.vault, f.tokens);
    });
    it("a one-lot liquidation: the keeper's sub-micro-USDC reward is not paid, all of the penalty goes to insurance", async () => {
      const f = await long30At("2720.12345677");
      // the keeper asks for one lot (maxSize 1e10); the close factor would allow 15.00000000 ETH:
      // 50 % × 81,603.7037031 / 2,720.12345677 = 15.000000000 (floored to lots)
      expect(await f.clearingHouse.liquidationSize(f.aliceCross, ETH)).to.deep.equal([E(15), false]);
      // 1 lot = 0.00000001 ETH: closed = 0.0000272012345677; penalty 1 % = 0.000000272012345677 (odd in wei)
      //   keeper = floor(½) = 0.000000136006172838 → 0 whole micro-USDC; insurance share 0.000000136006172839
      //   realized = 0.0000272012345677 − 90,001.35 / 3,000,000,000 (= 0.00003000045) = −0.0000027992154323
      //   equityBefore = 30 × 2,720.12345677 − 80,046.350675 = 1,557.3530281
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, 10n ** 10n))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          10n ** 10n,
          W("2720.12345677"),
          W("-0.0000027992154323"),
          0n,
          W("0.000000272012345677"),
          W("0.000000136006172838"),
          W("0.000000136006172839"),
          0n,
          W("1557.3530281"),
          W("29.99999999"),
        );
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(0n);
      expect(await f.vault.insuranceFund()).to.equal(W("0.000000272012345677"));
      // 9,954.999325 − 0.0000027992154323 − 0.000000272012345677 = 9,954.999321928772222023
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("9954.999321928772222023"));
      await expectConservation(f.vault, f.tokens);
    });
  });

  describe("insurance share capped by equity", () => {
    it("small positive equity: insurance gets equity − keeper reward, the rest is shortfall", async () => {
      const f = await long30At("2690");
      // equity = 30 × 2,690 − 80,046.350675 = 653.649325; MM 2,017.5 (half 1,008.75): whole
      // closed 80,700: penalty 807, keeper 403.5, insurance share 403.5 > 653.649325 − 403.5 = 250.149325
      //   → insuranceFee 250.149325, shortfall 807 − 403.5 − 250.149325 = 153.350675
      // realized = 80,700 − 90,001.35 = −9,301.35
      expect(await f.clearingHouse.liquidationSize(f.aliceCross, ETH)).to.deep.equal([E(30), true]);
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(30),
          E(2_690),
          W("-9301.35"),
          0n,
          E(807),
          W("403.5"),
          W("250.149325"),
          W("153.350675"),
          W("653.649325"),
          0n,
        );
      // quote = 9,954.999325 − 9,301.35 − 403.5 − 250.149325 = 0: nothing is credited that does not exist
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(0n);
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("403.5"));
      expect(await f.vault.insuranceFund()).to.equal(W("250.149325"));
      expect(await f.vault.poolBalance()).to.equal(W("1009346.350675"));
      await expectConservation(f.vault, f.tokens);
    });

    it("negative equity: insurance gets nothing, the keeper is still paid and the quote balance goes negative", async () => {
      const f = await long30At("2650");
      // equity = 79,500 − 80,046.350675 = −546.350675; closed 79,500: penalty 795, keeper 397.5,
      // insuranceFee 0, shortfall 397.5; realized = 79,500 − 90,001.35 = −10,501.35
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(30),
          E(2_650),
          W("-10501.35"),
          0n,
          E(795),
          W("397.5"),
          0n,
          W("397.5"),
          W("-546.350675"),
          0n,
        );
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("397.5"));
      expect(await f.vault.insuranceFund()).to.equal(0n);
      // quote = 9,954.999325 − 10,501.35 − 397.5 = −943.850675 (the keeper's pay is bad debt for settleBadDebt)
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("-943.850675"));
      expect(await f.vault.poolBalance()).to.equal(W("1010546.350675"));
      await expectConservation(f.vault, f.tokens);
    });
  });

  describe("dust", () => {
    it("a position of notional ≤ $100 is closed whole even while partial rules apply", async () => {
      const f = await loadFixture(liquidationFixture);
      // bob: 10 USDC, buys 0.03 ETH on zero skew: fill = 3,000 × (1 + 0.015/1,000,000) = 3,000.000045
      //   openNotional −90.00000135; fee 0.045000000675; quote 9.954999999325
      await fundUsdc(f, f.bob, f.bobCross, 10);
      await f.clearingHouse.connect(f.bob).openPosition(f.bobCross, ETH, W("0.03"), 0);
      await f.ethFeed.updateAnswer(P("2720"));
      // notional 81.6 ≤ 100; MM 2.04; equity = 9.954999999325 + 81.6 − 90.00000135 = 1.554998649325 ≥ MM / 2 = 1.02
      const m = await marginOf(f, f.bobCross);
      expect(m).to.deep.equal({
        equity: W("1.554998649325"),
        mm: W("2.04"),
        notional: W("81.6"),
        liquidatable: true,
      });
      expect(m.equity * 2n >= m.mm).to.equal(true);
      expect(await f.clearingHouse.liquidationSize(f.bobCross, ETH)).to.deep.equal([W("0.03"), true]);
      // realized = 81.6 − 90.00000135 = −8.40000135; penalty 0.816: keeper 0.408, insurance 0.408
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.bobCross,
          ETH,
          f.keeper.address,
          W("0.03"),
          E(2_720),
          W("-8.40000135"),
          0n,
          W("0.816"),
          W("0.408"),
          W("0.408"),
          0n,
          W("1.554998649325"),
          0n,
        );
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("0.408"));
      // 9.954999999325 − 8.40000135 − 0.816 = 0.738998649325
      expect(await f.vault.quoteBalance(f.bobCross)).to.equal(W("0.738998649325"));
      await expectConservation(f.vault, f.tokens);
    });

    it("the close-factor cap extends to the whole position when the rest would be dust", async () => {
      const f = await loadFixture(liquidationFixture);
      // bob: 20 USDC, buys 0.06 ETH: fill = 3,000 × (1 + 0.03/1,000,000) = 3,000.00009
      //   openNotional −180.0000054; fee 0.0900000027; quote 19.9099999973
      await fundUsdc(f, f.bob, f.bobCross, 20);
      await f.clearingHouse.connect(f.bob).openPosition(f.bobCross, ETH, W("0.06"), 0);
      await f.ethFeed.updateAnswer(P("2720"));
      // notional 163.2 (> $100); MM 4.08; equity = 19.9099999973 + 163.2 − 180.0000054 = 3.1099945973 ≥ 2.04
      // cap = 50 % × 163.2 / 2,720 = 0.03 ETH, which would leave 0.03 ETH = $81.6 ≤ $100 → all of it
      expect(await marginOf(f, f.bobCross)).to.deep.equal({
        equity: W("3.1099945973"),
        mm: W("4.08"),
        notional: W("163.2"),
        liquidatable: true,
      });
      expect(await f.clearingHouse.liquidationSize(f.bobCross, ETH)).to.deep.equal([W("0.06"), true]);
      // a keeper asking for just the cap would leave the $81.6 of dust
      const before = await snapshotState(f, [f.keeper.address]);
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, W("0.03")))
        .to.be.revertedWithCustomError(f.clearingHouse, "LiquidationLeavesDust")
        .withArgs(f.bobCross, ETH, W("81.6"));
      await expectStateUnchanged(f, before, [f.keeper.address]);
      // realized = 163.2 − 180.0000054 = −16.8000054; penalty 1.632: keeper 0.816, insurance 0.816
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.bobCross,
          ETH,
          f.keeper.address,
          W("0.06"),
          E(2_720),
          W("-16.8000054"),
          0n,
          W("1.632"),
          W("0.816"),
          W("0.816"),
          0n,
          W("3.1099945973"),
          0n,
        );
      // 19.9099999973 − 16.8000054 − 1.632 = 1.4779945973
      expect(await f.vault.quoteBalance(f.bobCross)).to.equal(W("1.4779945973"));
      await expectConservation(f.vault, f.tokens);
    });

    it("a maxSize that would leave ≤ $100 behind reverts LiquidationLeavesDust; less than one lot reverts ZeroSize", async () => {
      const f = await long30At("2720");
      await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX); // 15 ETH left
      await f.ethFeed.updateAnswer(P("2660")); // equity 245.649325 < 498.75: whole allowed
      const before = await snapshotState(f, [f.keeper.address]);
      // 14.97 of 15 would leave 0.03 × 2,660 = $79.8
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, W("14.97")))
        .to.be.revertedWithCustomError(f.clearingHouse, "LiquidationLeavesDust")
        .withArgs(f.aliceCross, ETH, W("79.8"));
      await expect(
        f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, 10n ** 10n - 1n),
      ).to.be.revertedWithCustomError(f.clearingHouse, "ZeroSize");
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, 9, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "UnknownMarket")
        .withArgs(9);
      await expectStateUnchanged(f, before, [f.keeper.address]);
      // 14.9 leaves 0.1 × 2,660 = $266: fine
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, W("14.9"))).to.emit(
        f.clearingHouse,
        "Liquidated",
      );
      expect((await f.clearingHouse.positionOf(f.aliceCross, ETH))[0]).to.equal(W("0.1"));
    });
  });

  describe("race between two liquidators", () => {
    it("the first closes the whole position; the second reverts NoPosition and nothing moves", async () => {
      const f = await long30At("2650"); // equity −546.350675: whole
      await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX);
      const holders = [f.keeper.address, f.keeper2.address];
      const before = await snapshotState(f, holders);
      await expect(f.clearingHouse.connect(f.keeper2).liquidate(f.aliceCross, ETH, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "NoPosition")
        .withArgs(f.aliceCross, ETH);
      await expectStateUnchanged(f, before, holders);
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([0n, 0n]);
      expect(await f.usdc.balanceOf(f.keeper2.address)).to.equal(0n);
    });

    it("the first's partial restores health; the second reverts AccountNotLiquidatable with the new figures", async () => {
      const f = await long30At("2720");
      await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX);
      const holders = [f.keeper.address, f.keeper2.address];
      const before = await snapshotState(f, holders);
      // equity 1,145.649325 ≥ MM 1,020 (see the partial-then-whole test)
      await expect(f.clearingHouse.connect(f.keeper2).liquidate(f.aliceCross, ETH, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "AccountNotLiquidatable")
        .withArgs(f.aliceCross, W("1145.649325"), E(1_020));
      await expectStateUnchanged(f, before, holders);
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([E(15), W("-45000.675")]);
      expect(await f.usdc.balanceOf(f.keeper2.address)).to.equal(0n);
    });
  });

  describe("collateral liquidation (liquidateCollateral)", () => {
    it("repays part, then the rest capped at the debt rounded up to whole USDC; the excess goes to insurance", async () => {
      const f = await loadFixture(debtorWith1Weth); // quote −817.1054513, 1 WETH, no positions
      await armLiquidator(f.usdc, f.vault, f.keeper, U("10000"));
      // repay 100 USDC: seized = 100 × 1.05 / 2,700 WETH = 0.038888888888888888 (rounded down)
      await expect(f.clearingHouse.connect(f.keeper).liquidateCollateral(f.aliceCross, f.weth, U("100")))
        .to.emit(f.vault, "CollateralLiquidated")
        .withArgs(
          f.aliceCross,
          await f.weth.getAddress(),
          f.keeper.address,
          U("100"),
          38_888_888_888_888_888n,
          E(2_700),
        );
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("-717.1054513"));
      expect(await f.vault.balanceOf(f.aliceCross, f.weth)).to.equal(E(1) - 38_888_888_888_888_888n);
      await expectConservation(f.vault, f.tokens);
      // repay 10,000 USDC: capped at the debt 717.1054513 rounded up to whole units = 717.105452
      //   seized = 717.105452 × 1.05 / 2,700 = 752.9607246 / 2,700 = 0.278874342444444444 WETH
      //   quote = −717.1054513 + 717.105452 = +0.0000007 → to the insurance fund, quote 0
      await expect(f.clearingHouse.connect(f.keeper).liquidateCollateral(f.aliceCross, f.weth, U("10000")))
        .to.emit(f.vault, "CollateralLiquidated")
        .withArgs(
          f.aliceCross,
          await f.weth.getAddress(),
          f.keeper.address,
          U("717.105452"),
          278_874_342_444_444_444n,
          E(2_700),
        );
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(0n);
      expect(await f.vault.insuranceFund()).to.equal(W("0.0000007"));
      // 1 − 0.038888888888888888 − 0.278874342444444444 = 0.682236768666666668 WETH stays with alice
      expect(await f.vault.balanceOf(f.aliceCross, f.weth)).to.equal(682_236_768_666_666_668n);
      expect(await f.weth.balanceOf(f.keeper.address)).to.equal(317_763_231_333_333_332n);
      // 10,000 − 100 − 717.105452
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("9182.894548"));
      await expectConservation(f.vault, f.tokens);
      // the debt is gone: a third call finds none, and alice may take her WETH home
      const before = await snapshotState(f, [f.keeper.address]);
      await expect(f.clearingHouse.connect(f.keeper).liquidateCollateral(f.aliceCross, f.weth, U("1")))
        .to.be.revertedWithCustomError(f.vault, "NoDebt")
        .withArgs(f.aliceCross, 0n);
      await expectStateUnchanged(f, before, [f.keeper.address]);
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, 682_236_768_666_666_668n, f.alice.address);
    });

    it("seizes at most the balance and reduces the repayment to what the balance is worth", async () => {
      const f = await loadFixture(debtorWithTenthWeth); // quote −817.1054513, 0.1 WETH
      await armLiquidator(f.usdc, f.vault, f.keeper, U("1000"));
      // repay 300: 300 × 1.05 / 2,700 = 0.1166… WETH > 0.1 → seized 0.1; repaid = 0.1 × 2,700 / 1.05
      //   = 257.142857142857142857… rounded up = 257.142858 USDC
      await expect(f.clearingHouse.connect(f.keeper).liquidateCollateral(f.aliceCross, f.weth, U("300")))
        .to.emit(f.vault, "CollateralLiquidated")
        .withArgs(f.aliceCross, await f.weth.getAddress(), f.keeper.address, U("257.142858"), E(1) / 10n, E(2_700));
      // −817.1054513 + 257.142858 = −559.9625933, no tokens left
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("-559.9625933"));
      expect(await f.vault.balanceOf(f.aliceCross, f.weth)).to.equal(0n);
      expect((await f.vault.accountState(f.aliceCross)).tokenMask).to.equal(0n);
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("742.857142"));
      expect(await f.weth.balanceOf(f.keeper.address)).to.equal(E(1) / 10n);
      expect(await f.vault.insuranceFund()).to.equal(0n);
      await expectConservation(f.vault, f.tokens);
      const before = await snapshotState(f, [f.keeper.address]);
      await expect(f.clearingHouse.connect(f.keeper).liquidateCollateral(f.aliceCross, f.weth, U("300")))
        .to.be.revertedWithCustomError(f.vault, "NoCollateral")
        .withArgs(f.aliceCross, await f.weth.getAddress());
      await expectStateUnchanged(f, before, [f.keeper.address]);
    });

    it("rejects ZeroAmount, UnknownAccount, AccountHasPositions, NoDebt, UnsupportedToken, NoCollateral, NothingToSeize", async () => {
      const f = await loadFixture(debtorWith1Weth);
      await fundAccount(f, f.wbtc, f.alice, f.aliceCross, 1_000_000n); // 0.01 WBTC
      await fundUsdc(f, f.bob, f.bobCross, 100); // bob: no debt
      const carol = await newAccount(f.vault, f.carol);
      await fundUsdc(f, f.carol, carol, 1_000);
      await fundAccount(f, f.weth, f.carol, carol, E(1));
      await f.clearingHouse.connect(f.carol).openPosition(carol, ETH, E(1), 0); // carol: a position
      const unlisted = await ethers.deployContract("MockERC20", ["Unlisted", "XYZ", 18]);
      await armLiquidator(f.usdc, f.vault, f.keeper, U("1000"));
      const holders = [f.keeper.address];
      const before = await snapshotState(f, holders);
      const liq = (id: bigint | number, token: string, amount: bigint) =>
        f.clearingHouse.connect(f.keeper).liquidateCollateral(id, token, amount);
      const weth = await f.weth.getAddress();
      await expect(liq(f.aliceCross, weth, 0n)).to.be.revertedWithCustomError(f.vault, "ZeroAmount");
      await expect(liq(99, weth, U("1")))
        .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
        .withArgs(99);
      await expect(liq(carol, weth, U("1")))
        .to.be.revertedWithCustomError(f.vault, "AccountHasPositions")
        .withArgs(carol);
      await expect(liq(f.bobCross, weth, U("1")))
        .to.be.revertedWithCustomError(f.vault, "NoDebt")
        .withArgs(f.bobCross, E(100));
      await expect(liq(f.aliceCross, await f.usdc.getAddress(), U("1")))
        .to.be.revertedWithCustomError(f.vault, "UnsupportedToken")
        .withArgs(await f.usdc.getAddress());
      await expect(liq(f.aliceCross, await unlisted.getAddress(), U("1")))
        .to.be.revertedWithCustomError(f.vault, "UnsupportedToken")
        .withArgs(await unlisted.getAddress());
      await expect(liq(f.aliceCross, await f.zdec.getAddress(), U("1")))
        .to.be.revertedWithCustomError(f.vault, "NoCollateral")
        .withArgs(f.aliceCross, await f.zdec.getAddress());
      // 0.000001 USDC × 1.05 buys 1.05e-6 / 60,000 BTC = 1.75e-11 BTC: below one satoshi
      await expect(liq(f.aliceCross, await f.wbtc.getAddress(), 1n))
        .to.be.revertedWithCustomError(f.vault, "NothingToSeize")
        .withArgs(f.aliceCross, await f.wbtc.getAddress(), 1n);
      await expectStateUnchanged(f, before, holders);
      // 0.001 USDC buys 1.75 satoshi → 1
      await expect(liq(f.aliceCross, await f.wbtc.getAddress(), U("0.001")))
        .to.emit(f.vault, "CollateralLiquidated")
        .withArgs(f.aliceCross, await f.wbtc.getAddress(), f.keeper.address, U("0.001"), 1n, E(60_000));
    });
  });

  describe("bad debt (settleBadDebt)", () => {
    it("is covered by the insurance fund: the fund falls by the debt and the account is zeroed", async () => {
      const f = await long30At("2650");
      await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX); // quote −943.850675
      await fundInsurance(f, U("10000"));
      const pool = await f.vault.poolBalance();
      const tx = f.clearingHouse.connect(f.keeper).settleBadDebt(f.aliceCross);
      await expect(tx).to.emit(f.vault, "BadDebtSettled").withArgs(f.aliceCross, W("943.850675"), W("943.850675"));
      await expect(tx).to.emit(f.vault, "BadDebtCovered").withArgs(f.aliceCross, W("943.850675"));
      await expect(tx).not.to.emit(f.vault, "BadDebtSocialized");
      await expect(tx).not.to.emit(f.vault, "CollateralSeized");
      // 10,000 − 943.850675
      expect(await f.vault.insuranceFund()).to.equal(W("9056.149325"));
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(0n);
      expect(await f.vault.poolBalance()).to.equal(pool);
      await expectConservation(f.vault, f.tokens);
      const before = await snapshotState(f);
      await expect(f.clearingHouse.settleBadDebt(f.aliceCross))
        .to.be.revertedWithCustomError(f.vault, "NoBadDebt")
        .withArgs(f.aliceCross, 0n);
      await expectStateUnchanged(f, before);
    });

    it("leftover collateral tokens go to the insurance fund's holdings", async () => {
      const f = await loadFixture(debtorWithTenthWeth); // quote −817.1054513, 0.1 WETH worth 270
      await fundInsurance(f, U("1000"));
      // value = −817.1054513 + 270 = −547.1054513 < 0: debt 817.1054513, deficit 547.1054513
      const tx = f.clearingHouse.settleBadDebt(f.aliceCross);
      await expect(tx).to.emit(f.vault, "BadDebtSettled").withArgs(f.aliceCross, -DEBT_QUOTE, W("547.1054513"));
      await expect(tx).to.emit(f.vault, "BadDebtCovered").withArgs(f.aliceCross, -DEBT_QUOTE);
      await expect(tx)
        .to.emit(f.vault, "CollateralSeized")
        .withArgs(f.aliceCross, await f.weth.getAddress(), E(1) / 10n);
      await expect(tx).not.to.emit(f.vault, "BadDebtSocialized");
      // 1,000 − 817.1054513
      expect(await f.vault.insuranceFund()).to.equal(W("182.8945487"));
      expect(await f.vault.insuranceTokenBalance(f.weth)).to.equal(E(1) / 10n);
      expect(await f.vault.balanceOf(f.aliceCross, f.weth)).to.equal(0n);
      expect((await f.vault.collateralConfig(f.weth)).totalDeposits).to.equal(0n);
      expect(await f.vault.accountState(f.aliceCross)).to.deep.equal([0n, 0n, 0n, 0n]);
      await expectConservation(f.vault, f.tokens);
    });

    it("reverts NoBadDebt while the account's value is ≥ 0 and AccountHasPositions with a position open", async () => {
      const f = await loadFixture(debtorWith1Weth);
      await fundUsdc(f, f.bob, f.bobCross, 100);
      const carol = await newAccount(f.vault, f.carol);
      await fundUsdc(f, f.carol, carol, 1_000);
      await f.clearingHouse.connect(f.carol).openPosition(carol, ETH, E(6), 0);
      await f.ethFeed.updateAnswer(P("2000")); // carol: 6 ETH bought at ≈ 3,000, equity ≈ 1,000 − 6,000 < 0
      expect((await f.clearingHouse.accountMargin(carol)).equity).to.be.lt(0n);
      const before = await snapshotState(f);
      // alice: −817.1054513 + 1 WETH × 2,000 = 1,182.8945487 ≥ 0 (un-haircut)
      await expect(f.clearingHouse.settleBadDebt(f.aliceCross))
        .to.be.revertedWithCustomError(f.vault, "NoBadDebt")
        .withArgs(f.aliceCross, W("1182.8945487"));
      await expect(f.clearingHouse.settleBadDebt(f.bobCross))
        .to.be.revertedWithCustomError(f.vault, "NoBadDebt")
        .withArgs(f.bobCross, E(100));
      await expect(f.clearingHouse.settleBadDebt(carol))
        .to.be.revertedWithCustomError(f.vault, "AccountHasPositions")
        .withArgs(carol);
      await expect(f.clearingHouse.settleBadDebt(99))
        .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
        .withArgs(99);
      await expectStateUnchanged(f, before);
    });

    it("beyond the insurance fund is socialized: the real LiquidityPool's totalAssets and share price fall by it", async () => {
      const { p, deployer, keeper } = await loadFixture(localPool);
      const id = await p.vault.accountCount();
      const tokens = [p.usdc, p.weth, p.wbtc];
      // same reference trade as the fixture's: 30 ETH at 3,000.045 on 10,000 USDC; ETH to 2,650; whole liquidation
      await p.ethFeed.updateAnswer(P("2650"));
      await p.clearingHouse.connect(keeper).liquidate(id, ETH, MAX);
      expect(await p.vault.quoteBalance(id)).to.equal(W("-943.850675"));
      // pool ledger 1,000,000 + 45.000675 + 10,501.35 = 1,010,546.350675; insurance left 500
      expect(await p.vault.poolBalance()).to.equal(W("1010546.350675"));
      expect(await p.vault.insuranceFund()).to.equal(E(500));
      const supply = await p.pool.totalSupply();
      expect(supply).to.equal(10n ** 18n); // 1,000,000 USDC × 10^6 virtual shares per unit
      const assetsBefore = await p.pool.totalAssets();
      expect(assetsBefore).to.equal(U("1010546.350675"));
      // ERC-4626 with 6 virtual decimals: assets(shares) = shares × (totalAssets + 1) / (supply + 10^6), rounded down
      const assetsOf = (shares: bigint, total: bigint) => (shares * (total + 1n)) / (supply + 10n ** 6n);
      const onePoolToken = 10n ** 12n; // cmLP has 12 decimals
      expect(await p.pool.convertToAssets(onePoolToken)).to.equal(assetsOf(onePoolToken, assetsBefore));
      const deployerBefore = await p.pool.convertToAssets(await p.pool.balanceOf(deployer.address));

      // debt 943.850675: insurance covers 500, the pool 443.850675
      const tx = p.clearingHouse.connect(keeper).settleBadDebt(id);
      await expect(tx).to.emit(p.vault, "BadDebtSettled").withArgs(id, W("943.850675"), W("943.850675"));
      await expect(tx).to.emit(p.vault, "BadDebtCovered").withArgs(id, E(500));
      await expect(tx).to.emit(p.vault, "BadDebtSocialized").withArgs(id, W("443.850675"));
      expect(await p.vault.insuranceFund()).to.equal(0n);
      expect(await p.vault.quoteBalance(id)).to.equal(0n);
      // 1,010,546.350675 − 443.850675 = 1,010,102.5
      expect(await p.vault.poolBalance()).to.equal(W("1010102.5"));
      const assetsAfter = await p.pool.totalAssets();
      expect(assetsBefore - assetsAfter).to.equal(U("443.850675"));
      // share price: ≈ 1.010546 → ≈ 1.010102 USDC per cmLP
      const priceAfter = await p.pool.convertToAssets(onePoolToken);
      expect(priceAfter).to.equal(assetsOf(onePoolToken, assetsAfter));
      expect(priceAfter).to.equal(U("1.010102"));
      expect(assetsOf(onePoolToken, assetsBefore)).to.equal(U("1.010546"));
      const deployerAfter = await p.pool.convertToAssets(await p.pool.balanceOf(deployer.address));
      expect(deployerAfter).to.equal(assetsOf(supply, assetsAfter));
      expect(deployerBefore - deployerAfter).to.equal(assetsOf(supply, assetsBefore) - assetsOf(supply, assetsAfter));
      // the sole LP bears the whole socialized loss, to within the virtual shares' rounding
      expect(deployerBefore - deployerAfter).to.be.closeTo(U("443.850675"), 1n);
      await expectConservation(p.vault, tokens);
    });
  });

  describe("never paused", () => {
    it("liquidate, liquidateCollateral and settleBadDebt go on while the guardian has paused everything", async () => {
      const f = await loadFixture(liquidationFixture);
      await fundInsurance(f, U("1000"));
      // alice: 10,000 USDC + 0.1 WETH, 30 ETH at 3,000.045; ETH to 2,650 (see the MarginLens 1 → 2 → 3 test)
      await fundAccount(f, f.weth, f.alice, f.aliceCross, E(1) / 10n);
      await long30(f);
      await f.ethFeed.updateAnswer(P("2650"));
      await armLiquidator(f.usdc, f.vault, f.keeper2, U("1000"));
      await f.clearingHouse.connect(f.guardian).pause(7);
      await f.vault.connect(f.guardian).pause(7);
      const before = await snapshotState(f);
      await expect(f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "ActionPaused")
        .withArgs(PAUSE_TRADE);
      await expectStateUnchanged(f, before);
      // whole: keeper 397.5, insurance 0 → quote −943.850675
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(30),
          E(2_650),
          W("-10501.35"),
          0n,
          E(795),
          W("397.5"),
          0n,
          W("397.5"),
          W("-307.850675"),
          0n,
        );
      // the 0.1 WETH (265) for 265 / 1.05 → 252.380953 USDC; quote −691.469722
      await expect(f.clearingHouse.connect(f.keeper2).liquidateCollateral(f.aliceCross, f.weth, U("1000")))
        .to.emit(f.vault, "CollateralLiquidated")
        .withArgs(f.aliceCross, await f.weth.getAddress(), f.keeper2.address, U("252.380953"), E(1) / 10n, E(2_650));
      await expect(f.clearingHouse.settleBadDebt(f.aliceCross))
        .to.emit(f.vault, "BadDebtCovered")
        .withArgs(f.aliceCross, W("691.469722"));
      // 1,000 − 691.469722
      expect(await f.vault.insuranceFund()).to.equal(W("308.530278"));
      expect(await f.usdc.balanceOf(f.keeper.address)).to.equal(U("397.5"));
      await expectConservation(f.vault, f.tokens);
    });
  });

  describe("liquidation rate limit", () => {
    it("passes within the cap, refuses beyond it until the window rolls, never refuses negative equity", async () => {
      const f = await loadFixture(liquidationFixture);
      await long30(f); // alice: fill 3,000.045 (skew 0)
      // bob: 10,000 USDC, 30 ETH on skew 30: fill = 3,000 × (1 + 45/1,000,000) = 3,000.135
      //   openNotional −90,004.05, fee 45.002025, quote 9,954.997975
      await fundUsdc(f, f.bob, f.bobCross, 10_000);
      await f.clearingHouse.connect(f.bob).openPosition(f.bobCross, ETH, E(30), 0);
      // carol: 5,000 USDC, 30 ETH on skew 60: fill = 3,000 × (1 + 75/1,000,000) = 3,000.225
      //   openNotional −90,006.75, fee 45.003375, quote 4,954.996625
      const carol = await newAccount(f.vault, f.carol);
      await fundUsdc(f, f.carol, carol, 5_000);
      await f.clearingHouse.connect(f.carol).openPosition(carol, ETH, E(30), 0);

      await expect(f.clearingHouse.setLiquidationRateLimit(ETH, E(50_000), HOUR))
        .to.emit(f.clearingHouse, "LiquidationRateLimitSet")
        .withArgs(ETH, E(50_000), HOUR);
      const start = BigInt(await time.latest());
      const safety = await f.clearingHouse.marketSafety(ETH);
      expect([safety.rateLimitCap, safety.rateLimitWindow, safety.windowStart, safety.windowLiquidated]).to.deep.equal([
        E(50_000),
        HOUR,
        start,
        0n,
      ]);
      await f.ethFeed.updateAnswer(P("2720"));
      // alice (equity 1,553.649325 ≥ 0): partial 15 ETH = $40,800 ≤ $50,000 → passes; used 40,800
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.keeper.address,
          E(15),
          E(2_720),
          W("-4200.675"),
          0n,
          E(408),
          E(204),
          E(204),
          0n,
          W("1553.649325"),
          E(15),
        );
      expect((await f.clearingHouse.marketSafety(ETH)).windowLiquidated).to.equal(E(40_800));
      // bob: equity 9,954.997975 + 81,600 − 90,004.05 = 1,550.947975 ≥ 0; 40,800 + 40,800 > 50,000 → refused
      expect((await f.clearingHouse.accountMargin(f.bobCross)).equity).to.equal(W("1550.947975"));
      const holders = [f.keeper.address];
      let before = await snapshotState(f, holders);
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "LiquidationRateLimited")
        .withArgs(ETH, E(50_000), E(40_800), start + HOUR);
      await expectStateUnchanged(f, before, holders);
      // carol: equity 4,954.996625 + 81,600 − 90,006.75 = −3,451.753375 < 0 → never refused; whole (30 ETH, $81,600)
      //   penalty 816: keeper 408, insurance 0, shortfall 408
      await expect(f.clearingHouse.connect(f.keeper).liquidate(carol, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          carol,
          ETH,
          f.keeper.address,
          E(30),
          E(2_720),
          W("-8406.75"),
          0n,
          E(816),
          E(408),
          0n,
          E(408),
          W("-3451.753375"),
          0n,
        );
      // counted nonetheless: 40,800 + 81,600 = 122,400
      expect((await f.clearingHouse.marketSafety(ETH)).windowLiquidated).to.equal(E(122_400));
      before = await snapshotState(f, holders);
      await time.setNextBlockTimestamp(start + HOUR - 1n);
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "LiquidationRateLimited")
        .withArgs(ETH, E(50_000), E(122_400), start + HOUR);
      await expectStateUnchanged(f, before, holders);
      // the window rolls at start + 1 hour: bob's 15 ETH pass and open a new window
      await time.setNextBlockTimestamp(start + HOUR);
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.bobCross,
          ETH,
          f.keeper.address,
          E(15),
          E(2_720),
          W("-4202.025"),
          0n,
          E(408),
          E(204),
          E(204),
          0n,
          W("1550.947975"),
          E(15),
        );
      const rolled = await f.clearingHouse.marketSafety(ETH);
      expect([rolled.windowStart, rolled.windowLiquidated]).to.deep.equal([start + HOUR, E(40_800)]);
      await expectConservation(f.vault, f.tokens);
    });

    it("governance: whole-dollar cap, window 1 s .. 7 days, owner only; cap 0 switches it off", async () => {
      const f = await loadFixture(liquidationFixture);
      const before = await snapshotState(f);
      const set = (cap: bigint, window: bigint) => f.clearingHouse.setLiquidationRateLimit(ETH, cap, window);
      await expect(set(E(50_000) + E(1) / 2n, HOUR))
        .to.be.revertedWithCustomError(f.clearingHouse, "InvalidLiquidationParam")
        .withArgs(field("rateLimitCap"));
      await expect(set(1n, HOUR))
        .to.be.revertedWithCustomError(f.clearingHouse, "InvalidLiquidationParam")
        .withArgs(field("rateLimitCap"));
      await expect(set(2n ** 64n * WAD, HOUR))
        .to.be.revertedWithCustomError(f.clearingHouse, "InvalidLiquidationParam")
        .withArgs(field("rateLimitCap"));
      await expect(set(E(1_000), 0n))
        .to.be.revertedWithCustomError(f.clearingHouse, "InvalidLiquidationParam")
        .withArgs(field("rateLimitWindow"));
      await expect(set(E(1_000), 7n * DAY + 1n))
        .to.be.revertedWithCustomError(f.clearingHouse, "InvalidLiquidationParam")
        .withArgs(field("rateLimitWindow"));
      await expect(f.clearingHouse.connect(f.alice).setLiquidationRateLimit(ETH, E(1_000), HOUR))
        .to.be.revertedWithCustomError(f.clearingHouse, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await expect(f.clearingHouse.setLiquidationRateLimit(9, E(1_000), HOUR))
        .to.be.revertedWithCustomError(f.clearingHouse, "UnknownMarket")
        .withArgs(9);
      await expectStateUnchanged(f, before);
      await expect(set(E(1_000), 7n * DAY))
        .to.emit(f.clearingHouse, "LiquidationRateLimitSet")
        .withArgs(ETH, E(1_000), 7n * DAY);
      expect((await f.clearingHouse.marketSafety(ETH)).rateLimitWindow).to.equal(7n * DAY);
      await expect(set(0n, 0n)).to.emit(f.clearingHouse, "LiquidationRateLimitSet").withArgs(ETH, 0n, 0n);
      const off = await f.clearingHouse.marketSafety(ETH);
      expect([off.rateLimitCap, off.rateLimitWindow, off.windowLiquidated]).to.deep.equal([0n, 0n, 0n]);
      // off: any liquidation passes (the cap is not counted)
      await long30(f);
      await f.ethFeed.updateAnswer(P("2650"));
      await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX);
      expect((await f.clearingHouse.marketSafety(ETH)).windowLiquidated).to.equal(0n);
    });
  });

  describe("circuit breaker", () => {
    /** alice long 30 ETH and bob short 30 ETH, both at 3,000.045; ETH then moves to `price`. */
    async function bothSides(price: string) {
      const f = await loadFixture(liquidationFixture);
      await long30(f);
      // bob sells 30 on skew 30: fill = 3,000 × (1 + (30 − 15)/1,000,000) = 3,000.045
      //   openNotional +90,001.35, fee 45.000675, quote 9,954.999325; skew back to 0
      await fundUsdc(f, f.bob, f.bobCross, 10_000);
      await f.clearingHouse.connect(f.bob).openPosition(f.bobCross, ETH, -E(30), 0);
      expect((await f.clearingHouse.marketSafety(ETH)).referencePrice).to.equal(E(3_000));
      await f.ethFeed.updateAnswer(P(price));
      return f;
    }

    it("refuses increasing trades beyond the band, pokes into reduce-only, lets reductions and liquidations through, clears by governance", async () => {
      const f = await bothSides("3700"); // +23.3 % > 20 %
      const holders = [f.keeper.address];
      let before = await snapshotState(f, holders);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "PriceDeviationExceeded")
        .withArgs(ETH, E(3_000), E(3_700));
      await expectStateUnchanged(f, before, holders);

      await expect(f.clearingHouse.connect(f.keeper).pokeCircuitBreaker(ETH))
        .to.emit(f.clearingHouse, "CircuitBreakerTripped")
        .withArgs(ETH, E(3_000), E(3_700));
      const since = BigInt(await time.latest());
      let safety = await f.clearingHouse.marketSafety(ETH);
      expect([
        safety.referencePrice,
        safety.maxPriceDeviation,
        safety.reduceOnly,
        safety.reduceOnlyUntil,
      ]).to.deep.equal([E(3_000), units(2, 17), true, since + HOUR]);
      before = await snapshotState(f, holders);
      await expect(f.clearingHouse.connect(f.keeper).pokeCircuitBreaker(ETH))
        .to.be.revertedWithCustomError(f.clearingHouse, "MarketReduceOnly")
        .withArgs(ETH, since + HOUR);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "MarketReduceOnly")
        .withArgs(ETH, since + HOUR);
      // flipping the side increases exposure too
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(31), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "MarketReduceOnly")
        .withArgs(ETH, since + HOUR);
      await expectStateUnchanged(f, before, holders);

      // reducing trades go on (and re-anchor the reference; the market stays reduce-only)
      const reduce = f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(10), 0);
      await expect(reduce).to.emit(f.clearingHouse, "PositionChanged");
      await expect(reduce).not.to.emit(f.clearingHouse, "CircuitBreakerTripped");
      expect((await f.clearingHouse.positionOf(f.aliceCross, ETH))[0]).to.equal(E(20));
      safety = await f.clearingHouse.marketSafety(ETH);
      expect([safety.referencePrice, safety.reduceOnly, safety.reduceOnlyUntil]).to.deep.equal([
        E(3_700),
        true,
        since + HOUR,
      ]);

      // liquidations go on: bob's short, equity = 9,954.999325 + 90,001.35 − 111,000 = −11,043.650675
      //   whole: realized = −111,000 + 90,001.35 = −20,998.65; penalty 1,110: keeper 555, shortfall 555
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.bobCross,
          ETH,
          f.keeper.address,
          -E(30),
          E(3_700),
          W("-20998.65"),
          0n,
          E(1_110),
          E(555),
          0n,
          E(555),
          W("-11043.650675"),
          0n,
        );
      expect(await f.vault.quoteBalance(f.bobCross)).to.equal(W("-11598.650675"));
      expect((await f.clearingHouse.marketSafety(ETH)).reduceOnly).to.equal(true);

      before = await snapshotState(f, holders);
      await expect(f.clearingHouse.connect(f.alice).clearCircuitBreaker(ETH))
        .to.be.revertedWithCustomError(f.clearingHouse, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await expectStateUnchanged(f, before, holders);
      await expect(f.clearingHouse.clearCircuitBreaker(ETH))
        .to.emit(f.clearingHouse, "CircuitBreakerCleared")
        .withArgs(ETH, E(3_700));
      safety = await f.clearingHouse.marketSafety(ETH);
      expect([safety.referencePrice, safety.reduceOnly, safety.reduceOnlyUntil]).to.deep.equal([E(3_700), false, 0n]);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0)).to.emit(
        f.clearingHouse,
        "PositionChanged",
      );
      await expectConservation(f.vault, f.tokens);
    });

    it("a reducing trade or a liquidation beyond the band trips the breaker by itself", async () => {
      let f = await bothSides("3700");
      const reduce = f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, -E(5), 0);
      await expect(reduce).to.emit(f.clearingHouse, "CircuitBreakerTripped").withArgs(ETH, E(3_000), E(3_700));
      await expect(reduce).to.emit(f.clearingHouse, "PositionChanged");
      let since = BigInt(await time.latest());
      let safety = await f.clearingHouse.marketSafety(ETH);
      expect([safety.referencePrice, safety.reduceOnly, safety.reduceOnlyUntil]).to.deep.equal([
        E(3_700),
        true,
        since + HOUR,
      ]);

      f = await bothSides("3700");
      const liquidation = f.clearingHouse.connect(f.keeper).liquidate(f.bobCross, ETH, MAX);
      await expect(liquidation).to.emit(f.clearingHouse, "CircuitBreakerTripped").withArgs(ETH, E(3_000), E(3_700));
      await expect(liquidation).to.emit(f.clearingHouse, "Liquidated");
      since = BigInt(await time.latest());
      safety = await f.clearingHouse.marketSafety(ETH);
      expect([safety.referencePrice, safety.reduceOnly, safety.reduceOnlyUntil]).to.deep.equal([
        E(3_700),
        true,
        since + HOUR,
      ]);
      const before = await snapshotState(f);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "MarketReduceOnly")
        .withArgs(ETH, since + HOUR);
      await expectStateUnchanged(f, before);
    });

    it("poke reverts PriceWithinBand inside the band (20 % exactly is inside) and on a market never traded", async () => {
      const f = await bothSides("3600"); // +20 % exactly
      const before = await snapshotState(f);
      await expect(f.clearingHouse.pokeCircuitBreaker(ETH))
        .to.be.revertedWithCustomError(f.clearingHouse, "PriceWithinBand")
        .withArgs(ETH, E(3_000), E(3_600));
      await f.ethFeed.updateAnswer(P("2400")); // −20 % exactly
      await expect(f.clearingHouse.pokeCircuitBreaker(ETH))
        .to.be.revertedWithCustomError(f.clearingHouse, "PriceWithinBand")
        .withArgs(ETH, E(3_000), E(2_400));
      await expect(f.clearingHouse.pokeCircuitBreaker(BTC))
        .to.be.revertedWithCustomError(f.clearingHouse, "PriceWithinBand")
        .withArgs(BTC, 0n, E(60_000));
      await expect(f.clearingHouse.pokeCircuitBreaker(9))
        .to.be.revertedWithCustomError(f.clearingHouse, "UnknownMarket")
        .withArgs(9);
      await expectStateUnchanged(f, before);
      // one feed step beyond: 2,399.99999999
      await f.ethFeed.updateAnswer(P("2399.99999999"));
      await expect(f.clearingHouse.pokeCircuitBreaker(ETH))
        .to.emit(f.clearingHouse, "CircuitBreakerTripped")
        .withArgs(ETH, E(3_000), W("2399.99999999"));
    });

    it("clears itself after the time-out; the next trade re-anchors the reference", async () => {
      const f = await bothSides("3700");
      await f.clearingHouse.pokeCircuitBreaker(ETH);
      const since = BigInt(await time.latest());
      const before = await snapshotState(f);
      await time.setNextBlockTimestamp(since + HOUR - 1n);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "MarketReduceOnly")
        .withArgs(ETH, since + HOUR);
      await expectStateUnchanged(f, before);
      await time.increaseTo(since + HOUR);
      // expired: reads as cleared, reference 0 (no band until the next trade)
      const safety = await f.clearingHouse.marketSafety(ETH);
      expect([safety.referencePrice, safety.reduceOnly, safety.reduceOnlyUntil]).to.deep.equal([0n, false, 0n]);
      // with no reference there is no band to be outside of until a trade re-anchors
      await expect(f.clearingHouse.pokeCircuitBreaker(ETH))
        .to.be.revertedWithCustomError(f.clearingHouse, "PriceWithinBand")
        .withArgs(ETH, 0n, E(3_700));
      const trade = f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0);
      await expect(trade).to.emit(f.clearingHouse, "PositionChanged");
      await expect(trade).not.to.emit(f.clearingHouse, "CircuitBreakerTripped");
      const anchored = await f.clearingHouse.marketSafety(ETH);
      expect([anchored.referencePrice, anchored.reduceOnly]).to.deep.equal([E(3_700), false]);
      // and the band now runs around 3,700: 3,700 × 1.2 = 4,440 is inside, 4,440.00000001 is not
      await f.ethFeed.updateAnswer(P("4440.00000001"));
      const beforeBand = await snapshotState(f);
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "PriceDeviationExceeded")
        .withArgs(ETH, E(3_700), W("4440.00000001"));
      await expectStateUnchanged(f, beforeBand);
    });
  });

  describe("governance of the liquidation parameters", () => {
    it("liquidationParams() starts at the DESIGN §13 defaults; circuit-breaker time-out 1 hour", async () => {
      const f = await loadFixture(liquidationFixture);
      expect(await f.clearingHouse.liquidationParams()).to.deep.equal([
        units(1, 16),
        units(5, 17),
        units(5, 17),
        units(5, 17),
        E(100),
        units(5, 16),
      ]);
      expect(await f.clearingHouse.circuitBreakerTimeout()).to.equal(HOUR);
      const safety = await f.clearingHouse.marketSafety(ETH);
      expect([safety.rateLimitCap, safety.rateLimitWindow, safety.reduceOnly, safety.referencePrice]).to.deep.equal([
        0n,
        0n,
        false,
        0n,
      ]);
    });

    const outOfBounds: [string, Partial<typeof DEFAULT_LIQUIDATION_PARAMS>][] = [
      ["liquidationFee", { liquidationFee: units(1, 17) + 1n }],
      ["keeperShare", { keeperShare: WAD + 1n }],
      ["closeFactor", { closeFactor: 0n }],
      ["closeFactor", { closeFactor: WAD + 1n }],
      ["fullLiquidationThreshold", { fullLiquidationThreshold: WAD + 1n }],
      ["dustThreshold", { dustThreshold: E(1_000_000) + 1n }],
      ["collateralDiscount", { collateralDiscount: units(2, 17) + 1n }],
      // granularity: rates are stored in whole millionths, the dust threshold in whole dollars
      ["liquidationFee", { liquidationFee: units(1, 16) + 1n }],
      ["keeperShare", { keeperShare: units(5, 17) + units(1, 11) }],
      ["closeFactor", { closeFactor: 1n }],
      ["fullLiquidationThreshold", { fullLiquidationThreshold: units(5, 17) - 1n }],
      ["dustThreshold", { dustThreshold: E(100) + units(5, 17) }],
      ["collateralDiscount", { collateralDiscount: units(5, 16) + 1n }],
    ];
    for (const [name, change] of outOfBounds) {
      it(`setLiquidationParams rejects ${name} = ${Object.values(change)[0]} and keeps the parameters`, async () => {
        const f = await loadFixture(liquidationFixture);
        const before = await snapshotState(f);
        await expect(
          f.clearingHouse.setLiquidationParams({
            ...DEFAULT_LIQUIDATION_PARAMS,
            ...change,
          }),
        )
          .to.be.revertedWithCustomError(f.clearingHouse, "InvalidLiquidationParam")
          .withArgs(field(name));
        await expectStateUnchanged(f, before);
      });
    }

    it("setLiquidationParams accepts each bound, emits LiquidationParamsSet, owner only", async () => {
      const f = await loadFixture(liquidationFixture);
      const highest = [units(1, 17), WAD, WAD, WAD, E(1_000_000), units(2, 17)];
      const lowest = [0n, 0n, units(1, 12), 0n, 0n, 0n]; // close factor: one millionth
      for (const values of [highest, lowest]) {
        const [liquidationFee, keeperShare, closeFactor, fullLiquidationThreshold, dustThreshold, collateralDiscount] =
          values;
        const params = {
          liquidationFee,
          keeperShare,
          closeFactor,
          fullLiquidationThreshold,
          dustThreshold,
          collateralDiscount,
        };
        await expect(f.clearingHouse.setLiquidationParams(params))
          .to.emit(f.clearingHouse, "LiquidationParamsSet")
          .withArgs(values);
        expect(await f.clearingHouse.liquidationParams()).to.deep.equal(values);
      }
      const before = await snapshotState(f);
      await expect(f.clearingHouse.connect(f.alice).setLiquidationParams(DEFAULT_LIQUIDATION_PARAMS))
        .to.be.revertedWithCustomError(f.clearingHouse, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await expectStateUnchanged(f, before);
    });

    it("setCircuitBreakerTimeout: 60 s .. 7 days, event, owner only; it moves reduceOnlyUntil", async () => {
      const f = await loadFixture(liquidationFixture);
      const before = await snapshotState(f);
      for (const timeout of [59n, 7n * DAY + 1n, 0n]) {
        await expect(f.clearingHouse.setCircuitBreakerTimeout(timeout))
          .to.be.revertedWithCustomError(f.clearingHouse, "InvalidLiquidationParam")
          .withArgs(field("circuitBreakerTimeout"));
      }
      await expect(f.clearingHouse.connect(f.alice).setCircuitBreakerTimeout(600))
        .to.be.revertedWithCustomError(f.clearingHouse, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await expectStateUnchanged(f, before);
      await expect(f.clearingHouse.setCircuitBreakerTimeout(7n * DAY))
        .to.emit(f.clearingHouse, "CircuitBreakerTimeoutSet")
        .withArgs(7n * DAY);
      await expect(f.clearingHouse.setCircuitBreakerTimeout(60))
        .to.emit(f.clearingHouse, "CircuitBreakerTimeoutSet")
        .withArgs(60);
      expect(await f.clearingHouse.circuitBreakerTimeout()).to.equal(60n);
      // a tripped market now stays reduce-only for 60 s
      await long30(f);
      await f.ethFeed.updateAnswer(P("3700"));
      await f.clearingHouse.pokeCircuitBreaker(ETH);
      const since = BigInt(await time.latest());
      expect((await f.clearingHouse.marketSafety(ETH)).reduceOnlyUntil).to.equal(since + 60n);
      await f.clearingHouse.setCircuitBreakerTimeout(2n * HOUR);
      expect((await f.clearingHouse.marketSafety(ETH)).reduceOnlyUntil).to.equal(since + 2n * HOUR);
    });
  });

  describe("exploit replays that must fail", () => {
    it("self-liquidation with negative equity: the owner and its operator earn nothing", async () => {
      // Attack: an underwater trader liquidates her own account to collect the keeper reward,
      // which would be paid out of bad debt that insurance and the pool end up covering.
      for (const who of ["owner", "operator"] as const) {
        const f = await long30At("2650"); // equity −546.350675
        if (who === "operator") await f.vault.connect(f.alice).setOperator(f.aliceCross, f.operator.address, true);
        const caller = who === "owner" ? f.alice : f.operator;
        const wallet = await f.usdc.balanceOf(caller.address);
        // reward capped at max(0, −546.350675) = 0; insurance 0; shortfall = the whole penalty 795
        await expect(f.clearingHouse.connect(caller).liquidate(f.aliceCross, ETH, MAX))
          .to.emit(f.clearingHouse, "Liquidated")
          .withArgs(
            f.aliceCross,
            ETH,
            caller.address,
            E(30),
            E(2_650),
            W("-10501.35"),
            0n,
            E(795),
            0n,
            0n,
            E(795),
            W("-546.350675"),
            0n,
          );
        expect(await f.usdc.balanceOf(caller.address)).to.equal(wallet);
        // only the trading loss: 9,954.999325 − 10,501.35 = −546.350675 (a stranger would have added 397.5 of debt)
        expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("-546.350675"));
        expect(await f.vault.insuranceFund()).to.equal(0n);
        await expectConservation(f.vault, f.tokens);
      }
    });

    it("self-liquidation with small positive equity: the owner earns at most what the account loses; a stranger earns the full reward", async () => {
      // Attack: the reward (400.5) exceeds the account's equity (53.649325); liquidating herself would
      // turn 53.65 of equity into 400.5 of USDC, the difference becoming bad debt.
      for (const who of ["owner", "operator", "stranger"] as const) {
        const f = await long30At("2670"); // equity 80,100 − 80,046.350675 = 53.649325; MM 2,002.5: whole
        await f.vault.connect(f.alice).setOperator(f.aliceCross, f.operator.address, true);
        const caller = who === "owner" ? f.alice : who === "operator" ? f.operator : f.keeper;
        // closed 80,100: penalty 801; realized 80,100 − 90,001.35 = −9,901.35
        //   owner / operator: reward = min(400.5, 53.649325) = 53.649325, insurance 0, shortfall 747.350675, quote 0
        //   stranger: reward 400.5, insurance 0 (no equity left after it), shortfall 400.5, quote −346.850675
        const reward = who === "stranger" ? W("400.5") : W("53.649325");
        await expect(f.clearingHouse.connect(caller).liquidate(f.aliceCross, ETH, MAX))
          .to.emit(f.clearingHouse, "Liquidated")
          .withArgs(
            f.aliceCross,
            ETH,
            caller.address,
            E(30),
            E(2_670),
            W("-9901.35"),
            0n,
            E(801),
            reward,
            0n,
            E(801) - reward,
            W("53.649325"),
            0n,
          );
        expect(await f.usdc.balanceOf(caller.address)).to.equal(reward / 10n ** 12n);
        const quote = await f.vault.quoteBalance(f.aliceCross);
        expect(quote).to.equal(who === "stranger" ? W("-346.850675") : 0n);
        // what the account lost (equity 53.649325 → quote after) is at least what its owner's side earned
        if (who !== "stranger") expect(W("53.649325") - quote).to.be.gte(reward);
        await expectConservation(f.vault, f.tokens);
      }
    });

    it("self-liquidation with equity above the reward pays the owner less than closing the position would", async () => {
      // at 2,690: equity 653.649325 ≥ reward 403.5, so the owner is paid 403.5 (not capped) and the account
      // loses 653.649325 of equity (reward + insurance 250.149325): a net loss of 250.149325 to her.
      let f = await long30At("2690");
      await expect(f.clearingHouse.connect(f.alice).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          f.alice.address,
          E(30),
          E(2_690),
          W("-9301.35"),
          0n,
          E(807),
          W("403.5"),
          W("250.149325"),
          W("153.350675"),
          W("653.649325"),
          0n,
        );
      expect(await f.usdc.balanceOf(f.alice.address)).to.equal(U("403.5"));
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(0n);
      // closing instead: sell 30 on skew 30 at 2,690 × (1 + 15/1,000,000) = 2,690.04035
      //   realized 80,701.2105 − 90,001.35 = −9,300.1395; fee 40.35060525
      //   quote = 9,954.999325 − 9,300.1395 − 40.35060525 = 614.50921975 > 403.5
      f = await long30At("2690");
      await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0);
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("614.50921975"));
    });

    it("liquidating a healthy account reverts AccountNotLiquidatable with its equity and MM; nothing moves", async () => {
      // Attack: a keeper liquidates a solvent account to collect the penalty.
      const f = await long30At("2740");
      // equity = 30 × 2,740 − 80,046.350675 = 2,153.649325 ≥ MM 0.75 × 2,740 = 2,055
      const m = await f.clearingHouse.accountMargin(f.aliceCross);
      expect([m.equity, m.maintenanceMargin, m.liquidatable]).to.deep.equal([W("2153.649325"), E(2_055), false]);
      expect(await f.clearingHouse.liquidationSize(f.aliceCross, ETH)).to.deep.equal([0n, false]);
      const holders = [f.keeper.address];
      const before = await snapshotState(f, holders);
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "AccountNotLiquidatable")
        .withArgs(f.aliceCross, m.equity, m.maintenanceMargin);
      await f.ethFeed.updateAnswer(P("3000")); // equity 9,953.649325, MM 2,250
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "AccountNotLiquidatable")
        .withArgs(f.aliceCross, W("9953.649325"), E(2_250));
      // and a market the account holds nothing in
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, BTC, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "NoPosition")
        .withArgs(f.aliceCross, BTC);
      await f.ethFeed.updateAnswer(P("2740"));
      await expectStateUnchanged(f, before, holders);
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([E(30), W("-90001.35")]);
    });

    it("an out-of-date funding index does not shield an account: margin, liquidationSize and liquidate accrue funding to now", async () => {
      // Attack (on the keeper side): a position's stored funding index says healthy while the funding it
      // owes by now makes it insolvent; a check that used the stored index would let it run.
      const f = await loadFixture(protocolFixture); // funding on
      const keeper = (await ethers.getSigners())[5];
      // alice: 260,000 USDC, buys 1,000 ETH on zero skew: fill = 3,000 × (1 + 500/1,000,000) = 3,001.5
      //   openNotional −3,001,500; fee 1,500.75; quote 258,499.25
      //   funding rate = 1,000 / 1,000,000 × 10 % = 0.01 % a day (longs pay); entry index 0
      await fundUsdc(f, f.alice, f.aliceCross, 260_000);
      await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1_000), 0);
      const t0 = BigInt(await time.latest());
      expect(await f.clearingHouse.positionFundingIndex(f.aliceCross, ETH)).to.equal(0n);
      expect((await f.clearingHouse.marketState(ETH)).fundingRate).to.equal(units(1, 14));
      // at 2,861.58 without funding: equity = 258,499.25 + 2,861,580 − 3,001,500 = 118,579.25
      //   MM = 2.5 % × 1,000,000 + 5 % × 1,861,580 = 118,079: healthy by 500.25
      await f.ethFeed.updateAnswer(P("2861.58"));
      const before = await snapshotState(f, [keeper.address]);
      await expect(f.clearingHouse.connect(keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.be.revertedWithCustomError(f.clearingHouse, "AccountNotLiquidatable")
        .withArgs(
          f.aliceCross,
          (equity: bigint) => equity < W("118579.25") && equity > W("118579.2"), // a few seconds of funding
          E(118_079),
        );
      await expectStateUnchanged(f, before, [keeper.address]);
      // three days later (feed refreshed a second before): index ≈ 3 × 0.01 % × 2,861.58 = 0.858474 per ETH
      await time.setNextBlockTimestamp(t0 + 3n * DAY - 1n);
      await f.ethFeed.updateAnswer(P("2861.58"));
      const perDay = (units(1, 14) * W("2861.58")) / WAD; // 0.286158 USD per ETH per day
      const index = (perDay * (3n * DAY - 1n)) / DAY;
      expect((await f.clearingHouse.marketState(ETH)).fundingIndex).to.equal(index);
      const m = await f.clearingHouse.accountMargin(f.aliceCross);
      expect(m.equity).to.equal(W("118579.25") - index * 1_000n);
      expect(m.maintenanceMargin).to.equal(E(118_079));
      expect(m.liquidatable).to.equal(true);
      // partial: equity ≥ MM / 2; cap = 50 % × 2,861,580 / 2,861.58 = 500 ETH
      expect(await f.clearingHouse.liquidationSize(f.aliceCross, ETH)).to.deep.equal([E(500), false]);
      // liquidation at t0 + 3 days exactly: index = 0.0001 × 2,861.58 × 3 = 0.858474; funding = 1,000 × 0.858474 = 858.474
      //   equityBefore = 118,579.25 − 858.474 = 117,720.776
      //   realized = 500 × 2,861.58 − 3,001,500 / 2 = 1,430,790 − 1,500,750 = −69,960
      //   penalty 1 % × 1,430,790 = 14,307.9: keeper 7,153.95, insurance 7,153.95
      await time.setNextBlockTimestamp(t0 + 3n * DAY);
      await expect(f.clearingHouse.connect(keeper).liquidate(f.aliceCross, ETH, MAX))
        .to.emit(f.clearingHouse, "Liquidated")
        .withArgs(
          f.aliceCross,
          ETH,
          keeper.address,
          E(500),
          W("2861.58"),
          E(-69_960),
          W("858.474"),
          W("14307.9"),
          W("7153.95"),
          W("7153.95"),
          0n,
          W("117720.776"),
          E(500),
        );
      expect(await f.clearingHouse.positionFundingIndex(f.aliceCross, ETH)).to.equal(W("0.858474"));
      // the market is updated as by a trade: skew 500 → rate 500 / 1,000,000 × 10 % = 0.005 % a day
      const after = await f.clearingHouse.marketState(ETH);
      expect([after.skew, after.fundingRate, after.fundingIndex]).to.deep.equal([E(500), units(5, 13), W("0.858474")]);
      // quote = 258,499.25 − 69,960 − 858.474 − 14,307.9 = 173,372.876; pool += 69,960 + 858.474
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(W("173372.876"));
      expect(await f.vault.poolBalance()).to.equal(W("1072319.224"));
      expect(await f.usdc.balanceOf(keeper.address)).to.equal(U("7153.95"));
      await expectConservation(f.vault, f.tokens);
    });

    it("Mango Markets 2022: a pumped price never makes unrealized profit withdrawable", async () => {
      // Attack: pump the oracle (here: the feed) to inflate the unrealized profit of a long, then withdraw
      // (borrow) against it. In Crossmargin the quote balance never goes below zero by a withdrawal and
      // free collateral counts min(collateral, equity): the paper profit backs the position, never a payout.
      const f = await loadFixture(liquidationFixture);
      await long30(f);
      await f.ethFeed.updateAnswer(P("6000"));
      // equity = 9,954.999325 + 180,000 − 90,001.35 = 99,953.649325; IM at $180,000 = 9,000
      const m = await f.clearingHouse.accountMargin(f.aliceCross);
      expect([m.equity, m.initialMargin]).to.deep.equal([W("99953.649325"), E(9_000)]);
      // free collateral = min(9,954.999325, 99,953.649325) − 9,000 = 954.999325
      expect(m.freeCollateral).to.equal(W("954.999325"));
      const holders = [f.alice.address];
      const before = await snapshotState(f, holders);
      // more than was deposited: the quote balance would go negative
      await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, U("10001"), f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientBalance")
        .withArgs(f.aliceCross, await f.usdc.getAddress(), U("9954.999325"), U("10001"));
      // the whole quote balance: collateral 0 → free = 0 − 9,000
      await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, U("9954.999325"), f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientFreeCollateral")
        .withArgs(f.aliceCross, E(-9_000));
      // one micro-USDC more than the free collateral
      await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, U("954.999326"), f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientFreeCollateral")
        .withArgs(f.aliceCross, W("-0.000001"));
      // nor can the pumped price lever the position up further (circuit breaker: +100 % from 3,000)
      await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(30), 0))
        .to.be.revertedWithCustomError(f.clearingHouse, "PriceDeviationExceeded")
        .withArgs(ETH, E(3_000), E(6_000));
      await expectStateUnchanged(f, before, holders);
      // exactly the free collateral, which is the attacker's own deposit, can leave
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, U("954.999325"), f.alice.address);
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(E(9_000));
      expect(await f.usdc.balanceOf(f.alice.address)).to.equal(U("954.999325"));
    });

    it("a keeper cannot leave a $50 position nobody would close: LiquidationLeavesDust", async () => {
      // Attack: close all but a sliver, so that the rest is not worth anyone's gas and rots as bad debt.
      const f = await long30At("2720");
      await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX); // 15 ETH left
      await f.ethFeed.updateAnswer(P("2500")); // equity 37,500 − 39,654.350675 < 0: whole allowed
      const holders = [f.keeper.address];
      const before = await snapshotState(f, holders);
      // 14.98 of 15 leaves 0.02 × 2,500 = $50
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, W("14.98")))
        .to.be.revertedWithCustomError(f.clearingHouse, "LiquidationLeavesDust")
        .withArgs(f.aliceCross, ETH, E(50));
      // 14.96 leaves 0.04 × 2,500 = $100: still dust (≤)
      await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, W("14.96")))
        .to.be.revertedWithCustomError(f.clearingHouse, "LiquidationLeavesDust")
        .withArgs(f.aliceCross, ETH, E(100));
      await expectStateUnchanged(f, before, holders);
      expect(await f.clearingHouse.positionOf(f.aliceCross, ETH)).to.deep.equal([E(15), W("-45000.675")]);
      // one lot less leaves 0.04000001 × 2,500 = $100.000025: allowed
      await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, W("14.95999999"));
      expect((await f.clearingHouse.positionOf(f.aliceCross, ETH))[0]).to.equal(W("0.04000001"));
    });
  });
});

describe("MarginLens keeper views", () => {
  /*
   * Five accounts, funding off:
   *   1 alice   10,000 USDC, long 30 ETH at 3,000.045 (skew 0)                      → liquidatable at 2,720
   *   2 alice   isolated, empty                                                     → nothing to do
   *   3 bob     100,000 USDC, short 10 ETH on skew 30: fill 3,000 × (1 + 25/1e6) = 3,000.075 → healthy
   *   4 carol   1,000 USDC + 0.1 WETH, long 6 ETH on skew 20: fill 3,000 × (1 + 23/1e6) = 3,000.069
   *             (openNotional −18,000.414, fee 9.000207), closed at 2,720 on skew 32:
   *             fill 2,720 × (1 + 29/1e6) = 2,720.07888; realized 16,320.47328 − 18,000.414 = −1,679.94072;
   *             fee 8.16023664 → quote 1,000 − 9.000207 − 1,679.94072 − 8.16023664 = −697.10116364
   *   5 dave    1,000 USDC, long 6 ETH on skew 26: fill 3,000 × (1 + 29/1e6) = 3,000.087
   *             (openNotional −18,000.522, fee 9.000261), closed at 2,720 on skew 26:
   *             fill 2,720 × (1 + 23/1e6) = 2,720.06256; realized 16,320.37536 − 18,000.522 = −1,680.14664;
   *             fee 8.16018768 → quote 1,000 − 9.000261 − 1,680.14664 − 8.16018768 = −697.30708868
   */
  async function lensFixture() {
    const f = await liquidationFixture();
    const lens = await ethers.deployContract("MarginLens", [await f.clearingHouse.getAddress()]);
    await long30(f);
    await fundUsdc(f, f.bob, f.bobCross, 100_000);
    await f.clearingHouse.connect(f.bob).openPosition(f.bobCross, ETH, -E(10), 0);
    const carol = await newAccount(f.vault, f.carol);
    await fundUsdc(f, f.carol, carol, 1_000);
    await fundAccount(f, f.weth, f.carol, carol, E(1) / 10n);
    await f.clearingHouse.connect(f.carol).openPosition(carol, ETH, E(6), 0);
    const dave = await newAccount(f.vault, f.dave);
    await fundUsdc(f, f.dave, dave, 1_000);
    await f.clearingHouse.connect(f.dave).openPosition(dave, ETH, E(6), 0);
    await f.ethFeed.updateAnswer(P("2720"));
    await f.clearingHouse.connect(f.carol).closePosition(carol, ETH, 0);
    await f.clearingHouse.connect(f.dave).closePosition(dave, ETH, 0);
    return { ...f, lens, carolId: carol, daveId: dave };
  }

  type Row = [bigint, bigint, bigint, bigint, bigint, string];
  type Candidate = {
    accountId: bigint;
    action: bigint;
    equity: bigint;
    maintenanceMargin: bigint;
    quoteBalance: bigint;
    token: string;
  };
  const rows = (list: readonly Candidate[]): Row[] =>
    list.map((c) => [c.accountId, c.action, c.equity, c.maintenanceMargin, c.quoteBalance, c.token]);

  it("candidates lists only accounts needing action, with action 1 / 2 / 3 and their figures", async () => {
    const f = await loadFixture(lensFixture);
    const weth = await f.weth.getAddress();
    const alice: Row = [1n, 1n, W("1553.649325"), E(2_040), W("9954.999325"), ethers.ZeroAddress];
    // carol: un-haircut value −697.10116364 + 0.1 × 2,720 = −425.10116364; first token held: WETH
    const carol: Row = [4n, 2n, W("-425.10116364"), 0n, W("-697.10116364"), weth];
    const dave: Row = [5n, 3n, W("-697.30708868"), 0n, W("-697.30708868"), ethers.ZeroAddress];
    expect(rows(await f.lens.candidates(1, 10))).to.deep.equal([alice, carol, dave]);
    expect(rows(await f.lens.candidates(2, 2))).to.deep.equal([]);
    expect(rows(await f.lens.candidates(4, 1))).to.deep.equal([carol]);
    expect(rows(await f.lens.candidates(0, 5))).to.deep.equal([]);
    expect(rows(await f.lens.candidates(6, 1))).to.deep.equal([]);
    expect(rows(await f.lens.candidatesMany([5n, 2n, 3n, 1n]))).to.deep.equal([dave, alice]);
    await expect(f.lens.candidatesMany([1n, 99n]))
      .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
      .withArgs(99);
    // the figures are the engine's own
    const m = await f.clearingHouse.accountMargin(1);
    expect([m.equity, m.maintenanceMargin]).to.deep.equal([alice[2], alice[3]]);
    expect(await f.vault.rawCollateralValue(f.carolId)).to.equal(carol[2]);
    expect(await f.vault.quoteBalance(f.daveId)).to.equal(dave[4]);
    // bob (healthy, short) is never listed; after alice's partial liquidation she is not either
    await f.clearingHouse.connect(f.keeper).liquidate(1, ETH, MAX);
    expect(rows(await f.lens.candidates(1, 10))).to.deep.equal([carol, dave]);
  });

  it("liquidationPlan: maxCloseSize equals ClearingHouse.liquidationSize, with the whole flag (dust closes whole)", async () => {
    const f = await loadFixture(liquidationFixture);
    const lens = await ethers.deployContract("MarginLens", [await f.clearingHouse.getAddress()]);
    // alice: 30 ETH (as always) and 0.001 BTC on zero skew: fill 60,000 × (1 + 0.0005/50,000) = 60,000.0006,
    //   openNotional −60.0000006, fee 0.0300000003
    await long30(f);
    await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, BTC, W("0.001"), 0);
    expect(await lens.liquidationPlan(f.aliceCross)).to.deep.equal([
      [ETH, E(30), E(90_000), 0n, false],
      [BTC, W("0.001"), E(60), 0n, false],
    ]);
    await f.ethFeed.updateAnswer(P("2720"));
    // equity = 9,954.999325 − 0.0300000003 − 8,401.35 − 0.0000006 = 1,553.6193243997; MM = 2,040 + 1.5 = 2,041.5
    const m = await f.clearingHouse.accountMargin(f.aliceCross);
    expect([m.equity, m.maintenanceMargin, m.notional]).to.deep.equal([W("1553.6193243997"), W("2041.5"), E(81_660)]);
    // ETH: 50 % × 81,660 / 2,720 = 15.011029411… → 15.01102941 ETH (whole lots, rounded down); BTC: $60 ≤ $100 → whole
    const plan = await lens.liquidationPlan(f.aliceCross);
    expect(plan).to.deep.equal([
      [ETH, E(30), E(81_600), W("15.01102941"), false],
      [BTC, W("0.001"), E(60), W("0.001"), true],
    ]);
    for (const step of plan) {
      expect(await f.clearingHouse.liquidationSize(f.aliceCross, step.marketId)).to.deep.equal([
        step.maxCloseSize,
        step.whole,
      ]);
    }
    expect(await lens.liquidationPlan(f.bobCross)).to.deep.equal([]);
    // a keeper following the plan closes exactly maxCloseSize
    await expect(f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX))
      .to.emit(f.clearingHouse, "Liquidated")
      .withArgs(
        f.aliceCross,
        ETH,
        f.keeper.address,
        W("15.01102941"),
        E(2_720),
        (realized: bigint) => realized < 0n,
        0n,
        (penalty: bigint) => penalty > 0n,
        (reward: bigint) => reward > 0n,
        (fee: bigint) => fee > 0n,
        0n,
        W("1553.6193243997"),
        W("14.98897059"),
      );
  });

  it("follows one account from action 1 (liquidate) to 2 (liquidateCollateral) to 3 (settleBadDebt) to gone", async () => {
    const f = await loadFixture(liquidationFixture);
    const lens = await ethers.deployContract("MarginLens", [await f.clearingHouse.getAddress()]);
    await fundInsurance(f, U("500"));
    // alice: 10,000 USDC + 0.1 WETH, 30 ETH at 3,000.045; ETH to 2,650 (WETH 265 raw, 238.5 after the 10 % haircut)
    await fundAccount(f, f.weth, f.alice, f.aliceCross, E(1) / 10n);
    await long30(f);
    await f.ethFeed.updateAnswer(P("2650"));
    const weth = await f.weth.getAddress();
    // equity = 9,954.999325 + 238.5 + 79,500 − 90,001.35 = −307.850675; MM 1,987.5
    expect(rows(await lens.candidatesMany([f.aliceCross]))).to.deep.equal([
      [f.aliceCross, 1n, W("-307.850675"), W("1987.5"), QUOTE0, ethers.ZeroAddress],
    ]);
    expect(await lens.liquidationPlan(f.aliceCross)).to.deep.equal([[ETH, E(30), E(79_500), E(30), true]]);
    // whole: realized −10,501.35, keeper 397.5, insurance 0 → quote −943.850675; WETH untouched
    await f.clearingHouse.connect(f.keeper).liquidate(f.aliceCross, ETH, MAX);
    // action 2: value = −943.850675 + 265 = −678.850675
    expect(rows(await lens.candidatesMany([f.aliceCross]))).to.deep.equal([
      [f.aliceCross, 2n, W("-678.850675"), 0n, W("-943.850675"), weth],
    ]);
    expect(await lens.liquidationPlan(f.aliceCross)).to.deep.equal([]);
    // the whole 0.1 WETH for 265 / 1.05 = 252.380952380… → 252.380953 USDC
    await armLiquidator(f.usdc, f.vault, f.keeper2, U("1000"));
    await expect(f.clearingHouse.connect(f.keeper2).liquidateCollateral(f.aliceCross, weth, U("1000")))
      .to.emit(f.vault, "CollateralLiquidated")
      .withArgs(f.aliceCross, weth, f.keeper2.address, U("252.380953"), E(1) / 10n, E(2_650));
    // action 3: −943.850675 + 252.380953 = −691.469722
    expect(rows(await lens.candidatesMany([f.aliceCross]))).to.deep.equal([
      [f.aliceCross, 3n, W("-691.469722"), 0n, W("-691.469722"), ethers.ZeroAddress],
    ]);
    // insurance 500 covers part, the pool ledger the remaining 191.469722
    const pool = await f.vault.poolBalance();
    const tx = f.clearingHouse.connect(f.keeper).settleBadDebt(f.aliceCross);
    await expect(tx).to.emit(f.vault, "BadDebtSettled").withArgs(f.aliceCross, W("691.469722"), W("691.469722"));
    await expect(tx).to.emit(f.vault, "BadDebtCovered").withArgs(f.aliceCross, E(500));
    await expect(tx).to.emit(f.vault, "BadDebtSocialized").withArgs(f.aliceCross, W("191.469722"));
    expect(await f.vault.poolBalance()).to.equal(pool - W("191.469722"));
    expect(await f.vault.insuranceFund()).to.equal(0n);
    expect(rows(await lens.candidatesMany([f.aliceCross]))).to.deep.equal([]);
    expect(rows(await lens.candidates(1, 10))).to.deep.equal([]);
    await expectConservation(f.vault, f.tokens);
  });
});
