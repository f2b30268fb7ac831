import { expect } from "chai";
import { createRng, type Rng } from "../src/sim/rng";
import {
  choleskyLower,
  generatePricePath,
  parsePriceCsv,
  PriceModelError,
  validateCorrelation,
  type PriceProcessSpec,
} from "../src/sim/prices";
import { baseSpec, correlationOf, CORRELATION, logReturns, meanVar, SYMBOLS } from "./shared/priceModel";

function draw(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.next());
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

function twoAssets(rho: number, overrides: Partial<PriceProcessSpec> = {}): PriceProcessSpec {
  return {
    symbols: ["A", "B"],
    initial: { A: 100, B: 50 },
    volatility: { A: 0.8, B: 0.5 },
    drift: {},
    correlation: [
      [1, rho],
      [rho, 1],
    ],
    jumps: [],
    shocks: [],
    ...overrides,
  };
}

describe("Simulator prices", () => {
  describe("rng", () => {
    it("is a pure function of the seed (golden values: changing them changes every report)", () => {
      expect(draw(createRng(1), 3)).to.deep.equal([0.456420793896541, 0.2957227216102183, 0.24434696440584958]);
      const f = createRng("crossmargin").fork("prices");
      expect([f.next(), f.normal()]).to.deep.equal([0.4640053405892104, -0.34663262796445726]);
    });

    it("repeats a sequence for the same seed and differs between seeds", () => {
      expect(draw(createRng(42), 1000)).to.deep.equal(draw(createRng(42), 1000));
      expect(draw(createRng("seed"), 1000)).to.deep.equal(draw(createRng("seed"), 1000));
      const a = draw(createRng(1), 100);
      const b = draw(createRng(2), 100);
      expect(a.filter((x, i) => x === b[i])).to.have.length(0);
      const all = draw(createRng(3), 10_000);
      expect(all.every((x) => x >= 0 && x < 1)).to.equal(true);
    });

    it("derives forks from the seed and the label only, not from the parent's draws", () => {
      const fresh = draw(createRng(7).fork("prices"), 100);
      const parent = createRng(7);
      draw(parent, 12_345);
      parent.normal();
      expect(draw(parent.fork("prices"), 100)).to.deep.equal(fresh);
      // drawing from a fork does not move the parent either
      const p1 = createRng(7);
      draw(p1.fork("x"), 50);
      expect(draw(p1, 10)).to.deep.equal(draw(createRng(7), 10));
      // other labels, nested forks and other seeds are other streams
      const other = draw(createRng(7).fork("jumps"), 100);
      const nested = draw(createRng(7).fork("prices").fork("prices"), 100);
      const otherSeed = draw(createRng(8).fork("prices"), 100);
      for (const stream of [other, nested, otherSeed, draw(createRng(7), 100)]) {
        expect(stream.filter((x, i) => x === fresh[i])).to.have.length(0);
      }
    });

    it("draws standard normals: mean 0, variance 1, symmetric tails over 200k draws", () => {
      const r = createRng(11);
      const xs = new Float64Array(200_000);
      for (let i = 0; i < xs.length; i++) xs[i] = r.normal();
      const { mean, variance } = meanVar(xs);
      expect(mean).to.be.closeTo(0, 0.01); // SE 0.0022
      expect(variance).to.be.closeTo(1, 0.015); // SE 0.0032
      const beyond2 = xs.filter((x) => Math.abs(x) > 2).length / xs.length;
      expect(beyond2).to.be.closeTo(0.0455, 0.003);
    });

    it("draws Poisson counts with the right mean and variance (Knuth and normal approximation)", () => {
      for (const lambda of [0.5, 5, 50]) {
        const r = createRng(`poisson/${lambda}`);
        const xs = new Float64Array(100_000);
        for (let i = 0; i < xs.length; i++) xs[i] = r.poisson(lambda);
        const { mean, variance } = meanVar(xs);
        expect(mean, `mean for lambda ${lambda}`).to.be.closeTo(lambda, 5 * Math.sqrt(lambda / xs.length));
        expect(variance / lambda, `variance for lambda ${lambda}`).to.be.closeTo(1, 0.03);
        expect(xs.every((x) => Number.isInteger(x) && x >= 0)).to.equal(true);
      }
      expect(createRng(1).poisson(0)).to.equal(0);
      expect(() => createRng(1).poisson(-1)).to.throw(RangeError);
    });

    it("int is inclusive and uniform; pick covers every item", () => {
      const r = createRng(5);
      const counts = new Map<number, number>();
      for (let i = 0; i < 60_000; i++) {
        const v = r.int(-2, 3);
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      expect([...counts.keys()].sort((a, b) => a - b)).to.deep.equal([-2, -1, 0, 1, 2, 3]);
      for (const c of counts.values()) expect(c).to.be.closeTo(10_000, 500);
      expect(createRng(5).int(4, 4)).to.equal(4);
      expect(() => r.int(3, 2)).to.throw(RangeError);
      const picked = new Set<string>();
      for (let i = 0; i < 200; i++) picked.add(r.pick(["a", "b", "c"] as const));
      expect([...picked].sort()).to.deep.equal(["a", "b", "c"]);
      expect(() => r.pick([])).to.throw(RangeError);
    });

    it("weighted does not depend on key insertion order, follows the weights, never picks a zero weight", () => {
      const a = createRng(9);
      const b = createRng(9);
      const w1 = { ETH: 1, BTC: 2, STETH: 3, USDC: 0 };
      const w2 = { USDC: 0, STETH: 3, ETH: 1, BTC: 2 };
      const counts: Record<string, number> = { ETH: 0, BTC: 0, STETH: 0, USDC: 0 };
      let mismatches = 0;
      for (let i = 0; i < 60_000; i++) {
        const k = a.weighted(w1);
        if (b.weighted(w2) !== k) mismatches++;
        counts[k]++;
      }
      expect(mismatches).to.equal(0);
      expect(counts.USDC).to.equal(0);
      expect(counts.ETH).to.be.closeTo(10_000, 500);
      expect(counts.BTC).to.be.closeTo(20_000, 600);
      expect(counts.STETH).to.be.closeTo(30_000, 700);
      expect(() => a.weighted({ x: 0, y: 0 })).to.throw(RangeError);
      expect(() => a.weighted({ x: -1, y: 2 })).to.throw(RangeError);
    });
  });

  describe("correlation", () => {
    it("choleskyLower reproduces a 3×3 matrix as L·Lᵀ, lower triangular", () => {
      const m = [
        [1, 0.6, -0.3],
        [0.6, 1, 0.2],
        [-0.3, 0.2, 1],
      ];
      const L = choleskyLower(m);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          if (j > i) expect(L[i][j]).to.equal(0);
          let v = 0;
          for (let k = 0; k < 3; k++) v += L[i][k] * L[j][k];
          expect(v).to.be.closeTo(m[i][j], 1e-12);
        }
      }
    });

    it("rejects a matrix that is not positive semi-definite", () => {
      const bad = [
        [1, 0.9, -0.9],
        [0.9, 1, 0.9],
        [-0.9, 0.9, 1],
      ];
      const e = modelError(() => choleskyLower(bad));
      expect(e.field).to.equal("prices.correlation");
      expect(e.message).to.match(/not positive semi-definite \(pivot k = 2/);
      expect(modelError(() => validateCorrelation(bad, ["A", "B", "C"])).field).to.equal("prices.correlation");
      // a zero pivot whose column does not vanish is not PSD either
      const zeroPivot = [
        [1, 1, 0],
        [1, 1, 0.5],
        [0, 0.5, 1],
      ];
      expect(modelError(() => choleskyLower(zeroPivot)).message).to.match(/pivot k = 1/);
    });

    it("accepts perfectly correlated assets (zero pivots)", () => {
      const m = [
        [1, 1, 0.5],
        [1, 1, 0.5],
        [0.5, 0.5, 1],
      ];
      const L = choleskyLower(m);
      expect(L[1]).to.deep.equal([1, 0, 0]);
      expect(L[2][2]).to.be.closeTo(Math.sqrt(0.75), 1e-15);
      expect(() => validateCorrelation(m, ["A", "B", "C"])).to.not.throw();
    });

    it("validateCorrelation names the offending entry", () => {
      const ok = () => [
        [1, 0.5, 0.2],
        [0.5, 1, 0.1],
        [0.2, 0.1, 1],
      ];
      const syms = ["ETH", "BTC", "STETH"];
      expect(() => validateCorrelation(ok(), syms)).to.not.throw();

      const asym = ok();
      asym[0][2] = 0.3;
      const e1 = modelError(() => validateCorrelation(asym, syms));
      expect(e1.field).to.equal("prices.correlation[0][2]");
      expect(e1.message).to.contain("symmetric").and.contain("ETH/STETH");

      const range = ok();
      range[1][2] = range[2][1] = 1.2;
      expect(modelError(() => validateCorrelation(range, syms)).field).to.equal("prices.correlation[1][2]");

      const diag = ok();
      diag[1][1] = 0.9;
      expect(modelError(() => validateCorrelation(diag, syms)).field).to.equal("prices.correlation[1][1]");

      const nan = ok();
      nan[2][0] = NaN;
      expect(modelError(() => validateCorrelation(nan, syms)).field).to.equal("prices.correlation[2][0]");

      expect(modelError(() => validateCorrelation(ok(), ["ETH", "BTC"])).field).to.equal("prices.correlation");
      const ragged = ok();
      ragged[1] = [0.5, 1];
      expect(modelError(() => validateCorrelation(ragged, syms)).field).to.equal("prices.correlation[1]");
    });
  });

  describe("GBM", () => {
    it("returns steps + 1 prices per symbol, starting at the initial prices", () => {
      const path = generatePricePath(baseSpec(), 500, 60, createRng(1));
      expect(Object.keys(path)).to.deep.equal(SYMBOLS);
      for (const s of SYMBOLS) {
        expect(path[s]).to.have.length(501);
        expect(path[s].every((p) => Number.isFinite(p) && p > 0)).to.equal(true);
      }
      expect(path.ETH[0]).to.equal(3_000);
      expect(path.USDC.every((p) => p === 1)).to.equal(true); // zero volatility, zero drift
      expect(generatePricePath(baseSpec(), 0, 60, createRng(1)).ETH).to.deep.equal([3_000]);
    });

    it("is deterministic: same seed ⇒ identical paths, different seed ⇒ different paths", () => {
      const a = generatePricePath(baseSpec(), 300, 60, createRng(5));
      const b = generatePricePath(baseSpec(), 300, 60, createRng(5));
      const c = generatePricePath(baseSpec(), 300, 60, createRng(6));
      expect(a).to.deep.equal(b);
      expect(c.ETH.slice(1).filter((p, i) => p === a.ETH[i + 1])).to.have.length(0);
      // a shorter run is a prefix of a longer one
      const short = generatePricePath(baseSpec(), 100, 60, createRng(5));
      expect(short.BTC).to.deep.equal(a.BTC.slice(0, 101));
    });

    it("matches the specified correlation (±0.03) and annualized volatility (±3 %) of log returns", () => {
      const stepSeconds = 3_600;
      const path = generatePricePath(twoAssets(0.8), 20_000, stepSeconds, createRng(21));
      const ra = logReturns(path.A);
      const rb = logReturns(path.B);
      expect(correlationOf(ra, rb)).to.be.closeTo(0.8, 0.03);
      const perYear = (365 * 86_400) / stepSeconds;
      expect(Math.sqrt(meanVar(ra).variance * perYear) / 0.8).to.be.closeTo(1, 0.03);
      expect(Math.sqrt(meanVar(rb).variance * perYear) / 0.5).to.be.closeTo(1, 0.03);
      const negative = generatePricePath(twoAssets(-0.5), 20_000, stepSeconds, createRng(22));
      expect(correlationOf(logReturns(negative.A), logReturns(negative.B))).to.be.closeTo(-0.5, 0.03);
    });

    it("moves perfectly correlated assets with equal vols identically in log returns", () => {
      const spec = twoAssets(1, { volatility: { A: 0.9, B: 0.9 } });
      const path = generatePricePath(spec, 1_000, 300, createRng(3));
      const ra = logReturns(path.A);
      const rb = logReturns(path.B);
      expect(Math.max(...ra.map((r, i) => Math.abs(r - rb[i])))).to.be.lessThan(1e-12);
      expect(meanVar(ra).variance).to.be.greaterThan(0);
    });

    it("applies the drift: zero vol ⇒ exp(mu·t); zero vol and zero drift ⇒ constant", () => {
      const spec = twoAssets(0, { volatility: { A: 0, B: 0 }, drift: { A: 0.1 } });
      const steps = 365;
      const path = generatePricePath(spec, steps, 86_400, createRng(4));
      expect(path.A[steps] / path.A[0]).to.be.closeTo(Math.exp(0.1), 1e-12);
      expect(path.B.every((p) => p === 50)).to.equal(true);
    });

    it("generates 500 steps × 4 symbols well under 10 ms", () => {
      const spec = baseSpec({
        jumps: [{ symbols: ["ETH", "STETH"], intensityPerDay: 1, meanPct: -5, stdPct: 3 }],
        shocks: [{ step: 100, symbol: "ETH", pct: -35, overSteps: 60 }],
      });
      for (let i = 0; i < 5; i++) generatePricePath(spec, 500, 60, createRng(i)); // warm up the JIT
      const runs = 20;
      const start = process.hrtime.bigint();
      for (let i = 0; i < runs; i++) generatePricePath(spec, 500, 60, createRng(i));
      const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
      expect(ms).to.be.lessThan(10);
    });
  });

  describe("jumps", () => {
    // σ = 0 and no drift: every non-zero log return is a jump, each jump exactly ln(1 + meanPct/100)
    const steps = 50_000;
    const stepSeconds = 3_600;
    const intensityPerDay = 1.2; // λ = 0.05 per step
    const lambda = (intensityPerDay * stepSeconds) / 86_400;
    const flat = (jump: { meanPct: number; stdPct: number }) =>
      twoAssets(0, {
        volatility: { A: 0, B: 0 },
        jumps: [{ symbols: ["A", "B"], intensityPerDay, ...jump }],
      });

    it("occur at the specified intensity (Poisson per step) and hit every listed symbol alike", () => {
      const path = generatePricePath(flat({ meanPct: -10, stdPct: 0 }), steps, stepSeconds, createRng(8));
      const ra = logReturns(path.A);
      const rb = logReturns(path.B);
      const size = Math.log(0.9);
      let jumpSteps = 0;
      let jumps = 0;
      let unlike = 0;
      let offGrid = 0;
      ra.forEach((r, i) => {
        if (Math.abs(r - rb[i]) > 1e-12) unlike++;
        if (Math.abs(r) > 1e-12) jumpSteps++;
        const k = Math.round(r / size);
        if (Math.abs(r - k * size) > 1e-9) offGrid++;
        jumps += k;
      });
      expect(unlike, "steps where A and B moved differently").to.equal(0);
      expect(offGrid, "returns that are not a whole number of jumps").to.equal(0);
      const expectedJumps = steps * lambda;
      expect(jumps).to.be.closeTo(expectedJumps, 4 * Math.sqrt(expectedJumps));
      const p = 1 - Math.exp(-lambda);
      expect(jumpSteps).to.be.closeTo(steps * p, 4 * Math.sqrt(steps * p * (1 - p)));
      expect(jumps).to.be.greaterThan(jumpSteps); // some steps had two jumps
    });

    it("draw log-sizes ~ N(ln(1 + meanPct/100), stdPct/100)", () => {
      const path = generatePricePath(flat({ meanPct: -10, stdPct: 5 }), steps, stepSeconds, createRng(9));
      const sizes = logReturns(path.A).filter((r) => Math.abs(r) > 1e-12);
      const { mean, variance } = meanVar(sizes);
      // steps with two jumps add up: size mean ≈ μ·E[k | k ≥ 1], a small correction at λ = 0.05
      const kMean = lambda / (1 - Math.exp(-lambda));
      expect(mean).to.be.closeTo(Math.log(0.9) * kMean, 0.005);
      expect(Math.sqrt(variance)).to.be.closeTo(0.05, 0.005);
    });

    it("leave the GBM draws alone: adding jumps changes only the steps that jumped", () => {
      const spec = baseSpec();
      const withJumps = baseSpec({ jumps: [{ symbols: ["ETH"], intensityPerDay: 24, meanPct: 5, stdPct: 1 }] });
      const a = logReturns(generatePricePath(spec, 2_000, 600, createRng(10)).ETH);
      const b = logReturns(generatePricePath(withJumps, 2_000, 600, createRng(10)).ETH);
      let jumped = 0;
      a.forEach((r, i) => {
        if (Math.abs(b[i] - r) > 1e-9) jumped++;
      });
      const expected = 2_000 * (1 - Math.exp(-(24 * 600) / 86_400));
      expect(jumped)
        .to.be.greaterThan(expected * 0.7)
        .and.lessThan(expected * 1.3);
      const btc = generatePricePath(withJumps, 2_000, 600, createRng(10)).BTC;
      expect(btc).to.deep.equal(generatePricePath(spec, 2_000, 600, createRng(10)).BTC);
    });
  });

  describe("shocks", () => {
    it("spreads the move geometrically evenly; price[step+overSteps-1] / price[step-1] is exact", () => {
      const spec = baseSpec({
        volatility: { ETH: 0, BTC: 0, STETH: 0, USDC: 0 },
        shocks: [{ step: 10, symbol: "ETH", pct: -35, overSteps: 60 }],
      });
      const path = generatePricePath(spec, 100, 60, createRng(1));
      expect(path.ETH[69] / path.ETH[9]).to.be.closeTo(0.65, 1e-12);
      const perStep = Math.pow(0.65, 1 / 60);
      for (let s = 1; s <= 100; s++) {
        const expected = s >= 10 && s <= 69 ? perStep : 1;
        expect(path.ETH[s] / path.ETH[s - 1], `step ${s}`).to.be.closeTo(expected, 1e-12);
      }
      expect(path.ETH[9]).to.equal(3_000);
      expect(path.ETH[100]).to.be.closeTo(1_950, 1e-9);
      expect(path.BTC.every((p) => p === 60_000)).to.equal(true);
      expect(path.STETH.every((p) => p === 2_990)).to.equal(true);
    });

    it("stacks on top of the GBM path without changing its draws", () => {
      const shock = { step: 50, symbol: "BTC", pct: 20, overSteps: 1 };
      const plain = generatePricePath(baseSpec(), 200, 60, createRng(2));
      const shocked = generatePricePath(baseSpec({ shocks: [shock] }), 200, 60, createRng(2));
      for (let s = 0; s <= 200; s++) {
        expect(shocked.BTC[s] / plain.BTC[s]).to.be.closeTo(s >= 50 ? 1.2 : 1, 1e-12);
      }
      expect(shocked.ETH).to.deep.equal(plain.ETH);
    });

    it("validates shocks, jumps and the per-symbol parameters with their field names", () => {
      const shock = { step: 1, symbol: "ETH", pct: -10, overSteps: 1 };
      const fieldOf = (spec: PriceProcessSpec, steps = 100) =>
        modelError(() => generatePricePath(spec, steps, 60, createRng(1))).field;
      expect(fieldOf(baseSpec({ shocks: [shock, shock, { ...shock, symbol: "DOGE" }] }))).to.equal(
        "prices.shocks[2].symbol",
      );
      expect(fieldOf(baseSpec({ shocks: [{ ...shock, pct: -100 }] }))).to.equal("prices.shocks[0].pct");
      expect(fieldOf(baseSpec({ shocks: [{ ...shock, pct: -150 }] }))).to.equal("prices.shocks[0].pct");
      expect(fieldOf(baseSpec({ shocks: [{ ...shock, step: 0 }] }))).to.equal("prices.shocks[0].step");
      expect(fieldOf(baseSpec({ shocks: [{ ...shock, step: 101 }] }))).to.equal("prices.shocks[0].step");
      expect(fieldOf(baseSpec({ shocks: [{ ...shock, overSteps: 0 }] }))).to.equal("prices.shocks[0].overSteps");
      const jump = { symbols: ["ETH"], intensityPerDay: 1, meanPct: -5, stdPct: 1 };
      expect(fieldOf(baseSpec({ jumps: [jump, { ...jump, symbols: ["ETH", "SOL"] }] }))).to.equal(
        "prices.jumps[1].symbols[1]",
      );
      expect(fieldOf(baseSpec({ jumps: [{ ...jump, meanPct: -100 }] }))).to.equal("prices.jumps[0].meanPct");
      expect(fieldOf(baseSpec({ jumps: [{ ...jump, stdPct: -1 }] }))).to.equal("prices.jumps[0].stdPct");
      expect(fieldOf(baseSpec({ jumps: [{ ...jump, intensityPerDay: -1 }] }))).to.equal(
        "prices.jumps[0].intensityPerDay",
      );
      const spec = baseSpec();
      expect(fieldOf({ ...spec, volatility: { ...spec.volatility, BTC: -0.1 } })).to.equal("prices.volatility.BTC");
      expect(fieldOf({ ...spec, initial: { ...spec.initial, ETH: 0 } })).to.equal("prices.initial.ETH");
      expect(fieldOf({ ...spec, initial: { ETH: 1, BTC: 1, STETH: 1 } })).to.equal("prices.initial.USDC");
      expect(fieldOf({ ...spec, drift: { ETH: NaN } })).to.equal("prices.drift.ETH");
      expect(fieldOf({ ...spec, correlation: CORRELATION.slice(0, 3) })).to.equal("prices.correlation");
      expect(fieldOf({ ...spec, symbols: ["ETH", "BTC", "ETH", "USDC"] })).to.equal("prices.symbols[2]");
      expect(fieldOf({ ...spec, drift: { ETH: 1e6 } }, 10_000)).to.equal("prices"); // the price overflows
    });
  });

  describe("CSV replay", () => {
    it("parses reordered, padded, case-insensitive columns, ISO dates and seconds; sorts stably by time", () => {
      const csv = [
        " Price , SYMBOL,timestamp ",
        "",
        "3100, ETH, 2024-01-01T00:02:00Z",
        "3000,ETH,2024-01-01T00:00:00Z",
        "  ",
        "60000,BTC,2024-01-01T00:00:00Z",
        "3050,ETH,2024-01-01 00:01:00",
        "3060,ETH,2024-01-01T01:01:00+01:00",
        "1,USDC,1704067200.5",
        "",
      ].join("\r\n");
      const t0 = Date.UTC(2024, 0, 1) / 1000;
      expect(parsePriceCsv(csv)).to.deep.equal([
        { time: t0, symbol: "ETH", price: 3000 },
        { time: t0, symbol: "BTC", price: 60000 },
        { time: t0 + 0.5, symbol: "USDC", price: 1 },
        { time: t0 + 60, symbol: "ETH", price: 3050 },
        { time: t0 + 60, symbol: "ETH", price: 3060 },
        { time: t0 + 120, symbol: "ETH", price: 3100 },
      ]);
      expect(parsePriceCsv("timestamp,symbol,price\n5,ETH,2\n-3,ETH,1e3")).to.deep.equal([
        { time: -3, symbol: "ETH", price: 1000 },
        { time: 5, symbol: "ETH", price: 2 },
      ]);
    });

    it("names the line, the column and what was expected in errors", () => {
      const rows = (body: string) => `timestamp,symbol,price\n0,ETH,3000\n\n${body}`;
      const bad = (text: string) => modelError(() => parsePriceCsv(text, "crash.csv"));
      const price = bad(rows("60,ETH,abc"));
      expect(price.field).to.equal("prices.csv");
      expect(price.message).to.equal('crash.csv line 4: price "abc" is not a positive number');
      expect(bad(rows("60,ETH,-5")).message).to.contain('line 4: price "-5" is not a positive number');
      expect(bad(rows("60,ETH,0")).message).to.contain('line 4: price "0"');
      expect(bad(rows("yesterday,ETH,1")).message).to.contain('line 4: timestamp "yesterday" is not');
      expect(bad(rows("2024-13-45T00:00:00Z,ETH,1")).message).to.contain("line 4: timestamp");
      expect(bad(rows("60,,1")).message).to.contain("line 4: symbol is empty");
      expect(bad(rows("60,ETH")).message).to.contain("line 4: expected 3 columns");
      expect(bad("\ntime,symbol,price\n0,ETH,1").message).to.contain(
        'line 2: header "time,symbol,price" has no "timestamp"',
      );
      expect(bad("").message).to.contain("empty");
    });

    it("replays with last-observation-carried-forward, relative to the first row", () => {
      const csv = [
        "timestamp,symbol,price",
        "1000,ETH,100",
        "1090,ETH,110",
        "1120,ETH,120",
        "1150,BTC,50000",
        "1200,BTC,51000",
        "1200,BTC,51500",
      ].join("\n");
      const spec = baseSpec({ replay: parsePriceCsv(csv) });
      const path = generatePricePath(spec, 6, 60, createRng(1));
      // step times 0, 60, 120, 180, 240, 300, 360 after the first row (t = 1000)
      expect(path.ETH).to.deep.equal([100, 100, 120, 120, 120, 120, 120]);
      expect(path.BTC).to.deep.equal([50000, 50000, 50000, 50000, 51500, 51500, 51500]);
    });

    it("does not change the other symbols' paths; shocks still apply to replayed symbols", () => {
      const replay = [
        { time: 0, symbol: "BTC", price: 60_000 },
        { time: 600, symbol: "BTC", price: 58_000 },
      ];
      const shocks = [{ step: 20, symbol: "BTC", pct: -50, overSteps: 2 }];
      const jumps = [{ symbols: ["ETH", "BTC"], intensityPerDay: 50, meanPct: -3, stdPct: 1 }];
      const simulated = generatePricePath(baseSpec({ shocks, jumps }), 100, 60, createRng(12));
      const replayed = generatePricePath(baseSpec({ shocks, jumps, replay }), 100, 60, createRng(12));
      for (const s of ["ETH", "STETH", "USDC"]) expect(replayed[s], s).to.deep.equal(simulated[s]);
      expect(replayed.BTC.slice(0, 10).every((p) => p === 60_000)).to.equal(true);
      expect(replayed.BTC.slice(10, 20).every((p) => p === 58_000)).to.equal(true);
      expect(replayed.BTC[20]).to.be.closeTo(58_000 * Math.sqrt(0.5), 1e-9);
      expect(replayed.BTC.slice(21).every((p) => Math.abs(p - 29_000) < 1e-9)).to.equal(true);
      // a replayed symbol needs no initial price or volatility
      const bare = baseSpec({ replay, initial: { ETH: 3_000, STETH: 2_990, USDC: 1 } });
      bare.volatility = { ETH: 0.8, STETH: 0.8, USDC: 0 };
      expect(generatePricePath(bare, 5, 60, createRng(1)).BTC).to.deep.equal([
        60_000, 60_000, 60_000, 60_000, 60_000, 60_000,
      ]);
      const unknown = modelError(() =>
        generatePricePath(
          baseSpec({ replay: [...replay, { time: 5, symbol: "DOGE", price: 1 }] }),
          5,
          60,
          createRng(1),
        ),
      );
      expect(unknown.field).to.equal("prices.replay[2].symbol");
    });
  });
});
