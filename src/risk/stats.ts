/**
 * Pure statistics for the Monte Carlo risk report: quantiles, Value-at-Risk, Expected Shortfall,
 * Wilson intervals for probabilities, percentile-bootstrap confidence intervals, a "does the
 * estimate move when N doubles?" convergence check, a JSON-stable summary and histograms.
 *
 * Conventions used throughout:
 * - **Loss convention**: a larger value is worse (bad debt, liquidated notional, insurance-fund
 *   drawdown, all as positive USD). VaR and ES look at the *upper* tail.
 * - **Levels** are fractions in (0, 1): 0.95, not 95.
 * - **Empirical quantile**: the lower (left-continuous) inverse of the empirical CDF, i.e.
 *   Hyndman–Fan type 1: `Q(p) = min { x : F_n(x) ≥ p } = sorted[max(1, ceil(p·n)) − 1]`
 *   (0-based index into the ascending sort). No interpolation: every quantile is an observed value.
 *   `p·n` within a relative 1e-9 of an integer is taken to be that integer, so that decimal levels
 *   behave as written (`0.07 × 100` is `7.000000000000001` in floating point but means 7).
 * - Inputs are never mutated; unsorted inputs are copied and sorted, already-sorted ones (checked in
 *   O(n)) are used as they are. NaN and ±Infinity are rejected, as is an empty input.
 * - Everything random takes an explicit seeded {@link Rng}: the same seed gives the same numbers.
 *
 * Nothing here touches the chain or Hardhat.
 */
import type { Rng } from "../sim/rng";

/** A problem with the input of a statistics function (empty sample, NaN, level out of range, …). */
export class StatsError extends Error {
  override name = "StatsError";
}

/** Any list of numbers: a plain array or a typed array. */
export type Sample = ArrayLike<number>;

/**
 * A statistic of a sample, e.g. the mean or the 99 % VaR. The bootstrap and the convergence check
 * call it with a sample **sorted ascending** (a `Float64Array` owned by the caller that must be
 * neither mutated nor kept), so order statistics need no sort of their own; a bootstrap only makes
 * sense for statistics that do not depend on the order of the sample anyway. It must return a
 * finite number.
 */
export type Statistic = (sortedSample: Float64Array) => number;

// ---------------------------------------------------------------------------------------------
// Input checks and helpers
// ---------------------------------------------------------------------------------------------

/** Relative tolerance under which `p·n` counts as an integer (see the module comment). */
const INTEGER_SNAP = 1e-9;

/** Checks that `values` is non-empty and finite; returns whether it is already sorted ascending. */
function checkSample(fn: string, values: Sample, what = "values"): boolean {
  const n = values.length;
  if (n === 0) throw new StatsError(`${fn}: ${what} is empty (need at least 1 value)`);
  let sorted = true;
  let previous = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new StatsError(`${fn}: ${what}[${i}] is ${String(x)}, expected a finite number`);
    }
    if (x < previous) sorted = false;
    previous = x;
  }
  return sorted;
}

/** An ascending `Float64Array` with the values of `values` (a copy, or a view if already sorted). */
function sortedView(fn: string, values: Sample, what = "values"): Float64Array {
  const alreadySorted = checkSample(fn, values, what);
  if (alreadySorted && values instanceof Float64Array) return values;
  const copy = Float64Array.from(values);
  if (!alreadySorted) copy.sort();
  return copy;
}

function checkProbability(fn: string, name: string, p: number, lowOpen: boolean, highOpen: boolean): void {
  const ok = typeof p === "number" && Number.isFinite(p) && (lowOpen ? p > 0 : p >= 0) && (highOpen ? p < 1 : p <= 1);
  if (!ok) {
    const range = `${lowOpen ? "(" : "["}0, 1${highOpen ? ")" : "]"}`;
    const hint = typeof p === "number" && p > 1 && p <= 100 ? ` (pass ${p / 100}, not ${p})` : "";
    throw new StatsError(`${fn}: ${name} must be in ${range}, got ${String(p)}${hint}`);
  }
}

/** `p·n`, snapped to the nearest integer when within a relative 1e-9 of it. */
function snappedRank(p: number, n: number): number {
  const h = p * n;
  const r = Math.round(h);
  return Math.abs(h - r) <= INTEGER_SNAP * Math.max(1, h) ? r : h;
}

/** Neumaier-compensated sum (order-dependent only in the last bits, and deterministic). */
function sum(values: Sample): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}

/** 1-based rank of the lower empirical p-quantile in a sample of size n. */
function quantileRank(p: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil(snappedRank(p, n))));
}

/** Lower empirical quantile of an ascending, checked sample. */
function quantileOfSorted(sorted: Float64Array, p: number): number {
  return sorted[quantileRank(p, sorted.length) - 1];
}

/** Acerbi–Tasche Expected Shortfall of an ascending, checked sample (see {@link expectedShortfall}). */
function expectedShortfallOfSorted(sorted: Float64Array, level: number): number {
  const n = sorted.length;
  const h = snappedRank(level, n);
  const j0 = Math.min(n, Math.max(1, Math.ceil(h)));
  const valueAtRisk = sorted[j0 - 1];
  // ES = VaR + (mean excess over VaR in the tail): the excesses are ≥ 0, so ES ≥ VaR holds exactly in
  // floating point too, and a flat tail gives ES = VaR exactly. The VaR observation's own weight
  // (j0 − h) multiplies a zero excess and drops out.
  let excess = 0;
  let c = 0;
  for (let i = j0; i < n; i++) {
    const x = sorted[i] - valueAtRisk;
    const t = excess + x;
    c += excess >= x ? excess - t + x : x - t + excess;
    excess = t;
  }
  excess += c;
  if (excess === 0) return valueAtRisk;
  return valueAtRisk + excess / (n - h);
}

// ---------------------------------------------------------------------------------------------
// Point statistics
// ---------------------------------------------------------------------------------------------

/** Arithmetic mean (compensated summation). Throws on an empty or non-finite sample. */
export function mean(values: Sample): number {
  checkSample("mean", values);
  return sum(values) / values.length;
}

/**
 * Sample standard deviation with Bessel's correction (divisor n − 1); 0 for a single value.
 * Throws on an empty or non-finite sample.
 */
export function standardDeviation(values: Sample): number {
  checkSample("standardDeviation", values);
  const n = values.length;
  if (n === 1) return 0;
  const m = sum(values) / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - m) ** 2;
  return Math.sqrt(sq / (n - 1));
}

/**
 * The **lower empirical p-quantile** (Hyndman–Fan type 1, the inverse of the empirical CDF):
 * the smallest observed x with F_n(x) ≥ p, i.e. `sorted[max(1, ceil(p·n)) − 1]` (0-based). So
 * `quantile(v, 0)` is the minimum, `quantile(v, 1)` the maximum, and for the integers 1..100
 * `quantile(v, 0.95) = 95`, `quantile(v, 0.951) = 96`.
 *
 * @param values sorted or unsorted; not mutated.
 * @param p in [0, 1].
 */
export function quantile(values: Sample, p: number): number {
  checkProbability("quantile", "p", p, false, false);
  return quantileOfSorted(sortedView("quantile", values), p);
}

/**
 * Value-at-Risk at `level` of a **loss** sample (larger = worse): the lower empirical
 * `level`-quantile, `VaR_α = quantile(losses, α)` — the smallest observed loss L such that at least
 * a fraction α of the paths lose at most L.
 *
 * @param level in (0, 1), e.g. 0.95 or 0.99.
 */
export function valueAtRisk(losses: Sample, level: number): number {
  checkProbability("valueAtRisk", "level", level, true, true);
  return quantileOfSorted(sortedView("valueAtRisk", losses, "losses"), level);
}

/**
 * Expected Shortfall (CVaR) at `level` of a **loss** sample, by the Acerbi–Tasche (2002) definition
 * applied to the empirical distribution: the average of the empirical quantile function over the
 * worst (1 − α) of probability,
 *
 *     ES_α = 1/(1 − α) ∫_α^1 Q(u) du
 *          = [ (j₀ − αn) · L₍j₀₎ + Σ_{j > j₀} L₍j₎ ] / (n(1 − α)),    j₀ = ceil(αn),
 *
 * with L₍1₎ ≤ … ≤ L₍n₎ the sorted losses (so L₍j₀₎ = VaR_α). When n(1 − α) is an integer k this is
 * the plain mean of the k worst outcomes (1..100 at 0.95: mean of 96..100 = 98); otherwise the
 * VaR observation gets the fractional weight (1..100 at 0.955: (0.5·96 + 97 + 98 + 99 + 100)/4.5).
 * It is a convex combination of losses ≥ VaR_α, so **VaR_α ≤ ES_α ≤ max** always (also in floating
 * point: it is computed as VaR plus a mean of non-negative excesses); when no observation exceeds
 * VaR_α (a flat tail, all-zero losses, or α so high that VaR_α is the maximum) ES_α = VaR_α exactly.
 *
 * @param level in (0, 1), e.g. 0.95 or 0.99.
 */
export function expectedShortfall(losses: Sample, level: number): number {
  checkProbability("expectedShortfall", "level", level, true, true);
  return expectedShortfallOfSorted(sortedView("expectedShortfall", losses, "losses"), level);
}

/** Ready-made {@link Statistic}s for {@link bootstrapCI} and {@link convergence}. */
export const statistics = {
  mean: ((sorted) => mean(sorted)) as Statistic,
  quantile: (p: number): Statistic => {
    checkProbability("statistics.quantile", "p", p, false, false);
    return (sorted) => quantile(sorted, p);
  },
  valueAtRisk: (level: number): Statistic => {
    checkProbability("statistics.valueAtRisk", "level", level, true, true);
    return (sorted) => valueAtRisk(sorted, level);
  },
  expectedShortfall: (level: number): Statistic => {
    checkProbability("statistics.expectedShortfall", "level", level, true, true);
    return (sorted) => expectedShortfall(sorted, level);
  },
} as const;

// ---------------------------------------------------------------------------------------------
// Normal distribution helpers
// ---------------------------------------------------------------------------------------------

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/**
 * Standard normal quantile Φ⁻¹(p) for p in (0, 1): Wichura's algorithm AS 241 (PPND16), relative
 * accuracy about 1e-16 (Φ⁻¹(0.975) = 1.959963984540054).
 */
export function normalQuantile(p: number): number {
  checkProbability("normalQuantile", "p", p, true, true);
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) * r +
          45921.953931549871457) *
          r +
          13731.693765509461125) *
          r +
          1971.5909503065514427) *
          r +
          133.14166789178437745) *
          r +
          3.387132872796366608)) /
      (((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) * r +
        21213.794301586595867) *
        r +
        5394.1960214247511077) *
        r +
        687.1870074920579083) *
        r +
        42.313330701600911252) *
        r +
        1)
    );
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let value: number;
  if (r <= 5) {
    r -= 1.6;
    value =
      (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
        1.27045825245236838258) *
        r +
        3.64784832476320460504) *
        r +
        5.7694972214606914055) *
        r +
        4.6303378461565452959) *
        r +
        1.42343711074968357734) /
      (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
        0.14810397642748007459) *
        r +
        0.68976733498510000455) *
        r +
        1.6763848301838038494) *
        r +
        2.05319162663775882187) *
        r +
        1);
  } else {
    r -= 5;
    value =
      (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
        0.026532189526576123093) *
        r +
        0.29656057182850489123) *
        r +
        1.7848265399172913358) *
        r +
        5.4637849111641143699) *
        r +
        6.6579046435011037772) /
      (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
        7.868691311456132591e-4) *
        r +
        0.0148753612908506148525) *
        r +
        0.13692988092273580531) *
        r +
        0.59983220655588793769) *
        r +
        1);
  }
  return q < 0 ? -value : value;
}

// ---------------------------------------------------------------------------------------------
// Probabilities (Wilson score interval)
// ---------------------------------------------------------------------------------------------

/** A proportion with its Wilson score interval. */
export interface ProbabilityEstimate {
  /** successes / trials. */
  estimate: number;
  low: number;
  high: number;
  successes: number;
  trials: number;
  confidence: number;
}

/**
 * The Wilson score interval for a binomial proportion, closed form: with p̂ = k/n and
 * z = Φ⁻¹((1 + confidence)/2),
 *
 *     centre = (p̂ + z²/(2n)) / (1 + z²/n)
 *     half   = z / (1 + z²/n) · sqrt( p̂(1 − p̂)/n + z²/(4n²) )
 *     [low, high] = [centre − half, centre + half]
 *
 * clamped to [0, 1], with low = 0 exactly at k = 0 and high = 1 exactly at k = n. Unlike the Wald
 * interval it is never zero-width, which matters for rare events such as insolvency.
 */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): ProbabilityEstimate {
  if (!Number.isSafeInteger(trials) || trials < 1) {
    throw new StatsError(`wilsonInterval: trials must be an integer ≥ 1, got ${String(trials)}`);
  }
  if (!Number.isSafeInteger(successes) || successes < 0 || successes > trials) {
    throw new StatsError(`wilsonInterval: successes must be an integer in [0, ${trials}], got ${String(successes)}`);
  }
  checkProbability("wilsonInterval", "confidence", confidence, true, true);
  const n = trials;
  const p = successes / n;
  const z = normalQuantile((1 + confidence) / 2);
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const low = successes === 0 ? 0 : Math.max(0, centre - half);
  const high = successes === n ? 1 : Math.min(1, centre + half);
  return { estimate: p, low, high, successes, trials, confidence };
}

/**
 * The share of `true` among `flags` (e.g. "insolvent on this path") with its Wilson score interval
 * ({@link wilsonInterval}). Throws on an empty list or a non-boolean entry.
 */
export function probability(flags: ArrayLike<boolean>, options: { confidence?: number } = {}): ProbabilityEstimate {
  if (flags.length === 0) throw new StatsError("probability: flags is empty (need at least 1 flag)");
  let k = 0;
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (typeof f !== "boolean") throw new StatsError(`probability: flags[${i}] is ${String(f)}, expected a boolean`);
    if (f) k++;
  }
  return wilsonInterval(k, flags.length, options.confidence ?? 0.95);
}

// ---------------------------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------------------------

/** A point estimate with a confidence interval. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** A percentile-bootstrap confidence interval. */
export interface BootstrapCI extends Interval {
  resamples: number;
  confidence: number;
}

export interface BootstrapOptions {
  /** The seeded stream the resampling draws from; it is advanced by n × resamples draws. */
  rng: Rng;
  /** Number of bootstrap resamples B (integer ≥ 1). Default 1000. */
  resamples?: number;
  /** Coverage of the interval, in (0, 1). Default 0.95. */
  confidence?: number;
}

const DEFAULT_RESAMPLES = 1000;
const DEFAULT_CONFIDENCE = 0.95;

function bootstrapSettings(fn: string, options: BootstrapOptions): { resamples: number; confidence: number } {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  if (!Number.isSafeInteger(resamples) || resamples < 1) {
    throw new StatsError(`${fn}: resamples must be an integer ≥ 1, got ${String(resamples)}`);
  }
  checkProbability(fn, "confidence", confidence, true, true);
  if (!options.rng || typeof options.rng.next !== "function") {
    throw new StatsError(`${fn}: options.rng (a seeded Rng from src/sim/rng) is required`);
  }
  return { resamples, confidence };
}

function evaluate(fn: string, name: string, statistic: Statistic, sorted: Float64Array): number {
  const value = statistic(sorted);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new StatsError(`${fn}: statistic "${name}" returned ${String(value)}, expected a finite number`);
  }
  return value;
}

/**
 * Percentile-bootstrap CIs of several statistics from the **same** resamples (one pass: cheaper than
 * one bootstrap per statistic, and the intervals are mutually consistent).
 *
 * Procedure: sort the sample once; for each of the B resamples draw n indices uniformly with
 * replacement (`floor(rng.next() · n)`) into the sorted sample and count them — the resample, sorted,
 * is then each sorted value repeated by its count, so no resample needs sorting (O(n) each) — and
 * evaluate every statistic on it. The interval is the pair of order statistics of the B replicates
 * at the lower empirical quantiles a = (1 − confidence)/2 and 1 − a (Efron's percentile interval:
 * the ceil(B·a)-th and ceil(B·(1 − a))-th smallest replicates). The estimate is the statistic of the
 * full sample. The result depends only on the multiset of values (not their order), the statistics'
 * names and the rng state: same seed, same numbers.
 *
 * @returns one {@link BootstrapCI} per statistic, keys in the order of `stats`.
 */
export function bootstrapCIs<K extends string>(
  values: Sample,
  stats: Record<K, Statistic>,
  options: BootstrapOptions,
): Record<K, BootstrapCI> {
  const fn = "bootstrapCI";
  const { resamples, confidence } = bootstrapSettings(fn, options);
  const sorted = sortedView(fn, values);
  const names = Object.keys(stats) as K[];
  if (names.length === 0) throw new StatsError(`${fn}: no statistics given`);
  for (const name of names) {
    if (typeof stats[name] !== "function") throw new StatsError(`${fn}: statistic "${name}" is not a function`);
  }
  const estimates = names.map((name) => evaluate(fn, name, stats[name], sorted));
  const replicates = names.map(() => new Float64Array(resamples));
  const n = sorted.length;
  const counts = new Int32Array(n);
  const resample = new Float64Array(n);
  const rng = options.rng;
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[Math.floor(rng.next() * n)]++;
    let w = 0;
    for (let i = 0; i < n; i++) {
      const v = sorted[i];
      for (let c = counts[i]; c > 0; c--) resample[w++] = v;
    }
    for (let s = 0; s < names.length; s++) replicates[s][b] = evaluate(fn, names[s], stats[names[s]], resample);
  }
  const alpha = (1 - confidence) / 2;
  const out = {} as Record<K, BootstrapCI>;
  names.forEach((name, s) => {
    const reps = replicates[s].sort();
    out[name] = {
      estimate: estimates[s],
      low: quantileOfSorted(reps, alpha),
      high: quantileOfSorted(reps, 1 - alpha),
      resamples,
      confidence,
    };
  });
  return out;
}

/**
 * Percentile-bootstrap confidence interval of one statistic; see {@link bootstrapCIs} for the
 * procedure. Deterministic given the seeded `options.rng`.
 *
 * @example bootstrapCI(badDebt, statistics.expectedShortfall(0.99), { rng: createRng(7), resamples: 2000 })
 */
export function bootstrapCI(values: Sample, statistic: Statistic, options: BootstrapOptions): BootstrapCI {
  return bootstrapCIs(values, { statistic }, options).statistic;
}

// ---------------------------------------------------------------------------------------------
// Convergence
// ---------------------------------------------------------------------------------------------

/** "Does the estimate move when N doubles?" — the first half of the paths against all of them. */
export interface ConvergenceCheck {
  /** floor(N/2): the first half of the paths, in their given order. */
  nHalf: number;
  nFull: number;
  estimateHalf: number;
  estimateFull: number;
  /**
   * |estimateHalf − estimateFull| / |estimateFull|; 0 when both are equal, `null` (undefined) when
   * the full estimate is 0 and the half estimate is not.
   */
  relativeChange: number | null;
  /** low ≤ estimateHalf ≤ high for the full sample's bootstrap CI. */
  withinCI: boolean;
  /** withinCI, or relativeChange ≤ the relative tolerance (default 1 %). */
  converged: boolean;
}

export interface ConvergenceOptions extends BootstrapOptions {
  /** A change this small (relative) counts as converged even outside the CI. Default 0.01. */
  relativeTolerance?: number;
}

const DEFAULT_RELATIVE_TOLERANCE = 0.01;

function checkRelativeTolerance(fn: string, tolerance: number): void {
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new StatsError(`${fn}: relativeTolerance must be a finite number ≥ 0, got ${String(tolerance)}`);
  }
}

function compareHalves(
  nHalf: number,
  nFull: number,
  estimateHalf: number,
  ci: Interval,
  relativeTolerance: number,
): ConvergenceCheck {
  const estimateFull = ci.estimate;
  const change = Math.abs(estimateHalf - estimateFull);
  const relativeChange = change === 0 ? 0 : estimateFull === 0 ? null : change / Math.abs(estimateFull);
  const withinCI = ci.low <= estimateHalf && estimateHalf <= ci.high;
  const converged = withinCI || (relativeChange !== null && relativeChange <= relativeTolerance);
  return { nHalf, nFull, estimateHalf, estimateFull, relativeChange, withinCI, converged };
}

/**
 * Compares the statistic on the first floor(N/2) values (in the given path order) with the
 * statistic on all N, against the full sample's percentile-bootstrap CI.
 *
 * Rule: **converged = withinCI || relativeChange ≤ relativeTolerance** (default 1 %). For an iid
 * sample the half estimate differs from the full one by about one full-sample standard error
 * (Var(θ̂_{N/2} − θ̂_N) ≈ Var(θ̂_N) for a mean, since the halves overlap), so with a 95 % CI an iid
 * sample is reported converged about 95 % of the time, and a drift between the first and the
 * second half of the paths larger than the CI shows up as not converged. The tolerance keeps a
 * practically irrelevant move from failing the check when N is so large that the CI is very tight.
 *
 * Needs N ≥ 2.
 */
export function convergence(
  values: Sample,
  statistic: Statistic,
  options: ConvergenceOptions,
): ConvergenceCheck & { ci: BootstrapCI } {
  const fn = "convergence";
  const relativeTolerance = options.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE;
  checkRelativeTolerance(fn, relativeTolerance);
  checkSample(fn, values);
  if (values.length < 2) throw new StatsError(`${fn}: need at least 2 values to halve the sample, got 1`);
  const nHalf = Math.floor(values.length / 2);
  const half = sortedView(fn, Array.prototype.slice.call(values, 0, nHalf) as number[]);
  const estimateHalf = evaluate(fn, "statistic", statistic, half);
  const ci = bootstrapCI(values, statistic, options);
  return { ...compareHalves(nHalf, values.length, estimateHalf, ci, relativeTolerance), ci };
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

export interface SummarizeOptions extends ConvergenceOptions {
  /** VaR/CVaR levels, in (0, 1). Default [0.95, 0.99]. */
  levels?: readonly number[];
  /** Plain quantiles reported as `p<100·q>` (VaR_α is already the α-quantile). Default [0.5]. */
  quantiles?: readonly number[];
}

/** One statistic of a {@link Summary}: estimate, bootstrap CI and convergence check. */
export interface SummaryStatistic extends Interval {
  convergence: ConvergenceCheck;
}

/** The JSON-serialisable summary of one per-path metric; see {@link summarize}. */
export interface Summary {
  n: number;
  min: number;
  max: number;
  /** Sample standard deviation (n − 1). */
  standardDeviation: number;
  confidence: number;
  resamples: number;
  /**
   * Keys in this order: `mean`, then `p<q>` for each quantile (ascending), then `VaR<α>` and
   * `CVaR<α>` for each level (ascending), with q and α in percent (`p50`, `VaR95`, `CVaR99`,
   * `VaR99.9`).
   */
  statistics: Record<string, SummaryStatistic>;
  /** Share of values > 0 (e.g. paths with any bad debt), Wilson interval at `confidence`. */
  probabilityPositive: ProbabilityEstimate;
  /** Every statistic's convergence check passed. */
  converged: boolean;
}

/** 0.95 → "95", 0.999 → "99.9", 0.975 → "97.5". */
function percentLabel(p: number): string {
  return String(Number((p * 100).toFixed(8)));
}

function sortedLevels(fn: string, name: string, list: readonly number[], lowOpen: boolean, highOpen: boolean) {
  const out = [...list].sort((a, b) => a - b);
  out.forEach((p) => checkProbability(fn, name, p, lowOpen, highOpen));
  return out;
}

/**
 * Summary of one per-path metric (loss convention): mean, quantiles, VaR and CVaR at each level,
 * each with a percentile-bootstrap CI (all from the same B resamples, see {@link bootstrapCIs}) and
 * a {@link convergence} check (first half of the paths vs all), plus min, max, standard deviation
 * and P(value > 0) with a Wilson interval.
 *
 * The result holds only numbers, booleans, strings-as-keys and `null`, built in a fixed key order, so
 * `JSON.stringify(summarize(v, { rng: createRng(s) }))` is byte-identical for the same values and
 * seed. Consumes n × resamples draws from `options.rng`. Needs N ≥ 2 (for the convergence check).
 */
export function summarize(values: Sample, options: SummarizeOptions): Summary {
  const fn = "summarize";
  const { resamples, confidence } = bootstrapSettings(fn, options);
  const relativeTolerance = options.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE;
  checkRelativeTolerance(fn, relativeTolerance);
  const levels = sortedLevels(fn, "level", options.levels ?? [0.95, 0.99], true, true);
  const quantiles = sortedLevels(fn, "quantile", options.quantiles ?? [0.5], false, false);
  const sorted = sortedView(fn, values);
  const n = sorted.length;
  if (n < 2) throw new StatsError(`${fn}: need at least 2 values for the convergence check, got 1`);

  // Internal statistics: the bootstrap hands them checked, sorted samples, so skip the re-checks.
  const stats: Record<string, Statistic> = { mean: (s) => sum(s) / s.length };
  for (const q of quantiles) stats[`p${percentLabel(q)}`] = (s) => quantileOfSorted(s, q);
  for (const level of levels) {
    stats[`VaR${percentLabel(level)}`] = (s) => quantileOfSorted(s, level);
    stats[`CVaR${percentLabel(level)}`] = (s) => expectedShortfallOfSorted(s, level);
  }
  const expectedKeys = 1 + quantiles.length + 2 * levels.length;
  if (Object.keys(stats).length !== expectedKeys) {
    throw new StatsError(`${fn}: duplicate levels or quantiles in ${JSON.stringify({ levels, quantiles })}`);
  }

  const cis = bootstrapCIs(sorted, stats, { rng: options.rng, resamples, confidence });
  const nHalf = Math.floor(n / 2);
  const half = sortedView(fn, Array.prototype.slice.call(values, 0, nHalf) as number[]);
  const statisticsOut: Record<string, SummaryStatistic> = {};
  let converged = true;
  for (const name of Object.keys(stats)) {
    const ci = cis[name];
    const check = compareHalves(nHalf, n, evaluate(fn, name, stats[name], half), ci, relativeTolerance);
    converged &&= check.converged;
    statisticsOut[name] = { estimate: ci.estimate, low: ci.low, high: ci.high, convergence: check };
  }
  let positive = 0;
  for (let i = 0; i < n; i++) if (sorted[i] > 0) positive++;
  return {
    n,
    min: sorted[0],
    max: sorted[n - 1],
    standardDeviation: standardDeviation(sorted),
    confidence,
    resamples,
    statistics: statisticsOut,
    probabilityPositive: wilsonInterval(positive, n, confidence),
    converged,
  };
}

// ---------------------------------------------------------------------------------------------
// Histogram
// ---------------------------------------------------------------------------------------------

export interface Histogram {
  /** bins + 1 ascending edges; bin i is [edges[i], edges[i+1]), the last bin also includes its right edge. */
  edges: number[];
  counts: number[];
  /** Values below edges[0] / above the last edge (only with an explicit range). */
  underflow: number;
  overflow: number;
  n: number;
}

/**
 * Equal-width histogram for charts. The range is [min, max] of the data unless given; if it is
 * degenerate (all values equal, v) it becomes [v, v + 1]. Bin i holds edges[i] ≤ x < edges[i+1]
 * (the last bin is closed), edges[i] = low + (high − low)·i/bins (so decimal edges such as 0.3 come
 * out as written); counts are settled against these edges, so they agree with them exactly.
 */
export function histogram(values: Sample, bins: number, range: { min?: number; max?: number } = {}): Histogram {
  const fn = "histogram";
  if (!Number.isSafeInteger(bins) || bins < 1) throw new StatsError(`${fn}: bins must be an integer ≥ 1, got ${bins}`);
  checkSample(fn, values);
  let lo = range.min;
  let hi = range.max;
  if (lo === undefined || hi === undefined) {
    let dataMin = Infinity;
    let dataMax = -Infinity;
    for (let i = 0; i < values.length; i++) {
      dataMin = Math.min(dataMin, values[i]);
      dataMax = Math.max(dataMax, values[i]);
    }
    lo ??= dataMin;
    hi ??= dataMax;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) {
    throw new StatsError(`${fn}: range must be finite with min ≤ max, got [${lo}, ${hi}]`);
  }
  if (hi === lo) hi = lo + 1;
  const span = hi - lo;
  const width = span / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi! : lo! + (span * i) / bins));
  const counts = new Array<number>(bins).fill(0);
  let underflow = 0;
  let overflow = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x < lo) {
      underflow++;
      continue;
    }
    if (x > hi) {
      overflow++;
      continue;
    }
    let b = Math.min(bins - 1, Math.floor((x - lo) / width));
    // floating-point rounding can land a value one bin off near an edge: settle it by the edges
    while (b > 0 && x < edges[b]) b--;
    while (b < bins - 1 && x >= edges[b + 1]) b++;
    counts[b]++;
  }
  return { edges, counts, underflow, overflow, n: values.length };
}
