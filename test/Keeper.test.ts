import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { Wallet } from "ethers";
import type { MarginLens, Vault } from "../typechain-types";
import { ACTION, Keeper, parseShard } from "../src/keeper/keeper";
import { KeeperMetrics } from "../src/keeper/metrics";
import { isRevert, isTransient, sleep, withRetry } from "../src/keeper/retry";
import { TxSender } from "../src/keeper/sender";
import { KEY_VARIABLE, resolveAddresses, resolveSigner } from "../src/keeper/cli";
import { W } from "./shared/liquidation";
import {
  ACCOUNTS,
  ETH,
  HEDGED,
  KEEPER_USDC,
  debtFixture,
  keeperContracts,
  keeperFixture,
  memoryLogger,
  metricValue,
  newKeeper,
  tickUntilIdle,
  type KeeperFixture,
  type LogLine,
} from "./shared/keeper";

const MAX = ethers.MaxUint256;
const LIQUIDATABLE = ACCOUNTS.flatMap((a, i) => (a.expect === "liquidatable" ? [BigInt(i + 1)] : []));
const HEALTHY = ACCOUNTS.flatMap((a, i) => (a.expect === "healthy" ? [BigInt(i + 1)] : []));
/** Accounts the liquidation leaves flat in debt: 7 (bad debt), 8 (1 WETH, then bad debt). */
const UNDERWATER = [7n, 8n];
const WITH_WETH = 8n;

/** accountId → number of events of `name` (ClearingHouse's Liquidated or a Vault event), with their liquidators. */
async function eventsByAccount(f: KeeperFixture, name: "Liquidated" | "CollateralLiquidated" | "BadDebtSettled") {
  const logs =
    name === "Liquidated"
      ? await f.p.clearingHouse.queryFilter(f.p.clearingHouse.filters.Liquidated())
      : name === "CollateralLiquidated"
        ? await f.p.vault.queryFilter(f.p.vault.filters.CollateralLiquidated())
        : await f.p.vault.queryFilter(f.p.vault.filters.BadDebtSettled());
  const byAccount = new Map<bigint, { count: number; liquidators: string[]; txs: string[] }>();
  for (const log of logs) {
    const id = log.args[0] as bigint;
    const entry = byAccount.get(id) ?? { count: 0, liquidators: [], txs: [] };
    entry.count++;
    if (name !== "BadDebtSettled") entry.liquidators.push(log.args[2] as string); // both index 2
    entry.txs.push(log.transactionHash);
    byAccount.set(id, entry);
  }
  return byAccount;
}

/** Every position of every account, to show the healthy ones untouched. */
async function positions(f: KeeperFixture, ids: bigint[]) {
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    for (const market of [1n, 2n, 3n]) {
      const [size, openNotional] = await f.p.clearingHouse.positionOf(id, market);
      out[`${id}/${market}`] = [size, openNotional];
    }
    out[`${id}/quote`] = await f.p.vault.quoteBalance(id);
  }
  return out;
}

/** The crash fixture, checked: the accounts' health is what ACCOUNTS says. */
async function crashed() {
  const f = await loadFixture(keeperFixture);
  const health = await f.p.lens.healthMany(f.ids);
  for (const [i, h] of health.entries()) {
    const spec = ACCOUNTS[i];
    expect(h.liquidatable, `account ${i + 1} (${spec.note})`).to.equal(spec.expect === "liquidatable");
    expect(h.equity >= h.maintenanceMargin).to.equal(spec.expect !== "liquidatable");
  }
  return f;
}

/** Whatever must hold once every opportunity of the crash fixture has been taken. */
async function expectAllDone(f: KeeperFixture, scannable = f.ids) {
  expect(await f.p.lens.candidatesMany(scannable)).to.deep.equal([]);
  const liquidated = await eventsByAccount(f, "Liquidated");
  // each liquidatable account was liquidated exactly once (one call restores the partials' health)
  expect([...liquidated.keys()].sort()).to.deep.equal(LIQUIDATABLE);
  for (const id of LIQUIDATABLE) expect(liquidated.get(id)!.count, `Liquidated on #${id}`).to.equal(1);
  const collateral = await eventsByAccount(f, "CollateralLiquidated");
  expect([...collateral.keys()]).to.deep.equal([WITH_WETH]);
  expect(collateral.get(WITH_WETH)!.count).to.equal(1);
  const badDebt = await eventsByAccount(f, "BadDebtSettled");
  expect([...badDebt.keys()].sort()).to.deep.equal(UNDERWATER);
  for (const id of UNDERWATER) expect(badDebt.get(id)!.count).to.equal(1);
  return { liquidated, collateral, badDebt };
}

const byMsg = (lines: LogLine[], msg: string) => lines.filter((l) => l.msg === msg);

/** Polls `predicate` every 20 ms until true or `timeoutMs`. */
async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function setAutomine(on: boolean) {
  await hre.network.provider.send("evm_setAutomine", [on]);
}

describe("Keeper", function () {
  describe("liquidations after a price crash", () => {
    it("after a price crash every liquidatable account is liquidated and no healthy one is touched", async () => {
      const f = await crashed();
      const keeperSigner = f.keepers[0];
      const before = await positions(f, HEALTHY);
      const { keeper, lines } = newKeeper(f.p, keeperSigner);
      const metrics = keeper.metrics;
      const reports = await tickUntilIdle(keeper);
      // tick 1: 5 liquidations; tick 2: collateral of #8 and bad debt of #7; tick 3: bad debt of #8
      expect(reports[0]).to.include({ tracked: 12, candidates: LIQUIDATABLE.length, sent: 5, succeeded: 5 });
      expect(reports.at(-1)!.candidates).to.equal(0);

      const { liquidated, collateral, badDebt } = await expectAllDone(f);
      for (const id of LIQUIDATABLE) expect(liquidated.get(id)!.liquidators).to.deep.equal([keeperSigner.address]);
      expect(collateral.get(WITH_WETH)!.liquidators).to.deep.equal([keeperSigner.address]);
      expect(await positions(f, HEALTHY)).to.deep.equal(before);

      // logs: one "liquidate succeeded" per liquidation with account, market, tx hash and reward
      const succeeded = byMsg(lines, "liquidate succeeded");
      expect(succeeded.map((l) => BigInt(l.account as string)).sort()).to.deep.equal(LIQUIDATABLE);
      for (const line of succeeded) {
        expect(line).to.include.all.keys("account", "market", "tx", "rewardUsd", "block", "action");
        expect(line.market).to.equal("1");
        expect(line.tx).to.equal(liquidated.get(BigInt(line.account as string))!.txs[0]);
        expect(Number(line.rewardUsd)).to.be.greaterThan(10);
      }
      expect(byMsg(lines, "liquidateCollateral succeeded")).to.have.length(1);
      expect(byMsg(lines, "settleBadDebt succeeded").map((l) => l.account)).to.have.members(["7", "8"]);
      expect(lines.filter((l) => l.level >= 50)).to.deep.equal([]); // no error logged

      expect(await metricValue(metrics, "keeper_tx_succeeded_total", { kind: "liquidate" })).to.equal(5);
      expect(await metricValue(metrics, "keeper_tx_succeeded_total", { kind: "liquidateCollateral" })).to.equal(1);
      expect(await metricValue(metrics, "keeper_tx_succeeded_total", { kind: "settleBadDebt" })).to.equal(2);
      expect(await metricValue(metrics, "keeper_accounts_tracked")).to.equal(12);
      // the rewards were paid: USDC rewards in, the 1 WETH of #8 bought with USDC
      expect(await f.p.weth.balanceOf(keeperSigner.address)).to.equal(W("1"));
      const events = await f.p.clearingHouse.queryFilter(f.p.clearingHouse.filters.Liquidated());
      const rewards = events.reduce((s, e) => s + e.args.keeperReward, 0n);
      const repaid = (await f.p.vault.queryFilter(f.p.vault.filters.CollateralLiquidated()))[0].args.repaid;
      expect(await f.p.usdc.balanceOf(keeperSigner.address)).to.equal(KEEPER_USDC + rewards / 10n ** 12n - repaid);
    });

    it("two keepers racing liquidate each opportunity once and neither crashes", async () => {
      const f = await crashed();
      const a = newKeeper(f.p, f.keepers[0], {}, new KeeperMetrics());
      const b = newKeeper(f.p, f.keepers[1], {}, new KeeperMetrics());
      // each ticks until a tick sends nothing (the last may have seen an action the other was taking)
      await Promise.all([tickUntilIdle(a.keeper), tickUntilIdle(b.keeper)]);
      await expectAllDone(f);
      // between them they did every action once; the loser of each race skipped it or failed on chain
      let succeeded = 0;
      let losses = 0;
      for (const k of [a, b]) {
        for (const kind of ["liquidate", "liquidateCollateral", "settleBadDebt"]) {
          succeeded += await metricValue(k.keeper.metrics, "keeper_tx_succeeded_total", { kind });
          losses += await metricValue(k.keeper.metrics, "keeper_tx_failed_total", { kind });
        }
        losses += await metricValue(k.keeper.metrics, "keeper_skipped_total", { reason: "lost_race" });
        // no unexpected exception in either
        expect(await metricValue(k.keeper.metrics, "keeper_skipped_total", { reason: "error" })).to.equal(0);
        expect(byMsg(k.lines, "action failed")).to.deep.equal([]);
      }
      expect(succeeded).to.equal(5 + 1 + 2);
      expect(losses).to.be.greaterThan(0); // they did race
      // neither keeper is left unusable: both tick on cleanly
      expect((await a.keeper.tick()).candidates).to.equal(0);
      expect((await b.keeper.tick()).candidates).to.equal(0);
    });

    it("a race lost on chain (the transaction reverts after a clean simulation) is a warned, skipped lost race", async () => {
      // Hardhat (in-process and `hardhat node`, automining) answers eth_sendTransaction of a transaction
      // that reverts with an error although the transaction is mined: the keeper classifies it as a
      // lost race (warn level, keeper_skipped_total{reason="lost_race"}), not as an error.
      const f = await crashed();
      const a = newKeeper(f.p, f.keepers[0]);
      const b = newKeeper(f.p, f.keepers[1]);
      await Promise.all([tickUntilIdle(a.keeper), tickUntilIdle(b.keeper)]);
      for (const k of [a, b]) {
        expect(k.lines.filter((l) => l.level >= 50).map((l) => [l.msg, l.err])).to.deep.equal([]);
      }
    });

    it("shards cover all accounts exactly once", async () => {
      const f = await crashed();
      const keepers = [0, 1, 2].map((index) =>
        newKeeper(f.p, f.keepers[index], { shard: { index, count: 3 } }, new KeeperMetrics()),
      );
      for (const k of keepers) await tickUntilIdle(k.keeper);
      const tracked = keepers.map((k) => k.keeper.tracked());
      for (const [index, ids] of tracked.entries()) {
        expect(ids.length).to.equal(4);
        for (const id of ids) expect(id % 3n).to.equal(BigInt(index));
      }
      expect(tracked.flat().sort((x, y) => (x < y ? -1 : 1))).to.deep.equal(f.ids); // disjoint, complete
      const { liquidated, collateral } = await expectAllDone(f);
      // each account was liquidated by the keeper of its shard
      for (const id of LIQUIDATABLE) {
        expect(liquidated.get(id)!.liquidators).to.deep.equal([f.keepers[Number(id % 3n)].address]);
      }
      expect(collateral.get(WITH_WETH)!.liquidators).to.deep.equal([f.keepers[Number(WITH_WETH % 3n)].address]);
    });

    it("logs and skips a lost race: the static call reverts (keeper_skipped_total{reason=lost_race})", async () => {
      const f = await crashed();
      const victim = 4n; // partial: after the rival's liquidation it is healthy again
      const contracts = keeperContracts(f.p, f.keepers[0]);
      const rival = f.p.clearingHouse.connect(f.rival);
      // the rival's liquidation lands between the keeper's plan and its static call
      const lens = new Proxy(contracts.lens, {
        get(target, prop) {
          if (prop === "liquidationPlan") {
            return async (id: bigint) => {
              const plan = await target.liquidationPlan(id);
              if (id === victim) await rival.liquidate(id, ETH, MAX);
              return plan;
            };
          }
          return Reflect.get(target, prop) as unknown;
        },
      }) as MarginLens;
      const { log, lines } = memoryLogger();
      const keeper = new Keeper({ ...contracts, lens }, f.keepers[0], { startBlock: 0, batchSize: 5 }, log);
      const report = await keeper.tick();
      expect(report).to.include({ candidates: 5, sent: 4, succeeded: 4, skipped: 1, failed: 0 });
      expect(await metricValue(keeper.metrics, "keeper_skipped_total", { reason: "lost_race" })).to.equal(1);
      const [skip] = byMsg(lines, "simulation reverted: lost race or no longer due; skipped");
      expect(skip).to.include({ account: "4", market: "1", action: "liquidate" });
      expect(skip.reason).to.match(/AccountNotLiquidatable/);
      const liquidated = await eventsByAccount(f, "Liquidated");
      expect(liquidated.get(victim)!.liquidators).to.deep.equal([f.rival.address]);
      // the others went on
      for (const id of LIQUIDATABLE.filter((x) => x !== victim)) {
        expect(liquidated.get(id)!.liquidators).to.deep.equal([f.keepers[0].address]);
      }
    });

    it("skips unprofitable actions when profitableOnly and sends them with profitableOnly = false", async () => {
      const f = await crashed();
      const huge = W("1000000000");
      const picky = newKeeper(f.p, f.keepers[0], { minProfitUsd: huge });
      const report = await picky.keeper.tick();
      expect(report).to.include({ candidates: 5, sent: 0, skipped: 5 });
      expect(await metricValue(picky.keeper.metrics, "keeper_skipped_total", { reason: "unprofitable" })).to.equal(5);
      const skipped = byMsg(picky.lines, "unprofitable; skipped");
      expect(skipped).to.have.length(5);
      for (const line of skipped) expect(line).to.include.all.keys("rewardUsd", "gasCostUsd", "account");
      expect(await f.p.clearingHouse.queryFilter(f.p.clearingHouse.filters.Liquidated())).to.deep.equal([]);

      const all = newKeeper(f.p, f.keepers[0], { minProfitUsd: huge, profitableOnly: false });
      await tickUntilIdle(all.keeper);
      await expectAllDone(f);
      expect(await metricValue(all.keeper.metrics, "keeper_skipped_total", { reason: "unprofitable" })).to.equal(0);
    });

    it("prices gas at its own bid when given one (gasPriceWei): a bid that eats the reward makes every action unprofitable", async () => {
      const f = await crashed();
      // 1 ETH per gas: any liquidation's gas costs millions of dollars at the ETH price
      const bidder = newKeeper(f.p, f.keepers[0], { gasPriceWei: async () => 10n ** 18n, maxFeePerGas: 10n ** 18n });
      const report = await bidder.keeper.tick();
      expect(report).to.include({ candidates: 5, sent: 0, skipped: 5 });
      const skipped = byMsg(bidder.lines, "unprofitable; skipped");
      expect(skipped).to.have.length(5);
      // the gas cost logged is gas × the bid × the ETH price, far above the reward
      for (const line of skipped) expect(Number(line.gasCostUsd)).to.be.greaterThan(Number(line.rewardUsd));
      // a zero bid: gas is free and every candidate is acted on
      const free = newKeeper(f.p, f.keepers[0], { gasPriceWei: async () => 0n });
      await tickUntilIdle(free.keeper);
      await expectAllDone(f);
    });

    it("one bad account never stops the loop: a stale feed's account is isolated (reason scan_revert)", async () => {
      const f = await crashed();
      // STETH's feed goes stale (heartbeat 1 day): only the hedged account holds STETH-PERP
      await f.p.stethFeed.setUpdatedAt(BigInt(await time.latest()) - 2n * 86_400n);
      await expect(f.p.lens.candidatesMany([HEDGED])).to.be.revertedWithCustomError(f.p.stethOracle, "StalePrice");
      await expect(f.p.lens.candidatesMany(f.ids)).to.be.reverted;
      const { keeper, lines } = newKeeper(f.p, f.keepers[0], { batchSize: 4 });
      const reports = await tickUntilIdle(keeper);
      expect(reports[0]).to.include({ tracked: 12, candidates: 5, succeeded: 5 });
      await expectAllDone(
        f,
        f.ids.filter((id) => id !== HEDGED),
      );
      const scanReverts = await metricValue(keeper.metrics, "keeper_skipped_total", { reason: "scan_revert" });
      expect(scanReverts).to.equal(reports.length); // once per tick, the one account
      const warnings = byMsg(lines, "account cannot be scanned (e.g. a stale feed); skipped");
      expect(warnings).to.have.length(reports.length);
      for (const w of warnings) {
        expect(w.account).to.equal(HEDGED.toString());
        expect(w.err).to.match(/StalePrice/);
      }
    });
  });

  describe("collateral liquidation and bad debt", () => {
    it("sends liquidateCollateral for a flat account in debt holding WETH (approving the Vault itself) and settleBadDebt for bad debt", async () => {
      const { p, keeper: signer, withWeth, bare } = await loadFixture(debtFixture);
      const found = await p.lens.candidatesMany([withWeth, bare]);
      expect(found.map((c) => [c.accountId, c.action])).to.deep.equal([
        [withWeth, ACTION.liquidateCollateral],
        [bare, ACTION.settleBadDebt],
      ]);
      expect(found[0].token).to.equal(await p.weth.getAddress());
      const debt = -found[0].quoteBalance;
      expect(await p.usdc.allowance(signer.address, p.vault)).to.equal(0n);

      const { keeper, lines } = newKeeper(p, signer);
      const report = await keeper.tick();
      expect(report).to.include({ candidates: 2, sent: 2, succeeded: 2 });
      expect(await p.usdc.allowance(signer.address, p.vault)).to.equal(MAX);
      expect(byMsg(lines, "transaction sent").some((l) => l.action === "approve")).to.equal(true);

      const [repay] = await p.vault.queryFilter(p.vault.filters.CollateralLiquidated(withWeth));
      expect(repay.args.liquidator).to.equal(signer.address);
      expect(repay.args.token).to.equal(await p.weth.getAddress());
      // the whole debt, rounded up to whole USDC units
      expect(repay.args.repaid).to.equal((debt + 10n ** 12n - 1n) / 10n ** 12n);
      expect(await p.weth.balanceOf(signer.address)).to.equal(repay.args.seized);
      expect(await p.usdc.balanceOf(signer.address)).to.equal(KEEPER_USDC - repay.args.repaid);
      expect(await p.vault.quoteBalance(withWeth)).to.be.gte(0n);
      expect(await p.vault.queryFilter(p.vault.filters.BadDebtSettled(bare))).to.have.length(1);
      expect(await p.vault.quoteBalance(bare)).to.equal(0n);
      expect(await p.lens.candidates(1, 10)).to.deep.equal([]);

      const [collateralLine] = byMsg(lines, "liquidateCollateral succeeded");
      expect(collateralLine).to.include({ account: withWeth.toString(), token: await p.weth.getAddress() });
      expect(collateralLine.tx).to.equal(repay.transactionHash);
      expect(byMsg(lines, "settleBadDebt succeeded")[0]).to.include({ account: bare.toString() });
      expect((await keeper.tick()).candidates).to.equal(0);
    });

    it("skips liquidateCollateral without settlement tokens (reason no_funds) and still settles bad debt", async () => {
      const { p, withWeth, bare } = await loadFixture(debtFixture);
      const broke = (await ethers.getSigners())[15];
      const { keeper, lines } = newKeeper(p, broke);
      const report = await keeper.tick();
      expect(report).to.include({ candidates: 2, sent: 1, succeeded: 1, skipped: 1 });
      expect(await metricValue(keeper.metrics, "keeper_skipped_total", { reason: "no_funds" })).to.equal(1);
      expect(byMsg(lines, "the keeper holds no settlement tokens to repay with")[0]).to.include({
        account: withWeth.toString(),
      });
      expect(await p.vault.queryFilter(p.vault.filters.BadDebtSettled(bare))).to.have.length(1);
    });
  });

  describe("discovery", () => {
    it("back-fills AccountCreated in chunks of 3 blocks, then picks up accounts of later blocks", async () => {
      const f = await crashed();
      const ranges: [number, number][] = [];
      const contracts = keeperContracts(f.p, f.keepers[0]);
      const vault = new Proxy(contracts.vault, {
        get(target, prop) {
          if (prop === "queryFilter") {
            return (filter: Parameters<Vault["queryFilter"]>[0], from: number, to: number) => {
              ranges.push([from, to]);
              return target.queryFilter(filter, from, to);
            };
          }
          return Reflect.get(target, prop) as unknown;
        },
      }) as Vault;
      const { log } = memoryLogger();
      const keeper = new Keeper({ ...contracts, vault }, f.keepers[0], { startBlock: 0, chunkSize: 3 }, log);
      const head = await ethers.provider.getBlockNumber();
      const first = await keeper.tick();
      expect(first.block).to.equal(head);
      expect(keeper.tracked()).to.deep.equal(f.ids);
      expect(await metricValue(keeper.metrics, "keeper_accounts_tracked")).to.equal(12);
      // contiguous chunks of at most 3 blocks from 0 to the head
      expect(ranges.length).to.equal(Math.ceil((head + 1) / 3));
      expect(ranges[0][0]).to.equal(0);
      expect(ranges.at(-1)![1]).to.equal(head);
      for (const [i, [from, to]] of ranges.entries()) {
        expect(to - from).to.be.lessThan(3);
        if (i > 0) expect(from).to.equal(ranges[i - 1][1] + 1);
      }
      const done = (await keeper.tick()).block; // the first tick's transactions made new blocks
      // later blocks add new accounts; only the new blocks are read
      ranges.length = 0;
      const [, , alice, bob] = await ethers.getSigners();
      await f.p.vault.connect(alice).createAccount(0);
      await ethers.provider.send("evm_mine", []);
      await f.p.vault.connect(bob).createAccount(1);
      await keeper.tick();
      expect(keeper.tracked()).to.deep.equal([...f.ids, 13n, 14n]);
      expect(ranges[0][0]).to.equal(done + 1);
      expect(await metricValue(keeper.metrics, "keeper_accounts_tracked")).to.equal(14);
    });
  });

  describe("start() / stop()", () => {
    afterEach(async () => setAutomine(true));

    it("runs the loop until everything due is done, and stop() ends it", async () => {
      const f = await crashed();
      const { keeper, lines } = newKeeper(f.p, f.keepers[0], { pollIntervalMs: 30 });
      const loop = keeper.start();
      expect(keeper.start()).to.equal(loop); // one loop
      await until(async () => (await f.p.lens.candidates(1, 100)).length === 0, 20_000, "every account done");
      await keeper.stop();
      await loop;
      await expectAllDone(f);
      expect(byMsg(lines, "tick failed; the keeper keeps going")).to.deep.equal([]);
      // stopped: nothing more is sent
      const ticks = byMsg(lines, "transaction sent").length;
      await sleep(150);
      expect(byMsg(lines, "transaction sent").length).to.equal(ticks);
    });

    it("stop() waits for the transactions in flight", async () => {
      const f = await crashed();
      const { keeper, lines } = newKeeper(f.p, f.keepers[0], { pollIntervalMs: 30, maxInFlight: 4 });
      await setAutomine(false);
      const loop = keeper.start();
      await until(() => byMsg(lines, "transaction sent").length >= 1, 15_000, "a transaction sent");
      let stopped = false;
      const stopping = keeper.stop().then(() => {
        stopped = true;
      });
      await sleep(300);
      expect(stopped, "stop() returned with transactions pending").to.equal(false);
      // five liquidations due; at most maxInFlight (4 here) broadcast at once, own nonces in order;
      // once stop() is called nothing new is broadcast, so how many went out depends on timing
      const sent = byMsg(lines, "transaction sent");
      expect(sent.length).to.be.within(1, 4);
      const first = await ethers.provider.getTransactionCount(f.keepers[0].address);
      expect(sent.map((l) => l.nonce)).to.deep.equal(sent.map((_, i) => first + i));
      for (const line of sent) expect(await ethers.provider.getTransactionReceipt(line.tx as string)).to.equal(null);
      // mine until the keeper is done with what it had started
      while (!stopped) {
        await ethers.provider.send("evm_mine", []);
        await sleep(50);
      }
      await stopping;
      await loop;
      for (const line of byMsg(lines, "transaction sent")) {
        const receipt = await ethers.provider.getTransactionReceipt(line.tx as string);
        expect(receipt?.status, `${line.action} ${line.account}`).to.equal(1);
      }
      expect(byMsg(lines, "liquidate succeeded").length).to.equal(byMsg(lines, "transaction sent").length);
      // those in flight are followed to the end; the rest are not sent after stop() (no new
      // actions: the next keeper run takes them)
      const total = byMsg(lines, "transaction sent").length;
      if (total < 5) {
        expect(await keeper.metrics.registry.getSingleMetricAsString("keeper_skipped_total")).to.match(
          new RegExp(`keeper_skipped_total\\{reason="stopping"\\} ${5 - total}`),
        );
      }
    });
  });

  describe("TxSender", () => {
    afterEach(async () => setAutomine(true));

    it("replaces a stuck transaction at the same nonce with higher fees; only one of them is mined", async () => {
      await loadFixture(keeperFixture);
      const signers = await ethers.getSigners();
      const [from, to] = [signers[16], signers[17]];
      const { log, lines } = memoryLogger();
      const sender = new TxSender(
        from,
        ethers.provider,
        {
          maxInFlight: 2,
          maxFeePerGas: 500n * 10n ** 9n,
          replaceAfterMs: 100,
          pollMs: 20,
          retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 },
        },
        log,
      );
      const nonce = await ethers.provider.getTransactionCount(from.address);
      await setAutomine(false);
      const sending = sender.send({ to: to.address, value: 1n }, { action: "test" });
      await until(() => byMsg(lines, "transaction sent").length >= 2, 10_000, "a replacement");
      expect(sender.inFlightCount).to.equal(1);
      await ethers.provider.send("evm_mine", []);
      const { receipt, hashes } = await sending;
      await setAutomine(true);

      expect(hashes.length).to.be.greaterThanOrEqual(2);
      expect(new Set(hashes).size).to.equal(hashes.length);
      expect(hashes).to.include(receipt.hash);
      expect(receipt.status).to.equal(1);
      const mined = [];
      for (const hash of hashes) if (await ethers.provider.getTransactionReceipt(hash)) mined.push(hash);
      expect(mined).to.deep.equal([receipt.hash]);
      const tx = (await ethers.provider.getTransaction(receipt.hash))!;
      expect(tx.nonce).to.equal(nonce);
      expect(await ethers.provider.getTransactionCount(from.address)).to.equal(nonce + 1);
      // each replacement raised the fee by 12.5 % (rounded up)
      const replacing = byMsg(lines, "replacing stuck transaction");
      expect(replacing.length).to.be.greaterThanOrEqual(1);
      for (const line of replacing) expect(line.nonce).to.equal(nonce);
      const sent = byMsg(lines, "transaction sent").map((l) => l.tx);
      expect(sent.slice(0, hashes.length)).to.deep.equal(hashes);
      const fees = replacing.map((l) => BigInt(l.maxFeePerGas as string));
      for (let i = 1; i < fees.length; i++) expect(fees[i]).to.equal((fees[i - 1] * 1125n + 999n) / 1000n);
      expect(fees).to.include(tx.maxFeePerGas);
      expect(sender.inFlightCount).to.equal(0);
    });
  });

  describe("withRetry", () => {
    const transient = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "NETWORK_ERROR" });
    const revert = () =>
      Object.assign(new Error('execution reverted (unknown custom error) (action="call")'), { code: "CALL_EXCEPTION" });

    it("retries transient errors with exponential backoff", async () => {
      let calls = 0;
      const delays: number[] = [];
      const attempts: number[] = [];
      const started = Date.now();
      const result = await withRetry(
        async () => {
          if (++calls < 4) throw transient();
          return "ok";
        },
        {
          attempts: 5,
          baseDelayMs: 20,
          maxDelayMs: 60,
          onRetry: (_error, attempt, delayMs) => {
            attempts.push(attempt);
            delays.push(delayMs);
          },
        },
      );
      expect(result).to.equal("ok");
      expect(calls).to.equal(4);
      expect(attempts).to.deep.equal([1, 2, 3]);
      // 20, 40, then capped at 60; ±20 % jitter
      for (const [i, nominal] of [20, 40, 60].entries()) {
        expect(delays[i]).to.be.within(nominal * 0.8, nominal * 1.2);
      }
      expect(Date.now() - started).to.be.gte(delays.reduce((s, d) => s + d, 0) - 5);
    });

    it("throws a revert at once, and a transient error after the last attempt", async () => {
      let calls = 0;
      const onRetry = () => expect.fail("a revert is not retried");
      const error = await withRetry(
        async () => {
          calls++;
          throw revert();
        },
        { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, onRetry },
      ).catch((e: unknown) => e);
      expect(calls).to.equal(1);
      expect((error as { code: string }).code).to.equal("CALL_EXCEPTION");

      calls = 0;
      const last = await withRetry(
        async () => {
          calls++;
          throw transient();
        },
        { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      ).catch((e: unknown) => e);
      expect(calls).to.equal(3);
      expect((last as Error).message).to.match(/ECONNREFUSED/);

      // a shutdown (aborted signal) stops retrying
      calls = 0;
      const controller = new AbortController();
      controller.abort();
      await withRetry(
        async () => {
          calls++;
          throw transient();
        },
        { attempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000, signal: controller.signal },
      ).catch(() => undefined);
      expect(calls).to.equal(1);
    });

    it("tells transient faults from reverts (isTransient / isRevert), ethers' own errors included", async () => {
      for (const e of [
        transient(),
        { code: "TIMEOUT", message: "timeout" },
        { code: "SERVER_ERROR", message: "bad response" },
        new Error("429 Too Many Requests"),
        { message: "could not coalesce error", error: { message: "socket hang up" } },
        new Error("fetch failed"),
      ]) {
        expect(isTransient(e), JSON.stringify(e)).to.equal(true);
        expect(isRevert(e)).to.equal(false);
      }
      for (const e of [
        revert(),
        new Error("nonce too low"),
        { code: "INVALID_ARGUMENT", message: "invalid address" },
      ]) {
        expect(isTransient(e), String(e)).to.equal(false);
      }
      const f = await loadFixture(keeperFixture);
      const real = await f.p.clearingHouse.liquidate.staticCall(1n, ETH, MAX).catch((e: unknown) => e);
      expect(isRevert(real)).to.equal(true);
      expect(isTransient(real)).to.equal(false);
    });
  });

  describe("metrics", () => {
    it("serves /metrics over HTTP: accounts tracked, transactions, skips, scan duration", async () => {
      const f = await crashed();
      const metrics = new KeeperMetrics({ shard: "0/1" });
      const { keeper } = newKeeper(f.p, f.keepers[0], {}, metrics);
      await tickUntilIdle(keeper);
      const server = await metrics.serve(0);
      try {
        expect(server.port).to.be.greaterThan(0);
        const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
        expect(response.status).to.equal(200);
        expect(response.headers.get("content-type")).to.match(/text\/plain/);
        const body = await response.text();
        expect(body).to.match(/^keeper_accounts_tracked\{shard="0\/1"\} 12$/m);
        expect(body).to.match(/^keeper_tx_sent_total\{kind="liquidate",shard="0\/1"\} 5$/m);
        expect(body).to.match(/^keeper_tx_succeeded_total\{kind="liquidate",shard="0\/1"\} 5$/m);
        expect(body).to.match(/^keeper_tx_succeeded_total\{kind="settleBadDebt",shard="0\/1"\} 2$/m);
        expect(body).to.match(/^keeper_tx_succeeded_total\{kind="liquidateCollateral",shard="0\/1"\} 1$/m);
        expect(body).to.match(/^keeper_last_block_seen\{shard="0\/1"\} \d+$/m);
        expect(body).to.match(/^keeper_scan_duration_seconds_count\{shard="0\/1"\} [1-9]\d*$/m);
        expect(body).to.match(/^keeper_candidates\{action="liquidate",shard="0\/1"\} 0$/m);
        expect(body).to.match(/^keeper_rewards_usd_total\{shard="0\/1"\} [1-9][\d.e+]*$/m);
        expect(body).to.contain("# TYPE keeper_skipped_total counter");
        expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).to.equal(404);
      } finally {
        await server.close();
      }
    });
  });

  describe("configuration", () => {
    it("parseShard accepts i/n with 0 ≤ i < n and explains anything else", () => {
      expect(parseShard("0/1")).to.deep.equal({ index: 0, count: 1 });
      expect(parseShard(" 1/2 ")).to.deep.equal({ index: 1, count: 2 });
      expect(parseShard("2/3")).to.deep.equal({ index: 2, count: 3 });
      for (const bad of ["2/2", "0/0", "3/2", "1", "a/b", "-1/2", "1/2/3", "", "0.5/2"]) {
        expect(() => parseShard(bad), bad).to.throw(/--shard must be "i\/n" with 0 ≤ i < n.*got "/);
      }
    });

    describe("resolveAddresses", () => {
      let root: string;
      beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "keeper-test-"));
      });
      afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

      /** hre with the project root moved to a temporary directory (no deployment record). */
      const withRoot = (dir: string): HardhatRuntimeEnvironment =>
        Object.create(hre, {
          config: { value: { ...hre.config, paths: { ...hre.config.paths, root: dir } } },
        }) as HardhatRuntimeEnvironment;
      /** A registry file deployments/<chainId>.json with the given contracts (other fields minimal). */
      const record = (dir: string, chainId: bigint, contracts: Record<string, string>, extra: object = {}) => {
        const folder = path.join(dir, "deployments");
        fs.mkdirSync(folder, { recursive: true });
        const entry = (address: string, blockNumber: number) => ({ address, blockNumber, transactionHash: "0x" });
        fs.writeFileSync(
          path.join(folder, `${chainId}.json`),
          JSON.stringify({
            schema: "crossmargin.deployment/1",
            chainId: Number(chainId),
            network: "hardhat",
            module: "Protocol",
            deploymentId: "test",
            startBlock: 7,
            contracts: Object.fromEntries(Object.entries(contracts).map(([k, v]) => [k, entry(v, 7)])),
            settlementToken: { symbol: "USDC", address: contracts.Vault, decimals: 6, oracle: "", feed: "" },
            collateral: [],
            markets: [],
            parameters: {},
            ...extra,
          }),
        );
      };

      it("without a registry: names npm run deploy:local and --network localhost", async () => {
        await expect(resolveAddresses(withRoot(root), { vault: "", lens: "" })).to.be.rejectedWith(
          /not deployed on network "hardhat" \(chain 31337\): no deployments\/31337\.json.*npm run deploy:local.*--network localhost/,
        );
      });

      it("reads the deployments registry, takes --vault / --lens, and rejects addresses without code", async () => {
        const f = await loadFixture(keeperFixture);
        const [vault, lens, clearingHouse, pool] = await Promise.all([
          f.p.vault.getAddress(),
          f.p.lens.getAddress(),
          f.p.clearingHouse.getAddress(),
          f.p.pool.getAddress(),
        ]);
        const chainId = (await ethers.provider.getNetwork()).chainId;
        const contracts = { Vault: vault, MarginLens: lens, ClearingHouse: clearingHouse, LiquidityPool: pool };
        record(root, chainId, contracts);
        expect(await resolveAddresses(withRoot(root), { vault: "", lens: "" })).to.deep.equal({
          vault,
          lens,
          clearingHouse,
          source: path.join("deployments", "31337.json"),
          startBlock: 7,
        });
        expect(await resolveAddresses(withRoot(root), { vault, lens })).to.deep.equal({
          vault,
          lens,
          clearingHouse,
          source: "--vault / --lens",
          startBlock: undefined,
        });
        const nobody = f.rival.address;
        await expect(resolveAddresses(withRoot(root), { vault: nobody, lens })).to.be.rejectedWith(
          new RegExp(`no Vault contract at ${nobody} on network "hardhat".*redeploy \\(\`npm run deploy:local\`\\)`),
        );
        record(root, chainId, { Vault: vault, ClearingHouse: clearingHouse, LiquidityPool: pool });
        await expect(resolveAddresses(withRoot(root), { vault: "", lens: "" })).to.be.rejectedWith(
          /deployments\/31337\.json: contracts\.MarginLens\.address missing or not an address/,
        );
        record(root, chainId, contracts, { schema: "crossmargin.deployment/0" });
        await expect(resolveAddresses(withRoot(root), { vault: "", lens: "" })).to.be.rejectedWith(
          /schema is "crossmargin.deployment\/0", expected "crossmargin.deployment\/1" \(re-export it: npx hardhat deployments:export\)/,
        );
      });
    });

    describe("resolveSigner", () => {
      let saved: string | undefined;
      beforeEach(async function () {
        const { vars } = await import("hardhat/config");
        if (vars.has(KEY_VARIABLE)) this.skip(); // a key configured on this machine
        saved = process.env[KEY_VARIABLE];
        delete process.env[KEY_VARIABLE];
      });
      afterEach(() => {
        if (saved === undefined) delete process.env[KEY_VARIABLE];
        else process.env[KEY_VARIABLE] = saved;
      });

      it("uses the local node's account --account-index N, and explains a bad index or a missing key", async () => {
        const signers = await ethers.getSigners();
        const signer = await resolveSigner(hre, 3);
        expect(await signer.getAddress()).to.equal(signers[3].address);
        await expect(resolveSigner(hre, signers.length)).to.be.rejectedWith(
          `--account-index ${signers.length}: the node has ${signers.length} accounts (0..${signers.length - 1})`,
        );
        await expect(resolveSigner(hre, -1)).to.be.rejectedWith(
          /no keeper key: set KEEPER_PRIVATE_KEY \(`npx hardhat vars set KEEPER_PRIVATE_KEY`.*or pass --account-index N/,
        );
        // on a remote network --account-index is not offered
        const remote = Object.create(hre, {
          network: { value: { ...hre.network, name: "sepolia" } },
        }) as HardhatRuntimeEnvironment;
        const error = await resolveSigner(remote, 3).catch((e: Error) => e);
        expect((error as Error).message).to.match(/^no keeper key: set KEEPER_PRIVATE_KEY/);
        expect((error as Error).message).not.to.contain("--account-index");
      });

      it("prefers KEEPER_PRIVATE_KEY (with or without 0x), connected to the network", async () => {
        const wallet = Wallet.createRandom();
        process.env[KEY_VARIABLE] = wallet.privateKey.slice(2);
        const signer = await resolveSigner(hre, 3);
        expect(await signer.getAddress()).to.equal(wallet.address);
        expect(signer.provider).to.equal(ethers.provider);
        process.env[KEY_VARIABLE] = wallet.privateKey;
        expect(await (await resolveSigner(hre, -1)).getAddress()).to.equal(wallet.address);
      });
    });
  });
});
