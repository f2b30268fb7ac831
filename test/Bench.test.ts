import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { intrinsicGas } from "../src/bench/accountGas";
import { coldAccesses } from "../src/bench/coldAccess";
import { SNAPSHOT_SCHEMA, compare, type GasOperation, type Snapshot } from "../src/bench/gasSnapshot";

describe("Benchmarks: the gas guard and the cold-access tracer", () => {
  describe("compare (npm run bench:gas -- --check)", () => {
    const snapshot: Snapshot = { schema: SNAPSHOT_SCHEMA, operations: { a: 100_000, b: 100_000, c: 100_000, gone: 5 } };
    const measured: GasOperation[] = [
      { name: "a", gas: 101_000n }, // +1.00 %: within
      { name: "b", gas: 101_001n }, // +1.001 %: a regression
      { name: "c", gas: 99_000n }, // lower
      { name: "new", gas: 7n },
    ];

    it("fails a rise above 1 %, a new and a missing operation; passes the rest", () => {
      const { rows, failed } = compare(measured, snapshot);
      expect(rows.map((r) => [r.name, r.verdict])).to.deep.equal([
        ["a", "higher (within 1 %)"],
        ["b", "REGRESSION"],
        ["c", "lower"],
        ["new", "NEW"],
        ["gone", "MISSING"],
      ]);
      expect(failed.map((r) => r.name)).to.deep.equal(["b", "new", "gone"]);
      expect(rows[0].change).to.equal(0.01);
    });

    it("passes an identical measurement", () => {
      const same = Object.entries(snapshot.operations).map(([name, gas]) => ({ name, gas: BigInt(gas) }));
      const { rows, failed } = compare(same, snapshot);
      expect(failed).to.deep.equal([]);
      expect(rows.every((r) => r.verdict === "same")).to.equal(true);
    });
  });

  describe("coldAccesses (debug_traceTransaction)", () => {
    it("an ERC-20 transfer to a new holder: two cold slots (the balances), no cold account", async () => {
      const [a, b] = await ethers.getSigners();
      const token = await ethers.deployContract("MockERC20", ["T", "T", 18]);
      await (await token.mint(a.address, 100n)).wait();
      const tx = await (await token.transfer(b.address, 1n)).wait();
      expect(await coldAccesses(hre, tx!.hash)).to.deep.equal({ slots: 2, accounts: 0 });
    });

    it("an oracle read through a transaction: one cold account (the feed), the feed's slots", async () => {
      const [a] = await ethers.getSigners();
      const feed = await ethers.deployContract("MockAggregator", [8, "X / USD", 100n * 10n ** 8n]);
      const oracle = await ethers.deployContract("ChainlinkOracle", [await feed.getAddress(), 86_400n]);
      const data = oracle.interface.encodeFunctionData("price");
      const tx = await (await a.sendTransaction({ to: await oracle.getAddress(), data })).wait();
      const cold = await coldAccesses(hre, tx!.hash);
      expect(cold.accounts).to.equal(1);
      // what a storage-read count of the same call says: every slot the feed's latestRoundData reads
      const trace = (await hre.network.provider.send("debug_traceTransaction", [tx!.hash, {}])) as {
        structLogs: { op: string; depth: number }[];
      };
      const feedReads = trace.structLogs.filter((l) => l.op === "SLOAD" && l.depth === 2).length;
      expect(cold.slots).to.be.greaterThan(0).and.at.most(feedReads);
      // the transaction's gas minus its intrinsic part is what eth_call executes
      expect(tx!.gasUsed - intrinsicGas(data)).to.be.greaterThan(2_600n + 2_100n * BigInt(cold.slots));
    });
  });
});
