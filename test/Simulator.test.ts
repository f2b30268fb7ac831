/**
 * The scenario simulator end to end (src/sim): scenario validation (no chain), then real runs of small
 * scenarios through the deployed protocol and the keeper on the in-process network: determinism, a
 * crash, cross-margin contagion vs isolated accounts, a price-impact cascade, the report files in
 * headless Chromium, and the invariant checks. Every run starts from the chain state this file found
 * (evm_snapshot in `before`, evm_revert before each run and in `after`), so the suites that run after
 * this one see the chain unchanged (runSimulation deploys with Ignition and jumps time to 2e9).
 *
 * Scenarios are written as objects below and saved to a temporary directory (loadScenario takes a
 * path). They are small (≤ 24 traders, ≤ 20 steps) to keep the file well under three minutes.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { runSimulation, SIMULATION_EPOCH } from "../src/sim/engine";
import { deterministicPart, writeReport } from "../src/sim/output";
import { parseModes, sweepGrid } from "../src/sim/cli";
import { REPORT_SCHEMA, type Mode, type ModeReport, type SimulationReport, type SweepReport } from "../src/sim/report";
import { validateCorrelation } from "../src/sim/prices";
import {
  loadScenario,
  resolvePrices,
  ScenarioError,
  SYMBOLS,
  UsageError,
  type ScenarioInput,
} from "../src/sim/scenario";
import { checkReportInBrowser, closeBrowser } from "./shared/browser";

const ROOT = path.resolve(__dirname, "..");
const ARTIFACTS = path.join(ROOT, "reports", "test-artifacts");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "crossmargin-simulator-"));

let written = 0;
/** Saves a scenario (an object, or raw text) as a .json file in the temporary directory. */
function writeScenario(name: string, body: unknown): string {
  const file = path.join(TMP, `${name}-${++written}.json`);
  fs.writeFileSync(file, typeof body === "string" ? body : `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** The ScenarioError that loading `file` throws (fails the test if it loads). */
function rejection(file: string, overrides: string[] = []): ScenarioError {
  try {
    loadScenario(file, overrides);
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  expect.fail(`${path.basename(file)} was accepted`);
}

/** Asserts that `error` lists exactly one problem, at `field`, saying what was expected. */
function expectProblem(error: ScenarioError, field: string, message?: RegExp): void {
  expect(
    error.problems.map((p) => p.path),
    JSON.stringify(error.problems),
  ).to.deep.equal([field]);
  const problem = error.problems[0];
  expect(problem.message, `message at ${field || "(top level)"}`).to.match(/\bexpected\b/i);
  if (message) expect(problem.message).to.match(message);
  // the thrown message lists the problem by its path too
  expect(error.message).to.include(`  - ${field || "(top level)"}: ${problem.message}`);
}

/* THE CHAIN */

const provider = hre.network.provider;
let base = "";

async function snapshot(): Promise<string> {
  return (await provider.send("evm_snapshot", [])) as string;
}

/** Back to the state this file found, keeping a snapshot of it for the next run. */
async function freshChain(): Promise<void> {
  expect(await provider.send("evm_revert", [base]), "evm_revert to the file's snapshot").to.equal(true);
  base = await snapshot();
}

async function latestBlock(): Promise<{ number: number; timestamp: number }> {
  const block = (await provider.send("eth_getBlockByNumber", ["latest", false])) as {
    number: string;
    timestamp: string;
  };
  return { number: Number(block.number), timestamp: Number(block.timestamp) };
}

/** Runs a scenario object on a fresh copy of the chain. */
async function simulate(scenario: ScenarioInput, modes: Mode[]): Promise<SimulationReport> {
  await freshChain();
  const loaded = loadScenario(writeScenario(scenario.name, scenario));
  return runSimulation(hre, loaded, { modes });
}

/** A run computed on first use and shared by the tests that read it. */
function memo<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}

function mode(report: SimulationReport, m: Mode): ModeReport {
  const r = report.modes[m];
  expect(r, `${m} mode in the report`).to.not.equal(undefined);
  return r!;
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/* SCENARIOS */

/** A valid scenario the validation cases start from. */
const VALID: ScenarioInput = {
  name: "valid",
  seed: 1,
  steps: 10,
  stepSeconds: 60,
  prices: { shocks: [{ step: 5, symbol: "ETH", pct: -10 }] },
  population: [
    { name: "longs", count: 2, strategy: "directional" },
    { name: "careful", count: 2, strategy: "topUp", topUpBelow: 1.5, topUpTo: 3 },
  ],
};

/** Everything that draws random numbers: GBM, jumps, a shock, trades, several cohorts and collateral tokens. */
const BUSY: ScenarioInput = {
  name: "determinism",
  seed: 21,
  steps: 20,
  stepSeconds: 60,
  prices: {
    volatility: { ETH: 1.2, BTC: 0.9, STETH: 1.2 },
    jumps: [{ symbols: ["ETH", "STETH"], intensityPerDay: 50, meanPct: -2, stdPct: 2 }],
    shocks: [{ step: 8, symbol: "ETH", pct: -20, overSteps: 3 }],
  },
  population: [
    {
      name: "traders",
      count: 8,
      strategy: "directional",
      markets: { ETH: 0.6, BTC: 0.4 },
      legs: 2,
      longShare: 0.7,
      leverage: [3, 14],
      collateral: { USDC: 0.6, WETH: 0.3, WBTC: 0.1 },
      tradeProbability: 0.3,
    },
    { name: "pairs", count: 3, strategy: "hedged", leverage: [4, 10] },
    { name: "careful", count: 3, strategy: "topUp", markets: { ETH: 1 }, longShare: 1, leverage: [6, 10] },
    { name: "maker", count: 1, strategy: "marketMaker", markets: { ETH: 1 }, equityUsd: [50000, 50000] },
  ],
  keepers: { count: 2, latencySteps: [1, 2] },
};

/** ETH −35 % over four steps; every trader long ETH at 8–12× on USDC. */
const CRASH: ScenarioInput = {
  name: "crash-small",
  seed: 11,
  steps: 20,
  stepSeconds: 60,
  prices: {
    initial: { ETH: 3000 },
    volatility: { ETH: 0.3, BTC: 0.3, STETH: 0.3 },
    shocks: [{ step: 5, symbol: "ETH", pct: -35, overSteps: 4 }],
  },
  population: [
    {
      name: "longs",
      count: 20,
      strategy: "directional",
      markets: { ETH: 1 },
      longShare: 1,
      leverage: [8, 12],
      collateral: { USDC: 1 },
    },
  ],
};

/** The control: no shock, 20 % volatility, 2× leverage, both sides. Five mirror checks a step. */
const CALM: ScenarioInput = {
  name: "calm-small",
  seed: 12,
  steps: 20,
  stepSeconds: 60,
  prices: { volatility: { ETH: 0.2, BTC: 0.2, STETH: 0.2 } },
  population: [
    {
      name: "steady",
      count: 15,
      strategy: "directional",
      markets: { ETH: 1, BTC: 1 },
      longShare: 0.5,
      leverage: [2, 2],
    },
  ],
  checks: { mirrorSample: 5 },
};

/**
 * ETH (and STETH with it, so that the ETH/STETH pairs stay hedged) falls 40 %; BTC does not move
 * at all (volatility 0, no shock, no jumps). The "ethbtc" traders are long ETH and long BTC.
 */
const CONTAGION: ScenarioInput = {
  name: "contagion",
  seed: 5,
  steps: 20,
  stepSeconds: 60,
  prices: {
    volatility: { ETH: 0.2, STETH: 0.2, BTC: 0 },
    shocks: [
      { step: 3, symbol: "ETH", pct: -40, overSteps: 5 },
      { step: 3, symbol: "STETH", pct: -40, overSteps: 5 },
    ],
  },
  population: [
    {
      name: "ethbtc",
      count: 16,
      strategy: "directional",
      leverage: [6, 10],
      positions: [
        { market: "ETH", side: "long" },
        { market: "BTC", side: "long" },
      ],
    },
    { name: "pairs", count: 8, strategy: "hedged", pair: ["ETH", "STETH"], leverage: [4, 8] },
  ],
};

/**
 * The cascade. No volatility anywhere: the only moves are one −6 % ETH step and, with impact on,
 * the impact of the liquidations themselves (oracle × (1 − notional ÷ depthUsd) per keeper round).
 *
 * - "levered" (2 traders, $1,000 at 18×: $18k of ETH each): −6 % costs them 108 % of their equity, so
 *   the shock alone makes them liquidatable (generation 1) and the keeper closes them in full.
 * - "next" (8 traders, $2–4k at 9–10×): after −6 % their margin ratio is still ~1.7–2.2 (equity
 *   40–46 % of the deposit against 2.5 % of ~9× the deposit), so the price path alone never
 *   liquidates them.
 *
 * With impact on, closing the levered longs (~$34k at 2,820) against a $500k book moves ETH a further
 * −6.8 % (2,820 → ~2,629, −12.4 % in all), which puts a 9× long at 1 − 9 × 12.4 % < 0 equity: the
 * keeper's next round liquidates the "next" cohort as generation 2 (maxCascadeDepth 2; closing ~$196k
 * more then takes ETH to ~1,596 but leaves nobody to liquidate). With impact off ETH stays at
 * 3000 × 0.94, only generation 1 exists: depth exactly 1, two liquidations.
 */
function cascade(enabled: boolean): ScenarioInput {
  return {
    name: enabled ? "cascade-impact" : "cascade-no-impact",
    seed: 2,
    steps: 12,
    stepSeconds: 60,
    prices: {
      initial: { ETH: 3000 },
      volatility: { ETH: 0, BTC: 0, STETH: 0 },
      shocks: [{ step: 3, symbol: "ETH", pct: -6, overSteps: 1 }],
    },
    impact: { enabled, factor: 1, depthUsd: { ETH: 500000 }, maxRounds: 10 },
    population: [
      {
        name: "levered",
        count: 2,
        strategy: "directional",
        positions: [{ market: "ETH", side: "long" }],
        leverage: [18, 18],
        equityUsd: [1000, 1000],
      },
      {
        name: "next",
        count: 8,
        strategy: "directional",
        positions: [{ market: "ETH", side: "long" }],
        leverage: [9, 10],
        equityUsd: [2000, 4000],
      },
    ],
  };
}

const contagionRun = memo(() => simulate(CONTAGION, ["cross", "isolated"]));
const cascadeOn = memo(() => simulate(cascade(true), ["cross"]));
const cascadeOff = memo(() => simulate(cascade(false), ["cross"]));

/* THE TESTS */

describe("Simulator", function () {
  this.timeout(120_000);
  let start: { number: number; timestamp: number };

  before(async function () {
    base = await snapshot();
    start = await latestBlock();
  });

  after(async function () {
    await provider.send("evm_revert", [base]);
    await closeBrowser();
    fs.rmSync(TMP, { recursive: true, force: true });
  });

  describe("scenario validation (no chain)", function () {
    const field = (overrides: Record<string, unknown>) => ({ ...VALID, ...overrides });

    it("accepts the base scenario", function () {
      const loaded = loadScenario(writeScenario("valid", VALID));
      expect(loaded.scenario.steps).to.equal(10);
      expect(loaded.scenario.population.map((c) => c.name)).to.deep.equal(["longs", "careful"]);
      expect(loaded.hash).to.match(/^[0-9a-f]{64}$/);
    });

    it("rejects an unknown top-level key at its own path", function () {
      expectProblem(rejection(writeScenario("unknown-key", field({ bogus: 1 }))), "bogus");
    });

    it("rejects steps = 0", function () {
      // without the base's shock (at step 5), which steps = 0 would also put out of range
      const error = rejection(writeScenario("steps-0", field({ steps: 0, prices: {} })));
      expectProblem(error, "steps", /\b1\b/);
    });

    it('rejects the strategy "yolo" at population[1].strategy', function () {
      const population = [VALID.population[0], { name: "yolo", count: 1, strategy: "yolo" }];
      expectProblem(rejection(writeScenario("yolo", field({ population }))), "population[1].strategy", /directional/);
    });

    it("rejects a shock after the last step at prices.shocks[0].step", function () {
      const prices = { shocks: [{ step: 11, symbol: "ETH", pct: -10 }] };
      expectProblem(rejection(writeScenario("late-shock", field({ prices }))), "prices.shocks[0].step", /steps \(10\)/);
    });

    it('rejects the correlation pair "ETH/ETH"', function () {
      const prices = { correlation: { "ETH/ETH": 0.5 } };
      expectProblem(
        rejection(writeScenario("self-correlation", field({ prices }))),
        "prices.correlation.ETH/ETH",
        /different symbols/,
      );
    });

    it("rejects leverage [10, 2]", function () {
      const population = [{ ...VALID.population[0], leverage: [10, 2] }];
      expectProblem(rejection(writeScenario("leverage", field({ population }))), "population[0].leverage", /min ≤ max/);
    });

    it("rejects a file that is not JSON", function () {
      const error = rejection(writeScenario("not-json", "name: oops\nsteps: 5\n"));
      expectProblem(error, "", /valid JSON/);
    });

    it("rejects a prices.csv that does not exist", function () {
      const prices = { csv: "no-such-prices.csv" };
      expectProblem(
        rejection(writeScenario("missing-csv", field({ prices }))),
        "prices.csv",
        /no-such-prices\.csv does not exist/,
      );
    });

    it("rejects topUpTo < topUpBelow", function () {
      const population = [
        VALID.population[0],
        { name: "careful", count: 1, strategy: "topUp", topUpBelow: 2, topUpTo: 1.5 },
      ];
      expectProblem(
        rejection(writeScenario("top-up", field({ population }))),
        "population[1].topUpTo",
        /topUpTo ≥ topUpBelow/,
      );
    });

    it("rejects duplicate cohort names", function () {
      const population = [VALID.population[0], { ...VALID.population[1], name: "longs" }];
      expectProblem(
        rejection(writeScenario("duplicate", field({ population }))),
        "population[1].name",
        /"longs" repeats/,
      );
    });

    it('a correlation written "BTC/ETH" applies to the pair both ways (a symmetric matrix the price model accepts)', function () {
      // the defaults are written "ETH/BTC"; the file's "BTC/ETH" must replace that entry, not sit beside it
      // (BTC/STETH given reversed too, so that the matrix stays positive semi-definite)
      const prices = { correlation: { "BTC/ETH": 0.6, "STETH/BTC": 0.6 } };
      const loaded = loadScenario(writeScenario("reversed-pair", field({ prices })));
      const matrix = resolvePrices(loaded.scenario).correlation;
      const [eth, btc] = [SYMBOLS.indexOf("ETH"), SYMBOLS.indexOf("BTC")];
      expect([matrix[eth][btc], matrix[btc][eth]], "ETH/BTC and BTC/ETH entries").to.deep.equal([0.6, 0.6]);
      expect(() => validateCorrelation(matrix, [...SYMBOLS])).to.not.throw();
    });

    it("applies --set style overrides and validates the result", function () {
      const file = writeScenario("overrides", VALID);
      const plain = loadScenario(file);
      const five = loadScenario(file, ["steps=5", "population.0.count=7", "protocol.liquidationFee=0.02"]);
      expect(five.scenario.steps).to.equal(5);
      expect(five.scenario.population[0].count).to.equal(7);
      expect(five.scenario.protocol.liquidationFee).to.equal(0.02);
      expect(five.hash).to.not.equal(plain.hash);
      // the file itself is untouched
      expect(loadScenario(file).scenario.steps).to.equal(10);
      expect(loadScenario(file).hash).to.equal(plain.hash);
      // an override is validated like the file: alone, and against the rest (the shock is at step 5)
      expect(rejection(file, ["steps=0"]).problems.map((p) => p.path)).to.include("steps");
      expectProblem(rejection(file, ["steps=4"]), "prices.shocks[0].step", /steps \(4\)/);
      expectProblem(rejection(file, ["population.1.strategy=yolo"]), "population[1].strategy");
    });

    it("`hardhat simulate` on an invalid file exits non-zero at once, naming the field, without a stack trace", async function () {
      const population = [VALID.population[0], { name: "yolo", count: 1, strategy: "yolo" }];
      const file = writeScenario("cli-invalid", field({ population }));
      const out = path.join(TMP, "cli-out");
      const cli = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
      const t0 = Date.now();
      // CI=true: Hardhat's own CI detection (set on CI servers and on Linux without a display) is
      // where an uncaught task error prints its stack; the message must be clean there too
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [cli, "simulate", "--scenario", file, "--out", out, "--no-compile", "--quiet"],
          { cwd: ROOT, env: { ...process.env, CI: "true" }, timeout: 60_000 },
          (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
        );
      });
      const seconds = (Date.now() - t0) / 1000;
      expect(result.code, result.stderr).to.not.equal(0);
      expect(result.code).to.not.equal(null);
      expect(result.stderr).to.include("population[1].strategy");
      expect(result.stderr).to.not.match(/^ {4}at /m, "a stack trace on stderr");
      expect(seconds, "seconds until exit").to.be.below(15);
      expect(fs.existsSync(out), "an output folder was created").to.equal(false);
    });
  });

  describe("sweeps", function () {
    it("expands a grid of key=v1,v2 axes into every combination and rejects malformed ones", function () {
      expect(sweepGrid("protocol.liquidationFee=0.005,0.01").points).to.deep.equal([
        ["protocol.liquidationFee=0.005"],
        ["protocol.liquidationFee=0.01"],
      ]);
      const grid = sweepGrid("a=1,2; b=x,y,z");
      expect(grid.keys).to.deep.equal(["a", "b"]);
      expect(grid.points).to.have.length(6);
      expect(grid.points[5]).to.deep.equal(["a=2", "b=z"]);
      expect(() => sweepGrid("protocol.liquidationFee")).to.throw(UsageError, /key=v1,v2/);
      expect(() => sweepGrid("a=")).to.throw(UsageError, /no values/);
      expect(() => parseModes("both-ways")).to.throw(UsageError, /cross, isolated or both/);
    });

    it("`hardhat simulate --sweep` runs each point in its own process and writes the sweep table and chart", async function () {
      const file = writeScenario("sweep", { ...VALID, steps: 3, prices: {} });
      const out = path.join(TMP, "sweep-out");
      const cli = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
      const sweep = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [
            cli,
            "simulate",
            "--scenario",
            file,
            "--mode",
            "cross",
            "--out",
            out,
            "--no-compile",
            "--sweep",
            "protocol.liquidationFee=0.005,0.02",
          ],
          { cwd: ROOT, env: { ...process.env, CI: "true" }, timeout: 240_000 },
          (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
        );
      });
      expect(sweep.code, sweep.stderr).to.equal(0);
      const summary = JSON.parse(fs.readFileSync(path.join(out, "sweep.json"), "utf8")) as SweepReport;
      expect(summary.keys).to.deep.equal(["protocol.liquidationFee"]);
      expect(summary.points.map((p) => p.parameters["protocol.liquidationFee"])).to.deep.equal([0.005, 0.02]);
      expect(summary.timing.workers).to.be.within(1, 2);
      for (const [i, point] of summary.points.entries()) {
        const report = JSON.parse(
          fs.readFileSync(path.join(out, `point-${i + 1}`, "report.json"), "utf8"),
        ) as SimulationReport;
        // each point ran the scenario with its own value, in its own process
        expect((report.scenario.resolved as { protocol: { liquidationFee: number } }).protocol.liquidationFee).to.equal(
          [0.005, 0.02][i],
        );
        expect(point.summaries.cross).to.deep.equal(report.modes.cross!.summary);
      }
      expect(fs.readFileSync(path.join(out, "sweep.html"), "utf8")).to.include("protocol.liquidationFee");
      expect(sweep.stdout).to.match(/protocol\.liquidationFee/);
    });
  });

  describe("runs on the chain", function () {
    it("is deterministic: the same seed gives the same report, another seed another one", async function () {
      const first = await simulate(BUSY, ["cross", "isolated"]);
      const second = await simulate(BUSY, ["cross", "isolated"]);
      const other = await simulate({ ...BUSY, seed: 22 }, ["cross"]);

      // the run is not trivial: trades, reverts or not, liquidations in both modes
      for (const m of ["cross", "isolated"] as const) {
        const s = mode(first, m).summary;
        expect(s.traders, `${m} traders`).to.equal(15);
        expect(s.liquidations, `${m} liquidations`).to.be.greaterThan(0);
        expect(s.traderTxs, `${m} trader transactions`).to.be.greaterThan(0);
        expect(s.keeperTxs, `${m} keeper transactions`).to.be.greaterThan(0);
      }
      const a = JSON.stringify(deterministicPart(first));
      const b = JSON.stringify(deterministicPart(second));
      if (a !== b) {
        const at = [...a].findIndex((c, i) => c !== b[i]);
        expect.fail(
          `two runs of seed 21 differ at character ${at}: …${a.slice(at - 80, at + 80)}… vs …${b.slice(at - 80, at + 80)}…`,
        );
      }
      expect(first.timing.totalSeconds).to.be.greaterThan(0);

      // another seed: other prices, other traders, other outcome (not just another seed field)
      const crossA = mode(first, "cross");
      const crossC = mode(other, "cross");
      expect(JSON.stringify(crossC.series.prices.ETH)).to.not.equal(JSON.stringify(crossA.series.prices.ETH));
      expect(crossC.summary.exposure).to.not.equal(crossA.summary.exposure);
      expect(JSON.stringify(crossC)).to.not.equal(JSON.stringify(crossA));
    });

    it("crash: every long levered enough is liquidated in cross mode; the calm control has none", async function () {
      const report = await simulate(CRASH, ["cross"]);
      const { summary, series, traders } = mode(report, "cross");
      const steps = CRASH.steps;

      // the price path is the scenario's: −35 % (with 30 % volatility on top) by step 8
      const eth = series.prices.ETH;
      const trough = Math.min(...eth);
      const drop = 1 - trough / 3000;
      expect(drop, "ETH drop at the trough").to.be.within(0.3, 0.45);

      // which traders the trough must liquidate, from their own opening figures: notional = IM ÷ 5 %,
      // leverage = notional ÷ starting equity; at the trough equity ÷ MM = (1 − L·d) ÷ (2.5 % · L · (1 − d))
      const mustGo = traders.filter((t) => {
        const leverage = t.initialMarginUsd / 0.05 / t.startEquity;
        return (1 - leverage * drop) / (0.025 * leverage * (1 - drop)) < 0.9;
      });
      expect(mustGo.length, "traders the trough puts under water").to.equal(traders.length);
      for (const t of mustGo) expect(t.liquidated, `trader ${t.trader} liquidated`).to.equal(true);

      // without impact, liquidated ⇔ the margin ratio was seen below 1
      for (const t of traders) {
        expect(t.worstMarginRatio, `trader ${t.trader} worst ratio`).to.not.equal(null);
        expect(t.liquidated, `trader ${t.trader}: worst ratio ${t.worstMarginRatio}`).to.equal(t.worstMarginRatio! < 1);
        if (t.liquidated) expect(t.liquidatedMarkets).to.deep.equal(["ETH"]);
      }
      expect(summary.tradersLiquidated).to.equal(traders.filter((t) => t.liquidated).length);
      expect(summary.tradersLiquidated / summary.traders).to.be.at.least(0.8);

      expect(summary.notionalLiquidated).to.be.greaterThan(0);
      expect(summary.penaltiesPaid).to.be.greaterThan(0);
      // penalties are at most the 1 % liquidation fee (less where the equity could not pay it)
      expect(summary.penaltiesPaid).to.be.at.most(summary.notionalLiquidated * 0.01 + 0.01);
      expect(summary.keeperRewards).to.be.greaterThan(0).and.at.most(summary.penaltiesPaid);
      // the per-step series add up to the totals
      expect(sum(series.liquidations)).to.equal(summary.liquidations);
      expect(sum(series.liquidatedNotional)).to.be.closeTo(summary.notionalLiquidated, 0.01 * steps);
      expect(series.liquidations.slice(0, 4), "no liquidation before the shock").to.deep.equal([0, 0, 0, 0]);
      expect(BigInt(summary.notionalLiquidatedWad)).to.be.greaterThan(0n);

      const calm = await simulate(CALM, ["cross"]);
      const c = mode(calm, "cross");
      expect(c.summary.exposure, "the control opened positions").to.be.greaterThan(0);
      expect(c.summary.tradersLiquidated).to.equal(0);
      expect(c.summary.liquidations).to.equal(0);
      expect(c.summary.notionalLiquidated).to.equal(0);
      expect(c.summary.penaltiesPaid).to.equal(0);
      expect(c.summary.badDebt).to.equal(0);
      expect(sum(c.series.liquidations)).to.equal(0);
      for (const t of c.traders) expect(t.worstMarginRatio!, `calm trader ${t.trader}`).to.be.greaterThan(10);
      // 3 conservation checks + 5 mirror checks (every account has a position) per step
      expect(c.summary.invariantChecks).to.equal(8 * CALM.steps);
    });

    it("contagion: an ETH crash takes the BTC legs of cross accounts, not of isolated ones", async function () {
      const report = await contagionRun();
      const cross = mode(report, "cross");
      const isolated = mode(report, "isolated");
      const ethbtc = (r: ModeReport) => r.traders.filter((t) => t.cohort === "ethbtc");

      for (const r of [cross, isolated]) {
        expect(new Set(r.series.prices.BTC), `${r.mode}: BTC never moves`).to.deep.equal(new Set([60000]));
        expect(Math.min(...r.series.prices.ETH)).to.be.below(3000 * 0.65);
        expect(ethbtc(r)).to.have.length(16);
      }
      // isolated: one account per position
      for (const t of ethbtc(isolated)) expect(t.accounts, `trader ${t.trader}`).to.have.length(2);
      for (const t of ethbtc(cross)) expect(t.accounts, `trader ${t.trader}`).to.have.length(1);

      const btcCross = ethbtc(cross).filter((t) => t.liquidatedMarkets.includes("BTC"));
      expect(btcCross.length, "cross traders whose BTC position was liquidated").to.be.greaterThan(0);
      const btcIsolated = isolated.traders.filter((t) => t.liquidatedMarkets.includes("BTC"));
      expect(
        btcIsolated.map((t) => t.trader),
        "isolated traders whose BTC position was liquidated",
      ).to.deep.equal([]);
      // the crash did liquidate the isolated ETH accounts
      expect(ethbtc(isolated).filter((t) => t.liquidatedMarkets.includes("ETH")).length).to.be.greaterThan(0);
      // BTC open interest: unchanged in isolated mode, cut in cross mode
      const btcOi = (r: ModeReport) => r.series.openInterestLong.BTC;
      expect(btcOi(isolated)[0]).to.be.greaterThan(0);
      expect(btcOi(isolated).at(-1)).to.be.closeTo(btcOi(isolated)[0], 0.01);
      expect(btcOi(cross).at(-1)!).to.be.below(btcOi(cross)[0]);

      // the same exposure needs less collateral in cross mode: the ETH/STETH hedge offset (0.8)
      expect(cross.summary.exposure).to.equal(isolated.summary.exposure);
      expect(cross.summary.collateralDeposited).to.equal(isolated.summary.collateralDeposited);
      expect(cross.summary.collateralNeeded).to.be.below(isolated.summary.collateralNeeded);
      const byTrader = new Map(isolated.traders.map((t) => [t.trader, t]));
      let saved = 0;
      for (const t of cross.traders) {
        const iso = byTrader.get(t.trader)!;
        if (t.cohort === "pairs") {
          // long ETH and short STETH of equal notional: 1 − 0.8 of the initial margin
          expect(t.initialMarginUsd, `pair ${t.trader}`).to.be.closeTo(0.2 * iso.initialMarginUsd, 0.02);
        } else {
          // ETH and BTC do not offset: the same margin either way
          expect(t.initialMarginUsd, `ethbtc ${t.trader}`).to.be.closeTo(iso.initialMarginUsd, 0.02);
        }
        saved += iso.initialMarginUsd - t.initialMarginUsd;
      }
      expect(saved).to.be.greaterThan(0);
      expect(isolated.summary.collateralNeeded - cross.summary.collateralNeeded).to.be.closeTo(saved, 0.5);
      const row = report.comparison.find((r) => r.metric.startsWith("Collateral needed"));
      expect(row).to.deep.include({
        cross: cross.summary.collateralNeeded,
        isolated: isolated.summary.collateralNeeded,
      });
    });

    it("replays a CSV of prices through the feeds (last observation carried forward), other symbols simulated", async function () {
      fs.writeFileSync(
        path.join(TMP, "replay.csv"),
        "timestamp,symbol,price\n1700000000,ETH,3000\n1700000060,ETH,2900\n1700000150,ETH,2800\n1700000240,ETH,2500\n",
      );
      const report = await simulate(
        {
          name: "replay",
          seed: 3,
          steps: 4,
          stepSeconds: 60,
          prices: { csv: "replay.csv", volatility: { BTC: 0 } },
          population: [{ name: "longs", count: 2, strategy: "directional", markets: { ETH: 1 }, longShare: 1 }],
        },
        ["cross"],
      );
      const series = mode(report, "cross").series;
      expect(series.prices.ETH).to.deep.equal([2900, 2900, 2800, 2500]);
      expect(series.prices.BTC).to.deep.equal([60_000, 60_000, 60_000, 60_000]);
      // the chain saw them: the longs lost value as ETH fell
      const traders = mode(report, "cross").traders;
      for (const t of traders) expect(t.endEquity, `trader ${t.trader}`).to.be.below(t.startEquity);
    });

    it("each step starts stepSeconds after the previous one, later only when a step's transactions overran it", async function () {
      // opening the population (several transactions per trader, one clock second each) must not eat
      // into the steps; a step whose transactions (one block, one second each) outlast stepSeconds
      // pushes the next one back, never forward
      const report = await contagionRun();
      const stepSeconds = CONTAGION.stepSeconds!;
      for (const m of ["cross", "isolated"] as const) {
        const time = mode(report, m).series.time;
        expect(time[0], `${m}: step 1`).to.equal(stepSeconds);
        const gaps = time.slice(1).map((t, k) => t - time[k]);
        expect(
          gaps.filter((g) => g < stepSeconds),
          `${m}: gaps shorter than a step ${JSON.stringify(time)}`,
        ).to.deep.equal([]);
        // quiet steps (no liquidations before them) keep the schedule exactly
        const liquidations = mode(report, m).series.liquidations;
        gaps.forEach((g, k) => {
          if (liquidations[k] === 0 && liquidations[k + 1] === 0)
            expect(g, `${m}: quiet step ${k + 2}`).to.equal(stepSeconds);
        });
      }
    });

    it("cascade: price impact turns a shock's liquidations into a cascade (depth > 1), without it depth is 1", async function () {
      const on = mode(await cascadeOn(), "cross");
      const off = mode(await cascadeOff(), "cross");
      const cohort = (r: ModeReport, name: string) => r.traders.filter((t) => t.cohort === name);

      // without impact: the shock liquidates the two 18× longs and nobody else
      expect(off.summary.maxCascadeDepth).to.equal(1);
      expect(Math.max(...off.series.cascadeDepth)).to.equal(1);
      expect(cohort(off, "levered").every((t) => t.liquidated)).to.equal(true);
      expect(cohort(off, "next").filter((t) => t.liquidated)).to.deep.equal([]);
      expect(off.summary.tradersLiquidated).to.equal(2);
      expect(off.series.prices.ETH.at(-1)).to.be.closeTo(3000 * 0.94, 1e-6);

      // with impact: the same first generation, then the impact of closing it takes the 9–10× longs
      expect(on.summary.maxCascadeDepth).to.be.greaterThan(1);
      expect(on.series.cascadeDepth[2], "depth at the shock's step").to.be.greaterThan(1);
      expect(cohort(on, "levered").every((t) => t.liquidated)).to.equal(true);
      expect(cohort(on, "next").filter((t) => t.liquidated).length).to.be.greaterThan(0);
      expect(on.summary.liquidations).to.be.greaterThan(off.summary.liquidations);
      expect(on.summary.notionalLiquidated).to.be.greaterThan(off.summary.notionalLiquidated);
      expect(on.series.prices.ETH.at(-1)!, "impact moved the oracle below the path").to.be.below(3000 * 0.94 - 1);
      // before the shock nothing happens in either run
      expect(on.series.liquidations.slice(0, 2)).to.deep.equal([0, 0]);
    });

    it("cascade: a trader liquidated by the impact has a worst margin ratio below 1", async function () {
      const on = mode(await cascadeOn(), "cross");
      const liquidated = on.traders.filter((t) => t.liquidated);
      expect(liquidated.length).to.be.greaterThan(2);
      const inconsistent = liquidated.filter((t) => t.worstMarginRatio === null || t.worstMarginRatio >= 1);
      expect(
        inconsistent.map((t) => `trader ${t.trader} (${t.cohort}): worstMarginRatio ${t.worstMarginRatio}`),
        "liquidated traders whose worst margin ratio is ≥ 1",
      ).to.deep.equal([]);
    });

    it("report: report.json and report.html of a real run; the page draws every chart in Chromium", async function () {
      const report = await contagionRun();
      const dir = path.join(TMP, "report");
      const files = writeReport(report, dir);
      expect(files).to.deep.equal({ json: path.join(dir, "report.json"), html: path.join(dir, "report.html") });

      const parsed = JSON.parse(fs.readFileSync(files.json, "utf8")) as SimulationReport;
      expect(parsed.schema).to.equal(REPORT_SCHEMA).and.equal("crossmargin.simulation/1");
      expect(parsed).to.deep.equal(JSON.parse(JSON.stringify(report)));
      expect(Object.keys(parsed).at(-1), "timing is written last").to.equal("timing");
      const steps = parsed.scenario.steps;
      expect(steps).to.equal(CONTAGION.steps);
      expect(Object.keys(parsed.modes)).to.deep.equal(["cross", "isolated"]);
      for (const [m, r] of Object.entries(parsed.modes)) {
        let arrays = 0;
        for (const [key, value] of Object.entries(r.series)) {
          const entries: [string, unknown][] = Array.isArray(value)
            ? [[key, value]]
            : Object.entries(value as Record<string, unknown>).map(([k, v]) => [`${key}.${k}`, v]);
          for (const [name, series] of entries) {
            expect(Array.isArray(series), `${m} series ${name} is an array`).to.equal(true);
            expect((series as unknown[]).length, `${m} series ${name}`).to.equal(steps);
            arrays++;
          }
        }
        // 6 plain series + 4 prices + 4 × 3 per-market series + 4 more plain ones
        expect(arrays, `${m} series count`).to.be.at.least(20);
        expect(r.traders).to.have.length(24);
      }

      const screenshot = path.join(ARTIFACTS, "simulation.png");
      fs.rmSync(screenshot, { force: true });
      const result = await checkReportInBrowser(files.html, screenshot);
      expect(result.errors).to.deep.equal([]);
      expect(result.charts).to.be.at.least(8);
      expect(result.series).to.be.at.least(result.charts);
      expect(fs.statSync(screenshot).size, "screenshot bytes").to.be.greaterThan(10_000);
    });

    it("invariants: conservation and mirror checks run every step in each mode", async function () {
      const report = await contagionRun();
      for (const m of ["cross", "isolated"] as const) {
        const s = mode(report, m).summary;
        expect(s.invariantChecks, `${m} invariant checks`).to.be.greaterThan(0);
        // 3 conservation checks + 2 mirror checks (the pairs stay open) per step
        expect(s.invariantChecks, `${m} invariant checks`).to.equal(5 * CONTAGION.steps);
      }
    });

    it("leaves the chain as this file found it", async function () {
      await freshChain();
      const now = await latestBlock();
      expect(now).to.deep.equal(start);
      await provider.send("evm_mine", []);
      const next = await latestBlock();
      expect(next.timestamp, "the next block's time").to.be.below(SIMULATION_EPOCH);
      await freshChain();
    });
  });
});
