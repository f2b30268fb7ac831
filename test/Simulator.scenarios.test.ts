import { expect } from "chai";
import { pricePathFor } from "../src/sim/engine";
import {
  generatePricePath,
  PriceModelError,
  realizedVolatility,
  replayGridPrices,
  type CsvRow,
  type PriceProcessSpec,
} from "../src/sim/prices";
import { createRng } from "../src/sim/rng";
import {
  builtinScenarios,
  loadScenario,
  parseScenario,
  resolvePrices,
  resolveRegimes,
  ScenarioError,
  SYMBOLS as SCENARIO_SYMBOLS,
} from "../src/sim/scenario";
import { baseSpec, correlationOf, logReturns, meanVar, SYMBOLS } from "./shared/priceModel";

/* Price scenarios beyond GBM: Brownian bridges, correlation/volatility regimes, rescaled CSV replay. */

/** Largest |x[i] − y[i]|. */
function maxDiff(x: number[], y: number[]): number {
  expect(x.length).to.equal(y.length);
  return Math.max(0, ...x.map((v, i) => Math.abs(v - y[i])));
}

/** Runs `fn` and returns the PriceModelError it throws (fails the test if it throws nothing else). */
function modelError(fn: () => unknown): PriceModelError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(PriceModelError);
    return error as PriceModelError;
  }
  expect.fail("expected a PriceModelError");
}

/** The field paths a scenario is rejected at (fails the test if it is accepted). */
function problemPaths(json: Record<string, unknown>): string[] {
  try {
    parseScenario(json, "test");
  } catch (error) {
    expect(error).to.be.instanceOf(ScenarioError);
    return (error as ScenarioError).problems.map((p) => p.path);
  }
  expect.fail("expected a ScenarioError");
}

/** CORRELATION with ETH/STETH broken to 0.2 (still positive definite). */
const BROKEN = [
  [1, 0.7, 0.2, 0],
  [0.7, 1, 0.7, 0],
  [0.2, 0.7, 1, 0],
  [0, 0, 0, 1],
];

/** A minimal valid scenario (for the schema's checks). */
function scenarioJson(prices: Record<string, unknown>, steps = 100): Record<string, unknown> {
  return { name: "t", steps, prices, population: [{ name: "a", count: 1, strategy: "directional" }] };
}

/** A source series "SRC" every 60 s with irregular moves and a few missing minutes. */
function sourceRows(count: number): CsvRow[] {
  const rng = createRng("replay-as");
  const rows: CsvRow[] = [];
  let price = 1_800;
  for (let m = 0; m < count; m++) {
    price *= Math.exp(0.002 * rng.normal() - (m > count / 2 ? 0.0005 : 0));
    if (m % 17 === 5) continue; // a missing minute: the previous price is carried forward
    rows.push({ time: 1_700_000_000 + 60 * m, symbol: "SRC", price });
  }
  return rows;
}

describe("Simulator price scenarios", () => {
  describe("Brownian bridge", () => {
    const steps = 60;
    const bridge = { symbol: "ETH", fromStep: 10, toStep: 40 };

    it("pins the price at toStep to the target (relative error < 1e-12) on 300 seeds, with jumps inside the window", () => {
      const jumps = [{ symbols: ["ETH", "BTC"], intensityPerDay: 200, meanPct: -3, stdPct: 2 }];
      let worst = 0;
      for (let seed = 0; seed < 300; seed++) {
        const pct = generatePricePath(
          baseSpec({ jumps, bridges: [{ ...bridge, targetPct: -25 }] }),
          steps,
          60,
          createRng(seed),
        );
        worst = Math.max(worst, Math.abs(pct.ETH[40] / (pct.ETH[9] * 0.75) - 1));
        const price = generatePricePath(
          baseSpec({ jumps, bridges: [{ ...bridge, symbol: "BTC", targetPrice: 45_678.9 }] }),
          steps,
          60,
          createRng(seed),
        );
        worst = Math.max(worst, Math.abs(price.BTC[40] / 45_678.9 - 1));
      }
      expect(worst).to.be.lessThan(1e-12);
    });

    it("leaves the path before fromStep and the other symbols identical (common random numbers)", () => {
      for (const seed of [1, 2, 3]) {
        const plain = generatePricePath(baseSpec(), steps, 60, createRng(seed));
        const bridged = generatePricePath(
          baseSpec({ bridges: [{ ...bridge, targetPct: 10 }] }),
          steps,
          60,
          createRng(seed),
        );
        expect(bridged.ETH.slice(0, 10)).to.deep.equal(plain.ETH.slice(0, 10));
        expect(bridged.ETH[10]).to.not.equal(plain.ETH[10]);
        for (const s of ["BTC", "STETH", "USDC"]) expect(bridged[s], s).to.deep.equal(plain[s]);
      }
    });

    it("keeps the unbridged log-returns after toStep (to 1e-12)", () => {
      const plain = generatePricePath(baseSpec(), steps, 60, createRng(4));
      const bridged = generatePricePath(
        baseSpec({ bridges: [{ ...bridge, targetPct: -40 }] }),
        steps,
        60,
        createRng(4),
      );
      expect(maxDiff(logReturns(bridged.ETH).slice(40), logReturns(plain.ETH).slice(40))).to.be.lessThan(1e-12);
      expect(bridged.ETH[steps] / plain.ETH[steps]).to.be.closeTo(bridged.ETH[40] / plain.ETH[40], 1e-9);
    });

    it("has the bridge's mean and variance at the midpoint and a quarter over 5,000 paths (drift cancels)", () => {
      // a = 9, b = 49; D_t = log S_t − [log S_a + (t−a)/(b−a)·log(1 + pct)] has mean 0 and variance
      // σ²·dt·(t−a)(b−t)/(b−a). With n = 5,000 normal samples the sample variance has a relative
      // standard error of √(2/(n−1)) ≈ 2 %: the tolerance 6 % is 3 standard errors; the mean's standard
      // error is √(var/n) ≈ 3.8e-4 at the midpoint, the tolerance 1.5e-3 about 4 of them. A drift of 200 %
      // a year (0.11 in log over the window) would show in the mean if it did not cancel.
      const stepSeconds = 3_600;
      const sigma = 0.8;
      const dt = stepSeconds / (365 * 86_400);
      const [a, b] = [9, 49];
      const spec = baseSpec({
        drift: { ETH: 2 },
        bridges: [{ symbol: "ETH", fromStep: a + 1, toStep: b, targetPct: -20 }],
      });
      const paths = 5_000;
      for (const t of [29, 19]) {
        const d = new Float64Array(paths);
        for (let k = 0; k < paths; k++) {
          const eth = generatePricePath(spec, b + 1, stepSeconds, createRng(`bridge/${k}`)).ETH;
          d[k] = Math.log(eth[t] / eth[a]) - ((t - a) / (b - a)) * Math.log(0.8);
        }
        const { mean, variance } = meanVar(d);
        const expected = (sigma * sigma * dt * (t - a) * (b - t)) / (b - a);
        expect(mean, `mean at step ${t}`).to.be.closeTo(0, 1.5e-3);
        expect(variance / expected, `variance at step ${t} ÷ σ²dt(t−a)(b−t)/(b−a)`).to.be.closeTo(1, 0.06);
      }
    });

    it("composes with shocks outside its window (before: part of the start; after: on top) and chains adjacent bridges", () => {
      const shocks = [
        { step: 3, symbol: "ETH", pct: -10, overSteps: 4 },
        { step: 45, symbol: "ETH", pct: 10, overSteps: 1 },
      ];
      const plain = generatePricePath(baseSpec({ shocks }), steps, 60, createRng(5));
      const path = generatePricePath(
        baseSpec({
          shocks,
          bridges: [
            { symbol: "ETH", fromStep: 21, toStep: 30, targetPct: 5 },
            { symbol: "ETH", fromStep: 10, toStep: 20, targetPrice: 2_500 },
          ],
        }),
        steps,
        60,
        createRng(5),
      );
      expect(path.ETH.slice(0, 10)).to.deep.equal(plain.ETH.slice(0, 10)); // the first shock is in
      expect(path.ETH[20] / 2_500 - 1).to.be.closeTo(0, 1e-12);
      expect(path.ETH[30] / (2_500 * 1.05) - 1).to.be.closeTo(0, 1e-12); // from the first bridge's target
      // the later shock still moves the path by +10 % at step 45, on top of the bridged level
      expect(path.ETH[45] / path.ETH[44]).to.be.closeTo(plain.ETH[45] / plain.ETH[44], 1e-12);
      expect(path.ETH[50] / plain.ETH[50]).to.be.closeTo(path.ETH[30] / plain.ETH[30], 1e-9);
    });

    it("validates bridges with their field names", () => {
      const fieldOf = (spec: PriceProcessSpec) => modelError(() => generatePricePath(spec, 50, 60, createRng(1))).field;
      const b = { symbol: "ETH", fromStep: 10, toStep: 20, targetPct: -10 };
      const with1 = (x: Record<string, unknown>) => baseSpec({ bridges: [{ ...b, ...x }] });
      expect(fieldOf(with1({ toStep: 9 }))).to.equal("prices.bridges[0].toStep");
      expect(fieldOf(with1({ toStep: 51 }))).to.equal("prices.bridges[0].toStep");
      expect(fieldOf(with1({ fromStep: 0 }))).to.equal("prices.bridges[0].fromStep");
      expect(fieldOf(with1({ targetPct: undefined }))).to.equal("prices.bridges[0]");
      expect(fieldOf(with1({ targetPrice: 2_000 }))).to.equal("prices.bridges[0].targetPrice");
      expect(fieldOf(with1({ targetPct: -100 }))).to.equal("prices.bridges[0].targetPct");
      expect(fieldOf(with1({ targetPct: undefined, targetPrice: 0 }))).to.equal("prices.bridges[0].targetPrice");
      expect(fieldOf(with1({ symbol: "DOGE" }))).to.equal("prices.bridges[0].symbol");
      expect(fieldOf(baseSpec({ bridges: [b, { ...b, fromStep: 20, toStep: 30 }] }))).to.equal(
        "prices.bridges[1].fromStep",
      );
      // adjacent windows and other symbols do not overlap
      expect(() =>
        generatePricePath(
          baseSpec({ bridges: [b, { ...b, fromStep: 21, toStep: 30 }, { ...b, symbol: "BTC" }] }),
          50,
          60,
          createRng(1),
        ),
      ).to.not.throw();
      const shock = { step: 5, symbol: "ETH", pct: -5, overSteps: 5 }; // steps 5 … 9: just before
      expect(() => generatePricePath(baseSpec({ shocks: [shock], bridges: [b] }), 50, 60, createRng(1))).to.not.throw();
      const inside = modelError(() =>
        generatePricePath(baseSpec({ shocks: [{ ...shock, overSteps: 6 }], bridges: [b] }), 50, 60, createRng(1)),
      );
      expect(inside.field).to.equal("prices.bridges[0]");
      expect(inside.message).to.contain("prices.shocks[0]").and.contain("5 … 10");
      const replay = [{ time: 0, symbol: "ETH", price: 3_000 }];
      expect(fieldOf(baseSpec({ replay, bridges: [b] }))).to.equal("prices.bridges[0].symbol");
    });

    it("the scenario schema checks bridges at their field paths", () => {
      const b = { symbol: "ETH", fromStep: 10, toStep: 20, targetPct: -10 };
      expect(problemPaths(scenarioJson({ bridges: [{ ...b, toStep: 101 }] }))).to.deep.equal([
        "prices.bridges[0].toStep",
      ]);
      expect(problemPaths(scenarioJson({ bridges: [{ ...b, toStep: 9 }] }))).to.deep.equal([
        "prices.bridges[0].toStep",
      ]);
      expect(problemPaths(scenarioJson({ bridges: [{ ...b, targetPrice: 1 }] }))).to.deep.equal([
        "prices.bridges[0].targetPrice",
      ]);
      expect(problemPaths(scenarioJson({ bridges: [{ ...b, targetPct: undefined }] }))).to.deep.equal([
        "prices.bridges[0]",
      ]);
      expect(problemPaths(scenarioJson({ bridges: [{ ...b, targetPct: -100 }] }))).to.deep.equal([
        "prices.bridges[0].targetPct",
      ]);
      expect(problemPaths(scenarioJson({ bridges: [b, { ...b, fromStep: 15, toStep: 25 }] }))).to.deep.equal([
        "prices.bridges[1].fromStep",
      ]);
      expect(problemPaths(scenarioJson({ bridges: [b], shocks: [{ step: 20, symbol: "ETH", pct: 5 }] }))).to.deep.equal(
        ["prices.bridges[0]"],
      );
      const ok = parseScenario(
        scenarioJson({
          bridges: [
            b,
            { ...b, fromStep: 21, toStep: 30 },
            { ...b, symbol: "BTC", targetPrice: 5e4, targetPct: undefined },
          ],
        }),
      );
      expect(ok.prices.bridges).to.have.length(3);
    });
  });

  describe("regimes (broken correlation)", () => {
    it("leaves the path before fromStep identical and gives back the base log-returns after toStep", () => {
      const regimes = [
        { fromStep: 20, toStep: 40, correlation: BROKEN, volatility: { STETH: 1.5 }, drift: { ETH: 3 } },
      ];
      for (const seed of [1, 2]) {
        const plain = generatePricePath(baseSpec(), 80, 60, createRng(seed));
        const broken = generatePricePath(baseSpec({ regimes }), 80, 60, createRng(seed));
        for (const s of SYMBOLS) expect(broken[s].slice(0, 20), s).to.deep.equal(plain[s].slice(0, 20));
        // ETH's first Cholesky row is [1, 0, 0, 0] in both matrices: only its drift changed
        expect(broken.ETH[20]).to.not.equal(plain.ETH[20]);
        expect(broken.STETH[20]).to.not.equal(plain.STETH[20]);
        expect(broken.BTC.slice(0, 41)).to.deep.equal(plain.BTC.slice(0, 41)); // BTC's row and parameters unchanged
        for (const s of ["ETH", "STETH"]) {
          expect(maxDiff(logReturns(broken[s]).slice(40), logReturns(plain[s]).slice(40)), s).to.be.lessThan(1e-12);
        }
      }
    });

    it("matches the regime's correlation (±0.02) and volatility (±3 %) of log-returns over 20,000 steps", () => {
      // the sample correlation's standard error is (1 − ρ²)/√n ≈ 0.007 at ρ = 0.2, n = 20,000: ±0.02 is ~3 of them;
      // an annualized volatility's relative standard error is 1/√(2n) = 0.5 %
      const stepSeconds = 3_600;
      const n = 20_000;
      const spec = baseSpec({ regimes: [{ fromStep: n + 1, correlation: BROKEN, volatility: { STETH: 1.5 } }] });
      const path = generatePricePath(spec, 2 * n, stepSeconds, createRng(31));
      const eth = logReturns(path.ETH);
      const steth = logReturns(path.STETH);
      const perYear = (365 * 86_400) / stepSeconds;
      const vol = (r: number[]) => Math.sqrt(meanVar(r).variance * perYear);
      expect(correlationOf(eth.slice(0, n), steth.slice(0, n)), "before").to.be.closeTo(0.98, 0.005);
      expect(correlationOf(eth.slice(n), steth.slice(n)), "in the regime").to.be.closeTo(0.2, 0.02);
      expect(vol(steth.slice(0, n)) / 0.8, "STETH before").to.be.closeTo(1, 0.03);
      expect(vol(steth.slice(n)) / 1.5, "STETH in the regime").to.be.closeTo(1, 0.03);
      expect(vol(eth.slice(n)) / 0.8, "ETH in the regime").to.be.closeTo(1, 0.03);
      expect(correlationOf(eth.slice(n), logReturns(path.BTC).slice(n)), "ETH/BTC kept").to.be.closeTo(0.7, 0.02);
    });

    it("applies the regime's drift exactly where volatility is 0", () => {
      const spec = baseSpec({ regimes: [{ fromStep: 11, toStep: 20, drift: { USDC: 0.5 } }] });
      const usdc = generatePricePath(spec, 30, 86_400, createRng(1)).USDC;
      expect(usdc.slice(0, 11).every((p) => p === 1)).to.equal(true);
      expect(usdc[20]).to.be.closeTo(Math.exp((0.5 * 10) / 365), 1e-12);
      expect(usdc[30]).to.equal(usdc[20]);
    });

    it("validates regimes with their field names (non-PSD matrix, overlap, steps, parameters)", () => {
      const fieldOf = (spec: PriceProcessSpec) => modelError(() => generatePricePath(spec, 50, 60, createRng(1))).field;
      const notPsd = BROKEN.map((row) => row.slice());
      notPsd[0][2] = notPsd[2][0] = -0.9;
      const e = modelError(() =>
        generatePricePath(
          baseSpec({ regimes: [{ fromStep: 5 }, { fromStep: 10, correlation: notPsd }] }),
          50,
          60,
          createRng(1),
        ),
      );
      expect(e.field).to.equal("prices.regimes[1].correlation");
      expect(e.message).to.match(/not positive semi-definite/);
      const asym = BROKEN.map((row) => row.slice());
      asym[0][2] = 0.3;
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 1, correlation: asym }] }))).to.equal(
        "prices.regimes[0].correlation[0][2]",
      );
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 10, toStep: 20 }, { fromStep: 20 }] }))).to.equal(
        "prices.regimes[1].fromStep",
      );
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 30 }, { fromStep: 10, toStep: 30 }] }))).to.equal(
        "prices.regimes[1].fromStep",
      );
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 10, toStep: 9 }] }))).to.equal("prices.regimes[0].toStep");
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 51 }] }))).to.equal("prices.regimes[0].fromStep");
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 1, volatility: { SOL: 1 } }] }))).to.equal(
        "prices.regimes[0].volatility.SOL",
      );
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 1, volatility: { ETH: -1 } }] }))).to.equal(
        "prices.regimes[0].volatility.ETH",
      );
      expect(fieldOf(baseSpec({ regimes: [{ fromStep: 1, drift: { ETH: NaN } }] }))).to.equal(
        "prices.regimes[0].drift.ETH",
      );
      expect(() =>
        generatePricePath(
          baseSpec({ regimes: [{ fromStep: 10, toStep: 19 }, { fromStep: 20 }] }),
          50,
          60,
          createRng(1),
        ),
      ).to.not.throw();
    });

    it("the scenario schema resolves regime pairs over the scenario's and rejects a non-PSD regime and overlaps", () => {
      const scenario = parseScenario(
        scenarioJson({
          correlation: { "ETH/BTC": 0.6 },
          regimes: [{ fromStep: 50, correlation: { "STETH/ETH": 0.2 }, volatility: { STETH: 1.5 } }],
        }),
      );
      const [regime] = resolveRegimes(scenario);
      const i = (s: string) => SCENARIO_SYMBOLS.indexOf(s as (typeof SCENARIO_SYMBOLS)[number]);
      const base = resolvePrices(scenario).correlation;
      expect(regime.correlation![i("ETH")][i("STETH")]).to.equal(0.2);
      expect(regime.correlation![i("STETH")][i("ETH")]).to.equal(0.2);
      expect(regime.correlation![i("ETH")][i("BTC")]).to.equal(0.6); // the scenario's, not the default 0.7
      expect(regime.correlation![i("BTC")][i("STETH")]).to.equal(base[i("BTC")][i("STETH")]);
      expect(base[i("ETH")][i("STETH")]).to.equal(0.98);
      expect(regime).to.deep.include({ fromStep: 50, toStep: undefined, volatility: { STETH: 1.5 } });

      expect(
        problemPaths(scenarioJson({ regimes: [{ fromStep: 1, correlation: { "ETH/STETH": -0.9 } }] })),
      ).to.deep.equal(["prices.regimes[0].correlation"]);
      expect(problemPaths(scenarioJson({ regimes: [{ fromStep: 1, correlation: { "ETH/ETH": 0.5 } }] }))).to.include(
        "prices.regimes[0].correlation.ETH/ETH",
      );
      expect(problemPaths(scenarioJson({ regimes: [{ fromStep: 10 }, { fromStep: 60, toStep: 70 }] }))).to.deep.equal([
        "prices.regimes[1].fromStep",
      ]);
      expect(problemPaths(scenarioJson({ regimes: [{ fromStep: 10, toStep: 101 }] }))).to.deep.equal([
        "prices.regimes[0].toStep",
      ]);
      expect(problemPaths(scenarioJson({ regimes: [{ fromStep: 101 }] }))).to.deep.equal([
        "prices.regimes[0].fromStep",
      ]);
    });
  });

  describe("CSV replay with volatility rescaling", () => {
    const steps = 240;
    const stepSeconds = 60;
    const rows = sourceRows(260);
    const grid = replayGridPrices(rows, "SRC", steps, stepSeconds);

    it("realizedVolatility is the sample standard deviation of log-returns × √(steps per year)", () => {
      const r = [Math.log(1.1), Math.log(0.9), Math.log(1.1)];
      const mean = (r[0] + r[1] + r[2]) / 3;
      const sd = Math.sqrt(r.reduce((acc, x) => acc + (x - mean) ** 2, 0) / 2);
      expect(realizedVolatility([100, 110, 99, 108.9], 3_600)).to.be.closeTo(sd * Math.sqrt(8_760), 1e-12);
      expect(realizedVolatility([5, 5, 5, 5], 60)).to.equal(0);
      expect(realizedVolatility([5, 6], 60)).to.be.NaN;
      // the grid carries missing minutes forward
      expect(grid).to.have.length(steps + 1);
      expect(grid[5]).to.equal(grid[4]);
      expect(grid[0]).to.equal(rows[0].price);
    });

    it("starts at the symbol's initial price; scale 1 (or nothing) reproduces the source's step returns", () => {
      for (const entry of [
        { source: "SRC", symbol: "BTC" },
        { source: "SRC", symbol: "BTC", scale: 1 },
      ]) {
        const path = generatePricePath(baseSpec({ replay: rows, replayAs: [entry] }), steps, stepSeconds, createRng(1));
        expect(path.BTC[0]).to.equal(60_000);
        expect(maxDiff(logReturns(path.BTC), logReturns(grid))).to.be.lessThan(1e-12);
        expect(
          maxDiff(
            path.BTC.map((p) => p / 60_000),
            grid.map((p) => p / grid[0]),
          ),
        ).to.be.lessThan(1e-12);
      }
    });

    it("rescales to the target realized volatility (to 1e-9) or by the scale", () => {
      const source = realizedVolatility(grid, stepSeconds);
      expect(source).to.be.greaterThan(0.5);
      for (const volatility of [0.3, 0.6, 1.2, 5]) {
        const spec = baseSpec({ replay: rows, replayAs: [{ source: "SRC", symbol: "BTC", volatility }] });
        const path = generatePricePath(spec, steps, stepSeconds, createRng(1));
        expect(realizedVolatility(path.BTC, stepSeconds), `volatility ${volatility}`).to.be.closeTo(volatility, 1e-9);
        const k = volatility / source;
        expect(
          maxDiff(
            logReturns(path.BTC),
            logReturns(grid).map((r) => k * r),
          ),
        ).to.be.lessThan(1e-12);
      }
      const doubled = generatePricePath(
        baseSpec({ replay: rows, replayAs: [{ source: "SRC", symbol: "STETH", scale: 2 }] }),
        steps,
        stepSeconds,
        createRng(1),
      );
      expect(realizedVolatility(doubled.STETH, stepSeconds)).to.be.closeTo(2 * source, 1e-9);
      expect(doubled.STETH[steps] / 2_990).to.be.closeTo((grid[steps] / grid[0]) ** 2, 1e-12);
    });

    it("leaves the other symbols alone, takes no jumps, and shocks still multiply it", () => {
      const jumps = [{ symbols: ["ETH", "BTC"], intensityPerDay: 100, meanPct: -3, stdPct: 1 }];
      const shocks = [{ step: 100, symbol: "BTC", pct: -20, overSteps: 1 }];
      const replayAs = [{ source: "SRC", symbol: "BTC", volatility: 0.6 }];
      const plain = generatePricePath(baseSpec({ jumps }), steps, stepSeconds, createRng(3));
      const replayed = generatePricePath(baseSpec({ jumps, replay: rows, replayAs }), steps, stepSeconds, createRng(3));
      const shocked = generatePricePath(
        baseSpec({ jumps, shocks, replay: rows, replayAs }),
        steps,
        stepSeconds,
        createRng(3),
      );
      for (const s of ["ETH", "STETH", "USDC"]) expect(replayed[s], s).to.deep.equal(plain[s]);
      expect(realizedVolatility(replayed.BTC, stepSeconds)).to.be.closeTo(0.6, 1e-9); // no jump in it
      for (let s = 0; s <= steps; s++) {
        expect(shocked.BTC[s] / replayed.BTC[s], `step ${s}`).to.be.closeTo(s >= 100 ? 0.8 : 1, 1e-12);
      }
    });

    it("a source that is a model symbol is not replayed as itself unless asked", () => {
      const ethRows = rows.map((r) => ({ ...r, symbol: "ETH" }));
      const plain = generatePricePath(baseSpec(), steps, stepSeconds, createRng(6));
      const asBtc = generatePricePath(
        baseSpec({ replay: ethRows, replayAs: [{ source: "ETH", symbol: "BTC" }] }),
        steps,
        stepSeconds,
        createRng(6),
      );
      expect(asBtc.ETH).to.deep.equal(plain.ETH);
      const both = generatePricePath(
        baseSpec({
          replay: ethRows,
          replayAs: [
            { source: "ETH", symbol: "BTC" },
            { source: "ETH", symbol: "ETH" },
          ],
        }),
        steps,
        stepSeconds,
        createRng(6),
      );
      expect(both.ETH[0]).to.equal(3_000);
      expect(maxDiff(logReturns(both.ETH), logReturns(both.BTC))).to.be.lessThan(1e-12);
    });

    it("validates replayAs with its field names", () => {
      const fieldOf = (spec: PriceProcessSpec, n = steps) =>
        modelError(() => generatePricePath(spec, n, stepSeconds, createRng(1))).field;
      const entry = { source: "SRC", symbol: "BTC" };
      expect(fieldOf(baseSpec({ replayAs: [entry] }))).to.equal("prices.replayAs[0].source");
      expect(fieldOf(baseSpec({ replay: rows, replayAs: [{ ...entry, source: "XYZ" }] }))).to.equal(
        "prices.replayAs[0].source",
      );
      expect(fieldOf(baseSpec({ replay: rows, replayAs: [{ ...entry, scale: 1, volatility: 1 }] }))).to.equal(
        "prices.replayAs[0].scale",
      );
      expect(fieldOf(baseSpec({ replay: rows, replayAs: [{ ...entry, scale: -1 }] }))).to.equal(
        "prices.replayAs[0].scale",
      );
      expect(fieldOf(baseSpec({ replay: rows, replayAs: [{ ...entry, symbol: "DOGE" }] }))).to.equal(
        "prices.replayAs[0].symbol",
      );
      expect(fieldOf(baseSpec({ replay: rows, replayAs: [entry, { ...entry, scale: 2 }] }))).to.equal(
        "prices.replayAs[1].symbol",
      );
      const own = [...rows, { time: rows[0].time, symbol: "BTC", price: 1 }];
      expect(fieldOf(baseSpec({ replay: own, replayAs: [entry] }))).to.equal("prices.replayAs[0].symbol");
      // a flat source over the run has no volatility to rescale (the rows differ only after the horizon)
      const flat = [
        { time: 0, symbol: "SRC", price: 10 },
        { time: 60 * 1_000, symbol: "SRC", price: 11 },
      ];
      const zero = modelError(() =>
        generatePricePath(
          baseSpec({ replay: flat, replayAs: [{ ...entry, volatility: 0.5 }] }),
          steps,
          stepSeconds,
          createRng(1),
        ),
      );
      expect(zero.field).to.equal("prices.replayAs[0].volatility");
      expect(zero.message).to.contain("is 0");
      expect(fieldOf(baseSpec({ replay: rows, replayAs: [{ ...entry, volatility: 0.5 }] }), 1)).to.equal(
        "prices.replayAs[0].volatility",
      );
      expect(
        fieldOf(
          baseSpec({
            replay: rows,
            replayAs: [entry],
            bridges: [{ symbol: "BTC", fromStep: 1, toStep: 2, targetPct: 1 }],
          }),
        ),
      ).to.equal("prices.bridges[0].symbol");
      // the scenario schema
      expect(problemPaths(scenarioJson({ replayAs: [{ source: "ETHUSD", symbol: "BTC" }] }))).to.deep.equal([
        "prices.replayAs[0].source",
      ]);
      const csv = "data.csv";
      expect(
        problemPaths(scenarioJson({ csv, replayAs: [{ source: "ETHUSD", symbol: "BTC", scale: 1, volatility: 1 }] })),
      ).to.deep.equal(["prices.replayAs[0].scale"]);
      expect(
        problemPaths(
          scenarioJson({
            csv,
            replayAs: [
              { source: "A", symbol: "BTC" },
              { source: "B", symbol: "BTC" },
            ],
          }),
        ),
      ).to.deep.equal(["prices.replayAs[1].symbol"]);
      expect(
        problemPaths(
          scenarioJson({
            csv,
            replayAs: [{ source: "A", symbol: "BTC" }],
            bridges: [{ symbol: "BTC", fromStep: 1, toStep: 2, targetPct: 1 }],
          }),
        ),
      ).to.deep.equal(["prices.bridges[0].symbol"]);
    });
  });

  describe("built-in scenario files", () => {
    it("existing scenarios validate to the same JSON as before (no new fields, same hashes)", () => {
      const added = ["bridges", "regimes", "replayAs"];
      const fresh = ["bridge-crash", "correlation-break", "replay-rescaled"];
      const names = builtinScenarios();
      expect(names).to.include.members(fresh);
      for (const name of names.filter((n) => !fresh.includes(n))) {
        const keys = Object.keys(loadScenario(name).scenario.prices);
        expect(
          keys.filter((k) => added.includes(k)),
          name,
        ).to.deep.equal([]);
      }
    });

    it("bridge-crash lands exactly on its targets at step 70", () => {
      const loaded = loadScenario("bridge-crash");
      for (const index of [undefined, 0, 1]) {
        const path = pricePathFor(loaded, index);
        expect(path.ETH[70] / (path.ETH[19] * 0.7) - 1).to.be.closeTo(0, 1e-12);
        expect(path.STETH[70] / (path.STETH[19] * 0.7) - 1).to.be.closeTo(0, 1e-12);
        expect(path.BTC[70] / (path.BTC[19] * 0.8) - 1).to.be.closeTo(0, 1e-12);
      }
    });

    it("correlation-break follows the unbroken path until its regime starts", () => {
      const broken = pricePathFor(loadScenario("correlation-break"), 3);
      const whole = pricePathFor(loadScenario("correlation-break", ["prices.regimes=[]"]), 3);
      for (const s of ["ETH", "STETH", "BTC"]) expect(broken[s].slice(0, 40), s).to.deep.equal(whole[s].slice(0, 40));
      expect(broken.STETH[40]).to.not.equal(whole.STETH[40]);
      expect(broken.ETH).to.deep.equal(whole.ETH); // ETH's volatility, drift and Cholesky row are unchanged
    });

    it("replay-rescaled replays ETHUSD as ETH and, at 60 % volatility, as BTC", () => {
      const loaded = loadScenario("replay-rescaled");
      const path = pricePathFor(loaded);
      const { steps, stepSeconds } = loaded.scenario;
      expect(path.ETH[0]).to.equal(3_000);
      expect(path.BTC[0]).to.equal(60_000);
      expect(realizedVolatility(path.BTC, stepSeconds)).to.be.closeTo(0.6, 1e-9);
      expect(path.ETH[steps] / 3_000 - 1).to.be.closeTo(-0.116, 0.001);
      expect(Math.min(...path.ETH) / 3_000 - 1).to.be.closeTo(-0.129, 0.001);
      expect(pricePathFor(loaded, 5).ETH).to.deep.equal(path.ETH); // replayed: the same on every Monte Carlo path
    });
  });
});
