/** `npx hardhat simulate`: argument handling, the run, the files, the terminal summary, sweeps. */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { renderTable } from "../report/format";
import { runSimulation } from "./engine";
import { renderSweepHtml } from "./html";
import { defaultReportDir, summaryTable, writeReport } from "./output";
import { createProgress } from "./progress";
import type { Mode, SimulationReport, SweepPoint, SweepReport } from "./report";
import type { MonteCarloReport } from "../risk/montecarlo";
import type { FrontierReport } from "../risk/sweep";
import { loadScenario, UsageError } from "./scenario";

export interface SimulateArgs {
  scenario: string;
  mode: string;
  seed: string;
  out: string;
  set: string;
  sweep: string;
  workers: number;
  /** Monte Carlo: paths per worker process before a fresh one takes over (0 = never). */
  workerPaths: number;
  /** Monte Carlo price paths (0: one run). */
  paths: number;
  /** Frontier (--sweep with --paths): the VaR95 of bad debt (USD) a recommendation may reach; "" = the insurance fund. */
  riskTolerance: string;
  /** A Monte Carlo report or manifest to rerun and compare. */
  manifest: string;
  quiet: boolean;
  noCompile: boolean;
}

export function parseModes(mode: string): Mode[] {
  if (mode === "both") return ["cross", "isolated"];
  if (mode === "cross" || mode === "isolated") return [mode];
  throw new UsageError(`--mode must be cross, isolated or both, got "${mode}"`);
}

/** "a=1;b=x" → ["a=1", "b=x"] */
export function parseAssignments(text: string): string[] {
  return text
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** "k=v1,v2;j=w1,w2" → every combination, as assignment lists. */
export function sweepGrid(text: string): { keys: string[]; points: string[][] } {
  const axes = parseAssignments(text).map((axis) => {
    const eq = axis.indexOf("=");
    if (eq <= 0)
      throw new UsageError(`--sweep expects key=v1,v2,… (e.g. protocol.liquidationFee=0.005,0.01,0.02), got "${axis}"`);
    const values = axis
      .slice(eq + 1)
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean);
    if (values.length === 0) throw new UsageError(`--sweep ${axis.slice(0, eq)} has no values`);
    return { key: axis.slice(0, eq).trim(), values };
  });
  let points: string[][] = [[]];
  for (const axis of axes) points = points.flatMap((p) => axis.values.map((v) => [...p, `${axis.key}=${v}`]));
  return { keys: axes.map((a) => a.key), points };
}

export async function runSimulateTask(
  args: SimulateArgs,
  hre: HardhatRuntimeEnvironment,
): Promise<SimulationReport | SweepReport | MonteCarloReport | FrontierReport | undefined> {
  const modes = parseModes(args.mode);
  const overrides = parseAssignments(args.set);
  if (args.seed !== "") {
    const seed = Number(args.seed);
    if (!Number.isInteger(seed) || seed < 0)
      throw new UsageError(`--seed must be a non-negative integer, got "${args.seed}"`);
    overrides.push(`seed=${seed}`);
  }
  if (args.manifest) {
    const { rerunFromManifest } = await import("../risk/montecarlo");
    const { identical, drift } = await rerunFromManifest(args.manifest, args, hre);
    for (const d of drift) console.error(`manifest: ${d}`);
    if (!identical) {
      throw new UsageError(
        `the rerun of ${args.manifest} differs from the recorded report` +
          (drift.length > 0 ? ` (expected: ${drift.join("; ")})` : " although bytecode, commit and versions match"),
      );
    }
    console.log(`reproduced: ${args.manifest} (byte for byte, apart from timing)`);
    return undefined;
  }
  if (args.riskTolerance !== "" && !(args.sweep && args.paths > 0)) {
    throw new UsageError("--risk-tolerance needs --sweep and --paths (it picks a grid point of the frontier)");
  }
  if (args.paths > 0) {
    if (args.sweep) {
      const { runFrontier } = await import("../risk/sweep");
      return runFrontier(args, hre, overrides);
    }
    const { runMonteCarlo } = await import("../risk/montecarlo");
    return runMonteCarlo(args, hre, overrides);
  }
  if (args.sweep) return runSweep(args, hre, overrides);
  // validate everything before touching the chain
  const loaded = loadScenario(args.scenario, overrides);
  if (!args.noCompile) await hre.run("compile", { quiet: true });
  const report = await runSimulation(hre, loaded, { modes, progress: createProgress({ quiet: args.quiet }) });
  const dir = args.out ? path.resolve(args.out) : defaultReportDir(report);
  const files = writeReport(report, dir);
  if (!args.quiet) {
    console.log(
      `\n${report.scenario.name} (seed ${report.scenario.seed}, ${report.scenario.steps} steps × ${report.scenario.stepSeconds} s)`,
    );
    console.log(summaryTable(report));
    const perMode = Object.entries(report.timing.perMode)
      .map(([m, t]) => `${m} ${t.seconds}s (${t.transactionsPerSecond} tx/s)`)
      .join(", ");
    console.log(`\nran in ${report.timing.totalSeconds}s: ${perMode}; peak memory ${report.timing.peakRssMb} MB`);
    console.log(
      `report: ${path.relative(process.cwd(), files.html)}  (data: ${path.relative(process.cwd(), files.json)})`,
    );
  }
  return report;
}

/** Runs the grid in child processes (one per core by default), each on its own in-process chain. */
async function runSweep(args: SimulateArgs, hre: HardhatRuntimeEnvironment, overrides: string[]): Promise<SweepReport> {
  if (hre.network.name !== "hardhat") {
    throw new UsageError(
      "--sweep runs each point on its own in-process chain; drop --network (it cannot share one node)",
    );
  }
  const { keys, points } = sweepGrid(args.sweep);
  // validate every point before starting any
  const first = loadScenario(args.scenario, [...overrides, ...points[0]]);
  for (const p of points.slice(1)) loadScenario(args.scenario, [...overrides, ...p]);
  if (!args.noCompile) await hre.run("compile", { quiet: true });
  const name = first.scenario.name;
  const seed = first.scenario.seed;
  const root = args.out ? path.resolve(args.out) : path.join(process.cwd(), "reports", `${name}-${seed}-sweep`);
  mkdirSync(root, { recursive: true });
  const workers = Math.max(1, Math.min(args.workers > 0 ? args.workers : os.availableParallelism(), points.length));
  const started = Date.now();
  const cli = require.resolve("hardhat/internal/cli/cli");
  const results: SweepPoint[] = new Array(points.length);
  let next = 0;
  let finished = 0;
  const log = (text: string) => {
    if (!args.quiet) console.error(text);
  };
  log(`sweep: ${points.length} points over ${keys.join(", ")}, ${workers} worker processes`);
  const worker = async () => {
    while (next < points.length) {
      const i = next++;
      const dir = path.join(root, `point-${i + 1}`);
      const set = [...overrides, ...points[i]].join(";");
      const childArgs = [
        cli,
        "simulate",
        "--scenario",
        args.scenario,
        "--mode",
        args.mode,
        "--out",
        dir,
        "--set",
        set,
        "--quiet",
        "--no-compile",
      ];
      const t0 = Date.now();
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, childArgs, { stdio: ["ignore", "ignore", "pipe"], env: process.env });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("exit", (code) =>
          code === 0
            ? resolve()
            : reject(new Error(`sweep point ${points[i].join(", ")} failed (exit ${code}):\n${stderr.trim()}`)),
        );
      });
      const report = JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as SimulationReport;
      results[i] = {
        parameters: Object.fromEntries(
          points[i].map((a) => {
            const [k, v] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
            const n = Number(v);
            return [k, Number.isFinite(n) && v !== "" ? n : v];
          }),
        ),
        reportPath: path.relative(root, path.join(dir, "report.html")),
        summaries: Object.fromEntries(Object.entries(report.modes).map(([m, r]) => [m, r.summary])),
      };
      finished++;
      log(`  [${finished}/${points.length}] ${points[i].join(", ")} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const sweep: SweepReport = {
    schema: "crossmargin.sweep/1",
    scenario: name,
    seed,
    keys,
    points: results,
    timing: { totalSeconds: Number(((Date.now() - started) / 1000).toFixed(3)), workers },
  };
  writeFileSync(path.join(root, "sweep.json"), `${JSON.stringify(sweep, null, 2)}\n`);
  writeFileSync(path.join(root, "sweep.html"), renderSweepHtml(sweep));
  if (!args.quiet) {
    const modes = parseModes(args.mode);
    const headers = [
      ...keys,
      ...modes.flatMap((m) => [`${m} liquidated`, `${m} notional`, `${m} bad debt`, `${m} insurance dd`]),
    ];
    const rows = results.map((r) => [
      ...keys.map((k) => String(r.parameters[k])),
      ...modes.flatMap((m) => {
        const s = r.summaries[m]!;
        return [
          String(s.tradersLiquidated),
          `$${s.notionalLiquidated.toFixed(2)}`,
          `$${s.badDebt.toFixed(2)}`,
          `$${s.insuranceDrawdown.toFixed(2)}`,
        ];
      }),
    ]);
    console.log(renderTable(headers, rows));
    console.log(
      `\nsweep: ${path.relative(process.cwd(), path.join(root, "sweep.html"))} (${sweep.timing.totalSeconds}s, ${workers} workers)`,
    );
  }
  return sweep;
}
