import { expect } from "chai";
import fc from "fast-check";
import { createRng, type Rng } from "../src/sim/rng";
import {
  bootstrapCI,
  bootstrapCIs,
  convergence,
  expectedShortfall,
  histogram,
  mean,
  normalPdf,
  normalQuantile,
  probability,
  quantile,
  standardDeviation,
  statistics,
  StatsError,
  summarize,
  valueAtRisk,
  wilsonInterval,
  type Statistic,
} from "../src/risk/stats";

/** n draws from Exponential(rate) by inverse CDF: -ln(1 - U)/rate, U in [0, 1). */
function exponential(rng: Rng, n: number, rate: number): number[] {
  return Array.from({ length: n }, () => -Math.log(1 - rng.next()) / rate);
}

function normal(rng: Rng, n: number, mu: number, sigma: number): number[] {
  return Array.from({ length: n }, () => mu + sigma * rng.normal());
}

/** Fisher–Yates shuffle of a copy. */
function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Asymptotic standard deviations of the empirical VaR and ES at level q (loss convention):
 *   sd(VaR) = sqrt(q(1 - q)/n) / f(VaR)                                    (sample quantile)
 *   sd(ES)  = sqrt( [Var(L | L > VaR) + q (ES - VaR)^2] / (n (1 - q)) )    (e.g. Chen 2008, J. Fin. Econometrics)
 */
function varSd(q: number, n: number, densityAtVar: number): number {
  return Math.sqrt((q * (1 - q)) / n) / densityAtVar;
}
function esSd(q: number, n: number, tailVariance: number, esMinusVar: number): number {
  return Math.sqrt((tailVariance + q * esMinusVar ** 2) / (n * (1 - q)));
}

/** Milliseconds for `draws` bare rng.next() calls: the floor of any bootstrap with that many draws. */
function rngBaseline(draws: number): number {
  const rng = createRng("baseline");
  const started = Date.now();
  let acc = 0;
  for (let i = 0; i < draws; i++) acc += rng.next();
  expect(acc).to.be.above(0);
  return Date.now() - started;
}

/**
 * Time limit for a 10,000 × 2,000 bootstrap: 1 s, or 3.5× the bare random draws on a loaded machine
 * (unloaded: ~0.25 s of draws, ~0.4 s in all; sorting every resample would add over 10× the draws).
 */
function timeBudget(baselineMs: number): number {
  return Math.max(1000, 3.5 * baselineMs);
}

const ONE_TO_100 = Array.from({ length: 100 }, (_, i) => i + 1);

describe("Risk statistics (src/risk/stats)", function () {
  describe("quantile, VaR and CVaR", function () {
    it("exact values on the integers 1..100 (lower empirical quantile, Acerbi–Tasche ES), sorted or not", function () {
      const inputs = [ONE_TO_100, shuffled(ONE_TO_100, createRng("shuffle")), Float64Array.from(ONE_TO_100)];
      for (const xs of inputs) {
        const before = Array.from(xs);
        // quantile: sorted[ceil(p n) - 1]
        expect(quantile(xs, 0)).to.equal(1);
        expect(quantile(xs, 0.01)).to.equal(1); // ceil(1) = 1
        expect(quantile(xs, 0.011)).to.equal(2); // ceil(1.1) = 2
        expect(quantile(xs, 0.07)).to.equal(7); // 0.07 * 100 = 7.000000000000001 in floating point: still 7
        expect(quantile(xs, 0.5)).to.equal(50); // lower median: no averaging of 50 and 51
        expect(quantile(xs, 0.95)).to.equal(95);
        expect(quantile(xs, 0.951)).to.equal(96); // ceil(95.1) = 96
        expect(quantile(xs, 1)).to.equal(100);
        expect(valueAtRisk(xs, 0.95)).to.equal(95);
        expect(valueAtRisk(xs, 0.99)).to.equal(99);
        // n(1 - level) an integer k: the mean of the k worst outcomes
        expect(expectedShortfall(xs, 0.9)).to.equal(95.5); // mean(91..100)
        expect(expectedShortfall(xs, 0.95)).to.equal(98); // mean(96..100)
        expect(expectedShortfall(xs, 0.99)).to.equal(100);
        // fractional: VaR = 96 carries weight ceil(95.5) - 95.5 = 0.5, then 97..100; divided by 4.5
        expect(expectedShortfall(xs, 0.955)).to.be.closeTo((0.5 * 96 + 97 + 98 + 99 + 100) / 4.5, 1e-12); // 98.222…
        // VaR = 99 with weight 0.5, then 100; divided by 1.5
        expect(expectedShortfall(xs, 0.985)).to.be.closeTo((0.5 * 99 + 100) / 1.5, 1e-12); // 99.666…
        expect(Array.from(xs)).to.deep.equal(before, "the input must not be mutated");
      }
      // tiny samples: a level beyond the last observation gives the maximum for both
      expect(valueAtRisk([3, 1, 2], 0.99)).to.equal(3);
      expect(expectedShortfall([3, 1, 2], 0.99)).to.equal(3);
      expect(expectedShortfall([3, 1, 2], 0.5)).to.be.closeTo((0.5 * 2 + 3) / 1.5, 1e-12); // ceil(1.5) = 2
    });

    it("VaR ≤ CVaR ≤ max, CVaR ≥ mean, and CVaR equals the integral of the empirical quantile function (property)", function () {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
          fc.double({ min: 0.001, max: 0.999, noNaN: true }),
          (xs, level) => {
            const sorted = [...xs].sort((a, b) => a - b);
            const n = xs.length;
            const v = valueAtRisk(xs, level);
            const es = expectedShortfall(xs, level);
            expect(v).to.be.at.most(es);
            expect(es).to.be.at.most(sorted[n - 1]);
            const scale = Math.max(1, ...xs.map(Math.abs));
            expect(es).to.be.at.least(mean(xs) - 1e-9 * scale);
            // brute force: (1/(1 - level)) * Σ_j sorted[j-1] · |((j-1)/n, j/n] ∩ (level, 1]|
            let integral = 0;
            for (let j = 1; j <= n; j++) integral += sorted[j - 1] * Math.max(0, j / n - Math.max((j - 1) / n, level));
            expect(es).to.be.closeTo(integral / (1 - level), 1e-9 * scale);
          },
        ),
        { seed: 20240601, numRuns: 200 },
      );
    });

    it("Exponential(λ): VaR_q ≈ -ln(1 - q)/λ and CVaR_q ≈ VaR_q + 1/λ within 4 asymptotic standard errors", function () {
      const rate = 0.5;
      const n = 200_000;
      const xs = exponential(createRng("exp-closed-form"), n, rate);
      for (const q of [0.95, 0.99]) {
        const trueVar = -Math.log(1 - q) / rate;
        const trueEs = trueVar + 1 / rate; // memoryless: E[L | L > v] = v + 1/λ
        // density at VaR: λ(1 - q); tail variance 1/λ², ES - VaR = 1/λ
        const tolVar = 4 * varSd(q, n, rate * (1 - q)); // q = 0.99: 0.25 on 9.21
        const tolEs = 4 * esSd(q, n, 1 / rate ** 2, 1 / rate); // q = 0.99: 0.25 on 11.21
        expect(valueAtRisk(xs, q), `VaR ${q}`).to.be.closeTo(trueVar, tolVar);
        expect(expectedShortfall(xs, q), `CVaR ${q}`).to.be.closeTo(trueEs, tolEs);
        // and the tolerances are tight enough to tell VaR from CVaR apart
        expect(tolVar + tolEs).to.be.below(1 / rate);
      }
    });

    it("Normal(μ, σ): VaR_q ≈ μ + σ z_q and CVaR_q ≈ μ + σ φ(z_q)/(1 - q) within 4 asymptotic standard errors", function () {
      expect(normalQuantile(0.95)).to.be.closeTo(1.6448536269514722, 1e-14);
      expect(normalQuantile(0.975)).to.be.closeTo(1.959963984540054, 1e-14);
      expect(normalQuantile(0.99)).to.be.closeTo(2.3263478740408408, 1e-14);
      expect(normalQuantile(1e-10)).to.be.closeTo(-6.361340902404056, 1e-12);
      const mu = 10;
      const sigma = 3;
      const n = 200_000;
      const xs = normal(createRng("normal-closed-form"), n, mu, sigma);
      for (const q of [0.95, 0.99]) {
        const z = normalQuantile(q);
        const mills = normalPdf(z) / (1 - q); // E[Z | Z > z]
        const trueVar = mu + sigma * z;
        const trueEs = mu + sigma * mills;
        const tailVariance = sigma ** 2 * (1 + z * mills - mills ** 2); // Var(X | X > VaR)
        const tolVar = 4 * varSd(q, n, normalPdf(z) / sigma);
        const tolEs = 4 * esSd(q, n, tailVariance, sigma * (mills - z));
        expect(valueAtRisk(xs, q), `VaR ${q}`).to.be.closeTo(trueVar, tolVar);
        expect(expectedShortfall(xs, q), `CVaR ${q}`).to.be.closeTo(trueEs, tolEs);
        expect(tolEs).to.be.below(0.1 * sigma);
      }
      expect(mean(xs)).to.be.closeTo(mu, (4 * sigma) / Math.sqrt(n));
      expect(standardDeviation(xs)).to.be.closeTo(sigma, 4 * (sigma / Math.sqrt(2 * n)));
    });
  });

  describe("Wilson interval", function () {
    // z = Φ⁻¹(0.975) = 1.959963984540054, z² = 3.841458820694125, n = 10:
    //   0/10:  low 0, high = z²/(n + z²) = 3.8414588/13.8414588 = 0.2775328
    //   10/10: low = n/(n + z²) = 10/13.8414588 = 0.7224672, high 1
    //   5/10:  centre 0.5, half = z/(1 + z²/n) · sqrt(0.25/10 + z²/400) = 1.4160090 · 0.1860206 = 0.2634069
    it("matches hand-computed values for 0, 5 and 10 successes out of 10 at 95 %", function () {
      const none = probability(new Array<boolean>(10).fill(false));
      expect(none).to.include({ estimate: 0, low: 0, successes: 0, trials: 10, confidence: 0.95 });
      expect(none.high).to.be.closeTo(0.2775328, 1e-7);
      const half = probability([true, false, true, false, true, false, true, false, true, false]);
      expect(half.estimate).to.equal(0.5);
      expect(half.low).to.be.closeTo(0.2365931, 1e-7);
      expect(half.high).to.be.closeTo(0.7634069, 1e-7);
      const all = probability(new Array<boolean>(10).fill(true));
      expect(all).to.include({ estimate: 1, high: 1 });
      expect(all.low).to.be.closeTo(0.7224672, 1e-7);
      // a wider confidence gives a wider interval; 1 of 1000 still has a positive upper bound
      const wide = wilsonInterval(5, 10, 0.99);
      expect(wide.low).to.be.below(half.low);
      expect(wide.high).to.be.above(half.high);
      const rare = wilsonInterval(0, 1000);
      expect(rare.high).to.be.closeTo(3.8414588 / 1003.8414588, 1e-9);
    });
  });

  describe("bootstrap", function () {
    it("equals a naive resample-and-sort reference and hands the statistic sorted samples", function () {
      const xs = exponential(createRng("naive-data"), 37, 1);
      const resamples = 200;
      let calls = 0;
      let unsorted = 0;
      const q90: Statistic = (s) => {
        calls++;
        for (let i = 1; i < s.length; i++) if (s[i - 1] > s[i]) unsorted++;
        return quantile(s, 0.9);
      };
      const ci = bootstrapCI(xs, q90, { rng: createRng("naive-boot"), resamples, confidence: 0.8 });
      expect(calls).to.equal(resamples + 1);
      expect(unsorted).to.equal(0);

      // reference: indices into the sorted sample, resample sorted, percentile = ceil(B a)-th replicate
      const sorted = [...xs].sort((a, b) => a - b);
      const rng = createRng("naive-boot");
      const reps: number[] = [];
      for (let b = 0; b < resamples; b++) {
        const resample = Array.from({ length: xs.length }, () => sorted[Math.floor(rng.next() * xs.length)]);
        reps.push(quantile(resample, 0.9));
      }
      reps.sort((a, b) => a - b);
      expect(ci).to.deep.equal({
        estimate: quantile(xs, 0.9),
        low: reps[Math.ceil(resamples * 0.1) - 1], // 20th smallest
        high: reps[Math.ceil(resamples * 0.9) - 1], // 180th smallest
        resamples,
        confidence: 0.8,
      });
      expect(ci.low).to.be.below(ci.high);
    });

    it("covers the true mean and 95 % quantile of Exponential(1) at about the stated 90 % (400 experiments, n = 200)", function () {
      // Binomial tolerance: with 400 experiments the coverage estimate has sd sqrt(0.9 · 0.1/400) = 0.015.
      // Mean: [0.86, 0.94] is about ±2.7 sd. The percentile bootstrap of a tail quantile at n = 200
      // undercovers somewhat (its bootstrap distribution is discrete and the sample quantile is
      // biased low; ≈ 0.87 measured over 3,000 experiments), hence [0.82, 0.94] for the quantile.
      const experiments = 400;
      const n = 200;
      const trueMean = 1;
      const trueQ95 = Math.log(20);
      let coveredMean = 0;
      let coveredQ95 = 0;
      for (let e = 0; e < experiments; e++) {
        const root = createRng(`coverage-${e}`);
        const xs = exponential(root.fork("data"), n, 1);
        const ci = bootstrapCIs(
          xs,
          { mean: statistics.mean, q95: statistics.quantile(0.95) },
          { rng: root.fork("bootstrap"), resamples: 500, confidence: 0.9 },
        );
        if (ci.mean.low <= trueMean && trueMean <= ci.mean.high) coveredMean++;
        if (ci.q95.low <= trueQ95 && trueQ95 <= ci.q95.high) coveredQ95++;
      }
      expect(coveredMean / experiments, "mean coverage").to.be.within(0.86, 0.94);
      expect(coveredQ95 / experiments, "q95 coverage").to.be.within(0.82, 0.94);
    });

    it("10,000 paths × 2,000 resamples of CVaR99 run well under a second (O(n) per resample, no sort)", function () {
      const xs = exponential(createRng("perf"), 10_000, 1);
      const baseline = rngBaseline(10_000 * 2000);
      const started = Date.now();
      const ci = bootstrapCI(xs, statistics.expectedShortfall(0.99), { rng: createRng("perf-boot"), resamples: 2000 });
      const elapsed = Date.now() - started;
      expect(ci.low).to.be.below(ci.estimate);
      expect(ci.high).to.be.above(ci.estimate);
      expect(elapsed, `${elapsed} ms (the bare draws: ${baseline} ms)`).to.be.below(timeBudget(baseline));
    });
  });

  describe("convergence (first half vs all paths)", function () {
    it("flags a sample whose halves differ and passes iid samples (20 seeds each)", function () {
      let driftConverged = 0;
      let iidConverged = 0;
      for (let s = 0; s < 20; s++) {
        const rng = createRng(`convergence-${s}`);
        // first half Exponential(mean 1), second half Exponential(mean 2): the full mean is 1.5, the half 1,
        // while the full sample's 95 % CI is about ±0.07 wide
        const drift = [...exponential(rng.fork("a"), 1000, 1), ...exponential(rng.fork("b"), 1000, 0.5)];
        const d = convergence(drift, statistics.mean, { rng: rng.fork("boot-drift"), resamples: 300 });
        expect(d.nHalf).to.equal(1000);
        expect(d.nFull).to.equal(2000);
        expect(d.estimateHalf).to.equal(mean(drift.slice(0, 1000)));
        expect(d.estimateFull).to.equal(d.ci.estimate);
        expect(d.relativeChange).to.be.closeTo(1 / 3, 0.05);
        if (d.converged) driftConverged++;
        const iid = exponential(rng.fork("iid"), 2000, 1);
        const c = convergence(iid, statistics.mean, { rng: rng.fork("boot-iid"), resamples: 300 });
        if (c.converged) iidConverged++;
      }
      expect(driftConverged).to.equal(0);
      // within a 95 % CI about 95 % of the time: 19 of 20 expected, at least 16 (binomial P(< 16) ≈ 0.3 %)
      expect(iidConverged).to.be.at.least(16);
    });

    it("the relative tolerance accepts a tiny move outside a very tight CI, and only then", function () {
      // halves 1,1,... and 1.001,1.001,...: the bootstrap CI of the mean is ~1e-5 wide around 1.0005,
      // the half mean 1 lies outside it, but moved only 0.05 %
      const xs = [...new Array<number>(5000).fill(1), ...new Array<number>(5000).fill(1.001)];
      const loose = convergence(xs, statistics.mean, { rng: createRng("tol"), resamples: 300 });
      expect(loose.withinCI).to.equal(false);
      expect(loose.relativeChange).to.be.closeTo(0.0005 / 1.0005, 1e-9);
      expect(loose.converged).to.equal(true);
      const strict = convergence(xs, statistics.mean, { rng: createRng("tol"), resamples: 300, relativeTolerance: 0 });
      expect(strict.converged).to.equal(false);
    });
  });

  describe("summarize", function () {
    const losses = exponential(createRng("summary-data"), 5000, 1 / 1000); // USD bad debt, mean $1,000

    it("is byte-identical for the same seed, differs in its CIs for another, and has a stable shape", function () {
      const a = JSON.stringify(summarize(losses, { rng: createRng(42), resamples: 300 }));
      const b = JSON.stringify(summarize(losses, { rng: createRng(42), resamples: 300 }));
      expect(a).to.equal(b);
      const summary = summarize(losses, { rng: createRng(43), resamples: 300 });
      const other = JSON.parse(a);
      expect(JSON.parse(JSON.stringify(summary))).to.deep.equal(summary, "JSON round trip loses nothing");
      expect(Object.keys(summary)).to.deep.equal([
        "n",
        "min",
        "max",
        "standardDeviation",
        "confidence",
        "resamples",
        "statistics",
        "probabilityPositive",
        "converged",
      ]);
      expect(Object.keys(summary.statistics)).to.deep.equal(["mean", "p50", "VaR95", "CVaR95", "VaR99", "CVaR99"]);
      for (const [name, stat] of Object.entries(summary.statistics)) {
        expect(stat.estimate, name).to.equal(other.statistics[name].estimate); // estimates do not depend on the seed
        expect(stat.low, name).to.be.at.most(stat.high);
      }
      expect(summary.statistics.mean.low).to.not.equal(other.statistics.mean.low);
      expect(summary.statistics.CVaR99.high).to.not.equal(other.statistics.CVaR99.high);
      // the point estimates are the stand-alone functions'
      expect(summary.statistics.mean.estimate).to.be.closeTo(mean(losses), 1e-9);
      expect(summary.statistics.VaR99.estimate).to.equal(valueAtRisk(losses, 0.99));
      expect(summary.statistics.CVaR95.estimate).to.equal(expectedShortfall(losses, 0.95));
      expect(summary.statistics.p50.estimate).to.equal(quantile(losses, 0.5));
      expect(summary.n).to.equal(5000);
      expect(summary.probabilityPositive.estimate).to.equal(1);
      // and the CI of the mean brackets the true $1,000 comfortably at n = 5000
      expect(summary.statistics.mean.low).to.be.below(1000);
      expect(summary.statistics.mean.high).to.be.above(1000);
      // the same numbers whatever the order of the levels
      const reordered = summarize(losses, { rng: createRng(42), resamples: 300, levels: [0.99, 0.95] });
      expect(JSON.stringify(reordered)).to.equal(a);
    });

    it("custom levels and quantiles give their keys; a 10,000-path summary with 2,000 resamples takes well under a second", function () {
      const big = exponential(createRng("summary-big"), 10_000, 1);
      const baseline = rngBaseline(10_000 * 2000);
      const started = Date.now();
      const s = summarize(big, { rng: createRng(1), resamples: 2000, levels: [0.999, 0.975], quantiles: [0.9, 0.5] });
      const elapsed = Date.now() - started;
      expect(Object.keys(s.statistics)).to.deep.equal([
        "mean",
        "p50",
        "p90",
        "VaR97.5",
        "CVaR97.5",
        "VaR99.9",
        "CVaR99.9",
      ]);
      expect(s.converged).to.equal(Object.values(s.statistics).every((x) => x.convergence.converged));
      expect(elapsed, `${elapsed} ms (the bare draws: ${baseline} ms)`).to.be.below(timeBudget(baseline));
    });
  });

  describe("histogram", function () {
    it("counts equal-width bins, closed on the right at the top, with under/overflow for a given range", function () {
      const xs = Array.from({ length: 11 }, (_, i) => i); // 0..10
      const h = histogram(xs, 5);
      expect(h.edges).to.deep.equal([0, 2, 4, 6, 8, 10]);
      expect(h.counts).to.deep.equal([2, 2, 2, 2, 3]); // 10 falls in the last, closed bin
      expect(h).to.include({ underflow: 0, overflow: 0, n: 11 });
      const clipped = histogram(xs, 5, { min: 0, max: 5 });
      expect(clipped.counts).to.deep.equal([1, 1, 1, 1, 2]);
      expect(clipped).to.include({ underflow: 0, overflow: 5 });
      // decimal edges land as written: 0, 0.1, …, 1 one per bin (1.0 joins 0.9 in the last bin)
      const decimals = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
      const d = histogram(decimals, 10);
      expect(d.edges.slice(0, 10)).to.deep.equal(decimals.slice(0, 10));
      expect(d.counts).to.deep.equal([1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
      // all equal: range [v, v + 1], everything in the first bin
      const flat = histogram([0, 0, 0], 4);
      expect(flat.edges).to.deep.equal([0, 0.25, 0.5, 0.75, 1]);
      expect(flat.counts).to.deep.equal([3, 0, 0, 0]);
    });
  });

  describe("edge cases", function () {
    it("an empty input throws a StatsError saying it is empty", function () {
      const rng = createRng(1);
      const calls: Array<[string, () => unknown]> = [
        ["quantile", () => quantile([], 0.5)],
        ["valueAtRisk", () => valueAtRisk([], 0.95)],
        ["expectedShortfall", () => expectedShortfall([], 0.95)],
        ["mean", () => mean([])],
        ["bootstrapCI", () => bootstrapCI([], statistics.mean, { rng })],
        ["convergence", () => convergence([], statistics.mean, { rng })],
        ["summarize", () => summarize([], { rng })],
        ["probability", () => probability([])],
        ["histogram", () => histogram([], 10)],
      ];
      for (const [name, call] of calls) {
        expect(call, name).to.throw(StatsError, new RegExp(`^${name}: .*empty`));
      }
    });

    it("bad values and arguments are named in the error", function () {
      expect(() => valueAtRisk([1, NaN, 3], 0.95)).to.throw(StatsError, /losses\[1\] is NaN/);
      expect(() => mean([1, Infinity])).to.throw(StatsError, /values\[1\] is Infinity/);
      expect(() => valueAtRisk([1, 2], 95)).to.throw(StatsError, /level must be in \(0, 1\), got 95 \(pass 0\.95/);
      expect(() => expectedShortfall([1, 2], 1)).to.throw(StatsError, /level must be in \(0, 1\)/);
      expect(() => quantile([1, 2], -0.1)).to.throw(StatsError, /p must be in \[0, 1\]/);
      expect(() => bootstrapCI([1, 2], statistics.mean, { rng: createRng(1), resamples: 0 })).to.throw(
        StatsError,
        /resamples must be an integer ≥ 1/,
      );
      expect(() => bootstrapCI([1, 2], () => NaN, { rng: createRng(1), resamples: 5 })).to.throw(
        StatsError,
        /returned NaN/,
      );
      expect(() => summarize([5], { rng: createRng(1) })).to.throw(StatsError, /at least 2 values/);
      expect(() => summarize([1, 2, 3], { rng: createRng(1), levels: [0.95, 0.95] })).to.throw(StatsError, /duplicate/);
      expect(() => wilsonInterval(11, 10)).to.throw(StatsError, /successes must be an integer in \[0, 10\]/);
    });

    it("all-zero losses: VaR = CVaR = 0 with zero-width CIs, converged, and P(loss > 0) = 0 with a Wilson upper bound", function () {
      const zeros = new Array<number>(1000).fill(0);
      expect(valueAtRisk(zeros, 0.99)).to.equal(0);
      expect(expectedShortfall(zeros, 0.99)).to.equal(0);
      expect(
        bootstrapCI(zeros, statistics.expectedShortfall(0.95), { rng: createRng(3), resamples: 100 }),
      ).to.deep.equal({ estimate: 0, low: 0, high: 0, resamples: 100, confidence: 0.95 });
      const s = summarize(zeros, { rng: createRng(3), resamples: 100 });
      for (const [name, stat] of Object.entries(s.statistics)) {
        expect(stat, name).to.include({ estimate: 0, low: 0, high: 0 });
        expect(stat.convergence, name).to.include({ relativeChange: 0, withinCI: true, converged: true });
      }
      expect(s.converged).to.equal(true);
      expect(s.probabilityPositive).to.include({ estimate: 0, low: 0 });
      expect(s.probabilityPositive.high).to.be.closeTo(3.8414588 / 1003.8414588, 1e-9);
      // a flat non-zero tail also gives CVaR = VaR exactly (no rounding below VaR)
      expect(expectedShortfall(new Array<number>(7).fill(0.1), 0.9)).to.equal(0.1);
    });
  });
});
