/**
 * `npx hardhat simulate --paths N`: Monte Carlo over price paths on the real contracts. Path i
 * uses the seed's stream `path-<i>` (common random numbers: the same draws in cross and isolated
 * mode and for every parameter value); the paths are shared out over worker processes (one per
 * core by default), each running its share on its own in-process chain from one deployed snapshot.
 * The report gives, per mode and over the scenario's horizon: VaR and CVaR (95 %, 99 %) of bad
 * debt, liquidations at risk (95th percentile of liquidated notional), the probability of
 * insolvency (bad debt beyond the insurance fund), the insurance fund's drawdown — each with a
 * percentile-bootstrap or Wilson confidence interval and a convergence check (the first half of
 * the paths against all of them) — plus a reproducibility manifest and the run's throughput.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { renderTable } from "../report/format";
import { parseModes } from "../sim/cli";
import { createProgress } from "../sim/progress";
import type { Mode } from "../sim/report";
import { createRng } from "../sim/rng";
import { loadScenario, UsageError, type LoadedScenario } from "../sim/scenario";
import { buildManifest, manifestDrift, type Manifest } from "./manifest";
import type { PathOutcome, PathRecord } from "./paths";
import { histogram, probability, summarize, type Histogram, type ProbabilityEstimate, type Summary } from "./stats";
import { renderMonteCarloHtml } from "./html";

export const MONTE_CARLO_SCHEMA = "crossmargin.montecarlo/1";
/** Bootstrap resamples behind every confidence interval. */
const RESAMPLES = 2_000;
const CONFIDENCE = 0.95;

export interface MonteCarloArgs {
  scenario: string;
  mode: string;
  seed: string;
  set: string;
  paths: number;
  workers: number;
  /** Paths a worker process runs before a fresh process takes over (bounds its memory); 0 = never. */
  workerPaths: number;
  out: string;
  quiet: boolean;
  noCompile: boolean;
  /** false: no summary table at the end (a frontier prints its own); the progress bar stays. */
  summary?: boolean;
}

/** Tail statistics of one mode. */
export interface ModeRisk {
  /** Bad debt per path (USD): mean, p50, VaR95/99, CVaR95/99 with bootstrap CIs and convergence. */
  badDebt: Summary;
  /** Liquidated notional per path (USD); its VaR95 is the liquidations at risk. */
  liquidatedNotional: Summary;
  /** Largest fall of the insurance fund below its start, per path (USD). */
  insuranceDrawdown: Summary;
  /** 95th percentile of liquidated notional (USD), with its bootstrap CI. */
  liquidationsAtRisk: { level: number; estimate: number; low: number; high: number };
  /** Share of paths whose bad debt exceeds the insurance fund (Wilson interval). */
  insolvency: ProbabilityEstimate;
  /** Share of paths with any bad debt (Wilson interval). */
  anyBadDebt: ProbabilityEstimate;
  histograms: { badDebt: Histogram; liquidatedNotional: Histogram };
  maxCascadeDepth: number;
  /** Cascade amplification per path (liquidated notional ÷ generation 1's). */
  amplification: Summary;
  /** Σ keeper profit per path (USD): rewards and collateral discounts at the final prices, minus gas. */
  keeperProfit: Summary;
  /** Steps liquidatable accounts waited for a keeper, pooled over every path. */
  timeToLiquidation: WaitDistribution;
}

/** A pooled waiting-time distribution (steps; seconds = steps × stepSeconds). */
export interface WaitDistribution {
  /** Accounts served by a keeper, over all paths. */
  served: number;
  /** Accounts served after d steps, at index d. */
  histogram: number[];
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** Paths that ended with an account no keeper had served, and how many such accounts in all. */
  pathsWithPending: number;
  pending: number;
}

/** Pools per-path wait histograms; quantiles are nearest-rank (type 1) over the pooled accounts. */
export function poolWaits(outcomes: Pick<PathOutcome, "waitHistogram" | "pendingAtEnd">[]): WaitDistribution {
  const histogram: number[] = [];
  for (const o of outcomes) o.waitHistogram.forEach((c, d) => (histogram[d] = (histogram[d] ?? 0) + c));
  for (let d = 0; d < histogram.length; d++) histogram[d] ??= 0;
  const served = histogram.reduce((a, b) => a + b, 0);
  const quantile = (q: number): number | null => {
    if (served === 0) return null;
    const rank = Math.max(1, Math.ceil(q * served));
    let seen = 0;
    for (let d = 0; d < histogram.length; d++) {
      seen += histogram[d];
      if (seen >= rank) return d;
    }
    return histogram.length - 1;
  };
  return {
    served,
    histogram,
    mean: served === 0 ? null : Number((histogram.reduce((s, c, d) => s + c * d, 0) / served).toFixed(4)),
    p50: quantile(0.5),
    p95: quantile(0.95),
    p99: quantile(0.99),
    max: served === 0 ? null : histogram.length - 1,
    pathsWithPending: outcomes.filter((o) => o.pendingAtEnd > 0).length,
    pending: outcomes.reduce((s, o) => s + o.pendingAtEnd, 0),
  };
}

export interface MonteCarloReport {
  schema: typeof MONTE_CARLO_SCHEMA;
  manifest: Manifest;
  /** The horizon every statistic is stated over. */
  horizon: { steps: number; stepSeconds: number; hours: number };
  paths: number;
  confidence: number;
  resamples: number;
  modes: Partial<Record<Mode, ModeRisk>>;
  /** Per-path outcomes, by path index (the inputs of every statistic). */
  perPath: { path: number; modes: Partial<Record<Mode, PathOutcome>> }[];
  /** Wall-clock figures: the only part that differs between two runs of one manifest. */
  timing: MonteCarloTiming;
}

export interface MonteCarloTiming {
  startedAt: string;
  totalSeconds: number;
  workers: number;
  pathsPerHour: number;
  /** Mean seconds per path inside a worker, and the transactions per second they sent. */
  secondsPerPath: number;
  transactionsPerSecond: number;
  /** Seconds per phase, summed over every path and mode. */
  phaseSeconds: Record<string, number>;
  /** Paths a worker process ran before a fresh one took over (0: one process per worker for the whole run). */
  workerPaths: number;
  /**
   * Resident memory of each worker process after each of its paths (MB, after a full garbage
   * collection), one array per process in start order; and of it the JavaScript heap in use.
   */
  rssMbByProcess: number[][];
  heapMbByProcess: number[][];
  /** Lowest and highest memory of any process after its first path (MB): the band a long run stays in. */
  rssMbAfterFirst: { min: number; max: number };
  /**
   * Largest growth of a process's memory per path after its first path (MB per path, least-squares
   * slope) — resident and heap; null when no process ran 6 paths or more.
   */
  rssGrowthMbPerPath: number | null;
  heapGrowthMbPerPath: number | null;
}

/** The part of a report that must be equal, byte for byte, when it is rerun from its manifest. */
export function deterministicMonteCarlo(report: MonteCarloReport): string {
  const { timing: _timing, ...rest } = report;
  void _timing;
  return JSON.stringify(rest, null, 2);
}

/** The path indices of worker w of W: w, w + W, w + 2W, … (each worker gets early and late paths). */
export function shareOut(paths: number, workers: number): number[][] {
  const shares = Array.from({ length: workers }, () => [] as number[]);
  for (let i = 0; i < paths; i++) shares[i % workers].push(i);
  return shares.filter((s) => s.length > 0);
}

/** Least-squares slope of y over its index (MB per path). */
function slope(y: number[]): number {
  const n = y.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  y.forEach((v, i) => {
    num += (i - mx) * (v - my);
    den += (i - mx) ** 2;
  });
  return num / den;
}

/** Per-mode statistics from the per-path outcomes (deterministic for a seed). */
export function riskOf(records: PathRecord[], modes: Mode[], seed: number): Partial<Record<Mode, ModeRisk>> {
  const out: Partial<Record<Mode, ModeRisk>> = {};
  for (const mode of modes) {
    const outcomes = records.map((r) => {
      const o = r.modes[mode];
      if (!o) throw new Error(`path ${r.path} has no ${mode} outcome`);
      return o;
    });
    const rng = createRng(`${seed}/montecarlo/${mode}`);
    const options = { rng, resamples: RESAMPLES, confidence: CONFIDENCE, levels: [0.95, 0.99], quantiles: [0.5] };
    const badDebt = outcomes.map((o) => o.badDebt);
    const notional = outcomes.map((o) => o.notionalLiquidated);
    const liquidatedNotional = summarize(notional, { ...options, rng: rng.fork("notional") });
    const lar = liquidatedNotional.statistics.VaR95;
    out[mode] = {
      badDebt: summarize(badDebt, { ...options, rng: rng.fork("badDebt") }),
      liquidatedNotional,
      insuranceDrawdown: summarize(
        outcomes.map((o) => o.insuranceDrawdown),
        { ...options, rng: rng.fork("insurance") },
      ),
      liquidationsAtRisk: { level: 0.95, estimate: lar.estimate, low: lar.low, high: lar.high },
      insolvency: probability(
        outcomes.map((o) => o.insolvent),
        { confidence: CONFIDENCE },
      ),
      anyBadDebt: probability(
        outcomes.map((o) => o.badDebt > 0),
        { confidence: CONFIDENCE },
      ),
      histograms: { badDebt: histogram(badDebt, 20), liquidatedNotional: histogram(notional, 20) },
      maxCascadeDepth: Math.max(...outcomes.map((o) => o.maxCascadeDepth)),
      amplification: summarize(
        outcomes.map((o) => o.amplification),
        { ...options, rng: rng.fork("amplification") },
      ),
      keeperProfit: summarize(
        outcomes.map((o) => o.keeperProfit),
        { ...options, rng: rng.fork("keeperProfit") },
      ),
      timeToLiquidation: poolWaits(outcomes),
    };
  }
  return out;
}

/** A worker slot's share cut into the runs of successive processes (`workerPaths` paths each; 0 = one process). */
export function processChunks(indices: number[], workerPaths: number): number[][] {
  if (workerPaths <= 0 || indices.length <= workerPaths) return [indices];
  const chunks: number[][] = [];
  for (let i = 0; i < indices.length; i += workerPaths) chunks.push(indices.slice(i, i + workerPaths));
  return chunks;
}

/** The records of each worker slot, in path order per slot, and the processes (runs of paths) of each slot. */
interface WorkerResults {
  bySlot: PathRecord[][];
  processes: PathRecord[][];
}

async function runWorkers(
  args: MonteCarloArgs,
  overrides: string[],
  modes: Mode[],
  dir: string,
  workers: number,
  quiet: boolean,
): Promise<WorkerResults> {
  const shares = shareOut(args.paths, workers);
  const progress = createProgress({ quiet });
  progress.start(`${args.paths} paths, ${shares.length} workers`, args.paths, "paths");
  const counter = { done: 0, tick: () => progress.tick(++counter.done) };
  const results = await Promise.all(
    shares.map(async (indices, w) => {
      const runs: PathRecord[][] = [];
      // one process after the other in this slot: a fresh process every `workerPaths` paths
      for (const [c, chunk] of processChunks(indices, args.workerPaths).entries()) {
        const file = path.join(dir, `paths-worker-${w}-${c}.jsonl`);
        await runWorkerProcess(args, overrides, modes, chunk, file, w, counter.tick);
        runs.push(
          readFileSync(file, "utf8")
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => JSON.parse(l) as PathRecord),
        );
      }
      return runs;
    }),
  );
  progress.end();
  return { bySlot: results.map((runs) => runs.flat()), processes: results.flat() };
}

/** One worker process running `indices` (one JSON line per path into `file`); `onPath` after each. */
function runWorkerProcess(
  args: MonteCarloArgs,
  overrides: string[],
  modes: Mode[],
  indices: number[],
  file: string,
  w: number,
  onPath: () => void,
): Promise<void> {
  const cli = require.resolve("hardhat/internal/cli/cli");
  return new Promise<void>((resolve, reject) => {
    // --expose-gc: the worker collects garbage before it records its memory after each path
    const child = spawn(
      process.execPath,
      [
        "--expose-gc",
        cli,
        "simulate:paths",
        "--scenario",
        args.scenario,
        "--mode",
        modes.length === 2 ? "both" : modes[0],
        "--set",
        overrides.join(";"),
        "--indices",
        indices.join(","),
        "--out",
        file,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
    );
    let stderr = "";
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (/^path \d+ done$/.test(line.trim())) onPath();
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(`Monte Carlo worker ${w} (paths ${indices.join(",")}) failed (exit ${code}):\n${stderr.trim()}`),
          ),
    );
  });
}

/** Runs the paths, writes montecarlo.json and montecarlo.html, prints the summary. */
export async function runMonteCarlo(
  args: MonteCarloArgs,
  hre: HardhatRuntimeEnvironment,
  overrides: string[],
): Promise<MonteCarloReport> {
  if (hre.network.name !== "hardhat") {
    throw new UsageError("--paths runs each worker on its own in-process chain; drop --network");
  }
  if (!Number.isInteger(args.paths) || args.paths < 2) {
    throw new UsageError(`--paths needs at least 2 paths (the convergence check halves them), got ${args.paths}`);
  }
  if (!Number.isInteger(args.workerPaths) || args.workerPaths < 0) {
    throw new UsageError(
      `--worker-paths must be a whole number ≥ 0 (0 = one process per worker), got ${args.workerPaths}`,
    );
  }
  const modes = parseModes(args.mode);
  const loaded: LoadedScenario = loadScenario(args.scenario, overrides);
  if (!args.noCompile) await hre.run("compile", { quiet: true });
  const { scenario } = loaded;
  const started = Date.now();
  const dir = args.out
    ? path.resolve(args.out)
    : path.join(process.cwd(), "reports", `${scenario.name}-${scenario.seed}-mc${args.paths}`);
  mkdirSync(dir, { recursive: true });
  const workers = Math.max(1, Math.min(args.workers > 0 ? args.workers : os.availableParallelism(), args.paths));
  const manifest = buildManifest({
    scenario: { argument: args.scenario, name: scenario.name, hash: loaded.hash },
    seed: scenario.seed,
    paths: args.paths,
    modes,
    overrides,
  });
  const { bySlot, processes } = await runWorkers(args, overrides, modes, dir, workers, args.quiet);
  const records = bySlot.flat().sort((a, b) => a.path - b.path);
  if (records.length !== args.paths) throw new Error(`expected ${args.paths} path results, got ${records.length}`);

  const totalSeconds = (Date.now() - started) / 1000;
  const phaseSeconds: Record<string, number> = {};
  let pathSeconds = 0;
  let transactions = 0;
  for (const r of records) {
    pathSeconds += r.timing.seconds;
    transactions += r.timing.transactions;
    for (const [k, v] of Object.entries(r.timing.phaseSeconds)) phaseSeconds[k] = (phaseSeconds[k] ?? 0) + v;
  }
  const rssMbByProcess = processes.map((rs) => rs.map((r) => r.timing.rssMb));
  const heapMbByProcess = processes.map((rs) => rs.map((r) => r.timing.heapMb));
  const afterFirst = rssMbByProcess.flatMap((rs) => rs.slice(1));
  const growth = (series: number[][]): number | null => {
    const long = series.filter((rs) => rs.length >= 6);
    return long.length === 0 ? null : round(Math.max(...long.map((rs) => slope(rs.slice(1)))), 2);
  };
  const round = (x: number, places = 3) => Number(x.toFixed(places));
  const report: MonteCarloReport = {
    schema: MONTE_CARLO_SCHEMA,
    manifest,
    horizon: {
      steps: scenario.steps,
      stepSeconds: scenario.stepSeconds,
      hours: round((scenario.steps * scenario.stepSeconds) / 3_600, 4),
    },
    paths: args.paths,
    confidence: CONFIDENCE,
    resamples: RESAMPLES,
    modes: riskOf(records, modes, scenario.seed),
    perPath: records.map((r) => ({ path: r.path, modes: r.modes })),
    timing: {
      startedAt: new Date(started).toISOString(),
      totalSeconds: round(totalSeconds),
      workers,
      pathsPerHour: round((args.paths / totalSeconds) * 3_600, 1),
      secondsPerPath: round(pathSeconds / records.length),
      transactionsPerSecond: round(transactions / pathSeconds, 1),
      phaseSeconds: Object.fromEntries(Object.entries(phaseSeconds).map(([k, v]) => [k, round(v)])),
      workerPaths: args.workerPaths,
      rssMbByProcess,
      heapMbByProcess,
      // memory after the first path (deployment, compilation caches) is the baseline
      rssMbAfterFirst: {
        min: afterFirst.length > 0 ? Math.min(...afterFirst) : Math.min(...rssMbByProcess.flat()),
        max: afterFirst.length > 0 ? Math.max(...afterFirst) : Math.max(...rssMbByProcess.flat()),
      },
      rssGrowthMbPerPath: growth(rssMbByProcess),
      heapGrowthMbPerPath: growth(heapMbByProcess),
    },
  };
  writeFileSync(path.join(dir, "montecarlo.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, "montecarlo.html"), renderMonteCarloHtml(report));
  if (!args.quiet && args.summary !== false) printSummary(report, dir);
  return report;
}

const usd = (x: number) => `$${x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export function summaryRows(report: MonteCarloReport): { headers: string[]; rows: string[][] } {
  const modes = Object.keys(report.modes) as Mode[];
  const ci = (s: { estimate: number; low: number; high: number }, f: (x: number) => string) =>
    `${f(s.estimate)} [${f(s.low)}, ${f(s.high)}]`;
  const rows: [string, (r: ModeRisk) => string][] = [
    ["bad debt, mean", (r) => ci(r.badDebt.statistics.mean, usd)],
    ["bad debt, VaR 95 %", (r) => ci(r.badDebt.statistics.VaR95, usd)],
    ["bad debt, VaR 99 %", (r) => ci(r.badDebt.statistics.VaR99, usd)],
    ["bad debt, CVaR 95 %", (r) => ci(r.badDebt.statistics.CVaR95, usd)],
    ["bad debt, CVaR 99 %", (r) => ci(r.badDebt.statistics.CVaR99, usd)],
    ["liquidations at risk (p95 notional)", (r) => ci(r.liquidationsAtRisk, usd)],
    ["P(insolvency: bad debt > insurance)", (r) => ci(r.insolvency, pct)],
    ["P(any bad debt)", (r) => ci(r.anyBadDebt, pct)],
    ["insurance drawdown, VaR 95 %", (r) => ci(r.insuranceDrawdown.statistics.VaR95, usd)],
    ["cascade amplification, mean", (r) => ci(r.amplification.statistics.mean, (x) => `${x.toFixed(2)}×`)],
    ["deepest cascade (generations)", (r) => String(r.maxCascadeDepth)],
    ["keeper profit per path, mean", (r) => ci(r.keeperProfit.statistics.mean, usd)],
    [
      "time to liquidation p50 / p95 / max (steps)",
      (r) => {
        const t = r.timeToLiquidation;
        return t.served === 0 ? "no liquidation" : `${t.p50} / ${t.p95} / ${t.max} (${t.served} accounts)`;
      },
    ],
    ["paths ending with an unserved account", (r) => String(r.timeToLiquidation.pathsWithPending)],
    ["converged (N/2 vs N)", (r) => `${r.badDebt.converged && r.liquidatedNotional.converged ? "yes" : "no"}`],
  ];
  return {
    headers: ["metric", ...modes.map((m) => `${m} (estimate [${report.confidence * 100} % CI])`)],
    rows: rows.map(([label, f]) => [label, ...modes.map((m) => f(report.modes[m]!))]),
  };
}

function printSummary(report: MonteCarloReport, dir: string) {
  const { headers, rows } = summaryRows(report);
  console.log(
    `\n${report.manifest.scenario.name}: ${report.paths} paths, seed ${report.manifest.seed}, horizon ${report.horizon.steps} × ${report.horizon.stepSeconds} s (${report.horizon.hours} h)`,
  );
  console.log(renderTable(headers, rows));
  const t = report.timing;
  console.log(
    `\n${t.totalSeconds}s with ${t.workers} workers: ${t.pathsPerHour} paths/hour, ${t.secondsPerPath}s per path, ${t.transactionsPerSecond} tx/s; ` +
      `phases ${Object.entries(t.phaseSeconds)
        .map(([k, v]) => `${k} ${v}s`)
        .join(", ")}; memory after the first path ${t.rssMbAfterFirst.min}–${t.rssMbAfterFirst.max} MB` +
      (t.rssGrowthMbPerPath === null
        ? ""
        : `, growth ${t.rssGrowthMbPerPath} MB/path (heap ${t.heapGrowthMbPerPath} MB/path)`) +
      (t.workerPaths > 0 ? `; a fresh worker process every ${t.workerPaths} paths` : ""),
  );
  console.log(`report: ${path.relative(process.cwd(), path.join(dir, "montecarlo.html"))}`);
}

/**
 * `npx hardhat simulate --manifest <montecarlo.json | manifest.json>`: reruns the recorded run on
 * this checkout and compares the result with the recorded one, byte for byte apart from timing.
 */
export async function rerunFromManifest(
  file: string,
  args: Pick<MonteCarloArgs, "out" | "workers" | "workerPaths" | "quiet" | "noCompile">,
  hre: HardhatRuntimeEnvironment,
): Promise<{ identical: boolean; drift: string[]; report: MonteCarloReport }> {
  if (!existsSync(file)) throw new UsageError(`--manifest: no file ${file}`);
  const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<MonteCarloReport> & Partial<Manifest>;
  const manifest = (parsed.manifest ?? parsed) as Manifest;
  if (manifest.schema !== "crossmargin.manifest/1") throw new UsageError(`--manifest: ${file} holds no manifest`);
  const recordedPath = parsed.manifest ? file : path.join(path.dirname(file), "montecarlo.json");
  const out = args.out ? path.resolve(args.out) : path.join(path.dirname(path.resolve(file)), "rerun");
  const report = await runMonteCarlo(
    {
      scenario: manifest.scenario.argument,
      mode: manifest.modes.length === 2 ? "both" : manifest.modes[0],
      seed: "",
      set: "",
      paths: manifest.paths,
      workers: args.workers,
      workerPaths: args.workerPaths,
      out,
      quiet: args.quiet,
      noCompile: args.noCompile,
    },
    hre,
    manifest.overrides,
  );
  const drift = manifestDrift(manifest, report.manifest);
  let identical = false;
  if (existsSync(recordedPath)) {
    const recorded = JSON.parse(readFileSync(recordedPath, "utf8")) as MonteCarloReport;
    identical = deterministicMonteCarlo(recorded) === deterministicMonteCarlo(report);
  }
  return { identical, drift, report };
}
