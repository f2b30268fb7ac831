/**
 * The pure part of a **parameter frontier**: a sweep over one or two protocol parameters (maintenance
 * rate, hedge offset, liquidation fee, …) where every grid point was run as a Monte Carlo. Each point
 * has a capital efficiency (exposure per unit of collateral: higher is better) and a risk (VaR95 of
 * bad debt in USD with a bootstrap CI: lower is better). This module finds the Pareto frontier,
 * recommends the most efficient point within a risk tolerance (with a sentence saying why), and draws
 * the trade-off as a self-contained SVG scatter chart or a terminal table.
 *
 * Conventions:
 * - **Dominance** uses the risk *estimate*: point j dominates point i when
 *   `efficiency_j ≥ efficiency_i` and `risk_j ≤ risk_i` with at least one of them strict. Equal
 *   points do not dominate each other, so both stay on the frontier.
 * - **Risk used against the tolerance**: `use: "estimate"` compares the estimate; `use: "upper"`
 *   (the conservative default) compares the CI's upper bound — `max(high, estimate)`, which is `high`
 *   whenever the CI contains the estimate (a percentile-bootstrap CI need not, in rare cases).
 * - Every number must be finite and every CI ordered (`low ≤ high`); a bad input throws a
 *   {@link FrontierError} naming the function, the point (index and parameters) and the field.
 * - Everything is deterministic: the same input gives the same flags, index, sentence and the same
 *   SVG byte for byte (no locale, time zone or randomness; numbers are formatted by hand).
 *
 * Nothing here touches the chain or Hardhat.
 */
import { escapeHtml } from "../sim/html";

/** A problem with the input of a frontier function (empty list, NaN, negative tolerance, …). */
export class FrontierError extends Error {
  override name = "FrontierError";
}

/** A point estimate with its confidence interval (the shape of a `SummaryStatistic` in ./stats). */
export interface RiskInterval {
  estimate: number;
  low: number;
  high: number;
}

/** One grid point of a parameter sweep, run as a Monte Carlo. */
export interface FrontierPoint {
  /** The swept parameter values of this point, e.g. `{ "protocol.hedgeOffset": 0.5 }`. */
  parameters: Record<string, number | string>;
  /** Exposure per unit of collateral (×); higher is better. */
  efficiency: number;
  /** VaR95 of bad debt in USD with its bootstrap CI; lower is better. */
  risk: RiskInterval;
  /** Shown instead of the `k=v` list in sentences, tables and chart labels. */
  label?: string;
}

/** Which risk figure is compared with the tolerance; see the module comment. */
export type RiskBasis = "estimate" | "upper";

export interface Tolerance {
  /** The largest acceptable VaR95 of bad debt, USD (finite, ≥ 0). */
  maxRiskUsd: number;
  /** Compare the estimate or the CI's upper bound (default, conservative: "upper"). */
  use?: RiskBasis;
}

/** Presentation options shared by {@link recommend}, {@link frontierTable} and {@link renderFrontierSvg}. */
export interface FrontierTextOptions {
  /** Coverage of the risk CIs, for the wording ("95 % CI"). Default 0.95. */
  confidence?: number;
}

/** The result of {@link recommend}. */
export interface Recommendation {
  /** The recommended point (input index), or `null` when no point is within tolerance. */
  index: number | null;
  /** The risk basis that was compared with the tolerance. */
  use: RiskBasis;
  maxRiskUsd: number;
  /** The points within tolerance, in input order (empty when `index` is null). */
  qualifying: number[];
  /** The point with the lowest compared risk (ties: higher efficiency, then input order). */
  leastRisky: number;
  /** The compared risk of `index`, or of `leastRisky` when nothing qualifies. */
  riskUsd: number;
  /** One sentence (or two) explaining the choice, or how far off the least risky point is. */
  explanation: string;
}

// ---------------------------------------------------------------------------------------------
// Formatting (deterministic: no locale involved)
// ---------------------------------------------------------------------------------------------

const group = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** `value` with `places` decimals and thousands separators; negative with U+2212 as in src/sim/html. */
function fixed(value: number, places: number): string {
  const text = Math.abs(value).toFixed(places);
  const [whole, fraction] = text.split(".");
  const sign = value < 0 && Number(text) !== 0 ? "−" : "";
  return sign + group(whole) + (fraction ? "." + fraction : "");
}

/** USD for sentences and tables: whole dollars from $100 up, cents below ("$1,234", "$12.50", "$0"). */
export function formatRiskUsd(value: number): string {
  const text = fixed(value, Math.abs(value) >= 100 ? 0 : 2).replace(/\.00$/, "");
  return text.startsWith("−") ? "−$" + text.slice(1) : "$" + text;
}

/** Capital efficiency: "12.3×", "2.25×", "140×" (about three significant digits, no trailing zeros). */
export function formatEfficiency(value: number): string {
  const abs = Math.abs(value);
  const text = fixed(value, abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
  return (text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text) + "×";
}

/** A parameter value as written in a grid: floating-point noise removed (0.1 + 0.2 → "0.3"). */
function formatParameter(value: number | string): string {
  return typeof value === "number" ? String(Number(value.toPrecision(12))) : value;
}

/** 0.95 → "95", 0.975 → "97.5". */
function percentLabel(p: number): string {
  return String(Number((p * 100).toFixed(8)));
}

/**
 * `k=v` for each parameter (insertion order, joined by ", "), or the point's own label, or "point #i".
 * `shortKeys` drops the key's dotted prefix ("protocol.hedgeOffset" → "hedgeOffset") where unambiguous.
 */
export function pointLabel(point: FrontierPoint, index: number, options: { shortKeys?: boolean } = {}): string {
  return labelLines(point, index, options.shortKeys ?? false).join(", ");
}

/** The label as lines: the point's own label, or one `k=v` per parameter, or "point #i". */
function labelLines(point: FrontierPoint, index: number, short: boolean): string[] {
  if (point.label !== undefined && point.label !== "") return [point.label];
  const keys = Object.keys(point.parameters);
  if (keys.length === 0) return [`point #${index}`];
  const names = short ? shortKeys(keys) : new Map(keys.map((k) => [k, k]));
  return keys.map((k) => `${names.get(k) ?? k}=${formatParameter(point.parameters[k])}`);
}

/** "protocol.hedgeOffset" → "hedgeOffset", unless two keys would then read the same. */
function shortKeys(keys: readonly string[]): Map<string, string> {
  const last = (k: string): string => k.slice(k.lastIndexOf(".") + 1) || k;
  const seen = new Map<string, number>();
  for (const k of keys) seen.set(last(k), (seen.get(last(k)) ?? 0) + 1);
  return new Map(keys.map((k) => [k, seen.get(last(k))! > 1 ? k : last(k)]));
}

// ---------------------------------------------------------------------------------------------
// Input checks
// ---------------------------------------------------------------------------------------------

/** "point 2 (protocol.hedgeOffset=0.5)" — parameters only, so it is safe to build from bad points. */
function describePoint(point: unknown, index: number): string {
  const params = (point as { parameters?: unknown } | null)?.parameters;
  if (params === null || typeof params !== "object") return `point ${index}`;
  const text = Object.entries(params as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === "number" ? formatParameter(v) : String(v)}`)
    .join(", ");
  return text ? `point ${index} (${text})` : `point ${index}`;
}

function checkPoints(fn: string, points: readonly FrontierPoint[]): void {
  if (!Array.isArray(points)) throw new FrontierError(`${fn}: points must be an array`);
  if (points.length === 0) throw new FrontierError(`${fn}: points is empty (need at least 1 point)`);
  points.forEach((point, i) => {
    const where = `${fn}: ${describePoint(point, i)}`;
    if (point === null || typeof point !== "object") throw new FrontierError(`${fn}: point ${i} is not an object`);
    const params: unknown = point.parameters;
    if (params === null || typeof params !== "object" || Array.isArray(params)) {
      throw new FrontierError(`${where}: parameters must be an object of numbers and strings`);
    }
    for (const [key, value] of Object.entries(params as Record<string, unknown>)) {
      if (typeof value === "string") continue;
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new FrontierError(
          `${where}: parameters["${key}"] is ${String(value)}, expected a finite number or a string`,
        );
      }
    }
    const finite = (field: string, value: unknown): void => {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new FrontierError(`${where}: ${field} is ${String(value)}, expected a finite number`);
      }
    };
    finite("efficiency", point.efficiency);
    if (point.risk === null || typeof point.risk !== "object") {
      throw new FrontierError(`${where}: risk must be an object { estimate, low, high }`);
    }
    finite("risk.estimate", point.risk.estimate);
    finite("risk.low", point.risk.low);
    finite("risk.high", point.risk.high);
    if (point.risk.low > point.risk.high) {
      throw new FrontierError(`${where}: risk.low (${point.risk.low}) is above risk.high (${point.risk.high})`);
    }
    if (point.label !== undefined && typeof point.label !== "string") {
      throw new FrontierError(`${where}: label must be a string`);
    }
  });
}

function checkTolerance(fn: string, tolerance: Tolerance): RiskBasis {
  if (tolerance === null || typeof tolerance !== "object") {
    throw new FrontierError(`${fn}: tolerance must be an object { maxRiskUsd, use }`);
  }
  const max = tolerance.maxRiskUsd;
  if (typeof max !== "number" || !Number.isFinite(max) || max < 0) {
    throw new FrontierError(`${fn}: tolerance.maxRiskUsd must be a finite number ≥ 0, got ${String(max)}`);
  }
  const use = tolerance.use ?? "upper";
  if (use !== "estimate" && use !== "upper") {
    throw new FrontierError(`${fn}: tolerance.use must be "estimate" or "upper", got ${String(use)}`);
  }
  return use;
}

function checkConfidence(fn: string, confidence: number): void {
  if (typeof confidence !== "number" || !(confidence > 0 && confidence < 1)) {
    throw new FrontierError(`${fn}: confidence must be in (0, 1), got ${String(confidence)}`);
  }
}

function checkFlags(fn: string, points: readonly FrontierPoint[], flags: readonly boolean[]): void {
  if (!Array.isArray(flags) || flags.length !== points.length) {
    throw new FrontierError(
      `${fn}: frontierFlags must have one boolean per point (${points.length}), got ${Array.isArray(flags) ? flags.length : String(flags)}`,
    );
  }
  flags.forEach((f, i) => {
    if (typeof f !== "boolean") {
      throw new FrontierError(
        `${fn}: frontierFlags[${i}] for ${describePoint(points[i], i)} is ${String(f)}, expected a boolean`,
      );
    }
  });
}

function checkRecommended(
  fn: string,
  points: readonly FrontierPoint[],
  recommendation: { index: number | null } | null,
) {
  const index = recommendation?.index ?? null;
  if (index !== null && !(Number.isSafeInteger(index) && index >= 0 && index < points.length)) {
    throw new FrontierError(
      `${fn}: recommendation.index must be null or in [0, ${points.length - 1}], got ${String(index)}`,
    );
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// Pareto frontier and recommendation
// ---------------------------------------------------------------------------------------------

/** The risk compared with the tolerance: the estimate, or `max(high, estimate)` for "upper". */
export function riskFor(point: FrontierPoint, use: RiskBasis): number {
  return use === "estimate" ? point.risk.estimate : Math.max(point.risk.high, point.risk.estimate);
}

/**
 * For each point (input order), whether it is on the Pareto frontier: no other point has
 * `efficiency ≥` and `risk.estimate ≤` with at least one strict. Equal points are both on it.
 * O(n²), which is nothing for a grid of a few hundred points.
 */
export function paretoFrontier(points: readonly FrontierPoint[]): boolean[] {
  checkPoints("paretoFrontier", points);
  return points.map((p, i) =>
    points.every((q, j) => {
      if (i === j) return true;
      const dominates =
        q.efficiency >= p.efficiency &&
        q.risk.estimate <= p.risk.estimate &&
        (q.efficiency > p.efficiency || q.risk.estimate < p.risk.estimate);
      return !dominates;
    }),
  );
}

/** Indices of the frontier points ordered by efficiency, then risk estimate, then input order. */
export function frontierOrder(points: readonly FrontierPoint[], frontierFlags: readonly boolean[]): number[] {
  checkPoints("frontierOrder", points);
  checkFlags("frontierOrder", points, frontierFlags);
  return points
    .map((_, i) => i)
    .filter((i) => frontierFlags[i])
    .sort(
      (a, b) =>
        points[a].efficiency - points[b].efficiency || points[a].risk.estimate - points[b].risk.estimate || a - b,
    );
}

/**
 * The most efficient point whose risk (the estimate, or the CI's upper bound with `use: "upper"`, the
 * default) is ≤ `tolerance.maxRiskUsd`; ties in efficiency go to the lower compared risk, then to the
 * earlier point. Returns its index and a sentence explaining the choice; when no point qualifies,
 * `index: null` and a sentence naming the least risky point, its risk and how far over it is.
 */
export function recommend(
  points: readonly FrontierPoint[],
  tolerance: Tolerance,
  options: FrontierTextOptions = {},
): Recommendation {
  const fn = "recommend";
  checkPoints(fn, points);
  const use = checkTolerance(fn, tolerance);
  const confidence = options.confidence ?? 0.95;
  checkConfidence(fn, confidence);
  const max = tolerance.maxRiskUsd;
  const ci = `${percentLabel(confidence)} % CI`;
  const risks = points.map((p) => riskFor(p, use));
  const qualifying = points.map((_, i) => i).filter((i) => risks[i] <= max);
  const leastRisky = points
    .map((_, i) => i)
    .reduce((best, i) =>
      risks[i] < risks[best] || (risks[i] === risks[best] && points[i].efficiency > points[best].efficiency) ? i : best,
    );
  const basis = use === "upper" ? `the ${ci} upper bound of VaR95 of bad debt` : "the VaR95 estimate of bad debt";

  if (qualifying.length === 0) {
    const p = points[leastRisky];
    const over = risks[leastRisky] - max;
    const figure =
      use === "upper"
        ? `${ci} upper bound ${formatRiskUsd(risks[leastRisky])} (estimate ${formatRiskUsd(p.risk.estimate)})`
        : `VaR95 of bad debt ${formatRiskUsd(p.risk.estimate)} (${ci} ${formatRiskUsd(p.risk.low)}–${formatRiskUsd(p.risk.high)})`;
    const onEstimate = use === "upper" ? points.filter((q) => q.risk.estimate <= max).length : 0;
    const hint =
      onEstimate > 0
        ? ` On the estimate alone ${onEstimate} of ${points.length} point${points.length === 1 ? "" : "s"} would qualify.`
        : "";
    return {
      index: null,
      use,
      maxRiskUsd: max,
      qualifying,
      leastRisky,
      riskUsd: risks[leastRisky],
      explanation:
        `No point is within tolerance ${formatRiskUsd(max)} on ${basis}: the least risky of ${points.length} is ` +
        `${pointLabel(p, leastRisky)} with ${figure}, ${formatRiskUsd(over)} over, at ${formatEfficiency(p.efficiency)} ` +
        `exposure per unit of collateral.${hint}`,
    };
  }

  const best = qualifying.reduce((b, i) =>
    points[i].efficiency > points[b].efficiency ||
    (points[i].efficiency === points[b].efficiency && risks[i] < risks[b])
      ? i
      : b,
  );
  const p = points[best];
  const tied = qualifying.filter((i) => i !== best && points[i].efficiency === p.efficiency);
  const figure =
    use === "upper"
      ? `VaR95 of bad debt ${formatRiskUsd(p.risk.estimate)} (${ci} upper ${formatRiskUsd(risks[best])}) ≤ tolerance ${formatRiskUsd(max)}`
      : `VaR95 of bad debt ${formatRiskUsd(p.risk.estimate)} ≤ tolerance ${formatRiskUsd(max)} (${ci} ${formatRiskUsd(p.risk.low)}–${formatRiskUsd(p.risk.high)})`;
  const warning =
    use === "estimate" && p.risk.high > max
      ? ` Caution: the ${ci} upper bound ${formatRiskUsd(p.risk.high)} exceeds the tolerance.`
      : "";
  const tie =
    tied.length > 0
      ? `, tied in efficiency with ${tied.map((i) => pointLabel(points[i], i)).join("; ")} (lower risk, then listing order, decides)`
      : "";
  const among =
    points.length === 1
      ? "the only point"
      : qualifying.length === 1
        ? `the only one of ${points.length} points within tolerance`
        : qualifying.length === points.length
          ? `the most efficient of all ${points.length} points, all within tolerance`
          : `the most efficient of the ${qualifying.length} of ${points.length} points within tolerance`;
  return {
    index: best,
    use,
    maxRiskUsd: max,
    qualifying,
    leastRisky,
    riskUsd: risks[best],
    explanation:
      `${pointLabel(p, best)}: ${formatEfficiency(p.efficiency)} exposure per unit of collateral, ${figure}; ` +
      `${among}${tie}.${warning}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Terminal table
// ---------------------------------------------------------------------------------------------

/**
 * Headers and rows (strings) for `renderTable` in src/report/format: one column per parameter (the
 * union of the points' keys, first-seen order; "—" where a point lacks one), efficiency,
 * "VaR95 [95 % CI]", on frontier yes/no, recommended ★.
 */
export function frontierTable(
  points: readonly FrontierPoint[],
  frontierFlags: readonly boolean[],
  recommendation: { index: number | null } | null,
  options: FrontierTextOptions = {},
): { headers: string[]; rows: string[][] } {
  const fn = "frontierTable";
  checkPoints(fn, points);
  checkFlags(fn, points, frontierFlags);
  const recommended = checkRecommended(fn, points, recommendation);
  const confidence = options.confidence ?? 0.95;
  checkConfidence(fn, confidence);
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.parameters)))];
  const labelled = points.some((p) => p.label !== undefined && p.label !== "");
  const headers = [
    ...(labelled ? ["point"] : []),
    ...keys,
    "efficiency",
    `VaR95 [${percentLabel(confidence)} % CI]`,
    "on frontier",
    "recommended",
  ];
  const rows = points.map((p, i) => [
    ...(labelled ? [p.label ?? ""] : []),
    ...keys.map((k) => (k in p.parameters ? formatParameter(p.parameters[k]) : "—")),
    formatEfficiency(p.efficiency),
    `${formatRiskUsd(p.risk.estimate)} [${formatRiskUsd(p.risk.low)}, ${formatRiskUsd(p.risk.high)}]`,
    frontierFlags[i] ? "yes" : "no",
    recommended === i ? "★" : "",
  ]);
  return { headers, rows };
}

// ---------------------------------------------------------------------------------------------
// SVG chart
// ---------------------------------------------------------------------------------------------

export interface FrontierSvgOptions extends FrontierTextOptions {
  /** Pixel size of the chart (viewBox and attributes). Default 720 × 440. */
  width?: number;
  height?: number;
  /** A heading drawn above the legend. */
  title?: string;
  /** Axis titles. */
  efficiencyTitle?: string;
  riskTitle?: string;
}

/** Colours in the family of the simulator pages (src/sim/html: --cross, --isolated, --muted, --rule). */
const COLOR = {
  frontier: "#1d4ed8",
  dominated: "#9aa3ad",
  recommended: "#ea580c",
  tolerance: "#b91c1c",
  axis: "#9aa3ad",
  grid: "#e9ecf0",
  text: "#3b4452",
  muted: "#5b6472",
} as const;

const FONT_SIZE = 11;
/** Rough advance width of a character at FONT_SIZE in a system sans-serif, for layout only. */
const CHAR_WIDTH = 6.2;
const POINT_RADIUS = 4.5;
/** Label candidates: 8 directions (E, W, N, S, then the diagonals) at 6 distances from the point. */
const LABEL_DIRECTIONS: readonly (readonly [dx: number, dy: number])[] = [
  [1, 0],
  [-1, 0],
  [0, -1],
  [0, 1],
  [1, -1],
  [1, 1],
  [-1, -1],
  [-1, 1],
];
const LABEL_RINGS = 6;
/** The tolerance is drawn to scale while it is at most this multiple of the highest risk figure. */
const TOLERANCE_ON_SCALE = 3;

/** Text for XML content and attributes: escaped, with characters XML 1.0 forbids removed. */
function xml(text: string): string {
  return escapeHtml(text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, ""));
}

/** A coordinate: one decimal, no "-0". */
function px(value: number): string {
  const text = value.toFixed(1);
  return text === "-0.0" ? "0.0" : text;
}

interface Ticks {
  /** The axis range, widened to whole steps. */
  lo: number;
  hi: number;
  step: number;
  values: number[];
  /** step = mantissa × 10^exponent. */
  exponent: number;
  /** Decimal places that show every tick exactly. */
  decimals: number;
}

/**
 * About five "nice" ticks (1, 2 or 5 × 10^k apart) covering [lo, hi]; a degenerate range is widened
 * (v → v ± 10 %, 0 → [0, 1]) so the scale never divides by zero.
 */
function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = lo === 0 ? [0, 1] : [lo - pad, hi + pad];
  }
  const rough = (hi - lo) / target;
  let exponent = Math.floor(Math.log10(rough));
  let mantissa = [1, 2, 5, 10].find((m) => m * 10 ** exponent >= rough * (1 - 1e-12)) ?? 10;
  if (mantissa === 10) {
    mantissa = 1;
    exponent += 1;
  }
  const decimals = Math.max(0, -exponent);
  const step = mantissa * 10 ** exponent;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.max(first + 1, Math.ceil(hi / step - 1e-9));
  const values: number[] = [];
  for (let k = first; k <= last; k++) values.push(Number((k * step).toFixed(decimals)));
  return { lo: values[0], hi: values[values.length - 1], step, values, exponent, decimals };
}

/** A USD tick: "$0", "$2,500", "$15k", "$1.5M" (the unit chosen by the largest tick). */
function usdTick(value: number, ticks: Ticks): string {
  const largest = Math.max(...ticks.values.map(Math.abs));
  const [power, suffix] = largest >= 1e9 ? [9, "B"] : largest >= 1e6 ? [6, "M"] : largest >= 1e4 ? [3, "k"] : [0, ""];
  if (value === 0) return "$0";
  const text = fixed(value / 10 ** power, Math.max(0, power - ticks.exponent)) + suffix;
  return text.startsWith("−") ? "−$" + text.slice(1) : "$" + text;
}

function efficiencyTick(value: number, ticks: Ticks): string {
  return fixed(value, ticks.decimals) + "×";
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

function textWidth(text: string): number {
  return [...text].length * CHAR_WIDTH;
}

/**
 * A scatter chart of the sweep as a standalone SVG string (no script, no external reference): x =
 * capital efficiency, y = VaR95 of bad debt (USD) with vertical CI error bars, the Pareto frontier
 * as a step line through the frontier points in order of efficiency (the boundary of what the
 * frontier dominates), a dashed horizontal line at the tolerance, the recommended point ringed in
 * orange, every point labelled with its `k=v` values (short keys), axis ticks and titles, a legend.
 *
 * Element classes for tests and styling: `circle.point` (one per point, `data-index`,
 * `data-frontier`), `line.error-bar`, `path.frontier`, `line.tolerance`, `circle.recommended-ring`,
 * `text.point-label`, `g.legend`. The y axis always includes 0; the tolerance is drawn to scale
 * unless it is over 3× the highest risk figure, in which case it sits at the top edge marked "↑".
 */
export function renderFrontierSvg(
  points: readonly FrontierPoint[],
  frontierFlags: readonly boolean[],
  recommendation: { index: number | null } | null,
  tolerance: Tolerance,
  options: FrontierSvgOptions = {},
): string {
  const fn = "renderFrontierSvg";
  checkPoints(fn, points);
  checkFlags(fn, points, frontierFlags);
  const recommended = checkRecommended(fn, points, recommendation);
  const use = checkTolerance(fn, tolerance);
  const confidence = options.confidence ?? 0.95;
  checkConfidence(fn, confidence);
  const width = options.width ?? 720;
  const height = options.height ?? 440;
  for (const [name, value] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 200) {
      throw new FrontierError(`${fn}: options.${name} must be a finite number ≥ 200, got ${String(value)}`);
    }
  }
  const ci = `${percentLabel(confidence)} % CI`;
  const maxRisk = tolerance.maxRiskUsd;

  // --- Title and legend (wrapped into rows), which set the top margin.
  const parts: string[] = [];
  let cursorY = 8;
  if (options.title) {
    parts.push(
      `<text class="title" x="12" y="${px(cursorY + 14)}" font-size="14" font-weight="600" fill="${COLOR.text}">${xml(options.title)}</text>`,
    );
    cursorY += 22;
  }
  const swatch = (kind: string, x: number, y: number): string => {
    switch (kind) {
      case "frontier-point":
        return `<circle class="swatch" cx="${px(x + 8)}" cy="${px(y)}" r="${POINT_RADIUS}" fill="${COLOR.frontier}"/>`;
      case "dominated-point":
        return `<circle class="swatch" cx="${px(x + 8)}" cy="${px(y)}" r="${POINT_RADIUS}" fill="#fff" stroke="${COLOR.dominated}" stroke-width="1.5"/>`;
      case "frontier-line":
        return `<path class="swatch" d="M${px(x)},${px(y + 4)} L${px(x + 8)},${px(y + 4)} L${px(x + 8)},${px(y - 4)} L${px(x + 16)},${px(y - 4)}" fill="none" stroke="${COLOR.frontier}" stroke-width="2"/>`;
      case "tolerance":
        return `<line class="swatch" x1="${px(x)}" y1="${px(y)}" x2="${px(x + 16)}" y2="${px(y)}" stroke="${COLOR.tolerance}" stroke-width="1.5" stroke-dasharray="5 3"/>`;
      case "recommended":
        return `<circle class="swatch" cx="${px(x + 8)}" cy="${px(y)}" r="${POINT_RADIUS}" fill="${COLOR.recommended}"/><circle class="swatch" cx="${px(x + 8)}" cy="${px(y)}" r="${POINT_RADIUS + 3.5}" fill="none" stroke="${COLOR.recommended}" stroke-width="2"/>`;
      default:
        return `<line class="swatch" x1="${px(x + 8)}" y1="${px(y - 6)}" x2="${px(x + 8)}" y2="${px(y + 6)}" stroke="${COLOR.muted}" stroke-width="1.2"/><line class="swatch" x1="${px(x + 5)}" y1="${px(y - 6)}" x2="${px(x + 11)}" y2="${px(y - 6)}" stroke="${COLOR.muted}" stroke-width="1.2"/><line class="swatch" x1="${px(x + 5)}" y1="${px(y + 6)}" x2="${px(x + 11)}" y2="${px(y + 6)}" stroke="${COLOR.muted}" stroke-width="1.2"/>`;
    }
  };
  const legendItems: [kind: string, text: string][] = [
    ["frontier-point", "on the Pareto frontier"],
    ["dominated-point", "dominated"],
    ["frontier-line", "Pareto frontier"],
    ["ci", `${ci} of VaR95`],
    [
      "tolerance",
      `tolerance ${formatRiskUsd(maxRisk)}${use === "upper" ? " (on the CI upper bound)" : " (on the estimate)"}`,
    ],
    ["recommended", recommended === null ? "recommended: none within tolerance" : "recommended"],
  ];
  const legend: string[] = [];
  let lx = 12;
  let ly = cursorY + 10;
  for (const [kind, text] of legendItems) {
    const w = 16 + 5 + textWidth(text) + 16;
    if (lx > 12 && lx + w > width - 12) {
      lx = 12;
      ly += 18;
    }
    legend.push(
      `<g class="legend-item">${swatch(kind, lx, ly)}<text x="${px(lx + 21)}" y="${px(ly + 4)}" fill="${COLOR.text}">${xml(text)}</text></g>`,
    );
    lx += w;
  }
  parts.push(`<g class="legend">${legend.join("")}</g>`);

  // --- Plot area and scales.
  const margin = { left: 76, right: 20, top: ly + 22, bottom: 50 };
  const plot = {
    x: margin.left,
    y: margin.top,
    w: Math.max(40, width - margin.left - margin.right),
    h: Math.max(40, height - margin.top - margin.bottom),
  };
  const effs = points.map((p) => p.efficiency);
  const effLo = Math.min(...effs);
  const effHi = Math.max(...effs);
  const effPad = (effHi - effLo) * 0.04;
  const xt = niceTicks(effLo - effPad, effHi + effPad);
  const riskValues = points.flatMap((p) => [p.risk.estimate, p.risk.low, p.risk.high]);
  const dataHi = Math.max(0, ...riskValues);
  const dataLo = Math.min(0, ...riskValues);
  const toleranceOnScale = maxRisk <= dataHi || dataHi <= 0 || maxRisk <= TOLERANCE_ON_SCALE * dataHi;
  const top = Math.max(dataHi, toleranceOnScale ? maxRisk : dataHi);
  const yt = niceTicks(dataLo, top + (top - dataLo) * 0.05, 6);
  const sx = (v: number): number => plot.x + ((v - xt.lo) / (xt.hi - xt.lo)) * plot.w;
  const sy = (v: number): number => plot.y + plot.h - ((v - yt.lo) / (yt.hi - yt.lo)) * plot.h;

  // --- Axes: grid lines, ticks, titles.
  const fit = (long: string, short: string, room: number): string => (textWidth(long) <= room ? long : short);
  const xTitle =
    options.efficiencyTitle ??
    fit("capital efficiency (exposure per unit of collateral, ×) — higher is better", "capital efficiency (×)", plot.w);
  const yTitle =
    options.riskTitle ?? fit("VaR95 of bad debt (USD) — lower is better", "VaR95 of bad debt (USD)", plot.h);
  const axes: string[] = [];
  for (const v of yt.values) {
    const y = sy(v);
    axes.push(
      `<line class="grid" x1="${px(plot.x)}" y1="${px(y)}" x2="${px(plot.x + plot.w)}" y2="${px(y)}" stroke="${COLOR.grid}"/>`,
      `<text class="tick" x="${px(plot.x - 6)}" y="${px(y + 4)}" text-anchor="end" fill="${COLOR.muted}">${xml(usdTick(v, yt))}</text>`,
    );
  }
  for (const v of xt.values) {
    const x = sx(v);
    axes.push(
      `<line class="grid" x1="${px(x)}" y1="${px(plot.y)}" x2="${px(x)}" y2="${px(plot.y + plot.h)}" stroke="${COLOR.grid}"/>`,
      `<text class="tick" x="${px(x)}" y="${px(plot.y + plot.h + 16)}" text-anchor="middle" fill="${COLOR.muted}">${xml(efficiencyTick(v, xt))}</text>`,
    );
  }
  axes.push(
    `<line class="axis" x1="${px(plot.x)}" y1="${px(plot.y + plot.h)}" x2="${px(plot.x + plot.w)}" y2="${px(plot.y + plot.h)}" stroke="${COLOR.axis}"/>`,
    `<line class="axis" x1="${px(plot.x)}" y1="${px(plot.y)}" x2="${px(plot.x)}" y2="${px(plot.y + plot.h)}" stroke="${COLOR.axis}"/>`,
    `<text class="axis-title" x="${px(plot.x + plot.w / 2)}" y="${px(plot.y + plot.h + 38)}" text-anchor="middle" fill="${COLOR.muted}">${xml(xTitle)}</text>`,
    `<text class="axis-title" x="16" y="${px(plot.y + plot.h / 2)}" text-anchor="middle" fill="${COLOR.muted}" transform="rotate(-90 16 ${px(plot.y + plot.h / 2)})">${xml(yTitle)}</text>`,
  );
  parts.push(`<g class="axes">${axes.join("")}</g>`);

  // --- Tolerance line.
  const ty = toleranceOnScale ? sy(maxRisk) : plot.y;
  const toleranceText = `tolerance ${formatRiskUsd(maxRisk)}${toleranceOnScale ? "" : " ↑ (above the chart)"}`;
  const toleranceBox: Box = {
    x: plot.x + plot.w - 4 - textWidth(toleranceText),
    y: ty - 5 - FONT_SIZE,
    w: textWidth(toleranceText),
    h: FONT_SIZE + 2,
  };
  parts.push(
    `<g class="tolerance-group"><line class="tolerance" x1="${px(plot.x)}" y1="${px(ty)}" x2="${px(plot.x + plot.w)}" y2="${px(ty)}" stroke="${COLOR.tolerance}" stroke-width="1.5" stroke-dasharray="6 4"/>` +
      `<text class="tolerance-label" x="${px(plot.x + plot.w - 4)}" y="${px(ty - 5)}" text-anchor="end" fill="${COLOR.tolerance}">${xml(toleranceText)}</text></g>`,
  );

  // --- Pareto frontier: a step line through the frontier points in order of efficiency.
  const order = frontierOrder(points, frontierFlags);
  const frontierSegments: Box[] = [];
  const segment = (x1: number, y1: number, x2: number, y2: number): void => {
    frontierSegments.push({
      x: Math.min(x1, x2) - 1.5,
      y: Math.min(y1, y2) - 1.5,
      w: Math.abs(x2 - x1) + 3,
      h: Math.abs(y2 - y1) + 3,
    });
  };
  if (order.length > 0) {
    const first = points[order[0]];
    const d = [`M${px(sx(first.efficiency))},${px(sy(first.risk.estimate))}`];
    for (let k = 1; k < order.length; k++) {
      const p = points[order[k]];
      const [x0, y0] = [sx(points[order[k - 1]].efficiency), sy(points[order[k - 1]].risk.estimate)];
      segment(x0, y0, x0, sy(p.risk.estimate));
      segment(x0, sy(p.risk.estimate), sx(p.efficiency), sy(p.risk.estimate));
      d.push(`L${px(sx(points[order[k - 1]].efficiency))},${px(sy(p.risk.estimate))}`);
      d.push(`L${px(sx(p.efficiency))},${px(sy(p.risk.estimate))}`);
    }
    if (order.length === 1) d.push(`L${px(sx(first.efficiency))},${px(sy(first.risk.estimate))}`);
    parts.push(
      `<path class="frontier" d="${d.join(" ")}" fill="none" stroke="${COLOR.frontier}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round" stroke-opacity="0.8"/>`,
    );
  }

  // --- Points with error bars, dominated first so frontier points are drawn on top.
  const drawOrder = points
    .map((_, i) => i)
    .sort((a, b) => Number(frontierFlags[a]) - Number(frontierFlags[b]) || a - b);
  const marks: string[] = [];
  const bars: Box[] = [];
  for (const i of drawOrder) {
    const p = points[i];
    const x = sx(p.efficiency);
    const onFrontier = frontierFlags[i];
    const color = i === recommended ? COLOR.recommended : onFrontier ? COLOR.frontier : COLOR.dominated;
    const tip =
      `${pointLabel(p, i)}: ${formatEfficiency(p.efficiency)} exposure per unit of collateral, VaR95 of bad debt ` +
      `${formatRiskUsd(p.risk.estimate)} (${ci} ${formatRiskUsd(p.risk.low)}–${formatRiskUsd(p.risk.high)})` +
      `${onFrontier ? ", on the Pareto frontier" : ", dominated"}${i === recommended ? ", recommended" : ""}`;
    const [yl, yh] = [sy(p.risk.low), sy(p.risk.high)];
    bars.push({ x: x - 3.5, y: yh - 1, w: 7, h: yl - yh + 2 });
    const fill = onFrontier || i === recommended ? color : "#fff";
    marks.push(
      `<g class="mark" data-index="${i}"><title>${xml(tip)}</title>` +
        `<line class="error-bar" x1="${px(x)}" y1="${px(yl)}" x2="${px(x)}" y2="${px(yh)}" stroke="${color}" stroke-width="1.2"/>` +
        `<line class="error-cap" x1="${px(x - 3)}" y1="${px(yl)}" x2="${px(x + 3)}" y2="${px(yl)}" stroke="${color}" stroke-width="1.2"/>` +
        `<line class="error-cap" x1="${px(x - 3)}" y1="${px(yh)}" x2="${px(x + 3)}" y2="${px(yh)}" stroke="${color}" stroke-width="1.2"/>` +
        `<circle class="point" data-index="${i}" data-frontier="${onFrontier}" cx="${px(x)}" cy="${px(sy(p.risk.estimate))}" r="${POINT_RADIUS}" fill="${fill}" stroke="${color}" stroke-width="1.5"/></g>`,
    );
  }
  parts.push(`<g class="points">${marks.join("")}</g>`);
  if (recommended !== null) {
    const p = points[recommended];
    parts.push(
      `<g class="recommended"><circle class="recommended-ring" cx="${px(sx(p.efficiency))}" cy="${px(sy(p.risk.estimate))}" r="${POINT_RADIUS + 4}" fill="none" stroke="${COLOR.recommended}" stroke-width="2.2"/></g>`,
    );
  }

  // --- Labels: placed greedily (recommended, then frontier, then the rest) at the candidate spot
  // around the point that overlaps least with labels already placed, the points, the error bars,
  // the frontier and the tolerance text, preferring near spots inside the plot area; a label moved
  // away from its point gets a thin leader line.
  const hard: Box[] = points.map((p) => ({
    x: sx(p.efficiency) - POINT_RADIUS - 1,
    y: sy(p.risk.estimate) - POINT_RADIUS - 1,
    w: 2 * POINT_RADIUS + 2,
    h: 2 * POINT_RADIUS + 2,
  }));
  const soft: Box[] = [...bars, ...frontierSegments, toleranceBox];
  const labelOrder = points
    .map((_, i) => i)
    .sort(
      (a, b) =>
        Number(b === recommended) - Number(a === recommended) ||
        Number(frontierFlags[b]) - Number(frontierFlags[a]) ||
        a - b,
    );
  const lineHeight = FONT_SIZE + 2;
  const plotBox: Box = { x: plot.x, y: plot.y, w: plot.w, h: plot.h };
  const canvas: Box = { x: 0, y: 0, w: width, h: height };
  const placed: Box[] = [];
  const labels: string[] = [];
  for (const i of labelOrder) {
    const lines = labelLines(points[i], i, true);
    const cx = sx(points[i].efficiency);
    const cy = sy(points[i].risk.estimate);
    const w = Math.max(...lines.map(textWidth));
    const h = lines.length * lineHeight;
    let best: { box: Box; dx: number; ring: number } | undefined;
    let bestCost = Infinity;
    for (let ring = 0; ring < LABEL_RINGS; ring++) {
      const dist = POINT_RADIUS + 3 + (i === recommended ? 4 : 0) + ring * 14;
      LABEL_DIRECTIONS.forEach(([dx, dy], k) => {
        const d = dx !== 0 && dy !== 0 ? dist * 0.75 : dist;
        const x = dx > 0 ? cx + d : dx < 0 ? cx - d - w : cx - w / 2;
        const y = dy > 0 ? cy + d : dy < 0 ? cy - d - h : cy - h / 2;
        const box: Box = { x, y, w, h };
        let cost = ring * 60 + k * 0.5;
        for (const other of placed) cost += overlap(box, other);
        hard.forEach((o, j) => {
          if (j !== i) cost += overlap(box, o);
        });
        for (const o of soft) cost += overlap(box, o) * 0.4;
        cost += (w * h - overlap(box, plotBox)) * 0.6 + (w * h - overlap(box, canvas)) * 20;
        if (cost < bestCost) {
          bestCost = cost;
          best = { box, dx, ring };
        }
      });
    }
    const { box, dx, ring } = best!;
    placed.push(box);
    const anchor = dx > 0 ? "start" : dx < 0 ? "end" : "middle";
    const tx = dx > 0 ? box.x : dx < 0 ? box.x + box.w : box.x + box.w / 2;
    const weight = i === recommended ? ' font-weight="600"' : "";
    const fill = i === recommended ? COLOR.recommended : frontierFlags[i] ? COLOR.text : COLOR.muted;
    let leader = "";
    if (ring > 0) {
      // from the circle's edge towards the nearest point of the label's box
      const nx = Math.min(Math.max(cx, box.x), box.x + box.w);
      const ny = Math.min(Math.max(cy, box.y), box.y + box.h);
      const len = Math.hypot(nx - cx, ny - cy);
      if (len > POINT_RADIUS + 2) {
        const ux = (nx - cx) / len;
        const uy = (ny - cy) / len;
        leader = `<line class="leader" x1="${px(cx + ux * (POINT_RADIUS + 1))}" y1="${px(cy + uy * (POINT_RADIUS + 1))}" x2="${px(nx)}" y2="${px(ny)}" stroke="${COLOR.dominated}" stroke-width="0.8"/>`;
      }
    }
    const spans = lines
      .map((line, k) => `<tspan x="${px(tx)}" y="${px(box.y + (k + 1) * lineHeight - 3)}">${xml(line)}</tspan>`)
      .join("");
    labels.push(
      `<g class="point-label-group" data-index="${i}">${leader}<text class="point-label" data-index="${i}" text-anchor="${anchor}" fill="${fill}"${weight}>${spans}</text></g>`,
    );
  }
  parts.push(`<g class="labels">${labels.join("")}</g>`);

  const summary =
    `Parameter frontier: ${points.length} point${points.length === 1 ? "" : "s"}, ` +
    `${order.length} on the Pareto frontier, tolerance ${formatRiskUsd(maxRisk)}` +
    (recommended === null
      ? ", none within tolerance"
      : `, recommended ${pointLabel(points[recommended], recommended)}`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="frontier-chart" role="img" aria-label="${xml(summary)}" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" font-size="${FONT_SIZE}">` +
    `<title>${xml(summary)}</title><rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#fff"/>` +
    parts.join("") +
    `</svg>`
  );
}
