import { task } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

// The benchmark code is loaded when a task runs: it needs the TypeChain bindings.

task(
  "bench:gas",
  "Exact gas of every operation; --check guards bench/gas-snapshot.json (+1 % fails), --update rewrites it",
)
  .addFlag("check", "Fail when an operation costs more than 1 % over the snapshot, or is new or missing")
  .addFlag("update", "Rewrite bench/gas-snapshot.json with these figures (after a deliberate change)")
  .setAction(async (args: { check: boolean; update: boolean }, hre) => {
    await hre.run("compile", { quiet: true });
    const { runGasTask } = await import("../src/bench/cli");
    const ok = await runGasTask(hre, args);
    if (!ok) {
      throw new HardhatPluginError(
        "bench:gas",
        "gas rose more than 1 % over bench/gas-snapshot.json (rows marked REGRESSION, NEW or MISSING above). " +
          "If the change is deliberate: npm run bench:gas -- --update, and commit bench/gas-snapshot.json",
      );
    }
  });

task("bench", "Runs every benchmark (gas, keeper, simulator) and writes bench/RESULTS.md and bench/results.json")
  .addFlag("reuse", "Do not re-run the keeper and simulator benchmarks: render from their last JSON results")
  .setAction(async (args: { reuse: boolean }, hre) => {
    await hre.run("compile", { quiet: true });
    const { runBenchTask } = await import("../src/bench/cli");
    await runBenchTask(hre, args);
  });
