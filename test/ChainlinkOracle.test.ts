import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { HEARTBEAT, deployFeed, deployOracle, units } from "./shared/fixtures";

describe("ChainlinkOracle", () => {
  async function fixture() {
    const feed = await deployFeed(8, units(3_000, 8), "ETH / USD");
    const oracle = await deployOracle(feed);
    return { feed, oracle };
  }

  describe("price", () => {
    it("scales an 8-decimal answer to WAD: 3,000.00000000 -> 3000e18", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      expect(await oracle.price()).to.equal(3_000n * 10n ** 18n);
      expect(await oracle.feed()).to.equal(await feed.getAddress());
      expect(await oracle.heartbeat()).to.equal(HEARTBEAT);
    });

    for (const [decimals, answer, expected] of [
      [0, 7n, 7n * 10n ** 18n],
      [6, 1_000_001n, 1_000_001n * 10n ** 12n],
      [18, 123_456_789n, 123_456_789n],
      [20, 12_345n, 123n], // more than 18 decimals: scaled down, rounded toward zero
      [36, 10n ** 36n + 10n ** 17n, 10n ** 18n], // drops 1e17 below the 18th decimal
    ] as const) {
      it(`scales a ${decimals}-decimal answer ${answer} to ${expected}`, async () => {
        const feed = await deployFeed(decimals, answer);
        const oracle = await deployOracle(feed);
        expect(await oracle.price()).to.equal(expected);
      });
    }

    it("reverts InvalidPrice for a zero answer", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      await feed.updateAnswer(0);
      await expect(oracle.price())
        .to.be.revertedWithCustomError(oracle, "InvalidPrice")
        .withArgs(await feed.getAddress(), 0);
    });

    it("reverts InvalidPrice for a negative answer", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      await feed.updateAnswer(-5);
      await expect(oracle.price())
        .to.be.revertedWithCustomError(oracle, "InvalidPrice")
        .withArgs(await feed.getAddress(), -5);
    });

    it("accepts an answer exactly heartbeat seconds old and reverts StalePrice one second later", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      const { updatedAt } = await feed.latestRoundData();
      await time.setNextBlockTimestamp(updatedAt + HEARTBEAT);
      await ethers.provider.send("evm_mine", []);
      expect(await oracle.price()).to.equal(3_000n * 10n ** 18n);
      await ethers.provider.send("evm_mine", []);
      await expect(oracle.price())
        .to.be.revertedWithCustomError(oracle, "StalePrice")
        .withArgs(await feed.getAddress(), updatedAt, HEARTBEAT);
    });

    it("reverts StalePrice when setUpdatedAt moves the answer back beyond the heartbeat", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      const now = BigInt(await time.latest());
      await feed.setUpdatedAt(now - HEARTBEAT - 1n);
      await expect(oracle.price())
        .to.be.revertedWithCustomError(oracle, "StalePrice")
        .withArgs(await feed.getAddress(), now - HEARTBEAT - 1n, HEARTBEAT);
    });

    it("accepts a timestamp ahead of the chain clock (only age is bounded)", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      await feed.setUpdatedAt(BigInt(await time.latest()) + 600n);
      expect(await oracle.price()).to.equal(3_000n * 10n ** 18n);
    });

    it("reverts IncompleteRound when updatedAt is 0", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      await feed.setUpdatedAt(0);
      await expect(oracle.price())
        .to.be.revertedWithCustomError(oracle, "IncompleteRound")
        .withArgs(await feed.getAddress(), await feed.latestRound());
    });

    it("reverts IncompleteRound when the answer was carried over from an older round", async () => {
      const { oracle, feed } = await loadFixture(fixture);
      await feed.updateAnswer(units(3_100, 8));
      const round = await feed.latestRound();
      const now = BigInt(await time.latest());
      await feed.setRoundData(units(3_100, 8), now, now, round - 1n);
      await expect(oracle.price())
        .to.be.revertedWithCustomError(oracle, "IncompleteRound")
        .withArgs(await feed.getAddress(), round);
    });
  });

  describe("constructor", () => {
    it("reverts InvalidOracleConfig for a zero heartbeat", async () => {
      const feed = await deployFeed(8, 1n);
      const factory = await ethers.getContractFactory("ChainlinkOracle");
      await expect(factory.deploy(feed, 0))
        .to.be.revertedWithCustomError(factory, "InvalidOracleConfig")
        .withArgs(await feed.getAddress(), 0, 8);
    });

    it("reverts InvalidOracleConfig for a heartbeat above 7 days", async () => {
      const feed = await deployFeed(8, 1n);
      const factory = await ethers.getContractFactory("ChainlinkOracle");
      await expect(factory.deploy(feed, 7n * 86_400n + 1n))
        .to.be.revertedWithCustomError(factory, "InvalidOracleConfig")
        .withArgs(await feed.getAddress(), 7n * 86_400n + 1n, 8);
    });

    it("reverts InvalidOracleConfig for a feed with more than 36 decimals", async () => {
      const feed = await deployFeed(37, 1n);
      const factory = await ethers.getContractFactory("ChainlinkOracle");
      await expect(factory.deploy(feed, HEARTBEAT))
        .to.be.revertedWithCustomError(factory, "InvalidOracleConfig")
        .withArgs(await feed.getAddress(), HEARTBEAT, 37);
    });
  });

  describe("MockAggregator", () => {
    it("behaves like Chainlink's MockV3Aggregator: updateAnswer starts a round stamped now", async () => {
      const { feed } = await loadFixture(fixture);
      await expect(feed.updateAnswer(units(2_900, 8))).to.emit(feed, "AnswerUpdated");
      const round = await feed.latestRound();
      const latest = await feed.latestRoundData();
      expect(latest.roundId).to.equal(round);
      expect(latest.answer).to.equal(units(2_900, 8));
      expect(latest.updatedAt).to.equal(await time.latest());
      expect(latest.answeredInRound).to.equal(round);
      const previous = await feed.getRoundData(round - 1n);
      expect(previous.answer).to.equal(units(3_000, 8));
      expect(await feed.decimals()).to.equal(8);
      expect(await feed.description()).to.equal("ETH / USD");
      expect(await feed.version()).to.equal(4);
    });
  });
});
