import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { WAD, units } from "./shared/fixtures";
import { fundingIndexDelta } from "../src/math/margin";
import { BTC, ETH, TIERS, clearingHouseFactory, fundUsdc, marketParams, protocolFixture } from "./shared/protocol";

const E = (n: number | bigint) => units(n, 18);
const field = (name: string) => ethers.encodeBytes32String(name);

describe("ClearingHouse: governance", () => {
  it("numbers markets from 1 in the order added and returns their parameters", async () => {
    const f = await loadFixture(protocolFixture);
    expect(await f.clearingHouse.marketCount()).to.equal(3);
    const eth = await f.clearingHouse.marketParams(ETH);
    expect(eth.oracle).to.equal(await f.ethOracle.getAddress());
    expect(eth.group).to.equal(1);
    expect(eth.tiers.length).to.equal(3);
    expect(eth.tiers[1].mmRate).to.equal(units(5, 16));
    expect((await f.clearingHouse.marketParams(BTC)).skewScale).to.equal(E(50_000));
    expect(await f.clearingHouse.groupOffset(1)).to.equal((WAD * 8n) / 10n);
    await expect(f.clearingHouse.marketParams(4))
      .to.be.revertedWithCustomError(f.clearingHouse, "UnknownMarket")
      .withArgs(4);
  });

  describe("rejects out-of-bounds market parameters, naming the field", () => {
    const cases: [string, (o: string) => ReturnType<typeof marketParams>][] = [
      ["oracle", () => marketParams(ethers.ZeroAddress)],
      ["group", (o) => marketParams(o, { group: 9 })],
      ["skewScale", (o) => marketParams(o, { skewScale: 0 })],
      ["takerFee", (o) => marketParams(o, { takerFee: units(1, 16) + 1n })],
      ["maxFundingRatePerDay", (o) => marketParams(o, { maxFundingRatePerDay: WAD + 1n })],
      ["maxPriceDeviation", (o) => marketParams(o, { maxPriceDeviation: 0 })],
      ["tiers", (o) => marketParams(o, { tiers: [] })],
      ["tiers", (o) => marketParams(o, { tiers: [...TIERS, ...TIERS] })],
      [
        "tierRates",
        (o) => marketParams(o, { tiers: [{ upToNotional: 0, mmRate: units(5, 16), imRate: units(5, 16) }] }),
      ],
      ["tierRates", (o) => marketParams(o, { tiers: [{ upToNotional: 0, mmRate: 0, imRate: units(5, 16) }] })],
      ["tierRates", (o) => marketParams(o, { tiers: [{ upToNotional: 0, mmRate: units(5, 17), imRate: WAD + 1n }] })],
      [
        "tierRates",
        (o) =>
          marketParams(o, {
            tiers: [
              { upToNotional: E(1_000_000), mmRate: units(5, 16), imRate: units(10, 16) },
              { upToNotional: 0, mmRate: units(25, 15), imRate: units(10, 16) },
            ],
          }),
      ],
      [
        "tierBounds",
        (o) =>
          marketParams(o, {
            tiers: [
              { upToNotional: E(5_000_000), mmRate: units(25, 15), imRate: units(5, 16) },
              { upToNotional: E(1_000_000), mmRate: units(5, 16), imRate: units(10, 16) },
              { upToNotional: 0, mmRate: units(10, 16), imRate: units(20, 16) },
            ],
          }),
      ],
      [
        "tierBounds",
        (o) =>
          marketParams(o, {
            tiers: [
              { upToNotional: 0, mmRate: units(25, 15), imRate: units(5, 16) },
              { upToNotional: 0, mmRate: units(5, 16), imRate: units(10, 16) },
            ],
          }),
      ],
      // storage granularity: rates in millionths, bounds in dollars, fees and funding in billionths, sizes in lots
      [
        "tierRates",
        (o) => marketParams(o, { tiers: [{ upToNotional: 0, mmRate: units(25, 15) + 1n, imRate: units(5, 16) }] }),
      ],
      [
        "tierBounds",
        (o) =>
          marketParams(o, {
            tiers: [
              { upToNotional: E(1_000_000) + 1n, mmRate: units(25, 15), imRate: units(5, 16) },
              { upToNotional: 0, mmRate: units(5, 16), imRate: units(10, 16) },
            ],
          }),
      ],
      ["takerFee", (o) => marketParams(o, { takerFee: units(5, 14) + 1n })],
      ["maxFundingRatePerDay", (o) => marketParams(o, { maxFundingRatePerDay: units(1, 17) + 1n })],
      ["skewScale", (o) => marketParams(o, { skewScale: E(1_000_000) + 1n })],
      ["maxLongOpenInterest", (o) => marketParams(o, { maxLongOpenInterest: E(100_000) + 1n })],
      ["maxShortOpenInterest", (o) => marketParams(o, { maxShortOpenInterest: 2n ** 64n * 10n ** 10n })],
    ];
    for (const [name, build] of cases) {
      it(`InvalidMarketParam("${name}")`, async () => {
        const f = await loadFixture(protocolFixture);
        const params = build(await f.ethOracle.getAddress());
        await expect(f.clearingHouse.addMarket(params))
          .to.be.revertedWithCustomError(f.clearingHouse, "InvalidMarketParam")
          .withArgs(field(name));
        await expect(f.clearingHouse.setMarketParams(ETH, params))
          .to.be.revertedWithCustomError(f.clearingHouse, "InvalidMarketParam")
          .withArgs(field(name));
        expect(await f.clearingHouse.marketCount()).to.equal(3);
        expect((await f.clearingHouse.marketParams(ETH)).tiers.length).to.equal(3);
      });
    }
  });

  it("setMarketParams accrues funding first, then changes the market (MarketConfigured)", async () => {
    const f = await loadFixture(protocolFixture);
    await fundUsdc(f, f.alice, f.aliceCross, 100_000);
    await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(100), 0);
    const params = marketParams(await f.ethOracle.getAddress(), { group: 1, takerFee: units(1, 15) });
    await expect(f.clearingHouse.setMarketParams(ETH, params)).to.emit(f.clearingHouse, "MarketConfigured");
    expect((await f.clearingHouse.marketParams(ETH)).takerFee).to.equal(units(1, 15));
    const state = await f.clearingHouse.marketState(ETH);
    expect(state.lastFundingTime).to.equal(BigInt((await ethers.provider.getBlock("latest"))!.timestamp));
  });

  it("a market whose feed died is moved to a new oracle: funding accrues at the new oracle's price, and trading resumes", async () => {
    const f = await loadFixture(protocolFixture);
    await fundUsdc(f, f.alice, f.aliceCross, 100_000);
    await f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(100), 0);
    const before = await f.clearingHouse.marketState(ETH);
    await f.ethFeed.updateAnswer(0); // the ETH feed dies
    await expect(f.clearingHouse.connect(f.alice).openPosition(f.aliceCross, ETH, E(1), 0))
      .to.be.revertedWithCustomError(f.ethOracle, "InvalidPrice")
      .withArgs(await f.ethFeed.getAddress(), 0);
    const feed = await ethers.deployContract("MockAggregator", [8, "ETH / USD (backup)", units(3_000, 8)]);
    const oracle = await ethers.deployContract("ChainlinkOracle", [await feed.getAddress(), 86_400]);
    const tx = await f.clearingHouse.setMarketParams(ETH, marketParams(await oracle.getAddress(), { group: 1 }));
    const at = BigInt((await tx.getBlock())!.timestamp);
    // accrued from the last trade to now at the new oracle's 3,000 (rate: the skew's)
    const delta = fundingIndexDelta(before.fundingRate, E(3_000), at - before.lastFundingTime);
    const after = await f.clearingHouse.marketState(ETH);
    expect([after.fundingIndex, after.lastFundingTime]).to.deep.equal([before.fundingIndex + delta, at]);
    expect((await f.clearingHouse.marketParams(ETH)).oracle).to.equal(await oracle.getAddress());
    await f.clearingHouse.connect(f.alice).closePosition(f.aliceCross, ETH, 0);
    expect((await f.clearingHouse.positionOf(f.aliceCross, ETH)).size).to.equal(0n);
  });

  it("only the owner configures; group offsets and position limits are bounded", async () => {
    const f = await loadFixture(protocolFixture);
    const params = marketParams(await f.ethOracle.getAddress());
    const ch = f.clearingHouse.connect(f.alice);
    for (const call of [
      () => ch.addMarket(params),
      () => ch.setMarketParams(ETH, params),
      () => ch.setGroupOffset(1, 0),
      () => ch.setMaxPositionsPerAccount(4),
    ]) {
      await expect(call())
        .to.be.revertedWithCustomError(f.clearingHouse, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
    }
    await expect(f.clearingHouse.setGroupOffset(0, 1))
      .to.be.revertedWithCustomError(f.clearingHouse, "InvalidGroupOffset")
      .withArgs(0, 1);
    await expect(f.clearingHouse.setGroupOffset(9, 1))
      .to.be.revertedWithCustomError(f.clearingHouse, "InvalidGroupOffset")
      .withArgs(9, 1);
    await expect(f.clearingHouse.setGroupOffset(1, units(99, 16)))
      .to.be.revertedWithCustomError(f.clearingHouse, "InvalidGroupOffset")
      .withArgs(1, units(99, 16));
    await expect(f.clearingHouse.setGroupOffset(2, units(5, 17)))
      .to.emit(f.clearingHouse, "GroupOffsetSet")
      .withArgs(2, units(5, 17));
    await expect(f.clearingHouse.setMaxPositionsPerAccount(0))
      .to.be.revertedWithCustomError(f.clearingHouse, "InvalidMaxPositions")
      .withArgs(0);
    await expect(f.clearingHouse.setMaxPositionsPerAccount(17))
      .to.be.revertedWithCustomError(f.clearingHouse, "InvalidMaxPositions")
      .withArgs(17);
    await expect(f.clearingHouse.setMaxPositionsPerAccount(8))
      .to.emit(f.clearingHouse, "MaxPositionsPerAccountSet")
      .withArgs(8);
    expect(await f.clearingHouse.maxPositionsPerAccount()).to.equal(8);
    expect(await f.clearingHouse.groupOffset(1)).to.equal((WAD * 8n) / 10n);
  });

  it("the constructor rejects a zero Vault", async () => {
    const [owner] = await ethers.getSigners();
    const factory = await clearingHouseFactory(await (await ethers.deployContract("MarketConfig")).getAddress());
    await expect(factory.deploy(ethers.ZeroAddress, owner.address, owner.address)).to.be.revertedWithCustomError(
      factory,
      "ZeroAddress",
    );
  });
});
