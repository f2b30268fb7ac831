/**
 * `npx hardhat simulate --sweep k=v1,v2[;j=w1,w2] --paths N`: the parameter frontier. Every grid
 * point is a full Monte Carlo run on the real contracts with the same N price paths (common random
 * numbers: path i draws the same numbers at every parameter value, so the differences between points
 * come from the parameters, not from sampling). For each point and mode it reports the capital
 * efficiency (gross exposure opened ÷ the initial margin it needed) against the VaR95 of bad debt
 * with its bootstrap interval, marks the Pareto frontier (no other point is at least as efficient
 * and at most as risky, and strictly better in one), and recommends the most efficient point whose
 * VaR95 — the upper end of its interval, to be conservative — stays within the risk tolerance
 * (`--risk-tolerance` USD; default: the insurance fund at the start).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { renderTable } from "../report/format";
import { parseModes, sweepGrid } from "../sim/cli";
import { escapeHtml } from "../sim/html";
import type { Mode } from "../sim/report";
import { loadScenario, UsageError } from "../sim/scenario";
import {
  frontierTable,
  paretoFrontier,
  recommend,
  renderFrontierSvg,
  type FrontierPoint,
  type Recommendation,
  type Tolerance,
} from "./frontier";
import { runMonteCarlo, type MonteCarloArgs, type MonteCarloReport } from "./montecarlo";

export const FRONTIER_SCHEMA = "crossmargin.frontier/1";

export interface FrontierArgs extends MonteCarloArgs {
  sweep: string;
  /** USD; "" = the insurance fund at the start of the first grid point. */
  riskTolerance: string;
}

/** One grid point in one mode, with what the frontier is drawn from and where its Monte Carlo report is. */
export interface FrontierRow extends FrontierPoint {
  mode: Mode;
  /** The grid point's assignments ("protocol.hedgeOffset=0.5"). */
  assignments: string[];
  /** Mean over paths of the opening exposure and of the initial margin it needed (USD). */
  exposureUsd: number;
  collateralNeededUsd: number;
  /** Share of paths with bad debt beyond the insurance fund (Wilson interval) and the liquidations at risk. */
  insolvency: { estimate: number; low: number; high: number };
  liquidationsAtRisk: { estimate: number; low: number; high: number };
  /** montecarlo.html of the point, relative to frontier.json. */
  report: string;
}

export interface FrontierReport {
  schema: typeof FRONTIER_SCHEMA;
  scenario: { argument: string; name: string };
  seed: number;
  paths: number;
  horizon: MonteCarloReport["horizon"];
  keys: string[];
  /** The risk measure and the tolerance the recommendation used. */
  risk: { measure: "VaR95 of bad debt (USD)"; confidence: number };
  tolerance: Required<Tolerance> & { source: "--risk-tolerance" | "insurance fund at the start" };
  points: FrontierRow[];
  /** Per point (same order): on the Pareto frontier of efficiency (higher) against risk (lower). */
  frontier: boolean[];
  recommendation: Recommendation;
  timing: { totalSeconds: number; workers: number; pointSeconds: number[] };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The frontier rows of one grid point's Monte Carlo report (one per mode). */
export function frontierRows(report: MonteCarloReport, assignments: string[], reportPath: string): FrontierRow[] {
  const parameters: Record<string, number | string> = {};
  for (const a of assignments) {
    const eq = a.indexOf("=");
    const raw = a.slice(eq + 1);
    parameters[a.slice(0, eq)] = raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  const modes = Object.keys(report.modes) as Mode[];
  return modes.map((mode) => {
    const risk = report.modes[mode]!;
    const outcomes = report.perPath.map((p) => p.modes[mode]!);
    const exposureUsd = mean(outcomes.map((o) => o.exposure));
    const collateralNeededUsd = mean(outcomes.map((o) => o.collateralNeeded));
    const v = risk.badDebt.statistics.VaR95;
    return {
      parameters: modes.length > 1 ? { ...parameters, mode } : parameters,
      efficiency: collateralNeededUsd > 0 ? Number((exposureUsd / collateralNeededUsd).toFixed(6)) : 0,
      risk: { estimate: v.estimate, low: v.low, high: v.high },
      mode,
      assignments,
      exposureUsd: Number(exposureUsd.toFixed(2)),
      collateralNeededUsd: Number(collateralNeededUsd.toFixed(2)),
      insolvency: { estimate: risk.insolvency.estimate, low: risk.insolvency.low, high: risk.insolvency.high },
      liquidationsAtRisk: {
        estimate: risk.liquidationsAtRisk.estimate,
        low: risk.liquidationsAtRisk.low,
        high: risk.liquidationsAtRisk.high,
      },
      report: reportPath,
    };
  });
}

/** Runs every grid point as a Monte Carlo run, then the frontier; writes frontier.json and frontier.html. */
export async function runFrontier(
  args: FrontierArgs,
  hre: HardhatRuntimeEnvironment,
  overrides: string[],
): Promise<FrontierReport> {
  const started = Date.now();
  const { keys, points } = sweepGrid(args.sweep);
  parseModes(args.mode);
  let tolerance: number | undefined;
  if (args.riskTolerance !== "") {
    tolerance = Number(args.riskTolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0) {
      throw new UsageError(`--risk-tolerance must be a USD amount ≥ 0, got "${args.riskTolerance}"`);
    }
  }
  // every grid point must be a valid scenario before anything runs
  const loaded = points.map((p) => loadScenario(args.scenario, [...overrides, ...p]));
  const { scenario } = loaded[0];
  if (!args.noCompile) await hre.run("compile", { quiet: true });
  const root = args.out
    ? path.resolve(args.out)
    : path.join(process.cwd(), "reports", `${scenario.name}-${scenario.seed}-frontier${args.paths}`);
  mkdirSync(root, { recursive: true });
  const log = (line: string) => {
    if (!args.quiet) console.log(line);
  };
  log(`frontier: ${points.length} grid points over ${keys.join(", ")}, ${args.paths} paths each (the same paths)`);

  const rows: FrontierRow[] = [];
  const pointSeconds: number[] = [];
  let first: MonteCarloReport | undefined;
  let workers = 0;
  for (const [k, assignments] of points.entries()) {
    const t0 = Date.now();
    const slug = `point-${k}-${assignments.join("_").replace(/[^A-Za-z0-9_.=-]/g, "-")}`;
    log(`\npoint ${k + 1}/${points.length}: ${assignments.join(", ")}`);
    const report = await runMonteCarlo({ ...args, out: path.join(root, slug), noCompile: true, summary: false }, hre, [
      ...overrides,
      ...assignments,
    ]);
    first ??= report;
    workers = report.timing.workers;
    rows.push(...frontierRows(report, assignments, path.join(slug, "montecarlo.html")));
    pointSeconds.push(Number(((Date.now() - t0) / 1000).toFixed(3)));
  }
  const insurance = first!.perPath[0]?.modes[(Object.keys(first!.modes) as Mode[])[0]]?.insuranceStart ?? 0;
  const maxRiskUsd = tolerance ?? insurance;
  const flags = paretoFrontier(rows);
  const recommendation = recommend(rows, { maxRiskUsd, use: "upper" }, { confidence: first!.confidence });
  const report: FrontierReport = {
    schema: FRONTIER_SCHEMA,
    scenario: { argument: args.scenario, name: scenario.name },
    seed: scenario.seed,
    paths: args.paths,
    horizon: first!.horizon,
    keys,
    risk: { measure: "VaR95 of bad debt (USD)", confidence: first!.confidence },
    tolerance: {
      maxRiskUsd,
      use: "upper",
      source: tolerance === undefined ? "insurance fund at the start" : "--risk-tolerance",
    },
    points: rows,
    frontier: flags,
    recommendation,
    timing: { totalSeconds: Number(((Date.now() - started) / 1000).toFixed(3)), workers, pointSeconds },
  };
  writeFileSync(path.join(root, "frontier.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(root, "frontier.html"), renderFrontierHtml(report));
  if (!args.quiet) {
    const { headers, rows: table } = frontierTable(rows, flags, recommendation, { confidence: first!.confidence });
    console.log(
      `\n${scenario.name}: ${args.paths} paths per point, horizon ${report.horizon.steps} × ${report.horizon.stepSeconds} s`,
    );
    console.log(renderTable(headers, table));
    console.log(`\n${recommendation.explanation}`);
    console.log(`frontier: ${path.relative(process.cwd(), path.join(root, "frontier.html"))}`);
  }
  return report;
}

/** frontier.html: the chart, the table with links to every point's Monte Carlo report, the recommendation. */
export function renderFrontierHtml(report: FrontierReport): string {
  const tolerance = { maxRiskUsd: report.tolerance.maxRiskUsd, use: report.tolerance.use };
  const svg = renderFrontierSvg(report.points, report.frontier, report.recommendation, tolerance, {
    confidence: report.risk.confidence,
    title: `${report.scenario.name}: capital efficiency against VaR95 of bad debt`,
  });
  const { headers, rows } = frontierTable(report.points, report.frontier, report.recommendation, {
    confidence: report.risk.confidence,
  });
  const table = `<table><thead><tr>${[...headers, "report"].map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map(
      (r, i) =>
        `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}<td><a href="${escapeHtml(report.points[i].report)}">Monte Carlo</a></td></tr>`,
    )
    .join("")}</tbody></table>`;
  const h = report.horizon;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Parameter frontier: ${escapeHtml(report.scenario.name)} — Crossmargin</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:24px}table{border-collapse:collapse}th,td{border-bottom:1px solid #dde1e7;padding:3px 9px;text-align:left}.rec{background:#eef6ee;padding:10px;border-left:4px solid #15803d}</style></head>
<body>
<h1>Parameter frontier: ${escapeHtml(report.scenario.name)}</h1>
<p>${escapeHtml(report.keys.join(" × "))}: ${report.points.length} points (grid point × mode), each a Monte Carlo run over the same ${report.paths} price paths (seed ${report.seed}; common random numbers), horizon ${h.steps} steps × ${h.stepSeconds} s (${h.hours} h). Capital efficiency = gross exposure opened ÷ the initial margin it needed. Risk = VaR95 of bad debt with its ${report.risk.confidence * 100} % bootstrap interval. A point is on the Pareto frontier when no other point is at least as efficient and at most as risky (strictly better in one).</p>
<p class="rec">${escapeHtml(report.recommendation.explanation)} Tolerance: ${escapeHtml(`$${report.tolerance.maxRiskUsd.toLocaleString("en-US")}`)} (${escapeHtml(report.tolerance.source)}), judged on the upper end of the interval.</p>
${svg}
<h2>Points</h2>
${table}
<p>${report.timing.totalSeconds} s with ${report.timing.workers} worker processes per point.</p>
</body></html>
`;
}
