/**
 * Stress in the simulator: keepers as agents — gas bidding (the higher bid lands first), gas cost
 * and profit per keeper, capital limits on liquidateCollateral, a "no keeper for N steps" outage, the
 * time-to-liquidation distribution — and oracle staleness windows (a frozen feed, then one past
 * its heartbeat). Small scenarios (≤ 16 traders, ≤ 14 steps) on the in-process
 * chain; every run starts from the state this file found and the file leaves it so.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { runSimulation } from "../src/sim/engine";
import type { ModeReport, SimulationReport } from "../src/sim/report";
import { loadScenario, ScenarioError, type ScenarioInput } from "../src/sim/scenario";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "crossmargin-keepers-"));
const provider = hre.network.provider;
let base = "";
let written = 0;

async function simulate(scenario: ScenarioInput): Promise<SimulationReport> {
  expect(await provider.send("evm_revert", [base])).to.equal(true);
  base = (await provider.send("evm_snapshot", [])) as string;
  const file = path.join(TMP, `${scenario.name}-${++written}.json`);
  fs.writeFileSync(file, JSON.stringify(scenario));
  return runSimulation(hre, loadScenario(file), { modes: ["cross"] });
}

/** Levered ETH longs through a 30 % fall at step 3; `keepers` and extra cohorts vary per test. */
function longs(
  name: string,
  keepers: ScenarioInput["keepers"],
  extra: ScenarioInput["population"] = [],
): ScenarioInput {
  return {
    name,
    seed: 11,
    steps: 14,
    stepSeconds: 60,
    prices: {
      volatility: { ETH: 0.2, BTC: 0.2, STETH: 0.2 },
      shocks: [{ step: 3, symbol: "ETH", pct: -30, overSteps: 4 }],
    },
    population: [
      {
        name: "longs",
        count: 12,
        strategy: "directional",
        markets: { ETH: 1 },
        longShare: 1,
        leverage: [3, 12],
        equityUsd: [10_000, 40_000],
      },
      ...extra,
    ],
    keepers,
    checks: { mirrorSample: 1, conservation: true },
  };
}

const cross = (r: SimulationReport): ModeReport => r.modes.cross!;

describe("Simulator under stress: keepers as agents, oracle outages", function () {
  this.timeout(300_000);

  before(async () => {
    base = (await provider.send("evm_snapshot", [])) as string;
  });
  after(async () => {
    await provider.send("evm_revert", [base]);
  });

  const bids = memo(() => simulate(longs("bids", { count: 2, priorityFeeGwei: [1, 5], baseFeeGwei: 10 })));
  const swapped = memo(() => simulate(longs("bids", { count: 2, priorityFeeGwei: [5, 1], baseFeeGwei: 10 })));
  const prompt = memo(() => simulate(longs("prompt", { count: 1 })));
  const outage = memo(() => simulate(longs("outage", { count: 1, outages: [{ fromStep: 3, steps: 4 }] })));

  it("the higher bid lands first: the keeper bidding 5 gwei takes the liquidations, and the roles swap with the bids", async () => {
    const [a, b] = cross(await bids()).keepers.agents;
    expect([a.priorityFeeGwei, b.priorityFeeGwei]).to.deep.equal([1, 5]);
    expect(b.liquidations, "the 5 gwei keeper").to.be.greaterThan(a.liquidations * 3);
    const [c, d] = cross(await swapped()).keepers.agents;
    // same paths, same accounts: the same keeper work, done by the other keeper
    expect(c.liquidations).to.equal(b.liquidations);
    expect(d.liquidations).to.equal(a.liquidations);
    expect(c.liquidations + d.liquidations).to.equal(cross(await bids()).summary.liquidations);
  });

  it("a keeper's gas costs gasUsed × (base fee + bid) at the ETH price, and its profit is its wallet's change minus gas", async () => {
    const r = cross(await bids());
    const eth = r.series.prices.ETH;
    const [lo, hi] = [Math.min(3_000, ...eth), Math.max(3_000, ...eth)];
    for (const k of r.keepers.agents) {
      expect(k.transactions, `keeper ${k.keeper} transactions`).to.be.greaterThan(0);
      const perGasEth = (10 + k.priorityFeeGwei) * 1e-9;
      expect(k.gasCostUsd, `keeper ${k.keeper} gas`).to.be.within(
        k.gasUsed * perGasEth * lo - 0.01,
        k.gasUsed * perGasEth * hi + 0.01,
      );
      // no collateral bought here: the wallet gained exactly the rewards, in settlement tokens
      expect(k.collateralLiquidations).to.equal(0);
      expect(k.capitalEndUsd).to.be.closeTo(k.capitalUsd + k.rewardsUsd, 0.011);
      expect(k.profitUsd).to.be.closeTo(k.rewardsUsd - k.gasCostUsd, 0.011);
    }
    // rewards of all keepers are the run's keeper rewards
    const rewards = r.keepers.agents.reduce((s, k) => s + k.rewardsUsd, 0);
    expect(rewards).to.be.closeTo(r.summary.keeperRewards, 0.011);
    // without a base fee or bids the keepers' gas is free, as on the local node
    expect(cross(await prompt()).keepers.agents[0].gasCostUsd).to.equal(0);
  });

  it("no keeper for 4 steps: nothing is liquidated during the outage, every account waits, and bad debt grows", async () => {
    const [on, off] = [cross(await prompt()), cross(await outage())];
    expect(off.keepers.outageSteps).to.equal(4);
    expect(off.series.liquidations.slice(2, 6), "steps 3–6").to.deep.equal([0, 0, 0, 0]);
    expect(off.series.liquidations[6], "step 7: the keeper is back").to.be.greaterThan(0);
    // a keeper every step serves each account within the step it went under
    expect(on.keepers.timeToLiquidation.delaysSteps.every((d) => d === 0)).to.equal(true);
    expect(on.keepers.timeToLiquidation.maxSteps).to.equal(0);
    const t = off.keepers.timeToLiquidation;
    expect(t.served).to.equal(t.episodes);
    expect(t.delaysSteps).to.have.length(t.served);
    // accounts under from step 3 on wait until step 7: between 1 and 4 steps
    expect(Math.min(...t.delaysSteps)).to.be.at.least(1);
    expect(t.maxSteps).to.equal(4);
    expect(t.meanSteps).to.be.greaterThan(1);
    expect(off.summary.badDebt).to.be.greaterThan(on.summary.badDebt * 2);
  });

  it("latency: a keeper every 3 steps leaves accounts waiting up to 2 steps", async () => {
    const r = cross(await simulate(longs("slow", { count: 1, latencySteps: 3 })));
    const t = r.keepers.timeToLiquidation;
    expect(t.served).to.be.greaterThan(0);
    expect(Math.max(...t.delaysSteps)).to.be.at.most(2);
    expect(t.maxSteps).to.be.greaterThan(0);
    expect(t.p50Steps).to.equal([...t.delaysSteps].sort((x, y) => x - y)[Math.ceil(t.served / 2) - 1]);
  });

  it("capital limit: without settlement tokens (and no rewards to spend: keeperShare 0, the keeper acts unpaid) a keeper cannot repay debts with liquidateCollateral", async () => {
    const weth: ScenarioInput["population"] = [
      {
        name: "weth",
        count: 4,
        strategy: "directional",
        markets: { ETH: 1 },
        longShare: 1,
        leverage: [8, 12],
        collateral: { WETH: 1 },
      },
    ];
    const scenario = (capitalUsd: number) => ({
      ...longs("capital", { count: 1, capitalUsd, profitableOnly: false }, weth),
      protocol: { keeperShare: 0 },
    });
    const broke = cross(await simulate(scenario(0)));
    const funded = cross(await simulate(scenario(1_000_000)));
    expect(funded.summary.collateralLiquidations, "with capital").to.be.greaterThan(0);
    expect(funded.keepers.agents[0].capitalEndUsd).to.be.lessThan(1_000_000);
    expect(broke.summary.collateralLiquidations, "without").to.equal(0);
    expect(broke.keepers.agents[0].capitalEndUsd).to.equal(0);
    expect(funded.keepers.agents[0].collateralLiquidations).to.equal(funded.summary.collateralLiquidations);
    // the same positions were liquidated either way: only the debts' repayment needed capital
    expect(broke.summary.liquidations).to.be.greaterThan(0);
  });

  describe("oracle staleness windows", () => {
    // the ETH feed publishes nothing in steps 3–8, right through the crash (steps 3–6)
    const silent = { outages: [{ symbols: ["ETH" as const], fromStep: 3, steps: 6 }] };
    const frozen = memo(() => simulate({ ...longs("frozen", { count: 1 }), oracles: silent }));
    const stale = memo(() =>
      simulate({ ...longs("stale", { count: 1 }), oracles: { ...silent, heartbeatSeconds: { ETH: 150 } } }),
    );

    it("a frozen feed: the protocol keeps the last price, nobody is liquidated until the feed speaks, then the whole fall lands at once", async () => {
      const [on, off] = [cross(await prompt()), cross(await frozen())];
      const eth = off.series.prices.ETH;
      expect(eth.slice(2, 8), "steps 3–8 keep step 2's answer").to.deep.equal(new Array(6).fill(eth[1]));
      expect(eth[8], "step 9 publishes the path's price").to.equal(on.series.prices.ETH[8]);
      expect(off.oracles.frozenSteps).to.deep.equal({ ETH: 6, BTC: 0, STETH: 0, USDC: 0 });
      expect(off.series.liquidations.slice(0, 8).every((n) => n === 0)).to.equal(true);
      expect(off.series.liquidations[8]).to.be.greaterThan(0);
      // within its 24 h heartbeat the stale price is still accepted: every account can be priced
      expect(off.oracles.stepsWithUnpriced).to.equal(0);
      expect(off.oracles.mirrorChecksSkipped).to.equal(6);
      // the 30 % fall arrives in one step: deeper losses than when the keeper followed it down
      expect(off.summary.badDebt).to.be.greaterThan(on.summary.badDebt);
      expect(off.keepers.timeToLiquidation.maxSteps).to.equal(0); // liquidatable only once the price lands
    });

    it("past its heartbeat the adapter refuses the price: accounts on ETH cannot be priced, traded or liquidated until the feed is back", async () => {
      const r = cross(await stale());
      // the last answer came at step 2; 150 s later (steps are 60 s) it is refused: steps 5–8, all 12 accounts hold ETH
      expect(r.oracles.stepsWithUnpriced, "steps with unpriced accounts").to.equal(4);
      expect(r.oracles.unpricedAccountSteps).to.equal(4 * 12);
      expect(r.series.liquidations.slice(0, 8).every((n) => n === 0)).to.equal(true);
      expect(r.series.liquidations[8]).to.be.greaterThan(0);
      // the feed is republished every half heartbeat while the price holds, so steps before the window never go stale
      expect(cross(await frozen()).oracles.stepsWithUnpriced).to.equal(0);
    });

    it("rejects an oracle window past the end and an unknown symbol", () => {
      const problems = (oracles: ScenarioInput["oracles"]): string[] => {
        const file = path.join(TMP, `bad-${++written}.json`);
        fs.writeFileSync(file, JSON.stringify({ ...longs("bad", { count: 1 }), oracles }));
        try {
          loadScenario(file);
        } catch (error) {
          if (error instanceof ScenarioError) return error.problems.map((p) => p.path);
          throw error;
        }
        return [];
      };
      expect(problems({ outages: [{ symbols: ["ETH"], fromStep: 15, steps: 1 }] })).to.deep.equal([
        "oracles.outages[0].fromStep",
      ]);
      expect(problems({ outages: [{ symbols: ["DOGE" as "ETH"], fromStep: 2, steps: 1 }] })).to.deep.equal([
        "oracles.outages[0].symbols[0]",
      ]);
      expect(problems({ heartbeatSeconds: { ETH: 0 } })).to.deep.equal(["oracles.heartbeatSeconds.ETH"]);
    });
  });

  it("rejects keeper settings that do not fit the keepers", () => {
    const reject = (keepers: ScenarioInput["keepers"]): string[] => {
      const file = path.join(TMP, `bad-${++written}.json`);
      fs.writeFileSync(file, JSON.stringify(longs("bad", keepers)));
      try {
        loadScenario(file);
      } catch (error) {
        if (error instanceof ScenarioError) return error.problems.map((p) => `${p.path}: ${p.message}`);
        throw error;
      }
      return [];
    };
    expect(reject({ count: 2, outages: [{ fromStep: 15, steps: 1 }] })).to.deep.equal([
      "keepers.outages[0].fromStep: expected a step ≤ steps (14)",
    ]);
    expect(reject({ count: 1, capitalUsd: -1 })).to.deep.equal(["keepers.capitalUsd: expected a number ≥ 0"]);
    expect(reject({ count: 1, outages: [{ fromStep: 2, steps: 0 }] })).to.deep.equal([
      "keepers.outages[0].steps: expected a number ≥ 1",
    ]);
  });
});

/** A run computed on first use and shared by the tests that read it. */
function memo<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}
