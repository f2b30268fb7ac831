import { task } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

// The deployment code is loaded when a task runs, not when the config loads: it needs the TypeChain
// bindings, which do not exist before the first compile.

/** Known operator errors print as a message, not a stack trace. */
function asPluginError(error: unknown): HardhatPluginError {
  // a failed preflight has printed every check already (✗ marks the failures)
  if (error instanceof Error && error.name === "PreflightError" && "checks" in error && Array.isArray(error.checks)) {
    const checks = error.checks as { ok: boolean }[];
    const failed = checks.filter((c) => !c.ok).length;
    return new HardhatPluginError(
      "deploy",
      `preflight failed, nothing was sent: ${failed} of ${checks.length} checks failed (marked ✗ above)`,
    );
  }
  return new HardhatPluginError("deploy", error instanceof Error ? error.message : String(error));
}

task("deploy", "Deploys Crossmargin to --network: parameter check, preflight, Ignition, deployments/<chainId>.json")
  .addOptionalParam(
    "parameters",
    "Ignition parameter file (default: ignition/parameters/<network>.json; local.json on hardhat/localhost)",
    "",
  )
  .addOptionalParam("deploymentId", "Ignition deployment id (default: chain-<chainId>)", "")
  .addOptionalParam("registryDir", "Folder of the deployments registry (default: deployments/)", "")
  .addFlag("preflightOnly", "Run the checks (the preflight on a public network) and stop before sending anything")
  .setAction(async (args, hre) => {
    await hre.run("compile", { quiet: true });
    const { runDeployTask } = await import("../src/deploy/cli");
    try {
      await runDeployTask(args, hre);
    } catch (error) {
      throw asPluginError(error);
    }
  });

task("deployments:export", "Writes deployments/<chainId>.json from Ignition's record of a deployment on --network")
  .addOptionalParam("deploymentId", "Ignition deployment id (default: chain-<chainId>)", "")
  .addOptionalParam("parameters", "The parameter file deployed with (default as for deploy)", "")
  .addOptionalParam("registryDir", "Folder of the deployments registry (default: deployments/)", "")
  .setAction(async (args, hre) => {
    const { runExportTask } = await import("../src/deploy/cli");
    try {
      await runExportTask(args, hre);
    } catch (error) {
      throw asPluginError(error);
    }
  });

// Used by the preflight: run in a child process on the in-process network.
task(
  "deploy:gas",
  "Prints the gas of a PublicProtocol deployment measured on the in-process chain (the preflight runs it)",
)
  .addParam("parameters", "Ignition parameter file of the public network")
  .setAction(async (args: { parameters: string }, hre) => {
    const { measurePublicDeploymentGas } = await import("../src/deploy/gas");
    const { readParameterFile } = await import("../src/deploy/parameters");
    const gas = await measurePublicDeploymentGas(hre, readParameterFile(args.parameters));
    console.log(`deployment gas: ${gas}`);
  });
