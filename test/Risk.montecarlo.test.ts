/**
 * Monte Carlo on the simulator (`npx hardhat simulate --paths N`): common random numbers, the
 * statistics of a report from its per-path outcomes, the workers' share-out, and a run reproduced
 * byte for byte from its manifest through the CLI.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { pricePathFor, runSimulation } from "../src/sim/engine";
import { loadScenario, UsageError } from "../src/sim/scenario";
import { paretoFrontier, recommend } from "../src/risk/frontier";
import { runFrontier, type FrontierReport } from "../src/risk/sweep";
import {
  deterministicMonteCarlo,
  poolWaits,
  processChunks,
  riskOf,
  runMonteCarlo,
  shareOut,
  type MonteCarloReport,
} from "../src/risk/montecarlo";
import type { PathOutcome, PathRecord } from "../src/risk/paths";
import { valueAtRisk } from "../src/risk/stats";

const ROOT = path.resolve(__dirname, "..");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "crossmargin-montecarlo-"));

/** A small crash: 8 steps, 6 traders, one keeper. */
const TINY = {
  name: "mc-tiny",
  description: "Monte Carlo test scenario",
  seed: 11,
  steps: 8,
  stepSeconds: 60,
  prices: {
    volatility: { ETH: 0.9, BTC: 0.7, STETH: 0.9 },
    shocks: [{ step: 3, symbol: "ETH", pct: -25, overSteps: 3 }],
  },
  population: [
    {
      name: "longs",
      count: 6,
      strategy: "directional",
      markets: { ETH: 0.7, BTC: 0.3 },
      longShare: 0.8,
      leverage: [5, 15],
    },
  ],
  keepers: { count: 1, latencySteps: [1, 1] },
};

function write(name: string, body: unknown): string {
  const file = path.join(TMP, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

function hardhat(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = require.resolve("hardhat/internal/cli/cli");
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.HARDHAT_NETWORK; // the child picks its own (in-process) network
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: ROOT, env, maxBuffer: 32 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

const outcome = (badDebt: number, notional: number, insurance = 100, waits: number[] = []): PathOutcome => ({
  exposure: 10_000,
  collateralNeeded: 1_000,
  badDebt,
  notionalLiquidated: notional,
  insuranceStart: insurance,
  insuranceDrawdown: Math.min(badDebt, insurance),
  insolvent: badDebt > insurance,
  liquidations: notional > 0 ? 1 : 0,
  tradersLiquidated: notional > 0 ? 1 : 0,
  maxCascadeDepth: notional > 0 ? 1 : 0,
  amplification: 1,
  keeperRewards: 0,
  penaltiesPaid: 0,
  poolSharePriceEnd: 1,
  keeperProfit: notional / 100,
  keeperGasCost: 0,
  waitHistogram: waits,
  pendingAtEnd: 0,
});

describe("Monte Carlo risk analytics (simulate --paths)", () => {
  // the in-process runs below move the chain's clock to the simulator's epoch: leave the chain
  // (blocks and clock) as this file found it for the files after it
  let found = "";
  before(async () => {
    found = (await hre.network.provider.send("evm_snapshot", [])) as string;
  });
  after(async () => {
    await hre.network.provider.send("evm_revert", [found]);
  });

  it("common random numbers: path i is the same price path whatever the protocol or population parameters, and differs from path j", () => {
    const file = write("crn", TINY);
    const a = loadScenario(file);
    const b = loadScenario(file, ["protocol.liquidationFee=0.03", "protocol.hedgeOffset=0.5", "keepers.count=2"]);
    expect(a.hash).to.not.equal(b.hash);
    expect(pricePathFor(a, 3)).to.deep.equal(pricePathFor(b, 3));
    expect(pricePathFor(a, 3)).to.not.deep.equal(pricePathFor(a, 4));
    expect(pricePathFor(a, 0)).to.not.deep.equal(pricePathFor(a)); // the single run keeps its own stream
  });

  it("common random numbers: one path run in cross and isolated mode sees the same prices at every step", async function () {
    this.timeout(300_000);
    const loaded = loadScenario(write("modes", TINY));
    const report = await runSimulation(hre, loaded, { modes: ["cross", "isolated"], pathIndex: 2 });
    const cross = report.modes.cross!.series.prices;
    expect(cross).to.deep.equal(report.modes.isolated!.series.prices);
    const path2 = pricePathFor(loaded, 2);
    for (const symbol of Object.keys(cross)) {
      // the series records each step's price after the move (step 1 on), to the micro-dollar
      const expected = path2[symbol].slice(1, cross[symbol].length + 1).map((p) => Number(p.toFixed(6)));
      expect(cross[symbol], symbol).to.deep.equal(expected);
    }
  });

  it("the statistics of a report come from its per-path outcomes: VaR, liquidations at risk, insolvency beyond the insurance fund", () => {
    // 20 paths: bad debt 0..190 by 10, insurance fund 100 → insolvent on 9 paths (110..190)
    const records: PathRecord[] = Array.from({ length: 20 }, (_, i) => ({
      path: i,
      modes: { cross: outcome(i * 10, 1_000 + i * 100) },
      timing: { seconds: 1, transactions: 1, phaseSeconds: {}, rssMb: 1, heapMb: 1 },
    }));
    const risk = riskOf(records, ["cross"], 5).cross!;
    const badDebt = records.map((r) => r.modes.cross!.badDebt);
    expect(risk.badDebt.statistics.VaR95.estimate).to.equal(valueAtRisk(badDebt, 0.95)).and.equal(180);
    expect(risk.liquidationsAtRisk.estimate).to.equal(2_800); // ceil(0.95 × 20) = 19th smallest of 1,000..2,900
    expect([risk.insolvency.successes, risk.insolvency.trials]).to.deep.equal([9, 20]);
    expect([risk.anyBadDebt.successes, risk.anyBadDebt.trials]).to.deep.equal([19, 20]);
    // keeper profit per path is summarized like the rest: mean of notional ÷ 100 = 19.5
    expect(risk.keeperProfit.statistics.mean.estimate).to.be.closeTo(19.5, 1e-9);
    // deterministic for a seed
    expect(JSON.stringify(riskOf(records, ["cross"], 5))).to.equal(JSON.stringify(riskOf(records, ["cross"], 5)));
  });

  it("time to liquidation pools every path's accounts: nearest-rank quantiles over the pooled waits", () => {
    // path 0: 3 accounts served at once, 1 after 2 steps; path 1: 1 after 1 step, 1 after 5, and one never served
    const pooled = poolWaits([
      { waitHistogram: [3, 0, 1], pendingAtEnd: 0 },
      { waitHistogram: [0, 1, 0, 0, 0, 1], pendingAtEnd: 1 },
      { waitHistogram: [], pendingAtEnd: 0 },
    ]);
    // pooled waits: 0 0 0 1 2 5
    expect(pooled).to.deep.equal({
      served: 6,
      histogram: [3, 1, 1, 0, 0, 1],
      mean: 1.3333,
      p50: 0,
      p95: 5,
      p99: 5,
      max: 5,
      pathsWithPending: 1,
      pending: 1,
    });
    expect(poolWaits([{ waitHistogram: [], pendingAtEnd: 2 }])).to.deep.include({ served: 0, p95: null, max: null });
  });

  it("shares the paths out round-robin, every path once", () => {
    expect(shareOut(7, 2)).to.deep.equal([
      [0, 2, 4, 6],
      [1, 3, 5],
    ]);
    expect(shareOut(2, 4)).to.deep.equal([[0], [1]]);
    // a slot's share in runs of fresh processes: `workerPaths` each, 0 = one process
    expect(processChunks([0, 2, 4, 6, 8], 2)).to.deep.equal([[0, 2], [4, 6], [8]]);
    expect(processChunks([0, 2, 4], 0)).to.deep.equal([[0, 2, 4]]);
    expect(processChunks([0, 2, 4], 3)).to.deep.equal([[0, 2, 4]]);
  });

  it("`simulate --paths 2` over 2 workers writes montecarlo.json, and `simulate --manifest` reproduces it byte for byte (apart from timing)", async function () {
    this.timeout(900_000);
    const file = write("manifest", TINY);
    const out = path.join(TMP, "run");
    const run = await hardhat([
      "simulate",
      "--scenario",
      file,
      "--paths",
      "2",
      "--workers",
      "2",
      "--out",
      out,
      "--no-compile",
    ]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/bad debt, VaR 95 %/);
    expect(run.stdout).to.match(/paths\/hour/);
    const recorded = JSON.parse(fs.readFileSync(path.join(out, "montecarlo.json"), "utf8")) as MonteCarloReport;
    expect(recorded.perPath.map((p) => p.path)).to.deep.equal([0, 1]);
    expect(recorded.manifest.scenario.hash).to.equal(loadScenario(file).hash);
    expect(Object.keys(recorded.manifest.bytecode)).to.include.members(["Vault", "ClearingHouse", "LiquidityPool"]);
    expect(recorded.timing.workers).to.equal(2);
    expect(fs.readFileSync(path.join(out, "montecarlo.html"), "utf8")).to.contain("<svg");

    const rerun = await hardhat([
      "simulate",
      "--manifest",
      path.join(out, "montecarlo.json"),
      "--out",
      path.join(TMP, "rerun"),
      "--workers",
      "1",
      // a fresh worker process for each path: recycling processes must not change a figure
      "--worker-paths",
      "1",
      "--no-compile",
      "--quiet",
    ]);
    expect(rerun.code, rerun.stderr).to.equal(0);
    expect(rerun.stdout).to.contain("reproduced");
    const again = JSON.parse(fs.readFileSync(path.join(TMP, "rerun", "montecarlo.json"), "utf8")) as MonteCarloReport;
    expect(deterministicMonteCarlo(again)).to.equal(deterministicMonteCarlo(recorded));
    expect(again.timing.workers).to.equal(1); // only the timing differs
    expect(again.timing.rssMbByProcess).to.have.length(2);
    // one per-path figure changed is no longer the same report
    const tampered = structuredClone(recorded);
    tampered.perPath[0].modes.cross!.badDebt += 0.01;
    expect(deterministicMonteCarlo(tampered)).to.not.equal(deterministicMonteCarlo(recorded));
  });

  it("`simulate --sweep … --paths 2` draws the parameter frontier: each point's VaR95 and efficiency from its own Monte Carlo run, Pareto flags and the recommendation within the tolerance", async function () {
    this.timeout(900_000);
    const file = write("frontier", TINY);
    const out = path.join(TMP, "frontier");
    const run = await hardhat([
      "simulate",
      "--scenario",
      file,
      "--mode",
      "cross",
      "--sweep",
      "protocol.liquidationFee=0.01,0.04",
      "--paths",
      "2",
      "--workers",
      "2",
      "--out",
      out,
      "--no-compile",
    ]);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, "frontier.json"), "utf8")) as FrontierReport;
    expect(report.schema).to.equal("crossmargin.frontier/1");
    expect(report.points.map((p) => p.parameters)).to.deep.equal([
      { "protocol.liquidationFee": 0.01 },
      { "protocol.liquidationFee": 0.04 },
    ]);
    for (const point of report.points) {
      const mc = JSON.parse(
        fs.readFileSync(path.join(out, path.dirname(point.report), "montecarlo.json"), "utf8"),
      ) as MonteCarloReport;
      expect(mc.manifest.overrides).to.deep.equal(point.assignments);
      const v = mc.modes.cross!.badDebt.statistics.VaR95;
      expect(point.risk).to.deep.equal({ estimate: v.estimate, low: v.low, high: v.high });
      const outcomes = mc.perPath.map((p) => p.modes.cross!);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(point.efficiency).to.be.closeTo(
        mean(outcomes.map((o) => o.exposure)) / mean(outcomes.map((o) => o.collateralNeeded)),
        1e-6,
      );
      expect(point.efficiency).to.be.greaterThan(1);
    }
    // the tolerance defaults to the insurance fund; flags and recommendation are the frontier module's
    expect(report.tolerance.source).to.equal("insurance fund at the start");
    expect(report.frontier).to.deep.equal(paretoFrontier(report.points));
    expect(report.recommendation).to.deep.equal(
      recommend(report.points, { maxRiskUsd: report.tolerance.maxRiskUsd, use: "upper" }, { confidence: 0.95 }),
    );
    expect(run.stdout).to.contain(report.recommendation.explanation);
    const html = fs.readFileSync(path.join(out, "frontier.html"), "utf8");
    expect(html).to.contain("<svg").and.contain(report.points[1].report);

    const bad = await hardhat(["simulate", "--scenario", file, "--risk-tolerance", "100", "--no-compile"]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain("--risk-tolerance needs --sweep and --paths");
  });

  it("refuses a negative --worker-paths or --risk-tolerance before anything runs, naming the option", async () => {
    const args = {
      scenario: write("bad-options", TINY),
      mode: "cross",
      seed: "",
      set: "",
      paths: 2,
      workers: 1,
      workerPaths: -1,
      out: path.join(TMP, "never"),
      quiet: true,
      noCompile: true,
    };
    const refusal = async (run: () => Promise<unknown>): Promise<Error> => {
      try {
        await run();
      } catch (error) {
        return error as Error;
      }
      expect.fail("accepted");
    };
    const workers = await refusal(() => runMonteCarlo(args, hre, []));
    expect(workers).to.be.instanceOf(UsageError);
    expect(workers.message).to.equal("--worker-paths must be a whole number ≥ 0 (0 = one process per worker), got -1");
    const tolerance = await refusal(() =>
      runFrontier(
        { ...args, workerPaths: 25, sweep: "protocol.liquidationFee=0.01,0.02", riskTolerance: "-5" },
        hre,
        [],
      ),
    );
    expect(tolerance).to.be.instanceOf(UsageError);
    expect(tolerance.message).to.equal('--risk-tolerance must be a USD amount ≥ 0, got "-5"');
    expect(fs.existsSync(args.out), "no report folder").to.equal(false);
  });

  it("cascade attribution on a hand-built two-account cascade: the crash takes A, A's sale pushes B under, and B's liquidation names A's as its parent", async function () {
    this.timeout(300_000);
    const loaded = loadScenario(
      write("two-accounts", {
        name: "two-account-cascade",
        seed: 4,
        steps: 6,
        stepSeconds: 60,
        prices: {
          initial: { ETH: 3000 },
          volatility: { ETH: 0, BTC: 0, STETH: 0 },
          shocks: [{ step: 2, symbol: "ETH", pct: -6, overSteps: 1 }],
        },
        // A's $18k sale moves ETH by 1 × 18,000 / 500,000 = 3.6 % more
        impact: { enabled: true, factor: 1, depthUsd: { ETH: 500_000 }, maxRounds: 10 },
        population: [
          {
            name: "A",
            count: 1,
            strategy: "directional",
            positions: [{ market: "ETH", side: "long" }],
            leverage: [18, 18],
            equityUsd: [1_000, 1_000],
          },
          {
            name: "B",
            count: 1,
            strategy: "directional",
            positions: [{ market: "ETH", side: "long" }],
            leverage: [10, 10],
            equityUsd: [10_000, 10_000],
          },
        ],
        keepers: { count: 1, latencySteps: [1, 1] },
      }),
    );
    const report = await runSimulation(hre, loaded, { modes: ["cross"] });
    const { traders, cascades } = report.modes.cross!;
    const [a, b] = ["A", "B"].map((cohort) => traders.find((t) => t.cohort === cohort)!.accounts[0]);
    const nodeOf = (account: number) => cascades.nodes.filter((n) => n.account === account);
    expect(nodeOf(a).map((n) => [n.generation, n.parent])).to.deep.equal([[1, null]]);
    expect(nodeOf(b).length).to.be.greaterThan(0);
    for (const n of nodeOf(b)) {
      expect([n.generation, n.parent, n.step]).to.deep.equal([2, nodeOf(a)[0].id, nodeOf(a)[0].step]);
      expect(n.round).to.be.greaterThan(nodeOf(a)[0].round);
    }
    expect(cascades.depth).to.equal(2);
    expect(cascades.largest?.root).to.equal(nodeOf(a)[0].id);
    const total = cascades.nodes.reduce((sum, n) => sum + n.notional, 0);
    expect(cascades.amplification).to.equal(Number((total / nodeOf(a)[0].notional).toFixed(4)));
    expect(cascades.amplification).to.be.greaterThan(1);
  });

  it("without price impact the same crash takes A only: depth 1, amplification 1, no cascade", async function () {
    this.timeout(300_000);
    const body = JSON.parse(fs.readFileSync(path.join(TMP, "two-accounts.json"), "utf8")) as {
      impact: { enabled: boolean };
    };
    body.impact.enabled = false;
    const report = await runSimulation(hre, loadScenario(write("two-accounts-off", body)), { modes: ["cross"] });
    const { cascades } = report.modes.cross!;
    expect(cascades.nodes.map((n) => n.generation)).to.deep.equal([1]);
    expect([cascades.depth, cascades.amplification, cascades.largest]).to.deep.equal([1, 1, null]);
  });
});
