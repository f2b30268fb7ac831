import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployLocal } from "../src/deploy/local";
import { loadParameters } from "../src/deploy/parameters";
import { runCollateralDemo } from "../src/demo/collateralDemo";
import { runHedgeDemo } from "../src/demo/hedgeDemo";
import { runLiquidationDemo } from "../src/demo/liquidationDemo";
import { units } from "./shared/fixtures";
import { expectConservation } from "./shared/ledger";

describe("Local deployment (ignition/modules/Protocol.ts: Mocks + Core + Markets, parameters/local.json)", () => {
  const localFixture = () => deployLocal(hre);

  it("deploys the tokens, feeds and collateral of DESIGN §13", async () => {
    const p = await loadFixture(localFixture);
    const [deployer] = await ethers.getSigners();
    expect(await p.usdc.decimals()).to.equal(6);
    expect(await p.weth.decimals()).to.equal(18);
    expect(await p.wbtc.decimals()).to.equal(8);
    expect(await p.vault.settlementToken()).to.equal(await p.usdc.getAddress());
    expect(await p.vault.owner()).to.equal(deployer.address);
    expect(await p.vault.guardian()).to.equal(deployer.address);

    for (const [feed, oracle, price] of [
      [p.usdcFeed, p.usdcOracle, units(1, 18)],
      [p.ethFeed, p.ethOracle, units(3_000, 18)],
      [p.btcFeed, p.btcOracle, units(60_000, 18)],
      [p.stethFeed, p.stethOracle, units(2_990, 18)],
    ] as const) {
      expect(await feed.decimals()).to.equal(8);
      expect(await oracle.heartbeat()).to.equal(86_400n);
      expect(await oracle.feed()).to.equal(await feed.getAddress());
      expect(await oracle.price()).to.equal(price);
    }

    const weth = await p.vault.collateralConfig(p.weth);
    expect(weth.oracle).to.equal(await p.ethOracle.getAddress()); // WETH is priced by the ETH feed
    expect(weth.haircut).to.equal(units(1, 17));
    expect(weth.cap).to.equal(units(100_000, 18));
    const wbtc = await p.vault.collateralConfig(p.wbtc);
    expect(wbtc.oracle).to.equal(await p.btcOracle.getAddress());
    expect(wbtc.haircut).to.equal(units(15, 16));
    expect(wbtc.cap).to.equal(units(5_000, 8));

    expect(await p.vault.insuranceFund()).to.equal(units(100_000, 18));
    expect(await p.vault.poolBalance()).to.equal(units(1_000_000, 18));
    expect(await p.pool.totalAssets()).to.equal(units(1_000_000, 6));
    expect(await p.usdc.balanceOf(p.vault)).to.equal(units(1_100_000, 6));
    expect(await p.vault.clearingHouse()).to.equal(await p.clearingHouse.getAddress());
    expect(await p.vault.liquidityPool()).to.equal(await p.pool.getAddress());
    expect(await p.lens.clearingHouse()).to.equal(await p.clearingHouse.getAddress());
    await expectConservation(p.vault, [p.usdc, p.weth, p.wbtc]);
  });

  it("adds ETH-PERP, BTC-PERP and STETH-PERP with the tiers, caps and hedge offset of DESIGN §13", async () => {
    const p = await loadFixture(localFixture);
    const ch = p.clearingHouse;
    expect(await ch.marketCount()).to.equal(3);
    const expected = [
      [p.ethOracle, 1n, units(1_000_000, 18), units(100_000, 18)],
      [p.btcOracle, 0n, units(50_000, 18), units(5_000, 18)],
      [p.stethOracle, 1n, units(1_000_000, 18), units(100_000, 18)],
    ] as const;
    for (let i = 0; i < 3; i++) {
      const params = await ch.marketParams(i + 1);
      const [oracle, group, skewScale, cap] = expected[i];
      expect(params.oracle).to.equal(await oracle.getAddress());
      expect(params.group).to.equal(group);
      expect(params.skewScale).to.equal(skewScale);
      expect(params.maxLongOpenInterest).to.equal(cap);
      expect(params.maxShortOpenInterest).to.equal(cap);
      expect(params.takerFee).to.equal(units(5, 14));
      expect(params.maxFundingRatePerDay).to.equal(units(1, 17));
      expect(params.maxPriceDeviation).to.equal(units(2, 17));
      expect(params.tiers.map((t) => [t.upToNotional, t.mmRate, t.imRate])).to.deep.equal([
        [units(1_000_000, 18), units(25, 15), units(5, 16)],
        [units(5_000_000, 18), units(5, 16), units(10, 16)],
        [0n, units(10, 16), units(20, 16)],
      ]);
    }
    expect(await ch.groupOffset(1)).to.equal(units(8, 17));
    expect(await ch.maxPositionsPerAccount()).to.equal(16);
    // liquidation: fee 1 %, keeper share 50 %, close factor 50 %, threshold 0.5, dust $100, discount 5 %
    expect(await ch.liquidationParams()).to.deep.equal([
      units(1, 16),
      units(5, 17),
      units(5, 17),
      units(5, 17),
      units(100, 18),
      units(5, 16),
    ]);
    for (const market of [1, 2, 3]) expect((await ch.marketSafety(market)).rateLimitCap).to.equal(0n); // off
  });

  it("reads the same numbers the module defaults to (parameters file and module agree)", async () => {
    const params = loadParameters("local");
    expect(params.Markets.ethOracleHeartbeat).to.equal(86_400n);
    expect(params.Markets.wethHaircut).to.equal(units(1, 17));
    expect(params.Mocks.ethFeedAnswer).to.equal(units(3_000, 8));
    expect(params.Protocol.insuranceSeed).to.equal(units(100_000, 6));
    expect(() => loadParameters("nope")).to.throw(/Deployment parameters not found.*Known sets: .*local/);
  });

  it("npm run demo's demo prints both tables, and its figures equal the Vault's", async () => {
    const lines: string[] = [];
    const result = await runCollateralDemo(hre, (line) => lines.push(line));
    const text = lines.join("\n");
    expect(text).to.contain("Collateral at ETH $3,000.00");
    expect(text).to.contain("ETH falls 20 % to $2,400.00");
    // alice: 10,000 USDC + 5 WETH: 10,000 + 15,000 × 0.9 = 23,500, then 10,000 + 12,000 × 0.9 = 20,800
    expect(result.before[0].collateralValue).to.equal(units(23_500, 18));
    expect(result.after[0].collateralValue).to.equal(units(20_800, 18));
    // bob: 0.5 WBTC + 2 WETH: 30,000 × 0.85 + 6,000 × 0.9 = 30,900, then 25,500 + 4,800 × 0.9 = 29,820
    expect(result.before[1].collateralValue).to.equal(units(30_900, 18));
    expect(result.after[1].collateralValue).to.equal(units(29_820, 18));
    // carol holds only USDC: unchanged
    expect(result.after[2].collateralValue).to.equal(result.before[2].collateralValue);
    expect(text).to.match(/#1 alice\s+Cross\s+10,000\.00\s+5\.0000\s+-\s+\$25,000\.00\s+\$23,500\.00/);
    expect(text).to.match(/-\$2,700\.00/);
    for (const id of result.accountIds) {
      expect(await result.protocol.vault.collateralValue(id)).to.equal(
        result.after[result.accountIds.indexOf(id)].collateralValue,
      );
    }
    // the hedge demo: long 100 ETH-PERP + short 100 STETH-PERP, cross vs two isolated accounts
    const hedge = await runHedgeDemo(hre, result.protocol, (line) => lines.push(line));
    // isolated: 100 × 3,000 × 5 % + 100 × 2,990 × 5 % = 15,000 + 14,950
    expect(hedge.isolated.reduce((s, r) => s + r.initialMargin, 0n)).to.equal(units(29_950, 18));
    // cross: 29,950 × (1 − 0.8 × 598,000 / 599,000) ≈ 6,030 (rounded up)
    expect(hedge.cross.initialMargin).to.be.closeTo(units(6_030, 18), units(1, 18));
    expect(lines.join("\n")).to.match(/hedging in one account saves \$23,91\d\.\d\d \(79\.\d %\)/);
  });

  it("npm run demo's liquidation part: a crash, a scripted keeper, bad debt; its ledgers equal the Vault's", async () => {
    const { protocol } = await runCollateralDemo(hre, () => undefined);
    await runHedgeDemo(hre, protocol, () => undefined);
    const lines: string[] = [];
    const result = await runLiquidationDemo(hre, protocol, (line) => lines.push(line));
    const text = lines.join("\n");
    expect(text).to.contain("PriceDeviationExceeded");
    const kinds = new Set(result.liquidations.map((l) => (l.newSize === 0n ? "full" : "partial")));
    expect([...kinds].sort()).to.deep.equal(["full", "partial"]);
    expect(result.liquidations.some((l) => l.shortfall > 0n)).to.equal(true);
    expect(result.collateral.length).to.be.greaterThan(0);
    expect(result.badDebt.length).to.be.greaterThan(0);
    // the insurance fund moved by exactly what the events say: + insurance fees + sub-unit keeper
    // remainders + repayment excess − bad debt covered
    const fees = result.liquidations.reduce((s, l) => s + l.insuranceFee + (l.keeperReward % 10n ** 12n), 0n);
    const excess = result.collateral.reduce((s, c) => s + c.insuranceExcess, 0n);
    const covered = result.badDebt.reduce((s, b) => s + b.covered, 0n);
    expect(result.after.insuranceFund - result.before.insuranceFund).to.equal(fees + excess - covered);
    expect(await protocol.vault.insuranceFund()).to.equal(result.after.insuranceFund);
    expect(await protocol.vault.poolBalance()).to.equal(result.after.poolLedger);
    // no liquidatable account, collateral debt or bad debt is left behind
    expect(await protocol.lens.candidates(1, 100)).to.deep.equal([]);
    await expectConservation(protocol.vault, [protocol.usdc, protocol.weth, protocol.wbtc]);
  });
});
