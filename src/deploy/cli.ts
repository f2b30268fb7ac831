/**
 * `npx hardhat deploy`: parameter check and preflight, the Ignition deployment, and the registry
 * export; `npx hardhat deployments:export` re-exports the registry from Ignition's record.
 */
import fs from "node:fs";
import path from "node:path";
import type { DeploymentParameters, IgnitionModule } from "@nomicfoundation/ignition-core";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import ProtocolModule from "../../ignition/modules/Protocol";
import PublicProtocolModule from "../../ignition/modules/PublicProtocol";
import type { Deployment } from "../../sdk/src/deployment";
import { checkParameters } from "./moduleParameters";
import { LOCAL_NETWORKS, deployerKeyProblem, publicNetwork } from "./networks";
import { parametersPath, readParameterFile } from "./parameters";
import { PreflightError, preflight, type PreflightCheck } from "./preflight";
import { spawnGasMeasurement } from "./gas";
import { exportDeployment } from "./registry";

export interface DeployTaskArgs {
  parameters: string;
  /** Where deployments/<chainId>.json goes ("" = <root>/deployments). */
  registryDir: string;
  deploymentId: string;
  preflightOnly: boolean;
}

type Log = (line: string) => void;

/** The module and default parameter file for a network: mocks on local chains, real assets elsewhere. */
export function deploymentPlan(networkName: string, root: string, parametersArg = "") {
  const local = LOCAL_NETWORKS.includes(networkName);
  const module: IgnitionModule = local ? ProtocolModule : PublicProtocolModule;
  const file = parametersArg ? path.resolve(root, parametersArg) : parametersPath(local ? "local" : networkName, root);
  return { local, module, file };
}

function printChecks(checks: readonly PreflightCheck[], log: Log) {
  for (const c of checks) log(`  ${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`);
}

/**
 * A local node forgets everything when it restarts, but Ignition's record of the earlier deployment
 * stays and would make Ignition report the deployment as done. When none of the recorded contracts
 * has code on the node any more, the record is moved aside (…/<id>.stale-<time>) and the deployment
 * starts afresh. Local networks only: on a public network a record is never set aside.
 */
async function forgetRestartedNode(hre: HardhatRuntimeEnvironment, deploymentDir: string, log: Log): Promise<void> {
  const file = path.join(deploymentDir, "deployed_addresses.json");
  if (!fs.existsSync(file)) return;
  const addresses = Object.values(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>);
  if (addresses.length === 0) return;
  const codes = await Promise.all(addresses.map((a) => hre.ethers.provider.getCode(a)));
  if (codes.some((code) => code !== "0x")) return;
  const aside = `${deploymentDir}.stale-${Date.now()}`;
  fs.renameSync(deploymentDir, aside);
  log(
    `the node no longer has the contracts of ${path.relative(hre.config.paths.root, deploymentDir)} (restarted?): ` +
      `moved that record to ${path.basename(aside)} and deploying afresh`,
  );
}

/** The deploy task; returns the registry entry written (undefined on the in-process network or with --preflight-only). */
export async function runDeployTask(
  args: DeployTaskArgs,
  hre: HardhatRuntimeEnvironment,
  log: Log = console.log,
): Promise<Deployment | undefined> {
  const root = hre.config.paths.root;
  const network = hre.network.name;
  const { local, module, file } = deploymentPlan(network, root, args.parameters);
  const parameters: DeploymentParameters = readParameterFile(file);
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  log(`deploying ${module.id} to "${network}" (chain ${chainId}) with ${path.relative(root, file)}`);

  if (local) {
    // local chains (mocks): the parameter file is still checked against the module (a typo would deploy a default)
    const problems = checkParameters(module, parameters);
    if (problems.length > 0) {
      const checks = problems.map((p) => ({ name: `parameter ${p.key}`, ok: false, detail: p.message }));
      printChecks(checks, log);
      throw new PreflightError(checks);
    }
  } else {
    const signers = await hre.ethers.getSigners();
    log("preflight:");
    const checks = await preflight({
      provider: hre.ethers.provider,
      module,
      parameters,
      deployer: signers[0]?.address,
      deployerHint: deployerKeyProblem().replace(/^no deployer account: /, ""),
      expectedChainId: publicNetwork(network)?.chainId,
      seedParameters: ["PublicProtocol.poolSeed", "PublicProtocol.insuranceSeed"],
      estimateGas: async () => {
        log("  … measuring the deployment's gas on the in-process chain");
        return spawnGasMeasurement(root, file);
      },
    }).catch((error: unknown) => {
      if (error instanceof PreflightError) printChecks(error.checks, log);
      throw error;
    });
    printChecks(checks, log);
  }
  if (args.preflightOnly) {
    log(`${local ? "parameters checked" : "preflight passed"}; nothing sent (--preflight-only)`);
    return undefined;
  }

  const deploymentId = args.deploymentId || `chain-${chainId}`;
  const deploymentDir = path.join(hre.config.paths.ignition, "deployments", deploymentId);
  if (local && network !== "hardhat") await forgetRestartedNode(hre, deploymentDir, log);
  await hre.ignition.deploy(module, {
    parameters,
    deploymentId: network === "hardhat" ? undefined : deploymentId,
    displayUi: process.stdout.isTTY === true, // the progress UI on a terminal only
  });
  if (network === "hardhat") {
    log(
      "deployed on the in-process network, which ends with this command: no registry written. " +
        "Use --network localhost with `npm run node` running to keep a deployment.",
    );
    return undefined;
  }
  const { file: registry, deployment } = await exportDeployment({
    provider: hre.ethers.provider,
    deploymentDir: path.join(hre.config.paths.ignition, "deployments", deploymentId),
    network,
    module: module.id,
    parameters,
    outDir: args.registryDir ? path.resolve(root, args.registryDir) : path.join(root, "deployments"),
  });
  log(
    `registry: ${path.relative(root, registry)} (Vault ${deployment.contracts.Vault.address}, from block ${deployment.startBlock})`,
  );
  if (!local) {
    log(`verify the sources: npx hardhat ignition verify ${deploymentId} (needs ETHERSCAN_API_KEY)`);
  }
  log(`next: npx hardhat keeper --network ${network}`);
  return deployment;
}

export interface ExportTaskArgs {
  registryDir: string;
  deploymentId: string;
  parameters: string;
}

/** Re-exports deployments/<chainId>.json from ignition/deployments/<deploymentId>. */
export async function runExportTask(
  args: ExportTaskArgs,
  hre: HardhatRuntimeEnvironment,
  log: Log = console.log,
): Promise<Deployment> {
  const root = hre.config.paths.root;
  const network = hre.network.name;
  if (network === "hardhat") {
    throw new Error(
      "the in-process network keeps no deployments: pass --network localhost (or the network deployed to)",
    );
  }
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  const { module, file } = deploymentPlan(network, root, args.parameters);
  const deploymentId = args.deploymentId || `chain-${chainId}`;
  const { file: registry, deployment } = await exportDeployment({
    provider: hre.ethers.provider,
    deploymentDir: path.join(hre.config.paths.ignition, "deployments", deploymentId),
    network,
    module: module.id,
    parameters: readParameterFile(file),
    outDir: args.registryDir ? path.resolve(root, args.registryDir) : path.join(root, "deployments"),
  });
  log(`registry: ${path.relative(root, registry)} from ignition/deployments/${deploymentId}`);
  return deployment;
}
