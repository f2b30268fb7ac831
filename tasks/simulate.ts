import { task, types } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

// Loaded when the task runs: the simulator needs the TypeChain bindings of the first compile.
task("simulate", "Runs a scenario on the protocol and the keeper; writes report.json and report.html")
  .addOptionalParam("scenario", "A built-in scenario name (scenarios/*.json) or a path to a scenario file", "default")
  .addOptionalParam("mode", "cross, isolated or both (the same traders and prices in each)", "both")
  .addOptionalParam("seed", "Overrides the scenario's seed", "")
  .addOptionalParam("out", "Output folder (default reports/<scenario>-<seed>/)", "")
  .addOptionalParam("set", 'Overrides, "key=value;key=value" (e.g. "steps=50;protocol.liquidationFee=0.02")', "")
  .addOptionalParam(
    "sweep",
    'A parameter grid, "key=v1,v2,…" (several keys separated by ";"), one process per point',
    "",
  )
  .addOptionalParam("workers", "Sweep or Monte Carlo worker processes (0 = one per core)", 0, types.int)
  .addOptionalParam(
    "paths",
    "Monte Carlo: N price paths (common random numbers across modes and parameter values), tail statistics with confidence intervals",
    0,
    types.int,
  )
  .addOptionalParam(
    "workerPaths",
    "Monte Carlo: paths a worker process runs before a fresh process takes over (bounds memory; 0 = never)",
    25,
    types.int,
  )
  .addOptionalParam(
    "riskTolerance",
    "With --sweep and --paths: the VaR95 of bad debt (USD) a recommended grid point may reach (default: the insurance fund)",
    "",
  )
  .addOptionalParam(
    "manifest",
    "Reruns a Monte Carlo report from its manifest and checks it is reproduced byte for byte",
    "",
  )
  .addFlag("quiet", "No progress bar and no summary")
  .addFlag("noCompile", "Skip the compile step")
  .setAction(async (args, hre) => {
    const { runSimulateTask } = await import("../src/sim/cli");
    const { ScenarioError, UsageError } = await import("../src/sim/scenario");
    const { InvariantViolation } = await import("../src/sim/engine");
    const { PriceModelError } = await import("../src/sim/prices");
    try {
      await runSimulateTask(args, hre);
    } catch (error) {
      // an invalid scenario or a broken invariant is a message for the user, never a stack trace
      // (Hardhat prints the whole error of a plugin error when it believes it runs in CI)
      if (
        error instanceof ScenarioError ||
        error instanceof UsageError ||
        error instanceof InvariantViolation ||
        error instanceof PriceModelError
      ) {
        const where = error instanceof PriceModelError ? `${error.field}: ` : "";
        console.error(`Error in simulate: ${where}${error.message}`);
        process.exitCode = 1;
        return;
      }
      throw new HardhatPluginError("simulate", error instanceof Error ? error.message : String(error));
    }
  });

// A Monte Carlo worker: runs its share of the paths on its own in-process chain (spawned by
// `simulate --paths`, one process per worker).
task("simulate:paths", "Internal: a Monte Carlo worker of `simulate --paths` (one JSON line per path)")
  .addParam("scenario", "Scenario name or path")
  .addParam("mode", "cross, isolated or both")
  .addOptionalParam("set", "Overrides", "")
  .addParam("indices", "Comma-separated path indices")
  .addParam("out", "JSON-lines output file")
  .setAction(async (args: { scenario: string; mode: string; set: string; indices: string; out: string }, hre) => {
    const { parseAssignments, parseModes } = await import("../src/sim/cli");
    const { loadScenario } = await import("../src/sim/scenario");
    const { runPathWorker } = await import("../src/risk/paths");
    const loaded = loadScenario(args.scenario, parseAssignments(args.set));
    const indices = args.indices.split(",").map((i) => Number(i));
    await runPathWorker(hre, loaded, parseModes(args.mode), indices, args.out);
  });
