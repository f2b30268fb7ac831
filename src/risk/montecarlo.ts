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
  out: string;
  quiet: boolean;
  noCompile: boolean;
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
  /** Resident memory of each worker after each of its paths (MB), in path order per worker. */
  rssMbByWorker: number[][];
  /** Lowest and highest memory of any worker after its first path (MB): the band a long run stays in. */
  rssMbAfterFirst: { min: number; max: number };
  /**
   * Largest growth of a worker's memory per path after its first path (MB per path, least-squares
   * slope); null with fewer than 5 paths per worker (garbage collection makes a shorter slope noise).
   */
  rssGrowthMbPerPath: number | null;
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
    };
  }
  return out;
}

async function runWorkers(
  args: MonteCarloArgs,
  overrides: string[],
  modes: Mode[],
  dir: string,
  workers: number,
  quiet: boolean,
): Promise<PathRecord[][]> {
  const shares = shareOut(args.paths, workers);
  const cli = require.resolve("hardhat/internal/cli/cli");
  const progress = createProgress({ quiet });
  progress.start(`${args.paths} paths, ${shares.length} workers`, args.paths, "paths");
  let done = 0;
  const files = shares.map((_, w) => path.join(dir, `paths-worker-${w}.jsonl`));
  await Promise.all(
    shares.map(
      (indices, w) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [
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
              files[w],
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
              if (/^path \d+ done$/.test(line.trim())) progress.tick(++done);
            }
          });
          child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          child.on("error", reject);
          child.on("exit", (code) =>
            code === 0
              ? resolve()
              : reject(
                  new Error(
                    `Monte Carlo worker ${w} (paths ${indices.join(",")}) failed (exit ${code}):\n${stderr.trim()}`,
                  ),
                ),
          );
        }),
    ),
  );
  progress.end();
  return files.map((f) =>
    readFileSync(f, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as PathRecord),
  );
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
  const byWorker = await runWorkers(args, overrides, modes, dir, workers, args.quiet);
  const records = byWorker.flat().sort((a, b) => a.path - b.path);
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
  const rssMbByWorker = byWorker.map((rs) => rs.map((r) => r.timing.rssMb));
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
      rssMbByWorker,
      rssMbAfterFirst: {
        min: Math.min(...rssMbByWorker.flatMap((rs) => rs.slice(1))),
        max: Math.max(...rssMbByWorker.flatMap((rs) => rs.slice(1))),
      },
      // memory after the first path (deployment, compilation caches) is the baseline
      rssGrowthMbPerPath: rssMbByWorker.every((rs) => rs.length >= 6)
        ? round(Math.max(...rssMbByWorker.map((rs) => slope(rs.slice(1)))), 2)
        : null,
    },
  };
  writeFileSync(path.join(dir, "montecarlo.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, "montecarlo.html"), renderMonteCarloHtml(report));
  if (!args.quiet) printSummary(report, dir);
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
      (t.rssGrowthMbPerPath === null ? "" : `, growth ${t.rssGrowthMbPerPath} MB/path`),
  );
  console.log(`report: ${path.relative(process.cwd(), path.join(dir, "montecarlo.html"))}`);
}

/**
 * `npx hardhat simulate --manifest <montecarlo.json | manifest.json>`: reruns the recorded run on
 * this checkout and compares the result with the recorded one, byte for byte apart from timing.
 */
export async function rerunFromManifest(
  file: string,
  args: Pick<MonteCarloArgs, "out" | "workers" | "quiet" | "noCompile">,
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
