/**
 * Exogenous price paths for the simulator (DESIGN §11): correlated geometric Brownian motion,
 * market-wide Poisson jumps, scheduled shocks and CSV replay, and beyond GBM: volatility/correlation
 * regimes (a broken correlation, a depeg), Brownian bridges pinned at a target price, and CSV
 * histories replayed under another symbol with their volatility rescaled. A path is a pure function
 * of (spec, steps, stepSeconds, rng seed): random draws are consumed in a fixed order from two
 * forks, `rng.fork("gbm")` (one normal per symbol per step, symbol order) and `rng.fork("jumps")`.
 * Regimes, bridges and rescaled replays draw nothing: they transform the same draws (common random
 * numbers), so path i of a Monte Carlo run stays comparable across their parameter values.
 */
import type { Rng } from "./rng";

/** Market-wide jumps: every symbol listed moves by the same log-size, ~ N(ln(1 + meanPct/100), stdPct/100). */
export interface JumpSpec {
  symbols: string[];
  /** Expected jumps per day (Poisson). */
  intensityPerDay: number;
  meanPct: number;
  stdPct: number;
}

/**
 * A deterministic move of `pct` percent (e.g. -35), spread geometrically evenly over `overSteps`
 * steps: the prices of steps `step` … `step + overSteps - 1` each move by (1 + pct/100)^(1/overSteps),
 * so price[step + overSteps - 1] / price[step - 1] = 1 + pct/100 (on top of the rest of the model).
 */
export interface ShockSpec {
  step: number;
  symbol: string;
  pct: number;
  overSteps: number;
}

/** One row of a replayed price file; `time` in seconds. */
export interface CsvRow {
  time: number;
  symbol: string;
  price: number;
}

/**
 * A Brownian bridge: from step `fromStep` through `toStep` the log-price of `symbol` is pinned at
 * the path's price at step a = fromStep − 1 and at the target at step b = toStep:
 *
 *   log S_t = log S_a + (t−a)/(b−a)·(log T − log S_a) + (N_t − (t−a)/(b−a)·N_b),   a ≤ t ≤ b,
 *
 * where N_t = X_t − X_a is the unbridged path's own log-increment since a (GBM noise σ√dt·ΣZ, drift
 * and the jumps inside the window; the drift cancels in the bridge, so this is the textbook
 * σ√dt·(B_t − B_a − (t−a)/(b−a)·(B_b − B_a)) with jumps pinned like the rest of the noise). So
 * price[toStep] = T exactly and, after toStep, the symbol keeps its unbridged log-returns from T.
 * Exactly one of `targetPct` (a move relative to the price at step fromStep − 1, > −100) and
 * `targetPrice` (USD, > 0). Bridges are applied last, after replay and shocks: a shock before the
 * window is part of S_a, a shock after it moves the path from T as usual, and a shock on the same
 * symbol overlapping the window [fromStep, toStep] is rejected (it could not both apply and leave
 * the target exact). Two bridges of one symbol must not overlap; the later one starts from the
 * earlier one's target when adjacent. Not for replayed symbols.
 */
export interface BridgeSpec {
  symbol: string;
  fromStep: number;
  toStep: number;
  targetPct?: number;
  targetPrice?: number;
}

/**
 * A regime: from step `fromStep` through `toStep` (default: the last step) the GBM uses this
 * correlation matrix (a full symbols × symbols matrix; missing = the base one) and these per-symbol
 * annualized volatilities and drifts (symbols not listed keep the base values). The normals ε are
 * the same as without the regime (only the Cholesky factor, σ and μ change), so the path up to step
 * fromStep − 1 is identical and, after toStep, the log-returns are the base model's again.
 * Regimes must not overlap.
 */
export interface RegimeSpec {
  fromStep: number;
  toStep?: number;
  correlation?: number[][];
  volatility?: Partial<Record<string, number>>;
  drift?: Partial<Record<string, number>>;
}

/**
 * Replays `symbol` from the CSV rows of `source` (a symbol of the CSV, not necessarily one of the
 * model's): price[t] = initial[symbol] · (src[t] / src[0])^k, i.e. the source's per-step log-returns
 * on the step grid (last observation carried forward, as for plain replay) multiplied by k, starting
 * at the symbol's own initial price. k = `scale`, or `volatility` ÷ the source's realized volatility
 * over the run (see realizedVolatility); neither = 1; not both. A CSV symbol used as a source is not
 * replayed as itself (write `{source: "ETH", symbol: "ETH"}` for that too). Like replayed symbols,
 * the target takes no GBM and no jumps; shocks still multiply it.
 */
export interface ReplayAsSpec {
  source: string;
  symbol: string;
  volatility?: number;
  scale?: number;
}

/** The price model. Per-symbol records are keyed by symbol. */
export interface PriceProcessSpec {
  /** Symbols, in the order used by the correlation matrix. */
  symbols: string[];
  /** Initial prices, USD (not needed for replayed symbols). */
  initial: Record<string, number>;
  /** Annualized volatility as a fraction, e.g. 0.8 (not needed for replayed symbols). */
  volatility: Record<string, number>;
  /** Annualized drift as a fraction (0 if missing). */
  drift: Record<string, number>;
  /** Correlation of the GBM shocks, symbols × symbols. */
  correlation: number[][];
  jumps: JumpSpec[];
  shocks: ShockSpec[];
  /** Rows to replay (time relative to the earliest row); their symbols are replayed instead of simulated. */
  replay?: CsvRow[];
  /** Symbols replayed from another CSV symbol's rows, volatility-rescaled. */
  replayAs?: ReplayAsSpec[];
  /** Steps with another correlation / volatility / drift. */
  regimes?: RegimeSpec[];
  /** Brownian bridges pinning a symbol at a target price. */
  bridges?: BridgeSpec[];
}

/** An invalid price model; `field` is the scenario path of the culprit, e.g. "prices.correlation[0][2]". */
export class PriceModelError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "PriceModelError";
  }
}

const SECONDS_PER_DAY = 86_400;
const SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY;
/** Pivots within this of zero are taken as zero (perfectly correlated assets). */
const PIVOT_TOLERANCE = 1e-12;
const SYMMETRY_TOLERANCE = 1e-9;

/**
 * The lower-triangular Cholesky factor L of a symmetric positive semi-definite matrix (L·Lᵀ = matrix;
 * only the lower triangle is read). Zero pivots (|pivot| ≤ 1e-12, e.g. two assets with correlation 1)
 * give a zero column. Throws PriceModelError("prices.correlation") if the matrix is not PSD.
 */
export function choleskyLower(matrix: number[][]): number[][] {
  const n = matrix.length;
  for (let i = 0; i < n; i++) {
    if (!Array.isArray(matrix[i]) || matrix[i].length !== n) {
      throw new PriceModelError("prices.correlation", `correlation matrix is not square (row ${i})`);
    }
  }
  const L: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let k = 0; k < n; k++) {
    let pivot = matrix[k][k];
    for (let j = 0; j < k; j++) pivot -= L[k][j] * L[k][j];
    if (!(pivot >= -PIVOT_TOLERANCE)) {
      throw new PriceModelError(
        "prices.correlation",
        `correlation matrix is not positive semi-definite (pivot k = ${k} is ${pivot})`,
      );
    }
    if (pivot <= PIVOT_TOLERANCE) {
      // a zero pivot: in a PSD matrix the rest of column k of the Schur complement is zero as well
      // (|s_ik| ≤ √(s_kk·s_ii)), so the column of L is zero
      for (let i = k + 1; i < n; i++) {
        let residual = matrix[i][k];
        for (let j = 0; j < k; j++) residual -= L[i][j] * L[k][j];
        const bound = Math.sqrt(PIVOT_TOLERANCE * Math.max(1, Math.abs(matrix[i][i]))) + PIVOT_TOLERANCE;
        if (!(Math.abs(residual) <= bound)) {
          throw new PriceModelError(
            "prices.correlation",
            `correlation matrix is not positive semi-definite (pivot k = ${k} is 0 but entry [${i}][${k}] leaves ${residual})`,
          );
        }
      }
      continue;
    }
    const d = Math.sqrt(pivot);
    L[k][k] = d;
    for (let i = k + 1; i < n; i++) {
      let residual = matrix[i][k];
      for (let j = 0; j < k; j++) residual -= L[i][j] * L[k][j];
      L[i][k] = residual / d;
    }
  }
  return L;
}

/**
 * Checks a correlation matrix against its symbols: square, one row per symbol, finite entries in
 * [-1, 1], ones on the diagonal, symmetric (to 1e-9) and positive semi-definite. Errors name the
 * entry, e.g. PriceModelError("prices.correlation[0][2]", …).
 */
export function validateCorrelation(matrix: number[][], symbols: string[]): void {
  const n = symbols.length;
  if (!Array.isArray(matrix) || matrix.length !== n) {
    throw new PriceModelError(
      "prices.correlation",
      `expected a ${n}×${n} correlation matrix (one row per symbol: ${symbols.join(", ")}), got ${Array.isArray(matrix) ? matrix.length : typeof matrix} rows`,
    );
  }
  for (let i = 0; i < n; i++) {
    const row = matrix[i];
    if (!Array.isArray(row) || row.length !== n) {
      throw new PriceModelError(
        `prices.correlation[${i}]`,
        `expected ${n} entries in the row of ${symbols[i]}, got ${Array.isArray(row) ? row.length : typeof row}`,
      );
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = matrix[i][j];
      const field = `prices.correlation[${i}][${j}]`;
      const pair = `${symbols[i]}/${symbols[j]}`;
      if (typeof v !== "number" || !Number.isFinite(v) || v < -1 || v > 1) {
        throw new PriceModelError(field, `correlation ${pair} must be a number in [-1, 1], got ${v}`);
      }
      if (i === j && Math.abs(v - 1) > SYMMETRY_TOLERANCE) {
        throw new PriceModelError(field, `correlation of ${symbols[i]} with itself must be 1, got ${v}`);
      }
      if (j > i && Math.abs(v - matrix[j][i]) > SYMMETRY_TOLERANCE) {
        throw new PriceModelError(
          field,
          `correlation matrix must be symmetric: ${pair} is ${v} but ${symbols[j]}/${symbols[i]} is ${matrix[j][i]}`,
        );
      }
    }
  }
  choleskyLower(matrix);
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** Seconds since the epoch for a number of seconds or an ISO-8601 date (UTC unless an offset is given). */
function parseTime(text: string): number | undefined {
  if (NUMBER.test(text)) {
    const t = Number(text);
    return Number.isFinite(t) ? t : undefined;
  }
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  // a date-time without an offset would be read as local time by Date.parse: pin it to UTC
  let iso = text.toUpperCase().replace(" ", "T");
  if (iso.includes("T") && m[1] === undefined) iso += "Z";
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/**
 * Parses a price file with the header `timestamp,symbol,price` (case-insensitive, any column order,
 * extra columns ignored; blank lines ignored). Timestamps are seconds or ISO-8601 dates (UTC unless
 * an offset is given). Throws PriceModelError("prices.csv", `${source} line N: …`) naming the line,
 * the column and what was expected. Rows come back sorted by time (stable: equal times keep file order).
 */
export function parsePriceCsv(text: string, source = "CSV"): CsvRow[] {
  function fail(message: string): never {
    throw new PriceModelError("prices.csv", `${source} ${message}`);
  }
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  let header: { time: number; symbol: number; price: number; width: number } | undefined;
  const rows: CsvRow[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const lineNo = index + 1;
    if (line.trim() === "") continue;
    const cells = line.split(",").map(unquote);
    if (!header) {
      const names = cells.map((c) => c.toLowerCase());
      const column = (name: string): number => {
        const at = names.indexOf(name);
        if (at < 0)
          fail(`line ${lineNo}: header "${line.trim()}" has no "${name}" column (expected timestamp,symbol,price)`);
        if (names.indexOf(name, at + 1) >= 0) fail(`line ${lineNo}: header has the column "${name}" twice`);
        return at;
      };
      header = { time: column("timestamp"), symbol: column("symbol"), price: column("price"), width: cells.length };
      continue;
    }
    if (cells.length !== header.width) {
      fail(`line ${lineNo}: expected ${header.width} columns like the header, got ${cells.length}`);
    }
    const timeText = cells[header.time];
    const time = parseTime(timeText);
    if (time === undefined) {
      fail(`line ${lineNo}: timestamp "${timeText}" is not a number of seconds or an ISO-8601 date`);
    }
    const symbol = cells[header.symbol];
    if (symbol === "") fail(`line ${lineNo}: symbol is empty`);
    const priceText = cells[header.price];
    const price = NUMBER.test(priceText) ? Number(priceText) : NaN;
    if (!(Number.isFinite(price) && price > 0)) fail(`line ${lineNo}: price "${priceText}" is not a positive number`);
    rows.push({ time, symbol, price });
  }
  if (!header) fail("line 1: expected a header timestamp,symbol,price, the file is empty");
  return rows.sort((x, y) => x.time - y.time);
}

/** Per-step GBM parameters, in symbol order. */
interface StepParams {
  /** Per-step log drift (mu - σ²/2)·dt. */
  driftDt: number[];
  /** Per-step σ·√dt. */
  volDt: number[];
  /** Cholesky factor, row-major n×n. */
  L: Float64Array;
}

/** Checked and precomputed model; everything in symbol order. */
interface Model {
  n: number;
  /** Replayed from the CSV (own rows or replayAs): no GBM, no jumps. */
  replayed: boolean[];
  initial: number[];
  base: StepParams;
  /** Regimes sorted by step, steps from … to inclusive. */
  regimes: (StepParams & { from: number; to: number })[];
  jumps: { lambda: number; mu: number; sd: number; targets: number[] }[];
  /** `factor` = 1 + pct/100, the whole move. */
  shocks: { step: number; index: number; factor: number; overSteps: number }[];
  /** Symbols replayed from their own rows. */
  direct: boolean[];
  /** Rescaled replays: the source's step-grid prices and the log-return multiplier. */
  replayAs: { index: number; grid: number[]; k: number }[];
  /** Bridges sorted by symbol then step; a = fromStep − 1, b = toStep. */
  bridges: { index: number; a: number; b: number; targetPct?: number; targetPrice?: number }[];
}

function isPositive(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v > 0;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function isStep(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** Row-major copy of the lower Cholesky factor of a correlation matrix. */
function packedCholesky(matrix: number[][], n: number): Float64Array {
  const lower = choleskyLower(matrix);
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) L[i * n + j] = lower[i][j];
  return L;
}

/**
 * The price of `symbol` at each step 0 … steps from CSV rows: the last price at or before the step's
 * time (time relative to the earliest row of all `rows`; before the symbol's first row, its first
 * price). Throws a RangeError if the symbol has no row.
 */
export function replayGridPrices(rows: CsvRow[], symbol: string, steps: number, stepSeconds: number): number[] {
  const sorted = rows.slice().sort((x, y) => x.time - y.time);
  const own = sorted.filter((r) => r.symbol === symbol);
  if (own.length === 0) throw new RangeError(`no rows for "${symbol}"`);
  const t0 = sorted[0].time;
  const path = new Array<number>(steps + 1);
  let next = 0;
  let price = own[0].price;
  for (let s = 0; s <= steps; s++) {
    const t = s * stepSeconds;
    while (next < own.length && own[next].time - t0 <= t) price = own[next++].price;
    path[s] = price;
  }
  return path;
}

/**
 * Realized annualized volatility of a price series sampled every `stepSeconds`: the sample standard
 * deviation (n − 1) of its log-returns × √(steps per year), a year being 365 days. NaN with fewer
 * than two returns.
 */
export function realizedVolatility(prices: number[], stepSeconds: number): number {
  const count = prices.length - 1;
  if (count < 2) return NaN;
  let sum = 0;
  for (let s = 1; s <= count; s++) sum += Math.log(prices[s] / prices[s - 1]);
  const mean = sum / count;
  let sq = 0;
  for (let s = 1; s <= count; s++) sq += (Math.log(prices[s] / prices[s - 1]) - mean) ** 2;
  return Math.sqrt((sq / (count - 1)) * (SECONDS_PER_YEAR / stepSeconds));
}

function checkModel(spec: PriceProcessSpec, steps: number, stepSeconds: number): Model {
  if (!Number.isSafeInteger(steps) || steps < 0) {
    throw new PriceModelError("steps", `expected a whole number of steps ≥ 0, got ${steps}`);
  }
  if (!isPositive(stepSeconds)) {
    throw new PriceModelError("stepSeconds", `expected a positive number of seconds per step, got ${stepSeconds}`);
  }
  const symbols = spec.symbols;
  if (!Array.isArray(symbols) || symbols.length === 0) {
    throw new PriceModelError("prices.symbols", "expected at least one symbol");
  }
  const slot = new Map<string, number>();
  symbols.forEach((s, i) => {
    if (typeof s !== "string" || s === "") throw new PriceModelError(`prices.symbols[${i}]`, "expected a symbol name");
    if (slot.has(s)) throw new PriceModelError(`prices.symbols[${i}]`, `symbol "${s}" is listed twice`);
    slot.set(s, i);
  });
  const n = symbols.length;
  const known = symbols.join(", ");
  const lookup = (field: string, s: string): number => {
    const i = slot.get(s);
    if (i === undefined) throw new PriceModelError(field, `symbol "${s}" is not one of ${known}`);
    return i;
  };

  // rescaled replays first: their sources' rows are not replayed as themselves
  const rows = spec.replay ?? [];
  const sources = new Set<string>();
  const targetOf = new Map<number, number>();
  const replayAsChecked = (spec.replayAs ?? []).map((entry, k) => {
    const field = `prices.replayAs[${k}]`;
    const index = lookup(`${field}.symbol`, entry.symbol);
    const earlier = targetOf.get(index);
    if (earlier !== undefined) {
      throw new PriceModelError(
        `${field}.symbol`,
        `${entry.symbol} is already replayed by prices.replayAs[${earlier}]: at most one entry per symbol`,
      );
    }
    targetOf.set(index, k);
    if (typeof entry.source !== "string" || entry.source === "") {
      throw new PriceModelError(`${field}.source`, "expected the name of a symbol of the CSV");
    }
    if (rows.length === 0) {
      throw new PriceModelError(`${field}.source`, "needs prices.csv, the file whose rows are replayed");
    }
    if (!rows.some((r) => r.symbol === entry.source)) {
      const inFile = [...new Set(rows.map((r) => r.symbol))].join(", ");
      throw new PriceModelError(`${field}.source`, `the CSV has no rows for "${entry.source}" (it has ${inFile})`);
    }
    sources.add(entry.source);
    if (entry.volatility !== undefined && entry.scale !== undefined) {
      throw new PriceModelError(`${field}.scale`, "expected volatility or scale, not both");
    }
    if (entry.scale !== undefined && !(isFiniteNumber(entry.scale) && entry.scale >= 0)) {
      throw new PriceModelError(`${field}.scale`, `expected a factor ≥ 0, got ${entry.scale}`);
    }
    if (entry.volatility !== undefined && !(isFiniteNumber(entry.volatility) && entry.volatility >= 0)) {
      throw new PriceModelError(`${field}.volatility`, `expected a volatility ≥ 0, got ${entry.volatility}`);
    }
    return { entry, field, index };
  });

  const direct = new Array<boolean>(n).fill(false);
  rows.forEach((row, r) => {
    if (sources.has(row.symbol)) return;
    direct[lookup(`prices.replay[${r}].symbol`, row.symbol)] = true;
  });
  rows.forEach((row, r) => {
    if (typeof row.time !== "number" || !Number.isFinite(row.time)) {
      throw new PriceModelError(`prices.replay[${r}].time`, `expected a finite time in seconds, got ${row.time}`);
    }
    if (!isPositive(row.price)) {
      throw new PriceModelError(`prices.replay[${r}].price`, `expected a positive price, got ${row.price}`);
    }
  });
  for (const { field, index } of replayAsChecked) {
    if (direct[index]) {
      throw new PriceModelError(
        `${field}.symbol`,
        `${symbols[index]} has rows of its own in the CSV: it cannot be replayed from another symbol as well`,
      );
    }
  }
  const replayed = direct.map((d, i) => d || targetOf.has(i));

  validateCorrelation(spec.correlation, symbols);
  const L = packedCholesky(spec.correlation, n);

  const dt = stepSeconds / SECONDS_PER_YEAR;
  const initial = new Array<number>(n).fill(0);
  const driftDt = new Array<number>(n).fill(0);
  const volDt = new Array<number>(n).fill(0);
  symbols.forEach((s, i) => {
    const p0 = spec.initial?.[s];
    const sigma = spec.volatility?.[s];
    const mu = spec.drift?.[s] ?? 0;
    if (typeof mu !== "number" || !Number.isFinite(mu)) {
      throw new PriceModelError(`prices.drift.${s}`, `expected a finite drift, got ${mu}`);
    }
    if (p0 !== undefined || !direct[i]) {
      if (!isPositive(p0)) throw new PriceModelError(`prices.initial.${s}`, `expected a positive price, got ${p0}`);
      initial[i] = p0;
    }
    if (sigma !== undefined || !replayed[i]) {
      if (typeof sigma !== "number" || !Number.isFinite(sigma) || sigma < 0) {
        throw new PriceModelError(`prices.volatility.${s}`, `expected a volatility ≥ 0, got ${sigma}`);
      }
      driftDt[i] = (mu - (sigma * sigma) / 2) * dt;
      volDt[i] = sigma * Math.sqrt(dt);
    }
  });
  const base: StepParams = { driftDt, volDt, L };

  const regimes = (spec.regimes ?? []).map((regime, k) => {
    const field = `prices.regimes[${k}]`;
    if (!isStep(regime.fromStep, 1, steps)) {
      throw new PriceModelError(`${field}.fromStep`, `expected a step in 1 … ${steps}, got ${regime.fromStep}`);
    }
    const to = regime.toStep ?? steps;
    if (!isStep(to, regime.fromStep, steps)) {
      throw new PriceModelError(`${field}.toStep`, `expected a step in ${regime.fromStep} … ${steps}, got ${to}`);
    }
    for (const [key, values] of [
      ["volatility", regime.volatility],
      ["drift", regime.drift],
    ] as const) {
      for (const [s, v] of Object.entries(values ?? {})) {
        lookup(`${field}.${key}.${s}`, s);
        const ok = key === "volatility" ? isFiniteNumber(v) && v >= 0 : isFiniteNumber(v);
        if (!ok) {
          throw new PriceModelError(
            `${field}.${key}.${s}`,
            `expected ${key === "volatility" ? "a volatility ≥ 0" : "a finite drift"}, got ${v}`,
          );
        }
      }
    }
    let regimeL = L;
    if (regime.correlation !== undefined) {
      try {
        validateCorrelation(regime.correlation, symbols);
        regimeL = packedCholesky(regime.correlation, n);
      } catch (error) {
        if (error instanceof PriceModelError) {
          throw new PriceModelError(error.field.replace(/^prices\.correlation/, `${field}.correlation`), error.message);
        }
        throw error;
      }
    }
    const regimeDrift = driftDt.slice();
    const regimeVol = volDt.slice();
    symbols.forEach((s, i) => {
      const sigma = regime.volatility?.[s] ?? spec.volatility?.[s];
      if (sigma === undefined) return; // a replayed symbol without a volatility
      const mu = regime.drift?.[s] ?? spec.drift?.[s] ?? 0;
      regimeDrift[i] = (mu - (sigma * sigma) / 2) * dt;
      regimeVol[i] = sigma * Math.sqrt(dt);
    });
    return { from: regime.fromStep, to, driftDt: regimeDrift, volDt: regimeVol, L: regimeL, k };
  });
  regimes.sort((x, y) => x.from - y.from);
  for (let r = 1; r < regimes.length; r++) {
    const [prev, next] = [regimes[r - 1], regimes[r]];
    if (next.from <= prev.to) {
      const [first, second] = prev.k < next.k ? [prev, next] : [next, prev];
      throw new PriceModelError(
        `prices.regimes[${second.k}].fromStep`,
        `regimes must not overlap: steps ${second.from} … ${second.to} overlap prices.regimes[${first.k}] (steps ${first.from} … ${first.to})`,
      );
    }
  }

  const jumps = (spec.jumps ?? []).map((jump, k) => {
    const field = `prices.jumps[${k}]`;
    if (!Array.isArray(jump.symbols) || jump.symbols.length === 0) {
      throw new PriceModelError(`${field}.symbols`, "expected at least one symbol");
    }
    const targets = jump.symbols.map((s, j) => lookup(`${field}.symbols[${j}]`, s)).filter((i) => !replayed[i]);
    if (
      typeof jump.intensityPerDay !== "number" ||
      !Number.isFinite(jump.intensityPerDay) ||
      jump.intensityPerDay < 0
    ) {
      throw new PriceModelError(`${field}.intensityPerDay`, `expected a rate ≥ 0, got ${jump.intensityPerDay}`);
    }
    if (typeof jump.meanPct !== "number" || !Number.isFinite(jump.meanPct) || jump.meanPct <= -100) {
      throw new PriceModelError(`${field}.meanPct`, `expected a mean move > -100 %, got ${jump.meanPct}`);
    }
    if (typeof jump.stdPct !== "number" || !Number.isFinite(jump.stdPct) || jump.stdPct < 0) {
      throw new PriceModelError(`${field}.stdPct`, `expected a standard deviation ≥ 0, got ${jump.stdPct}`);
    }
    return {
      lambda: (jump.intensityPerDay * stepSeconds) / SECONDS_PER_DAY,
      mu: Math.log1p(jump.meanPct / 100),
      sd: jump.stdPct / 100,
      targets,
    };
  });

  const shocks = (spec.shocks ?? []).map((shock, k) => {
    const field = `prices.shocks[${k}]`;
    const index = lookup(`${field}.symbol`, shock.symbol);
    if (!Number.isSafeInteger(shock.step) || shock.step < 1 || shock.step > steps) {
      throw new PriceModelError(`${field}.step`, `expected a step in 1 … ${steps}, got ${shock.step}`);
    }
    if (!Number.isSafeInteger(shock.overSteps) || shock.overSteps < 1) {
      throw new PriceModelError(`${field}.overSteps`, `expected a whole number of steps ≥ 1, got ${shock.overSteps}`);
    }
    if (typeof shock.pct !== "number" || !Number.isFinite(shock.pct) || shock.pct <= -100) {
      throw new PriceModelError(`${field}.pct`, `expected a move > -100 %, got ${shock.pct}`);
    }
    return { step: shock.step, index, factor: 1 + shock.pct / 100, overSteps: shock.overSteps };
  });

  const replayAs = replayAsChecked.map(({ entry, field, index }) => {
    const grid = replayGridPrices(rows, entry.source, steps, stepSeconds);
    let k = entry.scale ?? 1;
    if (entry.volatility !== undefined) {
      const realized = realizedVolatility(grid, stepSeconds);
      if (!(realized > 0)) {
        throw new PriceModelError(
          `${field}.volatility`,
          `cannot rescale ${entry.source} to a volatility: its realized volatility over the run is ${
            Number.isNaN(realized) ? "undefined (fewer than 2 steps)" : "0 (its price never moves on the step grid)"
          }`,
        );
      }
      k = entry.volatility / realized;
    }
    return { index, grid, k };
  });

  const bridges = (spec.bridges ?? []).map((bridge, k) => {
    const field = `prices.bridges[${k}]`;
    const index = lookup(`${field}.symbol`, bridge.symbol);
    if (replayed[index]) {
      throw new PriceModelError(
        `${field}.symbol`,
        `${bridge.symbol} is replayed from the CSV: a bridge applies to simulated symbols only`,
      );
    }
    if (!isStep(bridge.fromStep, 1, steps)) {
      throw new PriceModelError(`${field}.fromStep`, `expected a step in 1 … ${steps}, got ${bridge.fromStep}`);
    }
    if (!isStep(bridge.toStep, bridge.fromStep, steps)) {
      throw new PriceModelError(
        `${field}.toStep`,
        `expected a step in ${bridge.fromStep} … ${steps} (fromStep … steps), got ${bridge.toStep}`,
      );
    }
    const { targetPct, targetPrice } = bridge;
    if (targetPct === undefined && targetPrice === undefined) {
      throw new PriceModelError(field, "expected a target: targetPct or targetPrice");
    }
    if (targetPct !== undefined && targetPrice !== undefined) {
      throw new PriceModelError(`${field}.targetPrice`, "expected targetPct or targetPrice, not both");
    }
    if (targetPct !== undefined && !(isFiniteNumber(targetPct) && targetPct > -100)) {
      throw new PriceModelError(`${field}.targetPct`, `expected a move > -100 %, got ${targetPct}`);
    }
    if (targetPrice !== undefined && !isPositive(targetPrice)) {
      throw new PriceModelError(`${field}.targetPrice`, `expected a positive price, got ${targetPrice}`);
    }
    shocks.forEach((shock, j) => {
      const last = shock.step + shock.overSteps - 1;
      if (shock.index === index && shock.step <= bridge.toStep && last >= bridge.fromStep) {
        throw new PriceModelError(
          field,
          `prices.shocks[${j}] moves ${bridge.symbol} during steps ${shock.step} … ${last}, inside the bridge's window ${bridge.fromStep} … ${bridge.toStep}: a bridge pins its target, shocks on its symbol must lie outside the window`,
        );
      }
    });
    return { index, a: bridge.fromStep - 1, b: bridge.toStep, targetPct, targetPrice, k };
  });
  bridges.sort((x, y) => x.index - y.index || x.a - y.a);
  for (let j = 1; j < bridges.length; j++) {
    const [prev, next] = [bridges[j - 1], bridges[j]];
    if (prev.index === next.index && next.a < prev.b) {
      const [first, second] = prev.k < next.k ? [prev, next] : [next, prev];
      throw new PriceModelError(
        `prices.bridges[${second.k}].fromStep`,
        `bridges of one symbol must not overlap: steps ${second.a + 1} … ${second.b} overlap prices.bridges[${first.k}] (steps ${first.a + 1} … ${first.b}) on ${symbols[next.index]}`,
      );
    }
  }

  return { n, replayed, initial, base, regimes, jumps, shocks, direct, replayAs, bridges };
}

/**
 * Pins `path` at `target` at step b with a bridge from step a (in log space, over the path's own
 * increments since a), and moves everything after b by the same factor (log-returns kept).
 */
function applyBridge(path: number[], a: number, b: number, target: number): void {
  const start = path[a];
  const span = b - a;
  const pull = Math.log(target / start);
  const end = Math.log(path[b] / start);
  for (let t = a + 1; t < b; t++) {
    const f = (t - a) / span;
    path[t] = start * Math.exp(f * pull + (Math.log(path[t] / start) - f * end));
  }
  const shift = target / path[b];
  for (let t = b + 1; t < path.length; t++) path[t] *= shift;
  path[b] = target;
}

/**
 * Simulates the price of every symbol: an array of `steps + 1` prices per symbol, index 0 the
 * initial price and index s the price after step s (time s × stepSeconds).
 *
 * Per step, with dt = stepSeconds / (365 × 86400) years: log return = (mu − σ²/2)·dt + σ·√dt·z, with
 * z = L·ε (L = Cholesky factor of the correlation, ε independent normals from `rng.fork("gbm")`,
 * one per symbol in symbol order, replayed symbols included so that replaying one symbol does not
 * move the others); within a regime (steps fromStep … toStep) the regime's L, σ and mu replace the
 * base ones for that step, with the same ε. Plus, per JumpSpec, Poisson(intensityPerDay ×
 * stepSeconds / 86400) jumps from `rng.fork("jumps")`, each moving every listed symbol by the same
 * log-size. Replayed symbols take the last CSV price at or before the step's time (time relative to
 * the earliest row; before a symbol's first row, its first price) instead of GBM and jumps;
 * `replayAs` symbols take their source's step-grid log-returns × k from their initial price.
 * Then, in this order: shocks multiply every symbol, replayed or not; bridges pin their symbol at
 * their target (see BridgeSpec). Throws PriceModelError for an invalid spec or a price that leaves
 * (0, ∞).
 */
export function generatePricePath(
  spec: PriceProcessSpec,
  steps: number,
  stepSeconds: number,
  rng: Rng,
): Record<string, number[]> {
  const model = checkModel(spec, steps, stepSeconds);
  const { n, replayed, initial, base, regimes, jumps, shocks, direct, replayAs, bridges } = model;
  const paths: number[][] = Array.from({ length: n }, () => new Array<number>(steps + 1));

  // random part, in log space: GBM then jumps, step by step, symbol order
  const gbm = rng.fork("gbm");
  const jumpRng = rng.fork("jumps");
  const eps = new Float64Array(n);
  const logs = new Float64Array(n);
  const jumpLog = new Float64Array(n);
  let regime = 0;
  for (let i = 0; i < n; i++) paths[i][0] = initial[i];
  for (let s = 1; s <= steps; s++) {
    for (let i = 0; i < n; i++) eps[i] = gbm.normal();
    jumpLog.fill(0);
    for (const jump of jumps) {
      const count = jump.lambda > 0 ? jumpRng.poisson(jump.lambda) : 0;
      for (let c = 0; c < count; c++) {
        const size = jump.mu + jump.sd * jumpRng.normal();
        for (const i of jump.targets) jumpLog[i] += size;
      }
    }
    while (regime < regimes.length && regimes[regime].to < s) regime++;
    const { driftDt, volDt, L } = regime < regimes.length && regimes[regime].from <= s ? regimes[regime] : base;
    for (let i = 0; i < n; i++) {
      if (replayed[i]) continue;
      let z = 0;
      const row = i * n;
      for (let j = 0; j <= i; j++) z += L[row + j] * eps[j];
      logs[i] += driftDt[i] + volDt[i] * z + jumpLog[i];
      paths[i][s] = initial[i] * Math.exp(logs[i]);
    }
  }

  if (spec.replay && spec.replay.length > 0) {
    const rows = spec.replay;
    spec.symbols.forEach((symbol, i) => {
      if (direct[i]) paths[i] = replayGridPrices(rows, symbol, steps, stepSeconds);
    });
  }
  // rescaled replays: initial · (src[t] / src[0])^k, i.e. the source's log-returns × k, without
  // accumulating rounding over the steps
  for (const { index, grid, k } of replayAs) {
    const path = paths[index];
    const p0 = initial[index];
    for (let s = 0; s <= steps; s++) path[s] = p0 * Math.pow(grid[s] / grid[0], k);
  }

  // shocks: cumulative factor (1 + pct)^(elapsed / overSteps), exact once the shock is complete
  for (const shock of shocks) {
    const path = paths[shock.index];
    for (let s = shock.step; s <= steps; s++) {
      const done = Math.min(s - shock.step + 1, shock.overSteps);
      path[s] *= done === shock.overSteps ? shock.factor : Math.pow(shock.factor, done / shock.overSteps);
    }
  }

  // bridges, by symbol and step: a later bridge of a symbol starts from the path the earlier one left
  for (const bridge of bridges) {
    const path = paths[bridge.index];
    const target = bridge.targetPrice ?? path[bridge.a] * (1 + (bridge.targetPct ?? 0) / 100);
    applyBridge(path, bridge.a, bridge.b, target);
  }

  const result: Record<string, number[]> = {};
  spec.symbols.forEach((symbol, i) => {
    const path = paths[i];
    for (let s = 0; s <= steps; s++) {
      if (!(Number.isFinite(path[s]) && path[s] > 0)) {
        throw new PriceModelError(
          "prices",
          `the ${symbol} price left (0, ∞) at step ${s} (${path[s]}): drift, volatility or jumps are too extreme for this horizon`,
        );
      }
    }
    result[symbol] = path;
  });
  return result;
}
